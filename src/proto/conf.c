/*
 * conf.c: INI configuration files, read with libinih and checked against a
 * table of typed items (see conf.h).
 *
 * libinih (Debian 12: release 55) gives the syntax: "[section]" lines,
 * "name = value" or "name: value" pairs, whole-line comments starting with
 * ';' or '#', inline comments after " ;", and continuation lines (an
 * indented line after a pair adds to that pair's value). Its handler is
 * not told the line number, so we feed it through our own reader, which
 * counts lines, refuses NUL bytes and overlong lines (libinih would split
 * them silently into several lines), and mirrors libinih's reading of
 * each line closely enough to know section headers and continuation
 * lines.
 *
 * Reading has two phases. The first collects every pair, with its line,
 * into a list, joining continuation lines with one space, and records
 * unknown sections and keys, duplicate keys and syntax errors. The second
 * runs each value through its validator in file order. The error reported
 * is the one on the lowest line, as "file:line: what is wrong".
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf.h"
#include "file.h"
#include "log.h"
#include "pk_err.h"

#define QUOTE_MAX	80	/* bytes of a bad value shown in a message */
#define QUOTE_BUF	(QUOTE_MAX + 16)

#define HINT_DURATION	"examples: 30s, 5m, 1h30m, PT5M"
#define HINT_BOOL	"yes, no, true, false, on, off, 1, 0"
#define HINT_SIZE	"examples: 512, 64k, 16M"
#define HINT_ADDRESS	\
	"examples: node1.example, 192.0.2.1:4141, [2001:db8::1]:4141"

/* One "name = value" of a file, kept until the second phase. */
struct conf_entry {
	int		 line;
	size_t		 item;		/* index into the table */
	char		*value;
	size_t		 len;
};

/* The state of one reading, shared by the reader and the handler. */
struct conf_parse {
	const char			*name;	/* file name for messages */
	const struct pk_conf_item	*table;
	size_t				 nitems;
	const char			*text;
	size_t				 len;
	size_t				 pos;
	int				 lineno;
	int				 cont;	/* this line continues a value */
	int				 have_prev; /* as libinih's prev_name */
	int				 skip_cont; /* last pair was refused */
	int				*seen;	/* per item: line, or 0 */
	struct conf_entry		*ent;
	size_t				 nent;
	size_t				 aent;
	int				 oom;
	int				 errline;
	char				*errmsg;
};

/*
 * Writes the first n bytes of s into buf as a quoted, printable string:
 * control bytes as \xNN, '"' and '\' escaped, cut with "..." past
 * QUOTE_MAX. buf must hold QUOTE_BUF bytes.
 */
static const char *
conf_quote_n(char *buf, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, o = 0;

	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		if (o > QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (u[i] < 0x20 || u[i] == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[u[i] >> 4];
			buf[o++] = hex[u[i] & 0xf];
		} else if (u[i] == '"' || u[i] == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)u[i];
		} else
			buf[o++] = (char)u[i];
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* As conf_quote_n() for a NUL-terminated string. */
static const char *
conf_quote(char *buf, const char *s)
{
	return conf_quote_n(buf, s, strlen(s));
}

/* Returns non-zero if s has a control byte. */
static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Parses the decimal digits at *sp (at least one) into *v; advances *sp.
 * Returns 0, PK_ERR_BAD_FORMAT or PK_ERR_TOO_LARGE. */
static int
parse_digits(const char **sp, uint64_t *v)
{
	const char	*s = *sp;
	uint64_t	 n = 0;
	int		 d, big = 0;

	if (*s < '0' || *s > '9')
		return PK_ERR_BAD_FORMAT;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = *s - '0';
		if (n > (UINT64_MAX - (uint64_t)d) / 10)
			big = 1;
		else
			n = n * 10 + (uint64_t)d;
	}
	*sp = s;
	if (big)
		return PK_ERR_TOO_LARGE;
	*v = n;
	return 0;
}

/* Adds n * unit to *acc; PK_ERR_TOO_LARGE on overflow. */
static int
add_scaled(uint64_t *acc, uint64_t n, uint64_t unit)
{
	if (n != 0 && unit > UINT64_MAX / n)
		return PK_ERR_TOO_LARGE;
	if (n * unit > UINT64_MAX - *acc)
		return PK_ERR_TOO_LARGE;
	*acc += n * unit;
	return 0;
}

/* Parses decimal s within [min, max]. */
int
pk_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	uint64_t	v;
	int		r;

	if (s == NULL)
		return PK_ERR_BAD_FORMAT;
	if ((r = parse_digits(&s, &v)) != 0) {
		/* Overflow only counts when the text is all digits. */
		if (r == PK_ERR_TOO_LARGE && *s != '\0')
			return PK_ERR_BAD_FORMAT;
		return r;
	}
	if (*s != '\0')
		return PK_ERR_BAD_FORMAT;
	if (v < min || v > max)
		return PK_ERR_TOO_LARGE;
	*out = v;
	return 0;
}

/* Parses a port number 1..65535. */
int
pk_parse_port(const char *s, uint16_t *port)
{
	unsigned long long	v;
	int			r;

	if ((r = pk_parse_uint(s, 1, 65535, &v)) != 0)
		return r;
	*port = (uint16_t)v;
	return 0;
}

/* Parses yes/no, true/false, on/off, 1/0 in any case. */
int
pk_parse_bool(const char *s, int *b)
{
	static const char *const	yes[] = { "yes", "true", "on", "1" };
	static const char *const	no[] = { "no", "false", "off", "0" };
	size_t				i;

	if (s == NULL)
		return PK_ERR_BAD_FORMAT;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return PK_ERR_BAD_FORMAT;
}

/* Parses "info", "debug" or "trace". */
int
pk_parse_loglevel(const char *s, int *level)
{
	if (s == NULL)
		return PK_ERR_BAD_FORMAT;
	if (strcmp(s, "info") == 0)
		*level = PK_LOG_INFO;
	else if (strcmp(s, "debug") == 0)
		*level = PK_LOG_DEBUG;
	else if (strcmp(s, "trace") == 0)
		*level = PK_LOG_TRACE;
	else
		return PK_ERR_BAD_FORMAT;
	return 0;
}

/* Parses a size in bytes with an optional k/K/M/G suffix. */
int
pk_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t	v, unit = 1, acc = 0;
	int		r;

	if (s == NULL)
		return PK_ERR_BAD_FORMAT;
	if ((r = parse_digits(&s, &v)) != 0 && r != PK_ERR_TOO_LARGE)
		return r;
	switch (*s) {
	case '\0':
		break;
	case 'k':
	case 'K':
		unit = 1024;
		s++;
		break;
	case 'M':
		unit = 1024 * 1024;
		s++;
		break;
	case 'G':
		unit = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		return PK_ERR_BAD_FORMAT;
	}
	if (*s != '\0')
		return PK_ERR_BAD_FORMAT;
	if (r != 0)
		return r;
	if ((r = add_scaled(&acc, v, unit)) != 0)
		return r;
	*bytes = acc;
	return 0;
}

/*
 * Parses an RFC 3339 duration after its "P": "nW", or date parts nY nM nD
 * then optionally "T" and time parts nH nM nS, each at most once and in
 * that order. A month counts 30 days and a year 365, as in Mandos.
 */
static int
parse_rfc3339(const char *s, uint64_t *ms)
{
	static const struct {
		char		c;
		int		time;	/* after the 'T' */
		uint64_t	ms;
	} units[] = {
		{ 'Y', 0, 365ULL * 86400000 },
		{ 'M', 0, 30ULL * 86400000 },
		{ 'D', 0, 86400000 },
		{ 'H', 1, 3600000 },
		{ 'M', 1, 60000 },
		{ 'S', 1, 1000 },
	};
	uint64_t	acc = 0, v;
	size_t		next = 0, i;
	int		r, in_time = 0, ntime = 0, nparts = 0;

	/* Weeks stand alone. */
	{
		const char	*w = s;

		if (parse_digits(&w, &v) != PK_ERR_BAD_FORMAT &&
		    *w == 'W' && w[1] == '\0') {
			if ((r = parse_digits(&s, &v)) != 0)
				return r;
			if ((r = add_scaled(&acc, v, 7ULL * 86400000)) != 0)
				return r;
			*ms = acc;
			return 0;
		}
	}
	while (*s != '\0') {
		if (*s == 'T') {
			if (in_time)
				return PK_ERR_BAD_FORMAT;
			in_time = 1;
			s++;
			continue;
		}
		if ((r = parse_digits(&s, &v)) == PK_ERR_BAD_FORMAT)
			return r;
		for (i = next; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].c == *s && units[i].time == in_time)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return PK_ERR_BAD_FORMAT;
		/* Check the whole syntax before reporting an overflow. */
		if (r == 0)
			r = add_scaled(&acc, v, units[i].ms);
		if (r != 0)
			acc = UINT64_MAX;
		next = i + 1;
		nparts++;
		if (in_time)
			ntime++;
		s++;
	}
	if (nparts == 0 || (in_time && ntime == 0))
		return PK_ERR_BAD_FORMAT;
	if (acc == UINT64_MAX)
		return PK_ERR_TOO_LARGE;
	*ms = acc;
	return 0;
}

/* Parses a duration (see conf.h) into milliseconds. */
int
pk_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*suffix;
		uint64_t	 ms;
	} units[] = {
		{ "w", 7ULL * 86400000 },
		{ "d", 86400000 },
		{ "h", 3600000 },
		{ "ms", 1 },		/* before "m" */
		{ "m", 60000 },
		{ "s", 1000 },
	};
	uint64_t	acc = 0, v;
	size_t		i, n, last = SIZE_MAX;
	int		r, big = 0;

	if (s == NULL || *s == '\0')
		return PK_ERR_BAD_FORMAT;
	if (*s == 'P')
		return parse_rfc3339(s + 1, ms);
	/* Plain seconds. */
	{
		const char	*e = s;

		r = parse_digits(&e, &v);
		if (r != PK_ERR_BAD_FORMAT && *e == '\0') {
			if (r == 0 && (r = add_scaled(&acc, v, 1000)) == 0)
				*ms = acc;
			return r;
		}
	}
	/* Number-unit pairs, larger units first, each unit at most once. */
	while (*s != '\0') {
		if ((r = parse_digits(&s, &v)) == PK_ERR_BAD_FORMAT)
			return r;
		if (r != 0)
			big = 1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			n = strlen(units[i].suffix);
			if (strncmp(s, units[i].suffix, n) == 0)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return PK_ERR_BAD_FORMAT;
		/* Order of size: w d h m s ms (the table has ms before m). */
		{
			static const int	rank[] = { 0, 1, 2, 5, 3, 4 };

			if (last != SIZE_MAX && rank[i] <= rank[last])
				return PK_ERR_BAD_FORMAT;
			last = i;
		}
		s += n;
		if (!big && add_scaled(&acc, v, units[i].ms) != 0)
			big = 1;
	}
	if (big)
		return PK_ERR_TOO_LARGE;
	*ms = acc;
	return 0;
}

/* Writes ms as "1d2h3m4s5ms" (or "0s") into buf. */
const char *
pk_format_duration(uint64_t ms, char *buf, size_t bufsz)
{
	static const struct {
		const char	*suffix;
		uint64_t	 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t	i, o = 0;
	int	n;

	if (bufsz == 0)
		return buf;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, bufsz, "0s");
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms < units[i].ms)
			continue;
		n = snprintf(buf + o, bufsz - o, "%llu%s",
		    (unsigned long long)(ms / units[i].ms), units[i].suffix);
		if (n < 0 || (size_t)n >= bufsz - o)
			break;
		o += (size_t)n;
		ms %= units[i].ms;
	}
	return buf;
}

/* Writes a size as "16M", "64k" or plain bytes into buf. */
static const char *
format_size(uint64_t v, char *buf, size_t bufsz)
{
	if (v != 0 && v % (1024ULL * 1024 * 1024) == 0)
		snprintf(buf, bufsz, "%lluG",
		    (unsigned long long)(v / (1024ULL * 1024 * 1024)));
	else if (v != 0 && v % (1024 * 1024) == 0)
		snprintf(buf, bufsz, "%lluM",
		    (unsigned long long)(v / (1024 * 1024)));
	else if (v != 0 && v % 1024 == 0)
		snprintf(buf, bufsz, "%lluk", (unsigned long long)(v / 1024));
	else
		snprintf(buf, bufsz, "%llu", (unsigned long long)v);
	return buf;
}

/* Checks a DNS host name: dot-separated labels of letters, digits and
 * inner hyphens, at most 63 bytes each and 253 in all. */
static int
valid_hostname(const char *s, size_t len)
{
	size_t	i, label = 0;
	int	alldigits = 1;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (isalnum((unsigned char)s[i]) == 0 && s[i] != '-')
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (isdigit((unsigned char)s[i]) == 0)
			alldigits = 0;
		if (++label > 63)
			return 0;
	}
	if (s[len - 1] == '-')
		return 0;
	/* Digits and dots only: must have been an IPv4 literal. */
	return !alldigits;
}

/* Checks an IPv6 literal with an optional "%zone" (an interface name). */
static int
valid_ipv6(const char *s, size_t len)
{
	struct in6_addr	 a;
	char		 buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char	*pct;
	size_t		 alen, i;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((pct = strchr(buf, '%')) != NULL) {
		alen = (size_t)(pct - buf);
		if (len - alen - 1 == 0 || len - alen - 1 >= IF_NAMESIZE)
			return 0;
		for (i = alen + 1; i < len; i++)
			if (isalnum((unsigned char)buf[i]) == 0 &&
			    strchr("_.-", buf[i]) == NULL)
				return 0;
		buf[alen] = '\0';
	}
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Parses an address (see conf.h). */
int
pk_parse_address(const char *s, char *host, size_t hostsz, uint16_t defport,
    uint16_t *port)
{
	struct in_addr	 a4;
	const char	*h, *colon, *p = NULL, *end;
	char		 buf[256];
	size_t		 hlen, ncolon = 0;
	int		 v6 = 0;

	if (s == NULL || *s == '\0')
		return PK_ERR_BAD_FORMAT;
	for (h = s; *h != '\0'; h++)
		if (*h == ':')
			ncolon++;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return PK_ERR_BAD_FORMAT;
		h = s + 1;
		hlen = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] != '\0')
			return PK_ERR_BAD_FORMAT;
		v6 = 1;
	} else if (ncolon >= 2) {
		h = s;
		hlen = strlen(s);
		v6 = 1;
	} else {
		h = s;
		if ((colon = strchr(s, ':')) != NULL) {
			hlen = (size_t)(colon - s);
			p = colon + 1;
		} else
			hlen = strlen(s);
	}
	if (v6) {
		if (!valid_ipv6(h, hlen))
			return PK_ERR_BAD_FORMAT;
	} else {
		if (hlen == 0 || hlen >= sizeof(buf))
			return PK_ERR_BAD_FORMAT;
		memcpy(buf, h, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET, buf, &a4) != 1 &&
		    !valid_hostname(h, hlen))
			return PK_ERR_BAD_FORMAT;
	}
	if (p != NULL) {
		if (pk_parse_port(p, &defport) != 0)
			return PK_ERR_BAD_FORMAT;
	}
	if (hlen >= hostsz)
		return PK_ERR_TOO_LARGE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = defport;
	return 0;
}

/* Stores a copy of value in the char * at p, freeing the old one. */
static int
set_string(void *p, const char *value)
{
	char	*s, **dst = p;

	if ((s = strdup(value)) == NULL)
		return PK_ERR_ALLOC;
	free(*dst);
	*dst = s;
	return 0;
}

_Static_assert(sizeof(unsigned long long) == sizeof(uint64_t),
    "PK_CONF_UINT and PK_CONF_DURATION/SIZE values share one store");

/* Writes limit v of item in the item's own unit ("5m", "64k", "512"). */
static void
format_limit(const struct pk_conf_item *it, unsigned long long v, char *buf,
    size_t len)
{
	if (it->type == PK_CONF_DURATION)
		pk_format_duration(v, buf, len);
	else if (it->type == PK_CONF_SIZE)
		format_size(v, buf, len);
	else
		snprintf(buf, len, "%llu", v);
}

/*
 * Sets *msg to "NAME: "VALUE" is below the minimum MIN" or "... above the
 * maximum MAX" for a number v outside item's bounds; returns non-zero then.
 */
static int
check_bounds(const struct pk_conf_item *it, unsigned long long v,
    const char *q, char **msg)
{
	char	lim[64];

	if (v >= it->min && (it->max == 0 || v <= it->max))
		return 0;
	format_limit(it, v < it->min ? it->min : it->max, lim, sizeof(lim));
	pk_cause_set(msg, "%s: %s is %s %s", it->name, q, v < it->min ?
	    "below the minimum" : "above the maximum", lim);
	return 1;
}

/* Sets *msg to "NAME: VALUE is too large" (for a number that overflows). */
static void
too_large(const struct pk_conf_item *it, const char *q, char **msg)
{
	char	lim[64];

	if (it->max == 0) {
		pk_cause_set(msg, "%s: %s is too large", it->name, q);
		return;
	}
	format_limit(it, it->max, lim, sizeof(lim));
	pk_cause_set(msg, "%s: %s is above the maximum %s", it->name, q, lim);
}

/*
 * Checks value against item and stores it in obj. On PK_ERR_CONF sets
 * *msg to a malloc'ed "NAME: ..." (NULL if that allocation failed).
 */
static int
conf_set_value(const struct pk_conf_item *it, const char *value, void *obj,
    char **msg)
{
	char				 q[QUOTE_BUF], host[256];
	char				*dst = (char *)obj + it->offset;
	unsigned long long		 u;
	uint64_t			 u64 = 0;
	size_t				 i, len;
	uint16_t			 port;
	int				 r, b;

	*msg = NULL;
	conf_quote(q, value);
	len = strlen(value);
	if (has_control(value)) {
		pk_cause_set(msg, "%s: %s contains a control character",
		    it->name, q);
		return PK_ERR_CONF;
	}
	switch (it->type) {
	case PK_CONF_STRING:
	case PK_CONF_PATH:
		if (it->type == PK_CONF_PATH && value[0] != '/') {
			pk_cause_set(msg, "%s: %s is not an absolute path",
			    it->name, q);
			return PK_ERR_CONF;
		}
		if (len < it->min) {
			pk_cause_set(msg, "%s: %s is shorter than %llu bytes",
			    it->name, q, it->min);
			return PK_ERR_CONF;
		}
		if ((it->max != 0 && len > it->max) ||
		    (it->type == PK_CONF_PATH && len >= PATH_MAX)) {
			pk_cause_set(msg, "%s: %s is longer than %llu bytes",
			    it->name, q, it->max != 0 ? it->max :
			    (unsigned long long)PATH_MAX - 1);
			return PK_ERR_CONF;
		}
		return set_string(dst, value);
	case PK_CONF_ADDRESS:
		if (pk_parse_address(value, host, sizeof(host), 0,
		    &port) != 0) {
			pk_cause_set(msg, "%s: %s is not an address (%s)",
			    it->name, q, HINT_ADDRESS);
			return PK_ERR_CONF;
		}
		return set_string(dst, value);
	case PK_CONF_PORT:
		if (pk_parse_port(value, &port) != 0) {
			pk_cause_set(msg, "%s: %s is not a port number "
			    "(1 to 65535)", it->name, q);
			return PK_ERR_CONF;
		}
		if (check_bounds(it, port, q, msg))
			return PK_ERR_CONF;
		memcpy(dst, &port, sizeof(port));
		return 0;
	case PK_CONF_UINT:
	case PK_CONF_DURATION:
	case PK_CONF_SIZE:
		/* All three are stored as 64 bits (see the assertion). */
		if (it->type == PK_CONF_UINT)
			r = pk_parse_uint(value, 0, ULLONG_MAX, &u);
		else if (it->type == PK_CONF_DURATION)
			r = pk_parse_duration_ms(value, &u64);
		else
			r = pk_parse_size(value, &u64);
		if (it->type != PK_CONF_UINT)
			u = u64;
		if (r == PK_ERR_BAD_FORMAT) {
			if (it->type == PK_CONF_UINT)
				pk_cause_set(msg, "%s: %s is not a number",
				    it->name, q);
			else if (it->type == PK_CONF_DURATION)
				pk_cause_set(msg, "%s: %s is not a duration "
				    "(%s)", it->name, q, HINT_DURATION);
			else
				pk_cause_set(msg, "%s: %s is not a size (%s)",
				    it->name, q, HINT_SIZE);
			return PK_ERR_CONF;
		}
		if (r != 0) {
			too_large(it, q, msg);
			return PK_ERR_CONF;
		}
		if (check_bounds(it, u, q, msg))
			return PK_ERR_CONF;
		memcpy(dst, &u, sizeof(u));
		return 0;
	case PK_CONF_BOOL:
		if (pk_parse_bool(value, &b) != 0) {
			pk_cause_set(msg, "%s: %s is not a boolean (%s)",
			    it->name, q, HINT_BOOL);
			return PK_ERR_CONF;
		}
		memcpy(dst, &b, sizeof(b));
		return 0;
	case PK_CONF_LOGLEVEL:
		if (pk_parse_loglevel(value, &b) != 0) {
			pk_cause_set(msg, "%s: %s is not a log level "
			    "(info, debug, trace)", it->name, q);
			return PK_ERR_CONF;
		}
		memcpy(dst, &b, sizeof(b));
		return 0;
	case PK_CONF_ENUM:
		if (it->choices == NULL)
			return PK_ERR_INTERNAL;
		for (i = 0; it->choices[i] != NULL; i++) {
			if (strcmp(value, it->choices[i]) == 0) {
				b = (int)i;
				memcpy(dst, &b, sizeof(b));
				return 0;
			}
		}
		{
			char	choices[512];
			size_t	o = 0;

			choices[0] = '\0';
			for (i = 0; it->choices[i] != NULL && o <
			    sizeof(choices); i++)
				o += (size_t)snprintf(choices + o,
				    sizeof(choices) - o, "%s%s",
				    i ? ", " : "", it->choices[i]);
			pk_cause_set(msg, "%s: %s is not one of: %s", it->name,
			    q, choices);
		}
		return PK_ERR_CONF;
	}
	return PK_ERR_INTERNAL;
}

/* Checks and stores one value for the command line (see conf.h). */
int
pk_conf_set(const struct pk_conf_item *item, const char *value, void *obj,
    char **cause)
{
	char	*msg;
	int	 r;

	if (cause != NULL)
		*cause = NULL;
	if (item == NULL || item->name == NULL || value == NULL || obj == NULL)
		return PK_ERR_INVALID_ARG;
	r = conf_set_value(item, value, obj, &msg);
	if (r == PK_ERR_CONF && msg == NULL)
		r = PK_ERR_ALLOC;
	if (cause != NULL)
		*cause = msg;
	else
		free(msg);
	return r;
}

/* Returns item's section, "" for none. */
static const char *
item_section(const struct pk_conf_item *it)
{
	return it->section != NULL ? it->section : "";
}

/* Sets every item to its default (see conf.h). */
int
pk_conf_defaults(const struct pk_conf_item *table, void *obj, char **cause)
{
	const struct pk_conf_item	*it;
	char				*dst, *msg;
	int				 r;

	if (cause != NULL)
		*cause = NULL;
	if (table == NULL || obj == NULL)
		return PK_ERR_INVALID_ARG;
	for (it = table; it->name != NULL; it++) {
		dst = (char *)obj + it->offset;
		if (it->defval != NULL) {
			if ((r = conf_set_value(it, it->defval, obj,
			    &msg)) == 0)
				continue;
			if (r == PK_ERR_CONF && msg == NULL)
				return PK_ERR_ALLOC;
			if (r == PK_ERR_CONF)
				pk_cause_set(cause, "default of [%s] %s",
				    item_section(it), msg);
			free(msg);
			return r;
		}
		switch (it->type) {
		case PK_CONF_STRING:
		case PK_CONF_PATH:
		case PK_CONF_ADDRESS:
			free(*(char **)(void *)dst);
			*(char **)(void *)dst = NULL;
			break;
		case PK_CONF_UINT:
			memset(dst, 0, sizeof(unsigned long long));
			break;
		case PK_CONF_DURATION:
		case PK_CONF_SIZE:
			memset(dst, 0, sizeof(uint64_t));
			break;
		case PK_CONF_PORT:
			memset(dst, 0, sizeof(uint16_t));
			break;
		case PK_CONF_BOOL:
		case PK_CONF_ENUM:
		case PK_CONF_LOGLEVEL:
			memset(dst, 0, sizeof(int));
			break;
		}
	}
	return 0;
}

/* Frees the strings of table in obj. */
void
pk_conf_free(const struct pk_conf_item *table, void *obj)
{
	const struct pk_conf_item	*it;
	char				**dst;

	if (table == NULL || obj == NULL)
		return;
	for (it = table; it->name != NULL; it++) {
		if (it->type != PK_CONF_STRING && it->type != PK_CONF_PATH &&
		    it->type != PK_CONF_ADDRESS)
			continue;
		dst = (char **)(void *)((char *)obj + it->offset);
		free(*dst);
		*dst = NULL;
	}
}

/* Records a printf-formatted error at line if it is the earliest so far. */
static void __attribute__((format(printf, 3, 4)))
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
{
	va_list	ap;

	if (p->errline != 0 && p->errline <= line)
		return;
	free(p->errmsg);
	p->errmsg = NULL;
	va_start(ap, fmt);
	pk_cause_vset(&p->errmsg, fmt, ap);
	va_end(ap);
	if (p->errmsg == NULL)
		p->oom = 1;
	else
		p->errline = line;
}

/* Returns non-zero if some item of the table is in section. */
static int
conf_known_section(const struct conf_parse *p, const char *section,
    size_t len)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < p->nitems; i++) {
		s = item_section(&p->table[i]);
		if (strlen(s) == len && memcmp(s, section, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Looks at a line as libinih will (ini.c, ini_parse_stream), to tell
 * whether it continues the previous value and to check section headers.
 */
static void
conf_classify(struct conf_parse *p, char *line)
{
	char	 q[QUOTE_BUF];
	char	*start = line, *end;
	int	 was_space = 0;

	p->cont = 0;
	if (p->lineno == 1 && memcmp(start, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || strchr(";#", *start) != NULL)
		return;
	if (p->have_prev && start > line) {
		p->cont = 1;
		return;
	}
	if (*start != '[')
		return;
	/* A ']' before any inline comment (a ';' after a blank). */
	for (end = start + 1; *end != '\0' && *end != ']'; end++) {
		if (was_space && *end == ';')
			return;		/* libinih calls it a syntax error */
		was_space = isspace((unsigned char)*end);
	}
	if (*end != ']')
		return;
	p->have_prev = 0;
	if (!conf_known_section(p, start + 1, (size_t)(end - start - 1)))
		conf_error(p, p->lineno, "unknown section %s",
		    conf_quote_n(q, start, (size_t)(end - start + 1)));
}

/* libinih's reader: hands over one line of the text at a time. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse	*p = stream;
	const char		*line, *nl;
	size_t			 linelen;

	if (p->pos >= p->len)
		return NULL;
	line = p->text + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	linelen = nl != NULL ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += linelen + (nl != NULL);
	p->lineno++;
	p->cont = 0;
	if (num < 3)
		return NULL;
	if (memchr(line, '\0', linelen) != NULL) {
		conf_error(p, p->lineno, "NUL byte in line");
		goto blank;
	}
	if (linelen > (size_t)num - 2) {
		conf_error(p, p->lineno, "line longer than %d "
		    "bytes", num - 2);
		goto blank;
	}
	memcpy(str, line, linelen);
	str[linelen] = '\n';
	str[linelen + 1] = '\0';
	conf_classify(p, str);
	return str;
 blank:
	/* An empty line: libinih neither errs nor ends a value on it. */
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* Adds an entry for item at the current line; 0 or PK_ERR_ALLOC. */
static int
conf_add_entry(struct conf_parse *p, size_t item, const char *value)
{
	struct conf_entry	*n;
	size_t			 na;

	if (p->nent == p->aent) {
		na = p->aent ? p->aent * 2 : 16;
		if ((n = reallocarray(p->ent, na, sizeof(*n))) == NULL)
			return PK_ERR_ALLOC;
		p->ent = n;
		p->aent = na;
	}
	n = &p->ent[p->nent];
	n->line = p->lineno;
	n->item = item;
	n->len = strlen(value);
	if ((n->value = strdup(value)) == NULL)
		return PK_ERR_ALLOC;
	p->nent++;
	return 0;
}

/* Joins a continuation line to the last entry's value, with a space. */
static void
conf_continue(struct conf_parse *p, const char *value)
{
	struct conf_entry	*e = &p->ent[p->nent - 1];
	size_t			 vlen = strlen(value);
	char			*n;

	if (e->len + 1 + vlen > PK_CONF_MAX_VALUE) {
		conf_error(p, p->lineno, "%s: value longer than "
		    "%d bytes", p->table[e->item].name, PK_CONF_MAX_VALUE);
		p->skip_cont = 1;
		return;
	}
	if ((n = realloc(e->value, e->len + 1 + vlen + 1)) == NULL) {
		p->oom = 1;
		return;
	}
	n[e->len] = ' ';
	memcpy(n + e->len + 1, value, vlen + 1);
	e->value = n;
	e->len += 1 + vlen;
}

/* libinih's handler: called for each pair and each continuation line. */
static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*p = user;
	char			 q[QUOTE_BUF];
	size_t			 i;

	if (p->oom || value == NULL)
		return 1;
	if (p->cont) {
		if (!p->skip_cont && p->nent > 0)
			conf_continue(p, value);
		return 1;
	}
	p->have_prev = name[0] != '\0';
	p->skip_cont = 1;
	for (i = 0; i < p->nitems; i++)
		if (strcmp(p->table[i].name, name) == 0 &&
		    strcmp(item_section(&p->table[i]), section) == 0)
			break;
	if (i == p->nitems) {
		if (*section == '\0')
			conf_error(p, p->lineno, "unknown key %s "
			    "(outside any section)", conf_quote(q, name));
		else if (conf_known_section(p, section, strlen(section)))
			conf_error(p, p->lineno, "unknown key %s "
			    "in section [%s]", conf_quote(q, name), section);
		/* else: the section header was reported already. */
		return 1;
	}
	if (p->seen[i] != 0) {
		conf_error(p, p->lineno, "%s: duplicate key (first "
		    "set on line %d)", p->table[i].name, p->seen[i]);
		return 1;
	}
	p->seen[i] = p->lineno;
	if (conf_add_entry(p, i, value) != 0) {
		p->oom = 1;
		return 1;
	}
	p->skip_cont = 0;
	return 1;
}

/* Returns the text of line n (1-based) of p's text and its length. */
static const char *
conf_line(const struct conf_parse *p, int n, size_t *len)
{
	const char	*s = p->text, *end = p->text + p->len, *nl;

	while (--n > 0 && s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			s = end;
		else
			s = nl + 1;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
	return s;
}

/* Reads text into obj; the work of pk_conf_load_string(). */
static int
conf_load(struct conf_parse *p, void *obj, char **cause)
{
	char		 q[QUOTE_BUF];
	const char	*l;
	char		*msg;
	size_t		 i, llen;
	int		 r, ret = PK_ERR_ALLOC;

	for (p->nitems = 0; p->table[p->nitems].name != NULL; p->nitems++)
		;
	if ((p->seen = calloc(p->nitems + 1, sizeof(*p->seen))) == NULL)
		goto out;
	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (r == -2 || p->oom)
		goto out;
	if (r > 0) {
		l = conf_line(p, r, &llen);
		conf_error(p, r, "syntax error in %s (expected "
		    "\"[section]\" or \"name = value\")",
		    conf_quote_n(q, l, llen));
	} else if (r != 0) {
		ret = PK_ERR_INTERNAL;
		goto out;
	}
	/* Second phase: values in file order, up to the first error. */
	for (i = 0; i < p->nent; i++) {
		if (p->errline != 0 && p->ent[i].line >= p->errline)
			break;
		r = conf_set_value(&p->table[p->ent[i].item],
		    p->ent[i].value, obj, &msg);
		if (r == PK_ERR_CONF && msg == NULL)
			p->oom = 1;
		else if (r == PK_ERR_CONF) {
			conf_error(p, p->ent[i].line, "%s", msg);
			free(msg);
		} else if (r != 0) {
			ret = r;
			goto out;
		}
	}
	if (p->oom)
		goto out;
	if (p->errline != 0) {
		ret = PK_ERR_CONF;
		pk_cause_set(cause, "%s:%d: %s", p->name, p->errline,
		    p->errmsg);
		if (cause != NULL && *cause == NULL)
			ret = PK_ERR_ALLOC;
		goto out;
	}
	ret = 0;
 out:
	if (ret == PK_ERR_ALLOC)
		pk_cause_set(cause, "%s: out of memory", p->name);
	for (i = 0; i < p->nent; i++)
		free(p->ent[i].value);
	free(p->ent);
	free(p->seen);
	free(p->errmsg);
	return ret;
}

/* Reads len bytes of INI text named name into obj (see conf.h). */
int
pk_conf_load_string(const char *name, const char *text, size_t len,
    const struct pk_conf_item *table, void *obj, char **cause)
{
	struct conf_parse	p;

	if (cause != NULL)
		*cause = NULL;
	if (name == NULL || (text == NULL && len != 0) || table == NULL ||
	    obj == NULL)
		return PK_ERR_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.table = table;
	p.text = text;
	p.len = len;
	return conf_load(&p, obj, cause);
}

/* Reads the INI file at path into obj (see conf.h). */
int
pk_conf_load_file(const char *path, const struct pk_conf_item *table,
    void *obj, char **cause)
{
	char	*buf;
	size_t	 len;
	int	 r, saved;

	if (cause != NULL)
		*cause = NULL;
	if (path == NULL || table == NULL || obj == NULL)
		return PK_ERR_INVALID_ARG;
	r = pk_file_read(path, PK_CONF_MAX_FILE, 0, &buf, &len);
	saved = errno;
	if (r == PK_ERR_SYSTEM && saved == EINVAL) {
		pk_cause_set(cause, "%s: not a regular file", path);
		r = PK_ERR_CONF;
	} else if (r == PK_ERR_TOO_LARGE)
		pk_cause_set(cause, "%s: larger than %d bytes", path,
		    PK_CONF_MAX_FILE);
	else if (r == PK_ERR_NOT_FOUND || r == PK_ERR_SYSTEM)
		pk_cause_set(cause, "%s: %s", path, strerror(saved));
	else if (r == 0) {
		r = pk_conf_load_string(path, buf, len, table, obj, cause);
		free(buf);
		return r;
	}
	errno = saved;
	return r;
}
