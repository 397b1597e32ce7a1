/*
 * session-int.h: what session.c (the connection: line, handshake, Mandos,
 * output) and session-native.c (the native protocol's frames and
 * requests) share, and nobody else: node.h has the session's interface to
 * the rest of the daemon.
 */
#ifndef SESSION_INT_H
#define SESSION_INT_H

#include <sys/queue.h>
#include <sys/types.h>
#include <net/if.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "key.h"
#include "line.h"

struct pk_msg;
struct pk_tls;

#define SESSION_IN_INITIAL	512	/* bytes of the first input buffer */

enum session_state {
	S_LINE,
	S_HANDSHAKE,
	S_REQUESTS,
	S_MANDOS,
	S_CLOSING,
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	int			 fd;
	enum session_state	 state;
	enum pk_line_proto	 proto;
	char			 addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
	char			 host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	struct pk_tls		*tls;
	char			 keyid[PK_KEYID_HEXLEN + 1];
	ev_io			 io;
	ev_timer		 timer;
	/* input: frame bytes received so far */
	uint8_t			*in;
	size_t			 inlen, insize;
	/* output: one encoded reply being sent */
	uint8_t			*out;
	size_t			 outlen, outoff;
	int			 close_after;	/* close once out is sent */
	int			 dead;		/* close on return to the loop */
};

/* session.c */

/* (Re)starts the session's deadline, ms from now. */
void	session_deadline(struct session *, uint64_t ms);

/*
 * Ends a session after an error, with one log line (what, and r's
 * pk_strerror() if not 0). The session is only marked dead: the event
 * callback that is running closes it on its way out.
 */
void	session_fail(struct session *, const char *what, int r);

/*
 * Queues one message; close_after ends the session once it is sent.
 * Returns 0, or -1 after which the session is dead.
 */
int	session_send(struct session *, const struct pk_msg *, int close_after);

/* session-native.c */

/*
 * Reads until one whole frame is in, then handles its request. Returns 1
 * when a request was handled (its reply is queued), 0 to wait for the
 * socket.
 */
int	session_read_frame(struct session *);

/*
 * Handles one decoded request of s (whose key id is known): its reply is
 * queued (session_send()), and an ERROR ends the session. Called by
 * session_read_frame(), and by tests/fuzz/fuzz-session.c, which feeds the
 * handlers decoded messages without a socket.
 */
void	session_request(struct session *, const struct pk_msg *);

#endif /* SESSION_INT_H */
