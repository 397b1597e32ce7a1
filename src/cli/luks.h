/*
 * luks.h: what luks.c (the enroll, rotate and unenroll journeys) and
 * luks-token.c (the LUKS2 device and its peerkey tokens) share; private to
 * the peerkey command.
 */
#ifndef LUKS_H
#define LUKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libcryptsetup.h>

#include "luks-check.h"

#define LUKS_TOKEN_TYPE		"peerkey"
#define LUKS_KEY_RAW		32	/* random bytes */
#define LUKS_KEY_LEN		(2 * LUKS_KEY_RAW)	/* as hex digits */
#define LUKS_TOKENS_MAX		32

struct cli_peer;
struct pk_identity;

/* One peerkey token of the header: its number and its JSON. */
struct luks_tok {
	int		 id;		/* LUKS2 token number, -1: new */
	json_t		*j;
};

/* An opened LUKS2 device, its peerkey tokens, and who to talk to. */
struct luks {
	struct crypt_device	*cd;
	const char		*device;
	char			 uuid[64];
	struct luks_tok		 toks[LUKS_TOKENS_MAX];
	int			 ntoks;
	struct pk_identity	*id;		/* node key */
	struct cli_peer		*all;		/* every peer the daemon knows */
	size_t			 nall;
	const char		*exclude;	/* never guardians now: NAME,... */
};

/* luks-token.c: a token's fields ("" / -1 / 0 when absent) */
const char	*tok_state(const struct luks_tok *);
int		 tok_slot(const struct luks_tok *);
long long	 tok_gen(const struct luks_tok *);
const char	*tok_blob(const struct luks_tok *);
/* Writes t (new when t->id is -1) / removes it; 0 or -1 (said). */
int		 tok_save(struct luks *, struct luks_tok *);
int		 tok_remove(struct luks *, struct luks_tok *);
/* A new random key (LUKS_KEY_LEN hex digits), 0 or -1; keyslot slot
 * added with it, authorised by pass (0 or -1, said). */
int		 luks_new_key(char *key);
int		 luks_add_slot(struct luks *, int slot, const char *pass,
		    size_t passlen, const char *key);
/* Active keyslots other than except; whether slot is active. */
int		 luks_other_slots(struct luks *, int except);
int		 luks_slot_active(struct luks *, int slot);
/* Opens device as LUKS2 and reads its tokens (0 or an EXIT_* code, said);
 * luks_close() frees everything. */
int		 luks_open(struct luks *, const char *device);
void		 luks_close(struct luks *);
/* The daemon's peer named name, or NULL. */
struct cli_peer	*luks_peer(struct luks *, const char *name);
/* WITHDRAW of blob_id from p ("gone" counts as done); 0 or -1 (said). */
int		 luks_withdraw_one(struct luks *, struct cli_peer *,
		    const char *blob_id);
/* Name lists (JSON arrays of strings) in tokens: luks-check.h. */
/* luks-share.c: threshold enrollments (K >= 2) */
size_t		 luks_pick_guardians(const char *device, struct cli_peer *,
		    int *ok, size_t n, int named, unsigned count,
		    unsigned atleast, unsigned k, const char *spread);
int		 luks_seal_shares(struct luks *, const char *bootid,
		    const char *blob, uint64_t epoch, unsigned k, unsigned n,
		    const char *key, const char *pub, size_t publen,
		    uint8_t **sealed, size_t *sealedlen);
json_t		*luks_guardians_json(const struct cli_peer *, size_t n);
unsigned	 tok_threshold(const struct luks_tok *);
int		 tok_opens(const struct luks_tok *);
int		 tok_guards(const struct luks_tok *, const char *name);
/* Is name one of list's (NAME,...; NULL: none)? */
int		 luks_excluded(const char *list, const char *name);
/* luks-maint.c: the maintenance key (DIR/maint/UUID.key) */
char		*luks_maint_path(const char *uuid);
/* The active keyslot the key file opens and a token names, or -1; -2
 * when the file may be read by others than root (said). */
int		 luks_maint_slot(struct luks *);
/* Makes sure t names a keyslot the file's key opens: adopts one, or
 * writes a new key and adds its keyslot authorised by pass; 0, 1 when
 * the file's directory is not on an encrypted (or memory) filesystem, or
 * -1 (both said). */
int		 luks_maint_ensure(struct luks *, struct luks_tok *t,
		    const char *pass, size_t passlen);
/* Kills the maintenance keyslot (only one the file opens), removes the
 * file and the tokens' record of it; 0 or -1 (said). */
int		 luks_maint_drop(struct luks *);
/* Another token with t's blob id, newer (or older) than t, that counts
 * name as a holder; NULL if none. */
struct luks_tok	*luks_sharer(struct luks *, struct luks_tok *,
		    const char *name, int newer);

#endif /* LUKS_H */
