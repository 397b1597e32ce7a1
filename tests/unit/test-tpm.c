/*
 * test-tpm.c: TPM boot keys (tpm.c) against Debian's swtpm, started by
 * test-tpm.sh: PK_TEST_TCTI is the TPM, PK_TEST_TCTI_OTHER a second,
 * fresh one (another machine's), PK_TEST_SILENT_PORT a TCP port that
 * accepts and never answers, PK_TEST_MUTE_PORT one whose control channel
 * works and whose TPM never answers a command. PCRs are extended with tpm2_pcrextend, as a
 * boot step measuring something else would.
 *
 * Checked: PCR lists; a key made, its file parsed without a TPM (same id
 * as the TPM's public key, which certtool agrees with), loaded and
 * signing (signatures verify, GnuTLS's DigestInfo form too); TLS 1.3
 * handshakes where the TPM key is the client's raw public key (native,
 * against an Ed25519 server) and the booting side's (Mandos), the peer
 * learning its key id; a key bound to PCR 7 signs until PCR 7 is
 * extended, then is refused in words, also in the handshake; the other
 * TPM cannot load the key; no TPM, hung TPMs (timeouts), bad files;
 * every bit flip and truncation of a key file's DER is refused or (a bit
 * inside the TPM's own blobs) parses, and nothing else happens.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "file.h"
#include "key.h"
#include "pk_err.h"
#include "tls.h"
#include "tpm.h"
#include "test_helper.h"

static const char	*tcti, *tcti_other;
/* Makes a key bound to pcrs ("" none) and writes it to tmpdir/name. */
static int
make_key(const char *name, const char *pcrs, char *keyid)
{
	unsigned long	 mask = 0;
	char		*pem = NULL, *cause = NULL;
	size_t		 len = 0;
	int		 r;

	if ((r = pk_tpm_pcrs_parse(pcrs, &mask, &cause)) != 0 ||
	    (r = pk_tpm_keygen(tcti, mask, &pem, &len, keyid, &cause)) != 0 ||
	    (r = pk_file_write(test_path(name), pem, len, 0600, 0)) != 0)
		test_diag("make_key %s: %s", name, cause != NULL ? cause :
		    pk_strerror(r));
	free(pem);
	free(cause);
	return r;
}

/* Extends PCR pcr of the TPM at t (tpm2-tools). */
static int
pcr_extend(const char *t, int pcr)
{
	return test_run("tpm2_pcrextend -T '%s' %d:sha256=%064d >/dev/null "
	    "2>&1", t, pcr, pcr) == 0 ? 0 : -1;
}

/* A SHA-256 signature by id's private key verifies with its public key. */
static int
sign_verifies(struct pk_identity *id, gnutls_sign_algorithm_t algo)
{
	gnutls_datum_t	 h, sig = { NULL, 0 };
	unsigned char	 d[32];
	int		 r;

	gnutls_rnd(GNUTLS_RND_NONCE, d, sizeof(d));
	h.data = d;
	h.size = sizeof(d);
	if (gnutls_privkey_sign_hash2(id->priv, algo, 0, &h, &sig) < 0)
		return -1;
	r = gnutls_pubkey_verify_hash2(id->pub, GNUTLS_SIGN_ECDSA_SHA256, 0,
	    &h, &sig) < 0 ? -1 : 0;
	gnutls_free(sig.data);
	return r;
}

/* One side of a handshake over a socketpair, in its own thread. */
struct hs {
	int			 fd;
	enum pk_tls_profile	 profile;
	enum pk_tls_role	 role;
	struct pk_tls_creds	*creds;
	int			 verify;	/* use keep_rule */
	int			 r;
	char			 peer[PK_KEYID_HEXLEN + 1];
	char			 desc[256];
	char			 err[256];
};

/* A verify rule that accepts everyone (the test checks the id). */
static int
keep_rule(const char *keyid, void *arg)
{
	(void)keyid;
	(void)arg;
	return 0;
}

static void *
hs_run(void *arg)
{
	struct hs	*h = arg;
	struct pk_tls	*t = NULL;

	h->r = pk_tls_new(&t, h->fd, h->profile, h->role, h->creds,
	    h->verify ? keep_rule : NULL, NULL);
	if (h->r == 0)
		h->r = pk_tls_handshake(t);
	snprintf(h->peer, sizeof(h->peer), "%s", pk_tls_peer_keyid(t));
	snprintf(h->err, sizeof(h->err), "%s", pk_tls_error(t));
	if (h->r == 0)
		(void)pk_tls_describe(t, h->desc, sizeof(h->desc));
	if (h->r == 0)
		pk_tls_bye(t);
	pk_tls_free(t);
	shutdown(h->fd, SHUT_RDWR);
	return NULL;
}

/* Runs a handshake between a and b; each gets its own thread. */
static void
handshake(struct hs *a, struct hs *b)
{
	pthread_t	ta, tb;
	int		sv[2];

	ASSERT_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a->fd = sv[0];
	b->fd = sv[1];
	pthread_create(&ta, NULL, hs_run, a);
	pthread_create(&tb, NULL, hs_run, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	close(sv[0]);
	close(sv[1]);
}

/* A native handshake: client with creds cc, server with cs. */
static void
native_pair(struct hs *a, struct hs *b, struct pk_tls_creds *cc,
    struct pk_tls_creds *cs)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->profile = b->profile = PK_TLS_NATIVE;
	a->role = PK_TLS_CLIENT;
	a->creds = cc;
	a->verify = 1;
	b->role = PK_TLS_SERVER;
	b->creds = cs;
	b->verify = 1;
	handshake(a, b);
}

static void
test_pcrs(void)
{
	unsigned long	 m = 99;
	char		*cause = NULL;

	TEST_START("PCR lists: 7, 0,2,7, empty; refused: 24, 7,, a, -1");
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("7", &m, NULL), 0);
	ASSERT_INT_EQ(m, 1UL << 7);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("0,2,7", &m, NULL), 0);
	ASSERT_INT_EQ(m, (1UL << 0) | (1UL << 2) | (1UL << 7));
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("", &m, NULL), 0);
	ASSERT_INT_EQ(m, 0);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("24", &m, &cause), PK_ERR_CONF);
	ASSERT_STR_CONTAINS(cause, "\"24\" is not a list of PCRs");
	free(cause);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("7,", &m, NULL), PK_ERR_CONF);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("a", &m, NULL), PK_ERR_CONF);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("-1", &m, NULL), PK_ERR_CONF);
	ASSERT_INT_EQ(pk_tpm_pcrs_parse("7 ", &m, NULL), PK_ERR_CONF);
	TEST_DONE();
}

/* Loads the TPM key file name (under the test directory) from the TPM:
 * the identity, or NULL (failed, *cause said). */
static struct pk_identity *
tpm_load(const char *name, char **cause)
{
	struct pk_identity	*id = NULL;

	ASSERT_INT_EQ(pk_tpm_identity_load(tcti, test_path(name), 0, &id,
	    cause), 0);
	if (id == NULL)
		test_diag("%s", *cause != NULL ? *cause : "?");
	return id;
}

static void
test_key(void)
{
	struct pk_identity	*id = NULL;
	unsigned long		 m = 1;
	char			 kid[PK_KEYID_HEXLEN + 1];
	char			 kid2[PK_KEYID_HEXLEN + 1], cmd[4200];
	char			*cause = NULL, line[256];
	struct stat		 st;
	FILE			*f;

	TEST_START("a key made by the TPM; its file parsed without a TPM");
	ASSERT_INT_EQ(make_key("a.tpm", "", kid), 0);
	ASSERT_INT_EQ(pk_keyid_valid(kid), 1);
	ASSERT_INT_EQ(pk_tpm_keyfile_keyid(test_path("a.tpm"), kid2, &m, &cause),
	    0);
	ASSERT_STR_EQ(kid2, kid);
	ASSERT_INT_EQ(m, 0);
	ASSERT_INT_EQ(stat(test_path("a.tpm"), &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	TEST_DONE();

	TEST_START("the TPM key loads, signs, and its signatures verify");
	if ((id = tpm_load("a.tpm", &cause)) == NULL) {
		TEST_DONE();
		return;
	}
	ASSERT_STR_EQ(id->keyid, kid);
	ASSERT_INT_EQ(gnutls_privkey_get_pk_algorithm(id->priv, NULL),
	    GNUTLS_PK_ECDSA);
	ASSERT_INT_EQ(pk_tpm_identity_check(id, &cause), 0);
	ASSERT_INT_EQ(sign_verifies(id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256), 0);
	ASSERT_INT_EQ(sign_verifies(id, GNUTLS_SIGN_ECDSA_SHA256), 0);
	TEST_DONE();

	TEST_START("the key id is certtool's for the same public key");
	ASSERT_INT_EQ(pk_identity_save_public(id, test_path("a.pub"), 1), 0);
	snprintf(cmd, sizeof(cmd), "certtool --key-id --hash=sha256 "
	    "--load-pubkey '%s' 2>/dev/null", test_path("a.pub"));
	line[0] = '\0';
	if ((f = popen(cmd, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		pclose(f);
	}
	line[strcspn(line, "\r\n")] = '\0';
	pk_keyid_normalize(line);
	ASSERT_STR_EQ(line, kid);
	TEST_DONE();
	pk_identity_free(id);
	free(cause);
}

/* What a TLS check of a TPM key needs: its credentials (ct), and a
 * software server identity (srv) with its own (cs). */
struct tls_keys {
	struct pk_identity	*srv;
	struct pk_tls_creds	*ct, *cs;
};

/* Makes k around the TPM identity id: 0, or -1 (said, and what could be
 * made is in k, for tls_keys_free()). */
static int
tls_keys_new(struct tls_keys *k, const struct pk_identity *id)
{
	memset(k, 0, sizeof(*k));
	if (id == NULL || pk_identity_generate(&k->srv) != 0 ||
	    pk_tls_creds_new(id, &k->ct) != 0 ||
	    pk_tls_creds_new(k->srv, &k->cs) != 0) {
		test_diag("TLS set-up failed");
		return -1;
	}
	return 0;
}

/* Frees what tls_keys_new() made. */
static void
tls_keys_free(struct tls_keys *k)
{
	pk_tls_creds_free(k->ct);
	pk_tls_creds_free(k->cs);
	pk_identity_free(k->srv);
}

static void
test_tls(void)
{
	struct pk_identity	*tid = NULL;
	struct tls_keys		 k;
	struct hs		 a, b;
	char			 kid[PK_KEYID_HEXLEN + 1], *cause = NULL;

	if (make_key("tls.tpm", "", kid) != 0 ||
	    pk_tpm_identity_load(tcti, test_path("tls.tpm"), 0, &tid,
	    &cause) != 0)
		test_diag("set-up: %s", cause != NULL ? cause : "?");
	(void)tls_keys_new(&k, tid);

	TEST_START("native TLS 1.3: the TPM key is the client's raw public "
	    "key; an Ed25519 server learns its key id");
	native_pair(&a, &b, k.ct, k.cs);
	ASSERT_INT_EQ(a.r, 0);
	ASSERT_INT_EQ(b.r, 0);
	ASSERT_STR_EQ(b.peer, kid);
	ASSERT_STR_EQ(a.peer, k.srv != NULL ? k.srv->keyid : "");
	ASSERT_STR_CONTAINS(b.desc, "TLS1.3");
	ASSERT_STR_CONTAINS(b.desc, "Raw Public Key");
	TEST_DONE();

	TEST_START("native TLS 1.3: the TPM key as the server's raw public key");
	native_pair(&a, &b, k.cs, k.ct);
	ASSERT_INT_EQ(a.r, 0);
	ASSERT_INT_EQ(b.r, 0);
	ASSERT_STR_EQ(a.peer, kid);
	TEST_DONE();

	TEST_START("Mandos profile: the booting side's TPM key, learnt by the "
	    "serving side");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.profile = b.profile = PK_TLS_MANDOS;
	a.role = PK_TLS_CLIENT;		/* serving: no key */
	a.verify = 1;
	b.role = PK_TLS_SERVER;		/* booting */
	b.creds = k.ct;
	handshake(&a, &b);
	ASSERT_INT_EQ(a.r, 0);
	ASSERT_INT_EQ(b.r, 0);
	ASSERT_STR_EQ(a.peer, kid);
	test_diag("%s", a.desc);
	TEST_DONE();

	tls_keys_free(&k);
	pk_identity_free(tid);
	free(cause);
}

static void
test_pcr_policy(void)
{
	struct pk_identity	*id = NULL;
	struct tls_keys		 k;
	struct hs		 a, b;
	unsigned long		 m = 0;
	char			 kid[PK_KEYID_HEXLEN + 1], *cause = NULL;

	TEST_START("a key bound to PCR 7 signs while PCR 7 is unchanged");
	ASSERT_INT_EQ(make_key("pcr.tpm", "7", kid), 0);
	ASSERT_INT_EQ(pk_tpm_keyfile_keyid(test_path("pcr.tpm"), kid, &m, NULL),
	    0);
	ASSERT_INT_EQ(m, 1UL << 7);
	if ((id = tpm_load("pcr.tpm", &cause)) == NULL) {
		TEST_DONE();
		return;
	}
	ASSERT_INT_EQ(pk_tpm_identity_check(id, &cause), 0);
	ASSERT_INT_EQ(sign_verifies(id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256), 0);
	TEST_DONE();

	TEST_START("PCR 7 extended: the TPM refuses to sign, and says why");
	ASSERT_INT_EQ(pcr_extend(tcti, 7), 0);
	ASSERT_INT_EQ(pk_tpm_identity_check(id, &cause), PK_ERR_TPM);
	ASSERT_STR_CONTAINS(cause, "PCR 7 changed");
	ASSERT_INT_NE(sign_verifies(id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256), 0);
	test_diag("%s", cause);
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("PCR 7 extended: no TLS handshake with that key");
	(void)tls_keys_new(&k, id);
	native_pair(&a, &b, k.ct, k.cs);
	ASSERT_INT_NE(a.r, 0);
	ASSERT_INT_NE(b.r, 0);
	ASSERT_STR_EQ(b.peer, "");
	test_diag("client: %s / server: %s", a.err, b.err);
	TEST_DONE();
	tls_keys_free(&k);
	pk_identity_free(id);

	TEST_START("a key bound to the new value of PCR 7 signs");
	ASSERT_INT_EQ(make_key("pcr2.tpm", "7", kid), 0);
	id = tpm_load("pcr2.tpm", &cause);
	ASSERT_INT_EQ(pk_tpm_identity_check(id, &cause), 0);
	pk_identity_free(id);
	TEST_DONE();
	free(cause);
}

static void
test_failures(void)
{
	struct pk_identity	*id = NULL;
	const char		*port = getenv("PK_TEST_SILENT_PORT");
	char			 kid[PK_KEYID_HEXLEN + 1], t[128], *cause = NULL;
	int			 r;

	TEST_START("another TPM cannot load the key, and says so");
	ASSERT_INT_EQ(make_key("b.tpm", "", kid), 0);
	r = pk_tpm_identity_load(tcti_other, test_path("b.tpm"), 0, &id, &cause);
	ASSERT_INT_EQ(r, PK_ERR_TPM);
	ASSERT_PTR_EQ(id, NULL);
	ASSERT_STR_CONTAINS(cause, "was not made by this TPM");
	ASSERT_STR_CONTAINS(cause, kid);
	test_diag("%s", cause);
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("no TPM: the device is named");
	r = pk_tpm_identity_load("device:/nonexistent/tpmrm0", test_path("b.tpm"),
	    0, &id, &cause);
	ASSERT_INT_EQ(r, PK_ERR_TPM);
	ASSERT_STR_CONTAINS(cause, "no TPM: /nonexistent/tpmrm0");
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("a TPM that never answers: opening it times out");
	snprintf(t, sizeof(t), "swtpm:host=127.0.0.1,port=%s",
	    port != NULL ? port : "1");
	r = pk_tpm_identity_load(t, test_path("b.tpm"), 300, &id, &cause);
	ASSERT_INT_EQ(r, PK_ERR_TPM);
	ASSERT_STR_CONTAINS(cause, "opening it: no answer within 300 ms");
	test_diag("%s", cause);
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("a TPM that stops answering: its command times out");
	port = getenv("PK_TEST_MUTE_PORT");
	snprintf(t, sizeof(t), "swtpm:host=127.0.0.1,port=%s",
	    port != NULL ? port : "1");
	r = pk_tpm_identity_load(t, test_path("b.tpm"), 300, &id, &cause);
	ASSERT_INT_EQ(r, PK_ERR_TPM);
	ASSERT_STR_CONTAINS(cause, "loading the boot key: no answer "
	    "within 300 ms");
	test_diag("%s", cause);
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("files: missing, open to others, not a TPM key");
	r = pk_tpm_keyfile_keyid(test_path("none.tpm"), kid, NULL, &cause);
	ASSERT_INT_EQ(r, PK_ERR_NOT_FOUND);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(chmod(test_path("b.tpm"), 0644), 0);
	r = pk_tpm_keyfile_keyid(test_path("b.tpm"), kid, NULL, &cause);
	ASSERT_INT_EQ(r, PK_ERR_PERM);
	ASSERT_STR_CONTAINS(cause, "chmod 600");
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_file_write(test_path("x.tpm"), "-----BEGIN TSS2 "
	    "PRIVATE KEY-----\nMAA=\n-----END TSS2 PRIVATE KEY-----\n", 55,
	    0600, 0), 0);
	r = pk_tpm_keyfile_keyid(test_path("x.tpm"), kid, NULL, &cause);
	ASSERT_INT_EQ(r, PK_ERR_KEY);
	ASSERT_STR_CONTAINS(cause, "not a loadable TPM key");
	free(cause);
	cause = NULL;
	TEST_DONE();
}

/* Every bit of a key file's DER flipped in turn: refused, or a key. */
static void
test_bitflips(void)
{
	gnutls_datum_t	 in, der = { NULL, 0 }, pem;
	char		*buf = NULL;
	size_t		 len = 0, i;
	char		 kid[PK_KEYID_HEXLEN + 1], *cause;
	int		 r, refused = 0, parsed = 0, bad = 0;

	TEST_START("every bit flip of a bound key's DER: refused or parsed, "
	    "never a crash");
	ASSERT_INT_EQ(pk_file_read(test_path("pcr.tpm"), 65536, PK_FILE_PRIVATE,
	    &buf, &len), 0);
	in.data = (unsigned char *)buf;
	in.size = (unsigned int)len;
	ASSERT_INT_EQ(gnutls_pem_base64_decode2(PK_TPM_PEM_LABEL, &in, &der),
	    0);
	for (i = 0; i < 8 * (size_t)der.size; i++) {
		der.data[i / 8] ^= (unsigned char)(1U << (i % 8));
		if (gnutls_pem_base64_encode2(PK_TPM_PEM_LABEL, &der, &pem) ==
		    0) {
			cause = NULL;
			r = pk_tpm_key_parse(pem.data, pem.size, kid, NULL,
			    &cause);
			if (r == 0)
				parsed++;
			else if (r == PK_ERR_KEY && cause != NULL)
				refused++;
			else
				bad++;
			free(cause);
			gnutls_free(pem.data);
		}
		der.data[i / 8] ^= (unsigned char)(1U << (i % 8));
	}
	ASSERT_INT_EQ(bad, 0);
	ASSERT_INT_LT(0, refused);
	test_diag("%u bits: %d refused, %d still parse (bits inside the "
	    "TPM's blobs)", 8 * der.size, refused, parsed);
	for (i = 1; i < der.size; i++) {
		in.data = der.data;
		in.size = (unsigned int)i;
		if (gnutls_pem_base64_encode2(PK_TPM_PEM_LABEL, &in, &pem) ==
		    0) {
			cause = NULL;
			if (pk_tpm_key_parse(pem.data, pem.size, kid, NULL,
			    &cause) != PK_ERR_KEY)
				bad++;
			free(cause);
			gnutls_free(pem.data);
		}
	}
	ASSERT_INT_EQ(bad, 0);
	gnutls_free(der.data);
	free(buf);
	TEST_DONE();
}

int
main(void)
{
	tcti = getenv("PK_TEST_TCTI");
	tcti_other = getenv("PK_TEST_TCTI_OTHER");
	if (tcti == NULL || tcti_other == NULL) {
		printf("Bail out! run by test-tpm.sh (PK_TEST_TCTI, "
		    "PK_TEST_TCTI_OTHER)\n");
		return 1;
	}
	test_pcrs();
	test_key();
	test_tls();
	test_pcr_policy();
	test_failures();
	test_bitflips();
	return test_exit();
}
