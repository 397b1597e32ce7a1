/*
 * log.h: logging, after OpenBSD's log.c.
 *
 * log_init(1, ...) logs to stderr (foreground, -d); log_init(0, facility)
 * logs to syslog (journald captures both). Levels: warnings and info are
 * always logged; log_debug() only at verbosity >= 1 (PK_LOG_DEBUG) and
 * log_trace() at >= 2. log_warn() appends strerror(errno). fatal() and
 * fatalx() are for daemons' start-up failures and broken invariants only;
 * library code (src/proto) never calls them.
 *
 * Never pass a secret to any of these.
 */
#ifndef PK_LOG_H
#define PK_LOG_H

#include <stdarg.h>

#define PK_LOG_INFO	0
#define PK_LOG_DEBUG	1
#define PK_LOG_TRACE	2

void	log_init(int to_stderr, int facility);
void	log_procinit(const char *name);
void	log_setverbose(int level);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int pri, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));

#endif /* PK_LOG_H */
