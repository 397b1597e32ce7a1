/*
 * test-line.c: the pre-TLS protocol line (line.c).
 *
 * Every accepted form, every class of rejected form, arrival one byte at a
 * time, the PK_LINE_MAX boundary, and the writer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "pk_err.h"
#include "proto.h"
#include "test_helper.h"

/* Parses the string s (no NUL) from an exact-size heap copy. */
static int
parse(const char *s, size_t n, enum pk_line_proto *proto, size_t *linelen)
{
	uint8_t	*p;
	int	 r;

	if ((p = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(p, s, n);
	r = pk_line_parse(p, n, proto, linelen);
	free(p);
	return r;
}

/* Parses a C string. */
static int
parse_str(const char *s, size_t *linelen)
{
	enum pk_line_proto	proto;

	return parse(s, strlen(s), &proto, linelen);
}

/*
 * Feeds s one byte at a time: every prefix that stops before the first LF
 * must say TRUNCATED; the whole of it must give want. Returns 1 if all
 * held.
 */
static int
bytewise(const char *s, size_t n, int want)
{
	enum pk_line_proto	proto;
	const char		*lf;
	size_t			i, linelen, stop;
	int			r;

	lf = memchr(s, '\n', n);
	stop = lf != NULL ? (size_t)(lf - s) + 1 : n;
	for (i = 0; i < stop; i++) {
		r = parse(s, i, &proto, &linelen);
		if (r != PK_ERR_TRUNCATED || linelen != 0) {
			test_diag("prefix %zu of \"%s\": %d", i, s, r);
			return 0;
		}
	}
	return parse(s, n, &proto, &linelen) == want;
}

/* Parses n bytes of s: accepted, protocol want, a line of want_len bytes. */
static void
expect_line(const char *s, size_t n, enum pk_line_proto want, size_t want_len)
{
	enum pk_line_proto	proto = 0;
	size_t			linelen = 0;

	ASSERT_INT_EQ(parse(s, n, &proto, &linelen), 0);
	ASSERT_INT_EQ(proto, want);
	ASSERT_INT_EQ(linelen, want_len);
}

static void
test_accepted(void)
{
	size_t	linelen;

	TEST_START("line: \"peerkey 1\\r\\n\" is native");
	ASSERT_INT_EQ(parse_str("peerkey 1\r\n", &linelen), 0);
	expect_line("peerkey 1\r\n", 11, PK_LINE_PROTO_NATIVE, 11);
	TEST_DONE();

	TEST_START("line: \"1\\r\\n\" is mandos");
	expect_line("1\r\n", 3, PK_LINE_PROTO_MANDOS, 3);
	TEST_DONE();

	TEST_START("line: bytes after the line are left alone (TLS follows)");
	/* 0x16 0x03 0x01: the start of a TLS ClientHello. */
	expect_line("1\r\n\x16\x03\x01", 6, PK_LINE_PROTO_MANDOS, 3);
	expect_line("peerkey 1\r\n\x16\x03\x01\x02\x00", 16,
	    PK_LINE_PROTO_NATIVE, 11);
	/* Even a long tail: only the line is judged. */
	{
		char	big[200];

		memset(big, 'x', sizeof(big));
		memcpy(big, "1\r\n", 3);
		expect_line(big, sizeof(big), PK_LINE_PROTO_MANDOS, 3);
	}
	TEST_DONE();

	TEST_START("line: byte-at-a-time arrival of both lines");
	ASSERT_TRUE(bytewise("peerkey 1\r\n", 11, 0));
	ASSERT_TRUE(bytewise("1\r\n", 3, 0));
	TEST_DONE();
}

static void
test_bad_version(void)
{
	static const char *const v[] = {
		"peerkey 0\r\n",
		"peerkey 2\r\n",
		"peerkey 10\r\n",
		"peerkey 11\r\n",
		"peerkey 99999999999999999999\r\n",	/* 31 bytes */
		"peerkey 999999999999999999999\r\n",	/* 32 bytes */
	};
	size_t	i, linelen;

	TEST_START("line: other peerkey versions are BAD_VERSION");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ASSERT_INT_EQ(parse_str(v[i], &linelen), PK_ERR_BAD_VERSION);
		ASSERT_INT_EQ(linelen, strlen(v[i]));
		ASSERT_TRUE(bytewise(v[i], strlen(v[i]), PK_ERR_BAD_VERSION));
	}
	TEST_DONE();
}

static void
test_bad_line(void)
{
	/* Each is a complete line (has a LF) that must be refused. */
	static const struct {
		const char	*s;
		size_t		 n;
	} v[] = {
#define S(x)	{ x, sizeof(x) - 1 }
		S("\n"),
		S("\r\n"),
		S("2\r\n"),		/* Mandos would accept 0 and -7 */
		S("0\r\n"),
		S("-7\r\n"),
		S("-1\r\n"),
		S("+1\r\n"),
		S("01\r\n"),
		S("1 foo\r\n"),	/* Mandos takes the first word */
		S("1 \r\n"),
		S(" 1\r\n"),	/* leading space */
		S("1\t\r\n"),
		S("1\n"),		/* no CR */
		S("1\r\r\n"),
		S("1\n\r\n"),
		S("1\r"		/* CR, then not LF */ "x\n"),
		S("\0" "1\r\n"),	/* NUL */
		S("1\0\r\n"),
		S("peerkey 1\n"),
		S("peerkey 1 \r\n"),
		S("peerkey  1\r\n"),
		S(" peerkey 1\r\n"),
		S("peerkey 01\r\n"),	/* leading zero */
		S("peerkey 00\r\n"),
		S("peerkey -1\r\n"),
		S("peerkey +1\r\n"),
		S("peerkey \r\n"),	/* no version */
		S("peerkey\r\n"),
		S("peerkey1\r\n"),
		S("PEERKEY 1\r\n"),	/* case matters */
		S("Peerkey 1\r\n"),
		S("peerkey\t1\r\n"),
		S("peerkey 1\0\r\n"),
		S("peerkey 1x\r\n"),
		S("peerkey 1.0\r\n"),
		S("peerkey 2 \r\n"),
		S("GET / HTTP/1.0\r\n"),
		S("SSH-2.0-OpenSSH_9.2\r\n"),
		S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"),
		S("1\xff\r\n"),
#undef S
	};
	enum pk_line_proto	proto;
	size_t			i, linelen;
	int			r;

	TEST_START("line: malformed lines are BAD_LINE");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		linelen = 12345;
		r = parse(v[i].s, v[i].n, &proto, &linelen);
		if (r != PK_ERR_BAD_LINE)
			test_diag("case %zu", i);
		ASSERT_INT_EQ(r, PK_ERR_BAD_LINE);
		/* linelen is the line up to its LF, for the log. */
		ASSERT_INT_EQ(linelen,
		    (size_t)((const char *)memchr(v[i].s, '\n', v[i].n) -
		    v[i].s) + 1);
		ASSERT_TRUE(bytewise(v[i].s, v[i].n, PK_ERR_BAD_LINE));
	}
	TEST_DONE();
}

static void
test_limits(void)
{
	enum pk_line_proto	proto;
	char			buf[PK_LINE_MAX + 8];
	size_t			linelen;

	TEST_START("line: nothing yet is TRUNCATED");
	linelen = 99;
	ASSERT_INT_EQ(pk_line_parse((const uint8_t *)"", 0, &proto,
	    &linelen), PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(linelen, 0);
	ASSERT_INT_EQ(pk_line_parse(NULL, 0, &proto, &linelen),
	    PK_ERR_TRUNCATED);
	TEST_DONE();

	TEST_START("line: PK_LINE_MAX bytes without LF are TOO_LARGE");
	memset(buf, 'x', sizeof(buf));
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX - 1, &proto, &linelen),
	    PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX, &proto, &linelen),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(linelen, 0);
	/* A LF just past the limit is not looked for. */
	buf[PK_LINE_MAX] = '\n';
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX + 1, &proto, &linelen),
	    PK_ERR_TOO_LARGE);
	/* A valid prefix that goes on too long is still TOO_LARGE. */
	memset(buf, '1', sizeof(buf));
	memcpy(buf, "peerkey ", 8);
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX, &proto, &linelen),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(parse(buf, sizeof(buf), &proto, &linelen),
	    PK_ERR_TOO_LARGE);
	TEST_DONE();

	TEST_START("line: a line of exactly PK_LINE_MAX bytes is judged");
	memset(buf, 'x', sizeof(buf));
	buf[PK_LINE_MAX - 2] = '\r';
	buf[PK_LINE_MAX - 1] = '\n';
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX, &proto, &linelen),
	    PK_ERR_BAD_LINE);
	ASSERT_INT_EQ(linelen, PK_LINE_MAX);
	memset(buf, '9', sizeof(buf));
	memcpy(buf, "peerkey ", 8);
	buf[PK_LINE_MAX - 2] = '\r';
	buf[PK_LINE_MAX - 1] = '\n';
	ASSERT_INT_EQ(parse(buf, PK_LINE_MAX + 5, &proto, &linelen),
	    PK_ERR_BAD_VERSION);
	ASSERT_INT_EQ(linelen, PK_LINE_MAX);
	TEST_DONE();

	TEST_START("line: NULL arguments are INVALID_ARG");
	ASSERT_INT_EQ(pk_line_parse(NULL, 3, &proto, &linelen),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_line_parse((const uint8_t *)"1\r\n", 3, NULL,
	    &linelen), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_line_parse((const uint8_t *)"1\r\n", 3, &proto,
	    NULL), PK_ERR_INVALID_ARG);
	TEST_DONE();
}

static void
test_write(void)
{
	static const struct {
		enum pk_line_proto	 proto;
		const char		*line;
	} w[] = {
		{ PK_LINE_PROTO_NATIVE, "peerkey 1\r\n" },
		{ PK_LINE_PROTO_MANDOS, "1\r\n" },
	};
	uint8_t			out[PK_LINE_MAX];
	size_t			i, n;

	TEST_START("line: pk_line_write writes what pk_line_parse accepts");
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		ASSERT_INT_EQ(pk_line_write(w[i].proto, out, sizeof(out), &n),
		    0);
		ASSERT_INT_EQ(n, strlen(w[i].line));
		ASSERT_MEM_EQ(out, w[i].line, n);
		expect_line((const char *)out, n, w[i].proto, n);
	}
	TEST_DONE();

	TEST_START("line: pk_line_write refuses bad arguments");
	ASSERT_INT_EQ(pk_line_write(PK_LINE_PROTO_NATIVE, out, 10, &n),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(pk_line_write(PK_LINE_PROTO_MANDOS, out, 3, &n), 0);
	ASSERT_INT_EQ(pk_line_write(PK_LINE_PROTO_MANDOS, out, 2, &n),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_line_write((enum pk_line_proto)0, out, sizeof(out),
	    &n), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_line_write((enum pk_line_proto)3, out, sizeof(out),
	    &n), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_line_write(PK_LINE_PROTO_NATIVE, out, sizeof(out),
	    NULL), PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("line: protocol names");
	ASSERT_STR_EQ(pk_line_proto_name(PK_LINE_PROTO_NATIVE), "native");
	ASSERT_STR_EQ(pk_line_proto_name(PK_LINE_PROTO_MANDOS), "mandos");
	ASSERT_STR_EQ(pk_line_proto_name(0), "unknown");
	ASSERT_STR_EQ(pk_line_proto_name(77), "unknown");
	TEST_DONE();
}

int
main(void)
{
	test_accepted();
	test_bad_version();
	test_bad_line();
	test_limits();
	test_write();
	return test_exit();
}
