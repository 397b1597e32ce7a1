/*
 * invite.h: what "peerkey invite" and "peerkey join" exchange, read and
 * checked without side effects: the invitation code, and the inviter's
 * JOIN_REPLY (doc/protocol.md, "JOIN"). Both come from outside (a code
 * pasted by an operator, a reply from the network), so nothing here
 * trusts a field before it is checked; tests/unit/test-invite.c and
 * tests/fuzz/fuzz-invite.c feed them what an attacker could.
 */
#ifndef INVITE_H
#define INVITE_H

#include <stddef.h>

#include <jansson.h>

#include "key.h"
#include "proto.h"

#define INVITE_EXPIRES_MAX_MS	(7LL * 86400 * 1000)	/* invite --expires */
#define INVITE_ADDRS_MAX	512	/* bytes of the inviter's addresses */
#define INVITE_NAME_MAX		64	/* a peer's name (the daemon's rule) */
#define INVITE_NAME_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz0123456789._-"

/* A decoded invitation code. */
struct invite_code {
	char		 addresses[INVITE_ADDRS_MAX + 1];
	char		 node_keyid[PK_KEYID_HEXLEN + 1];
	unsigned char	 secret[PK_JOIN_SECRET_LEN];
	long long	 expires;	/* seconds since the epoch, 0 none */
};

/* base64url without padding of len bytes, malloc'ed; NULL: no memory. */
char		*invite_b64url_encode(const void *, size_t len);

/*
 * Decodes base64url (padding optional) into a buffer allocated with
 * gnutls_malloc (free it with gnutls_free, after pk_wipe if secret).
 * Returns NULL if s is not base64url.
 */
unsigned char	*invite_b64url_decode(const char *s, size_t *len);

/*
 * Decodes an invitation code (cmd-invite.c's file comment has the
 * format) into *ic. Returns 0, or -1 with *cause set (allocated).
 */
int		 invite_code_decode(const char *code, struct invite_code *ic,
		    char **cause);

/*
 * Reads the JOIN_REPLY document doc[0 .. len) and checks every identity
 * in it: "self" (the inviter) and each of "members". An identity must be
 * an object with an "identity": a signed identity document (ident.h)
 * that verifies; what it says is what counts, and the object's other
 * members are not read. The identity whose node key is self_keyid (this
 * machine) is left out.
 *
 * Returns an object {"inviter": NAME, "peers": [identity...], "bad":
 * [{"member": N, "name": NAME-or-null, "why": TEXT}...]} where "peers"
 * are the identities to add, inviter first, each with exactly the
 * members "name", "node_keyid", "boot_keyid", "addresses", "boot_pgp"
 * (from the signed document) and "identity", and "bad" the
 * members that were left out; or NULL with *cause set when the reply as
 * a whole is unusable (not JSON, not an object, a bad inviter, "members"
 * not an array): then nothing may be added.
 */
json_t		*invite_reply_check(const void *doc, size_t len,
		    const char *self_keyid, char **cause);

/*
 * Checks one identity object as invite_reply_check() does. Returns 0, or
 * -1 with *cause set.
 */
int		 invite_ident_check(json_t *id, char **cause);

#endif /* INVITE_H */
