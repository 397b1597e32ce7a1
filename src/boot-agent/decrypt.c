/*
 * decrypt.c: the boot OpenPGP secret key, and decryption of the blobs that
 * peers send back.
 *
 * The secret key is read once into locked memory (pk_secret_alloc).
 * decrypt_prepare() imports it, in a thread of its own while the peers
 * are being asked, into a throw-away GnuPG home inside our private
 * directory, named by GNUPGHOME so that GPGME need not be told (and run
 * gpg once more to learn it); pgp.c makes GnuPG ignore "key created in the
 * future": the clock may read 1970 in an initramfs. Starting gpg and its
 * agent and importing costs more than the whole network exchange, so the
 * first blob finds it done, or waits only for the rest of it; every blob
 * reuses that home. The thread blocks the signals the main loop handles,
 * so that they still wake its poll(); nothing but it touches GnuPG until
 * decrypt_blob() has joined it. Stopping its gpg-agent and wiping the home
 * happens in decrypt_done(), after the passphrase has been written and
 * stdout closed: cryptsetup goes on while we clean up. Our private
 * directory is a mkdtemp() under the configured work directory (default
 * /run, a tmpfs), mode 0700, and is removed by decrypt_done() too.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "file.h"
#include "log.h"
#include "pgp.h"
#include "pk_err.h"
#include "secret.h"

static char			 privdir[PATH_MAX];
static char			 gnupghome[PATH_MAX];	/* in privdir */
static char			*seckey;
static size_t			 seclen;
static struct pk_pgp_keyring	*keyring;
static pthread_t		 prep_thread;
static int			 prep_running;	/* started, not joined */
static int			 prep_result;
static char			*prep_cause;	/* why it failed */

/*
 * Reads the secret key (refusing one that group or others may read) and
 * makes the private directory. Returns 0, PK_ERR_NOT_FOUND, PK_ERR_PERM,
 * PK_ERR_TOO_LARGE, PK_ERR_SYSTEM or PK_ERR_ALLOC.
 */
int
decrypt_init(const char *workdir, const char *path)
{
	int	 r, saved;

	if ((r = pk_file_read(path, PK_PGP_MAX_DATA, PK_FILE_PRIVATE |
	    PK_FILE_SECRET, &seckey, &seclen)) != 0)
		return r;
	if (seclen == 0)
		r = PK_ERR_TOO_LARGE;	/* as the size check always said */
	else if (snprintf(privdir, sizeof(privdir), "%s/peerkey-boot.XXXXXX",
	    workdir) >= (int)sizeof(privdir))
		r = PK_ERR_TOO_LARGE;
	else if (mkdtemp(privdir) == NULL) {
		privdir[0] = '\0';
		r = PK_ERR_SYSTEM;
	}
	if (r != 0) {
		saved = errno;
		pk_secret_free(seckey);
		seckey = NULL;
		seclen = 0;
		errno = saved;
	}
	return r;
}

/* The import thread: blocks our signals, then opens the keyring. */
static void *
decrypt_prepare_main(void *arg)
{
	sigset_t	 set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	prep_result = pk_pgp_keyring_open_env(seckey, seclen, &keyring,
	    &prep_cause);
	return NULL;
}

/*
 * Starts importing the key in the background, into a home in privdir named
 * by GNUPGHOME (set here, before any other thread exists; it saves GPGME
 * a run of gpg). If no thread can be made, the first decrypt_blob()
 * imports it itself. Returns 0 or a PK_ERR_*.
 */
int
decrypt_prepare(void)
{
	if (seckey == NULL || privdir[0] == '\0' || prep_running ||
	    keyring != NULL || gnupghome[0] != '\0')
		return PK_ERR_INVALID_ARG;
	/* A unique last component: pgp.c finds its gpg-agent by it. */
	if (snprintf(gnupghome, sizeof(gnupghome), "%s/pk-gnupg.XXXXXX",
	    privdir) >= (int)sizeof(gnupghome)) {
		gnupghome[0] = '\0';
		return PK_ERR_TOO_LARGE;
	}
	if (mkdtemp(gnupghome) == NULL) {
		gnupghome[0] = '\0';
		return PK_ERR_SYSTEM;
	}
	if (setenv("GNUPGHOME", gnupghome, 1) == -1)
		return PK_ERR_SYSTEM;
	prep_result = 0;
	if (pthread_create(&prep_thread, NULL, decrypt_prepare_main, NULL)
	    != 0)
		return PK_ERR_SYSTEM;
	prep_running = 1;
	return 0;
}

/*
 * Waits for the import thread if it runs; returns its result (and its
 * cause) once.
 */
static int
decrypt_join(char **cause)
{
	int	 r;

	if (!prep_running)
		return 0;
	(void)pthread_join(prep_thread, NULL);
	prep_running = 0;
	r = prep_result;
	prep_result = 0;
	if (prep_cause != NULL)
		pk_cause_set(cause, "%s", prep_cause);
	free(prep_cause);
	prep_cause = NULL;
	return r;
}

/*
 * Waits for the import thread, if any, and returns its result once;
 * without a keyring (no thread, or it failed before), imports now.
 */
static int
decrypt_ready(char **cause)
{
	int	 r;

	if ((r = decrypt_join(cause)) != 0)
		return r;
	/* No thread, or it failed (and removed its home): a home of its own. */
	if (keyring == NULL)
		return pk_pgp_keyring_open(privdir, seckey, seclen, &keyring,
		    cause);
	return 0;
}

/*
 * Decrypts one blob into *pass (pk_secret_alloc, NUL after it). Returns 0,
 * PK_ERR_PGP (not for our key, corrupt: *cause says why), or another
 * PK_ERR_*.
 */
int
decrypt_blob(const void *cipher, size_t len, char **pass, size_t *passlen,
    char **cause)
{
	void	*plain = NULL;
	size_t	 plainlen = 0;
	int	 r;

	if (seckey == NULL || privdir[0] == '\0')
		return PK_ERR_INVALID_ARG;
	if ((r = decrypt_ready(cause)) != 0)
		return r;
	r = pk_pgp_keyring_decrypt(keyring, cipher, len, &plain, &plainlen,
	    cause);
	if (r != 0)
		return r;
	if (plainlen == 0) {
		pk_secret_free(plain);
		pk_cause_set(cause, "empty plaintext");
		return PK_ERR_PGP;
	}
	*pass = plain;
	*passlen = plainlen;
	return 0;
}

/* Tears GnuPG down, forgets the key and removes the private directory. */
void
decrypt_done(void)
{
	(void)decrypt_join(NULL);
	pk_pgp_keyring_close(keyring);
	keyring = NULL;
	pk_secret_free(seckey);
	seckey = NULL;
	seclen = 0;
	if (gnupghome[0] != '\0')
		(void)rmdir(gnupghome);	/* if the import never began */
	gnupghome[0] = '\0';
	if (privdir[0] != '\0' && rmdir(privdir) == -1)
		log_warn("rmdir %s", privdir);
	privdir[0] = '\0';
}
