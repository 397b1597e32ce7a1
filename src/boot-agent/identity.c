/*
 * identity.c: the boot TLS key peerkey-boot shows its peers: a key file
 * (tls-key), or a key inside the TPM (tpm-key, reached through tpm-tcti).
 *
 * A TPM key is opened, loaded and made to sign once (pk_tpm_identity_check)
 * before any peer is asked, so that a missing TPM, a key another TPM made
 * (a copied initramfs) or a PCR that changed is found at once and said in
 * one line, instead of as a failed handshake with every peer. Every TPM
 * step is bounded by tpm-timeout. The caller then goes on without a key:
 * no peer can be asked, and only a typed passphrase can unlock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "key.h"
#include "pk_err.h"
#include "tpm.h"

/*
 * Loads the boot TLS key of c into *id and its key id into keyid. With
 * open_tpm 0 a TPM key is only read (key id, no TPM, *id NULL: for -n).
 * Returns 0; PK_ERR_TPM (a TPM key that cannot be used here: *cause is
 * the one line to show); or another code (a broken key file; *cause says
 * which).
 */
int
boot_identity(const struct boot_conf *c, int open_tpm,
    struct pk_identity **id, char *keyid, char **cause)
{
	char	*why = NULL;
	int	 r;

	*id = NULL;
	if (c->tpm_key == NULL) {
		if ((r = pk_identity_load(c->tls_key, id)) != 0) {
			pk_cause_set(cause, "TLS key %s: %s", c->tls_key,
			    r == PK_ERR_SYSTEM ? strerror(errno) :
			    pk_strerror(r));
			return r;
		}
		snprintf(keyid, PK_KEYID_HEXLEN + 1, "%s", (*id)->keyid);
		return 0;
	}
	/* The file first: a broken file is not the TPM's fault. */
	if ((r = pk_tpm_keyfile_keyid(c->tpm_key, keyid, NULL, &why)) != 0) {
		pk_cause_set(cause, "TPM key %s", why != NULL ? why :
		    pk_strerror(r));
		free(why);
		return r == PK_ERR_TPM ? PK_ERR_TPM : r;
	}
	if (!open_tpm)
		return 0;
	if ((r = pk_tpm_identity_load(c->tpm_tcti, c->tpm_key,
	    (unsigned int)c->tpm_timeout_ms, id, &why)) == 0 &&
	    (r = pk_tpm_identity_check(*id, &why)) != 0) {
		pk_identity_free(*id);
		*id = NULL;
	}
	if (r != 0) {
		pk_cause_set(cause, "boot key %s: %s", keyid, why != NULL ?
		    why : pk_strerror(r));
		free(why);
		return PK_ERR_TPM;
	}
	return 0;
}
