/*
 * frame.h: splitting a byte stream into native peerkey frames.
 *
 * A frame is u32 length (big-endian) + length bytes, the first two of
 * which are the version and the type (proto.h). pk_frame_next() looks at
 * the bytes received so far and says whether a whole frame is there,
 * without copying: it never reads past len, and refuses a length over max
 * before any body byte arrives, so a peer cannot make us buffer more.
 */
#ifndef PK_FRAME_H
#define PK_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Looks for one complete frame at the start of buf[0 .. len).
 * max is the largest length field accepted (<= PK_FRAME_MAX_HARD).
 * Returns 0 and sets *framelen (4 + length) when a whole frame is present;
 * PK_ERR_TRUNCATED when more bytes are needed (*framelen is then the total
 * needed if known, else 0); PK_ERR_TOO_LARGE when the length field is over
 * max; PK_ERR_BAD_FORMAT when it is under PK_FRAME_MIN_LEN.
 */
int	pk_frame_next(const uint8_t *buf, size_t len, size_t max,
	    size_t *framelen);

#endif /* PK_FRAME_H */
