/*
 * tpm-int.h: what the files of the TPM module share (tpm.c: keys and
 * signing; tpm-esys.c: the tss2 libraries, bounded TPM work, sessions and
 * PCRs; tpm-file.c: key files). Built only with TPM support (HAVE_TPM).
 */
#ifndef PK_TPM_INT_H
#define PK_TPM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

/*
 * The tss2 functions used, by library: one list makes the pointers and
 * the dlsym() calls, typed from the headers.
 */
#define TSS2_ESYS_SYMS(X)						\
	X(Esys_Initialize)						\
	X(Esys_Finalize)						\
	X(Esys_Free)							\
	X(Esys_TRSess_SetAttributes)					\
	X(Esys_CreatePrimary)						\
	X(Esys_Create)							\
	X(Esys_Load)							\
	X(Esys_FlushContext)						\
	X(Esys_StartAuthSession)					\
	X(Esys_PolicyPCR)						\
	X(Esys_PolicyGetDigest)						\
	X(Esys_PCR_Read)						\
	X(Esys_Sign)
#define TSS2_MU_SYMS(X)							\
	X(Tss2_MU_TPM2B_PUBLIC_Marshal)					\
	X(Tss2_MU_TPM2B_PUBLIC_Unmarshal)				\
	X(Tss2_MU_TPM2B_PRIVATE_Marshal)				\
	X(Tss2_MU_TPM2B_PRIVATE_Unmarshal)				\
	X(Tss2_MU_TPM2B_DIGEST_Marshal)					\
	X(Tss2_MU_TPM2B_DIGEST_Unmarshal)				\
	X(Tss2_MU_TPML_PCR_SELECTION_Marshal)				\
	X(Tss2_MU_TPML_PCR_SELECTION_Unmarshal)
#define TSS2_RC_SYMS(X)							\
	X(Tss2_RC_Decode)
#define TSS2_TCTILDR_SYMS(X)						\
	X(Tss2_TctiLdr_Initialize)					\
	X(Tss2_TctiLdr_Finalize)

#define TSS2_PTR(name)	__typeof__(&name) name;
/* The tss2 functions, filled in by tpm_lib_mu() and tpm_lib_all(). */
struct tpm_tss2 {
	int	 mu_loaded, esys_loaded;
	TSS2_ESYS_SYMS(TSS2_PTR)
	TSS2_MU_SYMS(TSS2_PTR)
	TSS2_RC_SYMS(TSS2_PTR)
	TSS2_TCTILDR_SYMS(TSS2_PTR)
};
extern struct tpm_tss2	tpm_tss;

/* An open TPM. */
struct tpm {
	ESYS_CONTEXT		*esys;
	TSS2_TCTI_CONTEXT	*tcti;
	unsigned int		 timeout_ms;
	int			 dead;		/* a command timed out */
	char			 name[128];	/* the TCTI, for messages */
};

/* A key loaded into a TPM: the external key's userdata. */
struct tpm_key {
	struct tpm		*t;
	ESYS_TR			 handle;
	int			 bound;		/* PCR policy */
	TPM2B_DIGEST		 pcr_digest;
	TPML_PCR_SELECTION	 pcrs;
	char			 pcr_list[80];	/* "7" or "0,2,7" */
	char			 err[256];	/* the last signing failure */
};

/* What a key file holds. */
struct tpm_keyfile {
	TPM2B_PUBLIC		 pub;
	TPM2B_PRIVATE		 priv;
	int			 bound;
	TPM2B_DIGEST		 pcr_digest;
	TPML_PCR_SELECTION	 pcrs;
};

/* tpm-esys.c */
int	tpm_lib_mu(char **cause);
int	tpm_lib_all(char **cause);
int	tpm_bounded(struct tpm *, unsigned int timeout_ms, int (*fn)(void *),
	    void (*drop)(void *), void *arg, size_t size);
int	tpm_rc_is(TSS2_RC rc, TPM2_RC e);
int	tpm_fail(struct tpm *, char **cause, const char *what, TSS2_RC rc);
int	tpm_said(struct tpm *, char **cause, const char *what, int r);
int	tpm_open(const char *tcti, unsigned int timeout_ms, struct tpm **out,
	    char **cause);
void	tpm_close(struct tpm *);
void	tpm_flush(struct tpm *, ESYS_TR h);
int	tpm_primary(struct tpm *, ESYS_TR *h, char **cause);
void	tpm_pcr_selection(unsigned long mask, TPML_PCR_SELECTION *sel);
long	tpm_pcr_mask(const TPML_PCR_SELECTION *sel);
void	tpm_pcr_list(unsigned long mask, char *buf, size_t len);
int	tpm_pcr_digest(struct tpm *, const TPML_PCR_SELECTION *sel,
	    TPM2B_DIGEST *out, char **cause);
int	tpm_policy_pcr(struct tpm *, int trial, const TPM2B_DIGEST *digest,
	    const TPML_PCR_SELECTION *sel, const char *pcr_list, ESYS_TR *s,
	    char **cause);

/* tpm-file.c */
int	tpm_pubkey(const TPM2B_PUBLIC *, gnutls_pubkey_t *out);
int	tpm_keyfile_pem(const struct tpm_keyfile *, gnutls_datum_t *pem);
int	tpm_keyfile_load(const char *path, struct tpm_keyfile *, char **cause);

#endif /* PK_TPM_INT_H */
