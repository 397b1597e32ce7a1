/*
 * cmd-enroll.c: "peerkey enroll DEVICE [--peers NAME,...] [--key-file F]
 * [--threshold K [--guardians N | --guardians NAME,...] [--spread KEY]]":
 * a new random key in a free LUKS2 keyslot of DEVICE, deposited with the
 * peers (K = 1, the default: the whole key at each) or split K of N among
 * N guardians (one share each, spread over label KEY: guardians.c); and "peerkey rotate DEVICE [...]" (same options): a
 * fresh key in a new keyslot, deposited (or split under a new epoch), and
 * only then the old keyslot killed and its blob withdrawn. Both take
 * --guardians-min M (with --guardians N: as many as can guard now, down
 * to M; "peerkey reshare" adds the others as they come) and
 * --no-maintenance-key (luks-maint.c: none is made, a rotate's is
 * removed). luks.c does the work and keeps the journal; luks-share.c
 * makes the shares.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "peerkey.h"
#include "share.h"

static const struct option enroll_opts[] = {
	{ "peers", required_argument, NULL, 'p' },
	{ "key-file", required_argument, NULL, 'k' },
	{ "threshold", required_argument, NULL, 't' },
	{ "guardians", required_argument, NULL, 'g' },
	{ "spread", required_argument, NULL, 's' },
	{ "guardians-min", required_argument, NULL, 'm' },
	{ "no-maintenance-key", no_argument, NULL, 'M' },
	{ NULL, 0, NULL, 0 }
};

/* A count 1 .. PK_SHARE_N_MAX, or 0 if s is not one. */
static unsigned
enroll_count(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > PK_SHARE_N_MAX)
		return 0;
	return (unsigned)v;
}

/* Parses enroll's and rotate's common options, then runs luks_enroll(). */
static int
enroll_main(int argc, char **argv, int mode)
{
	struct luks_opts	 o;
	int			 ch;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "p:k:t:g:s:m:M", enroll_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.peers = optarg;
			break;
		case 'k':
			o.keyfile = optarg;
			break;
		case 't':
			if ((o.threshold = enroll_count(optarg)) == 0) {
				fprintf(stderr, "peerkey: --threshold %s: not "
				    "a number 1 .. %d\n", optarg,
				    PK_SHARE_N_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'g':
			if (*optarg >= '0' && *optarg <= '9') {
				if ((o.nguardians = enroll_count(optarg)) ==
				    0) {
					fprintf(stderr, "peerkey: --guardians "
					    "%s: not a count 1 .. %d\n", optarg,
					    PK_SHARE_N_MAX);
					return EXIT_USAGE;
				}
			} else
				o.guardians = optarg;
			break;
		case 's':
			if (!pk_label_key_ok(optarg)) {
				fprintf(stderr, "peerkey: --spread %s: not a "
				    "label key (1-%d of a-z 0-9 _ . -, a letter "
				    "first)\n", optarg, PK_LABEL_KEY_MAX);
				return EXIT_USAGE;
			}
			o.spread = optarg;
			break;
		case 'm':
			if ((o.min_guardians = enroll_count(optarg)) == 0) {
				fprintf(stderr, "peerkey: --guardians-min %s: "
				    "not a count 1 .. %d\n", optarg,
				    PK_SHARE_N_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'M':
			o.no_maint = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return EXIT_USAGE;
	if (o.threshold <= 1 && (o.guardians != NULL || o.nguardians != 0)) {
		fprintf(stderr, "peerkey: --guardians splits the key: it "
		    "needs --threshold 2 or more (with K = 1 every peer holds "
		    "the whole key: --peers)\n");
		return EXIT_USAGE;
	}
	if (o.guardians != NULL && o.peers != NULL) {
		fprintf(stderr, "peerkey: --guardians NAME,... and --peers "
		    "both name the peers: give one\n");
		return EXIT_USAGE;
	}
	if (o.nguardians != 0 && o.nguardians < o.threshold) {
		fprintf(stderr, "peerkey: --threshold %u of --guardians %u: "
		    "the threshold is at most the number of guardians\n",
		    o.threshold, o.nguardians);
		return EXIT_USAGE;
	}
	if (o.min_guardians != 0 && (o.nguardians == 0 ||
	    o.min_guardians > o.nguardians || o.min_guardians <
	    o.threshold)) {
		fprintf(stderr, "peerkey: --guardians-min M goes with "
		    "--threshold K --guardians N, K <= M <= N\n");
		return EXIT_USAGE;
	}
	return luks_enroll(argv[optind], &o, mode);
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
