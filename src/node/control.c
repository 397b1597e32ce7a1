/*
 * control.c: the operator's control socket.
 *
 * A UNIX stream socket in the runtime directory, created under umask 077
 * (mode 0600, or 0660 with a control group). Every connection's peer is
 * checked with SO_PEERCRED on accept — uid 0, or a member of the
 * configured group — so a socket file made world-writable by mistake still
 * lets no one else in (OpenSSH's agent-getpeereid test does the same).
 *
 * The protocol is JSON lines (doc/peerkeyd.8, "CONTROL PROTOCOL"): one
 * request object per line, {"cmd": "...", ...}; one response object per
 * line, {"ok": true, ...} or {"ok": false, "error": "..."}. Requests are
 * handled in order; a line over CONTROL_LINE_MAX closes the connection.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "conf.h"
#include "io.h"
#include "key.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

#define CONTROL_LINE_MAX	(256 * 1024)	/* a blob in base64 fits */
#define CONTROL_CONNS_MAX	32

struct control_conn {
	TAILQ_ENTRY(control_conn) entry;
	int			 fd;
	uid_t			 uid;
	ev_io			 io;
	char			*in;
	size_t			 inlen, insize;
	char			*out;
	size_t			 outlen, outoff;
	int			 dead;
};

static TAILQ_HEAD(, control_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static int		 nconns;
static int		 control_fd = -1;
static ev_io		 control_io;
static char		 control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static gid_t		 control_gid = (gid_t)-1;

static void	control_conn_cb(struct ev_loop *, ev_io *, int);

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

/* Is uid allowed: root, or in the control group (primary or not)? */
static int
control_allowed(uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 ngroups = 256, i;

	if (uid == 0)
		return 1;
	if (control_gid == (gid_t)-1)
		return 0;
	if (gid == control_gid)
		return 1;
	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) == -1)
		return 0;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == control_gid)
			return 1;
	return 0;
}

/* Closes a control connection. */
static void
control_conn_close(struct control_conn *c)
{
	ev_io_stop(node->loop, &c->io);
	close(c->fd);
	free(c->in);
	free(c->out);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	free(c);
}

/* Appends one response line to c's output. */
static void
control_reply(struct control_conn *c, json_t *resp)
{
	char	*s, *nb;
	size_t	 len;

	s = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (s == NULL) {
		c->dead = 1;
		return;
	}
	len = strlen(s);
	if ((nb = realloc(c->out, c->outlen + len + 1)) == NULL) {
		free(s);
		c->dead = 1;
		return;
	}
	c->out = nb;
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(s);
}

static json_t *
control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A failure response. */
static json_t *
control_error(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

static json_t *
control_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* Describes a peer for status. */
static json_t *
control_peer_json(struct peer *p, uint64_t now)
{
	const char	*state;
	int		 enabled = peer_enabled(p, now);

	if (enabled)
		state = "enabled";
	else if (p->disabled_by == PEER_DIS_OPERATOR)
		state = "disabled-by-operator";
	else
		state = "disabled";
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
	    "s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:I, s:s}",
	    "name", p->name,
	    "node_keyid", p->node_keyid,
	    "boot_keyid", p->boot_keyid,
	    "addresses", p->addresses,
	    "checker", p->checker,
	    "state", state,
	    "expires_in_ms", (json_int_t)(enabled ? p->expires - now : 0),
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
	    p->disabled_by == PEER_DIS_TIMEOUT ? "timeout" : "");
}

static json_t *
control_status(json_t *req)
{
	json_t		*peers, *self;
	struct peer	*p;
	uint64_t	 now = pk_now_ms();

	if ((peers = json_array()) == NULL)
		return control_error("out of memory");
	TAILQ_FOREACH(p, &node->peers, entry)
		json_array_append_new(peers, control_peer_json(p, now));
	self = json_pack("{s:s, s:s, s:i, s:i, s:s}",
	    "name", node->conf.name,
	    "node_keyid", node->id->keyid,
	    "port", listener_port(),
	    "verbose", log_getverbose(),
	    "version", PACKAGE_VERSION);
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "self", self,
	    "peers", peers);
}

/* Finds the peer named by req's "peer". */
static struct peer *
control_peer(json_t *req, json_t **err)
{
	const char	*name;
	struct peer	*p;

	name = json_string_value(json_object_get(req, "peer"));
	if (name == NULL) {
		*err = control_error("\"peer\" is missing");
		return NULL;
	}
	if ((p = peer_by_name(name)) == NULL)
		*err = control_error("no peer named \"%s\"", name);
	return p;
}

/*
 * Reads an optional duration member (milliseconds as a number, or a
 * duration string like "5m"). Returns 0 (absent is fine), -1 on error.
 */
static int
control_duration(json_t *req, const char *key, uint64_t *out, json_t **err)
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
	*err = control_error("\"%s\" is not a duration (e.g. 30s, 5m, 1h)",
	    key);
	return -1;
}

/* Reads an optional boolean member. */
static int
control_bool(json_t *req, const char *key, int *out, json_t **err)
{
	json_t	*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		*err = control_error("\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Reads an optional string member into a fixed buffer. */
static int
control_string(json_t *req, const char *key, char *out, size_t len,
    json_t **err)
{
	json_t	*v = json_object_get(req, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= len) {
		*err = control_error("\"%s\" must be a string of at most "
		    "%zu bytes", key, len - 1);
		return -1;
	}
	snprintf(out, len, "%s", json_string_value(v));
	return 0;
}

/* Applies policy members of req to p (add and set). */
static int
control_policy(json_t *req, struct peer *p, json_t **err)
{
	if (control_duration(req, "timeout", &p->timeout, err) ||
	    control_duration(req, "interval", &p->interval, err) ||
	    control_duration(req, "extended_timeout", &p->extended_timeout,
	    err) ||
	    control_duration(req, "approval_delay", &p->approval_delay, err) ||
	    control_duration(req, "approval_duration", &p->approval_duration,
	    err) ||
	    control_bool(req, "approved_by_default", &p->approved_by_default,
	    err) ||
	    control_bool(req, "require_notice", &p->require_notice, err) ||
	    control_string(req, "addresses", p->addresses,
	    sizeof(p->addresses), err) ||
	    control_string(req, "checker", p->checker, sizeof(p->checker),
	    err))
		return -1;
	if (p->timeout == 0 || p->interval == 0) {
		*err = control_error("timeout and interval must be above 0");
		return -1;
	}
	return 0;
}

/* Reads a key id member; "" allowed when optional. */
static int
control_keyid(json_t *req, const char *key, char *out, int optional,
    json_t **err)
{
	const char	*s = json_string_value(json_object_get(req, key));

	if (s == NULL || *s == '\0') {
		if (optional) {
			*out = '\0';
			return 0;
		}
		*err = control_error("\"%s\" is missing", key);
		return -1;
	}
	if (!pk_keyid_valid(s)) {
		*err = control_error("\"%s\" is not a key id (64 hex digits)",
		    key);
		return -1;
	}
	snprintf(out, PK_KEYID_HEXLEN + 1, "%s", s);
	pk_keyid_normalize(out);
	return 0;
}

static json_t *
control_add(json_t *req, const char *who)
{
	struct peer	*p;
	json_t		*err = NULL;
	const char	*name;
	uint64_t	 now = pk_now_ms();
	int		 r;

	name = json_string_value(json_object_get(req, "name"));
	if (name == NULL || *name == '\0' || strlen(name) > PEER_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_") != strlen(name))
		return control_error("\"name\" must be 1-%d letters, digits, "
		    "'.', '-' or '_'", PEER_NAME_MAX);
	if (peer_by_name(name) != NULL)
		return control_error("a peer named \"%s\" exists", name);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return control_error("out of memory");
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->timeout = node->conf.timeout;
	p->interval = node->conf.interval;
	p->extended_timeout = node->conf.extended_timeout;
	p->approval_duration = 1000;
	p->approved_by_default = 1;
	if (control_keyid(req, "boot_keyid", p->boot_keyid, 0, &err) ||
	    control_keyid(req, "node_keyid", p->node_keyid, 1, &err) ||
	    control_policy(req, p, &err))
		goto fail;
	if (peer_by_boot_keyid(p->boot_keyid) != NULL ||
	    (p->node_keyid[0] && peer_by_node_keyid(p->node_keyid) != NULL)) {
		err = control_error("a peer with that key exists");
		goto fail;
	}
	if (strcmp(p->node_keyid, node->id->keyid) == 0) {
		err = control_error("that is this node's own key");
		goto fail;
	}
	/* A new peer starts enabled with a full timeout. */
	p->expires = now + p->timeout;
	p->remaining = p->timeout;
	if ((r = store_begin(node->store)) != 0 ||
	    (r = store_peer_insert(node->store, p, wall_ms())) != 0 ||
	    (r = store_event(node->store, wall_ms(), p->name, "added", "",
	    who)) != 0 ||
	    (r = store_commit(node->store)) != 0) {
		store_rollback(node->store);
		err = control_error("cannot store the peer: %s",
		    r == PK_ERR_EXISTS ? "it exists" :
		    store_errmsg(node->store));
		goto fail;
	}
	peer_insert(p);
	checker_add(p);
	log_info("peer %s: added by %s (node key %.16s..., boot key %.16s...)",
	    p->name, who, p->node_keyid[0] ? p->node_keyid : "none",
	    p->boot_keyid);
	return control_ok();
fail:
	free(p);
	return err;
}

static json_t *
control_set(json_t *req, const char *who)
{
	struct peer	*p, saved;
	json_t		*err = NULL;
	int		 r;

	if ((p = control_peer(req, &err)) == NULL)
		return err;
	saved = *p;
	if (control_policy(req, p, &err) != 0) {
		*p = saved;
		return err;
	}
	p->remaining = p->expires > pk_now_ms() ? p->expires - pk_now_ms() : 0;
	if ((r = store_begin(node->store)) != 0 ||
	    (r = store_peer_update(node->store, p)) != 0 ||
	    (r = store_event(node->store, wall_ms(), p->name, "policy", "",
	    who)) != 0 ||
	    (r = store_commit(node->store)) != 0) {
		store_rollback(node->store);
		*p = saved;
		return control_error("cannot store: %s",
		    store_errmsg(node->store));
	}
	if (p->interval != saved.interval || strcmp(p->addresses,
	    saved.addresses) != 0 || strcmp(p->checker, saved.checker) != 0) {
		checker_remove(p);
		checker_add(p);
	}
	log_info("peer %s: policy changed by %s", p->name, who);
	return control_ok();
}

/*
 * The ids of p's blobs, as a JSON array, and as one "id id ..." string in
 * buf (cut short if it does not fit). NULL on a store failure.
 */
static json_t *
control_blob_ids(struct peer *p, char *buf, size_t len)
{
	struct store_blob	*b = NULL;
	json_t			*ids;
	size_t			 n = 0, i, off = 0;

	if (store_blobs_get(node->store, p->id, &b, &n) != 0 ||
	    (ids = json_array()) == NULL) {
		store_blobs_free(b, n);
		return NULL;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		json_array_append_new(ids, json_string(b[i].id));
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    i > 0 ? " " : "", b[i].id);
	}
	store_blobs_free(b, n);
	return ids;
}

/* "blobs": the ids of one peer's blobs (what remove would delete). */
static json_t *
control_blobs(json_t *req)
{
	struct peer	*p;
	json_t		*err = NULL, *ids;
	char		 list[1024];

	if ((p = control_peer(req, &err)) == NULL)
		return err;
	if ((ids = control_blob_ids(p, list, sizeof(list))) == NULL)
		return control_error("cannot read the blobs: %s",
		    store_errmsg(node->store));
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "peer", p->name,
	    "blobs", ids);
}

/* "remove": the peer and its blobs, in one transaction; answers with the
 * ids of the blobs deleted. */
static json_t *
control_remove(json_t *req, const char *who)
{
	struct peer	*p;
	json_t		*err = NULL, *ids;
	char		 list[1024], detail[1200];
	int		 r;

	if ((p = control_peer(req, &err)) == NULL)
		return err;
	if ((r = store_begin(node->store)) != 0 ||
	    (ids = control_blob_ids(p, list, sizeof(list))) == NULL) {
		store_rollback(node->store);
		return control_error("cannot remove: %s",
		    store_errmsg(node->store));
	}
	snprintf(detail, sizeof(detail), "by %s, with %zu blob%s%s%s", who,
	    json_array_size(ids), json_array_size(ids) == 1 ? "" : "s",
	    *list ? ": " : "", list);
	if ((r = store_peer_delete(node->store, p->id)) != 0 ||
	    (r = store_event(node->store, wall_ms(), p->name, "removed", "",
	    detail)) != 0 ||
	    (r = store_commit(node->store)) != 0) {
		store_rollback(node->store);
		json_decref(ids);
		return control_error("cannot remove: %s",
		    store_errmsg(node->store));
	}
	checker_remove(p);
	TAILQ_REMOVE(&node->peers, p, entry);
	node->npeers--;
	log_info("peer %s: removed %s", p->name, detail);
	free(p);
	return json_pack("{s:b, s:o}", "ok", 1, "removed_blobs", ids);
}

static json_t *
control_blob_put(json_t *req, const char *who)
{
	struct peer	*p;
	json_t		*err = NULL;
	const char	*id, *b64;
	uint8_t		*data = NULL;
	size_t		 len = 0;
	char		 detail[PK_BLOB_ID_MAX + 64];
	int		 r;

	if ((p = control_peer(req, &err)) == NULL)
		return err;
	id = json_string_value(json_object_get(req, "blob_id"));
	b64 = json_string_value(json_object_get(req, "data"));
	if (id == NULL || *id == '\0' || strlen(id) > PK_BLOB_ID_MAX)
		return control_error("\"blob_id\" must be 1-%d bytes",
		    PK_BLOB_ID_MAX);
	if (b64 == NULL || control_base64_decode(b64, &data, &len) != 0 ||
	    len == 0 || len > PK_BLOB_MAX) {
		gnutls_free(data);
		return control_error("\"data\" must be base64 of 1-%d bytes",
		    PK_BLOB_MAX);
	}
	snprintf(detail, sizeof(detail), "blob %s (%zu bytes) by %s", id, len,
	    who);
	if ((r = store_begin(node->store)) != 0 ||
	    (r = store_blob_put(node->store, p->id, id, data, len,
	    wall_ms())) != 0 ||
	    (r = store_event(node->store, wall_ms(), p->name, "deposited", "",
	    detail)) != 0 ||
	    (r = store_commit(node->store)) != 0) {
		store_rollback(node->store);
		gnutls_free(data);
		return control_error("cannot store the blob: %s",
		    store_errmsg(node->store));
	}
	gnutls_free(data);
	p->nblobs = store_blob_count(node->store, p->id);
	log_info("deposit: peer %s: %s", p->name, detail);
	return control_ok();
}

/* Event rows to JSON. */
static int
control_event_cb(const struct store_event_row *e, void *arg)
{
	json_array_append_new((json_t *)arg, json_pack("{s:I, s:I, s:s, "
	    "s:s, s:s, s:s}", "id", (json_int_t)e->id, "at",
	    (json_int_t)e->at, "peer", e->peer, "kind", e->kind, "address",
	    e->address, "detail", e->detail));
	return 0;
}

static json_t *
control_events(json_t *req)
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
	if ((a = json_array()) == NULL)
		return control_error("out of memory");
	if (store_events_query(node->store, &f, control_event_cb, a) != 0) {
		json_decref(a);
		return control_error("cannot read events: %s",
		    store_errmsg(node->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "events", a);
}

/* Handles one request line. */
static json_t *
control_dispatch(struct control_conn *c, const char *line)
{
	json_error_t	 jerr;
	json_t		*req, *resp, *err = NULL;
	const char	*cmd;
	struct peer	*p;
	char		 who[64];
	uint64_t	 now = pk_now_ms();
	json_int_t	 level;

	if ((req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return control_error("not JSON: %s", jerr.text);
	if (!json_is_object(req) ||
	    (cmd = json_string_value(json_object_get(req, "cmd"))) == NULL) {
		json_decref(req);
		return control_error("a request is an object with \"cmd\"");
	}
	snprintf(who, sizeof(who), "operator (uid %u)", (unsigned)c->uid);
	log_debug("control: uid %u: %s", (unsigned)c->uid, cmd);
	if (strcmp(cmd, "status") == 0)
		resp = control_status(req);
	else if (strcmp(cmd, "add") == 0)
		resp = control_add(req, who);
	else if (strcmp(cmd, "set") == 0)
		resp = control_set(req, who);
	else if (strcmp(cmd, "remove") == 0)
		resp = control_remove(req, who);
	else if (strcmp(cmd, "blobs") == 0)
		resp = control_blobs(req);
	else if (strcmp(cmd, "blob-put") == 0)
		resp = control_blob_put(req, who);
	else if (strcmp(cmd, "events") == 0)
		resp = control_events(req);
	else if (strcmp(cmd, "invite-add") == 0 ||
	    strcmp(cmd, "peer-pgp") == 0)
		resp = join_control(req, who);		/* join.c */
	else if (strcmp(cmd, "verbose") == 0) {
		level = json_integer_value(json_object_get(req, "level"));
		if (level < 0 || level > 2)
			resp = control_error("\"level\" is 0, 1 or 2");
		else {
			log_setverbose((int)level);
			log_info("verbosity set to %d by %s", (int)level, who);
			resp = control_ok();
		}
	} else if (strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0 ||
	    strcmp(cmd, "approve") == 0 || strcmp(cmd, "deny") == 0 ||
	    strcmp(cmd, "check") == 0) {
		if ((p = control_peer(req, &err)) == NULL)
			resp = err;
		else {
			int	r = 0;

			if (strcmp(cmd, "enable") == 0)
				r = peer_operator_enable(p, now, who);
			else if (strcmp(cmd, "disable") == 0)
				r = peer_operator_disable(p, now, who);
			else if (strcmp(cmd, "check") == 0)
				checker_now(p);
			else
				r = peer_operator_decide(p, now,
				    strcmp(cmd, "approve") == 0, who);
			/* Never acknowledge what a restart would undo. */
			resp = r == 0 ? control_ok() : control_error("%s: in "
			    "effect until peerkeyd stops, but NOT saved: %s",
			    cmd, store_errmsg(node->store));
		}
	} else
		resp = control_error("unknown command \"%s\"", cmd);
	json_decref(req);
	return resp ? resp : control_error("out of memory");
}

/* Reads requests, answers them, writes responses. */
static void
control_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn	*c = w->data;
	char			*nl, *nb;
	ssize_t			 n;

	if (revents & EV_READ) {
		if (c->insize - c->inlen < 4096) {
			if (c->insize >= CONTROL_LINE_MAX) {
				log_warnx("control: uid %u: request over %d "
				    "bytes", (unsigned)c->uid,
				    CONTROL_LINE_MAX);
				control_conn_close(c);
				return;
			}
			if ((nb = realloc(c->in, c->insize + 8192)) == NULL) {
				control_conn_close(c);
				return;
			}
			c->in = nb;
			c->insize += 8192;
		}
		n = read(c->fd, c->in + c->inlen, c->insize - c->inlen - 1);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			if (c->outlen == c->outoff) {
				control_conn_close(c);
				return;
			}
			c->dead = 1;	/* finish writing, then close */
		} else if (n > 0)
			c->inlen += (size_t)n;
		while (!c->dead && (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			*nl = '\0';
			if (nl != c->in)
				control_reply(c, control_dispatch(c, c->in));
			c->inlen -= (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->inlen);
		}
	}
	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			control_conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->dead) {
			control_conn_close(c);
			return;
		}
	}
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, c->outlen ? EV_READ | EV_WRITE : EV_READ);
	ev_io_start(loop, &c->io);
}

static void
control_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 fd;

	fd = accept4(control_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	if (!control_allowed(cred.uid, cred.gid)) {
		log_warnx("control: refused uid %u (pid %d): not root%s",
		    (unsigned)cred.uid, (int)cred.pid, control_gid !=
		    (gid_t)-1 ? " nor in the control group" : "");
		close(fd);
		return;
	}
	if (nconns >= CONTROL_CONNS_MAX) {
		log_warnx("control: refused uid %u: %d connections open",
		    (unsigned)cred.uid, nconns);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	ev_io_init(&c->io, control_conn_cb, fd, EV_READ);
	c->io.data = c;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	ev_io_start(loop, &c->io);
}

/* Creates the control socket (before privileges are dropped). */
int
control_init(char **cause)
{
	struct sockaddr_un	 sun;
	struct group		*gr;
	mode_t			 old;
	int			 fd;

	if (node->conf.control_group != NULL && *node->conf.control_group) {
		if ((gr = getgrnam(node->conf.control_group)) == NULL) {
			pk_cause_set(cause,
			    "control-group \"%s\": no such group",
			    node->conf.control_group);
			return -1;
		}
		control_gid = gr->gr_gid;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/control.sock", node->conf.runtime_dir) >=
	    sizeof(sun.sun_path)) {
		pk_cause_set(cause, "runtime directory path too long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pk_cause_set(cause, "control socket: %s", strerror(errno));
		return -1;
	}
	/* A stale socket of a dead peerkeyd is replaced; a live one is not. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		pk_cause_set(cause, "%s: another peerkeyd is running",
		    sun.sun_path);
		return -1;
	}
	unlink(sun.sun_path);
	old = umask(control_gid != (gid_t)-1 ? 0117 : 0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		pk_cause_set(cause, "bind %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (control_gid != (gid_t)-1 &&
	    chown(sun.sun_path, (uid_t)-1, control_gid) == -1) {
		pk_cause_set(cause, "chown %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 16) == -1) {
		pk_cause_set(cause, "listen %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	control_fd = fd;
	snprintf(control_path, sizeof(control_path), "%s", sun.sun_path);
	ev_io_init(&control_io, control_accept, fd, EV_READ);
	ev_io_start(node->loop, &control_io);
	return 0;
}

/* Closes the control socket and its connections, removes the file. */
void
control_cleanup(void)
{
	struct control_conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		control_conn_close(c);
	if (control_fd != -1) {
		ev_io_stop(node->loop, &control_io);
		close(control_fd);
		unlink(control_path);
		control_fd = -1;
	}
}
