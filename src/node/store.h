/*
 * store.h: peerkeyd's database, the only code of the daemon with SQL
 * (src/node/store*.c; store-int.h is their private header).
 *
 * The rest of the daemon reaches sqlite only through these plain-struct
 * functions (the privilege-separation seam, STYLE.md §1). One struct store
 * is one connection to STATE_DIR/peerkey.db in WAL mode with
 * synchronous=FULL: when a mutating function returns 0, the change is on
 * disk and survives a crash or a power cut (STORE_LAZY: a crash of the
 * daemon, not a power cut, until the next durable commit).
 *
 * Each state change is one function, which writes the change and its
 * audit event in one transaction of its own, as OpenSMTPD's queue.c calls
 * queue_message_commit() and never opens a backend transaction: no caller
 * begins or commits one. On failure nothing of it is written.
 *
 * Errors: functions return 0 (or a count) on success and a negative
 * PK_ERR_* code on failure; store_errmsg() then names the cause as sqlite
 * put it. Constraint failures map to PK_ERR_EXISTS (a UNIQUE name or key
 * id), PK_ERR_NOT_FOUND (no such peer or row) and PK_ERR_INVALID_ARG (a
 * value the schema refuses); everything else sqlite reports (I/O error,
 * disk full, corruption, busy) is PK_ERR_STORE, or PK_ERR_ALLOC.
 *
 * Times are int64 wall-clock milliseconds, stored for people and the
 * audit log only (see schema/001-initial.sql).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

struct peer;
struct store;

/* One migration, schema/NNN-name.sql, embedded by schema/embed.sh. */
struct store_migration {
	int		 version;	/* NNN */
	const char	*name;		/* "NNN-name.sql" */
	const char	*sql;		/* ends by setting user_version */
};
/* schema.c (generated): every known migration, by increasing version. */
extern const struct store_migration	store_migrations[];
extern const size_t			store_nmigrations;

/* A deposited blob, as store_blobs_get() returns it. */
struct store_blob {
	char		*id;
	uint8_t		*data;
	size_t		 len;
	int64_t		 deposited_at;
};

/* Which events store_events_query() returns. */
struct store_event_filter {
	const char	*peer;		/* NULL: any peer */
	const char	*kind;		/* NULL: any kind */
	int64_t		 since;		/* at >= since; 0: no lower bound */
	int64_t		 until;		/* at <= until; 0: no upper bound */
	size_t		 limit;		/* the newest N; 0: 1000 */
};

/* One event; the strings are valid during the callback only. */
struct store_event_row {
	int64_t		 id;
	int64_t		 at;
	const char	*peer;		/* "" for none */
	const char	*kind;
	const char	*address;	/* "" for none */
	const char	*detail;	/* "" for none */
};

#define STORE_DB_NAME		"peerkey.db"
#define STORE_EVENTS_LIMIT	1000	/* default store_events_query limit */
#define STORE_BLOB_ID_MAX	128
#define STORE_BUSY_TIMEOUT	5000	/* ms */

/*
 * A flag of state changes: the change need not be durable at once. It is
 * written with synchronous=NORMAL, so it survives a crash of the daemon
 * but a power loss may undo it until the next durable commit (any other
 * change, such as the periodic liveness save, makes every earlier one
 * durable). For records nobody is told of, on the unlock path: releases,
 * refusals, check results.
 */
#define STORE_LAZY		0x1

/*
 * Opens (creating it mode 0600 if missing) dir/peerkey.db: WAL journal,
 * synchronous=FULL, foreign keys on. Runs PRAGMA quick_check, then every
 * migration above the database's user_version, each in one transaction.
 * Returns 0 and *out; or PK_ERR_BAD_FORMAT (not a database, or corrupt),
 * PK_ERR_BAD_VERSION (schema newer than this program), PK_ERR_STORE,
 * PK_ERR_ALLOC, with an allocated message in *cause for the caller to
 * free.
 */
int	store_open(const char *dir, struct store **out, char **cause);

/*
 * store_open() through the sqlite VFS registered as vfs (NULL: the
 * default); the test suite's fault-injecting VFS comes in here.
 */
int	store_open_vfs(const char *dir, const char *vfs, struct store **out,
	    char **cause);

/* Closes the database, rolling back an open transaction. NULL is fine. */
void	store_close(struct store *);

/*
 * The message of the last failure (sqlite's, or the store's own); "" if
 * none. Valid until the next call on the store.
 */
const char *store_errmsg(struct store *);

/*
 * Runs PRAGMA integrity_check. Returns 1 if the database is sound, 0 if
 * not or if the check could not run (store_errmsg() says why).
 */
int	store_integrity_ok(struct store *);

/*
 * This node's own row. Inserts it on first use; otherwise checks that
 * node_keyid is the one stored (else PK_ERR_KEY: the database belongs to
 * another node key, *cause says which). Sets *last_alive to the previous
 * alive mark (0 on first use) and marks the node alive at now.
 */
int	store_self_init(struct store *, const char *node_keyid, int64_t now,
	    int64_t *last_alive, char **cause);

/*
 * Calls cb once per peer, by id, with a calloc'ed struct peer holding
 * every persistent field and nblobs; cb owns (frees) it. A non-zero return
 * from cb stops the walk; the peers not yet passed are freed, and that
 * value is returned. Returns 0, or PK_ERR_BAD_FORMAT (a row that does not
 * fit struct peer), PK_ERR_STORE, PK_ERR_ALLOC. cb may call the store.
 */
int	store_peer_load_all(struct store *, int (*cb)(struct peer *, void *),
	    void *arg);

/*
 * Adds peer p, created at at, with its boot OpenPGP key (NULL: none) and
 * the event "added" (detail: by whom, how), and sets p->id. Returns 0,
 * PK_ERR_EXISTS (name, node or boot key id taken), PK_ERR_INVALID_ARG
 * (a value the schema refuses), PK_ERR_STORE.
 */
int	store_peer_add(struct store *, struct peer *, const char *boot_pgp,
	    int64_t at, const char *detail);

/*
 * The same for a peer with its signed identity: the document's bytes
 * (doc, len; stored as received) and p->ident_seq, its sequence number.
 */
int	store_peer_add_signed(struct store *, struct peer *,
	    const char *boot_pgp, const void *doc, size_t len, int64_t at,
	    const char *detail);

/*
 * Sets the labels of peer p->id to labels (canonical, labels.h; ""
 * none), with the event "labels" (detail: the labels and who), in one
 * transaction; the caller then copies them into p. Returns 0,
 * PK_ERR_INVALID_ARG (not canonical), PK_ERR_STORE.
 */
int	store_peer_labels(struct store *, const struct peer *,
	    const char *labels, int64_t at, const char *detail);

/*
 * Replaces the signed identity of peer p->id: every persistent field of
 * p (its new boot key id, addresses, p->ident_seq), its boot OpenPGP key
 * and the document, with the event "identity" (detail: from whom, what
 * changed), in one transaction. Returns 0, PK_ERR_NOT_FOUND,
 * PK_ERR_EXISTS (the boot key id is another peer's), PK_ERR_INVALID_ARG,
 * PK_ERR_STORE.
 */
int	store_peer_identity(struct store *, const struct peer *,
	    const char *boot_pgp, const void *doc, size_t len, int64_t at,
	    const char *detail);

/*
 * Reads the signed identity of peer_id into *doc (malloc'ed, *len bytes;
 * NULL and 0 when it has none). Returns 0, PK_ERR_ALLOC, PK_ERR_STORE.
 */
int	store_peer_get_identity(struct store *, int64_t peer_id, void **doc,
	    size_t *len);

/*
 * Saves every persistent field of p to its row p->id, with the event of
 * that kind (address and detail NULL: none). flags: 0, or STORE_LAZY.
 * Returns 0, PK_ERR_NOT_FOUND, PK_ERR_EXISTS, PK_ERR_INVALID_ARG,
 * PK_ERR_STORE.
 */
int	store_peer_save(struct store *, const struct peer *, int flags,
	    int64_t at, const char *kind, const char *address,
	    const char *detail);

/*
 * The same for an event that changed only p's liveness (disabled_by, the
 * remaining times, the last seen and check times and result: the columns
 * store_liveness_save() writes): only they are written, so the row's
 * indexes (name, keys) are not touched. The unlock path's records
 * (releases, refusals, check results) use it. Returns 0, PK_ERR_NOT_FOUND,
 * PK_ERR_INVALID_ARG, PK_ERR_STORE.
 */
int	store_peer_save_liveness(struct store *, const struct peer *,
	    int flags, int64_t at, const char *kind, const char *address,
	    const char *detail);

/*
 * Deletes peer p->id and its blobs (ON DELETE CASCADE), with the event
 * "removed" (detail, then ", with N blobs: ID ..."). With removed not
 * NULL, *removed and *nremoved are the blobs it deleted, ids only (data
 * NULL; free with store_blobs_free()). Returns 0, PK_ERR_NOT_FOUND,
 * PK_ERR_ALLOC, PK_ERR_STORE.
 */
int	store_peer_remove(struct store *, const struct peer *, int64_t at,
	    const char *detail, struct store_blob **removed,
	    size_t *nremoved);

/*
 * In one transaction, saves remaining, proof_remaining, disabled_by,
 * last_seen, last_check and last_check_ok of n peers (rows gone meanwhile are skipped) and
 * marks this node alive at now. Returns 0, PK_ERR_NOT_FOUND (no self row:
 * store_self_init() was not called), PK_ERR_INVALID_ARG, PK_ERR_STORE.
 */
int	store_liveness_save(struct store *, struct peer *const *peers,
	    size_t n, int64_t now);

/*
 * Stores (or replaces) blob blob_id of p, deposited at at, with the event
 * "deposited", and sets p->nblobs. With max above 0, a blob that would be
 * p's max + 1st is refused. Returns 0, PK_ERR_TOO_LARGE (over max),
 * PK_ERR_NOT_FOUND (no such peer), PK_ERR_INVALID_ARG (empty data, id not
 * 1..128 bytes), PK_ERR_STORE (a full disk among others).
 */
int	store_blob_deposit(struct store *, struct peer *, const char *blob_id,
	    const void *data, size_t len, int max, int64_t at,
	    const char *address, const char *detail);

/*
 * Deletes blob blob_id of p, with the event "withdrawn", and sets
 * p->nblobs. Returns 0, PK_ERR_NOT_FOUND, PK_ERR_STORE.
 */
int	store_blob_withdraw(struct store *, struct peer *, const char *blob_id,
	    int64_t at, const char *address, const char *detail);

/*
 * Sets *out to an allocated array of peer_id's *n blobs, by id (NULL and
 * 0 if none). Returns 0, PK_ERR_ALLOC, PK_ERR_STORE. Free with
 * store_blobs_free().
 */
int	store_blobs_get(struct store *, int64_t peer_id,
	    struct store_blob **out, size_t *n);

/* Frees what store_blobs_get() returned. */
void	store_blobs_free(struct store_blob *, size_t n);

/* Returns the number of blobs of peer_id (>= 0), or PK_ERR_STORE. */
int	store_blob_count(struct store *, int64_t peer_id);

/*
 * Appends an audit event that goes with no other change (flags: 0, or
 * STORE_LAZY). peer, address and detail may be NULL (stored as ""); kind
 * may not. Returns 0, PK_ERR_INVALID_ARG, PK_ERR_STORE.
 */
int	store_event(struct store *, int flags, int64_t at, const char *peer,
	    const char *kind, const char *address, const char *detail);

/*
 * Every kind of event a node records (peerkeyd(8), "CONTROL SOCKET",
 * events): what "events --kind" may ask for.
 */
#define STORE_EVENT_KINDS	"added removed policy enabled disabled "	\
	"check-ok check-failed released refused approval-pending approved "	\
	"denied notice deposited withdrawn invited join-refused accepted "	\
	"identity identity-refused labels"

/*
 * Calls cb for the newest f->limit events matching f (NULL: all), oldest
 * first. A non-zero return from cb stops and is returned. cb must not call
 * store_events_query(). Returns 0, PK_ERR_STORE, PK_ERR_INVALID_ARG.
 */
int	store_events_query(struct store *, const struct store_event_filter *f,
	    int (*cb)(const struct store_event_row *, void *), void *arg);

/*
 * Deletes the events older than before (at < before); the count in
 * *deleted if not NULL. Returns 0 or PK_ERR_STORE.
 */
int	store_events_prune(struct store *, int64_t before, int *deleted);

/*
 * Deletes the oldest events until at most max_rows are left and their
 * size (their text, and 24 bytes a row) is at most max_bytes (0: no
 * bound), in one transaction; the count in *deleted. Returns 0 or
 * PK_ERR_STORE.
 */
int	store_events_bound(struct store *, uint64_t max_rows,
	    uint64_t max_bytes, int *deleted);

/*
 * Invitations (schema/002-invites.sql; join.c). store_invite_add() keeps
 * the SHA-256 (hex) of a secret, its expiry (wall ms) and the inviter's
 * identity document, drops the expired ones, and records the event
 * "invited" (detail: by whom). Returns 0, PK_ERR_EXISTS, PK_ERR_STORE.
 */
int	store_invite_add(struct store *, const char *hash, int64_t expires,
	    const char *self_doc, int64_t now, const char *detail);

/*
 * Is invitation hash pending and unexpired at now? Reads only; sets
 * *self_doc (malloc) to its document when self_doc is not NULL and it is.
 * Returns 0, PK_ERR_NOT_FOUND (unknown or used), PK_ERR_TIMEOUT
 * (expired), PK_ERR_STORE, PK_ERR_ALLOC.
 */
int	store_invite_check(struct store *, const char *hash, int64_t now,
	    char **self_doc);

/*
 * Takes (deletes) invitation hash and, when self_doc is not NULL, sets
 * *self_doc (malloc) to its document if it was unexpired at now. A refusal is recorded as the event
 * "join-refused" of peer name from address, in the same transaction.
 * Returns 0, PK_ERR_NOT_FOUND (unknown or used), PK_ERR_TIMEOUT (expired:
 * deleted too), PK_ERR_STORE, PK_ERR_ALLOC.
 */
int	store_invite_take(struct store *, const char *hash, int64_t now,
	    const char *name, const char *address, char **self_doc);

/*
 * A peer's boot OpenPGP public key (armored; "" when unknown): set (no
 * event: it comes with the peer's identity), and read into *armor
 * (malloc). Return 0, PK_ERR_ALLOC, PK_ERR_STORE.
 */
int	store_peer_set_pgp(struct store *, int64_t peer_id, const char *armor);
int	store_peer_get_pgp(struct store *, int64_t peer_id, char **armor);

#endif /* STORE_H */
