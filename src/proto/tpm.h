/*
 * tpm.h: a boot TLS key that lives inside a TPM 2.0 (tpm.c).
 *
 * The key is an ECDSA P-256 signing key made by the TPM under a primary
 * key of the owner hierarchy, and its private part never leaves the TPM
 * unencrypted: what is saved is the TPM's own wrapping of it, which only
 * the TPM that made it can load. It may be bound to the values that
 * chosen PCRs (SHA-256 bank) had when it was made; the TPM then signs
 * with it only while those PCRs still hold those values.
 *
 * The key file is PEM "TSS2 PRIVATE KEY" (the ASN.1 TPM key format of
 * draft-bottomley-tpm2-keys: loadable key, empty auth, an optional
 * TPM2_PolicyPCR, parent TPM_RH_OWNER, the TPM2B_PUBLIC and TPM2B_PRIVATE
 * blobs); doc/protocol.md, "TPM boot keys", has the details. Its key id
 * is the usual one (SHA-256 of the DER SubjectPublicKeyInfo), computed
 * from the public blob without a TPM.
 *
 * The TPM is reached through a TCTI named by a string, as Tss2_TctiLdr
 * reads it: "device:/dev/tpmrm0" (the default), "swtpm:host=H,port=P"
 * (tests). The tss2 libraries are opened with dlopen() at the first use,
 * so a program built with TPM support neither needs nor loads them
 * until a TPM key is used. Every TPM command is bounded by a timeout.
 *
 * Functions return 0 or PK_ERR_TPM (the TPM or the tss2 libraries
 * failed; *cause says why in one line an operator can act on),
 * PK_ERR_KEY (the file is not such a key), PK_ERR_NOT_FOUND,
 * PK_ERR_PERM, PK_ERR_SYSTEM, PK_ERR_ALLOC. A build without TPM support
 * returns PK_ERR_TPM with a cause saying so.
 */
#ifndef PK_TPM_H
#define PK_TPM_H

#include <stddef.h>

#include "key.h"

#define PK_TPM_TCTI_DEFAULT	"device:/dev/tpmrm0"
#define PK_TPM_TIMEOUT_MS	10000	/* per TPM command */
#define PK_TPM_PCR_MAX		23	/* PCRs 0 .. 23 */
#define PK_TPM_PEM_LABEL	"TSS2 PRIVATE KEY"

/* 1 if this build can use a TPM, else 0. */
int	pk_tpm_supported(void);

/*
 * Parses a PCR list ("7", "0,2,7", "" for none) into a bit mask of
 * PCRs 0 .. PK_TPM_PCR_MAX. Returns 0 or PK_ERR_CONF (*cause says why).
 */
int	pk_tpm_pcrs_parse(const char *s, unsigned long *mask, char **cause);

/*
 * Makes a new key in the TPM reached through tcti (NULL: the default),
 * bound to the current values of the PCRs in pcr_mask (0: no PCR
 * policy). Returns the key file's text (PEM, malloc'ed) in *pem and
 * *pemlen, and its key id in keyid (PK_KEYID_HEXLEN + 1 bytes).
 */
int	pk_tpm_keygen(const char *tcti, unsigned long pcr_mask, char **pem,
	    size_t *pemlen, char *keyid, char **cause);

/*
 * Parses a key file's text without a TPM: its key id into keyid and, if
 * pcr_mask is not NULL, the PCRs it is bound to. Returns 0 or PK_ERR_KEY
 * (*cause names what is wrong), PK_ERR_TPM (no tss2 library).
 */
int	pk_tpm_key_parse(const void *pem, size_t len, char *keyid,
	    unsigned long *pcr_mask, char **cause);

/* The same for a key file (which must not be group or world readable). */
int	pk_tpm_keyfile_keyid(const char *path, char *keyid,
	    unsigned long *pcr_mask, char **cause);

/*
 * Opens the TPM through tcti (NULL: the default), loads the key of the
 * key file at path into it, and makes an identity whose private key
 * signs through the TPM (a GnuTLS external key; key.h's ext_ fields).
 * timeout_ms bounds each TPM command (0: PK_TPM_TIMEOUT_MS). The
 * identity holds the TPM open until pk_identity_free(). Loading does
 * not sign: a PCR policy that no longer holds is found by
 * pk_tpm_identity_check() or by the first signature.
 */
int	pk_tpm_identity_load(const char *tcti, const char *path,
	    unsigned int timeout_ms, struct pk_identity **out, char **cause);

/*
 * Signs a random digest with a TPM identity and verifies the signature
 * with its public key: the TPM is there, the key is this TPM's and its
 * PCR policy holds. Returns 0 or PK_ERR_TPM (*cause: which of these
 * failed, in words), PK_ERR_INVALID_ARG (not a TPM identity).
 */
int	pk_tpm_identity_check(struct pk_identity *, char **cause);

#endif /* PK_TPM_H */
