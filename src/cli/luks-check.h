/*
 * luks-check.h: the JSON of peerkey's LUKS2 token (doc/peerkey.8, "LUKS2
 * TOKEN"), checked before luks-token.c hands it to luks.c, and the name
 * lists it keeps. Pure JSON: no device, no libcryptsetup.
 * The header is outside the encryption: anyone holding the disk may have
 * written the token, so nothing in it is trusted before
 * luks_token_check() (tests/unit/test-luks-check.c and
 * tests/fuzz/fuzz-luks-token.c feed it what such a person could).
 */
#ifndef LUKS_CHECK_H
#define LUKS_CHECK_H

#include <jansson.h>

#define LUKS_CHECK_SLOTS	32	/* keyslots of LUKS2 (crypt_keyslot_max) */
#define LUKS_CHECK_NAME_MAX	64	/* a peer's name */
#define LUKS_CHECK_SHARES	255	/* guardians of a split (share.h) */

/*
 * Checks a peerkey token: an object whose "state" is one of adding,
 * depositing, enrolled, removing, and whose "blob-id" is a non-empty
 * string of at most PK_BLOB_ID_MAX bytes; "keyslot" (an integer 0-31),
 * "generation" (an integer), "peers" and "held-by" (arrays of peer
 * names: strings of 1-64 bytes) are checked when present, and so is a
 * split: "threshold" 1-255; with 2 or more, "guardians" (that many to
 * 255 objects, a distinct peer "name" and "share" 1-their number each),
 * "epoch" equal to "generation", "blob-id" ending in "@EPOCH"; with 1,
 * neither "guardians" nor "epoch". "maintenance-keyslot" (0-31, not
 * "keyslot") and a split's "guardians-wanted" (0-255) when present.
 * Returns 0, or
 * -1 with *cause set (allocated) naming the member at fault.
 */
int	luks_token_check(json_t *tok, char **cause);

/* Is name in the array of names a (luks_token_check()ed)? */
int	luks_names_has(json_t *a, const char *name);

/* Adds the names of array a to array v, leaving out those v has. */
void	luks_names_add(json_t *v, json_t *a);

/* Removes name from array a (its first occurrence). */
void	luks_names_del(json_t *a, const char *name);

#endif /* LUKS_CHECK_H */
