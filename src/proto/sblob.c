/*
 * sblob.c: signed blobs (sblob.h; doc/protocol.md, section 11).
 *
 *	u8[4]	"PKSB"
 *	u8	version (1)
 *	u8[32]	signer: the node public key (Ed25519, raw)
 *	u8[32]	boot key id (SHA-256 of the boot TLS key's SPKI)
 *	u64	epoch (>= 1)
 *	u64	created (seconds since 1970, UTC)
 *	u8	k (1 .. 255), u8 n (k .. 255), u8 index (1 .. n); k = 1: 1 of 1
 *	str16	id (1 .. 128 bytes of 0x21 .. 0x7e)
 *	bytes32	ciphertext (1 .. PK_BLOB_MAX - PK_SBLOB_OVERHEAD - id)
 *	u8[64]	Ed25519 signature of the context string "peerkey signed
 *		blob 1", its NUL, and every byte above
 *
 * The decoder reads every field in order, checks each length against its
 * limit before it looks for the bytes and insists the blob ends with the
 * signature; it trusts nothing: whoever acts on a blob verifies the
 * signature (pk_sblob_verify) and checks the signer against the node key
 * it expects. Signing needs the node key's private half, which only a
 * software Ed25519 key has here (a TPM key is a boot key, never a node
 * key).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "key.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"

/* The DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 bytes. */
static const uint8_t spki_head[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

uint64_t
pk_be_get(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

uint8_t *
pk_be_put(uint8_t *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
	return p + n;
}

int
pk_hex32(const char *hex, uint8_t out[32])
{
	size_t	i;
	int	hi, lo;

	if (hex == NULL || strlen(hex) != 64)
		return PK_ERR_BAD_FORMAT;
	for (i = 0; i < 32; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
#define NIB(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : \
	    (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : \
	    (c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10 : -1)
		if (NIB(hi) < 0 || NIB(lo) < 0)
			return PK_ERR_BAD_FORMAT;
		out[i] = (uint8_t)(NIB(hi) << 4 | NIB(lo));
#undef NIB
	}
	return 0;
}

int
pk_ed25519_raw(const struct pk_identity *id, uint8_t out[PK_SBLOB_KEY_LEN])
{
	gnutls_ecc_curve_t	 curve;
	gnutls_datum_t		 x = { NULL, 0 };
	int			 r = PK_ERR_KEY;

	if (id == NULL || id->pub == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_pubkey_export_ecc_raw(id->pub, &curve, &x, NULL) == 0 &&
	    curve == GNUTLS_ECC_CURVE_ED25519 && x.size == PK_SBLOB_KEY_LEN) {
		memcpy(out, x.data, PK_SBLOB_KEY_LEN);
		r = 0;
	}
	gnutls_free(x.data);
	return r;
}

/* The context string and body, as the signature covers them. */
static uint8_t *
signed_bytes(const uint8_t *body, size_t len, size_t *outlen)
{
	size_t	 clen = sizeof(PK_SBLOB_CONTEXT);	/* with its NUL */
	uint8_t	*p;

	if ((p = malloc(clen + len)) == NULL)
		return NULL;
	memcpy(p, PK_SBLOB_CONTEXT, clen);
	memcpy(p + clen, body, len);
	*outlen = clen + len;
	return p;
}

int
pk_sblob_is(const void *data, size_t len)
{
	return data != NULL && len >= 4 && memcmp(data, PK_SBLOB_MAGIC, 4) == 0;
}

int
pk_sblob_seal(const struct pk_identity *node, const char *boot_keyid,
    const char *id, uint64_t epoch, uint64_t created, const void *cipher,
    size_t cipherlen, uint8_t **out, size_t *outlen, char **cause)
{
	return pk_sblob_seal_share(node, boot_keyid, id, epoch, created, 1, 1,
	    1, cipher, cipherlen, out, outlen, cause);
}

int
pk_sblob_seal_share(const struct pk_identity *node, const char *boot_keyid,
    const char *id, uint64_t epoch, uint64_t created, unsigned k, unsigned n,
    unsigned index, const void *cipher, size_t cipherlen, uint8_t **out,
    size_t *outlen, char **cause)
{
	gnutls_datum_t	 d, sig = { NULL, 0 };
	uint8_t		 key[PK_SBLOB_KEY_LEN], boot[PK_SBLOB_ID_LEN];
	uint8_t		*buf, *p, *tosign;
	size_t		 idlen, total, signlen = 0;
	int		 r;

	if (node == NULL || id == NULL || cipher == NULL || out == NULL ||
	    outlen == NULL || pk_hex32(boot_keyid, boot) != 0 || epoch == 0 ||
	    (idlen = strlen(id)) == 0 || idlen > PK_BLOB_ID_MAX ||
	    cipherlen == 0 || k == 0 || n > 255 || n < k || index == 0 ||
	    index > n || (k == 1 && (n != 1 || index != 1))) {
		pk_cause_set(cause, "signed blob: invalid arguments");
		return PK_ERR_INVALID_ARG;
	}
	if (cipherlen > PK_BLOB_MAX - PK_SBLOB_OVERHEAD - idlen) {
		pk_cause_set(cause, "signed blob: a %zu-byte ciphertext does "
		    "not fit in one blob (at most %zu)", cipherlen,
		    (size_t)(PK_BLOB_MAX - PK_SBLOB_OVERHEAD - idlen));
		return PK_ERR_TOO_LARGE;
	}
	if (pk_ed25519_raw(node, key) != 0) {
		pk_cause_set(cause, "signed blob: the node key is not an "
		    "Ed25519 key");
		return PK_ERR_KEY;
	}
	total = PK_SBLOB_OVERHEAD + idlen + cipherlen;
	if ((buf = malloc(total)) == NULL)
		return PK_ERR_ALLOC;
	p = buf;
	memcpy(p, PK_SBLOB_MAGIC, 4);
	p += 4;
	*p++ = PK_SBLOB_VERSION;
	memcpy(p, key, sizeof(key));
	p += sizeof(key);
	memcpy(p, boot, sizeof(boot));
	p += sizeof(boot);
	p = pk_be_put(p, epoch, 8);
	p = pk_be_put(p, created, 8);
	*p++ = (uint8_t)k;
	*p++ = (uint8_t)n;
	*p++ = (uint8_t)index;
	p = pk_be_put(p, idlen, 2);
	memcpy(p, id, idlen);
	p += idlen;
	p = pk_be_put(p, cipherlen, 4);
	memcpy(p, cipher, cipherlen);
	p += cipherlen;
	r = PK_ERR_ALLOC;
	if ((tosign = signed_bytes(buf, (size_t)(p - buf), &signlen)) == NULL)
		goto fail;
	d.data = tosign;
	d.size = (unsigned int)signlen;
	r = PK_ERR_KEY;
	if (gnutls_privkey_sign_data2(node->priv, GNUTLS_SIGN_EDDSA_ED25519, 0,
	    &d, &sig) < 0 || sig.size != PK_SBLOB_SIG_LEN) {
		pk_cause_set(cause, "signed blob: cannot sign with the node "
		    "key");
		goto fail;
	}
	memcpy(p, sig.data, PK_SBLOB_SIG_LEN);
	gnutls_free(sig.data);
	free(tosign);
	*out = buf;
	*outlen = total;
	return 0;
fail:
	gnutls_free(sig.data);
	free(tosign);
	free(buf);
	return r;
}

/* A cursor over the bytes being decoded. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t	*p = r->p;

	if (r->left < n)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

/*
 * Takes a field what: a big-endian length of width bytes, at most max
 * and not 0, then that many bytes, into *out and *outlen. Returns 0;
 * PK_ERR_TRUNCATED without a cause (the caller says it once); or
 * PK_ERR_TOO_LARGE or PK_ERR_BAD_FORMAT with one.
 */
static int
rd_field(struct rd *r, size_t width, uint64_t max, const char *what,
    const uint8_t **out, size_t *outlen, char **cause)
{
	const uint8_t	*p;
	uint64_t	 n;

	if ((p = rd_take(r, width)) == NULL)
		return PK_ERR_TRUNCATED;
	if ((n = pk_be_get(p, width)) > max) {
		pk_cause_set(cause, "signed blob: %s of %llu bytes, over %llu",
		    what, (unsigned long long)n, (unsigned long long)max);
		return PK_ERR_TOO_LARGE;
	}
	if (n == 0) {
		pk_cause_set(cause, "signed blob: empty %s", what);
		return PK_ERR_BAD_FORMAT;
	}
	if ((*out = rd_take(r, (size_t)n)) == NULL)
		return PK_ERR_TRUNCATED;
	*outlen = (size_t)n;
	return 0;
}

int
pk_sblob_decode(const uint8_t *data, size_t len, struct pk_sblob *b,
    char **cause)
{
	struct rd	 r = { data, len };
	const uint8_t	*p;
	size_t		 i;
	int		 e;

	memset(b, 0, sizeof(*b));
	if (len > PK_BLOB_MAX) {
		pk_cause_set(cause, "signed blob: %zu bytes, over %d", len,
		    PK_BLOB_MAX);
		return PK_ERR_TOO_LARGE;
	}
	if (!pk_sblob_is(data, len)) {
		pk_cause_set(cause, "not a signed blob");
		return PK_ERR_BAD_FORMAT;
	}
	(void)rd_take(&r, 4);
	if ((p = rd_take(&r, 1)) == NULL)
		goto truncated;
	if (*p != PK_SBLOB_VERSION) {
		pk_cause_set(cause, "signed blob: version %u, not %u", *p,
		    PK_SBLOB_VERSION);
		return PK_ERR_BAD_VERSION;
	}
	if ((p = rd_take(&r, PK_SBLOB_KEY_LEN + PK_SBLOB_ID_LEN + 8 + 8 + 3))
	    == NULL)
		goto truncated;
	memcpy(b->signer, p, PK_SBLOB_KEY_LEN);
	p += PK_SBLOB_KEY_LEN;
	memcpy(b->boot_key, p, PK_SBLOB_ID_LEN);
	p += PK_SBLOB_ID_LEN;
	b->epoch = pk_be_get(p, 8);
	b->created = pk_be_get(p + 8, 8);
	b->k = p[16];
	b->n = p[17];
	b->index = p[18];
	if (b->epoch == 0 || b->k == 0 || b->n < b->k || b->index == 0 ||
	    b->index > b->n || (b->k == 1 && (b->n != 1 || b->index != 1))) {
		pk_cause_set(cause, "signed blob: epoch %llu, share %u of %u "
		    "(threshold %u) is not valid",
		    (unsigned long long)b->epoch, b->index, b->n, b->k);
		return PK_ERR_BAD_FORMAT;
	}
	if ((e = rd_field(&r, 2, PK_BLOB_ID_MAX, "id", &b->id, &b->idlen,
	    cause)) == PK_ERR_TRUNCATED)
		goto truncated;
	if (e != 0)
		return e;
	for (i = 0; i < b->idlen; i++)
		if (b->id[i] < 0x21 || b->id[i] > 0x7e) {
			pk_cause_set(cause, "signed blob: the id has a byte "
			    "outside 0x21..0x7e");
			return PK_ERR_BAD_FORMAT;
		}
	if ((e = rd_field(&r, 4, PK_BLOB_MAX - PK_SBLOB_OVERHEAD - b->idlen,
	    "ciphertext", &b->cipher, &b->cipherlen, cause)) ==
	    PK_ERR_TRUNCATED)
		goto truncated;
	if (e != 0)
		return e;
	b->body = data;
	b->bodylen = (size_t)(r.p - data);
	if ((b->sig = rd_take(&r, PK_SBLOB_SIG_LEN)) == NULL)
		goto truncated;
	if (r.left != 0) {
		pk_cause_set(cause, "signed blob: %zu bytes after the "
		    "signature", r.left);
		memset(b, 0, sizeof(*b));
		return PK_ERR_TRAILING;
	}
	return 0;
truncated:
	pk_cause_set(cause, "signed blob: ends inside a field");
	memset(b, 0, sizeof(*b));
	return PK_ERR_TRUNCATED;
}

int
pk_ed25519_verify(const uint8_t *key, const uint8_t *data, size_t len,
    const uint8_t *sig)
{
	gnutls_pubkey_t	 pub;
	gnutls_datum_t	 x = { (unsigned char *)(uintptr_t)key,
			    PK_SBLOB_KEY_LEN };
	gnutls_datum_t	 d = { (unsigned char *)(uintptr_t)data,
			    (unsigned int)len };
	gnutls_datum_t	 s = { (unsigned char *)(uintptr_t)sig,
			    PK_SBLOB_SIG_LEN };
	int		 ok;

	if (gnutls_pubkey_init(&pub) != 0)
		return PK_ERR_ALLOC;
	ok = gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x,
	    NULL) == 0 && gnutls_pubkey_verify_data2(pub,
	    GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &s) >= 0;
	gnutls_pubkey_deinit(pub);
	return ok ? 0 : PK_ERR_KEY;
}

int
pk_sblob_verify(const struct pk_sblob *b, char **cause)
{
	uint8_t		*tosign;
	size_t		 signlen = 0;
	int		 r;

	if (b == NULL || b->sig == NULL || b->body == NULL)
		return PK_ERR_INVALID_ARG;
	if ((tosign = signed_bytes(b->body, b->bodylen, &signlen)) == NULL)
		return PK_ERR_ALLOC;
	r = pk_ed25519_verify(b->signer, tosign, signlen, b->sig);
	free(tosign);
	if (r == PK_ERR_KEY)
		pk_cause_set(cause, "the signature does not verify");
	return r;
}

int
pk_sblob_signer_keyid(const struct pk_sblob *b, char *out)
{
	uint8_t	spki[sizeof(spki_head) + PK_SBLOB_KEY_LEN];

	memcpy(spki, spki_head, sizeof(spki_head));
	memcpy(spki + sizeof(spki_head), b->signer, PK_SBLOB_KEY_LEN);
	return pk_keyid_from_spki(spki, sizeof(spki), out) == 0 ? 0 :
	    PK_ERR_KEY;
}

int
pk_sblob_for_boot_key(const struct pk_sblob *b, const char *keyid)
{
	uint8_t	want[PK_SBLOB_ID_LEN];

	return pk_hex32(keyid, want) == 0 &&
	    memcmp(want, b->boot_key, sizeof(want)) == 0;
}
