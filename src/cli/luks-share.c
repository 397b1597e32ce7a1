/*
 * luks-share.c: threshold enrollments (peerkey enroll/rotate --threshold
 * K): which peers guard the disk, and the signed share blobs made for
 * them (doc/protocol.md, section 12).
 *
 * Rules:
 * - K = 1 is today's whole blob "luks-UUID" at every chosen peer; none of
 *   this file is used then.
 * - K >= 2: the disk's key (the 64 hex digits of luks.c) is split with
 *   pk_share_split into N shares, share x for the x-th guardian; each
 *   share record is encrypted to the boot OpenPGP key and sealed in a
 *   signed blob (k, n, x, epoch) by the node key. Every share of epoch E
 *   is deposited as blob "luks-UUID@E": a new epoch never overwrites an
 *   older epoch's share at a guardian, so a boot during a re-split finds
 *   whole sets of either epoch, and the agent still finds a disk's shares
 *   from the disk's UUID alone.
 * - The pick of guardians is one function (luks_pick_guardians): named
 *   guardians must all be reachable; a count takes the first reachable
 *   peers by name. Too few: an error before anything changes.
 * - The shares, the split and the records live in locked memory
 *   (secret.h) and are wiped; only the sealed (encrypted) blobs are
 *   ordinary memory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "key.h"
#include "luks.h"
#include "peerkey.h"
#include "pgp.h"
#include "pk_err.h"
#include "sblob.h"
#include "secret.h"
#include "share.h"

/* Swaps two peers of a list (their strings move with them). */
static void
peer_swap(struct cli_peer *a, struct cli_peer *b, int *oka, int *okb)
{
	struct cli_peer	t = *a;
	int		o = *oka;

	*a = *b;
	*b = t;
	*oka = *okb;
	*okb = o;
}

/* Orders peers by name (a stable, deterministic pick). */
static void
peer_sort(struct cli_peer *v, int *ok, size_t n)
{
	size_t	i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1].name, v[j].name) > 0; j--)
			peer_swap(&v[j - 1], &v[j], &ok[j - 1], &ok[j]);
}

/*
 * Picks the guardians among the n peers v (ok[i]: answered the
 * heartbeat) and moves them to v[0 .. N), in share order. names: the
 * list was given (v is exactly the peers named: every one must be
 * reachable); else count of them, the first reachable by name (0: every
 * reachable peer). Returns N (at least k), or 0 after a message.
 */
size_t
luks_pick_guardians(const char *device, struct cli_peer *v, int *ok,
    size_t n, int named, unsigned count, unsigned k)
{
	size_t	i, got = 0, want;

	if (!named)
		peer_sort(v, ok, n);
	for (i = 0; i < n; i++) {
		if (!ok[i]) {
			if (named) {
				fprintf(stderr, "peerkey: %s: guardian %s is "
				    "not reachable; nothing changed\n", device,
				    v[i].name);
				return 0;
			}
			continue;
		}
		peer_swap(&v[got], &v[i], &ok[got], &ok[i]);
		got++;
	}
	want = named || count == 0 ? got : count;
	if (want < k)
		want = k;
	if (got < want || want > PK_SHARE_N_MAX) {
		fprintf(stderr, "peerkey: %s: a %u-of-%zu split needs %zu "
		    "reachable guardians; %zu %s (\"peerkey status\"); "
		    "nothing changed\n", device, k, want, want, got,
		    got == 1 ? "is" : "are");
		return 0;
	}
	for (i = want; i < n; i++)
		ok[i] = 0;
	return want;
}

/*
 * Splits key (LUKS_KEY_LEN bytes) k of n under epoch, and seals share x
 * (1 .. n) for blob id blob into sealed[x - 1] (malloc'ed,
 * sealedlen[x - 1] bytes). Returns 0, or an exit code after a message
 * (nothing left allocated).
 */
int
luks_seal_shares(struct luks *l, const char *bootid, const char *blob,
    uint64_t epoch, unsigned k, unsigned n, const char *key,
    const char *pub, size_t publen, uint8_t **sealed, size_t *sealedlen)
{
	uint8_t		*split = NULL, *rec = NULL;
	void		*cipher = NULL;
	size_t		 reclen, cipherlen;
	unsigned	 x;
	char		*cause = NULL;
	int		 r, ex = EXIT_LOCAL;

	for (x = 0; x < n; x++)
		sealed[x] = NULL;
	if ((split = pk_secret_alloc((size_t)n * LUKS_KEY_LEN)) == NULL)
		return EXIT_FAIL;
	if ((r = pk_share_split((const uint8_t *)key, LUKS_KEY_LEN, k, n,
	    split, &cause)) != 0)
		goto fail;
	for (x = 1; x <= n; x++) {
		if ((r = pk_share_encode(k, n, x, epoch, split + (size_t)(x -
		    1) * LUKS_KEY_LEN, LUKS_KEY_LEN, &rec, &reclen,
		    &cause)) != 0)
			goto fail;
		r = pk_pgp_encrypt(local_dir(), pub, publen, rec, reclen,
		    &cipher, &cipherlen, &cause);
		pk_secret_free(rec);
		rec = NULL;
		if (r != 0)
			goto fail;
		r = pk_sblob_seal_share(l->id, bootid, blob, epoch,
		    (uint64_t)time(NULL), k, n, x, cipher, cipherlen,
		    &sealed[x - 1], &sealedlen[x - 1], &cause);
		free(cipher);
		cipher = NULL;
		if (r != 0)
			goto fail;
	}
	pk_secret_free(split);
	return 0;
fail:
	fprintf(stderr, "peerkey: %s: cannot make the shares: %s (%s)\n",
	    l->device, pk_strerror(r), cause != NULL ? cause : "");
	free(cause);
	pk_secret_free(split);
	for (x = 0; x < n; x++) {
		free(sealed[x]);
		sealed[x] = NULL;
	}
	return ex;
}

/* The token's "guardians": [{"name": v[i].name, "share": i + 1}, ...]. */
json_t *
luks_guardians_json(const struct cli_peer *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:I}", "name",
		    v[i].name, "share", (json_int_t)(i + 1)));
	return a;
}

/* A token's threshold (1: whole blobs, also when absent). */
unsigned
tok_threshold(const struct luks_tok *t)
{
	json_t	*v = json_object_get(t->j, "threshold");

	return json_is_integer(v) && json_integer_value(v) >= 1 ?
	    (unsigned)json_integer_value(v) : 1;
}

/* Does t's "held-by" hold enough shares (or a whole blob) to open? */
int
tok_opens(const struct luks_tok *t)
{
	return json_array_size(json_object_get(t->j, "held-by")) >=
	    tok_threshold(t);
}
