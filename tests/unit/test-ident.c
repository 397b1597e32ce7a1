/*
 * test-ident.c: signed identity documents (ident.c): a round trip with
 * every field, the limits of each field, every bit flipped and every
 * truncation of a golden document refused, a document signed by one key
 * that names another refused, and the base64 form.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "key.h"
#include "pk_err.h"
#include "test_helper.h"

#define BOOT	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct pk_identity	*ka, *kb;

/* Fills d with a good identity (pgp: its boot OpenPGP key text). */
static void
good(struct pk_ident *d, char *pgp)
{
	memset(d, 0, sizeof(*d));
	d->seq = 1764000000000ULL;
	snprintf(d->name, sizeof(d->name), "h1.example-1_x");
	snprintf(d->boot_keyid, sizeof(d->boot_keyid), "%s", BOOT);
	snprintf(d->addresses, sizeof(d->addresses),
	    "192.0.2.1:4141 [2001:db8::1]:4141");
	d->boot_pgp = pgp;
}

/* Signs d with key (naming pub's public key); returns the bytes. */
static uint8_t *
sign_as(struct pk_identity *key, struct pk_identity *pub, struct pk_ident *d,
    size_t *len, int want)
{
	struct pk_identity	 mixed = *key;
	uint8_t			*raw = NULL;
	char			*cause = NULL;

	mixed.pub = pub->pub;
	ASSERT_INT_EQ(pk_ident_sign(&mixed, d, &raw, len, &cause), want);
	if (want != 0)
		ASSERT_PTR_NE(cause, NULL);
	free(cause);
	return raw;
}

static void
test_round_trip(void)
{
	struct pk_ident	 d, out;
	char		 pgp[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\r\n"
			    "-----END PGP PUBLIC KEY BLOCK-----\n";
	uint8_t		*raw;
	char		*b64, *cause = NULL;
	size_t		 len;

	TEST_START("sign and decode: every field comes back, the signer's key id");
	good(&d, pgp);
	raw = sign_as(ka, ka, &d, &len, 0);
	ASSERT_STR_EQ(d.node_keyid, ka->keyid);
	ASSERT_INT_EQ(len, 4 + 1 + 8 + 2 + strlen(d.name) + 32 + 32 + 2 +
	    strlen(d.addresses) + 4 + strlen(pgp) + 64);
	ASSERT_INT_EQ(memcmp(raw, "PKID\001", 5), 0);
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, &cause), 0);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_INT_EQ(out.seq, d.seq);
	ASSERT_STR_EQ(out.name, d.name);
	ASSERT_STR_EQ(out.node_keyid, ka->keyid);
	ASSERT_STR_EQ(out.boot_keyid, BOOT);
	ASSERT_STR_EQ(out.addresses, d.addresses);
	ASSERT_STR_EQ(out.boot_pgp, pgp);
	pk_ident_clear(&out);
	TEST_DONE();

	TEST_START("base64: the same document, and no other text");
	b64 = pk_ident_b64(raw, len);
	ASSERT_PTR_NE(b64, NULL);
	ASSERT_INT_EQ(pk_ident_decode_b64(b64, &out, NULL, NULL, NULL), 0);
	ASSERT_STR_EQ(out.name, d.name);
	pk_ident_clear(&out);
	ASSERT_INT_EQ(pk_ident_decode_b64("", &out, NULL, NULL, &cause),
	    PK_ERR_BAD_FORMAT);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_ident_decode_b64("***", &out, NULL, NULL, &cause),
	    PK_ERR_BAD_FORMAT);
	free(cause);
	free(b64);
	free(raw);
	TEST_DONE();
}

static void
test_tamper(void)
{
	struct pk_ident	 d, out;
	uint8_t		*raw;
	size_t		 len, i;
	int		 bit, bad = 0, r;

	good(&d, "");
	raw = sign_as(ka, ka, &d, &len, 0);

	TEST_START("every bit flipped: refused");
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			raw[i] ^= (uint8_t)(1 << bit);
			if ((r = pk_ident_decode(raw, len, &out, NULL)) == 0)
				bad++;
			if (out.boot_pgp != NULL)
				bad++;
			raw[i] ^= (uint8_t)(1 << bit);
		}
	}
	ASSERT_INT_EQ(bad, 0);
	TEST_DONE();

	TEST_START("every truncation: PK_ERR_TRUNCATED; a byte more: trailing");
	for (i = 0; i < len; i++)
		if (pk_ident_decode(raw, i, &out, NULL) != PK_ERR_TRUNCATED)
			bad++;
	ASSERT_INT_EQ(bad, 0);
	raw = realloc(raw, len + 1);
	raw[len] = 0;
	ASSERT_INT_EQ(pk_ident_decode(raw, len + 1, &out, NULL),
	    PK_ERR_TRAILING);
	free(raw);
	TEST_DONE();

	TEST_START("signed by one key, naming another: refused (PK_ERR_KEY)");
	raw = sign_as(ka, kb, &d, &len, 0);
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, NULL), PK_ERR_KEY);
	free(raw);
	TEST_DONE();
}

static void
test_limits(void)
{
	struct pk_ident	 d, out;
	uint8_t		*raw;
	char		*pgp;
	size_t		 len;

	TEST_START("sign: each field held to its rules");
	good(&d, NULL);
	d.seq = 0;
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	good(&d, NULL);
	d.name[0] = '\0';
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	good(&d, NULL);
	snprintf(d.name, sizeof(d.name), "a b");
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	good(&d, NULL);
	memset(d.name, 'n', PK_IDENT_NAME_MAX);
	free(sign_as(ka, ka, &d, &len, 0));
	good(&d, NULL);
	snprintf(d.boot_keyid, sizeof(d.boot_keyid), "xyz");
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	good(&d, NULL);
	snprintf(d.addresses, sizeof(d.addresses), "no port here:");
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	good(&d, "tab\there");
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("the boot OpenPGP key: up to PK_IDENT_PGP_MAX bytes");
	pgp = malloc(PK_IDENT_PGP_MAX + 2);
	memset(pgp, 'A', PK_IDENT_PGP_MAX + 1);
	pgp[PK_IDENT_PGP_MAX + 1] = '\0';
	good(&d, pgp);
	sign_as(ka, ka, &d, &len, PK_ERR_INVALID_ARG);
	pgp[PK_IDENT_PGP_MAX] = '\0';
	memset(d.name, 'n', PK_IDENT_NAME_MAX);
	raw = sign_as(ka, ka, &d, &len, 0);
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, NULL), 0);
	ASSERT_INT_EQ(strlen(out.boot_pgp), PK_IDENT_PGP_MAX);
	pk_ident_clear(&out);
	ASSERT_TRUE(len <= PK_IDENT_MAX);
	free(raw);
	free(pgp);
	TEST_DONE();

	TEST_START("decode: another magic or version; a length over its limit");
	good(&d, NULL);
	raw = sign_as(ka, ka, &d, &len, 0);
	raw[0] = 'X';
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, NULL),
	    PK_ERR_BAD_FORMAT);
	raw[0] = 'P';
	raw[4] = 2;
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, NULL),
	    PK_ERR_BAD_VERSION);
	raw[4] = 1;
	raw[13] = 0;		/* the name's length: 65 */
	raw[14] = PK_IDENT_NAME_MAX + 1;
	ASSERT_INT_EQ(pk_ident_decode(raw, len, &out, NULL),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_ident_decode(raw, PK_IDENT_MAX + 1, &out, NULL),
	    PK_ERR_TOO_LARGE);
	free(raw);
	TEST_DONE();
}

int
main(void)
{
	if (pk_identity_generate(&ka) != 0 || pk_identity_generate(&kb) != 0)
		return 1;
	test_round_trip();
	test_tamper();
	test_limits();
	pk_identity_free(ka);
	pk_identity_free(kb);
	return test_exit();
}
