/*
 * avahi-ev.c: AvahiPoll implemented with libev watchers.
 *
 * An AvahiWatch is an ev_io, an AvahiTimeout a one-shot ev_timer. Avahi
 * gives timeouts as absolute gettimeofday() times; they become relative
 * ev_timer delays, corrected for the loop's cached time.
 *
 * Freeing from inside a callback: libavahi-client (through its D-Bus glue)
 * may free or update the very watch or timeout whose callback is running.
 * Each object carries a "running" flag; a free during its own callback only
 * stops and unlinks it and marks it dead, and the dispatcher frees it once
 * the callback has returned. Any other free is immediate: a stopped libev
 * watcher is no longer pending, so it cannot fire later in this iteration.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>

#include <avahi-common/watch.h>
#include <ev.h>

#include "avahi-ev.h"

struct AvahiWatch {
	TAILQ_ENTRY(AvahiWatch)	 entry;
	struct avahi_ev		*ae;
	ev_io			 io;
	AvahiWatchEvent		 events;	/* wanted */
	AvahiWatchEvent		 revents;	/* during the callback */
	AvahiWatchCallback	 cb;
	void			*arg;
	int			 running;
	int			 dead;
};

struct AvahiTimeout {
	TAILQ_ENTRY(AvahiTimeout) entry;
	struct avahi_ev		*ae;
	ev_timer		 timer;
	AvahiTimeoutCallback	 cb;
	void			*arg;
	int			 running;
	int			 dead;
};

struct avahi_ev {
	AvahiPoll		 poll;		/* first: poll.userdata = ae */
	struct ev_loop		*loop;
	TAILQ_HEAD(, AvahiWatch) watches;
	TAILQ_HEAD(, AvahiTimeout) timeouts;
	int			 count;
};

/* Avahi's IN/OUT bits as libev's EV_READ/EV_WRITE. */
static int
avahi_ev_to_ev(AvahiWatchEvent events)
{
	int	ev = 0;

	if (events & AVAHI_WATCH_IN)
		ev |= EV_READ;
	if (events & AVAHI_WATCH_OUT)
		ev |= EV_WRITE;
	return ev;
}

/* (Re)arms w's ev_io for its wanted events; none wanted leaves it idle. */
static void
avahi_ev_watch_arm(AvahiWatch *w)
{
	int	ev;

	ev_io_stop(w->ae->loop, &w->io);
	ev = avahi_ev_to_ev(w->events);
	if (ev == 0)
		return;	/* libev cannot wait for ERR/HUP alone */
	ev_io_set(&w->io, w->io.fd, ev);
	ev_io_start(w->ae->loop, &w->io);
}

/* libev io callback: hands the event to Avahi, then any deferred free. */
static void
avahi_ev_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	AvahiWatch	*w = io->data;
	AvahiWatchEvent	 ev = 0;

	if (revents & EV_READ)
		ev |= AVAHI_WATCH_IN;
	if (revents & EV_WRITE)
		ev |= AVAHI_WATCH_OUT;
	if (revents & EV_ERROR)
		ev |= AVAHI_WATCH_ERR;
	w->revents = ev;
	w->running = 1;
	w->cb(w, io->fd, ev, w->arg);
	if (w->dead) {
		free(w);
		return;
	}
	w->running = 0;
	w->revents = 0;
}

/* AvahiPoll watch_new: watch fd for events. */
static AvahiWatch *
avahi_ev_watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent events,
    AvahiWatchCallback cb, void *arg)
{
	struct avahi_ev	*ae = api->userdata;
	AvahiWatch	*w;

	if (fd < 0 || cb == NULL)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ae = ae;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	ev_io_init(&w->io, avahi_ev_io_cb, fd, 0);
	w->io.data = w;
	TAILQ_INSERT_TAIL(&ae->watches, w, entry);
	ae->count++;
	avahi_ev_watch_arm(w);
	return w;
}

/* AvahiPoll watch_update: change the events watched for. */
static void
avahi_ev_watch_update(AvahiWatch *w, AvahiWatchEvent events)
{
	if (w->dead)
		return;
	w->events = events;
	avahi_ev_watch_arm(w);
}

/* AvahiPoll watch_get_events: what woke the watch (0 outside its callback). */
static AvahiWatchEvent
avahi_ev_watch_get_events(AvahiWatch *w)
{
	return w->revents;
}

/* AvahiPoll watch_free: stop; free now, or after its running callback. */
static void
avahi_ev_watch_free(AvahiWatch *w)
{
	struct avahi_ev	*ae = w->ae;

	if (w->dead)
		return;
	ev_io_stop(ae->loop, &w->io);
	TAILQ_REMOVE(&ae->watches, w, entry);
	ae->count--;
	if (w->running) {
		w->dead = 1;
		return;
	}
	free(w);
}

/* (Re)arms t for the absolute time tv; NULL leaves it disabled. */
static void
avahi_ev_timeout_arm(AvahiTimeout *t, const struct timeval *tv)
{
	struct ev_loop	*loop = t->ae->loop;
	struct timeval	 now;
	ev_tstamp	 delay;

	ev_timer_stop(loop, &t->timer);
	if (tv == NULL)
		return;
	gettimeofday(&now, NULL);
	delay = (ev_tstamp)(tv->tv_sec - now.tv_sec) +
	    (ev_tstamp)(tv->tv_usec - now.tv_usec) / 1e6;
	if (delay < 0.)
		delay = 0.;
	/* ev_timer counts from the loop's cached time, which may lag. */
	delay += ev_time() - ev_now(loop);
	ev_timer_set(&t->timer, delay, 0.);
	ev_timer_start(loop, &t->timer);
}

/* libev timer callback: a one-shot timer is already stopped here. */
static void
avahi_ev_timer_cb(struct ev_loop *loop, ev_timer *timer, int revents)
{
	AvahiTimeout	*t = timer->data;

	t->running = 1;
	t->cb(t, t->arg);
	if (t->dead) {
		free(t);
		return;
	}
	t->running = 0;
}

/* AvahiPoll timeout_new: call cb at absolute time tv (NULL: disabled). */
static AvahiTimeout *
avahi_ev_timeout_new(const AvahiPoll *api, const struct timeval *tv,
    AvahiTimeoutCallback cb, void *arg)
{
	struct avahi_ev	*ae = api->userdata;
	AvahiTimeout	*t;

	if (cb == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ae = ae;
	t->cb = cb;
	t->arg = arg;
	ev_timer_init(&t->timer, avahi_ev_timer_cb, 0., 0.);
	t->timer.data = t;
	TAILQ_INSERT_TAIL(&ae->timeouts, t, entry);
	ae->count++;
	avahi_ev_timeout_arm(t, tv);
	return t;
}

/* AvahiPoll timeout_update: re-arm for tv, or disable with NULL. */
static void
avahi_ev_timeout_update(AvahiTimeout *t, const struct timeval *tv)
{
	if (t->dead)
		return;
	avahi_ev_timeout_arm(t, tv);
}

/* AvahiPoll timeout_free: stop; free now, or after its running callback. */
static void
avahi_ev_timeout_free(AvahiTimeout *t)
{
	struct avahi_ev	*ae = t->ae;

	if (t->dead)
		return;
	ev_timer_stop(ae->loop, &t->timer);
	TAILQ_REMOVE(&ae->timeouts, t, entry);
	ae->count--;
	if (t->running) {
		t->dead = 1;
		return;
	}
	free(t);
}

/* A new adapter on loop. */
struct avahi_ev *
avahi_ev_new(struct ev_loop *loop)
{
	struct avahi_ev	*ae;

	if (loop == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((ae = calloc(1, sizeof(*ae))) == NULL)
		return NULL;
	ae->loop = loop;
	TAILQ_INIT(&ae->watches);
	TAILQ_INIT(&ae->timeouts);
	ae->poll.userdata = ae;
	ae->poll.watch_new = avahi_ev_watch_new;
	ae->poll.watch_update = avahi_ev_watch_update;
	ae->poll.watch_get_events = avahi_ev_watch_get_events;
	ae->poll.watch_free = avahi_ev_watch_free;
	ae->poll.timeout_new = avahi_ev_timeout_new;
	ae->poll.timeout_update = avahi_ev_timeout_update;
	ae->poll.timeout_free = avahi_ev_timeout_free;
	return ae;
}

/* The AvahiPoll of ae. */
const AvahiPoll *
avahi_ev_poll(struct avahi_ev *ae)
{
	return &ae->poll;
}

/* Watches plus timeouts not yet freed. */
int
avahi_ev_count(struct avahi_ev *ae)
{
	return ae->count;
}

/* Stops and frees ae and whatever Avahi left open. */
void
avahi_ev_free(struct avahi_ev *ae)
{
	AvahiWatch	*w;
	AvahiTimeout	*t;

	if (ae == NULL)
		return;
	while ((w = TAILQ_FIRST(&ae->watches)) != NULL)
		avahi_ev_watch_free(w);
	while ((t = TAILQ_FIRST(&ae->timeouts)) != NULL)
		avahi_ev_timeout_free(t);
	free(ae);
}
