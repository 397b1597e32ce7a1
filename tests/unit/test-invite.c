/*
 * test-invite.c: src/cli/invite.c, what "peerkey join" reads from the
 * operator (the invitation code) and from the network (the inviter's
 * JOIN_REPLY), checked before anything is added.
 *
 * Every identity in a reply is a signed identity document (ident.h);
 * the keys here are made by the test. What counts is what the document
 * says: an identity without one, or whose signature does not verify with
 * the node key it names (a member binding someone else's node key), is
 * left out and named; an inviter without one makes the whole reply
 * unusable. (The regression cases of issue 16 -- an inviter or member
 * without "node_keyid", a member without "addresses" -- are now replies
 * without a signed identity; they stay seeds of tests/fuzz/invite.repro/.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ident.h"
#include "invite.h"
#include "key.h"
#include "pk_err.h"
#include "test_helper.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define K3 "3333333333333333333333333333333333333333333333333333333333333333"

static char			*cause;
static struct pk_identity	*me, *kinv, *km;

/* invite_reply_check() of the string s, as this machine (me). */
static json_t *
check(const char *s)
{
	free(cause);
	cause = NULL;
	return invite_reply_check(s, strlen(s), me->keyid, &cause);
}

/* check() of the JSON j (taken). */
static json_t *
checkj(json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT);
	json_t	*r = check(s);

	free(s);
	json_decref(j);
	return r;
}

/*
 * The base64 of an identity signed by key, naming the public half of
 * pub as its node key (pub == key: a true one).
 */
static char *
sid(struct pk_identity *key, struct pk_identity *pub, const char *name,
    const char *boot, const char *addrs, const char *pgp)
{
	struct pk_identity	 mixed = *key;
	struct pk_ident		 d;
	uint8_t			*raw;
	size_t			 len;
	char			*b64;

	mixed.pub = pub->pub;
	memset(&d, 0, sizeof(d));
	d.seq = 1;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.boot_keyid, sizeof(d.boot_keyid), "%s", boot);
	snprintf(d.addresses, sizeof(d.addresses), "%s", addrs);
	d.boot_pgp = (char *)pgp;
	if (pk_ident_sign(&mixed, &d, &raw, &len, NULL) != 0)
		abort();
	b64 = pk_ident_b64(raw, len);
	free(raw);
	return b64;
}

/* An identity object of just the signed document s (taken). */
static json_t *
idobj(char *s)
{
	json_t	*o = json_pack("{s:s}", "identity", s);

	free(s);
	return o;
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

/* The why of bad member i of r. */
static const char *
why(json_t *r, size_t i)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(r, "bad"), i), "why"));
}

static void
test_reply(void)
{
	json_t	*r, *p;
	char	*m;

	TEST_START("a good reply: the inviter first, this machine left out");
	r = checkj(json_pack("{s:o, s:[o, o]}",
	    "self", idobj(sid(kinv, kinv, "inv", K2, "127.0.0.1:1", "x")),
	    "members",
	    idobj(sid(km, km, "m", K1, "127.0.0.1:2", "")),
	    idobj(sid(me, me, "me", K3, "", ""))));
	ASSERT_PTR_NE(r, NULL);
	ASSERT_INT_EQ(npeers(r), 2);
	ASSERT_INT_EQ(nbad(r), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "inviter")), "inv");
	p = json_array_get(json_object_get(r, "peers"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "name")), "inv");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "node_keyid")),
	    kinv->keyid);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "boot_pgp")), "x");
	/* What the document says: every peer has its six members. */
	p = json_array_get(json_object_get(r, "peers"), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "addresses")),
	    "127.0.0.1:2");
	ASSERT_INT_EQ(json_object_size(p), 6);
	json_decref(r);
	TEST_DONE();

	TEST_START("what the plain members say is not read: the document is");
	m = sid(km, km, "m", K1, "", "");
	r = checkj(json_pack("{s:o, s:[{s:s, s:s, s:s}]}",
	    "self", idobj(sid(kinv, kinv, "inv", K2, "", "")),
	    "members", "name", "liar", "node_keyid", K3, "identity", m));
	free(m);
	ASSERT_PTR_NE(r, NULL);
	p = json_array_get(json_object_get(r, "peers"), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "name")), "m");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "node_keyid")),
	    km->keyid);
	json_decref(r);
	TEST_DONE();

	TEST_START("an inviter without a signed identity: nothing to add");
	r = check("{\"self\":{\"name\":\"inv\",\"node_keyid\":\"" K1 "\","
	    "\"boot_keyid\":\"" K2 "\"},\"members\":[]}");
	ASSERT_PTR_EQ(r, NULL);
	ASSERT_STR_CONTAINS(cause, "identity");
	r = check("{\"self\":{\"name\":\"inv\"},\"members\":[]}");
	ASSERT_PTR_EQ(r, NULL);
	TEST_DONE();

	TEST_START("a member whose identity its node key did not sign is left "
	    "out, named");
	r = checkj(json_pack("{s:o, s:[o, {s:s, s:s, s:s}]}",
	    "self", idobj(sid(kinv, kinv, "inv", K2, "", "")),
	    "members", idobj(sid(km, me, "victim", K1, "", "")),
	    "name", "m", "node_keyid", K3, "boot_keyid", K3));
	ASSERT_PTR_NE(r, NULL);
	ASSERT_INT_EQ(npeers(r), 1);
	ASSERT_INT_EQ(nbad(r), 2);
	ASSERT_STR_CONTAINS(why(r, 0), "signature");
	ASSERT_STR_CONTAINS(why(r, 1), "identity");
	json_decref(r);
	TEST_DONE();

	TEST_START("members of the wrong types are left out, named");
	r = checkj(json_pack("{s:o, s:[i, n, {s:i}, {s:s}, {s:s}]}",
	    "self", idobj(sid(kinv, kinv, "inv", K2, "", "")),
	    "members", 7, "identity", 5, "identity", "!!not base64",
	    "identity", "UEtJRAE="));
	ASSERT_PTR_NE(r, NULL);
	ASSERT_INT_EQ(npeers(r), 1);
	ASSERT_INT_EQ(nbad(r), 5);
	json_decref(r);
	TEST_DONE();

	TEST_START("unusable replies: nothing to add");
	ASSERT_PTR_EQ(check(""), NULL);
	ASSERT_PTR_EQ(check("[]"), NULL);
	ASSERT_PTR_EQ(check("{}"), NULL);
	ASSERT_PTR_EQ(check("{\"self\":[]}"), NULL);
	r = checkj(json_pack("{s:o, s:{}}",
	    "self", idobj(sid(kinv, kinv, "inv", K2, "", "")), "members"));
	ASSERT_PTR_EQ(r, NULL);
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
	if (pk_identity_generate(&me) != 0 ||
	    pk_identity_generate(&kinv) != 0 ||
	    pk_identity_generate(&km) != 0)
		return 1;
	test_reply();
	test_code();
	pk_identity_free(me);
	pk_identity_free(kinv);
	pk_identity_free(km);
	free(cause);
	return test_exit();
}
