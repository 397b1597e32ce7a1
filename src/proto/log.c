/*
 * log.c: logging to stderr or syslog, in the shape of OpenBSD's log.c.
 *
 * Until log_init() is called, messages go to stderr. On stderr each line
 * is "name: message" (no timestamp: journald adds one); to syslog the
 * message goes bare, the ident and pid coming from openlog().
 *
 * Messages may carry text a peer chose (a name, a bad line), so every
 * control byte (below 0x20, and 0x7f) is written as \xNN and a backslash
 * as \\: a "\n" in a peer's text cannot forge a second log line, and an
 * escape sequence cannot reach a terminal. A message longer than
 * LOG_MAXMSG bytes once escaped is cut short and ends in "...".
 *
 * Every function leaves errno as it found it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_MAXMSG	1024	/* bytes of one escaped message */

static int		 log_to_stderr = 1;
static int		 log_verbose;
static const char	*log_procname;

/* Returns the name that prefixes stderr lines. */
static const char *
log_name(void)
{
	if (log_procname != NULL)
		return log_procname;
	return program_invocation_short_name;
}

/* Starts logging to stderr (to_stderr) or to syslog with facility. */
void
log_init(int to_stderr, int facility)
{
	int	saved = errno;

	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(program_invocation_short_name, LOG_PID | LOG_NDELAY,
		    facility);
	tzset();
	errno = saved;
}

/* Names this process in stderr lines (name must stay valid). */
void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

/* Sets the verbosity: PK_LOG_INFO, PK_LOG_DEBUG or PK_LOG_TRACE. */
void
log_setverbose(int level)
{
	log_verbose = level;
}

/* Returns the verbosity. */
int
log_getverbose(void)
{
	return log_verbose;
}

/*
 * Copies src into dst (of size dstsz >= 4) with control bytes and
 * backslashes escaped. An escape is written whole or not at all; when src
 * does not fit, dst ends in "...".
 */
static void
log_escape(char *dst, size_t dstsz, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 o = 0, need;
	char			 esc[5];

	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*s >> 4];
			esc[3] = hex[*s & 0xf];
			need = 4;
		} else if (*s == '\\') {
			esc[0] = esc[1] = '\\';
			need = 2;
		} else {
			esc[0] = (char)*s;
			need = 1;
		}
		/* Keep room for "..." and the NUL after any escape. */
		if (o + need + 4 > dstsz) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(dst + o, esc, need);
		o += need;
	}
	dst[o] = '\0';
}

/* Formats, escapes and writes one message at syslog priority pri. */
void
vlog(int pri, const char *fmt, va_list ap)
{
	char	raw[LOG_MAXMSG * 2], msg[LOG_MAXMSG];
	int	saved = errno;

	/* An overlong message is cut by vsnprintf first, then by escaping. */
	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		strncpy(raw, "(unformattable log message)", sizeof(raw));
	log_escape(msg, sizeof(msg), raw);
	if (log_to_stderr) {
		fprintf(stderr, "%s: %s\n", log_name(), msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
	errno = saved;
}

/* Logs one printf-style message at pri. */
static void __attribute__((format(printf, 2, 3)))
log_fmt(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* Logs at pri the message, then ": " and strerror(code). */
static void __attribute__((format(printf, 3, 0)))
vlog_errno(int pri, int code, const char *fmt, va_list ap)
{
	char	buf[LOG_MAXMSG * 2];

	if (fmt == NULL) {
		log_fmt(pri, "%s", strerror(code));
		return;
	}
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	log_fmt(pri, "%s: %s", buf, strerror(code));
}

/* Logs a warning followed by ": strerror(errno)"; keeps errno. */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Logs an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* Logs a debug message at verbosity PK_LOG_DEBUG and above. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < PK_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Logs a trace message at verbosity PK_LOG_TRACE and above. */
void
log_trace(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < PK_LOG_TRACE)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Logs "fatal: message: strerror(errno)" at LOG_CRIT and exits 1. */
void
fatal(const char *fmt, ...)
{
	char	buf[LOG_MAXMSG * 2];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	if (fmt != NULL)
		(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (fmt != NULL)
		log_fmt(LOG_CRIT, "fatal: %s: %s", buf, strerror(saved));
	else
		log_fmt(LOG_CRIT, "fatal: %s", strerror(saved));
	exit(1);
}

/* Logs "fatal: message" at LOG_CRIT and exits 1. */
void
fatalx(const char *fmt, ...)
{
	char	buf[LOG_MAXMSG * 2];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fmt(LOG_CRIT, "fatal: %s", buf);
	exit(1);
}
