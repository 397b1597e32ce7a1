/* cmd-join.c: being written */
#include "config.h"

#include <stdio.h>

#include "peerkey.h"

int
cmd_join(int argc, char **argv)
{
	fprintf(stderr, "peerkey: join: not yet\n");
	return EXIT_FAIL;
}
