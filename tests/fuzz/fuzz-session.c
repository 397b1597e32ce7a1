/*
 * fuzz-session.c: stateful libFuzzer target for the native session's
 * handlers after decoding (session-native.c, and through it peer.c's
 * release decision, join.c's JOIN and INTRODUCE with their identity
 * documents, and the store), on the node of node-fuzz.c.
 *
 * Input: one byte of set-up (bit 0: the node has a member "p" with a node
 * key; else only the Mandos client "q"), then records, each one byte
 * naming the session's TLS key (node-fuzz.h: p's node key, p's boot key,
 * q's boot key, a joiner, a stranger) and one frame, for as long as
 * frames split (pk_frame_next, the largest valid message). A frame that
 * decodes goes to session_request() of a session with that key, as the
 * daemon's session_read_frame() would hand it; the session lives on
 * while the key stays the same and it did not end. A JOIN is fed only to
 * a node with no member (a JOIN with members forks a process that dials
 * them). The invitation whose secret is 0, 1, ... 31 is pending, so a
 * JOIN that proves it reaches the identity document.
 *
 * Checks: every request gets exactly one reply queued, that reply
 * re-decodes, an UNLOCK_REPLY that releases goes only to a known, enabled
 * boot key, a reply to a key that is no peer's node key is never an ACK
 * or HEARTBEAT_REPLY; the node's state stays consistent (every peer on
 * the list has a name and a boot key, and no two share a key).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame.h"
#include "msg.h"
#include "node.h"
#include "node-fuzz.h"
#include "pk_err.h"
#include "proto.h"
#include "session-int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Checks the reply the request of key on s queued. */
static void
fuzz_check_reply(struct session *s, const char *key, int type)
{
	struct pk_msg	 r;
	struct peer	*p;

	if (s->dead && s->out == NULL)
		return;		/* failed to encode: logged, closed */
	if (s->out == NULL || pk_msg_decode(s->out, s->outlen, &r) != 0)
		abort();
	if (r.type == PK_MSG_UNLOCK_REPLY &&
	    r.u.unlock_reply.status == PK_UNLOCK_OK &&
	    ((p = peer_by_boot_keyid(key)) == NULL ||
	    p->disabled_by != PEER_DIS_NONE || type != PK_MSG_UNLOCK))
		abort();
	if ((r.type == PK_MSG_HEARTBEAT_REPLY || (r.type == PK_MSG_ACK &&
	    r.u.ack.of_type != PK_MSG_INTRODUCE)) &&
	    peer_by_node_keyid(key) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session	*s = NULL;
	struct pk_msg	 m;
	const char	*key = NULL, *k;
	size_t		 off = 1, fl;

	if (size < 1)
		return 0;
	fuzz_node_reset(data[0] & 1);
	while (off + 1 < size) {
		k = fuzz_node_keyid(data[off++]);
		if (pk_frame_next(data + off, size - off, PK_MSG_LEN_MAX,
		    &fl) != 0)
			break;
		if (s != NULL && (k != key || s->state == S_CLOSING ||
		    s->dead)) {
			free(s);
			s = NULL;
		}
		if (s == NULL) {
			if ((s = calloc(1, sizeof(*s))) == NULL)
				break;
			s->fd = -1;
			s->state = S_REQUESTS;
			s->proto = PK_LINE_PROTO_NATIVE;
			memcpy(s->addr, "192.0.2.1:4141", 15);
			memcpy(s->host, "192.0.2.1", 10);
			memcpy(s->keyid, k, PK_KEYID_HEXLEN + 1);
			key = k;
		}
		if (pk_msg_decode(data + off, fl, &m) == 0 &&
		    (m.type != PK_MSG_JOIN || !fuzz_node_has_members())) {
			session_request(s, &m);
			fuzz_check_reply(s, key, m.type);
			free(s->out);
			s->out = NULL;
			s->outlen = 0;
			fuzz_node_check();
		}
		off += fl;
	}
	free(s);
	return 0;
}
