/*
 * pgp.h: OpenPGP through GPGME: the boot key pair, and encryption of
 * passphrases to it.
 *
 * Every call works in its own throw-away GnuPG home: a directory made with
 * mkdtemp() (mode 0700) under the caller's workdir, whose gpg.conf says
 * ignore-time-conflict and ignore-valid-from, so that keys "created in the
 * future" still work when the clock reads 1970 (an initramfs without an
 * RTC; Debian bug #894495). The home is passed to GnuPG only through
 * gpgme_ctx_set_engine_info(), never through the environment. Before a
 * call returns, any gpg-agent started for that home (GnuPG starts one on
 * demand to import a secret key; Debian bug #819982) is stopped and waited
 * for, and every file in the home is overwritten with zeros and removed.
 * Plaintext and secret keys travel through pipes only, never files.
 *
 * Binaries needed at run time (an initramfs must carry them): gpg,
 * gpg-agent and gpgconf, found by GPGME's default engine information.
 * workdir should be on a tmpfs (/run) and writable only by us.
 *
 * Every call that fails sets *cause (see pk_err.h; cause may be NULL) to
 * a short English reason, e.g. "no secret key for this message"; never
 * to secret material. No error state outlives a call.
 */
#ifndef PK_PGP_H
#define PK_PGP_H

#include <stddef.h>

/* No key, message or plaintext may be larger than this many bytes. */
#define PK_PGP_MAX_DATA		(1024 * 1024)

/*
 * Makes a new boot key pair: an Ed25519 primary key and a Cv25519
 * encryption subkey, no passphrase, no expiry, user id uid. Sets
 * *pub_armor (malloc, NUL-terminated, *publen bytes without the NUL) and
 * *sec_armor (pk_secret_alloc, NUL-terminated, *seclen bytes without the
 * NUL) to the ASCII-armored keys. Returns 0; PK_ERR_INVALID_ARG on a NULL
 * or empty argument; PK_ERR_SYSTEM if the temporary home cannot be made
 * (errno set); PK_ERR_ALLOC; PK_ERR_PGP if GnuPG fails. On failure
 * nothing is allocated and the out-parameters are left NULL/0.
 */
int	pk_pgp_generate(const char *workdir, const char *uid, char **pub_armor,
	    size_t *publen, char **sec_armor, size_t *seclen, char **cause);

/*
 * Encrypts plainlen bytes at plain to the one public key in pubkey
 * (armored or binary), without signing; sets *cipher (malloc) and
 * *cipherlen to the binary OpenPGP message. Returns 0;
 * PK_ERR_INVALID_ARG on NULL or empty input; PK_ERR_TOO_LARGE when an
 * input is over PK_PGP_MAX_DATA; PK_ERR_PGP when pubkey holds no key or
 * GnuPG fails; PK_ERR_KEY when pubkey holds more than one key or its key
 * cannot encrypt (no usable encryption subkey, revoked or expired);
 * PK_ERR_SYSTEM; PK_ERR_ALLOC.
 */
int	pk_pgp_encrypt(const char *workdir, const void *pubkey, size_t publen,
	    const void *plain, size_t plainlen, void **cipher,
	    size_t *cipherlen, char **cause);

/*
 * Decrypts the OpenPGP message at cipher (binary or armored) with the
 * secret key(s) in seckey (armored or binary, not passphrase-protected);
 * an embedded signature is not checked (as mandos-client). Sets *plain
 * (pk_secret_alloc; one NUL byte follows the data) and *plainlen. Returns
 * 0; PK_ERR_INVALID_ARG on NULL or empty input; PK_ERR_TOO_LARGE when an
 * input or the plaintext is over PK_PGP_MAX_DATA; PK_ERR_PGP when seckey
 * is not a usable secret key, the message is not for it, or the message
 * is corrupt or truncated; PK_ERR_SYSTEM; PK_ERR_ALLOC. On failure no
 * plaintext is returned, even partially.
 */
int	pk_pgp_decrypt(const char *workdir, const void *seckey, size_t seclen,
	    const void *cipher, size_t cipherlen, void **plain,
	    size_t *plainlen, char **cause);

/*
 * The same as pk_pgp_decrypt() in three steps, for a caller that wants the
 * GnuPG work out of its critical path (the boot agent imports its key
 * before it asks the peers, and tears GnuPG down after it has written the
 * passphrase) or decrypts several messages with one key.
 *
 * pk_pgp_keyring_open() makes a private GnuPG home under workdir and
 * imports seckey into it; it returns what pk_pgp_decrypt() returns for a
 * bad key or directory, and on success sets *out. The home, and the
 * gpg-agent that the import starts, live until pk_pgp_keyring_close().
 * pk_pgp_keyring_decrypt() returns what pk_pgp_decrypt() returns for the
 * message. pk_pgp_keyring_close() stops the agent, wipes and removes the
 * home, and frees kr (NULL is fine).
 *
 * pk_pgp_keyring_open_env() does the same in the home $GNUPGHOME names: a
 * directory the caller made (absolute, empty, its own, mode 0700; else
 * PK_ERR_INVALID_ARG or PK_ERR_PERM) and put in the environment before it
 * started any thread. gpg then finds its home by itself, which spares
 * GPGME one run of "gpg --version" (~15 ms) per process.
 */
struct pk_pgp_keyring;
int	pk_pgp_keyring_open(const char *workdir, const void *seckey,
	    size_t seclen, struct pk_pgp_keyring **out, char **cause);
int	pk_pgp_keyring_open_env(const void *seckey, size_t seclen,
	    struct pk_pgp_keyring **out, char **cause);
int	pk_pgp_keyring_decrypt(struct pk_pgp_keyring *kr, const void *cipher,
	    size_t cipherlen, void **plain, size_t *plainlen, char **cause);
void	pk_pgp_keyring_close(struct pk_pgp_keyring *kr);

#endif /* PK_PGP_H */
