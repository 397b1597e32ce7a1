/*
 * hbresp.c: many lightweight guarded "peers" in one process, for the
 * bench's guarding-cost figure (bench/, never installed).
 *
 *	hbresp -n N -o FILE [-a ADDR]
 *
 * Makes N fresh Ed25519 node keys and listens on N ports of ADDR
 * (default 127.0.0.1), one per key: a connection accepted on port i is
 * served with key i, so each port is a distinct peer whose TLS server key
 * is its own node key, exactly what peerkeyd's checker pins. When every
 * port listens, writes "PORT KEYID" lines to FILE (atomically: FILE.tmp,
 * then rename) and serves until SIGTERM or SIGINT:
 *
 *	the pre-TLS line "peerkey 1\r\n", a native TLS 1.3 handshake as the
 *	server (any client key is accepted: the cost measured is the
 *	checker's), then HEARTBEAT -> HEARTBEAT_REPLY with the same nonce,
 *	for as long as the client keeps the connection; anything else
 *	closes it.
 *
 * SIGUSR1 prints "hbresp: handshakes=H heartbeats=B open=O" on stderr.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "key.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

#define EVENTS_MAX	128
#define INBUF		256	/* a HEARTBEAT is 14 bytes */

struct port {
	int			 fd;
	int			 port;
	struct pk_tls_creds	*creds;
	char			 keyid[PK_KEYID_HEXLEN + 1];
};

enum sstate { S_LINE, S_HS, S_FRAMES };

struct sess {
	int		 fd;
	enum sstate	 state;
	struct port	*port;
	struct pk_tls	*tls;
	uint8_t		 in[INBUF];
	size_t		 inlen;
	uint8_t		 out[32];
	size_t		 outlen;	/* reply pending (after PK_ERR_AGAIN) */
};

/* epoll data: a port (listener) or a session, told apart by the tag. */
struct tag {
	int		 listener;
	void		*p;
};

static volatile sig_atomic_t	 quit, report;
static int			 ep;
static unsigned long long	 handshakes, heartbeats, nopen;

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "hbresp: %s: %s\n", what, why);
	exit(1);
}

/* Signal handler: quit or report. */
static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		quit = 1;
}

/* Accepts any client key: the checker's cost is what is measured. */
static int
verify_any(const char *keyid, void *arg)
{
	(void)keyid;
	(void)arg;
	return 0;
}

/* Registers fd for events with tag t. */
static void
watch(int op, int fd, uint32_t events, struct tag *t)
{
	struct epoll_event	 e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.ptr = t;
	if (epoll_ctl(ep, op, fd, &e) == -1)
		die("epoll_ctl", strerror(errno));
}

/* Closes a session. */
static void
sess_close(struct sess *s, struct tag *t)
{
	if (s->tls != NULL)
		pk_tls_free(s->tls);
	close(s->fd);
	free(s);
	free(t);
	nopen--;
}

/* Waits for the direction TLS needs. */
static void
sess_want(struct sess *s, struct tag *t)
{
	watch(EPOLL_CTL_MOD, s->fd, s->tls != NULL &&
	    pk_tls_want_write(s->tls) ? EPOLLOUT : EPOLLIN, t);
}

/* Runs a session as far as it goes; returns -1 when it is to be closed. */
static int
sess_run(struct sess *s, struct tag *t)
{
	struct pk_msg	 m;
	char		 peek[PK_LINE_MAX + 1], *nl;
	size_t		 flen;
	ssize_t		 n;
	int		 r;

	switch (s->state) {
	case S_LINE:
		/* Peek, so that no TLS byte after the line is consumed. */
		n = recv(s->fd, peek, PK_LINE_MAX, MSG_PEEK);
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		peek[n] = '\0';
		if ((nl = memchr(peek, '\n', (size_t)n)) == NULL)
			return n == PK_LINE_MAX ? -1 : 0;
		if ((size_t)(nl - peek + 1) != strlen(PK_LINE_NATIVE) ||
		    memcmp(peek, PK_LINE_NATIVE, strlen(PK_LINE_NATIVE)) != 0)
			return -1;
		if (recv(s->fd, peek, strlen(PK_LINE_NATIVE), 0) !=
		    (ssize_t)strlen(PK_LINE_NATIVE))
			return -1;
		if (pk_tls_new(&s->tls, s->fd, PK_TLS_NATIVE, PK_TLS_SERVER,
		    s->port->creds, verify_any, NULL) != 0)
			return -1;
		s->state = S_HS;
		/* FALLTHROUGH */
	case S_HS:
		if ((r = pk_tls_handshake(s->tls)) == PK_ERR_AGAIN) {
			sess_want(s, t);
			return 0;
		}
		if (r != 0)
			return -1;
		handshakes++;
		s->state = S_FRAMES;
		/* FALLTHROUGH */
	case S_FRAMES:
		for (;;) {
			if (s->outlen > 0) {
				n = pk_tls_send(s->tls, s->out, s->outlen);
				if (n == PK_ERR_AGAIN) {
					sess_want(s, t);
					return 0;
				}
				if (n != (ssize_t)s->outlen)
					return -1;
				s->outlen = 0;
			}
			r = pk_frame_next(s->in, s->inlen, INBUF - 4, &flen);
			if (r == 0) {
				if (pk_msg_decode(s->in, flen, &m) != 0 ||
				    m.type != PK_MSG_HEARTBEAT)
					return -1;
				m.type = PK_MSG_HEARTBEAT_REPLY;
				if (pk_msg_encode(&m, s->out, sizeof(s->out),
				    &s->outlen) != 0)
					return -1;
				memmove(s->in, s->in + flen, s->inlen - flen);
				s->inlen -= flen;
				heartbeats++;
				continue;
			}
			if (r != PK_ERR_TRUNCATED)
				return -1;
			n = pk_tls_recv(s->tls, s->in + s->inlen,
			    INBUF - s->inlen);
			if (n == PK_ERR_AGAIN) {
				sess_want(s, t);
				return 0;
			}
			if (n <= 0)
				return -1;
			s->inlen += (size_t)n;
		}
	}
	return 0;
}

/* Accepts what is waiting on port p. */
static void
port_accept(struct port *p)
{
	struct sess	*s;
	struct tag	*t;
	int		 fd, on = 1;

	while ((fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (t = calloc(1, sizeof(*t))) == NULL)
			die("calloc", strerror(errno));
		s->fd = fd;
		s->port = p;
		t->p = s;
		nopen++;
		watch(EPOLL_CTL_ADD, fd, EPOLLIN, t);
	}
}

int
main(int argc, char *argv[])
{
	/* on_signal's: TERM and INT end the run, USR1 prints the counts. */
	static const int	 handled[] = { SIGTERM, SIGINT, SIGUSR1 };
	struct epoll_event	 evs[EVENTS_MAX];
	struct sockaddr_in	 sin;
	struct sigaction	 sa;
	struct rlimit		 rl;
	struct pk_identity	*id;
	struct port		*ports;
	struct tag		*t;
	socklen_t		 sl;
	const char		*out = NULL, *addr = "127.0.0.1";
	char			 tmp[4096];
	FILE			*f;
	size_t			 si;
	int			 ch, i, n, nports = 0, on = 1, r;

	while ((ch = getopt(argc, argv, "a:n:o:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'n': nports = atoi(optarg); break;
		case 'o': out = optarg; break;
		default: die("usage", "hbresp -n N -o FILE [-a ADDR]");
		}
	}
	if (nports < 1 || out == NULL)
		die("usage", "hbresp -n N -o FILE [-a ADDR]");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (si = 0; si < sizeof(handled) / sizeof(handled[0]); si++)
		sigaction(handled[si], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1", strerror(errno));
	if ((ports = calloc((size_t)nports, sizeof(*ports))) == NULL)
		die("calloc", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		die(addr, "not an IPv4 address");
	for (i = 0; i < nports; i++) {
		if ((r = pk_identity_generate(&id)) != 0 ||
		    (r = pk_tls_creds_new(id, &ports[i].creds)) != 0)
			die("key", pk_strerror(r));
		memcpy(ports[i].keyid, id->keyid, sizeof(ports[i].keyid));
		pk_identity_free(id);
		sin.sin_port = 0;
		if ((ports[i].fd = socket(AF_INET, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
		    setsockopt(ports[i].fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1 ||
		    bind(ports[i].fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1 || listen(ports[i].fd, 64) == -1)
			die("listen", strerror(errno));
		sl = sizeof(sin);
		if (getsockname(ports[i].fd, (struct sockaddr *)&sin,
		    &sl) == -1)
			die("getsockname", strerror(errno));
		ports[i].port = ntohs(sin.sin_port);
		if ((t = calloc(1, sizeof(*t))) == NULL)
			die("calloc", strerror(errno));
		t->listener = 1;
		t->p = &ports[i];
		watch(EPOLL_CTL_ADD, ports[i].fd, EPOLLIN, t);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp, strerror(errno));
	for (i = 0; i < nports; i++)
		fprintf(f, "%d %s\n", ports[i].port, ports[i].keyid);
	if (fclose(f) != 0 || rename(tmp, out) == -1)
		die(out, strerror(errno));

	while (!quit) {
		if (report) {
			report = 0;
			fprintf(stderr, "hbresp: handshakes=%llu heartbeats=%llu "
			    "open=%llu\n", handshakes, heartbeats, nopen);
		}
		if ((n = epoll_wait(ep, evs, EVENTS_MAX, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			t = evs[i].data.ptr;
			if (t->listener)
				port_accept(t->p);
			else if (sess_run(t->p, t) == -1)
				sess_close(t->p, t);
		}
	}
	fprintf(stderr, "hbresp: handshakes=%llu heartbeats=%llu open=%llu\n",
	    handshakes, heartbeats, nopen);
	return 0;
}
