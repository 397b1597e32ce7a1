/*
 * store-peer.c: the peers this node guards (table "peers"), their
 * liveness, their boot OpenPGP keys, and this node's own row ("self"),
 * whose alive mark is saved together with the peers' liveness.
 *
 * The state changes the daemon makes to a peer are store_peer_add(),
 * store_peer_save() and store_peer_remove() (store.h): each writes the
 * change and its audit event in one transaction.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "node.h"
#include "store.h"
#include "store-int.h"

/* The persistent columns of peers, in the order store_peer_bind() binds. */
#define PEER_COLUMNS							\
	"name, node_keyid, boot_keyid, addresses, checker, timeout_ms, "\
	"interval_ms, extended_timeout_ms, approval_delay_ms, "		\
	"approval_duration_ms, approved_by_default, require_notice, "	\
	"disabled_by, remaining_ms, last_seen_at, last_check_at, "	\
	"last_check_ok, proof_remaining_ms, pending, introduced_by"

const struct store_sql store_peer_sql[] = {
	{ ST_SELF_GET, "SELECT node_keyid, alive_at FROM self WHERE id = 1" },
	{ ST_SELF_INSERT, "INSERT INTO self (id, node_keyid, created_at, "
	    "alive_at) VALUES (1, ?1, ?2, ?2)" },
	{ ST_SELF_ALIVE, "UPDATE self SET alive_at = ?1 WHERE id = 1" },
	{ ST_PEER_ALL, "SELECT id, " PEER_COLUMNS ", (SELECT count(*) "
	    "FROM blobs WHERE blobs.peer_id = peers.id), identity_seq, "
	    "labels FROM peers ORDER BY id" },
	{ ST_PEER_INSERT, "INSERT INTO peers (" PEER_COLUMNS ", created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)" },
	{ ST_PEER_UPDATE, "UPDATE peers SET name = ?1, node_keyid = ?2, "
	    "boot_keyid = ?3, addresses = ?4, checker = ?5, timeout_ms = ?6, "
	    "interval_ms = ?7, extended_timeout_ms = ?8, "
	    "approval_delay_ms = ?9, approval_duration_ms = ?10, "
	    "approved_by_default = ?11, require_notice = ?12, "
	    "disabled_by = ?13, remaining_ms = ?14, last_seen_at = ?15, "
	    "last_check_at = ?16, last_check_ok = ?17, "
	    "proof_remaining_ms = ?18, pending = ?19, introduced_by = ?20 "
	    "WHERE id = ?21" },
	{ ST_PEER_DELETE, "DELETE FROM peers WHERE id = ?1" },
	{ ST_PEER_LIVENESS, "UPDATE peers SET disabled_by = ?1, "
	    "remaining_ms = ?2, last_seen_at = ?3, last_check_at = ?4, "
	    "last_check_ok = ?5, proof_remaining_ms = ?6 WHERE id = ?7" },
	{ ST_PEER_SET_PGP, "UPDATE peers SET boot_pgp = ?1 WHERE id = ?2" },
	{ ST_PEER_GET_PGP, "SELECT boot_pgp FROM peers WHERE id = ?1" },
	{ ST_PEER_SET_IDENT, "UPDATE peers SET identity = ?1, "
	    "identity_seq = ?2 WHERE id = ?3" },
	{ ST_PEER_GET_IDENT, "SELECT identity FROM peers WHERE id = ?1" },
	{ ST_PEER_SET_LABELS, "UPDATE peers SET labels = ?1 WHERE id = ?2" },
	{ ST_MAX_, NULL }
};

/* This node's row; see store.h. */
int
store_self_init(struct store *s, const char *node_keyid, int64_t now,
    int64_t *last_alive, char **cause)
{
	sqlite3_stmt		*st;
	const unsigned char	*t;
	int			 r;

	if (cause != NULL)
		*cause = NULL;
	*last_alive = 0;
	if (node_keyid == NULL || *node_keyid == '\0')
		return PK_ERR_INVALID_ARG;
	if ((r = store_begin(s)) != 0) {
		store_cause_set(s, cause, "%s", s->errmsg);
		return r;
	}
	if ((r = store_query(s, ST_SELF_GET, &st, "")) == 0 &&
	    (r = store_row(s, st)) == 1) {
		if ((t = sqlite3_column_text(st, 0)) == NULL) {
			store_seterr(s, "out of memory");
			r = PK_ERR_ALLOC;
		} else if (strcasecmp((const char *)t, node_keyid) != 0) {
			store_cause_set(s, cause, "%s belongs to node key %s, "
			    "not to %s", s->path, (const char *)t, node_keyid);
			r = PK_ERR_KEY;
		} else {
			*last_alive = sqlite3_column_int64(st, 1);
			r = 0;
		}
		store_query_end(st);
		if (r == 0)
			r = store_exec(s, ST_SELF_ALIVE, "i", now);
	} else if (r == 0)
		r = store_exec(s, ST_SELF_INSERT, "ti", node_keyid, now);
	if ((r = store_tx_end(s, r)) != 0) {
		store_cause_set(s, cause, "%s: %s", s->path, s->errmsg);
		*last_alive = 0;
	}
	return r;
}

/* Is the fixed-size string field NUL-terminated? */
#define FIELD_OK(f)	(memchr((f), '\0', sizeof(f)) != NULL)

/* Checks the fields of p that sqlite could not check for us. */
static int
peer_check(struct store *s, const struct peer *p)
{
	if (!FIELD_OK(p->name) || !FIELD_OK(p->node_keyid) ||
	    !FIELD_OK(p->boot_keyid) || !FIELD_OK(p->addresses) ||
	    !FIELD_OK(p->checker) || !FIELD_OK(p->introduced_by) ||
	    p->timeout > INT64_MAX || p->interval > INT64_MAX ||
	    p->extended_timeout > INT64_MAX ||
	    p->approval_delay > INT64_MAX ||
	    p->approval_duration > INT64_MAX || p->remaining > INT64_MAX ||
	    p->proof_remaining > INT64_MAX || p->ident_seq > INT64_MAX) {
		store_seterr(s, "peer fields out of range");
		return PK_ERR_INVALID_ARG;
	}
	return 0;
}

/* Binds the PEER_NCOLUMNS persistent fields of p; see store-int.h. */
int
store_peer_bind(sqlite3_stmt *st, int i, const struct peer *p)
{
	const int64_t	 v[] = {
		(int64_t)p->timeout, (int64_t)p->interval,
		(int64_t)p->extended_timeout, (int64_t)p->approval_delay,
		(int64_t)p->approval_duration, p->approved_by_default != 0,
		p->require_notice != 0, p->disabled_by, (int64_t)p->remaining,
		p->last_seen, p->last_check, p->last_check_ok != 0,
		(int64_t)p->proof_remaining, p->pending != 0
	};
	const char	*t[] = {
		p->name, p->node_keyid[0] != '\0' ? p->node_keyid : NULL,
		p->boot_keyid, p->addresses, p->checker
	};
	size_t		 k;
	int		 rc = SQLITE_OK;

	for (k = 0; k < sizeof(t) / sizeof(t[0]) && rc == SQLITE_OK; k++)
		rc = t[k] == NULL ? sqlite3_bind_null(st, i++) :
		    sqlite3_bind_text(st, i++, t[k], -1, SQLITE_STATIC);
	for (k = 0; k < sizeof(v) / sizeof(v[0]) && rc == SQLITE_OK; k++)
		rc = sqlite3_bind_int64(st, i++, v[k]);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, i++, p->introduced_by, -1,
		    SQLITE_STATIC);
	return rc;
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
	    (r = col_u64(st, 14, &p->remaining)) != 0 ||
	    (r = col_u64(st, 18, &p->proof_remaining)) != 0 ||
	    (r = col_text(st, 20, p->introduced_by,
	    sizeof(p->introduced_by))) != 0)
		return r;
	p->approved_by_default = sqlite3_column_int(st, 11);
	p->require_notice = sqlite3_column_int(st, 12);
	p->disabled_by = sqlite3_column_int(st, 13);
	p->last_seen = sqlite3_column_int64(st, 15);
	p->last_check = sqlite3_column_int64(st, 16);
	p->last_check_ok = sqlite3_column_int(st, 17);
	p->pending = sqlite3_column_int(st, 19) != 0;
	p->nblobs = sqlite3_column_int(st, 21);
	if ((r = col_text(st, 23, p->labels, sizeof(p->labels))) != 0)
		return r;
	if (pk_labels_valid(p->labels) != 0)
		return PK_ERR_BAD_FORMAT;
	return col_u64(st, 22, &p->ident_seq);
}

/* Loads every peer, then hands them one by one to cb; see store.h. */
int
store_peer_load_all(struct store *s, int (*cb)(struct peer *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	struct peer	**all = NULL, *p;
	size_t		 cap = 0, i, n = 0;
	int		 r;

	/* Read them all first: no statement stays open during cb. */
	if ((r = store_query(s, ST_PEER_ALL, &st, "")) != 0)
		return r;
	while ((r = store_row(s, st)) == 1) {
		if ((r = store_grow(&all, &cap, n, sizeof(*all))) != 0)
			break;
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
	store_query_end(st);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = cb(all[i], arg);
		else
			free(all[i]);
	}
	free(all);
	return r;
}

/* Inserts a peer; see store-int.h. */
int
store_peer_insert(struct store *s, struct peer *p, int64_t now)
{
	int	 r;

	if ((r = peer_check(s, p)) != 0 ||
	    (r = store_exec(s, ST_PEER_INSERT, "pi", p, now)) != 0)
		return r;
	p->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Fails with PK_ERR_NOT_FOUND if the last statement changed no row. */
static int
peer_changed(struct store *s, int64_t id)
{
	if (sqlite3_changes(s->db) != 0)
		return 0;
	store_seterr(s, "no peer %" PRId64, id);
	return PK_ERR_NOT_FOUND;
}

/* Rewrites a peer's row; see store-int.h. */
int
store_peer_update(struct store *s, const struct peer *p)
{
	int	 r;

	if ((r = peer_check(s, p)) != 0 ||
	    (r = store_exec(s, ST_PEER_UPDATE, "pi", p, p->id)) != 0)
		return r;
	return peer_changed(s, p->id);
}

/* Deletes a peer and its blobs; see store-int.h. */
int
store_peer_delete(struct store *s, int64_t id)
{
	int	 r;

	if ((r = store_exec(s, ST_PEER_DELETE, "i", id)) != 0)
		return r;
	return peer_changed(s, id);
}

/* Adds a peer and its event; see store.h. */
int
store_peer_add(struct store *s, struct peer *p, const char *boot_pgp,
    int64_t at, const char *detail)
{
	return store_peer_add_signed(s, p, boot_pgp, NULL, 0, at, detail);
}

/* Adds a peer with its signed identity, and its event; see store.h. */
int
store_peer_add_signed(struct store *s, struct peer *p, const char *boot_pgp,
    const void *doc, size_t len, int64_t at, const char *detail)
{
	int64_t	 id = p->id;
	int	 r;

	if (doc != NULL && (len == 0 || p->ident_seq == 0 ||
	    p->ident_seq > INT64_MAX)) {
		store_seterr(s, "a signed identity needs bytes and a sequence "
		    "number");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_peer_insert(s, p, at)) == 0 && boot_pgp != NULL)
		r = store_exec(s, ST_PEER_SET_PGP, "ti", boot_pgp, p->id);
	if (r == 0 && doc != NULL)
		r = store_exec(s, ST_PEER_SET_IDENT, "bii", doc, len,
		    (int64_t)p->ident_seq, p->id);
	if (r == 0)
		r = store_event_insert(s, at, p->name, "added", NULL, detail);
	if ((r = store_tx_end(s, r)) != 0)
		p->id = id;
	return r;
}

/* Replaces a peer's signed identity, with its event; see store.h. */
int
store_peer_identity(struct store *s, const struct peer *p,
    const char *boot_pgp, const void *doc, size_t len, int64_t at,
    const char *detail)
{
	int	 r;

	if (doc == NULL || len == 0 || p->ident_seq == 0 ||
	    p->ident_seq > INT64_MAX) {
		store_seterr(s, "a signed identity needs bytes and a sequence "
		    "number");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_peer_update(s, p)) == 0)
		r = store_exec(s, ST_PEER_SET_PGP, "ti", boot_pgp != NULL ?
		    boot_pgp : "", p->id);
	if (r == 0)
		r = store_exec(s, ST_PEER_SET_IDENT, "bii", doc, len,
		    (int64_t)p->ident_seq, p->id);
	if (r == 0)
		r = store_event_insert(s, at, p->name, "identity", NULL,
		    detail);
	return store_tx_end(s, r);
}

/* Sets a peer's labels, with their event; see store.h. */
int
store_peer_labels(struct store *s, const struct peer *p, const char *labels,
    int64_t at, const char *detail)
{
	int	 r;

	if (pk_labels_valid(labels) != 0) {
		store_seterr(s, "labels not in canonical form");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_exec(s, ST_PEER_SET_LABELS, "ti", labels, p->id)) == 0)
		r = store_event_insert(s, at, p->name, "labels", NULL, detail);
	return store_tx_end(s, r);
}

/* Reads a peer's signed identity; see store.h. */
int
store_peer_get_identity(struct store *s, int64_t peer_id, void **doc,
    size_t *len)
{
	sqlite3_stmt	*st;
	const void	*b;
	int		 n, r;

	*doc = NULL;
	*len = 0;
	if ((r = store_query(s, ST_PEER_GET_IDENT, &st, "i", peer_id)) != 0)
		return r;
	if ((r = store_row(s, st)) < 0)
		return r;
	if (r == 1 && sqlite3_column_type(st, 0) == SQLITE_BLOB &&
	    (n = sqlite3_column_bytes(st, 0)) > 0 &&
	    (b = sqlite3_column_blob(st, 0)) != NULL) {
		if ((*doc = malloc((size_t)n)) == NULL)
			r = PK_ERR_ALLOC;
		else {
			memcpy(*doc, b, (size_t)n);
			*len = (size_t)n;
			r = 0;
		}
	} else
		r = 0;
	store_query_end(st);
	return r;
}

/* The liveness columns of p's row (a vanished row: no change, no error). */
static int
liveness_exec(struct store *s, const struct peer *p)
{
	return store_exec(s, ST_PEER_LIVENESS, "iiiiiii",
	    (int64_t)p->disabled_by, (int64_t)p->remaining, p->last_seen,
	    p->last_check, (int64_t)(p->last_check_ok != 0),
	    (int64_t)p->proof_remaining, p->id);
}

/*
 * Writes p's liveness columns (those of store_liveness_save()) to its row;
 * the range check is the one store_liveness_save() makes.
 */
static int
peer_liveness_update(struct store *s, const struct peer *p)
{
	int	 r;

	if (p->remaining > INT64_MAX || p->proof_remaining > INT64_MAX) {
		store_seterr(s, "peer %s: liveness out of range", p->name);
		return PK_ERR_INVALID_ARG;
	}
	if ((r = liveness_exec(s, p)) != 0)
		return r;
	return peer_changed(s, p->id);
}

/* A state change: p's row written by update, and its event, at once. */
static int
peer_save_with(struct store *s, const struct peer *p,
    int (*update)(struct store *, const struct peer *), int flags,
    int64_t at, const char *kind, const char *address, const char *detail)
{
	int	 r;

	if ((r = store_tx(s, flags)) != 0)
		return r;
	if ((r = update(s, p)) == 0)
		r = store_event_insert(s, at, p->name, kind, address, detail);
	return store_tx_end(s, r);
}

/* Saves a peer's state and its event; see store.h. */
int
store_peer_save(struct store *s, const struct peer *p, int flags, int64_t at,
    const char *kind, const char *address, const char *detail)
{
	return peer_save_with(s, p, store_peer_update, flags, at, kind,
	    address, detail);
}

/* Saves a peer's liveness with one event; see store.h. */
int
store_peer_save_liveness(struct store *s, const struct peer *p, int flags,
    int64_t at, const char *kind, const char *address, const char *detail)
{
	return peer_save_with(s, p, peer_liveness_update, flags, at, kind,
	    address, detail);
}

/* Removes a peer with its blobs, and says so; see store.h. */
int
store_peer_remove(struct store *s, const struct peer *p, int64_t at,
    const char *detail, struct store_blob **removed, size_t *nremoved)
{
	struct store_blob	*b = NULL;
	size_t			 n = 0, i, off;
	char			 ev[1200];
	int			 r;

	if (removed != NULL) {
		*removed = NULL;
		*nremoved = 0;
	}
	if ((r = store_begin(s)) != 0)
		return r;
	/* The ids read in the transaction that deletes them. */
	if ((r = store_blobs_get(s, p->id, &b, &n)) == 0) {
		off = (size_t)snprintf(ev, sizeof(ev), "%s, with %zu blob%s%s",
		    detail, n, n == 1 ? "" : "s", n > 0 ? ":" : "");
		for (i = 0; i < n; i++) {
			free(b[i].data);
			b[i].data = NULL;
			b[i].len = 0;
			if (off < sizeof(ev))
				off += (size_t)snprintf(ev + off,
				    sizeof(ev) - off, " %s", b[i].id);
		}
		if ((r = store_peer_delete(s, p->id)) == 0)
			r = store_event_insert(s, at, p->name, "removed", NULL,
			    ev);
	}
	if ((r = store_tx_end(s, r)) != 0 || removed == NULL) {
		store_blobs_free(b, n);
		return r;
	}
	*removed = b;
	*nremoved = n;
	return 0;
}

/* Saves the liveness of n peers and the alive mark at once; see store.h. */
int
store_liveness_save(struct store *s, struct peer *const *peers, size_t n,
    int64_t now)
{
	size_t			 i;
	int			 r;

	for (i = 0; i < n; i++) {
		if (peers[i] == NULL || peers[i]->remaining > INT64_MAX ||
		    peers[i]->proof_remaining > INT64_MAX) {
			store_seterr(s, "peer %zu out of range", i);
			return PK_ERR_INVALID_ARG;
		}
	}
	if ((r = store_begin(s)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		r = liveness_exec(s, peers[i]);
	}
	if (r == 0 && (r = store_exec(s, ST_SELF_ALIVE, "i", now)) == 0 &&
	    sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no self row: store_self_init() not called");
		r = PK_ERR_NOT_FOUND;
	}
	return store_tx_end(s, r);
}

/* Stores a peer's boot OpenPGP public key; see store.h. */
int
store_peer_set_pgp(struct store *s, int64_t peer_id, const char *armor)
{
	return store_exec(s, ST_PEER_SET_PGP, "ti", armor, peer_id);
}

/* Reads a peer's boot OpenPGP public key into *armor; see store.h. */
int
store_peer_get_pgp(struct store *s, int64_t peer_id, char **armor)
{
	sqlite3_stmt	*st;
	const char	*t = "";
	int		 r;

	*armor = NULL;
	if ((r = store_query(s, ST_PEER_GET_PGP, &st, "i", peer_id)) != 0)
		return r;
	if ((r = store_row(s, st)) < 0)
		return r;
	if (r == 1 && (t = (const char *)sqlite3_column_text(st, 0)) == NULL)
		t = "";
	*armor = strdup(t);
	store_query_end(st);
	return *armor != NULL ? 0 : PK_ERR_ALLOC;
}
