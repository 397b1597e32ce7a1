/*
 * node.h: private header of peerkeyd, the node daemon.
 *
 * The process model: one single-threaded libev loop. Network-facing code
 * (listener.c, session.c, checker.c) never touches sqlite: it reaches the
 * database only through the plain-struct functions of store.c, and the
 * peers' liveness state only through peer.c, so splitting the daemon into
 * privilege-separated processes later is mechanical.
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
#include "tls.h"

#define PEER_NAME_MAX		64
#define PEER_ADDRS_MAX		512	/* bytes of the address list */
#define PEER_CHECKER_MAX	1024

struct store;
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
	int64_t			 last_seen;	/* wall ms of the last proof of
						   life, 0 never */
	int64_t			 last_check;	/* wall ms of the last check */
	int			 last_check_ok;
	int			 nblobs;

	/* Run time (monotonic ms). */
	uint64_t		 expires;	/* enabled while now < expires */
	uint64_t		 notice_until;	/* NOTICE valid until */
	uint64_t		 pending_since;	/* first unapproved ask, 0 none */
	int			 decision;	/* enum peer_decision */
	uint64_t		 decision_until;
	char			 last_fail[96];	/* last recorded failure */
	struct checker_conn	*cc;		/* checker.c's state */
};
TAILQ_HEAD(peerlist, peer);

/* Daemon configuration (config.c has the table and the defaults). */
struct node_conf {
	char		*path;			/* the file read */
	char		*name;
	char		*key;			/* node private key file */
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
	/* liveness defaults for new peers */
	uint64_t	 interval;
	uint64_t	 timeout;
	uint64_t	 extended_timeout;
	uint64_t	 alive_mark;
	uint64_t	 checker_timeout;
	/* announce */
	int		 announce;
	int		 announce_mandos;
	char		*service_name;
	/* mandos */
	int		 mandos;
	/* events */
	uint64_t	 event_retention;	/* ms */
};

/* The daemon's whole state; one instance, "node" in peerkeyd.c. */
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
};

extern struct node	*node;

/* peerkeyd.c */
int64_t		 wall_ms(void);

/* listener.c */
struct sockaddr;
void		 sockaddr_format(const struct sockaddr *, char *host,
		    size_t hostlen, char *addr, size_t addrlen);
int		 socket_prepare(int fd);
int		 listener_init(char **cause);
void		 listener_start(void);
void		 listener_stop(void);
int		 listener_port(void);

/* session.c */
void		 session_start(int fd, const char *host, const char *addr);
int		 session_count(void);
int		 session_count_from(const char *host);
void		 session_close_all(void);

/* checker.c */
void		 checker_add(struct peer *);
void		 checker_remove(struct peer *);
void		 checker_now(struct peer *);

/* control.c */
int		 control_init(char **cause);
void		 control_cleanup(void);

/* join.c */
struct pk_msg;
struct json_t;
struct json_t	*join_control(struct json_t *req, const char *who);
void		 join_request(const char *keyid, const char *addr,
		    const struct pk_msg *, struct pk_msg *reply, char **buf);

/* config.c */
int		 config_load(const char *path, struct node_conf *, char **cause);
void		 config_free(struct node_conf *);

/* peer.c: the liveness state machine and release policy */
struct peer	*peer_by_boot_keyid(const char *keyid);
struct peer	*peer_by_node_keyid(const char *keyid);
struct peer	*peer_by_name(const char *name);
int		 peer_enabled(struct peer *, uint64_t now);
void		 peer_alive(struct peer *, uint64_t now, const char *how,
		    const char *addr);
void		 peer_check_failed(struct peer *, uint64_t now, const char *why);
int		 peer_unlock_decision(struct peer *, uint64_t now, int *reason);
void		 peer_released(struct peer *, uint64_t now, const char *addr,
		    const char *how);
void		 peer_refused(struct peer *, const char *boot_keyid,
		    uint64_t now, const char *addr, int reason, const char *how);
int		 peer_operator_enable(struct peer *, uint64_t now,
		    const char *who);
int		 peer_operator_disable(struct peer *, uint64_t now,
		    const char *who);
int		 peer_operator_decide(struct peer *, uint64_t now, int approve,
		    const char *who);
void		 peer_notice(struct peer *, uint64_t now, uint64_t window,
		    const char *addr, const char *text);
uint64_t	 peer_tick(uint64_t now);
void		 peer_insert(struct peer *);
void		 peer_save_all(uint64_t now);
void		 peer_restore(struct peer *, uint64_t now);

#endif /* NODE_H */
