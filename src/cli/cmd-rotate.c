/*
 * cmd-rotate.c: "peerkey rotate DEVICE [--peers NAME,...] [--key-file F]":
 * a fresh key in a new keyslot, deposited with the peers; only then the
 * old keyslot killed and its blob withdrawn (luks.c, the journal).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "peerkey.h"

static const struct option rotate_opts[] = {
	{ "peers", required_argument, NULL, 'p' },
	{ "key-file", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};

int
cmd_rotate(int argc, char **argv)
{
	const char	*peers = NULL, *keyfile = NULL;
	int		 ch;

	optind = 0;	/* re-initialise: main() scanned with "+" */
	while ((ch = getopt_long(argc, argv, "p:k:", rotate_opts, NULL)) != -1) {
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
	return luks_enroll(argv[optind], peers, keyfile, LUKS_ROTATE);
}
