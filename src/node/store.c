/*
 * store.c: peerkeyd's sqlite database; the only file of the daemon with
 * SQL in it.
 *
 * One connection, in WAL mode with synchronous=FULL (a commit returns once
 * the WAL is fsync'ed), foreign keys on, every statement prepared once
 * (SQLITE_PREPARE_PERSISTENT) and every value bound, never pasted into SQL.
 *
 * Transactions nest: the outermost store_begin() is BEGIN IMMEDIATE, inner
 * ones are savepoints, and each mutating function wraps itself in one
 * level, so outside a caller's transaction it is its own transaction. A
 * constraint failure (a duplicate name, an unknown peer) undoes the failing
 * call only. Any other failure (I/O error, full disk, corruption, out of
 * memory) "dooms" the whole transaction: sqlite may already have rolled it
 * back by itself, and a later statement would then run in autocommit mode
 * and commit half of what the caller meant to be atomic. So once doomed,
 * every call fails until the outermost level is rolled back.
 *
 * Schema migrations are schema/NNN-*.sql, embedded by schema/embed.sh into
 * schema.c; each runs in one transaction together with its user_version
 * bump.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "node.h"
#include "store.h"

/* The cached statements, prepared at open. */
enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_SELF_GET,
	ST_SELF_INSERT,
	ST_SELF_ALIVE,
	ST_PEER_ALL,
	ST_PEER_INSERT,
	ST_PEER_UPDATE,
	ST_PEER_DELETE,
	ST_PEER_LIVENESS,
	ST_BLOB_PUT,
	ST_BLOB_DELETE,
	ST_BLOBS_GET,
	ST_BLOB_COUNT,
	ST_EVENT_INSERT,
	ST_EVENTS_ANY,
	ST_EVENTS_PEER,
	ST_EVENTS_PRUNE,
	ST_MAX_
};

/* The persistent columns of peers, in the order peer_bind() binds them. */
#define PEER_COLUMNS							\
	"name, node_keyid, boot_keyid, addresses, checker, timeout_ms, "\
	"interval_ms, extended_timeout_ms, approval_delay_ms, "		\
	"approval_duration_ms, approved_by_default, require_notice, "	\
	"disabled_by, remaining_ms, last_seen_at, last_check_at, "	\
	"last_check_ok"
#define PEER_NCOLUMNS	17

#define EVENT_SELECT							\
	"SELECT id, at, peer, kind, address, detail FROM ("		\
	"SELECT id, at, peer, kind, address, detail FROM events "	\
	"WHERE at >= ?1 AND at <= ?2 AND (?3 IS NULL OR kind = ?3) "

/*
 * In the order recorded (id), not by wall time: after the clock is set
 * back, the newest events must still be the ones a limit keeps.
 */
#define EVENT_ORDER							\
	"ORDER BY id DESC LIMIT ?4) ORDER BY id"

static const char *const store_sql[ST_MAX_] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT store",
	[ST_RELEASE] = "RELEASE store",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store",
	[ST_SELF_GET] = "SELECT node_keyid, alive_at FROM self WHERE id = 1",
	[ST_SELF_INSERT] = "INSERT INTO self (id, node_keyid, created_at, "
	    "alive_at) VALUES (1, ?1, ?2, ?2)",
	[ST_SELF_ALIVE] = "UPDATE self SET alive_at = ?1 WHERE id = 1",
	[ST_PEER_ALL] = "SELECT id, " PEER_COLUMNS ", (SELECT count(*) "
	    "FROM blobs WHERE blobs.peer_id = peers.id) FROM peers "
	    "ORDER BY id",
	[ST_PEER_INSERT] = "INSERT INTO peers (" PEER_COLUMNS ", created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18)",
	[ST_PEER_UPDATE] = "UPDATE peers SET name = ?1, node_keyid = ?2, "
	    "boot_keyid = ?3, addresses = ?4, checker = ?5, timeout_ms = ?6, "
	    "interval_ms = ?7, extended_timeout_ms = ?8, "
	    "approval_delay_ms = ?9, approval_duration_ms = ?10, "
	    "approved_by_default = ?11, require_notice = ?12, "
	    "disabled_by = ?13, remaining_ms = ?14, last_seen_at = ?15, "
	    "last_check_at = ?16, last_check_ok = ?17 WHERE id = ?18",
	[ST_PEER_DELETE] = "DELETE FROM peers WHERE id = ?1",
	[ST_PEER_LIVENESS] = "UPDATE peers SET disabled_by = ?1, "
	    "remaining_ms = ?2, last_seen_at = ?3, last_check_at = ?4, "
	    "last_check_ok = ?5 WHERE id = ?6",
	[ST_BLOB_PUT] = "INSERT INTO blobs (peer_id, blob_id, data, "
	    "deposited_at) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (peer_id, blob_id) DO UPDATE SET data = excluded.data, "
	    "deposited_at = excluded.deposited_at",
	[ST_BLOB_DELETE] = "DELETE FROM blobs WHERE peer_id = ?1 "
	    "AND blob_id = ?2",
	[ST_BLOBS_GET] = "SELECT blob_id, data, deposited_at FROM blobs "
	    "WHERE peer_id = ?1 ORDER BY blob_id",
	[ST_BLOB_COUNT] = "SELECT count(*) FROM blobs WHERE peer_id = ?1",
	[ST_EVENT_INSERT] = "INSERT INTO events (at, peer, kind, address, "
	    "detail) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_EVENTS_ANY] = EVENT_SELECT EVENT_ORDER,
	[ST_EVENTS_PEER] = EVENT_SELECT "AND peer = ?5 " EVENT_ORDER,
	[ST_EVENTS_PRUNE] = "DELETE FROM events WHERE at < ?1",
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[ST_MAX_];
	int		 depth;		/* open store_begin() levels */
	int		 doomed;	/* the transaction must roll back */
	int		 lazy;		/* synchronous=NORMAL until it ends */
	char		 errmsg[1024];
};

/* Records a message for store_errmsg(). */
static void __attribute__((format(printf, 2, 3)))
store_seterr(struct store *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

/*
 * Maps a failed sqlite result code to a PK_ERR_* code, keeps sqlite's
 * message, and dooms the open transaction unless the failure was a
 * constraint or a bad value (which sqlite undoes statement by statement).
 */
static int
store_err(struct store *s, int rc)
{
	store_seterr(s, "%s (%s)", sqlite3_errmsg(s->db), sqlite3_errstr(rc));
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PK_ERR_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return PK_ERR_NOT_FOUND;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return PK_ERR_INVALID_ARG;
	}
	if (s->depth > 0)
		s->doomed = 1;
	return (rc & 0xff) == SQLITE_NOMEM ? PK_ERR_ALLOC : PK_ERR_STORE;
}

/*
 * Steps a statement whose parameters are bound (rc: the binding result)
 * to its end, then resets it and clears its bindings. Returns SQLITE_OK or
 * the failing sqlite code; sqlite's message stays for store_err().
 */
static int
st_done(struct store *s, sqlite3_stmt *st, int rc)
{
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		else if (rc == SQLITE_ROW)
			rc = SQLITE_MISUSE;	/* can't happen: no rows */
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Runs one of the cached parameterless statements. */
static int
st_exec(struct store *s, enum store_stmt id)
{
	return st_done(s, s->st[id], SQLITE_OK);
}

/* Resets a statement read with sqlite3_step() and clears its bindings. */
static void
st_end(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds an integer unless an earlier binding failed. */
static void
b_int(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(st, i, v);
}

/* Binds a string (NULL binds SQL NULL) unless an earlier binding failed. */
static void
b_text(sqlite3_stmt *st, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (v == NULL)
		*rc = sqlite3_bind_null(st, i);
	else
		*rc = sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Binds a blob unless an earlier binding failed. */
static void
b_blob(sqlite3_stmt *st, int i, const void *p, size_t len, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_blob64(st, i, p, len, SQLITE_STATIC);
}

/* Opens a transaction level; see store.h. */
int
store_begin(struct store *s)
{
	int	rc;

	if (s->depth == 0) {
		s->doomed = 0;
		/* A rollback that failed earlier may have left one open. */
		if (!sqlite3_get_autocommit(s->db))
			(void)st_exec(s, ST_ROLLBACK);
		if ((rc = st_exec(s, ST_BEGIN)) != SQLITE_OK)
			return store_err(s, rc);
	} else {
		if (s->doomed || sqlite3_get_autocommit(s->db)) {
			s->doomed = 1;
			store_seterr(s, "transaction aborted by an earlier "
			    "error");
			return PK_ERR_STORE;
		}
		if ((rc = st_exec(s, ST_SAVEPOINT)) != SQLITE_OK)
			return store_err(s, rc);
	}
	s->depth++;
	return 0;
}

/* Back to durable commits after a lazy transaction. */
static void
store_lazy_end(struct store *s)
{
	if (!s->lazy)
		return;
	s->lazy = 0;
	(void)sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
	    NULL);
}

/* The connection's synchronous level; see store.h. */
int
store_synchronous(struct store *s)
{
	sqlite3_stmt	*st = NULL;
	int		 v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Begins a transaction whose commit need not be durable; see store.h. */
int
store_begin_lazy(struct store *s)
{
	int	r;

	if (s->depth == 0 && sqlite3_get_autocommit(s->db)) {
		if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL,
		    NULL, NULL) != SQLITE_OK)
			return store_err(s, sqlite3_errcode(s->db));
		s->lazy = 1;
	}
	if ((r = store_begin(s)) != 0)
		store_lazy_end(s);
	return r;
}

/* Closes the innermost level, keeping its changes; see store.h. */
int
store_commit(struct store *s)
{
	int	r, rc;

	if (s->depth == 0) {
		store_seterr(s, "commit without a transaction");
		return PK_ERR_INVALID_ARG;
	}
	if (s->doomed || sqlite3_get_autocommit(s->db)) {
		s->doomed = 1;
		store_seterr(s, "transaction aborted by an earlier error");
		store_rollback(s);
		return PK_ERR_STORE;
	}
	rc = st_exec(s, s->depth > 1 ? ST_RELEASE : ST_COMMIT);
	if (rc != SQLITE_OK) {
		r = store_err(s, rc);
		if (s->depth == 1)
			s->doomed = 1;
		store_rollback(s);
		return r;
	}
	s->depth--;
	if (s->depth == 0)
		store_lazy_end(s);
	return 0;
}

/* Undoes the innermost level; see store.h. */
void
store_rollback(struct store *s)
{
	if (s == NULL || s->depth == 0)
		return;
	if (s->depth == 1) {
		if (!sqlite3_get_autocommit(s->db))
			(void)st_exec(s, ST_ROLLBACK);
		s->depth = 0;
		s->doomed = 0;
		store_lazy_end(s);
		return;
	}
	if (s->doomed || sqlite3_get_autocommit(s->db) ||
	    st_exec(s, ST_ROLLBACK_TO) != SQLITE_OK ||
	    st_exec(s, ST_RELEASE) != SQLITE_OK)
		s->doomed = 1;
	s->depth--;
}

/* Runs a one-row PRAGMA and copies its first column as text to buf. */
static int
pragma_text(struct store *s, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt		*st = NULL;
	const unsigned char	*t;
	int			 rc;

	buf[0] = '\0';
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) != NULL)
			snprintf(buf, len, "%s", (const char *)t);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		store_seterr(s, "%s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

/* Reads PRAGMA user_version into *v. Returns an sqlite code. */
static int
store_user_version(struct store *s, int *v)
{
	char	buf[32];
	int	rc;

	if ((rc = pragma_text(s, "PRAGMA user_version", buf, sizeof(buf))) !=
	    SQLITE_OK)
		return rc;
	*v = atoi(buf);
	return SQLITE_OK;
}

/* Fills *cause (if wanted) with a formatted message; keeps errmsg too. */
static void __attribute__((format(printf, 3, 4)))
set_cause(struct store *s, char **cause, const char *fmt, ...)
{
	va_list	ap;
	char	buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s != NULL)
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", buf);
	pk_cause_set(cause, "%s", buf);
}

/* Maps an sqlite code met while opening to a PK_ERR_* code. */
static int
open_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return PK_ERR_BAD_FORMAT;
	case SQLITE_NOMEM:
		return PK_ERR_ALLOC;
	}
	return PK_ERR_STORE;
}

/*
 * Applies every migration above the database's user_version, each in one
 * transaction that ends with its own user_version bump.
 */
static int
store_migrate(struct store *s, char **cause)
{
	const struct store_migration	*m = NULL;
	char				*errmsg = NULL;
	size_t				 i;
	int				 r, rc, v;

	for (i = 0; i < store_nmigrations; i++) {
		m = &store_migrations[i];
		if (i > 0 && m->version <= store_migrations[i - 1].version) {
			set_cause(s, cause, "migration %s out of order",
			    m->name);
			return PK_ERR_INTERNAL;
		}
		if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL)) != SQLITE_OK)
			goto fail;
		/* Read again under the write lock: another may have run it. */
		if ((rc = store_user_version(s, &v)) != SQLITE_OK)
			goto fail;
		if (v >= m->version) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			continue;
		}
		if ((rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &errmsg)) !=
		    SQLITE_OK)
			goto fail;
		if ((rc = store_user_version(s, &v)) != SQLITE_OK)
			goto fail;
		if (v != m->version) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			set_cause(s, cause, "migration %s left user_version %d",
			    m->name, v);
			return PK_ERR_INTERNAL;
		}
		if ((rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) !=
		    SQLITE_OK)
			goto fail;
	}
	return 0;

fail:
	set_cause(s, cause, "%s: migration %s: %s", s->path,
	    m != NULL ? m->name : "?",
	    errmsg != NULL ? errmsg : sqlite3_errmsg(s->db));
	sqlite3_free(errmsg);
	r = open_err(rc);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Opens the database in dir; see store.h. */
int
store_open(const char *dir, struct store **out, char **cause)
{
	return store_open_vfs(dir, NULL, out, cause);
}

/* Opens the database in dir through an sqlite VFS; see store.h. */
int
store_open_vfs(const char *dir, const char *vfs, struct store **out,
    char **cause)
{
	struct store	*s = NULL;
	struct stat	 sb;
	mode_t		 omask;
	char		 buf[512];
	int		 i, known, r, rc, v;

	*out = NULL;
	if (cause != NULL)
		*cause = NULL;
	if (dir == NULL || *dir == '\0')
		return PK_ERR_INVALID_ARG;
	if (stat(dir, &sb) == -1) {
		r = errno;
		set_cause(NULL, cause, "%s: %s", dir, strerror(r));
		errno = r;
		return PK_ERR_SYSTEM;
	}
	if (!S_ISDIR(sb.st_mode)) {
		set_cause(NULL, cause, "%s: not a directory", dir);
		return PK_ERR_INVALID_ARG;
	}
	known = store_nmigrations > 0 ?
	    store_migrations[store_nmigrations - 1].version : 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PK_ERR_ALLOC;
	if (asprintf(&s->path, "%s/%s", dir, STORE_DB_NAME) == -1) {
		s->path = NULL;
		free(s);
		return PK_ERR_ALLOC;
	}

	/* The database, its -wal and -shm files: ours alone. */
	omask = umask(077);
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, vfs);
	if (rc != SQLITE_OK) {
		if (s->db == NULL) {
			r = PK_ERR_ALLOC;
			goto fail;
		}
		set_cause(s, cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
		r = open_err(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif

	/* Read-only looks first: is it a database, sound, not too new? */
	if ((rc = store_user_version(s, &v)) != SQLITE_OK) {
		set_cause(s, cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
		r = open_err(rc);
		goto fail;
	}
	if ((rc = pragma_text(s, "PRAGMA quick_check", buf, sizeof(buf))) !=
	    SQLITE_OK) {
		set_cause(s, cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
		r = open_err(rc);
		goto fail;
	}
	if (strcmp(buf, "ok") != 0) {
		set_cause(s, cause, "%s: database is corrupt (quick_check: "
		    "%s)", s->path, buf);
		r = PK_ERR_BAD_FORMAT;
		goto fail;
	}
	if (v > known) {
		set_cause(s, cause, "%s: database schema %d is newer than "
		    "this peerkeyd (knows up to %d): refusing to touch it",
		    s->path, v, known);
		r = PK_ERR_BAD_VERSION;
		goto fail;
	}
	if (v < 0) {
		set_cause(s, cause, "%s: database schema %d is not one of "
		    "peerkeyd's", s->path, v);
		r = PK_ERR_BAD_FORMAT;
		goto fail;
	}

	if ((rc = pragma_text(s, "PRAGMA journal_mode = WAL", buf,
	    sizeof(buf))) != SQLITE_OK || strcmp(buf, "wal") != 0) {
		set_cause(s, cause, "%s: cannot use a WAL journal: %s",
		    s->path, rc != SQLITE_OK ? sqlite3_errmsg(s->db) : buf);
		r = rc != SQLITE_OK ? open_err(rc) : PK_ERR_STORE;
		goto fail;
	}
	if ((rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL,
	    NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL,
	    NULL, NULL)) != SQLITE_OK ||
	    (rc = pragma_text(s, "PRAGMA foreign_keys", buf,
	    sizeof(buf))) != SQLITE_OK) {
		set_cause(s, cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
		r = open_err(rc);
		goto fail;
	}
	if (strcmp(buf, "1") != 0) {
		set_cause(s, cause, "%s: foreign keys cannot be enabled",
		    s->path);
		r = PK_ERR_STORE;
		goto fail;
	}

	if ((r = store_migrate(s, cause)) != 0)
		goto fail;

	for (i = 0; i < ST_MAX_; i++) {
		rc = sqlite3_prepare_v3(s->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			set_cause(s, cause, "%s: %s", s->path,
			    sqlite3_errmsg(s->db));
			r = open_err(rc);
			goto fail;
		}
	}
	umask(omask);
	s->errmsg[0] = '\0';
	*out = s;
	return 0;

fail:
	umask(omask);
	store_close(s);
	return r;
}

/* Closes the database; see store.h. */
void
store_close(struct store *s)
{
	int	i;

	if (s == NULL)
		return;
	if (s->db != NULL) {
		if (s->depth > 0 && s->st[ST_ROLLBACK] != NULL) {
			s->depth = 1;
			store_rollback(s);
		}
		for (i = 0; i < ST_MAX_; i++)
			sqlite3_finalize(s->st[i]);
		sqlite3_close_v2(s->db);
	}
	free(s->path);
	free(s);
}

/* Returns the last failure's message; see store.h. */
const char *
store_errmsg(struct store *s)
{
	return s != NULL ? s->errmsg : "no store";
}

/* Runs PRAGMA integrity_check; see store.h. */
int
store_integrity_ok(struct store *s)
{
	char	buf[512];
	int	rc;

	if ((rc = pragma_text(s, "PRAGMA integrity_check", buf,
	    sizeof(buf))) != SQLITE_OK)
		return 0;
	if (strcmp(buf, "ok") != 0) {
		store_seterr(s, "integrity_check: %s", buf);
		return 0;
	}
	return 1;
}

/* This node's row; see store.h. */
int
store_self_init(struct store *s, const char *node_keyid, int64_t now,
    int64_t *last_alive, char **cause)
{
	sqlite3_stmt		*st;
	const unsigned char	*t;
	int			 r, rc;

	if (cause != NULL)
		*cause = NULL;
	*last_alive = 0;
	if (node_keyid == NULL || *node_keyid == '\0')
		return PK_ERR_INVALID_ARG;
	if ((r = store_begin(s)) != 0) {
		set_cause(s, cause, "%s", s->errmsg);
		return r;
	}
	st = s->st[ST_SELF_GET];
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) == NULL) {
			rc = SQLITE_NOMEM;
			goto sqlfail;
		}
		if (strcasecmp((const char *)t, node_keyid) != 0) {
			set_cause(s, cause, "%s belongs to node key %s, not "
			    "to %s", s->path, (const char *)t, node_keyid);
			st_end(st);
			r = PK_ERR_KEY;
			goto fail;
		}
		*last_alive = sqlite3_column_int64(st, 1);
		st_end(st);
		rc = SQLITE_OK;
		b_int(s->st[ST_SELF_ALIVE], 1, now, &rc);
		rc = st_done(s, s->st[ST_SELF_ALIVE], rc);
	} else if (rc == SQLITE_DONE) {
		st_end(st);
		rc = SQLITE_OK;
		b_text(s->st[ST_SELF_INSERT], 1, node_keyid, &rc);
		b_int(s->st[ST_SELF_INSERT], 2, now, &rc);
		rc = st_done(s, s->st[ST_SELF_INSERT], rc);
	}
	if (rc != SQLITE_OK)
		goto sqlfail;
	if ((r = store_commit(s)) != 0)
		set_cause(s, cause, "%s", s->errmsg);
	return r;

sqlfail:
	r = store_err(s, rc);
	st_end(st);
	set_cause(s, cause, "%s: %s", s->path, s->errmsg);
fail:
	store_rollback(s);
	*last_alive = 0;
	return r;
}

/* Is the fixed-size string field NUL-terminated? */
#define FIELD_OK(f)	(memchr((f), '\0', sizeof(f)) != NULL)

/* Checks the fields of p that sqlite could not check for us. */
static int
peer_check(const struct peer *p)
{
	if (!FIELD_OK(p->name) || !FIELD_OK(p->node_keyid) ||
	    !FIELD_OK(p->boot_keyid) || !FIELD_OK(p->addresses) ||
	    !FIELD_OK(p->checker))
		return PK_ERR_INVALID_ARG;
	if (p->timeout > INT64_MAX || p->interval > INT64_MAX ||
	    p->extended_timeout > INT64_MAX ||
	    p->approval_delay > INT64_MAX ||
	    p->approval_duration > INT64_MAX || p->remaining > INT64_MAX)
		return PK_ERR_INVALID_ARG;
	return 0;
}

/* Binds the PEER_NCOLUMNS persistent fields of p as ?1..?17. */
static void
peer_bind(sqlite3_stmt *st, const struct peer *p, int *rc)
{
	b_text(st, 1, p->name, rc);
	b_text(st, 2, p->node_keyid[0] != '\0' ? p->node_keyid : NULL, rc);
	b_text(st, 3, p->boot_keyid, rc);
	b_text(st, 4, p->addresses, rc);
	b_text(st, 5, p->checker, rc);
	b_int(st, 6, (int64_t)p->timeout, rc);
	b_int(st, 7, (int64_t)p->interval, rc);
	b_int(st, 8, (int64_t)p->extended_timeout, rc);
	b_int(st, 9, (int64_t)p->approval_delay, rc);
	b_int(st, 10, (int64_t)p->approval_duration, rc);
	b_int(st, 11, p->approved_by_default != 0, rc);
	b_int(st, 12, p->require_notice != 0, rc);
	b_int(st, 13, p->disabled_by, rc);
	b_int(st, 14, (int64_t)p->remaining, rc);
	b_int(st, 15, p->last_seen, rc);
	b_int(st, 16, p->last_check, rc);
	b_int(st, 17, p->last_check_ok != 0, rc);
}

/*
 * Copies text column i into the field dst of size len. Returns 0,
 * PK_ERR_BAD_FORMAT (too long, or binary), PK_ERR_ALLOC.
 */
static int
col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char	*t;
	int			 n;

	dst[0] = '\0';
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return PK_ERR_ALLOC;
	n = sqlite3_column_bytes(st, i);
	if (n < 0 || (size_t)n >= len || memchr(t, '\0', n) != NULL)
		return PK_ERR_BAD_FORMAT;
	memcpy(dst, t, n);
	dst[n] = '\0';
	return 0;
}

/* Reads a non-negative integer column into *v. */
static int
col_u64(sqlite3_stmt *st, int i, uint64_t *v)
{
	int64_t	x = sqlite3_column_int64(st, i);

	if (x < 0)
		return PK_ERR_BAD_FORMAT;
	*v = (uint64_t)x;
	return 0;
}

/* Fills p from a row of ST_PEER_ALL. */
static int
peer_from_row(sqlite3_stmt *st, struct peer *p)
{
	int	r;

	p->id = sqlite3_column_int64(st, 0);
	if ((r = col_text(st, 1, p->name, sizeof(p->name))) != 0 ||
	    (r = col_text(st, 2, p->node_keyid, sizeof(p->node_keyid))) != 0 ||
	    (r = col_text(st, 3, p->boot_keyid, sizeof(p->boot_keyid))) != 0 ||
	    (r = col_text(st, 4, p->addresses, sizeof(p->addresses))) != 0 ||
	    (r = col_text(st, 5, p->checker, sizeof(p->checker))) != 0 ||
	    (r = col_u64(st, 6, &p->timeout)) != 0 ||
	    (r = col_u64(st, 7, &p->interval)) != 0 ||
	    (r = col_u64(st, 8, &p->extended_timeout)) != 0 ||
	    (r = col_u64(st, 9, &p->approval_delay)) != 0 ||
	    (r = col_u64(st, 10, &p->approval_duration)) != 0 ||
	    (r = col_u64(st, 14, &p->remaining)) != 0)
		return r;
	p->approved_by_default = sqlite3_column_int(st, 11);
	p->require_notice = sqlite3_column_int(st, 12);
	p->disabled_by = sqlite3_column_int(st, 13);
	p->last_seen = sqlite3_column_int64(st, 15);
	p->last_check = sqlite3_column_int64(st, 16);
	p->last_check_ok = sqlite3_column_int(st, 17);
	p->nblobs = sqlite3_column_int(st, 18);
	return 0;
}

/* Loads every peer, then hands them one by one to cb; see store.h. */
int
store_peer_load_all(struct store *s, int (*cb)(struct peer *, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[ST_PEER_ALL];
	struct peer	**all = NULL, **tmp, *p;
	size_t		 cap = 0, i, n = 0;
	int		 r = 0, rc;

	/* Read them all first: no statement stays open during cb. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = reallocarray(all, cap, sizeof(*all))) ==
			    NULL) {
				r = PK_ERR_ALLOC;
				break;
			}
			all = tmp;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			r = PK_ERR_ALLOC;
			break;
		}
		all[n++] = p;
		if ((r = peer_from_row(st, p)) != 0) {
			store_seterr(s, "peer row %" PRId64 " does not fit",
			    p->id);
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_err(s, rc);
	st_end(st);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = cb(all[i], arg);
		else
			free(all[i]);
	}
	free(all);
	return r;
}

/* Inserts a peer; see store.h. */
int
store_peer_insert(struct store *s, struct peer *p, int64_t now)
{
	sqlite3_stmt	*st = s->st[ST_PEER_INSERT];
	int64_t		 id;
	int		 r, rc = SQLITE_OK;

	if ((r = peer_check(p)) != 0) {
		store_seterr(s, "peer fields out of range");
		return r;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	peer_bind(st, p, &rc);
	b_int(st, PEER_NCOLUMNS + 1, now, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	id = sqlite3_last_insert_rowid(s->db);
	if ((r = store_commit(s)) != 0)
		return r;
	p->id = id;
	return 0;

fail:
	store_rollback(s);
	return r;
}

/* Rewrites a peer's row; see store.h. */
int
store_peer_update(struct store *s, const struct peer *p)
{
	sqlite3_stmt	*st = s->st[ST_PEER_UPDATE];
	int		 r, rc = SQLITE_OK;

	if ((r = peer_check(p)) != 0) {
		store_seterr(s, "peer fields out of range");
		return r;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	peer_bind(st, p, &rc);
	b_int(st, PEER_NCOLUMNS + 1, p->id, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no peer %" PRId64, p->id);
		r = PK_ERR_NOT_FOUND;
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Deletes a peer and its blobs; see store.h. */
int
store_peer_delete(struct store *s, int64_t id)
{
	sqlite3_stmt	*st = s->st[ST_PEER_DELETE];
	int		 r, rc = SQLITE_OK;

	if ((r = store_begin(s)) != 0)
		return r;
	b_int(st, 1, id, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no peer %" PRId64, id);
		r = PK_ERR_NOT_FOUND;
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Saves the liveness of n peers and the alive mark at once; see store.h. */
int
store_liveness_save(struct store *s, struct peer *const *peers, size_t n,
    int64_t now)
{
	sqlite3_stmt		*st = s->st[ST_PEER_LIVENESS];
	const struct peer	*p;
	size_t			 i;
	int			 r, rc;

	for (i = 0; i < n; i++) {
		if (peers[i] == NULL || peers[i]->remaining > INT64_MAX) {
			store_seterr(s, "peer %zu out of range", i);
			return PK_ERR_INVALID_ARG;
		}
	}
	if ((r = store_begin(s)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		p = peers[i];
		rc = SQLITE_OK;
		b_int(st, 1, p->disabled_by, &rc);
		b_int(st, 2, (int64_t)p->remaining, &rc);
		b_int(st, 3, p->last_seen, &rc);
		b_int(st, 4, p->last_check, &rc);
		b_int(st, 5, p->last_check_ok != 0, &rc);
		b_int(st, 6, p->id, &rc);
		if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
			r = store_err(s, rc);
			goto fail;
		}
	}
	rc = SQLITE_OK;
	b_int(s->st[ST_SELF_ALIVE], 1, now, &rc);
	if ((rc = st_done(s, s->st[ST_SELF_ALIVE], rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no self row: store_self_init() not called");
		r = PK_ERR_NOT_FOUND;
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Is id a usable blob id? */
static int
blob_id_ok(const char *id)
{
	size_t	len;

	if (id == NULL)
		return 0;
	len = strnlen(id, STORE_BLOB_ID_MAX + 1);
	return len >= 1 && len <= STORE_BLOB_ID_MAX;
}

/* Stores or replaces a blob; see store.h. */
int
store_blob_put(struct store *s, int64_t peer_id, const char *blob_id,
    const void *data, size_t len, int64_t now)
{
	sqlite3_stmt	*st = s->st[ST_BLOB_PUT];
	int		 r, rc = SQLITE_OK;

	if (!blob_id_ok(blob_id) || data == NULL || len == 0) {
		store_seterr(s, "blob id or data unusable");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	b_int(st, 1, peer_id, &rc);
	b_text(st, 2, blob_id, &rc);
	b_blob(st, 3, data, len, &rc);
	b_int(st, 4, now, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Deletes one blob; see store.h. */
int
store_blob_delete(struct store *s, int64_t peer_id, const char *blob_id)
{
	sqlite3_stmt	*st = s->st[ST_BLOB_DELETE];
	int		 r, rc = SQLITE_OK;

	if (blob_id == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = store_begin(s)) != 0)
		return r;
	b_int(st, 1, peer_id, &rc);
	b_text(st, 2, blob_id, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no blob %s of peer %" PRId64, blob_id,
		    peer_id);
		r = PK_ERR_NOT_FOUND;
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Frees what store_blobs_get() returned; see store.h. */
void
store_blobs_free(struct store_blob *b, size_t n)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(b[i].id);
		free(b[i].data);
	}
	free(b);
}

/* Reads every blob of a peer; see store.h. */
int
store_blobs_get(struct store *s, int64_t peer_id, struct store_blob **out,
    size_t *np)
{
	sqlite3_stmt		*st = s->st[ST_BLOBS_GET];
	struct store_blob	*all = NULL, *tmp, *b;
	const void		*d;
	const unsigned char	*t;
	size_t			 cap = 0, n = 0;
	int			 len, r = 0, rc = SQLITE_OK;

	*out = NULL;
	*np = 0;
	b_int(st, 1, peer_id, &rc);
	if (rc != SQLITE_OK) {
		r = store_err(s, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((tmp = reallocarray(all, cap, sizeof(*all))) ==
			    NULL) {
				r = PK_ERR_ALLOC;
				goto out;
			}
			all = tmp;
		}
		b = &all[n++];
		memset(b, 0, sizeof(*b));
		t = sqlite3_column_text(st, 0);
		d = sqlite3_column_blob(st, 1);
		len = sqlite3_column_bytes(st, 1);
		if (t == NULL || d == NULL || len <= 0) {
			r = PK_ERR_ALLOC;	/* NOT NULL, length > 0 */
			goto out;
		}
		if ((b->id = strdup((const char *)t)) == NULL ||
		    (b->data = malloc(len)) == NULL) {
			r = PK_ERR_ALLOC;
			goto out;
		}
		memcpy(b->data, d, len);
		b->len = len;
		b->deposited_at = sqlite3_column_int64(st, 2);
	}
	if (rc != SQLITE_DONE)
		r = store_err(s, rc);
out:
	st_end(st);
	if (r != 0) {
		store_blobs_free(all, n);
		return r;
	}
	*out = all;
	*np = n;
	return 0;
}

/* Counts a peer's blobs; see store.h. */
int
store_blob_count(struct store *s, int64_t peer_id)
{
	sqlite3_stmt	*st = s->st[ST_BLOB_COUNT];
	int64_t		 c = 0;
	int		 rc = SQLITE_OK;

	b_int(st, 1, peer_id, &rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		c = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		rc = store_err(s, rc);
		st_end(st);
		return rc;
	}
	st_end(st);
	return c > INT32_MAX ? INT32_MAX : (int)c;
}

/* Appends an audit event; see store.h. */
int
store_event(struct store *s, int64_t at, const char *peer, const char *kind,
    const char *address, const char *detail)
{
	sqlite3_stmt	*st = s->st[ST_EVENT_INSERT];
	int		 r, rc = SQLITE_OK;

	if (kind == NULL || *kind == '\0') {
		store_seterr(s, "event without a kind");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	b_int(st, 1, at, &rc);
	b_text(st, 2, peer != NULL ? peer : "", &rc);
	b_text(st, 3, kind, &rc);
	b_text(st, 4, address != NULL ? address : "", &rc);
	b_text(st, 5, detail != NULL ? detail : "", &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	return store_commit(s);

fail:
	store_rollback(s);
	return r;
}

/* Returns column i as text, "" for NULL; NULL only when out of memory. */
static const char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char	*t;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return "";
	t = sqlite3_column_text(st, i);
	return (const char *)t;
}

/* Walks the events f selects; see store.h. */
int
store_events_query(struct store *s, const struct store_event_filter *f,
    int (*cb)(const struct store_event_row *, void *), void *arg)
{
	static const struct store_event_filter	 all;
	struct store_event_row			 row;
	sqlite3_stmt				*st;
	int					 r = 0, rc = SQLITE_OK;

	if (f == NULL)
		f = &all;
	st = s->st[f->peer != NULL ? ST_EVENTS_PEER : ST_EVENTS_ANY];
	b_int(st, 1, f->since != 0 ? f->since : INT64_MIN, &rc);
	b_int(st, 2, f->until != 0 ? f->until : INT64_MAX, &rc);
	b_text(st, 3, f->kind, &rc);
	b_int(st, 4, f->limit == 0 ? STORE_EVENTS_LIMIT :
	    f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit, &rc);
	if (f->peer != NULL)
		b_text(st, 5, f->peer, &rc);
	if (rc != SQLITE_OK) {
		r = store_err(s, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.id = sqlite3_column_int64(st, 0);
		row.at = sqlite3_column_int64(st, 1);
		row.peer = col_str(st, 2);
		row.kind = col_str(st, 3);
		row.address = col_str(st, 4);
		row.detail = col_str(st, 5);
		if (row.peer == NULL || row.kind == NULL ||
		    row.address == NULL || row.detail == NULL) {
			r = PK_ERR_ALLOC;
			goto out;
		}
		if ((r = cb(&row, arg)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store_err(s, rc);
out:
	st_end(st);
	return r;
}

/* Deletes old events; see store.h. */
int
store_events_prune(struct store *s, int64_t before, int *deleted)
{
	sqlite3_stmt	*st = s->st[ST_EVENTS_PRUNE];
	int		 n, r, rc = SQLITE_OK;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_begin(s)) != 0)
		return r;
	b_int(st, 1, before, &rc);
	if ((rc = st_done(s, st, rc)) != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	n = sqlite3_changes(s->db);
	if ((r = store_commit(s)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = n;
	return 0;

fail:
	store_rollback(s);
	return r;
}

/*
 * Invitations and boot OpenPGP keys (schema/002-invites.sql), for join.c.
 * Rare operations: their statements are prepared on each call.
 */

/* Runs sql with up to three bound values ("t" text, "i" int64). */
static int
store_run(struct store *s, const char *sql, const char *types, ...)
{
	sqlite3_stmt	*st = NULL;
	va_list		 ap;
	int		 rc, i;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_err(s, rc);
	va_start(ap, types);
	for (i = 0; types[i] != '\0'; i++) {
		if (types[i] == 't')
			b_text(st, i + 1, va_arg(ap, const char *), &rc);
		else
			b_int(st, i + 1, va_arg(ap, int64_t), &rc);
	}
	va_end(ap);
	rc = st_done(s, st, rc);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : store_err(s, rc);
}

/* Records an invitation. Returns 0, PK_ERR_EXISTS, PK_ERR_STORE. */
int
store_invite_add(struct store *s, const char *hash, int64_t expires,
    const char *self_doc, int64_t now)
{
	int	r;

	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_run(s, "DELETE FROM invites WHERE expires_at < ?1",
	    "i", now)) != 0 ||
	    (r = store_run(s, "INSERT INTO invites (secret_hash, expires_at, "
	    "created_at, self_doc) VALUES (?1, ?2, ?3, ?4)", "tiit", hash,
	    expires, now, self_doc)) != 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

/*
 * Takes (deletes) the invitation hash, inside the caller's transaction if
 * any. Sets *self_doc (malloc) when it was unexpired at now. Returns 0,
 * PK_ERR_NOT_FOUND (unknown, or used already), PK_ERR_TIMEOUT (expired),
 * PK_ERR_STORE, PK_ERR_ALLOC.
 */
int
store_invite_take(struct store *s, const char *hash, int64_t now,
    char **self_doc)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 expires = 0;
	char		*doc = NULL;
	int		 rc, r;

	*self_doc = NULL;
	if ((r = store_begin(s)) != 0)
		return r;
	rc = sqlite3_prepare_v2(s->db, "SELECT expires_at, self_doc FROM "
	    "invites WHERE secret_hash = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		b_text(st, 1, hash, &rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		expires = sqlite3_column_int64(st, 0);
		doc = strdup((const char *)sqlite3_column_text(st, 1));
		rc = doc != NULL ? SQLITE_OK : SQLITE_NOMEM;
	} else if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		store_rollback(s);
		store_seterr(s, "no such invitation (used already?)");
		return PK_ERR_NOT_FOUND;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		r = store_err(s, rc);
		goto fail;
	}
	if ((r = store_run(s, "DELETE FROM invites WHERE secret_hash = ?1",
	    "t", hash)) != 0)
		goto fail;
	if ((r = store_commit(s)) != 0) {
		free(doc);
		return r;
	}
	if (expires < now) {
		free(doc);
		store_seterr(s, "the invitation has expired");
		return PK_ERR_TIMEOUT;
	}
	*self_doc = doc;
	return 0;
fail:
	free(doc);
	store_rollback(s);
	return r;
}

/* Stores a peer's boot OpenPGP public key. */
int
store_peer_set_pgp(struct store *s, int64_t peer_id, const char *armor)
{
	int	r;

	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_run(s, "UPDATE peers SET boot_pgp = ?1 WHERE id = ?2",
	    "ti", armor, peer_id)) != 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

/* Reads a peer's boot OpenPGP public key into *armor (malloc; "" none). */
int
store_peer_get_pgp(struct store *s, int64_t peer_id, char **armor)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	*armor = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT boot_pgp FROM peers WHERE "
	    "id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		b_int(st, 1, peer_id, &rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*armor = strdup((const char *)sqlite3_column_text(st, 0));
		rc = *armor != NULL ? SQLITE_OK : SQLITE_NOMEM;
	} else if (rc == SQLITE_DONE)
		*armor = strdup("");
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		return store_err(s, rc);
	return *armor != NULL ? 0 : PK_ERR_ALLOC;
}
