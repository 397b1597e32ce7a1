/*
 * test-key.c: identities and key ids, checked against Debian's real
 * mandos-keygen and GnuTLS's certtool.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "key.h"
#include "pk_err.h"
#include "test_helper.h"

#define MANDOS_KEYGEN	"/usr/sbin/mandos-keygen"

/* Writes len bytes to path with mode; returns 0 or -1. */
static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Runs a shell command and returns its stdout (malloc'ed) or NULL. */
static char *
run_capture(const char *cmd)
{
	FILE	*f;
	char	*out;
	size_t	 len = 0, cap = 65536;
	size_t	 n;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	if ((f = popen(cmd, "r")) == NULL) {
		free(out);
		return NULL;
	}
	while ((n = fread(out + len, 1, cap - 1 - len, f)) > 0)
		len += n;
	out[len] = '\0';
	if (pclose(f) != 0) {
		test_diag("command failed: %s", cmd);
		free(out);
		return NULL;
	}
	return out;
}

/* Copies the first run of 64 hex digits after prefix in s into id. */
static int
extract_keyid(const char *s, const char *prefix, char *id)
{
	const char	*p;
	size_t		 i;

	if (s == NULL || (p = strstr(s, prefix)) == NULL)
		return -1;
	p += strlen(prefix);
	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; i < PK_KEYID_HEXLEN; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		id[i] = p[i];
	}
	if (isxdigit((unsigned char)p[i]))
		return -1;
	id[i] = '\0';
	return 0;
}

/* Runs certtool --key-id on a public key file; 0 and id, or -1. */
static int
certtool_keyid(const char *pubfile, char *id)
{
	char	 cmd[8192];
	char	*out;
	int	 r;

	snprintf(cmd, sizeof(cmd), "certtool --key-id --hash=sha256 "
	    "--load-pubkey '%s' 2>/dev/null", pubfile);
	out = run_capture(cmd);
	r = extract_keyid(out, "", id);
	free(out);
	return r;
}

/* Returns the permission bits of path, or -1. */
static int
file_mode(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

/* Saves a's private key (its public key if public) to path, new, under
 * umask mask; the file's permission bits, or -1. */
static int
saved_mode(const struct pk_identity *a, const char *path, int public,
    mode_t mask)
{
	mode_t	old = umask(mask);
	int	r;

	r = public ? pk_identity_save_public(a, path, 0) :
	    pk_identity_save(a, path, 0);
	umask(old);
	ASSERT_INT_EQ(r, 0);
	return file_mode(path);
}

/* Gives path the mode, then loads it (as a systemd credential if cred):
 * it must load, as the key id want when that is not NULL. */
static void
loads_at(const char *path, mode_t mode, int cred, const char *want)
{
	struct pk_identity	*id = NULL;

	ASSERT_INT_EQ(chmod(path, mode), 0);
	ASSERT_INT_EQ(cred ? pk_identity_load_credential(path, &id) :
	    pk_identity_load(path, &id), 0);
	if (id != NULL && want != NULL)
		ASSERT_STR_EQ(id->keyid, want);
	pk_identity_free(id);
}

/* Counts the directory entries whose name contains needle. */
static int
count_entries(const char *dir, const char *needle)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, needle) != NULL)
			n++;
	closedir(d);
	return n;
}

/* Writes a freshly generated private key of another algorithm as PEM. */
static int
write_foreign_key(const char *path, gnutls_pk_algorithm_t alg,
    unsigned int bits)
{
	gnutls_x509_privkey_t	xk;
	gnutls_datum_t		pem = { NULL, 0 };
	int			r = -1;

	if (gnutls_x509_privkey_init(&xk) < 0)
		return -1;
	if (gnutls_x509_privkey_generate(xk, alg, bits, 0) < 0)
		goto out;
	if (gnutls_x509_privkey_export2_pkcs8(xk, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN, &pem) < 0)
		goto out;
	r = write_file(path, pem.data, pem.size, 0600);
 out:
	gnutls_free(pem.data);
	gnutls_x509_privkey_deinit(xk);
	return r;
}

/* Known answers for the hash and hex encoding. */
static void
test_spki_hash(void)
{
	char	id[PK_KEYID_HEXLEN + 1];

	TEST_START("pk_keyid_from_spki known answer (SHA-256 of \"abc\")");
	ASSERT_INT_EQ(pk_keyid_from_spki((const unsigned char *)"abc", 3, id),
	    0);
	ASSERT_STR_EQ(id, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	ASSERT_INT_EQ(pk_keyid_from_spki(NULL, 3, id), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_keyid_from_spki((const unsigned char *)"abc", 0, id),
	    PK_ERR_INVALID_ARG);
	TEST_DONE();
}

/* pk_keyid_valid() and pk_keyid_normalize(). */
static void
test_keyid_valid(void)
{
	char	id[80];
	const char *good = "1a944ec31869dfed3b76d91a71d77c43"
	    "17821ee99be03a9a6294d7fdab999f73";

	TEST_START("pk_keyid_valid accepts 64 hex digits, either case");
	ASSERT_INT_EQ(pk_keyid_valid(good), 1);
	snprintf(id, sizeof(id), "%s", good);
	for (size_t i = 0; id[i] != '\0'; i++)
		id[i] = (char)toupper((unsigned char)id[i]);
	ASSERT_INT_EQ(pk_keyid_valid(id), 1);
	pk_keyid_normalize(id);
	ASSERT_STR_EQ(id, good);
	TEST_DONE();

	TEST_START("pk_keyid_valid rejects wrong lengths and non-hex");
	ASSERT_INT_EQ(pk_keyid_valid(NULL), 0);
	ASSERT_INT_EQ(pk_keyid_valid(""), 0);
	snprintf(id, sizeof(id), "%.63s", good);
	ASSERT_INT_EQ(pk_keyid_valid(id), 0);
	snprintf(id, sizeof(id), "%s0", good);
	ASSERT_INT_EQ(pk_keyid_valid(id), 0);
	snprintf(id, sizeof(id), "%s", good);
	id[10] = 'g';
	ASSERT_INT_EQ(pk_keyid_valid(id), 0);
	id[10] = ' ';
	ASSERT_INT_EQ(pk_keyid_valid(id), 0);
	snprintf(id, sizeof(id), "%s\n", good);
	ASSERT_INT_EQ(pk_keyid_valid(id), 0);
	TEST_DONE();

	TEST_START("pk_keyid_valid rejects the id of the empty string");
	ASSERT_INT_EQ(pk_keyid_valid("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"), 0);
	ASSERT_INT_EQ(pk_keyid_valid("E3B0C44298FC1C149AFBF4C8996FB924"
	    "27AE41E4649B934CA495991B7852B855"), 0);
	TEST_DONE();
}

/* Generate, save, load, compare; file modes; overwrite refusal. */
static void
test_roundtrip(void)
{
	struct pk_identity	*a = NULL, *b = NULL, *c = NULL;
	char			 id[PK_KEYID_HEXLEN + 1];
	char			 ct[PK_KEYID_HEXLEN + 1];
	char			 priv[4096], pub[4096];

	snprintf(priv, sizeof(priv), "%s", test_path("node.key"));
	snprintf(pub, sizeof(pub), "%s", test_path("node.pub"));

	TEST_START("generate gives an Ed25519 identity with a valid id");
	ASSERT_INT_EQ(pk_identity_generate(&a), 0);
	ASSERT_PTR_NE(a, NULL);
	if (a == NULL)
		goto out;
	ASSERT_INT_EQ(gnutls_privkey_get_pk_algorithm(a->priv, NULL),
	    GNUTLS_PK_EDDSA_ED25519);
	ASSERT_INT_EQ(strlen(a->keyid), PK_KEYID_HEXLEN);
	ASSERT_INT_EQ(pk_keyid_valid(a->keyid), 1);
	snprintf(id, sizeof(id), "%s", a->keyid);
	pk_keyid_normalize(id);
	ASSERT_STR_EQ(id, a->keyid);		/* already lower case */
	ASSERT_INT_EQ(pk_keyid_from_pubkey(a->pub, id), 0);
	ASSERT_STR_EQ(id, a->keyid);
	TEST_DONE();

	TEST_START("two generated identities differ");
	ASSERT_INT_EQ(pk_identity_generate(&c), 0);
	if (c != NULL)
		ASSERT_INT_NE(strcmp(a->keyid, c->keyid), 0);
	TEST_DONE();

	TEST_START("save writes 0600 (even with umask 0), load gives same id");
	ASSERT_INT_EQ(saved_mode(a, priv, 0, 0), 0600);
	ASSERT_INT_EQ(pk_identity_load(priv, &b), 0);
	if (b != NULL)
		ASSERT_STR_EQ(b->keyid, a->keyid);
	ASSERT_INT_EQ(count_entries(test_tmpdir(), ".tmp"), 0);
	TEST_DONE();

	TEST_START("save_public writes 0644; id from file and certtool agree");
	ASSERT_INT_EQ(saved_mode(a, pub, 1, 077), 0644);
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(pub, id), 0);
	ASSERT_STR_EQ(id, a->keyid);
	ASSERT_INT_EQ(certtool_keyid(pub, ct), 0);
	pk_keyid_normalize(ct);
	ASSERT_STR_EQ(ct, a->keyid);
	TEST_DONE();

	TEST_START("save refuses to overwrite without the flag");
	ASSERT_INT_EQ(pk_identity_save(c, priv, 0), PK_ERR_EXISTS);
	ASSERT_INT_EQ(pk_identity_save_public(c, pub, 0), PK_ERR_EXISTS);
	pk_identity_free(b);
	b = NULL;
	ASSERT_INT_EQ(pk_identity_load(priv, &b), 0);
	if (b != NULL)
		ASSERT_STR_EQ(b->keyid, a->keyid);	/* untouched */
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(pub, id), 0);
	ASSERT_STR_EQ(id, a->keyid);
	TEST_DONE();

	TEST_START("save overwrites with the flag, atomically, still 0600");
	ASSERT_INT_EQ(pk_identity_save(c, priv, 1), 0);
	ASSERT_INT_EQ(file_mode(priv), 0600);
	ASSERT_INT_EQ(pk_identity_save_public(c, pub, 1), 0);
	pk_identity_free(b);
	b = NULL;
	ASSERT_INT_EQ(pk_identity_load(priv, &b), 0);
	if (b != NULL)
		ASSERT_STR_EQ(b->keyid, c->keyid);
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(pub, id), 0);
	ASSERT_STR_EQ(id, c->keyid);
	ASSERT_INT_EQ(count_entries(test_tmpdir(), ".tmp"), 0);
	TEST_DONE();

	TEST_START("save into a missing directory fails with PK_ERR_SYSTEM");
	ASSERT_INT_EQ(pk_identity_save(a, test_path("no/such/dir/key"), 0),
	    PK_ERR_SYSTEM);
	TEST_DONE();
 out:
	pk_identity_free(a);
	pk_identity_free(b);
	pk_identity_free(c);
}

/* Permission checks and broken files. */
static void
test_load_errors(void)
{
	struct pk_identity	*a = NULL, *b = NULL;
	char			 id[PK_KEYID_HEXLEN + 1];
	char			 priv[4096];
	static const mode_t	 loose[] = { 0640, 0604, 0620, 0644, 0601 };
	static char		 names[5][64];
	size_t			 i;

	snprintf(priv, sizeof(priv), "%s", test_path("perm.key"));
	if (pk_identity_generate(&a) != 0 ||
	    pk_identity_save(a, priv, 1) != 0) {
		TEST_START("set-up for permission tests");
		ASSERT_TRUE(0);
		TEST_DONE();
		goto out;
	}

	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "load refuses a key file "
		    "of mode %04o (PK_ERR_PERM)", (unsigned int)loose[i]);
		TEST_START(names[i]);
		ASSERT_INT_EQ(chmod(priv, loose[i]), 0);
		b = (struct pk_identity *)1;
		ASSERT_INT_EQ(pk_identity_load(priv, &b), PK_ERR_PERM);
		ASSERT_PTR_EQ(b, NULL);
		TEST_DONE();
	}
	TEST_START("load accepts 0600 and 0400");
	loads_at(priv, 0400, 0, NULL);
	loads_at(priv, 0600, 0, NULL);
	TEST_DONE();

	/* systemd's credential: 0400, group bits an ACL for the user. */
	TEST_START("load_credential accepts 0400 and 0440, refuses 0404");
	loads_at(priv, 0400, 1, a->keyid);
	loads_at(priv, 0440, 1, NULL);
	ASSERT_INT_EQ(pk_identity_load(priv, &b), PK_ERR_PERM);
	ASSERT_INT_EQ(chmod(priv, 0404), 0);
	ASSERT_INT_EQ(pk_identity_load_credential(priv, &b), PK_ERR_PERM);
	ASSERT_PTR_EQ(b, NULL);
	ASSERT_INT_EQ(chmod(priv, 0600), 0);
	TEST_DONE();

	TEST_START("missing file gives PK_ERR_NOT_FOUND");
	ASSERT_INT_EQ(pk_identity_load(test_path("missing.key"), &b),
	    PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(pk_identity_load(test_path("nodir/missing.key"), &b),
	    PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(test_path("missing.pub"), id),
	    PK_ERR_NOT_FOUND);
	TEST_DONE();

	TEST_START("garbage, empty and truncated PEM give PK_ERR_KEY");
	ASSERT_INT_EQ(write_file(test_path("garbage.key"), "hello\n", 6, 0600),
	    0);
	ASSERT_INT_EQ(pk_identity_load(test_path("garbage.key"), &b), PK_ERR_KEY);
	ASSERT_INT_EQ(write_file(test_path("empty.key"), "", 0, 0600), 0);
	ASSERT_INT_EQ(pk_identity_load(test_path("empty.key"), &b), PK_ERR_KEY);
	{
		static const char trunc[] = "-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIMmIwkgzWzGEa8TewIDNOVUr\n"
		    "-----END PRIVATE KEY-----\n";
		ASSERT_INT_EQ(write_file(test_path("trunc.key"), trunc,
		    sizeof(trunc) - 1, 0600), 0);
		ASSERT_INT_EQ(pk_identity_load(test_path("trunc.key"), &b),
		    PK_ERR_KEY);
	}
	ASSERT_INT_EQ(write_file(test_path("garbage.pub"), "hello\n", 6, 0644),
	    0);
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(test_path("garbage.pub"), id),
	    PK_ERR_KEY);
	ASSERT_PTR_EQ(b, NULL);
	TEST_DONE();

	TEST_START("an RSA or ECDSA private key gives PK_ERR_KEY");
	ASSERT_INT_EQ(write_foreign_key(test_path("rsa.key"), GNUTLS_PK_RSA,
	    2048), 0);
	ASSERT_INT_EQ(pk_identity_load(test_path("rsa.key"), &b), PK_ERR_KEY);
	ASSERT_INT_EQ(write_foreign_key(test_path("ec.key"), GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1)), 0);
	ASSERT_INT_EQ(pk_identity_load(test_path("ec.key"), &b), PK_ERR_KEY);
	ASSERT_PTR_EQ(b, NULL);
	TEST_DONE();

	TEST_START("a public key file is not a private key");
	ASSERT_INT_EQ(pk_identity_save_public(a, test_path("perm.pub"), 1), 0);
	ASSERT_INT_EQ(chmod(test_path("perm.pub"), 0600), 0);
	ASSERT_INT_EQ(pk_identity_load(test_path("perm.pub"), &b), PK_ERR_KEY);
	TEST_DONE();

	TEST_START("a directory is not a key file");
	ASSERT_INT_EQ(pk_identity_load(test_tmpdir(), &b), PK_ERR_SYSTEM);
	TEST_DONE();
 out:
	pk_identity_free(a);
}

/* Key ids equal Mandos' own, from keys made by Debian's mandos-keygen. */
static void
test_mandos_keygen(void)
{
	struct pk_identity	*m = NULL;
	char			 dir[1024], cmd[8192];
	char			 want[PK_KEYID_HEXLEN + 1];
	char			 id[PK_KEYID_HEXLEN + 1];
	char			 ct[PK_KEYID_HEXLEN + 1];
	char			*out = NULL;

	snprintf(dir, sizeof(dir), "%s", test_path("mandos"));

	TEST_START("mandos-keygen makes keys (small RSA OpenPGP for speed)");
	ASSERT_INT_EQ(mkdir(dir, 0700), 0);
	snprintf(cmd, sizeof(cmd), "%s --dir '%s' --force --length 1024 "
	    "--sublength 1024 --name peerkey-test --no-ssh >/dev/null 2>&1",
	    MANDOS_KEYGEN, dir);
	ASSERT_INT_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/tls-privkey.pem", dir);
	ASSERT_INT_EQ(access(cmd, R_OK), 0);
	TEST_DONE();

	TEST_START("mandos-keygen --passfile prints a key_id");
	snprintf(cmd, sizeof(cmd), "%s/pw", dir);
	ASSERT_INT_EQ(write_file(cmd, "not-a-real-secret", 17, 0600), 0);
	snprintf(cmd, sizeof(cmd), "%s --dir '%s' --passfile '%s/pw' "
	    "--name peerkey-test --no-ssh 2>/dev/null", MANDOS_KEYGEN, dir,
	    dir);
	out = run_capture(cmd);
	ASSERT_PTR_NE(out, NULL);
	ASSERT_INT_EQ(extract_keyid(out, "\nkey_id =", want), 0);
	free(out);
	TEST_DONE();

	TEST_START("pk_identity_load(tls-privkey.pem) gives Mandos' key_id");
	snprintf(cmd, sizeof(cmd), "%s/tls-privkey.pem", dir);
	ASSERT_INT_EQ(chmod(cmd, 0600), 0);
	ASSERT_INT_EQ(pk_identity_load(cmd, &m), 0);
	if (m != NULL) {
		ASSERT_INT_EQ(strcasecmp(m->keyid, want), 0);
		ASSERT_INT_EQ(pk_keyid_valid(m->keyid), 1);
	}
	TEST_DONE();

	TEST_START("key id of tls-pubkey.pem equals key_id and certtool's");
	snprintf(cmd, sizeof(cmd), "%s/tls-pubkey.pem", dir);
	ASSERT_INT_EQ(pk_keyid_from_pubkey_file(cmd, id), 0);
	ASSERT_INT_EQ(strcasecmp(id, want), 0);
	ASSERT_INT_EQ(certtool_keyid(cmd, ct), 0);
	ASSERT_INT_EQ(strcasecmp(id, ct), 0);
	TEST_DONE();

	TEST_START("re-saving a mandos-keygen key keeps its id");
	if (m != NULL) {
		ASSERT_INT_EQ(pk_identity_save(m, test_path("resaved.key"), 0), 0);
		pk_identity_free(m);
		m = NULL;
		ASSERT_INT_EQ(pk_identity_load(test_path("resaved.key"), &m), 0);
		if (m != NULL)
			ASSERT_INT_EQ(strcasecmp(m->keyid, want), 0);
	} else
		ASSERT_TRUE(0);
	TEST_DONE();

	pk_identity_free(m);
}

int
main(void)
{
	test_spki_hash();
	test_keyid_valid();
	test_roundtrip();
	test_load_errors();
	test_mandos_keygen();
	return test_exit();
}
