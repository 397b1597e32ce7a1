/*
 * node.h: private header of peerkeyd, the node daemon.
 *
 * The process model: one single-threaded libev loop. Network-facing code
 * (listener.c, session*.c, checker.c, join.c) never touches sqlite: it
 * reaches the database only through the plain-struct functions of store.h
 * (one call per state change), and changes the peers only through peer.c
 * (made by peer_new(), released by peer_release()), so splitting the
 * daemon into privilege-separated processes later is mechanical. What
 * every file shares (the one struct node, the wall clock, socket chores)
 * is util.c's; doc/HACKING.md maps the files.
 *
 * Time: every deadline is CLOCK_MONOTONIC milliseconds (pk_now_ms()); wall
 * clock (wall_ms()) is used only for display and the audit log, so a wall
 * clock jump neither enables nor disables anyone.
 */
#ifndef NODE_H
#define NODE_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

#include "key.h"
#include "labels.h"
#include "tls.h"

#define PEER_NAME_MAX		64
#define PEER_ADDRS_MAX		512	/* bytes of the address list */
#define PEER_CHECKER_MAX	1024
/* The name of the node key among systemd's credentials (LoadCredential=). */
#define NODE_KEY_CREDENTIAL	"node.key"

struct store;
struct store_blob;
struct session;
struct checker_conn;

/* Why a peer is disabled (store column "disabled_by"). */
enum peer_disabled_by {
	PEER_DIS_NONE = 0,	/* enabled */
	PEER_DIS_TIMEOUT = 1,	/* unseen past its timeout */
	PEER_DIS_OPERATOR = 2,	/* disabled by hand; only enable undoes it */
};

/* An operator's standing decision on a peer that requires approval. */
enum peer_decision {
	PEER_DECIDE_NONE = 0,
	PEER_DECIDE_APPROVED = 1,
	PEER_DECIDE_DENIED = 2,
};

/*
 * A peer: another machine whose passphrase blobs this node keeps and whose
 * liveness this node guards. Persistent fields mirror the "peers" table;
 * run-time fields are rebuilt at start from the persistent ones.
 */
struct peer {
	TAILQ_ENTRY(peer)	 entry;
	int64_t			 id;		/* store row id */
	char			 name[PEER_NAME_MAX + 1];
	char			 node_keyid[PK_KEYID_HEXLEN + 1]; /* "" none */
	char			 boot_keyid[PK_KEYID_HEXLEN + 1];
	char			 addresses[PEER_ADDRS_MAX + 1]; /* "h:p h:p" */
	char			 checker[PEER_CHECKER_MAX + 1]; /* "" none */
	char			 introduced_by[PK_KEYID_HEXLEN + 1]; /* the
					   introducer's node key id, "" none */
	int			 pending;	/* introduced, waits for an
						   operator (peer_accept) */
	uint64_t		 ident_seq;	/* of its signed identity;
						   0: none (added by hand) */
	char			 labels[PK_LABELS_MAX + 1]; /* canonical
						   (labels.h), "" none */

	/* Policy (persistent). Durations in milliseconds. */
	uint64_t		 timeout;
	uint64_t		 interval;
	uint64_t		 extended_timeout;
	uint64_t		 approval_delay;	/* 0: no approval */
	uint64_t		 approval_duration;
	int			 approved_by_default;
	int			 require_notice;

	/* Liveness (persistent). */
	int			 disabled_by;	/* enum peer_disabled_by */
	uint64_t		 remaining;	/* ms left before disable, as of
						   the last save */
	uint64_t		 proof_remaining; /* ms left of what the last
						   proof of life allows, as of
						   the last save */
	int64_t			 last_seen;	/* wall ms of the last proof of
						   life, 0 never */
	int64_t			 last_check;	/* wall ms of the last check */
	int			 last_check_ok;
	int			 nblobs;

	/* Run time (monotonic ms). */
	uint64_t		 expires;	/* enabled while now < expires */
	uint64_t		 proof_until;	/* the expiry the last proof of
						   life set (peer_alive) */
	uint64_t		 notice_until;	/* NOTICE valid until */
	uint64_t		 pending_since;	/* first unapproved ask, 0 none */
	int			 decision;	/* enum peer_decision */
	uint64_t		 decision_until;
	char			 last_fail[96];	/* last recorded failure */
	struct checker_conn	*cc;		/* checker.c's state */
};
TAILQ_HEAD(peerlist, peer);

/* The protocols a boot key asks over (peer_release()). */
enum peer_proto {
	PEER_NATIVE = 0,	/* UNLOCK, doc/protocol.md */
	PEER_MANDOS = 1,	/* Mandos protocol 1 */
};

/*
 * What peer_release() decided, for the session to encode: the blobs, or
 * the reason of the refusal.
 */
struct peer_release {
	struct peer		*peer;		/* NULL: unknown boot key */
	struct store_blob	*blobs;		/* released: >= 1 of them, */
	size_t			 nblobs;	/*   store_blobs_free() them */
	int			 reason;	/* refused: PK_REFUSE_* */
};

/* Which peers this node guards (liveness.guard; peer_guarded()). */
enum node_guard {
	NODE_GUARD_HELD = 0,	/* those it holds a blob or share of */
	NODE_GUARD_ALL = 1,	/* every peer (a small cluster, tests) */
};

/* Daemon configuration (config.c has the table and the defaults). */
struct node_conf {
	char		*path;			/* the file read */
	char		*name;
	char		*key;			/* node private key file */
	int		 key_credential;	/* key is systemd's credential */
	char		*state_dir;
	char		*runtime_dir;
	char		*listen;		/* space separated addresses */
	unsigned long long port;		/* 0: any (tests) */
	char		*control_group;		/* "" root only */
	int		 log_level;		/* PK_LOG_* */
	/* limits */
	uint64_t	 line_timeout;		/* ms */
	uint64_t	 handshake_timeout;
	uint64_t	 idle_timeout;
	uint64_t	 max_frame;
	unsigned long long max_conns;
	unsigned long long max_conns_per_source;
	unsigned long long max_handshakes;	/* pending sessions (budget.c) */
	unsigned long long max_handshakes_per_source;
	unsigned long long max_unknown;		/* sessions of unknown keys */
	unsigned long long max_unknown_per_source;
	uint64_t	 unknown_timeout;	/* ms, replaces idle_timeout */
	/* liveness defaults for new peers */
	uint64_t	 interval;
	uint64_t	 timeout;
	uint64_t	 extended_timeout;
	uint64_t	 alive_mark;
	uint64_t	 checker_timeout;
	int		 guard;			/* enum node_guard */
	/* announce */
	int		 announce;
	int		 announce_mandos;
	char		*service_name;
	/* mandos */
	int		 mandos;
	/* events */
	uint64_t	 event_retention;	/* ms */
	uint64_t	 reshare_after;		/* ms; 0 never ("peerkey
						   reshare" reads it) */
	unsigned long long event_max_rows;	/* 0: no bound */
	uint64_t	 event_max_bytes;	/* 0: no bound */
	uint64_t	 repeat_interval;	/* ms (tally.c) */
	/* membership */
	unsigned long long max_introductions;	/* per introducer */
	int		 introduced_pending;	/* introduced: pending */
	/* metrics */
	char		*metrics_listen;	/* "" off; loopback:port */
};

/* The daemon's whole state; one instance, "node" in util.c. */
struct node {
	struct node_conf	 conf;
	struct ev_loop		*loop;
	struct store		*store;
	struct pk_identity	*id;		/* node key */
	struct pk_tls_creds	*creds;		/* native, with the node key */
	struct pk_tls_creds	*mandos_creds;	/* Mandos serving side: none */
	struct peerlist		 peers;
	int			 npeers;
	uint64_t		 expiry_floor;	/* no enabled peer expires
						 * before (peer_tick()) */
	uint64_t		 expiry_scan;	/* last full scan */
	int			 debug;
	int			 verbose;
	int64_t			 started;	/* wall ms ("status") */
};

extern struct node	*node;

/* util.c */
struct sockaddr;
int64_t		 wall_ms(void);
void		 sockaddr_format(const struct sockaddr *, char *host,
		    size_t hostlen, char *addr, size_t addrlen);
int		 socket_prepare(int fd);

/* listener.c */
int		 listener_init(char **cause);
void		 listener_start(void);
void		 listener_stop(void);
int		 listener_port(void);

/* session.c */
void		 session_start(int fd, const char *host, const char *addr);
int		 session_count(void);
int		 session_count_from(const char *host);
void		 session_close_all(void);

/*
 * budget.c: file descriptors and the session classes (see its top).
 * A session is in one class at a time, or none (a known key).
 */
#define SESSION_PENDING		0	/* before the end of the handshake */
#define SESSION_UNKNOWN		1	/* after it, a key no peer has */
#define SESSION_CLASSES		2
void		 budget_init(void);
unsigned long long budget_session_cap(void);
/*
 * Puts s into class (out of any other). Returns the session to close to
 * make room (never s), or NULL.
 */
struct session	*budget_enter(struct session *, int class);
void		 budget_leave(struct session *);
size_t		 budget_count(int class);
void		 budget_key(const char *host, uint8_t key[16]);
void		 budget_key_name(const uint8_t key[16], char *buf,
		    size_t len);
void		 budget_source_name(const char *addr, char *buf, size_t len);

/*
 * tally.c: repeated refusals, one log line and one event (kind, NULL
 * none) per (what, src) and interval, with a count (see its top).
 */
#define PK_TALLY_INFO	0
#define PK_TALLY_WARN	1
void		 tally(int level, const char *what, const char *src,
		    const char *kind, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
void		 tally_stop(void);

/* checker.c */
/* Starts guarding p if peer_guarded(p) (else nothing). */
void		 checker_add(struct peer *);
/* As peer_guarded(p) says now: starts (returns 1) or stops guarding p. */
int		 checker_update(struct peer *);
void		 checker_remove(struct peer *);
void		 checker_now(struct peer *);

/* control.c */
int		 control_init(char **cause);
void		 control_cleanup(void);

/* control-cmd.c: the control requests, one table of these */
struct json_t;
struct control_cmd {
	const char	*name;		/* "cmd" of the request */
	/* The answer's members (a new object), or NULL with *cause set. */
	struct json_t	*(*fn)(const struct control_cmd *, struct json_t *req,
			    const char *who, char **cause);
	int		 who;		/* CONTROL_GROUP, or 0: root only */
	int		 arg;		/* for fn, as it likes */
};
#define CONTROL_GROUP	0x1		/* root or a member of control-group */

/*
 * Runs one request (an object with "cmd") of uid. Returns the answer,
 * {"ok": true, ...}, or NULL with *cause set (allocated) for the error
 * answer.
 */
struct json_t	*control_run(struct json_t *req, uid_t uid, char **cause);
struct store_event_row;
int		 control_event_cb(const struct store_event_row *, void *array);

/* join.c */
struct pk_msg;
struct json_t	*join_invite_add(const struct control_cmd *, struct json_t *req,
		    const char *who, char **cause);
struct json_t	*join_peer_pgp(const struct control_cmd *, struct json_t *req,
		    const char *who, char **cause);
int		 join_request(const char *keyid, const char *addr,
		    const struct pk_msg *, struct pk_msg *reply, char **buf,
		    char **cause);

/* identity.c */
struct pk_ident;
/* What identity_apply() found. */
enum identity_found {
	IDENTITY_NEW = 0,	/* no peer has that node key: add it */
	IDENTITY_SAME = 1,	/* known as it is (or this node itself) */
	IDENTITY_UPDATED = 2,	/* a newer document replaced the peer's */
};
int		 identity_read(struct json_t *o, struct pk_ident *,
		    uint8_t **raw, size_t *rawlen, char **cause);
struct json_t	*identity_peer_json(struct peer *);
int		 identity_apply(const struct pk_ident *, const uint8_t *raw,
		    size_t rawlen, const char *from, int trusted,
		    char **cause);
struct peer	*identity_new_peer(const struct pk_ident *, char **cause);
struct json_t	*identity_control_add(const struct control_cmd *,
		    struct json_t *req, const char *who, char **cause);
/*
 * metrics.c: the Prometheus text (its top); the counters, counted where
 * it happens (proto: "native" or "mandos"; reason: PK_REFUSE_*).
 */
void		 metrics_release(const char *proto);
void		 metrics_refusal(const char *proto, int reason);
void		 metrics_heartbeat(int ok, uint64_t ms);
void		 metrics_heartbeat_in(void);	/* one received */
char		*metrics_text(size_t *len);
struct json_t	*metrics_control(const struct control_cmd *,
		    struct json_t *req, const char *who, char **cause);
int		 metrics_listen_check(const char *listen, char **cause);
int		 metrics_start(char **cause);
void		 metrics_stop(void);

/* config.c */
int		 config_load(const char *path, struct node_conf *, char **cause);
void		 config_free(struct node_conf *);

/* peer.c: the liveness state machine and release policy */
struct peer	*peer_by_boot_keyid(const char *keyid);
struct peer	*peer_by_node_keyid(const char *keyid);
struct peer	*peer_by_name(const char *name);
int		 peer_enabled(struct peer *, uint64_t now);
/* Does this node guard p: liveness.guard all, or it holds p's blobs. */
int		 peer_guarded(const struct peer *);
/*
 * A blob of p's was stored, from its node key at addr (a proof of life)
 * or by an operator (addr NULL): starts guarding p if it was not.
 */
void		 peer_deposited(struct peer *, uint64_t now, const char *addr);
/* A blob of p's was withdrawn: stops guarding p if it holds none now. */
void		 peer_withdrawn(struct peer *);
/* "pending", "enabled", "disabled-by-operator", "unguarded" or "disabled"
 * (status). */
const char	*peer_state_name(struct peer *, uint64_t now);
/*
 * Is p, enabled at now, enabled only by a release's extension (its last
 * proof of life would have let it expire)? Never for a peer without a
 * node key (Mandos' semantics).
 */
int		 peer_extended(const struct peer *, uint64_t now);
/* Sets p's saved times (remaining, proof_remaining) as of now. */
void		 peer_remaining_set(struct peer *, uint64_t now);
void		 peer_alive(struct peer *, uint64_t now, const char *how,
		    const char *addr);
void		 peer_check_failed(struct peer *, uint64_t now, const char *why);
/*
 * The release decision, one for both protocols: may boot key boot_keyid,
 * asking from addr over proto (enum peer_proto), have its peer's blobs at
 * now? Returns 1 with rel->blobs, the release recorded and the extended
 * timeout granted; or 0 with rel->reason, the refusal recorded (a Mandos
 * client's pending approval once only). rel->peer: NULL if unknown.
 */
int		 peer_release(const char *boot_keyid, int proto,
		    const char *addr, uint64_t now, struct peer_release *);
int		 peer_operator_enable(struct peer *, uint64_t now,
		    const char *who);
int		 peer_operator_disable(struct peer *, uint64_t now,
		    const char *who);
int		 peer_operator_decide(struct peer *, uint64_t now, int approve,
		    const char *who);
/*
 * An operator accepts pending peer p: no longer pending, enabled with a
 * full timeout; the caller starts guarding it. Returns 0, or the store's
 * error (in effect but not saved).
 */
int		 peer_accept(struct peer *, uint64_t now, const char *who);
/* How many peers on the list introducer_keyid introduced. */
int		 peer_introduced_count(const char *introducer_keyid);
void		 peer_notice(struct peer *, uint64_t now, uint64_t window,
		    const char *addr, const char *text);
uint64_t	 peer_tick(uint64_t now);
void		 peer_insert(struct peer *);

/* What a new peer is made of (peer_new()); the rest is default policy. */
struct peer_spec {
	const char	*name;		/* 1..PEER_NAME_MAX of [A-Za-z0-9._-] */
	const char	*boot_keyid;	/* 64 hex digits */
	const char	*node_keyid;	/* NULL or "": none (a Mandos client) */
	const char	*addresses;	/* NULL: none; else host:port ... */
};

/*
 * Checks a spec on its own: the name rules, the key ids, the length of
 * the addresses. Returns 0, or -1 with *cause set (allocated).
 */
int		 peer_spec_check(const struct peer_spec *, char **cause);

/*
 * Checks a peer's address list (NULL: none) as the wire's documents and
 * the control socket take it: every word an address (pk_parse_address).
 * Returns 0, or -1 with *cause set.
 */
int		 peer_addresses_check(const char *addresses, char **cause);

/*
 * Makes a new peer from spec with the daemon's default policy (config),
 * after peer_spec_check() and the checks against the list: no peer has
 * that name or either key, and the node key is not this node's. Key ids
 * are normalized. Returns the peer (not stored, not on the list yet), or
 * NULL with *cause set.
 */
struct peer	*peer_new(const struct peer_spec *, char **cause);

/*
 * Stores new peer p (store_peer_add(): with boot_pgp, NULL none, and the
 * event "added", detail how), enabled with a full timeout, and puts it on
 * the list; the caller then starts guarding it (checker_add()). Returns
 * 0, or -1 with *cause set and p freed.
 */
int		 peer_add(struct peer *, const char *boot_pgp, const char *how,
		    char **cause);
/* The same with its signed identity doc (len bytes; p->ident_seq set). */
int		 peer_add_signed(struct peer *, const char *boot_pgp,
		    const void *doc, size_t len, const char *how,
		    char **cause);

/*
 * Removes p and its blobs from the store (the event "removed" by who,
 * naming the blobs) and takes it off the list; the caller stops guarding
 * it (checker_remove()) and frees it. With removed not NULL, the blobs
 * deleted, as store_peer_remove() gives them. Returns 0, or -1 with
 * *cause set (p is kept as it was).
 */
int		 peer_remove(struct peer *, const char *who,
		    struct store_blob **removed, size_t *nremoved,
		    char **cause);
void		 peer_save_all(uint64_t now);
void		 peer_restore(struct peer *, uint64_t now);

#endif /* NODE_H */
