/*
 * fuzz-conf.c: libFuzzer target for conf.c.
 *
 * The input is read as a configuration file against a fixed table with a
 * few items of every type, then (up to its first NUL, capped) handed to
 * each pk_parse_* validator. Checks that a success leaves no error text,
 * that a failure always has one naming the file, and that no value read
 * breaks its bounds.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "pk_err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fopts {
	char			*top;
	char			*name;
	char			*path;
	unsigned long long	 count;
	int			 flag;
	uint64_t		 interval;
	uint64_t		 timeout;
	uint16_t		 port;
	int			 mode;
	int			 level;
	char			*addr;
	uint64_t		 size;
	int			 flag2;
	char			*note;
};

static const char *const fmodes[] = { "a", "bb", "ccc", NULL };

#define F(f)	offsetof(struct fopts, f)
static const struct pk_conf_item fitems[] = {
	{ NULL, "top", PK_CONF_STRING, F(top), 0, 0, NULL, NULL },
	{ "daemon", "name", PK_CONF_STRING, F(name), 1, 32, "x", NULL },
	{ "daemon", "path", PK_CONF_PATH, F(path), 0, 0, "/etc/x", NULL },
	{ "daemon", "count", PK_CONF_UINT, F(count), 1, 100, "1", NULL },
	{ "daemon", "flag", PK_CONF_BOOL, F(flag), 0, 0, "yes", NULL },
	{ "daemon", "interval", PK_CONF_DURATION, F(interval), 1000,
	    86400000, "30s", NULL },
	{ "daemon", "timeout", PK_CONF_DURATION, F(timeout), 0, 0, NULL,
	    NULL },
	{ "daemon", "port", PK_CONF_PORT, F(port), 1000, 0, "4141", NULL },
	{ "daemon", "mode", PK_CONF_ENUM, F(mode), 0, 0, "a", fmodes },
	{ "daemon", "loglevel", PK_CONF_LOGLEVEL, F(level), 0, 0, NULL, NULL },
	{ "peer", "address", PK_CONF_ADDRESS, F(addr), 0, 0, NULL, NULL },
	{ "peer", "size", PK_CONF_SIZE, F(size), 0, 1024 * 1024, "1k", NULL },
	{ "peer", "flag", PK_CONF_BOOL, F(flag2), 0, 0, NULL, NULL },
	{ "peer", "note", PK_CONF_STRING, F(note), 0, 0, NULL, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};

/* Feeds s to every validator. */
static void
fuzz_validators(const char *s)
{
	unsigned long long	 u;
	uint64_t		 v, back;
	uint16_t		 port;
	char			 host[64], buf[64];
	int			 b;

	if (pk_parse_duration_ms(s, &v) == 0) {
		pk_format_duration(v, buf, sizeof(buf));
		if (pk_parse_duration_ms(buf, &back) != 0 || back != v)
			abort();
	}
	(void)pk_parse_bool(s, &b);
	if (pk_parse_uint(s, 10, 1000, &u) == 0 && (u < 10 || u > 1000))
		abort();
	if (pk_parse_port(s, &port) == 0 && port == 0)
		abort();
	(void)pk_parse_size(s, &v);
	(void)pk_parse_loglevel(s, &b);
	if (pk_parse_address(s, host, sizeof(host), 1, &port) == 0 &&
	    (strlen(host) >= sizeof(host) || port == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fopts	 o;
	char		*cause = NULL, s[256];
	size_t		 n;
	int		 r;

	memset(&o, 0, sizeof(o));
	if (pk_conf_defaults(fitems, &o, &cause) != 0)
		abort();
	r = pk_conf_load_string("fuzz.conf", (const char *)data, size, fitems,
	    &o, &cause);
	if (r == 0 && cause != NULL)
		abort();
	if (r == PK_ERR_CONF && (cause == NULL ||
	    strncmp(cause, "fuzz.conf:", 10) != 0))
		abort();
	if (r != 0 && r != PK_ERR_CONF && r != PK_ERR_ALLOC)
		abort();
	if (o.count < 1 || o.count > 100 || o.port < 1000 ||
	    o.interval < 1000 || o.interval > 86400000 || o.size > 1048576 ||
	    o.mode < 0 || o.mode > 2 || o.name == NULL ||
	    strlen(o.name) > 32 || o.path == NULL || o.path[0] != '/')
		abort();
	free(cause);
	pk_conf_free(fitems, &o);

	n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	fuzz_validators(s);
	return 0;
}
