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
#include <unistd.h>

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
	{ "status", "status [DEVICE...]", "this node, its peers and its "
	    "enrolled disks", cmd_status },
	{ "monitor", "monitor", "a live view: the peers, the events, keys "
	    "to approve, deny, enable, disable", cmd_monitor },
	{ "metrics", "metrics", "peerkeyd's metrics (Prometheus text format)",
	    cmd_metrics },
	{ "peer", "peer add NAME --boot-key ID [--node-key ID] "
	    "[--address ADDR]... [policy]\n"
	    "       peer set NAME [policy]\n"
	    "       peer list\n"
	    "       peer put-blob NAME BLOB-ID FILE\n"
	    "       peer label NAME [KEY=VALUE | KEY=]...",
	    "manage the peers this node guards", cmd_peer },
	{ "enable", "enable NAME", "enable a peer (fresh timeout)",
	    cmd_enable },
	{ "disable", "disable NAME", "disable a peer until enabled",
	    cmd_disable },
	{ "approve", "approve NAME", "approve a peer's pending unlock",
	    cmd_approve },
	{ "deny", "deny NAME", "deny a peer's pending unlock", cmd_deny },
	{ "remove", "remove [--yes] [--key-file F] NAME [DEVICE...]",
	    "forget a peer and its blobs; re-share the splits it guards",
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
	{ "enroll", "enroll DEVICE [--peers NAME,...] [--key-file FILE] "
	    "[--threshold K [--guardians N|NAME,... [--guardians-min M]] "
	    "[--spread KEY]] [--no-maintenance-key]",
	    "add a keyslot to DEVICE and deposit its key with the peers",
	    cmd_enroll },
	{ "rotate", "rotate DEVICE [--peers NAME,...] [--key-file FILE] "
	    "[--threshold K [--guardians N|NAME,... [--guardians-min M]] "
	    "[--spread KEY]] [--no-maintenance-key]",
	    "replace DEVICE's peerkey key", cmd_rotate },
	{ "reshare", "reshare [--dry-run] [--after DURATION] [DEVICE...]",
	    "re-split the disks whose guardians are gone or too few, with "
	    "their maintenance key", cmd_reshare },
	{ "unenroll", "unenroll DEVICE",
	    "withdraw DEVICE's key, kill its keyslot", cmd_unenroll },
	{ "list", "list [DEVICE...]",
	    "the disks this machine enrolled and who holds their key",
	    cmd_list },
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
		fprintf(f, "  %-13s %s\n", c->name, c->help);
	fprintf(f, "\n-j: JSON output; -d: configuration directory. See "
	    "peerkey(8).\n");
}

/*
 * A relative configuration directory (-d, PEERKEY_DIR) is taken from the
 * current directory, made absolute: boot.conf and the LUKS2 tokens name
 * files by their path, which the boot agent reads from elsewhere.
 */
static int
dir_absolute(void)
{
	static char	 abs[4096];
	const char	*d = local_dir();
	char		 cwd[4096];

	if (d[0] == '/')
		return 0;
	while (d[0] == '.' && d[1] == '/')
		d += 2;
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    snprintf(abs, sizeof(abs), "%s/%s", cwd, d) >= (int)sizeof(abs)) {
		fprintf(stderr, "peerkey: the configuration directory \"%s\" "
		    "is relative and the current directory cannot be read: "
		    "give an absolute -d DIR\n", d);
		return -1;
	}
	opt_dir = abs;
	return 0;
}

/* "--help" (or "-h") as an argument of the command, before any "--". */
static int
cmd_wants_help(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    (i == 1 && strcmp(argv[i], "-h") == 0))
			return 1;
	return 0;
}

/* "peerkey COMMAND --help": its usage and what it does, on stdout. */
static int
cmd_help(const struct cmd_entry *c)
{
	json_t	*j;

	if (opt_json) {
		j = json_pack("{s:s, s:s, s:s}", "command", c->name, "usage",
		    c->usage, "help", c->help);
		out_result(j);
		json_decref(j);
	} else
		printf("usage: peerkey %s\n\n%s (peerkey(8), COMMANDS)\n",
		    c->usage, c->help);
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	const struct cmd_entry	*c;
	json_t			*j;
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
			out_init();
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'V':
			if (!opt_json)
				printf("peerkey %s\n", PACKAGE_VERSION);
			j = json_pack("{s:s}", "version", PACKAGE_VERSION);
			out_result(j);
			json_decref(j);
			return out_finish(EXIT_OK);
		case 'h':
			if (!opt_json)
				usage(stdout);
			return out_finish(EXIT_OK);
		default:
			if (!opt_json)
				usage(stderr);
			return out_finish(EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fprintf(stderr, "peerkey: no command (\"peerkey --help\" "
		    "lists them)\n");
		if (!opt_json)
			usage(stderr);
		return out_finish(EXIT_USAGE);
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
	out_init();
	if (dir_absolute() != 0)
		return out_finish(EXIT_LOCAL);
	for (c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (cmd_wants_help(argc, argv))
			return out_finish(cmd_help(c));
		/*
		 * Re-initialises getopt for the command's options: main()
		 * scanned with "+" (a command that sets optind = 1 instead
		 * keeps that order: its options before its operands).
		 */
		optind = 0;
		r = c->exec(argc, argv);
		if (r == EXIT_USAGE)
			fprintf(stderr, "usage: peerkey %s\n"
			    "  (\"peerkey %s --help\" says more)\n", c->usage,
			    c->name);
		return out_finish(r);
	}
	fprintf(stderr, "peerkey: unknown command \"%s\" (\"peerkey "
	    "--help\" lists them)\n", argv[0]);
	if (!opt_json)
		usage(stderr);
	return out_finish(EXIT_USAGE);
}
