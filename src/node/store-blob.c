/*
 * store-blob.c: what peers deposited (table "blobs"): passphrases
 * encrypted to a peer's boot key, opaque here, one row per (peer, blob
 * id), deleted with their peer (ON DELETE CASCADE).
 *
 * The state changes are store_blob_deposit() and store_blob_withdraw()
 * (store.h): each writes the change and its audit event in one
 * transaction, and leaves the peer's blob count in p->nblobs.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "node.h"
#include "store.h"
#include "store-int.h"

const struct store_sql store_blob_sql[] = {
	{ ST_BLOB_PUT, "INSERT INTO blobs (peer_id, blob_id, data, "
	    "deposited_at) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (peer_id, blob_id) DO UPDATE SET "
	    "data = excluded.data, deposited_at = excluded.deposited_at" },
	{ ST_BLOB_DELETE, "DELETE FROM blobs WHERE peer_id = ?1 "
	    "AND blob_id = ?2" },
	{ ST_BLOBS_GET, "SELECT blob_id, data, deposited_at FROM blobs "
	    "WHERE peer_id = ?1 ORDER BY blob_id" },
	{ ST_BLOB_COUNT, "SELECT count(*) FROM blobs WHERE peer_id = ?1" },
	{ ST_MAX_, NULL }
};

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

/* Stores or replaces a blob; see store-int.h. */
int
store_blob_put(struct store *s, int64_t peer_id, const char *blob_id,
    const void *data, size_t len, int64_t now)
{
	if (!blob_id_ok(blob_id) || data == NULL || len == 0) {
		store_seterr(s, "blob id or data unusable");
		return PK_ERR_INVALID_ARG;
	}
	return store_exec(s, ST_BLOB_PUT, "itbi", peer_id, blob_id, data, len,
	    now);
}

/* Deletes one blob; see store-int.h. */
int
store_blob_delete(struct store *s, int64_t peer_id, const char *blob_id)
{
	int	 r;

	if (blob_id == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = store_exec(s, ST_BLOB_DELETE, "it", peer_id, blob_id)) != 0)
		return r;
	if (sqlite3_changes(s->db) == 0) {
		store_seterr(s, "no blob %s of peer %" PRId64, blob_id,
		    peer_id);
		return PK_ERR_NOT_FOUND;
	}
	return 0;
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
	sqlite3_stmt		*st;
	struct store_blob	*all = NULL, *b;
	const void		*d;
	const unsigned char	*t;
	size_t			 cap = 0, n = 0;
	int			 len, r;

	*out = NULL;
	*np = 0;
	if ((r = store_query(s, ST_BLOBS_GET, &st, "i", peer_id)) != 0)
		return r;
	while ((r = store_row(s, st)) == 1) {
		if ((r = store_grow(&all, &cap, n, sizeof(*all))) != 0)
			break;
		b = &all[n++];
		memset(b, 0, sizeof(*b));
		t = sqlite3_column_text(st, 0);
		d = sqlite3_column_blob(st, 1);
		len = sqlite3_column_bytes(st, 1);
		if (t == NULL || d == NULL || len <= 0 ||
		    (b->id = strdup((const char *)t)) == NULL ||
		    (b->data = malloc(len)) == NULL) {
			r = PK_ERR_ALLOC;	/* NOT NULL, length > 0 */
			break;
		}
		memcpy(b->data, d, len);
		b->len = len;
		b->deposited_at = sqlite3_column_int64(st, 2);
	}
	store_query_end(st);
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
	sqlite3_stmt	*st;
	int64_t		 c;
	int		 r;

	if ((r = store_query(s, ST_BLOB_COUNT, &st, "i", peer_id)) != 0 ||
	    (r = store_row(s, st)) <= 0)
		return r < 0 ? r : PK_ERR_STORE;
	c = sqlite3_column_int64(st, 0);
	store_query_end(st);
	return c > INT32_MAX ? INT32_MAX : (int)c;
}

/*
 * Ends the change r of one of p's blobs, in the transaction the caller
 * began: counts p's blobs (more than max, if above 0, undoes the change:
 * PK_ERR_TOO_LARGE), writes the event and commits, or rolls back. Sets
 * p->nblobs once committed.
 */
static int
blob_change_end(struct store *s, struct peer *p, int r, int max, int64_t at,
    const char *kind, const char *address, const char *detail)
{
	int	 n = 0;

	if (r == 0 && (n = store_blob_count(s, p->id)) < 0)
		r = n;
	if (r == 0 && max > 0 && n > max) {
		store_seterr(s, "peer %s holds %d blobs already", p->name,
		    max);
		r = PK_ERR_TOO_LARGE;
	}
	if (r == 0)
		r = store_event_insert(s, at, p->name, kind, address, detail);
	if ((r = store_tx_end(s, r)) == 0)
		p->nblobs = n;
	return r;
}

/* Stores a blob and its event; see store.h. */
int
store_blob_deposit(struct store *s, struct peer *p, const char *blob_id,
    const void *data, size_t len, int max, int64_t at, const char *address,
    const char *detail)
{
	int	 r;

	if ((r = store_begin(s)) != 0)
		return r;
	r = store_blob_put(s, p->id, blob_id, data, len, at);
	return blob_change_end(s, p, r, max, at, "deposited", address, detail);
}

/* Removes a blob, and says so; see store.h. */
int
store_blob_withdraw(struct store *s, struct peer *p, const char *blob_id,
    int64_t at, const char *address, const char *detail)
{
	int	 r;

	if ((r = store_begin(s)) != 0)
		return r;
	r = store_blob_delete(s, p->id, blob_id);
	return blob_change_end(s, p, r, 0, at, "withdrawn", address, detail);
}
