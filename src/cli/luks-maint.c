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
 *
 * "On the encrypted root" is checked, not assumed: a new key is written
 * only when DIR/maint is on a filesystem whose block device is, or sits
 * on, a dm-crypt mapping (the "CRYPT-" device-mapper UUID, through LVM
 * or any stack of mappings: sysfs slaves), or on a memory filesystem
 * (tmpfs, ramfs: gone at power-off). Anything else (the key of a data
 * disk on a machine whose /etc is not encrypted; a filesystem that names
 * no block device, which cannot be told) gets no maintenance key, said:
 * a thief of the powered-off machine would read the key there, and the
 * peers' liveness check would no longer stand between him and the disk.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <linux/magic.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

/* 1 when the block device of sysfs directory sys (/sys/dev/block/M:m or
 * a slaves/ entry) is a dm-crypt mapping or sits on one. */
static int
maint_crypt_dev(const char *sys, int depth)
{
	char		 path[PATH_MAX], uuid[16];
	struct dirent	*e;
	FILE		*f;
	DIR		*d;
	int		 r = 0;

	if (depth > 8)
		return 0;
	snprintf(path, sizeof(path), "%s/dm/uuid", sys);
	if ((f = fopen(path, "r")) != NULL) {
		r = fgets(uuid, sizeof(uuid), f) != NULL &&
		    strncmp(uuid, "CRYPT-", 6) == 0;
		fclose(f);
		if (r)
			return 1;
	}
	snprintf(path, sizeof(path), "%s/slaves", sys);
	if ((d = opendir(path)) == NULL)
		return 0;
	while (!r && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/slaves/%s", sys, e->d_name);
		r = maint_crypt_dev(path, depth + 1);
	}
	closedir(d);
	return r;
}

/* The block device of the filesystem whose st_dev is dev, when it has
 * none of its own (btrfs): its mount source in /proc/self/mountinfo;
 * 0 when none names a block device. */
static dev_t
maint_mount_dev(dev_t dev)
{
	char		 line[4096], want[32], *p, *src;
	struct stat	 st;
	dev_t		 r = 0;
	FILE		*f;

	if ((f = fopen("/proc/self/mountinfo", "r")) == NULL)
		return 0;
	snprintf(want, sizeof(want), " %u:%u ", major(dev), minor(dev));
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		/* "ID PARENT M:m ROOT POINT OPTS... - TYPE SOURCE SUPER" */
		if ((p = strstr(line, want)) == NULL ||
		    (p = strstr(p, " - ")) == NULL ||
		    (p = strchr(p + 3, ' ')) == NULL)
			continue;
		src = p + 1;
		src[strcspn(src, " \n")] = '\0';
		if (src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode))
			r = st.st_rdev;
	}
	fclose(f);
	return r;
}

/*
 * 1 when dir is on a dm-crypt backed or a memory filesystem (see the
 * top); 0 with what it is on in why.
 */
static int
maint_dir_safe(const char *dir, char *why, size_t whylen)
{
	char		 sys[64];
	struct statfs	 sf;
	struct stat	 st;
	dev_t		 dev;

	if (statfs(dir, &sf) == -1 || stat(dir, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return 1;
	dev = major(st.st_dev) != 0 ? st.st_dev : maint_mount_dev(st.st_dev);
	if (dev == 0) {
		snprintf(why, whylen, "a filesystem of no block device");
		return 0;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(dev),
	    minor(dev));
	if (maint_crypt_dev(sys, 0))
		return 1;
	snprintf(why, whylen, "block device %u:%u, not dm-crypt", major(dev),
	    minor(dev));
	return 0;
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
	char	*path = NULL, *dir = NULL, *key = NULL, why[128];
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
	if (!maint_dir_safe(dir, why, sizeof(why))) {
		fprintf(stderr, "peerkey: %s: no maintenance key: %s is not on "
		    "an encrypted filesystem (%s), where a thief of the "
		    "powered-off machine could read it; \"peerkey reshare\" "
		    "cannot re-split this disk by itself\n", l->device, dir,
		    why);
		ret = 1;
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
