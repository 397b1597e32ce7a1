/*
 * store-event.c: the append-only audit log (table "events"): heartbeats
 * and checks, releases and refusals, enable and disable, deposits and
 * withdrawals, with time, peer, address and detail.
 *
 * Most events are written by the state change they record, in its
 * transaction (store-peer.c, store-blob.c, store-invite.c call
 * store_event_insert()); store_event() is for an event that records no
 * other change.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "store.h"
#include "store-int.h"

#define EVENT_SELECT							\
	"SELECT id, at, peer, kind, address, detail FROM ("		\
	"SELECT id, at, peer, kind, address, detail FROM events "	\
	"WHERE at >= ?1 AND at <= ?2 AND (?3 IS NULL OR kind = ?3) "

/* What a row costs, for [events] max-bytes: its text and ~24 bytes. */
#define EVENT_BYTES							\
	"length(CAST(peer AS BLOB)) + length(CAST(kind AS BLOB)) + "	\
	"length(CAST(address AS BLOB)) + length(CAST(detail AS BLOB)) + 24"

/*
 * In the order recorded (id), not by wall time: after the clock is set
 * back, the newest events must still be the ones a limit keeps.
 */
#define EVENT_ORDER							\
	"ORDER BY id DESC LIMIT ?4) ORDER BY id"

const struct store_sql store_event_sql[] = {
	{ ST_EVENT_INSERT, "INSERT INTO events (at, peer, kind, address, "
	    "detail) VALUES (?1, ?2, ?3, ?4, ?5)" },
	{ ST_EVENTS_ANY, EVENT_SELECT EVENT_ORDER },
	{ ST_EVENTS_PEER, EVENT_SELECT "AND peer = ?5 " EVENT_ORDER },
	{ ST_EVENTS_PRUNE, "DELETE FROM events WHERE at < ?1" },
	/* The newest ?1 rows stay. */
	{ ST_EVENTS_CUT_ROWS, "DELETE FROM events WHERE id <= (SELECT id "
	    "FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)" },
	/* The newest rows whose bytes, added up, stay within ?1. */
	{ ST_EVENTS_CUT_BYTES, "DELETE FROM events WHERE id <= (SELECT id "
	    "FROM (SELECT id, SUM(" EVENT_BYTES ") OVER (ORDER BY id DESC) "
	    "AS total FROM events) WHERE total > ?1 ORDER BY id DESC "
	    "LIMIT 1)" },
	{ ST_MAX_, NULL }
};

/* Appends an event; see store-int.h. */
int
store_event_insert(struct store *s, int64_t at, const char *peer,
    const char *kind, const char *address, const char *detail)
{
	if (kind == NULL || *kind == '\0') {
		store_seterr(s, "event without a kind");
		return PK_ERR_INVALID_ARG;
	}
	return store_exec(s, ST_EVENT_INSERT, "itttt", at,
	    peer != NULL ? peer : "", kind, address != NULL ? address : "",
	    detail != NULL ? detail : "");
}

/* Appends an audit event in a transaction of its own; see store.h. */
int
store_event(struct store *s, int flags, int64_t at, const char *peer,
    const char *kind, const char *address, const char *detail)
{
	int	 r;

	if ((r = store_tx(s, flags)) != 0)
		return r;
	return store_tx_end(s, store_event_insert(s, at, peer, kind, address,
	    detail));
}

/* Returns column i as text, "" for NULL; NULL only when out of memory. */
static const char *
col_str(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return "";
	return (const char *)sqlite3_column_text(st, i);
}

/* Walks the events f selects; see store.h. */
int
store_events_query(struct store *s, const struct store_event_filter *f,
    int (*cb)(const struct store_event_row *, void *), void *arg)
{
	static const struct store_event_filter	 all;
	struct store_event_row			 row;
	sqlite3_stmt				*st;
	int64_t					 limit;
	int					 r;

	if (f == NULL)
		f = &all;
	limit = f->limit == 0 ? STORE_EVENTS_LIMIT :
	    f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit;
	if (f->peer != NULL)
		r = store_query(s, ST_EVENTS_PEER, &st, "iitit",
		    f->since != 0 ? f->since : INT64_MIN,
		    f->until != 0 ? f->until : INT64_MAX, f->kind, limit,
		    f->peer);
	else
		r = store_query(s, ST_EVENTS_ANY, &st, "iiti",
		    f->since != 0 ? f->since : INT64_MIN,
		    f->until != 0 ? f->until : INT64_MAX, f->kind, limit);
	if (r != 0)
		return r;
	while ((r = store_row(s, st)) == 1) {
		row.id = sqlite3_column_int64(st, 0);
		row.at = sqlite3_column_int64(st, 1);
		row.peer = col_str(st, 2);
		row.kind = col_str(st, 3);
		row.address = col_str(st, 4);
		row.detail = col_str(st, 5);
		if (row.peer == NULL || row.kind == NULL ||
		    row.address == NULL || row.detail == NULL)
			r = PK_ERR_ALLOC;
		else
			r = cb(&row, arg);
		if (r != 0)
			break;
	}
	store_query_end(st);
	return r;
}

/* Deletes old events; see store.h. */
int
store_events_prune(struct store *s, int64_t before, int *deleted)
{
	int	 r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_exec(s, ST_EVENTS_PRUNE, "i", before)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = sqlite3_changes(s->db);
	return 0;
}

/* Keeps the newest events within max_rows and max_bytes; see store.h. */
int
store_events_bound(struct store *s, uint64_t max_rows, uint64_t max_bytes,
    int *deleted)
{
	int	 r, n = 0;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_tx(s, 0)) != 0)
		return r;
	if (max_rows != 0 && (r = store_exec(s, ST_EVENTS_CUT_ROWS, "i",
	    max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows)) == 0)
		n += sqlite3_changes(s->db);
	if (r == 0 && max_bytes != 0 && (r = store_exec(s,
	    ST_EVENTS_CUT_BYTES, "i", max_bytes > INT64_MAX ? INT64_MAX :
	    (int64_t)max_bytes)) == 0)
		n += sqlite3_changes(s->db);
	if ((r = store_tx_end(s, r)) == 0 && deleted != NULL)
		*deleted = n;
	return r;
}
