/*
 * join.c: membership. An invitation ("peerkey invite") is a secret whose
 * SHA-256 the operator's command stores here (control "invite-add"); a
 * JOIN over native TLS that proves it, once and before it expires, makes
 * the TLS key (the joiner's node key) a peer this node guards, and is
 * answered with this node's identity and its members'. Then a child
 * process INTRODUCEs the joiner to every member, over TLS with this node
 * key. A member accepts an introduction only from a node key it guards
 * (doc/trust.md).
 *
 * Identity documents are JSON (doc/protocol.md, "JOIN"):
 *	{"name", "node_keyid", "boot_keyid", "boot_pgp", "addresses"}
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "addr.h"
#include "io.h"
#include "key.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"
#include "tls.h"

#define JOIN_INTRO_TIMEOUT_MS	10000
#define JOIN_NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789.-_"

/* An identity taken from a document, checked. */
struct join_ident {
	const char	*name;
	const char	*node_keyid;
	const char	*boot_keyid;
	const char	*boot_pgp;
	const char	*addresses;
};

/* Reads and checks an identity object; NULL on success, else why. */
static const char *
join_ident(json_t *o, struct join_ident *id, int need_node)
{
	memset(id, 0, sizeof(*id));
	if (!json_is_object(o))
		return "not an object";
	id->name = json_string_value(json_object_get(o, "name"));
	id->node_keyid = json_string_value(json_object_get(o, "node_keyid"));
	id->boot_keyid = json_string_value(json_object_get(o, "boot_keyid"));
	id->boot_pgp = json_string_value(json_object_get(o, "boot_pgp"));
	id->addresses = json_string_value(json_object_get(o, "addresses"));
	if (id->name == NULL || *id->name == '\0' ||
	    strlen(id->name) > PEER_NAME_MAX ||
	    strspn(id->name, JOIN_NAME_CHARS) != strlen(id->name))
		return "bad name";
	if (id->boot_keyid == NULL || !pk_keyid_valid(id->boot_keyid))
		return "bad boot key id";
	if (need_node && (id->node_keyid == NULL ||
	    !pk_keyid_valid(id->node_keyid)))
		return "bad node key id";
	if (id->addresses == NULL)
		id->addresses = "";
	if (strlen(id->addresses) > PEER_ADDRS_MAX ||
	    strspn(id->addresses, "0123456789abcdefABCDEF.:[]% _-") !=
	    strlen(id->addresses))
		return "bad addresses";
	if (id->boot_pgp == NULL)
		id->boot_pgp = "";
	if (strlen(id->boot_pgp) > PK_DOC_MAX / 2)
		return "boot OpenPGP key too large";
	return NULL;
}

/*
 * Adds a peer this node will guard (as control "add" does, with the
 * daemon's default policy) and stores its boot OpenPGP key. Returns 0,
 * or -1 with *why set.
 */
static int
join_add_peer(const struct join_ident *id, const char *how,
    const char **why)
{
	struct peer	*p;
	uint64_t	 now = pk_now_ms();
	int		 r;

	if (peer_by_name(id->name) != NULL) {
		*why = "a peer of that name exists";
		return -1;
	}
	if (peer_by_boot_keyid(id->boot_keyid) != NULL ||
	    peer_by_node_keyid(id->node_keyid) != NULL ||
	    strcasecmp(id->node_keyid, node->id->keyid) == 0) {
		*why = "a peer with that key exists";
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", id->name);
	snprintf(p->node_keyid, sizeof(p->node_keyid), "%s", id->node_keyid);
	snprintf(p->boot_keyid, sizeof(p->boot_keyid), "%s", id->boot_keyid);
	snprintf(p->addresses, sizeof(p->addresses), "%s", id->addresses);
	pk_keyid_normalize(p->node_keyid);
	pk_keyid_normalize(p->boot_keyid);
	p->timeout = node->conf.timeout;
	p->interval = node->conf.interval;
	p->extended_timeout = node->conf.extended_timeout;
	p->approval_duration = 1000;
	p->approved_by_default = 1;
	p->expires = now + p->timeout;
	p->remaining = p->timeout;
	if ((r = store_begin(node->store)) != 0 ||
	    (r = store_peer_insert(node->store, p, wall_ms())) != 0 ||
	    (r = store_peer_set_pgp(node->store, p->id, id->boot_pgp)) != 0 ||
	    (r = store_event(node->store, wall_ms(), p->name, "added", "",
	    how)) != 0 ||
	    (r = store_commit(node->store)) != 0) {
		store_rollback(node->store);
		log_warnx("join: cannot store peer %s: %s", id->name,
		    store_errmsg(node->store));
		free(p);
		*why = "cannot store the peer";
		return -1;
	}
	peer_insert(p);
	checker_add(p);
	log_info("peer %s: added (%s), node key %.16s...", p->name, how,
	    p->node_keyid);
	return 0;
}

/* A peer's identity document. */
static json_t *
join_peer_json(struct peer *p)
{
	char	*pgp = NULL;
	json_t	*o;

	if (store_peer_get_pgp(node->store, p->id, &pgp) != 0)
		pgp = NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", p->name,
	    "node_keyid", p->node_keyid, "boot_keyid", p->boot_keyid,
	    "addresses", p->addresses, "boot_pgp", pgp ? pgp : "");
	free(pgp);
	return o;
}

/* Child: INTRODUCEs doc to one member; returns 0 on its ACK. */
static int
join_introduce_one(const char *addresses, const char *keyid,
    const char *doc)
{
	struct pk_tls	*tls;
	struct pk_msg	 m;
	uint8_t		 buf[4096];
	const char	*list = addresses;
	char		 w[PK_ADDR_LEN];
	uint64_t	 deadline;
	int		 fd, more, r = -1;

	while (r != 0 && (more = pk_list_next(&list, w, sizeof(w))) != 0) {
		deadline = pk_now_ms() + JOIN_INTRO_TIMEOUT_MS;
		if (more < 0 || pk_io_dial(w, node->creds, keyid, deadline,
		    &tls, &fd, NULL) != 0)
			continue;
		memset(&m, 0, sizeof(m));
		m.version = PK_PROTO_VERSION;
		m.type = PK_MSG_INTRODUCE;
		m.u.doc.doc.p = (const uint8_t *)doc;
		m.u.doc.doc.len = strlen(doc);
		if (pk_io_send_msg(tls, fd, &m, deadline) == 0 &&
		    pk_io_recv_msg(tls, fd, buf, sizeof(buf), sizeof(buf), &m,
		    deadline) == 0 && m.type == PK_MSG_ACK)
			r = 0;
		pk_io_close(tls, fd);
	}
	return r;
}

/*
 * Introduces the joiner (doc) to every member in members, from a
 * grandchild process so the event loop never blocks on a member.
 */
static void
join_introduce(json_t *members, const char *doc)
{
	json_t	*mb;
	size_t	 i;
	pid_t	 pid;
	int	 st;

	if (json_array_size(members) == 0)
		return;
	if ((pid = fork()) == -1) {
		log_warn("join: fork");
		return;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		json_array_foreach(members, i, mb) {
			const char *name = json_string_value(json_object_get(mb,
			    "name"));

			if (join_introduce_one(json_string_value(
			    json_object_get(mb, "addresses")),
			    json_string_value(json_object_get(mb,
			    "node_keyid")), doc) == 0)
				log_info("join: introduced to %s", name);
			else
				log_warnx("join: could not introduce to %s",
				    name);
		}
		_exit(0);
	}
	(void)waitpid(pid, &st, 0);
}

/* Fills reply as an ERROR. */
static void
join_error(struct pk_msg *reply, int code, const char *text)
{
	memset(reply, 0, sizeof(*reply));
	reply->version = PK_PROTO_VERSION;
	reply->type = PK_MSG_ERROR;
	reply->u.error.code = code;
	reply->u.error.text.p = (const uint8_t *)text;
	reply->u.error.text.len = strlen(text);
}

/* A JOIN: proves an invitation; see the file comment. */
static void
join_join(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply, char **buf)
{
	struct join_ident	 id;
	struct peer		*p;
	json_error_t		 jerr;
	json_t			*doc = NULL, *self = NULL, *members = NULL, *rd;
	unsigned char		 hash[32];
	char			 hex[65], how[128], *selfdoc = NULL, *jdoc;
	const char		*why;
	int			 r, i;

	doc = json_loadb((const char *)m->u.join.doc.p, m->u.join.doc.len, 0,
	    &jerr);
	if ((why = join_ident(doc, &id, 0)) != NULL) {
		log_warnx("join: %s: bad identity: %s", addr, why);
		join_error(reply, PK_ERRC_PROTOCOL, why);
		goto out;
	}
	id.node_keyid = keyid;		/* the TLS key, nothing else */
	gnutls_hash_fast(GNUTLS_DIG_SHA256, m->u.join.secret,
	    PK_JOIN_SECRET_LEN, hash);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	if ((r = store_invite_take(node->store, hex, wall_ms(),
	    &selfdoc)) != 0) {
		log_warnx("join: %s key %.16s...: refused: %s", addr, keyid,
		    r == PK_ERR_TIMEOUT ? "invitation expired" :
		    r == PK_ERR_NOT_FOUND ? "no such invitation (used?)" :
		    store_errmsg(node->store));
		(void)store_event(node->store, wall_ms(), id.name,
		    "join-refused", addr, r == PK_ERR_TIMEOUT ? "expired" :
		    "unknown or used invitation");
		join_error(reply, PK_ERRC_UNAUTHORIZED, r == PK_ERR_TIMEOUT ?
		    "the invitation has expired" :
		    "no such invitation (used already?)");
		goto out;
	}
	/* The members, before the joiner is one. */
	members = json_array();
	TAILQ_FOREACH(p, &node->peers, entry)
		if (p->node_keyid[0] != '\0')
			json_array_append_new(members, join_peer_json(p));
	snprintf(how, sizeof(how), "joined with an invitation from %s", addr);
	if (join_add_peer(&id, how, &why) != 0) {
		join_error(reply, PK_ERRC_UNAUTHORIZED, why);
		goto out;
	}
	if ((self = json_loads(selfdoc, 0, &jerr)) == NULL)
		self = json_object();
	json_object_set_new(self, "name", json_string(node->conf.name));
	json_object_set_new(self, "node_keyid", json_string(node->id->keyid));
	rd = json_pack("{s:O, s:O}", "self", self, "members", members);
	*buf = json_dumps(rd, JSON_COMPACT);
	json_decref(rd);
	if (*buf == NULL || strlen(*buf) > PK_DOC_MAX) {
		join_error(reply, PK_ERRC_TOO_LARGE, "reply too large");
		goto out;
	}
	memset(reply, 0, sizeof(*reply));
	reply->version = PK_PROTO_VERSION;
	reply->type = PK_MSG_JOIN_REPLY;
	reply->u.doc.doc.p = (const uint8_t *)*buf;
	reply->u.doc.doc.len = strlen(*buf);
	/* Introduce the joiner, as this node knows it, to the members. */
	p = peer_by_node_keyid(keyid);
	if (p != NULL && (rd = join_peer_json(p)) != NULL) {
		if ((jdoc = json_dumps(rd, JSON_COMPACT)) != NULL)
			join_introduce(members, jdoc);
		free(jdoc);
		json_decref(rd);
	}
out:
	json_decref(doc);
	json_decref(self);
	json_decref(members);
	free(selfdoc);
}

/* An INTRODUCE from a node key this node guards. */
static void
join_introduced(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply)
{
	struct join_ident	 id;
	struct peer		*by, *p;
	json_error_t		 jerr;
	json_t			*doc;
	char			 how[PEER_NAME_MAX + 32];
	const char		*why;

	if ((by = peer_by_node_keyid(keyid)) == NULL) {
		log_warnx("join: %s key %.16s...: INTRODUCE from a key this "
		    "node does not guard", addr, keyid);
		join_error(reply, PK_ERRC_UNAUTHORIZED,
		    "only a peer this node guards may introduce");
		return;
	}
	doc = json_loadb((const char *)m->u.doc.doc.p, m->u.doc.doc.len, 0,
	    &jerr);
	if ((why = join_ident(doc, &id, 1)) != NULL) {
		join_error(reply, PK_ERRC_PROTOCOL, why);
		json_decref(doc);
		return;
	}
	memset(reply, 0, sizeof(*reply));
	reply->version = PK_PROTO_VERSION;
	reply->type = PK_MSG_ACK;
	reply->u.ack.of_type = PK_MSG_INTRODUCE;
	if (strcasecmp(id.node_keyid, node->id->keyid) == 0 ||
	    ((p = peer_by_node_keyid(id.node_keyid)) != NULL &&
	    strcasecmp(p->boot_keyid, id.boot_keyid) == 0)) {
		json_decref(doc);	/* ourselves, or known already */
		return;
	}
	snprintf(how, sizeof(how), "introduced by %s", by->name);
	if (join_add_peer(&id, how, &why) != 0)
		join_error(reply, PK_ERRC_UNAUTHORIZED, why);
	json_decref(doc);
}

/*
 * A JOIN or INTRODUCE of a native session whose TLS key is keyid. Fills
 * reply (its byte fields may point into *buf, which the caller frees
 * after sending).
 */
void
join_request(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply, char **buf)
{
	*buf = NULL;
	if (m->type == PK_MSG_JOIN)
		join_join(keyid, addr, m, reply, buf);
	else
		join_introduced(keyid, addr, m, reply);
}

/* Control requests "invite-add" and "peer-pgp". */
json_t *
join_control(json_t *req, const char *who)
{
	const char	*cmd = json_string_value(json_object_get(req, "cmd"));
	const char	*hash, *name, *pgp;
	json_t		*self;
	struct peer	*p;
	char		*doc;
	json_int_t	 expires;
	int		 r;

	if (strcmp(cmd, "peer-pgp") == 0) {
		name = json_string_value(json_object_get(req, "peer"));
		pgp = json_string_value(json_object_get(req, "boot_pgp"));
		if (name == NULL || (p = peer_by_name(name)) == NULL)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "no such peer");
		if (pgp == NULL || strlen(pgp) > PK_DOC_MAX / 2 ||
		    store_peer_set_pgp(node->store, p->id, pgp) != 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "cannot store the key");
		return json_pack("{s:b}", "ok", 1);
	}
	hash = json_string_value(json_object_get(req, "secret_hash"));
	expires = json_integer_value(json_object_get(req, "expires"));
	self = json_object_get(req, "self");
	if (hash == NULL || !pk_keyid_valid(hash) || expires <= wall_ms() ||
	    !json_is_object(self))
		return json_pack("{s:b, s:s}", "ok", 0, "error", "invite-add "
		    "needs secret_hash (64 hex), expires (future wall ms) and "
		    "self");
	if ((doc = json_dumps(self, JSON_COMPACT)) == NULL)
		return NULL;
	r = store_invite_add(node->store, hash, expires, doc, wall_ms());
	free(doc);
	if (r != 0)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    store_errmsg(node->store));
	(void)store_event(node->store, wall_ms(), "", "invited", "", who);
	log_info("join: invitation made by %s", who);
	return json_pack("{s:b}", "ok", 1);
}
