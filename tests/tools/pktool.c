/*
 * pktool.c: a test client that speaks peerkey's protocols through
 * libpeerkey, for the daemon and cluster tests (never installed).
 *
 *	pktool keygen FILE               make an Ed25519 key; print its id
 *	pktool keyid FILE                print a private key's id
 *	pktool unlock KEY ADDR           ask for blobs with a boot key; prints
 *	                                 "released N" then "BLOBID BASE64" lines
 *	                                 (of a signed blob, its ciphertext, and
 *	                                 " signed KEYID" after it), or
 *	                                 "refused REASON"
 *	pktool heartbeat KEY ADDR [ID]   heartbeat with a node key (ID: the
 *	                                 server's node key id, checked)
 *	pktool deposit KEY ADDR BLOBID FILE  FILE signed by KEY (sblob.h;
 *	                                 boot key id all zeros), deposited
 *	pktool deposit-raw KEY ADDR BLOBID FILE  FILE's bytes as they are
 *	pktool pubkey FILE               print a key's raw Ed25519 public key
 *	                                 (hex: boot.conf's node-public-key)
 *	pktool unseal FILE               a signed blob: its ciphertext
 *	                                 to stdout, "signed KEYID" to stderr
 *	                                 (no check: what anyone can read)
 *	pktool seal KEY BOOTID BLOBID    stdin signed by KEY for boot key id
 *	                                 BOOTID, to stdout
 *	pktool withdraw KEY ADDR BLOBID
 *	pktool notice KEY ADDR SECONDS TEXT
 *	pktool introduce KEY ADDR FILE   INTRODUCE with FILE's bytes as the
 *	                                 identity document
 *	pktool update KEY ADDR FILE      UPDATE with FILE's bytes
 *	pktool ident-forge KEY PUB NAME BOOTID ADDRS SEQ [PGP]
 *	                                 a signed identity document (base64)
 *	                                 (with PGP: that armored boot key)
 *	                                 signed with KEY, naming the public
 *	                                 half of key file PUB ("-": KEY's own)
 *	                                 as its node key: a forgery unless
 *	                                 PUB is "-"
 *	pktool raw KEY ADDR HEX          send raw bytes after the handshake,
 *	                                 print the reply's type or "closed"
 *	pktool mandos KEY ADDR           be a Mandos client: "1\r\n", TLS
 *	                                 server with KEY, copy what comes to
 *	                                 stdout until EOF
 *	pktool line ADDR TEXT            send TEXT (C escapes) before TLS and
 *	                                 report whether the server closed
 *	pktool hold ADDR N SECONDS       open N connections, send nothing,
 *	                                 hold them; print how many the server
 *	                                 closed within SECONDS
 *	pktool tls KEY|- ADDR PRIORITY   a native client with any GnuTLS
 *	                                 priority string (TLS 1.2, say) and
 *	                                 KEY or no key ("-"): handshake, then
 *	                                 HEARTBEAT; prints "served" if a
 *	                                 reply came, else "refused: why"
 *	pktool pgp-gen PUB SEC [UID]     make an OpenPGP boot key pair (armored
 *	                                 files; SEC mode 0600)
 *	pktool pgp-encrypt PUB           encrypt stdin to PUB, to stdout
 *	pktool pgp-decrypt SEC           decrypt stdin with SEC, to stdout
 *	pktool relay LISTEN TARGET FILE  accept one TCP connection on LISTEN
 *	                                 (host:port), relay it to TARGET,
 *	                                 record what the client sent in
 *	                                 FILE.c2s and the server's answer in
 *	                                 FILE.s2c; prints "listening" once
 *	                                 ready, "relayed C S" at the end
 *	pktool relay LISTEN TARGET FILE c2s|s2c OFFSET
 *	                                 the same, flipping (XOR 0x55) the
 *	                                 byte at OFFSET of one direction's
 *	                                 stream (OpenSSH's integrity.sh);
 *	                                 "relayed C S timeout" if neither
 *	                                 side closed within 10 s. The relay
 *	                                 connects from $PKTOOL_SOURCE if set
 *	pktool replay ADDR FILE          send FILE's bytes to ADDR, print
 *	                                 "received N" (bytes until close)
 *	pktool serve KEY LISTEN TYPE FILE
 *	                                 be a hostile node: listen on LISTEN
 *	                                 (port 0: any; prints "listening
 *	                                 PORT"), take one native session with
 *	                                 KEY (any client key), read one
 *	                                 request and answer it with FILE: as
 *	                                 a JOIN_REPLY document (TYPE
 *	                                 join-reply) or as the raw bytes of
 *	                                 a frame (TYPE frame); print the
 *	                                 request's type, then close
 *
 * The pgp-* commands work under $TMPDIR (default /tmp).
 *
 * Exit status: 0 success (released, acknowledged), 1 refused or error
 * reply, 2 usage, 3 connection or TLS failure.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "addr.h"
#include "ident.h"
#include "io.h"
#include "key.h"
#include "msg.h"
#include "pgp.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "secret.h"
#include "tls.h"

#define DEADLINE_MS	10000

static uint64_t	deadline;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pktool keygen|keyid|pubkey|unlock|heartbeat|"
	    "deposit|deposit-raw|seal|unseal|withdraw|notice|introduce|update|"
	    "ident-forge|raw|mandos|line|hold|tls|pgp-gen|pgp-encrypt|"
	    "pgp-decrypt|relay|replay|serve ...\n");
	exit(2);
}

static void __attribute__((noreturn))
die(int code, const char *what, int r)
{
	fprintf(stderr, "pktool: %s: %s\n", what, pk_strerror(r));
	exit(code);
}

/* die() after the cause a call gave, on a line of its own. */
static void __attribute__((noreturn))
die_cause(int code, const char *what, int r, const char *cause)
{
	fprintf(stderr, "pktool: %s\n", cause != NULL ? cause : "");
	die(code, what, r);
}

static int
verify_pinned(const char *keyid, void *arg)
{
	const char	*want = arg;

	return want == NULL || strcasecmp(want, keyid) == 0 ? 0 : -1;
}

/* Connects to addr, sends line. */
static int
dial(const char *addr, const char *line)
{
	char	 host[256], port[16], defport[16];
	int	 fd, r;

	snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
	if ((r = pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    defport)) != 0)
		die(2, addr, r);
	if ((fd = pk_io_connect(host, port, deadline)) < 0)
		die(3, "connect", fd);
	if (line != NULL &&
	    (r = pk_io_write_all(fd, line, strlen(line), deadline)) != 0)
		die(3, "write line", r);
	return fd;
}

/* Opens a native session with the key in keyfile. */
static struct pk_tls *
native(const char *keyfile, const char *addr, const char *pin, int *fdp)
{
	struct pk_identity	*id;
	struct pk_tls_creds	*creds;
	struct pk_tls		*tls;
	int			 fd, r;

	if ((r = pk_identity_load(keyfile, &id)) != 0)
		die(2, keyfile, r);
	if ((r = pk_tls_creds_new(id, &creds)) != 0)
		die(3, "credentials", r);
	fd = dial(addr, PK_LINE_NATIVE);
	if ((r = pk_tls_new(&tls, fd, PK_TLS_NATIVE, PK_TLS_CLIENT, creds,
	    verify_pinned, (void *)pin)) != 0)
		die(3, "TLS", r);
	if ((r = pk_io_handshake(tls, fd, deadline)) != 0)
		die(3, "handshake", r);
	*fdp = fd;
	return tls;
}

/* Prints base64 of len bytes. */
static void
print_b64(const uint8_t *p, size_t len)
{
	gnutls_datum_t	 in = { (unsigned char *)(uintptr_t)p, len }, out;

	if (gnutls_base64_encode2(&in, &out) != 0)
		die(3, "base64", PK_ERR_ALLOC);
	printf("%.*s", (int)out.size, out.data);
	gnutls_free(out.data);
}

/* Prints a released blob: base64 of its ciphertext (and " signed
 * KEYID") if it is a signed blob, else of its bytes; then a newline. */
static void
show_blob(const struct pk_bytes *d)
{
	struct pk_sblob	 b;
	char		 kid[PK_KEYID_HEXLEN + 1];

	if (pk_sblob_decode(d->p, d->len, &b, NULL) == 0 &&
	    pk_sblob_signer_keyid(&b, kid) == 0) {
		print_b64(b.cipher, b.cipherlen);
		printf(" signed %s\n", kid);
		return;
	}
	print_b64(d->p, d->len);
	printf("\n");
}

/* Reads one reply and reports it; returns the exit status. */
static int
reply(struct pk_tls *tls, int fd)
{
	static uint8_t	 buf[PK_MSG_LEN_MAX + 4];
	struct pk_msg	 m;
	int		 r, i;

	r = pk_io_recv_msg(tls, fd, buf, sizeof(buf), sizeof(buf) - 4, &m,
	    deadline);
	if (r == PK_ERR_EOF) {
		printf("closed\n");
		return 1;
	}
	if (r != 0)
		die(3, "reply", r);
	switch (m.type) {
	case PK_MSG_UNLOCK_REPLY:
		if (m.u.unlock_reply.status != PK_UNLOCK_OK) {
			printf("refused %s\n",
			    pk_refusal_name(m.u.unlock_reply.reason));
			return 1;
		}
		printf("released %u\n", m.u.unlock_reply.nblobs);
		for (i = 0; i < m.u.unlock_reply.nblobs; i++) {
			printf("%.*s ", (int)m.u.unlock_reply.blobs[i].id.len,
			    m.u.unlock_reply.blobs[i].id.p);
			show_blob(&m.u.unlock_reply.blobs[i].data);
		}
		return 0;
	case PK_MSG_HEARTBEAT_REPLY:
		printf("heartbeat-reply\n");
		return 0;
	case PK_MSG_ACK:
		printf("ack %s\n", pk_msg_type_name(m.u.ack.of_type));
		return 0;
	case PK_MSG_ERROR:
		printf("error %u %.*s\n", m.u.error.code,
		    (int)m.u.error.text.len, m.u.error.text.p);
		return 1;
	default:
		printf("%s\n", pk_msg_type_name(m.type));
		return 1;
	}
}

/* Reads a whole file into a malloc'ed buffer. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf;

	if ((f = fopen(path, "rb")) == NULL)
		die(2, path, PK_ERR_NOT_FOUND);
	if ((buf = malloc(PK_FRAME_MAX_HARD)) == NULL)
		die(3, "malloc", PK_ERR_ALLOC);
	*len = fread(buf, 1, PK_FRAME_MAX_HARD, f);
	fclose(f);
	return buf;
}

#define ZERO_ID "0000000000000000000000000000000000000000000000000000000000000000"

/* data (len bytes, freed) signed by the key in keyfile as blob id for
 * the boot key id boot; *len becomes the signed blob's. */
static uint8_t *
seal(const char *keyfile, const char *boot, const char *id, uint8_t *data,
    size_t *len)
{
	struct pk_identity	*key;
	uint8_t			*out;
	char			*cause = NULL;
	int			 r;

	if ((r = pk_identity_load(keyfile, &key)) != 0)
		die(3, keyfile, r);
	if ((r = pk_sblob_seal(key, boot, id, 1, 0, data, *len, &out, len,
	    &cause)) != 0) {
		fprintf(stderr, "pktool: seal: %s\n", cause ? cause : "");
		die(3, "seal", r);
	}
	pk_identity_free(key);
	free(data);
	return out;
}

/*
 * Sends m on a new native session (the key in keyfile, to addr, the
 * server's key pinned to pin if not NULL); returns reply()'s status.
 */
static int
ask(const char *keyfile, const char *addr, const char *pin,
    const struct pk_msg *m)
{
	struct pk_tls	*tls;
	int		 fd, r;

	tls = native(keyfile, addr, pin, &fd);
	if ((r = pk_io_send_msg(tls, fd, m, deadline)) != 0)
		die(3, "send", r);
	return reply(tls, fd);
}

/*
 * A native client outside the profiles of tls.h, to prove the server
 * refuses what they forbid. Returns the exit status.
 */
static int
odd_tls(const char *keyfile, const char *addr, const char *prio)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t	 s;
	gnutls_datum_t		 pub = { NULL, 0 }, priv = { NULL, 0 };
	struct pk_identity	*id;
	struct pk_msg		 m;
	uint8_t			 buf[256];
	size_t			 len;
	int			 fd, r;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		die(3, "credentials", PK_ERR_ALLOC);
	if (strcmp(keyfile, "-") != 0) {
		if ((r = pk_identity_load(keyfile, &id)) != 0)
			die(2, keyfile, r);
		if (gnutls_pubkey_export2(id->pub, GNUTLS_X509_FMT_PEM,
		    &pub) < 0 || pk_identity_export_private(id, &priv) != 0 ||
		    gnutls_certificate_set_rawpk_key_mem(cred, &pub, &priv,
		    GNUTLS_X509_FMT_PEM, NULL, 0, NULL, 0, 0) < 0)
			die(3, "credentials", PK_ERR_KEY);
	}
	fd = dial(addr, PK_LINE_NATIVE);
	if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_ENABLE_RAWPK) < 0 ||
	    gnutls_priority_set_direct(s, prio, NULL) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		die(2, "priority", PK_ERR_TLS);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, DEADLINE_MS);
	do {
		r = gnutls_handshake(s);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		printf("refused: handshake: %s\n", gnutls_strerror(r));
		return 1;
	}
	/* TLS 1.3: the server judges the client's key after the client's
	 * Finished, so a refusal shows on the first read. */
	pk_msg_init(&m, PK_MSG_HEARTBEAT);
	if (pk_msg_encode(&m, buf, sizeof(buf), &len) != 0)
		die(3, "encode", PK_ERR_INTERNAL);
	if ((r = (int)gnutls_record_send(s, buf, len)) < 0) {
		printf("refused: send: %s\n", gnutls_strerror(r));
		return 1;
	}
	do {
		r = (int)gnutls_record_recv(s, buf, sizeof(buf));
	} while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r <= 0) {
		printf("refused: %s\n", r == 0 ? "closed" : gnutls_strerror(r));
		return 1;
	}
	printf("served (%s)\n", gnutls_protocol_get_name(
	    gnutls_protocol_get_version(s)));
	return 0;
}

/* Decodes C escapes (\r \n \0 \xNN) in place; returns the length. */
static size_t
unescape(char *s)
{
	char	*o = s, *i = s;

	while (*i) {
		if (*i != '\\') {
			*o++ = *i++;
			continue;
		}
		i++;
		switch (*i) {
		case 'r': *o++ = '\r'; i++; break;
		case 'n': *o++ = '\n'; i++; break;
		case '0': *o++ = '\0'; i++; break;
		case 'x':
			*o++ = (char)strtol((char[]){ i[1], i[2], 0 }, NULL, 16);
			i += 3;
			break;
		default: *o++ = *i++; break;
		}
	}
	return (size_t)(o - s);
}

/* Reads all of stdin (at most PK_PGP_MAX_DATA bytes) into secret memory. */
static uint8_t *
slurp_stdin(size_t *len)
{
	uint8_t	*buf;
	ssize_t	 n;

	if ((buf = pk_secret_alloc(PK_PGP_MAX_DATA + 1)) == NULL)
		die(3, "alloc", PK_ERR_ALLOC);
	*len = 0;
	while ((n = read(0, buf + *len, PK_PGP_MAX_DATA + 1 - *len)) > 0)
		*len += (size_t)n;
	if (n < 0 || *len > PK_PGP_MAX_DATA)
		die(3, "stdin", n < 0 ? PK_ERR_SYSTEM : PK_ERR_TOO_LARGE);
	return buf;
}

/* Writes len bytes to path (created with mode). */
static void
write_file(const char *path, const void *p, size_t len, mode_t mode)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    (f = fdopen(fd, "wb")) == NULL)
		die(3, path, PK_ERR_SYSTEM);
	if (fwrite(p, 1, len, f) != len || fclose(f) != 0)
		die(3, path, PK_ERR_SYSTEM);
}

/*
 * Copies what is readable on from to to, and to rec; 0 on EOF or error.
 * The byte at stream offset flip (counted in *done; -1: none) is XORed
 * with 0x55 on its way (what was received is recorded).
 */
static ssize_t
pump(int from, int to, FILE *rec, long long flip, size_t *done)
{
	uint8_t	 buf[16384];
	ssize_t	 n;

	if ((n = read(from, buf, sizeof(buf))) <= 0)
		return 0;
	fwrite(buf, 1, (size_t)n, rec);
	if (flip >= 0 && (size_t)flip >= *done &&
	    (size_t)flip < *done + (size_t)n)
		buf[(size_t)flip - *done] ^= 0x55;
	*done += (size_t)n;
	fflush(rec);
	if (pk_io_write_all(to, buf, (size_t)n, pk_now_ms() + DEADLINE_MS) != 0)
		return 0;
	return n;
}

/* Sends len raw bytes over tls, until done or the peer closes. */
static void
send_raw(struct pk_tls *tls, int fd, const uint8_t *p, size_t len)
{
	size_t	 i;
	ssize_t	 n;

	for (i = 0; i < len; i += (size_t)n) {
		n = pk_tls_send(tls, p + i, len - i);
		if (n == PK_ERR_AGAIN) {
			n = 0;
			poll(&(struct pollfd){ fd, POLLOUT, 0 }, 1, 100);
			continue;
		}
		if (n < 0)
			break;	/* the other side may close early */
	}
}

/* addr (host:port, numeric) resolved with flags; dies if it cannot. */
static struct addrinfo *
numeric(const char *addr, int flags)
{
	struct addrinfo	 hints, *ai;
	char		 host[256], port[16];
	int		 r;

	if ((r = pk_addr_split(addr, host, sizeof(host), port,
	    sizeof(port), "4141")) != 0)
		die(2, addr, r);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | flags;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die(2, addr, PK_ERR_BAD_FORMAT);
	return ai;
}

/* A socket listening on addr (host:port); returns it. */
static int
listen_on(const char *addr)
{
	struct addrinfo	*ai = numeric(addr, AI_PASSIVE);
	int		 lfd, on = 1;

	if ((lfd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(lfd, 1) == -1)
		die(3, "listen", PK_ERR_SYSTEM);
	freeaddrinfo(ai);
	return lfd;
}

/* serve KEY LISTEN TYPE FILE: a hostile node's one answer. */
static int
serve_cmd(char *argv[])
{
	static uint8_t		 buf[PK_MSG_LEN_MAX + 4];
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct pk_identity	*id;
	struct pk_tls_creds	*creds;
	struct pk_tls		*tls;
	struct pk_msg		 m;
	uint8_t			*data, *out, line[sizeof(PK_LINE_NATIVE) - 1];
	size_t			 len, need, w;
	int			 lfd, fd, r;

	if ((r = pk_identity_load(argv[2], &id)) != 0)
		die(2, argv[2], r);
	if ((r = pk_tls_creds_new(id, &creds)) != 0)
		die(3, "credentials", r);
	data = slurp(argv[5], &len);
	lfd = listen_on(argv[3]);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sl) == -1)
		die(3, "getsockname", PK_ERR_SYSTEM);
	printf("listening %u\n", ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		die(3, "accept", PK_ERR_SYSTEM);
	close(lfd);
	deadline = pk_now_ms() + DEADLINE_MS;
	if (recv(fd, line, sizeof(line), MSG_WAITALL) != (ssize_t)sizeof(line)
	    || memcmp(line, PK_LINE_NATIVE, sizeof(line)) != 0)
		die(3, "protocol line", PK_ERR_BAD_LINE);
	if ((r = pk_tls_new(&tls, fd, PK_TLS_NATIVE, PK_TLS_SERVER, creds,
	    NULL, NULL)) != 0)
		die(3, "TLS", r);
	if ((r = pk_io_handshake(tls, fd, deadline)) != 0)
		die(3, "handshake", r);
	if ((r = pk_io_recv_msg(tls, fd, buf, sizeof(buf), sizeof(buf) - 4,
	    &m, deadline)) != 0)
		die(3, "request", r);
	printf("%s\n", pk_msg_type_name(m.type));
	if (strcmp(argv[4], "join-reply") == 0) {
		pk_msg_init(&m, PK_MSG_JOIN_REPLY);
		m.u.doc.doc.p = data;
		m.u.doc.doc.len = len;
		if ((need = pk_msg_encoded_len(&m)) == 0 ||
		    (out = malloc(need)) == NULL ||
		    (r = pk_msg_encode(&m, out, need, &w)) != 0)
			die(3, "encode", PK_ERR_TOO_LARGE);
	} else if (strcmp(argv[4], "frame") == 0) {
		out = data;
		w = len;
	} else
		usage();
	send_raw(tls, fd, out, w);
	pk_io_close(tls, fd);
	return 0;
}

/* The relay's connection to target, from $PKTOOL_SOURCE if set. */
static int
relay_dial(const char *target)
{
	struct addrinfo	*ai, *sa;
	char		 src[128];
	const char	*env = getenv("PKTOOL_SOURCE");
	int		 fd;

	if (env == NULL || *env == '\0')
		return dial(target, NULL);
	snprintf(src, sizeof(src), "%s:0", env);
	ai = numeric(target, AI_NUMERICSERV);
	sa = numeric(src, AI_NUMERICSERV);
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, sa->ai_addr, sa->ai_addrlen) == -1 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		die(3, "connect", PK_ERR_SYSTEM);
	freeaddrinfo(ai);
	freeaddrinfo(sa);
	return fd;
}

/* relay LISTEN TARGET FILE: one connection, recorded both ways. */
static int
relay_cmd(char *argv[])
{
	struct pollfd	 pfd[2];
	char		 path[4096];
	FILE		*c2s, *s2c;
	size_t		 nc = 0, ns = 0;
	ssize_t		 n;
	long long	 flip_c = -1, flip_s = -1;
	int		 lfd, cfd, sfd, timedout = 0;

	if (argv[5] != NULL) {
		if (strcmp(argv[5], "c2s") == 0)
			flip_c = atoll(argv[6]);
		else if (strcmp(argv[5], "s2c") == 0)
			flip_s = atoll(argv[6]);
		else
			usage();
	}
	lfd = listen_on(argv[2]);
	snprintf(path, sizeof(path), "%s.c2s", argv[4]);
	if ((c2s = fopen(path, "wb")) == NULL)
		die(2, path, PK_ERR_SYSTEM);
	snprintf(path, sizeof(path), "%s.s2c", argv[4]);
	if ((s2c = fopen(path, "wb")) == NULL)
		die(2, path, PK_ERR_SYSTEM);
	printf("listening\n");
	fflush(stdout);
	if (poll(&(struct pollfd){ lfd, POLLIN, 0 }, 1, DEADLINE_MS) <= 0)
		die(3, "accept", PK_ERR_TIMEOUT);
	if ((cfd = accept(lfd, NULL, NULL)) == -1)
		die(3, "accept", PK_ERR_SYSTEM);
	close(lfd);
	deadline = pk_now_ms() + DEADLINE_MS;
	sfd = relay_dial(argv[3]);
	for (;;) {
		pfd[0] = (struct pollfd){ cfd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ sfd, POLLIN, 0 };
		if ((n = poll(pfd, 2, DEADLINE_MS)) <= 0) {
			timedout = n == 0;
			break;
		}
		if (pfd[0].revents) {
			if ((n = pump(cfd, sfd, c2s, flip_c, &nc)) == 0)
				break;
		}
		if (pfd[1].revents) {
			if ((n = pump(sfd, cfd, s2c, flip_s, &ns)) == 0)
				break;
		}
	}
	fclose(c2s);
	fclose(s2c);
	printf("relayed %zu %zu%s\n", nc, ns, timedout ? " timeout" : "");
	return 0;
}

/* replay ADDR FILE: sends recorded bytes, counts what comes back. */
static int
replay_cmd(char *argv[])
{
	uint8_t	*data, buf[4096];
	size_t	 len, got = 0;
	ssize_t	 n;
	int	 fd;

	data = slurp(argv[3], &len);
	fd = dial(argv[2], NULL);
	(void)pk_io_write_all(fd, data, len, deadline);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, (int)(deadline - pk_now_ms())) <= 0)
			break;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stderr);
		got += (size_t)n;
	}
	printf("received %zu\n", got);
	return 0;
}

/* The pgp-* commands; returns the exit status. */
static int
pgp_cmd(int argc, char *argv[])
{
	const char	*workdir = getenv("TMPDIR");
	char		*pub, *sec, *cause = NULL;
	uint8_t		*key, *in;
	void		*out;
	size_t		 publen, seclen, keylen, inlen, outlen;
	int		 r, enc;

	if (workdir == NULL || *workdir == '\0')
		workdir = "/tmp";
	if (strcmp(argv[1], "pgp-gen") == 0 && (argc == 4 || argc == 5)) {
		if ((r = pk_pgp_generate(workdir, argc == 5 ? argv[4] :
		    "peerkey boot key", &pub, &publen, &sec, &seclen,
		    &cause)) != 0)
			die_cause(3, "pgp-gen", r, cause);
		write_file(argv[2], pub, publen, 0644);
		write_file(argv[3], sec, seclen, 0600);
		pk_secret_free(sec);
		free(pub);
		return 0;
	}
	/* The same call both ways; the plaintext is a secret. */
	enc = strcmp(argv[1], "pgp-encrypt") == 0;
	if ((enc || strcmp(argv[1], "pgp-decrypt") == 0) && argc == 3) {
		key = slurp(argv[2], &keylen);
		in = slurp_stdin(&inlen);
		if ((r = (enc ? pk_pgp_encrypt : pk_pgp_decrypt)(workdir, key,
		    keylen, in, inlen, &out, &outlen, &cause)) != 0)
			die_cause(enc ? 3 : 1, argv[1], r, cause);
		fwrite(out, 1, outlen, stdout);
		pk_secret_free(enc ? (void *)in : out);
		return fflush(stdout) == 0 ? 0 : 3;
	}
	usage();
}

/* ident-forge: see the top. */
static int
forge_cmd(char **argv)
{
	struct pk_identity	*key, *pub, mixed;
	struct pk_ident		 doc;
	uint8_t			*raw;
	size_t			 rawlen, len;
	char			*cause = NULL, *b64;
	int			 r;

	if ((r = pk_identity_load(argv[2], &key)) != 0)
		die(2, argv[2], r);
	pub = key;
	if (strcmp(argv[3], "-") != 0 &&
	    (r = pk_identity_load(argv[3], &pub)) != 0)
		die(2, argv[3], r);
	mixed = *key;
	mixed.pub = pub->pub;
	memcpy(mixed.keyid, pub->keyid, sizeof(mixed.keyid));
	memset(&doc, 0, sizeof(doc));
	snprintf(doc.name, sizeof(doc.name), "%s", argv[4]);
	snprintf(doc.boot_keyid, sizeof(doc.boot_keyid), "%s", argv[5]);
	snprintf(doc.addresses, sizeof(doc.addresses), "%s", argv[6]);
	doc.seq = strtoull(argv[7], NULL, 10);
	if (argv[8] != NULL) {
		doc.boot_pgp = (char *)slurp(argv[8], &len);
		doc.boot_pgp[len < PK_FRAME_MAX_HARD ? len : len - 1] = '\0';
	}
	if ((r = pk_ident_sign(&mixed, &doc, &raw, &rawlen, &cause)) != 0) {
		fprintf(stderr, "pktool: %s\n", cause ? cause : "");
		die(2, "ident-forge", r);
	}
	if ((b64 = pk_ident_b64(raw, rawlen)) == NULL)
		die(3, "base64", PK_ERR_ALLOC);
	printf("%s\n", b64);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct pk_identity	*id;
	struct pk_tls_creds	*creds;
	struct pk_tls		*tls;
	struct pk_msg		 m;
	uint8_t			*data, buf[4096];
	size_t			 len, i;
	ssize_t			 n;
	int			 fd, r, *fds, nconn, closed;
	const char		*cmd;

#if defined(__SANITIZE_ADDRESS__)
	/* A short-lived test client that exits without freeing: what it
	 * leaves at exit is not the code under test. */
	__lsan_disable();
#endif
	if (argc < 3)
		usage();
	cmd = argv[1];
	if (strncmp(cmd, "pgp-", 4) == 0)
		return pgp_cmd(argc, argv);
	if (strcmp(cmd, "relay") == 0 && (argc == 5 || argc == 7))
		return relay_cmd(argv);
	if (strcmp(cmd, "serve") == 0 && argc == 6)
		return serve_cmd(argv);
	deadline = pk_now_ms() + DEADLINE_MS;
	if (strcmp(cmd, "replay") == 0 && argc == 4)
		return replay_cmd(argv);
	if (strcmp(cmd, "keygen") == 0) {
		if ((r = pk_identity_generate(&id)) != 0 ||
		    (r = pk_identity_save(id, argv[2], 0)) != 0)
			die(3, argv[2], r);
		printf("%s\n", id->keyid);
		return 0;
	}
	if (strcmp(cmd, "keyid") == 0) {
		if ((r = pk_identity_load(argv[2], &id)) != 0)
			die(3, argv[2], r);
		printf("%s\n", id->keyid);
		return 0;
	}
	if (strcmp(cmd, "unlock") == 0 && argc == 4) {
		pk_msg_init(&m, PK_MSG_UNLOCK);
		return ask(argv[2], argv[3], NULL, &m);
	}
	if (strcmp(cmd, "heartbeat") == 0 && (argc == 4 || argc == 5)) {
		pk_msg_init(&m, PK_MSG_HEARTBEAT);
		m.u.heartbeat.nonce = 0x0123456789abcdefULL;
		return ask(argv[2], argv[3], argc == 5 ? argv[4] : NULL, &m);
	}
	if ((strcmp(cmd, "deposit") == 0 || strcmp(cmd, "deposit-raw") ==
	    0) && argc == 6) {
		data = slurp(argv[5], &len);
		if (strcmp(cmd, "deposit") == 0)
			data = seal(argv[2], ZERO_ID, argv[4], data, &len);
		pk_msg_init(&m, PK_MSG_DEPOSIT);
		m.u.deposit.blob.id.p = (const uint8_t *)argv[4];
		m.u.deposit.blob.id.len = strlen(argv[4]);
		m.u.deposit.blob.data.p = data;
		m.u.deposit.blob.data.len = len;
		return ask(argv[2], argv[3], NULL, &m);
	}
	if (strcmp(cmd, "pubkey") == 0 && argc == 3) {
		uint8_t	raw[PK_SBLOB_KEY_LEN];

		if ((r = pk_identity_load(argv[2], &id)) != 0)
			die(3, argv[2], r);
		if ((r = pk_ed25519_raw(id, raw)) != 0)
			die(3, argv[2], r);
		for (i = 0; i < sizeof(raw); i++)
			printf("%02x", raw[i]);
		printf("\n");
		return 0;
	}
	if (strcmp(cmd, "unseal") == 0 && argc == 3) {
		struct pk_sblob	 b;
		char		 kid[PK_KEYID_HEXLEN + 1];

		data = slurp(argv[2], &len);
		if ((r = pk_sblob_decode(data, len, &b, NULL)) != 0 ||
		    (r = pk_sblob_signer_keyid(&b, kid)) != 0)
			die(1, "unseal", r);
		if (fwrite(b.cipher, 1, b.cipherlen, stdout) != b.cipherlen ||
		    fflush(stdout) != 0)
			die(3, "stdout", PK_ERR_SYSTEM);
		fprintf(stderr, "signed %s\n", kid);
		return 0;
	}
	if (strcmp(cmd, "seal") == 0 && argc == 5) {
		data = slurp("/dev/stdin", &len);
		data = seal(argv[2], argv[3], argv[4], data, &len);
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			die(3, "stdout", PK_ERR_SYSTEM);
		return 0;
	}
	if (strcmp(cmd, "withdraw") == 0 && argc == 5) {
		pk_msg_init(&m, PK_MSG_WITHDRAW);
		m.u.withdraw.id.p = (const uint8_t *)argv[4];
		m.u.withdraw.id.len = strlen(argv[4]);
		return ask(argv[2], argv[3], NULL, &m);
	}
	if (strcmp(cmd, "notice") == 0 && argc == 6) {
		pk_msg_init(&m, PK_MSG_NOTICE);
		m.u.notice.window = (uint32_t)strtoul(argv[4], NULL, 10);
		m.u.notice.text.p = (const uint8_t *)argv[5];
		m.u.notice.text.len = strlen(argv[5]);
		return ask(argv[2], argv[3], NULL, &m);
	}
	if (strcmp(cmd, "ident-forge") == 0 && (argc == 8 || argc == 9))
		return forge_cmd(argv);
	if ((strcmp(cmd, "introduce") == 0 || strcmp(cmd, "update") == 0) &&
	    argc == 5) {
		data = slurp(argv[4], &len);
		pk_msg_init(&m, cmd[0] == 'i' ? PK_MSG_INTRODUCE :
		    PK_MSG_UPDATE);
		m.u.doc.doc.p = data;
		m.u.doc.doc.len = len;
		return ask(argv[2], argv[3], NULL, &m);
	}
	if (strcmp(cmd, "raw") == 0 && argc == 5) {
		len = strlen(argv[4]) / 2;
		if ((data = malloc(len + 1)) == NULL)
			die(3, "malloc", PK_ERR_ALLOC);
		for (i = 0; i < len; i++)
			data[i] = (uint8_t)strtol((char[]){ argv[4][2 * i],
			    argv[4][2 * i + 1], 0 }, NULL, 16);
		tls = native(argv[2], argv[3], NULL, &fd);
		send_raw(tls, fd, data, len);
		return reply(tls, fd);
	}
	if (strcmp(cmd, "mandos") == 0 && argc == 4) {
		if ((r = pk_identity_load(argv[2], &id)) != 0)
			die(2, argv[2], r);
		if ((r = pk_tls_creds_new(id, &creds)) != 0)
			die(3, "credentials", r);
		fd = dial(argv[3], PK_LINE_MANDOS);
		if ((r = pk_tls_new(&tls, fd, PK_TLS_MANDOS, PK_TLS_SERVER,
		    creds, NULL, NULL)) != 0)
			die(3, "TLS", r);
		if ((r = pk_io_handshake(tls, fd, deadline)) != 0)
			die(3, "handshake", r);
		for (len = 0;;) {
			n = pk_tls_recv(tls, buf, sizeof(buf));
			if (n == PK_ERR_AGAIN) {
				if (pk_now_ms() > deadline)
					die(3, "read", PK_ERR_TIMEOUT);
				poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 100);
				continue;
			}
			if (n == PK_ERR_EOF)
				break;
			if (n < 0)
				die(3, "read", (int)n);
			fwrite(buf, 1, (size_t)n, stdout);
			len += (size_t)n;
		}
		fprintf(stderr, "pktool: mandos: %zu bytes\n", len);
		return len > 0 ? 0 : 1;
	}
	if (strcmp(cmd, "line") == 0 && argc == 4) {
		fd = dial(argv[2], NULL);
		len = unescape(argv[3]);
		if ((r = pk_io_write_all(fd, argv[3], len, deadline)) != 0)
			die(3, "write", r);
		/* The server must close, not wait; read until EOF. */
		for (;;) {
			struct pollfd pfd = { fd, POLLIN, 0 };

			if (poll(&pfd, 1, (int)(deadline - pk_now_ms())) <= 0) {
				printf("open\n");
				return 1;
			}
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				printf("closed\n");
				return 0;
			}
		}
	}
	if (strcmp(cmd, "tls") == 0 && argc == 5)
		return odd_tls(argv[2], argv[3], argv[4]);
	if (strcmp(cmd, "hold") == 0 && argc == 5) {
		nconn = atoi(argv[3]);
		deadline = pk_now_ms() + (uint64_t)atoi(argv[4]) * 1000;
		if (nconn <= 0 || (fds = calloc(nconn, sizeof(int))) == NULL)
			usage();
		for (i = 0; i < (size_t)nconn; i++)
			fds[i] = dial(argv[2], NULL);
		printf("holding %d\n", nconn);
		fflush(stdout);
		closed = 0;
		while (pk_now_ms() < deadline && closed < nconn) {
			for (i = 0; i < (size_t)nconn; i++) {
				struct pollfd pfd = { fds[i], POLLIN, 0 };

				if (fds[i] == -1 || poll(&pfd, 1, 0) <= 0)
					continue;
				if (read(fds[i], buf, sizeof(buf)) <= 0) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
				}
			}
			usleep(50000);
		}
		printf("closed %d\n", closed);
		return 0;
	}
	usage();
}
