/*
 * buf.c: bounded, growable byte buffers that wipe what they release.
 *
 * Layout: d[0 .. size) is the storage; d[off .. end) the unread bytes;
 * d[end .. end + reserved) the space handed out by the last reserve.
 * Invariants: off <= end <= end + reserved <= size <= max, and every byte
 * outside [off, end + reserved) is zero: consumed bytes are wiped at once,
 * and reserved space is wiped when it is taken back, so freeing or growing
 * only has to copy and wipe what is still unread.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pk_err.h"

#define PK_BUF_INITIAL	256

struct pk_buf {
	uint8_t		*d;
	size_t		 size;
	size_t		 off;
	size_t		 end;
	size_t		 reserved;
	size_t		 max;
};

/* Returns an empty buffer with maximum max, or NULL. */
struct pk_buf *
pk_buf_new(size_t max)
{
	struct pk_buf	*b;

	if (max == 0 || max > PK_BUF_MAX_HARD)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->size = max < PK_BUF_INITIAL ? max : PK_BUF_INITIAL;
	if ((b->d = calloc(1, b->size)) == NULL) {
		free(b);
		return NULL;
	}
	b->max = max;
	return b;
}

/* Wipes and frees b. */
void
pk_buf_free(struct pk_buf *b)
{
	if (b == NULL)
		return;
	explicit_bzero(b->d, b->size);
	free(b->d);
	explicit_bzero(b, sizeof(*b));
	free(b);
}

/* Returns the unread bytes. */
const uint8_t *
pk_buf_ptr(const struct pk_buf *b)
{
	return b->d + b->off;
}

/* Returns the number of unread bytes. */
size_t
pk_buf_len(const struct pk_buf *b)
{
	return b->end - b->off;
}

/* Returns the buffer's maximum. */
size_t
pk_buf_max(const struct pk_buf *b)
{
	return b->max;
}

/* Returns how many bytes may still be added. */
size_t
pk_buf_room(const struct pk_buf *b)
{
	return b->max - (b->end - b->off);
}

/* Takes back reserved space, wiping whatever the caller wrote there. */
static void
buf_unreserve(struct pk_buf *b)
{
	explicit_bzero(b->d + b->end, b->reserved);
	b->reserved = 0;
}

/*
 * Ensures n free bytes after end: first by moving the unread bytes to the
 * front, then by growing the storage (never past max).
 */
static int
buf_make_room(struct pk_buf *b, size_t n)
{
	uint8_t	*nd;
	size_t	 len = b->end - b->off, nsize;

	buf_unreserve(b);
	if (n > b->max - len)
		return PK_ERR_TOO_LARGE;
	if (n <= b->size - b->end)
		return 0;
	if (b->off > 0) {
		memmove(b->d, b->d + b->off, len);
		/* Wipe the tail the move left behind (keeps the invariant). */
		explicit_bzero(b->d + len, b->end - len);
		b->off = 0;
		b->end = len;
		if (n <= b->size - b->end)
			return 0;
	}
	for (nsize = b->size; nsize - len < n; ) {
		if (nsize > b->max / 2) {
			nsize = b->max;
			break;
		}
		nsize *= 2;
	}
	/* Not realloc(): the old storage must be wiped before it is freed. */
	if ((nd = calloc(1, nsize)) == NULL)
		return PK_ERR_ALLOC;
	memcpy(nd, b->d, len);
	explicit_bzero(b->d, b->size);
	free(b->d);
	b->d = nd;
	b->size = nsize;
	return 0;
}

/* Appends p[0 .. n). */
int
pk_buf_append(struct pk_buf *b, const void *p, size_t n)
{
	int	ret;

	if (p == NULL && n != 0)
		return PK_ERR_INVALID_ARG;
	if ((ret = buf_make_room(b, n)) != 0)
		return ret;
	if (n > 0)
		memcpy(b->d + b->end, p, n);
	b->end += n;
	return 0;
}

/* Hands out space for n bytes at the end. */
int
pk_buf_reserve(struct pk_buf *b, size_t n, uint8_t **dst)
{
	int	ret;

	*dst = NULL;
	if ((ret = buf_make_room(b, n)) != 0)
		return ret;
	b->reserved = n;
	*dst = b->d + b->end;
	return 0;
}

/* Adds n bytes of the reserved space. */
int
pk_buf_commit(struct pk_buf *b, size_t n)
{
	if (n > b->reserved)
		return PK_ERR_INVALID_ARG;
	/* The reserved space past n may have been written: wipe it. */
	explicit_bzero(b->d + b->end + n, b->reserved - n);
	b->end += n;
	b->reserved = 0;
	return 0;
}

/* Removes and wipes n bytes from the front. */
int
pk_buf_consume(struct pk_buf *b, size_t n)
{
	if (n > b->end - b->off)
		return PK_ERR_INVALID_ARG;
	buf_unreserve(b);
	explicit_bzero(b->d + b->off, n);
	b->off += n;
	if (b->off == b->end)
		b->off = b->end = 0;
	return 0;
}

/* Wipes and empties b. */
void
pk_buf_reset(struct pk_buf *b)
{
	explicit_bzero(b->d, b->size);
	b->off = b->end = b->reserved = 0;
}
