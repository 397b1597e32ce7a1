/*
 * test-addr.c: pk_list_next() walks address lists by the one separator
 * rule (spaces, tabs, commas), reports over-long words without losing its
 * place; pk_list_add() writes lists that it reads back, and refuses what
 * does not fit; pk_addr_split() takes every address form apart.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "pk_err.h"
#include "test_helper.h"

/* Joins the words of list with '|' (a "!" before a too-long one). */
static void
walk(const char *list, size_t wordlen, char *out, size_t outlen)
{
	const char	*p = list;
	char		 w[PK_ADDR_LEN];
	int		 r;

	*out = '\0';
	while ((r = pk_list_next(&p, w, wordlen)) != 0) {
		if (*out != '\0')
			strncat(out, "|", outlen - strlen(out) - 1);
		if (r < 0)
			strncat(out, "!", outlen - strlen(out) - 1);
		strncat(out, w, outlen - strlen(out) - 1);
	}
}

int
main(void)
{
	static const struct {
		const char	*in, *host, *port;
	} good[] = {
		{ "192.0.2.1", "192.0.2.1", "4141" },
		{ "192.0.2.1:80", "192.0.2.1", "80" },
		{ "node1.example:65535", "node1.example", "65535" },
		{ "[2001:db8::1]:4142", "2001:db8::1", "4142" },
		{ "[2001:db8::1]", "2001:db8::1", "4141" },
		{ "2001:db8::1", "2001:db8::1", "4141" },
		{ "fe80::1%eth0", "fe80::1%eth0", "4141" },
		{ "[fe80::1%eth0]:1", "fe80::1%eth0", "1" },
	};
	static const char *const bad[] = {
		"", "[2001:db8::1", "[::1]x", "[::1]:", "host:", ":80", "[]:80",
		"host:80x", "host:65536", "host:123456",
	};
	char		 out[512], w[PK_ADDR_LEN], host[64], port[8];
	char		 longw[PK_ADDR_LEN + 10];
	const char	*p;
	size_t		 i;

	TEST_START("pk_list_next: spaces, tabs and commas separate");
	walk("a:1 b:2\tc:3,d:4", sizeof(w), out, sizeof(out));
	ASSERT_STR_EQ(out, "a:1|b:2|c:3|d:4");
	walk("  ,\t a:1 ,, \t[::1]:2 ,  ", sizeof(w), out, sizeof(out));
	ASSERT_STR_EQ(out, "a:1|[::1]:2");
	TEST_DONE();

	TEST_START("pk_list_next: empty lists");
	walk("", sizeof(w), out, sizeof(out));
	ASSERT_STR_EQ(out, "");
	walk(" \t,, ", sizeof(w), out, sizeof(out));
	ASSERT_STR_EQ(out, "");
	p = NULL;
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), 0);
	ASSERT_INT_EQ(pk_list_next(NULL, w, sizeof(w)), 0);
	TEST_DONE();

	TEST_START("pk_list_next: the end is sticky");
	p = "x";
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), 1);
	ASSERT_STR_EQ(w, "x");
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), 0);
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), 0);
	TEST_DONE();

	TEST_START("pk_list_next: a word that does not fit");
	walk("abc abcd ab", 4, out, sizeof(out));
	ASSERT_STR_EQ(out, "abc|!abc|ab");
	memset(longw, 'h', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	p = longw;
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(strlen(w), PK_ADDR_LEN - 1);
	ASSERT_INT_EQ(*p, '\0');
	TEST_DONE();

	TEST_START("pk_list_next: the longest address fits PK_ADDR_LEN");
	longw[0] = '[';
	memset(longw + 1, 'h', 255);
	memcpy(longw + 256, "]:65535", 8);
	p = longw;
	ASSERT_INT_EQ(pk_list_next(&p, w, sizeof(w)), 1);
	ASSERT_STR_EQ(w, longw);
	TEST_DONE();

	TEST_START("pk_list_add: single spaces, read back by pk_list_next");
	out[0] = '\0';
	ASSERT_INT_EQ(pk_list_add(out, sizeof(out), "a:1"), 0);
	ASSERT_INT_EQ(pk_list_add(out, sizeof(out), "[::1]:2"), 0);
	ASSERT_STR_EQ(out, "a:1 [::1]:2");
	walk(out, sizeof(w), longw, sizeof(longw));
	ASSERT_STR_EQ(longw, "a:1|[::1]:2");
	TEST_DONE();

	TEST_START("pk_list_add: what does not fit is refused, nothing cut");
	memcpy(w, "ab", 3);
	ASSERT_INT_EQ(pk_list_add(w, 6, "cde"), PK_ERR_TOO_LARGE);
	ASSERT_STR_EQ(w, "ab");
	ASSERT_INT_EQ(pk_list_add(w, 7, "cde"), 0);
	ASSERT_STR_EQ(w, "ab cde");
	w[0] = '\0';
	ASSERT_INT_EQ(pk_list_add(w, 4, "abcd"), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_list_add(w, 5, "abcd"), 0);
	ASSERT_STR_EQ(w, "abcd");
	TEST_DONE();

	TEST_START("pk_addr_split: every form");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (pk_addr_split(good[i].in, host, sizeof(host), port,
		    sizeof(port), "4141") != 0) {
			test_fail(__FILE__, __LINE__, "\"%s\" refused",
			    good[i].in);
			continue;
		}
		ASSERT_STR_EQ(host, good[i].host);
		ASSERT_STR_EQ(port, good[i].port);
	}
	TEST_DONE();

	TEST_START("pk_addr_split: malformed");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pk_addr_split(bad[i], host, sizeof(host), port,
		    sizeof(port), "4141") != PK_ERR_BAD_FORMAT)
			test_fail(__FILE__, __LINE__, "\"%s\" accepted",
			    bad[i]);
	TEST_DONE();

	TEST_START("pk_addr_split: parts that do not fit");
	ASSERT_INT_EQ(pk_addr_split("node1.example:1", host, 5, port,
	    sizeof(port), "4141"), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_addr_split("h:4141", host, sizeof(host), port, 4,
	    "4141"), PK_ERR_TOO_LARGE);
	TEST_DONE();

	return test_exit();
}
