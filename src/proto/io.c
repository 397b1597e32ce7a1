/*
 * io.c: blocking-style message exchange over a native TLS session, with
 * deadlines, for peerkey and peerkey-boot (and tests), and the one
 * blocking dialer, pk_io_dial(), that peerkey and peerkeyd's introductions
 * use. The sockets may be non-blocking: every wait is a poll() bounded by
 * the deadline.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "io.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "secret.h"
#include "tls.h"

/* Monotonic milliseconds. */
uint64_t
pk_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Closes every descriptor from lowfd up; see io.h. */
void
pk_closefrom(int lowfd)
{
	long	max, fd;

#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 1 << 20)
		max = 1 << 20;
	for (fd = lowfd; fd < max; fd++)
		(void)close((int)fd);
}

/* Waits until fd is ready for events or the deadline passes. */
static int
io_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd	 pfd;
	uint64_t	 now;
	int		 r;

	for (;;) {
		now = pk_now_ms();
		if (now >= deadline)
			return PK_ERR_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 :
		    deadline - now));
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return PK_ERR_SYSTEM;
	}
}

int
pk_io_write_all(int fd, const void *buf, size_t len, uint64_t deadline)
{
	const uint8_t	*p = buf;
	ssize_t		 n;
	int		 r;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return PK_ERR_SYSTEM;
		if ((r = io_wait(fd, POLLOUT, deadline)) != 0)
			return r;
	}
	return 0;
}

int
pk_io_handshake(struct pk_tls *tls, int fd, uint64_t deadline)
{
	int	 r;

	for (;;) {
		r = pk_tls_handshake(tls);
		if (r != PK_ERR_AGAIN)
			return r;
		if ((r = io_wait(fd, pk_tls_want_write(tls) ? POLLOUT : POLLIN,
		    deadline)) != 0)
			return r;
	}
}

/* Sends all of buf over tls. */
static int
io_tls_send_all(struct pk_tls *tls, int fd, const uint8_t *buf, size_t len,
    uint64_t deadline)
{
	ssize_t	 n;
	int	 r;

	while (len > 0) {
		n = pk_tls_send(tls, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n != PK_ERR_AGAIN)
			return (int)n;
		if ((r = io_wait(fd, POLLOUT, deadline)) != 0)
			return r;
	}
	return 0;
}

int
pk_io_send_msg(struct pk_tls *tls, int fd, const struct pk_msg *msg,
    uint64_t deadline)
{
	uint8_t	*buf;
	size_t	 need, written;
	int	 r;

	if ((need = pk_msg_encoded_len(msg)) == 0)
		return PK_ERR_INVALID_ARG;
	if ((buf = malloc(need)) == NULL)
		return PK_ERR_ALLOC;
	if ((r = pk_msg_encode(msg, buf, need, &written)) == 0)
		r = io_tls_send_all(tls, fd, buf, written, deadline);
	pk_wipe(buf, need);
	free(buf);
	return r;
}

int
pk_io_recv_msg(struct pk_tls *tls, int fd, uint8_t *buf, size_t buflen,
    size_t max, struct pk_msg *msg, uint64_t deadline)
{
	size_t	 have = 0, framelen = 0;
	ssize_t	 n;
	int	 r;

	for (;;) {
		r = pk_frame_next(buf, have, max, &framelen);
		if (r == 0)
			break;
		if (r != PK_ERR_TRUNCATED)
			return r;
		if (framelen > buflen)
			return PK_ERR_TOO_LARGE;
		/* Read no further than this frame (or its header). */
		n = pk_tls_recv(tls, buf + have, (framelen ? framelen :
		    PK_FRAME_HDR) - have);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == PK_ERR_EOF)
			return have == 0 ? PK_ERR_EOF : PK_ERR_TRUNCATED;
		if (n != PK_ERR_AGAIN)
			return (int)n;
		if (pk_tls_pending(tls) == 0 &&
		    (r = io_wait(fd, POLLIN, deadline)) != 0)
			return r;
	}
	return pk_msg_decode(buf, framelen, msg);
}

int
pk_io_connect(const char *host, const char *port, uint64_t deadline)
{
	struct addrinfo	 hints, *res = NULL;
	socklen_t	 len;
	int		 fd, fl, on = 1, err, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return PK_ERR_BAD_FORMAT;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		freeaddrinfo(res);
		return PK_ERR_SYSTEM;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		goto syserr;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto syserr;
		if ((r = io_wait(fd, POLLOUT, deadline)) != 0) {
			freeaddrinfo(res);
			close(fd);
			return r;
		}
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			goto syserr;
		if (err != 0) {
			errno = err;
			goto syserr;
		}
	}
	freeaddrinfo(res);
	return fd;
syserr:
	err = errno;
	freeaddrinfo(res);
	close(fd);
	errno = err;
	return PK_ERR_SYSTEM;
}

/* pk_io_dial()'s verify rule: only the expected node key. */
static int
io_dial_verify(const char *keyid, void *arg)
{
	return strcasecmp(keyid, (const char *)arg) == 0 ? 0 : -1;
}

int
pk_io_dial(const char *addr, const struct pk_tls_creds *creds,
    const char *keyid, uint64_t deadline, struct pk_tls **tlsp, int *fdp,
    char **cause)
{
	struct pk_tls	*tls = NULL;
	char		 host[256], port[16], defport[16];
	int		 fd, r, saved;

	*tlsp = NULL;
	*fdp = -1;
	if (creds == NULL || keyid == NULL)
		return PK_ERR_INVALID_ARG;
	snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
	if ((r = pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    defport)) != 0) {
		pk_cause_set(cause, "%s: bad address", addr);
		return r;
	}
	if ((fd = pk_io_connect(host, port, deadline)) < 0) {
		saved = errno;
		/* The system's reason is the one the operator can act on
		 * (refused: nothing listens there; unreachable: no route). */
		pk_cause_set(cause, "%s: %s", addr, fd == PK_ERR_SYSTEM ?
		    strerror(saved) : pk_strerror(fd));
		errno = saved;
		return fd;
	}
	if ((r = pk_io_write_all(fd, PK_LINE_NATIVE, strlen(PK_LINE_NATIVE),
	    deadline)) != 0 ||
	    (r = pk_tls_new(&tls, fd, PK_TLS_NATIVE, PK_TLS_CLIENT, creds,
	    io_dial_verify, (void *)(uintptr_t)keyid)) != 0 ||
	    (r = pk_io_handshake(tls, fd, deadline)) != 0) {
		pk_cause_set(cause, "%s: %s%s", addr, pk_strerror(r),
		    r == PK_ERR_PEER_REJECTED ? " (it showed another node key "
		    "than the one pinned)" : "");
		if (tls != NULL)
			pk_tls_free(tls);
		close(fd);
		return r;
	}
	*tlsp = tls;
	*fdp = fd;
	return 0;
}

void
pk_io_close(struct pk_tls *tls, int fd)
{
	if (tls != NULL) {
		pk_tls_bye(tls);
		pk_tls_free(tls);
	}
	if (fd != -1)
		close(fd);
}

void
pk_io_drop(struct pk_tls **tls, int *fd)
{
	pk_tls_free(*tls);
	*tls = NULL;
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}
