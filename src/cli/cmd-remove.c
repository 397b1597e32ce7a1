/*
 * cmd-remove.c: "peerkey remove [--yes] NAME": this node stops guarding
 * NAME and deletes the blobs NAME deposited here (one transaction in
 * peerkeyd), then the boot configuration loses NAME.
 *
 * It first says what goes, the peer and its blobs by id, and asks on the
 * terminal; --yes is for scripts. Without --yes a standard input that is
 * not a terminal is refused, so that nothing is removed unseen. The
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

#include "peerkey.h"

static const struct option remove_opts[] = {
	{ "yes", no_argument, NULL, 'y' },
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

int
cmd_remove(int argc, char **argv)
{
	json_t		*resp, *st, *ids, *out;
	const char	*name, *self;
	char		 step[128];
	size_t		 n;
	int		 ch, yes = 0;

	while ((ch = getopt_long(argc, argv, "y", remove_opts, NULL)) != -1) {
		switch (ch) {
		case 'y':
			yes = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
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
	if (!yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "peerkey: remove %s: not asked, as standard "
		    "input is not a terminal; nothing removed (\"peerkey "
		    "remove --yes %s\" removes it without asking)\n", name,
		    name);
		return EXIT_USAGE;
	}
	if (!yes && !remove_confirm(name, n)) {
		fprintf(stderr, "peerkey: %s not removed\n", name);
		return EXIT_FAIL;
	}

	st = ctl_request(json_pack("{s:s}", "cmd", "status"));
	self = json_string_value(json_object_get(json_object_get(st, "self"),
	    "name"));
	snprintf(step, sizeof(step), "peerkey remove %s", self != NULL ? self :
	    "THIS-NODE");
	resp = ctl_request(json_pack("{s:s, s:s}", "cmd", "remove", "peer",
	    name));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		json_decref(st);
		return ctl_fail(resp);
	}
	ids = json_object_get(resp, "removed_blobs");
	if (opt_json) {
		out = json_pack("{s:s, s:O, s:[s, s, s]}", "removed", name,
		    "blobs", ids, "on_removed_peer", step,
		    "peerkey rotate DEVICE", "update-initramfs -u");
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
	json_decref(resp);
	json_decref(st);
	return EXIT_OK;
}
