/*
 * store-int.h: what the store's own files share, and nobody else.
 *
 * The store is store.c (the connection: open, migrations, the statement
 * helper), store-tx.c (transactions) and one file per table it keeps:
 * store-peer.c (with this node's own row), store-blob.c, store-event.c,
 * store-invite.c. Only
 * these files include this header (and tests/unit/test-store*.c, which
 * test the transactions directly): the rest of the daemon calls store.h,
 * whose every mutating function is one transaction of its own.
 *
 * Statements: each file lists its SQL in a table of struct store_sql; at
 * open store.c prepares every one once (SQLITE_PREPARE_PERSISTENT), and
 * store_exec() / store_query() bind values to them by a format string:
 *
 *	'i'	int64_t (cast: a plain int in a va_list is undefined)
 *	't'	const char *, NULL binds SQL NULL
 *	'b'	const void *, size_t
 *	'p'	const struct peer *: its PEER_NCOLUMNS persistent fields
 *
 * Values are bound, never pasted into SQL, and are not copied: they must
 * stay valid until the call returns.
 *
 * Transactions nest: the outermost store_begin() is BEGIN IMMEDIATE, inner
 * ones are savepoints. A constraint failure (a duplicate name, an unknown
 * peer) undoes the failing statement only. Any other failure (I/O error,
 * full disk, corruption, out of memory) "dooms" the whole transaction:
 * sqlite may already have rolled it back by itself, and a later statement
 * would then run in autocommit mode and commit half of what the caller
 * meant to be atomic. So once doomed, every statement fails until the
 * outermost level is rolled back.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct peer;

/* The cached statements; each has its SQL in one file's table. */
enum store_stmt {
	/* store-tx.c */
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	/* store-peer.c */
	ST_SELF_GET,
	ST_SELF_INSERT,
	ST_SELF_ALIVE,
	ST_PEER_ALL,
	ST_PEER_INSERT,
	ST_PEER_UPDATE,
	ST_PEER_DELETE,
	ST_PEER_LIVENESS,
	ST_PEER_SET_PGP,
	ST_PEER_GET_PGP,
	ST_PEER_SET_IDENT,
	ST_PEER_GET_IDENT,
	ST_PEER_SET_LABELS,
	/* store-blob.c */
	ST_BLOB_PUT,
	ST_BLOB_DELETE,
	ST_BLOBS_GET,
	ST_BLOB_COUNT,
	/* store-event.c */
	ST_EVENT_INSERT,
	ST_EVENTS_ANY,
	ST_EVENTS_PEER,
	ST_EVENTS_PRUNE,
	ST_EVENTS_CUT_ROWS,
	ST_EVENTS_CUT_BYTES,
	/* store-invite.c */
	ST_INVITE_EXPIRE,
	ST_INVITE_INSERT,
	ST_INVITE_GET,
	ST_INVITE_DELETE,
	ST_MAX_
};

/* One statement's SQL; a table of them ends with { ST_MAX_, NULL }. */
struct store_sql {
	enum store_stmt	 id;
	const char	*sql;
};
extern const struct store_sql	store_tx_sql[];
extern const struct store_sql	store_peer_sql[];
extern const struct store_sql	store_blob_sql[];
extern const struct store_sql	store_event_sql[];
extern const struct store_sql	store_invite_sql[];

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[ST_MAX_];
	int		 depth;		/* open store_begin() levels */
	int		 doomed;	/* the transaction must roll back */
	int		 lazy;		/* synchronous=NORMAL until it ends */
	char		 errmsg[1024];
};

/* The persistent columns of peers, in the order 'p' binds them. */
#define PEER_NCOLUMNS	20

/* store.c: errors */

/* Records a message for store_errmsg(). */
void	store_seterr(struct store *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Maps a failed sqlite result code to a PK_ERR_* code (store.h), keeps
 * sqlite's message, and dooms the open transaction unless the failure was
 * a constraint or a bad value.
 */
int	store_err(struct store *, int rc);

/*
 * Formats a message into store_errmsg() (if s) and into *cause (if cause
 * and *cause is still NULL: the first cause stands).
 */
void	store_cause_set(struct store *, char **cause, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* store.c: the statement helper */

/*
 * Binds fmt's values to statement id, steps it to its end and resets it.
 * Returns 0 or a PK_ERR_* code; sqlite3_changes(s->db) then says how many
 * rows it changed.
 */
int	store_exec(struct store *, enum store_stmt id, const char *fmt, ...);

/*
 * Binds fmt's values to statement id and sets *out to it, for
 * store_row(). Returns 0 or a PK_ERR_* code (the statement reset).
 */
int	store_query(struct store *, enum store_stmt id, sqlite3_stmt **out,
	    const char *fmt, ...);

/*
 * Steps a statement of store_query(): 1 with a row to read, 0 at its end,
 * or a PK_ERR_* code; at the end or on error the statement is reset.
 */
int	store_row(struct store *, sqlite3_stmt *);

/* Resets a statement of store_query() left before its end. */
void	store_query_end(sqlite3_stmt *);

/*
 * Makes room for element n in the array *arrp (a pointer to the array's
 * pointer) of *cap elements of size bytes, growing it (doubling) when
 * n == *cap. Returns 0, or PK_ERR_ALLOC with the array untouched.
 */
int	store_grow(void *arrp, size_t *cap, size_t n, size_t size);

/* store-peer.c: binds p's persistent fields as first .. first + 16. */
int	store_peer_bind(sqlite3_stmt *, int first, const struct peer *p);

/* store-tx.c: transactions */

/*
 * Returns 0, or PK_ERR_STORE inside a doomed transaction: a statement
 * would run in autocommit mode once sqlite has rolled it back.
 */
int	store_usable(struct store *);

/*
 * Begins a transaction, or a nested savepoint inside one. Returns 0, or
 * PK_ERR_STORE (also when the enclosing transaction is doomed).
 */
int	store_begin(struct store *);

/*
 * As store_begin() for an outermost transaction whose commit need not be
 * durable at once (STORE_LAZY in store.h): it is written with
 * synchronous=NORMAL. Inside an open transaction it is a plain savepoint.
 */
int	store_begin_lazy(struct store *);

/*
 * Commits the innermost level. Returns 0 once the change is durable
 * (outermost level). On failure the level has been rolled back (do not
 * call store_rollback()): PK_ERR_STORE, PK_ERR_INVALID_ARG with no
 * transaction open.
 */
int	store_commit(struct store *);

/* Rolls back the innermost level; nothing if none is open. */
void	store_rollback(struct store *);

/* store_begin(), or store_begin_lazy() if flags has STORE_LAZY. */
int	store_tx(struct store *, int flags);

/*
 * Ends the level store_tx() opened: commits it if r is 0 and returns what
 * the commit says, else rolls it back and returns r.
 */
int	store_tx_end(struct store *, int r);

/* The connection's PRAGMA synchronous (2: FULL, 1: NORMAL), -1 on error;
 * for tests. */
int	store_synchronous(struct store *);

/*
 * The single-statement writes the state changes of store.h are made of.
 * Outside a transaction each commits by itself (tests use them so).
 */

/* store-peer.c */

/*
 * Inserts a new peer with every persistent field of p (node_keyid "" is
 * stored as none), created at now, and sets p->id. Returns 0,
 * PK_ERR_EXISTS (name, node or boot key id taken), PK_ERR_INVALID_ARG
 * (a value the schema refuses), PK_ERR_STORE.
 */
int	store_peer_insert(struct store *, struct peer *, int64_t now);

/*
 * Writes every persistent field of p to its row p->id. Returns 0,
 * PK_ERR_NOT_FOUND, PK_ERR_EXISTS, PK_ERR_INVALID_ARG, PK_ERR_STORE.
 */
int	store_peer_update(struct store *, const struct peer *);

/*
 * Deletes peer id and its blobs (ON DELETE CASCADE). Returns 0,
 * PK_ERR_NOT_FOUND, PK_ERR_STORE.
 */
int	store_peer_delete(struct store *, int64_t id);

/* store-blob.c */

/*
 * Stores (or replaces) blob blob_id of peer_id. Returns 0,
 * PK_ERR_NOT_FOUND (no such peer), PK_ERR_INVALID_ARG (empty data, id not
 * 1..128 bytes), PK_ERR_STORE (a full disk among others).
 */
int	store_blob_put(struct store *, int64_t peer_id, const char *blob_id,
	    const void *data, size_t len, int64_t now);

/* Deletes one blob. Returns 0, PK_ERR_NOT_FOUND, PK_ERR_STORE. */
int	store_blob_delete(struct store *, int64_t peer_id, const char *blob_id);

/* store-event.c: appends one event (peer, address, detail NULL: ""). */
int	store_event_insert(struct store *, int64_t at, const char *peer,
	    const char *kind, const char *address, const char *detail);

#endif /* STORE_INT_H */
