/*
 * ident.c: signed identity documents (ident.h; doc/protocol.md, "Signed
 * identity").
 *
 *	u8[4]	"PKID"
 *	u8	version (1)
 *	u64	seq (>= 1)
 *	str16	name (1 .. 64 of [A-Za-z0-9._-])
 *	u8[32]	node public key (Ed25519, raw)
 *	u8[32]	boot key id (SHA-256 of the boot TLS key's SPKI)
 *	str16	addresses (0 .. 512 bytes; host:port list)
 *	bytes32	boot OpenPGP public key (0 .. 24576 bytes, armored)
 *	u8[64]	Ed25519 signature, by the node key, of every byte before it
 *
 * The decoder reads every field in order, checks each length against its
 * limit before it looks for the bytes, insists the document ends with the
 * signature, and only then verifies the signature; the node key id is
 * computed from the key the document carries. Nothing in a document is
 * trusted before its signature verifies, and the signature only says
 * that the holder of that node key wrote it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "addr.h"
#include "conf.h"
#include "ident.h"
#include "key.h"
#include "pk_err.h"
#include "sblob.h"

#define IDENT_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789.-_"

/* The DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 bytes. */
static const uint8_t ed25519_spki[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

/* A cursor over the bytes being decoded. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static int
rd_take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return PK_ERR_TRUNCATED;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

/* A length-prefixed field (lensz 2 or 4 bytes) of at most max bytes. */
static int
rd_var(struct rd *r, size_t lensz, size_t max, const uint8_t **out,
    size_t *n)
{
	const uint8_t	*l;
	size_t		 v;
	int		 e;

	if ((e = rd_take(r, lensz, &l)) != 0)
		return e;
	v = lensz == 2 ? (size_t)l[0] << 8 | l[1] :
	    (size_t)l[0] << 24 | (size_t)l[1] << 16 | (size_t)l[2] << 8 | l[3];
	if (v > max)
		return PK_ERR_TOO_LARGE;
	*n = v;
	return rd_take(r, v, out);
}

/* Is p[0 .. n) an armored key's text (printable ASCII, CR, LF)? */
static int
ident_armor_ok(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n' &&
		    p[i] != '\r')
			return 0;
	return 1;
}

/* Checks the text fields of id; see the file comment. */
static int
ident_check(const struct pk_ident *id, char **cause)
{
	size_t	n = strlen(id->name);

	if (id->seq == 0) {
		pk_cause_set(cause, "identity: sequence number 0");
		return PK_ERR_BAD_FORMAT;
	}
	if (n == 0 || n > PK_IDENT_NAME_MAX ||
	    strspn(id->name, IDENT_NAME_CHARS) != n) {
		pk_cause_set(cause, "identity: the name must be 1-%d letters, "
		    "digits, '.', '-' or '_'", PK_IDENT_NAME_MAX);
		return PK_ERR_BAD_FORMAT;
	}
	if (!pk_keyid_valid(id->boot_keyid)) {
		pk_cause_set(cause, "identity: not a boot key id");
		return PK_ERR_BAD_FORMAT;
	}
	if (strlen(id->addresses) > PK_IDENT_ADDRS_MAX ||
	    pk_parse_address_list(id->addresses) != 0) {
		pk_cause_set(cause, "identity: the addresses are not a list "
		    "of host:port");
		return PK_ERR_BAD_FORMAT;
	}
	if (id->boot_pgp != NULL && (strlen(id->boot_pgp) > PK_IDENT_PGP_MAX ||
	    !ident_armor_ok((const uint8_t *)id->boot_pgp,
	    strlen(id->boot_pgp)))) {
		pk_cause_set(cause, "identity: the boot OpenPGP key is not "
		    "armored text of at most %d bytes", PK_IDENT_PGP_MAX);
		return PK_ERR_BAD_FORMAT;
	}
	return 0;
}

/* Hex digit pairs of s (64) into 32 bytes. */
static void
ident_unhex(const char *s, uint8_t *out)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < 32; i++) {
		hi = s[2 * i] <= '9' ? s[2 * i] - '0' : (s[2 * i] | 0x20) -
		    'a' + 10;
		lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' :
		    (s[2 * i + 1] | 0x20) - 'a' + 10;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

/* The key id of a raw Ed25519 public key. */
static int
ident_keyid(const uint8_t *raw, char *out)
{
	uint8_t	spki[sizeof(ed25519_spki) + PK_IDENT_KEY_LEN];

	memcpy(spki, ed25519_spki, sizeof(ed25519_spki));
	memcpy(spki + sizeof(ed25519_spki), raw, PK_IDENT_KEY_LEN);
	return pk_keyid_from_spki(spki, sizeof(spki), out);
}

static uint8_t *
put_be(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0)
		*p++ = (uint8_t)(v >> (8 * n));
	return p;
}

/* Signs an identity; see ident.h. */
int
pk_ident_sign(const struct pk_identity *node, struct pk_ident *id,
    uint8_t **out, size_t *outlen, char **cause)
{
	gnutls_datum_t		 x = { NULL, 0 }, data, sig = { NULL, 0 };
	gnutls_ecc_curve_t	 curve;
	const char		*pgp = id->boot_pgp != NULL ? id->boot_pgp : "";
	size_t			 nn = strlen(id->name), na, np = strlen(pgp);
	size_t			 len;
	uint8_t			*buf = NULL, *p;
	int			 r;

	*out = NULL;
	*outlen = 0;
	if ((r = ident_check(id, cause)) != 0)
		return PK_ERR_INVALID_ARG;
	na = strlen(id->addresses);
	if (gnutls_pubkey_export_ecc_raw2(node->pub, &curve, &x, NULL,
	    GNUTLS_EXPORT_FLAG_NO_LZ) != 0 ||
	    curve != GNUTLS_ECC_CURVE_ED25519 || x.size != PK_IDENT_KEY_LEN) {
		pk_cause_set(cause, "identity: the node key is not Ed25519");
		r = PK_ERR_KEY;
		goto out;
	}
	len = 4 + 1 + 8 + 2 + nn + PK_IDENT_KEY_LEN + 32 + 2 + na + 4 + np;
	if ((buf = malloc(len + PK_IDENT_SIG_LEN)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	p = buf;
	memcpy(p, PK_IDENT_MAGIC, 4);
	p += 4;
	*p++ = PK_IDENT_VERSION;
	p = put_be(p, id->seq, 8);
	p = put_be(p, nn, 2);
	memcpy(p, id->name, nn);
	p += nn;
	memcpy(p, x.data, PK_IDENT_KEY_LEN);
	p += PK_IDENT_KEY_LEN;
	ident_unhex(id->boot_keyid, p);
	p += 32;
	p = put_be(p, na, 2);
	memcpy(p, id->addresses, na);
	p += na;
	p = put_be(p, np, 4);
	memcpy(p, pgp, np);
	data.data = buf;
	data.size = (unsigned int)len;
	if (gnutls_privkey_sign_data2(node->priv, GNUTLS_SIGN_EDDSA_ED25519, 0,
	    &data, &sig) != 0 || sig.size != PK_IDENT_SIG_LEN) {
		pk_cause_set(cause, "identity: cannot sign with the node key");
		r = PK_ERR_KEY;
		goto out;
	}
	memcpy(buf + len, sig.data, PK_IDENT_SIG_LEN);
	memcpy(id->node_keyid, node->keyid, sizeof(id->node_keyid));
	*out = buf;
	*outlen = len + PK_IDENT_SIG_LEN;
	buf = NULL;
	r = 0;
out:
	gnutls_free(x.data);
	gnutls_free(sig.data);
	free(buf);
	return r;
}

/* Decodes and verifies; see ident.h. */
int
pk_ident_decode(const uint8_t *doc, size_t len, struct pk_ident *id,
    char **cause)
{
	struct rd	 r = { doc, len };
	const uint8_t	*magic, *ver, *seq, *name, *key, *boot, *addrs, *pgp;
	const uint8_t	*sig;
	size_t		 nn, na, np, i;
	int		 e;

	memset(id, 0, sizeof(*id));
	if (len > PK_IDENT_MAX) {
		pk_cause_set(cause, "identity: over %d bytes", PK_IDENT_MAX);
		return PK_ERR_TOO_LARGE;
	}
	if ((e = rd_take(&r, 4, &magic)) != 0 ||
	    (e = rd_take(&r, 1, &ver)) != 0)
		goto bad;
	if (memcmp(magic, PK_IDENT_MAGIC, 4) != 0) {
		pk_cause_set(cause, "identity: not a signed identity");
		return PK_ERR_BAD_FORMAT;
	}
	if (*ver != PK_IDENT_VERSION) {
		pk_cause_set(cause, "identity: version %u", *ver);
		return PK_ERR_BAD_VERSION;
	}
	if ((e = rd_take(&r, 8, &seq)) != 0 ||
	    (e = rd_var(&r, 2, PK_IDENT_NAME_MAX, &name, &nn)) != 0 ||
	    (e = rd_take(&r, PK_IDENT_KEY_LEN, &key)) != 0 ||
	    (e = rd_take(&r, 32, &boot)) != 0 ||
	    (e = rd_var(&r, 2, PK_IDENT_ADDRS_MAX, &addrs, &na)) != 0 ||
	    (e = rd_var(&r, 4, PK_IDENT_PGP_MAX, &pgp, &np)) != 0 ||
	    (e = rd_take(&r, PK_IDENT_SIG_LEN, &sig)) != 0)
		goto bad;
	if (r.left != 0) {
		e = PK_ERR_TRAILING;
		goto bad;
	}
	for (i = 0; i < 8; i++)
		id->seq = id->seq << 8 | seq[i];
	if (memchr(name, '\0', nn) != NULL || memchr(addrs, '\0', na) != NULL ||
	    !ident_armor_ok(pgp, np)) {
		pk_cause_set(cause, "identity: a NUL or control byte in a "
		    "text field");
		return PK_ERR_BAD_FORMAT;
	}
	memcpy(id->name, name, nn);
	memcpy(id->addresses, addrs, na);
	for (i = 0; i < 32; i++) {
		id->boot_keyid[2 * i] = "0123456789abcdef"[boot[i] >> 4];
		id->boot_keyid[2 * i + 1] = "0123456789abcdef"[boot[i] & 15];
	}
	if ((id->boot_pgp = malloc(np + 1)) == NULL) {
		memset(id, 0, sizeof(*id));
		return PK_ERR_ALLOC;
	}
	memcpy(id->boot_pgp, pgp, np);
	id->boot_pgp[np] = '\0';
	if ((e = ident_check(id, cause)) != 0)
		goto fail;
	if ((e = pk_ed25519_verify(key, doc, (size_t)(sig - doc), sig)) != 0) {
		pk_cause_set(cause, "identity: the signature does not verify "
		    "with the node key it names");
		goto fail;
	}
	if ((e = ident_keyid(key, id->node_keyid)) != 0) {
		pk_cause_set(cause, "identity: no key id");
		goto fail;
	}
	return 0;
bad:
	pk_cause_set(cause, "identity: %s", e == PK_ERR_TRUNCATED ?
	    "ends inside a field" : e == PK_ERR_TRAILING ?
	    "bytes after the signature" : "a field over its limit");
	return e;
fail:
	pk_ident_clear(id);
	return e;
}

/* Decodes base64, then the document; see ident.h. */
int
pk_ident_decode_b64(const char *b64, struct pk_ident *id, uint8_t **raw,
    size_t *rawlen, char **cause)
{
	gnutls_datum_t	 in, out = { NULL, 0 };
	size_t		 n = b64 != NULL ? strlen(b64) : 0;
	int		 e;

	memset(id, 0, sizeof(*id));
	if (raw != NULL) {
		*raw = NULL;
		*rawlen = 0;
	}
	in.data = (unsigned char *)(uintptr_t)b64;
	in.size = (unsigned int)n;
	if (n == 0 || n > (PK_IDENT_MAX + 2) / 3 * 4 ||
	    gnutls_base64_decode2(&in, &out) != 0) {
		pk_cause_set(cause, "identity: not base64 of a document");
		return PK_ERR_BAD_FORMAT;
	}
	if ((e = pk_ident_decode(out.data, out.size, id, cause)) == 0 &&
	    raw != NULL) {
		if ((*raw = malloc(out.size)) == NULL) {
			pk_ident_clear(id);
			e = PK_ERR_ALLOC;
		} else {
			memcpy(*raw, out.data, out.size);
			*rawlen = out.size;
		}
	}
	gnutls_free(out.data);
	return e;
}

/* Standard base64 of a document; see ident.h. */
char *
pk_ident_b64(const uint8_t *doc, size_t len)
{
	gnutls_datum_t	 in = { (unsigned char *)(uintptr_t)doc,
			    (unsigned int)len }, out;
	char		*s;

	if (gnutls_base64_encode2(&in, &out) != 0)
		return NULL;
	if ((s = malloc(out.size + 1)) != NULL) {
		memcpy(s, out.data, out.size);
		s[out.size] = '\0';
	}
	gnutls_free(out.data);
	return s;
}

/* Frees what id holds; see ident.h. */
void
pk_ident_clear(struct pk_ident *id)
{
	free(id->boot_pgp);
	memset(id, 0, sizeof(*id));
}
