/*
 * cmd-enroll.c: "peerkey enroll DEVICE [--peers NAME,...] [--key-file F]":
 * a new random key in a free LUKS2 keyslot of DEVICE, deposited with the
 * peers; and "peerkey rotate DEVICE [...]" (same options): a fresh key in
 * a new keyslot, deposited with the peers, and only then the old keyslot
 * killed and its blob withdrawn. luks.c does the work and keeps the
 * journal.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "peerkey.h"

static const struct option enroll_opts[] = {
	{ "peers", required_argument, NULL, 'p' },
	{ "key-file", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};

/* Parses enroll's and rotate's common options, then runs luks_enroll(). */
static int
enroll_main(int argc, char **argv, int mode)
{
	const char	*peers = NULL, *keyfile = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "p:k:", enroll_opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			peers = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return EXIT_USAGE;
	return luks_enroll(argv[optind], peers, keyfile, mode);
}

int
cmd_enroll(int argc, char **argv)
{
	return enroll_main(argc, argv, LUKS_ENROLL);
}

int
cmd_rotate(int argc, char **argv)
{
	return enroll_main(argc, argv, LUKS_ROTATE);
}
