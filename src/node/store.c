/*
 * store.c: peerkeyd's sqlite database: the connection, the schema
 * migrations and the statement helper. Its transactions are store-tx.c's;
 * what the store keeps has a file each: store-peer.c (peers, their
 * liveness, this node's own row), store-blob.c (deposited blobs),
 * store-event.c (the audit log), store-invite.c (invitations);
 * store-int.h is what they share. These files are the only ones of the
 * daemon with SQL in them.
 *
 * One connection, in WAL mode with synchronous=FULL (a commit returns once
 * the WAL is fsync'ed), foreign keys on, every statement prepared once
 * (SQLITE_PREPARE_PERSISTENT) and every value bound, never pasted into SQL.
 * Transactions are store-tx.c's; store-int.h says how they nest, and why
 * a failure dooms one.
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
#include "store-int.h"

/* Every file's statements, prepared at open. */
static const struct store_sql *const store_sqls[] = {
	store_tx_sql,
	store_peer_sql,
	store_blob_sql,
	store_event_sql,
	store_invite_sql,
};

/* Records a message for store_errmsg(); see store-int.h. */
void
store_seterr(struct store *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

/* Maps a failed sqlite result code to a PK_ERR_* code; see store-int.h. */
int
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

/* Binds fmt's values (store-int.h) from 1 on. Returns an sqlite code. */
static int
store_bind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const struct peer	*p;
	const char		*t;
	const void		*b;
	size_t			 len;
	int			 i = 1, rc = SQLITE_OK;

	for (; *fmt != '\0' && rc == SQLITE_OK; fmt++) {
		switch (*fmt) {
		case 'i':
			rc = sqlite3_bind_int64(st, i++, va_arg(ap, int64_t));
			break;
		case 't':
			if ((t = va_arg(ap, const char *)) == NULL)
				rc = sqlite3_bind_null(st, i++);
			else
				rc = sqlite3_bind_text(st, i++, t, -1,
				    SQLITE_STATIC);
			break;
		case 'b':
			b = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i++, b, len,
			    SQLITE_STATIC);
			break;
		case 'p':
			p = va_arg(ap, const struct peer *);
			rc = store_peer_bind(st, i, p);
			i += PEER_NCOLUMNS;
			break;
		default:
			rc = SQLITE_MISUSE;	/* a bug in the format */
		}
	}
	return rc;
}

/* Resets a statement and forgets its values; see store-int.h. */
void
store_query_end(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds fmt's values to statement id for stepping. */
static int
store_vquery(struct store *s, enum store_stmt id, sqlite3_stmt **out,
    const char *fmt, va_list ap)
{
	sqlite3_stmt	*st = s->st[id];
	int		 r, rc;

	*out = NULL;
	if ((r = store_usable(s)) != 0)
		return r;
	if ((rc = store_bind(st, fmt, ap)) != SQLITE_OK) {
		r = store_err(s, rc);
		store_query_end(st);
		return r;
	}
	*out = st;
	return 0;
}

/* Binds a query for store_row(); see store-int.h. */
int
store_query(struct store *s, enum store_stmt id, sqlite3_stmt **out,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = store_vquery(s, id, out, fmt, ap);
	va_end(ap);
	return r;
}

/* Binds and runs one statement to its end; see store-int.h. */
int
store_exec(struct store *s, enum store_stmt id, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 r;

	va_start(ap, fmt);
	r = store_vquery(s, id, &st, fmt, ap);
	va_end(ap);
	if (r == 0 && (r = store_row(s, st)) == 1) {
		store_query_end(st);	/* can't happen: no rows */
		store_seterr(s, "statement %d returned a row", (int)id);
		r = PK_ERR_INTERNAL;
	}
	return r;
}

/* Makes room for one more element; see store-int.h. */
int
store_grow(void *arrp, size_t *cap, size_t n, size_t size)
{
	void	*arr, *tmp;
	size_t	 want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 16;
	memcpy(&arr, arrp, sizeof(arr));
	if ((tmp = reallocarray(arr, want, size)) == NULL)
		return PK_ERR_ALLOC;
	memcpy(arrp, &tmp, sizeof(tmp));
	*cap = want;
	return 0;
}

/* Steps a query; see store-int.h. */
int
store_row(struct store *s, sqlite3_stmt *st)
{
	int	 r, rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return 1;
	r = rc == SQLITE_DONE ? 0 : store_err(s, rc);
	store_query_end(st);
	return r;
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

/* Fills *cause (if wanted) with a formatted message; see store-int.h. */
void
store_cause_set(struct store *s, char **cause, const char *fmt, ...)
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

/* Says in sqlite's words why opening failed; returns open_err(rc). */
static int
open_fail(struct store *s, char **cause, int rc)
{
	store_cause_set(s, cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
	return open_err(rc);
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
			store_cause_set(s, cause, "migration %s out of order",
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
			store_cause_set(s, cause, "migration %s left "
			    "user_version %d", m->name, v);
			return PK_ERR_INTERNAL;
		}
		if ((rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) !=
		    SQLITE_OK)
			goto fail;
	}
	return 0;

fail:
	store_cause_set(s, cause, "%s: migration %s: %s", s->path,
	    m != NULL ? m->name : "?",
	    errmsg != NULL ? errmsg : sqlite3_errmsg(s->db));
	sqlite3_free(errmsg);
	r = open_err(rc);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Prepares every file's statements (store_sqls); all must be there. */
static int
store_prepare(struct store *s, char **cause)
{
	const struct store_sql	*q;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(store_sqls) / sizeof(store_sqls[0]); i++) {
		for (q = store_sqls[i]; q->sql != NULL; q++) {
			rc = sqlite3_prepare_v3(s->db, q->sql, -1,
			    SQLITE_PREPARE_PERSISTENT, &s->st[q->id], NULL);
			if (rc != SQLITE_OK) {
				return open_fail(s, cause, rc);
			}
		}
	}
	for (i = 0; i < ST_MAX_; i++) {
		if (s->st[i] == NULL) {
			store_cause_set(s, cause, "statement %zu has no SQL",
			    i);
			return PK_ERR_INTERNAL;
		}
	}
	return 0;
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
	int		 known, r, rc, v;

	*out = NULL;
	if (cause != NULL)
		*cause = NULL;
	if (dir == NULL || *dir == '\0')
		return PK_ERR_INVALID_ARG;
	if (stat(dir, &sb) == -1) {
		r = errno;
		store_cause_set(NULL, cause, "%s: %s", dir, strerror(r));
		errno = r;
		return PK_ERR_SYSTEM;
	}
	if (!S_ISDIR(sb.st_mode)) {
		store_cause_set(NULL, cause, "%s: not a directory", dir);
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
		r = open_fail(s, cause, rc);
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
		r = open_fail(s, cause, rc);
		goto fail;
	}
	if ((rc = pragma_text(s, "PRAGMA quick_check", buf, sizeof(buf))) !=
	    SQLITE_OK) {
		r = open_fail(s, cause, rc);
		goto fail;
	}
	if (strcmp(buf, "ok") != 0) {
		store_cause_set(s, cause, "%s: database is corrupt "
		    "(quick_check: %s)", s->path, buf);
		r = PK_ERR_BAD_FORMAT;
		goto fail;
	}
	if (v > known) {
		store_cause_set(s, cause, "%s: database schema %d is newer "
		    "than this peerkeyd (knows up to %d): refusing to touch "
		    "it", s->path, v, known);
		r = PK_ERR_BAD_VERSION;
		goto fail;
	}
	if (v < 0) {
		store_cause_set(s, cause, "%s: database schema %d is not one "
		    "of peerkeyd's", s->path, v);
		r = PK_ERR_BAD_FORMAT;
		goto fail;
	}

	if ((rc = pragma_text(s, "PRAGMA journal_mode = WAL", buf,
	    sizeof(buf))) != SQLITE_OK || strcmp(buf, "wal") != 0) {
		store_cause_set(s, cause, "%s: cannot use a WAL journal: %s",
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
		r = open_fail(s, cause, rc);
		goto fail;
	}
	if (strcmp(buf, "1") != 0) {
		store_cause_set(s, cause, "%s: foreign keys cannot be enabled",
		    s->path);
		r = PK_ERR_STORE;
		goto fail;
	}

	if ((r = store_migrate(s, cause)) != 0)
		goto fail;

	if ((r = store_prepare(s, cause)) != 0)
		goto fail;
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
