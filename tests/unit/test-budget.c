/*
 * test-budget.c: budget.c, the session classes that keep a flood from
 * crowding out known keys: the source of an address (an IPv4 address, an
 * IPv6 /64, a link-local address whole), who is pushed out to make room
 * (the oldest of the source over its share; over the total, the oldest
 * of the heaviest source sampled, never a source with one connection
 * while others hold more), and the session cap left by the descriptor
 * reserve. Sessions here are bare structs: nothing but budget.c runs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "session-int.h"
#include "test_helper.h"

/* A session from host, in class c; *victim: the one to close, or NULL. */
static struct session *
mk(const char *host, int c, struct session **victim)
{
	struct session	*s = calloc(1, sizeof(*s));

	s->b_class = -1;
	snprintf(s->host, sizeof(s->host), "%s", host);
	budget_key(host, s->b_key);
	*victim = budget_enter(s, c);
	return s;
}

static const char *
src(const char *host)
{
	static char	 buf[64];
	uint8_t		 key[16];

	budget_key(host, key);
	budget_key_name(key, buf, sizeof(buf));
	return buf;
}

int
main(void)
{
	struct session	*s[64], *v, *lone;
	char		 h[32];
	int		 i, lone_out;

	TEST_START("sources: IPv4 whole, IPv6 by /64, link-local whole");
	ASSERT_STR_EQ(src("192.0.2.1"), "192.0.2.1");
	ASSERT_STR_EQ(src("::ffff:192.0.2.1"), "192.0.2.1");
	ASSERT_STR_EQ(src("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
	ASSERT_STR_EQ(src("2001:db8:1:2::9"), "2001:db8:1:2::/64");
	ASSERT_STR_EQ(src("fe80::1%eth0"), "fe80::1");
	ASSERT_STR_EQ(src("fe80::2"), "fe80::2");
	budget_source_name("[2001:db8::7]:4141", h, sizeof(h));
	ASSERT_STR_EQ(h, "2001:db8::/64");
	budget_source_name("192.0.2.9:1", h, sizeof(h));
	ASSERT_STR_EQ(h, "192.0.2.9");
	TEST_DONE();

	node->conf.max_handshakes = 16;
	node->conf.max_handshakes_per_source = 3;
	node->conf.max_unknown = 4;
	node->conf.max_unknown_per_source = 2;

	TEST_START("over its share, a source's oldest makes room");
	for (i = 0; i < 3; i++) {
		s[i] = mk("192.0.2.1", SESSION_PENDING, &v);
		ASSERT_PTR_EQ(v, NULL);
	}
	s[3] = mk("192.0.2.1", SESSION_PENDING, &v);
	ASSERT_PTR_EQ(v, s[0]);
	budget_leave(v);
	ASSERT_INT_EQ(budget_count(SESSION_PENDING), 3);
	/* Another source, and the /64 of IPv6, have their own share. */
	s[4] = mk("2001:db8::1", SESSION_PENDING, &v);
	s[5] = mk("2001:db8::2", SESSION_PENDING, &v);
	s[6] = mk("2001:db8::3", SESSION_PENDING, &v);
	ASSERT_PTR_EQ(v, NULL);
	s[7] = mk("2001:db8::4", SESSION_PENDING, &v);
	ASSERT_PTR_EQ(v, s[4]);
	budget_leave(v);
	for (i = 1; i < 8; i++)
		if (i != 4)
			budget_leave(s[i]);
	for (i = 0; i < 8; i++)
		free(s[i]);
	ASSERT_INT_EQ(budget_count(SESSION_PENDING), 0);
	TEST_DONE();

	TEST_START("over the total, the heaviest source pays, not a lone one");
	lone = mk("198.51.100.1", SESSION_PENDING, &v);
	lone_out = 0;
	for (i = 0; i < 60; i++) {
		snprintf(h, sizeof(h), "192.0.2.%d", i % 6 + 1);
		s[i] = mk(h, SESSION_PENDING, &v);
		if (v == lone)
			lone_out = 1;
		if (v != NULL)
			budget_leave(v);
		ASSERT_TRUE(v == NULL || v != s[i]);
	}
	ASSERT_FALSE(lone_out);
	ASSERT_INT_EQ(budget_count(SESSION_PENDING), 16);
	for (i = 0; i < 60; i++)
		budget_leave(s[i]);
	budget_leave(lone);
	ASSERT_INT_EQ(budget_count(SESSION_PENDING), 0);
	for (i = 0; i < 60; i++)
		free(s[i]);
	free(lone);
	TEST_DONE();

	TEST_START("classes are apart; leaving one class for another");
	s[0] = mk("192.0.2.1", SESSION_PENDING, &v);
	ASSERT_PTR_EQ(budget_enter(s[0], SESSION_UNKNOWN), NULL);
	ASSERT_INT_EQ(budget_count(SESSION_PENDING), 0);
	ASSERT_INT_EQ(budget_count(SESSION_UNKNOWN), 1);
	s[1] = mk("192.0.2.1", SESSION_UNKNOWN, &v);
	s[2] = mk("192.0.2.1", SESSION_UNKNOWN, &v);
	ASSERT_PTR_EQ(v, s[0]);
	for (i = 0; i < 3; i++) {
		budget_leave(s[i]);
		budget_leave(s[i]);	/* twice: nothing */
		free(s[i]);
	}
	ASSERT_INT_EQ(budget_count(SESSION_UNKNOWN), 0);
	TEST_DONE();

	TEST_START("the session cap leaves the reserve");
	node->conf.max_conns = 4096;
	node->npeers = 10;
	budget_init();
	ASSERT_INT_EQ(budget_session_cap(), 4096);
	TEST_DONE();
	return test_exit();
}
