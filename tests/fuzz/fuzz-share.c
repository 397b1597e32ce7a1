/*
 * fuzz-share.c: libFuzzer target for src/proto/share.c, the share record
 * a boot agent reads from a decrypted share (and, through a share set,
 * the signed blob around it).
 *
 * The first byte picks what is done with the rest. Even: it is a share
 * record for pk_share_decode(); a decoded record accounts for every
 * byte, keeps its fields' rules and points inside the input; then it is
 * encoded again and must come out byte for byte the same. Odd: the rest
 * is a secret (up to PK_SHARE_SECRET_MAX bytes), split 2 of 3 and 3 of
 * 5; every share record round-trips, and shares 1+3 (and 2+4+5) combine
 * back to the secret in a share set. A refusal always has a cause.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-pick.h"
#include "key.h"
#include "pk_err.h"
#include "secret.h"
#include "sblob.h"
#include "share.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define BOOT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
fuzz_decode(const uint8_t *p, size_t len)
{
	struct pk_share_rec	 r;
	uint8_t			*out = NULL;
	size_t			 outlen = 0;
	char			*cause = NULL;

	if (pk_share_decode(p, len, &r, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL || r.len == 0 || r.len > PK_SHARE_SECRET_MAX ||
	    len != PK_SHARE_HDR_LEN + r.len || r.share != p +
	    PK_SHARE_HDR_LEN || r.k < 2 || r.n < r.k || r.x == 0 ||
	    r.x > r.n || r.epoch == 0)
		abort();
	if (pk_share_encode(r.k, r.n, r.x, r.epoch, r.share, r.len, &out,
	    &outlen, NULL) != 0 || outlen != len || memcmp(out, p, len) != 0)
		abort();
	pk_secret_free(out);
}

/* Shares xs[0 .. m - 1] of a k-of-n split of secret must combine to it. */
static void
combine(const struct pk_identity *node, const uint8_t *shares, size_t len,
    unsigned k, unsigned n, const unsigned *xs, unsigned m,
    const uint8_t *secret)
{
	struct pk_share_set	*set = NULL;
	uint8_t			 key[PK_SBLOB_KEY_LEN], *rec, *blob, *got;
	size_t			 reclen, bloblen, gotlen;
	unsigned		 i;

	if (pk_ed25519_raw(node, key) != 0 ||
	    pk_share_set_new(key, BOOT, &set, NULL) != 0)
		abort();
	for (i = 0; i < m; i++) {
		if (pk_share_encode(k, n, xs[i], 9, shares + (xs[i] - 1) * len,
		    len, &rec, &reclen, NULL) != 0 ||
		    pk_sblob_seal_share(node, BOOT, "luks-fuzz", 9, 0, k, n,
		    xs[i], rec, reclen, &blob, &bloblen, NULL) != 0 ||
		    pk_share_set_add(set, blob, bloblen, rec, reclen,
		    NULL) != 0)
			abort();
		free(blob);
		pk_secret_free(rec);
	}
	if (pk_share_set_combine(set, &got, &gotlen, NULL) != 0 ||
	    gotlen != len || memcmp(got, secret, len) != 0)
		abort();
	pk_secret_free(got);
	pk_share_set_free(set);
}

static void
fuzz_split(const uint8_t *p, size_t len)
{
	static struct pk_identity *node;
	static const unsigned	 a[] = { 1, 3 }, b[] = { 2, 4, 5 };
	uint8_t			*shares;
	char			*cause = NULL;

	if (node == NULL && pk_identity_generate(&node) != 0)
		abort();
	if ((shares = pk_secret_alloc(5 * (len ? len : 1))) == NULL)
		abort();
	if (pk_share_split(p, len, 2, 3, shares, &cause) != 0) {
		if (cause == NULL || (len != 0 && len <= PK_SHARE_SECRET_MAX))
			abort();
		free(cause);
		pk_secret_free(shares);
		return;
	}
	combine(node, shares, len, 2, 3, a, 2, p);
	if (pk_share_split(p, len, 3, 5, shares, NULL) != 0)
		abort();
	combine(node, shares, len, 3, 5, b, 3, p);
	pk_secret_free(shares);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pick(data, size, fuzz_decode, fuzz_split);
}
