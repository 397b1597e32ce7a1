/*
 * sblob.h: signed blobs (doc/protocol.md, section 11).
 *
 * What a machine deposits with its peers is a signed blob: the OpenPGP
 * message (its disk key encrypted to its boot OpenPGP key) wrapped with
 * who signed it (the machine's node public key), whose boot key it is
 * for, its name, an epoch and share fields (threshold mode: k of n,
 * this share's index), the time it was made, and an Ed25519 signature by
 * the node key over a context string and all of it. The boot agent,
 * whose boot configuration holds its node's public key, decrypts only a
 * blob whose signature that key made; a holder takes a DEPOSIT only if
 * it is signed by the depositing node key. A Mandos server's answer is
 * a bare OpenPGP message (Mandos cannot sign), told apart by its first
 * byte: no OpenPGP message begins with the magic's 'P' (0x50).
 */
#ifndef PK_SBLOB_H
#define PK_SBLOB_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define PK_SBLOB_MAGIC		"PKSB"
#define PK_SBLOB_VERSION	1
#define PK_SBLOB_KEY_LEN	32	/* raw Ed25519 public key */
#define PK_SBLOB_ID_LEN		32	/* a key id, as bytes */
#define PK_SBLOB_SIG_LEN	64	/* Ed25519 signature */
/* Signed, never sent: the domain of the signature. */
#define PK_SBLOB_CONTEXT	"peerkey signed blob 1"
/* Every byte of a signed blob but its id's and its ciphertext's. */
#define PK_SBLOB_OVERHEAD	(4 + 1 + PK_SBLOB_KEY_LEN + PK_SBLOB_ID_LEN + \
				8 + 8 + 3 + 2 + 4 + PK_SBLOB_SIG_LEN)

/* A signed blob, decoded: id, cipher and sig point into the input. */
struct pk_sblob {
	uint8_t		 signer[PK_SBLOB_KEY_LEN];
	uint8_t		 boot_key[PK_SBLOB_ID_LEN];
	uint64_t	 epoch;		/* >= 1 */
	uint64_t	 created;	/* seconds since 1970, UTC */
	uint8_t		 k, n, index;	/* 1 of 1: a whole blob */
	const uint8_t	*id;
	size_t		 idlen;		/* 1 .. PK_BLOB_ID_MAX */
	const uint8_t	*cipher;
	size_t		 cipherlen;	/* >= 1 */
	const uint8_t	*sig;
	const uint8_t	*body;		/* the bytes the signature covers */
	size_t		 bodylen;	/* (after the context string) */
};

/* Does data begin with the magic (then it is a signed blob or nothing)? */
int	pk_sblob_is(const void *data, size_t len);

/*
 * Wraps cipher as blob id for the boot key boot_keyid (hex), epoch,
 * created, 1 of 1, signed by node (a software Ed25519 key), into *out
 * (malloc'ed, *outlen bytes, at most PK_BLOB_MAX). Returns 0,
 * PK_ERR_INVALID_ARG, PK_ERR_TOO_LARGE (cipher too long for one blob),
 * PK_ERR_KEY (not an Ed25519 key, signing failed) or PK_ERR_ALLOC, with
 * *cause.
 */
int	pk_sblob_seal(const struct pk_identity *node, const char *boot_keyid,
	    const char *id, uint64_t epoch, uint64_t created,
	    const void *cipher, size_t cipherlen, uint8_t **out,
	    size_t *outlen, char **cause);

/*
 * The same for share index of a k-of-n split (share.h): k 1 .. 255, n
 * k .. 255, index 1 .. n; k = 1 is a whole blob (n = index = 1).
 */
int	pk_sblob_seal_share(const struct pk_identity *node,
	    const char *boot_keyid, const char *id, uint64_t epoch,
	    uint64_t created, unsigned k, unsigned n, unsigned index,
	    const void *cipher, size_t cipherlen, uint8_t **out,
	    size_t *outlen, char **cause);

/*
 * Decodes data exactly into *b (no signature check yet). Returns 0,
 * PK_ERR_BAD_FORMAT (no magic, a field out of its rules),
 * PK_ERR_BAD_VERSION, PK_ERR_TRUNCATED, PK_ERR_TRAILING or
 * PK_ERR_TOO_LARGE, with *cause.
 */
int	pk_sblob_decode(const uint8_t *data, size_t len, struct pk_sblob *b,
	    char **cause);

/*
 * Verifies b's signature by its signer. Returns 0, PK_ERR_KEY (it does
 * not verify) or PK_ERR_ALLOC, with *cause.
 */
int	pk_sblob_verify(const struct pk_sblob *b, char **cause);

/* The key id (hex, 65 bytes) of b's signer. Returns 0 or PK_ERR_KEY. */
int	pk_sblob_signer_keyid(const struct pk_sblob *b, char *out);

/* Does b's boot key equal the key id keyid (hex)? 1 or 0. */
int	pk_sblob_for_boot_key(const struct pk_sblob *b, const char *keyid);

/*
 * Verifies the Ed25519 signature sig (64 bytes) over data[0 .. len) by the
 * raw public key key (32 bytes): signed blobs and signed identities
 * (ident.c) alike. Returns 0, PK_ERR_KEY (does not verify) or
 * PK_ERR_ALLOC.
 */
int	pk_ed25519_verify(const uint8_t *key, const uint8_t *data, size_t len,
	    const uint8_t *sig);

/* An identity's raw Ed25519 public key. Returns 0 or PK_ERR_KEY. */
int	pk_ed25519_raw(const struct pk_identity *id,
	    uint8_t out[PK_SBLOB_KEY_LEN]);

/* Big-endian: reads n (1 .. 8) bytes at p; writes v in n bytes at p,
 * returning p + n. */
uint64_t pk_be_get(const uint8_t *p, size_t n);
uint8_t	*pk_be_put(uint8_t *p, uint64_t v, size_t n);

/* Parses 64 hex digits (either case) into 32 bytes; 0 or PK_ERR_BAD_FORMAT. */
int	pk_hex32(const char *hex, uint8_t out[32]);

#endif /* PK_SBLOB_H */
