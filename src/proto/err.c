/*
 * err.c: pk_strerror(), the one place that names libpeerkey's error codes,
 * and pk_cause_set(), the one way a message for the operator is passed out
 * of a function (see pk_err.h); and pk_test_crash(), the tests' crash
 * points (inert without PEERKEY_TEST_CRASH_AT).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pk_err.h"

static const char *const pk_errstr[] = {
	"success",				/*  0 */
	"internal error",			/* -1 */
	"out of memory",			/* -2 */
	"invalid argument",			/* -3 */
	"system error",				/* -4 */
	"message truncated",			/* -5 */
	"unexpected trailing data",		/* -6 */
	"length over limit",			/* -7 */
	"malformed input",			/* -8 */
	"unknown message type",			/* -9 */
	"unsupported protocol version",		/* -10 */
	"unknown protocol line",		/* -11 */
	"key file permissions too open",	/* -12 */
	"unusable key",				/* -13 */
	"TLS failure",				/* -14 */
	"peer key not accepted",		/* -15 */
	"operation would block",		/* -16 */
	"connection closed by peer",		/* -17 */
	"timed out",				/* -18 */
	"OpenPGP failure",			/* -19 */
	"invalid configuration",		/* -20 */
	"not found",				/* -21 */
	"already exists",			/* -22 */
	"database error",			/* -23 */
	"TPM failure",				/* -24 */
};

/* A code added to pk_err.h without its phrase here fails the build. */
_Static_assert(sizeof(pk_errstr) / sizeof(pk_errstr[0]) == -PK_ERR_MAX_,
    "pk_errstr[] must name every code of pk_err.h");

/* Returns the phrase for code, or "unknown error". */
const char *
pk_strerror(int code)
{
	if (code > 0 || code <= PK_ERR_MAX_)
		return "unknown error";
	return pk_errstr[-code];
}

/* Sets *cause unless it is NULL or already set (see pk_err.h). */
void
pk_cause_set(char **cause, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	pk_cause_vset(cause, fmt, ap);
	va_end(ap);
}

/* pk_cause_set() with a va_list. */
void
pk_cause_vset(char **cause, const char *fmt, va_list ap)
{
	if (cause == NULL || *cause != NULL)
		return;
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
}

/* See pk_err.h: only a test sets PEERKEY_TEST_CRASH_AT. */
int
pk_test_crash(const char *who, const char *step)
{
	static int	 seen;
	const char	*at = getenv("PEERKEY_TEST_CRASH_AT"), *colon;
	size_t		 n;
	int		 nth = 1;

	if (at == NULL)
		return 0;
	if ((colon = strchr(at, ':')) != NULL) {
		n = (size_t)(colon - at);
		nth = atoi(colon + 1);
	} else
		n = strlen(at);
	if (n == strlen(step) && strncmp(at, step, n) == 0 && ++seen == nth) {
		fprintf(stderr, "%s: test crash at \"%s\"\n", who, at);
		_exit(9);
	}
	return 0;
}
