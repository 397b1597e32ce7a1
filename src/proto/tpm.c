/*
 * tpm.c: boot TLS keys inside a TPM 2.0, through tss2 ESYS (see tpm.h).
 *
 * The tss2 libraries (ESYS, MU, RC, TctiLdr) are opened with dlopen()
 * at the first use, as systemd does: a boot agent whose key is a file
 * needs none of them in its initramfs, and a TPM key's absent library is
 * one clear error instead of a program that will not start. The TCTI
 * module itself is dlopen()ed by TctiLdr.
 *
 * Keys. pk_tpm_keygen() recreates the primary key (the storage key of
 * the owner hierarchy made from tpm_primary_tmpl: the same TPM always
 * makes the same key from it, so nothing needs to be persisted in the
 * TPM), creates under it an ECDSA P-256 signing key (fixedTPM,
 * fixedParent, noDA, empty auth) and returns the TPM's wrapping of it
 * as a TSS2 PRIVATE KEY PEM file. With PCRs chosen, the key's authPolicy
 * is TPM2_PolicyPCR over the SHA-256 bank at their current values (a
 * trial session computes it), userWithAuth is clear so that the empty
 * password does not authorise it, and the file records the PCR digest
 * and selection. Another TPM cannot load the blob (its primary differs,
 * so the integrity check of TPM2_Load fails), and this TPM signs with it
 * only after a policy session has passed TPM2_PolicyPCR, which fails
 * (TPM_RC_VALUE) once a bound PCR has changed.
 *
 * Signing. The identity's private key is a GnuTLS external key
 * (gnutls_privkey_import_ext4) whose sign_hash callback receives the
 * SHA-256 digest GnuTLS computed (for ECDSA-SECP256R1-SHA256 in TLS 1.3,
 * and ECDSA-SHA256 elsewhere); a DigestInfo-wrapped SHA-256 digest is
 * unwrapped. The TPM's (r, s) becomes the DER Ecdsa-Sig-Value GnuTLS
 * expects. Each signature with a PCR-bound key runs a fresh policy
 * session that the signing command ends.
 *
 * Timeouts. Nothing in tss2 bounds a TPM that does not answer, so each
 * piece of TPM work (opening, making a key, loading it, one signature)
 * runs on a thread of its own while the caller waits at most the timeout
 * (tpm_bounded); past it the TPM is given up for the life of the context,
 * and the caller hears PK_ERR_TPM "no answer within N ms".
 *
 * The key file (draft-bottomley-tpm2-keys, section 3):
 *	TPMKey ::= SEQUENCE {
 *	    type	OBJECT IDENTIFIER (2.23.133.10.1.3: loadable key),
 *	    emptyAuth	[0] EXPLICIT BOOLEAN (TRUE),
 *	    policy	[1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
 *	    parent	INTEGER (0x40000001: TPM_RH_OWNER),
 *	    pubkey	OCTET STRING (TPM2B_PUBLIC),
 *	    privkey	OCTET STRING (TPM2B_PRIVATE) }
 *	TPMPolicy ::= SEQUENCE {
 *	    commandCode	  [0] EXPLICIT INTEGER (TPM_CC_PolicyPCR),
 *	    commandPolicy [1] EXPLICIT OCTET STRING (TPM2B_DIGEST pcrDigest,
 *			      then TPML_PCR_SELECTION pcrs) }
 * The parser (tpm_der_*) takes only that shape, with definite DER
 * lengths; anything else is PK_ERR_KEY.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "file.h"
#include "key.h"
#include "pk_err.h"
#include "tpm.h"

/* Parses "7", "0,2,7": the same with or without TPM support. */
int
pk_tpm_pcrs_parse(const char *s, unsigned long *mask, char **cause)
{
	const char	*p = s;
	char		*end;
	unsigned long	 m = 0, v;

	if (s == NULL || mask == NULL)
		return PK_ERR_INVALID_ARG;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || end == p || v > PK_TPM_PCR_MAX)
			goto bad;
		m |= 1UL << v;
		p = end;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	*mask = m;
	return 0;
 bad:
	pk_cause_set(cause, "\"%s\" is not a list of PCRs (numbers 0 to %d "
	    "separated by commas, such as 7 or 0,2,7)", s, PK_TPM_PCR_MAX);
	return PK_ERR_CONF;
}

#ifndef HAVE_TPM

int
pk_tpm_supported(void)
{
	return 0;
}

/* Every entry point of a build without tss2 says the same. */
static int
tpm_unsupported(char **cause)
{
	pk_cause_set(cause, "this peerkey was built without TPM support "
	    "(configure --with-tpm, Debian: libtss2-dev)");
	return PK_ERR_TPM;
}

int
pk_tpm_keygen(const char *tcti, unsigned long pcr_mask, char **pem,
    size_t *pemlen, char *keyid, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_key_parse(const void *pem, size_t len, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_keyfile_keyid(const char *path, char *keyid, unsigned long *pcr_mask,
    char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_identity_load(const char *tcti, const char *path,
    unsigned int timeout_ms, struct pk_identity **out, char **cause)
{
	return tpm_unsupported(cause);
}

int
pk_tpm_identity_check(struct pk_identity *id, char **cause)
{
	return tpm_unsupported(cause);
}

#else /* HAVE_TPM */

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

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
static struct {
	int	 mu_loaded, esys_loaded;
	TSS2_ESYS_SYMS(TSS2_PTR)
	TSS2_MU_SYMS(TSS2_PTR)
	TSS2_RC_SYMS(TSS2_PTR)
	TSS2_TCTILDR_SYMS(TSS2_PTR)
} tss;

/* dlopen()s lib and fills in its symbols; the handle is kept for ever. */
#define TSS2_DLSYM(name)						\
	if ((tss.name = (__typeof__(&name))dlsym(h, #name)) == NULL) {	\
		pk_cause_set(cause, "TPM: %s has no %s", lib, #name);	\
		return PK_ERR_TPM;					\
	}
static int
tpm_dlopen(const char *lib, void **hp, char **cause)
{
	if ((*hp = dlopen(lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		pk_cause_set(cause, "TPM: cannot load the tss2 library %s "
		    "(Debian: libtss2-esys-3.0.2-0, libtss2-mu0, libtss2-rc0, "
		    "libtss2-tctildr0): %s", lib, dlerror());
		return PK_ERR_TPM;
	}
	return 0;
}

/* MU alone (parsing key files), then the rest (talking to a TPM). */
static int
tpm_lib_mu(char **cause)
{
	const char	*lib = "libtss2-mu.so.0";
	void		*h;
	int		 r;

	if (tss.mu_loaded)
		return 0;
	/*
	 * tss2 logs its own view of every failure on stderr, which would
	 * bury the one line an operator needs among a dozen: quiet, unless
	 * TSS2_LOG is set to ask for it.
	 */
	(void)setenv("TSS2_LOG", "all+NONE", 0);
	if ((r = tpm_dlopen(lib, &h, cause)) != 0)
		return r;
	TSS2_MU_SYMS(TSS2_DLSYM)
	tss.mu_loaded = 1;
	return 0;
}

static int
tpm_lib_all(char **cause)
{
	const char	*lib;
	void		*h;
	int		 r;

	if ((r = tpm_lib_mu(cause)) != 0)
		return r;
	if (tss.esys_loaded)
		return 0;
	lib = "libtss2-rc.so.0";
	if ((r = tpm_dlopen(lib, &h, cause)) != 0)
		return r;
	TSS2_RC_SYMS(TSS2_DLSYM)
	lib = "libtss2-tctildr.so.0";
	if ((r = tpm_dlopen(lib, &h, cause)) != 0)
		return r;
	TSS2_TCTILDR_SYMS(TSS2_DLSYM)
	lib = "libtss2-esys.so.0";
	if ((r = tpm_dlopen(lib, &h, cause)) != 0)
		return r;
	TSS2_ESYS_SYMS(TSS2_DLSYM)
	tss.esys_loaded = 1;
	return 0;
}

int
pk_tpm_supported(void)
{
	return 1;
}

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

#define TPM_OWNER		0x40000001U	/* TPM_RH_OWNER, as parent */
#define TPM_DER_MAX		4096		/* a key file's DER */

/* 2.23.133.10.1.3, the draft's loadable key, DER-encoded with its tag. */
static const uint8_t tpm_oid_loadable[] = {
	0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03
};

/*
 * The primary: the owner hierarchy's ECC P-256 storage key, restricted
 * decrypt, AES-128-CFB, no DA (what "tpm2_createprimary -C o -G
 * ecc256:aes128cfb" makes, with noda). The TPM derives it from the
 * owner seed, so it is the same key every boot until the TPM is cleared.
 */
static const TPM2B_PUBLIC tpm_primary_tmpl = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_RESTRICTED |
		    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
		    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB,
			},
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
	},
};

/* ---------------------------------------------------------------------
 * TPM work with deadlines
 *
 * Nothing in tss2 bounds how long the TPM may take: ESYS's calls wait for
 * ever, the swtpm TCTI ignores ESYS's timeout, and a TCTI may talk to its
 * TPM while it starts. So every piece of TPM work runs on a thread of its
 * own while the caller waits at most the TPM's timeout (tpm_bounded).
 * Past it the caller goes on with PK_ERR_TIMEOUT and the TPM is marked
 * dead: no more work is started on it, and its context (and a key loaded
 * in it) is never freed, because the blocked thread may still use it. If
 * that thread ever returns, it frees what the work made (drop) and its
 * job. The work's arguments and results live in the job's own copy, so
 * the caller's stack may be long gone by then.
 */

struct tpm_job {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		(*fn)(void *);
	void		(*drop)(void *);
	void		*arg;
	int		 r, done, abandoned;
};

static void
tpm_job_free(struct tpm_job *j)
{
	pthread_mutex_destroy(&j->mtx);
	pthread_cond_destroy(&j->cond);
	free(j->arg);
	free(j);
}

static void *
tpm_job_run(void *p)
{
	struct tpm_job	*j = p;
	int		 r, abandoned;

	r = j->fn(j->arg);
	pthread_mutex_lock(&j->mtx);
	j->r = r;
	j->done = 1;
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->mtx);
	if (abandoned) {
		if (j->drop != NULL)
			j->drop(j->arg);
		tpm_job_free(j);
	}
	return NULL;
}

/*
 * Runs fn on a copy of arg[0 .. size) within timeout_ms, then copies the
 * results back into arg. Returns what fn returned, PK_ERR_TIMEOUT (t is
 * then dead; t may be NULL while a TPM is being opened) or PK_ERR_ALLOC.
 */
static int
tpm_bounded(struct tpm *t, unsigned int timeout_ms, int (*fn)(void *),
    void (*drop)(void *), void *arg, size_t size)
{
	struct tpm_job		*j;
	struct timespec		 ts;
	pthread_condattr_t	 ca;
	pthread_t		 th;
	sigset_t		 all, old;
	int			 e = 0, r;

	if (t != NULL && t->dead)
		return PK_ERR_TIMEOUT;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return PK_ERR_ALLOC;
	if ((j->arg = malloc(size)) == NULL) {
		free(j);
		return PK_ERR_ALLOC;
	}
	memcpy(j->arg, arg, size);
	j->fn = fn;
	j->drop = drop;
	pthread_mutex_init(&j->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals stay with the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&th, NULL, tpm_job_run, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		tpm_job_free(j);
		return PK_ERR_ALLOC;
	}
	pthread_detach(th);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->mtx);
	while (!j->done && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&j->cond, &j->mtx, &ts);
	if (!j->done) {
		j->abandoned = 1;
		pthread_mutex_unlock(&j->mtx);
		if (t != NULL)
			t->dead = 1;
		return PK_ERR_TIMEOUT;
	}
	pthread_mutex_unlock(&j->mtx);
	memcpy(arg, j->arg, size);
	r = j->r;
	tpm_job_free(j);
	return r;
}

/* Is rc the TPM's format-one error e (any handle/parameter/session)? */
static int
tpm_rc_is(TSS2_RC rc, TPM2_RC e)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	rc &= 0xffff;
	if ((rc & TPM2_RC_FMT1) == 0)
		return rc == e;
	return (rc & (TPM2_RC_FMT1 | 0x3f)) == e;
}

/* Sets *cause to "TPM (name): what: tss2's words for rc". */
static int
tpm_fail(struct tpm *t, char **cause, const char *what, TSS2_RC rc)
{
	pk_cause_set(cause, "TPM %s: %s: %s", t->name, what,
	    tss.Tss2_RC_Decode(rc));
	return PK_ERR_TPM;
}

/*
 * After tpm_bounded(): a timeout or a lack of memory said in words;
 * anything else is left as the work set it.
 */
static int
tpm_said(struct tpm *t, char **cause, const char *what, int r)
{
	if (r == PK_ERR_TIMEOUT) {
		pk_cause_set(cause, "TPM %s: %s: no answer within %u ms",
		    t->name, what, t->timeout_ms);
		return PK_ERR_TPM;
	}
	if (r == PK_ERR_ALLOC)
		pk_cause_set(cause, "TPM %s: %s: out of memory", t->name,
		    what);
	return r;
}

/* Opening a TPM: the TCTI, then ESYS on it. */
struct open_job {
	char			 conf[256];
	TSS2_TCTI_CONTEXT	*tcti;
	ESYS_CONTEXT		*esys;
	TSS2_RC			 rc;
	int			 esys_failed;
};

static int
open_run(void *p)
{
	struct open_job	*j = p;

	if ((j->rc = tss.Tss2_TctiLdr_Initialize(j->conf, &j->tcti)) !=
	    TSS2_RC_SUCCESS) {
		j->tcti = NULL;
		return PK_ERR_TPM;
	}
	if ((j->rc = tss.Esys_Initialize(&j->esys, j->tcti, NULL)) !=
	    TSS2_RC_SUCCESS) {
		j->esys = NULL;
		j->esys_failed = 1;
		tss.Tss2_TctiLdr_Finalize(&j->tcti);
		return PK_ERR_TPM;
	}
	return 0;
}

static void
open_drop(void *p)
{
	struct open_job	*j = p;

	if (j->esys != NULL)
		tss.Esys_Finalize(&j->esys);
	if (j->tcti != NULL)
		tss.Tss2_TctiLdr_Finalize(&j->tcti);
}

/* Opens the TPM through tcti. */
static int
tpm_open(const char *tcti, unsigned int timeout_ms, struct tpm **out,
    char **cause)
{
	struct open_job	 j;
	struct tpm	*t;
	int		 r;

	*out = NULL;
	if (tcti == NULL || *tcti == '\0')
		tcti = PK_TPM_TCTI_DEFAULT;
	if ((r = tpm_lib_all(cause)) != 0)
		return r;
	memset(&j, 0, sizeof(j));
	if ((size_t)snprintf(j.conf, sizeof(j.conf), "%s", tcti) >=
	    sizeof(j.conf)) {
		pk_cause_set(cause, "TPM: the TCTI \"%.40s...\" is too long",
		    tcti);
		return PK_ERR_TPM;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PK_ERR_ALLOC;
	t->timeout_ms = timeout_ms != 0 ? timeout_ms : PK_TPM_TIMEOUT_MS;
	snprintf(t->name, sizeof(t->name), "%s", tcti);
	r = tpm_bounded(NULL, t->timeout_ms, open_run, open_drop, &j,
	    sizeof(j));
	if (r == 0) {
		t->tcti = j.tcti;
		t->esys = j.esys;
		*out = t;
		return 0;
	}
	if (r != PK_ERR_TPM)
		r = tpm_said(t, cause, "opening it", r);
	else if (j.esys_failed)
		r = tpm_fail(t, cause, "ESYS", j.rc);
	else if (strncmp(tcti, "device:", 7) == 0 && access(tcti + 7,
	    F_OK) == -1)
		pk_cause_set(cause, "no TPM: %s: %s", tcti + 7,
		    strerror(errno));
	else
		pk_cause_set(cause, "TPM %s: cannot open it (%s)", tcti,
		    tss.Tss2_RC_Decode(j.rc));
	free(t);
	return PK_ERR_TPM;
}

/* Closes the TPM; a dead one is left to the thread still inside it. */
static void
tpm_close(struct tpm *t)
{
	if (t == NULL || t->dead)
		return;
	if (t->esys != NULL)
		tss.Esys_Finalize(&t->esys);
	if (t->tcti != NULL)
		tss.Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* Flushes a transient object or session (best effort; job threads). */
static void
tpm_flush(struct tpm *t, ESYS_TR h)
{
	if (h != ESYS_TR_NONE)
		(void)tss.Esys_FlushContext(t->esys, h);
}

/* Makes the primary key (see tpm_primary_tmpl). */
static int
tpm_primary(struct tpm *t, ESYS_TR *h, char **cause)
{
	TPM2B_SENSITIVE_CREATE	 sens = { 0 };
	TPM2B_DATA		 outside = { 0 };
	TPML_PCR_SELECTION	 none = { 0 };
	TPM2B_PUBLIC		*op = NULL;
	TPM2B_CREATION_DATA	*cd = NULL;
	TPM2B_DIGEST		*ch = NULL;
	TPMT_TK_CREATION	*ct = NULL;
	TSS2_RC			 rc;

	*h = ESYS_TR_NONE;
	rc = tss.Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
	    &tpm_primary_tmpl, &outside, &none, h, &op, &cd, &ch, &ct);
	tss.Esys_Free(op);
	tss.Esys_Free(cd);
	tss.Esys_Free(ch);
	tss.Esys_Free(ct);
	if (rc != TSS2_RC_SUCCESS) {
		*h = ESYS_TR_NONE;
		if (tpm_rc_is(rc, TPM2_RC_BAD_AUTH) ||
		    tpm_rc_is(rc, TPM2_RC_AUTH_FAIL))
			pk_cause_set(cause, "TPM %s: the owner hierarchy has "
			    "a password; peerkey needs it empty", t->name);
		return tpm_fail(t, cause, "making the primary key", rc);
	}
	return 0;
}

/* The SHA-256 bank selection of the PCRs in mask. */
static void
tpm_pcr_selection(unsigned long mask, TPML_PCR_SELECTION *sel)
{
	int	i;

	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (i = 0; i <= PK_TPM_PCR_MAX; i++)
		if (mask & (1UL << i))
			sel->pcrSelections[0].pcrSelect[i / 8] |=
			    (uint8_t)(1U << (i % 8));
}

/* The PCR mask of a selection (SHA-256 bank only), or -1. */
static long
tpm_pcr_mask(const TPML_PCR_SELECTION *sel)
{
	const TPMS_PCR_SELECTION	*s;
	unsigned long			 mask = 0;
	int				 i;

	if (sel->count != 1)
		return -1;
	s = &sel->pcrSelections[0];
	if (s->hash != TPM2_ALG_SHA256 || s->sizeofSelect < 3 ||
	    s->sizeofSelect > sizeof(s->pcrSelect))
		return -1;
	for (i = 0; i < 8 * s->sizeofSelect; i++)
		if (s->pcrSelect[i / 8] & (1U << (i % 8))) {
			if (i > PK_TPM_PCR_MAX)
				return -1;
			mask |= 1UL << i;
		}
	return mask == 0 ? -1 : (long)mask;
}

/* "0,2,7" for a mask. */
static void
tpm_pcr_list(unsigned long mask, char *buf, size_t len)
{
	size_t	n = 0;
	int	i;

	buf[0] = '\0';
	for (i = 0; i <= PK_TPM_PCR_MAX && n + 4 < len; i++)
		if (mask & (1UL << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%d",
			    n > 0 ? "," : "", i);
}

/*
 * The digest TPM2_PolicyPCR compares: SHA-256 over the selected PCRs'
 * values in index order. TPM2_PCR_Read returns at most 8 values at a
 * time, so it is asked until every PCR of the selection has come back.
 */
static int
tpm_pcr_digest(struct tpm *t, const TPML_PCR_SELECTION *sel,
    TPM2B_DIGEST *out, char **cause)
{
	TPML_PCR_SELECTION	 want = *sel, *got = NULL;
	TPML_DIGEST		*vals = NULL;
	gnutls_hash_hd_t	 hh;
	UINT32			 counter;
	TSS2_RC			 rc;
	unsigned int		 i, j, k, taken;
	int			 r = PK_ERR_TPM;

	if (gnutls_hash_init(&hh, GNUTLS_DIG_SHA256) < 0)
		return PK_ERR_ALLOC;
	for (;;) {
		for (i = 0, k = 0; i < want.pcrSelections[0].sizeofSelect; i++)
			k |= want.pcrSelections[0].pcrSelect[i];
		if (k == 0)
			break;
		rc = tss.Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &want, &counter, &got, &vals);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, cause, "reading the PCRs", rc);
			goto out;
		}
		/* The values come in index order for what got selects. */
		taken = 0;
		for (i = 0; i < got->count; i++) {
			if (got->pcrSelections[i].hash != TPM2_ALG_SHA256)
				continue;
			for (j = 0; j < 8U * got->pcrSelections[i].sizeofSelect;
			    j++) {
				if (!(got->pcrSelections[i].pcrSelect[j / 8] &
				    (1U << (j % 8))))
					continue;
				if (taken >= vals->count ||
				    vals->digests[taken].size != 32) {
					pk_cause_set(cause, "TPM %s: no "
					    "SHA-256 value for PCR %u",
					    t->name, j);
					goto out;
				}
				gnutls_hash(hh, vals->digests[taken].buffer,
				    32);
				taken++;
				want.pcrSelections[0].pcrSelect[j / 8] &=
				    (uint8_t)~(1U << (j % 8));
			}
		}
		tss.Esys_Free(got);
		tss.Esys_Free(vals);
		got = NULL;
		vals = NULL;
		if (taken == 0) {
			pk_cause_set(cause, "TPM %s: it has no SHA-256 PCR "
			    "bank", t->name);
			goto out;
		}
	}
	out->size = 32;
	gnutls_hash_deinit(hh, out->buffer);
	return 0;
 out:
	tss.Esys_Free(got);
	tss.Esys_Free(vals);
	gnutls_hash_deinit(hh, NULL);
	return r;
}

/*
 * Starts a policy (or, trial, a trial) session and runs TPM2_PolicyPCR
 * in it. *s is the session (flushed here on failure).
 */
static int
tpm_policy_pcr(struct tpm *t, int trial, const TPM2B_DIGEST *digest,
    const TPML_PCR_SELECTION *sel, const char *pcr_list, ESYS_TR *s,
    char **cause)
{
	TPMT_SYM_DEF	 sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC		 rc;

	*s = ESYS_TR_NONE;
	rc = tss.Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
	    trial ? TPM2_SE_TRIAL : TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, s);
	if (rc != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return tpm_fail(t, cause, "starting a policy session", rc);
	}
	rc = tss.Esys_PolicyPCR(t->esys, *s, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, digest, sel);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_flush(t, *s);
		*s = ESYS_TR_NONE;
		if (tpm_rc_is(rc, TPM2_RC_VALUE))
			pk_cause_set(cause, "TPM %s: PCR %s changed since the "
			    "boot key was bound to it: the TPM refuses to sign",
			    t->name, pcr_list);
		return tpm_fail(t, cause, "PCR policy", rc);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * The key file: DER in PEM
 */

/* A bounded DER writer. */
struct der {
	uint8_t	 b[TPM_DER_MAX];
	size_t	 len;
	int	 overflow;
};

static void
der_put(struct der *d, const void *p, size_t n)
{
	if (d->overflow || n > sizeof(d->b) - d->len) {
		d->overflow = 1;
		return;
	}
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

/* Writes a tag and a definite length (at most 0xffff). */
static void
der_head(struct der *d, uint8_t tag, size_t n)
{
	uint8_t	h[4];

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (uint8_t)n;
		der_put(d, h, 2);
	} else if (n <= 0xff) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		der_put(d, h, 3);
	} else if (n <= 0xffff) {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		der_put(d, h, 4);
	} else
		d->overflow = 1;
}

/* Writes tag, length and the contents of inner. */
static void
der_wrap(struct der *d, uint8_t tag, const struct der *inner)
{
	if (inner->overflow) {
		d->overflow = 1;
		return;
	}
	der_head(d, tag, inner->len);
	der_put(d, inner->b, inner->len);
}

/* Writes an INTEGER of a non-negative 32-bit value. */
static void
der_uint(struct der *d, uint32_t v)
{
	uint8_t	b[5];
	size_t	n = 0;
	int	i, started = 0;

	for (i = 3; i >= 0; i--) {
		uint8_t	c = (uint8_t)(v >> (8 * i));

		if (!started && c == 0 && i > 0)
			continue;
		if (!started && (c & 0x80))
			b[n++] = 0;
		started = 1;
		b[n++] = c;
	}
	der_head(d, 0x02, n);
	der_put(d, b, n);
}

/* A DER reader over [p, end). */
struct der_in {
	const uint8_t	*p, *end;
};

/*
 * Reads one element of the given tag into *inner (its contents).
 * Returns 0, or -1 (another tag, a bad or indefinite length, past end).
 */
static int
der_get(struct der_in *in, uint8_t tag, struct der_in *inner)
{
	size_t	n, left;

	left = (size_t)(in->end - in->p);
	if (left < 2 || in->p[0] != tag)
		return -1;
	n = in->p[1];
	in->p += 2;
	left -= 2;
	if (n == 0x81) {
		if (left < 1 || in->p[0] < 0x80)
			return -1;
		n = in->p[0];
		in->p += 1;
		left -= 1;
	} else if (n == 0x82) {
		if (left < 2 || in->p[0] == 0)
			return -1;
		n = ((size_t)in->p[0] << 8) | in->p[1];
		if (n < 0x100)
			return -1;
		in->p += 2;
		left -= 2;
	} else if (n >= 0x80)
		return -1;
	if (n > left)
		return -1;
	inner->p = in->p;
	inner->end = in->p + n;
	in->p += n;
	return 0;
}

/* Is the next element of in of this tag? */
static int
der_peek(const struct der_in *in, uint8_t tag)
{
	return in->p < in->end && in->p[0] == tag;
}

/* Reads an INTEGER that fits 32 bits, non-negative, minimal. */
static int
der_get_uint(struct der_in *in, uint32_t *v)
{
	struct der_in	i;
	size_t		n;

	if (der_get(in, 0x02, &i) != 0)
		return -1;
	n = (size_t)(i.end - i.p);
	if (n == 0 || n > 5 || (i.p[0] & 0x80))
		return -1;
	if (n > 1 && i.p[0] == 0 && !(i.p[1] & 0x80))
		return -1;
	if (n == 5 && i.p[0] != 0)
		return -1;
	*v = 0;
	for (; i.p < i.end; i.p++)
		*v = (*v << 8) | *i.p;
	return 0;
}

/* Encodes the key file's DER into d. */
static void
tpm_keyfile_encode(const struct tpm_keyfile *k, struct der *out)
{
	struct der	 seq, tmp, pol, one, cp, octs;
	uint8_t		 b[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t		 off;
	static const uint8_t	 true_bool[] = { 0x01, 0x01, 0xff };

	memset(&seq, 0, sizeof(seq));
	der_put(&seq, tpm_oid_loadable, sizeof(tpm_oid_loadable));
	memset(&tmp, 0, sizeof(tmp));
	der_put(&tmp, true_bool, sizeof(true_bool));
	der_wrap(&seq, 0xa0, &tmp);
	if (k->bound) {
		/* TPMPolicy { [0] commandCode, [1] commandPolicy } */
		memset(&one, 0, sizeof(one));
		memset(&tmp, 0, sizeof(tmp));
		der_uint(&tmp, TPM2_CC_PolicyPCR);
		der_wrap(&one, 0xa0, &tmp);
		off = 0;
		if (tss.Tss2_MU_TPM2B_DIGEST_Marshal(&k->pcr_digest, b,
		    sizeof(b), &off) != TSS2_RC_SUCCESS ||
		    tss.Tss2_MU_TPML_PCR_SELECTION_Marshal(&k->pcrs, b,
		    sizeof(b), &off) != TSS2_RC_SUCCESS) {
			out->overflow = 1;
			return;
		}
		memset(&octs, 0, sizeof(octs));
		der_head(&octs, 0x04, off);
		der_put(&octs, b, off);
		memset(&cp, 0, sizeof(cp));
		der_wrap(&cp, 0xa1, &octs);
		der_put(&one, cp.b, cp.len);
		memset(&pol, 0, sizeof(pol));
		der_wrap(&pol, 0x30, &one);
		memset(&tmp, 0, sizeof(tmp));
		der_wrap(&tmp, 0x30, &pol);
		der_wrap(&seq, 0xa1, &tmp);
	}
	der_uint(&seq, TPM_OWNER);
	off = 0;
	if (tss.Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, b, sizeof(b), &off) !=
	    TSS2_RC_SUCCESS) {
		out->overflow = 1;
		return;
	}
	der_head(&seq, 0x04, off);
	der_put(&seq, b, off);
	off = 0;
	if (tss.Tss2_MU_TPM2B_PRIVATE_Marshal(&k->priv, b, sizeof(b), &off) !=
	    TSS2_RC_SUCCESS) {
		out->overflow = 1;
		return;
	}
	der_head(&seq, 0x04, off);
	der_put(&seq, b, off);
	der_wrap(out, 0x30, &seq);
}

/* Unmarshals a whole OCTET STRING's contents with fn; -1 on any rest. */
#define TPM_UNMARSHAL(fn, in, dst)					\
	(tss.fn((in).p, (size_t)((in).end - (in).p), &_off, (dst)) ==	\
	    TSS2_RC_SUCCESS && _off == (size_t)((in).end - (in).p))

/* Decodes a key file's DER; says what is wrong. */
static int
tpm_keyfile_decode(const uint8_t *der, size_t len, struct tpm_keyfile *k,
    char **cause)
{
	struct der_in	 in = { der, der + len }, seq, x, y, pol, one, z;
	const char	*why;
	uint32_t	 v;
	size_t		 _off;

	memset(k, 0, sizeof(*k));
	why = "not a TPM key (ASN.1 TPMKey)";
	if (der_get(&in, 0x30, &seq) != 0 || in.p != in.end)
		goto bad;
	if ((size_t)(seq.end - seq.p) < sizeof(tpm_oid_loadable) ||
	    memcmp(seq.p, tpm_oid_loadable, sizeof(tpm_oid_loadable)) != 0) {
		why = "not a loadable TPM key";
		goto bad;
	}
	seq.p += sizeof(tpm_oid_loadable);
	why = "the key needs a password (peerkey uses keys with none)";
	if (der_get(&seq, 0xa0, &x) != 0 || (size_t)(x.end - x.p) != 3 ||
	    memcmp(x.p, "\x01\x01\xff", 3) != 0)
		goto bad;
	if (der_peek(&seq, 0xa1)) {
		why = "its policy is not one TPM2_PolicyPCR";
		if (der_get(&seq, 0xa1, &x) != 0 || der_get(&x, 0x30, &pol) !=
		    0 || x.p != x.end || der_get(&pol, 0x30, &one) != 0 ||
		    pol.p != pol.end)
			goto bad;
		if (der_get(&one, 0xa0, &y) != 0 || der_get_uint(&y, &v) != 0 ||
		    y.p != y.end || v != TPM2_CC_PolicyPCR)
			goto bad;
		if (der_get(&one, 0xa1, &y) != 0 ||
		    der_get(&y, 0x04, &z) != 0 || y.p != y.end ||
		    one.p != one.end)
			goto bad;
		_off = 0;
		if (tss.Tss2_MU_TPM2B_DIGEST_Unmarshal(z.p,
		    (size_t)(z.end - z.p), &_off, &k->pcr_digest) !=
		    TSS2_RC_SUCCESS || tss.Tss2_MU_TPML_PCR_SELECTION_Unmarshal(
		    z.p, (size_t)(z.end - z.p), &_off, &k->pcrs) !=
		    TSS2_RC_SUCCESS || _off != (size_t)(z.end - z.p) ||
		    k->pcr_digest.size != 32 || tpm_pcr_mask(&k->pcrs) < 0)
			goto bad;
		k->bound = 1;
	}
	why = "its parent is not the owner hierarchy's primary key";
	if (der_peek(&seq, 0xa2) || der_peek(&seq, 0xa3)) {
		why = "it carries an imported secret or a signed policy, "
		    "which peerkey does not use";
		goto bad;
	}
	for (v = 4; v <= 5; v++)
		if (der_peek(&seq, (uint8_t)(0xa0 + v)) &&
		    der_get(&seq, (uint8_t)(0xa0 + v), &x) != 0)
			goto bad;
	if (der_get_uint(&seq, &v) != 0 || v != TPM_OWNER)
		goto bad;
	why = "its TPM2B_PUBLIC does not parse";
	_off = 0;
	if (der_get(&seq, 0x04, &x) != 0 ||
	    !TPM_UNMARSHAL(Tss2_MU_TPM2B_PUBLIC_Unmarshal, x, &k->pub))
		goto bad;
	why = "its TPM2B_PRIVATE does not parse";
	_off = 0;
	if (der_get(&seq, 0x04, &x) != 0 ||
	    !TPM_UNMARSHAL(Tss2_MU_TPM2B_PRIVATE_Unmarshal, x, &k->priv) ||
	    seq.p != seq.end)
		goto bad;
	why = "it is not an ECDSA P-256 signing key";
	if (k->pub.publicArea.type != TPM2_ALG_ECC ||
	    k->pub.publicArea.parameters.eccDetail.curveID !=
	    TPM2_ECC_NIST_P256 ||
	    !(k->pub.publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
	    (k->pub.publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
	    k->pub.publicArea.unique.ecc.x.size != 32 ||
	    k->pub.publicArea.unique.ecc.y.size != 32)
		goto bad;
	why = "its PCR policy and its authPolicy disagree";
	if (k->bound != (k->pub.publicArea.authPolicy.size != 0))
		goto bad;
	return 0;
 bad:
	pk_cause_set(cause, "%s", why);
	return PK_ERR_KEY;
}

/* The GnuTLS public key of a TPM2B_PUBLIC (ECC P-256). */
static int
tpm_pubkey(const TPM2B_PUBLIC *p, gnutls_pubkey_t *out)
{
	const TPMS_ECC_POINT	*pt = &p->publicArea.unique.ecc;
	gnutls_datum_t		 x, y;

	if (gnutls_pubkey_init(out) < 0) {
		*out = NULL;
		return PK_ERR_ALLOC;
	}
	x.data = (unsigned char *)pt->x.buffer;
	x.size = pt->x.size;
	y.data = (unsigned char *)pt->y.buffer;
	y.size = pt->y.size;
	if (gnutls_pubkey_import_ecc_raw(*out, GNUTLS_ECC_CURVE_SECP256R1, &x,
	    &y) < 0) {
		gnutls_pubkey_deinit(*out);
		*out = NULL;
		return PK_ERR_KEY;
	}
	return 0;
}

/* PEM text to a decoded key file. */
static int
tpm_key_read(const void *pem, size_t len, struct tpm_keyfile *k,
    char **cause)
{
	gnutls_datum_t	 in, der = { NULL, 0 };
	int		 r;

	if ((r = tpm_lib_mu(cause)) != 0)
		return r;
	if (len == 0 || len > 64 * 1024) {
		pk_cause_set(cause, "not a TPM key file (%zu bytes)", len);
		return PK_ERR_KEY;
	}
	in.data = (unsigned char *)pem;
	in.size = (unsigned int)len;
	if (gnutls_pem_base64_decode2(PK_TPM_PEM_LABEL, &in, &der) < 0) {
		pk_cause_set(cause, "no \"-----BEGIN %s-----\" block",
		    PK_TPM_PEM_LABEL);
		return PK_ERR_KEY;
	}
	if (der.size > TPM_DER_MAX) {
		pk_cause_set(cause, "not a TPM key (%u bytes of DER)",
		    der.size);
		r = PK_ERR_KEY;
	} else
		r = tpm_keyfile_decode(der.data, der.size, k, cause);
	gnutls_free(der.data);
	return r;
}

/* A decoded key file's key id and PCR mask. */
static int
tpm_keyfile_id(const struct tpm_keyfile *k, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	gnutls_pubkey_t	pub = NULL;
	int		r;

	if ((r = tpm_pubkey(&k->pub, &pub)) != 0) {
		pk_cause_set(cause, "its public key is not a P-256 point");
		return r;
	}
	r = pk_keyid_from_pubkey(pub, keyid);
	gnutls_pubkey_deinit(pub);
	if (r == 0 && pcr_mask != NULL)
		*pcr_mask = k->bound ? (unsigned long)tpm_pcr_mask(&k->pcrs) :
		    0;
	return r;
}

/* Parses a key file's text: key id and PCRs. */
int
pk_tpm_key_parse(const void *pem, size_t len, char *keyid,
    unsigned long *pcr_mask, char **cause)
{
	struct tpm_keyfile	k;
	int			r;

	if (pem == NULL || keyid == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = tpm_key_read(pem, len, &k, cause)) != 0)
		return r;
	return tpm_keyfile_id(&k, keyid, pcr_mask, cause);
}

/* Reads and decodes a key file (0600); says why not, naming path. */
static int
tpm_keyfile_load(const char *path, struct tpm_keyfile *k, char **cause)
{
	char		*buf = NULL;
	size_t		 len = 0;
	char		*why = NULL;
	int		 r;

	if ((r = pk_file_read(path, 64 * 1024, PK_FILE_PRIVATE, &buf,
	    &len)) != 0) {
		pk_cause_set(cause, "%s: %s%s", path, r == PK_ERR_SYSTEM ?
		    strerror(errno) : pk_strerror(r), r == PK_ERR_PERM ?
		    " (chmod 600 it)" : "");
		return r;
	}
	if ((r = tpm_key_read(buf, len, k, &why)) != 0)
		pk_cause_set(cause, "%s: %s", path, why != NULL ? why :
		    pk_strerror(r));
	free(why);
	free(buf);
	return r;
}

int
pk_tpm_keyfile_keyid(const char *path, char *keyid, unsigned long *pcr_mask,
    char **cause)
{
	struct tpm_keyfile	k;
	int			r;

	if (path == NULL || keyid == NULL)
		return PK_ERR_INVALID_ARG;
	if ((r = tpm_keyfile_load(path, &k, cause)) != 0)
		return r;
	if ((r = tpm_keyfile_id(&k, keyid, pcr_mask, cause)) != 0)
		pk_cause_set(cause, "%s", path);
	explicit_bzero(&k, sizeof(k));
	return r;
}

/* ---------------------------------------------------------------------
 * Making a key
 */

/* The TPM's part of making a key (on a job thread). */
struct keygen_job {
	struct tpm		*t;
	unsigned long		 mask;
	struct tpm_keyfile	 k;
	char			*why;
};

static int
keygen_run(void *p)
{
	struct keygen_job	*j = p;
	struct tpm		*t = j->t;
	TPM2B_SENSITIVE_CREATE	 sens = { 0 };
	TPM2B_DATA		 outside = { 0 };
	TPML_PCR_SELECTION	 none = { 0 };
	TPM2B_PUBLIC		 tmpl = { 0 }, *op = NULL;
	TPM2B_PRIVATE		*opriv = NULL;
	TPM2B_CREATION_DATA	*cd = NULL;
	TPM2B_DIGEST		*ch = NULL, *pd = NULL;
	TPMT_TK_CREATION	*ct = NULL;
	TPMT_PUBLIC		*a = &tmpl.publicArea;
	ESYS_TR			 prim = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC			 rc;
	char			 list[80];
	int			 r;

	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_NODA;
	a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	a->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if (j->mask != 0) {
		/* The policy: PolicyPCR at the PCRs' values now. */
		tpm_pcr_list(j->mask, list, sizeof(list));
		tpm_pcr_selection(j->mask, &j->k.pcrs);
		if ((r = tpm_pcr_digest(t, &j->k.pcrs, &j->k.pcr_digest,
		    &j->why)) != 0 || (r = tpm_policy_pcr(t, 1,
		    &j->k.pcr_digest, &j->k.pcrs, list, &s, &j->why)) != 0)
			goto out;
		rc = tss.Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pd);
		tpm_flush(t, s);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_fail(t, &j->why, "computing the PCR policy",
			    rc);
			goto out;
		}
		a->authPolicy = *pd;
		j->k.bound = 1;
	} else
		a->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	if ((r = tpm_primary(t, &prim, &j->why)) != 0)
		goto out;
	rc = tss.Esys_Create(t->esys, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &opriv, &op, &cd,
	    &ch, &ct);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(t, &j->why, "making the key", rc);
		goto out;
	}
	j->k.pub = *op;
	j->k.priv = *opriv;
	r = 0;
 out:
	tss.Esys_Free(op);
	tss.Esys_Free(opriv);
	tss.Esys_Free(cd);
	tss.Esys_Free(ch);
	tss.Esys_Free(ct);
	tss.Esys_Free(pd);
	tpm_flush(t, prim);
	return r;
}

/* An abandoned keygen_run finished: its message goes. */
static void
keygen_drop(void *p)
{
	free(((struct keygen_job *)p)->why);
}

int
pk_tpm_keygen(const char *tcti, unsigned long pcr_mask, char **pem,
    size_t *pemlen, char *keyid, char **cause)
{
	struct keygen_job	 j;
	struct tpm		*t = NULL;
	struct der		*der = NULL;
	gnutls_datum_t		 dd, out = { NULL, 0 };
	int			 r;

	if (pem == NULL || pemlen == NULL || keyid == NULL ||
	    (pcr_mask >> (PK_TPM_PCR_MAX + 1)) != 0)
		return PK_ERR_INVALID_ARG;
	*pem = NULL;
	*pemlen = 0;
	if ((r = tpm_open(tcti, 0, &t, cause)) != 0)
		return r;
	memset(&j, 0, sizeof(j));
	j.t = t;
	j.mask = pcr_mask;
	r = tpm_bounded(t, t->timeout_ms, keygen_run, keygen_drop, &j,
	    sizeof(j));
	if (r != 0) {
		if (j.why != NULL)
			pk_cause_set(cause, "%s", j.why);
		r = tpm_said(t, cause, "making the key", r);
		goto out;
	}
	if ((der = calloc(1, sizeof(*der))) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	tpm_keyfile_encode(&j.k, der);
	if (der->overflow) {
		pk_cause_set(cause, "TPM %s: the key does not encode",
		    t->name);
		r = PK_ERR_TPM;
		goto out;
	}
	dd.data = der->b;
	dd.size = (unsigned int)der->len;
	if (gnutls_pem_base64_encode2(PK_TPM_PEM_LABEL, &dd, &out) < 0) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	/* What was written must read back: one parser for both. */
	if ((r = pk_tpm_key_parse(out.data, out.size, keyid, NULL,
	    cause)) != 0)
		goto out;
	if ((*pem = malloc(out.size + 1)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	memcpy(*pem, out.data, out.size);
	(*pem)[out.size] = '\0';
	*pemlen = out.size;
	r = 0;
 out:
	free(j.why);
	gnutls_free(out.data);
	free(der);
	tpm_close(t);
	return r;
}

/* ---------------------------------------------------------------------
 * Signing through GnuTLS
 */

/* The DigestInfo prefix of a SHA-256 digest (RFC 8017, 9.2). */
static const uint8_t tpm_sha256_info[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

/* The TPM's part of a signature (on a job thread). */
struct sign_job {
	struct tpm_key		*k;
	TPM2B_DIGEST		 dg;
	TPMT_SIGNATURE		 sig;
	char			*why;
};

static int
sign_run(void *p)
{
	struct sign_job		*j = p;
	struct tpm_key		*k = j->k;
	struct tpm		*t = k->t;
	TPMT_SIG_SCHEME		 scheme;
	TPMT_TK_HASHCHECK	 check;
	TPMT_SIGNATURE		*ts = NULL;
	ESYS_TR			 s = ESYS_TR_NONE;
	TSS2_RC			 rc;
	int			 r;

	memset(&scheme, 0, sizeof(scheme));
	scheme.scheme = TPM2_ALG_ECDSA;
	scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	memset(&check, 0, sizeof(check));
	check.tag = TPM2_ST_HASHCHECK;
	check.hierarchy = TPM2_RH_NULL;
	if (k->bound) {
		if ((r = tpm_policy_pcr(t, 0, &k->pcr_digest, &k->pcrs,
		    k->pcr_list, &s, &j->why)) != 0)
			return r;
		/* Sign ends the session. */
		(void)tss.Esys_TRSess_SetAttributes(t->esys, s, 0,
		    TPMA_SESSION_CONTINUESESSION);
	}
	rc = tss.Esys_Sign(t->esys, k->handle, k->bound ? s :
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &j->dg, &scheme,
	    &check, &ts);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_flush(t, s);
		if (tpm_rc_is(rc, TPM2_RC_POLICY_FAIL))
			pk_cause_set(&j->why, "TPM %s: the boot key's PCR "
			    "policy (PCR %s) does not hold: the TPM refuses to "
			    "sign", t->name, k->pcr_list);
		return tpm_fail(t, &j->why, "signing", rc);
	}
	j->sig = *ts;
	tss.Esys_Free(ts);
	return 0;
}

static void
sign_drop(void *p)
{
	free(((struct sign_job *)p)->why);
}

/*
 * Signs a SHA-256 digest (32 bytes) with the loaded key; the DER
 * Ecdsa-Sig-Value into *sig (gnutls_malloc'ed). Says why not in k->err
 * and *cause.
 */
static int
tpm_sign(struct tpm_key *k, const uint8_t *hash, size_t len,
    gnutls_datum_t *sig, char **cause)
{
	struct sign_job	 j;
	gnutls_datum_t	 rr, ss;
	int		 r;

	sig->data = NULL;
	sig->size = 0;
	memset(&j, 0, sizeof(j));
	if (len != 32) {
		pk_cause_set(&j.why, "asked to sign %zu bytes, not a SHA-256 "
		    "digest", len);
		r = PK_ERR_INVALID_ARG;
		goto out;
	}
	j.k = k;
	j.dg.size = 32;
	memcpy(j.dg.buffer, hash, 32);
	r = tpm_bounded(k->t, k->t->timeout_ms, sign_run, sign_drop, &j,
	    sizeof(j));
	if (r != 0) {
		r = tpm_said(k->t, &j.why, "signing", r);
		goto out;
	}
	if (j.sig.sigAlg != TPM2_ALG_ECDSA) {
		pk_cause_set(&j.why, "TPM %s: signed with algorithm %#x",
		    k->t->name, j.sig.sigAlg);
		r = PK_ERR_TPM;
		goto out;
	}
	rr.data = j.sig.signature.ecdsa.signatureR.buffer;
	rr.size = j.sig.signature.ecdsa.signatureR.size;
	ss.data = j.sig.signature.ecdsa.signatureS.buffer;
	ss.size = j.sig.signature.ecdsa.signatureS.size;
	if (gnutls_encode_rs_value(sig, &rr, &ss) < 0)
		r = PK_ERR_ALLOC;
 out:
	if (j.why != NULL) {
		snprintf(k->err, sizeof(k->err), "%s", j.why);
		pk_cause_set(cause, "%s", j.why);
		free(j.why);
	}
	return r;
}

/* GnuTLS asks for a signature of a hash (the external key's callback). */
static int
tpm_gnutls_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
    void *userdata, unsigned int flags, const gnutls_datum_t *hash,
    gnutls_datum_t *sig)
{
	struct tpm_key	*k = userdata;
	const uint8_t	*h = hash->data;
	size_t		 n = hash->size;

	(void)key;
	(void)flags;
	if (algo != GNUTLS_SIGN_ECDSA_SHA256 &&
	    algo != GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 &&
	    algo != GNUTLS_SIGN_UNKNOWN)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	/* The DigestInfo form: the SHA-256 digest inside it. */
	if (n == sizeof(tpm_sha256_info) + 32 &&
	    memcmp(h, tpm_sha256_info, sizeof(tpm_sha256_info)) == 0) {
		h += sizeof(tpm_sha256_info);
		n = 32;
	}
	if (tpm_sign(k, h, n, sig, NULL) != 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	return 0;
}

/* What GnuTLS asks about the external key. */
static int
tpm_gnutls_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	unsigned int	se;

	(void)key;
	(void)userdata;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
		se = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		return se == GNUTLS_SIGN_ECDSA_SHA256 ||
		    se == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	}
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_ECDSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return 256;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	return -1;
}

/* An external GnuTLS key on k (many may share it; none frees it). */
static int
tpm_privkey(struct tpm_key *k, gnutls_privkey_t *out)
{
	if (gnutls_privkey_init(out) < 0) {
		*out = NULL;
		return PK_ERR_ALLOC;
	}
	if (gnutls_privkey_import_ext4(*out, k, NULL, tpm_gnutls_sign, NULL,
	    NULL, tpm_gnutls_info, 0) < 0) {
		gnutls_privkey_deinit(*out);
		*out = NULL;
		return PK_ERR_KEY;
	}
	return 0;
}

/* key.h's ext_dup: one more handle for TLS credentials. */
static int
tpm_ext_dup(const struct pk_identity *id, gnutls_privkey_t *out)
{
	return tpm_privkey(id->ext, out);
}

/* Flushing a key (on a job thread). */
struct flush_job {
	struct tpm	*t;
	ESYS_TR		 h;
};

static int
flush_run(void *p)
{
	struct flush_job	*j = p;

	tpm_flush(j->t, j->h);
	return 0;
}

/* key.h's ext_free: flush the key, close the TPM (unless dead). */
static void
tpm_ext_free(void *p)
{
	struct tpm_key		*k = p;
	struct flush_job	 j;

	if (k == NULL)
		return;
	if (k->t != NULL && k->handle != ESYS_TR_NONE) {
		j.t = k->t;
		j.h = k->handle;
		(void)tpm_bounded(k->t, k->t->timeout_ms, flush_run, NULL, &j,
		    sizeof(j));
	}
	if (k->t != NULL && k->t->dead)
		return;		/* k may still be in use */
	tpm_close(k->t);
	free(k);
}

/* The TPM's part of loading a key (on a job thread). */
struct load_job {
	struct tpm_key		*k;
	TPM2B_PUBLIC		 pub;
	TPM2B_PRIVATE		 priv;
	TSS2_RC			 rc;
	char			*why;
};

static int
load_run(void *p)
{
	struct load_job		*j = p;
	struct tpm		*t = j->k->t;
	ESYS_TR			 prim = ESYS_TR_NONE, h = ESYS_TR_NONE;
	int			 r;

	if ((r = tpm_primary(t, &prim, &j->why)) != 0)
		return r;
	j->rc = tss.Esys_Load(t->esys, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &j->priv, &j->pub, &h);
	tpm_flush(t, prim);
	if (j->rc != TSS2_RC_SUCCESS)
		return PK_ERR_TPM;
	j->k->handle = h;
	return 0;
}

static void
load_drop(void *p)
{
	struct load_job	*j = p;

	explicit_bzero(&j->priv, sizeof(j->priv));
	free(j->why);
}

int
pk_tpm_identity_load(const char *tcti, const char *path,
    unsigned int timeout_ms, struct pk_identity **out, char **cause)
{
	struct pk_identity	*id = NULL;
	struct tpm_keyfile	 kf;
	struct load_job		 j;
	struct tpm_key		*k = NULL;
	int			 r;

	if (path == NULL || out == NULL)
		return PK_ERR_INVALID_ARG;
	*out = NULL;
	if ((r = tpm_keyfile_load(path, &kf, cause)) != 0)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (id = calloc(1, sizeof(*id))) == NULL) {
		free(k);
		return PK_ERR_ALLOC;
	}
	memset(&j, 0, sizeof(j));
	k->handle = ESYS_TR_NONE;
	k->bound = kf.bound;
	k->pcr_digest = kf.pcr_digest;
	k->pcrs = kf.pcrs;
	if (kf.bound)
		tpm_pcr_list((unsigned long)tpm_pcr_mask(&kf.pcrs),
		    k->pcr_list, sizeof(k->pcr_list));
	id->ext = k;
	id->ext_dup = tpm_ext_dup;
	id->ext_free = tpm_ext_free;
	if ((r = tpm_pubkey(&kf.pub, &id->pub)) != 0 ||
	    (r = pk_keyid_from_pubkey(id->pub, id->keyid)) != 0)
		goto out;
	if ((r = tpm_open(tcti, timeout_ms, &k->t, cause)) != 0)
		goto out;
	j.k = k;
	j.pub = kf.pub;
	j.priv = kf.priv;
	r = tpm_bounded(k->t, k->t->timeout_ms, load_run, load_drop, &j,
	    sizeof(j));
	if (r == PK_ERR_TPM && j.why == NULL) {
		if (tpm_rc_is(j.rc, TPM2_RC_INTEGRITY) ||
		    tpm_rc_is(j.rc, TPM2_RC_BINDING))
			pk_cause_set(cause, "TPM %s: the boot key %s was not "
			    "made by this TPM (another machine's, or this "
			    "TPM was cleared)", k->t->name, id->keyid);
		r = tpm_fail(k->t, cause, "loading the boot key", j.rc);
	} else if (r != 0) {
		if (j.why != NULL)
			pk_cause_set(cause, "%s", j.why);
		r = tpm_said(k->t, cause, "loading the boot key", r);
	}
	if (r != 0)
		goto out;
	if ((r = tpm_privkey(k, &id->priv)) != 0)
		goto out;
	*out = id;
	id = NULL;
 out:
	free(j.why);
	explicit_bzero(&j.priv, sizeof(j.priv));
	explicit_bzero(&kf, sizeof(kf));
	pk_identity_free(id);
	return r;
}

int
pk_tpm_identity_check(struct pk_identity *id, char **cause)
{
	gnutls_datum_t	 h, sig = { NULL, 0 };
	uint8_t		 d[32];
	int		 r;

	if (id == NULL || id->ext_free != tpm_ext_free || id->ext == NULL)
		return PK_ERR_INVALID_ARG;
	if (gnutls_rnd(GNUTLS_RND_NONCE, d, sizeof(d)) < 0)
		return PK_ERR_INTERNAL;
	if ((r = tpm_sign(id->ext, d, sizeof(d), &sig, cause)) != 0)
		return r == PK_ERR_ALLOC ? r : PK_ERR_TPM;
	h.data = d;
	h.size = sizeof(d);
	if (gnutls_pubkey_verify_hash2(id->pub, GNUTLS_SIGN_ECDSA_SHA256, 0,
	    &h, &sig) < 0) {
		pk_cause_set(cause, "TPM %s: the signature made with the boot "
		    "key %s does not verify",
		    ((struct tpm_key *)id->ext)->t->name, id->keyid);
		r = PK_ERR_TPM;
	}
	gnutls_free(sig.data);
	return r;
}

#endif /* HAVE_TPM */
