/*
 * store-tx.c: the store's transactions (store-int.h says how they nest
 * and why a failure dooms one), and the check that no statement runs in
 * a doomed one. Only the store's own files open a transaction: the rest
 * of the daemon calls the state changes of store.h, one transaction each.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "store.h"
#include "store-int.h"

const struct store_sql store_tx_sql[] = {
	{ ST_BEGIN, "BEGIN IMMEDIATE" },
	{ ST_COMMIT, "COMMIT" },
	{ ST_ROLLBACK, "ROLLBACK" },
	{ ST_SAVEPOINT, "SAVEPOINT store" },
	{ ST_RELEASE, "RELEASE store" },
	{ ST_ROLLBACK_TO, "ROLLBACK TO store" },
	{ ST_MAX_, NULL }
};

/*
 * Steps a transaction-control statement to its end and resets it.
 * Returns SQLITE_OK or the failing sqlite code.
 */
static int
st_control(struct store *s, enum store_stmt id)
{
	sqlite3_stmt	*st = s->st[id];
	int		 rc;

	if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_reset(st);
	return rc;
}

/* Refuses a statement inside a doomed transaction; see store-int.h. */
int
store_usable(struct store *s)
{
	if (s->depth > 0 && (s->doomed || sqlite3_get_autocommit(s->db))) {
		s->doomed = 1;
		store_seterr(s, "transaction aborted by an earlier error");
		return PK_ERR_STORE;
	}
	return 0;
}

/* Opens a transaction level; see store-int.h. */
int
store_begin(struct store *s)
{
	int	rc;

	if (s->depth == 0) {
		s->doomed = 0;
		/* A rollback that failed earlier may have left one open. */
		if (!sqlite3_get_autocommit(s->db))
			(void)st_control(s, ST_ROLLBACK);
		if ((rc = st_control(s, ST_BEGIN)) != SQLITE_OK)
			return store_err(s, rc);
	} else {
		if (store_usable(s) != 0)
			return PK_ERR_STORE;
		if ((rc = st_control(s, ST_SAVEPOINT)) != SQLITE_OK)
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
	/*
	 * Not a prepared statement: sqlite applies PRAGMA synchronous when
	 * it compiles it, so a cached one would do nothing when stepped
	 * (tests/unit/test-store.c checks the level after each switch).
	 */
	(void)sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
	    NULL);
}

/* The connection's synchronous level; see store-int.h. */
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

/* Begins a transaction whose commit need not be durable; see store-int.h. */
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

/* Closes the innermost level, keeping its changes; see store-int.h. */
int
store_commit(struct store *s)
{
	int	r, rc;

	if (s->depth == 0) {
		store_seterr(s, "commit without a transaction");
		return PK_ERR_INVALID_ARG;
	}
	if (store_usable(s) != 0) {
		store_rollback(s);
		return PK_ERR_STORE;
	}
	rc = st_control(s, s->depth > 1 ? ST_RELEASE : ST_COMMIT);
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

/* Undoes the innermost level; see store-int.h. */
void
store_rollback(struct store *s)
{
	if (s == NULL || s->depth == 0)
		return;
	if (s->depth == 1) {
		if (!sqlite3_get_autocommit(s->db))
			(void)st_control(s, ST_ROLLBACK);
		s->depth = 0;
		s->doomed = 0;
		store_lazy_end(s);
		return;
	}
	if (s->doomed || sqlite3_get_autocommit(s->db) ||
	    st_control(s, ST_ROLLBACK_TO) != SQLITE_OK ||
	    st_control(s, ST_RELEASE) != SQLITE_OK)
		s->doomed = 1;
	s->depth--;
}

/* Opens a level, lazy or not; see store-int.h. */
int
store_tx(struct store *s, int flags)
{
	return (flags & STORE_LAZY) ? store_begin_lazy(s) : store_begin(s);
}

/* Commits or rolls back the level of store_tx(); see store-int.h. */
int
store_tx_end(struct store *s, int r)
{
	if (r != 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}
