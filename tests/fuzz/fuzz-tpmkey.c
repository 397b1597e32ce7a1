/*
 * fuzz-tpmkey.c: libFuzzer target for TPM key files (tpm.c's
 * pk_tpm_key_parse: PEM, then the ASN.1 TPMKey DER, then tss2-mu's
 * TPM2B_PUBLIC / TPM2B_PRIVATE / policy unmarshalling).
 *
 * The input is tried twice: as the file's text, and as DER wrapped in the
 * PEM armour (so that the fuzzer reaches the DER parser directly). Each
 * try must end in success with a valid key id, or PK_ERR_KEY with a
 * message; anything else aborts. No TPM is needed.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <gnutls/gnutls.h>

#include "key.h"
#include "pk_err.h"
#include "tpm.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One parse, judged. */
static void
try_parse(const void *p, size_t len)
{
	unsigned long	 mask = 0;
	char		 keyid[PK_KEYID_HEXLEN + 1], *cause = NULL;
	int		 r;

	r = pk_tpm_key_parse(p, len, keyid, &mask, &cause);
	if (r == 0) {
		if (!pk_keyid_valid(keyid) ||
		    (mask >> (PK_TPM_PCR_MAX + 1)) != 0)
			abort();
	} else if (r != PK_ERR_KEY || cause == NULL)
		abort();
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_datum_t	der, pem = { NULL, 0 };

	try_parse(data, size);
	if (size == 0 || size > 8192)
		return 0;
	der.data = (unsigned char *)data;
	der.size = (unsigned int)size;
	if (gnutls_pem_base64_encode2(PK_TPM_PEM_LABEL, &der, &pem) == 0) {
		try_parse(pem.data, pem.size);
		gnutls_free(pem.data);
	}
	return 0;
}
