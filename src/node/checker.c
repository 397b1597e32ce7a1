/*
 * checker.c: guarding peers: a heartbeat to each peer's node key every
 * interval, and optionally a Mandos-style checker command.
 *
 * For each peer it guards (peer.c's rules: by default those it holds a
 * blob or share of) with a node key and at least one address, this node
 * connects (non-blocking) to one of its addresses, does a native TLS
 * handshake with its own node key, requires the server to show exactly the
 * peer's node key, sends HEARTBEAT with a random nonce and waits for the
 * HEARTBEAT_REPLY that echoes it, all within checker_timeout. The
 * connection is then kept for the next heartbeat (a TLS handshake per
 * heartbeat would cost 1,000 peers more than the 2% of a core we allow);
 * if the other side has closed it meanwhile, we reconnect. A failure moves
 * on to the peer's next address for the next try.
 *
 * Only the node key proves life. A peer with a node key and a checker
 * command must pass both; the command alone (say fping) cannot keep a
 * machine enabled, because a thief who holds the machine's initramfs can
 * answer pings. A Mandos client has no node key: for it the command is the
 * only check, as in Mandos.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "frame.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

enum cc_state {
	CC_IDLE,		/* no connection */
	CC_CONNECTING,
	CC_HANDSHAKE,
	CC_SEND,		/* heartbeat being sent */
	CC_WAIT,		/* waiting for the reply */
	CC_OPEN,		/* connected, between heartbeats */
	CC_COMMAND,		/* checker command running */
};

#define CC_BUF		64	/* a HEARTBEAT_REPLY is 14 bytes */
#define CHECKER_ARGS	32
#define NONCE_POOL	512	/* random bytes fetched at once: 64 nonces */
#define SLOT_MAX_MS	500	/* checks start on a grid this fine at most */

struct checker_conn {
	struct peer		*peer;
	enum cc_state		 state;
	int			 fd;
	struct pk_tls		*tls;
	int			 addr_index;	/* which address to use */
	char			 addr[PEER_ADDRS_MAX + 1];
	uint64_t		 nonce;
	uint8_t			 out[CC_BUF];
	size_t			 outlen, outoff;
	uint8_t			 in[CC_BUF];
	size_t			 inlen;
	ev_io			 io;
	ev_timer		 interval;	/* next check */
	ev_timer		 deadline;	/* this check's timeout */
	uint64_t		 due;		/* of the next check (pk_now_ms) */
	uint64_t		 sent;		/* this heartbeat's start */
	ev_child		 child;
	pid_t			 pid;
	char			 verify_fail[PK_KEYID_HEXLEN + 1];
};

static void	cc_io_cb(struct ev_loop *, ev_io *, int);
static void	cc_step(struct checker_conn *);
static void	cc_done(struct checker_conn *, int ok, const char *why);
static void	cc_command_start(struct checker_conn *);

/* Drops the connection (but not the timers). */
static void
cc_disconnect(struct checker_conn *cc)
{
	ev_io_stop(node->loop, &cc->io);
	pk_io_drop(&cc->tls, &cc->fd);
	cc->state = CC_IDLE;
	cc->inlen = cc->outlen = cc->outoff = 0;
}

/* Picks the peer's addr_index'th address (wrapping) into cc->addr. */
static int
cc_pick_address(struct checker_conn *cc)
{
	const char	*p;
	char		 a[PK_ADDR_LEN];
	int		 n = 0, i, r;

	for (p = cc->peer->addresses; pk_list_next(&p, a, sizeof(a)) != 0;)
		n++;
	if (n == 0)
		return -1;
	cc->addr_index %= n;
	p = cc->peer->addresses;
	for (i = 0; (r = pk_list_next(&p, a, sizeof(a))) != 0; i++)
		if (i == cc->addr_index)	/* too long: "bad address" */
			snprintf(cc->addr, sizeof(cc->addr), "%s",
			    r > 0 ? a : "");
	return 0;
}

/*
 * Starts a non-blocking connect to the current address. Returns 0, or -1
 * with *cause set.
 */
static int
cc_connect(struct checker_conn *cc, char **cause)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[NI_MAXHOST], port[NI_MAXSERV], defport[16];
	int		 r;

	if (cc_pick_address(cc) == -1) {
		pk_cause_set(cause, "no address");
		return -1;
	}
	snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
	if (pk_addr_split(cc->addr, host, sizeof(host), port, sizeof(port),
	    defport) != 0) {
		pk_cause_set(cause, "bad address");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		pk_cause_set(cause, "bad address");
		return -1;
	}
	cc->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cc->fd == -1 || socket_prepare(cc->fd) == -1) {
		freeaddrinfo(res);
		pk_cause_set(cause, "socket");
		return -1;
	}
	if (connect(cc->fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		freeaddrinfo(res);
		pk_cause_set(cause, "%s", strerror(errno));
		return -1;
	}
	freeaddrinfo(res);
	cc->state = CC_CONNECTING;
	ev_io_set(&cc->io, cc->fd, EV_WRITE);
	ev_io_start(node->loop, &cc->io);
	return 0;
}

/* The verify rule: the server must show exactly this peer's node key. */
static int
cc_verify(const char *keyid, void *arg)
{
	struct checker_conn	*cc = arg;

	if (strcmp(keyid, cc->peer->node_keyid) == 0)
		return 0;
	snprintf(cc->verify_fail, sizeof(cc->verify_fail), "%s", keyid);
	return -1;
}

/*
 * Takes a fresh random nonce from a pool refilled by one getrandom() call
 * every NONCE_POOL / 8 heartbeats, not one call per heartbeat.
 */
static int
cc_nonce(uint64_t *nonce)
{
	static uint8_t	 pool[NONCE_POOL];
	static size_t	 left;

	if (left < sizeof(*nonce)) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			return -1;
		left = sizeof(pool);
	}
	left -= sizeof(*nonce);
	memcpy(nonce, pool + left, sizeof(*nonce));
	explicit_bzero(pool + left, sizeof(*nonce));
	return 0;
}

/* Encodes a fresh HEARTBEAT into cc->out. */
static int
cc_heartbeat_prepare(struct checker_conn *cc)
{
	struct pk_msg	 m;

	if (cc_nonce(&cc->nonce) != 0)
		return -1;
	pk_msg_init(&m, PK_MSG_HEARTBEAT);
	m.u.heartbeat.nonce = cc->nonce;
	cc->outoff = 0;
	cc->inlen = 0;
	return pk_msg_encode(&m, cc->out, sizeof(cc->out), &cc->outlen);
}

/*
 * Waits for the socket in the given direction. The watcher already has
 * cc->fd (cc_connect() set it): only the events change, and nothing at all
 * if they are the same, so that libev makes no epoll_ctl() call for it.
 */
static void
cc_want(struct checker_conn *cc, int events)
{
	if (ev_is_active(&cc->io) &&
	    (cc->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(node->loop, &cc->io);
	ev_io_modify(&cc->io, events);
	ev_io_start(node->loop, &cc->io);
}

/* Advances the check as far as the socket allows. */
static void
cc_step(struct checker_conn *cc)
{
	struct pk_msg	 m;
	size_t		 framelen;
	ssize_t		 n;
	socklen_t	 len;
	int		 err, r;

	switch (cc->state) {
	case CC_CONNECTING:
		len = sizeof(err);
		if (getsockopt(cc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			cc_done(cc, 0, strerror(err));
			return;
		}
		if (pk_io_write_all(cc->fd, PK_LINE_NATIVE,
		    strlen(PK_LINE_NATIVE), pk_now_ms() + 1000) != 0) {
			cc_done(cc, 0, "cannot send the protocol line");
			return;
		}
		cc->verify_fail[0] = '\0';
		if ((r = pk_tls_new(&cc->tls, cc->fd, PK_TLS_NATIVE,
		    PK_TLS_CLIENT, node->creds, cc_verify, cc)) != 0) {
			cc_done(cc, 0, pk_strerror(r));
			return;
		}
		cc->state = CC_HANDSHAKE;
		/* FALLTHROUGH */
	case CC_HANDSHAKE:
		r = pk_tls_handshake(cc->tls);
		if (r == PK_ERR_AGAIN) {
			cc_want(cc, pk_tls_want_write(cc->tls) ? EV_WRITE :
			    EV_READ);
			return;
		}
		if (r == PK_ERR_PEER_REJECTED) {
			log_warnx("checker: peer %s at %s shows key %.16s..., "
			    "not its node key", cc->peer->name, cc->addr,
			    cc->verify_fail);
			cc_done(cc, 0, "wrong node key");
			return;
		}
		if (r != 0) {
			cc_done(cc, 0, "TLS handshake failed");
			return;
		}
		cc->state = CC_SEND;
		/* FALLTHROUGH */
	case CC_SEND:
		while (cc->outoff < cc->outlen) {
			n = pk_tls_send(cc->tls, cc->out + cc->outoff,
			    cc->outlen - cc->outoff);
			if (n == PK_ERR_AGAIN) {
				cc_want(cc, EV_WRITE);
				return;
			}
			if (n < 0) {
				cc_done(cc, 0, "send failed");
				return;
			}
			cc->outoff += (size_t)n;
		}
		cc->state = CC_WAIT;
		cc_want(cc, EV_READ);
		/* The reply cannot be there yet (unless GnuTLS holds it):
		 * wait for it rather than make a recv() that fails. */
		if (pk_tls_pending(cc->tls) == 0)
			return;
		/* FALLTHROUGH */
	case CC_WAIT:
		for (;;) {
			r = pk_frame_next(cc->in, cc->inlen, sizeof(cc->in) - 4,
			    &framelen);
			if (r == 0)
				break;
			if (r != PK_ERR_TRUNCATED) {
				cc_done(cc, 0, "bad reply");
				return;
			}
			n = pk_tls_recv(cc->tls, cc->in + cc->inlen,
			    sizeof(cc->in) - cc->inlen);
			if (n == PK_ERR_AGAIN)
				return;
			if (n < 0) {
				cc_done(cc, 0, n == PK_ERR_EOF ?
				    "connection closed" : "read failed");
				return;
			}
			cc->inlen += (size_t)n;
		}
		if (pk_msg_decode(cc->in, framelen, &m) != 0 ||
		    framelen != cc->inlen) {
			cc_done(cc, 0, "bad reply");
			return;
		}
		if (m.type == PK_MSG_ERROR) {
			cc_done(cc, 0, "refused by the peer (not known there?)");
			return;
		}
		if (m.type != PK_MSG_HEARTBEAT_REPLY ||
		    m.u.heartbeat.nonce != cc->nonce) {
			cc_done(cc, 0, "wrong reply");
			return;
		}
		cc->state = CC_OPEN;
		cc->inlen = 0;
		/* Notice a close by the other side while idle. */
		cc_want(cc, EV_READ);
		cc_done(cc, 1, NULL);
		return;
	case CC_OPEN:
		/* Readable while idle: EOF or junk; drop the connection. */
		cc_disconnect(cc);
		return;
	case CC_IDLE:
	case CC_COMMAND:
		return;
	}
}

/* Ends one check. */
static void
cc_done(struct checker_conn *cc, int ok, const char *why)
{
	struct peer	*p = cc->peer;
	char		 buf[PEER_ADDRS_MAX + 128];

	ev_timer_stop(node->loop, &cc->deadline);
	metrics_heartbeat(ok, pk_now_ms() - cc->sent);
	if (!ok) {
		snprintf(buf, sizeof(buf), "heartbeat to %s: %s", cc->addr,
		    why);
		cc_disconnect(cc);
		cc->addr_index++;	/* next time, the next address */
		peer_check_failed(p, pk_now_ms(), buf);
		return;
	}
	if (p->checker[0] != '\0') {
		cc_command_start(cc);
		return;
	}
	peer_alive(p, pk_now_ms(), "heartbeat", cc->addr);
}

static void
cc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	cc_step(w->data);
}

static void
cc_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct checker_conn	*cc = w->data;

	if (cc->state == CC_COMMAND) {
		log_warnx("checker: peer %s: command timed out; killing it",
		    cc->peer->name);
		kill(cc->pid, SIGKILL);
		return;		/* the child watcher reports the failure */
	}
	cc_done(cc, 0, "timed out");
}

/* Starts one check of cc's peer. */
static void
cc_check(struct checker_conn *cc)
{
	char	*cause = NULL;

	if (cc->state != CC_IDLE && cc->state != CC_OPEN)
		return;		/* the previous check is still running */
	if (cc->peer->node_keyid[0] != '\0' &&
	    cc->peer->addresses[0] == '\0') {
		/* No address to call: only its own heartbeats to us can
		 * keep it alive (a peer behind NAT, say). */
		log_debug("checker: peer %s has no address; waiting for its "
		    "heartbeats", cc->peer->name);
		return;
	}
	ev_timer_set(&cc->deadline, node->conf.checker_timeout / 1000.0, 0.);
	ev_timer_start(node->loop, &cc->deadline);
	if (cc->peer->node_keyid[0] == '\0') {
		cc_command_start(cc);
		return;
	}
	cc->sent = pk_now_ms();
	if (cc_heartbeat_prepare(cc) != 0) {
		cc_done(cc, 0, "cannot make a nonce");
		return;
	}
	if (cc->state == CC_OPEN) {
		cc->state = CC_SEND;
		cc_step(cc);
		return;
	}
	if (cc_connect(cc, &cause) == -1)
		cc_done(cc, 0, cause != NULL ? cause : "out of memory");
	free(cause);
}

/*
 * Sets cc->due to base + after (monotonic ms) rounded up to the next point
 * of a grid of interval / 20 (SLOT_MAX_MS at most), and returns the
 * seconds from now to it. The checks of many peers then fall due at the
 * same instants and are sent in one wake-up of the daemon (their replies
 * read in a few), where random instants cost a wake-up each. Counting
 * from the previous due time, not from when the timer ran, keeps the
 * interval exact on average; a check is at most one slot late.
 */
static double
cc_schedule(struct checker_conn *cc, uint64_t base, uint64_t after)
{
	uint64_t	 now = pk_now_ms(), interval = cc->peer->interval;
	uint64_t	 slot, due;

	slot = interval / 20;
	if (slot > SLOT_MAX_MS)
		slot = SLOT_MAX_MS;
	if (slot == 0)
		slot = 1;
	due = (base + after + slot - 1) / slot * slot;
	if (due <= now || due > now + after + slot)
		due = (now + after + slot - 1) / slot * slot;
	if (due <= now)
		due += slot;
	cc->due = due;
	return (due - now) / 1000.0;
}

static void
cc_interval_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct checker_conn	*cc = w->data;

	cc_check(cc);
	w->repeat = cc_schedule(cc, cc->due, cc->peer->interval);
	ev_timer_again(loop, w);
}

/*
 * Splits cmd on white space into argv, replacing %(host)s with the host
 * of the peer's first address and %% with %. No shell is involved.
 */
static int
cc_command_argv(struct checker_conn *cc, char *buf, size_t buflen,
    char **argv)
{
	char		 host[NI_MAXHOST] = "", port[NI_MAXSERV];
	char		 first[PK_ADDR_LEN];
	const char	*s = cc->peer->checker, *p = cc->peer->addresses;
	char		*o = buf, *end = buf + buflen - 1;
	int		 argc = 0, inword = 0;

	if (pk_list_next(&p, first, sizeof(first)) == 1)
		(void)pk_addr_split(first, host, sizeof(host), port,
		    sizeof(port), "0");
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			if (inword) {
				if (o >= end)
					return -1;
				*o++ = '\0';
				inword = 0;
			}
			continue;
		}
		if (!inword) {
			if (argc == CHECKER_ARGS - 1)
				return -1;
			argv[argc++] = o;
			inword = 1;
		}
		if (strncmp(s, "%(host)s", 8) == 0) {
			size_t	hl = strlen(host);

			if (o + hl >= end)
				return -1;
			memcpy(o, host, hl);
			o += hl;
			s += 7;
		} else if (strncmp(s, "%%", 2) == 0) {
			if (o >= end)
				return -1;
			*o++ = '%';
			s++;
		} else {
			if (o >= end)
				return -1;
			*o++ = *s;
		}
	}
	*o = '\0';
	argv[argc] = NULL;
	return argc;
}

static void
cc_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct checker_conn	*cc = w->data;
	char			 why[64];
	int			 status = w->rstatus;

	ev_child_stop(loop, w);
	ev_timer_stop(loop, &cc->deadline);
	cc->pid = -1;
	cc->state = cc->tls != NULL ? CC_OPEN : CC_IDLE;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		peer_alive(cc->peer, pk_now_ms(), cc->peer->node_keyid[0] ?
		    "heartbeat and checker" : "checker", cc->addr);
		return;
	}
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "checker exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "checker killed by signal %d",
		    WTERMSIG(status));
	peer_check_failed(cc->peer, pk_now_ms(), why);
}

/* Runs the peer's checker command (fork + execvp, no shell). */
static void
cc_command_start(struct checker_conn *cc)
{
	char	 buf[PEER_CHECKER_MAX + 512], *argv[CHECKER_ARGS];
	pid_t	 pid;
	int	 devnull;

	if (cc->peer->checker[0] == '\0') {
		ev_timer_stop(node->loop, &cc->deadline);
		peer_check_failed(cc->peer, pk_now_ms(),
		    "no node key and no checker command: cannot check");
		return;
	}
	if (cc_command_argv(cc, buf, sizeof(buf), argv) <= 0) {
		ev_timer_stop(node->loop, &cc->deadline);
		peer_check_failed(cc->peer, pk_now_ms(),
		    "checker command too long or empty");
		return;
	}
	if ((pid = fork()) == -1) {
		ev_timer_stop(node->loop, &cc->deadline);
		peer_check_failed(cc->peer, pk_now_ms(), "fork failed");
		return;
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDWR)) != -1) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			if (devnull > 2)
				close(devnull);
		}
		/* Not the daemon's sockets, database or control socket. */
		pk_closefrom(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	cc->pid = pid;
	cc->state = CC_COMMAND;
	ev_child_set(&cc->child, pid, 0);
	ev_child_start(node->loop, &cc->child);
	/* The deadline timer is running: it kills a command that hangs. */
	if (!ev_is_active(&cc->deadline)) {
		ev_timer_set(&cc->deadline, node->conf.checker_timeout / 1000.0,
		    0.);
		ev_timer_start(node->loop, &cc->deadline);
	}
}

/* Starts guarding p if this node guards it (peer_guarded(): peer.c's
 * rules): the first check at a random slot of its interval, so that many
 * peers do not all fire at once. */
void
checker_add(struct peer *p)
{
	struct checker_conn	*cc;
	uint32_t		 rnd = 0;
	double			 first;

	if (p->cc != NULL || !peer_guarded(p))
		return;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		fatal("%s: calloc", __func__);
	cc->peer = p;
	cc->fd = -1;
	cc->pid = -1;
	cc->state = CC_IDLE;
	ev_init(&cc->io, cc_io_cb);
	cc->io.data = cc;
	ev_init(&cc->deadline, cc_deadline_cb);
	cc->deadline.data = cc;
	ev_init(&cc->child, cc_child_cb);
	cc->child.data = cc;
	/* A random start spreads the checks; without one, none. */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = 0;
	first = cc_schedule(cc, pk_now_ms(),
	    (uint64_t)(p->interval * (rnd / 4294967296.0)));
	ev_timer_init(&cc->interval, cc_interval_cb, first,
	    p->interval / 1000.0);
	cc->interval.data = cc;
	ev_timer_start(node->loop, &cc->interval);
	p->cc = cc;
}

/* Stops guarding p (removed, or shutdown). */
void
checker_remove(struct peer *p)
{
	struct checker_conn	*cc = p->cc;

	if (cc == NULL)
		return;
	ev_timer_stop(node->loop, &cc->interval);
	ev_timer_stop(node->loop, &cc->deadline);
	if (cc->pid > 0) {
		ev_child_stop(node->loop, &cc->child);
		kill(cc->pid, SIGKILL);
		waitpid(cc->pid, NULL, 0);
	}
	cc_disconnect(cc);
	free(cc);
	p->cc = NULL;
}

/* Starts or stops guarding p as peer_guarded() says now; see node.h. */
int
checker_update(struct peer *p)
{
	if (!peer_guarded(p)) {
		checker_remove(p);
		return 0;
	}
	if (p->cc != NULL)
		return 0;
	checker_add(p);
	return 1;
}

/* Checks p now (operator's request, or a new address). */
void
checker_now(struct peer *p)
{
	if (p->cc != NULL)
		cc_check(p->cc);
}
