/*
 * fuzz-ident.c: libFuzzer target for ident.c: pk_ident_decode(), which
 * reads signed identity documents from the network (JOIN, JOIN_REPLY,
 * INTRODUCE, UPDATE) and from the store, and pk_ident_decode_b64().
 *
 * Input: a document's bytes. Checks: a decoder either refuses with one of
 * its documented codes and a cause, or accepts a document whose fields
 * keep the rules (name, key ids, addresses, armored text, seq >= 1);
 * an accepted document with its last byte changed (its signature) is
 * refused; the base64 of the input decodes to the same result.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ident.h"
#include "key.h"
#include "pk_err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pk_ident	 id, id2;
	uint8_t		*copy;
	char		*cause = NULL, *b64;
	int		 r, r2;

	r = pk_ident_decode(data, len, &id, &cause);
	if (r != 0) {
		if ((cause == NULL && r != PK_ERR_ALLOC) || (r != PK_ERR_TRUNCATED &&
		    r != PK_ERR_TRAILING && r != PK_ERR_TOO_LARGE &&
		    r != PK_ERR_BAD_FORMAT && r != PK_ERR_BAD_VERSION &&
		    r != PK_ERR_KEY && r != PK_ERR_ALLOC) ||
		    id.boot_pgp != NULL)
			abort();
	} else {
		if (cause != NULL || id.seq == 0 || id.name[0] == '\0' ||
		    !pk_keyid_valid(id.node_keyid) ||
		    !pk_keyid_valid(id.boot_keyid) || id.boot_pgp == NULL ||
		    strlen(id.boot_pgp) > PK_IDENT_PGP_MAX ||
		    pk_parse_address_list(id.addresses) != 0)
			abort();
		if ((copy = malloc(len)) == NULL)
			abort();
		memcpy(copy, data, len);
		copy[len - 1] ^= 0x01;
		if (pk_ident_decode(copy, len, &id2, NULL) != PK_ERR_KEY)
			abort();
		free(copy);
	}
	free(cause);
	cause = NULL;
	if (len > 0 && len <= PK_IDENT_MAX &&
	    (b64 = pk_ident_b64(data, len)) != NULL) {
		r2 = pk_ident_decode_b64(b64, &id2, NULL, NULL, &cause);
		if (r2 != r || (r == 0 && (id2.seq != id.seq ||
		    strcmp(id2.name, id.name) != 0)))
			abort();
		pk_ident_clear(&id2);
		free(b64);
		free(cause);
	}
	pk_ident_clear(&id);
	return 0;
}
