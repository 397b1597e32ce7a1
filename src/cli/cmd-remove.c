/*
 * cmd-remove.c: "peerkey remove [--yes] [--key-file F] NAME [DEVICE...]":
 * this node stops guarding NAME and deletes the blobs NAME deposited here
 * (one transaction in peerkeyd), then the boot configuration loses NAME.
 *
 * Before that, every disk of this machine (DEVICE..., or every LUKS2
 * block device, as "peerkey list" finds them) whose split names NAME as
 * a guardian is re-shared (luks_enroll, LUKS_RESHARE): a fresh key in a
 * new keyslot, split under a new epoch with the same K, N and spread
 * among the other peers, every new share deposited, then the new epoch
 * recorded in the token, then the old keyslot killed and the old epoch's
 * shares withdrawn, NAME's too while this node still knows its address.
 * A kill at any step converges on the next run (of this command or of
 * "peerkey rotate"): luks_recover() finishes or undoes what the token
 * journals, and until the new epoch is recorded the old keyslot and
 * shares stay, so a boot in between unlocks from either epoch. A disk
 * that cannot be re-shared now (too few reachable guardians, no
 * passphrase: a new keyslot needs one) is said, with what to run, and
 * NAME is removed all the same (exit 5): its share counts until then.
 *
 * It first says what goes, the peer, its blobs by id and the disks to
 * re-share, and asks on the terminal; --yes is for scripts. Without --yes
 * a standard input that is not a terminal is refused, so that nothing is removed unseen. The
 * removed machine is not told (no message of the protocol says "you are
 * no longer held here"): it still names this node in its boot
 * configuration and in the LUKS2 tokens of its disks, and still guards
 * it. So the command ends with the steps to run there.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "luks-check.h"
#include "peerkey.h"

static const struct option remove_opts[] = {
	{ "yes", no_argument, NULL, 'y' },
	{ "key-file", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};

/* Prints the ids of json array ids, one per line, indented. */
static void
remove_list(json_t *ids)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(ids, i, x)
		printf("  %s\n", json_string_value(x));
}

/* Asks on the terminal; returns 1 for yes. */
static int
remove_confirm(const char *name, size_t nblobs)
{
	char	 line[64];

	fprintf(stderr, "Remove peer %s and its %zu blob%s? [y/N] ", name,
	    nblobs, nblobs == 1 ? "" : "s");
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/*
 * The devices (a JSON array of strings) whose split, or an interrupted
 * re-split's leftover, names guardian name: of argv[1 ..], or of every
 * LUKS2 block device (list_disks). Printed as the plan.
 */
static json_t *
remove_disks(int argc, char **argv, const char *name)
{
	json_t		*disks = json_array(), *devs = json_array(), *d;
	const char	*dev;
	size_t		 i;
	int		 unreadable;

	(void)list_disks(argc, argv, disks, &unreadable);
	json_array_foreach(disks, i, d) {
		dev = json_string_value(json_object_get(d, "device"));
		if (json_integer_value(json_object_get(d, "threshold")) < 2 ||
		    !luks_names_has(json_object_get(d, "guardians"), name) ||
		    luks_names_has(devs, dev))
			continue;
		json_array_append_new(devs, json_string(dev));
		if (!opt_json)
			printf("disk %s: %s guards a share of its %lld-of-%zu "
			    "split (epoch %lld): re-split under a new epoch "
			    "without it\n", dev, name, (long long)
			    json_integer_value(json_object_get(d,
			    "threshold")), json_array_size(json_object_get(d,
			    "guardians")), (long long)json_integer_value(
			    json_object_get(d, "generation")));
	}
	/* Said even if a kill follows. */
	fflush(stdout);
	json_decref(disks);
	return devs;
}

/*
 * Re-shares each of devs without name (luks_enroll, LUKS_RESHARE);
 * returns those that could not be, said with what to run. *partial is
 * set when one was re-shared but not every new guardian took its share
 * (said by luks_enroll).
 */
static json_t *
remove_reshare(json_t *devs, const char *name, const char *keyfile,
    int *partial)
{
	struct luks_opts	 o;
	json_t			*failed = json_array(), *x;
	const char		*dev;
	size_t			 i;
	int			 r;

	json_array_foreach(devs, i, x) {
		dev = json_string_value(x);
		memset(&o, 0, sizeof(o));
		o.keyfile = keyfile;
		o.exclude = name;
		if ((r = luks_enroll(dev, &o, LUKS_RESHARE)) == EXIT_OK)
			continue;
		/* Re-shared, but a new guardian did not take its share. */
		if (r == EXIT_PARTIAL) {
			*partial = 1;
			continue;
		}
		json_array_append(failed, x);
		fprintf(stderr, "peerkey: %s: not re-shared: %s's share still "
		    "counts toward its threshold. When enough guardians are "
		    "reachable (\"peerkey status %s\"), run \"peerkey rotate "
		    "%s --key-file FILE\" (or with --threshold K --guardians "
		    "N for a smaller split), then update-initramfs -u\n", dev,
		    name, dev, dev);
	}
	return failed;
}

int
cmd_remove(int argc, char **argv)
{
	json_t		*resp, *st, *ids, *out, *devs = NULL, *failed = NULL;
	const char	*name, *self, *keyfile = NULL;
	char		 step[128];
	size_t		 n;
	int		 ch, yes = 0, ex, partial = 0;

	while ((ch = getopt_long(argc, argv, "yk:", remove_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'y':
			yes = 1;
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind > argc - 1)
		return EXIT_USAGE;
	name = argv[optind];

	resp = ctl_request(json_pack("{s:s, s:s}", "cmd", "blobs", "peer",
	    name));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	n = json_array_size(json_object_get(resp, "blobs"));
	if (!opt_json) {
		printf("peer %s: this node stops guarding it and deletes the "
		    "%zu blob%s it deposited here%s\n", name, n, n == 1 ? "" :
		    "s", n > 0 ? ":" : "");
		remove_list(json_object_get(resp, "blobs"));
	}
	json_decref(resp);
	devs = remove_disks(argc - optind, argv + optind, name);
	if (!yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "peerkey: remove %s: not asked, as standard "
		    "input is not a terminal; nothing removed (\"peerkey "
		    "remove --yes %s\" removes it without asking)\n", name,
		    name);
		json_decref(devs);
		return EXIT_USAGE;
	}
	if (!yes && !remove_confirm(name, n)) {
		fprintf(stderr, "peerkey: %s not removed\n", name);
		json_decref(devs);
		return EXIT_FAIL;
	}
	/* While this node still knows NAME: its old share is withdrawn. */
	failed = remove_reshare(devs, name, keyfile, &partial);
	local_test_crash("reshared");

	st = ctl_request(json_pack("{s:s}", "cmd", "status"));
	self = json_string_value(json_object_get(json_object_get(st, "self"),
	    "name"));
	snprintf(step, sizeof(step), "peerkey remove %s", self != NULL ? self :
	    "THIS-NODE");
	resp = ctl_request(json_pack("{s:s, s:s}", "cmd", "remove", "peer",
	    name));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		json_decref(st);
		json_decref(devs);
		json_decref(failed);
		return ctl_fail(resp);
	}
	ids = json_object_get(resp, "removed_blobs");
	for (n = json_array_size(devs); n-- > 0; )
		if (luks_names_has(failed, json_string_value(
		    json_array_get(devs, n))))
			json_array_remove(devs, n);
	if (opt_json) {
		out = json_pack("{s:s, s:O, s:[s, s, s], s:O, s:O}", "removed",
		    name, "blobs", ids, "on_removed_peer", step,
		    "peerkey rotate DEVICE", "update-initramfs -u", "reshared",
		    devs, "not_reshared", failed);
		out_result(out);
		json_decref(out);
	} else {
		n = json_array_size(ids);
		printf("removed peer %s and %zu blob%s%s\n", name, n,
		    n == 1 ? "" : "s", n > 0 ? ":" : "");
		remove_list(ids);
	}
	bootconf_refresh("remove");
	if (!opt_json)
		printf("%s is not told. If it stays in service, run there:\n"
		    "  %-28s (it stops guarding this node and drops it from "
		    "its boot configuration)\n"
		    "  %-28s (for each disk it enrolled: a fresh key, with "
		    "the peers it keeps)\n"
		    "  update-initramfs -u\n", name, step,
		    "peerkey rotate DEVICE");
	ex = json_array_size(failed) > 0 || partial ? EXIT_PARTIAL : EXIT_OK;
	json_decref(resp);
	json_decref(st);
	json_decref(devs);
	json_decref(failed);
	return ex;
}
