/*
 * test-invite.c: src/cli/invite.c, what "peerkey join" reads from the
 * operator (the invitation code) and from the network (the inviter's
 * JOIN_REPLY), checked before anything is added.
 *
 * The regression cases of issue 16: a reply whose inviter or a member
 * has no "node_keyid" (which crashed the command in strcasecmp), and a
 * member without "addresses" (which made it exit "out of memory" half
 * way, peers already added and boot.conf not refreshed). Every reply
 * here is also a seed of tests/fuzz/invite.repro/ or invite.in/.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "invite.h"
#include "key.h"
#include "pk_err.h"
#include "test_helper.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define K3 "3333333333333333333333333333333333333333333333333333333333333333"
#define ME "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static char	*cause;

/* A reply's start: the inviter, then its members' list. */
#define SELF	"{\"self\":{\"name\":\"inv\",\"node_keyid\":\"" K1 "\"," \
		"\"boot_keyid\":\"" K2 "\"},\"members\":"

/* invite_reply_check() of the string s, as this machine ME. */
static json_t *
check(const char *s)
{
	free(cause);
	cause = NULL;
	return invite_reply_check(s, strlen(s), ME, &cause);
}

/* The string member key of r[list][i] (NULL if there is none). */
static const char *
item(json_t *r, const char *list, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(r, list), i), key));
}

static size_t
npeers(json_t *r)
{
	return json_array_size(json_object_get(r, "peers"));
}

static size_t
nbad(json_t *r)
{
	return json_array_size(json_object_get(r, "bad"));
}

/* check(s), expected to be a reply of np peers and nb members left out. */
static json_t *
expect_reply(const char *s, size_t np, size_t nb)
{
	json_t	*r = check(s);

	ASSERT_PTR_NE(r, NULL);
	ASSERT_INT_EQ(npeers(r), np);
	ASSERT_INT_EQ(nbad(r), nb);
	return r;
}

static void
test_reply(void)
{
	json_t	*r;

	TEST_START("a good reply: the inviter first, this machine left out");
	r = expect_reply("{\"self\":{\"name\":\"inv\",\"node_keyid\":\""
	    K1 "\",\"boot_keyid\":\"" K2 "\",\"addresses\":\"127.0.0.1:1\","
	    "\"boot_pgp\":\"x\"},\"members\":[{\"name\":\"m\","
	    "\"node_keyid\":\"" K3 "\",\"boot_keyid\":\"" K1 "\","
	    "\"addresses\":\"127.0.0.1:2\"},{\"name\":\"me\",\"node_keyid\":"
	    "\"" ME "\",\"boot_keyid\":\"" K2 "\"}]}", 2, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "inviter")), "inv");
	ASSERT_STR_EQ(item(r, "peers", 0, "name"), "inv");
	/* Defaults filled in: every peer has its five members. */
	ASSERT_STR_EQ(item(r, "peers", 1, "boot_pgp"), "");
	ASSERT_INT_EQ(json_object_size(json_array_get(json_object_get(r,
	    "peers"), 1)), 5);
	json_decref(r);
	TEST_DONE();

	TEST_START("regression: the inviter without node_keyid (the crash)");
	/* The minimal input of the issue, as the decoded reply. */
	r = check("{\"self\":{\"name\":\"inv\"},\"members\":[]}");
	ASSERT_PTR_EQ(r, NULL);
	ASSERT_STR_CONTAINS(cause, "node_keyid");
	TEST_DONE();

	TEST_START("regression: a member without node_keyid is left out");
	r = expect_reply(SELF "[{\"name\":\"m\","
	    "\"boot_keyid\":\"" K3 "\"}]}", 1, 1);
	ASSERT_STR_CONTAINS(item(r, "bad", 0, "why"), "node_keyid");
	json_decref(r);
	TEST_DONE();

	TEST_START("regression: a member without addresses is added");
	r = expect_reply(SELF "[{\"name\":\"m\","
	    "\"node_keyid\":\"" K3 "\",\"boot_keyid\":\"" K3 "\"}]}", 2, 0);
	ASSERT_STR_EQ(item(r, "peers", 1, "addresses"), "");
	json_decref(r);
	TEST_DONE();

	TEST_START("members of the wrong types are left out, named");
	r = expect_reply(SELF "[7,null,{\"name\":5},"
	    "{\"name\":\"a b\",\"node_keyid\":\"" K3 "\",\"boot_keyid\":\""
	    K3 "\"},{\"name\":\"m\",\"node_keyid\":\"" K3 "\",\"boot_keyid\":"
	    "\"" K3 "\",\"addresses\":[]},{\"name\":\"n\",\"node_keyid\":\"x\","
	    "\"boot_keyid\":\"" K3 "\"}]}", 1, 6);
	json_decref(r);
	TEST_DONE();

	TEST_START("unusable replies: nothing to add");
	ASSERT_PTR_EQ(check(""), NULL);
	ASSERT_PTR_EQ(check("[]"), NULL);
	ASSERT_PTR_EQ(check("{}"), NULL);
	ASSERT_PTR_EQ(check("{\"self\":[]}"), NULL);
	ASSERT_PTR_EQ(check("{\"self\":{\"name\":\"inv\",\"node_keyid\":\""
	    K1 "\",\"boot_keyid\":\"" K2 "\"},\"members\":{}}"), NULL);
	ASSERT_STR_CONTAINS(cause, "members");
	TEST_DONE();
}

/* An invitation code for the JSON j (taken). */
static char *
code_of(json_t *j)
{
	char	*js = json_dumps(j, JSON_COMPACT), *c;

	json_decref(j);
	c = invite_b64url_encode(js, strlen(js));
	free(js);
	return c;
}

static void
test_code(void)
{
	struct invite_code	 ic;
	unsigned char		 secret[PK_JOIN_SECRET_LEN];
	char			*s, *c;
	size_t			 i;

	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (unsigned char)(0xf0 + i);
	s = invite_b64url_encode(secret, sizeof(secret));

	TEST_START("a code decodes to its address, key id and secret");
	c = code_of(json_pack("{s:i, s:s, s:s, s:s, s:i}", "v", 1, "a",
	    "127.0.0.1:4", "k", K1, "s", s, "e", 99));
	ASSERT_INT_EQ(invite_code_decode(c, &ic, &cause), 0);
	ASSERT_STR_EQ(ic.addresses, "127.0.0.1:4");
	ASSERT_STR_EQ(ic.node_keyid, K1);
	ASSERT_INT_EQ(memcmp(ic.secret, secret, sizeof(secret)), 0);
	ASSERT_INT_EQ(ic.expires, 99);
	free(c);
	TEST_DONE();

	TEST_START("bad codes are refused, with the reason");
	{
		json_t	*bad[] = {
			json_pack("{s:i, s:s, s:s, s:s}", "v", 2, "a", "x",
			    "k", K1, "s", s),
			json_pack("{s:i, s:s, s:s}", "v", 1, "k", K1, "s", s),
			json_pack("{s:i, s:i, s:s, s:s}", "v", 1, "a", 7,
			    "k", K1, "s", s),
			json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "a", "x",
			    "k", "zz", "s", s),
			json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "a", "x",
			    "k", K1, "s", "AAAA"),
			json_pack("{s:i, s:s, s:s, s:i}", "v", 1, "a", "x",
			    "k", K1, "s", 7),
			json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "a",
			    "x", "k", K1, "s", s, "e", "soon"),
			json_pack("[i]", 1),
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			free(cause);
			cause = NULL;
			c = code_of(bad[i]);
			ASSERT_INT_EQ(invite_code_decode(c, &ic, &cause), -1);
			ASSERT_PTR_NE(cause, NULL);
			free(c);
		}
		free(cause);
		cause = NULL;
		ASSERT_INT_EQ(invite_code_decode("", &ic, &cause), -1);
		free(cause);
		cause = NULL;
		ASSERT_INT_EQ(invite_code_decode("!!!", &ic, &cause), -1);
		free(cause);
		cause = NULL;
		ASSERT_INT_EQ(invite_code_decode("e30+", &ic, &cause), -1);
	}
	TEST_DONE();
	free(s);
}

int
main(void)
{
	test_reply();
	test_code();
	free(cause);
	return test_exit();
}
