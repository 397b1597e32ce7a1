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
const char	*opt_dir;

/* The option, else $env, else def (see peerkey.h). */
const char *
opt_setting(const char *opt, const char *env, const char *def)
{
	const char	*e = getenv(env);

	if (opt != NULL)
		return opt;
	return e != NULL && *e != '\0' ? e : def;
}

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
	{ "remove", "remove [--yes] NAME", "forget a peer and its blobs",
	    cmd_remove },
	{ "check", "check NAME", "check a peer's liveness now", cmd_check },
	{ "accept", "accept NAME", "accept a peer a member introduced "
	    "(introduced-pending)", cmd_accept },
	{ "events", "events [--peer NAME] [--kind KIND] [--since DURATION] "
	    "[--limit N]", "the audit log", cmd_events },
	{ "import-mandos", "import-mandos [--dry-run] [--checker-dir DIR] "
	    "CLIENTS.CONF", "take over a Mandos server's clients",
	    cmd_import_mandos },
	{ "verbose", "verbose 0|1|2", "set peerkeyd's log verbosity",
	    cmd_verbose },
	{ "init", "init [--dir DIR] [--tpm [--tpm-pcrs LIST] [--tcti TCTI]]",
	    "make this machine's node and boot keys",
	    cmd_init },
	{ "invite", "invite [--expires DURATION] [--address ADDR]...",
	    "print a one-time code that lets a machine join", cmd_invite },
	{ "join", "join [--name NAME] [--address ADDR]... CODE",
	    "join the cluster of the machine that printed CODE", cmd_join },
	{ "update", "update [--address ADDR]...",
	    "send every peer this machine's identity anew (addresses, boot "
	    "key)", cmd_update },
	{ "enroll", "enroll DEVICE [--peers NAME,...] [--key-file FILE]",
	    "add a keyslot to DEVICE and deposit its key with the peers",
	    cmd_enroll },
	{ "rotate", "rotate DEVICE [--peers NAME,...] [--key-file FILE]",
	    "replace DEVICE's peerkey key", cmd_rotate },
	{ "unenroll", "unenroll DEVICE",
	    "withdraw DEVICE's key, kill its keyslot", cmd_unenroll },
	{ "boot-config",
	    "boot-config [--out FILE] [--tcti TCTI] [--update-initramfs]",
	    "write the initramfs' boot configuration", cmd_boot_config },
	{ NULL, NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct cmd_entry	*c;

	fprintf(f, "usage: peerkey [-j] [-d dir] [-s socket] command "
	    "[args]\n\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-11s %s\n", c->name, c->help);
	fprintf(f, "\n-j: JSON output; -d: configuration directory. See "
	    "peerkey(8).\n");
}

int
main(int argc, char *argv[])
{
	const struct cmd_entry	*c;
	int			 ch, r;

	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "+d:hjs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			opt_dir = optarg;
			break;
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
	/* --json and --dir DIR anywhere after the command. */
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--dir") == 0 && ch + 1 < argc) {
			opt_dir = argv[ch + 1];
			memmove(&argv[ch], &argv[ch + 2],
			    (argc - ch - 1) * sizeof(*argv));
			argc -= 2;
			ch--;
			continue;
		}
		if (strcmp(argv[ch], "--json") == 0) {
			opt_json = 1;
			memmove(&argv[ch], &argv[ch + 1],
			    (argc - ch) * sizeof(*argv));
			argc--;
			ch--;
		}
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
