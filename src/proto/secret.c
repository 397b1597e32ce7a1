/*
 * secret.c: locked, wiped memory for secrets, after cryptsetup's
 * lib/utils_safe_memory.c (crypt_safe_alloc, crypt_safe_free).
 *
 * A small header in front of the pointer handed out records the size of
 * the allocation and whether mlock() succeeded. Unlike cryptsetup, every
 * allocation is rounded up to whole pages and page-aligned: Linux locks do
 * not nest, so munlock() of one buffer would otherwise unlock a neighbour
 * sharing its page. The pages are also kept out of core dumps
 * (MADV_DONTDUMP) for as long as they hold a secret.
 *
 * The memory still comes from malloc (posix_memalign), so AddressSanitizer
 * and LeakSanitizer see a secret buffer that is leaked and never wiped.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pk_err.h"
#include "secret.h"

/* Sits in front of the caller's buffer; sized to keep it max-aligned. */
struct secret_hdr {
	union {
		struct {
			size_t	size;	/* bytes the caller asked for */
			size_t	total;	/* bytes allocated, header included */
			int	locked;	/* mlock() succeeded */
		} h;
		max_align_t	align;
	} u;
};

#define SECRET_HDR_SIZE	\
	((sizeof(struct secret_hdr) + alignof(max_align_t) - 1) & \
	    ~(alignof(max_align_t) - 1))

/*
 * mlock(2) and munlock(2) by system call: AddressSanitizer replaces the
 * libc functions with no-ops, and the tests must see the real locking
 * under ASan too. Both return 0 or -1 (errno set).
 */
static int
secret_mlock(void *p, size_t n)
{
	return (int)syscall(SYS_mlock, p, n);
}

/* Unlocks n bytes at p. */
static int
secret_munlock(void *p, size_t n)
{
	return (int)syscall(SYS_munlock, p, n);
}

/* Returns the header in front of a pointer from pk_secret_alloc(). */
static struct secret_hdr *
secret_hdr(void *p)
{
	return (struct secret_hdr *)(void *)((unsigned char *)p -
	    SECRET_HDR_SIZE);
}

/* Returns the system page size (4096 when sysconf cannot tell). */
static size_t
secret_pagesize(void)
{
	long	ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

/* Wipes n bytes at p in a way the compiler cannot remove. */
void
pk_wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	{
		/* Writes through a volatile pointer cannot be elided. */
		volatile unsigned char	*v = p;

		while (n-- > 0)
			*v++ = 0;
	}
#endif
}

/* Returns n zeroed bytes on their own locked pages, or NULL. */
void *
pk_secret_alloc(size_t n)
{
	struct secret_hdr	*hdr;
	size_t			 ps, total;
	void			*mem;
	int			 r, saved;

	if (n == 0) {
		errno = EINVAL;
		return NULL;
	}
	ps = secret_pagesize();
	if (n > SIZE_MAX - SECRET_HDR_SIZE - ps) {
		errno = ENOMEM;
		return NULL;
	}
	total = (n + SECRET_HDR_SIZE + ps - 1) / ps * ps;
	if ((r = posix_memalign(&mem, ps, total)) != 0) {
		errno = r;
		return NULL;
	}
	memset(mem, 0, total);
	hdr = mem;
	hdr->u.h.size = n;
	hdr->u.h.total = total;
	/*
	 * Past RLIMIT_MEMLOCK mlock() fails with ENOMEM (or EPERM with a
	 * zero limit); the buffer is still usable and still wiped on free.
	 */
	saved = errno;
	hdr->u.h.locked = secret_mlock(mem, total) == 0;
#ifdef MADV_DONTDUMP
	(void)madvise(mem, total, MADV_DONTDUMP);
#endif
	errno = saved;
	return (unsigned char *)mem + SECRET_HDR_SIZE;
}

/* Wipes, unlocks and frees a buffer from pk_secret_alloc(). */
void
pk_secret_free(void *p)
{
	struct secret_hdr	*hdr;
	size_t			 total;
	int			 locked, saved;

	if (p == NULL)
		return;
	saved = errno;
	hdr = secret_hdr(p);
	total = hdr->u.h.total;
	locked = hdr->u.h.locked;
	/* Wipe first, while the pages are still locked. */
	pk_wipe(hdr, total);
	if (locked)
		(void)secret_munlock(hdr, total);
#ifdef MADV_DODUMP
	/* malloc may hand these pages to ordinary data next. */
	(void)madvise(hdr, total, MADV_DODUMP);
#endif
	free(hdr);
	errno = saved;
}

/* Moves a secret into a new buffer of n bytes and frees the old. */
void *
pk_secret_realloc(void *p, size_t n)
{
	void	*np;
	size_t	 old;

	if (p == NULL)
		return pk_secret_alloc(n);
	if (n == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((np = pk_secret_alloc(n)) == NULL)
		return NULL;
	old = secret_hdr(p)->u.h.size;
	memcpy(np, p, old < n ? old : n);
	pk_secret_free(p);
	return np;
}

/* Compares n bytes in constant time: 0 when equal, 1 otherwise. */
int
pk_timingsafe_bcmp(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*pa = a, *pb = b;
	unsigned char			 acc = 0;
	size_t				 i;

	/* No early exit: every byte is read whatever the difference. */
	for (i = 0; i < n; i++)
		acc |= pa[i] ^ pb[i];
	return acc != 0;
}

/* Makes this process undumpable and without core files. */
int
pk_secret_harden_process(void)
{
	struct rlimit	rl;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return PK_ERR_SYSTEM;
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return PK_ERR_SYSTEM;
	return PK_OK;
}
