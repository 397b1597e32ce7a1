/*
 * test-secret.c: the secret allocator, pk_wipe, pk_timingsafe_bcmp and
 * pk_secret_harden_process.
 *
 * Locking is checked through VmLck in /proc/self/status; wiping of freed
 * memory through /proc/self/mem, which reads the bytes without a
 * use-after-free in the eyes of AddressSanitizer. Tests that change the
 * process (rlimits, uid, dumpable flag) run in a forked child, which
 * reports through its exit status and leaves with _exit().
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pk_err.h"
#include "secret.h"
#include "test_helper.h"

#define CANARY	"peerkey-canary-0123456789abcdef"

/* Returns VmLck of this process in kB, or -1. */
static long
vmlck_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Reads n bytes at address p through /proc/self/mem; 0 or -1. */
static int
peek(const void *p, void *out, size_t n)
{
	ssize_t	r;
	int	fd;

	if ((fd = open("/proc/self/mem", O_RDONLY)) == -1)
		return -1;
	r = pread(fd, out, n, (off_t)(uintptr_t)p);
	close(fd);
	return r == (ssize_t)n ? 0 : -1;
}

/* Returns non-zero if the canary text occurs in the n bytes at p. */
static int
has_canary(const unsigned char *p, size_t n)
{
	return memmem(p, n, CANARY, strlen(CANARY)) != NULL;
}

/* Runs fn in a child and returns its exit status (-1 on a signal). */
static int
in_child(int (*fn)(void))
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Child: with no lock allowance at all, allocation still works. */
static int
child_nolock(void)
{
	struct rlimit	 rl = { 0, 0 };
	unsigned char	*p;
	size_t		 i;

	/* Drop root (and CAP_IPC_LOCK) when we have it. */
	if (geteuid() == 0 && (setgid(65534) == -1 || setuid(65534) == -1))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) == -1)
		return 11;
	errno = 0;
	if ((p = pk_secret_alloc(100000)) == NULL)
		return 12;
	for (i = 0; i < 100000; i++)
		if (p[i] != 0)
			return 13;
	if (vmlck_kb() != 0)
		return 14;
	memset(p, 0xaa, 100000);
	pk_secret_free(p);
	return 0;
}

/* Child: hardening makes the process undumpable with no core files. */
static int
child_harden(void)
{
	struct rlimit	rl;

	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		return 20;	/* the test itself must start dumpable */
	if (pk_secret_harden_process() != PK_OK)
		return 21;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 22;
	if (getrlimit(RLIMIT_CORE, &rl) == -1)
		return 23;
	if (rl.rlim_cur != 0 || rl.rlim_max != 0)
		return 24;
	return 0;
}

static void
test_alloc(void)
{
	unsigned char	*p, *q;
	size_t		 i, bad;
	long		 before, during, after;

	TEST_START("alloc: zeroed, any size");
	for (i = 1; i < 20000; i = i * 3 + 1) {
		if ((p = pk_secret_alloc(i)) == NULL) {
			ASSERT_PTR_NE(p, NULL);
			break;
		}
		for (bad = 0; bad < i && p[bad] == 0; bad++)
			;
		ASSERT_INT_EQ(bad, i);
		ASSERT_INT_EQ((uintptr_t)p % sizeof(void *), 0);
		memset(p, 0x5a, i);
		pk_secret_free(p);
	}
	TEST_DONE();

	TEST_START("alloc: zero bytes is EINVAL");
	errno = 0;
	ASSERT_PTR_EQ(pk_secret_alloc(0), NULL);
	ASSERT_INT_EQ(errno, EINVAL);
	TEST_DONE();

	TEST_START("alloc: absurd size fails cleanly");
	errno = 0;
	ASSERT_PTR_EQ(pk_secret_alloc(SIZE_MAX - 10), NULL);
	ASSERT_INT_EQ(errno, ENOMEM);
	TEST_DONE();

	TEST_START("alloc: memory is locked and unlocked on free");
	before = vmlck_kb();
	ASSERT_TRUE(before >= 0);
	p = pk_secret_alloc(64 * 1024);
	q = pk_secret_alloc(10);
	ASSERT_PTR_NE(p, NULL);
	ASSERT_PTR_NE(q, NULL);
	during = vmlck_kb();
	/* 64 kB plus a header rounds to 68 kB; 10 bytes to one page. */
	ASSERT_TRUE(during >= before + 64 + 4);
	pk_secret_free(p);
	/* q shares no page with p, so it stays locked. */
	ASSERT_TRUE(vmlck_kb() >= before + 4);
	pk_secret_free(q);
	after = vmlck_kb();
	ASSERT_INT_EQ(after, before);
	pk_secret_free(NULL);
	TEST_DONE();

	TEST_START("alloc: works when mlock is refused (RLIMIT_MEMLOCK 0)");
	ASSERT_INT_EQ(in_child(child_nolock), 0);
	TEST_DONE();
}

static void
test_free_wipes(void)
{
	unsigned char	*p, *q, buf[512];
	size_t		 i;

	TEST_START("free: the buffer is wiped");
	p = pk_secret_alloc(512);
	ASSERT_PTR_NE(p, NULL);
	for (i = 0; i + strlen(CANARY) < 512; i += strlen(CANARY))
		memcpy(p + i, CANARY, strlen(CANARY));
	ASSERT_INT_EQ(peek(p, buf, sizeof(buf)), 0);
	ASSERT_TRUE(has_canary(buf, sizeof(buf)));	/* peek works */
	pk_secret_free(p);
	/* Bytes 64.. are clear of any allocator bookkeeping. */
	ASSERT_INT_EQ(peek(p, buf, sizeof(buf)), 0);
	ASSERT_FALSE(has_canary(buf + 64, sizeof(buf) - 64));
	TEST_DONE();

	TEST_START("realloc: content kept, old buffer wiped");
	p = pk_secret_alloc(300);
	ASSERT_PTR_NE(p, NULL);
	for (i = 0; i < 300; i++)
		p[i] = (unsigned char)i;
	memcpy(p + 100, CANARY, strlen(CANARY));
	q = pk_secret_realloc(p, 10000);
	ASSERT_PTR_NE(q, NULL);
	ASSERT_PTR_NE(q, p);
	ASSERT_INT_EQ(q[0], 0);
	ASSERT_INT_EQ(q[99], 99);
	ASSERT_MEM_EQ(q + 100, CANARY, strlen(CANARY));
	ASSERT_INT_EQ(q[299], 299 & 0xff);
	for (i = 300; i < 10000 && q[i] == 0; i++)
		;
	ASSERT_INT_EQ(i, 10000);
	ASSERT_INT_EQ(peek(p, buf, 300), 0);
	ASSERT_FALSE(has_canary(buf + 64, 300 - 64));
	/* Shrinking keeps the prefix. */
	p = pk_secret_realloc(q, 50);
	ASSERT_PTR_NE(p, NULL);
	ASSERT_INT_EQ(p[49], 49);
	pk_secret_free(p);
	TEST_DONE();

	TEST_START("realloc: NULL allocates, zero size fails and keeps");
	p = pk_secret_realloc(NULL, 16);
	ASSERT_PTR_NE(p, NULL);
	memcpy(p, "0123456789abcdef", 16);
	errno = 0;
	ASSERT_PTR_EQ(pk_secret_realloc(p, 0), NULL);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT_MEM_EQ(p, "0123456789abcdef", 16);
	pk_secret_free(p);
	TEST_DONE();
}

static void
test_wipe(void)
{
	volatile unsigned char	*v;
	unsigned char		 stackbuf[100];
	size_t			 i, nz;

	TEST_START("pk_wipe: stack buffer");
	memcpy(stackbuf, CANARY, strlen(CANARY));
	memset(stackbuf + strlen(CANARY), 0x77, sizeof(stackbuf) -
	    strlen(CANARY));
	pk_wipe(stackbuf, sizeof(stackbuf) - 1);
	v = stackbuf;
	for (i = 0, nz = 0; i < sizeof(stackbuf) - 1; i++)
		if (v[i] != 0)
			nz++;
	ASSERT_INT_EQ(nz, 0);
	ASSERT_INT_EQ(v[sizeof(stackbuf) - 1], 0x77);	/* no overrun */
	pk_wipe(NULL, 10);
	pk_wipe(stackbuf, 0);
	TEST_DONE();
}

static void
test_bcmp(void)
{
	unsigned char	a[64], b[64];
	size_t		i;

	TEST_START("timingsafe_bcmp: equal and each differing byte");
	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)(i * 7);
	ASSERT_INT_EQ(pk_timingsafe_bcmp(a, b, sizeof(a)), 0);
	ASSERT_INT_EQ(pk_timingsafe_bcmp(a, b, 0), 0);
	for (i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		ASSERT_INT_NE(pk_timingsafe_bcmp(a, b, sizeof(a)), 0);
		/* Only the first i bytes compared: still equal. */
		ASSERT_INT_EQ(pk_timingsafe_bcmp(a, b, i), 0);
		b[i] ^= 0x80;
		b[i] ^= 0x01;
		ASSERT_INT_NE(pk_timingsafe_bcmp(a, b, i + 1), 0);
		b[i] ^= 0x01;
	}
	ASSERT_INT_EQ(pk_timingsafe_bcmp("abc", "abd", 2), 0);
	ASSERT_INT_EQ(pk_timingsafe_bcmp("abc", "abd", 3), 1);
	TEST_DONE();
}

int
main(void)
{
	test_alloc();
	test_free_wipes();
	test_wipe();
	test_bcmp();

	TEST_START("harden_process: not dumpable, RLIMIT_CORE 0");
	ASSERT_INT_EQ(in_child(child_harden), 0);
	TEST_DONE();

	return test_exit();
}
