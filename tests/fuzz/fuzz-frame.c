/*
 * fuzz-frame.c: libFuzzer target for frame splitting and message decoding.
 *
 * The input is treated as a received byte stream: pk_frame_next() splits
 * it into frames (with the largest max a caller may pass), each frame is
 * decoded, and every frame that decodes must re-encode to exactly the same
 * bytes, with pk_msg_encoded_len() agreeing; anything else is a bug and
 * aborts. The whole input is also decoded as one frame, to exercise the
 * decoder's own length checks. Built with --enable-fuzzing this is a
 * libFuzzer binary; otherwise replay.c feeds it frame.in/ and frame.repro/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Returns 1 if r is an error the decoder may give for bad input. */
static int
fuzz_clean_error(int r)
{
	return r == PK_ERR_TRUNCATED || r == PK_ERR_TRAILING ||
	    r == PK_ERR_TOO_LARGE || r == PK_ERR_BAD_FORMAT ||
	    r == PK_ERR_BAD_TYPE || r == PK_ERR_BAD_VERSION;
}

/* Decodes one frame; if it decodes, it must re-encode identically. */
static void
fuzz_decode(const uint8_t *p, size_t len)
{
	struct pk_msg	 m;
	uint8_t		*out;
	size_t		 w;
	int		 r;

	r = pk_msg_decode(p, len, &m);
	if (r != 0) {
		if (!fuzz_clean_error(r))
			abort();
		return;
	}
	if (m.version != PK_PROTO_VERSION ||
	    pk_msg_encoded_len(&m) != len)
		abort();
	if ((out = malloc(len)) == NULL)
		return;
	if (pk_msg_encode(&m, out, len, &w) != 0 || w != len ||
	    memcmp(out, p, len) != 0)
		abort();
	/* One byte less room must be refused. */
	if (pk_msg_encode(&m, out, len - 1, &w) != PK_ERR_TOO_LARGE)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	off = 0, fl;
	int	r;

	fuzz_decode(data, size);
	while ((r = pk_frame_next(data + off, size - off, PK_FRAME_MAX_HARD,
	    &fl)) == 0) {
		if (fl < PK_FRAME_HDR || fl > size - off)
			abort();
		fuzz_decode(data + off, fl);
		off += fl;
	}
	if (!fuzz_clean_error(r))
		abort();
	if (r == PK_ERR_TRUNCATED && fl != 0 && fl <= size - off)
		abort();
	return 0;
}
