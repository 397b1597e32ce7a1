/*
 * store-invite.c: invitations not yet used (table "invites",
 * schema/002-invites.sql), for join.c. Only the SHA-256 (hex) of a
 * secret is kept, with its expiry (wall ms) and the inviter's identity
 * document.
 *
 * Making one (store_invite_add) and using one up (store_invite_take) are
 * state changes with their audit events, each in one transaction;
 * store_invite_check only reads, so that a JOIN is checked against its
 * secret, cheaply and writing nothing, before its document is read.
 */
#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pk_err.h"
#include "store.h"
#include "store-int.h"

const struct store_sql store_invite_sql[] = {
	{ ST_INVITE_EXPIRE, "DELETE FROM invites WHERE expires_at < ?1" },
	{ ST_INVITE_INSERT, "INSERT INTO invites (secret_hash, expires_at, "
	    "created_at, self_doc) VALUES (?1, ?2, ?3, ?4)" },
	{ ST_INVITE_GET, "SELECT expires_at, self_doc FROM invites "
	    "WHERE secret_hash = ?1" },
	{ ST_INVITE_DELETE, "DELETE FROM invites WHERE secret_hash = ?1" },
	{ ST_MAX_, NULL }
};

/* Records an invitation (dropping expired ones); see store.h. */
int
store_invite_add(struct store *s, const char *hash, int64_t expires,
    const char *self_doc, int64_t now, const char *detail)
{
	int	 r;

	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_exec(s, ST_INVITE_EXPIRE, "i", now)) == 0 &&
	    (r = store_exec(s, ST_INVITE_INSERT, "tiit", hash, expires, now,
	    self_doc)) == 0)
		r = store_event_insert(s, now, "", "invited", NULL, detail);
	return store_tx_end(s, r);
}

/* Is invitation hash pending and unexpired? Writes nothing; see store.h. */
int
store_invite_check(struct store *s, const char *hash, int64_t now,
    char **self_doc)
{
	sqlite3_stmt	*st;
	const char	*t;
	int64_t		 expires = 0;
	char		*doc = NULL;
	int		 r;

	if (self_doc != NULL)
		*self_doc = NULL;
	if ((r = store_query(s, ST_INVITE_GET, &st, "t", hash)) != 0)
		return r;
	if ((r = store_row(s, st)) == 1) {
		expires = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		if (self_doc != NULL && (t == NULL ||
		    (doc = strdup(t)) == NULL))
			r = PK_ERR_ALLOC;
	}
	store_query_end(st);
	if (r < 0)
		return r;
	if (r == 0)
		return PK_ERR_NOT_FOUND;
	if (expires < now) {
		free(doc);
		return PK_ERR_TIMEOUT;
	}
	if (self_doc != NULL)
		*self_doc = doc;
	return 0;
}

/* Takes (deletes) an invitation, or records the refusal; see store.h. */
int
store_invite_take(struct store *s, const char *hash, int64_t now,
    const char *name, const char *address, char **self_doc)
{
	sqlite3_stmt	*st;
	const char	*t;
	int64_t		 expires = 0;
	char		*doc = NULL;
	int		 found = 0, r;

	if (self_doc != NULL)
		*self_doc = NULL;
	if ((r = store_begin(s)) != 0)
		return r;
	if ((r = store_query(s, ST_INVITE_GET, &st, "t", hash)) == 0 &&
	    (r = store_row(s, st)) == 1) {
		found = 1;
		expires = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		if (self_doc != NULL && (t == NULL ||
		    (doc = strdup(t)) == NULL))
			r = PK_ERR_ALLOC;
		else
			r = 0;
		store_query_end(st);
	}
	if (r == 0 && found)
		r = store_exec(s, ST_INVITE_DELETE, "t", hash);
	if (r == 0 && (!found || expires < now))
		r = store_event_insert(s, now, name, "join-refused", address,
		    found ? "expired" : "unknown or used invitation");
	if ((r = store_tx_end(s, r)) != 0) {
		free(doc);
		return r;
	}
	if (!found || expires < now) {
		free(doc);
		store_seterr(s, found ? "the invitation has expired" :
		    "no such invitation (used already?)");
		return found ? PK_ERR_TIMEOUT : PK_ERR_NOT_FOUND;
	}
	if (self_doc != NULL)
		*self_doc = doc;
	return 0;
}
