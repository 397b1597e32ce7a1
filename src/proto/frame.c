/*
 * frame.c: finding frame boundaries in a byte stream.
 *
 * The only field read here is the u32 length; version, type and body are
 * msg.c's business. The length is judged as soon as its four bytes are
 * present, so an over-long frame is refused before a single body byte is
 * buffered.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "pk_err.h"
#include "proto.h"

/* Looks for one complete frame at the start of buf[0 .. len). */
int
pk_frame_next(const uint8_t *buf, size_t len, size_t max, size_t *framelen)
{
	uint32_t	flen;

	if (framelen != NULL)
		*framelen = 0;
	if (framelen == NULL || (buf == NULL && len != 0) ||
	    max < PK_FRAME_MIN_LEN || max > PK_FRAME_MAX_HARD)
		return PK_ERR_INVALID_ARG;
	if (len < 4)
		return PK_ERR_TRUNCATED;
	flen = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	if (flen > max)
		return PK_ERR_TOO_LARGE;
	if (flen < PK_FRAME_MIN_LEN)
		return PK_ERR_BAD_FORMAT;
	/* flen <= PK_FRAME_MAX_HARD, so this cannot overflow a size_t. */
	*framelen = 4 + (size_t)flen;
	if (len < *framelen)
		return PK_ERR_TRUNCATED;
	return 0;
}
