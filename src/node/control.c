/*
 * control.c: the operator's control socket.
 *
 * A UNIX stream socket in the runtime directory, created under umask 077
 * (mode 0600, or 0660 with a control group). Every connection's peer is
 * checked with SO_PEERCRED on accept — uid 0, or a member of the
 * configured group — so a socket file made world-writable by mistake still
 * lets no one else in (OpenSSH's agent-getpeereid test does the same).
 *
 * The protocol is JSON lines (doc/peerkeyd.8, "CONTROL SOCKET"): one
 * request object per line, {"cmd": "...", ...}; one response object per
 * line, {"ok": true, ...} or {"ok": false, "error": "..."}. Requests are
 * handled in order; a line over CONTROL_LINE_MAX closes the connection.
 * What each request does is control-cmd.c's table.
 *
 * After {"cmd":"subscribe"} the connection is also fed (peerkey monitor):
 * every CONTROL_FEED_S, each audit event recorded since, as {"event":
 * {...}}, and the status ({"status": {...}}, as "status" answers) when
 * an event came or every CONTROL_STATUS_S. A subscriber that lets more
 * than CONTROL_FEED_MAX bytes pile up unread is closed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "store.h"

#define CONTROL_LINE_MAX	(256 * 1024)	/* a blob in base64 fits */
#define CONTROL_CONNS_MAX	32
#define CONTROL_FEED_S		0.25
#define CONTROL_STATUS_S	1.0
#define CONTROL_FEED_EVENTS	200	/* read per feed at most */
#define CONTROL_FEED_MAX	(1024 * 1024)

struct control_conn {
	TAILQ_ENTRY(control_conn) entry;
	int			 fd;
	uid_t			 uid;
	ev_io			 io;
	char			*in;
	size_t			 inlen, insize;
	char			*out;
	size_t			 outlen, outoff;
	int			 dead;
	int			 subscribed;
	int64_t			 last_event;	/* fed up to this id */
	ev_tstamp		 last_status;
};

static TAILQ_HEAD(, control_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static int		 nconns;
static int		 control_fd = -1;
static ev_io		 control_io;
static char		 control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static gid_t		 control_gid = (gid_t)-1;

static void	control_conn_cb(struct ev_loop *, ev_io *, int);
static ev_timer		 feed_timer;
static int		 nsubscribed;

/* Is uid allowed: root, or in the control group (primary or not)? */
static int
control_allowed(uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 ngroups = 256, i;

	if (uid == 0)
		return 1;
	if (control_gid == (gid_t)-1)
		return 0;
	if (gid == control_gid)
		return 1;
	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) == -1)
		return 0;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == control_gid)
			return 1;
	return 0;
}

/* Closes a control connection. */
static void
control_conn_close(struct control_conn *c)
{
	ev_io_stop(node->loop, &c->io);
	if (c->subscribed && --nsubscribed == 0)
		ev_timer_stop(node->loop, &feed_timer);
	close(c->fd);
	free(c->in);
	free(c->out);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	free(c);
}

/* Appends one response line to c's output. */
static void
control_reply(struct control_conn *c, json_t *resp)
{
	char	*s, *nb;
	size_t	 len;

	s = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (s == NULL) {
		c->dead = 1;
		return;
	}
	len = strlen(s);
	if ((nb = realloc(c->out, c->outlen + len + 1)) == NULL) {
		free(s);
		c->dead = 1;
		return;
	}
	c->out = nb;
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(s);
}

/* Sends a subscriber what is new; returns 0, or -1 to close it. */
static int
control_feed_one(struct control_conn *c, json_t *events, ev_tstamp now)
{
	json_t	*e, *st;
	size_t	 i;
	int	 news = 0;
	char	*cause = NULL;

	json_array_foreach(events, i, e) {
		if (json_integer_value(json_object_get(e, "id")) <=
		    c->last_event)
			continue;
		c->last_event = json_integer_value(json_object_get(e, "id"));
		control_reply(c, json_pack("{s:O}", "event", e));
		news = 1;
	}
	if (news || now - c->last_status >= CONTROL_STATUS_S) {
		st = control_run(json_pack("{s:s}", "cmd", "status"), c->uid,
		    &cause);
		free(cause);
		if (st != NULL) {
			json_object_del(st, "ok");
			control_reply(c, json_pack("{s:o}", "status", st));
		}
		c->last_status = now;
	}
	return c->dead || c->outlen - c->outoff > CONTROL_FEED_MAX ? -1 : 0;
}

/* The feed's tick: what is new, to every subscriber. */
static void
control_feed_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store_event_filter	 f;
	struct control_conn		*c, *next;
	json_t				*events;

	memset(&f, 0, sizeof(f));
	f.limit = CONTROL_FEED_EVENTS;
	if ((events = json_array()) == NULL ||
	    store_events_query(node->store, &f, control_event_cb,
	    events) != 0) {
		json_decref(events);
		return;
	}
	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->subscribed)
			continue;
		if (control_feed_one(c, events, ev_now(loop)) != 0) {
			log_warnx("control: uid %u: subscriber not reading; "
			    "closed", (unsigned)c->uid);
			control_conn_close(c);
			continue;
		}
		control_conn_cb(loop, &c->io, 0);	/* write */
	}
	json_decref(events);
}

/* Makes c a subscriber, fed from the events after the newest now. */
static void
control_subscribe(struct control_conn *c)
{
	struct store_event_filter	 f;
	json_t				*events, *last;

	if (c->subscribed)
		return;
	memset(&f, 0, sizeof(f));
	f.limit = 1;
	if ((events = json_array()) != NULL &&
	    store_events_query(node->store, &f, control_event_cb,
	    events) == 0 && (last = json_array_get(events, 0)) != NULL)
		c->last_event = json_integer_value(json_object_get(last, "id"));
	json_decref(events);
	c->subscribed = 1;
	c->last_status = 0;
	if (nsubscribed++ == 0) {
		ev_timer_init(&feed_timer, control_feed_cb, CONTROL_FEED_S,
		    CONTROL_FEED_S);
		ev_timer_start(node->loop, &feed_timer);
	}
}

/* Handles one request line: control-cmd.c's table does the work. */
static json_t *
control_dispatch(struct control_conn *c, const char *line)
{
	json_error_t	 jerr;
	json_t		*req, *resp;
	char		*cause = NULL;

	if ((req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		pk_cause_set(&cause, "not JSON: %s", jerr.text);
	else if ((resp = control_run(req, c->uid, &cause)) != NULL) {
		/* The table said yes; the feed is this connection's. */
		if (strcmp(json_string_value(json_object_get(req, "cmd")),
		    "subscribe") == 0)
			control_subscribe(c);
		json_decref(req);
		return resp;
	}
	json_decref(req);
	resp = json_pack("{s:b, s:s}", "ok", 0, "error", cause != NULL ?
	    cause : "out of memory");
	free(cause);
	return resp;
}

/* Reads requests, answers them, writes responses. */
static void
control_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn	*c = w->data;
	char			*nl, *nb;
	ssize_t			 n;

	if (revents & EV_READ) {
		if (c->insize - c->inlen < 4096) {
			if (c->insize >= CONTROL_LINE_MAX) {
				log_warnx("control: uid %u: request over %d "
				    "bytes", (unsigned)c->uid,
				    CONTROL_LINE_MAX);
				control_conn_close(c);
				return;
			}
			if ((nb = realloc(c->in, c->insize + 8192)) == NULL) {
				control_conn_close(c);
				return;
			}
			c->in = nb;
			c->insize += 8192;
		}
		n = read(c->fd, c->in + c->inlen, c->insize - c->inlen - 1);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			if (c->outlen == c->outoff) {
				control_conn_close(c);
				return;
			}
			c->dead = 1;	/* finish writing, then close */
		} else if (n > 0)
			c->inlen += (size_t)n;
		while (!c->dead && (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			*nl = '\0';
			if (nl != c->in)
				control_reply(c, control_dispatch(c, c->in));
			c->inlen -= (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->inlen);
		}
	}
	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			control_conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->dead) {
			control_conn_close(c);
			return;
		}
	}
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, c->outlen ? EV_READ | EV_WRITE : EV_READ);
	ev_io_start(loop, &c->io);
}

static void
control_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 fd;

	fd = accept4(control_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	if (!control_allowed(cred.uid, cred.gid)) {
		log_warnx("control: refused uid %u (pid %d): not root%s",
		    (unsigned)cred.uid, (int)cred.pid, control_gid !=
		    (gid_t)-1 ? " nor in the control group" : "");
		close(fd);
		return;
	}
	if (nconns >= CONTROL_CONNS_MAX) {
		log_warnx("control: refused uid %u: %d connections open",
		    (unsigned)cred.uid, nconns);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	ev_io_init(&c->io, control_conn_cb, fd, EV_READ);
	c->io.data = c;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	ev_io_start(loop, &c->io);
}

/* Creates the control socket (before privileges are dropped). */
int
control_init(char **cause)
{
	struct sockaddr_un	 sun;
	struct group		*gr;
	mode_t			 old;
	int			 fd;

	if (node->conf.control_group != NULL && *node->conf.control_group) {
		if ((gr = getgrnam(node->conf.control_group)) == NULL) {
			pk_cause_set(cause,
			    "control-group \"%s\": no such group",
			    node->conf.control_group);
			return -1;
		}
		control_gid = gr->gr_gid;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/control.sock", node->conf.runtime_dir) >=
	    sizeof(sun.sun_path)) {
		pk_cause_set(cause, "runtime directory path too long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pk_cause_set(cause, "control socket: %s", strerror(errno));
		return -1;
	}
	/* A stale socket of a dead peerkeyd is replaced; a live one is not. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		pk_cause_set(cause, "%s: another peerkeyd is running",
		    sun.sun_path);
		return -1;
	}
	unlink(sun.sun_path);
	old = umask(control_gid != (gid_t)-1 ? 0117 : 0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		pk_cause_set(cause, "bind %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (control_gid != (gid_t)-1 &&
	    chown(sun.sun_path, (uid_t)-1, control_gid) == -1) {
		pk_cause_set(cause, "chown %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 16) == -1) {
		pk_cause_set(cause, "listen %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	control_fd = fd;
	snprintf(control_path, sizeof(control_path), "%s", sun.sun_path);
	ev_io_init(&control_io, control_accept, fd, EV_READ);
	ev_io_start(node->loop, &control_io);
	return 0;
}

/* Closes the control socket and its connections, removes the file. */
void
control_cleanup(void)
{
	struct control_conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		control_conn_close(c);
	if (control_fd != -1) {
		ev_io_stop(node->loop, &control_io);
		close(control_fd);
		unlink(control_path);
		control_fd = -1;
	}
}
