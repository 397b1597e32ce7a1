/*
 * conf.h: INI configuration files, read with libinih and checked against a
 * table of typed items.
 *
 * A program describes its options once, in a table ending with an item
 * whose name is NULL:
 *
 *	struct opts { uint64_t interval_ms; uint16_t port; char *key; };
 *	static const struct pk_conf_item items[] = {
 *		{ "daemon", "interval", PK_CONF_DURATION,
 *		    offsetof(struct opts, interval_ms), 1000, 0, "5m", NULL },
 *		{ "daemon", "port", PK_CONF_PORT,
 *		    offsetof(struct opts, port), 0, 0, "4141", NULL },
 *		{ "daemon", "key", PK_CONF_PATH,
 *		    offsetof(struct opts, key), 0, 0, NULL, NULL },
 *		{ NULL }
 *	};
 *
 * pk_conf_defaults() then pk_conf_load_file() fill the struct;
 * pk_conf_free() releases its strings. Every failure returns a negative
 * PK_ERR_* code and, when cause is not NULL, sets *cause to a malloc'ed
 * message for the operator naming the file, the line and the bad value:
 *
 *	/etc/peerkey/peerkeyd.conf:12: interval: "10q" is not a duration
 *	(examples: 30s, 5m, 1h30m, PT5M)
 *
 * The validators below serve the command line too.
 */
#ifndef PK_CONF_H
#define PK_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Value types, and the C type each one fills at its item's offset. min and
 * max bound the value (max 0: no upper bound) in the unit noted.
 */
enum pk_conf_type {
	PK_CONF_STRING,		/* char *; min/max: length in bytes */
	PK_CONF_PATH,		/* char *, an absolute path; max: length */
	PK_CONF_UINT,		/* unsigned long long, decimal */
	PK_CONF_BOOL,		/* int 0/1: yes/no true/false on/off 1/0 */
	PK_CONF_DURATION,	/* uint64_t milliseconds; min/max in ms */
	PK_CONF_PORT,		/* uint16_t, 1..65535 */
	PK_CONF_ENUM,		/* int, the index into choices */
	PK_CONF_LOGLEVEL,	/* int PK_LOG_*: info, debug, trace */
	PK_CONF_ADDRESS,	/* char *: host, host:port, [v6]:port */
	PK_CONF_SIZE,		/* uint64_t bytes: 512, 64k, 16M, 1G */
};

struct pk_conf_item {
	const char		*section;	/* "" or NULL: before any [x] */
	const char		*name;		/* NULL ends the table */
	enum pk_conf_type	 type;
	size_t			 offset;	/* where in the struct */
	unsigned long long	 min, max;	/* max 0: no upper bound */
	const char		*defval;	/* text, as in a file; or NULL */
	const char *const	*choices;	/* PK_CONF_ENUM: NULL-ended */
};

/* Longest line of a file, in bytes (libinih's buffer, less "\n\0"). */
#define PK_CONF_MAX_LINE	198
/* Longest file read by pk_conf_load_file(). */
#define PK_CONF_MAX_FILE	(1024 * 1024)
/* Longest value, continuation lines included. */
#define PK_CONF_MAX_VALUE	4096

/*
 * Sets every item of table in obj to its default (strings to a copy of
 * defval, or NULL; numbers to defval or 0). Returns 0, PK_ERR_ALLOC, or
 * PK_ERR_CONF when a default does not pass its own validator (a bug).
 */
int	pk_conf_defaults(const struct pk_conf_item *table, void *obj,
	    char **cause);

/*
 * Reads the INI file at path into obj. Unknown sections and keys, keys
 * given twice, syntax errors, lines over PK_CONF_MAX_LINE, NUL bytes and
 * invalid values are errors. Values not in the file keep what obj had.
 * Returns 0; PK_ERR_NOT_FOUND if path does not exist; PK_ERR_SYSTEM
 * (errno set) if it cannot be read; PK_ERR_TOO_LARGE past
 * PK_CONF_MAX_FILE; PK_ERR_CONF for what is in it; PK_ERR_ALLOC. On
 * failure obj may be partly updated but stays valid for pk_conf_free().
 */
int	pk_conf_load_file(const char *path, const struct pk_conf_item *table,
	    void *obj, char **cause);

/*
 * As pk_conf_load_file() for len bytes of text (need not end in NUL; an
 * embedded NUL is an error). name stands for the file in messages.
 */
int	pk_conf_load_string(const char *name, const char *text, size_t len,
	    const struct pk_conf_item *table, void *obj, char **cause);

/*
 * Checks value against item and stores it in obj (replacing and freeing
 * any old string). For the command line: *cause reads "NAME: "VALUE" is
 * not ...", without a file and line. Returns 0, PK_ERR_CONF, PK_ERR_ALLOC.
 */
int	pk_conf_set(const struct pk_conf_item *item, const char *value,
	    void *obj, char **cause);

/* Frees every string of table in obj and sets it to NULL. */
void	pk_conf_free(const struct pk_conf_item *table, void *obj);

/*
 * Validators. Each returns 0 and stores the value, or PK_ERR_BAD_FORMAT
 * for text that does not parse, or PK_ERR_TOO_LARGE for a number that
 * overflows or is out of the given bounds; *out is untouched on error.
 * None accepts leading or trailing blanks, signs or an empty string.
 */

/* "30" (seconds), "250ms", "30s", "5m", "1h30m", "2d", "1w"; RFC 3339
 * durations "PT5M", "P1DT3M20S", "P1W" (a month 30 days, a year 365). */
int	pk_parse_duration_ms(const char *s, uint64_t *ms);
/* yes/no, true/false, on/off, 1/0, any case. */
int	pk_parse_bool(const char *s, int *b);
/* Decimal, min <= value <= max. */
int	pk_parse_uint(const char *s, unsigned long long min,
	    unsigned long long max, unsigned long long *out);
/* Decimal 1..65535. */
int	pk_parse_port(const char *s, uint16_t *port);
/* Bytes, with an optional suffix k, K, M or G (powers of 1024). */
int	pk_parse_size(const char *s, uint64_t *bytes);
/* "info", "debug" or "trace" into PK_LOG_INFO..PK_LOG_TRACE. */
int	pk_parse_loglevel(const char *s, int *level);

/*
 * An address "host", "host:port", "[v6]:port" or "[fe80::1%eth0]:port"
 * (a bare IPv6 literal without brackets takes no port). host is a DNS
 * name, an IPv4 or an IPv6 literal; it is copied into host (hostsz bytes,
 * NUL-terminated, without brackets) and the port, or defport when none is
 * given, into *port. PK_ERR_TOO_LARGE if host does not fit.
 */
int	pk_parse_address(const char *s, char *host, size_t hostsz,
	    uint16_t defport, uint16_t *port);

/*
 * Checks an address list (addr.h): every word an address that
 * pk_parse_address() takes. Returns 0 (the empty list too), or
 * PK_ERR_BAD_FORMAT / PK_ERR_TOO_LARGE for the first bad word.
 */
int	pk_parse_address_list(const char *list);

/*
 * Writes ms as a duration this file reads back ("1h30m", "250ms", "0s")
 * into buf; returns buf.
 */
const char *pk_format_duration(uint64_t ms, char *buf, size_t bufsz);

#endif /* PK_CONF_H */
