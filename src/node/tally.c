/*
 * tally.c: refusals that repeat, counted instead of written each time.
 *
 * Anyone may connect, present a key no peer has and ask for an unlock,
 * or send a JOIN with a wrong secret, as fast as the network allows; a
 * log line and an audit event for each (a few hundred bytes) fill a disk
 * in a day. So such refusals go through tally(): per (what, source) the
 * first one in a quiet period is logged, and recorded as an event, at
 * once, exactly as before; the ones after it are only counted, and at the
 * end of each interval ([events] repeat-interval) one log line and one
 * event say how many there were, with the last one's words. A source that
 * keeps going costs one line and one event per interval; one that stops
 * is forgotten after an interval without any. The table is bounded
 * (TALLY_MAX sources); when it is full, the rest are counted together
 * under the source "others". So are new sources beyond TALLY_FRESH_MAX
 * in one interval, whatever they did: an attacker holding many addresses
 * (80 IPv4 addresses, say) would otherwise buy two lines per address and
 * interval; this way one interval costs at most TALLY_FRESH_MAX first
 * lines, as many summaries, and one "others" line and summary
 * (tests/hostile/flood.sh).
 *
 * What a test or an operator greps for (the first refusal's line) is
 * unchanged; only the repeats are folded.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "log.h"
#include "node.h"
#include "store.h"

#define TALLY_MAX	512		/* (what, source) pairs tracked */
#define TALLY_MSG	256
#define TALLY_FRESH_MAX	8		/* new sources an interval */

struct tally_entry {
	char		 what[96];	/* "" free */
	char		 src[64];
	char		 kind[24];	/* event kind, "" none */
	char		 msg[TALLY_MSG];	/* the last one's words */
	unsigned long	 count;		/* since the last line */
	int		 level;		/* LOG_INFO or LOG_WARNING */
};

static struct tally_entry	 tally_tab[TALLY_MAX];
static ev_timer			 tally_timer;
static int			 tally_started;
static int			 tally_fresh;	/* new sources this interval */

/* Writes the entry's line and event (count > 1: a summary). */
static void
tally_write(struct tally_entry *e, unsigned long count)
{
	char	 line[TALLY_MSG + 128], buf[32];

	if (count == 1)
		snprintf(line, sizeof(line), "%s", e->msg);
	else
		snprintf(line, sizeof(line), "%lu more from %s in %s, the "
		    "last: %s", count, e->src,
		    pk_format_duration(node->conf.repeat_interval, buf,
		    sizeof(buf)), e->msg);
	if (e->level == PK_TALLY_WARN)
		log_warnx("%s", line);
	else
		log_info("%s", line);
	if (e->kind[0] != '\0' && node->store != NULL &&
	    store_event(node->store, STORE_LAZY, wall_ms(), "", e->kind,
	    e->src, count == 1 ? e->msg : line) != 0)
		log_warnx("store: cannot record %s: %s", e->kind,
		    store_errmsg(node->store));
}

/* The end of an interval: summaries, and the quiet entries forgotten. */
static void
tally_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tally_entry	*e;
	int			 i, live = 0;

	tally_fresh = 0;
	for (i = 0; i < TALLY_MAX; i++) {
		e = &tally_tab[i];
		if (e->what[0] == '\0')
			continue;
		if (e->count == 0) {
			e->what[0] = '\0';
			continue;
		}
		tally_write(e, e->count);
		e->count = 0;
		live++;
	}
	if (live == 0 && tally_started) {
		ev_timer_stop(loop, w);
		tally_started = 0;
	}
}

/* Finds the entry of (what, src), or a free one, or the "others" one. */
static struct tally_entry *
tally_find(const char *what, const char *src, int *fresh)
{
	struct tally_entry	*e, *free_e = NULL;
	int			 i;

	*fresh = 0;
	for (i = 0; i < TALLY_MAX; i++) {
		e = &tally_tab[i];
		if (e->what[0] == '\0') {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (strcmp(e->what, what) == 0 && strcmp(e->src, src) == 0)
			return e;
	}
	if (free_e == NULL || (tally_fresh >= TALLY_FRESH_MAX &&
	    strcmp(src, "others") != 0)) {
		/* Full, or too many new sources in this interval: the
		 * others are counted together, whatever they did. */
		if (strcmp(src, "others") == 0)
			return NULL;	/* cannot be: it would be found */
		return tally_find("others", "others", fresh);
	}
	snprintf(free_e->what, sizeof(free_e->what), "%s", what);
	snprintf(free_e->src, sizeof(free_e->src), "%s", src);
	free_e->count = 0;
	*fresh = 1;
	tally_fresh++;
	return free_e;
}

/* Notes one refusal; see node.h. */
void
tally(int level, const char *what, const char *src, const char *kind,
    const char *fmt, ...)
{
	struct tally_entry	*e;
	va_list			 ap;
	int			 fresh;

	if ((e = tally_find(what, src, &fresh)) == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->kind, sizeof(e->kind), "%s", kind != NULL ? kind : "");
	e->level = level;
	if (fresh) {
		tally_write(e, 1);
		if (!tally_started && node->loop != NULL) {
			ev_timer_init(&tally_timer, tally_flush,
			    node->conf.repeat_interval / 1000.0,
			    node->conf.repeat_interval / 1000.0);
			ev_timer_start(node->loop, &tally_timer);
			tally_started = 1;
		}
		return;
	}
	e->count++;
}

/* Writes what is counted (at shutdown). */
void
tally_stop(void)
{
	if (tally_started)
		ev_timer_stop(node->loop, &tally_timer);
	tally_started = 0;
	tally_flush(node->loop, &tally_timer, 0);
}
