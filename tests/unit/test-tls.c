/*
 * test-tls.c: real GnuTLS handshakes between two pk_tls sessions (or a
 * pk_tls session and a hand-made GnuTLS peer) over socketpair(AF_UNIX).
 *
 * Blocking cases run the TLS server side in a thread; one case drives
 * both sides on non-blocking sockets from a single poll() loop.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "io.h"
#include "key.h"
#include "pk_err.h"
#include "tls.h"
#include "test_helper.h"

#define BIG_LEN		(200 * 1024)	/* spans many TLS records */

/* What one side of a test connection does and what it saw. */
struct side {
	/* set-up */
	int			 fd;
	enum pk_tls_profile	 profile;
	enum pk_tls_role	 role;
	const struct pk_tls_creds *creds;
	pk_tls_verify_fn	 verify;
	const char		*pin;		/* key id the rule accepts */
	int			 talk_first;	/* send, then read the echo */
	size_t			 len;		/* payload size, 0: none */
	int			 close_no_bye;	/* close, no close_notify */
	/* results */
	int			 new_r;
	int			 hs;
	int			 io_r;		/* first send/recv failure */
	int			 data_ok;
	int			 eof_r;		/* the read after the data */
	int			 verify_calls;
	char			 seen[PK_KEYID_HEXLEN + 1];	/* rule's arg */
	char			 peer[PK_KEYID_HEXLEN + 1];
	char			 offered[PK_KEYID_HEXLEN + 1];
	char			 desc[256];
	char			 err[256];
};

/* The verify rule: accept exactly s->pin, remember what was asked. */
static int
pin_rule(const char *keyid, void *arg)
{
	struct side	*s = arg;

	s->verify_calls++;
	snprintf(s->seen, sizeof(s->seen), "%s", keyid);
	return s->pin != NULL && strcmp(keyid, s->pin) == 0 ? 0 : 1;
}

/* Payload byte i; the echo is the payload xor 0x5a. */
static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i * 131 + 7) >> 3);
}

/* Sends (reading: reads) exactly len bytes with a blocking session. */
static int
xfer_all(struct pk_tls *t, unsigned char *buf, size_t len, int reading)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		n = reading ? pk_tls_recv(t, buf + off, len - off) :
		    pk_tls_send(t, buf + off, len - off);
		if (n == PK_ERR_AGAIN)
			continue;
		if (n < 0)
			return (int)n;
		off += (size_t)n;
	}
	return 0;
}
#define send_all(t, buf, len)	xfer_all((t), (buf), (len), 0)
#define recv_all(t, buf, len)	xfer_all((t), (buf), (len), 1)

/* Runs one side over a blocking fd, then closes it. */
static void *
side_run(void *arg)
{
	struct side	*s = arg;
	struct pk_tls	*t = NULL;
	unsigned char	*buf = NULL;
	unsigned char	 c;
	size_t		 i;
	int		 r;

	s->hs = s->io_r = s->eof_r = 1;		/* "did not get there" */
	s->new_r = pk_tls_new(&t, s->fd, s->profile, s->role, s->creds,
	    s->verify, s);
	if (s->new_r != 0)
		goto out;
	s->hs = pk_tls_handshake(t);
	snprintf(s->offered, sizeof(s->offered), "%s",
	    pk_tls_offered_keyid(t));
	snprintf(s->peer, sizeof(s->peer), "%s", pk_tls_peer_keyid(t));
	if (s->hs != 0) {
		snprintf(s->err, sizeof(s->err), "%s", pk_tls_error(t));
		goto out;
	}
	pk_tls_describe(t, s->desc, sizeof(s->desc));
	if (s->close_no_bye)
		goto out;
	if (s->len > 0) {
		if ((buf = malloc(s->len)) == NULL)
			goto out;
		if (s->talk_first) {
			for (i = 0; i < s->len; i++)
				buf[i] = pattern(i);
			if ((r = send_all(t, buf, s->len)) != 0 ||
			    (r = recv_all(t, buf, s->len)) != 0) {
				s->io_r = r;
				goto fail;
			}
			for (i = 0; i < s->len; i++)
				if (buf[i] != (pattern(i) ^ 0x5a))
					break;
		} else {
			if ((r = recv_all(t, buf, s->len)) != 0) {
				s->io_r = r;
				goto fail;
			}
			for (i = 0; i < s->len; i++)
				if (buf[i] != pattern(i))
					break;
			{
				size_t	j;

				for (j = 0; j < s->len; j++)
					buf[j] ^= 0x5a;
			}
			if ((r = send_all(t, buf, s->len)) != 0) {
				s->io_r = r;
				goto fail;
			}
		}
		s->data_ok = i == s->len;
		s->io_r = 0;
	}
	if (s->talk_first) {
		pk_tls_bye(t);
		s->eof_r = (int)pk_tls_recv(t, &c, 1);
	} else {
		s->eof_r = (int)pk_tls_recv(t, &c, 1);
		pk_tls_bye(t);
	}
	goto out;
 fail:
	snprintf(s->err, sizeof(s->err), "%s", pk_tls_error(t));
 out:
	free(buf);
	pk_tls_free(t);
	close(s->fd);
	return NULL;
}

/*
 * Over a fresh socketpair, runs fn(arg) in a thread on one end (*fnfd)
 * and side here on the other; returns 0 once both are done, -1 on set-up.
 */
static int
run_with(void *(*fn)(void *), void *arg, int *fnfd, struct side *here)
{
	pthread_t	th;
	int		sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	*fnfd = sv[0];
	here->fd = sv[1];
	if (pthread_create(&th, NULL, fn, arg) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	side_run(here);
	pthread_join(th, NULL);
	return 0;
}

/* Runs server in a thread and client here. */
static int
run_pair(struct side *cli, struct side *srv)
{
	return run_with(side_run, srv, &srv->fd, cli);
}

/* Both sides made their session and completed the handshake. */
static void
assert_both_up(const struct side *a, const struct side *b)
{
	ASSERT_INT_EQ(a->new_r, 0);
	ASSERT_INT_EQ(b->new_r, 0);
	ASSERT_INT_EQ(a->hs, 0);
	ASSERT_INT_EQ(b->hs, 0);
}

/* Fills in a side with defaults. */
static void
side_init(struct side *s, enum pk_tls_profile p, enum pk_tls_role role,
    const struct pk_tls_creds *creds, const char *pin)
{
	memset(s, 0, sizeof(*s));
	s->profile = p;
	s->role = role;
	s->creds = creds;
	s->verify = pin_rule;
	s->pin = pin;
	s->talk_first = role == PK_TLS_CLIENT;
}

/*
 * A hand-made GnuTLS client for the negative cases: priority prio,
 * optional raw public key credentials. Returns the handshake result
 * (GnuTLS code) and closes fd.
 */
static int
raw_client(int fd, const char *prio, gnutls_certificate_credentials_t cred,
    int server)
{
	gnutls_session_t	sess;
	unsigned char		c;
	int			ret;

	if (gnutls_init(&sess, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
	    GNUTLS_ENABLE_RAWPK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS) < 0)
		return -1;
	if (gnutls_priority_set_direct(sess, prio, NULL) < 0 ||
	    gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
		gnutls_deinit(sess);
		close(fd);
		return -1;
	}
	gnutls_transport_set_int(sess, fd);
	gnutls_handshake_set_timeout(sess, GNUTLS_INDEFINITE_TIMEOUT);
	do {
		ret = gnutls_handshake(sess);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	/* As a Mandos booting side: wait for the peer to finish. */
	if (ret == 0 && server) {
		do {
			ret = (int)gnutls_record_recv(sess, &c, 1);
		} while (ret > 0);
		if (ret == GNUTLS_E_PREMATURE_TERMINATION)
			ret = 0;
	}
	/* In TLS 1.3 the server's verdict on us arrives after Finished. */
	else if (ret == 0) {
		ret = (int)gnutls_record_recv(sess, &c, 1);
		if (ret >= 0)
			ret = 0;
	}
	gnutls_deinit(sess);
	close(fd);
	return ret;
}

/* Makes rawpk credentials around a new key of algorithm alg. */
static gnutls_certificate_credentials_t
raw_creds(gnutls_pk_algorithm_t alg, unsigned int bits, char *keyid)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_privkey_t	 priv = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_pcert_st		*pcert = NULL;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return NULL;
	if (alg == GNUTLS_PK_UNKNOWN)
		return cred;		/* no key at all */
	if (gnutls_privkey_init(&priv) < 0 ||
	    gnutls_privkey_generate(priv, alg, bits, 0) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0 ||
	    (pcert = gnutls_calloc(1, sizeof(*pcert))) == NULL ||
	    (keyid != NULL && pk_keyid_from_pubkey(pub, keyid) != 0) ||
	    gnutls_pcert_import_rawpk(pcert, pub, 0) < 0 ||
	    gnutls_certificate_set_key(cred, NULL, 0, pcert, 1, priv) < 0) {
		gnutls_certificate_free_credentials(cred);
		return NULL;
	}
	/* cred now owns pcert's contents and priv. */
	gnutls_free(pcert);
	return cred;
}

/* State for the raw client thread. */
struct raw_side {
	int				 fd;
	const char			*prio;
	gnutls_certificate_credentials_t cred;
	int				 server;
	int				 ret;
};

/* Thread body around raw_client(). */
static void *
raw_run(void *arg)
{
	struct raw_side	*r = arg;

	r->ret = raw_client(r->fd, r->prio, r->cred, r->server);
	return NULL;
}

/* A native server facing a hand-made client; returns 0 on set-up. */
static int
run_raw(struct side *srv, struct raw_side *raw)
{
	return run_with(raw_run, raw, &raw->fd, srv);
}

/* TLS 1.3, any certificate type: what the hand-made clients offer. */
#define RAW_TLS13	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+CTYPE-ALL"

/*
 * A hand-made client (priorities prio, a new key of alg and bits, its
 * key id into kid if not NULL) against srv: 1 when it ran (the caller
 * checks, then frees raw->cred), 0 when its key could not be made.
 */
static int
raw_try(struct side *srv, struct raw_side *raw, const char *prio,
    gnutls_pk_algorithm_t alg, unsigned int bits, char *kid)
{
	memset(raw, 0, sizeof(*raw));
	raw->prio = prio;
	raw->cred = raw_creds(alg, bits, kid);
	ASSERT_PTR_NE(raw->cred, NULL);
	if (raw->cred == NULL)
		return 0;
	ASSERT_INT_EQ(run_raw(srv, raw), 0);
	return 1;
}

/* Argument checks that need no peer. */
static void
test_args(const struct pk_tls_creds *withkey, const struct pk_tls_creds *nokey)
{
	struct pk_tls	*t = NULL;
	int		 sv[2];

	TEST_START("pk_tls_new refuses unusable arguments");
	ASSERT_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_INT_EQ(pk_tls_new(NULL, sv[0], PK_TLS_NATIVE, PK_TLS_CLIENT,
	    withkey, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_tls_new(&t, -1, PK_TLS_NATIVE, PK_TLS_CLIENT,
	    withkey, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_tls_new(&t, 1000, PK_TLS_NATIVE, PK_TLS_CLIENT,
	    withkey, NULL, NULL), PK_ERR_INVALID_ARG);	/* not open */
	/* Native needs a key on both sides, Mandos on the booting side. */
	ASSERT_INT_EQ(pk_tls_new(&t, sv[0], PK_TLS_NATIVE, PK_TLS_CLIENT,
	    NULL, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_tls_new(&t, sv[0], PK_TLS_NATIVE, PK_TLS_SERVER,
	    nokey, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_tls_new(&t, sv[0], PK_TLS_MANDOS, PK_TLS_SERVER,
	    NULL, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_tls_new(&t, sv[0], (enum pk_tls_profile)7,
	    PK_TLS_SERVER, withkey, NULL, NULL), PK_ERR_INVALID_ARG);
	ASSERT_PTR_EQ(t, NULL);
	TEST_DONE();

	TEST_START("no key id, no I/O before the handshake");
	ASSERT_INT_EQ(pk_tls_new(&t, sv[0], PK_TLS_NATIVE, PK_TLS_CLIENT,
	    withkey, NULL, NULL), 0);
	ASSERT_STR_EQ(pk_tls_peer_keyid(t), "");
	ASSERT_INT_EQ(pk_tls_send(t, "x", 1), PK_ERR_INVALID_ARG);
	{
		char	b[4];
		ASSERT_INT_EQ(pk_tls_recv(t, b, sizeof(b)),
		    PK_ERR_INVALID_ARG);
		ASSERT_INT_EQ(pk_tls_describe(t, b, sizeof(b)),
		    PK_ERR_INVALID_ARG);
	}
	ASSERT_INT_EQ(pk_tls_pending(t), 0);
	pk_tls_bye(t);			/* harmless before a handshake */
	pk_tls_free(t);
	close(sv[0]);
	close(sv[1]);
	TEST_DONE();
}

/* Native profile, blocking, both keys pinned. */
static void
test_native_ok(const struct pk_identity *a, const struct pk_tls_creds *ca,
    const struct pk_identity *b, const struct pk_tls_creds *cb)
{
	struct side	cli, srv;

	TEST_START("native: pinned keys, handshake, data both ways, EOF");
	side_init(&cli, PK_TLS_NATIVE, PK_TLS_CLIENT, ca, b->keyid);
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, a->keyid);
	cli.len = srv.len = BIG_LEN;
	ASSERT_INT_EQ(run_pair(&cli, &srv), 0);
	assert_both_up(&cli, &srv);
	ASSERT_STR_EQ(cli.peer, b->keyid);
	ASSERT_STR_EQ(srv.peer, a->keyid);
	ASSERT_STR_EQ(cli.seen, b->keyid);
	ASSERT_STR_EQ(srv.seen, a->keyid);
	ASSERT_INT_EQ(cli.verify_calls, 1);
	ASSERT_INT_EQ(srv.verify_calls, 1);
	ASSERT_INT_EQ(cli.io_r, 0);
	ASSERT_INT_EQ(srv.io_r, 0);
	ASSERT_INT_EQ(cli.data_ok, 1);
	ASSERT_INT_EQ(srv.data_ok, 1);
	ASSERT_INT_EQ(cli.eof_r, PK_ERR_EOF);	/* close_notify */
	ASSERT_INT_EQ(srv.eof_r, PK_ERR_EOF);
	ASSERT_STR_CONTAINS(cli.desc, "TLS1.3");
	ASSERT_STR_CONTAINS(cli.desc, "X25519");
	ASSERT_STR_CONTAINS(cli.desc, "Ed25519");
	ASSERT_STR_CONTAINS(srv.desc, "TLS1.3");
	if (cli.hs != 0 || srv.hs != 0)
		test_diag("client: %s / server: %s", cli.err, srv.err);
	TEST_DONE();

	TEST_START("native: verify NULL, caller reads the key id afterwards");
	side_init(&cli, PK_TLS_NATIVE, PK_TLS_CLIENT, ca, NULL);
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, NULL);
	cli.verify = srv.verify = NULL;
	ASSERT_INT_EQ(run_pair(&cli, &srv), 0);
	ASSERT_INT_EQ(cli.hs, 0);
	ASSERT_INT_EQ(srv.hs, 0);
	ASSERT_STR_EQ(cli.peer, b->keyid);
	ASSERT_STR_EQ(srv.peer, a->keyid);
	TEST_DONE();

	TEST_START("native: TCP close without close_notify reads as EOF");
	side_init(&cli, PK_TLS_NATIVE, PK_TLS_CLIENT, ca, b->keyid);
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, a->keyid);
	srv.close_no_bye = 1;
	cli.talk_first = 0;		/* read at once, send nothing */
	ASSERT_INT_EQ(run_pair(&cli, &srv), 0);
	ASSERT_INT_EQ(cli.hs, 0);
	ASSERT_INT_EQ(srv.hs, 0);
	ASSERT_INT_EQ(cli.eof_r, PK_ERR_EOF);
	TEST_DONE();
}

/* Native profile: the verify rules and the type checks say no. */
static void
test_native_refusals(const struct pk_identity *a,
    const struct pk_tls_creds *ca, const struct pk_identity *b,
    const struct pk_tls_creds *cb, const struct pk_identity *x,
    const struct pk_tls_creds *cx)
{
	struct side	 cli, srv;
	struct raw_side	 raw;

	TEST_START("native: server refuses an unknown client key");
	side_init(&cli, PK_TLS_NATIVE, PK_TLS_CLIENT, cx, b->keyid);
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, a->keyid);
	cli.len = srv.len = 16;
	ASSERT_INT_EQ(run_pair(&cli, &srv), 0);
	ASSERT_INT_EQ(srv.hs, PK_ERR_PEER_REJECTED);
	ASSERT_STR_EQ(srv.peer, "");
	ASSERT_STR_EQ(srv.offered, x->keyid);	/* for the log line */
	ASSERT_STR_EQ(srv.seen, x->keyid);
	ASSERT_STR_CONTAINS(srv.err, "not accepted");
	/* TLS 1.3: the client finishes first, then hears the alert. */
	ASSERT_TRUE(cli.hs == PK_ERR_TLS ||
	    (cli.hs == 0 && cli.io_r == PK_ERR_TLS));
	ASSERT_INT_EQ(cli.data_ok, 0);
	/* It hears the alert, or, if it wrote before reading, finds the
	 * connection closed behind it: a race, either is a refusal. */
	ASSERT_TRUE(strstr(cli.err, "alert") != NULL ||
	    strstr(cli.err, "push function") != NULL);
	test_diag("client saw: %s", cli.err);
	TEST_DONE();

	TEST_START("native: client refuses the server (wrong key pinned)");
	side_init(&cli, PK_TLS_NATIVE, PK_TLS_CLIENT, ca, x->keyid);
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, a->keyid);
	ASSERT_INT_EQ(run_pair(&cli, &srv), 0);
	ASSERT_INT_EQ(cli.hs, PK_ERR_PEER_REJECTED);
	ASSERT_STR_EQ(cli.seen, b->keyid);
	ASSERT_STR_EQ(cli.peer, "");
	ASSERT_INT_EQ(srv.hs, PK_ERR_TLS);
	ASSERT_INT_EQ(srv.verify_calls, 0);	/* never got that far */
	ASSERT_STR_CONTAINS(srv.err, "alert");
	test_diag("server saw: %s", srv.err);
	TEST_DONE();

	TEST_START("native: server refuses a client with no key");
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, a->keyid);
	if (raw_try(&srv, &raw, RAW_TLS13, GNUTLS_PK_UNKNOWN, 0, NULL)) {
		ASSERT_INT_EQ(srv.hs, PK_ERR_TLS);
		ASSERT_INT_EQ(srv.verify_calls, 0);
		ASSERT_STR_EQ(srv.offered, "");
		ASSERT_INT_LT(raw.ret, 0);
		test_diag("server saw: %s", srv.err);
		gnutls_certificate_free_credentials(raw.cred);
	}
	TEST_DONE();

	TEST_START("native: server refuses TLS 1.2");
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, NULL);
	srv.verify = NULL;		/* would accept any key */
	if (raw_try(&srv, &raw, "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CTYPE-ALL",
	    GNUTLS_PK_EDDSA_ED25519,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), NULL)) {
		ASSERT_INT_EQ(srv.hs, PK_ERR_TLS);
		ASSERT_STR_EQ(srv.peer, "");
		ASSERT_INT_LT(raw.ret, 0);
		test_diag("server saw: %s", srv.err);
		gnutls_certificate_free_credentials(raw.cred);
	}
	TEST_DONE();

	TEST_START("native: control: the hand-made TLS 1.3 Ed25519 client "
	    "gets in");
	side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, NULL);
	srv.verify = NULL;
	srv.talk_first = 1;		/* close_notify, then read EOF */
	if (raw_try(&srv, &raw, RAW_TLS13, GNUTLS_PK_EDDSA_ED25519,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), NULL)) {
		ASSERT_INT_EQ(srv.hs, 0);
		ASSERT_INT_EQ(pk_keyid_valid(srv.peer), 1);
		ASSERT_INT_EQ(raw.ret, 0);	/* read close_notify */
		ASSERT_INT_EQ(srv.eof_r, PK_ERR_EOF);
		gnutls_certificate_free_credentials(raw.cred);
	}
	TEST_DONE();

	TEST_START("native: control: an ECDSA P-256 client (a TPM's key) gets "
	    "in, its key id the SHA-256 of its SPKI");
	{
		char	kid[PK_KEYID_HEXLEN + 1];

		side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, NULL);
		srv.verify = NULL;
		srv.talk_first = 1;
		if (raw_try(&srv, &raw, RAW_TLS13, GNUTLS_PK_ECDSA,
		    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), kid)) {
			ASSERT_INT_EQ(srv.hs, 0);
			ASSERT_STR_EQ(srv.peer, kid);
			ASSERT_INT_EQ(raw.ret, 0);
			gnutls_certificate_free_credentials(raw.cred);
		}
	}
	TEST_DONE();

	TEST_START("native: server refuses ECDSA P-384 and RSA client keys");
	{
		static const struct {
			gnutls_pk_algorithm_t	alg;
			unsigned int		bits;
		} kinds[2] = {
			{ GNUTLS_PK_ECDSA,
			    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1) },
			{ GNUTLS_PK_RSA, 2048 },
		};
		size_t	i;

		for (i = 0; i < 2; i++) {
			side_init(&srv, PK_TLS_NATIVE, PK_TLS_SERVER, cb, NULL);
			srv.verify = NULL;	/* the type alone must fail */
			if (!raw_try(&srv, &raw, RAW_TLS13, kinds[i].alg,
			    kinds[i].bits, NULL))
				continue;
			ASSERT_TRUE(srv.hs == PK_ERR_TLS ||
			    srv.hs == PK_ERR_PEER_REJECTED);
			ASSERT_STR_EQ(srv.peer, "");
			ASSERT_INT_LT(raw.ret, 0);
			test_diag("%s: server saw: %s",
			    gnutls_pk_get_name(kinds[i].alg), srv.err);
			gnutls_certificate_free_credentials(raw.cred);
		}
	}
	TEST_DONE();
}

/* Mandos profile: booting side is TLS server, serving side has no key. */
static void
test_mandos(const struct pk_identity *boot, const struct pk_tls_creds *cboot,
    const struct pk_identity *x)
{
	struct side	serving, booting;

	TEST_START("mandos: serving side (no creds) learns the boot key id");
	side_init(&serving, PK_TLS_MANDOS, PK_TLS_CLIENT, NULL, boot->keyid);
	side_init(&booting, PK_TLS_MANDOS, PK_TLS_SERVER, cboot, NULL);
	booting.verify = NULL;		/* like mandos-client */
	/* The node sends the secret; the booting side reads to EOF. */
	serving.len = booting.len = 1200;
	ASSERT_INT_EQ(run_pair(&serving, &booting), 0);
	assert_both_up(&serving, &booting);
	ASSERT_STR_EQ(serving.peer, boot->keyid);
	ASSERT_STR_EQ(serving.seen, boot->keyid);
	ASSERT_STR_EQ(booting.peer, "");	/* Mandos server has no key */
	ASSERT_INT_EQ(booting.verify_calls, 0);
	ASSERT_INT_EQ(serving.data_ok, 1);
	ASSERT_INT_EQ(booting.data_ok, 1);
	ASSERT_INT_EQ(serving.eof_r, PK_ERR_EOF);
	ASSERT_INT_EQ(booting.eof_r, PK_ERR_EOF);
	ASSERT_STR_CONTAINS(serving.desc, "TLS1.3");
	ASSERT_STR_CONTAINS(serving.desc, "Raw Public Key");
	test_diag("mandos session: %s", serving.desc);
	if (serving.hs != 0 || booting.hs != 0)
		test_diag("serving: %s / booting: %s", serving.err,
		    booting.err);
	TEST_DONE();

	TEST_START("mandos: serving side refuses an unknown boot key");
	side_init(&serving, PK_TLS_MANDOS, PK_TLS_CLIENT, NULL, x->keyid);
	side_init(&booting, PK_TLS_MANDOS, PK_TLS_SERVER, cboot, NULL);
	booting.verify = NULL;
	ASSERT_INT_EQ(run_pair(&serving, &booting), 0);
	ASSERT_INT_EQ(serving.hs, PK_ERR_PEER_REJECTED);
	ASSERT_STR_EQ(serving.offered, boot->keyid);
	ASSERT_INT_EQ(booting.hs, PK_ERR_TLS);
	TEST_DONE();

	TEST_START("mandos: a GnuTLS booting side with an ECDSA or RSA key "
	    "(mandos-keygen -T) is served");
	{
		static const struct {
			gnutls_pk_algorithm_t	alg;
			unsigned int		bits;
		} kinds[2] = {
			{ GNUTLS_PK_ECDSA,
			    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1) },
			{ GNUTLS_PK_RSA, 2048 },
		};
		struct raw_side	raw;
		char		kid[PK_KEYID_HEXLEN + 1];
		pthread_t	th;
		int		sv[2];
		size_t		i;

		for (i = 0; i < 2; i++) {
			memset(&raw, 0, sizeof(raw));
			raw.server = 1;
			raw.prio = "SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:"
			    "!VERS-ALL:+VERS-TLS1.3:%PROFILE_ULTRA";
			raw.cred = raw_creds(kinds[i].alg, kinds[i].bits, kid);
			ASSERT_PTR_NE(raw.cred, NULL);
			if (raw.cred == NULL)
				continue;
			side_init(&serving, PK_TLS_MANDOS, PK_TLS_CLIENT, NULL,
			    kid);
			serving.talk_first = 1;		/* bye, then EOF */
			ASSERT_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv),
			    0);
			raw.fd = sv[0];
			serving.fd = sv[1];
			ASSERT_INT_EQ(pthread_create(&th, NULL, raw_run, &raw),
			    0);
			side_run(&serving);
			pthread_join(th, NULL);
			ASSERT_INT_EQ(serving.hs, 0);
			ASSERT_STR_EQ(serving.peer, kid);
			ASSERT_INT_EQ(raw.ret, 0);
			if (serving.hs != 0)
				test_diag("%s", serving.err);
			gnutls_certificate_free_credentials(raw.cred);
		}
	}
	TEST_DONE();
}

/* A client and a server on the two non-blocking ends of a socketpair. */
struct nb {
	struct side	 cs, ss;	/* their pin_rule() states */
	struct pk_tls	*c, *s;
	int		 sv[2];
	struct pollfd	 pfd[2];
};

/* The client (ca, pinning b) and server (cb, pinning a) of a fresh n;
 * n->c and n->s NULL on failure. */
static void
nb_pair(const struct pk_identity *a, const struct pk_tls_creds *ca,
    const struct pk_identity *b, const struct pk_tls_creds *cb,
    struct nb *n)
{
	memset(n, 0, sizeof(*n));
	n->cs.pin = b->keyid;
	n->ss.pin = a->keyid;
	n->sv[0] = n->sv[1] = -1;
	ASSERT_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    n->sv), 0);
	ASSERT_INT_EQ(pk_tls_new(&n->c, n->sv[0], PK_TLS_NATIVE, PK_TLS_CLIENT,
	    ca, pin_rule, &n->cs), 0);
	ASSERT_INT_EQ(pk_tls_new(&n->s, n->sv[1], PK_TLS_NATIVE, PK_TLS_SERVER,
	    cb, pin_rule, &n->ss), 0);
}

/* Frees what nb_pair() made. */
static void
nb_pair_free(struct nb *n)
{
	pk_io_drop(&n->c, &n->sv[0]);
	pk_io_drop(&n->s, &n->sv[1]);
}

/* Drives both sides on non-blocking fds from one poll() loop. */
static void
test_nonblocking(const struct pk_identity *a, const struct pk_tls_creds *ca,
    const struct pk_identity *b, const struct pk_tls_creds *cb)
{
	struct nb	 nbp;
	unsigned char	*out = NULL, *in = NULL;
	size_t		 sent = 0, got = 0, i;
	ssize_t		 n;
	int		 rc = 1, rs = 1, again_seen = 0, rounds;
	int		 cwant = 0, swant = 0, progress, sndbuf = 4096;

	TEST_START("non-blocking: handshake and 200 KiB via poll()");
	nb_pair(a, ca, b, cb, &nbp);
	if (nbp.c == NULL || nbp.s == NULL)
		goto out;
	for (rounds = 0; rounds < 1000 && (rc != 0 || rs != 0); rounds++) {
		if (rc != 0) {
			rc = pk_tls_handshake(nbp.c);
			if (rc == PK_ERR_AGAIN) {
				again_seen = 1;
				cwant = pk_tls_want_write(nbp.c);
			}
		}
		if (rs != 0) {
			rs = pk_tls_handshake(nbp.s);
			if (rs == PK_ERR_AGAIN)
				swant = pk_tls_want_write(nbp.s);
		}
		if ((rc != 0 && rc != PK_ERR_AGAIN) ||
		    (rs != 0 && rs != PK_ERR_AGAIN))
			break;
		nbp.pfd[0].fd = nbp.sv[0];
		nbp.pfd[0].events = rc == 0 ? 0 : cwant ? POLLOUT : POLLIN;
		nbp.pfd[1].fd = nbp.sv[1];
		nbp.pfd[1].events = rs == 0 ? 0 : swant ? POLLOUT : POLLIN;
		if (rc != 0 || rs != 0)
			ASSERT_INT_LT(0, poll(nbp.pfd, 2, 5000));
	}
	ASSERT_INT_EQ(rc, 0);
	ASSERT_INT_EQ(rs, 0);
	ASSERT_INT_EQ(again_seen, 1);
	ASSERT_STR_EQ(pk_tls_peer_keyid(nbp.c), b->keyid);
	ASSERT_STR_EQ(pk_tls_peer_keyid(nbp.s), a->keyid);
	if (rc != 0 || rs != 0) {
		test_diag("client: %s / server: %s", pk_tls_error(nbp.c),
		    pk_tls_error(nbp.s));
		goto out;
	}

	/* Client pushes BIG_LEN bytes; the server drains as it can. */
	out = malloc(BIG_LEN);
	in = malloc(BIG_LEN);
	ASSERT_TRUE(out != NULL && in != NULL);
	if (out == NULL || in == NULL)
		goto out;
	for (i = 0; i < BIG_LEN; i++)
		out[i] = pattern(i);
	/* A small send buffer, and nobody reading: the client must block. */
	ASSERT_INT_EQ(setsockopt(nbp.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	again_seen = 0;
	for (rounds = 0; rounds < 1000 && !again_seen; rounds++) {
		n = pk_tls_send(nbp.c, out + sent, BIG_LEN - sent);
		if (n > 0)
			sent += (size_t)n;
		else if (n == PK_ERR_AGAIN)
			again_seen = 1;
		else
			break;
	}
	ASSERT_INT_EQ(again_seen, 1);
	ASSERT_INT_EQ(pk_tls_want_write(nbp.c), 1);
	ASSERT_INT_LT(sent, BIG_LEN);
	for (rounds = 0; rounds < 100000 && got < BIG_LEN; rounds++) {
		progress = 0;
		cwant = 0;
		if (sent < BIG_LEN) {
			n = pk_tls_send(nbp.c, out + sent, BIG_LEN - sent);
			if (n > 0) {
				sent += (size_t)n;
				progress = 1;
			} else if (n == PK_ERR_AGAIN) {
				again_seen = 1;
				cwant = pk_tls_want_write(nbp.c);
			} else {
				ASSERT_INT_EQ(n, 0);
				break;
			}
		}
		n = pk_tls_recv(nbp.s, in + got, BIG_LEN - got);
		if (n > 0) {
			got += (size_t)n;
			progress = 1;
		} else if (n != PK_ERR_AGAIN) {
			ASSERT_INT_EQ(n, 0);
			break;
		}
		if (!progress) {
			nbp.pfd[0].fd = nbp.sv[0];
			nbp.pfd[0].events = cwant ? POLLOUT : 0;
			nbp.pfd[1].fd = nbp.sv[1];
			nbp.pfd[1].events = POLLIN;
			ASSERT_INT_LT(0, poll(nbp.pfd, 2, 5000));
		}
	}
	ASSERT_INT_EQ(sent, BIG_LEN);
	ASSERT_INT_EQ(got, BIG_LEN);
	ASSERT_MEM_EQ(in, out, BIG_LEN);

	/* Nothing to read: AGAIN, not EOF; then close_notify: EOF. */
	ASSERT_INT_EQ(pk_tls_recv(nbp.c, in, 1), PK_ERR_AGAIN);
	ASSERT_INT_EQ(pk_tls_want_write(nbp.c), 0);
	pk_tls_bye(nbp.s);
	nbp.pfd[0].fd = nbp.sv[0];
	nbp.pfd[0].events = POLLIN;
	ASSERT_INT_EQ(poll(nbp.pfd, 1, 5000), 1);
	ASSERT_INT_EQ(pk_tls_recv(nbp.c, in, 1), PK_ERR_EOF);
	TEST_DONE();
 out:
	free(out);
	free(in);
	nb_pair_free(&nbp);
}

/* pk_tls_pending() sees records GnuTLS already decrypted. */
static void
test_pending(const struct pk_identity *a, const struct pk_tls_creds *ca,
    const struct pk_identity *b, const struct pk_tls_creds *cb)
{
	struct nb	 nbp;
	char		 buf[8];
	int		 rc = 1, rs = 1, i;

	TEST_START("pending: bytes buffered in GnuTLS are reported");
	nb_pair(a, ca, b, cb, &nbp);
	if (nbp.c == NULL || nbp.s == NULL)
		rc = rs = PK_ERR_INTERNAL;
	for (i = 0; i < 1000 && (rc != 0 || rs != 0); i++) {
		if (rc != 0)
			rc = pk_tls_handshake(nbp.c);
		if (rs != 0)
			rs = pk_tls_handshake(nbp.s);
		if ((rc != 0 && rc != PK_ERR_AGAIN) ||
		    (rs != 0 && rs != PK_ERR_AGAIN))
			break;
		nbp.pfd[0].fd = nbp.sv[0];
		nbp.pfd[0].events = POLLIN;
		nbp.pfd[1].fd = nbp.sv[1];
		nbp.pfd[1].events = POLLIN;
		(void)poll(nbp.pfd, 2, 100);
	}
	ASSERT_INT_EQ(rc, 0);
	ASSERT_INT_EQ(rs, 0);
	if (rc == 0 && rs == 0) {
		ASSERT_INT_EQ(pk_tls_send(nbp.s, "0123456789", 10), 10);
		nbp.pfd[0].fd = nbp.sv[0];
		nbp.pfd[0].events = POLLIN;
		ASSERT_INT_EQ(poll(nbp.pfd, 1, 5000), 1);
		ASSERT_INT_EQ(pk_tls_recv(nbp.c, buf, 4), 4);
		ASSERT_MEM_EQ(buf, "0123", 4);
		ASSERT_INT_EQ(pk_tls_pending(nbp.c), 6);
		ASSERT_INT_EQ(pk_tls_recv(nbp.c, buf, 8), 6);
		ASSERT_MEM_EQ(buf, "456789", 6);
		ASSERT_INT_EQ(pk_tls_pending(nbp.c), 0);
	}
	nb_pair_free(&nbp);
	TEST_DONE();
}

int
main(void)
{
	struct pk_identity	*a = NULL, *b = NULL, *x = NULL;
	struct pk_tls_creds	*ca = NULL, *cb = NULL, *cx = NULL, *cn = NULL;

	TEST_START("set-up: three identities and their credentials");
	ASSERT_INT_EQ(pk_identity_generate(&a), 0);
	ASSERT_INT_EQ(pk_identity_generate(&b), 0);
	ASSERT_INT_EQ(pk_identity_generate(&x), 0);
	if (a == NULL || b == NULL || x == NULL) {
		TEST_DONE();
		return test_exit();
	}
	ASSERT_INT_EQ(pk_tls_creds_new(a, &ca), 0);
	ASSERT_INT_EQ(pk_tls_creds_new(b, &cb), 0);
	ASSERT_INT_EQ(pk_tls_creds_new(x, &cx), 0);
	ASSERT_INT_EQ(pk_tls_creds_new(NULL, &cn), 0);
	ASSERT_INT_EQ(pk_tls_creds_new(a, NULL), PK_ERR_INVALID_ARG);
	TEST_DONE();
	if (ca == NULL || cb == NULL || cx == NULL || cn == NULL)
		return test_exit();

	test_args(ca, cn);
	test_native_ok(a, ca, b, cb);
	test_native_refusals(a, ca, b, cb, x, cx);
	test_mandos(b, cb, x);
	test_nonblocking(a, ca, b, cb);
	test_pending(a, ca, b, cb);

	pk_tls_creds_free(ca);
	pk_tls_creds_free(cb);
	pk_tls_creds_free(cx);
	pk_tls_creds_free(cn);
	pk_identity_free(a);
	pk_identity_free(b);
	pk_identity_free(x);
	return test_exit();
}
