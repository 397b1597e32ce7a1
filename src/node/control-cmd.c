/*
 * control-cmd.c: the requests of the control socket, as one table of
 * {name, handler, who may call it} (wireguard-tools' subcommands[],
 * tmux's cmd_entry); control.c reads a line, finds its entry here and
 * answers. doc/peerkeyd.8, "CONTROL SOCKET", describes each request.
 *
 * A handler returns the members of its answer (a new JSON object, empty
 * for a bare yes), which control_run() completes with "ok": true; or NULL
 * with *cause set, which becomes {"ok": false, "error": cause}. To add a
 * request: a handler here (or in the file that owns what it changes, as
 * join.c's), a line in control_cmds[], a paragraph in peerkeyd.8.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "io.h"
#include "key.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

/* What an operator decides on a peer (control_decide()'s arg). */
enum control_decision {
	DECIDE_ENABLE,
	DECIDE_DISABLE,
	DECIDE_APPROVE,
	DECIDE_DENY,
	DECIDE_CHECK,
	DECIDE_ACCEPT,
};

/* Decodes base64 into a malloc'ed buffer. */
static int
control_base64_decode(const char *b64, uint8_t **out, size_t *len)
{
	gnutls_datum_t	 in, res = { NULL, 0 };

	in.data = (unsigned char *)(uintptr_t)b64;
	in.size = strlen(b64);
	if (gnutls_base64_decode2(&in, &res) != 0)
		return -1;
	*out = res.data;	/* gnutls_free is free here */
	*len = res.size;
	return 0;
}

/* Canonical labels (labels.h) as an object of strings. */
static json_t *
control_labels_json(const char *labels)
{
	json_t		*o = json_object();
	const char	*s = labels;
	char		 key[PK_LABEL_KEY_MAX + 1];
	size_t		 n, kn;

	while (o != NULL && *s != '\0') {
		n = strcspn(s, " ");
		kn = strcspn(s, "=");
		if (kn < n && kn < sizeof(key)) {
			memcpy(key, s, kn);
			key[kn] = '\0';
			json_object_set_new(o, key, json_stringn(s + kn + 1,
			    n - kn - 1));
		}
		s += n;
		s += strspn(s, " ");
	}
	return o;
}

/* Describes a peer for status. */
static json_t *
control_peer_json(struct peer *p, uint64_t now)
{
	const struct peer *by = peer_by_node_keyid(p->introduced_by);
	const char	*state = peer_state_name(p, now);
	int		 enabled = peer_enabled(p, now);

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:I, s:I, "
	    "s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:I, "
	    "s:s, s:s, s:o}",
	    "name", p->name,
	    "node_keyid", p->node_keyid,
	    "boot_keyid", p->boot_keyid,
	    "addresses", p->addresses,
	    "checker", p->checker,
	    "state", state,
	    "expires_in_ms", (json_int_t)(enabled ? p->expires - now : 0),
	    "extension", enabled && peer_extended(p, now),
	    "proof_expires_in_ms", (json_int_t)(p->proof_until > now ?
	    p->proof_until - now : 0),
	    "last_seen", (json_int_t)p->last_seen,
	    "last_check", (json_int_t)p->last_check,
	    "timeout_ms", (json_int_t)p->timeout,
	    "interval_ms", (json_int_t)p->interval,
	    "last_check_ok", p->last_check_ok,
	    "extended_timeout_ms", (json_int_t)p->extended_timeout,
	    "approval_delay_ms", (json_int_t)p->approval_delay,
	    "approval_duration_ms", (json_int_t)p->approval_duration,
	    "blobs", (json_int_t)p->nblobs,
	    "approved_by_default", p->approved_by_default,
	    "require_notice", p->require_notice,
	    "pending_approval", p->pending_since != 0,
	    "notice_valid_ms", (json_int_t)(p->notice_until > now ?
	    p->notice_until - now : 0),
	    "disabled_by", p->disabled_by == PEER_DIS_OPERATOR ? "operator" :
	    p->disabled_by == PEER_DIS_TIMEOUT ? "timeout" : "",
	    "introduced_by", by != NULL ? by->name : p->introduced_by,
	    "labels", control_labels_json(p->labels));
}

/* "status": this node and every peer. */
static json_t *
control_status(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	json_t		*peers;
	struct peer	*p;
	uint64_t	 now = pk_now_ms();

	if ((peers = json_array()) == NULL)
		return NULL;
	TAILQ_FOREACH(p, &node->peers, entry)
		json_array_append_new(peers, control_peer_json(p, now));
	return json_pack("{s:{s:s, s:s, s:i, s:i, s:s, s:I, s:I}, s:o}",
	    "self",
	    "name", node->conf.name,
	    "node_keyid", node->id->keyid,
	    "port", listener_port(),
	    "verbose", log_getverbose(),
	    "version", PACKAGE_VERSION,
	    "reshare_after_ms", (json_int_t)node->conf.reshare_after,
	    "started", (json_int_t)node->started,
	    "peers", peers);
}

/* Finds the peer named by req's "peer"; NULL with *cause if none. */
static struct peer *
control_peer(json_t *req, char **cause)
{
	const char	*name;
	struct peer	*p;

	name = json_string_value(json_object_get(req, "peer"));
	if (name == NULL) {
		pk_cause_set(cause, "\"peer\" is missing");
		return NULL;
	}
	if ((p = peer_by_name(name)) == NULL)
		pk_cause_set(cause, "no peer named \"%s\"", name);
	return p;
}

/*
 * Reads an optional duration member (milliseconds as a number, or a
 * duration string like "5m"). Returns 0 (absent is fine), -1 on error.
 */
static int
control_duration(json_t *req, const char *key, uint64_t *out, char **cause)
{
	json_t		*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) &&
	    pk_parse_duration_ms(json_string_value(v), out) == 0)
		return 0;
	pk_cause_set(cause, "\"%s\" is not a duration (e.g. 30s, 5m, 1h)", key);
	return -1;
}

/* Reads an optional boolean member. */
static int
control_bool(json_t *req, const char *key, int *out, char **cause)
{
	json_t	*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		pk_cause_set(cause, "\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Reads an optional string member into a fixed buffer. */
static int
control_string(json_t *req, const char *key, char *out, size_t len,
    char **cause)
{
	json_t	*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= len) {
		pk_cause_set(cause, "\"%s\" must be a string of at most %zu bytes",
		    key, len - 1);
		return -1;
	}
	snprintf(out, len, "%s", json_string_value(v));
	return 0;
}

/* Applies policy members of req to p (add and set). */
static int
control_policy(json_t *req, struct peer *p, char **cause)
{
	if (control_duration(req, "timeout", &p->timeout, cause) ||
	    control_duration(req, "interval", &p->interval, cause) ||
	    control_duration(req, "extended_timeout", &p->extended_timeout,
	    cause) ||
	    control_duration(req, "approval_delay", &p->approval_delay,
	    cause) ||
	    control_duration(req, "approval_duration", &p->approval_duration,
	    cause) ||
	    control_bool(req, "approved_by_default", &p->approved_by_default,
	    cause) ||
	    control_bool(req, "require_notice", &p->require_notice, cause) ||
	    control_string(req, "addresses", p->addresses,
	    sizeof(p->addresses), cause) ||
	    control_string(req, "checker", p->checker, sizeof(p->checker),
	    cause))
		return -1;
	if (p->timeout == 0 || p->interval == 0) {
		pk_cause_set(cause, "timeout and interval must be above 0");
		return -1;
	}
	/* What the log and the wire will carry: the wire's rules. */
	if (peer_addresses_check(p->addresses, cause) != 0)
		return -1;
	if (!pk_msg_text_valid(p->checker)) {
		pk_cause_set(cause, "\"checker\" must not contain control "
		    "characters");
		return -1;
	}
	return 0;
}

/* "add": a new peer; peer.c makes it, with the policy members of req. */
static json_t *
control_add(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer_spec	 spec;
	struct peer		*p;

	/* A signed identity (peerkey join): identity.c. */
	if (json_object_get(req, "identity") != NULL)
		return identity_control_add(self, req, who, cause);
	memset(&spec, 0, sizeof(spec));
	spec.name = json_string_value(json_object_get(req, "name"));
	spec.boot_keyid = json_string_value(json_object_get(req,
	    "boot_keyid"));
	spec.node_keyid = json_string_value(json_object_get(req,
	    "node_keyid"));
	if ((p = peer_new(&spec, cause)) == NULL)
		return NULL;
	if (control_policy(req, p, cause) != 0) {
		free(p);
		return NULL;
	}
	if (peer_add(p, NULL, who, cause) != 0)
		return NULL;
	checker_add(p);
	return json_object();
}

/* "set": a peer's policy. */
static json_t *
control_set(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer	*p, saved;
	uint64_t	 now = pk_now_ms();

	if ((p = control_peer(req, cause)) == NULL)
		return NULL;
	saved = *p;
	if (control_policy(req, p, cause) != 0) {
		*p = saved;
		return NULL;
	}
	peer_remaining_set(p, now);
	if (store_peer_save(node->store, p, 0, wall_ms(), "policy", NULL,
	    who) != 0) {
		*p = saved;
		pk_cause_set(cause, "cannot store: %s",
		    store_errmsg(node->store));
		return NULL;
	}
	if (p->interval != saved.interval || strcmp(p->addresses,
	    saved.addresses) != 0 || strcmp(p->checker, saved.checker) != 0) {
		checker_remove(p);
		checker_add(p);
	}
	log_info("peer %s: policy changed by %s", p->name, who);
	return json_object();
}

/*
 * The ids of n blobs, as a JSON array (NULL: out of memory); frees the
 * blobs.
 */
static json_t *
control_blob_ids(struct store_blob *b, size_t n)
{
	json_t	*ids;
	size_t	 i;

	if ((ids = json_array()) != NULL)
		for (i = 0; i < n; i++)
			if (json_array_append_new(ids,
			    json_string(b[i].id)) != 0) {
				json_decref(ids);
				ids = NULL;
				break;
			}
	store_blobs_free(b, n);
	return ids;
}

/* "blobs": the ids of one peer's blobs (what remove would delete). */
static json_t *
control_blobs(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer		*p;
	struct store_blob	*b = NULL;
	size_t			 n = 0;
	json_t			*ids;

	if ((p = control_peer(req, cause)) == NULL)
		return NULL;
	if (store_blobs_get(node->store, p->id, &b, &n) != 0) {
		pk_cause_set(cause, "cannot read the blobs: %s",
		    store_errmsg(node->store));
		return NULL;
	}
	if ((ids = control_blob_ids(b, n)) == NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "peer", p->name, "blobs", ids);
}

/* "remove": a peer and its blobs; answers with the ids it deleted. */
static json_t *
control_remove(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer		*p;
	struct store_blob	*b = NULL;
	size_t			 n = 0;
	json_t			*ids;

	if ((p = control_peer(req, cause)) == NULL ||
	    peer_remove(p, who, &b, &n, cause) != 0)
		return NULL;
	checker_remove(p);
	free(p);
	/* Removed either way: out of memory only loses the list. */
	if ((ids = control_blob_ids(b, n)) == NULL)
		return NULL;
	return json_pack("{s:o}", "removed_blobs", ids);
}

/* "blob-put": a blob for a peer (one without a node key, say). */
static json_t *
control_blob_put(const struct control_cmd *self, json_t *req,
    const char *who, char **cause)
{
	struct peer	*p;
	const char	*id, *b64;
	uint8_t		*data = NULL;
	size_t		 len = 0;
	char		 detail[PK_BLOB_ID_MAX + 64];
	int		 r;

	if ((p = control_peer(req, cause)) == NULL)
		return NULL;
	id = json_string_value(json_object_get(req, "blob_id"));
	b64 = json_string_value(json_object_get(req, "data"));
	if (id == NULL || !pk_msg_id_valid(id)) {
		pk_cause_set(cause, "\"blob_id\" must be 1-%d printable ASCII "
		    "characters other than space", PK_BLOB_ID_MAX);
		return NULL;
	}
	if (b64 == NULL || control_base64_decode(b64, &data, &len) != 0 ||
	    len == 0 || len > PK_BLOB_MAX) {
		gnutls_free(data);
		pk_cause_set(cause, "\"data\" must be base64 of 1-%d bytes",
		    PK_BLOB_MAX);
		return NULL;
	}
	snprintf(detail, sizeof(detail), "blob %s (%zu bytes) by %s", id, len,
	    who);
	r = store_blob_deposit(node->store, p, id, data, len, 0, wall_ms(),
	    NULL, detail);
	gnutls_free(data);
	if (r != 0) {
		pk_cause_set(cause, "cannot store the blob: %s",
		    store_errmsg(node->store));
		return NULL;
	}
	log_info("deposit: peer %s: %s", p->name, detail);
	peer_deposited(p, pk_now_ms(), NULL);
	return json_object();
}

/*
 * "label": changes a peer's labels ("labels": "zone=a rack=": sets zone,
 * removes rack; labels.h), recorded with its event; answers with the
 * labels it has now.
 */
static json_t *
control_label(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer	*p;
	const char	*change;
	char		 labels[PK_LABELS_MAX + 1];
	char		 detail[PK_LABELS_MAX + 64];

	if ((p = control_peer(req, cause)) == NULL)
		return NULL;
	if ((change = json_string_value(json_object_get(req, "labels"))) ==
	    NULL || strlen(change) > 4 * PK_LABELS_MAX) {
		pk_cause_set(cause, "\"labels\" must be a string of KEY=VALUE "
		    "words");
		return NULL;
	}
	if (pk_labels_edit(p->labels, change, labels, sizeof(labels),
	    cause) != 0)
		return NULL;
	if (strcmp(labels, p->labels) != 0) {
		snprintf(detail, sizeof(detail), "%s by %s", labels[0] ?
		    labels : "none", who);
		if (store_peer_labels(node->store, p, labels, wall_ms(),
		    detail) != 0) {
			pk_cause_set(cause, "cannot store: %s",
			    store_errmsg(node->store));
			return NULL;
		}
		memcpy(p->labels, labels, sizeof(p->labels));
		log_info("peer %s: labels %s", p->name, detail);
	}
	return json_pack("{s:s, s:o}", "peer", p->name, "labels",
	    control_labels_json(p->labels));
}

/* Event rows to JSON, appended to the array arg (node.h). */
int
control_event_cb(const struct store_event_row *e, void *arg)
{
	json_array_append_new((json_t *)arg, json_pack("{s:I, s:I, s:s, "
	    "s:s, s:s, s:s}", "id", (json_int_t)e->id, "at",
	    (json_int_t)e->at, "peer", e->peer, "kind", e->kind, "address",
	    e->address, "detail", e->detail));
	return 0;
}

/* "events": the audit log, filtered. */
static json_t *
control_events(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct store_event_filter	 f;
	json_t				*a, *v;

	memset(&f, 0, sizeof(f));
	f.peer = json_string_value(json_object_get(req, "peer"));
	f.kind = json_string_value(json_object_get(req, "kind"));
	if ((v = json_object_get(req, "since")) != NULL)
		f.since = json_integer_value(v);
	if ((v = json_object_get(req, "until")) != NULL)
		f.until = json_integer_value(v);
	if ((v = json_object_get(req, "limit")) != NULL)
		f.limit = (int)json_integer_value(v);
	if (f.kind != NULL && !pk_list_has(STORE_EVENT_KINDS, f.kind)) {
		pk_cause_set(cause, "no event kind \"%s\"; the kinds: %s",
		    f.kind, STORE_EVENT_KINDS);
		return NULL;
	}
	if ((a = json_array()) == NULL)
		return NULL;
	if (store_events_query(node->store, &f, control_event_cb, a) != 0) {
		json_decref(a);
		pk_cause_set(cause, "cannot read events: %s",
		    store_errmsg(node->store));
		return NULL;
	}
	return json_pack("{s:o}", "events", a);
}

/* "verbose": the log level. */
static json_t *
control_verbose(const struct control_cmd *self, json_t *req,
    const char *who, char **cause)
{
	json_int_t	 level;

	level = json_integer_value(json_object_get(req, "level"));
	if (level < 0 || level > 2) {
		pk_cause_set(cause, "\"level\" is 0, 1 or 2");
		return NULL;
	}
	log_setverbose((int)level);
	log_info("verbosity set to %d by %s", (int)level, who);
	return json_object();
}

/*
 * "enable", "disable", "approve", "deny", "check", "accept": self->arg
 * says which.
 */
static json_t *
control_decide(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct peer	*p;
	uint64_t	 now = pk_now_ms();
	int		 r = 0;

	if ((p = control_peer(req, cause)) == NULL)
		return NULL;
	switch (self->arg) {
	case DECIDE_ENABLE:
		r = peer_operator_enable(p, now, who);
		break;
	case DECIDE_DISABLE:
		r = peer_operator_disable(p, now, who);
		break;
	case DECIDE_APPROVE:
	case DECIDE_DENY:
		r = peer_operator_decide(p, now, self->arg == DECIDE_APPROVE,
		    who);
		break;
	case DECIDE_CHECK:
		checker_now(p);
		break;
	case DECIDE_ACCEPT:
		if (!p->pending) {
			pk_cause_set(cause, "peer %s is not pending", p->name);
			return NULL;
		}
		r = peer_accept(p, now, who);
		checker_add(p);
		break;
	}
	if (r != 0) {
		/* Never acknowledge what a restart would undo. */
		pk_cause_set(cause, "%s: in effect until peerkeyd stops, but NOT "
		    "saved: %s", self->name, store_errmsg(node->store));
		return NULL;
	}
	return json_object();
}

/* "subscribe": control.c then feeds the connection (its top). */
static json_t *
control_subscribed(const struct control_cmd *self, json_t *req,
    const char *who, char **cause)
{
	return json_pack("{s:b}", "subscribed", 1);
}

/*
 * Every request. who: CONTROL_GROUP, root or a member of control-group
 * (peerkey.conf(5)); 0, root only.
 */
static const struct control_cmd control_cmds[] = {
	{ "status", control_status, CONTROL_GROUP, 0 },
	{ "events", control_events, CONTROL_GROUP, 0 },
	{ "add", control_add, CONTROL_GROUP, 0 },
	{ "set", control_set, CONTROL_GROUP, 0 },
	{ "remove", control_remove, CONTROL_GROUP, 0 },
	{ "blobs", control_blobs, CONTROL_GROUP, 0 },
	{ "blob-put", control_blob_put, CONTROL_GROUP, 0 },
	{ "label", control_label, CONTROL_GROUP, 0 },
	{ "enable", control_decide, CONTROL_GROUP, DECIDE_ENABLE },
	{ "disable", control_decide, CONTROL_GROUP, DECIDE_DISABLE },
	{ "approve", control_decide, CONTROL_GROUP, DECIDE_APPROVE },
	{ "deny", control_decide, CONTROL_GROUP, DECIDE_DENY },
	{ "check", control_decide, CONTROL_GROUP, DECIDE_CHECK },
	{ "accept", control_decide, CONTROL_GROUP, DECIDE_ACCEPT },
	{ "invite-add", join_invite_add, CONTROL_GROUP, 0 },	/* join.c */
	{ "peer-pgp", join_peer_pgp, CONTROL_GROUP, 0 },	/* join.c */
	{ "verbose", control_verbose, CONTROL_GROUP, 0 },
	{ "metrics", metrics_control, CONTROL_GROUP, 0 },	/* metrics.c */
	{ "subscribe", control_subscribed, CONTROL_GROUP, 0 },
};

/* Runs one request of uid; see node.h. */
json_t *
control_run(json_t *req, uid_t uid, char **cause)
{
	const struct control_cmd	*cmd = NULL;
	const char			*name;
	json_t				*body, *resp;
	char				 who[64];
	size_t				 i;

	name = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req) || name == NULL) {
		pk_cause_set(cause, "a request is an object with \"cmd\"");
		return NULL;
	}
	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strcmp(control_cmds[i].name, name) == 0)
			cmd = &control_cmds[i];
	if (cmd == NULL) {
		pk_cause_set(cause, "unknown command \"%s\"", name);
		return NULL;
	}
	if (!(cmd->who & CONTROL_GROUP) && uid != 0) {
		pk_cause_set(cause, "%s: root only", name);
		return NULL;
	}
	snprintf(who, sizeof(who), "operator (uid %u)", (unsigned)uid);
	log_debug("control: uid %u: %s", (unsigned)uid, name);
	if ((body = cmd->fn(cmd, req, who, cause)) == NULL)
		return NULL;
	/* "ok" first, then the handler's members in their order. */
	if ((resp = json_pack("{s:b}", "ok", 1)) != NULL &&
	    json_object_update(resp, body) != 0) {
		json_decref(resp);
		resp = NULL;
	}
	json_decref(body);
	return resp;
}
