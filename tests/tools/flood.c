/*
 * flood.c: a hostile client for the flood tests (tests/hostile), many
 * connections from many source addresses in one epoll loop, through
 * libpeerkey (real TLS 1.3, Ed25519 raw public keys; never installed).
 *
 *	flood stall -a HOST:PORT -b SOURCES -n N -d SECONDS [-r MS]
 *	    [-s line|hs|key]
 *		keeps N connections open for SECONDS, slot i stalling at
 *		stage i % 3: "line" (connected, sends nothing), "hs" (the
 *		native line and the first 6 bytes of a ClientHello), "key"
 *		(the line and a whole TLS handshake with a key no one
 *		knows, then silence). A connection the server closes is
 *		opened again MS later (default 0: at once; the flood
 *		keeps its pressure). -s: every slot at that one stage.
 *	flood unlock -a HOST:PORT -b SOURCES -c CONC -d SECONDS
 *		UNLOCK with keys no one knows at full speed: CONC
 *		attempts in flight, each a fresh connection, handshake,
 *		UNLOCK, one reply.
 *
 * SOURCES: a file of numeric addresses, one a line; slot i binds to
 * address i modulo their number (so the server sees that many sources).
 * The unknown keys are a pool of 64 made at start.
 *
 * Output: a line "progress open=N opened=N closed=N attempts=N" every
 * second, then one line on stdout at the end (key=value):
 *	stall:  opened, held_max (connections established at once, as this
 *		side saw them), closed (by the server), handshakes (stage
 *		"key" handshakes done), refused_connect, per stage closed_*
 *	unlock: attempts, refused_unknown, other_reply, failed
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "io.h"
#include "key.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

#define NKEYS		64
#define MAXSRC		1024
#define BUFSZ		4096

enum stage { ST_LINE, ST_HS, ST_KEY, NSTAGES };
enum cst { C_FREE, C_CONNECT, C_WRITE, C_TLS, C_SEND, C_RECV, C_STALL };

struct conn {
	int		 fd;
	enum cst	 st;
	enum stage	 stage;
	int		 src;
	struct pk_tls	*tls;
	uint64_t	 again;		/* C_FREE: not before */
	size_t		 done, got;
	uint8_t		 buf[BUFSZ];
};

static int			 unlock_mode;
static struct sockaddr_storage	 dst;
static socklen_t		 dstlen;
static struct sockaddr_storage	 srcs[MAXSRC];
static socklen_t		 srclens[MAXSRC];
static int			 nsrc;
static struct pk_tls_creds	*creds[NKEYS];
static int			 ep;
static struct conn		*conns;
static int			 nconns;
static uint8_t			 request[64];
static size_t			 requestlen;
static uint64_t			 reopen_ms;
static int			 only_stage = -1;

static unsigned long long	 opened, closed, handshakes, refused_connect;
static unsigned long long	 closed_stage[NSTAGES];
static unsigned long long	 attempts, refused_unknown, other_reply, failed;
static long			 open_now, held_max;

static const char	 partial_hello[] = "peerkey 1\r\n\x16\x03\x01\x02\x00\x01";

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "flood: %s: %s\n", what, why);
	exit(2);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: flood stall -a HOST:PORT -b SOURCES -n N "
	    "-d SECONDS [-r MS] [-s line|hs|key]\n       flood unlock -a HOST:PORT -b SOURCES "
	    "-c CONC -d SECONDS\n");
	exit(2);
}

/* Any server key will do: the flood only wants the server's work. */
static int
verify_any(const char *keyid, void *arg)
{
	(void)keyid; (void)arg;
	return 0;
}

static void
resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo	 hints, *res;
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
		die(host, gai_strerror(r));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
load_sources(const char *path)
{
	char	 line[128];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL)
		die(path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL && nsrc < MAXSRC) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		resolve(line, "0", &srcs[nsrc], &srclens[nsrc]);
		nsrc++;
	}
	fclose(f);
	if (nsrc == 0)
		die(path, "no source address");
}

static void
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event	 e;

	memset(&e, 0, sizeof(e));
	e.events = events | EPOLLRDHUP;
	e.data.ptr = c;
	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Ends a connection; by_server: the server closed it. */
static void
conn_end(struct conn *c, int by_server)
{
	if (c->st == C_STALL || c->st == C_WRITE || c->st == C_TLS ||
	    c->st == C_SEND || c->st == C_RECV)
		open_now--;
	if (by_server && !unlock_mode) {
		closed++;
		closed_stage[c->stage]++;
	}
	if (c->tls != NULL)
		pk_tls_free(c->tls);
	c->tls = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	c->again = pk_now_ms() + reopen_ms;
}

/* Waits for what TLS wants next. */
static void
tls_wait(struct conn *c)
{
	conn_want(c, pk_tls_want_write(c->tls) ? EPOLLOUT : EPOLLIN);
}

/* An attempt that failed: counted, ended. */
static void
conn_fail(struct conn *c)
{
	if (unlock_mode)
		failed++;
	conn_end(c, 1);
}

static void
conn_start(struct conn *c)
{
	struct epoll_event	 e;
	int			 on = 1;

	c->done = c->got = 0;
	c->tls = NULL;
	if ((c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		c->st = C_FREE;
		return;
	}
	(void)setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(c->fd, (struct sockaddr *)&srcs[c->src], srclens[c->src])
	    == -1)
		die("bind", strerror(errno));
	if (unlock_mode)
		attempts++;
	if (connect(c->fd, (struct sockaddr *)&dst, dstlen) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->st = C_FREE;
		refused_connect++;
		if (unlock_mode)
			failed++;
		return;
	}
	c->st = C_CONNECT;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT | EPOLLRDHUP;
	e.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) == -1)
		die("epoll_ctl", strerror(errno));
}

/* Something came from the server, or it closed: in a stall, the end. */
static void
stall_event(struct conn *c)
{
	char	 b[256];
	ssize_t	 n;

	if (c->tls != NULL) {
		n = pk_tls_recv(c->tls, b, sizeof(b));
		if (n == PK_ERR_AGAIN)
			return;
	} else {
		n = read(c->fd, b, sizeof(b));
		if (n == -1 && errno == EAGAIN)
			return;
	}
	conn_end(c, 1);
}

static void
conn_run(struct conn *c, uint32_t ev)
{
	struct pk_msg	 m;
	const char	*out;
	socklen_t	 sl;
	size_t		 outlen, flen;
	ssize_t		 n;
	int		 err, r;

	switch (c->st) {
	case C_CONNECT:
		err = 0;
		sl = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
		    err != 0) {
			refused_connect++;
			if (unlock_mode)
				failed++;
			conn_end(c, 0);
			return;
		}
		opened++;
		if (++open_now > held_max)
			held_max = open_now;
		c->st = C_WRITE;
		if (!unlock_mode && c->stage == ST_LINE) {
			c->st = C_STALL;
			conn_want(c, EPOLLIN);
			return;
		}
		/* FALLTHROUGH */
	case C_WRITE:
		out = c->stage == ST_HS && !unlock_mode ? partial_hello :
		    PK_LINE_NATIVE;
		outlen = c->stage == ST_HS && !unlock_mode ?
		    sizeof(partial_hello) - 1 : strlen(PK_LINE_NATIVE);
		while (c->done < outlen) {
			n = write(c->fd, out + c->done, outlen - c->done);
			if (n == -1 && errno == EAGAIN) {
				conn_want(c, EPOLLOUT);
				return;
			}
			if (n <= 0) {
				conn_fail(c);
				return;
			}
			c->done += (size_t)n;
		}
		if (!unlock_mode && c->stage == ST_HS) {
			c->st = C_STALL;
			conn_want(c, EPOLLIN);
			return;
		}
		if (pk_tls_new(&c->tls, c->fd, PK_TLS_NATIVE, PK_TLS_CLIENT,
		    creds[(size_t)(c - conns) % NKEYS], verify_any, NULL) != 0)
			die("pk_tls_new", "failed");
		c->st = C_TLS;
		/* FALLTHROUGH */
	case C_TLS:
		if ((r = pk_tls_handshake(c->tls)) == PK_ERR_AGAIN)
			tls_wait(c);
		else if (r != 0)
			conn_fail(c);
		if (r != 0)
			return;
		handshakes++;
		c->done = 0;
		if (!unlock_mode) {
			c->st = C_STALL;
			conn_want(c, EPOLLIN);
			return;
		}
		c->st = C_SEND;
		/* FALLTHROUGH */
	case C_SEND:
		while (c->done < requestlen) {
			n = pk_tls_send(c->tls, request + c->done,
			    requestlen - c->done);
			if (n == PK_ERR_AGAIN)
				tls_wait(c);
			else if (n < 0)
				conn_fail(c);
			if (n < 0)
				return;
			c->done += (size_t)n;
		}
		c->st = C_RECV;
		conn_want(c, EPOLLIN);
		/* FALLTHROUGH */
	case C_RECV:
		for (;;) {
			if (c->got == BUFSZ) {
				other_reply++;
				conn_end(c, 1);
				return;
			}
			n = pk_tls_recv(c->tls, c->buf + c->got,
			    BUFSZ - c->got);
			if (n != PK_ERR_AGAIN && n < 0)
				conn_fail(c);
			if (n < 0)
				return;
			c->got += (size_t)n;
			r = pk_frame_next(c->buf, c->got, BUFSZ - 4, &flen);
			if (r == PK_ERR_TRUNCATED)
				continue;
			if (r == 0 && pk_msg_decode(c->buf, flen, &m) == 0 &&
			    m.type == PK_MSG_UNLOCK_REPLY &&
			    m.u.unlock_reply.status != PK_UNLOCK_OK &&
			    m.u.unlock_reply.reason == PK_REFUSE_UNKNOWN)
				refused_unknown++;
			else
				other_reply++;
			conn_end(c, 0);
			return;
		}
	case C_STALL:
		(void)ev;
		stall_event(c);
		return;
	case C_FREE:
		return;
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[256];
	struct pk_identity	*id;
	struct pk_msg		 m;
	struct rlimit		 rl;
	const char		*addr = NULL, *sources = NULL;
	char			 host[256], port[16];
	uint64_t		 end, tick, t;
	long			 secs = 0;
	int			 opt, i, n, count = 0;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "unlock") == 0)
		unlock_mode = 1;
	else if (strcmp(argv[1], "stall") != 0)
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "a:b:n:c:d:r:s:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'b': sources = optarg; break;
		case 'n': case 'c': count = atoi(optarg); break;
		case 'd': secs = atol(optarg); break;
		case 'r': reopen_ms = (uint64_t)atol(optarg); break;
		case 's':
			only_stage = strcmp(optarg, "line") == 0 ? ST_LINE :
			    strcmp(optarg, "hs") == 0 ? ST_HS :
			    strcmp(optarg, "key") == 0 ? ST_KEY : -2;
			if (only_stage == -2)
				usage();
			break;
		default: usage();
		}
	}
	if (addr == NULL || sources == NULL || count <= 0 || secs <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    "4141") != 0)
		die(addr, "bad address");
	resolve(host, port, &dst, &dstlen);
	load_sources(sources);
	rl.rlim_cur = rl.rlim_max = (rlim_t)count + 256;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("setrlimit", strerror(errno));
	for (i = 0; i < NKEYS; i++) {
		if (pk_identity_generate(&id) != 0 ||
		    pk_tls_creds_new(id, &creds[i]) != 0)
			die("key", "cannot make one");
		pk_identity_free(id);
	}
	pk_msg_init(&m, PK_MSG_UNLOCK);
	if (pk_msg_encode(&m, request, sizeof(request), &requestlen) != 0)
		die("UNLOCK", "cannot encode");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll", strerror(errno));
	nconns = count;
	if ((conns = calloc((size_t)nconns, sizeof(*conns))) == NULL)
		die("calloc", strerror(errno));
	for (i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		conns[i].src = i % nsrc;
		conns[i].stage = only_stage >= 0 ? (enum stage)only_stage :
		    (enum stage)(i % NSTAGES);
	}
	end = pk_now_ms() + (uint64_t)secs * 1000;
	tick = pk_now_ms() + 1000;
	while (pk_now_ms() < end) {
		if (pk_now_ms() >= tick) {
			printf("progress open=%ld opened=%llu closed=%llu "
			    "attempts=%llu\n", open_now, opened, closed,
			    attempts);
			fflush(stdout);
			tick += 1000;
		}
		t = pk_now_ms();
		for (i = 0; i < nconns; i++)
			if (conns[i].st == C_FREE && conns[i].again <= t)
				conn_start(&conns[i]);
		n = epoll_wait(ep, evs, 256, 20);
		for (i = 0; i < n; i++)
			conn_run(evs[i].data.ptr, evs[i].events);
	}
	if (unlock_mode)
		printf("attempts=%llu refused_unknown=%llu other_reply=%llu "
		    "failed=%llu sources=%d\n", attempts, refused_unknown,
		    other_reply, failed, nsrc);
	else
		printf("opened=%llu held_max=%ld closed=%llu handshakes=%llu "
		    "refused_connect=%llu closed_line=%llu closed_hs=%llu "
		    "closed_key=%llu sources=%d\n", opened, held_max, closed,
		    handshakes, refused_connect, closed_stage[ST_LINE],
		    closed_stage[ST_HS], closed_stage[ST_KEY], nsrc);
	fflush(stdout);
	_exit(0);
}
