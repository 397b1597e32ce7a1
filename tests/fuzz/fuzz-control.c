/*
 * fuzz-control.c: stateful libFuzzer target for the control requests
 * (control-cmd.c's table through control_run(), and join.c's
 * invite-add and peer-pgp) on the node of node-fuzz.c.
 *
 * Input: one byte of set-up (bit 0: the node has a member "p"; bit 1:
 * the requests come from uid 1000, a control-group member, not root),
 * then JSON requests, one a
 * line, as the control socket hands them to control_run(). Requests
 * "check" are skipped: it runs a peer's checker command and dials its
 * addresses, which a fuzz input chooses.
 *
 * Checks: each request is answered ({"ok": true, ...}) or refused with a
 * cause, never both and never neither; the list of peers stays
 * consistent (fuzz_node_check()). (Who may connect at all is control.c's
 * SO_PEERCRED check, before control_run().)
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node.h"
#include "node-fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 jerr;
	json_t		*req, *ans;
	const uint8_t	*p, *e, *end = data + size;
	const char	*cmd;
	char		*cause;
	uid_t		 uid;

	if (size < 1)
		return 0;
	fuzz_node_reset(data[0] & 1);
	uid = data[0] & 2 ? 1000 : 0;
	for (p = data + 1; p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		req = json_loadb((const char *)p, (size_t)(e - p), 0, &jerr);
		if (req == NULL)
			continue;
		cmd = json_string_value(json_object_get(req, "cmd"));
		if (cmd != NULL && strcmp(cmd, "check") == 0) {
			json_decref(req);
			continue;
		}
		cause = NULL;
		ans = control_run(req, uid, &cause);
		if ((ans == NULL) == (cause == NULL))
			abort();
		if (ans != NULL && !json_is_true(json_object_get(ans, "ok")))
			abort();
		json_decref(ans);
		free(cause);
		json_decref(req);
		fuzz_node_check();
	}
	return 0;
}
