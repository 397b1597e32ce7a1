/*
 * session.c: one accepted connection, from the pre-TLS line to close.
 *
 * States:
 *   LINE       read the protocol line under line_timeout (Mandos waits for
 *              ever here; we close)
 *   HANDSHAKE  TLS under handshake_timeout. Native: we are the TLS server
 *              and both sides show Ed25519 raw public keys. Mandos: roles
 *              are inverted, we are the TLS client and show nothing.
 *   REQUESTS   native only: frames in, one reply per request, idle_timeout
 *              between requests. UNLOCK ends the session after its reply.
 *   MANDOS     send the blob (or nothing), close_notify, close. While an
 *              approval is pending the connection is held, as Mandos does.
 *   CLOSING    flush what is queued, then close.
 *
 * The native requests are session-native.c's (who may do what, from the
 * TLS-authenticated key id only); the Mandos exchange is here, and for
 * both peer_release() decides a release. Nothing a peer sends can end
 * the daemon: every error closes this session with one log line naming
 * the peer's address (and key id once known). Before a peer's key is
 * known (the line, the handshake, an unknown key) anyone can cause such
 * errors at will: their lines go through tally() (one per source and
 * reason and interval, with a count), so a flood cannot fill the disk.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "frame.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "session-int.h"
#include "store.h"
#include "tls.h"

static TAILQ_HEAD(, session)	sessions = TAILQ_HEAD_INITIALIZER(sessions);
static int			nsessions;

static void	session_io_cb(struct ev_loop *, ev_io *, int);
static void	session_timer_cb(struct ev_loop *, ev_timer *, int);
static void	session_close(struct session *);
static void	session_admit(struct session *, int);
static void	session_step(struct session *);

#define MANDOS_RETRY_MS		250

/* Re-arms the io watcher for the given events. */
static void
session_want(struct session *s, int events)
{
	if (ev_is_active(&s->io) && s->io.events == events)
		return;
	ev_io_stop(node->loop, &s->io);
	ev_io_set(&s->io, s->fd, events);
	ev_io_start(node->loop, &s->io);
}

/* (Re)starts the session's deadline, ms from now; see session-int.h. */
void
session_deadline(struct session *s, uint64_t ms)
{
	ev_timer_stop(node->loop, &s->timer);
	ev_timer_set(&s->timer, ms / 1000.0, 0.);
	ev_timer_start(node->loop, &s->timer);
}

/* Counts open sessions from host (for the per-source cap). */
int
session_count_from(const char *host)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, &sessions, entry)
		if (strcmp(s->host, host) == 0)
			n++;
	return n;
}

int
session_count(void)
{
	return nsessions;
}

/* Starts a session on an accepted, non-blocking socket. */
void
session_start(int fd, const char *host, const char *addr)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s: calloc", __func__);
		close(fd);
		return;
	}
	s->fd = fd;
	s->state = S_LINE;
	snprintf(s->host, sizeof(s->host), "%s", host);
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	ev_io_init(&s->io, session_io_cb, fd, EV_READ);
	s->io.data = s;
	ev_timer_init(&s->timer, session_timer_cb, 0., 0.);
	s->timer.data = s;
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	nsessions++;
	ev_io_start(node->loop, &s->io);
	session_deadline(s, node->conf.line_timeout);
	log_debug("%s: %s: connected (%d open)", __func__, s->addr,
	    nsessions);
	s->b_class = -1;
	budget_key(s->host, s->b_key);
	session_admit(s, SESSION_PENDING);
}

/*
 * Puts s into a budget class (budget.c); the session that has to make
 * room for it is closed now, with a line counted per source.
 */
static void
session_admit(struct session *s, int class)
{
	struct session	*v;
	char		 src[INET6_ADDRSTRLEN + 8];

	if ((v = budget_enter(s, class)) == NULL)
		return;
	budget_key_name(v->b_key, src, sizeof(src));
	tally(PK_TALLY_WARN, class == SESSION_PENDING ? "evict-pending" :
	    "evict-unknown", src, NULL, "session: %s: closed to make room: "
	    "%zu %s (limits.max-%s)", v->addr, budget_count(class),
	    class == SESSION_PENDING ? "connections not yet authenticated" :
	    "sessions of unknown keys", class == SESSION_PENDING ?
	    "handshakes" : "unknown");
	session_close(v);
}

/* Frees everything of s and closes its socket. */
static void
session_close(struct session *s)
{
	budget_leave(s);
	ev_io_stop(node->loop, &s->io);
	ev_timer_stop(node->loop, &s->timer);
	if (s->tls != NULL)
		pk_tls_free(s->tls);
	close(s->fd);
	free(s->in);
	free(s->out);
	TAILQ_REMOVE(&sessions, s, entry);
	nsessions--;
	log_debug("session: %s: closed (%d open)", s->addr, nsessions);
	free(s);
}

/* Closes every session (shutdown). */
void
session_close_all(void)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&sessions)) != NULL)
		session_close(s);
}

/*
 * Ends a session after an error, with one log line. The session is only
 * marked: the event callback that is running closes it on its way out, so
 * no function below it ever touches freed memory.
 */
void
session_fail(struct session *s, const char *what, int r)
{
	char	 src[INET6_ADDRSTRLEN + 8];

	if (s->dead)
		return;
	s->dead = 1;
	if (s->b_class == -1) {
		log_warnx("session: %s%s%.16s%s: %s: %s", s->addr,
		    s->keyid[0] ? " key " : "", s->keyid,
		    s->keyid[0] ? "..." : "", what,
		    r ? pk_strerror(r) : "closed");
		return;
	}
	/* No peer's key (yet): anyone can cause this as often as they
	 * like, so it is counted per source and reason (tally.c). */
	budget_key_name(s->b_key, src, sizeof(src));
	tally(PK_TALLY_WARN, what, src, NULL, "session: %s%s%.16s%s: %s: %s",
	    s->addr, s->keyid[0] ? " key " : "", s->keyid,
	    s->keyid[0] ? "..." : "", what, r ? pk_strerror(r) : "closed");
}

/* The verify rule of the handshake: record the key id, accept any key;
 * authorisation is decided per request from the key id. */
static int
session_verify(const char *keyid, void *arg)
{
	struct session	*s = arg;

	snprintf(s->keyid, sizeof(s->keyid), "%s", keyid);
	return 0;
}

/*
 * Could buf[0 .. n) still grow into one of the two lines we accept? Only
 * "peerkey 1\r\n" and "1\r\n" are ever accepted, so anything else (a TLS
 * ClientHello sent without a line, say) is closed at once instead of
 * being held until the line timeout or PK_LINE_MAX bytes.
 */
static int
session_line_prefix(const uint8_t *buf, size_t n)
{
	static const char *const lines[] = { PK_LINE_NATIVE, PK_LINE_MANDOS };
	size_t	 i, len;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		len = strlen(lines[i]);
		if (memcmp(buf, lines[i], n < len ? n : len) == 0)
			return 1;
	}
	return 0;
}

/* Reads the pre-TLS line, consuming exactly its bytes. */
static void
session_read_line(struct session *s)
{
	uint8_t		 buf[PK_LINE_MAX];
	enum pk_line_proto proto;
	size_t		 linelen;
	ssize_t		 n;
	int		 r;

	n = recv(s->fd, buf, sizeof(buf), MSG_PEEK);
	if (n == 0) {
		session_fail(s, "closed before the protocol line", 0);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		session_fail(s, "recv", PK_ERR_SYSTEM);
		return;
	}
	r = pk_line_parse(buf, (size_t)n, &proto, &linelen);
	if (r == PK_ERR_TRUNCATED && session_line_prefix(buf, (size_t)n))
		return;		/* wait for more, under the line deadline */
	if (r == PK_ERR_TRUNCATED)
		r = PK_ERR_BAD_LINE;
	if (r != 0) {
		session_fail(s, "bad protocol line", r);
		return;
	}
	if (proto == PK_LINE_PROTO_MANDOS && !node->conf.mandos) {
		session_fail(s, "Mandos protocol 1 is disabled", 0);
		return;
	}
	/* Consume exactly the line; the TLS bytes behind it stay queued. */
	if (recv(s->fd, buf, linelen, 0) != (ssize_t)linelen) {
		session_fail(s, "recv", PK_ERR_SYSTEM);
		return;
	}
	s->proto = proto;
	if (proto == PK_LINE_PROTO_NATIVE)
		r = pk_tls_new(&s->tls, s->fd, PK_TLS_NATIVE, PK_TLS_SERVER,
		    node->creds, session_verify, s);
	else
		r = pk_tls_new(&s->tls, s->fd, PK_TLS_MANDOS, PK_TLS_CLIENT,
		    node->mandos_creds, session_verify, s);
	if (r != 0) {
		session_fail(s, "TLS set-up", r);
		return;
	}
	s->state = S_HANDSHAKE;
	session_deadline(s, node->conf.handshake_timeout);
	session_step(s);	/* the ClientHello may be here already */
}

/*
 * Queues one message; close_after ends the session once it is sent.
 * Returns 0, or an error after which s is closed.
 */
int
session_send(struct session *s, const struct pk_msg *m, int close_after)
{
	size_t	 need, written;
	int	 r;

	if ((need = pk_msg_encoded_len(m)) == 0 ||
	    (s->out = malloc(need)) == NULL) {
		session_fail(s, "encode", need == 0 ? PK_ERR_INTERNAL :
		    PK_ERR_ALLOC);
		return -1;
	}
	if ((r = pk_msg_encode(m, s->out, need, &written)) != 0) {
		session_fail(s, "encode", r);
		return -1;
	}
	s->outlen = written;
	s->outoff = 0;
	s->close_after = close_after;
	return 0;
}

/*
 * A Mandos client sends nothing after the handshake: while it is held
 * for approval, its socket turns readable only when it goes away (or
 * breaks the protocol). Says whether it did; then the session is dead.
 */
static int
session_mandos_gone(struct session *s)
{
	char	 buf[64];
	ssize_t	 n;

	n = pk_tls_recv(s->tls, buf, sizeof(buf));
	if (n == PK_ERR_AGAIN)
		return 0;
	if (n > 0)
		log_warnx("session: %s: Mandos client sent data while waiting "
		    "for approval; closing", s->addr);
	else
		log_info("unlock: Mandos client at %s hung up while waiting "
		    "for approval", s->addr);
	s->dead = 1;
	return 1;
}

/*
 * The Mandos protocol 1 exchange: blob or nothing, then close.
 * peer_release() decides, as for a native UNLOCK.
 */
static void
session_mandos(struct session *s)
{
	struct peer_release	 rel;

	if (!peer_release(s->keyid, PEER_MANDOS, s->addr, pk_now_ms(),
	    &rel)) {
		if (rel.reason == PK_REFUSE_PENDING) {
			/* Hold the connection, as Mandos does, and ask
			 * again shortly. */
			if (!ev_is_active(&s->timer) || s->timer.repeat == 0) {
				log_info("unlock: peer %s: Mandos client at "
				    "%s waits for approval", rel.peer->name,
				    s->addr);
			}
			ev_timer_stop(node->loop, &s->timer);
			ev_timer_set(&s->timer, MANDOS_RETRY_MS / 1000.0,
			    MANDOS_RETRY_MS / 1000.0);
			ev_timer_start(node->loop, &s->timer);
			/* Readable now means it hung up (or broke the
			 * protocol): see session_mandos_gone(). */
			session_want(s, EV_READ);
			return;
		}
		/* Refused: close_notify with zero bytes, as Mandos does. */
		ev_timer_stop(node->loop, &s->timer);
		pk_tls_bye(s->tls);
		s->dead = 1;
		return;
	}
	/* Mandos sends the raw OpenPGP message, no framing. A Mandos
	 * client holds one secret: the first blob. */
	s->out = malloc(rel.blobs[0].len);
	if (s->out != NULL) {
		memcpy(s->out, rel.blobs[0].data, rel.blobs[0].len);
		s->outlen = rel.blobs[0].len;
	}
	store_blobs_free(rel.blobs, rel.nblobs);
	if (s->out == NULL) {
		session_fail(s, "buffer", PK_ERR_ALLOC);
		return;
	}
	s->outoff = 0;
	s->close_after = 1;
	s->state = S_CLOSING;
	ev_timer_stop(node->loop, &s->timer);
	session_deadline(s, node->conf.idle_timeout);
	session_step(s);
}

/* Sends queued output; returns 1 when all is sent, 0 to wait, -1 closed. */
static int
session_flush(struct session *s)
{
	ssize_t	 n;

	while (s->out != NULL && s->outoff < s->outlen) {
		n = pk_tls_send(s->tls, s->out + s->outoff,
		    s->outlen - s->outoff);
		if (n == PK_ERR_AGAIN) {
			session_want(s, EV_WRITE);
			return 0;
		}
		if (n < 0) {
			session_fail(s, "write", (int)n);
			return -1;
		}
		s->outoff += (size_t)n;
	}
	free(s->out);
	s->out = NULL;
	s->outlen = s->outoff = 0;
	if (s->close_after) {
		pk_tls_bye(s->tls);
		s->dead = 1;
		return -1;
	}
	session_want(s, EV_READ);
	return 1;
}

/* Advances the session as far as the socket allows. */
static void
session_step(struct session *s)
{
	int	 r;

	switch (s->state) {
	case S_LINE:
		session_read_line(s);
		return;
	case S_HANDSHAKE:
		r = pk_tls_handshake(s->tls);
		if (r == PK_ERR_AGAIN) {
			session_want(s, pk_tls_want_write(s->tls) ?
			    EV_WRITE : EV_READ);
			return;
		}
		if (r != 0) {
			char	what[192];

			/* Say why: GnuTLS's reason (no key, TLS 1.2, ...). */
			snprintf(what, sizeof(what), "TLS handshake (%s)",
			    pk_tls_error(s->tls));
			session_fail(s, what, r);
			return;
		}
		log_debug("session: %s: %s handshake done, key %s", s->addr,
		    s->proto == PK_LINE_PROTO_NATIVE ? "native" : "mandos",
		    s->keyid);
		/* Known keys leave the budgets; unknown ones get their own,
		 * and a short deadline. */
		budget_leave(s);
		s->idle_ms = node->conf.idle_timeout;
		if (peer_by_boot_keyid(s->keyid) == NULL &&
		    peer_by_node_keyid(s->keyid) == NULL) {
			s->idle_ms = node->conf.unknown_timeout;
			session_admit(s, SESSION_UNKNOWN);
		}
		if (s->proto == PK_LINE_PROTO_MANDOS) {
			s->state = S_MANDOS;
			session_mandos(s);
			return;
		}
		s->state = S_REQUESTS;
		session_deadline(s, s->idle_ms);
		session_want(s, EV_READ);
		/* FALLTHROUGH */
	case S_REQUESTS:
		/* One request at a time: send its reply before reading on. */
		while (!s->dead) {
			if (s->out != NULL && session_flush(s) <= 0)
				return;
			if (!session_read_frame(s))
				return;
		}
		return;
	case S_MANDOS:
		/* Only a held client is watched for reading. */
		if (!session_mandos_gone(s))
			session_mandos(s);
		return;
	case S_CLOSING:
		(void)session_flush(s);
		return;
	}
}

static void
session_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session	*s = w->data;

	session_step(s);
	if (s->dead)
		session_close(s);
}

static void
session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session	*s = w->data;
	char		 src[INET6_ADDRSTRLEN + 8];
	static const char *what[] = {
		"no protocol line in time", "TLS handshake timed out",
		"idle", "mandos", "could not send in time"
	};

	if (s->state == S_MANDOS) {
		session_mandos(s);
		if (s->dead)
			session_close(s);
		return;
	}
	if (s->state == S_REQUESTS && s->out == NULL && s->inlen == 0) {
		log_debug("session: %s: idle, closing", s->addr);
		session_close(s);
		return;
	}
	if (s->b_class == -1)
		log_warnx("session: %s: %s", s->addr, what[s->state]);
	else {
		/* Counted per source, as in session_fail(). */
		budget_key_name(s->b_key, src, sizeof(src));
		tally(PK_TALLY_WARN, what[s->state], src, NULL,
		    "session: %s: %s", s->addr, what[s->state]);
	}
	session_close(s);
}
