/*
 * buf.h: bounded, growable byte buffers (after OpenSSH's sshbuf), for a
 * connection's input and output.
 *
 * A buffer holds the unread bytes [ptr, ptr + len). Bytes are added at the
 * end (pk_buf_append, or pk_buf_reserve + read() + pk_buf_commit) and
 * taken from the front (pk_buf_consume). The number of unread bytes never
 * exceeds the maximum fixed at creation: a peer cannot make a buffer grow
 * past it. Storage grows on demand, by doubling, up to that maximum.
 *
 * Buffers may carry secrets (a frame with an encrypted blob, a Mandos
 * secret), so every byte that leaves the buffer's use is wiped: consumed
 * bytes, the old storage when growing, and everything on pk_buf_reset()
 * and pk_buf_free(). Pointers returned by pk_buf_ptr() and pk_buf_reserve()
 * are valid until the next call that changes the buffer.
 */
#ifndef PK_BUF_H
#define PK_BUF_H

#include <stddef.h>
#include <stdint.h>

/* No buffer may be created with a larger maximum. */
#define PK_BUF_MAX_HARD		(32 * 1024 * 1024)

struct pk_buf;

/*
 * Returns an empty buffer that will never hold more than max bytes
 * (1 .. PK_BUF_MAX_HARD), or NULL (max out of range, or out of memory).
 */
struct pk_buf	*pk_buf_new(size_t max);

/* Wipes and frees b (NULL is fine). */
void	 pk_buf_free(struct pk_buf *b);

/* Returns the unread bytes (never NULL, even when empty). */
const uint8_t *pk_buf_ptr(const struct pk_buf *b);

/* Returns the number of unread bytes. */
size_t	 pk_buf_len(const struct pk_buf *b);

/* Returns the maximum set at creation. */
size_t	 pk_buf_max(const struct pk_buf *b);

/* Returns how many more bytes may be added (max - len). */
size_t	 pk_buf_room(const struct pk_buf *b);

/*
 * Appends p[0 .. n). Returns 0, PK_ERR_TOO_LARGE (len + n would pass the
 * maximum; the buffer is unchanged) or PK_ERR_ALLOC.
 */
int	 pk_buf_append(struct pk_buf *b, const void *p, size_t n);

/*
 * Makes room for n more bytes at the end and sets *dst to it, for a
 * read() or an encoder; nothing is added until pk_buf_commit(). Returns 0,
 * PK_ERR_TOO_LARGE (len + n over the maximum) or PK_ERR_ALLOC.
 */
int	 pk_buf_reserve(struct pk_buf *b, size_t n, uint8_t **dst);

/*
 * Adds n bytes written into the space of the last pk_buf_reserve().
 * Returns 0, or PK_ERR_INVALID_ARG if n is more than was reserved.
 */
int	 pk_buf_commit(struct pk_buf *b, size_t n);

/*
 * Removes (and wipes) n bytes from the front. Returns 0, or
 * PK_ERR_INVALID_ARG if fewer than n bytes are unread (nothing removed).
 */
int	 pk_buf_consume(struct pk_buf *b, size_t n);

/* Wipes and empties b; keeps its storage and maximum. */
void	 pk_buf_reset(struct pk_buf *b);

#endif /* PK_BUF_H */
