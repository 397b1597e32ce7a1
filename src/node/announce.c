/*
 * announce.c: publish this node's services through avahi-daemon.
 *
 * One AvahiClient on the daemon's libev loop (avahi-ev.c), one entry group
 * per service type, so that a name taken on _mandos._tcp does not rename
 * the _peerkey._tcp service. The life cycle, as avahi's documentation
 * prescribes for daemons that outlive avahi-daemon:
 *
 *	avahi_client_new(NO_FAIL)  -- no bus at all: warn once, retry later
 *	  CONNECTING               -- bus but no avahi-daemon: warn once, wait
 *	  S_RUNNING                -- add the services, commit
 *	  S_REGISTERING/COLLISION  -- host name not settled: withdraw, wait
 *	  FAILURE (DISCONNECTED)   -- daemon or bus gone: free the client (not
 *	                              from inside its callback: on a zero
 *	                              timer) and start over
 *	group COLLISION            -- avahi_alternative_service_name, re-add
 *	group ESTABLISHED          -- published
 *
 * The callbacks of avahi_client_new() and avahi_entry_group_new() may run
 * before those functions return, so the callbacks take the object from
 * their argument, never from the (not yet set) global.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <ev.h>

#include "announce.h"
#include "avahi-ev.h"
#include "pk_err.h"

#define ANNOUNCE_KEYID_MAX	64
#define ANNOUNCE_NSVC		2

struct announce_svc {
	const char		*type;
	int			 with_txt;	/* pv= and keyid= */
	char			*name;
	AvahiEntryGroup		*group;
	int			 state;		/* ANNOUNCE_* */
	int			 renames;
};

static struct announce {
	int			 started;
	struct ev_loop		*loop;
	struct avahi_ev		*ae;
	AvahiClient		*client;
	ev_timer		 reconnect;
	announce_logfn		 logfn;
	char			 keyid_txt[sizeof("keyid=") +
				    ANNOUNCE_KEYID_MAX];
	uint16_t		 port;
	int			 ifindex;
	int			 protocol;
	ev_tstamp		 retry;		/* seconds */
	int			 absent;	/* no daemon to talk to */
	int			 warned;	/* absence already warned of */
	int			 nsvc;
	struct announce_svc	 svc[ANNOUNCE_NSVC];
} an;

static void	announce_connect(void);
static void	announce_publish(struct announce_svc *);

/* Formats one log line and hands it to the caller's log function. */
static void __attribute__((format(printf, 2, 3)))
announce_log(int level, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (an.logfn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	an.logfn(level, msg);
}

/* Schedules a fresh client after delay seconds (0: next loop iteration). */
static void
announce_schedule(ev_tstamp delay)
{
	ev_timer_stop(an.loop, &an.reconnect);
	ev_now_update(an.loop);		/* D-Bus calls may have blocked */
	ev_timer_set(&an.reconnect, delay, 0.);
	ev_timer_start(an.loop, &an.reconnect);
}

/* Frees the client and, with it, its entry groups. */
static void
announce_drop_client(void)
{
	int	i;

	if (an.client != NULL)
		avahi_client_free(an.client);
	an.client = NULL;
	for (i = 0; i < an.nsvc; i++) {
		an.svc[i].group = NULL;
		if (an.svc[i].state != ANNOUNCE_FAILED)
			an.svc[i].state = ANNOUNCE_REGISTERING;
	}
}

/* Reconnect timer: start over with a new client. */
static void
announce_reconnect_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	announce_drop_client();
	announce_connect();
}

/* Notes that avahi-daemon is out of reach; warns only the first time. */
static void
announce_absent(const char *why)
{
	an.absent = 1;
	if (an.warned) {
		announce_log(ANNOUNCE_LOG_DEBUG, "announce: still waiting for "
		    "avahi-daemon (%s)", why);
		return;
	}
	an.warned = 1;
	announce_log(ANNOUNCE_LOG_WARNING, "announce: avahi-daemon not "
	    "available (%s); will publish when it starts", why);
}

/* Picks the next name for svc after a collision; -1 when giving up. */
static int
announce_rename(struct announce_svc *svc)
{
	char	*alt, *copy;

	if (++svc->renames > ANNOUNCE_MAX_RENAMES) {
		svc->state = ANNOUNCE_FAILED;
		announce_log(ANNOUNCE_LOG_WARNING, "announce: no free name "
		    "for %s after %d renames; not publishing it",
		    svc->type, ANNOUNCE_MAX_RENAMES);
		return -1;
	}
	if ((alt = avahi_alternative_service_name(svc->name)) == NULL ||
	    (copy = strdup(alt)) == NULL) {
		avahi_free(alt);
		svc->state = ANNOUNCE_FAILED;
		announce_log(ANNOUNCE_LOG_WARNING, "announce: out of memory "
		    "renaming %s", svc->type);
		return -1;
	}
	avahi_free(alt);
	announce_log(ANNOUNCE_LOG_WARNING, "announce: name \"%s\" of %s "
	    "is taken; renaming to \"%s\"", svc->name, svc->type, copy);
	free(svc->name);
	svc->name = copy;
	return 0;
}

/* Entry group state changes of one service. */
static void
announce_group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state,
    void *arg)
{
	struct announce_svc	*svc = arg;
	AvahiClient		*c = avahi_entry_group_get_client(g);

	svc->group = g;
	switch (state) {
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
		break;
	case AVAHI_ENTRY_GROUP_REGISTERING:
		svc->state = ANNOUNCE_REGISTERING;
		announce_log(ANNOUNCE_LOG_DEBUG, "announce: registering "
		    "\"%s\" (%s)", svc->name, svc->type);
		break;
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		svc->state = ANNOUNCE_ESTABLISHED;
		announce_log(ANNOUNCE_LOG_INFO, "announce: published \"%s\" "
		    "(%s) on port %u", svc->name, svc->type, an.port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		/* Avahi has withdrawn the entries: re-add under a new name. */
		svc->state = ANNOUNCE_REGISTERING;
		avahi_entry_group_reset(g);
		if (announce_rename(svc) == 0)
			announce_publish(svc);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		svc->state = ANNOUNCE_REGISTERING;
		announce_log(ANNOUNCE_LOG_WARNING, "announce: publishing "
		    "\"%s\" (%s) failed: %s; retrying", svc->name, svc->type,
		    avahi_strerror(avahi_client_errno(c)));
		announce_schedule(an.retry);
		break;
	}
}

/* Adds svc to its entry group (made on first use) and commits it. */
static void
announce_publish(struct announce_svc *svc)
{
	AvahiStringList	*txt = NULL;
	int		 r;

	if (svc->state == ANNOUNCE_FAILED || an.client == NULL)
		return;
	if (svc->group == NULL &&
	    avahi_entry_group_new(an.client, announce_group_cb, svc) == NULL) {
		/* Its callback may have seen the group it then freed. */
		svc->group = NULL;
		r = avahi_client_errno(an.client);
		goto fail;
	}
	if ((r = avahi_entry_group_is_empty(svc->group)) < 0)
		goto fail;
	if (r == 0)
		return;		/* added already, committed */
	if (svc->with_txt && (txt = avahi_string_list_new("pv=" ANNOUNCE_PV,
	    an.keyid_txt, NULL)) == NULL) {
		r = AVAHI_ERR_NO_MEMORY;
		goto fail;
	}
	for (;;) {
		r = avahi_entry_group_add_service_strlst(svc->group,
		    an.ifindex, an.protocol, 0, svc->name, svc->type, NULL,
		    NULL, an.port, txt);
		if (r != AVAHI_ERR_COLLISION)
			break;
		/* Taken by another client of this very avahi-daemon. */
		if (announce_rename(svc) == -1)
			goto out;
	}
	if (r < 0)
		goto fail;
	if ((r = avahi_entry_group_commit(svc->group)) < 0)
		goto fail;
	svc->state = ANNOUNCE_REGISTERING;
	goto out;
fail:
	announce_log(ANNOUNCE_LOG_WARNING, "announce: cannot publish \"%s\" "
	    "(%s): %s; retrying", svc->name, svc->type, avahi_strerror(r));
	announce_schedule(an.retry);
out:
	avahi_string_list_free(txt);
}

/* Withdraws every service while avahi settles its host name. */
static void
announce_withdraw(void)
{
	int	i;

	for (i = 0; i < an.nsvc; i++) {
		if (an.svc[i].group != NULL)
			avahi_entry_group_reset(an.svc[i].group);
		if (an.svc[i].state != ANNOUNCE_FAILED)
			an.svc[i].state = ANNOUNCE_REGISTERING;
	}
}

/* Client state changes. */
static void
announce_client_cb(AvahiClient *c, AvahiClientState state, void *arg)
{
	int	i, err;

	an.client = c;
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		announce_log(an.warned ? ANNOUNCE_LOG_INFO : ANNOUNCE_LOG_DEBUG,
		    "announce: avahi-daemon running (%s)",
		    avahi_client_get_version_string(c) ?
		    avahi_client_get_version_string(c) : "unknown version");
		an.absent = 0;
		an.warned = 0;
		for (i = 0; i < an.nsvc; i++)
			announce_publish(&an.svc[i]);
		break;
	case AVAHI_CLIENT_S_REGISTERING:
	case AVAHI_CLIENT_S_COLLISION:
		an.absent = 0;
		announce_log(ANNOUNCE_LOG_INFO, "announce: avahi-daemon is "
		    "%s its host name; services withdrawn until it is done",
		    state == AVAHI_CLIENT_S_COLLISION ? "renaming" :
		    "registering");
		announce_withdraw();
		break;
	case AVAHI_CLIENT_CONNECTING:
		announce_absent("not on the system bus");
		break;
	case AVAHI_CLIENT_FAILURE:
		err = avahi_client_errno(c);
		if (err == AVAHI_ERR_DISCONNECTED) {
			announce_absent("disconnected");
			announce_schedule(0.);
		} else {
			announce_log(ANNOUNCE_LOG_WARNING, "announce: avahi "
			    "client failed: %s; retrying", avahi_strerror(err));
			announce_schedule(an.retry);
		}
		break;
	}
}

/* Makes a client; without a system bus, waits and tries again. */
static void
announce_connect(void)
{
	AvahiClient	*c;
	int		 err = 0;

	c = avahi_client_new(avahi_ev_poll(an.ae), AVAHI_CLIENT_NO_FAIL,
	    announce_client_cb, NULL, &err);
	if (c != NULL) {
		an.client = c;
		return;
	}
	/* avahi_client_new has freed whatever its callback made. */
	an.client = NULL;
	announce_drop_client();
	announce_absent(avahi_strerror(err));
	announce_schedule(an.retry);
}

/* Checks that s is 1..max hex digits. */
static int
announce_valid_hex(const char *s, size_t max)
{
	size_t	i;

	if (s == NULL || *s == '\0' || strlen(s) > max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Starts publishing conf on loop. */
int
announce_start(struct ev_loop *loop, const struct announce_conf *conf,
    announce_logfn logfn, char **cause)
{
	int	i;

	if (cause != NULL)
		*cause = NULL;
	if (an.started) {
		pk_cause_set(cause, "announce: already started");
		return -1;
	}
	if (loop == NULL || conf == NULL) {
		pk_cause_set(cause, "announce: no loop or no configuration");
		return -1;
	}
	if (conf->name == NULL || !avahi_is_valid_service_name(conf->name)) {
		pk_cause_set(cause, "announce: invalid service name \"%s\" "
		    "(1 to %d bytes)", conf->name ? conf->name : "(null)",
		    AVAHI_LABEL_MAX - 1);
		return -1;
	}
	if (conf->port == 0) {
		pk_cause_set(cause, "announce: port 0");
		return -1;
	}
	if (!announce_valid_hex(conf->node_keyid, ANNOUNCE_KEYID_MAX)) {
		pk_cause_set(cause, "announce: node key id \"%s\" is not "
		    "1 to %d hex digits", conf->node_keyid ? conf->node_keyid :
		    "(null)", ANNOUNCE_KEYID_MAX);
		return -1;
	}
	if (conf->protocol != AVAHI_PROTO_UNSPEC &&
	    conf->protocol != AVAHI_PROTO_INET &&
	    conf->protocol != AVAHI_PROTO_INET6) {
		pk_cause_set(cause, "announce: unknown protocol %d",
		    conf->protocol);
		return -1;
	}
	if (conf->ifindex < -1) {
		pk_cause_set(cause, "announce: bad interface index %d",
		    conf->ifindex);
		return -1;
	}

	memset(&an, 0, sizeof(an));
	an.loop = loop;
	an.logfn = logfn;
	an.port = conf->port;
	an.ifindex = conf->ifindex <= 0 ? AVAHI_IF_UNSPEC : conf->ifindex;
	an.protocol = conf->protocol;
	an.retry = (conf->retry_ms ? conf->retry_ms : ANNOUNCE_RETRY_MS) /
	    1000.;
	snprintf(an.keyid_txt, sizeof(an.keyid_txt), "keyid=%s",
	    conf->node_keyid);
	an.svc[an.nsvc].type = "_peerkey._tcp";
	an.svc[an.nsvc++].with_txt = 1;
	if (conf->mandos)
		an.svc[an.nsvc++].type = "_mandos._tcp";	/* empty TXT */
	for (i = 0; i < an.nsvc; i++) {
		an.svc[i].state = ANNOUNCE_REGISTERING;
		if ((an.svc[i].name = strdup(conf->name)) == NULL)
			goto nomem;
	}
	if ((an.ae = avahi_ev_new(loop)) == NULL)
		goto nomem;
	ev_timer_init(&an.reconnect, announce_reconnect_cb, 0., 0.);
	an.started = 1;
	announce_log(ANNOUNCE_LOG_DEBUG, "announce: starting: \"%s\" port %u%s",
	    conf->name, an.port, conf->mandos ? ", with _mandos._tcp" : "");
	announce_connect();
	return 0;

nomem:
	for (i = 0; i < an.nsvc; i++)
		free(an.svc[i].name);
	memset(&an, 0, sizeof(an));
	pk_cause_set(cause, "announce: out of memory");
	return -1;
}

/* Stops publishing; the services disappear from the network. */
void
announce_stop(void)
{
	int	i;

	if (!an.started)
		return;
	ev_timer_stop(an.loop, &an.reconnect);
	announce_drop_client();
	avahi_ev_free(an.ae);
	for (i = 0; i < an.nsvc; i++)
		free(an.svc[i].name);
	announce_log(ANNOUNCE_LOG_DEBUG, "announce: stopped");
	memset(&an, 0, sizeof(an));
}

/* Overall state, for status. */
int
announce_state(void)
{
	int	i, state = ANNOUNCE_ESTABLISHED;

	if (!an.started)
		return ANNOUNCE_OFF;
	for (i = 0; i < an.nsvc; i++)
		if (an.svc[i].state == ANNOUNCE_FAILED)
			return ANNOUNCE_FAILED;
	if (an.absent || an.client == NULL)
		return ANNOUNCE_ABSENT;
	for (i = 0; i < an.nsvc; i++)
		if (an.svc[i].state != ANNOUNCE_ESTABLISHED)
			state = ANNOUNCE_REGISTERING;
	return state;
}

/* The current _peerkey._tcp instance name. */
const char *
announce_name(void)
{
	if (!an.started)
		return NULL;
	return an.svc[0].name;
}
