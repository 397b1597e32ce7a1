/*
 * join.c: membership. An invitation ("peerkey invite") is a secret whose
 * SHA-256 the operator's command stores here (control "invite-add"); a
 * JOIN over native TLS that proves it, once and before it expires, makes
 * the TLS key (the joiner's node key) a peer this node guards, and is
 * answered with this node's identity and its members'. The secret is
 * checked before the document is read, and refusals are counted per
 * source (tally.c), so that strangers cost neither parsing nor writes. Then a child
 * process INTRODUCEs the joiner to every member, over TLS with this node
 * key. A member accepts an introduction only from a node key it guards
 * (doc/trust.md), at most max-introductions of them from one introducer,
 * and holds them pending an operator's "peerkey accept" if so configured.
 * A peer sends UPDATE with a newer identity of its own (new addresses, a
 * new boot key).
 *
 * Identities travel as JSON objects (doc/protocol.md, "JOIN"):
 *	{"name", "node_keyid", "boot_keyid", "addresses", "identity"}
 * of which only "identity", the document signed by the node key it names
 * (ident.c), is read: identity.c verifies it before anything is done, so
 * nobody binds a node key to a boot key that node key did not sign (the
 * JOIN's must also be signed by the session's own TLS key).
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
#include "ident.h"
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

/*
 * Adds the peer that the verified identity id (raw: its bytes) names,
 * for this node to guard (identity.c makes it, peer.c as for control
 * "add", with the daemon's default policy); introduced by the peer by
 * (NULL: it joined), it is pending if introduced-pending says so, and
 * then not guarded yet. Returns 0, or -1 with *cause set.
 */
static int
join_add_peer(const struct pk_ident *id, const uint8_t *raw, size_t rawlen,
    const char *how, const struct peer *by, char **cause)
{
	struct peer	*p;

	if ((p = identity_new_peer(id, cause)) == NULL)
		return -1;
	if (by != NULL) {
		snprintf(p->introduced_by, sizeof(p->introduced_by), "%s",
		    by->node_keyid);
		p->pending = node->conf.introduced_pending;
	}
	if (peer_add_signed(p, id->boot_pgp, raw, rawlen, how, cause) != 0) {
		/* The store's words for the log, plain ones for the peer. */
		log_warnx("join: peer %s: %s", id->name, *cause);
		free(*cause);
		*cause = NULL;
		pk_cause_set(cause, "cannot store the peer");
		return -1;
	}
	if (!p->pending)
		checker_add(p);
	return 0;
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
		pk_msg_init(&m, PK_MSG_INTRODUCE);
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

/* Sets *cause to text and returns the ERROR code for the session. */
static int
join_fail(char **cause, int code, const char *text)
{
	pk_cause_set(cause, "%s", text);
	return code;
}

/*
 * The JOIN_REPLY to a joiner whose node key is keyid, into *buf
 * (malloc'ed JSON): the inviter's identity (selfdoc, from the invitation)
 * and every member with a signed identity, the joiner left out; the peers
 * to introduce the joiner to into *guarded. Returns 0, or the ERROR code
 * with *cause set: PK_ERRC_TOO_LARGE when the reply would be over
 * PK_JOIN_REPLY_MAX (a cluster of more than about PK_JOIN_MEMBERS_MAX
 * machines), checked before the JOIN changes anything.
 */
static int
join_reply_build(const char *keyid, const char *selfdoc, char **buf,
    json_t **guarded, char **cause)
{
	struct peer	*p;
	json_error_t	 jerr;
	json_t		*self, *members, *rd;
	size_t		 len, n = 0;

	*buf = NULL;
	members = json_array();
	*guarded = json_array();
	TAILQ_FOREACH(p, &node->peers, entry) {
		if (p->node_keyid[0] == '\0' || strcasecmp(p->node_keyid,
		    keyid) == 0)
			continue;
		if ((rd = identity_peer_json(p)) != NULL)
			json_array_append_new(members, rd);
		json_array_append_new(*guarded, json_pack("{s:s, s:s, s:s}",
		    "name", p->name, "node_keyid", p->node_keyid,
		    "addresses", p->addresses));
		n++;
	}
	if ((self = json_loads(selfdoc, 0, &jerr)) == NULL)
		self = json_object();
	json_object_set_new(self, "name", json_string(node->conf.name));
	json_object_set_new(self, "node_keyid", json_string(node->id->keyid));
	rd = json_pack("{s:o, s:o}", "self", self, "members", members);
	*buf = rd != NULL ? json_dumps(rd, JSON_COMPACT) : NULL;
	json_decref(rd);
	if (*buf == NULL)
		return join_fail(cause, PK_ERRC_INTERNAL, "out of memory");
	if ((len = strlen(*buf)) > PK_JOIN_REPLY_MAX) {
		log_warnx("join: the reply listing %zu members would be %zu "
		    "bytes, over the limit of %d (PK_JOIN_REPLY_MAX): refused, "
		    "nothing changed", n, len, PK_JOIN_REPLY_MAX);
		free(*buf);
		*buf = NULL;
		pk_cause_set(cause, "the cluster is too large to join through "
		    "one reply (%zu members, %zu bytes, the limit is %d); "
		    "nothing was changed", n, len, PK_JOIN_REPLY_MAX);
		return PK_ERRC_TOO_LARGE;
	}
	return 0;
}

/* A JOIN: proves an invitation; see the file comment. */
static int
join_join(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply, char **buf, char **cause)
{
	struct pk_ident		 id;
	struct peer		*p;
	json_error_t		 jerr;
	json_t			*doc = NULL, *guarded = NULL, *rd;
	unsigned char		 hash[32];
	uint8_t			*raw = NULL;
	size_t			 rawlen = 0;
	char			 hex[65], how[128], *selfdoc = NULL, *jdoc;
	char			 src[PK_ADDR_LEN];
	int			 code, r, i, found;

	memset(&id, 0, sizeof(id));

	/*
	 * The secret first, writing nothing: a stranger's document (up to
	 * 48 KiB of JSON) is never parsed, and its refusals are counted
	 * per source (tally.c), not written each time.
	 */
	gnutls_hash_fast(GNUTLS_DIG_SHA256, m->u.join.secret,
	    PK_JOIN_SECRET_LEN, hash);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	if ((r = store_invite_check(node->store, hex, wall_ms(),
	    &selfdoc)) != 0) {
		budget_source_name(addr, src, sizeof(src));
		tally(PK_TALLY_WARN, "join-refused", src, "join-refused",
		    "join: %s key %.16s...: refused: %s", addr, keyid,
		    r == PK_ERR_TIMEOUT ? "invitation expired" :
		    r == PK_ERR_NOT_FOUND ? "no such invitation (used?)" :
		    store_errmsg(node->store));
		code = join_fail(cause, PK_ERRC_UNAUTHORIZED,
		    r == PK_ERR_TIMEOUT ? "the invitation has expired" :
		    "no such invitation (used already?)");
		goto out;
	}
	doc = json_loadb((const char *)m->u.join.doc.p, m->u.join.doc.len, 0,
	    &jerr);
	if (identity_read(doc, &id, &raw, &rawlen, cause) != 0) {
		log_warnx("join: %s: bad identity: %s", addr, *cause);
		code = PK_ERRC_PROTOCOL;
		goto out;
	}
	/* The joiner's node key is the TLS key, and it signed the document. */
	if (strcasecmp(id.node_keyid, keyid) != 0) {
		log_warnx("join: %s key %.16s...: its identity is signed by "
		    "another key (%.16s...)", addr, keyid, id.node_keyid);
		code = join_fail(cause, PK_ERRC_UNAUTHORIZED, "the identity is "
		    "not signed by this session's key");
		goto out;
	}
	/*
	 * The reply, with the members before the joiner is one, and its
	 * size checked, before anything changes: a JOIN refused for its
	 * size uses no invitation and adds no peer.
	 */
	if ((code = join_reply_build(keyid, selfdoc, buf, &guarded,
	    cause)) != 0)
		goto out;
	if ((r = store_invite_take(node->store, hex, wall_ms(), id.name,
	    addr, NULL)) != 0) {
		/* Used or expired since the check: recorded by the store. */
		log_warnx("join: %s key %.16s...: refused: %s", addr, keyid,
		    store_errmsg(node->store));
		code = join_fail(cause, PK_ERRC_UNAUTHORIZED,
		    r == PK_ERR_TIMEOUT ? "the invitation has expired" :
		    "no such invitation (used already?)");
		goto out;
	}
	snprintf(how, sizeof(how), "joined with an invitation from %s", addr);
	/* A machine that joins again brings its own, newer identity. */
	if ((found = identity_apply(&id, raw, rawlen, addr, 1, cause)) < 0 ||
	    (found == IDENTITY_NEW && join_add_peer(&id, raw, rawlen, how,
	    NULL, cause) != 0)) {
		code = PK_ERRC_UNAUTHORIZED;
		goto out;
	}
	pk_msg_init(reply, PK_MSG_JOIN_REPLY);
	reply->u.doc.doc.p = (const uint8_t *)*buf;
	reply->u.doc.doc.len = strlen(*buf);
	/* Introduce the joiner, as this node knows it, to the members. */
	p = peer_by_node_keyid(keyid);
	if (p != NULL && (rd = identity_peer_json(p)) != NULL) {
		if ((jdoc = json_dumps(rd, JSON_COMPACT)) != NULL)
			join_introduce(guarded, jdoc);
		free(jdoc);
		json_decref(rd);
	}
	code = 0;
out:
	pk_ident_clear(&id);
	free(raw);
	json_decref(doc);
	json_decref(guarded);
	free(selfdoc);
	return code;
}

/* Records a refused introduction by peer by of name, from addr. */
static void
join_record_refusal(const struct peer *by, const char *addr,
    const char *name)
{
	char	 detail[PEER_NAME_MAX + 64];

	snprintf(detail, sizeof(detail), "introduction of %s: quota reached",
	    name);
	if (store_event(node->store, STORE_LAZY, wall_ms(), by->name,
	    "join-refused", addr, detail) != 0)
		log_warnx("store: cannot record refusal: %s",
		    store_errmsg(node->store));
}

/*
 * An INTRODUCE from a node key this node guards, or an UPDATE of its own
 * identity by a peer's node key (identity.c has the rules).
 */
static int
join_introduced(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply, char **cause)
{
	struct pk_ident		 id;
	struct peer		*by;
	json_error_t		 jerr;
	json_t			*doc;
	uint8_t			*raw = NULL;
	size_t			 rawlen = 0;
	char			 how[PEER_NAME_MAX + 48];
	int			 code = 0, found, update;

	update = m->type == PK_MSG_UPDATE;
	if ((by = peer_by_node_keyid(keyid)) == NULL || by->pending) {
		log_warnx("join: %s key %.16s...: %s from a key this node "
		    "does not guard%s", addr, keyid, pk_msg_type_name(m->type),
		    by != NULL ? " (pending acceptance)" : "");
		return join_fail(cause, PK_ERRC_UNAUTHORIZED, update ?
		    "only a peer this node guards may update its identity" :
		    "only a peer this node guards may introduce");
	}
	doc = json_loadb((const char *)m->u.doc.doc.p, m->u.doc.doc.len, 0,
	    &jerr);
	if (identity_read(doc, &id, &raw, &rawlen, cause) != 0) {
		log_warnx("join: %s from %s: %s", pk_msg_type_name(m->type),
		    by->name, *cause);
		code = PK_ERRC_PROTOCOL;
		if (strstr(*cause, "signature") != NULL)
			code = PK_ERRC_UNAUTHORIZED;
	} else if (update && strcasecmp(id.node_keyid, keyid) != 0)
		code = join_fail(cause, PK_ERRC_UNAUTHORIZED, "an UPDATE "
		    "carries the sender's own identity only");
	else if ((found = identity_apply(&id, raw, rawlen, by->name, update,
	    cause)) < 0)
		code = PK_ERRC_UNAUTHORIZED;
	else if (found != IDENTITY_NEW)
		;	/* ourselves, known already, or newer now */
	else if (update)
		code = join_fail(cause, PK_ERRC_INTERNAL, "internal error");
	else if (peer_introduced_count(by->node_keyid) >=
	    (int)node->conf.max_introductions) {
		log_warnx("join: introduction of %s by %s refused: its quota "
		    "of %llu introductions is reached (max-introductions)",
		    id.name, by->name, node->conf.max_introductions);
		join_record_refusal(by, addr, id.name);
		code = join_fail(cause, PK_ERRC_UNAUTHORIZED, "introduction "
		    "quota reached (max-introductions)");
	} else {
		snprintf(how, sizeof(how), "introduced by %s%s", by->name,
		    node->conf.introduced_pending ? ", pending acceptance" :
		    "");
		if (join_add_peer(&id, raw, rawlen, how, by, cause) != 0)
			code = PK_ERRC_UNAUTHORIZED;
	}
	pk_ident_clear(&id);
	free(raw);
	json_decref(doc);
	if (code == 0) {
		pk_msg_init(reply, PK_MSG_ACK);
		reply->u.ack.of_type = m->type;
	}
	return code;
}

/*
 * A JOIN, INTRODUCE or UPDATE of a native session whose TLS key is keyid. Returns
 * 0 with reply filled (its byte fields may point into *buf, which the
 * caller frees after sending), or the PK_ERRC_* code of the ERROR to send
 * with *cause (allocated; the caller frees it).
 */
int
join_request(const char *keyid, const char *addr, const struct pk_msg *m,
    struct pk_msg *reply, char **buf, char **cause)
{
	*buf = NULL;
	if (m->type == PK_MSG_JOIN)
		return join_join(keyid, addr, m, reply, buf, cause);
	return join_introduced(keyid, addr, m, reply, cause);
}

/* Control request "peer-pgp": a peer's boot OpenPGP key. */
json_t *
join_peer_pgp(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	const char	*name, *pgp;
	struct peer	*p;

	name = json_string_value(json_object_get(req, "peer"));
	pgp = json_string_value(json_object_get(req, "boot_pgp"));
	if (name == NULL || (p = peer_by_name(name)) == NULL) {
		pk_cause_set(cause, "no such peer");
		return NULL;
	}
	if (pgp == NULL || strlen(pgp) > PK_DOC_MAX / 2 ||
	    store_peer_set_pgp(node->store, p->id, pgp) != 0) {
		pk_cause_set(cause, "cannot store the key");
		return NULL;
	}
	return json_object();
}

/* Control request "invite-add": an invitation's hash; see the top. */
json_t *
join_invite_add(const struct control_cmd *self, json_t *req, const char *who,
    char **cause)
{
	struct pk_ident	 id;
	const char	*hash;
	json_t		*inviter;
	char		*doc;
	json_int_t	 expires;
	int		 r;

	hash = json_string_value(json_object_get(req, "secret_hash"));
	expires = json_integer_value(json_object_get(req, "expires"));
	inviter = json_object_get(req, "self");
	if (hash == NULL || !pk_keyid_valid(hash) || expires <= wall_ms() ||
	    !json_is_object(inviter)) {
		pk_cause_set(cause, "invite-add needs secret_hash (64 hex), "
		    "expires (future wall ms) and self");
		return NULL;
	}
	/*
	 * What a joiner will check of it, checked now: this node's own
	 * identity, signed by its node key under its name ("peerkey
	 * invite" signs it).
	 */
	if (identity_read(inviter, &id, NULL, NULL, cause) != 0)
		return NULL;
	r = strcasecmp(id.node_keyid, node->id->keyid) != 0 ? 1 :
	    strcmp(id.name, node->conf.name) != 0 ? 2 : 0;
	if (r != 0)
		pk_cause_set(cause, "the identity is %s", r == 1 ?
		    "not signed by this node's key" : "not under this node's "
		    "name");
	if (r == 0 && (inviter = json_pack("{s:s, s:s, s:s, s:s, s:O}",
	    "name", id.name, "node_keyid", id.node_keyid, "boot_keyid",
	    id.boot_keyid, "addresses", id.addresses, "identity",
	    json_object_get(inviter, "identity"))) == NULL)
		r = -1;
	pk_ident_clear(&id);
	if (r != 0)
		return NULL;
	if ((doc = json_dumps(inviter, JSON_COMPACT)) == NULL) {
		json_decref(inviter);
		return NULL;
	}
	r = store_invite_add(node->store, hash, expires, doc, wall_ms(), who);
	json_decref(inviter);
	free(doc);
	if (r != 0) {
		pk_cause_set(cause, "%s", store_errmsg(node->store));
		return NULL;
	}
	log_info("join: invitation made by %s", who);
	return json_object();
}
