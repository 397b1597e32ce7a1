/*
 * peerkey.c: the operator's command: the command table and main.
 *
 * "peerkey [-j] [-s SOCKET] COMMAND [ARGS]". Each command lives in its own
 * cmd-*.c file; commands that talk to the running daemon go through the
 * control socket (ctl.c), which only root (or the control group) may use.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerkey.h"

const char	*opt_socket;
int		 opt_json;

static const struct cmd_entry commands[] = {
	{ "status", "status", "this node and its peers", cmd_status },
	{ "peer", "peer add NAME --boot-key ID [--node-key ID] "
	    "[--address ADDR]... [policy]\n"
	    "       peer set NAME [policy]\n"
	    "       peer list\n"
	    "       peer put-blob NAME BLOB-ID FILE",
	    "manage the peers this node guards", cmd_peer },
	{ "enable", "enable NAME", "enable a peer (fresh timeout)",
	    cmd_enable },
	{ "disable", "disable NAME", "disable a peer until enabled",
	    cmd_disable },
	{ "approve", "approve NAME", "approve a peer's pending unlock",
	    cmd_approve },
	{ "deny", "deny NAME", "deny a peer's pending unlock", cmd_deny },
	{ "remove", "remove NAME", "forget a peer and its blobs",
	    cmd_remove },
	{ "check", "check NAME", "check a peer's liveness now", cmd_check },
	{ "events", "events [--peer NAME] [--kind KIND] [--since DURATION] "
	    "[--limit N]", "the audit log", cmd_events },
	{ "import-mandos", "import-mandos [--dry-run] [--checker-dir DIR] "
	    "CLIENTS.CONF", "take over a Mandos server's clients",
	    cmd_import_mandos },
	{ "verbose", "verbose 0|1|2", "set peerkeyd's log verbosity",
	    cmd_verbose },
	{ NULL, NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct cmd_entry	*c;

	fprintf(f, "usage: peerkey [-j] [-s socket] command [args]\n\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	fprintf(f, "\n-j: JSON output. See peerkey(8).\n");
}

int
main(int argc, char *argv[])
{
	const struct cmd_entry	*c;
	int			 ch, r;

	while ((ch = getopt(argc, argv, "+hjs:V")) != -1) {
		switch (ch) {
		case 'j':
			opt_json = 1;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'V':
			printf("peerkey %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* --json anywhere after the command, as scripts write it. */
	for (ch = 1; ch < argc; ch++)
		if (strcmp(argv[ch], "--json") == 0) {
			opt_json = 1;
			memmove(&argv[ch], &argv[ch + 1],
			    (argc - ch) * sizeof(*argv));
			argc--;
			ch--;
		}
	for (c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		r = c->exec(argc, argv);
		if (r == EXIT_USAGE)
			fprintf(stderr, "usage: peerkey %s\n", c->usage);
		return r;
	}
	fprintf(stderr, "peerkey: unknown command \"%s\"\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
