/*
 * test-pgp.c: OpenPGP through GPGME, against the real gpg, gpg-agent and
 * Debian's real mandos-keygen; the 1970 clock through the real faketime.
 *
 *	test-pgp				the tests (TAP)
 *	test-pgp --decrypt-only SECKEY MSG EXPECTED WORKDIR
 *						decrypt MSG with SECKEY and
 *						compare with EXPECTED; prints
 *						"ok now=<time(NULL)>" or why
 *						not (never the plaintext)
 *
 * The test runs its own --decrypt-only mode under faketime to decrypt
 * with the clock at 1970-01-02, as in an initramfs without an RTC.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "pgp.h"
#include "pk_err.h"
#include "secret.h"
#include "test_helper.h"

#define FAKETIME	"/usr/bin/faketime"
#define MANDOS_KEYGEN	"mandos-keygen"
#define MANDOS_PASS	"correct horse battery staple, mandos"

static char	*cause;		/* the cause of the last pgp call */

/* Forgets the last cause; the place for the next one. */
static char **
fresh(void)
{
	free(cause);
	cause = NULL;
	return &cause;
}

/* The last cause, "" when there is none. */
static const char *
why(void)
{
	return cause != NULL ? cause : "";
}

static char	self[PATH_MAX];

/* Reads a whole file into malloc memory; NULL on failure. */
static void *
read_file(const char *path, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
 fail:
	close(fd);
	free(buf);
	return NULL;
}

/* Reads /proc/PID/file into buf (len bytes, NUL-terminated): the bytes
 * read, or 0 or -1 when there are none. */
static ssize_t
proc_read(const char *pid, const char *file, char *buf, size_t len)
{
	char	path[300];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, file);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Counts live processes (not us) whose command line mentions s. */
static int
procs_mentioning(const char *s)
{
	char buf[8192], stat_buf[512], *p;
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int count = 0, i;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    atoi(de->d_name) == (int)getpid())
			continue;
		n = proc_read(de->d_name, "cmdline", buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		if (strstr(buf, s) == NULL)
			continue;
		if (proc_read(de->d_name, "stat", stat_buf,
		    sizeof(stat_buf)) <= 0)
			continue;
		if ((p = strrchr(stat_buf, ')')) != NULL && p[2] == 'Z')
			continue;
		test_diag("still running: %s", buf);
		count++;
	}
	closedir(d);
	return count;
}

/*
 * Looks at every gpg-agent serving a home under dir: returns how many
 * there are, and sets *held when one of them holds the pipe whose inode
 * is ino (a descriptor of ours it should not have inherited).
 */
static int
agents_holding(const char *dir, ino_t ino, int *held)
{
	char		 path[PATH_MAX], buf[4096], link[256], want[64];
	DIR		*d, *fdd;
	struct dirent	*de, *fe;
	ssize_t		 n;
	int		 fd, agents = 0;

	*held = 0;
	(void)snprintf(want, sizeof(want), "pipe:[%llu]",
	    (unsigned long long)ino);
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/cmdline",
		    de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		if (strstr(buf, "gpg-agent") == NULL ||
		    strstr(buf, dir) == NULL)
			continue;
		agents++;
		(void)snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		if ((fdd = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fdd)) != NULL) {
			char	fp[PATH_MAX + 300];

			(void)snprintf(fp, sizeof(fp), "%s/%s", path,
			    fe->d_name);
			n = readlink(fp, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0)
				*held = 1;
		}
		(void)closedir(fdd);
	}
	(void)closedir(d);
	return agents;
}

/* Counts entries named pk-gnupg.* left in dir. */
static int
homes_left(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "pk-gnupg.", 9) == 0)
			n++;
	closedir(d);
	return n;
}

/* Decodes base64 (whitespace ignored); returns length or -1. */
static long
b64_decode(const char *in, unsigned char *out, size_t outcap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0;
	size_t n = 0;
	int bits = 0;
	const char *p;

	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t')
			continue;
		if (*in == '=')
			break;
		if ((p = strchr(tab, *in)) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned int)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

/* Nanoseconds on the monotonic clock. */
static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The --decrypt-only mode: 0 on a match, 1 on failure, 2 on usage. */
static int
decrypt_only(int argc, char **argv)
{
	void *sec, *msg, *exp, *plain = NULL;
	size_t seclen, msglen, explen, plainlen = 0;
	int r, rv = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: test-pgp --decrypt-only SECKEY MSG "
		    "EXPECTED WORKDIR\n");
		return 2;
	}
	sec = read_file(argv[2], &seclen);
	msg = read_file(argv[3], &msglen);
	exp = read_file(argv[4], &explen);
	if (sec == NULL || msg == NULL || exp == NULL) {
		printf("fail reading input files\n");
		goto out;
	}
	r = pk_pgp_decrypt(argv[5], sec, seclen, msg, msglen, &plain,
	    &plainlen, fresh());
	if (r != 0)
		printf("fail %d %s: %s\n", r, pk_strerror(r),
		    why());
	else if (plainlen != explen || memcmp(plain, exp, explen) != 0)
		printf("fail plaintext differs\n");
	else {
		printf("ok now=%lld\n", (long long)time(NULL));
		rv = 0;
	}
 out:
	pk_secret_free(plain);
	free(sec);
	free(msg);
	free(exp);
	return rv;
}

/*
 * Runs our --decrypt-only mode under faketime at 1970-01-02; returns 0
 * when it decrypted and the child's clock really read 1970.
 */
static int
decrypt_in_1970(const char *sec, const char *msg, const char *exp)
{
	char cmd[4 * PATH_MAX], line[256];
	long long t = -1;
	FILE *f;
	int st;

	/* Under ASan, libfaketime's LD_PRELOAD comes before ASan's runtime. */
	snprintf(cmd, sizeof(cmd), "FAKETIME_DONT_FAKE_MONOTONIC=1 "
	    "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
	    "verify_asan_link_order=0\" "
	    FAKETIME " '1970-01-02 00:00:00' '%s' --decrypt-only '%s' '%s' "
	    "'%s' '%s'", self, sec, msg, exp, test_tmpdir());
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	line[0] = '\0';
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	st = pclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "ok now=%lld", &t) != 1) {
		test_diag("decrypt under faketime: %s", line);
		return -1;
	}
	if (st != 0 || t < 0 || t > 7 * 86400) {
		test_diag("faketime child: status %d, time %lld", st, t);
		return -1;
	}
	return 0;
}

/* Says whether the keyring decrypts ct to exactly want. */
static int
keyring_gives(struct pk_pgp_keyring *kr, const void *ct, size_t ctl,
    const void *want, size_t wantl)
{
	void	*pt = NULL;
	size_t	 ptl = 0;
	int	 ok;

	if (pk_pgp_keyring_decrypt(kr, ct, ctl, &pt, &ptl, fresh()) != 0) {
		test_diag("keyring decrypt: %s", why());
		return 0;
	}
	ok = pt != NULL && ptl == wantl && memcmp(pt, want, wantl) == 0;
	pk_secret_free(pt);
	return ok;
}

/* Checks no temporary home and no GnuPG daemon is left behind. */
static void
assert_clean(void)
{
	ASSERT_INT_EQ(homes_left(test_tmpdir()), 0);
	ASSERT_INT_EQ(procs_mentioning(test_tmpdir()), 0);
}

/* Makes a key with plain gpg; exports it (armored) to out. */
static int
gpg_make_key(const char *name, const char *algo, const char *usage,
    const char *out, int secret)
{
	const char *home = test_path(name);
	int r;

	if (mkdir(home, 0700) == -1)
		return -1;
	r = test_run("gpg --homedir '%s' --batch --quiet --passphrase '' "
	    "--pinentry-mode loopback --quick-gen-key '%s' %s %s never "
	    ">/dev/null 2>&1 && gpg --homedir '%s' --batch --quiet --armor "
	    "%s '%s' >'%s' 2>/dev/null", home, name, algo, usage, home,
	    secret ? "--pinentry-mode loopback --passphrase '' "
	    "--export-secret-keys" : "--export", name, out);
	(void)test_run("gpgconf --homedir '%s' --kill all", home);
	(void)test_run("rm -rf '%s'", home);
	return r;
}

/* The tests, in order; or the --decrypt-only mode. */
int
main(int argc, char **argv)
{
	unsigned char key64[64], mbuf[8192];
	char *pa = NULL, *sa = NULL, *pb = NULL, *sb = NULL;
	void *ct = NULL, *pt = NULL, *ct2 = NULL, *bin = NULL, *junk;
	size_t pal = 0, sal = 0, pbl = 0, sbl = 0, ctl = 0, ptl = 0, ct2l = 0;
	size_t binl = 0, jl = 0, i;
	const char *wd;
	long long t0, t1;
	long mlen;
	char *out, *p, *q;
	int r;

	if (argc > 1 && strcmp(argv[1], "--decrypt-only") == 0)
		return decrypt_only(argc, argv);
	if (realpath("/proc/self/exe", self) == NULL) {
		perror("/proc/self/exe");
		return 99;
	}
	wd = test_tmpdir();

	TEST_START("empty and NULL arguments are PK_ERR_INVALID_ARG");
	ASSERT_INT_EQ(pk_pgp_generate(wd, "", &pa, &pal, &sa, &sal, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_generate(NULL, "x", &pa, &pal, &sa, &sal, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_generate(wd, "a\nb", &pa, &pal, &sa, &sal,
	    fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_encrypt(wd, "k", 0, "p", 1, &ct, &ctl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_encrypt(wd, "k", 1, "p", 0, &ct, &ctl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_encrypt(wd, NULL, 1, "p", 1, &ct, &ctl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_decrypt(wd, "k", 0, "c", 1, &pt, &ptl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_decrypt(wd, "k", 1, "c", 0, &pt, &ptl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_decrypt(wd, "k", 1, "c", 1, NULL, &ptl, fresh()),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_pgp_decrypt(wd, "k", PK_PGP_MAX_DATA + 1, "c", 1,
	    &pt, &ptl, fresh()), PK_ERR_TOO_LARGE);
	ASSERT_PTR_EQ(pt, NULL);
	ASSERT_PTR_EQ(ct, NULL);
	ASSERT_INT_EQ(pk_pgp_decrypt("/nonexistent/dir", "k", 1, "c", 1,
	    &pt, &ptl, fresh()), PK_ERR_SYSTEM);
	ASSERT_STR_CONTAINS(why(), "workdir");
	TEST_DONE();

	TEST_START("generate: armored Ed25519/Cv25519 key pair");
	t0 = now_ns();
	r = pk_pgp_generate(wd, "peerkey boot key <test@example.org>", &pa,
	    &pal, &sa, &sal, fresh());
	t1 = now_ns();
	test_diag("one generate: %lld ms", (t1 - t0) / 1000000);
	ASSERT_INT_EQ(r, 0);
	if (r != 0)
		test_diag("generate: %s", why());
	ASSERT_TRUE(pa != NULL && sa != NULL);
	if (pa != NULL && sa != NULL) {
		ASSERT_INT_EQ(strlen(pa), pal);
		ASSERT_INT_EQ(strlen(sa), sal);
		ASSERT_STR_CONTAINS(pa, "-----BEGIN PGP PUBLIC KEY BLOCK-----");
		ASSERT_STR_CONTAINS(sa,
		    "-----BEGIN PGP PRIVATE KEY BLOCK-----");
		ASSERT_INT_EQ(pk_file_write(test_path("a.pub"), pa, pal, 0600,
		    0), 0);
		ASSERT_INT_EQ(pk_file_write(test_path("a.sec"), sa, sal, 0600,
		    0), 0);
		/* gpg itself sees ed25519 + cv25519 without expiry. */
		ASSERT_INT_EQ(test_run("gpg --batch --with-colons --show-keys '%s' "
		    "2>/dev/null | awk -F: '$1==\"pub\"&&$4==22&&$7==\"\"{p++}"
		    " $1==\"sub\"&&$4==18&&$7==\"\"&&$12~/e/{s++} "
		    "END{exit !(p==1&&s==1)}'", test_path("a.pub")), 0);
	}
	assert_clean();
	TEST_DONE();

	TEST_START("encrypt then decrypt gives back 64 random bytes");
	ASSERT_INT_EQ(getrandom(key64, sizeof(key64), 0), sizeof(key64));
	t0 = now_ns();
	r = pk_pgp_encrypt(wd, pa, pal, key64, sizeof(key64), &ct, &ctl,
	    fresh());
	t1 = now_ns();
	test_diag("one encrypt: %lld ms", (t1 - t0) / 1000000);
	ASSERT_INT_EQ(r, 0);
	ASSERT_TRUE(ct != NULL && ctl > sizeof(key64));
	/* Binary OpenPGP, a PKESK packet first: not armor, no plaintext. */
	ASSERT_TRUE(ct != NULL && (((unsigned char *)ct)[0] & 0x80) != 0);
	ASSERT_TRUE(ct != NULL && memmem(ct, ctl, key64, 8) == NULL);
	t0 = now_ns();
	r = pk_pgp_decrypt(wd, sa, sal, ct, ctl, &pt, &ptl, fresh());
	t1 = now_ns();
	ASSERT_INT_EQ(r, 0);
	if (r != 0)
		test_diag("decrypt: %s", why());
	ASSERT_INT_EQ(ptl, sizeof(key64));
	ASSERT_TRUE(pt != NULL && memcmp(pt, key64, sizeof(key64)) == 0);
	test_diag("one decrypt (import, decrypt, agent stop, wipe): %lld ms",
	    (t1 - t0) / 1000000);
	pk_secret_free(pt);
	pt = NULL;
	assert_clean();
	TEST_DONE();

	TEST_START("keyring: one import, several messages, clean close");
	if (ct != NULL) {
		struct pk_pgp_keyring	*kr = NULL;
		void			*ct3 = NULL;
		size_t			 ct3l = 0;

		ASSERT_INT_EQ(pk_pgp_encrypt(wd, pa, pal, "second", 6, &ct3,
		    &ct3l, fresh()), 0);
		/*
		 * A descriptor of ours without close-on-exec (a TPM's
		 * connection, say) is not inherited by the gpg-agent we
		 * start: it would hold it for its life.
		 */
		int		 lk[2], held = -1;
		struct stat	 lst;

		ASSERT_INT_EQ(pipe(lk), 0);
		ASSERT_INT_EQ(fstat(lk[0], &lst), 0);
		ASSERT_INT_EQ(pk_pgp_keyring_open(wd, sa, sal, &kr,
		    fresh()), 0);
		ASSERT_INT_EQ(keyring_gives(kr, ct, ctl, key64,
		    sizeof(key64)), 1);
		ASSERT_TRUE(agents_holding(test_tmpdir(), lst.st_ino,
		    &held) >= 1);
		ASSERT_INT_EQ(held, 0);
		(void)close(lk[0]);
		(void)close(lk[1]);
		/* The home lives while the keyring is open... */
		ASSERT_INT_EQ(homes_left(test_tmpdir()), 1);
		ASSERT_INT_EQ(keyring_gives(kr, ct, ctl, key64,
		    sizeof(key64)), 1);
		ASSERT_INT_EQ(pk_pgp_keyring_decrypt(kr, ct3, ct3l, &pt, &ptl,
		    fresh()),
		    0);
		ASSERT_TRUE(pt != NULL && ptl == 6 && memcmp(pt, "second",
		    6) == 0);
		pk_secret_free(pt);
		pt = NULL;
		/* A corrupt message fails without spoiling the keyring. */
		((unsigned char *)ct3)[ct3l - 1] ^= 0x01;
		ASSERT_INT_EQ(pk_pgp_keyring_decrypt(kr, ct3, ct3l, &pt, &ptl,
		    fresh()),
		    PK_ERR_PGP);
		ASSERT_PTR_EQ(pt, NULL);
		ASSERT_INT_EQ(pk_pgp_keyring_decrypt(kr, ct, ctl, &pt, &ptl,
		    fresh()),
		    0);
		pk_secret_free(pt);
		pt = NULL;
		/* ...and close removes it, agent and all. */
		pk_pgp_keyring_close(kr);
		free(ct3);
		ASSERT_INT_EQ(pk_pgp_keyring_open(wd, "junk", 4, &kr, fresh()),
		    PK_ERR_PGP);
		ASSERT_PTR_EQ(kr, NULL);
	}
	assert_clean();
	TEST_DONE();

	TEST_START("keyring in $GNUPGHOME: refused unless private, then works");
	if (ct != NULL) {
		struct pk_pgp_keyring	*kr = NULL;
		char			 eh[PATH_MAX];

		(void)unsetenv("GNUPGHOME");
		ASSERT_INT_EQ(pk_pgp_keyring_open_env(sa, sal, &kr, fresh()),
		    PK_ERR_INVALID_ARG);
		ASSERT_PTR_EQ(kr, NULL);
		snprintf(eh, sizeof(eh), "%s/pk-gnupg.envtest", test_tmpdir());
		ASSERT_INT_EQ(mkdir(eh, 0755), 0);
		ASSERT_INT_EQ(setenv("GNUPGHOME", eh, 1), 0);
		/* Group- or world-readable: not a private home. */
		ASSERT_INT_EQ(pk_pgp_keyring_open_env(sa, sal, &kr, fresh()),
		    PK_ERR_PERM);
		ASSERT_PTR_EQ(kr, NULL);
		ASSERT_INT_EQ(chmod(eh, 0700), 0);
		ASSERT_INT_EQ(pk_pgp_keyring_open_env(sa, sal, &kr,
		    fresh()), 0);
		ASSERT_TRUE(kr != NULL);
		/* gpg and its agent live in that home, nowhere else. */
		ASSERT_TRUE(procs_mentioning(eh) >= 1);
		ASSERT_INT_EQ(keyring_gives(kr, ct, ctl, key64,
		    sizeof(key64)), 1);
		pk_pgp_keyring_close(kr);
		ASSERT_INT_EQ(access(eh, F_OK), -1);
		(void)unsetenv("GNUPGHOME");
	}
	assert_clean();
	TEST_DONE();

	TEST_START("binary (dearmored) keys work too");
	ASSERT_INT_EQ(test_run("gpg --batch --dearmor <'%s' >'%s' && gpg --batch "
	    "--dearmor <'%s' >'%s'", test_path("a.pub"), test_path("a.pub.bin"),
	    test_path("a.sec"), test_path("a.sec.bin")), 0);
	bin = read_file(test_path("a.pub.bin"), &binl);
	ASSERT_TRUE(bin != NULL && binl > 0);
	if (bin != NULL) {
		ASSERT_INT_EQ(pk_pgp_encrypt(wd, bin, binl, "hello", 5, &ct2,
		    &ct2l, fresh()), 0);
		free(bin);
	}
	bin = read_file(test_path("a.sec.bin"), &binl);
	ASSERT_TRUE(bin != NULL && binl > 0);
	if (bin != NULL && ct2 != NULL) {
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, bin, binl, ct2, ct2l, &pt,
		    &ptl, fresh()), 0);
		ASSERT_INT_EQ(ptl, 5);
		ASSERT_TRUE(pt != NULL && memcmp(pt, "hello", 6) == 0);
		pk_secret_free(pt);
		pt = NULL;
	}
	free(bin);
	free(ct2);
	ct2 = NULL;
	assert_clean();
	TEST_DONE();

	TEST_START("decrypt with another key fails cleanly");
	r = pk_pgp_generate(wd, "other", &pb, &pbl, &sb, &sbl, fresh());
	ASSERT_INT_EQ(r, 0);
	if (r == 0 && ct != NULL) {
		pt = (void *)1;
		ptl = 99;
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, sb, sbl, ct, ctl, &pt, &ptl,
		    fresh()),
		    PK_ERR_PGP);
		ASSERT_PTR_EQ(pt, NULL);
		ASSERT_INT_EQ(ptl, 0);
		ASSERT_STR_CONTAINS(why(), "no secret key");
	}
	assert_clean();
	TEST_DONE();

	TEST_START("bit-flipped and truncated messages fail cleanly");
	if (ct != NULL && ctl > 16) {
		unsigned char *m = ct;
		size_t pos[] = { 0, 3, 12, 20, ctl / 2, ctl - 30, ctl - 22,
		    ctl - 1 };
		size_t cut[] = { 1, 10, ctl / 2, ctl - 1 };

		for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
			m[pos[i]] ^= 0x04;
			r = pk_pgp_decrypt(wd, sa, sal, ct, ctl, &pt, &ptl,
			    fresh());
			m[pos[i]] ^= 0x04;
			if (r != PK_ERR_PGP)
				test_diag("flip at %zu of %zu: %d", pos[i],
				    ctl, r);
			ASSERT_INT_EQ(r, PK_ERR_PGP);
			ASSERT_PTR_EQ(pt, NULL);
		}
		for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
			r = pk_pgp_decrypt(wd, sa, sal, ct, cut[i], &pt, &ptl,
			    fresh());
			if (r != PK_ERR_PGP)
				test_diag("cut at %zu of %zu: %d", cut[i], ctl,
				    r);
			ASSERT_INT_EQ(r, PK_ERR_PGP);
			ASSERT_PTR_EQ(pt, NULL);
		}
		/* Intact again: still decrypts. */
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, sa, sal, ct, ctl, &pt, &ptl,
		    fresh()),
		    0);
		pk_secret_free(pt);
		pt = NULL;
	} else
		ASSERT_TRUE(ct != NULL);
	assert_clean();
	TEST_DONE();

	TEST_START("unusable keys and non-messages are refused");
	/* No key at all. */
	ASSERT_INT_EQ(pk_pgp_encrypt(wd, "not a key", 9, "x", 1, &ct2, &ct2l,
	    fresh()),
	    PK_ERR_PGP);
	ASSERT_STR_CONTAINS(why(), "bad key data");
	ASSERT_PTR_EQ(ct2, NULL);
	/* A sign-only key. */
	ASSERT_INT_EQ(gpg_make_key("signonly", "ed25519", "sign",
	    test_path("signonly.pub"), 0), 0);
	junk = read_file(test_path("signonly.pub"), &jl);
	ASSERT_TRUE(junk != NULL && jl > 0);
	if (junk != NULL) {
		ASSERT_INT_EQ(pk_pgp_encrypt(wd, junk, jl, "x", 1, &ct2,
		    &ct2l, fresh()), PK_ERR_KEY);
		ASSERT_STR_CONTAINS(why(), "encryption subkey");
		ASSERT_PTR_EQ(ct2, NULL);
		free(junk);
	}
	/* Two keys in one blob. */
	if (pa != NULL && pb != NULL) {
		char *two = malloc(pal + pbl + 2);

		ASSERT_TRUE(two != NULL);
		if (two != NULL) {
			snprintf(two, pal + pbl + 2, "%s\n%s", pa, pb);
			ASSERT_INT_EQ(pk_pgp_encrypt(wd, two, strlen(two), "x",
			    1, &ct2, &ct2l, fresh()), PK_ERR_KEY);
			ASSERT_STR_CONTAINS(why(),
			    "more than one key");
			free(two);
		}
	}
	/* A public key is no secret key. */
	if (ct != NULL)
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, pa, pal, ct, ctl, &pt, &ptl,
		    fresh()),
		    PK_ERR_PGP);
	ASSERT_STR_CONTAINS(why(), "bad key data");
	/* Garbage and a literal (unencrypted) OpenPGP message. */
	ASSERT_INT_EQ(pk_pgp_decrypt(wd, sa, sal, "garbage!", 8, &pt, &ptl,
	    fresh()),
	    PK_ERR_PGP);
	ASSERT_INT_EQ(pk_file_write(test_path("lit.txt"), "not secret", 10,
	    0600, 0), 0);
	ASSERT_INT_EQ(mkdir(test_path("lithome"), 0700), 0);
	ASSERT_INT_EQ(test_run("gpg --batch --quiet --homedir '%s' --store "
	    "-o '%s' '%s' 2>/dev/null", test_path("lithome"), test_path("lit.gpg"),
	    test_path("lit.txt")), 0);
	junk = read_file(test_path("lit.gpg"), &jl);
	ASSERT_TRUE(junk != NULL && jl > 0);
	if (junk != NULL) {
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, sa, sal, junk, jl, &pt,
		    &ptl, fresh()), PK_ERR_PGP);
		ASSERT_PTR_EQ(pt, NULL);
		free(junk);
	}
	assert_clean();
	TEST_DONE();

	TEST_START("decrypt with the clock at 1970 (faketime)");
	ASSERT_INT_EQ(pk_file_write(test_path("a.msg"), ct, ctl, 0600, 0), 0);
	ASSERT_INT_EQ(pk_file_write(test_path("a.plain"), key64,
	    sizeof(key64), 0600, 0), 0);
	ASSERT_INT_EQ(decrypt_in_1970(test_path("a.sec"), test_path("a.msg"),
	    test_path("a.plain")), 0);
	/* And the 1970 clock really bites gpg without our gpg.conf. */
	ASSERT_INT_EQ(mkdir(test_path("plain-gpg"), 0700), 0);
	ASSERT_INT_NE(test_run("FAKETIME_DONT_FAKE_MONOTONIC=1 " FAKETIME
	    " '1970-01-02 00:00:00' sh -c \"gpg --homedir '%s' --batch "
	    "--quiet --import '%s' && gpg --homedir '%s' --batch --quiet "
	    "--decrypt '%s'\" >/dev/null 2>&1", test_path("plain-gpg"),
	    test_path("a.sec"), test_path("plain-gpg"), test_path("a.msg")), 0);
	(void)test_run("gpgconf --homedir '%s' --kill all; rm -rf '%s'",
	    test_path("plain-gpg"), test_path("plain-gpg"));
	assert_clean();
	TEST_DONE();

	TEST_START("decrypt a secret made by Debian's mandos-keygen");
	ASSERT_INT_EQ(mkdir(test_path("mandos"), 0700), 0);
	ASSERT_INT_EQ(mkdir(test_path("mktmp"), 0700), 0);
	ASSERT_INT_EQ(pk_file_write(test_path("mandos.pw"), MANDOS_PASS,
	    strlen(MANDOS_PASS), 0600, 0), 0);
	/* The fastest key it allows: RSA-2048 (+ RSA-2048 subkey). */
	ASSERT_INT_EQ(test_run("TMPDIR='%s' " MANDOS_KEYGEN " --dir '%s' --force "
	    "--type RSA --length 2048 --sublength 2048 --name pk-test "
	    "</dev/null >/dev/null 2>&1", test_path("mktmp"), test_path("mandos")), 0);
	ASSERT_INT_EQ(test_run("TMPDIR='%s' " MANDOS_KEYGEN " --dir '%s' "
	    "--passfile '%s' --name pk-test --no-ssh </dev/null >'%s' "
	    "2>/dev/null", test_path("mktmp"), test_path("mandos"), test_path("mandos.pw"),
	    test_path("mandos.conf")), 0);
	out = read_file(test_path("mandos.conf"), &jl);
	ASSERT_TRUE(out != NULL);
	mlen = -1;
	if (out != NULL && (p = strstr(out, "\nsecret =\n")) != NULL) {
		/* The continuation lines, each indented four spaces. */
		p += strlen("\nsecret =\n");
		for (q = p; strncmp(q, "    ", 4) == 0; ) {
			if ((q = strchr(q, '\n')) == NULL)
				break;
			q++;
		}
		if (q != NULL)
			*q = '\0';
		mlen = b64_decode(p, mbuf, sizeof(mbuf));
	}
	ASSERT_TRUE(mlen > 100);
	free(out);
	junk = read_file(test_path("mandos/seckey.txt"), &jl);
	ASSERT_TRUE(junk != NULL);
	if (junk != NULL && mlen > 0) {
		t0 = now_ns();
		r = pk_pgp_decrypt(wd, junk, jl, mbuf, (size_t)mlen, &pt,
		    &ptl, fresh());
		t1 = now_ns();
		if (r != 0)
			test_diag("mandos decrypt: %s", why());
		ASSERT_INT_EQ(r, 0);
		ASSERT_INT_EQ(ptl, strlen(MANDOS_PASS));
		ASSERT_TRUE(pt != NULL && memcmp(pt, MANDOS_PASS, ptl) == 0);
		test_diag("one mandos (RSA-2048) decrypt: %lld ms",
		    (t1 - t0) / 1000000);
		pk_secret_free(pt);
		pt = NULL;
		/* Not for our boot key. */
		ASSERT_INT_EQ(pk_pgp_decrypt(wd, sa, sal, mbuf, (size_t)mlen,
		    &pt, &ptl, fresh()), PK_ERR_PGP);
		ASSERT_INT_EQ(pk_file_write(test_path("mandos.msg"), mbuf,
		    (size_t)mlen, 0600, 0), 0);
		ASSERT_INT_EQ(decrypt_in_1970(test_path("mandos/seckey.txt"),
		    test_path("mandos.msg"), test_path("mandos.pw")), 0);
	}
	free(junk);
	assert_clean();
	TEST_DONE();

	free(pa);
	free(pb);
	pk_secret_free(sa);
	pk_secret_free(sb);
	free(ct);
	free(cause);
	return test_exit();
}
