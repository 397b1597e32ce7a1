/*
 * fuzz-luks-token.c: libFuzzer target for src/cli/luks-check.c, the
 * check of a peerkey LUKS2 token (whoever holds the disk may have written
 * its header).
 *
 * The input is the token's JSON. Checks: a refusal always has a cause;
 * a token that passes has a known state, a blob id, and name lists that
 * luks_names_has(), luks_names_add() and luks_names_del() handle (every
 * name in "held-by" is found, a name added once is there once, a name
 * deleted is gone unless it was there twice). The name functions are
 * also run on whatever "held-by" holds, checked or not: they must never
 * trust an entry to be a string.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "luks-check.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 jerr;
	json_t		*t, *held, *peers, *v, *x;
	char		*cause = NULL;
	size_t		 i;
	int		 r;

	if ((t = json_loadb((const char *)data, size, 0, &jerr)) == NULL)
		return 0;
	held = json_object_get(t, "held-by");
	peers = json_object_get(t, "peers");
	/* Unchecked: must not crash on any entry. */
	(void)luks_names_has(held, "b");
	v = json_array();
	luks_names_add(v, held);
	luks_names_add(v, peers);
	json_array_foreach(v, i, x)
		if (!json_is_string(x))
			abort();
	r = luks_token_check(t, &cause);
	if (r != 0) {
		if (r != -1 || cause == NULL)
			abort();
		goto out;
	}
	if (cause != NULL ||
	    json_string_value(json_object_get(t, "blob-id")) == NULL)
		abort();
	json_array_foreach(held, i, x)
		if (!luks_names_has(held, json_string_value(x)))
			abort();
	luks_names_add(v, held);
	i = json_array_size(v);
	luks_names_add(v, held);
	if (json_array_size(v) != i)
		abort();
	if (json_array_size(held) > 0) {
		const char *n = json_string_value(json_array_get(held, 0));
		char	   *name = strdup(n);

		if (name == NULL)
			goto out;
		luks_names_del(v, name);
		if (luks_names_has(v, name))
			abort();
		free(name);
	}
out:
	free(cause);
	json_decref(v);
	json_decref(t);
	return 0;
}
