/*
 * util.c: what the daemon's files share, so that none of them reaches
 * into another for it: the one struct node (the daemon's state, filled in
 * by peerkeyd.c's main(), or by a unit test), the wall clock (for people
 * and the audit log only; deadlines are pk_now_ms()), and two socket
 * chores of the listener and the checker alike. (A cause is set with
 * libpeerkey's pk_cause_set().)
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node.h"

static struct node	 the_node;
struct node		*node = &the_node;

/* Wall-clock milliseconds, for people and the audit log only. */
int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Formats a socket address: host (for the per-source cap: the address with
 * its scope) and addr ("[fe80::1%eth0]:4141" or "192.0.2.1:4141").
 */
void
sockaddr_format(const struct sockaddr *sa, char *host, size_t hostlen,
    char *addr, size_t addrlen)
{
	char	 h[NI_MAXHOST], port[NI_MAXSERV];
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	socklen_t len = sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (getnameinfo(sa, len, h, sizeof(h), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, hostlen, "?");
		snprintf(addr, addrlen, "?");
		return;
	}
	/* Show IPv4-mapped addresses as plain IPv4. */
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
	    strncmp(h, "::ffff:", 7) == 0)
		memmove(h, h + 7, strlen(h + 7) + 1);
	snprintf(host, hostlen, "%s", h);
	if (strchr(h, ':') != NULL)
		snprintf(addr, addrlen, "[%s]:%s", h, port);
	else
		snprintf(addr, addrlen, "%s:%s", h, port);
}

/* Sets O_NONBLOCK, FD_CLOEXEC and TCP_NODELAY (Mandos loses ~40 ms per
 * unlock to Nagle's algorithm). */
int
socket_prepare(int fd)
{
	int	 on = 1, fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		return -1;
	return 0;
}
