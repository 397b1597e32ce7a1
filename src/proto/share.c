/*
 * share.c: threshold k-of-n shares (share.h; doc/protocol.md, section
 * 12), split and combined by libgfshare.
 *
 * The share record, the plaintext of a share's OpenPGP message:
 *
 *	u8[4]	"PKSH"
 *	u8	version (1)
 *	u8	k (2 .. 255), u8 n (k .. 255), u8 x (1 .. n)
 *	u64	epoch (>= 1)
 *	u16	len (1 .. PK_SHARE_SECRET_MAX), then len bytes: the share
 *
 * Its k, n, x and epoch repeat the signed blob's, so a record moved into
 * another blob is refused. Rules:
 * - libgfshare draws the polynomial's coefficients from gfshare_fill_rand,
 *   set here to gnutls_rnd (GNUTLS_RND_KEY), never to random().
 * - libgfshare keeps the coefficients and the shares it is given in its
 *   own heap buffer, which gfshare_ctx_free overwrites (with
 *   gfshare_fill_rand, so it is set before every context is made, the
 *   boot agent's combining ones too) before it frees it; everything of
 *   ours is in locked memory (secret.h) and wiped.
 * - gfshare_fill_rand is libgfshare's one global: splits and combines
 *   run in one thread at a time (the agent and the command have one).
 * - A share set trusts only what it verified itself: pk_share_set_add
 *   decodes and verifies the signed blob before it looks at the record.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <libgfshare.h>

#include "pk_err.h"
#include "proto.h"
#include "secret.h"
#include "sblob.h"
#include "share.h"

/* Set when gnutls_rnd failed during a split: the split is refused. */
static int	rand_failed;

static void
fill_rand(unsigned char *p, unsigned int n)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, p, n) != 0) {
		rand_failed = 1;
		memset(p, 0, n);
	}
}

int
pk_share_split(const uint8_t *secret, size_t len, unsigned k, unsigned n,
    uint8_t *out, char **cause)
{
	gfshare_ctx	*ctx;
	uint8_t		 xs[PK_SHARE_N_MAX], *copy;
	unsigned	 i;

	if (secret == NULL || out == NULL || len == 0 ||
	    len > PK_SHARE_SECRET_MAX || n == 0 || n > PK_SHARE_N_MAX ||
	    k == 0 || k > n) {
		pk_cause_set(cause, "shares: %u of %u shares of %zu bytes is "
		    "not a split (1 <= k <= n <= %d, 1 .. %d bytes)", k, n,
		    len, PK_SHARE_N_MAX, PK_SHARE_SECRET_MAX);
		return PK_ERR_INVALID_ARG;
	}
	for (i = 0; i < n; i++)
		xs[i] = (uint8_t)(i + 1);
	/* gfshare_ctx_enc_setsecret takes a non-const pointer: a copy. */
	if ((copy = pk_secret_alloc(len)) == NULL)
		return PK_ERR_ALLOC;
	memcpy(copy, secret, len);
	gfshare_fill_rand = fill_rand;
	rand_failed = 0;
	if ((ctx = gfshare_ctx_init_enc(xs, n, (unsigned char)k,
	    (unsigned int)len)) == NULL) {
		pk_secret_free(copy);
		pk_cause_set(cause, "shares: cannot make a %u-of-%u split", k,
		    n);
		return PK_ERR_ALLOC;
	}
	gfshare_ctx_enc_setsecret(ctx, copy);
	for (i = 0; i < n; i++)
		gfshare_ctx_enc_getshare(ctx, (unsigned char)i, out + i * len);
	gfshare_ctx_free(ctx);
	pk_secret_free(copy);
	if (rand_failed) {
		pk_wipe(out, (size_t)n * len);
		pk_cause_set(cause, "shares: no randomness for the split");
		return PK_ERR_INTERNAL;
	}
	return 0;
}

/* Are k, n, x the fields of a share (not a whole blob)? */
static int
share_fields(unsigned k, unsigned n, unsigned x)
{
	return k >= 2 && n >= k && n <= PK_SHARE_N_MAX && x >= 1 && x <= n;
}

int
pk_share_encode(unsigned k, unsigned n, unsigned x, uint64_t epoch,
    const uint8_t *share, size_t len, uint8_t **out, size_t *outlen,
    char **cause)
{
	uint8_t	*buf, *p;

	if (!share_fields(k, n, x) || epoch == 0 || share == NULL ||
	    len == 0 || len > PK_SHARE_SECRET_MAX || out == NULL ||
	    outlen == NULL) {
		pk_cause_set(cause, "share record: invalid arguments");
		return PK_ERR_INVALID_ARG;
	}
	if ((buf = pk_secret_alloc(PK_SHARE_HDR_LEN + len)) == NULL)
		return PK_ERR_ALLOC;
	p = buf;
	memcpy(p, PK_SHARE_MAGIC, 4);
	p += 4;
	*p++ = PK_SHARE_VERSION;
	*p++ = (uint8_t)k;
	*p++ = (uint8_t)n;
	*p++ = (uint8_t)x;
	p = pk_be_put(p, epoch, 8);
	p = pk_be_put(p, len, 2);
	memcpy(p, share, len);
	*out = buf;
	*outlen = PK_SHARE_HDR_LEN + len;
	return 0;
}

int
pk_share_decode(const uint8_t *data, size_t len, struct pk_share_rec *r,
    char **cause)
{
	size_t	n;

	memset(r, 0, sizeof(*r));
	if (data == NULL || len < 4 || memcmp(data, PK_SHARE_MAGIC, 4) != 0) {
		pk_cause_set(cause, "not a share record");
		return PK_ERR_BAD_FORMAT;
	}
	if (len < 5)
		goto truncated;
	if (data[4] != PK_SHARE_VERSION) {
		pk_cause_set(cause, "share record: version %u, not %u",
		    data[4], PK_SHARE_VERSION);
		return PK_ERR_BAD_VERSION;
	}
	if (len < PK_SHARE_HDR_LEN)
		goto truncated;
	r->k = data[5];
	r->n = data[6];
	r->x = data[7];
	r->epoch = pk_be_get(data + 8, 8);
	if (!share_fields(r->k, r->n, r->x) || r->epoch == 0) {
		pk_cause_set(cause, "share record: share %u of %u (threshold "
		    "%u), epoch %llu is not valid", r->x, r->n, r->k,
		    (unsigned long long)r->epoch);
		memset(r, 0, sizeof(*r));
		return PK_ERR_BAD_FORMAT;
	}
	n = (size_t)pk_be_get(data + 16, 2);
	if (n > PK_SHARE_SECRET_MAX) {
		pk_cause_set(cause, "share record: a %zu-byte share, over %d",
		    n, PK_SHARE_SECRET_MAX);
		memset(r, 0, sizeof(*r));
		return PK_ERR_TOO_LARGE;
	}
	if (n == 0) {
		pk_cause_set(cause, "share record: an empty share");
		memset(r, 0, sizeof(*r));
		return PK_ERR_BAD_FORMAT;
	}
	if (len - PK_SHARE_HDR_LEN < n)
		goto truncated;
	if (len - PK_SHARE_HDR_LEN > n) {
		pk_cause_set(cause, "share record: %zu bytes after the share",
		    len - PK_SHARE_HDR_LEN - n);
		memset(r, 0, sizeof(*r));
		return PK_ERR_TRAILING;
	}
	r->share = data + PK_SHARE_HDR_LEN;
	r->len = n;
	return 0;
truncated:
	pk_cause_set(cause, "share record: ends inside a field");
	memset(r, 0, sizeof(*r));
	return PK_ERR_TRUNCATED;
}

struct pk_share_set {
	uint8_t		 node_key[PK_SBLOB_KEY_LEN];
	char		 boot_keyid[65];
	char		 id[PK_BLOB_ID_MAX + 1];
	uint64_t	 epoch;		/* 0: empty */
	unsigned	 k, n, count;
	size_t		 len;
	uint8_t		 xs[PK_SHARE_N_MAX];
	uint8_t		*shares;	/* locked: k * len bytes */
};

int
pk_share_set_new(const uint8_t node_key[PK_SBLOB_KEY_LEN],
    const char *boot_keyid, struct pk_share_set **set, char **cause)
{
	struct pk_share_set	*s;
	uint8_t			 tmp[32];

	if (node_key == NULL || set == NULL || pk_hex32(boot_keyid, tmp) !=
	    0) {
		pk_cause_set(cause, "share set: invalid arguments");
		return PK_ERR_INVALID_ARG;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PK_ERR_ALLOC;
	memcpy(s->node_key, node_key, PK_SBLOB_KEY_LEN);
	memcpy(s->boot_keyid, boot_keyid, 65);
	*set = s;
	return 0;
}

/* Checks a verified share against the set (and the first fixes it). */
static int
set_fits(const struct pk_share_set *s, const struct pk_sblob *b,
    const struct pk_share_rec *rec, char **cause)
{
	unsigned	i;

	if (s->epoch == 0)
		return 0;
	if (b->idlen != strlen(s->id) || memcmp(b->id, s->id, b->idlen) != 0) {
		pk_cause_set(cause, "a share of blob %.*s, not %s",
		    (int)b->idlen, (const char *)b->id, s->id);
		return PK_ERR_INVALID_ARG;
	}
	if (b->epoch != s->epoch) {
		pk_cause_set(cause, "a share of epoch %llu, not %llu",
		    (unsigned long long)b->epoch,
		    (unsigned long long)s->epoch);
		return PK_ERR_INVALID_ARG;
	}
	if (b->k != s->k || b->n != s->n || rec->len != s->len) {
		pk_cause_set(cause, "a share of a %u-of-%u split of %zu bytes, "
		    "not %u of %u of %zu", b->k, b->n, rec->len, s->k, s->n,
		    s->len);
		return PK_ERR_INVALID_ARG;
	}
	for (i = 0; i < s->count; i++)
		if (s->xs[i] == b->index) {
			pk_cause_set(cause, "share %u twice", b->index);
			return PK_ERR_EXISTS;
		}
	if (s->count >= s->k) {
		pk_cause_set(cause, "share %u: %u shares already", b->index,
		    s->k);
		return PK_ERR_EXISTS;
	}
	return 0;
}

int
pk_share_set_add(struct pk_share_set *s, const uint8_t *blob,
    size_t bloblen, const uint8_t *plain, size_t plainlen, char **cause)
{
	struct pk_sblob		b;
	struct pk_share_rec	rec;
	int			r;

	if (s == NULL || blob == NULL || plain == NULL) {
		pk_cause_set(cause, "share set: invalid arguments");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = pk_sblob_decode(blob, bloblen, &b, cause)) != 0)
		return r == PK_ERR_ALLOC ? r : PK_ERR_BAD_FORMAT;
	if (memcmp(b.signer, s->node_key, PK_SBLOB_KEY_LEN) != 0) {
		pk_cause_set(cause, "a share not signed by this machine's "
		    "node key");
		return PK_ERR_KEY;
	}
	if ((r = pk_sblob_verify(&b, cause)) != 0)
		return r;
	if (!pk_sblob_for_boot_key(&b, s->boot_keyid)) {
		pk_cause_set(cause, "a share for another boot key");
		return PK_ERR_KEY;
	}
	if (b.k < 2) {
		pk_cause_set(cause, "a whole blob, not a share");
		return PK_ERR_BAD_FORMAT;
	}
	if ((r = pk_share_decode(plain, plainlen, &rec, cause)) != 0)
		return r;
	if (rec.k != b.k || rec.n != b.n || rec.x != b.index ||
	    rec.epoch != b.epoch) {
		pk_cause_set(cause, "the share record (%u of %u, share %u, "
		    "epoch %llu) is not its blob's (%u of %u, share %u, epoch "
		    "%llu)", rec.k, rec.n, rec.x,
		    (unsigned long long)rec.epoch, b.k, b.n, b.index,
		    (unsigned long long)b.epoch);
		return PK_ERR_BAD_FORMAT;
	}
	if ((r = set_fits(s, &b, &rec, cause)) != 0)
		return r;
	if (s->epoch == 0) {
		if ((s->shares = pk_secret_alloc((size_t)b.k * rec.len))
		    == NULL)
			return PK_ERR_ALLOC;
		memcpy(s->id, b.id, b.idlen);
		s->id[b.idlen] = '\0';
		s->epoch = b.epoch;
		s->k = b.k;
		s->n = b.n;
		s->len = rec.len;
	}
	memcpy(s->shares + (size_t)s->count * s->len, rec.share, rec.len);
	s->xs[s->count++] = b.index;
	return 0;
}

unsigned
pk_share_set_count(const struct pk_share_set *s)
{
	return s->count;
}

unsigned
pk_share_set_need(const struct pk_share_set *s)
{
	return s->k;
}

uint64_t
pk_share_set_epoch(const struct pk_share_set *s)
{
	return s->epoch;
}

const uint8_t *
pk_share_set_indices(const struct pk_share_set *s)
{
	return s->xs;
}

int
pk_share_set_combine(const struct pk_share_set *s, uint8_t **secret,
    size_t *len, char **cause)
{
	gfshare_ctx	*ctx;
	uint8_t		 xs[PK_SHARE_N_MAX], *out;
	unsigned	 i;

	if (s == NULL || secret == NULL || len == NULL)
		return PK_ERR_INVALID_ARG;
	if (s->epoch == 0 || s->count < s->k) {
		pk_cause_set(cause, "%u of %u shares", s->count, s->k);
		return PK_ERR_AGAIN;
	}
	memcpy(xs, s->xs, s->count);
	gfshare_fill_rand = fill_rand;	/* gfshare_ctx_free calls it */
	if ((out = pk_secret_alloc(s->len)) == NULL)
		return PK_ERR_ALLOC;
	if ((ctx = gfshare_ctx_init_dec(xs, s->count, (unsigned int)s->len))
	    == NULL) {
		pk_secret_free(out);
		return PK_ERR_ALLOC;
	}
	for (i = 0; i < s->count; i++)
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)i,
		    s->shares + (size_t)i * s->len);
	gfshare_ctx_dec_extract(ctx, out);
	gfshare_ctx_free(ctx);
	*secret = out;
	*len = s->len;
	return 0;
}

void
pk_share_set_free(struct pk_share_set *s)
{
	if (s == NULL)
		return;
	pk_secret_free(s->shares);
	pk_wipe(s, sizeof(*s));
	free(s);
}
