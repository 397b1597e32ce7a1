/*
 * test_helper.c: TAP output and assertion bookkeeping for the unit tests.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_helper.h"

static const char	*cur_name;
static int		 cur_failed;
static int		 ntests;
static int		 nfailed;
static char		 tmpdir[4096];

void
test_start(const char *name)
{
	if (cur_name != NULL)
		test_done();
	cur_name = name;
	cur_failed = 0;
}

void
test_done(void)
{
	if (cur_name == NULL)
		return;
	ntests++;
	if (cur_failed)
		nfailed++;
	printf("%sok %d - %s\n", cur_failed ? "not " : "", ntests, cur_name);
	fflush(stdout);
	cur_name = NULL;
}

/* Prints one "# [file:line: ]message" diagnostic line. */
static void __attribute__((format(printf, 3, 0)))
test_vdiag(const char *file, int line, const char *fmt, va_list ap)
{
	printf("# ");
	if (file != NULL)
		printf("%s:%d: ", file, line);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	cur_failed = 1;
	va_start(ap, fmt);
	test_vdiag(file, line, fmt, ap);
	va_end(ap);
}

void
test_diag(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	test_vdiag(NULL, 0, fmt, ap);
	va_end(ap);
}

int
test_run(const char *fmt, ...)
{
	char	cmd[8192];
	va_list	ap;
	int	st;

	va_start(ap, fmt);
	st = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (st < 0 || (size_t)st >= sizeof(cmd))
		return -1;
	fflush(stdout);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

void
test_hexdump(const char *label, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	printf("# %s (%zu bytes):", label, len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 32 == 0 ? "\n#   " : "", b[i]);
	printf("\n");
}

int
test_slow(void)
{
	const char	*s = getenv("PK_TEST_SLOW");

	return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
test_tmpdir(void)
{
	const char	*base;

	if (tmpdir[0] != '\0')
		return tmpdir;
	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/pktest.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	atexit(rm_tmpdir);
	return tmpdir;
}

const char *
test_path(const char *name)
{
	static char	buf[8][4096];
	static int	i;

	i = (i + 1) % 8;
	if ((size_t)snprintf(buf[i], sizeof(buf[i]), "%s/%s", test_tmpdir(),
	    name) >= sizeof(buf[i])) {
		fprintf(stderr, "test_path: %s: too long\n", name);
		exit(99);
	}
	return buf[i];
}

const char *
test_srcdir(void)
{
	const char	*s = getenv("top_srcdir");

	return s != NULL && *s != '\0' ? s : ".";
}

int
test_exit(void)
{
	if (cur_name != NULL)
		test_done();
	printf("1..%d\n", ntests);
	if (nfailed)
		printf("# %d of %d tests failed\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
