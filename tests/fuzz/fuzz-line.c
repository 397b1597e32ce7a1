/*
 * fuzz-line.c: libFuzzer target for the pre-TLS protocol line.
 *
 * Besides not crashing, pk_line_parse() must keep its promises on every
 * input, or this aborts: an accepted line is byte for byte one of the two
 * known lines; *linelen never passes len nor PK_LINE_MAX and ends at the
 * first LF; and the answer does not depend on how the bytes arrived (each
 * prefix cut before the first LF says TRUNCATED, or TOO_LARGE once
 * PK_LINE_MAX bytes are in).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "pk_err.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pk_line_proto	 proto;
	const uint8_t		*lf;
	size_t			 i, linelen, scan, want;
	int			 r, rp;

	r = pk_line_parse(data, size, &proto, &linelen);
	scan = size < PK_LINE_MAX ? size : PK_LINE_MAX;
	lf = scan > 0 ? memchr(data, '\n', scan) : NULL;
	want = lf != NULL ? (size_t)(lf - data) + 1 : 0;
	switch (r) {
	case 0:
		if (linelen != want)
			abort();
		if (proto == PK_LINE_PROTO_NATIVE) {
			if (linelen != strlen(PK_LINE_NATIVE) ||
			    memcmp(data, PK_LINE_NATIVE, linelen) != 0)
				abort();
		} else if (proto == PK_LINE_PROTO_MANDOS) {
			if (linelen != strlen(PK_LINE_MANDOS) ||
			    memcmp(data, PK_LINE_MANDOS, linelen) != 0)
				abort();
		} else
			abort();
		break;
	case PK_ERR_BAD_LINE:
	case PK_ERR_BAD_VERSION:
		if (want == 0 || linelen != want)
			abort();
		break;
	case PK_ERR_TRUNCATED:
		if (want != 0 || size >= PK_LINE_MAX || linelen != 0)
			abort();
		break;
	case PK_ERR_TOO_LARGE:
		if (want != 0 || size < PK_LINE_MAX || linelen != 0)
			abort();
		break;
	default:
		abort();
	}
	/* Arrival in pieces: no prefix before the LF decides early. */
	for (i = 0; i < (want ? want : scan); i++) {
		rp = pk_line_parse(data, i, &proto, &linelen);
		if (rp != (i < PK_LINE_MAX ? PK_ERR_TRUNCATED :
		    PK_ERR_TOO_LARGE))
			abort();
	}
	/* Bytes after the line never change the verdict. */
	if (want != 0 && pk_line_parse(data, want, &proto, &linelen) != r)
		abort();
	return 0;
}
