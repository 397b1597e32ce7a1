/*
 * secret.h: memory for secrets (passphrases, private key material).
 *
 * After cryptsetup's utils_safe_memory.c: allocations are zeroed, locked
 * with mlock() (a failure to lock past RLIMIT_MEMLOCK is ignored; the
 * memory is still wiped), and wiped with explicit_bzero() before being
 * unlocked and freed. Only secret buffers are locked: never mlockall().
 */
#ifndef PK_SECRET_H
#define PK_SECRET_H

#include <stddef.h>

/* Returns zeroed, locked memory of n bytes (n > 0), or NULL (errno set). */
void	*pk_secret_alloc(size_t n);

/* Grows (or shrinks) a secret buffer; the old one is wiped. NULL on
 * failure, in which case the old buffer is untouched. */
void	*pk_secret_realloc(void *p, size_t n);

/* Wipes, unlocks and frees p (NULL is fine). The size is remembered. */
void	 pk_secret_free(void *p);

/* Wipes n bytes at p in a way the compiler cannot remove. */
void	 pk_wipe(void *p, size_t n);

/* Compares n bytes in constant time: 0 when equal. */
int	 pk_timingsafe_bcmp(const void *a, const void *b, size_t n);

/*
 * For a process that will hold secrets: not dumpable (PR_SET_DUMPABLE 0,
 * which also forbids ptrace attach by non-root), and RLIMIT_CORE 0.
 * Returns 0 or PK_ERR_SYSTEM.
 */
int	 pk_secret_harden_process(void);

#endif /* PK_SECRET_H */
