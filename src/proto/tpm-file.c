/*
 * tpm-file.c: TPM key files (tpm.h), written and read, and the key id of
 * the key inside, which needs no TPM (only tss2-mu). The file is PEM
 * "TSS2 PRIVATE KEY" around the ASN.1 of draft-bottomley-tpm2-keys,
 * section 3:
 *	TPMKey ::= SEQUENCE {
 *	    type	OBJECT IDENTIFIER (2.23.133.10.1.3: loadable key),
 *	    emptyAuth	[0] EXPLICIT BOOLEAN (TRUE),
 *	    policy	[1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
 *	    parent	INTEGER (0x40000001: TPM_RH_OWNER),
 *	    pubkey	OCTET STRING (TPM2B_PUBLIC),
 *	    privkey	OCTET STRING (TPM2B_PRIVATE) }
 *	TPMPolicy ::= SEQUENCE {
 *	    commandCode	  [0] EXPLICIT INTEGER (TPM_CC_PolicyPCR),
 *	    commandPolicy [1] EXPLICIT OCTET STRING (TPM2B_DIGEST pcrDigest,
 *			      then TPML_PCR_SELECTION pcrs) }
 * The reader (der_*) takes only that shape, with definite DER lengths
 * (and skips the draft's description and rsaParent); anything else is
 * PK_ERR_KEY, with what is wrong in words.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "file.h"
#include "key.h"
#include "pk_err.h"
#include "tpm.h"
#include "tpm-int.h"

#define TPM_OWNER		0x40000001U	/* TPM_RH_OWNER, as parent */
#define TPM_DER_MAX		4096		/* a key file's DER */

/* 2.23.133.10.1.3, the draft's loadable key, DER-encoded with its tag. */
static const uint8_t tpm_oid_loadable[] = {
	0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03
};

/* ---------------------------------------------------------------------
 * The key file: DER in PEM
 */

/* A bounded DER writer. */
struct der {
	uint8_t	 b[TPM_DER_MAX];
	size_t	 len;
	int	 overflow;
};

static void
der_put(struct der *d, const void *p, size_t n)
{
	if (d->overflow || n > sizeof(d->b) - d->len) {
		d->overflow = 1;
		return;
	}
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

/* Writes a tag and a definite length (at most 0xffff). */
static void
der_head(struct der *d, uint8_t tag, size_t n)
{
	uint8_t	h[4];

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (uint8_t)n;
		der_put(d, h, 2);
	} else if (n <= 0xff) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		der_put(d, h, 3);
	} else if (n <= 0xffff) {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		der_put(d, h, 4);
	} else
		d->overflow = 1;
}

/* Writes tag, length and the contents of inner. */
static void
der_wrap(struct der *d, uint8_t tag, const struct der *inner)
{
	if (inner->overflow) {
		d->overflow = 1;
		return;
	}
	der_head(d, tag, inner->len);
	der_put(d, inner->b, inner->len);
}

/* Writes an INTEGER of a non-negative 32-bit value. */
static void
der_uint(struct der *d, uint32_t v)
{
	uint8_t	b[5];
	size_t	n = 0;
	int	i, started = 0;

	for (i = 3; i >= 0; i--) {
		uint8_t	c = (uint8_t)(v >> (8 * i));

		if (!started && c == 0 && i > 0)
			continue;
		if (!started && (c & 0x80))
			b[n++] = 0;
		started = 1;
		b[n++] = c;
	}
	der_head(d, 0x02, n);
	der_put(d, b, n);
}

/* A DER reader over [p, end). */
struct der_in {
	const uint8_t	*p, *end;
};

/*
 * Reads one element of the given tag into *inner (its contents).
 * Returns 0, or -1 (another tag, a bad or indefinite length, past end).
 */
static int
der_get(struct der_in *in, uint8_t tag, struct der_in *inner)
{
	size_t	n, left;

	left = (size_t)(in->end - in->p);
	if (left < 2 || in->p[0] != tag)
		return -1;
	n = in->p[1];
	in->p += 2;
	left -= 2;
	if (n == 0x81) {
		if (left < 1 || in->p[0] < 0x80)
			return -1;
		n = in->p[0];
		in->p += 1;
		left -= 1;
	} else if (n == 0x82) {
		if (left < 2 || in->p[0] == 0)
			return -1;
		n = ((size_t)in->p[0] << 8) | in->p[1];
		if (n < 0x100)
			return -1;
		in->p += 2;
		left -= 2;
	} else if (n >= 0x80)
		return -1;
	if (n > left)
		return -1;
	inner->p = in->p;
	inner->end = in->p + n;
	in->p += n;
	return 0;
}

/* Is the next element of in of this tag? */
static int
der_peek(const struct der_in *in, uint8_t tag)
{
	return in->p < in->end && in->p[0] == tag;
}

/* Reads an INTEGER that fits 32 bits, non-negative, minimal. */
static int
der_get_uint(struct der_in *in, uint32_t *v)
{
	struct der_in	i;
	size_t		n;

	if (der_get(in, 0x02, &i) != 0)
		return -1;
	n = (size_t)(i.end - i.p);
	if (n == 0 || n > 5 || (i.p[0] & 0x80))
		return -1;
	if (n > 1 && i.p[0] == 0 && !(i.p[1] & 0x80))
		return -1;
	if (n == 5 && i.p[0] != 0)
		return -1;
	*v = 0;
	for (; i.p < i.end; i.p++)
		*v = (*v << 8) | *i.p;
	return 0;
}

/* Encodes the key file's DER into d. */
static void
tpm_keyfile_encode(const struct tpm_keyfile *k, struct der *out)
{
	struct der	 seq, tmp, pol, one, cp, octs;
	uint8_t		 b[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t		 off;
	static const uint8_t	 true_bool[] = { 0x01, 0x01, 0xff };

	memset(&seq, 0, sizeof(seq));
	der_put(&seq, tpm_oid_loadable, sizeof(tpm_oid_loadable));
	memset(&tmp, 0, sizeof(tmp));
	der_put(&tmp, true_bool, sizeof(true_bool));
	der_wrap(&seq, 0xa0, &tmp);
	if (k->bound) {
		/* TPMPolicy { [0] commandCode, [1] commandPolicy } */
		memset(&one, 0, sizeof(one));
		memset(&tmp, 0, sizeof(tmp));
		der_uint(&tmp, TPM2_CC_PolicyPCR);
		der_wrap(&one, 0xa0, &tmp);
		off = 0;
		if (tpm_tss.Tss2_MU_TPM2B_DIGEST_Marshal(&k->pcr_digest, b,
		    sizeof(b), &off) != TSS2_RC_SUCCESS ||
		    tpm_tss.Tss2_MU_TPML_PCR_SELECTION_Marshal(&k->pcrs, b,
		    sizeof(b), &off) != TSS2_RC_SUCCESS) {
			out->overflow = 1;
			return;
		}
		memset(&octs, 0, sizeof(octs));
		der_head(&octs, 0x04, off);
		der_put(&octs, b, off);
		memset(&cp, 0, sizeof(cp));
		der_wrap(&cp, 0xa1, &octs);
		der_put(&one, cp.b, cp.len);
		memset(&pol, 0, sizeof(pol));
		der_wrap(&pol, 0x30, &one);
		memset(&tmp, 0, sizeof(tmp));
		der_wrap(&tmp, 0x30, &pol);
		der_wrap(&seq, 0xa1, &tmp);
	}
	der_uint(&seq, TPM_OWNER);
	off = 0;
	if (tpm_tss.Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, b, sizeof(b), &off) !=
	    TSS2_RC_SUCCESS) {
		out->overflow = 1;
		return;
	}
	der_head(&seq, 0x04, off);
	der_put(&seq, b, off);
	off = 0;
	if (tpm_tss.Tss2_MU_TPM2B_PRIVATE_Marshal(&k->priv, b, sizeof(b),
	    &off) != TSS2_RC_SUCCESS) {
		out->overflow = 1;
		return;
	}
	der_head(&seq, 0x04, off);
	der_put(&seq, b, off);
	der_wrap(out, 0x30, &seq);
}

/* The PEM text of a key file (gnutls_malloc'ed). */
int
tpm_keyfile_pem(const struct tpm_keyfile *k, gnutls_datum_t *pem)
{
	struct der	*der;
	gnutls_datum_t	 dd;
	int		 r = 0;

	pem->data = NULL;
	pem->size = 0;
	if ((der = calloc(1, sizeof(*der))) == NULL)
		return PK_ERR_ALLOC;
	tpm_keyfile_encode(k, der);
	dd.data = der->b;
	dd.size = (unsigned int)der->len;
	if (der->overflow)
		r = PK_ERR_KEY;
	else if (gnutls_pem_base64_encode2(PK_TPM_PEM_LABEL, &dd, pem) < 0)
		r = PK_ERR_ALLOC;
	free(der);
	return r;
}

/* Unmarshals a whole OCTET STRING's contents with fn; -1 on any rest. */
#define TPM_UNMARSHAL(fn, in, dst)					\
	(tpm_tss.fn((in).p, (size_t)((in).end - (in).p), &_off,		\
	    (dst)) == TSS2_RC_SUCCESS &&				\
	    _off == (size_t)((in).end - (in).p))

/* Decodes a key file's DER; says what is wrong. */
static int
tpm_keyfile_decode(const uint8_t *der, size_t len, struct tpm_keyfile *k,
    char **cause)
{
	struct der_in	 in = { der, der + len }, seq, x, y, pol, one, z;
	const char	*why;
	uint32_t	 v;
	size_t		 _off;

	memset(k, 0, sizeof(*k));
	why = "not a TPM key (ASN.1 TPMKey)";
	if (der_get(&in, 0x30, &seq) != 0 || in.p != in.end)
		goto bad;
	if ((size_t)(seq.end - seq.p) < sizeof(tpm_oid_loadable) ||
	    memcmp(seq.p, tpm_oid_loadable, sizeof(tpm_oid_loadable)) != 0) {
		why = "not a loadable TPM key";
		goto bad;
	}
	seq.p += sizeof(tpm_oid_loadable);
	why = "the key needs a password (peerkey uses keys with none)";
	if (der_get(&seq, 0xa0, &x) != 0 || (size_t)(x.end - x.p) != 3 ||
	    memcmp(x.p, "\x01\x01\xff", 3) != 0)
		goto bad;
	if (der_peek(&seq, 0xa1)) {
		why = "its policy is not one TPM2_PolicyPCR";
		if (der_get(&seq, 0xa1, &x) != 0 || der_get(&x, 0x30, &pol) !=
		    0 || x.p != x.end || der_get(&pol, 0x30, &one) != 0 ||
		    pol.p != pol.end)
			goto bad;
		if (der_get(&one, 0xa0, &y) != 0 || der_get_uint(&y, &v) != 0 ||
		    y.p != y.end || v != TPM2_CC_PolicyPCR)
			goto bad;
		if (der_get(&one, 0xa1, &y) != 0 ||
		    der_get(&y, 0x04, &z) != 0 || y.p != y.end ||
		    one.p != one.end)
			goto bad;
		_off = 0;
		if (tpm_tss.Tss2_MU_TPM2B_DIGEST_Unmarshal(z.p,
		    (size_t)(z.end - z.p), &_off, &k->pcr_digest) !=
		    TSS2_RC_SUCCESS ||
		    tpm_tss.Tss2_MU_TPML_PCR_SELECTION_Unmarshal(z.p,
		    (size_t)(z.end - z.p), &_off, &k->pcrs) !=
		    TSS2_RC_SUCCESS || _off != (size_t)(z.end - z.p) ||
		    k->pcr_digest.size != 32 || tpm_pcr_mask(&k->pcrs) < 0)
			goto bad;
		k->bound = 1;
	}
	why = "its parent is not the owner hierarchy's primary key";
	if (der_peek(&seq, 0xa2) || der_peek(&seq, 0xa3)) {
		why = "it carries an imported secret or a signed policy, "
		    "which peerkey does not use";
		goto bad;
	}
	for (v = 4; v <= 5; v++)
		if (der_peek(&seq, (uint8_t)(0xa0 + v)) &&
		    der_get(&seq, (uint8_t)(0xa0 + v), &x) != 0)
			goto bad;
	if (der_get_uint(&seq, &v) != 0 || v != TPM_OWNER)
		goto bad;
	why = "its TPM2B_PUBLIC does not parse";
	_off = 0;
	if (der_get(&seq, 0x04, &x) != 0 ||
	    !TPM_UNMARSHAL(Tss2_MU_TPM2B_PUBLIC_Unmarshal, x, &k->pub))
		goto bad;
	why = "its TPM2B_PRIVATE does not parse";
	_off = 0;
	if (der_get(&seq, 0x04, &x) != 0 ||
	    !TPM_UNMARSHAL(Tss2_MU_TPM2B_PRIVATE_Unmarshal, x, &k->priv) ||
	    seq.p != seq.end)
		goto bad;
	why = "it is not an ECDSA P-256 signing key";
	if (k->pub.publicArea.type != TPM2_ALG_ECC ||
	    k->pub.publicArea.parameters.eccDetail.curveID !=
	    TPM2_ECC_NIST_P256 ||
	    !(k->pub.publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
	    (k->pub.publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
	    k->pub.publicArea.unique.ecc.x.size != 32 ||
	    k->pub.publicArea.unique.ecc.y.size != 32)
		goto bad;
	why = "its PCR policy and its authPolicy disagree";
	if (k->bound != (k->pub.publicArea.authPolicy.size != 0))
		goto bad;
	return 0;
 bad:
	pk_cause_set(cause, "%s", why);
	return PK_ERR_KEY;
}

/* The GnuTLS public key of a TPM2B_PUBLIC (ECC P-256). */
int
tpm_pubkey(const TPM2B_PUBLIC *p, gnutls_pubkey_t *out)
{
	const TPMS_ECC_POINT	*pt = &p->publicArea.unique.ecc;
	gnutls_datum_t		 x, y;

	if (gnutls_pubkey_init(out) < 0) {
		*out = NULL;
		return PK_ERR_ALLOC;
	}
	x.data = (unsigned char *)pt->x.buffer;
	x.size = pt->x.size;
	y.data = (unsigned char *)pt->y.buffer;
	y.size = pt->y.size;
	if (gnutls_pubkey_import_ecc_raw(*out, GNUTLS_ECC_CURVE_SECP256R1, &x,
	    &y) < 0) {
		gnutls_pubkey_deinit(*out);
		*out = NULL;
		return PK_ERR_KEY;
	}
	return 0;
}

/* PEM text to a decoded key file. */
static int
tpm_key_read(const void *pem, size_t len, struct tpm_keyfile *k,
    char **cause)
{
	gnutls_datum_t	 in, der = { NULL, 0 };
	int		 r;

	if ((r = tpm_lib_mu(cause)) != 0)
		return r;
	if (len == 0 || len > 64 * 1024) {
		pk_cause_set(cause, "not a TPM key file (%zu bytes)", len);
		return PK_ERR_KEY;
	}
	in.data = (unsigned char *)pem;
	in.size = (unsigned int)len;
	if (gnutls_pem_base64_decode2(PK_TPM_PEM_LABEL, &in, &der) < 0) {
		pk_cause_set(cause, "no \"-----BEGIN %s-----\" block",
		    PK_TPM_PEM_LABEL);
		return PK_ERR_KEY;
	}
	if (der.size > TPM_DER_MAX) {
		pk_cause_set(cause, "not a TPM key (%u bytes of DER)",
		    der.size);
		r = PK_ERR_KEY;
	} else
		r = tpm_keyfile_decode(der.data, der.size, k, cause);
	gnutls_free(der.data);
	return r;
}

/* A decoded key file's key id and PCR mask. */
static int
tpm_keyfile_id(const struct tpm_keyfile *k, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	gnutls_pubkey_t	pub = NULL;
	int		r;

	if ((r = tpm_pubkey(&k->pub, &pub)) != 0) {
		pk_cause_set(cause, "its public key is not a P-256 point");
		return r;
	}
	r = pk_keyid_from_pubkey(pub, keyid);
	gnutls_pubkey_deinit(pub);
	if (r == 0 && pcr_mask != NULL)
		*pcr_mask = k->bound ? (unsigned long)tpm_pcr_mask(&k->pcrs) :
		    0;
	return r;
}

/* Parses a key file's text: key id and PCRs. */
int
pk_tpm_key_parse(const void *pem, size_t len, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	struct tpm_keyfile	k;
	int			r;

	if (pem == NULL || keyid == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = tpm_key_read(pem, len, &k, cause)) != 0)
		return r;
	return tpm_keyfile_id(&k, keyid, pcr_mask, cause);
}

/* Reads and decodes a key file (0600); says why not, naming path. */
int
tpm_keyfile_load(const char *path, struct tpm_keyfile *k, char **cause)
{
	char		*buf = NULL;
	size_t		 len = 0;
	char		*why = NULL;
	int		 r;

	if ((r = pk_file_read(path, 64 * 1024, PK_FILE_PRIVATE, &buf,
	    &len)) != 0) {
		pk_cause_set(cause, "%s: %s%s", path, r == PK_ERR_SYSTEM ?
		    strerror(errno) : pk_strerror(r), r == PK_ERR_PERM ?
		    " (chmod 600 it)" : "");
		return r;
	}
	if ((r = tpm_key_read(buf, len, k, &why)) != 0)
		pk_cause_set(cause, "%s: %s", path, why != NULL ? why :
		    pk_strerror(r));
	free(why);
	free(buf);
	return r;
}

int
pk_tpm_keyfile_keyid(const char *path, char *keyid, unsigned long *pcr_mask,
    char **cause)
{
	struct tpm_keyfile	k;
	int			r;

	if (path == NULL || keyid == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = tpm_keyfile_load(path, &k, cause)) != 0)
		return r;
	if ((r = tpm_keyfile_id(&k, keyid, pcr_mask, cause)) != 0)
		pk_cause_set(cause, "%s", path);
	explicit_bzero(&k, sizeof(k));
	return r;
}
