/*
 * test-io.c: pk_io_dial(), the one blocking dialer, against an in-process
 * native server on loopback (a thread that accepts, reads the pre-TLS
 * line and does the server's handshake with a real node key): the pinned
 * key is accepted, another key is refused with the message peerkey
 * prints, and bad addresses, a refused connection and a silent server
 * fail with their codes and causes. Then a message goes both ways over a
 * dialed session.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "key.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"
#include "test_helper.h"

#define SILENT_MS	300	/* deadline against a server that never talks */

/* One served connection. */
struct server {
	int			 lfd;
	const struct pk_tls_creds *creds;
	int			 line_ok;	/* the pre-TLS line arrived */
	int			 hs;		/* handshake result */
	int			 echo;		/* answer one HEARTBEAT */
};

/* The server's rule: any client key. */
static int
accept_any(const char *keyid, void *arg)
{
	return 0;
}

/* Accepts one connection and serves it (see struct server). */
static void *
server_run(void *arg)
{
	struct server	*s = arg;
	struct pk_tls	*t = NULL;
	struct pk_msg	 m;
	uint8_t		 buf[1024];
	char		 line[sizeof(PK_LINE_NATIVE)];
	uint64_t	 deadline = pk_now_ms() + 20000;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd;

	s->hs = 1;
	if ((fd = accept(s->lfd, NULL, NULL)) == -1)
		return NULL;
	while (have < strlen(PK_LINE_NATIVE)) {
		n = read(fd, line + have, strlen(PK_LINE_NATIVE) - have);
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
	s->line_ok = memcmp(line, PK_LINE_NATIVE, have) == 0;
	if (pk_tls_new(&t, fd, PK_TLS_NATIVE, PK_TLS_SERVER, s->creds,
	    accept_any, NULL) != 0)
		goto out;
	if ((s->hs = pk_io_handshake(t, fd, deadline)) != 0 || !s->echo)
		goto out;
	if (pk_io_recv_msg(t, fd, buf, sizeof(buf), sizeof(buf), &m,
	    deadline) == 0 && m.type == PK_MSG_HEARTBEAT) {
		m.type = PK_MSG_HEARTBEAT_REPLY;	/* the nonce echoed */
		(void)pk_io_send_msg(t, fd, &m, deadline);
	}
 out:
	pk_io_close(t, fd);
	return NULL;
}

/* A loopback TCP socket on a free port, listening or not; its port. */
static int
loopback_socket(int do_listen, int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (do_listen && listen(fd, 4) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Dials a served loopback port expecting keyid; returns the result. */
static int
dial_served(const struct pk_tls_creds *client, const struct pk_tls_creds
    *server, const char *keyid, int echo, char **cause, struct server *s)
{
	struct pk_tls	*t = NULL;
	struct pk_msg	 m;
	pthread_t	 th;
	uint8_t		 buf[1024];
	char		 addr[64];
	int		 port, fd = -1, r;

	memset(s, 0, sizeof(*s));
	s->creds = server;
	s->echo = echo;
	if ((s->lfd = loopback_socket(1, &port)) == -1 ||
	    pthread_create(&th, NULL, server_run, s) != 0) {
		test_fail(__FILE__, __LINE__, "set-up: %s", strerror(errno));
		return PK_ERR_SYSTEM;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	r = pk_io_dial(addr, client, keyid, pk_now_ms() + 20000, &t, &fd,
	    cause);
	if (r == 0) {
		ASSERT_INT_EQ(strcasecmp(pk_tls_peer_keyid(t), keyid), 0);
		if (echo) {
			memset(&m, 0, sizeof(m));
			m.version = PK_PROTO_VERSION;
			m.type = PK_MSG_HEARTBEAT;
			m.u.heartbeat.nonce = 42;
			ASSERT_INT_EQ(pk_io_send_msg(t, fd, &m,
			    pk_now_ms() + 20000), 0);
			ASSERT_INT_EQ(pk_io_recv_msg(t, fd, buf, sizeof(buf),
			    sizeof(buf), &m, pk_now_ms() + 20000), 0);
			ASSERT_INT_EQ(m.type, PK_MSG_HEARTBEAT_REPLY);
			ASSERT_INT_EQ(m.u.heartbeat.nonce, 42);
		}
	} else {
		ASSERT_PTR_EQ(t, NULL);
		ASSERT_INT_EQ(fd, -1);
	}
	pk_io_close(t, fd);
	pthread_join(th, NULL);
	close(s->lfd);
	return r;
}

/*
 * Dials a loopback port that nobody serves (listened on, or not) within
 * ms; expects code want (and errno want_errno, if not 0) and the cause
 * "ADDR: why".
 */
static void
dial_unserved(int do_listen, const struct pk_tls_creds *creds,
    const char *keyid, uint64_t ms, int want, int want_errno, const char *why)
{
	struct pk_tls	*t;
	char		*cause = NULL, addr[64], exp[128];
	int		 fd, lfd, port;

	if ((lfd = loopback_socket(do_listen, &port)) == -1) {
		test_fail(__FILE__, __LINE__, "socket: %s", strerror(errno));
		return;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ASSERT_INT_EQ(pk_io_dial(addr, creds, keyid, pk_now_ms() + ms, &t, &fd,
	    &cause), want);
	if (want_errno != 0)
		ASSERT_INT_EQ(errno, want_errno);
	snprintf(exp, sizeof(exp), "%s: %s", addr, why);
	ASSERT_STR_EQ(cause, exp);
	free(cause);
	close(lfd);
}

int
main(void)
{
	struct pk_identity	*a = NULL, *b = NULL, *x = NULL;
	struct pk_tls_creds	*ca = NULL, *cb = NULL;
	struct pk_tls		*t;
	struct server		 s;
	char			*cause = NULL;
	int			 fd, r;

	TEST_START("set-up: identities and credentials");
	ASSERT_INT_EQ(pk_identity_generate(&a), 0);
	ASSERT_INT_EQ(pk_identity_generate(&b), 0);
	ASSERT_INT_EQ(pk_identity_generate(&x), 0);
	if (a != NULL && b != NULL) {
		ASSERT_INT_EQ(pk_tls_creds_new(a, &ca), 0);
		ASSERT_INT_EQ(pk_tls_creds_new(b, &cb), 0);
	}
	TEST_DONE();
	if (ca == NULL || cb == NULL || x == NULL)
		return test_exit();

	TEST_START("pk_io_dial: the pinned node key");
	r = dial_served(ca, cb, b->keyid, 0, &cause, &s);
	ASSERT_INT_EQ(r, 0);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_INT_EQ(s.line_ok, 1);
	ASSERT_INT_EQ(s.hs, 0);
	TEST_DONE();

	TEST_START("pk_io_dial: the key id in upper case");
	{
		char	 up[PK_KEYID_HEXLEN + 1];
		size_t	 i;

		for (i = 0; b->keyid[i] != '\0'; i++)
			up[i] = (char)(b->keyid[i] >= 'a' && b->keyid[i] <=
			    'f' ? b->keyid[i] - 'a' + 'A' : b->keyid[i]);
		up[i] = '\0';
		r = dial_served(ca, cb, up, 0, NULL, &s);
		ASSERT_INT_EQ(r, 0);
	}
	TEST_DONE();

	TEST_START("pk_io_dial: a message each way over the session");
	ASSERT_INT_EQ(dial_served(ca, cb, b->keyid, 1, NULL, &s), 0);
	TEST_DONE();

	TEST_START("pk_io_dial: another node key is refused");
	r = dial_served(ca, cb, x->keyid, 0, &cause, &s);
	ASSERT_INT_EQ(r, PK_ERR_PEER_REJECTED);
	ASSERT_INT_NE(s.hs, 0);
	ASSERT_STR_CONTAINS(cause, ": peer key not accepted (it showed "
	    "another node key than the one pinned)");
	ASSERT_STR_CONTAINS(cause, "127.0.0.1:");
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("pk_io_dial: addresses that do not parse");
	ASSERT_INT_EQ(pk_io_dial("127.0.0.1:99999", ca, b->keyid,
	    pk_now_ms() + 1000, &t, &fd, &cause), PK_ERR_BAD_FORMAT);
	ASSERT_STR_EQ(cause, "127.0.0.1:99999: bad address");
	ASSERT_PTR_EQ(t, NULL);
	ASSERT_INT_EQ(fd, -1);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_io_dial("[::1", ca, b->keyid, pk_now_ms() + 1000,
	    &t, &fd, &cause), PK_ERR_BAD_FORMAT);
	ASSERT_STR_EQ(cause, "[::1: bad address");
	free(cause);
	cause = NULL;
	/* numeric only: a name is not resolved */
	ASSERT_INT_EQ(pk_io_dial("localhost:4141", ca, b->keyid,
	    pk_now_ms() + 1000, &t, &fd, NULL), PK_ERR_BAD_FORMAT);
	TEST_DONE();

	TEST_START("pk_io_dial: connection refused");
	/* The system's reason, not "system error". */
	dial_unserved(0, ca, b->keyid, 5000, PK_ERR_SYSTEM, ECONNREFUSED,
	    strerror(ECONNREFUSED));
	TEST_DONE();

	TEST_START("pk_io_dial: a server that never answers times out");
	dial_unserved(1, ca, b->keyid, SILENT_MS, PK_ERR_TIMEOUT, 0,
	    "timed out");
	TEST_DONE();

	TEST_START("pk_io_dial: no credentials or no key id");
	ASSERT_INT_EQ(pk_io_dial("127.0.0.1", NULL, b->keyid,
	    pk_now_ms() + 1000, &t, &fd, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_io_dial("127.0.0.1", ca, NULL, pk_now_ms() + 1000,
	    &t, &fd, NULL), PK_ERR_INVALID_ARG);
	TEST_DONE();

	pk_tls_creds_free(ca);
	pk_tls_creds_free(cb);
	pk_identity_free(a);
	pk_identity_free(b);
	pk_identity_free(x);
	return test_exit();
}
