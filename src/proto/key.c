/*
 * key.c: Ed25519 identities and key ids (see key.h).
 *
 * A key id is the SHA-256 of the DER SubjectPublicKeyInfo, in lowercase
 * hex, as Mandos computes it. Private keys live in PKCS#8 PEM files of
 * mode 0600; loading refuses a file with any group or other permission
 * bit, like OpenSSH's sshkey_perm_ok(). Saving writes a temporary file in
 * the same directory, fsyncs it and then renames (or, when overwriting is
 * not allowed, hard-links) it into place, so a reader never sees half a
 * key and an existing key is never clobbered by a race.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "file.h"
#include "key.h"
#include "pk_err.h"
#include "secret.h"

/* Key files are tiny; anything larger is not one of ours. */
#define KEYFILE_MAX	(64 * 1024)

/* SHA-256 of the empty string: never a valid key id (Mandos agrees). */
static const char empty_keyid[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* Wipes len bytes at p in a way the compiler cannot drop. */
static void
key_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		gnutls_memset(p, 0, len);
}

/* Frees a GnuTLS datum after wiping its contents. */
static void
key_datum_free(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		key_wipe(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/*
 * Reads a key file into d: a private one (check PK_FILE_PRIVATE or
 * PK_FILE_CREDENTIAL, 0 for a public one) into locked memory (free it
 * with pk_secret_free()). Returns what pk_file_read() returns, or
 * PK_ERR_KEY for an empty file.
 */
static int
key_read_file(const char *path, int check, gnutls_datum_t *d)
{
	char	*buf;
	size_t	 len;
	int	 private = check != 0, r;
	int	 flags = private ? check | PK_FILE_SECRET : 0;

	d->data = NULL;
	d->size = 0;
	if ((r = pk_file_read(path, KEYFILE_MAX, flags, &buf, &len)) != 0)
		return r;
	if (len == 0) {
		if (private)
			pk_secret_free(buf);
		else
			free(buf);
		return PK_ERR_KEY;
	}
	d->data = (unsigned char *)buf;
	d->size = (unsigned int)len;	/* KEYFILE_MAX fits */
	return 0;
}

/* Computes the key id of a DER SubjectPublicKeyInfo into out. */
int
pk_keyid_from_spki(const unsigned char *der, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];
	size_t			 i;

	if (der == NULL || len == 0 || out == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, md) < 0)
		return PK_ERR_KEY;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[PK_KEYID_HEXLEN] = '\0';
	return 0;
}

/* Computes the key id of a public key into out (65 bytes). */
int
pk_keyid_from_pubkey(gnutls_pubkey_t pub, char *out)
{
	gnutls_datum_t	der = { NULL, 0 };
	int		r;

	if (pub == NULL || out == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0)
		return PK_ERR_KEY;
	r = pk_keyid_from_spki(der.data, der.size, out);
	gnutls_free(der.data);
	return r;
}

/* Reads a PEM public key file (SubjectPublicKeyInfo) and computes its id. */
int
pk_keyid_from_pubkey_file(const char *path, char *out)
{
	gnutls_pubkey_t	 pub = NULL;
	gnutls_datum_t	 d;
	int		 r;

	if (path == NULL || out == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = key_read_file(path, 0, &d)) != 0)
		return r;
	if (gnutls_pubkey_init(&pub) < 0) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	if (gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_PEM) < 0) {
		r = PK_ERR_KEY;
		goto out;
	}
	r = pk_keyid_from_pubkey(pub, out);
 out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	free(d.data);
	return r;
}

/*
 * Fills in id->pub and id->keyid from id->priv, which must hold an
 * Ed25519 key. Returns 0 or PK_ERR_KEY / PK_ERR_ALLOC.
 */
static int
identity_complete(struct pk_identity *id)
{
	if (gnutls_privkey_get_pk_algorithm(id->priv, NULL) !=
	    GNUTLS_PK_EDDSA_ED25519)
		return PK_ERR_KEY;
	if (gnutls_pubkey_init(&id->pub) < 0) {
		id->pub = NULL;
		return PK_ERR_ALLOC;
	}
	if (gnutls_pubkey_import_privkey(id->pub, id->priv, 0, 0) < 0)
		return PK_ERR_KEY;
	return pk_keyid_from_pubkey(id->pub, id->keyid);
}

/* Allocates an empty identity with an initialised private key. */
static int
identity_new(struct pk_identity **out)
{
	struct pk_identity	*id;

	if ((id = calloc(1, sizeof(*id))) == NULL)
		return PK_ERR_ALLOC;
	if (gnutls_privkey_init(&id->priv) < 0) {
		free(id);
		return PK_ERR_ALLOC;
	}
	*out = id;
	return 0;
}

/*
 * Makes an identity in *out from the PKCS#8 PEM key in pem, or a fresh
 * Ed25519 one when pem is NULL. Returns 0, PK_ERR_KEY or PK_ERR_ALLOC.
 */
static int
identity_make(const gnutls_datum_t *pem, struct pk_identity **out)
{
	struct pk_identity	*id = NULL;
	int			 r;

	*out = NULL;
	if ((r = identity_new(&id)) != 0)
		return r;
	/* No password: an encrypted key is not usable unattended. */
	if ((pem == NULL ? gnutls_privkey_generate(id->priv,
	    GNUTLS_PK_EDDSA_ED25519,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0) :
	    gnutls_privkey_import_x509_raw(id->priv, pem, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0) {
		r = PK_ERR_KEY;
		goto out;
	}
	if ((r = identity_complete(id)) != 0)
		goto out;
	*out = id;
	id = NULL;
 out:
	pk_identity_free(id);
	return r;
}

/* Makes a fresh Ed25519 identity in *out. Returns 0 or PK_ERR_KEY. */
int
pk_identity_generate(struct pk_identity **out)
{
	if (out == NULL)
		return PK_ERR_INVALID_ARG;
	return identity_make(NULL, out);
}

/* Loads an Ed25519 private key from a PKCS#8 PEM file (see key.h). */
static int
identity_load(const char *path, int check, struct pk_identity **out)
{
	gnutls_datum_t	 d;
	int		 r;

	if (path == NULL || out == NULL)
		return PK_ERR_INVALID_ARG;
	*out = NULL;
	if ((r = key_read_file(path, check, &d)) != 0)
		return r;
	r = identity_make(&d, out);
	pk_secret_free(d.data);
	return r;
}

int
pk_identity_load(const char *path, struct pk_identity **out)
{
	return identity_load(path, PK_FILE_PRIVATE, out);
}

int
pk_identity_load_credential(const char *path, struct pk_identity **out)
{
	return identity_load(path, PK_FILE_CREDENTIAL, out);
}

/*
 * Exports the private key as unencrypted PKCS#8 PEM into *pem (free it
 * with pk_identity_export_free(), which wipes it). Returns 0 or
 * PK_ERR_KEY.
 */
int
pk_identity_export_private(const struct pk_identity *id, gnutls_datum_t *pem)
{
	gnutls_x509_privkey_t	xkey = NULL;
	int			r = PK_ERR_KEY;

	if (id == NULL || id->priv == NULL || pem == NULL)
		return PK_ERR_INVALID_ARG;
	pem->data = NULL;
	pem->size = 0;
	if (gnutls_privkey_export_x509(id->priv, &xkey) < 0)
		return PK_ERR_KEY;
	if (gnutls_x509_privkey_export2_pkcs8(xkey, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN, pem) < 0) {
		key_datum_free(pem);
		goto out;
	}
	r = 0;
 out:
	gnutls_x509_privkey_deinit(xkey);
	return r;
}

/* Wipes and frees what pk_identity_export_private() returned. */
void
pk_identity_export_free(gnutls_datum_t *pem)
{
	if (pem != NULL)
		key_datum_free(pem);
}

/* Saves the private key as PKCS#8 PEM, mode 0600, atomically. */
int
pk_identity_save(const struct pk_identity *id, const char *path,
    int overwrite)
{
	gnutls_datum_t	pem = { NULL, 0 };
	int		r;

	if (id == NULL || path == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = pk_identity_export_private(id, &pem)) != 0)
		return r;
	r = pk_file_write(path, pem.data, pem.size, 0600,
	    overwrite ? 0 : PK_FILE_NOCLOBBER);
	key_datum_free(&pem);
	return r;
}

/* Saves the public key as PEM SubjectPublicKeyInfo, mode 0644. */
int
pk_identity_save_public(const struct pk_identity *id, const char *path,
    int overwrite)
{
	gnutls_datum_t	pem = { NULL, 0 };
	int		r;

	if (id == NULL || id->pub == NULL || path == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_pubkey_export2(id->pub, GNUTLS_X509_FMT_PEM, &pem) < 0)
		return PK_ERR_KEY;
	r = pk_file_write(path, pem.data, pem.size, 0644,
	    overwrite ? 0 : PK_FILE_NOCLOBBER);
	gnutls_free(pem.data);
	return r;
}

/* Frees an identity; GnuTLS zeroes the private key material. */
void
pk_identity_free(struct pk_identity *id)
{
	if (id == NULL)
		return;
	if (id->priv != NULL)
		gnutls_privkey_deinit(id->priv);
	if (id->pub != NULL)
		gnutls_pubkey_deinit(id->pub);
	if (id->ext_free != NULL)
		id->ext_free(id->ext);
	key_wipe(id, sizeof(*id));
	free(id);
}

/* Returns 1 if s is 64 hex digits and not the id of the empty string. */
int
pk_keyid_valid(const char *s)
{
	size_t	i;

	if (s == NULL)
		return 0;
	for (i = 0; i < PK_KEYID_HEXLEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	if (s[PK_KEYID_HEXLEN] != '\0')
		return 0;
	if (strcasecmp(s, empty_keyid) == 0)
		return 0;
	return 1;
}

/* Lower-cases a key id in place. */
void
pk_keyid_normalize(char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}
