/*
 * loadgen.c: a load generator for unlock servers: peerkeyd (native UNLOCK)
 * and Debian's mandos server (Mandos protocol 1), through libpeerkey, so
 * that both get exactly the same work (bench/, never installed).
 *
 *	loadgen -m native|mandos -a HOST:PORT -k KEY[@LEN][,KEY[@LEN]...]
 *	    -c CONC [-d SECONDS] [-w WARMUP] [-t TIMEOUT] [-s SERVERKEYID]
 *	    [-p PID] [-g CGROUPDIR]
 *
 * CONC connections are kept in flight at all times (closed loop: a
 * finished unlock starts the next one) by one thread with an epoll loop.
 * Each unlock is a fresh TCP connection, the pre-TLS line, a TLS 1.3
 * handshake with an Ed25519 raw public key (the boot key; the KEYs are
 * used in turn), and then:
 *
 *	native	send UNLOCK, read one UNLOCK_REPLY; success is status OK
 *		with a first blob of exactly LEN bytes (the key's blob);
 *	mandos	be the Mandos client: "1\r\n", then TLS *server* with the
 *		key; read to EOF; success is exactly LEN bytes.
 *
 * Without @LEN any non-empty blob is a success.
 *
 * Failures are counted by kind: connect (refused, reset, no port), tls
 * (handshake), io (send/recv error or EOF before the reply), refused
 * (a refusal, or zero bytes from Mandos), short (wrong length), timeout
 * (the unlock took longer than TIMEOUT seconds). Every attempt of the
 * whole run counts, warm-up and drain included; throughput and latency
 * are taken over the measuring window only (WARMUP .. WARMUP+SECONDS,
 * from the connect() to the last byte of the reply).
 *
 * Server CPU per unlock (server_cpu_ms): the server's CPU from before the
 * first connect to 200 ms after the drain, over every unlock that
 * succeeded in that time; so the handshakes of the unlocks still in
 * flight when the window closes are neither lost nor counted against the
 * window (server_cpu_win_ms is the window's CPU over the window's
 * unlocks; server_cpu_pct the window's CPU over its length).
 * CPU is read from CGROUPDIR/cpuacct.usage when given
 * (a cgroup v1 cpuacct group holding the server and every process it
 * forks: exact for Mandos' fork per connection), else utime + stime +
 * cutime + cstime of /proc/PID/stat (children counted once reaped).
 *
 * Output: one line of key=value pairs on stdout; a summary on stderr.
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
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "io.h"
#include "key.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

#define BUFSZ		(16 * 1024)	/* largest reply accepted */
#define KEYS_MAX	64
#define EVENTS_MAX	256

enum mode { M_NATIVE, M_MANDOS };

enum cstate { C_FREE, C_CONNECT, C_LINE, C_HS, C_SEND, C_RECV };

enum fail {
	F_CONNECT, F_TLS, F_IO, F_REFUSED, F_SHORT, F_TIMEOUT, F_MAX
};
static const char *fail_names[F_MAX] = {
	"connect", "tls", "io", "refused", "short", "timeout"
};

struct conn {
	int		 fd;
	enum cstate	 state;
	struct pk_tls	*tls;
	uint64_t	 start;		/* us */
	size_t		 done;		/* bytes of the line or request sent */
	size_t		 got;		/* bytes of the reply */
	uint32_t	 events;	/* registered with epoll */
	int		 key;		/* index into creds[] */
	uint8_t		*buf;
};

static enum mode		 mode = M_NATIVE;
static struct sockaddr_storage	 dst;
static socklen_t		 dstlen;
static struct pk_tls_creds	*creds[KEYS_MAX];
static size_t			 bloblens[KEYS_MAX];	/* 0: any */
static int			 ncreds, nextkey;
static const char		*server_keyid;
static uint8_t			 request[64];
static size_t			 requestlen;
static const char		*line;
static int			 ep;

/* Counters: ok in the window, ok outside it, failures of the whole run. */
static uint64_t		 ok_window, ok_other, fails[F_MAX], attempts;
static uint32_t		*lat;		/* us, successes in the window */
static size_t		 nlat, latcap;
static int		 measuring;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: loadgen -m native|mandos -a HOST:PORT "
	    "-k KEY[@LEN][,KEY[@LEN]...]\n\t-c CONC [-d SECONDS] "
	    "[-w WARMUP] [-t TIMEOUT] [-s SERVERKEYID]\n\t[-p PID] "
	    "[-g CGROUPDIR]\n");
	exit(2);
}

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, why);
	exit(1);
}

/* Monotonic microseconds. */
static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The server's CPU time so far in ns (cgroup or /proc), or 0. */
static uint64_t
server_cpu_ns(pid_t pid, const char *cgroup)
{
	char			 path[512], buf[2048], *p;
	unsigned long long	 v[4];
	FILE			*f;
	uint64_t		 r = 0;
	int			 i;

	if (cgroup != NULL) {
		snprintf(path, sizeof(path), "%s/cpuacct.usage", cgroup);
		if ((f = fopen(path, "r")) == NULL)
			return 0;
		if (fscanf(f, "%llu", &v[0]) == 1)
			r = v[0];
		fclose(f);
		return r;
	}
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL ||
	    (p = strrchr(buf, ')')) == NULL) {
		fclose(f);
		return 0;
	}
	fclose(f);
	/* After "pid (comm)": field 3 is state; 14..17 are the times. */
	p += 2;
	for (i = 3; i < 14 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3]) != 4)
		return 0;
	return (uint64_t)(v[0] + v[1] + v[2] + v[3]) * 1000000000ULL /
	    (uint64_t)sysconf(_SC_CLK_TCK);
}

/* This process's own CPU time in ns. */
static uint64_t
self_cpu_ns(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
	    1000000000ULL + ((uint64_t)ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

/* Accepts any server key, or exactly -s. */
static int
verify_server(const char *keyid, void *arg)
{
	(void)arg;
	return server_keyid == NULL || strcasecmp(server_keyid, keyid) == 0 ?
	    0 : -1;
}

/* Registers the events c waits for (EPOLLIN or EPOLLOUT). */
static void
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event	 e;

	if (c->events == events)
		return;
	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == -1)
		die("epoll_ctl", strerror(errno));
	c->events = events;
}

/* Waits for what c's TLS session wants next: to write, or to read. */
static void
conn_want_tls(struct conn *c)
{
	conn_want(c, pk_tls_want_write(c->tls) ? EPOLLOUT : EPOLLIN);
}

/* Ends an attempt; counts it; frees the slot. */
static void
conn_end(struct conn *c, int fail)
{
	uint64_t	 t = now_us() - c->start;

	if (fail >= 0)
		fails[fail]++;
	else if (measuring == 1) {
		ok_window++;
		if (nlat == latcap) {
			latcap = latcap ? latcap * 2 : 65536;
			if ((lat = realloc(lat, latcap * sizeof(*lat))) == NULL)
				die("realloc", strerror(errno));
		}
		lat[nlat++] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	} else
		ok_other++;
	if (c->tls != NULL)
		pk_tls_free(c->tls);
	c->tls = NULL;
	close(c->fd);	/* also removes it from epoll */
	c->fd = -1;
	c->state = C_FREE;
}

/* Starts one attempt in slot c; returns -1 if it failed at once. */
static int
conn_start(struct conn *c)
{
	struct epoll_event	 e;
	int			 on = 1;

	attempts++;
	c->start = now_us();
	c->done = c->got = 0;
	c->tls = NULL;
	if ((c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		die("socket", strerror(errno));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->state = C_CONNECT;
	if (connect(c->fd, (struct sockaddr *)&dst, dstlen) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->state = C_FREE;
		fails[F_CONNECT]++;
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.events = c->events = EPOLLOUT;
	e.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) == -1)
		die("epoll_ctl", strerror(errno));
	return 0;
}

/* Advances c as far as it can go without blocking. */
static void
conn_run(struct conn *c)
{
	static struct pk_msg	 m;
	socklen_t		 sl;
	size_t			 flen;
	ssize_t			 n;
	int			 err, r;

	switch (c->state) {
	case C_CONNECT:
		err = 0;
		sl = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
		    err != 0) {
			conn_end(c, F_CONNECT);
			return;
		}
		c->state = C_LINE;
		/* FALLTHROUGH */
	case C_LINE:
		while (c->done < strlen(line)) {
			n = write(c->fd, line + c->done, strlen(line) - c->done);
			if (n == -1 && errno == EAGAIN) {
				conn_want(c, EPOLLOUT);
				return;
			}
			if (n <= 0) {
				conn_end(c, errno == ECONNRESET ||
				    errno == EPIPE ? F_CONNECT : F_IO);
				return;
			}
			c->done += (size_t)n;
		}
		if (pk_tls_new(&c->tls, c->fd, mode == M_NATIVE ?
		    PK_TLS_NATIVE : PK_TLS_MANDOS, mode == M_NATIVE ?
		    PK_TLS_CLIENT : PK_TLS_SERVER, creds[nextkey],
		    mode == M_NATIVE ? verify_server : NULL, NULL) != 0)
			die("pk_tls_new", "failed");
		c->key = nextkey;
		nextkey = (nextkey + 1) % ncreds;
		c->state = C_HS;
		/* FALLTHROUGH */
	case C_HS:
		r = pk_tls_handshake(c->tls);
		if (r == PK_ERR_AGAIN) {
			conn_want_tls(c);
			return;
		}
		if (r != 0) {
			conn_end(c, F_TLS);
			return;
		}
		c->done = 0;
		c->state = mode == M_NATIVE ? C_SEND : C_RECV;
		if (c->state == C_RECV)
			goto recv;
		/* FALLTHROUGH */
	case C_SEND:
		while (c->done < requestlen) {
			n = pk_tls_send(c->tls, request + c->done,
			    requestlen - c->done);
			if (n == PK_ERR_AGAIN) {
				conn_want_tls(c);
				return;
			}
			if (n < 0) {
				conn_end(c, F_IO);
				return;
			}
			c->done += (size_t)n;
		}
		c->state = C_RECV;
		/* FALLTHROUGH */
	case C_RECV:
 recv:
		for (;;) {
			if (c->got == BUFSZ) {
				conn_end(c, F_SHORT);
				return;
			}
			n = pk_tls_recv(c->tls, c->buf + c->got, BUFSZ - c->got);
			if (n == PK_ERR_AGAIN) {
				conn_want_tls(c);
				return;
			}
			if (n == PK_ERR_EOF) {
				if (mode == M_NATIVE)
					conn_end(c, F_IO);
				else if (c->got == 0)
					conn_end(c, F_REFUSED);
				else if (bloblens[c->key] != 0 &&
				    c->got != bloblens[c->key])
					conn_end(c, F_SHORT);
				else
					conn_end(c, -1);
				return;
			}
			if (n < 0) {
				conn_end(c, F_IO);
				return;
			}
			c->got += (size_t)n;
			if (mode == M_MANDOS)
				continue;
			r = pk_frame_next(c->buf, c->got, BUFSZ - 4, &flen);
			if (r == PK_ERR_TRUNCATED)
				continue;
			if (r != 0 || pk_msg_decode(c->buf, flen, &m) != 0 ||
			    m.type != PK_MSG_UNLOCK_REPLY) {
				conn_end(c, F_IO);
				return;
			}
			if (m.u.unlock_reply.status != PK_UNLOCK_OK)
				conn_end(c, F_REFUSED);
			else if (bloblens[c->key] != 0 &&
			    m.u.unlock_reply.blobs[0].data.len !=
			    bloblens[c->key])
				conn_end(c, F_SHORT);
			else
				conn_end(c, -1);
			return;
		}
	case C_FREE:
		break;
	}
}

/* Sorts latencies. */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of the sorted latencies, in ms. */
static double
pct(double p)
{
	size_t	 i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)nlat);
	if (i >= nlat)
		i = nlat - 1;
	return lat[i] / 1000.0;
}

/* Resolves HOST:PORT into dst. */
static void
resolve(const char *addr)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[16];
	int		 r;

	if (pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    "4141") != 0)
		die(addr, "bad address");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
		die(addr, gai_strerror(r));
	memcpy(&dst, res->ai_addr, res->ai_addrlen);
	dstlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* Loads the comma-separated key files into credentials. */
static void
load_keys(char *list)
{
	struct pk_identity	*id;
	char			*k, *len;
	int			 r;

	while ((k = strsep(&list, ",")) != NULL) {
		if (*k == '\0')
			continue;
		if (ncreds == KEYS_MAX)
			die(k, "too many keys");
		if ((len = strrchr(k, '@')) != NULL) {
			*len++ = '\0';
			bloblens[ncreds] = strtoul(len, NULL, 10);
		}
		if ((r = pk_identity_load(k, &id)) != 0)
			die(k, pk_strerror(r));
		if ((r = pk_tls_creds_new(id, &creds[ncreds++])) != 0)
			die(k, pk_strerror(r));
	}
	if (ncreds == 0)
		usage();
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[EVENTS_MAX];
	struct conn		*conns;
	struct pk_msg		 m;
	struct rlimit		 rl;
	const char		*cgroup = NULL, *addr = NULL;
	char			*keys = NULL;
	double			 secs = 10, warm = 1, timeout = 10, win = 0;
	uint64_t		 t0, tw, te, tstop, now, cpu0 = 0, cpu1 = 0;
	uint64_t		 cpustart, cpuend;
	double			 cpu_ok, cpu_win;
	uint64_t		 self0 = 0, self1 = 0, lastscan = 0, nfail = 0;
	pid_t			 pid = 0;
	int			 conc = 8, ch, i, n, active, r;
	size_t			 k;

	while ((ch = getopt(argc, argv, "a:c:d:g:k:m:p:s:t:w:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'c': conc = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'g': cgroup = optarg; break;
		case 'k': keys = optarg; break;
		case 'm':
			if (strcmp(optarg, "native") == 0)
				mode = M_NATIVE;
			else if (strcmp(optarg, "mandos") == 0)
				mode = M_MANDOS;
			else
				usage();
			break;
		case 'p': pid = (pid_t)atoi(optarg); break;
		case 's': server_keyid = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		default: usage();
		}
	}
	if (addr == NULL || keys == NULL || conc < 1 || secs <= 0 ||
	    warm < 0 || timeout <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	/* Room for CONC sockets and then some. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)conc + 64)
		die("ulimit -n", "too low for the concurrency asked");
	resolve(addr);
	load_keys(keys);
	line = mode == M_NATIVE ? PK_LINE_NATIVE : PK_LINE_MANDOS;
	memset(&m, 0, sizeof(m));
	m.version = PK_PROTO_VERSION;
	m.type = PK_MSG_UNLOCK;
	if ((r = pk_msg_encode(&m, request, sizeof(request), &requestlen)) != 0)
		die("encode", pk_strerror(r));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1", strerror(errno));
	if ((conns = calloc((size_t)conc, sizeof(*conns))) == NULL)
		die("calloc", strerror(errno));
	for (i = 0; i < conc; i++) {
		conns[i].fd = -1;
		if ((conns[i].buf = malloc(BUFSZ)) == NULL)
			die("malloc", strerror(errno));
	}

	cpustart = server_cpu_ns(pid, cgroup);
	t0 = now_us();
	tw = t0 + (uint64_t)(warm * 1e6);
	te = tw + (uint64_t)(secs * 1e6);
	tstop = te + (uint64_t)(timeout * 1e6) + 1000000;
	if (warm == 0) {
		measuring = 1;
		cpu0 = server_cpu_ns(pid, cgroup);
		self0 = self_cpu_ns();
	}
	for (;;) {
		now = now_us();
		if (measuring == 0 && now >= tw) {
			measuring = 1;
			cpu0 = server_cpu_ns(pid, cgroup);
			self0 = self_cpu_ns();
		}
		if (measuring == 1 && now >= te) {
			measuring = 2;
			cpu1 = server_cpu_ns(pid, cgroup);
			self1 = self_cpu_ns();
			win = (double)(now - tw) / 1e6;
		}
		active = 0;
		for (i = 0; i < conc; i++) {
			if (conns[i].state == C_FREE && measuring < 2 &&
			    conn_start(&conns[i]) == -1)
				continue;
			if (conns[i].state != C_FREE)
				active++;
		}
		if ((measuring == 2 && active == 0) || now > tstop)
			break;
		n = epoll_wait(ep, evs, EVENTS_MAX, 10);
		for (i = 0; i < n; i++)
			conn_run(evs[i].data.ptr);
		/* Time out the slow ones (a scan every 100 ms is plenty). */
		now = now_us();
		if (now - lastscan > 100000) {
			lastscan = now;
			for (i = 0; i < conc; i++)
				if (conns[i].state != C_FREE &&
				    now - conns[i].start >
				    (uint64_t)(timeout * 1e6))
					conn_end(&conns[i], F_TIMEOUT);
		}
	}
	for (i = 0; i < conc; i++)
		if (conns[i].state != C_FREE)
			conn_end(&conns[i], F_TIMEOUT);
	if (measuring < 2) {
		cpu1 = server_cpu_ns(pid, cgroup);
		self1 = self_cpu_ns();
		win = (double)(now_us() - tw) / 1e6;
	}
	/* Give the server 200 ms to finish with the last connections. */
	usleep(200000);
	cpuend = server_cpu_ns(pid, cgroup);
	cpu_ok = ok_window + ok_other ? (double)(cpuend - cpustart) / 1e6 /
	    (double)(ok_window + ok_other) : 0;
	cpu_win = ok_window ? (double)(cpu1 - cpu0) / 1e6 /
	    (double)ok_window : 0;
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	for (k = 0; k < F_MAX; k++)
		nfail += fails[k];

	printf("mode=%s conc=%d secs=%.2f attempts=%llu ok=%llu fail=%llu "
	    "rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
	    "ok_outside=%llu server_cpu_ms=%.3f server_cpu_win_ms=%.3f "
	    "server_cpu_pct=%.1f loadgen_cpu_pct=%.1f",
	    mode == M_NATIVE ? "native" : "mandos", conc, win,
	    (unsigned long long)attempts, (unsigned long long)ok_window,
	    (unsigned long long)nfail, ok_window / win, pct(50), pct(90),
	    pct(99), (unsigned long long)ok_other, cpu_ok, cpu_win,
	    (double)(cpu1 - cpu0) / 1e7 / win,
	    (double)(self1 - self0) / 1e7 / win);
	for (k = 0; k < F_MAX; k++)
		printf(" fail_%s=%llu", fail_names[k],
		    (unsigned long long)fails[k]);
	printf("\n");
	fprintf(stderr, "loadgen: %s x%d: %.1f unlocks/s over %.1f s, "
	    "%llu failed of %llu, p50 %.2f ms p99 %.2f ms, server CPU "
	    "%.3f ms/unlock\n", mode == M_NATIVE ? "native" : "mandos", conc,
	    ok_window / win, win, (unsigned long long)nfail,
	    (unsigned long long)attempts, pct(50), pct(99), cpu_ok);
	return 0;
}
