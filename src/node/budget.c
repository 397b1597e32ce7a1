/*
 * budget.c: who gets peerkeyd's connections and file descriptors, so that
 * under a flood the real work goes on (doc/peerkeyd.8, "BUDGETS").
 *
 * File descriptors. At start RLIMIT_NOFILE is sized to the caps: every
 * session of max-connections, BUDGET_FD_FIXED for everything else (the
 * control socket and its connections, the listeners, the store, Avahi,
 * the loop) and one per guarded peer, for the checker's outgoing
 * heartbeat, plus BUDGET_FD_PEER_ROOM for peers added later. Sessions
 * never take the reserve: the session cap is max-connections or what the
 * limit leaves after the reserve (the peers counted as they are now),
 * whichever is lower, so a flood of connections can never starve the
 * checker or the control socket of descriptors.
 *
 * Classes. A session is "pending" from accept until its TLS handshake is
 * done (the protocol line, the handshake), then "unknown" if no peer has
 * its key (a stranger, or a machine sending JOIN), else known. Pending
 * and unknown sessions each have a budget, in total and per source (an
 * IPv4 address; an IPv6 /64, since one machine may hold a whole /64; a
 * link-local address on its own), below max-connections, so that known
 * boot and node keys always find room. A session that enters a class
 * over its budget makes room rather than being refused: the oldest of
 * its own source if that source is over its share, else the oldest of
 * the heaviest source among BUDGET_SAMPLE picked at random, so that a
 * source with one connection (a machine booting) is the last one a flood
 * from many sources pushes out. Unknown sessions get unknown-timeout in
 * place of idle-timeout: one request (UNLOCK is refused at once, a JOIN
 * answered) and they are gone.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "session-int.h"

#define BUDGET_FD_FIXED		128	/* control (33), listeners (16),
					 * store, Avahi, loop, logs, room */
#define BUDGET_FD_PEER_ROOM	256	/* peers added after the start */
#define BUDGET_HASH		4096	/* source buckets (power of 2) */
#define BUDGET_SAMPLE		8

struct budget_src {
	LIST_ENTRY(budget_src)	 hash;
	uint8_t			 key[16];
	int			 n[SESSION_CLASSES];
	TAILQ_HEAD(, session)	 q[SESSION_CLASSES];	/* oldest first */
};

static LIST_HEAD(, budget_src)	 budget_hash[BUDGET_HASH];
static struct session		**budget_all[SESSION_CLASSES];
static size_t			 budget_n[SESSION_CLASSES];
static size_t			 budget_size[SESSION_CLASSES];
static rlim_t			 budget_nofile;

/*
 * The source key of host (numeric, maybe "%scope"): an IPv4 address as
 * IPv4-mapped IPv6, an IPv6 address cut to its /64 (link-local ones
 * whole). Unparsable: all zeros.
 */
void
budget_key(const char *host, uint8_t key[16])
{
	char		 h[INET6_ADDRSTRLEN + 1];
	struct in_addr	 a4;
	size_t		 n = strcspn(host, "%");

	memset(key, 0, 16);
	if (n >= sizeof(h))
		return;
	memcpy(h, host, n);
	h[n] = '\0';
	if (inet_pton(AF_INET, h, &a4) == 1) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
		return;
	}
	if (inet_pton(AF_INET6, h, key) != 1) {
		memset(key, 0, 16);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)key) ||
	    (key[0] == 0xfe && (key[1] & 0xc0) == 0x80))
		return;		/* IPv4, link-local: the whole address */
	memset(key + 8, 0, 8);
}

/* A source key as the log names it ("192.0.2.1", "2001:db8::/64"). */
void
budget_key_name(const uint8_t key[16], char *buf, size_t len)
{
	char	 h[INET6_ADDRSTRLEN];
	int	 whole;

	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)key)) {
		inet_ntop(AF_INET, key + 12, h, sizeof(h));
		snprintf(buf, len, "%s", h);
		return;
	}
	inet_ntop(AF_INET6, key, h, sizeof(h));
	whole = key[0] == 0xfe && (key[1] & 0xc0) == 0x80;
	snprintf(buf, len, "%s%s", h, whole ? "" : "/64");
}

/* The source name of an address "host:port" (or host). */
void
budget_source_name(const char *addr, char *buf, size_t len)
{
	char	 host[PK_ADDR_LEN], port[16];
	uint8_t	 key[16];

	if (pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    "0") != 0) {
		snprintf(buf, len, "%s", addr);
		return;
	}
	budget_key(host, key);
	budget_key_name(key, buf, len);
}

static unsigned int
budget_hash_of(const uint8_t key[16])
{
	uint32_t	 h = 2166136261u;
	int		 i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & (BUDGET_HASH - 1);
}

/* The bucket of key, made if need be; NULL when out of memory. */
static struct budget_src *
budget_src_get(const uint8_t key[16])
{
	struct budget_src	*b;
	unsigned int		 h = budget_hash_of(key);
	int			 c;

	LIST_FOREACH(b, &budget_hash[h], hash)
		if (memcmp(b->key, key, 16) == 0)
			return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	memcpy(b->key, key, 16);
	for (c = 0; c < SESSION_CLASSES; c++)
		TAILQ_INIT(&b->q[c]);
	LIST_INSERT_HEAD(&budget_hash[h], b, hash);
	return b;
}

/* The caps of a class: in total and per source. */
static void
budget_caps(int class, unsigned long long *total, unsigned long long *per)
{
	if (class == SESSION_PENDING) {
		*total = node->conf.max_handshakes;
		*per = node->conf.max_handshakes_per_source;
	} else {
		*total = node->conf.max_unknown;
		*per = node->conf.max_unknown_per_source;
	}
}

/*
 * The session to close so that a class over its total makes room: of
 * BUDGET_SAMPLE random members (never the newest, the one entering), the
 * heaviest source's oldest member.
 */
static struct session *
budget_heaviest(int class)
{
	struct session	*s, *best = NULL;
	uint32_t	 rnd[BUDGET_SAMPLE];
	size_t		 n = budget_n[class] - 1;	/* not the newest */
	int		 i;

	if (n == 0)
		return NULL;
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		for (i = 0; i < BUDGET_SAMPLE; i++)
			rnd[i] = (uint32_t)i * 2654435761u;
	for (i = 0; i < BUDGET_SAMPLE; i++) {
		s = budget_all[class][rnd[i] % n];
		if (best == NULL ||
		    s->b_src->n[class] > best->b_src->n[class])
			best = s;
	}
	return TAILQ_FIRST(&best->b_src->q[class]);
}

/* Puts s into class; see node.h. */
struct session *
budget_enter(struct session *s, int class)
{
	struct session		**na;
	struct budget_src	*b;
	unsigned long long	 total, per;
	size_t			 ns;

	budget_leave(s);
	if ((b = budget_src_get(s->b_key)) == NULL)
		return NULL;	/* out of memory: not budgeted */
	if (budget_n[class] == budget_size[class]) {
		ns = budget_size[class] ? 2 * budget_size[class] : 256;
		if ((na = reallocarray(budget_all[class], ns,
		    sizeof(*na))) == NULL)
			return NULL;
		budget_all[class] = na;
		budget_size[class] = ns;
	}
	s->b_class = class;
	s->b_src = b;
	s->b_index = budget_n[class];
	budget_all[class][budget_n[class]++] = s;
	TAILQ_INSERT_TAIL(&b->q[class], s, b_entry);
	b->n[class]++;
	budget_caps(class, &total, &per);
	if ((unsigned long long)b->n[class] > per)
		return TAILQ_FIRST(&b->q[class]);
	if ((unsigned long long)budget_n[class] > total)
		return budget_heaviest(class);
	return NULL;
}

/* Takes s out of its class (if any). */
void
budget_leave(struct session *s)
{
	struct budget_src	*b = s->b_src;
	struct session		*last;
	int			 c = s->b_class, i;

	if (c < 0 || b == NULL)
		return;
	TAILQ_REMOVE(&b->q[c], s, b_entry);
	b->n[c]--;
	last = budget_all[c][--budget_n[c]];
	budget_all[c][s->b_index] = last;
	last->b_index = s->b_index;
	s->b_class = -1;
	s->b_src = NULL;
	for (i = 0; i < SESSION_CLASSES; i++)
		if (b->n[i] != 0)
			return;
	LIST_REMOVE(b, hash);
	free(b);
}

/* How many sessions the class holds now. */
size_t
budget_count(int class)
{
	return budget_n[class];
}

/*
 * The most sessions there may be now: max-connections, or what the
 * descriptor limit leaves after the reserve, if less.
 */
unsigned long long
budget_session_cap(void)
{
	unsigned long long	 reserve, room;

	reserve = BUDGET_FD_FIXED + (unsigned long long)node->npeers;
	room = budget_nofile > reserve ? budget_nofile - reserve : 0;
	return room < node->conf.max_conns ? room : node->conf.max_conns;
}

/*
 * Sizes RLIMIT_NOFILE to the caps (see the top). Says in the log what it
 * got; a limit too low (a unit's LimitNOFILE, a container) lowers the
 * session cap, it does not stop the daemon.
 */
void
budget_init(void)
{
	struct rlimit		 rl;
	unsigned long long	 want;

	want = node->conf.max_conns + BUDGET_FD_FIXED + (unsigned long long)
	    node->npeers + BUDGET_FD_PEER_ROOM;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("budget: getrlimit");
		budget_nofile = 1024;
		return;
	}
	if (rl.rlim_cur < want) {
		struct rlimit	 nr = rl;

		nr.rlim_cur = want;
		if (nr.rlim_max != RLIM_INFINITY && nr.rlim_max < want)
			nr.rlim_max = want;	/* root may raise it */
		if (setrlimit(RLIMIT_NOFILE, &nr) == -1) {
			nr.rlim_max = rl.rlim_max;
			nr.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			    rl.rlim_max > want ? want : rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nr) == -1)
				nr = rl;
		}
		rl = nr;
	}
	budget_nofile = rl.rlim_cur;
	if (budget_session_cap() < node->conf.max_conns)
		log_warnx("budget: %llu file descriptors allowed, %llu wanted: "
		    "at most %llu connections (raise LimitNOFILE=)",
		    (unsigned long long)budget_nofile, want,
		    budget_session_cap());
	else
		log_info("budget: %llu file descriptors: %llu connections, "
		    "the rest for heartbeats and the control socket",
		    (unsigned long long)budget_nofile, node->conf.max_conns);
	if (node->conf.max_handshakes + node->conf.max_unknown >=
	    node->conf.max_conns)
		log_warnx("budget: max-handshakes + max-unknown (%llu) leave "
		    "no room below max-connections (%llu) for known keys",
		    node->conf.max_handshakes + node->conf.max_unknown,
		    node->conf.max_conns);
}
