/*
 * test-store-change.c: the state changes of peerkeyd's store (store.h),
 * one function each, which write the change and its audit event in one
 * transaction: store_peer_add, store_peer_save, store_peer_remove,
 * store_blob_deposit, store_blob_withdraw, store_event,
 * store_invite_add, store_invite_take, and the read-only store_invite_check;
 * store_events_bound.
 *
 * For each: what it writes (the row and the event, read back), what it
 * refuses (and that a refusal writes nothing: the database is the same to
 * the byte, events included), and fault injection (store_helper.c's
 * fault_case()): with the Nth write, sync or truncate failing, commits
 * included, the database holds exactly the old state or exactly the new
 * one, change and event together, never one without the other. The same
 * runs for opening (the migrations) and the single writes the changes
 * are made of, with a caller's transaction around two of them.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk_err.h"
#include "node.h"
#include "store.h"
#include "store-int.h"
#include "store_helper.h"
#include "test_helper.h"

/* Two secret hashes (64 hex digits each). */
#define HASH_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C	"cccccccccccccccccccccccccccccccc" \
		"cccccccccccccccccccccccccccccccc"

/* The events of the store, all of them, into l. */
static int
events(struct store *s, struct evlist *l)
{
	return evq(s, NULL, NULL, 0, 0, 0, l);
}

/* Asserts that the store has one event of kind, at at, reading want. */
static void
assert_one_event(struct store *s, const char *kind, int64_t at,
    const char *want)
{
	struct evlist	*ev = calloc(1, sizeof(*ev));

	ASSERT_INT_EQ(evq(s, NULL, kind, 0, 0, 0, ev), 0);
	ASSERT_INT_EQ(ev->n, 1);
	ASSERT_INT_EQ(ev->at[0], at);
	ASSERT_STR_EQ(ev->text[0], want);
	free(ev);
}

/*
 * Asserts that the store holds npeers peers, the first p with its
 * ident_seq, and p's signed document doc of len bytes.
 */
static void
assert_first_signed(struct store *s, const struct peer *p, int npeers,
    const char *doc, size_t len)
{
	struct loaded	 l;
	void		*got = NULL;
	size_t		 gotlen = 0;

	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, npeers);
	if (l.n == npeers) {
		peer_assert_eq(l.p[0], p);
		ASSERT_INT_EQ(l.p[0]->ident_seq, p->ident_seq);
	}
	load_free(&l);
	ASSERT_INT_EQ(store_peer_get_identity(s, p->id, &got, &gotlen), 0);
	ASSERT_INT_EQ(gotlen, len);
	ASSERT_INT_EQ(memcmp(got, doc, len), 0);
	free(got);
}

/*
 * Opens dir's store for calls that must be refused and write nothing;
 * *before is the state to compare with in refusals_end().
 */
static struct store *
refusals_begin(const char *dir, char **before)
{
	*before = digest(dir);
	return xopen(dir);
}

/* Closes s and asserts that dir's database is as before; frees before. */
static void
refusals_end(struct store *s, const char *dir, char *before)
{
	store_close(s);
	assert_unchanged(dir, before);
	free(before);
}

static void
test_peer_add(void)
{
	struct store	*s;
	struct peer	 p, q;
	struct loaded	 l;
	const char	*dir;
	char		*pgp = NULL, *before;

	TEST_START("peer_add: the peer, its boot OpenPGP key and its event");
	dir = newdir("add");
	s = xopen(dir);
	mkpeer(&p, 1);
	p.nblobs = 0;
	ASSERT_INT_EQ(store_peer_add(s, &p, "ARMORED", 10, "by test"), 0);
	ASSERT_INT_EQ(p.id, 1);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	if (l.n == 1)
		peer_assert_eq(l.p[0], &p);
	load_free(&l);
	ASSERT_INT_EQ(store_peer_get_pgp(s, p.id, &pgp), 0);
	ASSERT_STR_EQ(pgp, "ARMORED");
	free(pgp);
	assert_one_event(s, "added", 10, "peer-1/added//by test");
	/* No key: the column keeps its default. */
	mkpeer(&q, 2);
	ASSERT_INT_EQ(store_peer_add(s, &q, NULL, 11, "by test"), 0);
	ASSERT_INT_EQ(store_peer_get_pgp(s, q.id, &pgp), 0);
	ASSERT_STR_EQ(pgp, "");
	free(pgp);
	store_close(s);
	TEST_DONE();

	TEST_START("peer_add: a taken name or key writes nothing, keeps p->id");
	s = refusals_begin(dir, &before);
	mkpeer(&q, 3);
	snprintf(q.name, sizeof(q.name), "peer-1");
	q.id = 0;
	ASSERT_INT_EQ(store_peer_add(s, &q, "X", 12, "dup"), PK_ERR_EXISTS);
	ASSERT_INT_EQ(q.id, 0);
	mkpeer(&q, 3);
	snprintf(q.boot_keyid, sizeof(q.boot_keyid), "%s", p.boot_keyid);
	ASSERT_INT_EQ(store_peer_add(s, &q, "X", 12, "dup"), PK_ERR_EXISTS);
	mkpeer(&q, 3);
	q.timeout = 0;		/* the schema refuses it */
	ASSERT_INT_EQ(store_peer_add(s, &q, "X", 12, "bad"),
	    PK_ERR_INVALID_ARG);
	refusals_end(s, dir, before);
	TEST_DONE();
}

static void
test_peer_identity(void)
{
	struct store	*s;
	struct peer	 p, q;
	const char	*dir;
	char		*pgp = NULL, *before;
	void		*doc = NULL;
	size_t		 len = 0;

	TEST_START("peer_add_signed: the peer, its document and sequence");
	dir = newdir("ident");
	s = xopen(dir);
	mkpeer(&p, 1);
	p.nblobs = 0;
	p.ident_seq = 7;
	ASSERT_INT_EQ(store_peer_add_signed(s, &p, "PGP1", "DOC-7", 5, 10,
	    "joined"), 0);
	assert_first_signed(s, &p, 1, "DOC-7", 5);
	assert_one_event(s, "added", 10, "peer-1/added//joined");
	/* A peer added by hand has none. */
	mkpeer(&q, 2);
	ASSERT_INT_EQ(store_peer_add(s, &q, NULL, 11, "by test"), 0);
	ASSERT_INT_EQ(store_peer_get_identity(s, q.id, &doc, &len), 0);
	ASSERT_PTR_EQ(doc, NULL);
	ASSERT_INT_EQ(len, 0);
	store_close(s);
	TEST_DONE();

	TEST_START("peer_identity: keys, addresses, key, document and event");
	s = xopen(dir);
	snprintf(p.boot_keyid, sizeof(p.boot_keyid), "%064d", 9);
	snprintf(p.addresses, sizeof(p.addresses), "192.0.2.9:4141");
	p.ident_seq = 8;
	ASSERT_INT_EQ(store_peer_identity(s, &p, "PGP2", "DOC-8!", 6, 12,
	    "sequence 8"), 0);
	assert_first_signed(s, &p, 2, "DOC-8!", 6);
	ASSERT_INT_EQ(store_peer_get_pgp(s, p.id, &pgp), 0);
	ASSERT_STR_EQ(pgp, "PGP2");
	free(pgp);
	assert_one_event(s, "identity", 12, "peer-1/identity//sequence 8");
	store_close(s);
	TEST_DONE();

	TEST_START("peer_identity: refusals write nothing");
	s = refusals_begin(dir, &before);
	q = p;
	q.ident_seq = 0;	/* no sequence number */
	ASSERT_INT_EQ(store_peer_identity(s, &q, "X", "D", 1, 13, "x"),
	    PK_ERR_INVALID_ARG);
	q = p;
	q.ident_seq = 9;	/* no document */
	ASSERT_INT_EQ(store_peer_identity(s, &q, "X", NULL, 0, 13, "x"),
	    PK_ERR_INVALID_ARG);
	q.id = 99;		/* no such peer */
	ASSERT_INT_EQ(store_peer_identity(s, &q, "X", "D", 1, 13, "x"),
	    PK_ERR_NOT_FOUND);
	q = p;
	q.ident_seq = 9;	/* peer-2's boot key */
	snprintf(q.boot_keyid, sizeof(q.boot_keyid), "b%063x", 3);
	ASSERT_INT_EQ(store_peer_identity(s, &q, "X", "D", 1, 13, "x"),
	    PK_ERR_EXISTS);
	mkpeer(&q, 3);
	q.ident_seq = 0;	/* a document needs a sequence number */
	ASSERT_INT_EQ(store_peer_add_signed(s, &q, NULL, "D", 1, 13, "x"),
	    PK_ERR_INVALID_ARG);
	refusals_end(s, dir, before);
	TEST_DONE();
}

static void
test_peer_save(void)
{
	struct store	*s;
	struct peer	 p, q;
	struct loaded	 l;
	struct evlist	*ev = calloc(1, sizeof(*ev));
	const char	*dir;
	char		*before;

	TEST_START("peer_save: every field and its event, durable or lazy");
	dir = newdir("save");
	s = xopen(dir);
	mkpeer(&p, 1);
	ASSERT_INT_EQ(store_peer_add(s, &p, NULL, 1, "t"), 0);
	mkpeer(&q, 5);		/* every field new but the id */
	q.id = p.id;
	q.nblobs = 0;
	ASSERT_INT_EQ(store_peer_save(s, &q, 0, 20, "disabled", "192.0.2.9",
	    "why"), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	q.remaining = 777;
	ASSERT_INT_EQ(store_peer_save(s, &q, STORE_LAZY, 21, "released",
	    NULL, NULL), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);	/* FULL again after */
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	if (l.n == 1)
		peer_assert_eq(l.p[0], &q);
	load_free(&l);
	ASSERT_INT_EQ(events(s, ev), 0);
	ASSERT_INT_EQ(ev->n, 3);
	ASSERT_STR_EQ(ev->text[1], "peer-5/disabled/192.0.2.9/why");
	ASSERT_STR_EQ(ev->text[2], "peer-5/released//");
	store_close(s);
	TEST_DONE();

	TEST_START("peer_save: no such peer, or a refused value: nothing "
	    "written");
	s = refusals_begin(dir, &before);
	q.id = 99;
	ASSERT_INT_EQ(store_peer_save(s, &q, 0, 22, "enabled", NULL, NULL),
	    PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_peer_save(s, &q, STORE_LAZY, 22, "check-ok", NULL,
	    NULL), PK_ERR_NOT_FOUND);
	q.id = p.id;
	q.interval = 0;
	ASSERT_INT_EQ(store_peer_save(s, &q, 0, 22, "policy", NULL, NULL),
	    PK_ERR_INVALID_ARG);
	q.interval = 1000;
	ASSERT_INT_EQ(store_peer_save(s, &q, 0, 22, NULL, NULL, NULL),
	    PK_ERR_INVALID_ARG);	/* an event needs a kind */
	refusals_end(s, dir, before);
	free(ev);
	TEST_DONE();
}

static void
test_peer_save_liveness(void)
{
	struct store	*s;
	struct peer	 p, q;
	struct loaded	 l;
	struct evlist	*ev = calloc(1, sizeof(*ev));
	const char	*dir;
	char		*before;

	TEST_START("peer_save_liveness: the liveness columns and the event, "
	    "nothing else");
	dir = newdir("liveness");
	s = xopen(dir);
	mkpeer(&p, 1);
	ASSERT_INT_EQ(store_peer_add(s, &p, NULL, 1, "t"), 0);
	q = p;
	q.disabled_by = PEER_DIS_TIMEOUT;
	q.remaining = 4242;
	q.proof_remaining = 4343;
	q.last_seen = 31;
	q.last_check = 32;
	q.last_check_ok = !p.last_check_ok;
	q.timeout = p.timeout + 1000;	/* not liveness: not written */
	ASSERT_INT_EQ(store_peer_save_liveness(s, &q, STORE_LAZY, 30,
	    "released", "192.0.2.7", "native"), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);	/* FULL again after */
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	if (l.n == 1) {
		q.timeout = p.timeout;
		peer_assert_eq(l.p[0], &q);
	}
	load_free(&l);
	ASSERT_INT_EQ(events(s, ev), 0);
	ASSERT_INT_EQ(ev->n, 2);
	ASSERT_STR_EQ(ev->text[1], "peer-1/released/192.0.2.7/native");
	store_close(s);
	TEST_DONE();

	TEST_START("peer_save_liveness: no such peer, or out of range: "
	    "nothing written");
	s = refusals_begin(dir, &before);
	q.id = 99;
	ASSERT_INT_EQ(store_peer_save_liveness(s, &q, STORE_LAZY, 33,
	    "check-ok", NULL, NULL), PK_ERR_NOT_FOUND);
	q.id = p.id;
	q.remaining = (uint64_t)INT64_MAX + 1;
	ASSERT_INT_EQ(store_peer_save_liveness(s, &q, 0, 33, "refused",
	    NULL, NULL), PK_ERR_INVALID_ARG);
	q.remaining = 1;
	ASSERT_INT_EQ(store_peer_save_liveness(s, &q, 0, 33, NULL, NULL,
	    NULL), PK_ERR_INVALID_ARG);	/* an event needs a kind */
	refusals_end(s, dir, before);
	free(ev);
	TEST_DONE();
}

static void
test_peer_remove(void)
{
	struct store		*s;
	struct store_blob	*b = NULL;
	struct peer		 p, q;
	struct loaded		 l;
	uint8_t			 d[32];
	size_t			 n = 0;
	const char		*dir;
	char			*before;

	TEST_START("peer_remove: the peer, its blobs, and its event");
	dir = newdir("remove");
	s = xopen(dir);
	mkpeer(&p, 1);
	mkpeer(&q, 2);
	fill(d, sizeof(d), 1);
	ASSERT_INT_EQ(store_peer_add(s, &p, NULL, 1, "t"), 0);
	ASSERT_INT_EQ(store_peer_add(s, &q, NULL, 1, "t"), 0);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "a", d, sizeof(d), 0, 2, NULL,
	    "a"), 0);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "b", d, sizeof(d), 0, 2, NULL,
	    "b"), 0);
	ASSERT_INT_EQ(store_peer_remove(s, &p, 3, "by test", &b, &n), 0);
	ASSERT_INT_EQ((int)n, 2);
	if (n == 2) {
		ASSERT_STR_EQ(b[0].id, "a");
		ASSERT_STR_EQ(b[1].id, "b");
		ASSERT_TRUE(b[0].data == NULL && b[1].data == NULL);
	}
	store_blobs_free(b, n);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	if (l.n == 1)
		ASSERT_STR_EQ(l.p[0]->name, "peer-2");
	load_free(&l);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 0);
	assert_one_event(s, "removed", 3,
	    "peer-1/removed//by test, with 2 blobs: a b");
	store_close(s);
	TEST_DONE();

	TEST_START("peer_remove: gone already: NOT_FOUND, nothing written");
	s = refusals_begin(dir, &before);
	ASSERT_INT_EQ(store_peer_remove(s, &p, 4, "again", &b, &n),
	    PK_ERR_NOT_FOUND);
	ASSERT_TRUE(b == NULL && n == 0);
	refusals_end(s, dir, before);
	TEST_DONE();
}

static void
test_blobs(void)
{
	struct store		*s;
	struct store_blob	*b;
	struct peer		 p, ghost;
	struct evlist		*ev = calloc(1, sizeof(*ev));
	uint8_t			 d[64];
	const char		*dir;
	char			*before;
	size_t			 n;

	TEST_START("blob_deposit: blob, count and event; up to max");
	dir = newdir("deposit");
	s = xopen(dir);
	mkpeer(&p, 1);
	ASSERT_INT_EQ(store_peer_add(s, &p, NULL, 1, "t"), 0);
	ASSERT_INT_EQ(p.nblobs, 0);
	fill(d, sizeof(d), 2);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "one", d, 10, 3, 5,
	    "192.0.2.1:9", "blob one"), 0);
	ASSERT_INT_EQ(p.nblobs, 1);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "two", d, 20, 3, 6, NULL,
	    NULL), 0);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "three", d, 30, 3, 7, NULL,
	    NULL), 0);
	ASSERT_INT_EQ(p.nblobs, 3);
	/* Replacing one at the limit is no new one. */
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "two", d, 25, 3, 8, NULL,
	    NULL), 0);
	ASSERT_INT_EQ(p.nblobs, 3);
	ASSERT_INT_EQ(store_blobs_get(s, p.id, &b, &n), 0);
	ASSERT_INT_EQ(n, 3);
	if (n == 3) {
		ASSERT_STR_EQ(b[2].id, "two");
		ASSERT_INT_EQ(b[2].len, 25);
		ASSERT_INT_EQ(b[2].deposited_at, 8);
	}
	store_blobs_free(b, n);
	ASSERT_INT_EQ(evq(s, NULL, "deposited", 0, 0, 0, ev), 0);
	ASSERT_INT_EQ(ev->n, 4);
	ASSERT_STR_EQ(ev->text[0], "peer-1/deposited/192.0.2.1:9/blob one");
	store_close(s);
	TEST_DONE();

	TEST_START("blob_deposit: over max, unknown peer, bad blob: nothing "
	    "written");
	s = refusals_begin(dir, &before);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "four", d, 40, 3, 9, NULL,
	    "four"), PK_ERR_TOO_LARGE);
	test_diag("over max: %s", store_errmsg(s));
	ASSERT_INT_EQ(p.nblobs, 3);
	ghost = p;
	ghost.id = 42;
	ASSERT_INT_EQ(store_blob_deposit(s, &ghost, "x", d, 1, 0, 9, NULL,
	    NULL), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "x", d, 0, 0, 9, NULL, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "", d, 1, 0, 9, NULL, NULL),
	    PK_ERR_INVALID_ARG);
	refusals_end(s, dir, before);
	TEST_DONE();

	TEST_START("blob_deposit: max 0 is no limit");
	s = xopen(dir);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "four", d, 40, 0, 9, NULL,
	    NULL), 0);
	ASSERT_INT_EQ(p.nblobs, 4);
	store_close(s);
	TEST_DONE();

	TEST_START("blob_withdraw: blob gone, count and event");
	s = xopen(dir);
	ASSERT_INT_EQ(store_blob_withdraw(s, &p, "one", 10, "192.0.2.1:9",
	    "blob one"), 0);
	ASSERT_INT_EQ(p.nblobs, 3);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 3);
	assert_one_event(s, "withdrawn", 10,
	    "peer-1/withdrawn/192.0.2.1:9/blob one");
	store_close(s);
	TEST_DONE();

	TEST_START("blob_withdraw: no such blob: NOT_FOUND, nothing written");
	s = refusals_begin(dir, &before);
	ASSERT_INT_EQ(store_blob_withdraw(s, &p, "one", 11, NULL, NULL),
	    PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(p.nblobs, 3);
	ASSERT_INT_EQ(store_blob_withdraw(s, &ghost, "two", 11, NULL, NULL),
	    PK_ERR_NOT_FOUND);
	refusals_end(s, dir, before);
	free(ev);
	TEST_DONE();
}

static void
test_event(void)
{
	struct store	*s;
	struct evlist	*ev = calloc(1, sizeof(*ev));
	const char	*dir;

	TEST_START("event: durable or lazy, written alike");
	dir = newdir("event");
	s = xopen(dir);
	ASSERT_INT_EQ(store_event(s, 0, 1, NULL, "started", NULL, NULL), 0);
	ASSERT_INT_EQ(store_event(s, STORE_LAZY, 2, "", "refused", "a",
	    "unknown boot key"), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	ASSERT_INT_EQ(store_event(s, STORE_LAZY, 3, "", "", NULL, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(events(s, ev), 0);
	ASSERT_INT_EQ(ev->n, 2);
	ASSERT_STR_EQ(ev->text[1], "/refused/a/unknown boot key");
	store_close(s);
	free(ev);
	TEST_DONE();
}

static void
test_invites(void)
{
	struct store	*s;
	struct evlist	*ev = calloc(1, sizeof(*ev));
	const char	*dir;
	char		*doc = NULL, *before;

	TEST_START("invite_add: the invitation and its event; expired ones "
	    "dropped");
	dir = newdir("invite");
	s = xopen(dir);
	ASSERT_INT_EQ(store_invite_add(s, HASH_A, 1000, "{\"a\":1}", 10,
	    "by op"), 0);
	ASSERT_INT_EQ(store_invite_add(s, HASH_B, 20, "{\"b\":1}", 10,
	    "by op"), 0);
	ASSERT_INT_EQ(evq(s, NULL, "invited", 0, 0, 0, ev), 0);
	ASSERT_INT_EQ(ev->n, 2);
	ASSERT_STR_EQ(ev->text[0], "/invited//by op");
	store_close(s);
	TEST_DONE();

	TEST_START("invite_add: a hash taken writes nothing");
	s = refusals_begin(dir, &before);
	ASSERT_INT_EQ(store_invite_add(s, HASH_A, 1000, "{}", 10, "again"),
	    PK_ERR_EXISTS);
	refusals_end(s, dir, before);
	TEST_DONE();

	TEST_START("invite_take: once; then unknown, recorded as join-refused");
	s = xopen(dir);
	ASSERT_INT_EQ(store_invite_take(s, HASH_A, 100, "joiner", "192.0.2.5",
	    &doc), 0);
	ASSERT_STR_EQ(doc, "{\"a\":1}");
	free(doc);
	ASSERT_INT_EQ(store_invite_take(s, HASH_A, 101, "joiner", "192.0.2.5",
	    &doc), PK_ERR_NOT_FOUND);
	ASSERT_TRUE(doc == NULL);
	ASSERT_INT_EQ(evq(s, NULL, "join-refused", 0, 0, 0, ev), 0);
	ASSERT_INT_EQ(ev->n, 1);
	ASSERT_STR_EQ(ev->text[0],
	    "joiner/join-refused/192.0.2.5/unknown or used invitation");
	ASSERT_INT_EQ(ev->at[0], 101);
	store_close(s);
	TEST_DONE();

	TEST_START("invite_take: expired: deleted, and recorded");
	s = xopen(dir);
	ASSERT_INT_EQ(store_invite_take(s, HASH_B, 100, "late", "192.0.2.6",
	    &doc), PK_ERR_TIMEOUT);
	ASSERT_TRUE(doc == NULL);
	ASSERT_INT_EQ(store_invite_take(s, HASH_B, 100, "late", "192.0.2.6",
	    &doc), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(evq(s, "late", "join-refused", 0, 0, 0, ev), 0);
	ASSERT_INT_EQ(ev->n, 2);
	ASSERT_STR_EQ(ev->text[0], "late/join-refused/192.0.2.6/expired");
	store_close(s);
	TEST_DONE();

	TEST_START("invite_check: pending, expired, unknown; writes nothing");
	s = xopen(dir);
	ASSERT_INT_EQ(store_invite_add(s, HASH_A, 1000, "{}", 10, "op"), 0);
	ASSERT_INT_EQ(store_invite_add(s, HASH_B, 200, "{}", 10, "op"), 0);
	store_close(s);
	s = refusals_begin(dir, &before);
	ASSERT_INT_EQ(store_invite_check(s, HASH_A, 100, NULL), 0);
	ASSERT_INT_EQ(store_invite_check(s, HASH_B, 300, NULL), PK_ERR_TIMEOUT);
	ASSERT_INT_EQ(store_invite_check(s, HASH_C, 100, NULL), PK_ERR_NOT_FOUND);
	/* Checked twice, still there: nothing was taken. */
	ASSERT_INT_EQ(store_invite_check(s, HASH_A, 100, NULL), 0);
	/* The inviter's document, for the reply built before the take. */
	doc = NULL;
	ASSERT_INT_EQ(store_invite_check(s, HASH_A, 100, &doc), 0);
	ASSERT_STR_EQ(doc, "{}");
	free(doc);
	doc = (char *)"x";
	ASSERT_INT_EQ(store_invite_check(s, HASH_C, 100, &doc),
	    PK_ERR_NOT_FOUND);
	ASSERT_PTR_EQ(doc, NULL);
	refusals_end(s, dir, before);
	free(ev);
	TEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Fault injection: change and event, both or neither */

/* Put a blob and its event in one transaction, as enrollment does. */
static int
op_deposit(struct store *s)
{
	uint8_t	d[3000];
	int	r, r1, r2;

	fill(d, sizeof(d), 11);
	if ((r = store_begin(s)) != 0)
		return r;
	r1 = store_blob_put(s, 1, "third", d, sizeof(d), 2);
	/* Even after a failure: must not commit by itself. */
	r2 = store_event(s, 0, 2, "peer-1", "deposited", "192.0.2.1", "third");
	if (r1 != 0 || r2 != 0) {
		store_rollback(s);
		return r1 != 0 ? r1 : r2;
	}
	return store_commit(s);
}

/* Replace a blob (an update in place). */
static int
op_replace(struct store *s)
{
	uint8_t	d[2500];

	fill(d, sizeof(d), 12);
	return store_blob_put(s, 1, "first", d, sizeof(d), 3);
}

/* Save the liveness of 50 peers. */
static int
op_liveness(struct store *s)
{
	struct peer	*pp[NPEERS_FAULT], p[NPEERS_FAULT];
	int		 i;

	for (i = 0; i < NPEERS_FAULT; i++) {
		mkpeer(&p[i], i);
		p[i].id = i + 1;
		p[i].remaining = 1000 * i + 1;
		p[i].disabled_by = (i + 2) % 3;
		p[i].last_seen = 42 + i;
		pp[i] = &p[i];
	}
	return store_liveness_save(s, pp, NPEERS_FAULT, 77);
}

/* Insert a peer. */
static int
op_insert(struct store *s)
{
	struct peer	p;

	mkpeer(&p, 2);
	return store_peer_insert(s, &p, 5);
}

/* Delete a peer and, by cascade, its blobs. */
static int
op_delete(struct store *s)
{
	return store_peer_delete(s, 1);
}

/* Prune the events. */
static int
op_prune(struct store *s)
{
	int	n;

	return store_events_prune(s, 100, &n);
}

/* Bound the events to a byte: all go. */
static int
op_bound(struct store *s)
{
	int	n;

	return store_events_bound(s, 0, 1, &n);
}

/* setup_one_peer() and two invitations, one expired at 100. */
static int
setup_invites(struct store *s)
{
	int	r;

	if ((r = setup_one_peer(s)) != 0 ||
	    (r = store_invite_add(s, HASH_A, 1000, "{}", 1, "op")) != 0 ||
	    (r = store_invite_add(s, HASH_B, 50, "{}", 1, "op")) != 0)
		return r;
	return 0;
}

/* peer-1 as setup_one_peer() made it (id 1, two blobs). */
static void
peer_one(struct peer *p)
{
	mkpeer(p, 1);
	p->id = 1;
	p->nblobs = 2;
}

static int
op_peer_add(struct store *s)
{
	struct peer	p;

	mkpeer(&p, 2);
	return store_peer_add(s, &p, "ARMORED KEY", 5, "added by test");
}

static int
op_peer_add_signed(struct store *s)
{
	struct peer	p;

	mkpeer(&p, 2);
	p.ident_seq = 3;
	return store_peer_add_signed(s, &p, "ARMORED KEY", "DOCUMENT", 8, 5,
	    "joined");
}

static int
op_peer_identity(struct store *s)
{
	struct peer	p;

	peer_one(&p);
	p.ident_seq = 4;
	snprintf(p.addresses, sizeof(p.addresses), "192.0.2.4:4141");
	return store_peer_identity(s, &p, "NEW KEY", "NEW DOCUMENT", 12, 5,
	    "sequence 4");
}

static int
op_peer_save(struct store *s)
{
	struct peer	p;

	peer_one(&p);
	p.disabled_by = PEER_DIS_OPERATOR;
	p.remaining = 1;
	return store_peer_save(s, &p, 0, 5, "disabled", NULL, "by test");
}

static int
op_peer_save_lazy(struct store *s)
{
	struct peer	p;

	peer_one(&p);
	p.remaining = 99;
	return store_peer_save(s, &p, STORE_LAZY, 5, "released", "192.0.2.1",
	    "native");
}

static int
op_peer_remove(struct store *s)
{
	struct peer	p;

	peer_one(&p);
	return store_peer_remove(s, &p, 5, "by test", NULL, NULL);
}

static int
op_blob_deposit(struct store *s)
{
	struct peer	p;
	uint8_t		d[3000];

	peer_one(&p);
	fill(d, sizeof(d), 21);
	return store_blob_deposit(s, &p, "third", d, sizeof(d), 3, 5,
	    "192.0.2.1", "blob third");
}

static int
op_blob_withdraw(struct store *s)
{
	struct peer	p;

	peer_one(&p);
	return store_blob_withdraw(s, &p, "first", 5, "192.0.2.1",
	    "blob first");
}

static int
op_event_lazy(struct store *s)
{
	return store_event(s, STORE_LAZY, 5, "", "refused", "192.0.2.1",
	    "unknown boot key");
}

static int
op_invite_add(struct store *s)
{
	return store_invite_add(s, HASH_A, 1000, "{\"self\":1}", 5, "by op");
}

static int
op_invite_take(struct store *s)
{
	char	*doc = NULL;
	int	 r;

	r = store_invite_take(s, HASH_A, 100, "joiner", "192.0.2.1", &doc);
	free(doc);
	return r;
}

/* A refusal is a change too: the expired row goes, the event comes. */
static int
op_invite_expired(struct store *s)
{
	char	*doc = NULL;
	int	 r;

	r = store_invite_take(s, HASH_B, 100, "joiner", "192.0.2.1", &doc);
	free(doc);
	return r == PK_ERR_TIMEOUT ? 0 : r != 0 ? r : PK_ERR_INTERNAL;
}

static void
test_faults(void)
{
	static const struct fault_op cases[] = {
		/* Opening (the migrations) and the writes the changes use. */
		{ "open", NULL, NULL },
		{ "deposit", setup_one_peer, op_deposit },
		{ "replace", setup_one_peer, op_replace },
		{ "insert", setup_one_peer, op_insert },
		{ "delete", setup_one_peer, op_delete },
		{ "prune", setup_one_peer, op_prune },
		{ "bound", setup_one_peer, op_bound },
		{ "liveness", setup_many_peers, op_liveness },
		/* The state changes of store.h. */
		{ "peer_add", setup_one_peer, op_peer_add },
		{ "peer_add_signed", setup_one_peer, op_peer_add_signed },
		{ "peer_identity", setup_one_peer, op_peer_identity },
		{ "peer_save", setup_one_peer, op_peer_save },
		{ "peer_save-lazy", setup_one_peer, op_peer_save_lazy },
		{ "peer_remove", setup_one_peer, op_peer_remove },
		{ "blob_deposit", setup_one_peer, op_blob_deposit },
		{ "blob_withdraw", setup_one_peer, op_blob_withdraw },
		{ "event-lazy", setup_one_peer, op_event_lazy },
		{ "invite_add", setup_one_peer, op_invite_add },
		{ "invite_take", setup_invites, op_invite_take },
		{ "invite_take-expired", setup_invites, op_invite_expired },
	};

	fault_register();
	fault_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A state change whose first statement spills the page cache and fails:
 * nothing of it is written, its event neither, and the store works on.
 */
static void
test_doomed(void)
{
	struct store	*s = NULL;
	struct peer	 p;
	uint8_t		*big;
	char		 dir[1024], *old;
	size_t		 biglen = SPILL_LEN;

	TEST_START("fault injection: a deposit that fails mid-way leaves "
	    "nothing");
	if (doomed_begin("doomed", dir, sizeof(dir), &old, &s, &big) != 0)
		return;
	peer_one(&p);
	fault_arm(1, 0);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "big", big, biglen, 0, 9,
	    NULL, "big"), PK_ERR_STORE);
	ASSERT_INT_EQ(fault_hits, 1);
	fault_arm(0, 0);
	ASSERT_INT_EQ(p.nblobs, 2);
	assert_unchanged(dir, old);
	ASSERT_INT_EQ(store_blob_deposit(s, &p, "big", big, biglen, 0, 9,
	    NULL, "big"), 0);
	ASSERT_INT_EQ(p.nblobs, 3);
	ASSERT_INT_EQ(store_blob_withdraw(s, &p, "big", 10, NULL, "big"), 0);
	store_close(s);
	s = xopen(dir);
	ASSERT_TRUE(store_integrity_ok(s));
	ASSERT_INT_EQ(store_blob_count(s, 1), 2);
	store_close(s);
	free(big);
	free(old);
	TEST_DONE();
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_peer_add();
	test_peer_identity();
	test_peer_save();
	test_peer_save_liveness();
	test_peer_remove();
	test_blobs();
	test_event();
	test_invites();
	test_faults();
	test_doomed();
	return test_exit();
}
