/*
 * luks.c: a disk's peerkey keyslot, deposited with the peers, and the
 * LUKS2 token that journals every step (enroll, rotate, unenroll).
 *
 * The key is 32 random bytes written as 64 hex digits, in one free keyslot
 * (PBKDF2 at its minimum: the key has full entropy, and a boot under
 * emulation must stay fast, as systemd-cryptenroll does for FIDO2 and TPM2
 * keys). It is text for the same reason systemd-cryptenroll base64s its
 * keys: systemd's ask-password carries passwords as NUL-terminated
 * strings, and a raw key with a NUL byte would reach systemd-cryptsetup
 * cut short. It is encrypted to this
 * machine's boot OpenPGP key, signed by its node key (sblob.h: the boot
 * agent decrypts nothing else; the epoch is the token's generation), and
 * DEPOSITed, as blob "luks-UUID", with every chosen peer. A blob
 * deposited before blobs were signed is replaced by the next rotate.
 * The name is the disk's and stays: a rotate deposits its fresh key
 * under the same name, replacing the old one on each peer, so the boot
 * agent finds a disk's blob from the disk alone (its UUID, or the
 * "blob-id" of this token, which the header shows in the clear). The key
 * is never written anywhere else: not in the token (the header and
 * the initramfs together would then open the disk), not in a file. (The
 * maintenance key, luks-maint.c, is another key in another keyslot; once
 * the disk is enrolled, and rotated, it is kept or made, or with
 * --no-maintenance-key removed, and every new token names its keyslot.)
 *
 * The token (type "peerkey", doc/peerkey.8, "LUKS2 TOKEN") is the journal.
 * It is written before the keyslot is added and updated after each step:
 *
 *	adding		keyslot N chosen; the slot may or may not exist yet;
 *			nothing sent
 *	depositing	keyslot N holds the key; "peers" lists every peer
 *			the key may have reached (written before each
 *			DEPOSIT is sent), "held-by" those that acknowledged
 *	enrolled	done; "held-by" is final
 *	removing	being undone: the keyslot is (being) killed
 *
 * The key lives only in this process, so a run that dies before
 * "enrolled" cannot finish: the next run undoes it (kills keyslot N,
 * withdraws the blob from every peer it may have reached, removes the
 * token) and starts again. Because a rotate's key replaces the old one
 * under the same name, withdrawing the new key from a peer also takes the
 * old one away there: the old token then stops counting that peer as a
 * holder (the journal names fewer holders, never more), and a peer whose
 * blob is a newer token's is never withdrawn on an older token's behalf.
 * So that an interrupted rotate loses as little as it can, one that
 * died with some acknowledged holders is finished as far as it got: its
 * token becomes the enrolled one, and the old key is retired as after a
 * rotate with the others down. Two "enrolled" tokens mean a rotate that
 * died after its new key was deposited: the older one is retired the
 * same way. The operator's own keyslots are never touched, and a keyslot
 * is killed only while another one stays active, so no step leaves the
 * disk unopenable, and every keyslot peerkey adds is named by a token the
 * next run (and luksDump) shows.
 *
 * A split key (enroll/rotate --threshold K, luks-share.c) goes the same
 * way with one share per guardian, blob "luks-UUID@EPOCH" (the epoch is
 * the generation), and the token also names the threshold, the epoch and
 * every guardian with its share index. Its enrollment is done when K
 * guardians hold their share; a rotate's new shares never replace the
 * old ones (another name), so an interrupted one is undone, and the old
 * epoch's shares are withdrawn only once the new epoch is "enrolled".
 *
 * A disk enrolled before the name was the disk's has a token with blob id
 * "UUID:SLOT"; the boot agent asks for whatever the token names, and the
 * next rotate moves it to "luks-UUID" (its new key is deposited under the
 * new name, and the old blob is withdrawn by its own name).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <jansson.h>
#include <libcryptsetup.h>

#include "guardians.h"
#include "key.h"
#include "labels.h"
#include "luks.h"
#include "msg.h"
#include "peerkey.h"
#include "pgp.h"
#include "pk_err.h"
#include "sblob.h"
#include "secret.h"

/* The newest enrolled token but t, or NULL: the one that stays. */
static struct luks_tok *
luks_heir(struct luks *l, struct luks_tok *t)
{
	struct luks_tok	*h = NULL;
	int		 i;

	for (i = 0; i < l->ntoks; i++)
		if (&l->toks[i] != t && strcmp(tok_state(&l->toks[i]),
		    "enrolled") == 0 && (h == NULL || tok_gen(&l->toks[i]) >
		    tok_gen(h)))
			h = &l->toks[i];
	return h;
}

/*
 * Withdraws blob from each of names, those of peers this machine still
 * knows; each one that fails (down, unreachable) is added to
 * "withdraw-pending" {BLOB: [NAME, ...]} of token h, when h is not NULL
 * and names another blob, for the next run to retry (luks_retry): a
 * guardian down while a re-split retired its share would otherwise keep
 * an old epoch's share that no token names. Returns how many still hold
 * it.
 */
static int
luks_withdraw_all(struct luks *l, json_t *names, const char *blob,
    struct luks_tok *h)
{
	json_t		*pend, *a, *x;
	struct cli_peer	*p;
	size_t		 i;
	int		 left = 0;

	json_array_foreach(names, i, x) {
		if ((p = luks_peer(l, json_string_value(x))) == NULL)
			continue;
		if (*blob == '\0' || luks_withdraw_one(l, p, blob) == 0)
			continue;
		left++;
		if (h == NULL || strcmp(tok_blob(h), blob) == 0)
			continue;
		if ((pend = json_object_get(h->j, "withdraw-pending")) == NULL) {
			pend = json_object();
			json_object_set_new(h->j, "withdraw-pending", pend);
		}
		if ((a = json_object_get(pend, blob)) == NULL) {
			a = json_array();
			json_object_set_new(pend, blob, a);
		}
		if (!luks_names_has(a, json_string_value(x)))
			json_array_append(a, x);
	}
	return left;
}

/*
 * Retries token t's "withdraw-pending": an entry is dropped once its
 * peer no longer holds the blob, or is no longer a peer; the rest stay.
 * A blob id that a token names is never withdrawn. Returns 0, or -1 if
 * the token could not be saved.
 */
static int
luks_retry(struct luks *l, struct luks_tok *t)
{
	json_t		*pend, *names, *left, *x;
	const char	*blob;
	size_t		 i;
	int		 j, named;

	if ((pend = json_object_get(t->j, "withdraw-pending")) == NULL)
		return 0;
	if ((left = json_object()) == NULL)
		return -1;
	json_object_foreach(pend, blob, names) {
		for (j = 0, named = 0; j < l->ntoks; j++)
			named |= strcmp(tok_blob(&l->toks[j]), blob) == 0;
		if (named)
			continue;
		if (!opt_json)
			printf("%s: withdrawing blob %s from the peers that "
			    "were down when it was retired\n", l->device, blob);
		json_array_foreach(names, i, x) {
			if (luks_peer(l, json_string_value(x)) == NULL ||
			    luks_withdraw_one(l, luks_peer(l,
			    json_string_value(x)), blob) == 0)
				continue;
			if (json_object_get(left, blob) == NULL)
				json_object_set_new(left, blob, json_array());
			json_array_append(json_object_get(left, blob), x);
		}
	}
	if (json_object_size(left) > 0)
		json_object_set_new(t->j, "withdraw-pending", left);
	else {
		json_decref(left);
		json_object_del(t->j, "withdraw-pending");
	}
	return tok_save(l, t);
}

/*
 * Undoes token t, whatever its state: kills its keyslot (never the last
 * active one), withdraws its blob from every peer it may have reached
 * but for those whose blob of that name is a newer token's, removes the
 * token. A withdrawn peer loses any older token's key of the same name
 * too, so the older tokens stop counting it (saved first). A peer that
 * cannot be reached is remembered in the token that stays, with t's own
 * pending withdraws (luks_withdraw_all). Returns 0, or -1 with the token
 * left in place.
 */
static int
luks_undo(struct luks *l, struct luks_tok *t, const char *why)
{
	json_t		*names, *x, *pend, *a;
	struct luks_tok	*k, *h;
	size_t		 i;
	int		 slot = tok_slot(t), left = 0, r;
	const char	*pblob;
	char		*blob;

	if (!opt_json)
		printf("%s: %s (keyslot %d, token %d)\n", l->device, why, slot,
		    t->id);
	if (luks_slot_active(l, slot)) {
		if (luks_other_slots(l, slot) == 0) {
			fprintf(stderr, "peerkey: %s: keyslot %d is the only "
			    "keyslot left; refusing to kill it (add a "
			    "passphrase first: cryptsetup luksAddKey)\n",
			    l->device, slot);
			return -1;
		}
		/* The token may not name a slot that is gone. */
		json_object_set_new(t->j, "keyslots", json_array());
		json_object_set_new(t->j, "state", json_string("removing"));
		if (tok_save(l, t) != 0)
			return -1;
		local_test_crash("undo-marked");
		if ((r = crypt_keyslot_destroy(l->cd, slot)) < 0) {
			fprintf(stderr, "peerkey: %s: cannot kill keyslot %d: "
			    "%s\n", l->device, slot, strerror(-r));
			return -1;
		}
		local_test_crash("undo-killed");
	}
	if ((blob = strdup(tok_blob(t))) == NULL)
		return -1;
	names = json_array();
	luks_names_add(names, json_object_get(t->j, "peers"));
	luks_names_add(names, json_object_get(t->j, "held-by"));
	for (i = 0; i < json_array_size(names); ) {
		x = json_array_get(names, i);
		if (luks_sharer(l, t, json_string_value(x), 1) != NULL) {
			json_array_remove(names, i);
			continue;
		}
		while ((k = luks_sharer(l, t, json_string_value(x), 0)) !=
		    NULL) {
			luks_names_del(json_object_get(k->j, "held-by"),
			    json_string_value(x));
			if (tok_save(l, k) != 0) {
				json_decref(names);
				free(blob);
				return -1;
			}
		}
		i++;
	}
	h = luks_heir(l, t);
	left = luks_withdraw_all(l, names, blob, h);
	json_object_foreach(json_object_get(t->j, "withdraw-pending"), pblob,
	    a)
		(void)luks_withdraw_all(l, a, pblob, h);
	if (h != NULL && (pend = json_object_get(h->j, "withdraw-pending")) !=
	    NULL && json_object_size(pend) > 0 && tok_save(l, h) != 0) {
		json_decref(names);
		free(blob);
		return -1;
	}
	if (left > 0 && !opt_json)
		printf("  %d peer%s still hold%s blob %s; its keyslot is "
		    "gone, so it opens nothing\n", left, left == 1 ? "" : "s",
		    left == 1 ? "s" : "", blob);
	json_decref(names);
	free(blob);
	return tok_remove(l, t);
}

/* An enrolled token older than t with t's blob id (t replaces its key). */
static int
luks_replaces(struct luks *l, struct luks_tok *t)
{
	int	i;

	for (i = 0; i < l->ntoks; i++)
		if (&l->toks[i] != t && strcmp(tok_state(&l->toks[i]),
		    "enrolled") == 0 && tok_gen(&l->toks[i]) < tok_gen(t) &&
		    strcmp(tok_blob(&l->toks[i]), tok_blob(t)) == 0)
			return 1;
	return 0;
}

/*
 * Brings the journal to a clean state: an interrupted rotate that some
 * peers acknowledged finished as far as it got, every other unfinished
 * token undone, and of several enrolled tokens (a rotate that died) only
 * the newest kept. Returns the enrolled token left, or NULL; *bad on a
 * failure.
 */
static struct luks_tok *
luks_recover(struct luks *l, int *bad)
{
	struct luks_tok	*best = NULL, *t;
	int		 i;

	*bad = 0;
	for (i = 0; i < l->ntoks; ) {
		t = &l->toks[i];
		if (strcmp(tok_state(t), "enrolled") == 0) {
			i++;
			continue;
		}
		/*
		 * Its key replaced the old one on the peers that took it:
		 * undoing it would leave them nothing, keeping it leaves
		 * them a key that opens the disk.
		 */
		if (strcmp(tok_state(t), "depositing") == 0 && tok_opens(t) &&
		    luks_slot_active(l, tok_slot(t)) && luks_replaces(l, t)) {
			if (!opt_json)
				printf("%s: finishing an interrupted rotate "
				    "with the peers that took its key (keyslot "
				    "%d, token %d)\n", l->device, tok_slot(t),
				    t->id);
			json_object_set_new(t->j, "state",
			    json_string("enrolled"));
			if (tok_save(l, t) != 0) {
				*bad = 1;
				return NULL;
			}
			i++;
			continue;
		}
		if (luks_undo(l, t, strcmp(tok_state(t), "removing") == 0 ?
		    "finishing an interrupted removal" : "undoing an "
		    "interrupted enrollment (its key was never fully "
		    "deposited)") != 0) {
			*bad = 1;
			return NULL;
		}
	}
	for (;;) {
		best = NULL;
		for (i = 0; i < l->ntoks; i++)
			if (best == NULL || tok_gen(&l->toks[i]) > tok_gen(best))
				best = &l->toks[i];
		for (i = 0; i < l->ntoks; i++)
			if (&l->toks[i] != best)
				break;
		if (i == l->ntoks)
			break;
		if (luks_undo(l, &l->toks[i], "removing the key an "
		    "interrupted rotate replaced") != 0) {
			*bad = 1;
			return NULL;
		}
	}
	if (best != NULL && luks_retry(l, best) != 0) {
		*bad = 1;
		return NULL;
	}
	return best;
}

/* Is name one of list's (NAME,...)? */
int
luks_excluded(const char *list, const char *name)
{
	size_t	 n, len = strlen(name);

	while (list != NULL && *list != '\0') {
		n = strcspn(list, ",");
		if (n == len && strncmp(list, name, n) == 0)
			return 1;
		list += n;
		list += *list == ',';
	}
	return 0;
}

/* Does split t count one of list's names (NAME,...) as a guardian? */
static int
luks_guards_any(const struct luks_tok *t, const char *list)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(json_object_get(t->j, "guardians"), i, x)
		if (json_is_string(json_object_get(x, "name")) &&
		    luks_excluded(list, json_string_value(json_object_get(x,
		    "name"))))
			return 1;
	return 0;
}

/* Asks every chosen peer for a heartbeat: can we reach it, does it know
 * this machine's node key? Fills ok[]. Returns the number reachable. */
static size_t
luks_probe(struct luks *l, struct cli_peer *v, size_t n, int *ok)
{
	struct pk_msg	 m;
	char		*cause;
	size_t		 i, good = 0;
	int		 r;

	for (i = 0; i < n; i++) {
		/* A guardian being removed is not asked, nor picked. */
		if (luks_excluded(l->exclude, v[i].name)) {
			ok[i] = 0;
			continue;
		}
		pk_msg_init(&m, PK_MSG_HEARTBEAT);
		gnutls_rnd(GNUTLS_RND_NONCE, &m.u.heartbeat.nonce,
		    sizeof(m.u.heartbeat.nonce));
		cause = NULL;
		r = dial_request(l->id, &v[i], &m, PK_MSG_HEARTBEAT_REPLY,
		    &cause);
		ok[i] = r == 0;
		good += ok[i];
		if (r > 0)
			fprintf(stderr, "peerkey: peer %s refuses this machine "
			    "(%s): does it know this node key? (\"peerkey "
			    "join\", or \"peerkey peer add\" on %s)\n",
			    v[i].name, cause ? cause : "out of memory",
			    v[i].name);
		else if (r < 0)
			fprintf(stderr, "peerkey: peer %s is not reachable: "
			    "%s (is its peerkeyd running, on that address? "
			    "\"peerkey status\" there)\n", v[i].name,
			    cause ? cause : "out of memory");
		free(cause);
	}
	return good;
}

/*
 * Prints the outcome of an enroll or rotate: who holds t's key (v, or a
 * split's guardians). Returns how many of them do not.
 */
static size_t
luks_report(struct luks *l, struct luks_tok *t, struct cli_peer *v,
    size_t n, const char *what)
{
	json_t		*held = json_object_get(t->j, "held-by"), *missing, *x;
	json_t		*g = json_object_get(t->j, "guardians");
	const char	*name;
	size_t		 i, nmissing;

	missing = json_array();
	for (i = 0; i < (tok_threshold(t) > 1 ? json_array_size(g) : n);
	    i++) {
		name = tok_threshold(t) > 1 ? json_string_value(
		    json_object_get(json_array_get(g, i), "name")) : v[i].name;
		if (!luks_names_has(held, name))
			json_array_append_new(missing, json_string(name));
	}
	nmissing = json_array_size(missing);
	if (opt_json) {
		x = json_pack("{s:s, s:s, s:s, s:i, s:s, s:O, s:O, s:i, s:I}",
		    "device", l->device, "uuid", l->uuid, "result", what,
		    "keyslot", tok_slot(t), "blob_id", tok_blob(t),
		    "held_by", held, "missing", missing, "threshold",
		    (int)tok_threshold(t), "epoch", (json_int_t)tok_gen(t));
		out_result(x);
		json_decref(x);
	} else {
		printf("%s: %s: keyslot %d, token %d, blob %s\n",
		    l->device, what, tok_slot(t), t->id, tok_blob(t));
		if (tok_threshold(t) > 1)
			printf("  %u of %zu shares open it (epoch %lld)\n",
			    tok_threshold(t), json_array_size(g), tok_gen(t));
		printf("  held by:");
		json_array_foreach(held, i, x)
			printf(" %s", json_string_value(x));
		printf("\n");
		if (json_array_size(missing) > 0) {
			printf("  NOT held by:");
			json_array_foreach(missing, i, x)
				printf(" %s", json_string_value(x));
			printf("\n  (when they are back: \"peerkey rotate "
			    "%s\" deposits a fresh key with every peer)\n",
			    l->device);
		}
	}
	json_decref(missing);
	return nmissing;
}

/* A step of enroll or rotate, on stderr (not under -j: the object says
 * it all). */
static void __attribute__((format(printf, 2, 3)))
luks_progress(const char *device, const char *fmt, ...)
{
	va_list	 ap;

	if (opt_json)
		return;
	fprintf(stderr, "%s: ", device);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "...\n");
}

/*
 * peerkey enroll / rotate: see the file comment. Returns an exit code.
 */
int
luks_enroll(const char *device, const struct luks_opts *o, int mode)
{
	struct luks	 l;
	struct luks_tok	*old, *t = NULL;
	struct cli_peer	*v = NULL;
	struct pk_msg	 m;
	char		 bootid[PK_KEYID_HEXLEN + 1], blob[PK_BLOB_ID_MAX + 1];
	char		 err[256], prompt[512], *pub = NULL, *pass = NULL,
			*key = NULL, *cause;
	void		*cipher = NULL;
	uint8_t		*sealed = NULL, **shares = NULL;
	size_t		 publen, passlen = 0, cipherlen, n = 0, i, nheld;
	size_t		 sealedlen = 0, nv = 0, *sharelen = NULL;
	int		*ok = NULL, slot, max, r, bad, ex = EXIT_FAIL;
	unsigned	 k = o->threshold, ng = o->nguardians;
	long long	 gen = 0;
	json_t		*sent, *js, *wanted = NULL;
	const char	*spread = o->spread;

	if ((ex = luks_open(&l, device)) != 0)
		return ex;
	l.exclude = o->exclude;
	ex = EXIT_FAIL;
	if (l.uuid[0] == '\0') {
		fprintf(stderr, "peerkey: %s: the LUKS2 header has no UUID "
		    "(cryptsetup luksUUID --uuid ...)\n", device);
		goto out;
	}
	if (local_load_node(&l.id) != 0 || local_boot_keyid(bootid) != 0 ||
	    local_boot_pgp_pub(&pub, &publen) != 0) {
		ex = EXIT_LOCAL;
		goto out;
	}
	if ((r = local_peers(NULL, 1, &l.all, &l.nall)) != 0 ||
	    (r = local_peers(o->guardians != NULL ? o->guardians : o->peers,
	    0, &v, &nv)) != 0) {
		ex = r;
		goto out;
	}
	n = nv;
	/* The disk's blob, whatever its keyslot and generation. */
	snprintf(blob, sizeof(blob), "luks-%s", l.uuid);
	old = luks_recover(&l, &bad);
	if (bad)
		goto out;
	if (old != NULL && !luks_slot_active(&l, tok_slot(old))) {
		if (luks_undo(&l, old, "its keyslot is gone; forgetting the "
		    "enrollment") != 0)
			goto out;
		old = NULL;
	}
	if (mode == LUKS_ENROLL && old != NULL) {
		i = luks_report(&l, old, v, n, "already enrolled");
		if (!opt_json && k != 0 && tok_threshold(old) != k)
			printf("  (it is split %u of %zu; \"peerkey rotate %s "
			    "--threshold K\" splits it anew)\n",
			    tok_threshold(old), json_array_size(
			    json_object_get(old->j, "guardians")), device);
		if (!opt_json && tok_threshold(old) == 1 &&
		    strcmp(tok_blob(old), blob) != 0)
			printf("  (blob %s has the old naming; "
			    "\"peerkey rotate %s\" moves it to %s)\n",
			    tok_blob(old), device, blob);
		if (!opt_json && !json_is_true(json_object_get(old->j,
		    "signed")))
			printf("  (its blob was deposited unsigned, before "
			    "blobs were signed: the boot agent ignores it; "
			    "\"peerkey rotate %s\" deposits a signed one)\n",
			    device);
		ex = i == 0 ? EXIT_OK : EXIT_PARTIAL;
		if (i == 0)
			bootconf_refresh("enroll");
		goto out;
	}
	if (mode != LUKS_ENROLL && old == NULL) {
		fprintf(stderr, "peerkey: %s: not enrolled (\"peerkey enroll "
		    "%s\")\n", device, device);
		goto out;
	}
	/*
	 * A re-share (peerkey remove, reshare) re-splits only a split,
	 * when told to leave out guardians one that counts one of them;
	 * luks_recover() has already finished or undone an interrupted one.
	 */
	if (mode == LUKS_RESHARE && (tok_threshold(old) < 2 ||
	    (o->exclude != NULL && !luks_guards_any(old, o->exclude)))) {
		if (!opt_json && tok_threshold(old) < 2)
			printf("%s: not split (epoch %lld); nothing to "
			    "re-share\n", device, tok_gen(old));
		else if (!opt_json)
			printf("%s: %s holds none of its shares (epoch %lld); "
			    "nothing to re-share\n", device, o->exclude,
			    tok_gen(old));
		ex = EXIT_OK;
		goto out;
	}
	gen = old != NULL ? tok_gen(old) : 0;
	/*
	 * The guardians the policy wants (0: every peer that can guard),
	 * which "peerkey reshare" grows the split toward: none for named
	 * guardians; a re-share's and a plain rotate's are the split's.
	 */
	wanted = json_object_get(old != NULL ? old->j : NULL,
	    "guardians-wanted");
	if (o->guardians != NULL)
		wanted = NULL;
	else if (mode != LUKS_RESHARE && o->nguardians != 0)
		wanted = json_integer(o->nguardians);
	else if (wanted != NULL)
		json_incref(wanted);
	else if (old == NULL || tok_threshold(old) < 2)
		wanted = json_integer(0);
	/* A rotate keeps the split it replaces unless told otherwise. */
	if (k == 0 && old != NULL && tok_threshold(old) > 1) {
		k = tok_threshold(old);
		if (ng == 0 && o->guardians == NULL)
			ng = (unsigned)json_array_size(json_object_get(old->j,
			    "guardians"));
	}
	/* ... and the label it spreads over. */
	js = old != NULL ? json_object_get(old->j, "spread") : NULL;
	if (spread == NULL && json_is_string(js) &&
	    pk_label_key_ok(json_string_value(js)))
		spread = json_string_value(js);
	if (spread == NULL)
		spread = GUARDIANS_KEY_DEFAULT;
	if (k == 0)
		k = 1;
	/* A split's shares, epoch by epoch: none overwrites another's. */
	if (k > 1)
		snprintf(blob, sizeof(blob), "luks-%s@%lld", l.uuid, gen + 1);

	/* Everything is checked before the disk changes. */
	snprintf(prompt, sizeof(prompt), "Enter an existing passphrase of "
	    "%s: ", device);
	if (local_read_secret(o->keyfile, prompt, &pass, &passlen) != 0)
		goto out;
	luks_progress(device, "checking the passphrase (the key derivation "
	    "takes a few seconds)");
	if ((r = crypt_activate_by_passphrase(l.cd, NULL, CRYPT_ANY_SLOT,
	    pass, passlen, 0)) < 0) {
		fprintf(stderr, "peerkey: %s: %s; nothing changed\n", device,
		    r == -EPERM ? "that passphrase opens no keyslot" :
		    strerror(-r));
		goto out;
	}
	if ((ok = calloc(n, sizeof(*ok))) == NULL)
		goto out;
	luks_progress(device, "asking %zu peer%s for a heartbeat", n,
	    n == 1 ? "" : "s");
	if (luks_probe(&l, v, n, ok) == 0) {
		fprintf(stderr, "peerkey: %s: no peer can take the key; "
		    "nothing changed\n", device);
		goto out;
	}
	if (k > 1 && (n = luks_pick_guardians(device, v, ok, nv,
	    o->guardians != NULL, ng, o->min_guardians, k, spread)) == 0)
		goto out;
	max = crypt_keyslot_max(CRYPT_LUKS2);
	for (slot = 0; slot < max; slot++)
		if (crypt_keyslot_status(l.cd, slot) == CRYPT_SLOT_INACTIVE)
			break;
	if (slot == max) {
		fprintf(stderr, "peerkey: %s: no free keyslot (kill one with "
		    "cryptsetup luksKillSlot); nothing changed\n", device);
		goto out;
	}
	if ((key = pk_secret_alloc(LUKS_KEY_LEN)) == NULL ||
	    luks_new_key(key) != 0)
		goto out;
	if (k > 1) {
		if ((shares = calloc(n, sizeof(*shares))) == NULL ||
		    (sharelen = calloc(n, sizeof(*sharelen))) == NULL)
			goto out;
		if ((ex = luks_seal_shares(&l, bootid, blob, (uint64_t)gen + 1,
		    k, (unsigned)n, key, pub, publen, shares, sharelen)) != 0)
			goto out;
		ex = EXIT_FAIL;
		goto ready;
	}
	cause = NULL;
	if ((r = pk_pgp_encrypt(local_dir(), pub, publen, key, LUKS_KEY_LEN,
	    &cipher, &cipherlen, &cause)) != 0) {
		fprintf(stderr, "peerkey: cannot encrypt to the boot OpenPGP "
		    "key: %s (%s)\n", pk_strerror(r), cause ? cause : "");
		free(cause);
		ex = EXIT_LOCAL;
		goto out;
	}
	/* Signed by the node key: the boot agent takes nothing else. */
	cause = NULL;
	if ((r = pk_sblob_seal(l.id, bootid, blob, (uint64_t)gen + 1,
	    (uint64_t)time(NULL), cipher, cipherlen, &sealed, &sealedlen,
	    &cause)) != 0) {
		fprintf(stderr, "peerkey: cannot sign the blob with the node "
		    "key: %s (%s)\n", pk_strerror(r), cause ? cause : "");
		free(cause);
		ex = EXIT_LOCAL;
		goto out;
	}
	free(cipher);
	cipher = sealed;
	cipherlen = sealedlen;
	sealed = NULL;
ready:

	/* 1. The journal names the keyslot before it exists. */
	t = &l.toks[l.ntoks++];
	t->id = -1;
	t->j = json_pack("{s:s, s:[], s:i, s:s, s:i, s:s, s:s, s:s, s:[], "
	    "s:[], s:I, s:b}", "type", LUKS_TOKEN_TYPE, "keyslots",
	    "peerkey-version", 1, "state", "adding", "keyslot", slot,
	    "boot-key", bootid, "node-key", l.id->keyid, "blob-id", blob,
	    "peers", "held-by", "generation", (json_int_t)(gen + 1),
	    "signed", 1);
	if (k > 1) {
		json_object_set_new(t->j, "threshold", json_integer(k));
		json_object_set_new(t->j, "epoch", json_integer(gen + 1));
		json_object_set_new(t->j, "guardians", luks_guardians_json(v,
		    n));
		json_object_set_new(t->j, "spread", json_string(spread));
		if (wanted != NULL)
			json_object_set(t->j, "guardians-wanted", wanted);
	}
	/* The maintenance key stays what it was until step 5. */
	if (old != NULL && (js = json_object_get(old->j,
	    "maintenance-keyslot")) != NULL)
		json_object_set(t->j, "maintenance-keyslot", js);
	if (tok_save(&l, t) != 0) {
		l.ntoks--;
		json_decref(t->j);
		t = NULL;
		goto out;
	}
	local_test_crash("token");

	/* 2. The keyslot. */
	if (luks_add_slot(&l, slot, pass, passlen, key) != 0) {
		(void)luks_undo(&l, t, "undoing");
		goto out;
	}
	local_test_crash("slot");
	json_object_set_new(t->j, "state", json_string("depositing"));
	snprintf(err, sizeof(err), "%d", slot);
	json_object_set_new(t->j, "keyslots", json_pack("[s]", err));
	if (tok_save(&l, t) != 0)
		goto out;
	local_test_crash("depositing");

	/*
	 * 3. The deposits, each one journalled: "peers" before it is sent
	 * (from then on the peer may hold this key instead of the one it
	 * replaces), "held-by" once acknowledged. A peer that refused it
	 * (an ERROR answer) kept what it had and leaves "peers" again.
	 */
	nheld = 0;
	sent = json_object_get(t->j, "peers");
	for (i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		if (!luks_names_has(sent, v[i].name)) {
			json_array_append_new(sent, json_string(v[i].name));
			if (tok_save(&l, t) != 0)
				goto out;
		}
		local_test_crash("sending");
		luks_progress(device, "depositing the key with %s", v[i].name);
		pk_msg_init(&m, PK_MSG_DEPOSIT);
		m.u.deposit.blob.id.p = (const uint8_t *)blob;
		m.u.deposit.blob.id.len = strlen(blob);
		m.u.deposit.blob.data.p = k > 1 ? shares[i] : cipher;
		m.u.deposit.blob.data.len = k > 1 ? sharelen[i] : cipherlen;
		cause = NULL;
		if ((r = dial_request(l.id, &v[i], &m, PK_MSG_ACK,
		    &cause)) != 0) {
			fprintf(stderr, "peerkey: peer %s: deposit failed: "
			    "%s\n", v[i].name, cause ? cause : "out of memory");
			free(cause);
			if (r > 0) {
				luks_names_del(sent, v[i].name);
				if (tok_save(&l, t) != 0)
					goto out;
			}
			continue;
		}
		local_test_crash("deposit");
		json_array_append_new(json_object_get(t->j, "held-by"),
		    json_string(v[i].name));
		if (tok_save(&l, t) != 0)
			goto out;
		nheld++;
	}
	if (nheld < k) {
		if (k > 1)
			fprintf(stderr, "peerkey: %s: %zu guardian%s took %s "
			    "share, %u are needed\n", device, nheld, nheld ==
			    1 ? "" : "s", nheld == 1 ? "its" : "their", k);
		else
			fprintf(stderr, "peerkey: %s: no peer took the key\n",
			    device);
		(void)luks_undo(&l, t, "undoing");
		t = NULL;
		goto out;
	}

	/* 4. Done; a rotate then retires the old key. */
	json_object_set_new(t->j, "state", json_string("enrolled"));
	if (tok_save(&l, t) != 0)
		goto out;
	local_test_crash("enrolled");
	if (old != NULL) {
		r = t->id;
		t = NULL;	/* luks_undo moves the array */
		if (luks_undo(&l, old, "retiring the previous key") != 0)
			goto out;
		for (i = 0; i < (size_t)l.ntoks; i++)
			if (l.toks[i].id == r)
				t = &l.toks[i];
		if (t == NULL)
			goto out;
	}
	/*
	 * 5. The maintenance key (luks-maint.c): kept, made, or dropped. A
	 * new one's keyslot is authorised by the new key, whose keyslot
	 * opens at PBKDF2's minimum (the operator's may take seconds).
	 */
	if (!o->no_maint) {
		if (luks_maint_ensure(&l, t, key, LUKS_KEY_LEN) < 0)
			fprintf(stderr, "peerkey: %s: warning: no maintenance "
			    "key: \"peerkey reshare\" cannot re-split it "
			    "(\"peerkey rotate %s\" tries again)\n", device,
			    device);
	} else if (luks_maint_drop(&l) != 0)
		fprintf(stderr, "peerkey: %s: warning: the maintenance key "
		    "is not removed\n", device);
	for (i = 0, r = t->id, t = NULL; i < (size_t)l.ntoks; i++)
		if (l.toks[i].id == r)
			t = &l.toks[i];
	if (t == NULL)
		goto out;
	ex = luks_report(&l, t, v, n, mode == LUKS_RESHARE ? "re-shared" :
	    mode == LUKS_ROTATE ? "rotated" : "enrolled") == 0 ? EXIT_OK :
	    EXIT_PARTIAL;
	bootconf_refresh("enroll");
out:
	pk_secret_free(key);
	pk_secret_free(pass);
	free(cipher);
	free(pub);
	free(ok);
	json_decref(wanted);
	for (i = 0; shares != NULL && i < n; i++)
		free(shares[i]);
	free(shares);
	free(sharelen);
	local_peers_free(v, nv);
	luks_close(&l);
	return ex;
}

/*
 * peerkey unenroll: undoes every peerkey token of device (kills the
 * keyslot, withdraws the blob, removes the token). Returns an exit code.
 */
int
luks_unenroll(const char *device)
{
	struct luks	 l;
	int		 ex, n = 0;

	if ((ex = luks_open(&l, device)) != 0)
		return ex;
	ex = EXIT_FAIL;
	if (local_load_node(&l.id) != 0) {
		ex = EXIT_LOCAL;
		goto out;
	}
	if ((ex = local_peers(NULL, 1, &l.all, &l.nall)) != 0)
		goto out;
	ex = EXIT_FAIL;
	/* The maintenance key first, while a token names its keyslot. */
	if (luks_maint_drop(&l) != 0)
		goto out;
	while (l.ntoks > 0) {
		if (luks_undo(&l, &l.toks[0], "unenrolling") != 0) {
			ex = EXIT_FAIL;
			goto out;
		}
		n++;
	}
	if (opt_json) {
		json_t *x = json_pack("{s:s, s:s, s:i}", "device", device,
		    "uuid", l.uuid, "removed", n);
		out_result(x);
		json_decref(x);
	} else if (n == 0)
		printf("%s: not enrolled; nothing to do\n", device);
	else
		printf("%s: unenrolled\n", device);
	ex = EXIT_OK;
out:
	luks_close(&l);
	return ex;
}

/*
 * peerkey reshare, first: finishes or undoes what an interrupted enroll,
 * rotate or re-share left in device's journal (luks_recover). Returns an
 * exit code.
 */
int
luks_converge(const char *device)
{
	struct luks	 l;
	int		 ex, bad;

	if ((ex = luks_open(&l, device)) != 0)
		return ex;
	ex = EXIT_LOCAL;
	if (local_load_node(&l.id) != 0)
		goto out;
	if ((ex = local_peers(NULL, 1, &l.all, &l.nall)) != 0)
		goto out;
	(void)luks_recover(&l, &bad);
	ex = bad ? EXIT_FAIL : EXIT_OK;
out:
	luks_close(&l);
	return ex;
}
