/*
 * cmd-list.c: "peerkey list [DEVICE...]": the disks this machine enrolled
 * and who holds their key, from their LUKS2 peerkey tokens (clevis' "luks
 * list"). It changes nothing and needs no daemon.
 *
 * Without DEVICE, every block device of /sys/class/block that is LUKS2
 * is looked at; one without a peerkey token is left out, one that cannot
 * be read (not root) is counted and said. With DEVICE (a device or an
 * image file), each is listed, enrolled or not.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libcryptsetup.h>

#include "luks.h"
#include "peerkey.h"

/* libcryptsetup's messages about devices that are not LUKS2: none. */
static void
list_quiet(int level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

/* Is path a LUKS2 device we can read? 1 yes, 0 no, -1 unreadable. */
static int
list_probe(const char *path)
{
	struct crypt_device	*cd = NULL;
	int			 r;

	if (access(path, R_OK) != 0)
		return -1;
	if (crypt_init(&cd, path) < 0)
		return 0;
	r = crypt_load(cd, CRYPT_LUKS2, NULL) == 0;
	crypt_free(cd);
	return r;
}

/*
 * A token's split: its threshold K (1, whole blobs, when absent) and the
 * names of its N guardians ("guardians" of a split, else "held-by").
 */
static json_t *
list_guardians(const struct luks_tok *t, unsigned *k)
{
	json_t	*g, *names, *x;
	size_t	 i;

	*k = tok_threshold(t);
	if (*k < 2 || (g = json_object_get(t->j, "guardians")) == NULL)
		return json_copy(json_object_get(t->j, "held-by") != NULL ?
		    json_object_get(t->j, "held-by") : json_array());
	names = json_array();
	json_array_foreach(g, i, x)
		json_array_append(names, json_object_get(x, "name"));
	return names;
}

/* Appends path's peerkey tokens to disks; the exit status. */
static int
list_one(const char *path, json_t *disks)
{
	struct luks	 l;
	json_t		*held, *missing, *x, *guardians;
	size_t		 j;
	unsigned	 k;
	int		 i, r;

	if ((r = luks_open(&l, path)) != 0)
		return r;
	if (l.ntoks == 0)
		json_array_append_new(disks, json_pack("{s:s, s:s, s:s}",
		    "device", path, "uuid", l.uuid, "state", "not enrolled"));
	for (i = 0; i < l.ntoks; i++) {
		struct luks_tok *t = &l.toks[i];

		held = json_object_get(t->j, "held-by");
		missing = json_array();
		json_array_foreach(json_object_get(t->j, "peers"), j, x)
			if (!luks_names_has(held, json_string_value(x)))
				json_array_append(missing, x);
		guardians = list_guardians(t, &k);
		json_array_append_new(disks, json_pack("{s:s, s:s, s:s, s:i, "
		    "s:i, s:s, s:I, s:O, s:o, s:i, s:o}", "device", path,
		    "uuid", l.uuid, "state", tok_state(t), "keyslot",
		    tok_slot(t), "token", t->id, "blob_id", tok_blob(t),
		    "generation", (json_int_t)tok_gen(t), "held_by",
		    held != NULL ? held : json_array(), "not_held_by", missing,
		    "threshold", (int)k, "guardians", guardians));
		x = json_array_get(disks, json_array_size(disks) - 1);
		if (json_object_get(t->j, "maintenance-keyslot") != NULL)
			json_object_set(x, "maintenance_keyslot",
			    json_object_get(t->j, "maintenance-keyslot"));
		if (json_object_get(t->j, "guardians-wanted") != NULL)
			json_object_set(x, "guardians_wanted",
			    json_object_get(t->j, "guardians-wanted"));
	}
	luks_close(&l);
	return EXIT_OK;
}

/* Every LUKS2 block device with a peerkey token. */
static int
list_scan(json_t *disks, int *unreadable)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[300];
	size_t		 before;

	if ((d = opendir("/sys/class/block")) == NULL) {
		fprintf(stderr, "peerkey: cannot read /sys/class/block: name "
		    "the devices (\"peerkey list /dev/sda3\")\n");
		return EXIT_LOCAL;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		switch (list_probe(path)) {
		case -1:
			(*unreadable)++;
			break;
		case 1:
			before = json_array_size(disks);
			(void)list_one(path, disks);
			/* A LUKS2 disk peerkey never enrolled: not ours. */
			if (json_array_size(disks) == before + 1 &&
			    json_object_get(json_array_get(disks, before),
			    "keyslot") == NULL)
				json_array_remove(disks, before);
			break;
		}
	}
	closedir(d);
	return EXIT_OK;
}

/* Prints a name list, or "-". */
static void
list_names(json_t *a)
{
	json_t	*x;
	size_t	 i;

	if (json_array_size(a) == 0)
		printf(" -");
	json_array_foreach(a, i, x)
		printf(" %s", json_string_value(x));
}

/* The disks of argv[1 ..], or of the scan; see peerkey.h. */
int
list_disks(int argc, char **argv, json_t *disks, int *unreadable)
{
	int	 a, r, ex = EXIT_OK;

	*unreadable = 0;
	crypt_set_log_callback(NULL, list_quiet, NULL);
	if (argc == 1)
		ex = list_scan(disks, unreadable);
	for (a = 1; a < argc; a++)
		if ((r = list_one(argv[a], disks)) != 0)
			ex = r;
	return ex;
}

int
cmd_list(int argc, char **argv)
{
	json_t	*disks, *x, *o;
	size_t	 i;
	int	 ex, unreadable;

	if (argc > 1 && argv[1][0] == '-')
		return EXIT_USAGE;
	disks = json_array();
	ex = list_disks(argc, argv, disks, &unreadable);
	if (unreadable > 0)
		fprintf(stderr, "peerkey: %d block device%s could not be read "
		    "(run as root)\n", unreadable, unreadable == 1 ? "" : "s");
	if (opt_json) {
		o = json_pack("{s:O}", "disks", disks);
		out_result(o);
		json_decref(o);
	} else if (json_array_size(disks) == 0 && argc == 1)
		printf("no disk here is enrolled (\"peerkey enroll DEVICE\")\n");
	else
		json_array_foreach(disks, i, x) {
			if (json_object_get(x, "keyslot") == NULL) {
				printf("%s: not enrolled\n", json_string_value(
				    json_object_get(x, "device")));
				continue;
			}
			printf("%s  %s  keyslot %lld  %s  blob %s\n  held by:",
			    json_string_value(json_object_get(x, "device")),
			    json_string_value(json_object_get(x, "uuid")),
			    (long long)json_integer_value(json_object_get(x,
			    "keyslot")), json_string_value(json_object_get(x,
			    "state")), json_string_value(json_object_get(x,
			    "blob_id")));
			list_names(json_object_get(x, "held_by"));
			if (json_array_size(json_object_get(x,
			    "not_held_by")) > 0) {
				printf("\n  NOT held by:");
				list_names(json_object_get(x, "not_held_by"));
				printf("  (\"peerkey rotate %s\" when they are "
				    "back)", json_string_value(
				    json_object_get(x, "device")));
			}
			printf("\n");
		}
	json_decref(disks);
	return ex;
}
