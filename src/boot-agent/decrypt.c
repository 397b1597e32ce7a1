/*
 * decrypt.c: the boot OpenPGP secret key, and decryption of the blobs that
 * peers send back.
 *
 * The secret key is read once into locked memory (pk_secret_alloc). Every
 * decryption runs in libpeerkey's pgp.c, which makes a throw-away GnuPG
 * home inside our private directory, tells GnuPG to ignore "key created in
 * the future" (the clock may read 1970 in an initramfs), stops the
 * gpg-agent it needed and wipes the home before returning. Our private
 * directory is a mkdtemp() under the configured work directory (default
 * /run, a tmpfs), mode 0700, and is removed by decrypt_done().
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "log.h"
#include "pgp.h"
#include "pk_err.h"
#include "secret.h"

static char	 privdir[PATH_MAX];
static char	*seckey;
static size_t	 seclen;

/*
 * Reads the secret key (refusing one that group or others may read) and
 * makes the private directory. Returns 0, PK_ERR_NOT_FOUND, PK_ERR_PERM,
 * PK_ERR_TOO_LARGE, PK_ERR_SYSTEM or PK_ERR_ALLOC.
 */
int
decrypt_init(const char *workdir, const char *path)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd, r = PK_ERR_SYSTEM;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? PK_ERR_NOT_FOUND : PK_ERR_SYSTEM;
	if (fstat(fd, &st) == -1)
		goto out;
	if ((st.st_mode & 077) != 0) {
		r = PK_ERR_PERM;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > PK_PGP_MAX_DATA) {
		r = PK_ERR_TOO_LARGE;
		goto out;
	}
	if ((seckey = pk_secret_alloc((size_t)st.st_size + 1)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	seclen = 0;
	while (seclen < (size_t)st.st_size) {
		n = read(fd, seckey + seclen, (size_t)st.st_size - seclen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		seclen += (size_t)n;
	}
	if (seclen == 0)
		goto out;
	if (snprintf(privdir, sizeof(privdir), "%s/peerkey-boot.XXXXXX",
	    workdir) >= (int)sizeof(privdir)) {
		r = PK_ERR_TOO_LARGE;
		goto out;
	}
	if (mkdtemp(privdir) == NULL) {
		privdir[0] = '\0';
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		pk_secret_free(seckey);
		seckey = NULL;
	}
	close(fd);
	return r;
}

/*
 * Decrypts one blob into *pass (pk_secret_alloc, NUL after it). Returns 0,
 * PK_ERR_PGP (not for our key, corrupt: pk_pgp_last_error() says why), or
 * another PK_ERR_*.
 */
int
decrypt_blob(const void *cipher, size_t len, char **pass, size_t *passlen)
{
	void	*plain = NULL;
	size_t	 plainlen = 0;
	int	 r;

	if (seckey == NULL || privdir[0] == '\0')
		return PK_ERR_INVALID_ARG;
	r = pk_pgp_decrypt(privdir, seckey, seclen, cipher, len, &plain,
	    &plainlen);
	if (r != 0)
		return r;
	if (plainlen == 0) {
		pk_secret_free(plain);
		return PK_ERR_PGP;
	}
	*pass = plain;
	*passlen = plainlen;
	return 0;
}

/* Forgets the key and removes the private directory. */
void
decrypt_done(void)
{
	pk_secret_free(seckey);
	seckey = NULL;
	seclen = 0;
	if (privdir[0] != '\0' && rmdir(privdir) == -1)
		log_warn("rmdir %s", privdir);
	privdir[0] = '\0';
}
