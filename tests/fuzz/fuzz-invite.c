/*
 * fuzz-invite.c: libFuzzer target for src/cli/invite.c, what "peerkey
 * join" reads: the invitation code (pasted by an operator) and the
 * inviter's JOIN_REPLY (from the network).
 *
 * The first byte picks the parser: even, the rest is a code (up to its
 * first NUL) for invite_code_decode(); odd, the rest is a JOIN_REPLY
 * document for invite_reply_check() as machine ME. Checks: a decoded code
 * has a valid key id and addresses; a checked reply's "peers" each pass
 * invite_ident_check() again, have the six members, and none is ME;
 * every "bad" entry has a "why"; a refusal always has a cause.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fuzz-pick.h"
#include "invite.h"
#include "key.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ME "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static void
fuzz_code(const uint8_t *p, size_t len)
{
	struct invite_code	 ic;
	char			*s, *cause = NULL;
	int			 r;

	len = strnlen((const char *)p, len);	/* up to its first NUL */
	if ((s = malloc(len + 1)) == NULL)
		return;
	memcpy(s, p, len);
	s[len] = '\0';
	r = invite_code_decode(s, &ic, &cause);
	if (r == 0 && (cause != NULL || !pk_keyid_valid(ic.node_keyid) ||
	    ic.addresses[0] == '\0' ||
	    strlen(ic.addresses) > INVITE_ADDRS_MAX))
		abort();
	if (r != 0 && (r != -1 || cause == NULL))
		abort();
	free(cause);
	free(s);
}

static void
fuzz_reply(const uint8_t *p, size_t len)
{
	json_t	*r, *x;
	char	*cause = NULL;
	size_t	 i;

	if ((r = invite_reply_check(p, len, ME, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL ||
	    !json_is_string(json_object_get(r, "inviter")))
		abort();
	json_array_foreach(json_object_get(r, "peers"), i, x) {
		if (invite_ident_check(x, &cause) != 0 ||
		    json_object_size(x) != 6 ||
		    strcasecmp(json_string_value(json_object_get(x,
		    "node_keyid")), ME) == 0 ||
		    !json_is_string(json_object_get(x, "addresses")) ||
		    !json_is_string(json_object_get(x, "boot_pgp")))
			abort();
	}
	json_array_foreach(json_object_get(r, "bad"), i, x)
		if (!json_is_string(json_object_get(x, "why")))
			abort();
	json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pick(data, size, fuzz_code, fuzz_reply);
}
