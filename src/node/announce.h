/*
 * announce.h: DNS-SD publishing of this node through avahi-daemon.
 *
 * Publishes "<name>._peerkey._tcp.local" with TXT "pv=1" and
 * "keyid=<node key id>", and with mandos set also "<name>._mandos._tcp"
 * on the same port with an empty TXT record (what mandos-client expects).
 * Runs on the daemon's libev loop through avahi-ev.c; needs nothing else
 * of peerkeyd, so it is built and tested on its own.
 *
 * A missing avahi-daemon (or system bus) is a warning, not an error: it
 * keeps waiting and publishes when the daemon appears, and publishes
 * again after the daemon restarts. A name taken by another host is
 * renamed as Mandos does ("name #2", "name #3", ...).
 */
#ifndef ANNOUNCE_H
#define ANNOUNCE_H

#include <stdint.h>

struct ev_loop;

#define ANNOUNCE_PV		"1"	/* TXT pv=: native protocol version */
#define ANNOUNCE_RETRY_MS	5000	/* default wait to retry the bus */
#define ANNOUNCE_MAX_RENAMES	32	/* then give up (ANNOUNCE_FAILED) */

/* announce_state() */
#define ANNOUNCE_FAILED		-2	/* gave up: no free name, bad input */
#define ANNOUNCE_ABSENT		-1	/* no avahi-daemon (or no bus) */
#define ANNOUNCE_OFF		0	/* not started */
#define ANNOUNCE_REGISTERING	1	/* talking to avahi, probing names */
#define ANNOUNCE_ESTABLISHED	2	/* every service is published */

/* Log levels given to the log function: syslog(3)'s. */
#define ANNOUNCE_LOG_WARNING	4	/* LOG_WARNING */
#define ANNOUNCE_LOG_INFO	6	/* LOG_INFO */
#define ANNOUNCE_LOG_DEBUG	7	/* LOG_DEBUG */

struct announce_conf {
	const char	*name;		/* instance name, 1..63 bytes UTF-8 */
	uint16_t	 port;		/* not 0 */
	const char	*node_keyid;	/* hex, 1..64 digits */
	int		 mandos;	/* also publish _mandos._tcp */
	int		 ifindex;	/* -1 or 0: every interface */
	int		 protocol;	/* AVAHI_PROTO_UNSPEC, _INET, _INET6 */
	unsigned int	 retry_ms;	/* retry delay without a bus; 0: default */
};

typedef void (*announce_logfn)(int level, const char *msg);

/*
 * Starts publishing on loop; logfn (may be NULL) receives one line per
 * state change. Returns 0, also when avahi-daemon is absent (one warning
 * is logged). Returns -1 and sets *cause (to free) on a bad conf, when
 * already started, or when out of memory. The conf strings are copied.
 */
int		 announce_start(struct ev_loop *loop,
		    const struct announce_conf *conf, announce_logfn logfn,
		    char **cause);
/* Withdraws the services (avahi sends goodbyes) and frees everything. */
void		 announce_stop(void);
/* ANNOUNCE_FAILED .. ANNOUNCE_ESTABLISHED, for status. */
int		 announce_state(void);
/* The name currently used (after renames); NULL when not started. */
const char	*announce_name(void);

#endif /* ANNOUNCE_H */
