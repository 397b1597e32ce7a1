/*
 * identity.c: peers' signed identities (doc/protocol.md, "Signed
 * identity"; ident.c decodes and verifies them).
 *
 * Every identity that reaches this node -- a JOIN, a member of a
 * JOIN_REPLY handed over by "peerkey join" (control "add"), an
 * INTRODUCE, an UPDATE -- is a document signed by the node key it names,
 * verified before anything is done with it. The rules:
 *
 *	- a node key is bound only to the boot key, addresses and OpenPGP
 *	  key that it signed itself: the document carries the node public
 *	  key, and the peer's node key id is computed from it;
 *	- of two documents of one node key, the higher sequence number
 *	  wins; a lower one is refused, and the same one is a no-op;
 *	- an introducer may pass on a newer document of a peer that has a
 *	  signed identity, but a peer that an operator added by hand (no
 *	  document) is changed only by its own node key (UPDATE) or the
 *	  operator;
 *	- a name is a label: when a newcomer's name is another peer's, it
 *	  is added as NAME-KEYID8 (the first 8 hex digits of its node key
 *	  id), so nobody can keep a machine out by taking its name first.
 *
 * identity_apply() makes each replacement one store call
 * (store_peer_identity()) with its event "identity".
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ident.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

/* Reads and verifies the "identity" member of o; see node.h. */
int
identity_read(json_t *o, struct pk_ident *id, uint8_t **raw, size_t *rawlen,
    char **cause)
{
	const char	*b64;

	memset(id, 0, sizeof(*id));
	if (!json_is_object(o)) {
		pk_cause_set(cause, "not an object");
		return -1;
	}
	if ((b64 = json_string_value(json_object_get(o, "identity"))) == NULL) {
		pk_cause_set(cause, "no signed identity (\"identity\")");
		return -1;
	}
	return pk_ident_decode_b64(b64, id, raw, rawlen, cause) == 0 ? 0 : -1;
}

/*
 * The identity object of p for JOIN_REPLY and INTRODUCE: its signed
 * document and, for the reader's convenience, what it says. NULL when p
 * has no signed identity (added by an operator): nobody else could check
 * what this node says of it.
 */
json_t *
identity_peer_json(struct peer *p)
{
	struct pk_ident	 id;
	void		*doc = NULL;
	size_t		 len = 0;
	char		*b64 = NULL;
	json_t		*o = NULL;

	if (p->ident_seq == 0 || store_peer_get_identity(node->store, p->id,
	    &doc, &len) != 0 || doc == NULL)
		goto out;
	if (pk_ident_decode(doc, len, &id, NULL) != 0) {
		log_warnx("peer %s: its stored identity does not verify",
		    p->name);
		goto out;
	}
	if ((b64 = pk_ident_b64(doc, len)) != NULL)
		o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", p->name,
		    "node_keyid", id.node_keyid, "boot_keyid", id.boot_keyid,
		    "addresses", id.addresses, "identity", b64);
	pk_ident_clear(&id);
out:
	free(b64);
	free(doc);
	return o;
}

/* Does p's stored document equal raw? */
static int
identity_stored_is(struct peer *p, const uint8_t *raw, size_t rawlen)
{
	void	*doc = NULL;
	size_t	 len = 0;
	int	 same;

	if (store_peer_get_identity(node->store, p->id, &doc, &len) != 0)
		return 0;
	same = doc != NULL && len == rawlen && memcmp(doc, raw, len) == 0;
	free(doc);
	return same;
}

/* Records a refused identity of peer name from from. */
static void
identity_refused(const char *name, const char *from, const char *why)
{
	log_warnx("identity: %s from %s refused: %s", name, from, why);
	if (store_event(node->store, STORE_LAZY, wall_ms(), name,
	    "identity-refused", from, why) != 0)
		log_warnx("store: cannot record refusal: %s",
		    store_errmsg(node->store));
}

/*
 * Applies the verified identity id (raw: its bytes) from from (a peer's
 * name or an address, for the log); trusted: it comes from the node key
 * itself or the operator. Returns an enum identity_found, or -1 with
 * *cause set. See the file comment.
 */
int
identity_apply(const struct pk_ident *id, const uint8_t *raw, size_t rawlen,
    const char *from, int trusted, char **cause)
{
	struct peer	*p, *q, saved;
	char		 detail[256];

	if (strcasecmp(id->node_keyid, node->id->keyid) == 0)
		return IDENTITY_SAME;
	if ((p = peer_by_node_keyid(id->node_keyid)) == NULL)
		return IDENTITY_NEW;
	if (p->ident_seq == 0 && !trusted) {
		identity_refused(p->name, from, "added by an operator: only "
		    "its own node key may give it a signed identity");
		pk_cause_set(cause, "that peer's identity is not signed here; "
		    "only its own node key may change it");
		return -1;
	}
	if (id->seq < p->ident_seq) {
		snprintf(detail, sizeof(detail), "stale identity: sequence "
		    "%llu, this node has %llu", (unsigned long long)id->seq,
		    (unsigned long long)p->ident_seq);
		identity_refused(p->name, from, detail);
		pk_cause_set(cause, "%s", detail);
		return -1;
	}
	if (id->seq == p->ident_seq) {
		if (identity_stored_is(p, raw, rawlen))
			return IDENTITY_SAME;
		identity_refused(p->name, from, "another identity with the "
		    "same sequence number");
		pk_cause_set(cause, "another identity with the same sequence "
		    "number");
		return -1;
	}
	if ((q = peer_by_boot_keyid(id->boot_keyid)) != NULL && q != p) {
		identity_refused(p->name, from, "its boot key is another "
		    "peer's");
		pk_cause_set(cause, "that boot key is another peer's");
		return -1;
	}
	saved = *p;
	snprintf(p->boot_keyid, sizeof(p->boot_keyid), "%s", id->boot_keyid);
	snprintf(p->addresses, sizeof(p->addresses), "%s", id->addresses);
	p->ident_seq = id->seq;
	snprintf(detail, sizeof(detail), "sequence %llu from %s: boot key "
	    "%.16s..., addresses %.120s", (unsigned long long)id->seq, from,
	    id->boot_keyid, id->addresses);
	if (store_peer_identity(node->store, p, id->boot_pgp, raw, rawlen,
	    wall_ms(), detail) != 0) {
		log_warnx("identity: peer %s: %s", p->name,
		    store_errmsg(node->store));
		*p = saved;
		pk_cause_set(cause, "cannot store the identity");
		return -1;
	}
	if (strcmp(p->addresses, saved.addresses) != 0 && !p->pending) {
		checker_remove(p);
		checker_add(p);
	}
	log_info("peer %s: identity %s", p->name, detail);
	return IDENTITY_UPDATED;
}

/*
 * A new peer made from the verified identity id (peer_new(): the
 * daemon's rules and policy), named NAME-KEYID8 when NAME is taken;
 * p->ident_seq set. Returns it (not stored yet), or NULL with *cause.
 */
struct peer *
identity_new_peer(const struct pk_ident *id, char **cause)
{
	struct peer_spec	 spec;
	struct peer		*p;
	char			 name[PEER_NAME_MAX + 1];

	memset(&spec, 0, sizeof(spec));
	spec.name = id->name;
	if (peer_by_name(id->name) != NULL) {
		snprintf(name, sizeof(name), "%.55s-%.8s", id->name,
		    id->node_keyid);
		spec.name = name;
	}
	spec.node_keyid = id->node_keyid;
	spec.boot_keyid = id->boot_keyid;
	spec.addresses = id->addresses;
	if ((p = peer_new(&spec, cause)) == NULL)
		return NULL;
	p->ident_seq = id->seq;
	return p;
}

/*
 * Control request "add" with a member "identity": the peer that
 * document's node key signed ("peerkey join" hands over the inviter's
 * members this way), or a newer identity of a known one. An unchanged
 * one is refused as existing.
 */
json_t *
identity_control_add(const struct control_cmd *self, json_t *req,
    const char *who, char **cause)
{
	struct pk_ident	 id;
	struct peer	*p;
	uint8_t		*raw = NULL;
	size_t		 rawlen = 0;
	json_t		*out = NULL;
	int		 r;

	if (identity_read(req, &id, &raw, &rawlen, cause) != 0)
		return NULL;
	if ((r = identity_apply(&id, raw, rawlen, who, 1, cause)) < 0)
		goto out;
	if (r == IDENTITY_SAME) {
		pk_cause_set(cause, "a peer with that key exists, with that "
		    "identity");
		goto out;
	}
	if (r == IDENTITY_UPDATED) {
		out = json_pack("{s:b}", "updated", 1);
		goto out;
	}
	if ((p = identity_new_peer(&id, cause)) == NULL)
		goto out;
	if (peer_add_signed(p, id.boot_pgp, raw, rawlen, who, cause) != 0)
		goto out;
	checker_add(p);
	out = json_pack("{s:s}", "name", p->name);
out:
	pk_ident_clear(&id);
	free(raw);
	return out;
}
