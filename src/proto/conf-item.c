/*
 * conf-item.c: one typed item of a configuration table (conf.h) — its
 * default, its validation and its storage — used alike by the file reader
 * (conf.c), the command line (pk_conf_set) and the defaults
 * (pk_conf_defaults). Messages name the item and quote the bad value
 * printably (conf_quote).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf-int.h"
#include "log.h"
#include "pk_err.h"

#define HINT_DURATION	"examples: 30s, 5m, 1h30m, PT5M"
#define HINT_BOOL	"yes, no, true, false, on, off, 1, 0"
#define HINT_SIZE	"examples: 512, 64k, 16M"
#define HINT_ADDRESS	\
	"examples: node1.example, 192.0.2.1:4141, [2001:db8::1]:4141"

/*
 * Writes the first n bytes of s into buf as a quoted, printable string:
 * control bytes as \xNN, '"' and '\' escaped, cut with "..." past
 * QUOTE_MAX. buf must hold QUOTE_BUF bytes.
 */
const char *
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
const char *
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

/*
 * Stores a number at dst: the size bytes at p, which hold the value v,
 * when v lies within item's bounds; PK_ERR_CONF (*msg says why) when not.
 */
static int
set_number(const struct pk_conf_item *it, unsigned long long v,
    const void *p, size_t size, void *dst, const char *q, char **msg)
{
	if (check_bounds(it, v, q, msg))
		return PK_ERR_CONF;
	memcpy(dst, p, size);
	return 0;
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
int
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
		return set_number(it, port, &port, sizeof(port), dst, q, msg);
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
		return set_number(it, u, &u, sizeof(u), dst, q, msg);
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
const char *
conf_item_section(const struct pk_conf_item *it)
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
				    conf_item_section(it), msg);
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
