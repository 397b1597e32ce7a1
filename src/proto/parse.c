/*
 * parse.c: the value validators and formatters of conf.h — durations,
 * booleans, numbers, ports, sizes, log levels and addresses — shared by
 * the configuration files (conf.c), the command line and the control
 * socket, so that a value means the same wherever it is typed.
 *
 * Each validator takes the whole string: no leading or trailing blanks,
 * no sign, no empty string. It stores its result only on success and
 * returns 0, PK_ERR_BAD_FORMAT (text that does not parse) or
 * PK_ERR_TOO_LARGE (a number past its bounds or an overflow).
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "pk_err.h"

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

