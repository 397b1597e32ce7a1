/*
 * fuzz-addr.c: libFuzzer target for addr.c: pk_list_next() and
 * pk_addr_split(), which read addresses that come from the network (JOIN
 * and INTRODUCE documents, mDNS), from boot.conf and from the store.
 *
 * Input: one byte that sizes the output buffers (1 .. PK_ADDR_LEN + 8),
 * then an address list (up to its first NUL). Checks: every word is
 * non-empty, has no separator, fits its buffer (or is reported too large,
 * cut to outlen - 1 bytes), and the list always moves on; a split that
 * succeeds gives a non-empty host without separators and a numeric port
 * of at most 65535, and the address written back from them splits to the
 * same; pk_list_add() of the words gives a list that reads back the same
 * words.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "pk_err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_LIST_MAX	4096

/* Splits w; on success, the address rebuilt from the parts must too. */
static void
fuzz_split(const char *w, size_t n)
{
	char	 host[PK_ADDR_LEN + 8], port[16], h2[sizeof(host)], p2[16];
	char	 again[sizeof(host) + 24];
	int	 r;

	r = pk_addr_split(w, host, n, port, sizeof(port), "4141");
	if (r != 0) {
		if (r != PK_ERR_BAD_FORMAT && r != PK_ERR_TOO_LARGE)
			abort();
		return;
	}
	if (host[0] == '\0' || strlen(host) >= n || port[0] == '\0' ||
	    strspn(port, "0123456789") != strlen(port) ||
	    strtoul(port, NULL, 10) > 65535)
		abort();
	snprintf(again, sizeof(again), strchr(host, ':') != NULL ?
	    "[%s]:%s" : "%s:%s", host, port);
	/* A host with ']' or a bracket form cannot always be rebuilt. */
	if (strchr(host, ']') != NULL || strchr(host, '[') != NULL)
		return;
	if (pk_addr_split(again, h2, sizeof(h2), p2, sizeof(p2), "1") != 0 ||
	    strcmp(h2, host) != 0 || strcmp(p2, port) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*in, w[PK_ADDR_LEN + 8], list[FUZZ_LIST_MAX];
	char		 w2[sizeof(w)];
	const char	*p, *prev, *q;
	size_t		 n, len;
	int		 r, words = 0, r2;

	if (size < 1)
		return 0;
	n = (size_t)data[0] % (PK_ADDR_LEN + 8) + 1;
	len = strnlen((const char *)data + 1, size - 1);
	if ((in = malloc(len + 1)) == NULL)
		return 0;
	memcpy(in, data + 1, len);
	in[len] = '\0';
	list[0] = '\0';
	for (p = in; ; ) {
		prev = p;
		r = pk_list_next(&p, w, n);
		if (r == 0)
			break;
		if (p <= prev || p > in + len)
			abort();
		if (r != 1 && r != PK_ERR_TOO_LARGE)
			abort();
		if (strlen(w) >= n || strpbrk(w, PK_LIST_SEP) != NULL ||
		    (r == 1 && w[0] == '\0'))
			abort();
		if (r == 1) {
			fuzz_split(w, n);
			if (pk_list_add(list, sizeof(list), w) == 0)
				words++;
		}
	}
	if (p == NULL || *p != '\0')
		abort();
	/* The list written reads back word for word. */
	for (q = list, r = 0; r < words; r++) {
		if ((r2 = pk_list_next(&q, w2, sizeof(w2))) != 1)
			abort();
	}
	if (pk_list_next(&q, w2, sizeof(w2)) != 0)
		abort();
	free(in);
	return 0;
}
