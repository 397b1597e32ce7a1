/*
 * fuzz-pick.h: the entry of the fuzz targets whose first input byte
 * picks one of two things to do with the rest (fuzz-invite, fuzz-sblob,
 * fuzz-share): even runs even(), odd runs odd(), on the bytes after the
 * first; an empty input does nothing.
 */
#ifndef FUZZ_PICK_H
#define FUZZ_PICK_H

#include <stddef.h>
#include <stdint.h>

typedef void	 fuzz_pick_fn(const uint8_t *, size_t);

static inline int
fuzz_pick(const uint8_t *data, size_t size, fuzz_pick_fn *even,
    fuzz_pick_fn *odd)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		odd(data + 1, size - 1);
	else
		even(data + 1, size - 1);
	return 0;
}

#endif
