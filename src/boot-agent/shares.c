/*
 * shares.c: threshold shares at boot (doc/protocol.md, section 12).
 *
 * A disk enrolled k of n has no whole blob: each guardian holds one share,
 * a signed blob "luks-UUID@EPOCH" whose k, n, index and epoch say which
 * split it belongs to. reply.c hands over every share it has verified as
 * it verifies a whole blob (signed by this machine's node key, for this
 * boot key, under the name it came by); here it is decrypted and added to
 * the share set of its blob id and epoch (share.h: which verifies it
 * again, and checks the record against its blob). One set per (blob id,
 * epoch): a boot during a re-split gathers both epochs' shares and
 * combines whichever set reaches k first. The combined key is checked
 * against the disk's header as a whole blob's passphrase is; a set whose
 * key opens nothing (a split whose keyslot is gone) is dropped, and its
 * later shares are ignored.
 *
 * Each share taken says how far the set is, naming the candidates that
 * have not given one ("2 of 3 shares of luks-UUID; waiting for h4, h7");
 * at the give-up deadline shares_summary() says what each set had.
 * Shares are decrypted into locked memory (decrypt.c) and kept there by
 * the share set until it is freed (shares_free, wiped).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "fetch-int.h"
#include "log.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "secret.h"
#include "share.h"

#define SHARES_SETS_MAX		8	/* (blob id, epoch) pairs at once */

struct shares_set {
	char			 id[PK_BLOB_ID_MAX + 1];
	uint64_t		 epoch;
	struct pk_share_set	*set;
	unsigned char		 gave[BOOT_CANDS_MAX];	/* by candidate */
	int			 dead;	/* combined, opens nothing */
};

struct shares {
	struct shares_set	 s[SHARES_SETS_MAX];
	int			 n;
};

struct shares *
shares_new(void)
{
	return calloc(1, sizeof(struct shares));
}

void
shares_free(struct shares *sh)
{
	int	i;

	if (sh == NULL)
		return;
	for (i = 0; i < sh->n; i++)
		pk_share_set_free(sh->s[i].set);
	free(sh);
}

/* The disk's part of a share's blob id: "luks-UUID" of "luks-UUID@E". */
static int
disk_part(const char *id)
{
	const char	*at = strrchr(id, '@');

	return at != NULL ? (int)(at - id) : (int)strlen(id);
}

/* The set of b's id and epoch, made if new; NULL when full (said). */
static struct shares_set *
set_of(struct fetch *f, struct conn *k, const struct pk_sblob *b)
{
	struct shares		*sh = f->shares;
	struct shares_set	*s;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < sh->n; i++) {
		s = &sh->s[i];
		if (s->epoch == b->epoch && strlen(s->id) == b->idlen &&
		    memcmp(s->id, b->id, b->idlen) == 0)
			return s;
	}
	if (sh->n == SHARES_SETS_MAX) {
		cand_say(k, "share of %.*s: already %d splits in hand; "
		    "ignored", (int)b->idlen, (const char *)b->id,
		    SHARES_SETS_MAX);
		return NULL;
	}
	s = &sh->s[sh->n];
	memset(s, 0, sizeof(*s));
	if (pk_share_set_new(f->o->conf->node_key, f->o->tls_id->keyid,
	    &s->set, &cause) != 0) {
		cand_say(k, "share set: %s", cause != NULL ? cause :
		    "out of memory");
		free(cause);
		return NULL;
	}
	memcpy(s->id, b->id, b->idlen);
	s->id[b->idlen] = '\0';
	s->epoch = b->epoch;
	sh->n++;
	return s;
}

/* Does set s hold share x already? */
static int
set_has(const struct shares_set *s, unsigned x)
{
	const uint8_t	*xs = pk_share_set_indices(s->set);
	unsigned	 i;

	for (i = 0; i < pk_share_set_count(s->set); i++)
		if (xs[i] == x)
			return 1;
	return 0;
}

/* "h4, h7": the candidates that gave s nothing yet, into buf. */
static void
waiting_for(struct fetch *f, const struct shares_set *s, char *buf,
    size_t len)
{
	size_t	 off = 0;
	int	 i, any = 0;

	buf[0] = '\0';
	for (i = 0; i < f->n && off < len; i++) {
		if (f->conns[i].dropped || s->gave[i])
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    any ? ", " : "", f->conns[i].c.name);
		any = 1;
	}
	if (!any)
		snprintf(buf, len, "no other candidate");
}

/* The combined key of s, tried against the disk; 0 and the fetch won. */
static int
set_open(struct fetch *f, struct conn *k, struct shares_set *s)
{
	uint8_t	*key = NULL;
	char	*pass, *cause = NULL;
	size_t	 len = 0;
	int	 r;

	if ((r = pk_share_set_combine(s->set, &key, &len, &cause)) != 0) {
		progress("%.*s: cannot combine its shares: %s",
		    disk_part(s->id), s->id, cause != NULL ? cause :
		    pk_strerror(r));
		free(cause);
		return -1;
	}
	/* A passphrase is NUL-terminated after its length (boot.h). */
	if ((pass = pk_secret_alloc(len + 1)) == NULL) {
		pk_secret_free(key);
		return -1;
	}
	memcpy(pass, key, len);
	pass[len] = '\0';
	pk_secret_free(key);
	if (f->o->disk != NULL && (r = disk_check(f->o->disk, pass, len)) !=
	    0) {
		progress("%u shares of %.*s (epoch %llu) do not open %s (%s); "
		    "ignoring that split", pk_share_set_count(s->set),
		    disk_part(s->id), s->id, (unsigned long long)s->epoch,
		    disk_path(f->o->disk), r == PK_ERR_KEY ?
		    "no keyslot takes them" : strerror(errno));
		pk_secret_free(pass);
		s->dead = 1;
		return -1;
	}
	f->res->pass = pass;
	f->res->passlen = len;
	snprintf(f->res->from, sizeof(f->res->from), "%u shares",
	    pk_share_set_count(s->set));
	f->won = 1;
	progress("%u of %u shares of %.*s: passphrase combined (last from "
	    "%s)", pk_share_set_count(s->set), pk_share_set_need(s->set),
	    disk_part(s->id), s->id, k->c.name);
	return 0;
}

/*
 * Takes share b (verified by reply.c; blob: all of it, as the candidate
 * sent it) from candidate k. Returns 0 (k shares: the fetch is won), 1
 * (taken or held already, more are needed), or -1 (ignored, said).
 */
int
shares_take(struct fetch *f, struct conn *k, const char *what,
    const struct pk_sblob *b, const uint8_t *blob, size_t bloblen)
{
	struct shares_set	*s;
	char			*plain = NULL, *cause = NULL, wait[256];
	size_t			 plainlen = 0;
	int			 r;

	if ((s = set_of(f, k, b)) == NULL)
		return -1;
	if (s->dead) {
		log_debug("%s: %s: its split opens nothing; ignored",
		    k->c.name, what);
		return -1;
	}
	s->gave[k - f->conns] = 1;
	if (set_has(s, b->index))
		return 1;
	if ((r = decrypt_blob(b->cipher, b->cipherlen, &plain, &plainlen,
	    &cause)) != 0) {
		cand_say(k, "%s does not decrypt: %s", what,
		    r == PK_ERR_PGP && cause != NULL ? cause : pk_strerror(r));
		free(cause);
		s->gave[k - f->conns] = 0;
		return -1;
	}
	r = pk_share_set_add(s->set, blob, bloblen, (const uint8_t *)plain,
	    plainlen, &cause);
	pk_secret_free(plain);
	if (r != 0) {
		cand_say(k, "%s: share %u refused: %s", what, b->index,
		    cause != NULL ? cause : pk_strerror(r));
		free(cause);
		s->gave[k - f->conns] = 0;
		return -1;
	}
	if (pk_share_set_count(s->set) >= pk_share_set_need(s->set))
		return set_open(f, k, s);
	waiting_for(f, s, wait, sizeof(wait));
	log_info("%s: share %u of %s (epoch %llu)", k->c.name, b->index,
	    s->id, (unsigned long long)s->epoch);
	progress("%u of %u shares of %.*s; waiting for %s",
	    pk_share_set_count(s->set), pk_share_set_need(s->set),
	    disk_part(s->id), s->id, wait);
	return 1;
}

/* At the give-up deadline: what every split in hand had. */
void
shares_summary(const struct shares *sh)
{
	const struct shares_set	*s;
	int			 i;

	for (i = 0; sh != NULL && i < sh->n; i++) {
		s = &sh->s[i];
		if (s->dead)
			continue;
		progress("%.*s: %u of %u shares (epoch %llu): %u are needed to "
		    "unlock", disk_part(s->id), s->id,
		    pk_share_set_count(s->set), pk_share_set_need(s->set),
		    (unsigned long long)s->epoch, pk_share_set_need(s->set));
	}
}
