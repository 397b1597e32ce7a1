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
 *   guardians must all be reachable; a count is guardians.c's pick among
 *   the reachable peers, spread over a label (zone by default) so that
 *   no value holds K shares when the peers allow it, and a warning that
 *   says why when they do not. Too few: an error before anything
 *   changes.
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

#include "guardians.h"
#include "key.h"
#include "luks.h"
#include "peerkey.h"
#include "pgp.h"
#include "pk_err.h"
#include "sblob.h"
#include "secret.h"
#include "share.h"

/*
 * Picks the guardians among the n peers v (ok[i]: answered the
 * heartbeat) and moves them to v[0 .. N), in share order (ok[] moves with
 * them; ok[i] is 0 past N). named: v is exactly the peers named, every
 * one must be reachable, in v's order; else count of them (0: every peer
 * that can guard) by guardians_pick(), spread over label spread, or as
 * many as can, down to atleast, when atleast is not 0 (said). Says
 * when the spread policy cannot hold (guardians.h). Returns N (at least
 * k), or 0 after a message.
 */
size_t
luks_pick_guardians(const char *device, struct cli_peer *v, int *ok,
    size_t n, int named, unsigned count, unsigned atleast, unsigned k,
    const char *spread)
{
	struct guardian_cand	*c = NULL;
	struct cli_peer		*nv = NULL;
	size_t			*pick = NULL, i, j, want = 0, can = 0;
	int			*nok = NULL;
	char			*why = NULL, *cause = NULL;

	if (spread == NULL)
		spread = GUARDIANS_KEY_DEFAULT;
	if ((c = calloc(n + 1, sizeof(*c))) == NULL ||
	    (pick = calloc(n + 1, sizeof(*pick))) == NULL ||
	    (nv = calloc(n + 1, sizeof(*nv))) == NULL ||
	    (nok = calloc(n + 1, sizeof(*nok))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		c[i].name = v[i].name;
		c[i].usable = ok[i] && v[i].usable;
		c[i].has_node_key = v[i].node_keyid[0] != '\0';
		c[i].labels = v[i].labels != NULL ? v[i].labels : "";
		can += c[i].usable && c[i].has_node_key;
	}
	if (named) {
		for (i = 0; i < n; i++)
			if (!c[i].usable) {
				fprintf(stderr, "peerkey: %s: guardian %s is "
				    "%s; nothing changed\n", device, v[i].name,
				    ok[i] ? "pending or disabled by an operator" :
				    "not reachable");
				goto out;
			}
		for (i = 0; i < n; i++)
			pick[i] = i;
		want = n;
		why = guardians_spread(c, pick, n, k, spread);
	} else {
		want = count == 0 ? can : count;
		if (want < k)
			want = k;
		if (atleast != 0 && can < want && can >= atleast && can >= k) {
			fprintf(stderr, "peerkey: %s: %zu of the %zu guardians "
			    "asked for can guard now: a %u-of-%zu split "
			    "(\"peerkey reshare\" adds guardians up to %zu as "
			    "peers come)\n", device, can, want, k, can, want);
			want = can;
		}
		if (can < want || want > GUARDIANS_MAX) {
			fprintf(stderr, "peerkey: %s: a %u-of-%zu split needs "
			    "%zu reachable guardians; %zu %s (\"peerkey "
			    "status\"); nothing changed\n", device, k, want,
			    want, can, can == 1 ? "is" : "are");
			want = 0;
			goto out;
		}
		if (guardians_pick(c, n, k, (unsigned)want, spread, pick, &why,
		    &cause) != 0) {
			fprintf(stderr, "peerkey: %s: a %u-of-%zu split: %s "
			    "(\"peerkey status\"); nothing changed\n", device,
			    k, want, cause != NULL ? cause : "out of memory");
			want = 0;
			goto out;
		}
	}
	/* The picks first, in share order, then the rest as they were. */
	for (i = 0; i < want; i++) {
		nv[i] = v[pick[i]];
		nok[i] = 1;
	}
	for (i = 0, j = want; i < n; i++) {
		size_t	 p;

		for (p = 0; p < want && pick[p] != i; p++)
			;
		if (p == want) {
			nv[j] = v[i];
			nok[j++] = 0;
		}
	}
	memcpy(v, nv, n * sizeof(*v));
	memcpy(ok, nok, n * sizeof(*ok));
	if (why != NULL)
		fprintf(stderr, "peerkey: %s: warning: the shares are not "
		    "spread as the policy asks (no %s may hold %u): %s\n",
		    device, spread, k, why);
out:
	free(why);
	free(cause);
	free(c);
	free(pick);
	free(nv);
	free(nok);
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

/* Is name one of split t's guardians? */
int
tok_guards(const struct luks_tok *t, const char *name)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(json_object_get(t->j, "guardians"), i, x)
		if (json_is_string(json_object_get(x, "name")) &&
		    strcmp(json_string_value(json_object_get(x, "name")),
		    name) == 0)
			return 1;
	return 0;
}

/* Does t's "held-by" hold enough shares (or a whole blob) to open? */
int
tok_opens(const struct luks_tok *t)
{
	return json_array_size(json_object_get(t->j, "held-by")) >=
	    tok_threshold(t);
}
