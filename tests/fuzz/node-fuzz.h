/*
 * node-fuzz.h: a peerkeyd for the stateful fuzz targets (fuzz-session,
 * fuzz-control): the daemon's real peer.c, session-native.c, join.c,
 * control-cmd.c and store, on a scratch database on a tmpfs, with
 * neither sockets nor a running event loop.
 */
#ifndef NODE_FUZZ_H
#define NODE_FUZZ_H

/* The key ids a fuzz input can speak as (fuzz_node_keyid()). */
#define FUZZ_P_NODE	"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1" \
			"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define FUZZ_P_BOOT	"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2" \
			"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define FUZZ_Q_BOOT	"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3" \
			"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define FUZZ_JOINER	"d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4" \
			"d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"
#define FUZZ_STRANGER	"e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5" \
			"e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"
#define FUZZ_NKEYS	5

/* The invitation whose secret is bytes 0, 1, ... 31 is always pending. */
#define FUZZ_SECRET_BYTE(i)	((unsigned char)(i))

/*
 * Makes the node once (a private network namespace first, so that
 * nothing a fuzz input names is ever dialled), then puts it back into
 * its start state: peer "p" (node key FUZZ_P_NODE, boot key FUZZ_P_BOOT,
 * one blob) when with_members, else none with a node key; peer "q" (boot
 * key FUZZ_Q_BOOT, no node key: a Mandos client, one blob); the pending
 * invitation; no events.
 */
void		 fuzz_node_reset(int with_members);

/* Key id i (mod FUZZ_NKEYS) of the list above. */
const char	*fuzz_node_keyid(unsigned int i);

/*
 * Aborts unless the list of peers is consistent: each has a name and a
 * boot key id, no two share a name or a key, npeers counts them.
 */
void		 fuzz_node_check(void);

/* Does some peer have a node key (so that a JOIN would introduce)? */
int		 fuzz_node_has_members(void);

#endif /* NODE_FUZZ_H */
