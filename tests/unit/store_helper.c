/*
 * store_helper.c: what the store's unit tests (test-store.c,
 * test-store-change.c) share: scratch databases, forged and inspected
 * with sqlite directly; the peers and events they compare; and the
 * fault-injecting VFS with fault_case(), the old-or-new check of
 * TESTING.md #6. store_helper.h says what each function does.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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

/*
 * Makes a fresh directory under the test's tmpdir. Returns its path in a
 * static buffer, one of four used in turn.
 */
const char *
newdir(const char *fmt, ...)
{
	static char	 paths[4][PATH_MAX];
	static int	 next;
	char		 name[256], *path;
	va_list		 ap;

	path = paths[next++ % 4];
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, PATH_MAX, "%s/%s", test_tmpdir(), name);
	if (mkdir(path, 0700) == -1) {
		perror(path);
		exit(99);
	}
	return path;
}

/* Opens dir's store or fails the test; returns NULL on failure. */
struct store *
xopen(const char *dir)
{
	struct store	*s = NULL;
	char		*cause = NULL;
	int		 r;

	r = store_open(dir, &s, &cause);
	if (r != 0)
		test_diag("store_open %s: %d %s", dir, r,
		    cause ? cause : "");
	ASSERT_INT_EQ(r, 0);
	free(cause);
	return s;
}

/* Fills p with peer number i; every field differs with i. */
void
mkpeer(struct peer *p, int i)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "peer-%d", i);
	snprintf(p->node_keyid, sizeof(p->node_keyid), "%064x", i + 1);
	snprintf(p->boot_keyid, sizeof(p->boot_keyid), "b%063x", i + 1);
	snprintf(p->addresses, sizeof(p->addresses),
	    "192.0.2.%d:4141 [2001:db8::%x]:4141", i % 250 + 1, i + 1);
	snprintf(p->checker, sizeof(p->checker), "fping -q %%(host)s #%d", i);
	p->timeout = 300000 + i;
	p->interval = 60000 + i;
	p->extended_timeout = 900000 + i;
	p->approval_delay = i % 2 ? 5000 + i : 0;
	p->approval_duration = 1000 + i;
	p->approved_by_default = i % 2;
	p->require_notice = (i / 2) % 2;
	p->disabled_by = i % 3;
	p->remaining = 250000 + i;
	p->proof_remaining = 240000 + i;
	p->pending = i % 2;
	if (i % 3 == 0)
		snprintf(p->introduced_by, sizeof(p->introduced_by), "%064x",
		    i + 7);
	p->last_seen = 1700000000000LL + i;
	p->last_check = 1700000001000LL + i;
	p->last_check_ok = (i + 1) % 2;
}

/* Asserts that every persistent field of a and b is equal. */
void
peer_assert_eq(const struct peer *a, const struct peer *b)
{
	ASSERT_INT_EQ(a->id, b->id);
	ASSERT_STR_EQ(a->name, b->name);
	ASSERT_STR_EQ(a->node_keyid, b->node_keyid);
	ASSERT_STR_EQ(a->boot_keyid, b->boot_keyid);
	ASSERT_STR_EQ(a->addresses, b->addresses);
	ASSERT_STR_EQ(a->checker, b->checker);
	ASSERT_INT_EQ(a->timeout, b->timeout);
	ASSERT_INT_EQ(a->interval, b->interval);
	ASSERT_INT_EQ(a->extended_timeout, b->extended_timeout);
	ASSERT_INT_EQ(a->approval_delay, b->approval_delay);
	ASSERT_INT_EQ(a->approval_duration, b->approval_duration);
	ASSERT_INT_EQ(a->approved_by_default, b->approved_by_default);
	ASSERT_INT_EQ(a->require_notice, b->require_notice);
	ASSERT_INT_EQ(a->disabled_by, b->disabled_by);
	ASSERT_INT_EQ(a->remaining, b->remaining);
	ASSERT_INT_EQ(a->proof_remaining, b->proof_remaining);
	ASSERT_INT_EQ(a->pending, b->pending);
	ASSERT_STR_EQ(a->introduced_by, b->introduced_by);
	ASSERT_INT_EQ(a->last_seen, b->last_seen);
	ASSERT_INT_EQ(a->last_check, b->last_check);
	ASSERT_INT_EQ(a->last_check_ok, b->last_check_ok);
	ASSERT_INT_EQ(a->nblobs, b->nblobs);
}

/* store_peer_load_all() callback: keeps the peers. */
int
load_cb(struct peer *p, void *arg)
{
	struct loaded	*l = arg;

	if (l->n == l->stop_at) {
		free(p);
		return 77;
	}
	if (l->n >= (int)(sizeof(l->p) / sizeof(l->p[0]))) {
		free(p);
		return -1;
	}
	l->p[l->n++] = p;
	return 0;
}

/* Loads every peer into l. */
int
load(struct store *s, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	l->stop_at = -1;
	return store_peer_load_all(s, load_cb, l);
}

/* Frees what load() kept. */
void
load_free(struct loaded *l)
{
	int	i;

	for (i = 0; i < l->n; i++)
		free(l->p[i]);
	l->n = 0;
}

/* store_events_query() callback: keeps the rows. */
int
ev_cb(const struct store_event_row *row, void *arg)
{
	struct evlist	*l = arg;

	if (l->n == l->stop_at)
		return 55;
	if (l->n >= 2048)
		return -1;
	l->id[l->n] = row->id;
	l->at[l->n] = row->at;
	snprintf(l->text[l->n], sizeof(l->text[0]), "%s/%s/%s/%s",
	    row->peer, row->kind, row->address, row->detail);
	l->n++;
	return 0;
}

/* store_events_query() callback: counts the rows. */
int
count_cb(const struct store_event_row *row, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

/* Runs a query into l. */
int
evq(struct store *s, const char *peer, const char *kind, int64_t since,
    int64_t until, size_t limit, struct evlist *l)
{
	struct store_event_filter	f;

	memset(&f, 0, sizeof(f));
	f.peer = peer;
	f.kind = kind;
	f.since = since;
	f.until = until;
	f.limit = limit;
	l->n = 0;
	l->stop_at = -1;
	return store_events_query(s, &f, ev_cb, l);
}

/* Fills buf with len bytes derived from seed. */
void
fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t	i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x & 0xff;
	}
}

/* Runs one SQL statement on dir's database directly (forging). */
int
raw_exec(const char *dir, const char *sql)
{
	sqlite3	*db;
	char	 path[PATH_MAX];
	int	 rc;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Returns PRAGMA user_version of dir's database, read directly. */
int
raw_user_version(const char *dir)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 path[PATH_MAX];
	int		 v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
	    &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/*
 * The whole content of dir's database as text (user_version and every
 * row of every table), to compare states. Caller frees.
 */
char *
digest(const char *dir)
{
	static const char *const q[] = {
		"PRAGMA user_version",
		"SELECT * FROM self ORDER BY id",
		"SELECT * FROM peers ORDER BY id",
		"SELECT * FROM blobs ORDER BY peer_id, blob_id",
		"SELECT * FROM events ORDER BY id",
		"SELECT * FROM invites ORDER BY secret_hash",
	};
	sqlite3			*db = NULL;
	sqlite3_stmt		*st;
	const unsigned char	*b;
	char			 path[PATH_MAX];
	char			*buf = NULL;
	size_t			 i, len = 0;
	FILE			*f;
	int			 c, j, n;

	if ((f = open_memstream(&buf, &len)) == NULL)
		exit(99);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(f, "cannot open: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		fprintf(f, "%s:\n", q[i]);
		if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK) {
			fprintf(f, "  (none)\n");
			continue;
		}
		while (sqlite3_step(st) == SQLITE_ROW) {
			n = sqlite3_column_count(st);
			for (c = 0; c < n; c++) {
				switch (sqlite3_column_type(st, c)) {
				case SQLITE_NULL:
					fprintf(f, "|NULL");
					break;
				case SQLITE_BLOB:
					b = sqlite3_column_blob(st, c);
					fprintf(f, "|x");
					for (j = 0; j < sqlite3_column_bytes(st,
					    c); j++)
						fprintf(f, "%02x", b[j]);
					break;
				default:
					fprintf(f, "|%s",
					    sqlite3_column_text(st, c));
				}
			}
			fprintf(f, "\n");
		}
		sqlite3_finalize(st);
	}
out:
	sqlite3_close(db);
	fclose(f);
	return buf;
}

void
assert_unchanged(const char *dir, const char *before)
{
	char	*now = digest(dir);

	ASSERT_STR_EQ(now, before);
	free(now);
}

/* Copies file from/name to to/name (a missing file is fine). */
void
copy_file(const char *from, const char *to, const char *name)
{
	char	 a[PATH_MAX], b[PATH_MAX], buf[65536];
	ssize_t	 n;
	int	 in, out;

	snprintf(a, sizeof(a), "%s/%s", from, name);
	snprintf(b, sizeof(b), "%s/%s", to, name);
	if ((in = open(a, O_RDONLY)) == -1)
		return;
	if ((out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		exit(99);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			exit(99);
	close(in);
	close(out);
}

/* Reads a whole small file into buf; returns its length or -1. */
ssize_t
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

/* Milliseconds of CLOCK_MONOTONIC, for the figures. */
double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* The fault-injecting VFS */

static sqlite3_vfs	*real_vfs;
static sqlite3_vfs	 fault_vfs;
static int		 fault_at;	/* fail call number fault_at; 0 off */
int			 fault_calls;	/* write/sync/truncate calls seen */
static int		 fault_full;	/* SQLITE_FULL from then on */
int			 fault_hits;	/* calls failed */

struct fault_file {
	sqlite3_file	 base;
	sqlite3_file	*real;
};
#define REAL(f)	(((struct fault_file *)(f))->real)

/* Is this write/sync/truncate the one to fail (or one after it)? */
static int
fault_now(void)
{
	if (fault_at == 0)
		return 0;
	fault_calls++;
	if (fault_calls == fault_at || (fault_full && fault_calls > fault_at)) {
		fault_hits++;
		return 1;
	}
	return 0;
}

/* Arms the shim: fail call n (and, if full, every call after it). */
void
fault_arm(int n, int full)
{
	fault_at = n;
	fault_calls = 0;
	fault_full = full;
	fault_hits = 0;
}

static int
f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (fault_now())
		return fault_full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (fault_now())
		return fault_full ? SQLITE_FULL : SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
	if (fault_now())
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int
f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int
f_check(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
f_dev(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}

static int
f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
f_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock,
	f_unlock, f_check, f_fcntl, f_sector, f_dev, f_shmmap, f_shmlock,
	f_shmbarrier, f_shmunmap, f_fetch, f_unfetch
};

/* xOpen of the shim: the unix VFS's file behind ours. */
static int
f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *outflags)
{
	struct fault_file	*ff = (struct fault_file *)f;
	int			 rc;

	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, outflags);
	f->pMethods = ff->real->pMethods != NULL ? &fault_io : NULL;
	return rc;
}

/* Registers "faulty", a copy of the default VFS with our xOpen. */
void
fault_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	fault_vfs = *real_vfs;
	fault_vfs.zName = "faulty";
	fault_vfs.pNext = NULL;
	fault_vfs.szOsFile = sizeof(struct fault_file) + real_vfs->szOsFile;
	fault_vfs.xOpen = f_open;
	if (sqlite3_vfs_register(&fault_vfs, 0) != SQLITE_OK)
		exit(99);
}

int
setup_one_peer(struct store *s)
{
	struct peer	p;
	char		key[65], *cause = NULL;
	uint8_t		d[2000];
	int64_t		last;
	int		r;

	memset(key, 'e', 64);
	key[64] = '\0';
	if ((r = store_self_init(s, key, 1, &last, &cause)) != 0)
		return r;
	mkpeer(&p, 1);
	if ((r = store_peer_insert(s, &p, 1)) != 0)
		return r;
	fill(d, sizeof(d), 9);
	if ((r = store_blob_put(s, p.id, "first", d, sizeof(d), 1)) != 0 ||
	    (r = store_blob_put(s, p.id, "second", d, 100, 1)) != 0 ||
	    (r = store_event(s, 0, 1, p.name, "enrolled", "192.0.2.1", "")) != 0)
		return r;
	return 0;
}

int
setup_many_peers(struct store *s)
{
	struct peer	p;
	char		key[65], *cause = NULL;
	int64_t		last;
	int		i, r;

	memset(key, 'e', 64);
	key[64] = '\0';
	if ((r = store_self_init(s, key, 1, &last, &cause)) != 0)
		return r;
	for (i = 0; i < NPEERS_FAULT; i++) {
		mkpeer(&p, i);
		if ((r = store_peer_insert(s, &p, 1)) != 0)
			return r;
	}
	return 0;
}

/*
 * Runs op on a copy of the template state with the Nth write, sync or
 * truncate failing, for N = 1, 2, ... until op succeeds with no fault
 * left to inject. After each run: reopened without faults, the database
 * is sound and holds exactly the old or the new state; exactly the new
 * one if op returned 0. With op NULL, the operation is store_open() of a
 * fresh database (the migrations).
 */
void
fault_case(const char *name, setup_fn setup, op_fn op, int full)
{
	struct store	*s;
	const char	*dir;
	char		 tmpl[1024], path[PATH_MAX];
	char		*old, *new, *got, *cause, *mid[16];
	int		 n, r, nold = 0, nnew = 0, nerr = 0, done = 0, k, nmid = 0;
	size_t		 i;

	/* The old state, and the new one from a run without faults. */
	snprintf(tmpl, sizeof(tmpl), "%s", newdir("tmpl-%s-%d", name, full));
	if (op != NULL) {
		s = xopen(tmpl);
		if (s == NULL)
			return;
		ASSERT_INT_EQ(setup(s), 0);
		store_close(s);
	} else {
		/* An empty file: an empty database to sqlite. */
		snprintf(path, sizeof(path), "%s/%s", tmpl, STORE_DB_NAME);
		close(open(path, O_WRONLY | O_CREAT, 0600));
	}
	old = digest(tmpl);
	dir = newdir("ref-%s-%d", name, full);
	copy_file(tmpl, dir, STORE_DB_NAME);
	s = xopen(dir);
	if (op != NULL) {
		ASSERT_INT_EQ(op(s), 0);
	}
	store_close(s);
	new = digest(dir);
	ASSERT_TRUE(strcmp(old, new) != 0);
	/*
	 * Opening runs each migration in its own transaction (store.h), so
	 * an interrupted open may also leave the first k migrations done.
	 */
	for (k = 1; op == NULL && (size_t)k < store_nmigrations && k < 16;
	    k++) {
		dir = newdir("mid-%s-%d-%d", name, full, k);
		snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
		close(open(path, O_WRONLY | O_CREAT, 0600));
		for (i = 0; i < (size_t)k; i++)
			ASSERT_INT_EQ(raw_exec(dir, store_migrations[i].sql), 0);
		mid[nmid++] = digest(dir);
	}

	for (n = 1; n < 1000 && !done; n++) {
		dir = newdir("f-%s-%d-%d", name, full, n);
		copy_file(tmpl, dir, STORE_DB_NAME);
		s = NULL;
		cause = NULL;
		if (op == NULL) {
			fault_arm(n, full);
			r = store_open_vfs(dir, "faulty", &s, &cause);
		} else {
			r = store_open_vfs(dir, "faulty", &s, &cause);
			ASSERT_INT_EQ(r, 0);
			fault_arm(n, full);
			r = op(s);
		}
		if (r != 0) {
			nerr++;
			/* Clean errors: store_errmsg() or *cause says why. */
			ASSERT_TRUE(r == PK_ERR_STORE || r == PK_ERR_ALLOC ||
			    r == PK_ERR_BAD_FORMAT);
			ASSERT_TRUE((s != NULL && *store_errmsg(s) != '\0') ||
			    cause != NULL);
		}
		free(cause);
		store_close(s);		/* still faulty: a checkpoint may fail */
		if (fault_calls < n)
			done = 1;	/* ran to the end without a fault */
		fault_arm(0, 0);

		/* The state first (no migration), then the store's checks. */
		got = digest(dir);
		s = NULL;
		cause = NULL;
		ASSERT_INT_EQ(store_open(dir, &s, &cause), 0);
		if (s != NULL)
			ASSERT_TRUE(store_integrity_ok(s));
		store_close(s);
		free(cause);
		k = nmid;
		if (strcmp(got, new) == 0)
			nnew++;
		else if (strcmp(got, old) == 0)
			nold++;
		else {
			for (k = 0; k < nmid; k++)
				if (strcmp(got, mid[k]) == 0)
					break;
		}
		if (k < nmid)
			nold++;		/* a completed prefix of migrations */
		else if (strcmp(got, new) != 0 && strcmp(got, old) != 0) {
			test_fail(__FILE__, __LINE__, "%s, fault %d (%s): "
			    "neither old nor new state", name, n,
			    full ? "full" : "ioerr");
			test_diag("got:\n%s", got);
		}
		if (r == 0 && strcmp(got, new) != 0)
			test_fail(__FILE__, __LINE__, "%s, fault %d: "
			    "acknowledged but lost", name, n);
		free(got);
	}
	ASSERT_TRUE(done);
	ASSERT_TRUE(nerr > 0);	/* some fault was hit */
	test_diag("%s/%s: %d runs, %d failed, ended old %d, new %d", name,
	    full ? "full" : "ioerr", n - 1, nerr, nold, nnew);
	for (k = 0; k < nmid; k++)
		free(mid[k]);
	free(old);
	free(new);
}

/* Runs fault_case() for each case in both modes; see store_helper.h. */
void
fault_cases(const struct fault_op *cases, size_t n)
{
	char	title[128];
	size_t	i;
	int	full;

	for (i = 0; i < n; i++) {
		for (full = 0; full <= 1; full++) {
			snprintf(title, sizeof(title), "fault injection: %s, "
			    "write/sync/truncate N fails (%s)", cases[i].name,
			    full ? "disk full from N on" : "I/O error once");
			TEST_START(title);
			fault_case(cases[i].name, cases[i].setup, cases[i].op,
			    full);
			TEST_DONE();
		}
	}
}

/* setup_one_peer()'s state, opened through "faulty"; see store_helper.h. */
const char *
faulty_one_peer(const char *name, char **old, struct store **s)
{
	const char	*dir = newdir("%s", name);
	char		*cause = NULL;

	*s = xopen(dir);
	if (*s != NULL) {
		ASSERT_INT_EQ(setup_one_peer(*s), 0);
		store_close(*s);
	}
	*old = digest(dir);
	*s = NULL;
	ASSERT_INT_EQ(store_open_vfs(dir, "faulty", s, &cause), 0);
	free(cause);
	return dir;
}

int
doomed_begin(const char *name, char *dir, size_t dirlen, char **old,
    struct store **s, uint8_t **big)
{
	snprintf(dir, dirlen, "%s", faulty_one_peer(name, old, s));
	if (*s == NULL)
		return -1;
	*big = malloc(SPILL_LEN);
	ASSERT_PTR_NE(*big, NULL);
	if (*big == NULL)
		return -1;
	fill(*big, SPILL_LEN, 4);
	return 0;
}
