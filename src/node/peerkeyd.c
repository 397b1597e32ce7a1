/*
 * peerkeyd.c: main of the node daemon: options, start-up, signals, the
 * loop, and the periodic work (expiry of peers, the "alive" mark).
 *
 * Start-up order: configuration, logging, hardening (not dumpable, no
 * core), node key, store (migrations, self row, peers), the descriptor
 * limit sized to the caps (budget.c), listening sockets,
 * control socket, Avahi, then systemd's READY=1. Everything before READY
 * that fails is fatal with one clear line; nothing after it is.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "announce.h"
#include "io.h"
#include "key.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "secret.h"
#include "store.h"
#include "tls.h"

#ifndef PK_CONFFILE
#define PK_CONFFILE	SYSCONFDIR "/peerkey/peerkeyd.conf"
#endif

static ev_signal	 sig_term, sig_int, sig_hup;
static ev_timer		 tick_timer, alive_timer, prune_timer;

#define TICK_MAX	1.0	/* seconds between expiry checks at most */
#define PRUNE_EVERY	60.0	/* seconds */
/*
 * Timers may fire this much late, so that libev runs the ones that fall
 * due close together in one wake-up: guarding 1,000 peers at a 10 s
 * interval is 100 heartbeat timers a second, and a wake-up (a context
 * switch, an epoll_wait) each cost more than the heartbeat itself. I/O is
 * not delayed: only timers (heartbeats, deadlines, expiry) are.
 */
#define TIMER_SLACK	0.1

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: peerkeyd [-dnv] [-f file]\n");
	exit(2);
}

/* Tells systemd (if it started us with Type=notify) how we are. */
static void
sd_notify_send(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
}

/* Expiry of peers: runs at the next expiry, or every TICK_MAX at most. */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	uint64_t	 now = pk_now_ms(), next;
	double		 in = TICK_MAX;

	next = peer_tick(now);
	if (next != 0 && next > now && (next - now) / 1000.0 < in)
		in = (next - now) / 1000.0 + 0.001;
	w->repeat = in;
	ev_timer_again(loop, w);
}

/* The periodic alive mark. */
static void
alive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	peer_save_all(pk_now_ms());
}

/* Drops audit events older than the retention, then the oldest beyond
 * the bounds on rows and bytes. */
static void
prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 n = 0;

	if (node->conf.event_retention != 0) {
		if (store_events_prune(node->store, wall_ms() -
		    (int64_t)node->conf.event_retention, &n) != 0)
			log_warnx("store: cannot prune events: %s",
			    store_errmsg(node->store));
		else if (n > 0)
			log_info("events: pruned %d older than the retention",
			    n);
	}
	if (store_events_bound(node->store, node->conf.event_max_rows,
	    node->conf.event_max_bytes, &n) != 0)
		log_warnx("store: cannot prune events: %s",
		    store_errmsg(node->store));
	else if (n > 0)
		log_info("events: pruned the %d oldest (max-rows %llu, "
		    "max-bytes %llu)", n, node->conf.event_max_rows,
		    (unsigned long long)node->conf.event_max_bytes);
}

static void
sig_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("received %s, stopping", w->signum == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	sd_notify_send("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

/*
 * SIGHUP: re-read the configuration into a fresh struct and swap it in
 * only if it is valid. What needs sockets re-opened (listen, port,
 * runtime directory, key) needs a restart; that is said in the log.
 */
static void
sig_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct node_conf	 nc;
	char			*cause = NULL;

	log_info("received SIGHUP, reloading %s", node->conf.path);
	memset(&nc, 0, sizeof(nc));
	if (config_load(node->conf.path, &nc, &cause) != 0) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause ? cause : "failed");
		free(cause);
		config_free(&nc);
		return;
	}
	if (nc.port != node->conf.port || strcmp(nc.listen, node->conf.listen) ||
	    strcmp(nc.key, node->conf.key) ||
	    strcmp(nc.state_dir, node->conf.state_dir) ||
	    strcmp(nc.runtime_dir, node->conf.runtime_dir))
		log_warnx("reload: listen, port, key and directories change "
		    "only on restart");
	/* Swap the settings a reload may change. */
#define SWAP(f) do { __typeof__(nc.f) t = node->conf.f; \
	node->conf.f = nc.f; nc.f = t; } while (0)
	SWAP(line_timeout);
	SWAP(handshake_timeout);
	SWAP(idle_timeout);
	SWAP(max_frame);
	SWAP(max_conns);
	SWAP(max_conns_per_source);
	SWAP(max_handshakes);
	SWAP(max_handshakes_per_source);
	SWAP(max_unknown);
	SWAP(max_unknown_per_source);
	SWAP(unknown_timeout);
	SWAP(event_max_rows);
	SWAP(event_max_bytes);
	SWAP(repeat_interval);
	SWAP(interval);
	SWAP(timeout);
	SWAP(extended_timeout);
	SWAP(max_introductions);
	SWAP(introduced_pending);
	SWAP(checker_timeout);
	SWAP(event_retention);
	SWAP(reshare_after);
	SWAP(log_level);
	SWAP(mandos);
#undef SWAP
	if (node->verbose == 0)
		log_setverbose(node->conf.log_level);
	config_free(&nc);
	log_info("reload: done");
}

/*
 * Loads the node key the configuration names. Returns 0, or -1 with
 * *cause saying what is wrong and what to do.
 */
static int
node_key_load(char **cause)
{
	const char	*hint = "";
	int		 r;

	if (node->conf.key_credential)
		r = pk_identity_load_credential(node->conf.key, &node->id);
	else
		r = pk_identity_load(node->conf.key, &node->id);
	if (r == 0)
		return 0;
	if (r == PK_ERR_NOT_FOUND)
		hint = " (make it with \"peerkey init\")";
	else if (r == PK_ERR_PERM)
		hint = " (chmod 600 it)";
	else if (r == PK_ERR_SYSTEM && errno == EACCES && geteuid() != 0)
		hint = " (peerkeyd.service runs as its own user and reads the "
		    "key through LoadCredential=; see peerkeyd(8))";
	pk_cause_set(cause, "node key %s: %s%s", node->conf.key,
	    r == PK_ERR_SYSTEM ? strerror(errno) : pk_strerror(r), hint);
	return -1;
}

/*
 * Makes the state or runtime directory if it is missing. Under
 * peerkeyd.service the daemon cannot: tmpfiles.d (peerkey.conf) makes
 * both, owned by its user, and the unit lets it write only there.
 */
static void
node_mkdir(const char *what, const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return;
	if (geteuid() != 0)
		fatal("%s directory %s (\"systemd-tmpfiles --create "
		    "peerkey.conf\" makes it)", what, path);
	fatal("%s directory %s", what, path);
}

static int
load_peer_cb(struct peer *p, void *arg)
{
	peer_restore(p, pk_now_ms());
	peer_insert(p);
	return 0;
}

/* Logs what announce.c says (its messages begin with "announce: "). */
static void
announce_log(int level, const char *msg)
{
	if (level <= LOG_WARNING)
		log_warnx("%s", msg);
	else if (level <= LOG_INFO)
		log_info("%s", msg);
	else
		log_debug("%s", msg);
}

int
main(int argc, char *argv[])
{
	struct announce_conf	 ac;
	const char		*conffile = PK_CONFFILE;
	struct peer		*p;
	char			*cause = NULL;
	int64_t			 last_alive = 0;
	int			 ch, checkonly = 0, r;

	log_init(1, LOG_DAEMON);
	log_procinit("peerkeyd");
	while ((ch = getopt(argc, argv, "df:hnvV")) != -1) {
		switch (ch) {
		case 'd':
			node->debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'v':
			node->verbose++;
			break;
		case 'V':
			printf("peerkeyd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	TAILQ_INIT(&node->peers);
	if (config_load(conffile, &node->conf, &cause) != 0) {
		fprintf(stderr, "peerkeyd: %s\n", cause ? cause : "bad "
		    "configuration");
		free(cause);
		config_free(&node->conf);
		return 1;
	}
	if (checkonly) {
		/* The key must be there and private, too. */
		if ((r = node_key_load(&cause)) != 0)
			fprintf(stderr, "peerkeyd: %s\n", cause);
		else
			fprintf(stderr, "configuration OK\n");
		free(cause);
		pk_identity_free(node->id);
		config_free(&node->conf);
		return r != 0;
	}
	log_init(node->debug, LOG_DAEMON);
	log_setverbose(node->verbose ? node->verbose : node->conf.log_level);
	if (pk_secret_harden_process() != 0)
		fatal("cannot make the process undumpable");
	signal(SIGPIPE, SIG_IGN);

	if (node_key_load(&cause) != 0)
		fatalx("%s", cause);
	if (pk_tls_creds_new(node->id, &node->creds) != 0 ||
	    pk_tls_creds_new(NULL, &node->mandos_creds) != 0)
		fatalx("cannot set up TLS credentials");

	node_mkdir("state", node->conf.state_dir, 0700);
	node_mkdir("runtime", node->conf.runtime_dir, 0755);
	if (store_open(node->conf.state_dir, &node->store, &cause) != 0)
		fatalx("store: %s", cause ? cause : "cannot open");
	node->started = wall_ms();
	if (store_self_init(node->store, node->id->keyid, wall_ms(),
	    &last_alive, &cause) != 0)
		fatalx("store: %s", cause ? cause : "cannot initialise");
	if (store_peer_load_all(node->store, load_peer_cb, NULL) != 0)
		fatalx("store: cannot load peers: %s",
		    store_errmsg(node->store));

	budget_init();
	if ((node->loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot start the event loop");
	ev_set_timeout_collect_interval(node->loop, TIMER_SLACK);
	if (listener_init(&cause) != 0)
		fatalx("%s", cause);
	if (control_init(&cause) != 0)
		fatalx("%s", cause);
	if (metrics_start(&cause) != 0)
		fatalx("%s", cause);

	log_info("peerkeyd %s starting: node %s, key %s, %d peer%s",
	    PACKAGE_VERSION, node->conf.name, node->id->keyid, node->npeers,
	    node->npeers == 1 ? "" : "s");
	if (last_alive != 0)
		log_info("last alive %" PRId64 " s ago; that downtime does not "
		    "count against any peer", (wall_ms() - last_alive) / 1000);
	TAILQ_FOREACH(p, &node->peers, entry) {
		if (p->pending) {
			log_info("peer %s: pending acceptance by an operator "
			    "(peerkey accept)", p->name);
			continue;	/* not guarded until then */
		}
		if (p->disabled_by != PEER_DIS_NONE)
			log_info("peer %s: still disabled (%s)", p->name,
			    p->disabled_by == PEER_DIS_OPERATOR ? "by an "
			    "operator" : "timeout");
		checker_add(p);
	}

	listener_start();
	if (node->conf.announce) {
		memset(&ac, 0, sizeof(ac));
		ac.name = node->conf.service_name;
		ac.port = (uint16_t)listener_port();
		ac.node_keyid = node->id->keyid;
		ac.mandos = node->conf.announce_mandos && node->conf.mandos;
		ac.ifindex = -1;
		ac.protocol = -1;	/* AVAHI_PROTO_UNSPEC */
		if (announce_start(node->loop, &ac, announce_log, &cause) != 0) {
			log_warnx("announce: %s; continuing without mDNS",
			    cause ? cause : "failed");
			free(cause);
			cause = NULL;
		}
	}

	ev_signal_init(&sig_term, sig_stop_cb, SIGTERM);
	ev_signal_init(&sig_int, sig_stop_cb, SIGINT);
	ev_signal_init(&sig_hup, sig_hup_cb, SIGHUP);
	ev_signal_start(node->loop, &sig_term);
	ev_signal_start(node->loop, &sig_int);
	ev_signal_start(node->loop, &sig_hup);
	ev_timer_init(&tick_timer, tick_cb, 0., TICK_MAX);
	ev_timer_start(node->loop, &tick_timer);
	ev_timer_init(&alive_timer, alive_cb, node->conf.alive_mark / 1000.0,
	    node->conf.alive_mark / 1000.0);
	ev_timer_start(node->loop, &alive_timer);
	ev_timer_init(&prune_timer, prune_cb, 1., PRUNE_EVERY);
	ev_timer_start(node->loop, &prune_timer);

	peer_save_all(pk_now_ms());
	sd_notify_send("READY=1");
	log_info("ready on port %d", listener_port());

	ev_run(node->loop, 0);

	/* Clean stop: what is counted, liveness saved, everything closed. */
	tally_stop();
	peer_save_all(pk_now_ms());
	announce_stop();
	metrics_stop();
	control_cleanup();
	listener_stop();
	session_close_all();
	while ((p = TAILQ_FIRST(&node->peers)) != NULL) {
		checker_remove(p);
		TAILQ_REMOVE(&node->peers, p, entry);
		free(p);
	}
	store_close(node->store);
	pk_tls_creds_free(node->creds);
	pk_tls_creds_free(node->mandos_creds);
	pk_identity_free(node->id);
	config_free(&node->conf);
	log_info("stopped");
	return 0;
}
