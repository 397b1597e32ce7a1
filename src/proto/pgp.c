/*
 * pgp.c: OpenPGP through GPGME, each call in a throw-away GnuPG home
 * (pgp-home.c makes and destroys the homes).
 *
 * A home is made under the caller's workdir, used by one GPGME context
 * (GnuPG learns its path only through gpgme_ctx_set_engine_info()), and
 * torn down before the call returns: if /proc shows a gpg-agent (or other
 * GnuPG daemon) started for it, SIGTERM stops it ("gpgconf --kill all"
 * without /proc) and we wait until none is left (SIGKILL after 3 s), then
 * every file is overwritten and removed. GPGME is told not to run gpgconf
 * nor probe engines other than gpg (see pgp_init).
 * Secret data crosses GPGME through pipes: input from caller memory
 * (gpgme_data_new_from_mem without copy), output into a callback data
 * object that writes straight into pk_secret_alloc memory.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpgme.h>

#include "pgp.h"
#include "pgp-int.h"
#include "pk_err.h"
#include "secret.h"

#define PGP_MAX_UID		256

/* A write-only GPGME data sink into growing (possibly secret) memory. */
struct pgp_sink {
	char		*ps_buf;
	size_t		 ps_len;
	size_t		 ps_cap;
	int		 ps_secret;
	int		 ps_overflow;
};

static int	pgp_inited;

/* Turns a GPGME error into a PK_ERR_* code and a cause. */
int
pgp_fail(char **cause, gpgme_error_t e, const char *what)
{
	switch (gpgme_err_code(e)) {
	case GPG_ERR_ENOMEM:
		pk_cause_set(cause, "%s: out of memory", what);
		return PK_ERR_ALLOC;
	case GPG_ERR_NO_SECKEY:
		pk_cause_set(cause, "no secret key for this message");
		return PK_ERR_PGP;
	case GPG_ERR_NO_DATA:
		pk_cause_set(cause, "%s: no OpenPGP data found", what);
		return PK_ERR_PGP;
	case GPG_ERR_CANCELED:
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_NO_PASSPHRASE:
		pk_cause_set(cause, "%s: secret key is passphrase-protected",
		    what);
		return PK_ERR_PGP;
	case GPG_ERR_BAD_DATA:
	case GPG_ERR_INV_PACKET:
	case GPG_ERR_DECRYPT_FAILED:
	case GPG_ERR_BAD_KEY:
	case GPG_ERR_CHECKSUM:
		pk_cause_set(cause, "%s: corrupt or undecryptable message "
		    "(%s)", what, gpgme_strerror(e));
		return PK_ERR_PGP;
	default:
		pk_cause_set(cause, "%s: %s", what, gpgme_strerror(e));
		return PK_ERR_PGP;
	}
}

/* Initialises GPGME once and checks that gpg is there. */
int
pgp_init(char **cause)
{
	gpgme_error_t e;

	if (pgp_inited)
		return 0;
	/*
	 * We use the OpenPGP engine only. Without this GPGME runs gpgconf
	 * twice to learn paths and then every engine's --version (gpgsm,
	 * gpgconf, gpg): about 100 ms at boot for nothing. gpg is then found
	 * on PATH; pgp_agent_stop() does not need GPGME to find gpgconf.
	 */
	(void)gpgme_set_global_flag("disable-gpgconf", "1");
	if (gpgme_check_version(NULL) == NULL) {
		pk_cause_set(cause, "GPGME initialisation failed");
		return PK_ERR_PGP;
	}
	if ((e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0) {
		pk_cause_set(cause, "gpg engine unusable: %s",
		    gpgme_strerror(e));
		return PK_ERR_PGP;
	}
	pgp_inited = 1;
	return 0;
}

/* Refuses every passphrase request: our keys never have one. */
gpgme_error_t
pgp_no_passphrase(void *hook, const char *uid_hint,
    const char *passphrase_info, int prev_was_bad, int fd)
{
	return gpgme_error(GPG_ERR_CANCELED);
}

/* GPGME write callback: appends to the sink, up to PK_PGP_MAX_DATA. */
static ssize_t
pgp_sink_write(void *handle, const void *buf, size_t n)
{
	struct pgp_sink *s = handle;
	size_t ncap;
	char *nb;

	if (n > PK_PGP_MAX_DATA - s->ps_len) {
		s->ps_overflow = 1;
		errno = EFBIG;
		return -1;
	}
	/* Keep room for a terminating NUL. */
	if (s->ps_len + n + 1 > s->ps_cap) {
		ncap = s->ps_cap < 256 ? 256 : s->ps_cap;
		while (ncap < s->ps_len + n + 1)
			ncap *= 2;
		if (s->ps_secret)
			nb = pk_secret_realloc(s->ps_buf, ncap);
		else
			nb = realloc(s->ps_buf, ncap);
		if (nb == NULL) {
			errno = ENOMEM;
			return -1;
		}
		s->ps_buf = nb;
		s->ps_cap = ncap;
	}
	memcpy(s->ps_buf + s->ps_len, buf, n);
	s->ps_len += n;
	s->ps_buf[s->ps_len] = '\0';
	return (ssize_t)n;
}

/* Frees whatever the sink holds. */
static void
pgp_sink_free(struct pgp_sink *s)
{
	if (s->ps_secret)
		pk_secret_free(s->ps_buf);
	else
		free(s->ps_buf);
	memset(s, 0, sizeof(*s));
}

/* Hands the sink's buffer over to *out and *len; the sink is empty then. */
static void
pgp_sink_take(struct pgp_sink *s, void **out, size_t *len)
{
	*out = s->ps_buf;
	*len = s->ps_len;
	memset(s, 0, sizeof(*s));
}

/* Makes a GPGME data object writing into sink s. */
static int
pgp_sink_data(struct pgp_sink *s, struct gpgme_data_cbs *cbs, int secret,
    gpgme_data_t *dp, char **cause)
{
	gpgme_error_t e;

	memset(s, 0, sizeof(*s));
	memset(cbs, 0, sizeof(*cbs));
	s->ps_secret = secret;
	cbs->write = pgp_sink_write;
	if ((e = gpgme_data_new_from_cbs(dp, cbs, s)) != 0) {
		*dp = NULL;
		return pgp_fail(cause, e, "gpgme_data_new_from_cbs");
	}
	return 0;
}

/*
 * Makes the two data objects of one operation: *ind reading len bytes at
 * in (what names them in a cause), *outd writing into sink s.
 */
static int
pgp_data_io(const void *in, size_t len, const char *what, gpgme_data_t *ind,
    struct pgp_sink *s, struct gpgme_data_cbs *cbs, int secret,
    gpgme_data_t *outd, char **cause)
{
	gpgme_error_t e;

	if ((e = gpgme_data_new_from_mem(ind, in, len, 0)) != 0) {
		*ind = NULL;
		return pgp_fail(cause, e, what);
	}
	return pgp_sink_data(s, cbs, secret, outd, cause);
}

/* Checks an input buffer's pointer and length. */
static int
pgp_check_input(const void *p, size_t len, const char *what, char **cause)
{
	if (p == NULL || len == 0) {
		pk_cause_set(cause, "%s is empty", what);
		return PK_ERR_INVALID_ARG;
	}
	if (len > PK_PGP_MAX_DATA) {
		pk_cause_set(cause, "%s is larger than %d bytes", what,
		    PK_PGP_MAX_DATA);
		return PK_ERR_TOO_LARGE;
	}
	return 0;
}

/* Imports key material into the home; returns the GPGME import result. */
static int
pgp_import(struct pgp_home *h, const void *key, size_t len,
    gpgme_import_result_t *resp, char **cause)
{
	gpgme_import_result_t res;
	gpgme_data_t kd = NULL;
	gpgme_error_t e;

	if ((e = gpgme_data_new_from_mem(&kd, key, len, 0)) != 0)
		return pgp_fail(cause, e, "key data");
	e = gpgme_op_import(h->ph_ctx, kd);
	gpgme_data_release(kd);
	if (e != 0 && gpgme_err_code(e) == GPG_ERR_ENOMEM)
		return pgp_fail(cause, e, "key import");
	if (e != 0) {
		pk_cause_set(cause, "bad key data: %s", gpgme_strerror(e));
		return PK_ERR_PGP;
	}
	res = gpgme_op_import_result(h->ph_ctx);
	if (res == NULL || res->considered == 0 ||
	    res->imported + res->unchanged + res->secret_imported +
	    res->secret_unchanged == 0) {
		pk_cause_set(cause, "bad key data: no OpenPGP key found");
		return PK_ERR_PGP;
	}
	*resp = res;
	return 0;
}

/* Makes the boot key pair in a throw-away home; see pgp.h. */
int
pk_pgp_generate(const char *workdir, const char *uid, char **pub_armor,
    size_t *publen, char **sec_armor, size_t *seclen, char **cause)
{
	struct gpgme_data_cbs pcbs, scbs;
	struct pgp_sink ps, ss;
	struct pgp_home h;
	gpgme_genkey_result_t gr;
	gpgme_data_t pd = NULL, sd = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	const unsigned char *u;
	char *fpr = NULL;
	int r;

	memset(&ps, 0, sizeof(ps));
	memset(&ss, 0, sizeof(ss));
	memset(&h, 0, sizeof(h));
	if (pub_armor != NULL)
		*pub_armor = NULL;
	if (sec_armor != NULL)
		*sec_armor = NULL;
	if (publen != NULL)
		*publen = 0;
	if (seclen != NULL)
		*seclen = 0;
	if (workdir == NULL || *workdir == '\0' || uid == NULL ||
	    *uid == '\0' || pub_armor == NULL || publen == NULL ||
	    sec_armor == NULL || seclen == NULL) {
		pk_cause_set(cause, "missing argument");
		return PK_ERR_INVALID_ARG;
	}
	if (strlen(uid) > PGP_MAX_UID) {
		pk_cause_set(cause, "user id too long");
		return PK_ERR_INVALID_ARG;
	}
	for (u = (const unsigned char *)uid; *u != '\0'; u++) {
		if (*u < 0x20 || *u == 0x7f) {
			pk_cause_set(cause, "user id has a control character");
			return PK_ERR_INVALID_ARG;
		}
	}
	if ((r = pgp_home_open(&h, workdir, 0, 0, cause)) != 0)
		return r;

	e = gpgme_op_createkey(h.ph_ctx, uid, "ed25519", 0, 0, NULL,
	    GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE |
	    GPGME_CREATE_SIGN | GPGME_CREATE_CERT | GPGME_CREATE_FORCE);
	if (e != 0) {
		r = pgp_fail(cause, e, "creating the primary key");
		goto out;
	}
	if ((gr = gpgme_op_genkey_result(h.ph_ctx)) == NULL ||
	    gr->fpr == NULL) {
		pk_cause_set(cause, "creating the primary key: no fingerprint");
		r = PK_ERR_PGP;
		goto out;
	}
	if ((fpr = strdup(gr->fpr)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	if ((e = gpgme_get_key(h.ph_ctx, fpr, &key, 0)) != 0) {
		r = pgp_fail(cause, e, "finding the new key");
		goto out;
	}
	e = gpgme_op_createsubkey(h.ph_ctx, key, "cv25519", 0, 0,
	    GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE |
	    GPGME_CREATE_ENCR);
	if (e != 0) {
		r = pgp_fail(cause, e, "creating the encryption subkey");
		goto out;
	}

	gpgme_set_armor(h.ph_ctx, 1);
	if ((r = pgp_sink_data(&ps, &pcbs, 0, &pd, cause)) != 0 ||
	    (r = pgp_sink_data(&ss, &scbs, 1, &sd, cause)) != 0)
		goto out;
	if ((e = gpgme_op_export(h.ph_ctx, fpr, GPGME_EXPORT_MODE_MINIMAL,
	    pd)) != 0) {
		r = pgp_fail(cause, e, "exporting the public key");
		goto out;
	}
	if ((e = gpgme_op_export(h.ph_ctx, fpr, GPGME_EXPORT_MODE_SECRET |
	    GPGME_EXPORT_MODE_MINIMAL, sd)) != 0) {
		r = pgp_fail(cause, e, "exporting the secret key");
		goto out;
	}
	if (ps.ps_len == 0 || ss.ps_len == 0) {
		pk_cause_set(cause, "key export produced nothing");
		r = PK_ERR_PGP;
		goto out;
	}
	*pub_armor = ps.ps_buf;
	*publen = ps.ps_len;
	*sec_armor = ss.ps_buf;
	*seclen = ss.ps_len;
	memset(&ps, 0, sizeof(ps));
	memset(&ss, 0, sizeof(ss));
	r = 0;
 out:
	gpgme_data_release(pd);
	gpgme_data_release(sd);
	gpgme_key_unref(key);
	free(fpr);
	pgp_home_close(&h);
	pgp_sink_free(&ps);
	pgp_sink_free(&ss);
	return r;
}

/* Encrypts to the one key in pubkey; see pgp.h. */
int
pk_pgp_encrypt(const char *workdir, const void *pubkey, size_t publen,
    const void *plain, size_t plainlen, void **cipher, size_t *cipherlen,
    char **cause)
{
	struct gpgme_data_cbs cbs;
	struct pgp_sink cs;
	struct pgp_home h;
	gpgme_import_result_t ir;
	gpgme_encrypt_result_t er;
	gpgme_data_t pd = NULL, cd = NULL;
	gpgme_key_t keys[2] = { NULL, NULL }, extra = NULL;
	gpgme_error_t e;
	int r;

	memset(&cs, 0, sizeof(cs));
	memset(&h, 0, sizeof(h));
	if (cipher != NULL)
		*cipher = NULL;
	if (cipherlen != NULL)
		*cipherlen = 0;
	if (workdir == NULL || *workdir == '\0' || cipher == NULL ||
	    cipherlen == NULL) {
		pk_cause_set(cause, "missing argument");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = pgp_check_input(pubkey, publen, "public key", cause)) != 0 ||
	    (r = pgp_check_input(plain, plainlen, "plaintext", cause)) != 0)
		return r;
	if ((r = pgp_home_open(&h, workdir, 0, 0, cause)) != 0)
		return r;
	if ((r = pgp_import(&h, pubkey, publen, &ir, cause)) != 0)
		goto out;

	/* Exactly one key, able to encrypt. */
	if ((e = gpgme_op_keylist_start(h.ph_ctx, NULL, 0)) != 0 ||
	    (e = gpgme_op_keylist_next(h.ph_ctx, &keys[0])) != 0) {
		keys[0] = NULL;
		r = pgp_fail(cause, e, "listing the imported key");
		goto out;
	}
	e = gpgme_op_keylist_next(h.ph_ctx, &extra);
	(void)gpgme_op_keylist_end(h.ph_ctx);
	if (e == 0) {
		pk_cause_set(cause, "public key data holds more than one key");
		r = PK_ERR_KEY;
		goto out;
	}
	if (keys[0]->revoked || keys[0]->expired || keys[0]->disabled ||
	    keys[0]->invalid || !keys[0]->can_encrypt) {
		pk_cause_set(cause, "key has no usable encryption subkey%s",
		    keys[0]->revoked ? " (revoked)" :
		    keys[0]->expired ? " (expired)" : "");
		r = PK_ERR_KEY;
		goto out;
	}

	if ((r = pgp_data_io(plain, plainlen, "plaintext data", &pd, &cs, &cbs,
	    0, &cd, cause)) != 0)
		goto out;
	gpgme_set_armor(h.ph_ctx, 0);
	e = gpgme_op_encrypt(h.ph_ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST |
	    GPGME_ENCRYPT_NO_ENCRYPT_TO, pd, cd);
	er = gpgme_op_encrypt_result(h.ph_ctx);
	if (er != NULL && er->invalid_recipients != NULL) {
		pk_cause_set(cause, "key refused as recipient: %s",
		    gpgme_strerror(er->invalid_recipients->reason));
		r = PK_ERR_KEY;
		goto out;
	}
	if (e != 0) {
		r = pgp_fail(cause, e, "encryption");
		goto out;
	}
	if (cs.ps_len == 0) {
		pk_cause_set(cause, "encryption produced nothing");
		r = PK_ERR_PGP;
		goto out;
	}
	pgp_sink_take(&cs, cipher, cipherlen);
	r = 0;
 out:
	gpgme_data_release(pd);
	gpgme_data_release(cd);
	gpgme_key_unref(keys[0]);
	gpgme_key_unref(extra);
	pgp_home_close(&h);
	pgp_sink_free(&cs);
	return r;
}

/* A private GnuPG home holding one imported secret key; see pgp.h. */
struct pk_pgp_keyring {
	struct pgp_home		 kr_home;
};

/* Makes or takes a home and imports seckey into it. */
static int
pgp_keyring_open(const char *workdir, int envhome, const void *seckey,
    size_t seclen, struct pk_pgp_keyring **out, char **cause)
{
	struct pk_pgp_keyring	*kr;
	gpgme_import_result_t	 ir;
	int			 r;

	if (out != NULL)
		*out = NULL;
	if ((!envhome && (workdir == NULL || *workdir == '\0')) ||
	    out == NULL) {
		pk_cause_set(cause, "missing argument");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = pgp_check_input(seckey, seclen, "secret key", cause)) != 0)
		return r;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return PK_ERR_ALLOC;
	if ((r = pgp_home_open(&kr->kr_home, workdir, envhome, 1,
	    cause)) != 0) {
		free(kr);
		return r;
	}
	if ((r = pgp_import(&kr->kr_home, seckey, seclen, &ir, cause)) != 0)
		goto fail;
	if (ir->secret_imported + ir->secret_unchanged == 0) {
		pk_cause_set(cause, "bad key data: no secret key found");
		r = PK_ERR_PGP;
		goto fail;
	}
	*out = kr;
	return 0;
 fail:
	pk_pgp_keyring_close(kr);
	return r;
}

/* Makes a home under workdir and imports seckey into it; see pgp.h. */
int
pk_pgp_keyring_open(const char *workdir, const void *seckey, size_t seclen,
    struct pk_pgp_keyring **out, char **cause)
{
	return pgp_keyring_open(workdir, 0, seckey, seclen, out, cause);
}

/* Imports seckey into the home $GNUPGHOME names; see pgp.h. */
int
pk_pgp_keyring_open_env(const void *seckey, size_t seclen,
    struct pk_pgp_keyring **out, char **cause)
{
	return pgp_keyring_open(NULL, 1, seckey, seclen, out, cause);
}

/* Decrypts one message with the keyring's key; see pgp.h. */
int
pk_pgp_keyring_decrypt(struct pk_pgp_keyring *kr, const void *cipher,
    size_t cipherlen, void **plain, size_t *plainlen, char **cause)
{
	struct gpgme_data_cbs cbs;
	struct pgp_sink ps;
	gpgme_decrypt_result_t dr;
	gpgme_data_t cd = NULL, pd = NULL;
	gpgme_error_t e;
	int r;

	memset(&ps, 0, sizeof(ps));
	if (plain != NULL)
		*plain = NULL;
	if (plainlen != NULL)
		*plainlen = 0;
	if (kr == NULL || plain == NULL || plainlen == NULL) {
		pk_cause_set(cause, "missing argument");
		return PK_ERR_INVALID_ARG;
	}
	if ((r = pgp_check_input(cipher, cipherlen, "message", cause)) != 0)
		return r;
	if ((r = pgp_data_io(cipher, cipherlen, "message data", &cd, &ps, &cbs,
	    1, &pd, cause)) != 0)
		goto out;
	e = gpgme_op_decrypt(kr->kr_home.ph_ctx, cd, pd);
	if (ps.ps_overflow) {
		pk_cause_set(cause, "plaintext is larger than %d bytes",
		    PK_PGP_MAX_DATA);
		r = PK_ERR_TOO_LARGE;
		goto out;
	}
	if (e != 0) {
		r = pgp_fail(cause, e, "decryption");
		goto out;
	}
	dr = gpgme_op_decrypt_result(kr->kr_home.ph_ctx);
	if (dr == NULL || dr->recipients == NULL) {
		pk_cause_set(cause, "message is not encrypted to a public key");
		r = PK_ERR_PGP;
		goto out;
	}
	if (dr->unsupported_algorithm != NULL || dr->wrong_key_usage ||
	    dr->legacy_cipher_nomdc) {
		pk_cause_set(cause, "message uses an unsafe or unsupported "
		    "algorithm");
		r = PK_ERR_PGP;
		goto out;
	}
	if (ps.ps_buf == NULL) {
		/* Still hand back a valid, if empty, buffer. */
		if ((ps.ps_buf = pk_secret_alloc(1)) == NULL) {
			r = PK_ERR_ALLOC;
			goto out;
		}
	}
	pgp_sink_take(&ps, plain, plainlen);
	r = 0;
 out:
	gpgme_data_release(cd);
	gpgme_data_release(pd);
	pgp_sink_free(&ps);
	return r;
}

/* Stops the keyring's agent and wipes and removes its home. */
void
pk_pgp_keyring_close(struct pk_pgp_keyring *kr)
{
	if (kr == NULL)
		return;
	pgp_home_close(&kr->kr_home);
	free(kr);
}

/* Decrypts with the key(s) in seckey; see pgp.h. */
int
pk_pgp_decrypt(const char *workdir, const void *seckey, size_t seclen,
    const void *cipher, size_t cipherlen, void **plain, size_t *plainlen,
    char **cause)
{
	struct pk_pgp_keyring	*kr;
	int			 r;

	if (plain != NULL)
		*plain = NULL;
	if (plainlen != NULL)
		*plainlen = 0;
	if (plain == NULL || plainlen == NULL) {
		pk_cause_set(cause, "missing argument");
		return PK_ERR_INVALID_ARG;
	}
	/* Check the message before paying for a GnuPG home. */
	if ((r = pgp_check_input(cipher, cipherlen, "message", cause)) != 0)
		return r;
	if ((r = pk_pgp_keyring_open(workdir, seckey, seclen, &kr,
	    cause)) != 0)
		return r;
	r = pk_pgp_keyring_decrypt(kr, cipher, cipherlen, plain, plainlen,
	    cause);
	pk_pgp_keyring_close(kr);
	return r;
}
