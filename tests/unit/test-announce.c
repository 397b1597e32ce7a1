/*
 * test-announce.c: the libev AvahiPoll (avahi-ev.c) and DNS-SD publishing
 * (announce.c) against a real avahi-daemon.
 *
 * Run by tests/unit/test-announce.sh, which makes a network namespace with
 * lo up, a private system bus and an avahi-daemon on lo (tests/lib-avahi.sh)
 * and runs this program inside the namespace with DBUS_SYSTEM_BUS_ADDRESS,
 * PKANN_DIR (the lib-avahi state directory) and PKANN_LIB (the library's
 * path) set. The program stops and starts the daemons through the library
 * and checks what is published with avahi-browse, as a peer would see it.
 * PKANN_NS_B and PKANN_BUS_B name a second namespace and its bus, another
 * "host" on a veth link, whose publisher makes a remote name collision.
 */
#include "config.h"

#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <avahi-common/address.h>
#include <avahi-common/watch.h>
#include <ev.h>

#include "announce.h"
#include "avahi-ev.h"
#include "test_helper.h"

#define NAME		"pknode"
#define PORT		4141
#define OTHER_PORT	4242
#define KEYID \
	"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"
#define DEADLINE_MS	15000	/* TESTING.md: discovery deadlines >= 5 s */

static struct ev_loop	*loop;
static const char	*avahi_dir;
static const char	*avahi_lib;

/* --- helpers -------------------------------------------------------------*/

#define NLOGS	256
static struct {
	int	level;
	char	msg[256];
} logs[NLOGS];
static int	nlogs;

/* The log function given to announce_start: keeps and shows each line. */
static void
test_logfn(int level, const char *msg)
{
	test_diag("log(%d) %.3f: %s", level, ev_time(), msg);
	if (nlogs < NLOGS) {
		logs[nlogs].level = level;
		snprintf(logs[nlogs].msg, sizeof(logs[nlogs].msg), "%s", msg);
		nlogs++;
	}
}

/* Lines logged at level (-1: any) containing sub. */
static int
log_count(int level, const char *sub)
{
	int	i, n = 0;

	for (i = 0; i < nlogs; i++)
		if ((level == -1 || logs[i].level == level) &&
		    strstr(logs[i].msg, sub) != NULL)
			n++;
	return n;
}

/* Timer callback that ends ev_run. */
static void
stop_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	ev_break(l, EVBREAK_ONE);
}

/* Runs the loop for ms milliseconds. */
static void
run_loop(int ms)
{
	ev_timer	t;

	ev_now_update(loop);	/* the test may have blocked for a while */
	ev_timer_init(&t, stop_cb, ms / 1000., 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

/* Runs the loop until announce_state() is want; 0 on time, -1 not. */
static int
wait_state(int want, int ms)
{
	int	waited;

	for (waited = 0; waited < ms; waited += 50) {
		if (announce_state() == want)
			return 0;
		run_loop(50);
	}
	return announce_state() == want ? 0 : -1;
}

/* Runs a lib-avahi.sh function on the test's state directory. */
static int
avahi_ctl(const char *fn)
{
	char	cmd[2048];
	int	r;

	snprintf(cmd, sizeof(cmd), ". '%s' && %s '%s'", avahi_lib, fn,
	    avahi_dir);
	fflush(stdout);
	r = system(cmd);
	if (r != 0)
		test_diag("%s: exit status %d", fn, r);
	return r == 0 ? 0 : -1;
}

/* Undoes avahi-browse -p's escapes (\DDD decimal and \X) in place. */
static void
unescape(char *s)
{
	char	*d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '9' &&
		    s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9') {
			*d++ = (char)((s[1] - '0') * 100 + (s[2] - '0') * 10 +
			    (s[3] - '0'));
			s += 4;
		} else if (s[0] == '\\' && s[1] != '\0') {
			*d++ = s[1];
			s += 2;
		} else
			*d++ = *s++;
	}
	*d = '\0';
}

struct seen {
	char	name[128];
	int	port;
	char	txt[512];
};

/* One avahi-browse -rpt of type: resolved services into out[max]. */
static int
browse(const char *type, struct seen *out, int max)
{
	char	 cmd[256], line[2048], *f[10], *p;
	FILE	*fp;
	int	 i, n = 0;

	snprintf(cmd, sizeof(cmd), "avahi-browse -rpt '%s' 2>/dev/null", type);
	fflush(stdout);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL && n < max) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "=;", 2) != 0)
			continue;
		/* =;iface;proto;name;type;domain;host;addr;port;txt */
		p = line;
		for (i = 0; i < 9 && p != NULL; i++) {
			f[i] = p;
			if ((p = strchr(p, ';')) != NULL)
				*p++ = '\0';
		}
		if (i < 9 || p == NULL)
			continue;
		f[9] = p;
		unescape(f[3]);
		snprintf(out[n].name, sizeof(out[n].name), "%s", f[3]);
		out[n].port = atoi(f[8]);
		snprintf(out[n].txt, sizeof(out[n].txt), "%s", f[9]);
		n++;
	}
	pclose(fp);
	return n;
}

/*
 * Browses type until name is seen with port (present) or is not seen any
 * more (!present), running the loop in between; copies the match to *s.
 */
static int
wait_browse(const char *type, const char *name, int port, int present,
    struct seen *s)
{
	struct seen	 all[32];
	int		 i, n, found, waited = 0;

	for (;;) {
		n = browse(type, all, 32);
		found = 0;
		for (i = 0; i < n; i++) {
			if (strcmp(all[i].name, name) != 0 ||
			    (port != 0 && all[i].port != port))
				continue;
			found = 1;
			if (s != NULL)
				*s = all[i];
		}
		if (found == present)
			return 0;
		if (waited >= DEADLINE_MS)
			break;
		run_loop(200);
		waited += 200;
	}
	test_diag("%s \"%s\" port %d still %s after %d ms", type, name, port,
	    present ? "absent" : "present", DEADLINE_MS);
	return -1;
}

/* A conf for NAME on PORT with KEYID, also _mandos._tcp. */
static struct announce_conf
good_conf(void)
{
	struct announce_conf	c;

	memset(&c, 0, sizeof(c));
	c.name = NAME;
	c.port = PORT;
	c.node_keyid = KEYID;
	c.mandos = 1;
	c.ifindex = -1;
	c.protocol = AVAHI_PROTO_UNSPEC;
	return c;
}

/* Checks what a browser sees of our two services. */
static void
check_published(const char *peerkey_name)
{
	struct seen	s;

	memset(&s, 0, sizeof(s));
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", peerkey_name, PORT, 1, &s),
	    0);
	ASSERT_INT_EQ(s.port, PORT);
	/* Exactly two strings, in avahi-browse's order. */
	ASSERT_STR_EQ(s.txt, "\"keyid=" KEYID "\" \"pv=1\"");
	memset(&s, 0, sizeof(s));
	ASSERT_INT_EQ(wait_browse("_mandos._tcp", NAME, PORT, 1, &s), 0);
	ASSERT_INT_EQ(s.port, PORT);
	ASSERT_STR_EQ(s.txt, "");	/* empty TXT record */
}

/* --- avahi-ev.c ----------------------------------------------------------*/

static int	fired[16], nfired;

/* An absolute time ms milliseconds from now (negative: in the past). */
static struct timeval
tv_in(int ms)
{
	struct timeval	tv;
	long long	us;

	gettimeofday(&tv, NULL);
	us = (long long)tv.tv_sec * 1000000 + tv.tv_usec + ms * 1000LL;
	tv.tv_sec = us / 1000000;
	tv.tv_usec = us % 1000000;
	return tv;
}

/* Records which timeout fired. */
static void
timeout_cb(AvahiTimeout *t, void *arg)
{
	if (nfired < 16)
		fired[nfired++] = (int)(intptr_t)arg;
}

static const AvahiPoll	*cur_api;

/* A timeout that frees itself from its own callback. */
static void
timeout_selffree_cb(AvahiTimeout *t, void *arg)
{
	fired[nfired++] = 100;
	cur_api->timeout_free(t);
}

/* A timeout that re-arms itself twice from its own callback. */
static void
timeout_rearm_cb(AvahiTimeout *t, void *arg)
{
	struct timeval	tv = tv_in(5);

	fired[nfired++] = 200;
	if (nfired < 3)
		cur_api->timeout_update(t, &tv);
}

/* Timeouts: order, one-shot, NULL, update, free inside the callback. */
static void
test_ev_timeouts(void)
{
	struct avahi_ev	*ae;
	const AvahiPoll	*api;
	AvahiTimeout	*ta, *tb, *tc, *td, *te, *tf;
	struct timeval	 tv;

	TEST_START("avahi-ev: timeouts fire once, in order; NULL disables");
	ae = avahi_ev_new(loop);
	ASSERT_PTR_NE(ae, NULL);
	api = cur_api = avahi_ev_poll(ae);
	ASSERT_PTR_EQ(api->userdata, ae);
	nfired = 0;
	tv = tv_in(80);
	ta = api->timeout_new(api, &tv, timeout_cb, (void *)1);
	tv = tv_in(20);
	tb = api->timeout_new(api, &tv, timeout_cb, (void *)2);
	tc = api->timeout_new(api, NULL, timeout_cb, (void *)3);
	tv = tv_in(-5000);
	td = api->timeout_new(api, &tv, timeout_cb, (void *)4);
	ASSERT_TRUE(ta && tb && tc && td);
	ASSERT_INT_EQ(avahi_ev_count(ae), 4);
	run_loop(50);
	ASSERT_INT_EQ(nfired, 2);
	ASSERT_INT_EQ(fired[0], 4);	/* in the past: at once */
	ASSERT_INT_EQ(fired[1], 2);
	run_loop(100);
	ASSERT_INT_EQ(nfired, 3);
	ASSERT_INT_EQ(fired[2], 1);
	run_loop(50);			/* one-shot: disabled after firing */
	ASSERT_INT_EQ(nfired, 3);
	TEST_DONE();

	TEST_START("avahi-ev: timeout_update re-arms and disables");
	tv = tv_in(0);
	api->timeout_update(tc, &tv);	/* the disabled one */
	tv = tv_in(20);
	api->timeout_update(ta, &tv);
	api->timeout_update(ta, NULL);	/* and off again */
	run_loop(80);
	ASSERT_INT_EQ(nfired, 4);
	ASSERT_INT_EQ(fired[3], 3);
	api->timeout_free(ta);
	api->timeout_free(tb);
	api->timeout_free(tc);
	ASSERT_INT_EQ(avahi_ev_count(ae), 1);
	TEST_DONE();

	TEST_START("avahi-ev: timeout freed or re-armed in its own callback");
	nfired = 0;
	tv = tv_in(5);
	te = api->timeout_new(api, &tv, timeout_selffree_cb, NULL);
	ASSERT_PTR_NE(te, NULL);
	ASSERT_INT_EQ(avahi_ev_count(ae), 2);
	run_loop(50);
	ASSERT_INT_EQ(nfired, 1);
	ASSERT_INT_EQ(avahi_ev_count(ae), 1);	/* te gone (ASan: no UAF) */
	nfired = 0;
	tv = tv_in(5);
	tf = api->timeout_new(api, &tv, timeout_rearm_cb, NULL);
	ASSERT_PTR_NE(tf, NULL);
	run_loop(100);
	ASSERT_INT_EQ(nfired, 3);
	ASSERT_INT_EQ(fired[2], 200);
	ASSERT_PTR_EQ(api->timeout_new(api, &tv, NULL, NULL), NULL);
	/* td and tf are left for avahi_ev_free (ASan checks the leak). */
	ASSERT_INT_EQ(avahi_ev_count(ae), 2);
	avahi_ev_free(ae);
	avahi_ev_free(NULL);
	ASSERT_PTR_EQ(avahi_ev_new(NULL), NULL);
	TEST_DONE();
}

struct wstate {
	int		 calls;
	AvahiWatchEvent	 event;
	AvahiWatchEvent	 got;		/* watch_get_events() inside */
	int		 selffree;
	AvahiWatch	*other;		/* to free from this callback */
	struct wstate	*other_state;
};

/* Records a watch event, drains the pipe, frees what it is told to. */
static void
watch_cb(AvahiWatch *w, int fd, AvahiWatchEvent event, void *arg)
{
	struct wstate	*st = arg;
	char		 buf[16];

	st->calls++;
	st->event = event;
	st->got = cur_api->watch_get_events(w);
	/* Drain the pipe; what was in it does not matter. */
	if ((event & AVAHI_WATCH_IN) && read(fd, buf, sizeof(buf)) == -1)
		st->got = 0;
	if (st->other != NULL) {
		cur_api->watch_free(st->other);
		st->other_state->other = NULL;	/* it must not free us */
		st->other = NULL;
	}
	if (st->selffree)
		cur_api->watch_free(w);
}

/* Watches: events, get_events, update, frees inside callbacks. */
static void
test_ev_watches(void)
{
	struct avahi_ev	*ae;
	const AvahiPoll	*api;
	AvahiWatch	*w, *wo, *wa, *wb;
	struct wstate	 st, so, sa, sb;
	int		 p[2], q[2], r[2];

	TEST_START("avahi-ev: watch reports IN, get_events, update to 0");
	ae = avahi_ev_new(loop);
	api = cur_api = avahi_ev_poll(ae);
	ASSERT_INT_EQ(pipe(p), 0);
	memset(&st, 0, sizeof(st));
	w = api->watch_new(api, p[0], AVAHI_WATCH_IN, watch_cb, &st);
	ASSERT_PTR_NE(w, NULL);
	run_loop(30);
	ASSERT_INT_EQ(st.calls, 0);		/* nothing to read */
	ASSERT_INT_EQ(write(p[1], "x", 1), 1);
	run_loop(30);
	ASSERT_INT_EQ(st.calls, 1);
	ASSERT_INT_EQ(st.event, AVAHI_WATCH_IN);
	ASSERT_INT_EQ(st.got, AVAHI_WATCH_IN);
	ASSERT_INT_EQ(api->watch_get_events(w), 0);	/* outside */
	api->watch_update(w, 0);
	ASSERT_INT_EQ(write(p[1], "y", 1), 1);
	run_loop(30);
	ASSERT_INT_EQ(st.calls, 1);		/* not watched */
	api->watch_update(w, AVAHI_WATCH_IN);
	run_loop(30);
	ASSERT_INT_EQ(st.calls, 2);
	ASSERT_PTR_EQ(api->watch_new(api, -1, AVAHI_WATCH_IN, watch_cb, &st),
	    NULL);
	TEST_DONE();

	TEST_START("avahi-ev: watch freed in its own callback");
	memset(&so, 0, sizeof(so));
	so.selffree = 1;
	wo = api->watch_new(api, p[1], AVAHI_WATCH_OUT, watch_cb, &so);
	ASSERT_INT_EQ(avahi_ev_count(ae), 2);
	run_loop(30);
	ASSERT_INT_EQ(so.calls, 1);		/* writable at once, then gone */
	ASSERT_INT_EQ(so.event, AVAHI_WATCH_OUT);
	ASSERT_INT_EQ(avahi_ev_count(ae), 1);
	(void)wo;
	TEST_DONE();

	TEST_START("avahi-ev: a watch freed by another's callback stays quiet");
	ASSERT_INT_EQ(pipe(q), 0);
	ASSERT_INT_EQ(pipe(r), 0);
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	wa = api->watch_new(api, q[0], AVAHI_WATCH_IN, watch_cb, &sa);
	wb = api->watch_new(api, r[0], AVAHI_WATCH_IN, watch_cb, &sb);
	sa.other = wb;
	sa.other_state = &sb;
	sb.other = wa;
	sb.other_state = &sa;
	/* Both readable in the same iteration: the first frees the second. */
	ASSERT_INT_EQ(write(q[1], "a", 1), 1);
	ASSERT_INT_EQ(write(r[1], "b", 1), 1);
	run_loop(30);
	ASSERT_INT_EQ(sa.calls + sb.calls, 1);
	ASSERT_INT_EQ(avahi_ev_count(ae), 2);	/* w and the survivor */
	run_loop(30);
	ASSERT_INT_EQ(sa.calls + sb.calls, 1);
	/* The survivor and w are freed by avahi_ev_free (no leak). */
	avahi_ev_free(ae);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(r[0]);
	close(r[1]);
	TEST_DONE();
}

/* --- announce.c ----------------------------------------------------------*/

/* Refused configurations, and the bounds that are accepted. */
static void
test_bad_conf(void)
{
	struct announce_conf	 c;
	char			*cause;
	char			 longname[80];

	TEST_START("announce: bad configurations are refused with a cause");
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_OFF);
	ASSERT_PTR_EQ(announce_name(), NULL);
	announce_stop();			/* not started: harmless */
#define REFUSED(conf, word) do {					\
	cause = NULL;							\
	ASSERT_INT_EQ(announce_start(loop, (conf), test_logfn, &cause), -1); \
	ASSERT_STR_CONTAINS(cause, (word));				\
	free(cause);							\
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_OFF);			\
} while (0)
	c = good_conf(); c.name = NULL;		REFUSED(&c, "service name");
	c = good_conf(); c.name = "";		REFUSED(&c, "service name");
	memset(longname, 'n', 64);
	longname[64] = '\0';
	c = good_conf(); c.name = longname;	REFUSED(&c, "service name");
	c = good_conf(); c.port = 0;		REFUSED(&c, "port");
	c = good_conf(); c.node_keyid = NULL;	REFUSED(&c, "key id");
	c = good_conf(); c.node_keyid = "";	REFUSED(&c, "key id");
	c = good_conf(); c.node_keyid = "01xz";	REFUSED(&c, "key id");
	c = good_conf(); c.node_keyid = KEYID "0"; REFUSED(&c, "key id");
	c = good_conf(); c.protocol = 7;	REFUSED(&c, "protocol");
	c = good_conf(); c.ifindex = -2;	REFUSED(&c, "interface");
	REFUSED(NULL, "configuration");
	c = good_conf();
	cause = NULL;
	ASSERT_INT_EQ(announce_start(NULL, &c, test_logfn, &cause), -1);
	ASSERT_PTR_NE(cause, NULL);
	free(cause);
	/* The longest valid name is accepted (63 bytes). */
	longname[63] = '\0';
	c.name = longname;
	ASSERT_INT_EQ(announce_start(loop, &c, NULL, NULL), 0);
	ASSERT_STR_EQ(announce_name(), longname);
	announce_stop();
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_OFF);
	TEST_DONE();
}

/* Publishing both services on a running daemon. */
static void
test_publish(void)
{
	struct announce_conf	 c = good_conf();
	char			*cause = NULL;

	TEST_START("announce: publishes _peerkey (pv, keyid) and _mandos "
	    "(empty TXT)");
	nlogs = 0;
	ASSERT_INT_EQ(announce_start(loop, &c, test_logfn, &cause), 0);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ESTABLISHED, DEADLINE_MS), 0);
	ASSERT_STR_EQ(announce_name(), NAME);
	check_published(NAME);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_INFO,
	    "published \"" NAME "\" (_peerkey._tcp) on port 4141"), 1);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_INFO,
	    "published \"" NAME "\" (_mandos._tcp) on port 4141"), 1);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, ""), 0);
	TEST_DONE();

	TEST_START("announce: a second start is refused, the first goes on");
	ASSERT_INT_EQ(announce_start(loop, &c, test_logfn, &cause), -1);
	ASSERT_STR_CONTAINS(cause, "already started");
	free(cause);
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_ESTABLISHED);
	TEST_DONE();
}

/* avahi-daemon killed and started again. */
static void
test_restart(void)
{
	TEST_START("announce: avahi-daemon restart: one warning, republished");
	nlogs = 0;
	ASSERT_INT_EQ(avahi_ctl("avahi_daemon_stop"), 0);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ABSENT, DEADLINE_MS), 0);
	run_loop(300);
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_ABSENT);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, "not available"), 1);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, ""), 1);
	ASSERT_INT_EQ(avahi_ctl("avahi_daemon_start"), 0);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ESTABLISHED, DEADLINE_MS), 0);
	check_published(NAME);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_INFO, "avahi-daemon running"),
	    1);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_INFO, "published"), 2);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, ""), 1);
	TEST_DONE();
}

/* announce_stop() withdraws the services from the network. */
static void
test_stop(void)
{
	TEST_START("announce: stop withdraws both services");
	announce_stop();
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_OFF);
	ASSERT_PTR_EQ(announce_name(), NULL);
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", NAME, 0, 0, NULL), 0);
	ASSERT_INT_EQ(wait_browse("_mandos._tcp", NAME, 0, 0, NULL), 0);
	TEST_DONE();
}

/*
 * Starts avahi-publish -s name _peerkey._tcp OTHER_PORT other=1, here or,
 * with ns and bus set, in another namespace on its bus; its PID (ip netns
 * exec execs in place).
 */
static pid_t
spawn_publisher(const char *name, const char *ns, const char *bus)
{
	char	port[16], env[1024];
	pid_t	pid;

	snprintf(port, sizeof(port), "%d", OTHER_PORT);
	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (ns == NULL)
			execlp("avahi-publish", "avahi-publish", "-s", name,
			    "_peerkey._tcp", port, "other=1", (char *)NULL);
		else {
			snprintf(env, sizeof(env), "DBUS_SYSTEM_BUS_ADDRESS=%s",
			    bus);
			execlp("ip", "ip", "netns", "exec", ns, "env", env,
			    "avahi-publish", "-s", name, "_peerkey._tcp", port,
			    "other=1", (char *)NULL);
		}
		_exit(127);
	}
	return pid;
}

/* Stops a publisher from spawn_publisher. */
static void
reap_publisher(pid_t pid)
{
	int	status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* A name already published through the same daemon. */
static void
test_collision(void)
{
	struct announce_conf	c = good_conf();
	struct seen		s;
	pid_t			pid;

	TEST_START("announce: a name taken on this daemon is renamed \""
	    NAME " #2\"");
	nlogs = 0;
	pid = spawn_publisher(NAME, NULL, NULL);
	ASSERT_INT_LT(0, pid);
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", NAME, OTHER_PORT, 1, &s),
	    0);
	ASSERT_INT_EQ(announce_start(loop, &c, test_logfn, NULL), 0);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ESTABLISHED, DEADLINE_MS), 0);
	ASSERT_STR_EQ(announce_name(), NAME " #2");
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING,
	    "name \"" NAME "\" of _peerkey._tcp is taken; renaming to \""
	    NAME " #2\""), 1);
	/* Ours under the new name, with our TXT; theirs untouched. */
	check_published(NAME " #2");
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", NAME, OTHER_PORT, 1, &s),
	    0);
	ASSERT_STR_EQ(s.txt, "\"other=1\"");
	/* _mandos._tcp kept its name: one group per type. */
	ASSERT_INT_EQ(log_count(-1, "_mandos._tcp) on port"), 1);
	reap_publisher(pid);
	announce_stop();
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", NAME " #2", 0, 0, NULL),
	    0);
	TEST_DONE();
}

/* A name held by another host: the probe fails, we rename. */
static void
test_remote_collision(void)
{
	struct announce_conf	c = good_conf();
	struct seen		s;
	pid_t			pid;

	TEST_START("announce: a name taken by another host is renamed "
	    "after probing");
	nlogs = 0;
	pid = spawn_publisher("pkremote", getenv("PKANN_NS_B"),
	    getenv("PKANN_BUS_B"));
	ASSERT_INT_LT(0, pid);
	/* Seen from here, across the link. */
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", "pkremote", OTHER_PORT, 1,
	    &s), 0);
	c.name = "pkremote";
	c.mandos = 0;
	ASSERT_INT_EQ(announce_start(loop, &c, test_logfn, NULL), 0);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ESTABLISHED, DEADLINE_MS), 0);
	ASSERT_STR_EQ(announce_name(), "pkremote #2");
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, "name \"pkremote\" of "
	    "_peerkey._tcp is taken; renaming to \"pkremote #2\""), 1);
	memset(&s, 0, sizeof(s));
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", "pkremote #2", PORT, 1,
	    &s), 0);
	ASSERT_STR_EQ(s.txt, "\"keyid=" KEYID "\" \"pv=1\"");
	ASSERT_INT_EQ(wait_browse("_peerkey._tcp", "pkremote", OTHER_PORT, 1,
	    &s), 0);
	ASSERT_STR_EQ(s.txt, "\"other=1\"");
	ASSERT_INT_EQ(wait_browse("_mandos._tcp", "pkremote", 0, 0, NULL), 0);
	announce_stop();
	reap_publisher(pid);
	TEST_DONE();
}

/* Neither bus nor daemon at start; both come later. */
static void
test_absent(void)
{
	struct announce_conf	 c = good_conf();
	char			*cause = NULL;

	TEST_START("announce: no bus, no daemon: success, one warning, "
	    "publishes when they start");
	nlogs = 0;
	ASSERT_INT_EQ(avahi_ctl("avahi_stop"), 0);
	c.retry_ms = 100;
	ASSERT_INT_EQ(announce_start(loop, &c, test_logfn, &cause), 0);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_ABSENT);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, "not available"), 1);
	run_loop(1000);			/* ~10 retries */
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_ABSENT);
	ASSERT_INT_LT(3, log_count(ANNOUNCE_LOG_DEBUG, "still waiting"));
	/* The bus comes first: still no avahi-daemon on it. */
	ASSERT_INT_EQ(avahi_ctl("avahi_bus_start"), 0);
	run_loop(1000);
	ASSERT_INT_EQ(announce_state(), ANNOUNCE_ABSENT);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, ""), 1);
	ASSERT_INT_EQ(avahi_ctl("avahi_daemon_start"), 0);
	ASSERT_INT_EQ(wait_state(ANNOUNCE_ESTABLISHED, DEADLINE_MS), 0);
	check_published(NAME);
	ASSERT_INT_EQ(log_count(ANNOUNCE_LOG_WARNING, ""), 1);
	TEST_DONE();
}

/* Runs the tests in order; they share the daemons' state. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	avahi_dir = getenv("PKANN_DIR");
	avahi_lib = getenv("PKANN_LIB");
	if (avahi_dir == NULL || avahi_lib == NULL ||
	    getenv("PKANN_NS_B") == NULL || getenv("PKANN_BUS_B") == NULL ||
	    getenv("DBUS_SYSTEM_BUS_ADDRESS") == NULL) {
		printf("Bail out! run me through tests/unit/test-announce.sh\n");
		return 1;
	}
	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		printf("Bail out! ev_loop_new failed\n");
		return 1;
	}
	test_ev_timeouts();
	test_ev_watches();
	test_bad_conf();
	test_publish();
	test_restart();
	test_stop();
	test_collision();
	test_remote_collision();
	test_absent();
	test_stop();
	ev_loop_destroy(loop);
	return test_exit();
}
