/*
 * tpm.c: boot TLS keys inside a TPM 2.0, through tss2 ESYS (see tpm.h).
 *
 * The module's other files: tpm-esys.c (the tss2 libraries, opened with
 * dlopen() at the first use; every piece of TPM work on a thread of its
 * own, bounded by a timeout; the primary key; PCR policy sessions) and
 * tpm-file.c (the key files). This one makes keys, loads them and signs.
 *
 * Keys. pk_tpm_keygen() recreates the primary key (the storage key of
 * the owner hierarchy made from tpm_primary_tmpl: the same TPM always
 * makes the same key from it, so nothing needs to be persisted in the
 * TPM), creates under it an ECDSA P-256 signing key (fixedTPM,
 * fixedParent, noDA, empty auth) and returns the TPM's wrapping of it
 * as a TSS2 PRIVATE KEY PEM file. With PCRs chosen, the key's authPolicy
 * is TPM2_PolicyPCR over the SHA-256 bank at their current values (a
 * trial session computes it), userWithAuth is clear so that the empty
 * password does not authorise it, and the file records the PCR digest
 * and selection. Another TPM cannot load the blob (its primary differs,
 * so the integrity check of TPM2_Load fails), and this TPM signs with it
 * only after a policy session has passed TPM2_PolicyPCR, which fails
 * (TPM_RC_VALUE) once a bound PCR has changed.
 *
 * Signing. The identity's private key is a GnuTLS external key
 * (gnutls_privkey_import_ext4) whose sign_hash callback receives the
 * SHA-256 digest GnuTLS computed (for ECDSA-SECP256R1-SHA256 in TLS 1.3,
 * and ECDSA-SHA256 elsewhere); a DigestInfo-wrapped SHA-256 digest is
 * unwrapped. The TPM's (r, s) becomes the DER Ecdsa-Sig-Value GnuTLS
 * expects. Each signature with a PCR-bound key runs a fresh policy
 * session that the signing command ends.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "key.h"
#include "pk_err.h"
#include "tpm.h"

/* Parses "7", "0,2,7": the same with or without TPM support. */
int
pk_tpm_pcrs_parse(const char *s, unsigned long *mask, char **cause)
{
	const char	*p = s;
	char		*end;
	unsigned long	 m = 0, v;

	if (s == NULL || mask == NULL)
		return PK_ERR_INVALID_ARG;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || end == p || v > PK_TPM_PCR_MAX)
			goto bad;
		m |= 1UL << v;
		p = end;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	*mask = m;
	return 0;
 bad:
	pk_cause_set(cause, "\"%s\" is not a list of PCRs (numbers 0 to %d "
	    "separated by commas, such as 7 or 0,2,7)", s, PK_TPM_PCR_MAX);
	return PK_ERR_CONF;
}

#ifndef HAVE_TPM

int
pk_tpm_supported(void)
{
	return 0;
}

/* Every entry point of a build without tss2 says the same. */
static int
tpm_unsupported(char **cause)
{
	pk_cause_set(cause, "this peerkey was built without TPM support "
	    "(configure --with-tpm, Debian: libtss2-dev)");
	return PK_ERR_TPM;
}

int
pk_tpm_keygen(const char *tcti, unsigned long pcr_mask, char **pem,
    size_t *pemlen, char *keyid, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_key_parse(const void *pem, size_t len, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_keyfile_keyid(const char *path, char *keyid, unsigned long *pcr_mask,
    char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_identity_load(const char *tcti, const char *path,
    unsigned int timeout_ms, struct pk_identity **out, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_identity_check(struct pk_identity *id, char **cause)
{
	return tpm_unsupported(cause);
}
#else /* HAVE_TPM */

#include "tpm-int.h"

int
pk_tpm_supported(void)
{
	return 1;
}

/* ---------------------------------------------------------------------
 * Making a key
 */

/* The TPM's part of making a key (on a job thread). */
struct keygen_job {
	struct tpm		*t;
	unsigned long		 mask;
	struct tpm_keyfile	 k;
	char			*why;
};

static int
keygen_run(void *p)
{
	struct keygen_job	*j = p;
	struct tpm		*t = j->t;
	TPM2B_SENSITIVE_CREATE	 sens = { 0 };
	TPM2B_DATA		 outside = { 0 };
	TPML_PCR_SELECTION	 none = { 0 };
	TPM2B_PUBLIC		 tmpl = { 0 }, *op = NULL;
	TPM2B_PRIVATE		*opriv = NULL;
	TPM2B_CREATION_DATA	*cd = NULL;
	TPM2B_DIGEST		*ch = NULL, *pd = NULL;
	TPMT_TK_CREATION	*ct = NULL;
	TPMT_PUBLIC		*a = &tmpl.publicArea;
	ESYS_TR			 prim = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC			 rc;
	char			 list[80];
	int			 r;

	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_NODA;
	a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	a->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if (j->mask != 0) {
		/* The policy: PolicyPCR at the PCRs' values now. */
		tpm_pcr_list(j->mask, list, sizeof(list));
		tpm_pcr_selection(j->mask, &j->k.pcrs);
		if ((r = tpm_pcr_digest(t, &j->k.pcrs, &j->k.pcr_digest,
		    &j->why)) != 0 || (r = tpm_policy_pcr(t, 1,
		    &j->k.pcr_digest, &j->k.pcrs, list, &s, &j->why)) != 0)
			goto out;
		rc = tpm_tss.Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pd);
		tpm_flush(t, s);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, &j->why, "computing the PCR policy",
			    rc);
			goto out;
		}
		a->authPolicy = *pd;
		j->k.bound = 1;
	} else
		a->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	if ((r = tpm_primary(t, &prim, &j->why)) != 0)
		goto out;
	rc = tpm_tss.Esys_Create(t->esys, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &opriv, &op, &cd,
	    &ch, &ct);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, &j->why, "making the key", rc);
		goto out;
	}
	j->k.pub = *op;
	j->k.priv = *opriv;
	r = 0;
 out:
	tpm_tss.Esys_Free(op);
	tpm_tss.Esys_Free(opriv);
	tpm_tss.Esys_Free(cd);
	tpm_tss.Esys_Free(ch);
	tpm_tss.Esys_Free(ct);
	tpm_tss.Esys_Free(pd);
	tpm_flush(t, prim);
	return r;
}

/* An abandoned keygen_run finished: its message goes. */
static void
keygen_drop(void *p)
{
	free(((struct keygen_job *)p)->why);
}

int
pk_tpm_keygen(const char *tcti, unsigned long pcr_mask, char **pem,
    size_t *pemlen, char *keyid, char **cause)
{
	struct keygen_job	 j;
	struct tpm		*t = NULL;
	gnutls_datum_t		 out = { NULL, 0 };
	int			 r;

	if (pem == NULL || pemlen == NULL || keyid == NULL ||
	    (pcr_mask >> (PK_TPM_PCR_MAX + 1)) != 0)
		return PK_ERR_INVALID_ARG;
	*pem = NULL;
	*pemlen = 0;
	if ((r = tpm_open(tcti, 0, &t, cause)) != 0)
		return r;
	memset(&j, 0, sizeof(j));
	j.t = t;
	j.mask = pcr_mask;
	r = tpm_bounded(t, t->timeout_ms, keygen_run, keygen_drop, &j,
	    sizeof(j));
	if (r != 0) {
		if (j.why != NULL)
			pk_cause_set(cause, "%s", j.why);
		r = tpm_said(t, cause, "making the key", r);
		goto out;
	}
	if ((r = tpm_keyfile_pem(&j.k, &out)) != 0) {
		pk_cause_set(cause, "TPM %s: the key does not encode",
		    t->name);
		goto out;
	}
	/* What was written must read back: one parser for both. */
	if ((r = pk_tpm_key_parse(out.data, out.size, keyid, NULL,
	    cause)) != 0)
		goto out;
	if ((*pem = malloc(out.size + 1)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	memcpy(*pem, out.data, out.size);
	(*pem)[out.size] = '\0';
	*pemlen = out.size;
	r = 0;
 out:
	free(j.why);
	gnutls_free(out.data);
	tpm_close(t);
	return r;
}

/* ---------------------------------------------------------------------
 * Signing through GnuTLS
 */

/* The DigestInfo prefix of a SHA-256 digest (RFC 8017, 9.2). */
static const uint8_t tpm_sha256_info[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

/* The TPM's part of a signature (on a job thread). */
struct sign_job {
	struct tpm_key		*k;
	TPM2B_DIGEST		 dg;
	TPMT_SIGNATURE		 sig;
	char			*why;
};

static int
sign_run(void *p)
{
	struct sign_job		*j = p;
	struct tpm_key		*k = j->k;
	struct tpm		*t = k->t;
	TPMT_SIG_SCHEME		 scheme;
	TPMT_TK_HASHCHECK	 check;
	TPMT_SIGNATURE		*ts = NULL;
	ESYS_TR			 s = ESYS_TR_NONE;
	TSS2_RC			 rc;
	int			 r;

	memset(&scheme, 0, sizeof(scheme));
	scheme.scheme = TPM2_ALG_ECDSA;
	scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	memset(&check, 0, sizeof(check));
	check.tag = TPM2_ST_HASHCHECK;
	check.hierarchy = TPM2_RH_NULL;
	if (k->bound) {
		if ((r = tpm_policy_pcr(t, 0, &k->pcr_digest, &k->pcrs,
		    k->pcr_list, &s, &j->why)) != 0)
			return r;
		/* Sign ends the session. */
		(void)tpm_tss.Esys_TRSess_SetAttributes(t->esys, s, 0,
		    TPMA_SESSION_CONTINUESESSION);
	}
	rc = tpm_tss.Esys_Sign(t->esys, k->handle, k->bound ? s :
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &j->dg, &scheme,
	    &check, &ts);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_flush(t, s);
		if (tpm_rc_is(rc, TPM2_RC_POLICY_FAIL))
			pk_cause_set(&j->why, "TPM %s: the boot key's PCR "
			    "policy (PCR %s) does not hold: the TPM refuses to "
			    "sign", t->name, k->pcr_list);
		return tpm_fail(t, &j->why, "signing", rc);
	}
	j->sig = *ts;
	tpm_tss.Esys_Free(ts);
	return 0;
}

static void
sign_drop(void *p)
{
	free(((struct sign_job *)p)->why);
}

/*
 * Signs a SHA-256 digest (32 bytes) with the loaded key; the DER
 * Ecdsa-Sig-Value into *sig (gnutls_malloc'ed). Says why not in k->err
 * and *cause.
 */
static int
tpm_sign(struct tpm_key *k, const uint8_t *hash, size_t len,
    gnutls_datum_t *sig, char **cause)
{
	struct sign_job	 j;
	gnutls_datum_t	 rr, ss;
	int		 r;

	sig->data = NULL;
	sig->size = 0;
	memset(&j, 0, sizeof(j));
	if (len != 32) {
		pk_cause_set(&j.why, "asked to sign %zu bytes, not a SHA-256 "
		    "digest", len);
		r = PK_ERR_INVALID_ARG;
		goto out;
	}
	j.k = k;
	j.dg.size = 32;
	memcpy(j.dg.buffer, hash, 32);
	r = tpm_bounded(k->t, k->t->timeout_ms, sign_run, sign_drop, &j,
	    sizeof(j));
	if (r != 0) {
		r = tpm_said(k->t, &j.why, "signing", r);
		goto out;
	}
	if (j.sig.sigAlg != TPM2_ALG_ECDSA) {
		pk_cause_set(&j.why, "TPM %s: signed with algorithm %#x",
		    k->t->name, j.sig.sigAlg);
		r = PK_ERR_TPM;
		goto out;
	}
	rr.data = j.sig.signature.ecdsa.signatureR.buffer;
	rr.size = j.sig.signature.ecdsa.signatureR.size;
	ss.data = j.sig.signature.ecdsa.signatureS.buffer;
	ss.size = j.sig.signature.ecdsa.signatureS.size;
	if (gnutls_encode_rs_value(sig, &rr, &ss) < 0)
		r = PK_ERR_ALLOC;
 out:
	if (j.why != NULL) {
		snprintf(k->err, sizeof(k->err), "%s", j.why);
		pk_cause_set(cause, "%s", j.why);
		free(j.why);
	}
	return r;
}

/* GnuTLS asks for a signature of a hash (the external key's callback). */
static int
tpm_gnutls_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
    void *userdata, unsigned int flags, const gnutls_datum_t *hash,
    gnutls_datum_t *sig)
{
	struct tpm_key	*k = userdata;
	const uint8_t	*h = hash->data;
	size_t		 n = hash->size;

	(void)key;
	(void)flags;
	if (algo != GNUTLS_SIGN_ECDSA_SHA256 &&
	    algo != GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 &&
	    algo != GNUTLS_SIGN_UNKNOWN)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	/* The DigestInfo form: the SHA-256 digest inside it. */
	if (n == sizeof(tpm_sha256_info) + 32 &&
	    memcmp(h, tpm_sha256_info, sizeof(tpm_sha256_info)) == 0) {
		h += sizeof(tpm_sha256_info);
		n = 32;
	}
	if (tpm_sign(k, h, n, sig, NULL) != 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	return 0;
}

/* What GnuTLS asks about the external key. */
static int
tpm_gnutls_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	unsigned int	se;

	(void)key;
	(void)userdata;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
		se = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		return se == GNUTLS_SIGN_ECDSA_SHA256 ||
		    se == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	}
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_ECDSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return 256;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	return -1;
}

/* An external GnuTLS key on k (many may share it; none frees it). */
static int
tpm_privkey(struct tpm_key *k, gnutls_privkey_t *out)
{
	if (gnutls_privkey_init(out) < 0) {
		*out = NULL;
		return PK_ERR_ALLOC;
	}
	if (gnutls_privkey_import_ext4(*out, k, NULL, tpm_gnutls_sign, NULL,
	    NULL, tpm_gnutls_info, 0) < 0) {
		gnutls_privkey_deinit(*out);
		*out = NULL;
		return PK_ERR_KEY;
	}
	return 0;
}

/* key.h's ext_dup: one more handle for TLS credentials. */
static int
tpm_ext_dup(const struct pk_identity *id, gnutls_privkey_t *out)
{
	return tpm_privkey(id->ext, out);
}

/* key.h's ext_error: the last signing failure, in words. */
static const char *
tpm_ext_error(void *p)
{
	const struct tpm_key	*k = p;

	return k->err[0] != '\0' ? k->err : "(no reason recorded)";
}

/* Flushing a key (on a job thread). */
struct flush_job {
	struct tpm	*t;
	ESYS_TR		 h;
};

static int
flush_run(void *p)
{
	struct flush_job	*j = p;

	tpm_flush(j->t, j->h);
	return 0;
}

/* key.h's ext_free: flush the key, close the TPM (unless dead). */
static void
tpm_ext_free(void *p)
{
	struct tpm_key		*k = p;
	struct flush_job	 j;

	if (k == NULL)
		return;
	if (k->t != NULL && k->handle != ESYS_TR_NONE) {
		j.t = k->t;
		j.h = k->handle;
		(void)tpm_bounded(k->t, k->t->timeout_ms, flush_run, NULL, &j,
		    sizeof(j));
	}
	if (k->t != NULL && k->t->dead)
		return;		/* k may still be in use */
	tpm_close(k->t);
	free(k);
}

/* The TPM's part of loading a key (on a job thread). */
struct load_job {
	struct tpm_key		*k;
	TPM2B_PUBLIC		 pub;
	TPM2B_PRIVATE		 priv;
	TSS2_RC			 rc;
	char			*why;
};

static int
load_run(void *p)
{
	struct load_job		*j = p;
	struct tpm		*t = j->k->t;
	ESYS_TR			 prim = ESYS_TR_NONE, h = ESYS_TR_NONE;
	int			 r;

	if ((r = tpm_primary(t, &prim, &j->why)) != 0)
		return r;
	j->rc = tpm_tss.Esys_Load(t->esys, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &j->priv, &j->pub, &h);
	tpm_flush(t, prim);
	if (j->rc != TSS2_RC_SUCCESS)
		return PK_ERR_TPM;
	j->k->handle = h;
	return 0;
}

static void
load_drop(void *p)
{
	struct load_job	*j = p;

	explicit_bzero(&j->priv, sizeof(j->priv));
	free(j->why);
}

int
pk_tpm_identity_load(const char *tcti, const char *path,
    unsigned int timeout_ms, struct pk_identity **out, char **cause)
{
	struct pk_identity	*id = NULL;
	struct tpm_keyfile	 kf;
	struct load_job		 j;
	struct tpm_key		*k = NULL;
	int			 r;

	if (path == NULL || out == NULL)
		return PK_ERR_INVALID_ARG;
	*out = NULL;
	if ((r = tpm_keyfile_load(path, &kf, cause)) != 0)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (id = calloc(1, sizeof(*id))) == NULL) {
		free(k);
		return PK_ERR_ALLOC;
	}
	memset(&j, 0, sizeof(j));
	k->handle = ESYS_TR_NONE;
	k->bound = kf.bound;
	k->pcr_digest = kf.pcr_digest;
	k->pcrs = kf.pcrs;
	if (kf.bound)
		tpm_pcr_list((unsigned long)tpm_pcr_mask(&kf.pcrs),
		    k->pcr_list, sizeof(k->pcr_list));
	id->ext = k;
	id->ext_dup = tpm_ext_dup;
	id->ext_free = tpm_ext_free;
	id->ext_error = tpm_ext_error;
	if ((r = tpm_pubkey(&kf.pub, &id->pub)) != 0 ||
	    (r = pk_keyid_from_pubkey(id->pub, id->keyid)) != 0)
		goto out;
	if ((r = tpm_open(tcti, timeout_ms, &k->t, cause)) != 0)
		goto out;
	j.k = k;
	j.pub = kf.pub;
	j.priv = kf.priv;
	r = tpm_bounded(k->t, k->t->timeout_ms, load_run, load_drop, &j,
	    sizeof(j));
	if (r == PK_ERR_TPM && j.why == NULL) {
		if (tpm_rc_is(j.rc, TPM2_RC_INTEGRITY) ||
		    tpm_rc_is(j.rc, TPM2_RC_BINDING))
			pk_cause_set(cause, "TPM %s: the boot key %s was not "
			    "made by this TPM (another machine's, or this "
			    "TPM was cleared)", k->t->name, id->keyid);
		r = tpm_fail(k->t, cause, "loading the boot key", j.rc);
	} else if (r != 0) {
		if (j.why != NULL)
			pk_cause_set(cause, "%s", j.why);
		r = tpm_said(k->t, cause, "loading the boot key", r);
	}
	if (r != 0)
		goto out;
	if ((r = tpm_privkey(k, &id->priv)) != 0)
		goto out;
	*out = id;
	id = NULL;
 out:
	free(j.why);
	explicit_bzero(&j.priv, sizeof(j.priv));
	explicit_bzero(&kf, sizeof(kf));
	pk_identity_free(id);
	return r;
}

int
pk_tpm_identity_check(struct pk_identity *id, char **cause)
{
	gnutls_datum_t	 h, sig = { NULL, 0 };
	uint8_t		 d[32];
	int		 r;

	if (id == NULL || id->ext_free != tpm_ext_free || id->ext == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_rnd(GNUTLS_RND_NONCE, d, sizeof(d)) < 0)
		return PK_ERR_INTERNAL;
	if ((r = tpm_sign(id->ext, d, sizeof(d), &sig, cause)) != 0)
		return r == PK_ERR_ALLOC ? r : PK_ERR_TPM;
	h.data = d;
	h.size = sizeof(d);
	if (gnutls_pubkey_verify_hash2(id->pub, GNUTLS_SIGN_ECDSA_SHA256, 0,
	    &h, &sig) < 0) {
		pk_cause_set(cause, "TPM %s: the signature made with the boot "
		    "key %s does not verify",
		    ((struct tpm_key *)id->ext)->t->name, id->keyid);
		r = PK_ERR_TPM;
	}
	gnutls_free(sig.data);
	return r;
}

#endif /* HAVE_TPM */
