/*
 * avahi-ev.h: an AvahiPoll on top of a libev loop, so that libavahi-client
 * runs inside peerkeyd's one single-threaded loop (avahi-common ships
 * simple, thread and glib adapters, none for libev).
 *
 *	struct avahi_ev *ae = avahi_ev_new(loop);
 *	client = avahi_client_new(avahi_ev_poll(ae), ...);
 *	...
 *	avahi_client_free(client);
 *	avahi_ev_free(ae);
 *
 * Avahi may free a watch or a timeout from inside that watch's own
 * callback; the adapter defers such a free until the callback returns.
 */
#ifndef AVAHI_EV_H
#define AVAHI_EV_H

#include <avahi-common/watch.h>

struct ev_loop;
struct avahi_ev;

/* A new adapter on loop; NULL (errno ENOMEM) when out of memory. */
struct avahi_ev	*avahi_ev_new(struct ev_loop *loop);
/* The AvahiPoll to hand to avahi_client_new(); valid until avahi_ev_free. */
const AvahiPoll	*avahi_ev_poll(struct avahi_ev *ae);
/* Live watches plus timeouts (not yet freed by Avahi); for leak checks. */
int		 avahi_ev_count(struct avahi_ev *ae);
/*
 * Stops and frees the adapter and any watch or timeout still open (free
 * the Avahi objects first: they must not use them afterwards). NULL is ok.
 */
void		 avahi_ev_free(struct avahi_ev *ae);

#endif /* AVAHI_EV_H */
