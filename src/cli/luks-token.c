/*
 * luks-token.c: a LUKS2 device as peerkey's journal keeps it — the
 * device opened with libcryptsetup, its peerkey tokens (type "peerkey",
 * see luks.c for their states and peerkey(8) for their fields) read,
 * written and removed, its keyslots counted and added (with a new
 * random key: see luks.c for why it is hex). Every token is checked as it
 * is read (luks-check.c, which also keeps its name lists): the header is
 * outside the encryption, and anyone holding the disk may have written
 * it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <jansson.h>
#include <libcryptsetup.h>

#include "key.h"
#include "luks-check.h"
#include "luks.h"
#include "msg.h"
#include "peerkey.h"
#include "pk_err.h"

/* A token's state ("" if none). */
const char *
tok_state(const struct luks_tok *t)
{
	const char	*s = json_string_value(json_object_get(t->j, "state"));

	return s != NULL ? s : "";
}

/* A token's keyslot (-1 if none). */
int
tok_slot(const struct luks_tok *t)
{
	json_t	*v = json_object_get(t->j, "keyslot");

	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

long long
tok_gen(const struct luks_tok *t)
{
	return json_integer_value(json_object_get(t->j, "generation"));
}

const char *
tok_blob(const struct luks_tok *t)
{
	const char *s = json_string_value(json_object_get(t->j, "blob-id"));

	return s != NULL ? s : "";
}

/* Writes t (a new token when t->id is -1). Returns 0 or -1 (said). */
int
tok_save(struct luks *l, struct luks_tok *t)
{
	char	*s;
	int	 r;

	json_object_set_new(t->j, "updated", json_integer((json_int_t)
	    time(NULL)));
	if ((s = json_dumps(t->j, JSON_COMPACT)) == NULL)
		return -1;
	r = crypt_token_json_set(l->cd, t->id < 0 ? CRYPT_ANY_TOKEN : t->id,
	    s);
	free(s);
	if (r < 0) {
		fprintf(stderr, "peerkey: %s: cannot write the LUKS2 token: "
		    "%s\n", l->device, strerror(-r));
		return -1;
	}
	t->id = r;
	return 0;
}

/* Removes token t from the header and from l. */
int
tok_remove(struct luks *l, struct luks_tok *t)
{
	int	r, i;

	if (t->id >= 0 && (r = crypt_token_json_set(l->cd, t->id, NULL)) < 0) {
		fprintf(stderr, "peerkey: %s: cannot remove LUKS2 token %d: "
		    "%s\n", l->device, t->id, strerror(-r));
		return -1;
	}
	json_decref(t->j);
	i = (int)(t - l->toks);
	memmove(&l->toks[i], &l->toks[i + 1], (size_t)(l->ntoks - i - 1) *
	    sizeof(*t));
	l->ntoks--;
	return 0;
}

/* Number of active keyslots other than except. */
int
luks_other_slots(struct luks *l, int except)
{
	int	i, n = 0, max = crypt_keyslot_max(CRYPT_LUKS2);
	crypt_keyslot_info ki;

	for (i = 0; i < max; i++) {
		if (i == except)
			continue;
		ki = crypt_keyslot_status(l->cd, i);
		if (ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST)
			n++;
	}
	return n;
}

int
luks_slot_active(struct luks *l, int slot)
{
	crypt_keyslot_info ki;

	if (slot < 0)
		return 0;
	ki = crypt_keyslot_status(l->cd, slot);
	return ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST;
}

/* Opens device as LUKS2 and reads its peerkey tokens, each checked
 * (luks-check.c): a damaged one stops the command before any change. */
int
luks_open(struct luks *l, const char *device)
{
	json_error_t	 jerr;
	const char	*type, *js, *u;
	struct stat	 st;
	const char	*why = NULL;
	char		*cause = NULL;
	int		 i, r, max = crypt_token_max(CRYPT_LUKS2);

	memset(l, 0, sizeof(*l));
	l->device = device;
	/* What is wrong with the path, before libcryptsetup guesses. */
	if (stat(device, &st) == -1)
		why = errno == ENOENT ? "no such device or file" :
		    errno == EACCES ? "permission denied (run as root)" :
		    strerror(errno);
	else if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		why = "not a block device or a file";
	if (why != NULL) {
		fprintf(stderr, "peerkey: %s: %s (give the LUKS2 partition, "
		    "such as /dev/sda3, or an image file: \"lsblk -f\" lists "
		    "them as crypto_LUKS)\n", device, why);
		return EXIT_LOCAL;
	}
	if ((r = crypt_init(&l->cd, device)) < 0) {
		fprintf(stderr, "peerkey: %s: %s (is the device or image "
		    "path right?)\n", device, strerror(-r));
		return EXIT_LOCAL;
	}
	if ((r = crypt_load(l->cd, CRYPT_LUKS2, NULL)) < 0) {
		fprintf(stderr, "peerkey: %s: not a LUKS2 volume (%s)%s\n",
		    device, strerror(-r), crypt_load(l->cd, CRYPT_LUKS1,
		    NULL) == 0 ? "; it is LUKS1: \"cryptsetup convert "
		    "--type luks2\" it first" : "");
		crypt_free(l->cd);
		l->cd = NULL;
		return EXIT_LOCAL;
	}
	u = crypt_get_uuid(l->cd);
	snprintf(l->uuid, sizeof(l->uuid), "%s", u != NULL ? u : "");
	if (max > LUKS_TOKENS_MAX)
		max = LUKS_TOKENS_MAX;
	for (i = 0; i < max; i++) {
		r = crypt_token_status(l->cd, i, &type);
		if (r == CRYPT_TOKEN_INACTIVE || r == CRYPT_TOKEN_INVALID ||
		    type == NULL || strcmp(type, LUKS_TOKEN_TYPE) != 0)
			continue;
		if (crypt_token_json_get(l->cd, i, &js) < 0)
			continue;
		l->toks[l->ntoks].id = i;
		if ((l->toks[l->ntoks].j = json_loads(js, 0, &jerr)) == NULL)
			continue;
		l->ntoks++;
		/* Anyone holding the disk may have written the header. */
		if (luks_token_check(l->toks[l->ntoks - 1].j, &cause) != 0) {
			fprintf(stderr, "peerkey: %s: LUKS2 token %d (type "
			    "peerkey) is damaged: %s; nothing was changed "
			    "(\"cryptsetup token export --token-id %d %s\" "
			    "shows it)\n", device, i, cause, i, device);
			free(cause);
			luks_close(l);
			return EXIT_LOCAL;
		}
	}
	return 0;
}

void
luks_close(struct luks *l)
{
	int	i;

	for (i = 0; i < l->ntoks; i++)
		json_decref(l->toks[i].j);
	if (l->cd != NULL)
		crypt_free(l->cd);
	local_peers_free(l->all, l->nall);
	if (l->id != NULL)
		pk_identity_free(l->id);
}

/* The daemon's peer named name, or NULL. */
struct cli_peer *
luks_peer(struct luks *l, const char *name)
{
	size_t	i;

	for (i = 0; i < l->nall; i++)
		if (strcmp(l->all[i].name, name) == 0)
			return &l->all[i];
	return NULL;
}

/* Sends WITHDRAW of blob_id to p; "gone" also when it held none. */
int
luks_withdraw_one(struct luks *l, struct cli_peer *p, const char *blob_id)
{
	struct pk_msg	 m;
	char		*cause = NULL;
	int		 r;

	pk_msg_init(&m, PK_MSG_WITHDRAW);
	m.u.withdraw.id.p = (const uint8_t *)blob_id;
	m.u.withdraw.id.len = strlen(blob_id);
	r = dial_request(l->id, p, &m, PK_MSG_ACK, &cause);
	if (r != 0 && r != PK_ERRC_NOT_FOUND)
		fprintf(stderr, "peerkey: peer %s: cannot withdraw blob %s: "
		    "%s\n", p->name, blob_id, cause ? cause : "out of memory");
	free(cause);
	return r == 0 || r == PK_ERRC_NOT_FOUND ? 0 : -1;
}

/* The token other than t with t's blob id and a higher (lower: older)
 * generation that counts name as a holder, or NULL. */
struct luks_tok *
luks_sharer(struct luks *l, struct luks_tok *t, const char *name, int newer)
{
	int	i;

	for (i = 0; i < l->ntoks; i++) {
		struct luks_tok *k = &l->toks[i];

		if (k == t || strcmp(tok_blob(k), tok_blob(t)) != 0 ||
		    (newer ? tok_gen(k) <= tok_gen(t) : tok_gen(k) >= tok_gen(t)))
			continue;
		if (luks_names_has(json_object_get(k->j, "held-by"), name))
			return k;
	}
	return NULL;
}

/*
 * A new key into key[0 .. LUKS_KEY_LEN): LUKS_KEY_RAW random bytes as
 * lowercase hex, without a branch or a table lookup on a secret digit.
 * Returns 0 or -1.
 */
int
luks_new_key(char *key)
{
	unsigned char	 raw[LUKS_KEY_RAW];
	unsigned int	 n;
	size_t		 i;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof(raw)) != 0)
		return -1;
	for (i = 0; i < 2 * sizeof(raw); i++) {
		n = (raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
		/* '0' + n, plus 'a' - '0' - 10 when n > 9. */
		key[i] = (char)('0' + n + ((((9 - n) >> 8) & 0xff) &
		    ('a' - '0' - 10)));
	}
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* Adds keyslot slot holding key, authorised by pass; 0 or -1 (said). */
int
luks_add_slot(struct luks *l, int slot, const char *pass, size_t passlen,
    const char *key)
{
	struct crypt_pbkdf_type	 pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha512",
		.iterations = 1000,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	int			 r;

	if ((r = crypt_set_pbkdf_type(l->cd, &pbkdf)) < 0 ||
	    (r = crypt_keyslot_add_by_passphrase(l->cd, slot, pass, passlen,
	    key, LUKS_KEY_LEN)) < 0) {
		fprintf(stderr, "peerkey: %s: cannot add keyslot %d: %s\n",
		    l->device, slot, strerror(-r));
		return -1;
	}
	return 0;
}
