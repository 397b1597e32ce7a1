/*
 * peer-new.c: how a peer is made, stored and removed.
 *
 * peer_new() is the one place where a peer is made, for control "add", a
 * JOIN and an INTRODUCE alike: the name rules (1-PEER_NAME_MAX of
 * PEER_NAME_CHARS), the key checks (a boot key id is required, a node key
 * id optional; each 64 hex digits, normalised to lower case), no second
 * peer with the same name, boot key or node key, never this node's own
 * node key, and the daemon's default policy. peer_add() stores it,
 * enabled with a full timeout, together with its "added" event;
 * peer_remove() takes it and its blobs out in one store call. The rules
 * of its liveness and release are in peer.c.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

/* The characters of a peer name. */
#define PEER_NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789.-_"

/* Checks a key id member of a spec: required, or "" / NULL for none. */
static int
peer_keyid_check(const char *member, const char *v, int required,
    char **cause)
{
	if (v == NULL || *v == '\0') {
		if (!required)
			return 0;
		pk_cause_set(cause, "\"%s\" is missing", member);
		return -1;
	}
	if (!pk_keyid_valid(v)) {
		pk_cause_set(cause, "\"%s\" is not a key id (64 hex digits)",
		    member);
		return -1;
	}
	return 0;
}

/* Checks what a new peer is made of, on its own; see node.h. */
int
peer_spec_check(const struct peer_spec *spec, char **cause)
{
	const char	*name = spec->name;

	if (name == NULL || *name == '\0' || strlen(name) > PEER_NAME_MAX ||
	    strspn(name, PEER_NAME_CHARS) != strlen(name)) {
		pk_cause_set(cause, "\"name\" must be 1-%d letters, digits, "
		    "'.', '-' or '_'", PEER_NAME_MAX);
		return -1;
	}
	if (peer_keyid_check("boot_keyid", spec->boot_keyid, 1, cause) != 0 ||
	    peer_keyid_check("node_keyid", spec->node_keyid, 0, cause) != 0)
		return -1;
	if (spec->addresses != NULL &&
	    strlen(spec->addresses) > PEER_ADDRS_MAX) {
		pk_cause_set(cause, "\"addresses\" must be a string of at most "
		    "%d bytes", PEER_ADDRS_MAX);
		return -1;
	}
	return peer_addresses_check(spec->addresses, cause);
}

/* Checks an address list of a peer; see node.h. */
int
peer_addresses_check(const char *addresses, char **cause)
{
	if (addresses != NULL && pk_parse_address_list(addresses) != 0) {
		pk_cause_set(cause, "\"addresses\" must be host:port or "
		    "[v6]:port addresses separated by spaces");
		return -1;
	}
	return 0;
}

/*
 * Makes a new peer; see node.h. The one place where a peer is made:
 * control "add", a JOIN and an INTRODUCE all come here.
 */
struct peer *
peer_new(const struct peer_spec *spec, char **cause)
{
	struct peer	*p;

	if (peer_spec_check(spec, cause) != 0)
		return NULL;
	if (peer_by_name(spec->name) != NULL) {
		pk_cause_set(cause, "a peer named \"%s\" exists", spec->name);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		pk_cause_set(cause, "out of memory");
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), "%s", spec->name);
	snprintf(p->boot_keyid, sizeof(p->boot_keyid), "%s", spec->boot_keyid);
	if (spec->node_keyid != NULL)
		snprintf(p->node_keyid, sizeof(p->node_keyid), "%s",
		    spec->node_keyid);
	if (spec->addresses != NULL)
		snprintf(p->addresses, sizeof(p->addresses), "%s",
		    spec->addresses);
	pk_keyid_normalize(p->boot_keyid);
	pk_keyid_normalize(p->node_keyid);
	if (peer_by_boot_keyid(p->boot_keyid) != NULL ||
	    peer_by_node_keyid(p->node_keyid) != NULL) {
		pk_cause_set(cause, "a peer with that key exists");
		free(p);
		return NULL;
	}
	if (strcmp(p->node_keyid, node->id->keyid) == 0) {
		pk_cause_set(cause, "that is this node's own key");
		free(p);
		return NULL;
	}
	/* The daemon's default policy. */
	p->timeout = node->conf.timeout;
	p->interval = node->conf.interval;
	p->extended_timeout = node->conf.extended_timeout;
	p->approval_duration = 1000;
	p->approved_by_default = 1;
	return p;
}

/* Stores a new peer and lists it; see node.h. */
int
peer_add(struct peer *p, const char *boot_pgp, const char *how, char **cause)
{
	return peer_add_signed(p, boot_pgp, NULL, 0, how, cause);
}

/* The same with its signed identity (doc, len); see node.h. */
int
peer_add_signed(struct peer *p, const char *boot_pgp, const void *doc,
    size_t len, const char *how, char **cause)
{
	int	 r;

	/* A new peer starts enabled with a full timeout. */
	p->expires = p->proof_until = pk_now_ms() + p->timeout;
	p->remaining = p->proof_remaining = p->timeout;
	if ((r = store_peer_add_signed(node->store, p, boot_pgp, doc, len,
	    wall_ms(), how)) != 0) {
		pk_cause_set(cause, "cannot store the peer: %s",
		    r == PK_ERR_EXISTS ? "it exists" :
		    store_errmsg(node->store));
		free(p);
		return -1;
	}
	peer_insert(p);
	log_info("peer %s: added (%s): node key %.16s..., boot key %.16s...",
	    p->name, how, p->node_keyid[0] ? p->node_keyid : "none",
	    p->boot_keyid);
	return 0;
}

/* Removes p with its blobs, and takes it off the list; see node.h. */
int
peer_remove(struct peer *p, const char *who, struct store_blob **removed,
    size_t *nremoved, char **cause)
{
	if (store_peer_remove(node->store, p, wall_ms(), who, removed,
	    nremoved) != 0) {
		pk_cause_set(cause, "cannot remove: %s",
		    store_errmsg(node->store));
		return -1;
	}
	TAILQ_REMOVE(&node->peers, p, entry);
	node->npeers--;
	log_info("peer %s: removed by %s, with its blobs", p->name, who);
	return 0;
}
