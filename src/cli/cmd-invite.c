/* cmd-invite.c: being written */
#include "config.h"

#include <stdio.h>

#include "peerkey.h"

int
cmd_invite(int argc, char **argv)
{
	fprintf(stderr, "peerkey: invite: not yet\n");
	return EXIT_FAIL;
}
