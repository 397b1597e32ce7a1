/*
 * test-guardians.c: the guardian picker (src/cli/guardians.c) and the
 * labels it reads (src/proto/labels.c): with enough zones no zone holds
 * K of the N shares; with too few, the best spread and the sentence that
 * says so; peers without the label count as one value; disabled peers
 * and Mandos clients are never picked; the pick does not depend on the
 * candidates' order; --guardians NAME,... is checked name by name. Every
 * pick is also checked against a brute force over all subsets for the
 * smallest largest share of one value.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guardians.h"
#include "labels.h"
#include "pk_err.h"
#include "test_helper.h"

#define NC_MAX	12

static struct guardian_cand c[NC_MAX];
static size_t nc;

static void
cand(const char *name, const char *labels, int usable, int node_key)
{
	c[nc].name = name;
	c[nc].labels = labels;
	c[nc].usable = usable;
	c[nc].has_node_key = node_key;
	nc++;
}

/* The picked names, comma separated, in pick order. */
static const char *
names(const size_t *pick, size_t n)
{
	static char	 buf[512];
	size_t		 i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, c[pick[i]].name);
	}
	return buf;
}

/* The largest number of picks sharing one value of key. */
static size_t
top_share(const size_t *pick, size_t n, const char *key)
{
	char	 a[PK_LABEL_VALUE_MAX + 1], b[PK_LABEL_VALUE_MAX + 1];
	size_t	 i, j, cnt, top = 0;

	for (i = 0; i < n; i++) {
		pk_labels_get(c[pick[i]].labels, key, a, sizeof(a));
		for (cnt = 0, j = 0; j < n; j++) {
			pk_labels_get(c[pick[j]].labels, key, b, sizeof(b));
			cnt += strcmp(a, b) == 0;
		}
		if (cnt > top)
			top = cnt;
	}
	return top;
}

/* The best top_share() over every n-subset of the usable candidates. */
static size_t
brute_best(size_t n, const char *key)
{
	size_t		 pick[NC_MAX], best = NC_MAX + 1, i, k;
	unsigned	 m;

	for (m = 0; m < (1u << nc); m++) {
		k = 0;
		for (i = 0; i < nc; i++)
			if (m & (1u << i)) {
				if (!c[i].usable || !c[i].has_node_key)
					break;
				pick[k++] = i;
			}
		if (i < nc || k != n)
			continue;
		if (top_share(pick, n, key) < best)
			best = top_share(pick, n, key);
	}
	return best;
}

/* Picks k of n, asserts the names and the sentence (NULL: none). */
static void
expect(unsigned k, unsigned n, const char *key, const char *want,
    const char *want_why)
{
	size_t	 pick[GUARDIANS_MAX];
	char	*why = NULL, *cause = NULL;

	ASSERT_INT_EQ(guardians_pick(c, nc, k, n, key, pick, &why, &cause),
	    0);
	if (cause != NULL) {
		test_diag("cause: %s", cause);
		free(cause);
		return;
	}
	ASSERT_STR_EQ(names(pick, n), want);
	ASSERT_INT_EQ(top_share(pick, n, key), brute_best(n, key));
	if (want_why == NULL) {
		if (why != NULL)
			test_fail(__FILE__, __LINE__, "a sentence: %s", why);
	} else if (why == NULL)
		test_fail(__FILE__, __LINE__, "no sentence, want %s", want_why);
	else
		ASSERT_STR_EQ(why, want_why);
	free(why);
}

/* guardians_pick() fails with a cause containing want. */
static void
refused(unsigned k, unsigned n, const char *key, const char *want)
{
	size_t	 pick[GUARDIANS_MAX];
	char	*why = NULL, *cause = NULL;

	ASSERT_INT_EQ(guardians_pick(c, nc, k, n, key, pick, &why, &cause),
	    -1);
	ASSERT_TRUE(cause != NULL && strstr(cause, want) != NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		test_diag("cause: %s", cause);
	free(cause);
	free(why);
}

/* guardians_named(list): 0 with the names and sentence, or the cause. */
static void
named(const char *list, unsigned k, const char *want, const char *want_why)
{
	size_t	 pick[GUARDIANS_MAX], n = 0;
	char	*why = NULL, *cause = NULL;
	int	 r;

	r = guardians_named(c, nc, list, k, "zone", pick, &n, &why, &cause);
	if (r == 0) {
		ASSERT_STR_EQ(names(pick, n), want);
		if (want_why != NULL && (why == NULL ||
		    strcmp(why, want_why) != 0))
			test_fail(__FILE__, __LINE__, "sentence %s, want %s",
			    why ? why : "(none)", want_why);
		if (want_why == NULL && why != NULL)
			test_fail(__FILE__, __LINE__, "a sentence: %s", why);
	} else {
		ASSERT_TRUE(cause != NULL && strstr(cause, want) != NULL);
		if (cause != NULL && strstr(cause, want) == NULL)
			test_diag("cause: %s, want %s", cause, want);
	}
	free(cause);
	free(why);
}

static void
six_in_three_zones(void)
{
	nc = 0;
	cand("h2", "zone=a", 1, 1);
	cand("h3", "zone=a", 1, 1);
	cand("h4", "rack=r1 zone=b", 1, 1);
	cand("h5", "zone=b", 1, 1);
	cand("h6", "zone=c", 1, 1);
	cand("h7", "zone=c", 1, 1);
}

int
main(void)
{
	char	 out[PK_LABELS_MAX + 1], v[PK_LABEL_VALUE_MAX + 1];
	char	*cause = NULL;
	size_t	 i;

	TEST_START("labels: canonical, edited, limits");
	ASSERT_INT_EQ(pk_labels_edit("", "zone=a, rack=r3", out, sizeof(out),
	    NULL), 0);
	ASSERT_STR_EQ(out, "rack=r3 zone=a");
	ASSERT_INT_EQ(pk_labels_valid(out), 0);
	ASSERT_INT_EQ(pk_labels_valid("zone=a rack=r3"), -1);	/* order */
	ASSERT_INT_EQ(pk_labels_valid("rack=r3  zone=a"), -1);
	ASSERT_INT_EQ(pk_labels_valid(""), 0);
	ASSERT_INT_EQ(pk_labels_edit(out, "rack= zone=b", out, sizeof(out),
	    NULL), 0);
	ASSERT_STR_EQ(out, "zone=b");
	ASSERT_INT_EQ(pk_labels_get(out, "zone", v, sizeof(v)), 1);
	ASSERT_STR_EQ(v, "b");
	ASSERT_INT_EQ(pk_labels_get(out, "zon", v, sizeof(v)), 0);
	ASSERT_INT_EQ(pk_labels_edit("", "a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8",
	    out, sizeof(out), NULL), 0);
	ASSERT_INT_EQ(pk_labels_edit(out, "i=9", v, sizeof(v), NULL),
	    PK_ERR_INVALID_ARG);			/* out too small */
	ASSERT_INT_EQ(pk_labels_edit(out, "i=9", out, sizeof(out), &cause),
	    PK_ERR_TOO_LARGE);
	ASSERT_TRUE(cause != NULL && strstr(cause, "at most 8") != NULL);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_labels_edit(out, "a= i=9", out, sizeof(out), NULL),
	    0);					/* one out, one in */
	ASSERT_INT_EQ(pk_labels_edit("", "Zone=a", out, sizeof(out), NULL),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_labels_edit("", "z=a\n", out, sizeof(out), NULL),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_labels_edit("", "z=a=b", out, sizeof(out), NULL),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_labels_edit("", "z=a z=b", out, sizeof(out), NULL),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_labels_edit("", "=a", out, sizeof(out), NULL),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_labels_edit("", "", out, sizeof(out), NULL), 0);
	ASSERT_STR_EQ(out, "");
	TEST_DONE();

	TEST_START("six peers in three zones: 2 of 3 and 2 of 6 spread");
	six_in_three_zones();
	expect(2, 3, "zone", "h2,h4,h6", NULL);
	expect(3, 6, "zone", "h2,h4,h6,h3,h5,h7", NULL);
	expect(3, 5, "zone", "h2,h4,h6,h3,h5", NULL);
	/* 2 of 6 over three zones: every zone holds 2 = K. */
	expect(2, 6, "zone", "h2,h4,h6,h3,h5,h7",
	    "only 3 zones for 2 of 6: zone=a holds 2");
	TEST_DONE();

	TEST_START("too few zones: the best spread and why");
	nc = 0;
	cand("a1", "zone=a", 1, 1);
	cand("a2", "zone=a", 1, 1);
	cand("a3", "zone=a", 1, 1);
	cand("b1", "zone=b", 1, 1);
	cand("b2", "zone=b", 1, 1);
	expect(3, 5, "zone", "a1,b1,a2,b2,a3",
	    "only 2 zones for 3 of 5: zone=a holds 3");
	expect(3, 4, "zone", "a1,b1,a2,b2", NULL);
	TEST_DONE();

	TEST_START("peers without the label count as one value");
	nc = 0;
	cand("n1", "", 1, 1);
	cand("n2", "rack=r1", 1, 1);
	cand("n3", "", 1, 1);
	cand("z1", "zone=a", 1, 1);
	expect(2, 3, "zone", "z1,n1,n2",
	    "only 2 zones for 2 of 3: 2 guardians have no zone label");
	expect(2, 2, "zone", "z1,n1", NULL);
	expect(2, 3, "rack", "n2,n1,n3",
	    "only 2 racks for 2 of 3: 2 guardians have no rack label");
	TEST_DONE();

	TEST_START("disabled peers and Mandos clients are never picked");
	six_in_three_zones();
	c[0].usable = 0;			/* h2 */
	c[2].has_node_key = 0;			/* h4 */
	expect(2, 3, "zone", "h3,h5,h6", NULL);
	refused(2, 5, "zone", "only 4 peers can guard");
	TEST_DONE();

	TEST_START("K = 1: spread, no sentence; bad K, N and key refused");
	six_in_three_zones();
	expect(1, 3, "zone", "h2,h4,h6", NULL);
	expect(1, 6, "zone", "h2,h4,h6,h3,h5,h7", NULL);
	refused(0, 3, "zone", "threshold of 0 of 3");
	refused(4, 3, "zone", "threshold of 4 of 3");
	refused(1, 0, "zone", "threshold of 1 of 0");
	refused(1, 256, "zone", "threshold of 1 of 256");
	refused(2, 3, "Zone", "not a label key");
	TEST_DONE();

	TEST_START("deterministic: the candidates' order does not matter");
	six_in_three_zones();
	for (i = 0; i < nc / 2; i++) {
		struct guardian_cand t = c[i];

		c[i] = c[nc - 1 - i];
		c[nc - 1 - i] = t;
	}
	expect(2, 3, "zone", "h2,h4,h6", NULL);
	expect(3, 5, "zone", "h2,h4,h6,h3,h5", NULL);
	TEST_DONE();

	TEST_START("--guardians NAME,...: checked name by name");
	six_in_three_zones();
	c[5].usable = 0;			/* h7 */
	named("h2,h4,h6", 2, "h2,h4,h6", NULL);
	named("h2,h3,h4", 2, "h2,h3,h4",
	    "only 2 zones for 2 of 3: zone=a holds 2");
	named("h2,h9", 2, "no peer h9", NULL);
	named("h2,h2,h4", 2, "h2 named twice", NULL);
	named("h2,h7", 2, "h7 cannot guard (not enabled)", NULL);
	named("h2", 2, "1 named for a threshold of 2", NULL);
	named("h2,,h4", 2, "an empty name", NULL);
	named("h2,h4,", 2, "an empty name", NULL);
	named("", 1, "0 named for a threshold of 1", NULL);
	c[2].has_node_key = 0;
	named("h2,h4", 1, "h4 cannot guard (no node key", NULL);
	TEST_DONE();

	return test_exit();
}
