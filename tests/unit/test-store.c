/*
 * test-store.c: peerkeyd's store (src/node/store*.c) on real sqlite files.
 *
 * Round trips of every table; the refusals at open (newer schema, garbage,
 * a damaged page); nested transactions (store-int.h). The state changes
 * the daemon makes (store_peer_add() and the like) have test-store-change.c;
 * store_helper.c has what both share. Then the robustness checklist
 * (TESTING.md #6 and #7):
 *
 *  - fault injection, after SQLite's own I/O-error tests: a VFS shim over
 *    the unix VFS fails the Nth xWrite/xSync/xTruncate (once with an I/O
 *    error, or from then on with "disk full") for N = 1, 2, ... until the
 *    operation succeeds; after each run the database, reopened without the
 *    shim, passes integrity_check and holds exactly the old state or
 *    exactly the new one, and the new one whenever the store said yes
 *    (test-store-change.c runs these cases for every write, opening
 *    included; here, a failure that dooms a caller's transaction);
 *  - a real full disk: a 256 KiB tmpfs (in a private mount namespace, so
 *    it goes away with the child that mounted it, whatever happens);
 *  - kill -9 of a writer at random moments: every acknowledged write is
 *    there afterwards.
 *
 * Also prints figures (deposits/s with synchronous=FULL on this disk).
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "node.h"
#include "store.h"
#include "store-int.h"
#include "store_helper.h"
#include "test_helper.h"

/* ------------------------------------------------------------------ */
/* Basic behaviour */

/* Counts schema/NNN-*.sql files in the source tree. */
static int
count_schema_files(void)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	size_t		 len;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/schema", test_srcdir());
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 8 && de->d_name[3] == '-' &&
		    strcmp(de->d_name + len - 4, ".sql") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
test_open(void)
{
	struct store	*s = NULL;
	struct stat	 sb;
	char		 path[PATH_MAX], *cause = NULL;
	const char	*dir;
	mode_t		 old;
	size_t		 i;
	int		 r;

	TEST_START("migrations: embedded in order, one per schema file");
	ASSERT_INT_EQ(store_nmigrations, count_schema_files());
	for (i = 0; i < store_nmigrations; i++) {
		ASSERT_INT_EQ(store_migrations[i].version, (int)i + 1);
		ASSERT_STR_CONTAINS(store_migrations[i].sql,
		    "PRAGMA user_version");
	}
	TEST_DONE();

	TEST_START("open fresh: file 0600, WAL, user_version = migrations");
	dir = newdir("fresh");
	old = umask(022);
	s = xopen(dir);
	ASSERT_INT_EQ(umask(old), 022);
	ASSERT_PTR_NE(s, NULL);
	ASSERT_TRUE(store_integrity_ok(s));
	ASSERT_INT_EQ(store_blob_count(s, 1), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	ASSERT_INT_EQ(stat(path, &sb), 0);
	ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/%s-wal", dir, STORE_DB_NAME);
	ASSERT_INT_EQ(stat(path, &sb), 0);	/* WAL mode */
	ASSERT_INT_EQ(sb.st_mode & 0777, 0600);
	store_close(s);
	ASSERT_INT_EQ(raw_user_version(dir),
	    store_migrations[store_nmigrations - 1].version);
	TEST_DONE();

	TEST_START("open: missing directory, not a directory");
	r = store_open("/nonexistent/peerkey", &s, &cause);
	ASSERT_INT_EQ(r, PK_ERR_SYSTEM);
	ASSERT_PTR_EQ(s, NULL);
	ASSERT_STR_CONTAINS(cause, "/nonexistent/peerkey");
	free(cause);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	r = store_open(path, &s, &cause);
	ASSERT_INT_EQ(r, PK_ERR_INVALID_ARG);
	ASSERT_STR_CONTAINS(cause, "not a directory");
	free(cause);
	TEST_DONE();
}

static void
test_refusals(void)
{
	struct store	*s = NULL;
	static char	 before[262144], after[262144];
	char		 path[PATH_MAX], msg[256], *cause = NULL;
	uint8_t		 junk[8192];
	ssize_t		 n1, n2;
	const char	*dir;
	int		 fd, i, r;

	TEST_START("open refuses a newer schema, without touching it");
	dir = newdir("newer");
	s = xopen(dir);
	ASSERT_INT_EQ(store_event(s, 0, 1, "p", "k", NULL, NULL), 0);
	store_close(s);
	ASSERT_INT_EQ(raw_exec(dir, "PRAGMA user_version = 99"), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	n1 = slurp(path, before, sizeof(before));
	ASSERT_TRUE(n1 > 0);
	r = store_open(dir, &s, &cause);
	ASSERT_INT_EQ(r, PK_ERR_BAD_VERSION);
	ASSERT_PTR_EQ(s, NULL);
	snprintf(msg, sizeof(msg), "database schema 99 is newer than this "
	    "peerkeyd (knows up to %d): refusing to touch it",
	    store_migrations[store_nmigrations - 1].version);
	ASSERT_STR_CONTAINS(cause, msg);
	free(cause);
	n2 = slurp(path, after, sizeof(after));
	ASSERT_INT_EQ(n1, n2);
	ASSERT_MEM_EQ(before, after, n1 > 0 ? (size_t)n1 : 0);
	ASSERT_INT_EQ(raw_user_version(dir), 99);
	TEST_DONE();

	TEST_START("open refuses a file of garbage, cleanly");
	dir = newdir("garbage");
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	fill(junk, sizeof(junk), 42);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ASSERT_INT_EQ(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	r = store_open(dir, &s, &cause);
	ASSERT_INT_EQ(r, PK_ERR_BAD_FORMAT);
	ASSERT_PTR_EQ(s, NULL);
	ASSERT_STR_CONTAINS(cause, "not a database");
	free(cause);
	n1 = slurp(path, after, sizeof(after));
	ASSERT_INT_EQ(n1, sizeof(junk));
	ASSERT_MEM_EQ(after, junk, sizeof(junk));	/* left alone */
	TEST_DONE();

	TEST_START("open refuses a database with a damaged page");
	dir = newdir("damaged");
	s = xopen(dir);
	ASSERT_INT_EQ(store_begin(s), 0);
	for (i = 0; i < 400; i++)
		ASSERT_INT_EQ(store_event(s, 0, i, "peer", "heartbeat",
		    "192.0.2.1", "a detail long enough to fill some pages"),
		    0);
	ASSERT_INT_EQ(store_commit(s), 0);
	store_close(s);
	free(digest(dir));	/* checkpoints the WAL into the file */
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	fd = open(path, O_WRONLY);
	fill(junk, 512, 7);
	junk[0] = 0xff;		/* no b-tree page type */
	/* Page 1 holds the header and sqlite_schema; damage page 4. */
	ASSERT_INT_EQ(pwrite(fd, junk, 512, 3 * 4096), 512);
	close(fd);
	r = store_open(dir, &s, &cause);
	ASSERT_INT_EQ(r, PK_ERR_BAD_FORMAT);
	ASSERT_PTR_EQ(s, NULL);
	ASSERT_TRUE(cause != NULL && (strstr(cause, "corrupt") != NULL ||
	    strstr(cause, "malformed") != NULL));
	if (cause != NULL)
		test_diag("damaged page: %s", cause);
	free(cause);
	TEST_DONE();
}

static void
test_self(void)
{
	struct store	*s;
	char		*cause = NULL;
	const char	*dir;
	int64_t		 last = -1;
	char		 k1[65], k2[65];

	memset(k1, 'a', 64);
	k1[64] = '\0';
	memset(k2, 'b', 64);
	k2[64] = '\0';

	TEST_START("self: first use, previous alive mark, wrong key");
	dir = newdir("self");
	s = xopen(dir);
	ASSERT_INT_EQ(store_self_init(s, k1, 1000, &last, &cause), 0);
	ASSERT_INT_EQ(last, 0);
	ASSERT_INT_EQ(store_self_init(s, k1, 2000, &last, &cause), 0);
	ASSERT_INT_EQ(last, 1000);
	ASSERT_INT_EQ(store_liveness_save(s, NULL, 0, 3000), 0);
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(store_self_init(s, k2, 4000, &last, &cause),
	    PK_ERR_KEY);
	ASSERT_STR_CONTAINS(cause, k1);
	ASSERT_STR_CONTAINS(cause, k2);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(store_self_init(s, k1, 5000, &last, &cause), 0);
	ASSERT_INT_EQ(last, 3000);	/* the refusal changed nothing */
	ASSERT_INT_EQ(store_self_init(s, "", 5000, &last, &cause),
	    PK_ERR_INVALID_ARG);
	store_close(s);

	s = xopen(newdir("noself"));
	ASSERT_INT_EQ(store_liveness_save(s, NULL, 0, 1), PK_ERR_NOT_FOUND);
	store_close(s);
	TEST_DONE();
}

static void
test_peers(void)
{
	struct store	*s;
	struct loaded	 l;
	struct peer	 p[4], q;
	const char	*dir;
	int		 i;

	TEST_START("peers: insert, load every field, reopen");
	dir = newdir("peers");
	s = xopen(dir);
	for (i = 0; i < 4; i++) {
		mkpeer(&p[i], i);
		p[i].id = -1;
	}
	p[3].node_keyid[0] = '\0';	/* a Mandos client: no node key */
	for (i = 0; i < 4; i++) {
		ASSERT_INT_EQ(store_peer_insert(s, &p[i], 1000 + i), 0);
		ASSERT_TRUE(p[i].id > 0);
	}
	ASSERT_TRUE(p[0].id != p[1].id);
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 4);
	for (i = 0; i < l.n && i < 4; i++) {
		peer_assert_eq(l.p[i], &p[i]);
		ASSERT_INT_EQ(l.p[i]->expires, 0);
		ASSERT_PTR_EQ(l.p[i]->cc, NULL);
	}
	load_free(&l);
	TEST_DONE();

	TEST_START("peers: a callback's non-zero return stops the walk");
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	ASSERT_INT_EQ(store_peer_load_all(s, load_cb, &l), 77);
	ASSERT_INT_EQ(l.n, 2);
	load_free(&l);	/* the rest were freed by the store (ASan) */
	TEST_DONE();

	TEST_START("peers: update writes every persistent field");
	mkpeer(&q, 100);
	q.id = p[1].id;
	q.node_keyid[0] = '\0';
	ASSERT_INT_EQ(store_peer_update(s, &q), 0);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 4);
	if (l.n == 4)
		peer_assert_eq(l.p[1], &q);
	load_free(&l);
	q.node_keyid[0] = 'f';	/* back to a node key: not NULL again */
	q.node_keyid[1] = '\0';
	ASSERT_INT_EQ(store_peer_update(s, &q), 0);
	ASSERT_INT_EQ(load(s, &l), 0);
	if (l.n == 4)
		ASSERT_STR_EQ(l.p[1]->node_keyid, "f");
	load_free(&l);
	q.id = 9999;
	ASSERT_INT_EQ(store_peer_update(s, &q), PK_ERR_NOT_FOUND);
	TEST_DONE();

	TEST_START("peers: duplicate name, node key, boot key: EXISTS");
	mkpeer(&q, 50);
	snprintf(q.name, sizeof(q.name), "%s", p[0].name);
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_EXISTS);
	mkpeer(&q, 50);
	snprintf(q.node_keyid, sizeof(q.node_keyid), "%s", p[0].node_keyid);
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_EXISTS);
	mkpeer(&q, 50);
	snprintf(q.boot_keyid, sizeof(q.boot_keyid), "%s", p[2].boot_keyid);
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_EXISTS);
	ASSERT_TRUE(strlen(store_errmsg(s)) > 0);
	mkpeer(&q, 51);
	q.node_keyid[0] = '\0';	/* two peers without node key: fine */
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), 0);
	mkpeer(&q, 0);	/* renaming onto another's name */
	q.id = p[0].id;
	snprintf(q.name, sizeof(q.name), "%s", p[2].name);
	ASSERT_INT_EQ(store_peer_update(s, &q), PK_ERR_EXISTS);
	TEST_DONE();

	TEST_START("peers: values the schema refuses: INVALID_ARG");
	mkpeer(&q, 60);
	q.name[0] = '\0';
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	mkpeer(&q, 60);
	q.boot_keyid[10] = '\0';
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	mkpeer(&q, 60);
	q.timeout = 0;
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	mkpeer(&q, 60);
	q.remaining = (uint64_t)INT64_MAX + 1;
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	mkpeer(&q, 60);
	q.disabled_by = 3;
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	mkpeer(&q, 60);
	memset(q.name, 'x', sizeof(q.name));	/* not terminated */
	ASSERT_INT_EQ(store_peer_insert(s, &q, 1), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 5);	/* none of those got in */
	load_free(&l);
	TEST_DONE();

	TEST_START("peers: delete, then NOT_FOUND");
	ASSERT_INT_EQ(store_peer_delete(s, p[2].id), 0);
	ASSERT_INT_EQ(store_peer_delete(s, p[2].id), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 4);
	for (i = 0; i < l.n; i++)
		ASSERT_INT_NE(l.p[i]->id, p[2].id);
	load_free(&l);
	/* Its name and keys are free again. */
	p[2].id = 0;
	ASSERT_INT_EQ(store_peer_insert(s, &p[2], 1), 0);
	store_close(s);
	TEST_DONE();
}

static void
test_blobs(void)
{
	struct store		*s;
	struct store_blob	*b = NULL;
	struct loaded		 l;
	struct peer		 p, p2;
	uint8_t			 d1[300], d2[5000];
	char			 id[STORE_BLOB_ID_MAX + 2];
	size_t			 n = 99;

	TEST_START("blobs: put, replace, get, count, delete");
	s = xopen(newdir("blobs"));
	mkpeer(&p, 1);
	mkpeer(&p2, 2);
	ASSERT_INT_EQ(store_peer_insert(s, &p, 1), 0);
	ASSERT_INT_EQ(store_peer_insert(s, &p2, 1), 0);
	fill(d1, sizeof(d1), 1);
	fill(d2, sizeof(d2), 2);
	ASSERT_INT_EQ(store_blobs_get(s, p.id, &b, &n), 0);
	ASSERT_PTR_EQ(b, NULL);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "disk-b", d1, sizeof(d1), 10),
	    0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "disk-a", d2, sizeof(d2), 20),
	    0);
	ASSERT_INT_EQ(store_blob_put(s, p2.id, "disk-a", d1, 1, 30), 0);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 2);
	ASSERT_INT_EQ(store_blob_count(s, p2.id), 1);
	ASSERT_INT_EQ(store_blobs_get(s, p.id, &b, &n), 0);
	ASSERT_INT_EQ(n, 2);
	if (n == 2) {
		ASSERT_STR_EQ(b[0].id, "disk-a");
		ASSERT_INT_EQ(b[0].len, sizeof(d2));
		ASSERT_MEM_EQ(b[0].data, d2, sizeof(d2));
		ASSERT_INT_EQ(b[0].deposited_at, 20);
		ASSERT_STR_EQ(b[1].id, "disk-b");
		ASSERT_INT_EQ(b[1].len, sizeof(d1));
		ASSERT_MEM_EQ(b[1].data, d1, sizeof(d1));
		ASSERT_INT_EQ(b[1].deposited_at, 10);
	}
	store_blobs_free(b, n);
	/* Replace. */
	ASSERT_INT_EQ(store_blob_put(s, p.id, "disk-b", d2, 77, 40), 0);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 2);
	ASSERT_INT_EQ(store_blobs_get(s, p.id, &b, &n), 0);
	if (n == 2) {
		ASSERT_INT_EQ(b[1].len, 77);
		ASSERT_MEM_EQ(b[1].data, d2, 77);
		ASSERT_INT_EQ(b[1].deposited_at, 40);
	}
	store_blobs_free(b, n);
	ASSERT_INT_EQ(load(s, &l), 0);
	if (l.n == 2) {
		ASSERT_INT_EQ(l.p[0]->nblobs, 2);
		ASSERT_INT_EQ(l.p[1]->nblobs, 1);
	}
	load_free(&l);
	/* Delete. */
	ASSERT_INT_EQ(store_blob_delete(s, p.id, "disk-a"), 0);
	ASSERT_INT_EQ(store_blob_delete(s, p.id, "disk-a"), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_blob_delete(s, 9999, "disk-b"), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 1);
	TEST_DONE();

	TEST_START("blobs: unknown peer, empty data, bad ids refused");
	ASSERT_INT_EQ(store_blob_put(s, 9999, "x", d1, 1, 1), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "x", d1, 0, 1),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "x", NULL, 1, 1),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "", d1, 1, 1),
	    PK_ERR_INVALID_ARG);
	memset(id, 'i', sizeof(id));
	id[STORE_BLOB_ID_MAX + 1] = '\0';	/* 129 bytes */
	ASSERT_INT_EQ(store_blob_put(s, p.id, id, d1, 1, 1),
	    PK_ERR_INVALID_ARG);
	id[STORE_BLOB_ID_MAX] = '\0';		/* 128 bytes: fine */
	ASSERT_INT_EQ(store_blob_put(s, p.id, id, d1, 1, 1), 0);
	ASSERT_INT_EQ(store_blob_count(s, 9999), 0);
	TEST_DONE();

	TEST_START("blobs: go with their peer (ON DELETE CASCADE)");
	ASSERT_INT_EQ(store_blob_count(s, p.id), 2);
	ASSERT_INT_EQ(store_peer_delete(s, p.id), 0);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 0);
	ASSERT_INT_EQ(store_blobs_get(s, p.id, &b, &n), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(store_blob_count(s, p2.id), 1);
	ASSERT_TRUE(store_integrity_ok(s));
	store_close(s);
	TEST_DONE();
}

static void
test_events(void)
{
	struct store		*s;
	struct evlist		*l;
	struct store_event_filter f;
	int			 i, n;
	char			 det[16];

	l = calloc(1, sizeof(*l));
	TEST_START("events: insert and query by peer, kind, time, limit");
	s = xopen(newdir("events"));
	for (i = 0; i < 12; i++) {
		snprintf(det, sizeof(det), "d%d", i);
		ASSERT_INT_EQ(store_event(s, 0, 1000 + i * 10,
		    i % 2 ? "alpha" : "beta", i % 3 == 0 ? "released" :
		    "heartbeat", i == 4 ? NULL : "192.0.2.7", det), 0);
	}
	ASSERT_INT_EQ(store_event(s, 0, 5, NULL, "started", NULL, NULL), 0);
	ASSERT_INT_EQ(store_event(s, 0, 5, NULL, NULL, NULL, NULL),
	    PK_ERR_INVALID_ARG);
	l->stop_at = -1;
	ASSERT_INT_EQ(store_events_query(s, NULL, ev_cb, l), 0);
	ASSERT_INT_EQ(l->n, 13);
	if (l->n == 13) {
		/* In the order recorded: the clock went back for "started". */
		ASSERT_STR_EQ(l->text[0], "beta/released/192.0.2.7/d0");
		ASSERT_STR_EQ(l->text[4], "beta/heartbeat//d4");
		ASSERT_INT_EQ(l->at[11], 1110);
		ASSERT_STR_EQ(l->text[12], "/started//");
		ASSERT_INT_EQ(l->at[12], 5);
	}
	for (i = 1; i < l->n; i++)
		ASSERT_TRUE(l->id[i - 1] < l->id[i]);
	/* A limit keeps the newest recorded, whatever their wall time. */
	ASSERT_INT_EQ(evq(s, NULL, NULL, 0, 0, 1, l), 0);
	ASSERT_INT_EQ(l->n, 1);
	if (l->n == 1)
		ASSERT_STR_EQ(l->text[0], "/started//");
	ASSERT_INT_EQ(evq(s, "alpha", NULL, 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 6);
	for (i = 0; i < l->n; i++)
		ASSERT_TRUE(strncmp(l->text[i], "alpha/", 6) == 0);
	ASSERT_INT_EQ(evq(s, NULL, "released", 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 4);
	ASSERT_INT_EQ(evq(s, "alpha", "released", 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 2);	/* i = 3, 9 */
	ASSERT_INT_EQ(evq(s, NULL, NULL, 1020, 1050, 0, l), 0);
	ASSERT_INT_EQ(l->n, 4);	/* inclusive both ends */
	if (l->n == 4) {
		ASSERT_INT_EQ(l->at[0], 1020);
		ASSERT_INT_EQ(l->at[3], 1050);
	}
	ASSERT_INT_EQ(evq(s, NULL, NULL, 0, 0, 3, l), 0);
	ASSERT_INT_EQ(l->n, 3);	/* the newest three, oldest first */
	if (l->n == 3) {
		ASSERT_INT_EQ(l->at[0], 1100);
		ASSERT_INT_EQ(l->at[1], 1110);
		ASSERT_INT_EQ(l->at[2], 5);
	}
	ASSERT_INT_EQ(evq(s, "nobody", NULL, 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 0);
	memset(&f, 0, sizeof(f));
	l->n = 0;
	l->stop_at = 2;
	ASSERT_INT_EQ(store_events_query(s, &f, ev_cb, l), 55);
	ASSERT_INT_EQ(l->n, 2);
	TEST_DONE();

	TEST_START("events: default limit 1000, newest kept");
	ASSERT_INT_EQ(store_begin(s), 0);
	for (i = 0; i < 1100; i++)
		ASSERT_INT_EQ(store_event(s, 0, 2000 + i, "bulk", "k", NULL,
		    NULL), 0);
	ASSERT_INT_EQ(store_commit(s), 0);
	ASSERT_INT_EQ(evq(s, "bulk", NULL, 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, STORE_EVENTS_LIMIT);
	if (l->n == STORE_EVENTS_LIMIT) {
		ASSERT_INT_EQ(l->at[0], 2100);
		ASSERT_INT_EQ(l->at[STORE_EVENTS_LIMIT - 1], 3099);
	}
	TEST_DONE();

	TEST_START("events: prune the old ones");
	ASSERT_INT_EQ(store_events_prune(s, 1050, &n), 0);
	ASSERT_INT_EQ(n, 6);	/* at 5, 1000..1040 */
	ASSERT_INT_EQ(store_events_prune(s, 1050, &n), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(evq(s, NULL, NULL, 0, 1200, 0, l), 0);
	ASSERT_INT_EQ(l->n, 7);
	if (l->n > 0)
		ASSERT_INT_EQ(l->at[0], 1050);
	TEST_DONE();

	TEST_START("events: bounded by rows, then by bytes, newest kept");
	ASSERT_INT_EQ(store_events_bound(s, 5, 0, &n), 0);
	ASSERT_INT_EQ(n, 1107 - 5);	/* 7 above and the 1100 bulk ones */
	ASSERT_INT_EQ(evq(s, NULL, NULL, 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 5);
	if (l->n == 5)
		ASSERT_INT_EQ(l->at[4], 3099);
	ASSERT_INT_EQ(store_events_bound(s, 5, 0, &n), 0);
	ASSERT_INT_EQ(n, 0);
	/* A row of "bulk"/"k" costs 4 + 1 + 24 bytes: 60 keep two. */
	ASSERT_INT_EQ(store_events_bound(s, 0, 60, &n), 0);
	ASSERT_INT_EQ(n, 3);
	ASSERT_INT_EQ(evq(s, NULL, NULL, 0, 0, 0, l), 0);
	ASSERT_INT_EQ(l->n, 2);
	if (l->n == 2)
		ASSERT_INT_EQ(l->at[1], 3099);
	ASSERT_INT_EQ(store_events_bound(s, 0, 0, &n), 0);
	ASSERT_INT_EQ(n, 0);
	store_close(s);
	free(l);
	TEST_DONE();
}

static void
test_liveness(void)
{
	struct store	*s;
	struct loaded	 l;
	struct peer	*p[200], *all[201];
	char		 key[65], *cause = NULL;
	const char	*dir;
	int64_t		 last;
	int		 i;

	memset(key, 'c', 64);
	key[64] = '\0';
	TEST_START("liveness: 200 peers and the alive mark in one save");
	dir = newdir("liveness");
	s = xopen(dir);
	ASSERT_INT_EQ(store_self_init(s, key, 10, &last, &cause), 0);
	ASSERT_INT_EQ(store_begin(s), 0);
	for (i = 0; i < 200; i++) {
		p[i] = calloc(1, sizeof(*p[i]));
		mkpeer(p[i], i);
		ASSERT_INT_EQ(store_peer_insert(s, p[i], 10), 0);
	}
	ASSERT_INT_EQ(store_commit(s), 0);
	for (i = 0; i < 200; i++) {
		p[i]->remaining = 7 * i;
		p[i]->disabled_by = (i + 1) % 3;
		p[i]->last_seen = 5000 + i;
		p[i]->last_check = 6000 + i;
		p[i]->last_check_ok = i % 2;
		p[i]->timeout = 1;	/* not a liveness field: not saved */
		all[i] = p[i];
	}
	ASSERT_INT_EQ(store_liveness_save(s, all, 200, 999), 0);
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 200);
	for (i = 0; i < l.n; i++) {
		ASSERT_INT_EQ(l.p[i]->remaining, 7 * i);
		ASSERT_INT_EQ(l.p[i]->disabled_by, (i + 1) % 3);
		ASSERT_INT_EQ(l.p[i]->last_seen, 5000 + i);
		ASSERT_INT_EQ(l.p[i]->last_check, 6000 + i);
		ASSERT_INT_EQ(l.p[i]->last_check_ok, i % 2);
		ASSERT_INT_EQ(l.p[i]->timeout, 300000 + i);
	}
	load_free(&l);
	ASSERT_INT_EQ(store_self_init(s, key, 2000, &last, &cause), 0);
	ASSERT_INT_EQ(last, 999);
	TEST_DONE();

	TEST_START("liveness: a vanished peer is skipped, bad values refused");
	ASSERT_INT_EQ(store_peer_delete(s, p[5]->id), 0);
	p[6]->remaining = 4242;
	ASSERT_INT_EQ(store_liveness_save(s, all, 200, 3000), 0);
	p[7]->remaining = (uint64_t)INT64_MAX + 1;
	ASSERT_INT_EQ(store_liveness_save(s, all, 200, 4000),
	    PK_ERR_INVALID_ARG);
	p[7]->disabled_by = 9;
	p[7]->remaining = 1;
	p[6]->remaining = 1;
	ASSERT_INT_EQ(store_liveness_save(s, all, 200, 4000),
	    PK_ERR_INVALID_ARG);
	/* That failed at peer 7 after saving 0..6: all undone. */
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 199);
	if (l.n == 199) {
		ASSERT_INT_EQ(l.p[5]->remaining, 4242);	/* p[6] */
		ASSERT_INT_EQ(l.p[6]->remaining, 49);	/* p[7] */
	}
	load_free(&l);
	ASSERT_INT_EQ(store_self_init(s, key, 5000, &last, &cause), 0);
	ASSERT_INT_EQ(last, 3000);
	store_close(s);
	for (i = 0; i < 200; i++)
		free(p[i]);
	TEST_DONE();
}

static void
test_transactions(void)
{
	struct store	*s;
	struct peer	 p, q;
	struct loaded	 l;
	uint8_t		 d[64];
	const char	*dir;
	char		*d1;

	fill(d, sizeof(d), 3);
	TEST_START("transactions: rollback leaves the old state");
	dir = newdir("tx");
	s = xopen(dir);
	mkpeer(&p, 1);
	ASSERT_INT_EQ(store_peer_insert(s, &p, 1), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "old", d, 10, 1), 0);
	store_close(s);
	d1 = digest(dir);
	s = xopen(dir);
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "new", d, sizeof(d), 2), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "old", d, 20, 2), 0);
	ASSERT_INT_EQ(store_event(s, 0, 2, p.name, "deposited", NULL, "new"), 0);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 2);	/* sees its own */
	store_rollback(s);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 1);
	store_rollback(s);	/* nothing open: a no-op */
	ASSERT_INT_EQ(store_commit(s), PK_ERR_INVALID_ARG);
	store_close(s);
	assert_unchanged(dir, d1);
	TEST_DONE();

	TEST_START("transactions: a lazy commit is kept; FULL again after");
	s = xopen(dir);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	ASSERT_INT_EQ(store_begin_lazy(s), 0);
	ASSERT_INT_EQ(store_synchronous(s), 1);
	ASSERT_INT_EQ(store_event(s, 0, 3, p.name, "released", NULL, "lazy"), 0);
	ASSERT_INT_EQ(store_commit(s), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	ASSERT_INT_EQ(store_begin_lazy(s), 0);
	ASSERT_INT_EQ(store_event(s, 0, 4, p.name, "refused", NULL, "gone"), 0);
	store_rollback(s);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	/* Inside a durable transaction, lazy is a plain savepoint. */
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_begin_lazy(s), 0);
	ASSERT_INT_EQ(store_synchronous(s), 2);
	ASSERT_INT_EQ(store_commit(s), 0);
	ASSERT_INT_EQ(store_commit(s), 0);
	store_close(s);
	s = xopen(dir);
	{
		struct store_event_filter	 f;
		size_t				 n = 0;

		memset(&f, 0, sizeof(f));
		f.kind = "released";
		ASSERT_INT_EQ(store_events_query(s, &f, count_cb, &n), 0);
		ASSERT_INT_EQ(n, 1);
		f.kind = "refused";
		n = 0;
		ASSERT_INT_EQ(store_events_query(s, &f, count_cb, &n), 0);
		ASSERT_INT_EQ(n, 0);
	}
	store_close(s);
	/* The next test compares against the state as it is now. */
	free(d1);
	d1 = digest(dir);
	TEST_DONE();

	TEST_START("transactions: closing with one open rolls it back");
	s = xopen(dir);
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "new", d, sizeof(d), 2), 0);
	store_close(s);
	assert_unchanged(dir, d1);
	TEST_DONE();

	TEST_START("transactions: nested levels are savepoints");
	s = xopen(dir);
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "a", d, 1, 3), 0);
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "b", d, 1, 3), 0);
	store_rollback(s);		/* undoes b only */
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_blob_put(s, p.id, "c", d, 1, 3), 0);
	ASSERT_INT_EQ(store_commit(s), 0);	/* c kept, not durable yet */
	/* A failing call inside undoes itself only; the rest goes on. */
	mkpeer(&q, 2);
	snprintf(q.name, sizeof(q.name), "%s", p.name);
	ASSERT_INT_EQ(store_peer_insert(s, &q, 3), PK_ERR_EXISTS);
	ASSERT_INT_EQ(store_blob_delete(s, p.id, "zzz"), PK_ERR_NOT_FOUND);
	mkpeer(&q, 3);
	ASSERT_INT_EQ(store_peer_insert(s, &q, 3), 0);
	ASSERT_INT_EQ(store_commit(s), 0);
	store_close(s);
	s = xopen(dir);
	ASSERT_INT_EQ(store_blob_count(s, p.id), 3);	/* old, a, c */
	ASSERT_INT_EQ(store_blob_delete(s, p.id, "b"), PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(store_blob_delete(s, p.id, "c"), 0);
	ASSERT_INT_EQ(load(s, &l), 0);
	ASSERT_INT_EQ(l.n, 2);
	load_free(&l);
	store_close(s);
	free(d1);
	TEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Fault injection (TESTING.md #6) */


/*
 * An I/O error inside a caller's transaction (a statement that spills
 * the page cache to the WAL) dooms the whole transaction: later calls in
 * it fail instead of running on in autocommit mode, and it rolls back.
 */
static void
test_doomed(void)
{
	struct store	*s = NULL;
	uint8_t		*big, d[16];
	char		 dir[1024], *old;
	size_t		 biglen = SPILL_LEN;
	int		 r;

	TEST_START("fault injection: an I/O error dooms the caller's "
	    "transaction");
	if (doomed_begin("doomed", dir, sizeof(dir), &old, &s, &big) != 0)
		return;
	fill(d, sizeof(d), 4);
	ASSERT_INT_EQ(store_begin(s), 0);
	ASSERT_INT_EQ(store_event(s, 0, 9, "peer-1", "before", "", ""), 0);
	fault_arm(1, 0);
	r = store_blob_put(s, 1, "big", big, biglen, 9);
	ASSERT_INT_EQ(fault_hits, 1);
	fault_arm(0, 0);
	ASSERT_INT_EQ(r, PK_ERR_STORE);
	test_diag("spill failure: %s", store_errmsg(s));
	ASSERT_INT_EQ(store_event(s, 0, 9, "peer-1", "after", "", ""),
	    PK_ERR_STORE);
	ASSERT_INT_EQ(store_blob_put(s, 1, "small", d, sizeof(d), 9),
	    PK_ERR_STORE);
	ASSERT_INT_EQ(store_begin(s), PK_ERR_STORE);
	ASSERT_INT_EQ(store_commit(s), PK_ERR_STORE);	/* rolled back */
	ASSERT_INT_EQ(store_commit(s), PK_ERR_INVALID_ARG);	/* none open */
	store_close(s);
	assert_unchanged(dir, old);
	/* The store works again afterwards. */
	s = xopen(dir);
	ASSERT_INT_EQ(store_blob_put(s, 1, "big", big, biglen, 9), 0);
	ASSERT_INT_EQ(store_blob_count(s, 1), 3);
	ASSERT_TRUE(store_integrity_ok(s));
	store_close(s);
	free(big);
	free(old);
	TEST_DONE();
}

static void
test_faults(void)
{
	/* The old-or-new cases of every write are test-store-change.c's. */
	fault_register();
	test_doomed();
}

/* ------------------------------------------------------------------ */
/* A real full disk: tmpfs in a private mount namespace */

static int	child_failed;

#define CHK(x) do {							\
	if (!(x)) {							\
		printf("# %s:%d: %s is false\n", __FILE__, __LINE__, #x);\
		fflush(stdout);						\
		child_failed++;						\
	}								\
} while (0)

#define ENOSPC_MAX	2000

/* The child: fills a tiny tmpfs with deposits; exits with its failures. */
static void
enospc_child(const char *mnt)
{
	struct store		*s = NULL;
	struct store_blob	*b;
	struct peer		 p;
	static uint8_t		 acked[ENOSPC_MAX];
	uint8_t			 d[1024];
	char			 path[PATH_MAX], id[32], key[65], *cause = NULL;
	struct evlist		*l;
	size_t			 n, k;
	int64_t			 last;
	int			 fd, i, failed_at = -1, r, nacked = 0, nlate;

	memset(key, 'f', 64);
	key[64] = '\0';
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") == -1) {
		printf("# enospc: cannot mount a tmpfs: %s\n",
		    strerror(errno));
		_exit(100);
	}
	/* Ballast the operator can delete to make room again. */
	snprintf(path, sizeof(path), "%s/ballast", mnt);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	memset(d, 0, sizeof(d));
	for (i = 0; i < 32; i++)	/* 32 KiB */
		CHK(write(fd, d, sizeof(d)) == (ssize_t)sizeof(d));
	close(fd);

	CHK(store_open(mnt, &s, &cause) == 0);
	if (s == NULL)
		_exit(101);
	CHK(store_self_init(s, key, 1, &last, &cause) == 0);
	mkpeer(&p, 1);
	CHK(store_peer_insert(s, &p, 1) == 0);
	for (i = 0; i < ENOSPC_MAX; i++) {
		fill(d, sizeof(d), i);
		snprintf(id, sizeof(id), "blob-%d", i);
		if ((r = store_blob_deposit(s, &p, id, d, sizeof(d), 0, i, "",
		    id)) != 0) {
			printf("# enospc: deposit %d: %s: %s\n", i,
			    pk_strerror(r), store_errmsg(s));
			CHK(r == PK_ERR_STORE);
			CHK(strstr(store_errmsg(s), "full") != NULL ||
			    strstr(store_errmsg(s), "I/O") != NULL);
			failed_at = i;
			break;
		}
		acked[i] = 1;
		nacked++;
	}
	CHK(failed_at > 0);
	/* More attempts while full: clean failures (or successes). */
	for (nlate = 0; nlate < 20; nlate++) {
		i = failed_at + 1 + nlate;
		snprintf(id, sizeof(id), "blob-%d", i);
		fill(d, sizeof(d), i);
		if (i < ENOSPC_MAX && store_blob_put(s, p.id, id, d, sizeof(d),
		    i) == 0) {
			acked[i] = 1;
			nacked++;
		}
		(void)store_event(s, 0, i, p.name, "late", "", id);
	}
	p.remaining = 12345;
	(void)store_peer_update(s, &p);
	store_close(s);
	printf("# enospc: %d deposits of 1 KiB acknowledged on a 256 KiB "
	    "tmpfs\n", nacked);

	/* Reopen while still full: works, or fails cleanly. */
	s = NULL;
	free(cause);
	cause = NULL;
	r = store_open(mnt, &s, &cause);
	printf("# enospc: reopen while full: %s%s%s\n", r == 0 ? "ok" :
	    pk_strerror(r), cause ? ": " : "", cause ? cause : "");
	CHK(r == 0 || (r == PK_ERR_STORE && cause != NULL));
	if (s != NULL)
		CHK(store_integrity_ok(s));
	store_close(s);
	free(cause);
	cause = NULL;

	/* Make room; everything acknowledged must be there, intact. */
	CHK(unlink(path) == 0);
	s = NULL;
	CHK(store_open(mnt, &s, &cause) == 0);
	if (s == NULL)
		_exit(102);
	CHK(store_integrity_ok(s));
	CHK(store_blobs_get(s, p.id, &b, &n) == 0);
	for (k = 0; k < n; k++) {
		i = atoi(b[k].id + 5);
		fill(d, sizeof(d), i);
		CHK(b[k].len == sizeof(d) &&
		    memcmp(b[k].data, d, sizeof(d)) == 0);
		if (i >= 0 && i < ENOSPC_MAX)
			acked[i] |= 2;
	}
	for (i = 0; i < ENOSPC_MAX; i++)
		if (acked[i] == 1) {
			printf("# enospc: acknowledged blob-%d lost\n", i);
			child_failed++;
		}
	store_blobs_free(b, n);
	/* Every deposit that is there has its event: atomic. */
	l = calloc(1, sizeof(*l));
	CHK(evq(s, NULL, "deposited", 0, 0, 100000, l) == 0);
	for (i = 0; i < failed_at; i++)
		CHK(l->n > i && l->at[i] == i);
	CHK(l->n == failed_at || l->n == failed_at + 1);
	free(l);
	/* And the store works again. */
	fill(d, sizeof(d), 1);
	CHK(store_blob_put(s, p.id, "after", d, sizeof(d), 1) == 0);
	store_close(s);
	CHK(umount(mnt) == 0);
	fflush(stdout);
	_exit(child_failed > 100 ? 100 : child_failed);
}

static void
test_enospc(void)
{
	const char	*mnt;
	pid_t		 pid;
	int		 st;

	TEST_START("disk full for real: 256 KiB tmpfs, acked deposits kept");
	if (geteuid() != 0) {
		test_fail(__FILE__, __LINE__, "needs root to mount a tmpfs");
		TEST_DONE();
		return;
	}
	mnt = newdir("tmpfs");
	fflush(stdout);
	if ((pid = fork()) == -1)
		exit(99);
	if (pid == 0)
		enospc_child(mnt);
	ASSERT_INT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_INT_EQ(WEXITSTATUS(st), 0);
	TEST_DONE();
}

/* ------------------------------------------------------------------ */
/* kill -9 (TESTING.md #7) */

#define KILL_ROUNDS	6

/*
 * The writer: deposits (blob + event in one transaction) and peer state
 * changes, alternately; writes "b ID" or "u VALUE" to fd after each
 * acknowledgement. Never returns.
 */
static void
kill_child(const char *dir, int round, int fd)
{
	struct store	*s = NULL;
	struct peer	 p;
	uint8_t		 d[1500];
	char		 line[64], id[32], *cause = NULL;
	int		 i, r, v;

	if (store_open(dir, &s, &cause) != 0)
		_exit(1);
	mkpeer(&p, 1);
	p.id = 1;
	for (i = 0; ; i++) {
		v = round * 100000 + i;
		if (i % 4 == 3) {
			/* A state change: remaining tells which one. */
			p.remaining = v;
			p.disabled_by = v % 3;
			if (store_peer_update(s, &p) != 0)
				_exit(2);
			snprintf(line, sizeof(line), "u %d\n", v);
		} else {
			snprintf(id, sizeof(id), "k%d", v);
			fill(d, sizeof(d), v);
			if ((r = store_blob_deposit(s, &p, id, d, sizeof(d),
			    0, v, "", id)) != 0)
				_exit(3);
			snprintf(line, sizeof(line), "b %d\n", v);
		}
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			_exit(4);
	}
}

static void
test_kill(void)
{
	struct store		*s;
	struct store_blob	*b;
	struct store_event_filter f;
	struct loaded		 ld;
	struct peer		 p;
	struct pollfd		 pfd;
	static char		 acks[1 << 20];
	const char		*dir;
	char			*line, *save;
	double			 deadline;
	size_t			 alen, n, k, nev;
	ssize_t			 got;
	unsigned		 seed;
	uint8_t			 d[1500];
	int			 fds[2], st, round, v, lastu, nb, found;
	int			 total = 0;
	pid_t			 pid;

	seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srandom(seed);
	TEST_START("kill -9 of a writer: nothing acknowledged is lost");
	test_diag("kill -9: seed %u", seed);
	dir = newdir("kill");
	s = xopen(dir);
	mkpeer(&p, 1);
	p.remaining = 0;	/* disabled_by = remaining % 3, as the child's */
	p.disabled_by = 0;
	ASSERT_INT_EQ(store_peer_insert(s, &p, 1), 0);
	ASSERT_INT_EQ(p.id, 1);
	store_close(s);
	for (round = 0; round < KILL_ROUNDS; round++) {
		ASSERT_INT_EQ(pipe(fds), 0);
		fflush(stdout);
		if ((pid = fork()) == -1)
			exit(99);
		if (pid == 0) {
			close(fds[0]);
			kill_child(dir, round, fds[1]);
		}
		close(fds[1]);
		alen = 0;
		deadline = now_ms() + 20 + random() % 400;
		for (;;) {
			pfd.fd = fds[0];
			pfd.events = POLLIN;
			if (now_ms() >= deadline)
				break;
			if (poll(&pfd, 1, (int)(deadline - now_ms()) + 1) > 0) {
				got = read(fds[0], acks + alen,
				    sizeof(acks) - 1 - alen);
				if (got <= 0)
					break;
				alen += got;
			}
		}
		kill(pid, SIGKILL);
		ASSERT_INT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		while ((got = read(fds[0], acks + alen,
		    sizeof(acks) - 1 - alen)) > 0)
			alen += got;
		close(fds[0]);
		acks[alen] = '\0';

		s = xopen(dir);
		if (s == NULL)
			break;
		ASSERT_TRUE(store_integrity_ok(s));
		/* Every acknowledged deposit is there, intact. */
		ASSERT_INT_EQ(store_blobs_get(s, 1, &b, &n), 0);
		lastu = -1;
		nb = 0;
		for (line = strtok_r(acks, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			v = atoi(line + 2);
			if (line[0] == 'u') {
				lastu = v;
				continue;
			}
			nb++;
			fill(d, sizeof(d), v);
			found = 0;
			for (k = 0; k < n; k++)
				if (b[k].deposited_at == v && b[k].len ==
				    sizeof(d) && memcmp(b[k].data, d,
				    sizeof(d)) == 0)
					found = 1;
			if (!found)
				test_fail(__FILE__, __LINE__, "round %d: "
				    "acknowledged deposit %d lost", round, v);
		}
		/* At most the one in flight beyond the acknowledged ones. */
		ASSERT_TRUE(n >= (size_t)(total + nb));
		ASSERT_TRUE(n <= (size_t)(total + nb + 1));
		total = n;
		/* Every blob has its event (one transaction). */
		memset(&f, 0, sizeof(f));
		f.kind = "deposited";
		f.limit = SIZE_MAX;
		nev = 0;
		ASSERT_INT_EQ(store_events_query(s, &f, count_cb, &nev), 0);
		ASSERT_INT_EQ(nev, n);
		store_blobs_free(b, n);
		/* The peer's state: the last acknowledged change or later. */
		ASSERT_INT_EQ(load(s, &ld), 0);
		if (ld.n == 1) {
			v = (int)ld.p[0]->remaining;
			if (lastu >= 0)
				ASSERT_TRUE(v == lastu || v == lastu + 4);
			ASSERT_INT_EQ(ld.p[0]->disabled_by, v % 3);
		}
		load_free(&ld);
		store_close(s);
		test_diag("kill -9 round %d: %zu bytes of acks, %d deposits "
		    "acknowledged, %d kept in all", round, alen, nb, total);
	}
	TEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Figures, never pass/fail on time */

static void
bench(void)
{
	struct store	*s;
	struct peer	 p, *pp[50], ps[50];
	uint8_t		 d[2048];
	char		 id[32], key[65], *cause = NULL;
	double		 t0, t1;
	int64_t		 last;
	int		 i, n = test_slow() ? 1000 : 200, ok = 1;

	TEST_START("figures: deposits and liveness saves per second");
	s = xopen(newdir("bench"));
	if (s == NULL)
		return;
	memset(key, 'd', 64);
	key[64] = '\0';
	ASSERT_INT_EQ(store_self_init(s, key, 1, &last, &cause), 0);
	mkpeer(&p, 1);
	ASSERT_INT_EQ(store_peer_insert(s, &p, 1), 0);
	fill(d, sizeof(d), 5);
	t0 = now_ms();
	for (i = 0; i < n && ok; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		ok = store_blob_deposit(s, &p, id, d, sizeof(d), 0, i, "",
		    id) == 0;
	}
	t1 = now_ms();
	ASSERT_TRUE(ok);
	test_diag("%d deposits (2 KiB blob + event, one transaction each, "
	    "synchronous=FULL) in %.0f ms: %.0f/s", n, t1 - t0,
	    n * 1000.0 / (t1 - t0));
	for (i = 0; i < 50; i++) {
		mkpeer(&ps[i], i + 10);
		ASSERT_INT_EQ(store_peer_insert(s, &ps[i], 1), 0);
		pp[i] = &ps[i];
	}
	t0 = now_ms();
	for (i = 0; i < n && ok; i++) {
		ps[i % 50].remaining = i;
		ok = store_liveness_save(s, pp, 50, i) == 0;
	}
	t1 = now_ms();
	ASSERT_TRUE(ok);
	test_diag("%d liveness saves of 50 peers in %.0f ms: %.0f/s", n,
	    t1 - t0, n * 1000.0 / (t1 - t0));
	store_close(s);
	TEST_DONE();
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_open();
	test_refusals();
	test_self();
	test_peers();
	test_blobs();
	test_events();
	test_liveness();
	test_transactions();
	test_faults();
	test_enospc();
	test_kill();
	bench();
	return test_exit();
}
