/*
 * metrics.c: the daemon's metrics in the Prometheus text exposition
 * format (version 0.0.4), named by Prometheus' conventions (peerkey_
 * prefix, base units in the name, _total for counters); doc/peerkeyd.8,
 * "METRICS", lists them.
 *
 * Two ways out, the same text: the control request "metrics" (so
 * "peerkey metrics", and node_exporter's textfile collector from a cron
 * job, need no listener), and, when [metrics] listen names a loopback
 * address and port, HTTP GET /metrics as a Prometheus server on this host
 * scrapes it (as Debian's prometheus-*-exporter packages serve on
 * localhost). The HTTP side is libmicrohttpd driven from the daemon's
 * libev loop (its epoll descriptor watched, MHD_run() when it is ready
 * and when its timeout falls due): one thread, so the text is made from
 * the daemon's own state while nothing else runs. Loopback only, at most
 * METRICS_CONNS connections, each closed after METRICS_TIMEOUT_S of
 * silence: the metrics name peers and their states, which only this host
 * should see.
 *
 * Counters (releases, refusals, heartbeats) count since the daemon
 * started (peerkey_start_time_seconds); the rest is read at each scrape.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "addr.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

#define METRICS_CONNS		8
#define METRICS_TIMEOUT_S	5
#define METRICS_TEXT_MAX	(4 * 1024 * 1024)	/* bytes of one scrape */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Heartbeat round trips (seconds): the histogram's upper bounds. */
static const double hb_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define HB_BUCKETS	(sizeof(hb_bounds) / sizeof(hb_bounds[0]))

static struct {
	int64_t			 start_ms;	/* wall */
	unsigned long long	 releases[2];	/* native, mandos */
	unsigned long long	 refusals[2][PK_REFUSE_MAX + 1];
	unsigned long long	 heartbeats[2];	/* failed, ok */
	unsigned long long	 heartbeats_in;	/* received, answered */
	unsigned long long	 hb_count[HB_BUCKETS];	/* not cumulative */
	unsigned long long	 hb_n;
	double			 hb_sum;	/* seconds */
	struct MHD_Daemon	*httpd;
	ev_io			 io;
	ev_timer		 timer;
} m;

/* The text being made: a growing buffer, or failed (out of memory). */
struct mbuf {
	char	*p;
	size_t	 len, size;
	int	 failed;
};

static void __attribute__((format(printf, 2, 3)))
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*np;
	int	 n;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->size - b->len) {
			b->len += (size_t)n;
			return;
		}
		if (n < 0 || b->size >= METRICS_TEXT_MAX ||
		    (np = realloc(b->p, b->size * 2)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->size *= 2;
	}
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void
mb_label(struct mbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			mb_printf(b, "\\%c", *s);
		else if (*s == '\n')
			mb_printf(b, "\\n");
		else
			mb_printf(b, "%c", *s);
	}
}

/* "name{peer="NAME"} ", the value to follow. */
static void
mb_peer(struct mbuf *b, const char *name, const struct peer *p)
{
	mb_printf(b, "%s{peer=\"", name);
	mb_label(b, p->name);
	mb_printf(b, "\"} ");
}

static void
mb_family(struct mbuf *b, const char *name, const char *type,
    const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_release(const char *proto)
{
	m.releases[strcmp(proto, "mandos") == 0]++;
}

void
metrics_refusal(const char *proto, int reason)
{
	if (reason >= 0 && reason <= PK_REFUSE_MAX)
		m.refusals[strcmp(proto, "mandos") == 0][reason]++;
}

void
metrics_heartbeat(int ok, uint64_t ms)
{
	double	 s = ms / 1000.0;
	size_t	 i;

	m.heartbeats[ok != 0]++;
	if (!ok)
		return;
	for (i = 0; i < HB_BUCKETS && s > hb_bounds[i]; i++)
		;
	if (i < HB_BUCKETS)
		m.hb_count[i]++;
	m.hb_n++;
	m.hb_sum += s;
}

void
metrics_heartbeat_in(void)
{
	m.heartbeats_in++;
}

/* Peers by state, and each peer's liveness. */
static void
metrics_peers(struct mbuf *b, uint64_t now)
{
	static const char *const states[] = { "enabled", "disabled",
	    "disabled-by-operator", "pending", "unguarded" };
	struct peer	*p;
	size_t		 i;
	int		 n;
	int64_t		 wall = wall_ms();

	mb_family(b, "peerkey_peers", "gauge", "Peers this node guards, by "
	    "state.");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		n = 0;
		TAILQ_FOREACH(p, &node->peers, entry)
			n += strcmp(peer_state_name(p, now), states[i]) == 0;
		mb_printf(b, "peerkey_peers{state=\"%s\"} %d\n", states[i], n);
	}
	mb_family(b, "peerkey_peer_enabled", "gauge", "1 while the peer is "
	    "enabled (it may be released to), else 0.");
	TAILQ_FOREACH(p, &node->peers, entry) {
		mb_peer(b, "peerkey_peer_enabled", p);
		mb_printf(b, "%d\n", peer_enabled(p, now) && !p->pending);
	}
	mb_family(b, "peerkey_peer_last_seen_age_seconds", "gauge",
	    "Seconds since the peer's last proof of life (a good check, or a "
	    "heartbeat of its own); no sample if never.");
	TAILQ_FOREACH(p, &node->peers, entry) {
		if (p->last_seen <= 0)
			continue;
		mb_peer(b, "peerkey_peer_last_seen_age_seconds", p);
		mb_printf(b, "%.3f\n", wall > p->last_seen ?
		    (wall - p->last_seen) / 1000.0 : 0.0);
	}
	mb_family(b, "peerkey_peer_last_check_ok", "gauge", "1 if the "
	    "peer's last check succeeded, 0 if it failed; no sample if never "
	    "checked.");
	TAILQ_FOREACH(p, &node->peers, entry) {
		if (p->last_check <= 0)
			continue;
		mb_peer(b, "peerkey_peer_last_check_ok", p);
		mb_printf(b, "%d\n", p->last_check_ok != 0);
	}
}

/* The counters since the start. */
static void
metrics_counters(struct mbuf *b)
{
	static const char *const proto[] = { "native", "mandos" };
	unsigned long long	 cum = 0;
	char			 why[32];
	size_t			 i;
	int			 j, r;

	mb_family(b, "peerkey_releases_total", "counter", "UNLOCK requests "
	    "answered with the blobs, by protocol.");
	for (j = 0; j < 2; j++)
		mb_printf(b, "peerkey_releases_total{protocol=\"%s\"} %llu\n",
		    proto[j], m.releases[j]);
	mb_family(b, "peerkey_refusals_total", "counter", "UNLOCK requests "
	    "refused, by protocol and reason.");
	for (j = 0; j < 2; j++)
		for (r = 1; r <= PK_REFUSE_MAX; r++) {
			/* The wire's name, "_" for " ": unknown_boot_key. */
			snprintf(why, sizeof(why), "%s",
			    pk_refusal_name((unsigned)r));
			for (i = 0; why[i] != '\0'; i++)
				if (why[i] == ' ')
					why[i] = '_';
			mb_printf(b, "peerkey_refusals_total{protocol=\"%s\","
			    "reason=\"%s\"} %llu\n", proto[j], why,
			    m.refusals[j][r]);
		}
	mb_family(b, "peerkey_heartbeats_total", "counter", "Heartbeats "
	    "this node sent to its peers' node keys, by result.");
	mb_printf(b, "peerkey_heartbeats_total{result=\"ok\"} %llu\n"
	    "peerkey_heartbeats_total{result=\"failed\"} %llu\n",
	    m.heartbeats[1], m.heartbeats[0]);
	mb_family(b, "peerkey_heartbeats_received_total", "counter",
	    "Heartbeats this node received from its peers' node keys (and "
	    "answered).");
	mb_printf(b, "peerkey_heartbeats_received_total %llu\n",
	    m.heartbeats_in);
	mb_family(b, "peerkey_heartbeat_duration_seconds", "histogram",
	    "Time from sending a heartbeat (connecting first if need be) to "
	    "its good reply.");
	for (i = 0; i < HB_BUCKETS; i++) {
		cum += m.hb_count[i];
		mb_printf(b, "peerkey_heartbeat_duration_seconds_bucket{le="
		    "\"%g\"} %llu\n", hb_bounds[i], cum);
	}
	mb_printf(b, "peerkey_heartbeat_duration_seconds_bucket{le=\"+Inf\"} "
	    "%llu\npeerkey_heartbeat_duration_seconds_sum %.6f\n"
	    "peerkey_heartbeat_duration_seconds_count %llu\n", m.hb_n,
	    m.hb_sum, m.hb_n);
}

/* Sessions, the store, the process. */
static void
metrics_process(struct mbuf *b)
{
	struct stat	 st;
	char		*path = NULL;
	long long	 size = 0;
	size_t		 pend = budget_count(SESSION_PENDING);
	size_t		 unk = budget_count(SESSION_UNKNOWN);
	int		 all = session_count(), i;

	mb_family(b, "peerkey_sessions", "gauge", "Open connections on the "
	    "peer port, by kind: handshake (not authenticated yet), "
	    "unknown-key (no peer's key), known-key.");
	mb_printf(b, "peerkey_sessions{kind=\"handshake\"} %zu\n"
	    "peerkey_sessions{kind=\"unknown-key\"} %zu\n"
	    "peerkey_sessions{kind=\"known-key\"} %lld\n", pend, unk,
	    (long long)all - (long long)(pend + unk) > 0 ?
	    (long long)all - (long long)(pend + unk) : 0);
	for (i = 0; i < 2 && node->conf.state_dir != NULL; i++) {
		if (asprintf(&path, "%s/%s%s", node->conf.state_dir,
		    STORE_DB_NAME, i ? "-wal" : "") == -1) {
			path = NULL;
			break;
		}
		if (stat(path, &st) == 0)
			size += (long long)st.st_size;
		free(path);
	}
	mb_family(b, "peerkey_store_size_bytes", "gauge", "Size of the store "
	    "(" STORE_DB_NAME " and its write-ahead log).");
	mb_printf(b, "peerkey_store_size_bytes %lld\n", size);
	mb_family(b, "peerkey_start_time_seconds", "gauge", "When peerkeyd "
	    "started, in seconds since the epoch.");
	mb_printf(b, "peerkey_start_time_seconds %.3f\n", m.start_ms / 1000.0);
	mb_family(b, "peerkey_build_info", "gauge", "Always 1; the labels "
	    "say which peerkeyd this is.");
	mb_printf(b, "peerkey_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

/* The whole text (malloc'ed), or NULL: out of memory. */
char *
metrics_text(size_t *len)
{
	struct mbuf	 b = { NULL, 0, 4096, 0 };

	if ((b.p = malloc(b.size)) == NULL)
		return NULL;
	metrics_peers(&b, pk_now_ms());
	metrics_counters(&b);
	metrics_process(&b);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* "metrics": the same text over the control socket. */
json_t *
metrics_control(const struct control_cmd *self, json_t *req,
    const char *who, char **cause)
{
	json_t	*j;
	char	*t;
	size_t	 len;

	if ((t = metrics_text(&len)) == NULL) {
		pk_cause_set(cause, "out of memory");
		return NULL;
	}
	j = json_pack("{s:s%}", "text", t, len);
	free(t);
	return j;
}

/* Is s "HOST:PORT" with a loopback HOST? Fills ss. */
static int
metrics_addr(const char *s, struct sockaddr_storage *ss, char **cause)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[256], port[16];
	unsigned long long	 pn;

	memset(ss, 0, sizeof(*ss));
	if (pk_addr_split(s, host, sizeof(host), port, sizeof(port), "") != 0 ||
	    *port == '\0' || pk_parse_uint(port, 1, 65535, &pn) != 0) {
		pk_cause_set(cause, "[metrics] listen \"%s\" is not "
		    "ADDRESS:PORT (such as 127.0.0.1:9641)", s);
		return -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pn);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pn);
		return 0;
	}
	pk_cause_set(cause, "[metrics] listen \"%s\": the metrics are served "
	    "on a loopback address only (127.0.0.1 or [::1]): they name the "
	    "peers and their states", s);
	return -1;
}

int
metrics_listen_check(const char *listen, char **cause)
{
	struct sockaddr_storage	 ss;

	return listen == NULL || *listen == '\0' ? 0 :
	    metrics_addr(listen, &ss, cause);
}

/* libmicrohttpd's request handler: GET /metrics. */
static enum MHD_Result
metrics_http(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *uplen, void **state)
{
	static const char notfound[] = "only /metrics is here\n";
	struct MHD_Response	*resp;
	enum MHD_Result		 r;
	unsigned int		 status = MHD_HTTP_OK;
	char			*t = NULL;
	size_t			 len = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	else if (strcmp(url, "/metrics") != 0)
		status = MHD_HTTP_NOT_FOUND;
	else if ((t = metrics_text(&len)) == NULL)
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	if (t != NULL)
		resp = MHD_create_response_from_buffer(len, t,
		    MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(sizeof(notfound) - 1,
		    (void *)(uintptr_t)notfound, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(t);
		return MHD_NO;
	}
	if (t != NULL)
		(void)MHD_add_response_header(resp, "Content-Type",
		    METRICS_CONTENT_TYPE);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Runs libmicrohttpd, then sets the timer to its next timeout. */
static void
metrics_run(void)
{
	MHD_UNSIGNED_LONG_LONG	 ms;

	(void)MHD_run(m.httpd);
	ev_timer_stop(node->loop, &m.timer);
	if (MHD_get_timeout(m.httpd, &ms) == MHD_YES) {
		ev_timer_set(&m.timer, ms / 1000.0, 0.);
		ev_timer_start(node->loop, &m.timer);
	}
}

static void
metrics_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	metrics_run();
}

static void
metrics_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	metrics_run();
}

int
metrics_start(char **cause)
{
	const union MHD_DaemonInfo	*info;
	struct sockaddr_storage		 ss;
	const char			*listen = node->conf.metrics_listen;

	m.start_ms = wall_ms();
	if (listen == NULL || *listen == '\0')
		return 0;
	if (metrics_addr(listen, &ss, cause) != 0)
		return -1;
	m.httpd = MHD_start_daemon(MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ?
	    MHD_USE_IPv6 : 0), 0, NULL, NULL, metrics_http, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
	    MHD_OPTION_END);
	if (m.httpd == NULL) {
		pk_cause_set(cause, "[metrics] listen %s: cannot listen: %s",
		    listen, strerror(errno));
		return -1;
	}
	if ((info = MHD_get_daemon_info(m.httpd,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		MHD_stop_daemon(m.httpd);
		m.httpd = NULL;
		pk_cause_set(cause, "[metrics]: libmicrohttpd has no epoll");
		return -1;
	}
	ev_io_init(&m.io, metrics_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(node->loop, &m.io);
	ev_init(&m.timer, metrics_timer_cb);
	log_info("metrics: http://%s/metrics", listen);
	return 0;
}

void
metrics_stop(void)
{
	if (m.httpd == NULL)
		return;
	ev_io_stop(node->loop, &m.io);
	ev_timer_stop(node->loop, &m.timer);
	MHD_stop_daemon(m.httpd);
	m.httpd = NULL;
}
