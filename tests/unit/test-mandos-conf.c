/*
 * test-mandos-conf.c: src/cli/mandos-conf.c, the clients.conf reader of
 * "peerkey import-mandos".
 *
 * First a clients.conf made by Debian's real mandos-keygen 1.8.16
 * (tests/unit/mandos-keygen.conf), read whole and checked field by field,
 * the secret by its SHA-256 as Python's configparser and base64 decode it.
 * Then handwritten edge cases, each checked against what Python 3.11's
 * configparser (as Mandos uses it) does: [DEFAULT] inheritance and
 * Mandos' own defaults, %(name)s and %%, continuation lines with empty and
 * comment lines inside, CRLF and CR, case of option names; the Mandos
 * duration grammar; and every error, which must name the line or the
 * [section] and option.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "mandos-conf.h"
#include "pk_err.h"
#include "test_helper.h"

static char	*err;		/* the cause of the last parse */

/* Parses len bytes of text; the cause lands in err. */
static int
parse_n(const char *text, size_t len, struct mandos_conf *c)
{
	free(err);
	err = NULL;
	return mandos_conf_parse(text, len, c, &err);
}

/* Parses a NUL-terminated text. */
static int
parse(const char *text, struct mandos_conf *c)
{
	return parse_n(text, strlen(text), c);
}

/* Parses text into c, expects success and nclients clients. */
static void
expect_clients(const char *text, struct mandos_conf *c, size_t nclients)
{
	ASSERT_INT_EQ(parse(text, c), 0);
	ASSERT_PTR_EQ(err, NULL);
	ASSERT_INT_EQ(c->nclients, nclients);
}

/* Parses text, expects failure r, and that the message contains want. */
static void
expect_error(const char *text, int r, const char *want)
{
	struct mandos_conf	 c;

	ASSERT_INT_EQ(parse(text, &c), r);
	ASSERT_STR_CONTAINS(err, want);
	mandos_conf_free(&c);
}

static void
test_keygen_file(void)
{
	struct mandos_conf		 c;
	struct mandos_client		*m;
	gnutls_datum_t			 raw = { NULL, 0 };
	unsigned char			 h[32];
	char				 path[1024], hex[65];
	size_t				 i;
	static const unsigned char	 want_hash[32] = {
		0x31, 0x6a, 0xc5, 0xa9, 0x02, 0x7e, 0x52, 0x12,
		0x67, 0x9c, 0x9d, 0x2c, 0xf8, 0xe1, 0x52, 0xe1,
		0x83, 0x3e, 0x4e, 0x04, 0x51, 0x8e, 0xb7, 0xd9,
		0x38, 0x96, 0xc6, 0x23, 0xd4, 0x42, 0x05, 0xf6 };

	TEST_START("clients.conf from Debian's mandos-keygen");
	snprintf(path, sizeof(path), "%s/tests/unit/mandos-keygen.conf",
	    test_srcdir());
	ASSERT_INT_EQ(gnutls_load_file(path, &raw), 0);
	ASSERT_INT_EQ(parse_n((char *)raw.data, raw.size, &c), 0);
	ASSERT_PTR_EQ(err, NULL);
	ASSERT_INT_EQ(c.nclients, 1);
	m = &c.clients[0];
	ASSERT_STR_EQ(m->name, "testclient");
	ASSERT_INT_EQ(m->line, 8);
	ASSERT_STR_EQ(m->key_id,
	    "f52fcf89ba2547bc6b53a86e6e6b9e0f0e33c3523557a7bde40ecc0f7e6539e9");
	ASSERT_STR_EQ(m->fingerprint,
	    "C43433FD1FB12D826A5262268D3989DD785126A2");
	ASSERT_STR_EQ(m->host, "testclient");
	ASSERT_STR_EQ(m->checker, "fping -q -- %(host)s");
	ASSERT_PTR_EQ(m->secfile, NULL);
	ASSERT_INT_EQ(m->secret_len, 672);
	/* An OpenPGP public-key encrypted session key packet first. */
	ASSERT_INT_EQ(m->secret[0], 0x85);
	ASSERT_INT_EQ(gnutls_hash_fast(GNUTLS_DIG_SHA256, m->secret,
	    m->secret_len, h), 0);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	ASSERT_MEM_EQ(h, want_hash, 32);
	ASSERT_INT_EQ(m->timeout, 300000);
	ASSERT_INT_EQ(m->interval, 120000);	/* ";interval" is a comment */
	ASSERT_INT_EQ(m->extended_timeout, 900000);
	ASSERT_INT_EQ(m->approval_delay, 0);
	ASSERT_INT_EQ(m->approval_duration, 1000);
	ASSERT_INT_EQ(m->approved_by_default, 1);
	ASSERT_INT_EQ(m->enabled, 1);
	mandos_conf_free(&c);
	gnutls_free(raw.data);
	TEST_DONE();
}

static void
test_durations(void)
{
	static const struct {
		const char	*s;
		uint64_t	 ms;
	} good[] = {
		{ "PT5M", 300000 },
		{ "P1DT3M20S", 86400000 + 200000 },
		{ "P7D", 7 * 86400000ULL },
		{ "PT60S", 60000 },
		{ "PT60M", 3600000 },
		{ "PT24H", 86400000 },
		{ "P1W", 7 * 86400000ULL },
		{ "PT5M30S", 330000 },
		{ "P1M", 28 * 86400000ULL },		/* Mandos: 4 weeks */
		{ "P1Y", 364 * 86400000ULL },		/* 52 weeks */
		{ "P1Y2M", 420 * 86400000ULL },
		{ "P1Y2M3DT4H5M6S", (420 + 3) * 86400000ULL + 14706000 },
		{ "PT1H30M", 5400000 },
		{ "PT0S", 0 },
		{ "5m 30s", 330000 },
		{ "7d", 7 * 86400000ULL },
		{ "60s", 60000 },
		{ "24h", 86400000 },
		{ "1w", 7 * 86400000ULL },
		{ "  2m\t1s ", 121000 },
		{ "+5s", 5000 },
		{ "1_0s", 10000 },
		{ "", 0 },
		{ "P999999999D", MANDOS_DURATION_MAX_MS },
	};
	static const char *const bad[] = {
		"P", "PT", "P1Y3D", "PT1H5S", "P1WT1H", "P1D1M", "PT1S1M",
		"P1DT", "5x", "-5m", "m", "5M", "PT5m", "1__0s", "_1s",
		"1_s", "5", "p1d", "P-1D", "1.5m", "5 m", "PT5M ",
	};
	uint64_t	 ms;
	size_t		 i;

	TEST_START("durations: RFC 3339 as Mandos reads it, and the old form");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 1;
		if (mandos_parse_duration(good[i].s, &ms) != 0 ||
		    ms != good[i].ms)
			test_fail(__FILE__, __LINE__, "\"%s\": %llu, want %llu",
			    good[i].s, (unsigned long long)ms,
			    (unsigned long long)good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mandos_parse_duration(bad[i], &ms) != PK_ERR_BAD_FORMAT)
			test_fail(__FILE__, __LINE__, "\"%s\" accepted",
			    bad[i]);
	ASSERT_INT_EQ(mandos_parse_duration("P1000000000D", &ms),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(mandos_parse_duration("99999999999999999999999999w",
	    &ms), PK_ERR_TOO_LARGE);
	TEST_DONE();
}

static void
test_bools(void)
{
	/* What each word gives: its value, or r, the error. */
	static const struct {
		const char	*s;
		int		 r, v;
	} cases[] = {
		{ "True", 0, 1 }, { "ON", 0, 1 }, { "1", 0, 1 },
		{ "no", 0, 0 }, { "False", 0, 0 }, { "off", 0, 0 },
		{ "y", PK_ERR_BAD_FORMAT, -1 }, { "", PK_ERR_BAD_FORMAT, -1 },
		{ "2", PK_ERR_BAD_FORMAT, -1 },
	};
	size_t	 i;
	int	 b, r;

	TEST_START("booleans as ConfigParser.getboolean");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = -1;
		r = mandos_parse_bool(cases[i].s, &b);
		if (r != cases[i].r || b != cases[i].v)
			test_fail(__FILE__, __LINE__, "\"%s\": %d (value %d)",
			    cases[i].s, r, b);
	}
	TEST_DONE();
}

#define KID	"F33FCBED11ED5E03073F6A55B86FFE92AF0E24C045FB6E3B40547B3DC0C030ED"
#define KIDL	"f33fcbed11ed5e03073f6a55b86ffe92af0e24c045fb6e3b40547b3dc0c030ed"

static void
test_inheritance(void)
{
	struct mandos_conf	 c;
	const char		*text =
	    "# comment\n"
	    "; another\n"
	    "[DEFAULT]\n"
	    "base = /srv/keys\n"
	    "Timeout: P1D\n"
	    "checker = ssh-keyscan %%(host)s | grep -q 100%%\n"
	    "\n"
	    "[alpha]\n"
	    "KEY_ID = F33F CBED 11ED 5E03 073F 6A55 B86F FE92 AF0E 24C0 "
	    "45FB 6E3B 4054 7B3D C0C0 30ED\n"
	    "fingerprint = 7788 2722 5ba7 de53\n"
	    "secfile = %(base)s/%(name)s.key\n"
	    "name = alpha\n"
	    "host = alpha.example.org\n"
	    "enabled = no\n"
	    "interval = %(timeout)s\n"
	    "[DEFAULT]\n"
	    "approved_by_default = off\n"
	    "[beta]\n"
	    "key_id = " KID "\n"
	    "timeout = 5m 30s\n"
	    "extended_timeout = %(timeout)s\n"
	    "approval_delay = PT10S\n"
	    "approval_duration = PT2M\n"
	    "checker =\n"
	    "secret = aGVs\n"
	    "  bG8=\n";

	TEST_START("[DEFAULT], Mandos' defaults, interpolation, %%, case");
	expect_clients(text, &c, 2);
	ASSERT_STR_EQ(c.clients[0].name, "alpha");
	ASSERT_INT_EQ(c.clients[0].line, 8);
	ASSERT_STR_EQ(c.clients[0].key_id, KIDL);
	ASSERT_STR_EQ(c.clients[0].fingerprint, "778827225BA7DE53");
	ASSERT_STR_EQ(c.clients[0].secfile, "/srv/keys/alpha.key");
	ASSERT_PTR_EQ(c.clients[0].secret, NULL);
	ASSERT_STR_EQ(c.clients[0].host, "alpha.example.org");
	ASSERT_STR_EQ(c.clients[0].checker,
	    "ssh-keyscan %(host)s | grep -q 100%");
	ASSERT_INT_EQ(c.clients[0].enabled, 0);
	ASSERT_INT_EQ(c.clients[0].timeout, 86400000);
	ASSERT_INT_EQ(c.clients[0].interval, 86400000);
	/* The second [DEFAULT] counts for every section, alpha too. */
	ASSERT_INT_EQ(c.clients[0].approved_by_default, 0);
	ASSERT_STR_EQ(c.clients[1].name, "beta");
	ASSERT_STR_EQ(c.clients[1].key_id, KIDL);
	ASSERT_STR_EQ(c.clients[1].fingerprint, "");
	ASSERT_INT_EQ(c.clients[1].timeout, 330000);
	ASSERT_INT_EQ(c.clients[1].extended_timeout, 330000);
	ASSERT_INT_EQ(c.clients[1].interval, 120000);
	ASSERT_INT_EQ(c.clients[1].approval_delay, 10000);
	ASSERT_INT_EQ(c.clients[1].approval_duration, 120000);
	ASSERT_INT_EQ(c.clients[1].approved_by_default, 0);
	ASSERT_INT_EQ(c.clients[1].enabled, 1);
	ASSERT_STR_EQ(c.clients[1].checker, "");
	ASSERT_STR_EQ(c.clients[1].host, "");
	ASSERT_INT_EQ(c.clients[1].secret_len, 5);
	ASSERT_MEM_EQ(c.clients[1].secret, "hello", 5);
	mandos_conf_free(&c);
	TEST_DONE();
}

static void
test_continuation(void)
{
	struct mandos_conf	 c;
	const char		*text =
	    "[gamma]\r\n"
	    "key_id = " KID "\r\n"
	    "secret =\r\n"
	    "\taGVs\r\n"
	    "\r\n"
	    "  # a comment inside the value is dropped\r\n"
	    "      bG8s\r\n"
	    "  IHdv\r"
	    "  cmxk\n"
	    "checker = fping\n"
	    "   -q %%(host)s\n"
	    "\n"
	    "\n"
	    "host = 2001:db8::1\n";

	TEST_START("continuation lines, empty and comment lines, CRLF, CR");
	expect_clients(text, &c, 1);
	ASSERT_INT_EQ(c.clients[0].secret_len, 12);
	ASSERT_MEM_EQ(c.clients[0].secret, "hello, world", 12);
	/* Joined with "\n"; trailing empty lines dropped. */
	ASSERT_STR_EQ(c.clients[0].checker, "fping\n-q %(host)s");
	ASSERT_STR_EQ(c.clients[0].host, "2001:db8::1");
	mandos_conf_free(&c);
	TEST_DONE();
}

static void
test_errors(void)
{
	struct mandos_conf	 c;
	char			*big;
	char			 deep[1024];
	size_t			 i, o;

	TEST_START("errors name the line, or the [section] and option");
	expect_error("key_id = " KID "\n", PK_ERR_CONF,
	    "line 1: no [section] header");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n[b]\n[a]\n",
	    PK_ERR_CONF, "line 5: section [a] is repeated (first on line 1)");
	expect_error("[a]\nkey_id = " KID "\nKey_Id = " KID "\n", PK_ERR_CONF,
	    "line 3: [a] option \"key_id\" is repeated (first on line 2)");
	expect_error("[DEFAULT]\nhost = x\n[DEFAULT]\nhost = y\n", PK_ERR_CONF,
	    "line 4: [DEFAULT] option \"host\" is repeated");
	expect_error("[a]\njust words\n", PK_ERR_CONF,
	    "line 2: [a] neither \"option = value\" nor \"[section]\"");
	expect_error("[a]\n = x\n", PK_ERR_CONF,
	    "line 2: [a] an option without a name");
	expect_error("[]\n", PK_ERR_CONF, "line 1: no [section] header");
	ASSERT_INT_EQ(parse_n("[a]\nhost = x\0y\n", 15, &c), PK_ERR_CONF);
	ASSERT_STR_EQ(err, "line 2: NUL byte");
	mandos_conf_free(&c);
	expect_error("[a]\nkey_id = " KID "\n", PK_ERR_CONF,
	    "[a] (line 1): neither secret nor secfile");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8\n", PK_ERR_CONF,
	    "[a] secret: not base64");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGV*bG8=\n", PK_ERR_CONF,
	    "[a] secret: not base64");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbA=\n", PK_ERR_CONF,
	    "[a] secret: not base64");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbA==bG8=\n",
	    PK_ERR_CONF, "[a] secret: not base64");
	expect_error("[a]\nkey_id = 1234\nsecret = aGVsbG8=\n", PK_ERR_CONF,
	    "[a] key_id: not a TLS key id (64 hex digits)");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "timeout = 5 minutes\n", PK_ERR_CONF,
	    "[a] timeout: \"5 minutes\" is not a duration");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "interval = P9999999999D\n", PK_ERR_CONF,
	    "[a] interval: \"P9999999999D\" is too long a duration");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "enabled = maybe\n", PK_ERR_CONF,
	    "[a] enabled: \"maybe\" is not a boolean");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "host = %(nothere)s\n", PK_ERR_CONF,
	    "[a] host: refers to %(nothere)s, which is not set");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "host = 100%\n", PK_ERR_CONF,
	    "[a] host: '%' must be followed by '%' or '('");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "host = %(host)d\n", PK_ERR_CONF,
	    "[a] host: bad interpolation reference");
	/* ConfigParser interpolates every option, used or not. */
	expect_error("[DEFAULT]\nnote = 5%\n[a]\nkey_id = " KID "\n"
	    "secret = aGVsbG8=\n", PK_ERR_CONF, "[a] note: '%' must be");
	/* A loop, and a chain one level deeper than ConfigParser allows. */
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "host = %(host)s\n", PK_ERR_CONF,
	    "[a] host: interpolation deeper than 10 levels");
	o = (size_t)snprintf(deep, sizeof(deep), "[a]\nkey_id = " KID "\n"
	    "secret = aGVsbG8=\nv0 = %%%%\n");
	for (i = 1; i <= 9; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o,
		    "v%zu = %%(v%zu)s\n", i, i - 1);
	ASSERT_INT_EQ(parse(deep, &c), 0);	/* 10 levels: fine */
	mandos_conf_free(&c);
	snprintf(deep + o, sizeof(deep) - o, "v10 = %%(v9)s\n");
	expect_error(deep, PK_ERR_CONF,
	    "[a] v10: interpolation deeper than 10 levels");
	/* A billion laughs: bounded by size and by work. */
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "a0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%%\n"
	    "a1 = %(a0)s%(a0)s%(a0)s%(a0)s%(a0)s%(a0)s%(a0)s%(a0)s\n"
	    "a2 = %(a1)s%(a1)s%(a1)s%(a1)s%(a1)s%(a1)s%(a1)s%(a1)s\n"
	    "a3 = %(a2)s%(a2)s%(a2)s%(a2)s%(a2)s%(a2)s%(a2)s%(a2)s\n"
	    "a4 = %(a3)s%(a3)s%(a3)s%(a3)s%(a3)s%(a3)s%(a3)s%(a3)s\n",
	    PK_ERR_TOO_LARGE, "[a] a4: value longer than 65536 bytes");
	expect_error("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "e = \nb0 = %(e)s%(e)s%(e)s%(e)s%(e)s%(e)s%(e)s%(e)s%(e)s\n"
	    "b1 = %(b0)s%(b0)s%(b0)s%(b0)s%(b0)s%(b0)s%(b0)s%(b0)s%(b0)s\n"
	    "b2 = %(b1)s%(b1)s%(b1)s%(b1)s%(b1)s%(b1)s%(b1)s%(b1)s%(b1)s\n"
	    "b3 = %(b2)s%(b2)s%(b2)s%(b2)s%(b2)s%(b2)s%(b2)s%(b2)s%(b2)s\n"
	    "b4 = %(b3)s%(b3)s%(b3)s%(b3)s%(b3)s%(b3)s%(b3)s%(b3)s%(b3)s\n"
	    "b5 = %(b4)s%(b4)s%(b4)s%(b4)s%(b4)s%(b4)s%(b4)s%(b4)s%(b4)s\n"
	    "b6 = %(b5)s%(b5)s%(b5)s%(b5)s%(b5)s%(b5)s%(b5)s%(b5)s%(b5)s\n"
	    "b7 = %(b6)s%(b6)s%(b6)s%(b6)s%(b6)s%(b6)s%(b6)s%(b6)s%(b6)s\n",
	    PK_ERR_TOO_LARGE, "[a] b6: interpolation takes too many steps");
	/* The size limit. */
	big = malloc(MANDOS_CONF_MAX + 2);
	ASSERT_PTR_NE(big, NULL);
	memset(big, '#', MANDOS_CONF_MAX + 1);
	big[MANDOS_CONF_MAX + 1] = '\0';
	expect_error(big, PK_ERR_TOO_LARGE, "more than 1048576 bytes");
	big[MANDOS_CONF_MAX] = '\0';
	ASSERT_INT_EQ(parse(big, &c), 0);	/* all comment: no clients */
	ASSERT_INT_EQ(c.nclients, 0);
	mandos_conf_free(&c);
	free(big);
	TEST_DONE();
}

static void
test_sections(void)
{
	struct mandos_conf	 c;

	TEST_START("section headers as ConfigParser matches them");
	/* "\[(.+)\]" at the start: up to the last ']'; text after is lost. */
	ASSERT_INT_EQ(parse("[a]b] trailing\nkey_id = " KID "\n"
	    "secret = aGVsbG8=\n", &c), 0);
	ASSERT_INT_EQ(c.nclients, 1);
	ASSERT_STR_EQ(c.clients[0].name, "a]b");
	mandos_conf_free(&c);
	/* An indented "[x]" after an option continues that option. */
	ASSERT_INT_EQ(parse("[a]\nkey_id = " KID "\nsecret = aGVsbG8=\n"
	    "host = h\n  [x]\n", &c), 0);
	ASSERT_INT_EQ(c.nclients, 1);
	ASSERT_STR_EQ(c.clients[0].host, "h\n[x]");
	mandos_conf_free(&c);
	/* No sections: nothing, and no error. */
	ASSERT_INT_EQ(parse("", &c), 0);
	ASSERT_INT_EQ(c.nclients, 0);
	mandos_conf_free(&c);
	ASSERT_INT_EQ(parse("[DEFAULT]\nhost = x\n", &c), 0);
	ASSERT_INT_EQ(c.nclients, 0);
	mandos_conf_free(&c);
	TEST_DONE();
}

int
main(void)
{
	test_keygen_file();
	test_durations();
	test_bools();
	test_inheritance();
	test_continuation();
	test_sections();
	test_errors();
	free(err);
	return test_exit();
}
