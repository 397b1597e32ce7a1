/*
 * test-luks-check.c: src/cli/luks-check.c, the check of a peerkey LUKS2
 * token before luks.c acts on it, and its name lists.
 *
 * The regression case of issue 16: a "held-by" entry that is not a
 * string crashed names_has() (strcmp of NULL). Such a token is now
 * refused as a whole, and the name lists skip what is not a string even
 * if handed one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "luks-check.h"
#include "test_helper.h"

static char	*cause;

/* luks_token_check() of the JSON text s. */
static int
check(const char *s)
{
	json_error_t	 jerr;
	json_t		*j = json_loads(s, 0, &jerr);
	int		 r;

	free(cause);
	cause = NULL;
	r = luks_token_check(j, &cause);
	json_decref(j);
	return r;
}

#define GOOD	"\"type\":\"peerkey\",\"state\":\"enrolled\",\"keyslot\":1," \
		"\"blob-id\":\"luks-u\",\"generation\":2"

int
main(void)
{
	json_t	*a;

	TEST_START("a token enroll writes passes");
	ASSERT_INT_EQ(check("{" GOOD ",\"peers\":[\"b\",\"c\"],"
	    "\"held-by\":[\"b\"],\"keyslots\":[\"1\"],\"updated\":5}"), 0);
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"x\"}"), 0);
	TEST_DONE();

	TEST_START("regression: a held-by entry that is no string");
	ASSERT_INT_EQ(check("{" GOOD ",\"held-by\":[\"b\",7]}"), -1);
	ASSERT_STR_CONTAINS(cause, "held-by");
	ASSERT_INT_EQ(check("{" GOOD ",\"held-by\":[null]}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"peers\":[{}]}"), -1);
	ASSERT_STR_CONTAINS(cause, "peers");
	TEST_DONE();

	TEST_START("every member of the wrong type or value is named");
	ASSERT_INT_EQ(check("[]"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"held-by\":{}}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"held-by\":[\"\"]}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"held-by\":[\"a\\u0000b\"]}"), -1);
	ASSERT_INT_EQ(check("{\"state\":\"gone\",\"blob-id\":\"x\"}"), -1);
	ASSERT_STR_CONTAINS(cause, "state");
	ASSERT_INT_EQ(check("{\"state\":7,\"blob-id\":\"x\"}"), -1);
	ASSERT_INT_EQ(check("{\"state\":\"adding\"}"), -1);
	ASSERT_STR_CONTAINS(cause, "blob-id");
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"\"}"), -1);
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"x\","
	    "\"keyslot\":\"1\"}"), -1);
	ASSERT_STR_CONTAINS(cause, "keyslot");
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"x\","
	    "\"keyslot\":32}"), -1);
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"x\","
	    "\"keyslot\":-1}"), -1);
	ASSERT_INT_EQ(check("{\"state\":\"adding\",\"blob-id\":\"x\","
	    "\"generation\":1.5}"), -1);
	ASSERT_STR_CONTAINS(cause, "generation");
	TEST_DONE();

#define SPLIT	"\"type\":\"peerkey\",\"state\":\"enrolled\",\"keyslot\":1," \
		"\"blob-id\":\"luks-u@2\",\"generation\":2,\"epoch\":2"
#define G3	"\"guardians\":[{\"name\":\"a\",\"share\":1}," \
		"{\"name\":\"b\",\"share\":2},{\"name\":\"c\",\"share\":3}]"
	TEST_START("a split's token: threshold, guardians, epoch");
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2," G3 "}"), 0);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":3," G3 "}"), 0);
	ASSERT_INT_EQ(check("{" GOOD ",\"threshold\":1}"), 0);
	/* More shares needed than guardians hold. */
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":4," G3 "}"), -1);
	ASSERT_STR_CONTAINS(cause, "guardians");
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":0," G3 "}"), -1);
	ASSERT_STR_CONTAINS(cause, "threshold");
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":256," G3 "}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":\"2\"," G3 "}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2}"), -1);
	ASSERT_STR_CONTAINS(cause, "guardians");
	/* Guardians without a threshold, or a whole blob's epoch. */
	ASSERT_INT_EQ(check("{" GOOD "," G3 "}"), -1);
	ASSERT_STR_CONTAINS(cause, "guardians");
	ASSERT_INT_EQ(check("{" GOOD ",\"epoch\":2}"), -1);
	ASSERT_STR_CONTAINS(cause, "epoch");
	/* The epoch is the generation and ends the blob id. */
	ASSERT_INT_EQ(check("{\"state\":\"enrolled\",\"blob-id\":\"luks-u@2\","
	    "\"generation\":3,\"epoch\":2,\"threshold\":2," G3 "}"), -1);
	ASSERT_STR_CONTAINS(cause, "epoch");
	ASSERT_INT_EQ(check("{\"state\":\"enrolled\",\"blob-id\":\"luks-u\","
	    "\"generation\":2,\"epoch\":2,\"threshold\":2," G3 "}"), -1);
	ASSERT_STR_CONTAINS(cause, "blob-id");
	ASSERT_INT_EQ(check("{\"state\":\"enrolled\",\"blob-id\":\"luks-u@12\","
	    "\"generation\":2,\"epoch\":2,\"threshold\":2," G3 "}"), -1);
	/* A share twice, a name twice, a share out of range, no name. */
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":["
	    "{\"name\":\"a\",\"share\":1},{\"name\":\"b\",\"share\":1}]}"), -1);
	ASSERT_STR_CONTAINS(cause, "repeats");
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":["
	    "{\"name\":\"a\",\"share\":1},{\"name\":\"a\",\"share\":2}]}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":["
	    "{\"name\":\"a\",\"share\":1},{\"name\":\"b\",\"share\":3}]}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":["
	    "{\"name\":\"a\",\"share\":1},{\"share\":2}]}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":["
	    "{\"name\":\"a\",\"share\":1},[\"b\",2]]}"), -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2,\"guardians\":{}}"),
	    -1);
	TEST_DONE();

	TEST_START("the maintenance keyslot and the guardians wanted");
	ASSERT_INT_EQ(check("{" GOOD ",\"maintenance-keyslot\":2}"), 0);
	ASSERT_INT_EQ(check("{" GOOD ",\"maintenance-keyslot\":1}"), -1);
	ASSERT_STR_CONTAINS(cause, "maintenance-keyslot");
	ASSERT_INT_EQ(check("{" GOOD ",\"maintenance-keyslot\":32}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"maintenance-keyslot\":\"2\"}"),
	    -1);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2," G3
	    ",\"guardians-wanted\":4}"), 0);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2," G3
	    ",\"guardians-wanted\":0}"), 0);
	ASSERT_INT_EQ(check("{" SPLIT ",\"threshold\":2," G3
	    ",\"guardians-wanted\":256}"), -1);
	ASSERT_STR_CONTAINS(cause, "guardians-wanted");
	ASSERT_INT_EQ(check("{" GOOD ",\"guardians-wanted\":3}"), -1);
	ASSERT_STR_CONTAINS(cause, "guardians-wanted");
	TEST_DONE();

	TEST_START("withdraw-pending: blob ids, each a list of peer names");
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":"
	    "{\"luks-u@1\":[\"b\",\"c\"]}}"), 0);
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":{}}"), 0);
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":[]}"), -1);
	ASSERT_STR_CONTAINS(cause, "withdraw-pending");
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":"
	    "{\"luks-u@1\":\"b\"}}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":"
	    "{\"luks-u@1\":[7]}}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":"
	    "{\"luks-u@1\":[\"\"]}}"), -1);
	ASSERT_INT_EQ(check("{" GOOD ",\"withdraw-pending\":"
	    "{\"\":[\"b\"]}}"), -1);
	TEST_DONE();

	TEST_START("the name lists skip what is not a string");
	a = json_pack("[i, s, n, s]", 7, "b", "c");
	ASSERT_TRUE(luks_names_has(a, "b"));
	ASSERT_TRUE(luks_names_has(a, "c"));
	ASSERT_FALSE(luks_names_has(a, "d"));
	luks_names_del(a, "c");
	ASSERT_FALSE(luks_names_has(a, "c"));
	ASSERT_INT_EQ(json_array_size(a), 3);
	{
		json_t	*v = json_pack("[s]", "b"), *w = json_pack("[s, s]",
			    "b", "e");

		luks_names_add(v, a);
		ASSERT_INT_EQ(json_array_size(v), 1);
		luks_names_add(v, w);
		ASSERT_INT_EQ(json_array_size(v), 2);
		json_decref(v);
		json_decref(w);
	}
	json_decref(a);
	TEST_DONE();
	free(cause);
	return test_exit();
}
