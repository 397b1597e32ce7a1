/*
 * test-share.c: threshold shares (src/proto/share.c) through libgfshare
 * and the signed blobs they ride in: any k of n combine to the secret,
 * k - 1 are refused as too few (and, forced through a blob that lies
 * about k, give a wrong secret); shares of another epoch, disk, split,
 * signer or boot key are refused together; an index twice is refused;
 * the limits; a tampered share is refused by its signature. The
 * ciphertext of each blob here is the share record itself (in enroll it
 * is the record's OpenPGP message; the set sees only the decrypted
 * record and the signed blob, as here).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "key.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "secret.h"
#include "share.h"
#include "test_helper.h"

#define BOOT_B \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define BOOT_C \
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static struct pk_identity *node, *other;
static uint8_t node_key[PK_SBLOB_KEY_LEN];

/* One share as a holder would release it and the agent decrypt it. */
struct one {
	uint8_t	*blob, *rec;
	size_t	 bloblen, reclen;
};

static void
make(struct one *o, const struct pk_identity *signer, const char *boot,
    const char *id, uint64_t epoch, unsigned k, unsigned n, unsigned x,
    const uint8_t *share, size_t len)
{
	ASSERT_INT_EQ(pk_share_encode(k, n, x, epoch, share, len, &o->rec,
	    &o->reclen, NULL), 0);
	ASSERT_INT_EQ(pk_sblob_seal_share(signer, boot, id, epoch, 1764633600,
	    k, n, x, o->rec, o->reclen, &o->blob, &o->bloblen, NULL), 0);
}

static void
unmake(struct one *o)
{
	free(o->blob);
	pk_secret_free(o->rec);
	memset(o, 0, sizeof(*o));
}

static int
add(struct pk_share_set *set, const struct one *o, char **cause)
{
	return pk_share_set_add(set, o->blob, o->bloblen, o->rec, o->reclen,
	    cause);
}

/* Adding o is refused with want (and the cause wantcause, if not NULL). */
static void
refused(struct pk_share_set *set, struct one *o, int want,
    const char *wantcause)
{
	char	*cause = NULL;

	ASSERT_INT_EQ(add(set, o, &cause), want);
	ASSERT_PTR_NE(cause, NULL);
	if (wantcause != NULL)
		ASSERT_STR_CONTAINS(cause, wantcause);
	free(cause);
	unmake(o);
}

/* Adding o succeeds. */
static void
added(struct pk_share_set *set, struct one *o)
{
	ASSERT_INT_EQ(add(set, o, NULL), 0);
	unmake(o);
}

static struct pk_share_set *
new_set(void)
{
	struct pk_share_set	*set = NULL;

	ASSERT_INT_EQ(pk_share_set_new(node_key, BOOT_B, &set, NULL), 0);
	return set;
}

/* Does the set of shares xs (a k-of-n split in shares) give secret? */
static int
combines(const uint8_t *shares, size_t len, unsigned k, unsigned n,
    const unsigned *xs, const uint8_t *secret)
{
	struct pk_share_set	*set = new_set();
	struct one		 o;
	uint8_t			*got = NULL;
	size_t			 gotlen = 0;
	unsigned		 i;
	int			 ok;

	for (i = 0; i < k; i++) {
		make(&o, node, BOOT_B, "luks-1", 3, k, n, xs[i],
		    shares + (xs[i] - 1) * len, len);
		ASSERT_INT_EQ(add(set, &o, NULL), 0);
		unmake(&o);
	}
	ASSERT_INT_EQ(pk_share_set_count(set), k);
	ASSERT_INT_EQ(pk_share_set_combine(set, &got, &gotlen, NULL), 0);
	ok = gotlen == len && memcmp(got, secret, len) == 0;
	pk_secret_free(got);
	pk_share_set_free(set);
	return ok;
}

/*
 * First, in a process that never split (as the boot agent): shares of a
 * 2-of-2 split whose line is flat (share x = the secret) combine.
 */
static void
test_combine_first(void)
{
	uint8_t	secret[4] = { 1, 2, 3, 4 }, shares[8];
	unsigned xs[2] = { 2, 1 };

	TEST_START("combining in a process that never split");
	memcpy(shares, secret, 4);
	memcpy(shares + 4, secret, 4);
	ASSERT_TRUE(combines(shares, 4, 2, 2, xs, secret));
	TEST_DONE();
}

static void
test_any_k(void)
{
	uint8_t		 secret[32], *shares;
	unsigned	 a, b, c, xs[3], all = 0, good = 0;

	TEST_START("any 3 of 5 shares combine to the secret");
	ASSERT_INT_EQ(gnutls_rnd(GNUTLS_RND_RANDOM, secret, sizeof(secret)), 0);
	shares = pk_secret_alloc(5 * sizeof(secret));
	ASSERT_INT_EQ(pk_share_split(secret, sizeof(secret), 3, 5, shares,
	    NULL), 0);
	for (a = 1; a <= 5; a++)
		for (b = a + 1; b <= 5; b++)
			for (c = b + 1; c <= 5; c++) {
				xs[0] = c;	/* any order */
				xs[1] = a;
				xs[2] = b;
				all++;
				good += combines(shares, sizeof(secret), 3, 5,
				    xs, secret);
			}
	ASSERT_INT_EQ(all, 10);
	ASSERT_INT_EQ(good, 10);
	/* No one share is the secret. */
	for (a = 0; a < 5; a++)
		ASSERT_INT_NE(memcmp(shares + a * 32, secret, 32), 0);
	TEST_DONE();
	pk_secret_free(shares);
}

static void
test_too_few(void)
{
	struct pk_share_set	*set = new_set();
	struct one		 o;
	uint8_t			 secret[32], *shares, *got = NULL;
	size_t			 gotlen = 0;
	char			*cause = NULL;
	unsigned		 xs[2] = { 2, 5 };

	TEST_START("k - 1 shares are refused as too few");
	ASSERT_INT_EQ(gnutls_rnd(GNUTLS_RND_RANDOM, secret, sizeof(secret)), 0);
	shares = pk_secret_alloc(5 * 32);
	ASSERT_INT_EQ(pk_share_split(secret, 32, 3, 5, shares, NULL), 0);
	ASSERT_INT_EQ(pk_share_set_combine(set, &got, &gotlen, &cause),
	    PK_ERR_AGAIN);
	free(cause);
	cause = NULL;
	make(&o, node, BOOT_B, "luks-1", 3, 3, 5, 2, shares + 32, 32);
	added(set, &o);
	make(&o, node, BOOT_B, "luks-1", 3, 3, 5, 5, shares + 4 * 32, 32);
	added(set, &o);
	ASSERT_INT_EQ(pk_share_set_count(set), 2);
	ASSERT_INT_EQ(pk_share_set_need(set), 3);
	ASSERT_INT_EQ(pk_share_set_combine(set, &got, &gotlen, &cause),
	    PK_ERR_AGAIN);
	ASSERT_STR_EQ(cause, "2 of 3 shares");
	ASSERT_PTR_EQ(got, NULL);
	free(cause);
	pk_share_set_free(set);
	TEST_DONE();

	TEST_START("k - 1 shares passed off as a 2-of-5 split: a wrong secret");
	ASSERT_FALSE(combines(shares, 32, 2, 5, xs, secret));
	TEST_DONE();
	pk_secret_free(shares);
}

static void
test_refused_together(void)
{
	struct pk_share_set	*set = new_set();
	struct one		 o;
	uint8_t			 secret[16], *shares, *got;
	size_t			 gotlen;

	ASSERT_INT_EQ(gnutls_rnd(GNUTLS_RND_RANDOM, secret, sizeof(secret)), 0);
	shares = pk_secret_alloc(4 * 16);
	ASSERT_INT_EQ(pk_share_split(secret, 16, 2, 4, shares, NULL), 0);
	make(&o, node, BOOT_B, "luks-1", 3, 2, 4, 1, shares, 16);
	added(set, &o);
	ASSERT_INT_EQ(pk_share_set_epoch(set), 3);

	TEST_START("a share of another epoch is refused");
	make(&o, node, BOOT_B, "luks-1", 4, 2, 4, 2, shares + 16, 16);
	refused(set, &o, PK_ERR_INVALID_ARG, "a share of epoch 4, not 3");
	TEST_DONE();

	TEST_START("a share of another disk is refused");
	make(&o, node, BOOT_B, "luks-2", 3, 2, 4, 2, shares + 16, 16);
	refused(set, &o, PK_ERR_INVALID_ARG,
	    "a share of blob luks-2, not luks-1");
	TEST_DONE();

	TEST_START("a share of another split (k, n, length) is refused");
	make(&o, node, BOOT_B, "luks-1", 3, 2, 5, 2, shares + 16, 16);
	refused(set, &o, PK_ERR_INVALID_ARG, NULL);
	make(&o, node, BOOT_B, "luks-1", 3, 3, 4, 2, shares + 16, 16);
	refused(set, &o, PK_ERR_INVALID_ARG, NULL);
	make(&o, node, BOOT_B, "luks-1", 3, 2, 4, 2, shares + 16, 15);
	refused(set, &o, PK_ERR_INVALID_ARG, NULL);
	TEST_DONE();

	TEST_START("an index twice is refused");
	make(&o, node, BOOT_B, "luks-1", 3, 2, 4, 1, shares + 16, 16);
	refused(set, &o, PK_ERR_EXISTS, "share 1 twice");
	ASSERT_INT_EQ(pk_share_set_count(set), 1);
	TEST_DONE();

	TEST_START("after the refusals, the right share still completes it");
	make(&o, node, BOOT_B, "luks-1", 3, 2, 4, 4, shares + 48, 16);
	added(set, &o);
	ASSERT_INT_EQ(pk_share_set_combine(set, &got, &gotlen, NULL), 0);
	ASSERT_INT_EQ(gotlen, 16);
	ASSERT_MEM_EQ(got, secret, 16);
	pk_secret_free(got);
	make(&o, node, BOOT_B, "luks-1", 3, 2, 4, 3, shares + 32, 16);
	ASSERT_INT_EQ(add(set, &o, NULL), PK_ERR_EXISTS);	/* k already */
	unmake(&o);
	TEST_DONE();
	pk_share_set_free(set);
	pk_secret_free(shares);
}

static void
test_signature(void)
{
	struct pk_share_set	*set = new_set();
	struct one		 o;
	uint8_t			 share[8] = "12345678";
	size_t			 i, nrefused = 0;

	TEST_START("a tampered share is refused by its signature");
	make(&o, node, BOOT_B, "luks-1", 3, 2, 3, 1, share, 8);
	for (i = 0; i < o.bloblen; i++) {
		o.blob[i] ^= 0x04;
		if (add(set, &o, NULL) != 0)
			nrefused++;
		o.blob[i] ^= 0x04;
	}
	ASSERT_INT_EQ(nrefused, o.bloblen);
	ASSERT_INT_EQ(pk_share_set_count(set), 0);
	/* The ciphertext's last byte, signature intact: does not verify. */
	o.blob[o.bloblen - PK_SBLOB_SIG_LEN - 1] ^= 0x80;
	refused(set, &o, PK_ERR_KEY, "the signature does not verify");
	TEST_DONE();

	TEST_START("a share signed by another key, or for another boot key");
	make(&o, other, BOOT_B, "luks-1", 3, 2, 3, 1, share, 8);
	refused(set, &o, PK_ERR_KEY,
	    "not signed by this machine's node key");
	make(&o, node, BOOT_C, "luks-1", 3, 2, 3, 1, share, 8);
	refused(set, &o, PK_ERR_KEY, NULL);
	TEST_DONE();

	TEST_START("a record that is not its blob's, a whole blob");
	ASSERT_INT_EQ(pk_share_encode(2, 3, 2, 3, share, 8, &o.rec, &o.reclen,
	    NULL), 0);
	ASSERT_INT_EQ(pk_sblob_seal_share(node, BOOT_B, "luks-1", 3, 0, 2, 3,
	    1, o.rec, o.reclen, &o.blob, &o.bloblen, NULL), 0);
	refused(set, &o, PK_ERR_BAD_FORMAT, NULL);
	ASSERT_INT_EQ(pk_share_encode(2, 3, 1, 3, share, 8, &o.rec, &o.reclen,
	    NULL), 0);
	ASSERT_INT_EQ(pk_sblob_seal(node, BOOT_B, "luks-1", 3, 0, o.rec,
	    o.reclen, &o.blob, &o.bloblen, NULL), 0);
	refused(set, &o, PK_ERR_BAD_FORMAT, "a whole blob, not a share");
	ASSERT_INT_EQ(pk_share_set_count(set), 0);
	TEST_DONE();
	pk_share_set_free(set);
}

static void
test_limits(void)
{
	uint8_t		 secret[PK_SHARE_SECRET_MAX + 1], *shares, *rec;
	unsigned	 xs[PK_SHARE_N_MAX], i;
	size_t		 reclen;
	char		*cause = NULL;

	ASSERT_INT_EQ(gnutls_rnd(GNUTLS_RND_RANDOM, secret, sizeof(secret)), 0);
	shares = pk_secret_alloc(256 * sizeof(secret));

	TEST_START("split limits: 1 <= k <= n <= 255, 1 .. 512 bytes");
	ASSERT_INT_EQ(pk_share_split(secret, 32, 0, 3, shares, &cause),
	    PK_ERR_INVALID_ARG);
	ASSERT_PTR_NE(cause, NULL);
	free(cause);
	ASSERT_INT_EQ(pk_share_split(secret, 32, 4, 3, shares, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_share_split(secret, 32, 2, 256, shares, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_share_split(secret, 0, 2, 3, shares, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_share_split(secret, PK_SHARE_SECRET_MAX + 1, 2, 3,
	    shares, NULL), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_share_split(secret, PK_SHARE_SECRET_MAX, 2, 3,
	    shares, NULL), 0);
	xs[0] = 3;
	xs[1] = 1;
	ASSERT_TRUE(combines(shares, PK_SHARE_SECRET_MAX, 2, 3, xs, secret));
	TEST_DONE();

	TEST_START("k = 1: every share is the secret (a whole blob each)");
	ASSERT_INT_EQ(pk_share_split(secret, 32, 1, 4, shares, NULL), 0);
	for (i = 0; i < 4; i++)
		ASSERT_MEM_EQ(shares + i * 32, secret, 32);
	ASSERT_INT_EQ(pk_share_encode(1, 4, 1, 1, shares, 32, &rec, &reclen,
	    NULL), PK_ERR_INVALID_ARG);	/* not a share record */
	TEST_DONE();

	TEST_START("k = n = 2 and k = n = 255 combine");
	ASSERT_INT_EQ(pk_share_split(secret, 32, 2, 2, shares, NULL), 0);
	xs[0] = 2;
	xs[1] = 1;
	ASSERT_TRUE(combines(shares, 32, 2, 2, xs, secret));
	ASSERT_INT_EQ(pk_share_split(secret, 32, 255, 255, shares, NULL), 0);
	for (i = 0; i < 255; i++)
		xs[i] = 255 - i;
	ASSERT_TRUE(combines(shares, 32, 255, 255, xs, secret));
	TEST_DONE();
	pk_secret_free(shares);
}

static void
test_record(void)
{
	struct pk_share_rec	 r;
	uint8_t			 share[3] = { 7, 8, 9 }, *rec = NULL;
	size_t			 len = 0;
	char			*cause = NULL;
	/* doc/protocol.md, 12.2 */
	static const uint8_t	 want[] = {
		0x50, 0x4b, 0x53, 0x48, 0x01, 0x02, 0x03, 0x01,
		0, 0, 0, 0, 0, 0, 0, 0x05, 0x00, 0x03, 7, 8, 9
	};

	TEST_START("a share record, byte by byte (protocol.md 12.2)");
	ASSERT_INT_EQ(pk_share_encode(2, 3, 1, 5, share, 3, &rec, &len,
	    NULL), 0);
	ASSERT_INT_EQ(len, sizeof(want));
	ASSERT_MEM_EQ(rec, want, sizeof(want));
	ASSERT_INT_EQ(pk_share_decode(rec, len, &r, NULL), 0);
	ASSERT_TRUE(r.k == 2 && r.n == 3 && r.x == 1 && r.epoch == 5 &&
	    r.len == 3 && r.share == rec + PK_SHARE_HDR_LEN);
	ASSERT_INT_EQ(pk_share_decode(rec, len - 1, &r, &cause),
	    PK_ERR_TRUNCATED);
	ASSERT_PTR_NE(cause, NULL);
	free(cause);
	rec[4] = 2;
	ASSERT_INT_EQ(pk_share_decode(rec, len, &r, NULL), PK_ERR_BAD_VERSION);
	rec[4] = 1;
	rec[7] = 4;	/* x > n */
	ASSERT_INT_EQ(pk_share_decode(rec, len, &r, NULL), PK_ERR_BAD_FORMAT);
	pk_secret_free(rec);
	TEST_DONE();
}

int
main(void)
{
	ASSERT_INT_EQ(pk_identity_generate(&node), 0);
	ASSERT_INT_EQ(pk_identity_generate(&other), 0);
	ASSERT_INT_EQ(pk_ed25519_raw(node, node_key), 0);
	test_combine_first();
	test_record();
	test_any_k();
	test_too_few();
	test_refused_together();
	test_signature();
	test_limits();
	pk_identity_free(node);
	pk_identity_free(other);
	return test_exit();
}
