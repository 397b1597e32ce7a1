/*
 * luks-maint.c: a disk's maintenance key, what lets the running machine
 * re-split its key by itself ("peerkey reshare") without a passphrase.
 *
 * Enroll and rotate (unless --no-maintenance-key) add one more random key
 * (luks_new_key: 64 hex digits) in a keyslot of its own and keep it in
 * DIR/maint/UUID.key (DIR: the configuration directory, SYSCONFDIR/peerkey
 * by default), mode 0400 in a directory of mode 0700: on the encrypted
 * root, so it is readable only while the machine runs unlocked, by root,
 * who can read the volume key of an open disk anyway. The token records
 * the keyslot ("maintenance-keyslot"), carried from token to token by
 * every rotate and re-share, so that unenroll (or rotate
 * --no-maintenance-key) kills it. The key is never sent anywhere.
 *
 * Steps, each one safe to die after: the file is written (replacing a
 * file whose key opens no keyslot), then the keyslot added, then the
 * token records it. A run that finds a file whose key opens a keyslot
 * adopts that keyslot; a file that opens none is a leftover, replaced.
 * A file group or others may read is neither used nor replaced (said):
 * its key may have leaked, and only the operator knows.
 * A keyslot is killed only when the file's key opens it (the header is
 * outside the encryption: a "maintenance-keyslot" someone wrote there
 * never makes peerkey kill the operator's passphrase) and another
 * keyslot stays active.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libcryptsetup.h>

#include "file.h"
#include "luks.h"
#include "peerkey.h"
#include "pk_err.h"
#include "secret.h"

/* DIR/maint/UUID.key of l's disk, malloc'ed. */
char *
luks_maint_path(const char *uuid)
{
	char	 rel[128];

	snprintf(rel, sizeof(rel), "%s/%s.key", LOCAL_MAINT_DIR, uuid);
	return local_path(rel);
}

/*
 * The keyslot the maintenance key file of l's disk opens (slot: that one
 * only, -1: any), or -1 when the file is missing, unreadable or opens
 * none; -2 (said) when group or others may read it.
 */
static int
maint_opens(struct luks *l, int slot)
{
	char	*path = luks_maint_path(l->uuid), *key = NULL;
	size_t	 len = 0;
	int	 r;

	r = pk_file_read(path, 1024, PK_FILE_PRIVATE | PK_FILE_SECRET, &key,
	    &len);
	if (r == PK_ERR_PERM)
		fprintf(stderr, "peerkey: %s: the maintenance key %s may be "
		    "read by others than root: left as it is (chmod 0400 it, "
		    "or \"peerkey rotate --no-maintenance-key\" after "
		    "killing its keyslot)\n", l->device, path);
	free(path);
	if (r != 0)
		return r == PK_ERR_PERM ? -2 : -1;
	r = crypt_activate_by_passphrase(l->cd, NULL, slot < 0 ?
	    CRYPT_ANY_SLOT : slot, key, len, 0);
	pk_secret_free(key);
	return r >= 0 ? r : -1;
}

/* The "maintenance-keyslot" of any of l's tokens, or -1. */
static int
maint_recorded(struct luks *l)
{
	json_t	*v;
	int	 i;

	for (i = 0; i < l->ntoks; i++)
		if (json_is_integer(v = json_object_get(l->toks[i].j,
		    "maintenance-keyslot")))
			return (int)json_integer_value(v);
	return -1;
}

/* Records slot (-1: none) as t's maintenance keyslot; 0 or -1. */
static int
maint_record(struct luks *l, struct luks_tok *t, int slot)
{
	json_t	*v = json_object_get(t->j, "maintenance-keyslot");

	if (slot < 0 ? v == NULL : json_is_integer(v) &&
	    json_integer_value(v) == slot)
		return 0;
	if (slot < 0)
		json_object_del(t->j, "maintenance-keyslot");
	else
		json_object_set_new(t->j, "maintenance-keyslot",
		    json_integer(slot));
	return tok_save(l, t);
}

/*
 * Which keyslot holds l's maintenance key (see the top): -1 none, -2 the
 * file may be read by others than root (said).
 */
int
luks_maint_slot(struct luks *l)
{
	int	 slot = maint_recorded(l), r;

	if (slot < 0 || !luks_slot_active(l, slot))
		return -1;
	r = maint_opens(l, slot);
	return r == slot ? slot : r == -2 ? -2 : -1;
}

/* See luks.h. */
int
luks_maint_ensure(struct luks *l, struct luks_tok *t, const char *pass,
    size_t passlen)
{
	char	*path = NULL, *dir = NULL, *key = NULL;
	int	 slot, max, r, ret = -1;

	if ((slot = luks_maint_slot(l)) == -1)
		slot = maint_opens(l, -1);
	if (slot == -2)
		goto out;	/* never replaced while it may have leaked */
	if (slot >= 0 && slot != tok_slot(t)) {
		ret = maint_record(l, t, slot);
		goto out;
	}
	max = crypt_keyslot_max(CRYPT_LUKS2);
	for (slot = 0; slot < max; slot++)
		if (crypt_keyslot_status(l->cd, slot) == CRYPT_SLOT_INACTIVE)
			break;
	if (slot == max) {
		fprintf(stderr, "peerkey: %s: no free keyslot for the "
		    "maintenance key: \"peerkey reshare\" cannot re-split "
		    "it without a passphrase\n", l->device);
		goto out;
	}
	path = luks_maint_path(l->uuid);
	dir = local_path(LOCAL_MAINT_DIR);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "peerkey: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (chmod(dir, 0700) == -1 ||
	    (key = pk_secret_alloc(LUKS_KEY_LEN)) == NULL ||
	    luks_new_key(key) != 0 ||
	    pk_file_write(path, key, LUKS_KEY_LEN, 0400, 0) != 0) {
		fprintf(stderr, "peerkey: %s: cannot write the maintenance "
		    "key %s: %s\n", l->device, path, strerror(errno));
		goto out;
	}
	local_test_crash("maint-file");
	if (luks_add_slot(l, slot, pass, passlen, key) != 0)
		goto out;
	local_test_crash("maint-slot");
	if ((r = maint_record(l, t, slot)) != 0)
		goto out;
	if (!opt_json)
		printf("%s: maintenance key in keyslot %d (%s)\n", l->device,
		    slot, path);
	ret = 0;
out:
	pk_secret_free(key);
	free(path);
	free(dir);
	return ret;
}

/* See luks.h. */
int
luks_maint_drop(struct luks *l)
{
	char	*path = luks_maint_path(l->uuid);
	int	 slot = maint_recorded(l), i, r, ret = -1;

	if (slot >= 0 && luks_slot_active(l, slot)) {
		if (maint_opens(l, slot) != slot)
			fprintf(stderr, "peerkey: %s: keyslot %d, named as the "
			    "maintenance key's, is not opened by %s: left as "
			    "it is\n", l->device, slot, path);
		else if (luks_other_slots(l, slot) == 0) {
			fprintf(stderr, "peerkey: %s: keyslot %d is the only "
			    "keyslot left; refusing to kill it\n", l->device,
			    slot);
			goto out;
		} else if ((r = crypt_keyslot_destroy(l->cd, slot)) < 0) {
			fprintf(stderr, "peerkey: %s: cannot kill keyslot %d: "
			    "%s\n", l->device, slot, strerror(-r));
			goto out;
		} else if (!opt_json)
			printf("%s: maintenance key removed (keyslot %d)\n",
			    l->device, slot);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		fprintf(stderr, "peerkey: %s: %s\n", path, strerror(errno));
		goto out;
	}
	for (i = 0; i < l->ntoks; i++)
		if (maint_record(l, &l->toks[i], -1) != 0)
			goto out;
	ret = 0;
out:
	free(path);
	return ret;
}
