/*
 * key.h: Ed25519 identities (node keys and boot TLS keys) and key ids.
 * A boot TLS key may instead be an ECDSA P-256 key inside a TPM (tpm.h),
 * whose identity signs through an external key (the ext_ fields).
 *
 * A key id is the lowercase hex SHA-256 of the public key's DER
 * SubjectPublicKeyInfo: exactly Mandos' key_id (compared case-blind), and
 * what `certtool --key-id --hash=sha256` prints.
 *
 * Private keys are PKCS#8 PEM files, created mode 0600 (written to a
 * temporary file in the same directory, fsync'ed, renamed). Loading a
 * private key refuses a file that group or others can read
 * (PK_ERR_PERM), in the manner of OpenSSH's authfile.c.
 */
#ifndef PK_KEY_H
#define PK_KEY_H

#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#define PK_KEYID_HEXLEN	64

struct pk_identity {
	gnutls_privkey_t	 priv;
	gnutls_pubkey_t		 pub;
	char			 keyid[PK_KEYID_HEXLEN + 1];
	/*
	 * An external key (a TPM's, tpm.c), whose private part cannot be
	 * exported: ext_dup makes one more GnuTLS handle on it, for TLS
	 * credentials (which own the handles they are given); ext_free
	 * releases ext when the identity is freed; ext_error says why its
	 * last signature failed (GnuTLS only knows that it did). NULL for a
	 * software key.
	 */
	int			(*ext_dup)(const struct pk_identity *,
				    gnutls_privkey_t *);
	void			(*ext_free)(void *);
	const char		*(*ext_error)(void *);
	void			*ext;
};

/* Makes a fresh Ed25519 identity in *out. Returns 0 or PK_ERR_KEY. */
int	pk_identity_generate(struct pk_identity **out);

/*
 * Loads a private key from a PEM file (PKCS#8, as peerkey and
 * mandos-keygen write it) and derives the public key and key id.
 * Returns 0, PK_ERR_NOT_FOUND, PK_ERR_PERM (group/world readable),
 * PK_ERR_KEY (not an Ed25519 private key), PK_ERR_SYSTEM.
 */
int	pk_identity_load(const char *path, struct pk_identity **out);

/*
 * The same, for a key that systemd passed as a credential
 * (LoadCredential=, in $CREDENTIALS_DIRECTORY): group bits may be an ACL
 * for the service's user, so only bits for others are refused.
 */
int	pk_identity_load_credential(const char *path,
	    struct pk_identity **out);

/*
 * Saves the private key as PEM, mode 0600, atomically. Refuses to
 * overwrite an existing file (PK_ERR_EXISTS) unless overwrite is set.
 * Returns 0, PK_ERR_EXISTS, PK_ERR_SYSTEM, PK_ERR_KEY.
 */
int	pk_identity_save(const struct pk_identity *id, const char *path,
	    int overwrite);

/* Saves the public key as PEM SubjectPublicKeyInfo, mode 0644. */
int	pk_identity_save_public(const struct pk_identity *id,
	    const char *path, int overwrite);

void	pk_identity_free(struct pk_identity *id);

/*
 * Exports the private key as unencrypted PKCS#8 PEM into *pem (for TLS
 * credentials); pk_identity_export_free() wipes and frees it.
 * Returns 0, PK_ERR_INVALID_ARG or PK_ERR_KEY.
 */
int	pk_identity_export_private(const struct pk_identity *id,
	    gnutls_datum_t *pem);
void	pk_identity_export_free(gnutls_datum_t *pem);

/* Computes the key id of a public key into out (65 bytes). */
int	pk_keyid_from_pubkey(gnutls_pubkey_t pub, char *out);

/* Computes the key id of a DER SubjectPublicKeyInfo into out. */
int	pk_keyid_from_spki(const unsigned char *der, size_t len, char *out);

/* Reads a PEM public key file (SubjectPublicKeyInfo) and computes its id. */
int	pk_keyid_from_pubkey_file(const char *path, char *out);

/*
 * Returns 1 if s is a syntactically valid key id (64 hex digits, either
 * case, not the id of the empty string), else 0. pk_keyid_normalize()
 * lower-cases a valid id in place.
 */
int	pk_keyid_valid(const char *s);
void	pk_keyid_normalize(char *s);

#endif /* PK_KEY_H */
