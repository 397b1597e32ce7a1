/*
 * share.h: threshold k-of-n shares of a disk key (doc/protocol.md,
 * section 12).
 *
 * The random key that enroll adds to the keyslot is split with Shamir's
 * scheme over GF(256) by Debian's libgfshare: share x (1 .. n) is the
 * value at x of a random polynomial of degree k - 1 whose value at 0 is
 * the secret, byte by byte; any k shares give the secret back, k - 1
 * give nothing about it. Each share travels as a share record (below)
 * inside the OpenPGP message of its own signed blob (sblob.h), whose k,
 * n, index, epoch and id fields say which split it belongs to: signed
 * by the machine's node key, encrypted to its boot OpenPGP key.
 *
 * A share set gathers, for one disk (blob id) and one epoch, the shares
 * a boot agent has verified; it refuses a share of another disk, epoch,
 * signer, boot key or split (k, n, length), a second share of an index,
 * and combines only when it holds k. Shares and secrets live in locked
 * memory (secret.h) and are wiped when freed.
 */
#ifndef PK_SHARE_H
#define PK_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "sblob.h"

#define PK_SHARE_MAGIC		"PKSH"
#define PK_SHARE_VERSION	1
#define PK_SHARE_N_MAX		255	/* shares of one split (x is a byte) */
#define PK_SHARE_SECRET_MAX	512	/* bytes of the secret split */
#define PK_SHARE_HDR_LEN	(4 + 1 + 3 + 8 + 2)	/* record, before the share */

/*
 * Splits len bytes (1 .. PK_SHARE_SECRET_MAX) of secret into n shares
 * (1 .. 255) of which any k (1 .. n) recombine: share x (1 .. n) is
 * written to out + (x - 1) * len, n * len bytes the caller holds (locked
 * memory: pk_secret_alloc). k = 1 makes n copies of the secret. Returns
 * 0, PK_ERR_INVALID_ARG, PK_ERR_ALLOC or PK_ERR_INTERNAL (no randomness),
 * with *cause.
 */
int	pk_share_split(const uint8_t *secret, size_t len, unsigned k,
	    unsigned n, uint8_t *out, char **cause);

/* A share record, decoded: share points into the input. */
struct pk_share_rec {
	uint8_t		 k, n, x;
	uint64_t	 epoch;
	const uint8_t	*share;
	size_t		 len;
};

/*
 * Writes the share record of share x (len bytes) of a k-of-n split
 * (k >= 2) under epoch into *out (locked memory, pk_secret_free), of
 * *outlen = PK_SHARE_HDR_LEN + len bytes. Returns 0, PK_ERR_INVALID_ARG
 * or PK_ERR_ALLOC, with *cause.
 */
int	pk_share_encode(unsigned k, unsigned n, unsigned x, uint64_t epoch,
	    const uint8_t *share, size_t len, uint8_t **out, size_t *outlen,
	    char **cause);

/*
 * Decodes a share record exactly. Returns 0, PK_ERR_BAD_FORMAT,
 * PK_ERR_BAD_VERSION, PK_ERR_TOO_LARGE, PK_ERR_TRUNCATED or
 * PK_ERR_TRAILING, with *cause.
 */
int	pk_share_decode(const uint8_t *data, size_t len,
	    struct pk_share_rec *r, char **cause);

struct pk_share_set;

/*
 * A new, empty share set for shares signed by the node key node_key (raw
 * Ed25519) for the boot key boot_keyid (hex). Returns 0, PK_ERR_INVALID_ARG
 * or PK_ERR_ALLOC.
 */
int	pk_share_set_new(const uint8_t node_key[PK_SBLOB_KEY_LEN],
	    const char *boot_keyid, struct pk_share_set **set, char **cause);

/*
 * Adds a share: blob is its signed blob as a holder released it, plain
 * the share record its ciphertext decrypted to. The blob must decode,
 * be signed by the set's node key (verified here) for its boot key, be a
 * share (k >= 2), and agree with the record (k, n, index, epoch); the
 * first share fixes the set's id, epoch, k, n and length, and every
 * later one must have the same. Returns 0 (added), PK_ERR_KEY (not
 * signed by the node key, not for this boot key), PK_ERR_BAD_FORMAT (a
 * whole blob, a record that disagrees with its blob, or a bad blob or
 * record), PK_ERR_INVALID_ARG (another disk, epoch or split than the
 * set's),
 * PK_ERR_EXISTS (this index already, or k shares already) or
 * PK_ERR_ALLOC, with *cause; a refused share changes nothing.
 */
int	pk_share_set_add(struct pk_share_set *set, const uint8_t *blob,
	    size_t bloblen, const uint8_t *plain, size_t plainlen,
	    char **cause);

/* How many shares the set holds, and how many it needs (0: none yet). */
unsigned pk_share_set_count(const struct pk_share_set *set);
unsigned pk_share_set_need(const struct pk_share_set *set);
/* The set's epoch (0 while empty) and its indices, x[0 .. count - 1]. */
uint64_t pk_share_set_epoch(const struct pk_share_set *set);
const uint8_t *pk_share_set_indices(const struct pk_share_set *set);

/*
 * Combines the set's k shares into *secret (locked memory,
 * pk_secret_free) of *len bytes. Returns 0, PK_ERR_AGAIN (fewer than k
 * shares) or PK_ERR_ALLOC, with *cause.
 */
int	pk_share_set_combine(const struct pk_share_set *set,
	    uint8_t **secret, size_t *len, char **cause);

/* Wipes and frees a set (NULL is fine). */
void	pk_share_set_free(struct pk_share_set *set);

#endif /* PK_SHARE_H */
