/*
 * replay.c: runs one fuzz target as a plain program under make check.
 *
 * It feeds every file of tests/fuzz/<name>.in/ (the seed corpus) and
 * tests/fuzz/<name>.repro/ (inputs that once crashed) to
 * LLVMFuzzerTestOneInput and prints one TAP line per file. A crash or a
 * sanitizer report ends the program, which the TAP driver counts as a
 * failure. Files named on the command line are replayed instead, which is
 * how a new crasher is reproduced by hand.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define REPLAY_MAX_INPUT	(1024 * 1024)

static int	ntests;
static int	nfailed;

static void
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*buf;
	size_t		 len;

	ntests++;
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL ||
	    (f = fopen(path, "rb")) == NULL) {
		printf("not ok %d - %s: %s\n", ntests, path, strerror(errno));
		nfailed++;
		free(buf);
		return;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	/* Copy into an exact-size buffer so ASan sees any overread. */
	{
		uint8_t	*exact = malloc(len ? len : 1);

		if (exact == NULL) {
			printf("not ok %d - %s: out of memory\n", ntests, path);
			nfailed++;
			free(buf);
			return;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	printf("ok %d - %s (%zu bytes)\n", ntests, path, len);
	fflush(stdout);
}

static int
replay_dir(const char *dir, int required)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[4096];
	int		 n = 0;

	if ((d = opendir(dir)) == NULL) {
		if (required) {
			printf("not ok %d - %s: %s\n", ++ntests, dir,
			    strerror(errno));
			nfailed++;
		}
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		replay_file(path);
		n++;
	}
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[4096];
	int		 i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			replay_file(argv[i]);
	} else {
		if (top == NULL || *top == '\0')
			top = ".";
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s.in", top,
		    FUZZ_NAME);
		if (replay_dir(dir, 1) == 0) {
			printf("not ok %d - %s: empty seed corpus\n",
			    ++ntests, dir);
			nfailed++;
		}
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s.repro", top,
		    FUZZ_NAME);
		replay_dir(dir, 0);
	}
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
