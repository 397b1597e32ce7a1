/*
 * status-disks.c: "peerkey status"'s second table: every disk this
 * machine enrolled (its LUKS2 peerkey tokens, as "peerkey list" reads
 * them), its threshold K of N guardians, and how many of the guardians
 * that hold its key or share could release it right now, as the local
 * daemon knows them: a guardian could when it is a peer here, not
 * pending, not disabled by an operator, and seen (a proof of life: its
 * heartbeat to this node, or an answer to this node's) within its
 * timeout. A guardian that holds this machine's share guards it, so it
 * heartbeats this node: a recent "last seen" is its word that it is up
 * and sees this machine alive. Fewer than K: a warning line naming those
 * not seen. A token without a split (K = 1) has N = its holders.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "luks-check.h"
#include "peerkey.h"
#include "pk_err.h"

/* Wall-clock milliseconds now (peerkey.h). */
long long
status_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The status object of peer name, or NULL (peerkey.h). */
json_t *
status_peer(json_t *peers, const char *name)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(peers, i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")),
		    name) == 0)
			return p;
	return NULL;
}

/* Could guardian p (a status object, or NULL) release now? */
static int
sd_could(json_t *p, long long now)
{
	const char	*st;
	long long	 seen, timeout;

	if (p == NULL)
		return 0;
	st = json_string_value(json_object_get(p, "state"));
	seen = json_integer_value(json_object_get(p, "last_seen"));
	timeout = json_integer_value(json_object_get(p, "timeout_ms"));
	if (st == NULL || strcmp(st, "pending") == 0 ||
	    strcmp(st, "disabled-by-operator") == 0)
		return 0;
	return seen > 0 && now - seen <= timeout;
}

/*
 * Adds to disk (a "peerkey list" object) "could_release" (names),
 * "not_now" (names of holders that could not) and "warning" (when fewer
 * than its threshold could).
 */
static void
sd_judge(json_t *disk, json_t *peers, long long now)
{
	json_t		*could = json_array(), *not_now = json_array(), *x;
	json_t		*guardians = json_object_get(disk, "guardians");
	const char	*name;
	char		*warning = NULL;
	size_t		 i, k;

	k = (size_t)json_integer_value(json_object_get(disk, "threshold"));
	json_array_foreach(json_object_get(disk, "held_by"), i, x) {
		name = json_string_value(x);
		if (!luks_names_has(guardians, name))
			continue;
		json_array_append(sd_could(status_peer(peers, name), now) ?
		    could : not_now, x);
	}
	if (json_array_size(could) < k)
		pk_cause_set(&warning, "%s: only %zu of its %zu guardians "
		    "could release it now, fewer than the %zu it needs",
		    json_string_value(json_object_get(disk, "device")),
		    json_array_size(could), json_array_size(guardians), k);
	json_object_set_new(disk, "could_release", could);
	json_object_set_new(disk, "not_now", not_now);
	if (warning != NULL)
		json_object_set_new(disk, "warning", json_string(warning));
	free(warning);
}

/* Prints a name list, "-" if empty. */
static void
sd_names(json_t *a)
{
	json_t	*x;
	size_t	 i;

	if (json_array_size(a) == 0)
		printf("-");
	json_array_foreach(a, i, x)
		printf("%s%s", i ? " " : "", json_string_value(x));
}

/* The disks of devices (argv[1 ..], or the scan); see peerkey.h. */
json_t *
status_disks(int argc, char **argv, json_t *peers, int *ex)
{
	json_t		*disks = json_array(), *d;
	long long	 now = status_now_ms();
	size_t		 i;
	int		 unreadable;

	/* A device named and not read is the command's failure (said). */
	*ex = list_disks(argc, argv, disks, &unreadable);
	for (i = json_array_size(disks); i > 0; i--) {
		d = json_array_get(disks, i - 1);
		if (json_object_get(d, "keyslot") == NULL)
			json_array_remove(disks, i - 1);	/* not ours */
		else
			sd_judge(d, peers, now);
	}
	return disks;
}

/* Prints status_disks()' table and its warnings. */
void
status_disks_print(json_t *disks)
{
	json_t	*d;
	size_t	 i;

	if (json_array_size(disks) == 0)
		return;
	printf("\n%-24s %-12s %3s %3s %5s  %s\n", "DISK", "STATE", "K", "N",
	    "CAN", "GUARDIANS THAT COULD RELEASE NOW");
	json_array_foreach(disks, i, d) {
		printf("%-24s %-12s %3lld %3zu %5zu  ",
		    json_string_value(json_object_get(d, "device")),
		    json_string_value(json_object_get(d, "state")),
		    (long long)json_integer_value(json_object_get(d,
		    "threshold")), json_array_size(json_object_get(d,
		    "guardians")), json_array_size(json_object_get(d,
		    "could_release")));
		sd_names(json_object_get(d, "could_release"));
		printf("\n");
	}
	json_array_foreach(disks, i, d) {
		if (json_object_get(d, "warning") == NULL)
			continue;
		printf("\nWARNING: %s; not seen within their timeout: ",
		    json_string_value(json_object_get(d, "warning")));
		sd_names(json_object_get(d, "not_now"));
		printf("\n");
	}
}
