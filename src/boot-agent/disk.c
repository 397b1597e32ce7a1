/*
 * disk.c: the LUKS device being unlocked, as its header tells (read with
 * libcryptsetup): its UUID, which names its blob, and the keyslots
 * peerkey added; and the test of a passphrase against it.
 *
 * "peerkey enroll" deposits a disk's key as blob "luks-UUID" (disks
 * enrolled by an earlier peerkey: "UUID:SLOT"), so the UUID in the
 * header is all the agent needs to pick the disk's blob from the ones a
 * peer sends. Before a passphrase is handed over it is tried against the
 * header without activating anything (crypt_activate_by_passphrase with
 * no name): a stale blob, another disk's, or an answer made up by a rogue
 * announcer is then skipped for the next blob or peer instead of failing
 * cryptsetup. The test tries only the keyslots the peerkey tokens name
 * (PBKDF2 at its minimum, a millisecond); on a disk without such a token
 * (a blob put by hand, a Mandos import) every keyslot, at its own PBKDF
 * cost. The header is outside the encryption, so anyone holding the disk
 * may have written it: it only orders and filters what the agent tries,
 * and a passphrase is handed over only when the header's own keyslot
 * accepts it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libcryptsetup.h>

#include "boot.h"
#include "log.h"
#include "pk_err.h"

#define DISK_TOKEN_TYPE		"peerkey"
#define DISK_SLOTS_MAX		32

struct disk {
	struct crypt_device	*cd;
	char			 path[BOOT_DEV_MAX];
	char			 uuid[BOOT_UUID_MAX];
	int			 slots[DISK_SLOTS_MAX];	/* peerkey keyslots */
	int			 nslots;
};

/* libcryptsetup's messages go to our debug log, never to the console. */
static void
disk_log(int level, const char *msg, void *arg)
{
	(void)arg;
	(void)level;
	log_debug("libcryptsetup: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * Reads the LUKS header of path. Returns 0 and *out, or a PK_ERR_* with
 * *cause set (allocated): not a LUKS device, unreadable.
 */
int
disk_open(const char *path, struct disk **out, char **cause)
{
	struct disk	*d;
	const char	*type, *u;
	int		 r, t, s, tmax, smax;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PK_ERR_ALLOC;
	crypt_set_log_callback(NULL, disk_log, NULL);
	if (boot_strlcpy(d->path, path, sizeof(d->path)) >= sizeof(d->path)) {
		free(d);
		return PK_ERR_TOO_LARGE;
	}
	if ((r = crypt_init(&d->cd, path)) < 0) {
		if (asprintf(cause, "%s: %s", path, strerror(-r)) == -1)
			*cause = NULL;
		free(d);
		return PK_ERR_NOT_FOUND;
	}
	/* NULL: any LUKS version. */
	if ((r = crypt_load(d->cd, NULL, NULL)) < 0) {
		if (asprintf(cause, "%s: no LUKS header (%s)", path,
		    strerror(-r)) == -1)
			*cause = NULL;
		crypt_free(d->cd);
		free(d);
		return PK_ERR_BAD_FORMAT;
	}
	u = crypt_get_uuid(d->cd);
	boot_strlcpy(d->uuid, u != NULL ? u : "", sizeof(d->uuid));
	tmax = crypt_token_max(CRYPT_LUKS2);
	smax = crypt_keyslot_max(CRYPT_LUKS2);
	for (t = 0; tmax > 0 && t < tmax; t++) {
		r = crypt_token_status(d->cd, t, &type);
		if (r == CRYPT_TOKEN_INACTIVE || r == CRYPT_TOKEN_INVALID ||
		    type == NULL || strcmp(type, DISK_TOKEN_TYPE) != 0)
			continue;
		for (s = 0; s < smax && d->nslots < DISK_SLOTS_MAX; s++)
			if (crypt_token_is_assigned(d->cd, t, s) == 0)
				d->slots[d->nslots++] = s;
	}
	log_debug("%s: LUKS UUID %s, %d peerkey keyslot%s", path, d->uuid,
	    d->nslots, d->nslots == 1 ? "" : "s");
	*out = d;
	return 0;
}

const char *
disk_path(const struct disk *d)
{
	return d->path;
}

const char *
disk_uuid(const struct disk *d)
{
	return d->uuid;
}

/*
 * Is blob id (len bytes, not NUL-terminated) the blob of the disk with
 * this UUID: "luks-UUID", a threshold split's share "luks-UUID@EPOCH",
 * or "UUID:SLOT" as an earlier peerkey named it?
 * Case does not matter (a UUID's hex digits).
 */
int
disk_blob_matches(const char *uuid, const char *id, size_t len)
{
	size_t	n = strlen(uuid), i;

	if (n == 0)
		return 0;
	if (len == n + 5 && strncasecmp(id, "luks-", 5) == 0 &&
	    strncasecmp(id + 5, uuid, n) == 0)
		return 1;
	/* A threshold split's share: "luks-UUID@EPOCH". */
	if (len > n + 6 && strncasecmp(id, "luks-", 5) == 0 &&
	    strncasecmp(id + 5, uuid, n) == 0 && id[n + 5] == '@') {
		for (i = n + 6; i < len; i++)
			if (id[i] < '0' || id[i] > '9')
				return 0;
		return 1;
	}
	if (len > n + 1 && strncasecmp(id, uuid, n) == 0 && id[n] == ':') {
		for (i = n + 1; i < len; i++)
			if (id[i] < '0' || id[i] > '9')
				return 0;
		return 1;
	}
	return 0;
}

/*
 * Tries pass against the header, activating nothing: the peerkey
 * keyslots, or every keyslot if there are none. Returns 0 if one opens,
 * PK_ERR_KEY if none does, PK_ERR_SYSTEM otherwise (errno set).
 */
int
disk_check(struct disk *d, const char *pass, size_t len)
{
	int	i, r = -EPERM;

	if (d->nslots == 0)
		r = crypt_activate_by_passphrase(d->cd, NULL, CRYPT_ANY_SLOT,
		    pass, len, 0);
	for (i = 0; i < d->nslots && r < 0; i++)
		r = crypt_activate_by_passphrase(d->cd, NULL, d->slots[i],
		    pass, len, 0);
	if (r >= 0)
		return 0;
	if (r == -EPERM || r == -ENOENT)
		return PK_ERR_KEY;
	errno = -r;
	return PK_ERR_SYSTEM;
}

void
disk_close(struct disk *d)
{
	if (d == NULL)
		return;
	crypt_free(d->cd);
	free(d);
}
