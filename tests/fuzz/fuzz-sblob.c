/*
 * fuzz-sblob.c: libFuzzer target for src/proto/sblob.c, the signed blobs
 * that the boot agent and every holder read from the network.
 *
 * The first byte picks what is done with the rest. Even: it is a signed
 * blob for pk_sblob_decode(); a decoded blob must account for every
 * byte (overhead + id + ciphertext), hold fields within their rules and
 * point inside the input; then pk_sblob_verify() runs on it (whatever
 * it says). Odd: the rest is a ciphertext sealed by a fixed node key;
 * the result must decode, verify, carry the ciphertext unchanged, and
 * stop verifying when any one byte of it is flipped. A refusal always
 * has a cause.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-pick.h"
#include "key.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define BOOT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
fuzz_decode(const uint8_t *p, size_t len)
{
	struct pk_sblob	 b;
	char		*cause = NULL, kid[PK_KEYID_HEXLEN + 1];
	int		 r;

	r = pk_sblob_decode(p, len, &b, &cause);
	if (r != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL || b.idlen == 0 || b.idlen > PK_BLOB_ID_MAX ||
	    b.cipherlen == 0 || len != PK_SBLOB_OVERHEAD + b.idlen +
	    b.cipherlen || b.id < p || b.id + b.idlen > p + len ||
	    b.cipher < p || b.cipher + b.cipherlen > p + len ||
	    b.sig + PK_SBLOB_SIG_LEN != p + len || b.epoch == 0 ||
	    b.k == 0 || b.k > b.n || b.index == 0 || b.index > b.n ||
	    (b.k == 1 && (b.n != 1 || b.index != 1)) ||
	    !pk_sblob_is(p, len))
		abort();
	if (pk_sblob_signer_keyid(&b, kid) != 0 || !pk_keyid_valid(kid))
		abort();
	r = pk_sblob_verify(&b, &cause);
	if ((r != 0) != (cause != NULL))
		abort();
	free(cause);
}

static void
fuzz_seal(const uint8_t *p, size_t len)
{
	static struct pk_identity *node;
	struct pk_sblob	 b;
	uint8_t		*out = NULL;
	size_t		 outlen = 0, at;
	char		*cause = NULL;
	int		 r;

	if (node == NULL && pk_identity_generate(&node) != 0)
		abort();
	r = pk_sblob_seal(node, BOOT, "luks-fuzz", 7, 1234, p, len, &out,
	    &outlen, &cause);
	if (r != 0) {
		if (cause == NULL || (len != 0 && len <= PK_BLOB_MAX -
		    PK_SBLOB_OVERHEAD - 9))
			abort();
		free(cause);
		return;
	}
	if (pk_sblob_decode(out, outlen, &b, NULL) != 0 ||
	    pk_sblob_verify(&b, NULL) != 0 || b.cipherlen != len ||
	    memcmp(b.cipher, p, len) != 0 || b.epoch != 7 ||
	    b.created != 1234 || !pk_sblob_for_boot_key(&b, BOOT))
		abort();
	/* One flipped byte anywhere but the signature's own: no longer. */
	at = (size_t)p[0] * 131 % (outlen - PK_SBLOB_SIG_LEN);
	out[at] ^= 0x01;
	if (pk_sblob_decode(out, outlen, &b, NULL) == 0 &&
	    pk_sblob_verify(&b, NULL) == 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pick(data, size, fuzz_decode, fuzz_seal);
}
