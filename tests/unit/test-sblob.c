/*
 * test-sblob.c: signed blobs (src/proto/sblob.c) against the example of
 * doc/protocol.md section 11.4, which an independent Ed25519 (Python's
 * cryptography, OpenSSL) signed with the context string; round trips,
 * limits and tampering.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "test_helper.h"

/* doc/protocol.md, 11.4 */
static const char example_hex[] =
    "504b534201"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "0000000000000001" "00000000692e2c00" "010101"
    "0009" "6c756b732d31323334" "00000003" "850102"
    "d6258959698bd073add4345e6df6f9f78bde2d0f542b50b2a79daba54361944c"
    "eb7efa84e7de00b68a1012a32c183976fedaea87921ca4ea5e85d57affeca50c";
#define EXAMPLE_SIGNER \
    "a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5"
#define BOOT_B \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t	i, n = strlen(h) / 2;

	for (i = 0; i < n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
	return n;
}

static void
test_example(void)
{
	uint8_t		 b[256];
	size_t		 n = unhex(example_hex, b);
	struct pk_sblob	 s;
	char		 kid[PK_KEYID_HEXLEN + 1], *cause = NULL;

	TEST_START("the example decodes, field by field");
	ASSERT_INT_EQ(n, 170);
	ASSERT_TRUE(pk_sblob_is(b, n));
	ASSERT_INT_EQ(pk_sblob_decode(b, n, &s, NULL), 0);
	ASSERT_INT_EQ(s.epoch, 1);
	ASSERT_INT_EQ(s.created, 1764633600);
	ASSERT_INT_EQ(s.k, 1);
	ASSERT_INT_EQ(s.n, 1);
	ASSERT_INT_EQ(s.index, 1);
	ASSERT_INT_EQ(s.idlen, 9);
	ASSERT_MEM_EQ(s.id, "luks-1234", 9);
	ASSERT_INT_EQ(s.cipherlen, 3);
	ASSERT_MEM_EQ(s.cipher, "\x85\x01\x02", 3);
	ASSERT_TRUE(pk_sblob_for_boot_key(&s, BOOT_B));
	ASSERT_FALSE(pk_sblob_for_boot_key(&s, EXAMPLE_SIGNER));
	ASSERT_INT_EQ(pk_sblob_signer_keyid(&s, kid), 0);
	ASSERT_STR_EQ(kid, EXAMPLE_SIGNER);
	TEST_DONE();

	TEST_START("its signature (another implementation's) verifies");
	ASSERT_INT_EQ(pk_sblob_verify(&s, NULL), 0);
	TEST_DONE();

	TEST_START("one flipped byte anywhere: refused or not verified");
	for (size_t i = 0; i < n; i++) {
		int	r;

		b[i] ^= 0x04;
		r = pk_sblob_decode(b, n, &s, NULL);
		if (r == 0)
			r = pk_sblob_verify(&s, NULL);
		ASSERT_INT_NE(r, 0);
		b[i] ^= 0x04;
	}
	TEST_DONE();

	TEST_START("truncated, trailing, another version: refused with a cause");
	ASSERT_INT_EQ(pk_sblob_decode(b, n - 1, &s, &cause), PK_ERR_TRUNCATED);
	ASSERT_PTR_NE(cause, NULL);
	free(cause);
	cause = NULL;
	b[n] = 0;
	ASSERT_INT_EQ(pk_sblob_decode(b, n + 1, &s, &cause), PK_ERR_TRAILING);
	free(cause);
	cause = NULL;
	b[4] = 2;
	ASSERT_INT_EQ(pk_sblob_decode(b, n, &s, &cause), PK_ERR_BAD_VERSION);
	free(cause);
	b[4] = 1;
	ASSERT_INT_EQ(pk_sblob_decode(b, 3, &s, NULL), PK_ERR_BAD_FORMAT);
	ASSERT_FALSE(pk_sblob_is("\x85\x01\x02\x03", 4));
	TEST_DONE();
}

static void
test_seal(void)
{
	struct pk_identity	*node = NULL, *other = NULL;
	struct pk_sblob		 s;
	uint8_t			*out = NULL, *out2 = NULL, *big;
	size_t			 len = 0, len2 = 0, max;
	char			 kid[PK_KEYID_HEXLEN + 1], *cause = NULL;

	TEST_START("seal, decode, verify: the node key's id, what went in");
	ASSERT_INT_EQ(pk_identity_generate(&node), 0);
	ASSERT_INT_EQ(pk_identity_generate(&other), 0);
	ASSERT_INT_EQ(pk_sblob_seal(node, BOOT_B, "luks-x", 3, 99, "abc", 3,
	    &out, &len, NULL), 0);
	ASSERT_INT_EQ(len, PK_SBLOB_OVERHEAD + 6 + 3);
	ASSERT_INT_EQ(pk_sblob_decode(out, len, &s, NULL), 0);
	ASSERT_INT_EQ(pk_sblob_verify(&s, NULL), 0);
	ASSERT_INT_EQ(pk_sblob_signer_keyid(&s, kid), 0);
	ASSERT_STR_EQ(kid, node->keyid);
	ASSERT_INT_EQ(s.epoch, 3);
	ASSERT_INT_EQ(s.created, 99);
	ASSERT_MEM_EQ(s.cipher, "abc", 3);
	TEST_DONE();

	TEST_START("Ed25519 is deterministic: the same blob twice");
	ASSERT_INT_EQ(pk_sblob_seal(node, BOOT_B, "luks-x", 3, 99, "abc", 3,
	    &out2, &len2, NULL), 0);
	ASSERT_INT_EQ(len2, len);
	ASSERT_MEM_EQ(out2, out, len);
	TEST_DONE();

	TEST_START("another key's signature under this signer: not verified");
	free(out2);
	out2 = NULL;
	ASSERT_INT_EQ(pk_sblob_seal(other, BOOT_B, "luks-x", 3, 99, "abc", 3,
	    &out2, &len2, NULL), 0);
	memcpy(out2 + len2 - PK_SBLOB_SIG_LEN, out + len - PK_SBLOB_SIG_LEN,
	    PK_SBLOB_SIG_LEN);
	ASSERT_INT_EQ(pk_sblob_decode(out2, len2, &s, NULL), 0);
	ASSERT_INT_EQ(pk_sblob_verify(&s, &cause), PK_ERR_KEY);
	ASSERT_STR_CONTAINS(cause, "does not verify");
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("the largest ciphertext fits PK_BLOB_MAX; one more does not");
	max = PK_BLOB_MAX - PK_SBLOB_OVERHEAD - 6;
	ASSERT_PTR_NE(big = calloc(1, max + 1), NULL);
	free(out);
	out = NULL;
	ASSERT_INT_EQ(pk_sblob_seal(node, BOOT_B, "luks-x", 1, 0, big, max,
	    &out, &len, NULL), 0);
	ASSERT_INT_EQ(len, PK_BLOB_MAX);
	ASSERT_INT_EQ(pk_sblob_decode(out, len, &s, NULL), 0);
	free(out);
	out = NULL;
	ASSERT_INT_EQ(pk_sblob_seal(node, BOOT_B, "luks-x", 1, 0, big,
	    max + 1, &out, &len, &cause), PK_ERR_TOO_LARGE);
	ASSERT_PTR_NE(cause, NULL);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_sblob_seal(node, "xyz", "luks-x", 1, 0, big, 1,
	    &out, &len, &cause), PK_ERR_INVALID_ARG);
	free(cause);
	free(big);
	TEST_DONE();

	free(out);
	free(out2);
	pk_identity_free(node);
	pk_identity_free(other);
}

int
main(void)
{
	test_example();
	test_seal();
	return test_exit();
}
