/*
 * tpm-esys.c: the TPM through tss2 ESYS, for tpm.c: the libraries opened
 * with dlopen() at the first use (as systemd does: a boot agent whose key
 * is a file needs none of them in its initramfs, and an absent library is
 * one clear error), every piece of TPM work bounded by a timeout
 * (tpm_bounded), opening a TPM, its primary key, and PCR policy sessions.
 */
#include "config.h"

#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "pk_err.h"
#include "tpm.h"
#include "tpm-int.h"

struct tpm_tss2	tpm_tss;

/* dlopen()s lib and fills in its symbols; the handle is kept for ever. */
#define TSS2_DLSYM(name)						\
	tpm_tss.name = (__typeof__(&name))dlsym(h, #name);		\
	if (tpm_tss.name == NULL) {					\
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
int
tpm_lib_mu(char **cause)
{
	const char	*lib = "libtss2-mu.so.0";
	void		*h;
	int		 r;

	if (tpm_tss.mu_loaded)
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
	tpm_tss.mu_loaded = 1;
	return 0;
}

int
tpm_lib_all(char **cause)
{
	const char	*lib;
	void		*h;
	int		 r;

	if ((r = tpm_lib_mu(cause)) != 0)
		return r;
	if (tpm_tss.esys_loaded)
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
	tpm_tss.esys_loaded = 1;
	return 0;
}

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
int
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
int
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
int
tpm_fail(struct tpm *t, char **cause, const char *what, TSS2_RC rc)
{
	pk_cause_set(cause, "TPM %s: %s: %s", t->name, what,
	    tpm_tss.Tss2_RC_Decode(rc));
	return PK_ERR_TPM;
}

/*
 * After tpm_bounded(): a timeout or a lack of memory said in words;
 * anything else is left as the work set it.
 */
int
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

	if ((j->rc = tpm_tss.Tss2_TctiLdr_Initialize(j->conf, &j->tcti)) !=
	    TSS2_RC_SUCCESS) {
		j->tcti = NULL;
		return PK_ERR_TPM;
	}
	if ((j->rc = tpm_tss.Esys_Initialize(&j->esys, j->tcti, NULL)) !=
	    TSS2_RC_SUCCESS) {
		j->esys = NULL;
		j->esys_failed = 1;
		tpm_tss.Tss2_TctiLdr_Finalize(&j->tcti);
		return PK_ERR_TPM;
	}
	return 0;
}

static void
open_drop(void *p)
{
	struct open_job	*j = p;

	if (j->esys != NULL)
		tpm_tss.Esys_Finalize(&j->esys);
	if (j->tcti != NULL)
		tpm_tss.Tss2_TctiLdr_Finalize(&j->tcti);
}

/* Opens the TPM through tcti. */
int
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
		    tpm_tss.Tss2_RC_Decode(j.rc));
	free(t);
	return PK_ERR_TPM;
}

/* Closes the TPM; a dead one is left to the thread still inside it. */
void
tpm_close(struct tpm *t)
{
	if (t == NULL || t->dead)
		return;
	if (t->esys != NULL)
		tpm_tss.Esys_Finalize(&t->esys);
	if (t->tcti != NULL)
		tpm_tss.Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* Flushes a transient object or session (best effort; job threads). */
void
tpm_flush(struct tpm *t, ESYS_TR h)
{
	if (h != ESYS_TR_NONE)
		(void)tpm_tss.Esys_FlushContext(t->esys, h);
}

/* Makes the primary key (see tpm_primary_tmpl). */
int
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
	rc = tpm_tss.Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
	    &tpm_primary_tmpl, &outside, &none, h, &op, &cd, &ch, &ct);
	tpm_tss.Esys_Free(op);
	tpm_tss.Esys_Free(cd);
	tpm_tss.Esys_Free(ch);
	tpm_tss.Esys_Free(ct);
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
void
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
long
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
void
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
int
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
		rc = tpm_tss.Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
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
		tpm_tss.Esys_Free(got);
		tpm_tss.Esys_Free(vals);
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
	tpm_tss.Esys_Free(got);
	tpm_tss.Esys_Free(vals);
	gnutls_hash_deinit(hh, NULL);
	return r;
}

/*
 * Starts a policy (or, trial, a trial) session and runs TPM2_PolicyPCR
 * in it. *s is the session (flushed here on failure).
 */
int
tpm_policy_pcr(struct tpm *t, int trial, const TPM2B_DIGEST *digest,
    const TPML_PCR_SELECTION *sel, const char *pcr_list, ESYS_TR *s,
    char **cause)
{
	TPMT_SYM_DEF	 sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC		 rc;

	*s = ESYS_TR_NONE;
	rc = tpm_tss.Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
	    trial ? TPM2_SE_TRIAL : TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, s);
	if (rc != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return tpm_fail(t, cause, "starting a policy session", rc);
	}
	rc = tpm_tss.Esys_PolicyPCR(t->esys, *s, ESYS_TR_NONE, ESYS_TR_NONE,
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
