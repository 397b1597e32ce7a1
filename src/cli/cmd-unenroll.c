/*
 * cmd-unenroll.c: "peerkey unenroll DEVICE": the peerkey keyslot killed,
 * its blob withdrawn from the peers, the token removed (luks.c).
 */
#include "config.h"

#include "peerkey.h"

int
cmd_unenroll(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return EXIT_USAGE;
	return luks_unenroll(argv[1]);
}
