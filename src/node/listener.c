/*
 * listener.c: the listening sockets: accept, connection caps, hand-off.
 *
 * By default one IPv6 socket on [::]:port with IPV6_V6ONLY off takes IPv4
 * too, and link-local peers (fe80::/10, with their scope) as well. Caps:
 * max_conns in total (lowered to what the descriptor limit leaves after
 * budget.c's reserve) and max_conns_per_source per address. A connection
 * over a cap is accepted and closed at once, so it costs no handshake and
 * never delays the sessions already under way. Below the caps, budget.c
 * keeps unauthenticated connections and unknown keys to their share.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "addr.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"

#define LISTENERS_MAX	16

struct listener {
	int		 fd;
	ev_io		 io;
	char		 name[NI_MAXHOST + 32];
};

static struct listener	listeners[LISTENERS_MAX];
static int		nlisteners;
static ev_timer		pause_timer;

static void
listener_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 i;

	for (i = 0; i < nlisteners; i++)
		ev_io_start(loop, &listeners[i].io);
}

static void
listener_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener		*l = w->data;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char			 addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
	int			 fd, i, n;

	/* Accept a bounded batch, then let other events run. */
	for (n = 0; n < 64; n++) {
		sslen = sizeof(ss);
		fd = accept(l->fd, (struct sockaddr *)&ss, &sslen);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: pause accepting for a
				 * second rather than spin. */
				log_warnx("listener: out of file descriptors; "
				    "pausing accept for 1s");
				for (i = 0; i < nlisteners; i++)
					ev_io_stop(loop, &listeners[i].io);
				ev_timer_stop(loop, &pause_timer);
				ev_timer_set(&pause_timer, 1., 0.);
				ev_timer_start(loop, &pause_timer);
				return;
			}
			log_warn("listener: accept on %s", l->name);
			return;
		}
		sockaddr_format((struct sockaddr *)&ss, host, sizeof(host),
		    addr, sizeof(addr));
		if ((unsigned long long)session_count() >=
		    budget_session_cap()) {
			log_warnx("listener: %s: refused: %llu connections "
			    "open (%s)", addr, budget_session_cap(),
			    budget_session_cap() < node->conf.max_conns ?
			    "the file descriptors left after the reserve" :
			    "max-connections");
			close(fd);
			continue;
		}
		if ((unsigned long long)session_count_from(host) >=
		    node->conf.max_conns_per_source) {
			log_warnx("listener: %s: refused: %llu connections "
			    "from %s (max-connections-per-source)", addr,
			    node->conf.max_conns_per_source, host);
			close(fd);
			continue;
		}
		if (socket_prepare(fd) == -1) {
			log_warn("listener: %s: socket options", addr);
			close(fd);
			continue;
		}
		session_start(fd, host, addr);
	}
}

/* Opens one listening socket on host (NULL: any, dual stack). */
static int
listener_open(const char *host, char **cause)
{
	struct addrinfo		 hints, *res = NULL, *ai;
	struct listener		*l;
	char			 port[16], h[NI_MAXHOST], a[NI_MAXHOST + 32];
	int			 fd = -1, on = 1, off = 0, r, opened = 0;

	snprintf(port, sizeof(port), "%llu", node->conf.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_family = host == NULL ? AF_INET6 : AF_UNSPEC;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		if (host == NULL) {	/* no IPv6 at all: IPv4 any */
			hints.ai_family = AF_INET;
			r = getaddrinfo(NULL, port, &hints, &res);
		}
		if (r != 0) {
			pk_cause_set(cause, "listen address \"%s\": %s",
			    host ? host : "*", gai_strerror(r));
			return -1;
		}
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (nlisteners == LISTENERS_MAX) {
			pk_cause_set(cause, "too many listen addresses "
			    "(max %d)", LISTENERS_MAX);
			goto fail;
		}
		sockaddr_format(ai->ai_addr, h, sizeof(h), a, sizeof(a));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			pk_cause_set(cause, "socket for %s: %s", a,
			    strerror(errno));
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
			    host == NULL ? &off : &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, 1024) == -1) {
			pk_cause_set(cause, "cannot listen on %s: %s", a,
			    strerror(errno));
			goto fail;
		}
		{
			struct sockaddr_storage	 ss;
			socklen_t		 sl = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
				sockaddr_format((struct sockaddr *)&ss, h,
				    sizeof(h), a, sizeof(a));
		}
		l = &listeners[nlisteners++];
		l->fd = fd;
		fd = -1;
		snprintf(l->name, sizeof(l->name), "%s", a);
		ev_io_init(&l->io, listener_accept, l->fd, EV_READ);
		l->io.data = l;
		opened++;
		log_info("listening on %s", a);
	}
	freeaddrinfo(res);
	return opened;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/*
 * Opens every configured listen address (before privileges are dropped).
 * Returns 0, or -1 with *cause set.
 */
int
listener_init(char **cause)
{
	const char	*p = node->conf.listen;
	char		 a[PK_ADDR_LEN];
	int		 r;

	ev_timer_init(&pause_timer, listener_resume, 1., 0.);
	if (node->conf.listen == NULL || *node->conf.listen == '\0')
		return listener_open(NULL, cause) < 0 ? -1 : 0;
	while ((r = pk_list_next(&p, a, sizeof(a))) != 0) {
		if (r < 0) {
			pk_cause_set(cause, "listen address \"%s...\": too "
			    "long", a);
			return -1;
		}
		if (listener_open(a, cause) < 0)
			return -1;
	}
	return 0;
}

/* Starts accepting. */
void
listener_start(void)
{
	int	 i;

	for (i = 0; i < nlisteners; i++)
		ev_io_start(node->loop, &listeners[i].io);
}

/* Stops accepting and closes the listening sockets. */
void
listener_stop(void)
{
	int	 i;

	ev_timer_stop(node->loop, &pause_timer);
	for (i = 0; i < nlisteners; i++) {
		ev_io_stop(node->loop, &listeners[i].io);
		close(listeners[i].fd);
	}
	nlisteners = 0;
}

/* The port actually bound (for a configured port 0, as tests use). */
int
listener_port(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (nlisteners == 0 ||
	    getsockname(listeners[0].fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
