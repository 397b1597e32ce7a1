/*
 * file.h: small files read and written whole (keys, configuration, the
 * boot OpenPGP key): the one reader that checks what such a file must be
 * before trusting it, and the one writer that never leaves half a file.
 */
#ifndef PK_FILE_H
#define PK_FILE_H

#include <sys/types.h>

#include <stddef.h>

#define PK_FILE_PRIVATE	0x1	/* refuse a file group or others may read */
#define PK_FILE_SECRET	0x2	/* read into pk_secret_alloc() memory */
#define PK_FILE_NOCLOBBER 0x4	/* write: never replace an existing file */
/*
 * Refuse a file others may read. For a systemd credential (LoadCredential=):
 * systemd gives the service's user read access by owning the file (ramfs)
 * or by an ACL entry (tmpfs), which shows as the group bits of the mode.
 */
#define PK_FILE_CREDENTIAL 0x8

/*
 * Reads the regular file at path, of at most max bytes, into *out (NUL-
 * terminated; *len bytes before the NUL, 0 for an empty file): malloc'ed,
 * or with PK_FILE_SECRET locked memory to free with pk_secret_free().
 * A file that grows while it is read is refused as too large. Returns 0;
 * PK_ERR_NOT_FOUND (no such file or directory); PK_ERR_PERM (with
 * PK_FILE_PRIVATE, mode bits for group or others; with PK_FILE_CREDENTIAL,
 * for others); PK_ERR_TOO_LARGE;
 * PK_ERR_ALLOC; PK_ERR_SYSTEM with errno set (EINVAL: not a regular
 * file). On failure *out is NULL and nothing read is left in memory.
 */
int	pk_file_read(const char *path, size_t max, int flags, char **out,
	    size_t *len);

/*
 * Writes len bytes at buf as the file path, mode mode whatever the umask:
 * into a temporary file beside it (mkostemp), synced, then renamed over
 * path (with PK_FILE_NOCLOBBER linked, so that a path that exists, or
 * appears meanwhile, is left alone), and the directory synced. A crash
 * leaves the old file or the new one, never a mix. Returns 0,
 * PK_ERR_EXISTS or PK_ERR_SYSTEM (errno set).
 */
int	pk_file_write(const char *path, const void *buf, size_t len,
	    mode_t mode, int flags);

#endif /* PK_FILE_H */
