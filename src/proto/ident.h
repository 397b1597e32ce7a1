/*
 * ident.h: signed identity documents (doc/protocol.md, "Signed
 * identity").
 *
 * A machine's identity -- its name, node key, boot TLS key id, boot
 * OpenPGP public key, addresses and a sequence number -- is a binary
 * document signed by its node key (Ed25519). The document carries the
 * node public key itself, so whoever receives it can check the
 * signature without knowing anything else, and nobody can bind a node
 * key to a boot key that the node key did not sign. Of two documents of
 * one node key, the higher sequence number is the newer.
 *
 * In JSON (JOIN, JOIN_REPLY, INTRODUCE, UPDATE's reply, the control
 * socket) a document travels as the standard base64 of its bytes, the
 * member "identity" of an identity object.
 */
#ifndef PK_IDENT_H
#define PK_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define PK_IDENT_MAGIC		"PKID"
#define PK_IDENT_VERSION	1
#define PK_IDENT_NAME_MAX	64	/* bytes of [A-Za-z0-9._-] */
#define PK_IDENT_ADDRS_MAX	512	/* bytes of the address list */
#define PK_IDENT_PGP_MAX	24576	/* bytes of the armored boot key */
#define PK_IDENT_KEY_LEN	32	/* raw Ed25519 public key */
#define PK_IDENT_SIG_LEN	64	/* Ed25519 signature */
/* The largest document: every field at its maximum. */
#define PK_IDENT_MAX		(4 + 1 + 8 + 2 + PK_IDENT_NAME_MAX + \
				PK_IDENT_KEY_LEN + 32 + 2 + \
				PK_IDENT_ADDRS_MAX + 4 + PK_IDENT_PGP_MAX + \
				PK_IDENT_SIG_LEN)

/* An identity, decoded (and verified) or to be signed. */
struct pk_ident {
	uint64_t	 seq;			/* >= 1 */
	char		 name[PK_IDENT_NAME_MAX + 1];
	char		 node_keyid[PK_KEYID_HEXLEN + 1]; /* of the signer */
	char		 boot_keyid[PK_KEYID_HEXLEN + 1];
	char		 addresses[PK_IDENT_ADDRS_MAX + 1];
	char		*boot_pgp;		/* NUL-terminated, "" if none */
};

/*
 * Encodes id signed with node (an Ed25519 node key) into *out (malloc'ed,
 * *outlen bytes) and sets id->node_keyid to node's key id. The fields
 * are checked as pk_ident_decode() checks them. Returns 0,
 * PK_ERR_INVALID_ARG (a field out of its rules; *cause says which),
 * PK_ERR_KEY (not an Ed25519 key, or signing failed), PK_ERR_ALLOC.
 */
int	pk_ident_sign(const struct pk_identity *node, struct pk_ident *id,
	    uint8_t **out, size_t *outlen, char **cause);

/*
 * Decodes doc exactly and verifies its signature by the node key it
 * carries; fills *id (id->boot_pgp allocated: pk_ident_clear()).
 * Returns 0, PK_ERR_TRUNCATED, PK_ERR_TRAILING, PK_ERR_TOO_LARGE,
 * PK_ERR_BAD_FORMAT, PK_ERR_BAD_VERSION, PK_ERR_KEY (the signature does
 * not verify), PK_ERR_ALLOC; on failure *id is cleared and *cause set.
 */
int	pk_ident_decode(const uint8_t *doc, size_t len, struct pk_ident *id,
	    char **cause);

/*
 * The same for the base64 text b64 (JSON's "identity"); the document's
 * bytes are also returned in *raw (malloc'ed, *rawlen) when raw is not
 * NULL. Returns what pk_ident_decode() returns, or PK_ERR_BAD_FORMAT
 * for text that is not base64 of at most PK_IDENT_MAX bytes.
 */
int	pk_ident_decode_b64(const char *b64, struct pk_ident *id,
	    uint8_t **raw, size_t *rawlen, char **cause);

/* Returns doc as standard base64 (malloc'ed), or NULL. */
char	*pk_ident_b64(const uint8_t *doc, size_t len);

/* Frees what a decoded identity holds; the struct itself stays. */
void	pk_ident_clear(struct pk_ident *id);

#endif /* PK_IDENT_H */
