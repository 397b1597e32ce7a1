/*
 * reply.c: what a candidate answered, judged.
 *
 * A native UNLOCK_REPLY carries the candidate's verdict (released,
 * refused with a reason, awaiting approval) and, when released, the
 * blobs it holds for this machine. They are tried in order of how much
 * they are wanted (blob_rank: the blob named on the command line, or the
 * one named after the disk's LUKS UUID, first); the first that is signed
 * by this machine's node key (blob_unwrap, before anything is decrypted;
 * a Mandos server's bare answer only from a [mandos] section), decrypts
 * with the boot key and, when the disk is known, opens a keyslot of its
 * header, wins the fetch. A Mandos server's answer is one blob with no
 * name. Anything else sends the candidate back to IDLE (conn_reset) with
 * one progress line saying why.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "fetch-int.h"
#include "log.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "secret.h"

/*
 * Finds what to decrypt in a blob (id: its name, or NULL from a Mandos
 * server): the ciphertext of a signed blob (sblob.h) whose signature this
 * machine's node key made (boot.conf's node-public-key), for this boot
 * key, under the name it came by, a whole blob (1 of 1); or, from a
 * [mandos] section only (Mandos cannot sign) or with accept-unsigned,
 * the bare OpenPGP message; a share (k >= 2) from a native peer only.
 * Returns 0 with *cipher and *sb (k = 0: unsigned), or -1 (said).
 */
static int
blob_unwrap(struct fetch *f, struct conn *k, const char *what,
    const struct pk_bytes *id, const uint8_t **cipher, size_t *len,
    struct pk_sblob *sb)
{
	const struct boot_conf	*c = f->o->conf;
	struct pk_sblob		 b;
	char			*cause = NULL, signer[PK_KEYID_HEXLEN + 1];

	if (!pk_sblob_is(*cipher, *len)) {
		if (c->accept_unsigned || (k->c.proto == CAND_MANDOS &&
		    k->c.source == CAND_STATIC))
			return 0;
		cand_say(k, "%s is not signed by this machine's node key; "
		    "ignored", what);
		return -1;
	}
	if (pk_sblob_decode(*cipher, *len, &b, &cause) != 0) {
		cand_say(k, "%s is not a valid signed blob (%s); ignored",
		    what, cause != NULL ? cause : "out of memory");
		free(cause);
		return -1;
	}
	if (!c->has_node_key) {
		cand_say(k, "%s is signed, but the boot configuration has no "
		    "node-public-key to check it against (peerkey "
		    "boot-config writes it); ignored", what);
		return -1;
	}
	if (memcmp(b.signer, c->node_key, sizeof(b.signer)) != 0) {
		if (pk_sblob_signer_keyid(&b, signer) != 0)
			snprintf(signer, sizeof(signer), "?");
		cand_say(k, "%s is not signed by this machine's node key "
		    "(signer key id %s); ignored", what, signer);
		return -1;
	}
	if (pk_sblob_verify(&b, &cause) != 0) {
		cand_say(k, "%s is not signed by this machine's node key "
		    "(%s); ignored", what, cause != NULL ? cause :
		    "out of memory");
		free(cause);
		return -1;
	}
	if (!pk_sblob_for_boot_key(&b, f->o->tls_id->keyid)) {
		cand_say(k, "%s is signed for another boot key; ignored", what);
		return -1;
	}
	if (id != NULL && (id->len != b.idlen ||
	    memcmp(id->p, b.id, b.idlen) != 0)) {
		cand_say(k, "%s is signed as blob %.*s; ignored", what,
		    (int)b.idlen, (const char *)b.id);
		return -1;
	}
	if (b.k != 1 && id == NULL) {
		cand_say(k, "%s is share %u of %u (threshold %u): a share is "
		    "taken from a native peer only, never from Mandos; ignored",
		    what, b.index, b.n, b.k);
		return -1;
	}
	*cipher = b.cipher;
	*len = b.cipherlen;
	*sb = b;
	return 0;
}

/*
 * Decrypts a blob (id: its name, or NULL from a Mandos server), signed
 * as blob_unwrap() wants it, and, when
 * the disk is known, tries the passphrase against its header; on success
 * the fetch is won. A share goes to its share set (shares.c) instead.
 * Returns 0 (won), 1 (a share taken, more needed), or -1 (said).
 */
int
try_blob(struct fetch *f, struct conn *k, const struct pk_bytes *id,
    const uint8_t *data, size_t len)
{
	struct pk_sblob	 b;
	const uint8_t	*whole = data;
	char		*pass = NULL, *cause = NULL, what[PK_BLOB_ID_MAX + 8];
	size_t		 passlen = 0, wholelen = len;
	int		 r;

	if (id != NULL)
		snprintf(what, sizeof(what), "blob %.*s", (int)id->len,
		    (const char *)id->p);
	else
		snprintf(what, sizeof(what), "its answer");
	memset(&b, 0, sizeof(b));
	if (blob_unwrap(f, k, what, id, &data, &len, &b) != 0)
		return -1;
	if (b.k > 1)
		return shares_take(f, k, what, &b, whole, wholelen);
	if ((r = decrypt_blob(data, len, &pass, &passlen, &cause)) != 0) {
		cand_say(k, "%s does not decrypt: %s", what,
		    r == PK_ERR_PGP && cause != NULL ? cause : pk_strerror(r));
		free(cause);
		return -1;
	}
	if (f->o->disk != NULL &&
	    (r = disk_check(f->o->disk, pass, passlen)) != 0) {
		cand_say(k, "%s does not open %s (%s); trying the next", what,
		    disk_path(f->o->disk), r == PK_ERR_KEY ?
		    "no keyslot takes it" : strerror(errno));
		pk_secret_free(pass);
		return -1;
	}
	f->res->pass = pass;
	f->res->passlen = passlen;
	snprintf(f->res->from, sizeof(f->res->from), "%s", k->c.name);
	f->won = 1;
	if (k->c.source == CAND_MDNS && k->c.proto == CAND_NATIVE)
		progress("%s: passphrase received (server key %s)", k->c.name,
		    k->seen_key);
	else
		progress("%s: passphrase received", k->c.name);
	return 0;
}

/*
 * How much blob b is wanted (fetch_opts): 2 first, 1 after, 0 not at
 * all.
 */
static int
blob_rank(const struct fetch_opts *o, const struct pk_blob *b)
{
	const char	*id = (const char *)b->id.p;

	if (o->want_blob != NULL)
		return b->id.len == strlen(o->want_blob) &&
		    memcmp(id, o->want_blob, b->id.len) == 0 ? 2 : 0;
	if (o->disk != NULL)
		return disk_blob_matches(disk_uuid(o->disk), id, b->id.len) ?
		    2 : 1;
	if (o->want_uuid != NULL)
		return disk_blob_matches(o->want_uuid, id, b->id.len) ? 2 : 0;
	return 2;
}

/* Handles a native UNLOCK_REPLY (or ERROR). */
void
handle_reply(struct fetch *f, struct conn *k, const struct pk_msg *m,
    uint64_t now)
{
	const struct fetch_opts	*o = f->o;
	char			 text[PK_TEXT_MAX + 1];
	int			 i, r, rank, tried = 0, pending = 0;
	int			 shares = 0;

	if (m->type == PK_MSG_ERROR) {
		snprintf(text, sizeof(text), "%.*s", (int)m->u.error.text.len,
		    m->u.error.text.p);
		cand_say(k, "error: %s%s%s", pk_errc_name(m->u.error.code),
		    text[0] != '\0' ? ": " : "", text);
		goto retry;
	}
	if (m->type != PK_MSG_UNLOCK_REPLY) {
		cand_say(k, "protocol error: unexpected %s",
		    pk_msg_type_name(m->type));
		goto retry;
	}
	if (m->u.unlock_reply.status == PK_UNLOCK_REFUSED) {
		snprintf(text, sizeof(text), "%.*s",
		    (int)m->u.unlock_reply.text.len, m->u.unlock_reply.text.p);
		if (m->u.unlock_reply.reason == PK_REFUSE_PENDING) {
			pending = 1;
			cand_say(k, "awaiting approval%s%s",
			    text[0] != '\0' ? ": " : "", text);
		} else {
			/* A server whose text only repeats the reason. */
			if (strcmp(text, pk_refusal_name(
			    m->u.unlock_reply.reason)) == 0)
				text[0] = '\0';
			cand_say(k, "refused: %s%s%s",
			    pk_refusal_name(m->u.unlock_reply.reason),
			    text[0] != '\0' ? ": " : "", text);
		}
		goto retry;
	}
	/* The wanted blobs first; the first that decrypts and fits wins. */
	for (rank = 2; rank > 0; rank--)
		for (i = 0; i < m->u.unlock_reply.nblobs; i++) {
			const struct pk_blob *b = &m->u.unlock_reply.blobs[i];

			if (blob_rank(o, b) != rank)
				continue;
			tried++;
			r = try_blob(f, k, &b->id, b->data.p, b->data.len);
			if (r == 0)
				return;
			shares += r > 0;
		}
	/* A share taken: shares_take() said how far its split is. */
	if (tried > 1 && shares == 0)
		cand_say(k, "none of its %d blobs%s%s opens", tried,
		    o->disk != NULL ? " for " : "", o->disk != NULL ?
		    disk_path(o->disk) : "");
	else if (tried == 0 && o->want_blob != NULL)
		cand_say(k, "has no blob named %s", o->want_blob);
	else if (tried == 0)
		cand_say(k, "has no blob for disk %s (luks-%s)", o->want_uuid,
		    o->want_uuid);
retry:
	conn_reset(k, now, pending);
}

