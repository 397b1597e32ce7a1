/*
 * tls.c: GnuTLS sessions with raw public keys (see tls.h).
 *
 * Both profiles use RFC 7250 raw public keys and no session tickets. The
 * peer's key is checked in a per-session verify function that GnuTLS runs
 * in the middle of the handshake: it takes the SubjectPublicKeyInfo the
 * peer sent, hashes those exact bytes into a key id (as Mandos does), and
 * asks the caller's rule. A refusal aborts the handshake, and
 * pk_tls_handshake() then says PK_ERR_PEER_REJECTED rather than PK_ERR_TLS
 * so the caller can log "refused" distinctly from "broken".
 *
 * The profiles' priority strings are explained in doc/mandos-compat.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "key.h"
#include "pk_err.h"
#include "tls.h"

/*
 * Native: TLS 1.3 only, AEAD ciphers, X25519 only, Ed25519 signatures
 * and ECDSA P-256 with SHA-256 (a TPM's boot key, tpm.c), raw public
 * keys for both the client and the server certificate. AES-128-GCM with
 * SHA-256 first: X25519 and Ed25519 give 128-bit security, which
 * AES-256 does not raise, and SHA-256 runs in the CPU's SHA instructions
 * where SHA-384's key schedule and transcript hashes do not (about a
 * tenth of a node's CPU per unlock; bench/README.md).
 */
#define PRIO_NATIVE \
	"NONE:+VERS-TLS1.3:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-GCM:" \
	"+AEAD:+GROUP-X25519:+SIGN-EDDSA-ED25519:" \
	"+SIGN-ECDSA-SECP256R1-SHA256:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"

/* Mandos 1.8 (mandos-client.c and mandos), character for character. */
#define PRIO_MANDOS \
	"SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:!VERS-ALL:+VERS-TLS1.3:" \
	"%PROFILE_ULTRA"

/* Bounds the retries on non-fatal GnuTLS results (warning alerts). */
#define TLS_MAX_RETRY	32

struct pk_tls_creds {
	gnutls_certificate_credentials_t	 cred;
	int					 has_key;
	/*
	 * The profiles' priorities, parsed once and shared (GnuTLS counts
	 * the references): a parsed priority is ~8 KiB, and a node keeps a
	 * session per guarded peer.
	 */
	gnutls_priority_t			 prio[2];
	/* An external key's reason for a failed signature (key.h). */
	const char				*(*ext_error)(void *);
	void					*ext;
};

struct pk_tls {
	gnutls_session_t	 session;
	struct pk_tls_creds	*own_creds;	/* for creds == NULL */
	const struct pk_tls_creds *creds;	/* what it was made with */
	enum pk_tls_profile	 profile;
	enum pk_tls_role	 role;
	pk_tls_verify_fn	 verify;
	void			*verify_arg;
	int			 done;		/* handshake done */
	int			 rejected;	/* verify refused */
	int			 failed;	/* sticky handshake error */
	char			 offered[PK_KEYID_HEXLEN + 1];
	char			 err[192];
};

/* Records a GnuTLS failure as the session's last error. */
static void
tls_seterr(struct pk_tls *s, const char *what, int gerr)
{
	const char	*alert;

	if (gerr == GNUTLS_E_FATAL_ALERT_RECEIVED ||
	    gerr == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		alert = gnutls_alert_get_name(gnutls_alert_get(s->session));
		snprintf(s->err, sizeof(s->err), "%s: %s (%s)", what,
		    gnutls_strerror(gerr), alert != NULL ? alert : "?");
	} else
		snprintf(s->err, sizeof(s->err), "%s: %s", what,
		    gnutls_strerror(gerr));
}

/* Is pub a key the native profile takes: Ed25519, or ECDSA P-256? */
static int
tls_key_ok(gnutls_pubkey_t pub)
{
	gnutls_ecc_curve_t	curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t		x = { NULL, 0 }, y = { NULL, 0 };
	int			alg;

	alg = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if (alg == GNUTLS_PK_EDDSA_ED25519)
		return 1;
	if (alg != GNUTLS_PK_ECDSA ||
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) < 0)
		return 0;
	gnutls_free(x.data);
	gnutls_free(y.data);
	return curve == GNUTLS_ECC_CURVE_SECP256R1;
}

/*
 * Credentials for an external key (a TPM's): its public key as the raw
 * public key, and one more handle on the key, which the credentials own.
 * GnuTLS's key/certificate match check is skipped: for an external key
 * it costs a signature, and the owner of the key checks it (the boot
 * agent, pk_tpm_identity_check()).
 */
static int
tls_creds_ext(struct pk_tls_creds *c, const struct pk_identity *id)
{
	gnutls_pcert_st		 pcert;
	gnutls_privkey_t	 priv = NULL;
	gnutls_datum_t		 der = { NULL, 0 };
	int			 r;

	if (!tls_key_ok(id->pub))
		return PK_ERR_KEY;
	if (gnutls_pubkey_export2(id->pub, GNUTLS_X509_FMT_DER, &der) < 0)
		return PK_ERR_KEY;
	r = gnutls_pcert_import_rawpk_raw(&pcert, &der, GNUTLS_X509_FMT_DER,
	    0, 0);
	gnutls_free(der.data);
	if (r < 0)
		return PK_ERR_KEY;
	if ((r = id->ext_dup(id, &priv)) != 0) {
		gnutls_pcert_deinit(&pcert);
		return r;
	}
	gnutls_certificate_set_flags(c->cred,
	    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	/* On success the credentials own pcert's contents and priv. */
	if (gnutls_certificate_set_key(c->cred, NULL, 0, &pcert, 1, priv) <
	    0) {
		gnutls_pcert_deinit(&pcert);
		gnutls_privkey_deinit(priv);
		return PK_ERR_KEY;
	}
	c->has_key = 1;
	c->ext_error = id->ext_error;
	c->ext = id->ext;
	return 0;
}

/* Makes credentials from id (NULL: none, for the Mandos serving side). */
int
pk_tls_creds_new(const struct pk_identity *id, struct pk_tls_creds **out)
{
	struct pk_tls_creds	*c;
	gnutls_datum_t		 pub = { NULL, 0 }, priv = { NULL, 0 };
	int			 r;

	if (out == NULL)
		return PK_ERR_INVALID_ARG;
	*out = NULL;
	if (id != NULL && (id->priv == NULL || id->pub == NULL))
		return PK_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PK_ERR_ALLOC;
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		free(c);
		return PK_ERR_ALLOC;
	}
	if (gnutls_priority_init(&c->prio[PK_TLS_NATIVE], PRIO_NATIVE,
	    NULL) < 0 || gnutls_priority_init(&c->prio[PK_TLS_MANDOS],
	    PRIO_MANDOS, NULL) < 0) {
		r = PK_ERR_TLS;
		goto out;
	}
	if (id == NULL) {
		*out = c;
		return 0;
	}
	if (id->ext_dup != NULL) {
		if ((r = tls_creds_ext(c, id)) != 0)
			goto out;
		*out = c;
		return 0;
	}
	if (gnutls_pubkey_get_pk_algorithm(id->pub, NULL) !=
	    GNUTLS_PK_EDDSA_ED25519) {
		r = PK_ERR_KEY;
		goto out;
	}
	if (gnutls_pubkey_export2(id->pub, GNUTLS_X509_FMT_PEM, &pub) < 0) {
		r = PK_ERR_KEY;
		goto out;
	}
	if ((r = pk_identity_export_private(id, &priv)) != 0)
		goto out;
	/* GnuTLS copies both; the PEM copy of the key is wiped below. */
	if (gnutls_certificate_set_rawpk_key_mem(c->cred, &pub, &priv,
	    GNUTLS_X509_FMT_PEM, NULL, 0, NULL, 0, 0) < 0) {
		r = PK_ERR_KEY;
		goto out;
	}
	c->has_key = 1;
	*out = c;
	c = NULL;
	r = 0;
 out:
	pk_identity_export_free(&priv);
	gnutls_free(pub.data);
	pk_tls_creds_free(c);
	return r;
}

/* Frees credentials; sessions using them must be freed first. */
void
pk_tls_creds_free(struct pk_tls_creds *c)
{
	if (c == NULL)
		return;
	if (c->prio[PK_TLS_NATIVE] != NULL)
		gnutls_priority_deinit(c->prio[PK_TLS_NATIVE]);
	if (c->prio[PK_TLS_MANDOS] != NULL)
		gnutls_priority_deinit(c->prio[PK_TLS_MANDOS]);
	gnutls_certificate_free_credentials(c->cred);
	free(c);
}

/*
 * GnuTLS calls this once it has the peer's certificate message. Returns
 * 0 to go on, -1 to abort the handshake.
 */
static int
tls_verify_peer(gnutls_session_t session)
{
	struct pk_tls		*s = gnutls_session_get_ptr(session);
	const gnutls_datum_t	*peers;
	gnutls_pubkey_t		 pub = NULL;
	unsigned int		 n = 0;
	char			 keyid[PK_KEYID_HEXLEN + 1];
	int			 alg, r = -1;

	if (s == NULL)
		return -1;
	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_RAWPK) {
		snprintf(s->err, sizeof(s->err), "peer certificate is not a "
		    "raw public key");
		goto out;
	}
	peers = gnutls_certificate_get_peers(session, &n);
	if (peers == NULL || n != 1) {
		snprintf(s->err, sizeof(s->err), "peer sent %u keys", n);
		goto out;
	}
	if (gnutls_pubkey_init(&pub) < 0) {
		pub = NULL;
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	if (gnutls_pubkey_import(pub, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		snprintf(s->err, sizeof(s->err), "peer key does not parse");
		goto out;
	}
	/* The id covers the very bytes the peer sent, as Mandos hashes. */
	if (pk_keyid_from_spki(peers[0].data, peers[0].size, keyid) != 0) {
		snprintf(s->err, sizeof(s->err), "cannot hash peer key");
		goto out;
	}
	memcpy(s->offered, keyid, sizeof(s->offered));
	alg = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if (s->profile == PK_TLS_NATIVE && !tls_key_ok(pub)) {
		snprintf(s->err, sizeof(s->err), "peer key %s is %s, not "
		    "Ed25519 or ECDSA P-256", keyid,
		    gnutls_pk_get_name((gnutls_pk_algorithm_t)alg));
		s->rejected = 1;
		goto out;
	}
	if (s->verify != NULL && s->verify(keyid, s->verify_arg) != 0) {
		snprintf(s->err, sizeof(s->err), "peer key %s not accepted",
		    keyid);
		s->rejected = 1;
		goto out;
	}
	r = 0;
 out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return r;
}

/* Makes a session on fd; see tls.h. */
int
pk_tls_new(struct pk_tls **out, int fd, enum pk_tls_profile profile,
    enum pk_tls_role role, const struct pk_tls_creds *creds,
    pk_tls_verify_fn verify, void *verify_arg)
{
	struct pk_tls	*s;
	unsigned int	 flags;
	int		 fl, r, need_key;

	if (out == NULL)
		return PK_ERR_INVALID_ARG;
	*out = NULL;
	if (fd < 0 || (profile != PK_TLS_NATIVE && profile != PK_TLS_MANDOS) ||
	    (role != PK_TLS_CLIENT && role != PK_TLS_SERVER))
		return PK_ERR_INVALID_ARG;
	/* Only the Mandos serving side (TLS client) goes without a key. */
	need_key = profile == PK_TLS_NATIVE || role == PK_TLS_SERVER;
	if (need_key && (creds == NULL || !creds->has_key))
		return PK_ERR_INVALID_ARG;
	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return PK_ERR_INVALID_ARG;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PK_ERR_ALLOC;
	s->profile = profile;
	s->role = role;
	s->verify = verify;
	s->verify_arg = verify_arg;
	if (creds == NULL) {
		if ((r = pk_tls_creds_new(NULL, &s->own_creds)) != 0)
			goto fail;
		creds = s->own_creds;
	}
	s->creds = creds;

	flags = (role == PK_TLS_SERVER ? GNUTLS_SERVER : GNUTLS_CLIENT) |
	    GNUTLS_ENABLE_RAWPK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL;
	if (fl & O_NONBLOCK)
		flags |= GNUTLS_NONBLOCK;
	if ((r = gnutls_init(&s->session, flags)) < 0) {
		s->session = NULL;
		r = r == GNUTLS_E_MEMORY_ERROR ? PK_ERR_ALLOC : PK_ERR_TLS;
		goto fail;
	}
	if (gnutls_priority_set(s->session, creds->prio[profile]) < 0 ||
	    gnutls_credentials_set(s->session, GNUTLS_CRD_CERTIFICATE,
	    creds->cred) < 0) {
		r = PK_ERR_TLS;
		goto fail;
	}
	if (role == PK_TLS_SERVER)
		gnutls_certificate_server_set_request(s->session,
		    profile == PK_TLS_NATIVE ? GNUTLS_CERT_REQUIRE :
		    GNUTLS_CERT_IGNORE);
	gnutls_session_set_ptr(s->session, s);
	gnutls_session_set_verify_function(s->session, tls_verify_peer);
	gnutls_transport_set_int(s->session, fd);
	/* Callers keep their own deadlines. */
	gnutls_handshake_set_timeout(s->session, GNUTLS_INDEFINITE_TIMEOUT);
	*out = s;
	return 0;
 fail:
	pk_tls_free(s);
	return r;
}

/* Runs (or continues) the handshake; see tls.h. */
int
pk_tls_handshake(struct pk_tls *s)
{
	int	i, ret;

	if (s == NULL)
		return PK_ERR_INVALID_ARG;
	if (s->done)
		return 0;
	if (s->failed)
		return s->failed;
	for (i = 0; ; i++) {
		ret = gnutls_handshake(s->session);
		if (ret == GNUTLS_E_SUCCESS)
			break;
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
			return PK_ERR_AGAIN;
		if (!gnutls_error_is_fatal(ret) && i < TLS_MAX_RETRY)
			continue;
		/* Tell the peer why (best effort; GnuTLS does not). */
		(void)gnutls_alert_send_appropriate(s->session, ret);
		if (s->rejected) {
			/* s->err already names the key and the reason. */
			return (s->failed = PK_ERR_PEER_REJECTED);
		}
		if (ret == GNUTLS_E_PK_SIGN_FAILED && s->creds != NULL &&
		    s->creds->ext_error != NULL)
			snprintf(s->err, sizeof(s->err), "handshake: the key "
			    "could not sign: %s",
			    s->creds->ext_error(s->creds->ext));
		else
			tls_seterr(s, "handshake", ret);
		return (s->failed = PK_ERR_TLS);
	}

	/* Belt and braces: what the priority string should have forced. */
	if (gnutls_protocol_get_version(s->session) != GNUTLS_TLS1_3) {
		snprintf(s->err, sizeof(s->err), "negotiated %s, not TLS1.3",
		    gnutls_protocol_get_name(
		    gnutls_protocol_get_version(s->session)));
		return (s->failed = PK_ERR_TLS);
	}
	/* Everyone but the Mandos booting side must have seen a key. */
	if ((s->profile == PK_TLS_NATIVE || s->role == PK_TLS_CLIENT) &&
	    s->offered[0] == '\0') {
		snprintf(s->err, sizeof(s->err), "peer presented no key");
		return (s->failed = PK_ERR_TLS);
	}
	s->done = 1;
	return 0;
}

/* 1 if the last PK_ERR_AGAIN waits for writability, else 0. */
int
pk_tls_want_write(struct pk_tls *s)
{
	if (s == NULL)
		return 0;
	return gnutls_record_get_direction(s->session) == 1;
}

/* The peer's key id after a successful handshake, else "". */
const char *
pk_tls_peer_keyid(struct pk_tls *s)
{
	if (s == NULL || !s->done)
		return "";
	return s->offered;
}

/* The key id the peer offered, even if refused ("" if none): for logs. */
const char *
pk_tls_offered_keyid(struct pk_tls *s)
{
	if (s == NULL)
		return "";
	return s->offered;
}

/* Sends up to len bytes; see tls.h. */
ssize_t
pk_tls_send(struct pk_tls *s, const void *buf, size_t len)
{
	ssize_t	ret;

	if (s == NULL || (buf == NULL && len > 0))
		return PK_ERR_INVALID_ARG;
	if (!s->done) {
		snprintf(s->err, sizeof(s->err), "send before handshake");
		return PK_ERR_INVALID_ARG;
	}
	if (len == 0)
		return 0;
	ret = gnutls_record_send(s->session, buf, len);
	if (ret > 0)
		return ret;
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
		return PK_ERR_AGAIN;
	tls_seterr(s, "send", (int)ret);
	return PK_ERR_TLS;
}

/* Receives up to len bytes; see tls.h. */
ssize_t
pk_tls_recv(struct pk_tls *s, void *buf, size_t len)
{
	ssize_t	ret;
	int	i;

	if (s == NULL || buf == NULL || len == 0)
		return PK_ERR_INVALID_ARG;
	if (!s->done) {
		snprintf(s->err, sizeof(s->err), "recv before handshake");
		return PK_ERR_INVALID_ARG;
	}
	for (i = 0; ; i++) {
		ret = gnutls_record_recv(s->session, buf, len);
		if (ret > 0)
			return ret;
		if (ret == 0 || ret == GNUTLS_E_PREMATURE_TERMINATION)
			return PK_ERR_EOF;
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
			return PK_ERR_AGAIN;
		if (!gnutls_error_is_fatal((int)ret) && i < TLS_MAX_RETRY)
			continue;
		tls_seterr(s, "recv", (int)ret);
		return PK_ERR_TLS;
	}
}

/* Bytes already decrypted and waiting in GnuTLS. */
size_t
pk_tls_pending(struct pk_tls *s)
{
	if (s == NULL || !s->done)
		return 0;
	return gnutls_record_check_pending(s->session);
}

/* Sends close_notify once, best effort. */
void
pk_tls_bye(struct pk_tls *s)
{
	if (s == NULL || !s->done)
		return;
	(void)gnutls_bye(s->session, GNUTLS_SHUT_WR);
}

/* Frees the session (GnuTLS wipes its keys); does not close fd. */
void
pk_tls_free(struct pk_tls *s)
{
	if (s == NULL)
		return;
	if (s->session != NULL)
		gnutls_deinit(s->session);
	pk_tls_creds_free(s->own_creds);
	gnutls_memset(s, 0, sizeof(*s));
	free(s);
}

/* GnuTLS's description of the negotiated session, for logs. */
int
pk_tls_describe(struct pk_tls *s, char *buf, size_t len)
{
	char	*d;

	if (s == NULL || buf == NULL || len == 0 || !s->done)
		return PK_ERR_INVALID_ARG;
	if ((d = gnutls_session_get_desc(s->session)) == NULL)
		return PK_ERR_ALLOC;
	snprintf(buf, len, "%s", d);
	gnutls_free(d);
	return 0;
}

/* The last error on this session, or "" if none. */
const char *
pk_tls_error(struct pk_tls *s)
{
	if (s == NULL)
		return "no session";
	return s->err;
}
