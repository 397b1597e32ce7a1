/*
 * session-native.c: the native protocol of a session (doc/protocol.md),
 * once its TLS handshake is done: frames in, one reply per request.
 *
 * Who may do what is decided here from the TLS-authenticated key id only:
 * a boot key may UNLOCK (its own blobs: peer_release() decides); a peer's
 * node key may HEARTBEAT, DEPOSIT (a blob signed by that node key,
 * sblob.h), WITHDRAW and NOTICE for itself and no one else (and a
 * pending peer's, nothing); JOIN and INTRODUCE go to
 * join.c. Every error is an ERROR
 * reply that ends the session (session_error), never the daemon.
 *
 * Crash points for the tests (pk_test_crash, inert unless a test sets
 * PEERKEY_TEST_CRASH_AT in peerkeyd's environment): "deposit-stored" and
 * "withdraw-stored", after the change is committed and before its ACK is
 * sent, as a kill -9 or a power cut there leaves things
 * (tests/cluster/19-kill-peerkeyd.sh).
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "frame.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "session-int.h"
#include "store.h"
#include "tls.h"

/* Sends an ERROR and ends the session. */
static void
session_error(struct session *s, int code, const char *text)
{
	struct pk_msg	m;

	pk_msg_init(&m, PK_MSG_ERROR);
	m.u.error.code = code;
	m.u.error.text.p = (const uint8_t *)text;
	m.u.error.text.len = strlen(text);
	if (session_send(s, &m, 1) == 0)
		s->state = S_CLOSING;
}

/*
 * Sends an UNLOCK_REPLY refusal. Its text says more than the reason code,
 * for the boot agent's console line; it names this node, never a secret.
 */
static int
session_refuse(struct session *s, struct peer *p, int reason)
{
	struct pk_msg	m;
	char		 text[160];

	switch (reason) {
	case PK_REFUSE_UNKNOWN:
		snprintf(text, sizeof(text), "node %s does not know this boot "
		    "key", node->conf.name);
		break;
	case PK_REFUSE_DISABLED:
		snprintf(text, sizeof(text), "%s", p != NULL && p->pending ?
		    "pending acceptance by an operator" : p != NULL &&
		    p->disabled_by == PEER_DIS_OPERATOR ? "disabled by an "
		    "operator" : "unseen for longer than its timeout");
		break;
	case PK_REFUSE_PENDING:
		snprintf(text, sizeof(text), "waiting for an operator on node "
		    "%s (peerkey approve)", node->conf.name);
		break;
	case PK_REFUSE_DENIED:
		snprintf(text, sizeof(text), "denied on node %s",
		    node->conf.name);
		break;
	case PK_REFUSE_NO_BLOBS:
		snprintf(text, sizeof(text), "nothing deposited on node %s",
		    node->conf.name);
		break;
	case PK_REFUSE_NO_NOTICE:
		snprintf(text, sizeof(text), "no planned-reboot notice");
		break;
	default:
		snprintf(text, sizeof(text), "node %s is busy; try again",
		    node->conf.name);
		break;
	}

	pk_msg_init(&m, PK_MSG_UNLOCK_REPLY);
	m.u.unlock_reply.status = PK_UNLOCK_REFUSED;
	m.u.unlock_reply.reason = reason;
	m.u.unlock_reply.text.p = (const uint8_t *)text;
	m.u.unlock_reply.text.len = strlen(text);
	return session_send(s, &m, 1);
}

/* A native UNLOCK from a boot key: peer_release() decides. */
static void
session_unlock(struct session *s)
{
	struct peer_release	 rel;
	struct pk_msg		 m;
	size_t			 i;

	if (!peer_release(s->keyid, PEER_NATIVE, s->addr, pk_now_ms(),
	    &rel)) {
		(void)session_refuse(s, rel.peer, rel.reason);
		return;
	}
	pk_msg_init(&m, PK_MSG_UNLOCK_REPLY);
	m.u.unlock_reply.status = PK_UNLOCK_OK;
	/* More than one reply carries (stored before DEPOSIT refused
	 * them): send the first PK_BLOBS_MAX, free them all. */
	m.u.unlock_reply.nblobs = rel.nblobs > PK_BLOBS_MAX ? PK_BLOBS_MAX :
	    rel.nblobs;
	for (i = 0; i < m.u.unlock_reply.nblobs; i++) {
		m.u.unlock_reply.blobs[i].id.p =
		    (const uint8_t *)rel.blobs[i].id;
		m.u.unlock_reply.blobs[i].id.len = strlen(rel.blobs[i].id);
		m.u.unlock_reply.blobs[i].data.p = rel.blobs[i].data;
		m.u.unlock_reply.blobs[i].data.len = rel.blobs[i].len;
	}
	(void)session_send(s, &m, 1);
	store_blobs_free(rel.blobs, rel.nblobs);
}

/* Sends an ACK of a request type. */
static void
session_ack(struct session *s, int of_type)
{
	struct pk_msg	m;

	pk_msg_init(&m, PK_MSG_ACK);
	m.u.ack.of_type = of_type;
	(void)session_send(s, &m, 0);
}

/*
 * Is the DEPOSIT's data a signed blob (sblob.h) that the depositing node
 * key signed, under the name it is deposited by? A holder keeps only
 * those: the boot agent would ignore anything else. Returns 0, or -1
 * (answered: ERROR unauthorized, and logged).
 */
static int
session_deposit_signed(struct session *s, struct peer *p, const char *id,
    const struct pk_blob *b)
{
	struct pk_sblob	 sb;
	char		 signer[PK_KEYID_HEXLEN + 1], *cause = NULL;
	const char	*why = NULL;

	if (!pk_sblob_is(b->data.p, b->data.len))
		why = "not a signed blob";
	else if (pk_sblob_decode(b->data.p, b->data.len, &sb, &cause) != 0)
		why = cause != NULL ? cause : "not a valid signed blob";
	else if (pk_sblob_signer_keyid(&sb, signer) != 0 ||
	    strcmp(signer, s->keyid) != 0)
		why = "not signed by the depositing node key";
	else if (pk_sblob_verify(&sb, &cause) != 0)
		why = cause != NULL ? cause : "the signature does not verify";
	else if (sb.idlen != b->id.len || memcmp(sb.id, id, sb.idlen) != 0)
		why = "signed under another blob id";
	if (why == NULL)
		return 0;
	log_warnx("deposit: peer %s: blob %s from %s refused: %s", p->name,
	    id, s->addr, why);
	session_error(s, PK_ERRC_UNAUTHORIZED, why);
	free(cause);
	return -1;
}

/* A DEPOSIT from a peer's node key: store or replace its own blob. */
static void
session_deposit(struct session *s, struct peer *p, const struct pk_msg *req)
{
	char		 id[PK_BLOB_ID_MAX + 1], detail[PK_BLOB_ID_MAX + 32];
	const struct pk_blob *b = &req->u.deposit.blob;
	struct store	*st = node->store;
	int		 r;

	memcpy(id, b->id.p, b->id.len);
	id[b->id.len] = '\0';
	if (strlen(id) != b->id.len) {
		session_error(s, PK_ERRC_PROTOCOL, "blob id contains NUL");
		return;
	}
	if (session_deposit_signed(s, p, id, b) != 0)
		return;
	snprintf(detail, sizeof(detail), "blob %s (%zu bytes)", id,
	    b->data.len);
	if ((r = store_blob_deposit(st, p, id, b->data.p, b->data.len,
	    PK_BLOBS_MAX, wall_ms(), s->addr, detail)) != 0) {
		if (r == PK_ERR_TOO_LARGE) {
			/* One UNLOCK_REPLY carries at most PK_BLOBS_MAX:
			 * more would be kept and never released. */
			log_warnx("deposit: peer %s: %s refused: it holds %d "
			    "blobs already", p->name, detail, PK_BLOBS_MAX);
			session_error(s, PK_ERRC_TOO_LARGE, "too many blobs");
			return;
		}
		log_warnx("deposit: peer %s: %s: %s", p->name, detail,
		    store_errmsg(st));
		session_error(s, PK_ERRC_INTERNAL, "cannot store the blob");
		return;
	}
	log_info("deposit: peer %s: %s from %s", p->name, detail, s->addr);
	pk_test_crash("peerkeyd", "deposit-stored");
	peer_deposited(p, pk_now_ms(), s->addr);
	session_ack(s, PK_MSG_DEPOSIT);
}

/* A WITHDRAW from a peer's node key: remove its own blob. */
static void
session_withdraw(struct session *s, struct peer *p, const struct pk_msg *req)
{
	char		 id[PK_BLOB_ID_MAX + 1], detail[PK_BLOB_ID_MAX + 32];
	struct store	*st = node->store;
	int		 r;

	memcpy(id, req->u.withdraw.id.p, req->u.withdraw.id.len);
	id[req->u.withdraw.id.len] = '\0';
	snprintf(detail, sizeof(detail), "blob %s", id);
	if ((r = store_blob_withdraw(st, p, id, wall_ms(), s->addr,
	    detail)) != 0) {
		if (r == PK_ERR_NOT_FOUND) {
			session_error(s, PK_ERRC_NOT_FOUND, "no such blob");
			return;
		}
		log_warnx("withdraw: peer %s: %s: %s", p->name, detail,
		    store_errmsg(st));
		session_error(s, PK_ERRC_INTERNAL, "cannot remove the blob");
		return;
	}
	log_info("withdraw: peer %s: %s from %s", p->name, detail, s->addr);
	pk_test_crash("peerkeyd", "withdraw-stored");
	peer_withdrawn(p);
	session_ack(s, PK_MSG_WITHDRAW);
}

/* Dispatches one decoded request of a native session; see session-int.h. */
void
session_request(struct session *s, const struct pk_msg *m)
{
	struct pk_msg	 reply;
	struct peer	*p;
	char		 text[PK_TEXT_MAX + 1];
	uint64_t	 now = pk_now_ms();

	if (m->type == PK_MSG_UNLOCK) {
		session_unlock(s);
		return;
	}
	if (m->type == PK_MSG_JOIN || m->type == PK_MSG_INTRODUCE ||
	    m->type == PK_MSG_UPDATE) {
		char	*buf = NULL, *cause = NULL;
		int	 code;

		/* join.c */
		code = join_request(s->keyid, s->addr, m, &reply, &buf, &cause);
		if (code != 0)
			session_error(s, code, cause != NULL ? cause :
			    "out of memory");
		else
			(void)session_send(s, &reply, 0);
		free(buf);
		free(cause);
		return;
	}
	/* Everything else is node to node: the key must be a peer's node
	 * key, and acts only on that peer. */
	p = peer_by_node_keyid(s->keyid);
	switch (m->type) {
	case PK_MSG_HEARTBEAT:
	case PK_MSG_DEPOSIT:
	case PK_MSG_WITHDRAW:
	case PK_MSG_NOTICE:
		if (p == NULL) {
			char	src[INET6_ADDRSTRLEN + 8];

			budget_key_name(s->b_key, src, sizeof(src));
			tally(PK_TALLY_WARN, "not-a-node-key", src, NULL,
			    "session: %s key %.16s...: %s from a key that is "
			    "no peer's node key", s->addr, s->keyid,
			    pk_msg_type_name(m->type));
			session_error(s, PK_ERRC_UNAUTHORIZED,
			    "not a peer's node key");
			return;
		}
		if (p->pending) {
			log_warnx("session: %s: %s from peer %s, which is "
			    "pending acceptance", s->addr,
			    pk_msg_type_name(m->type), p->name);
			session_error(s, PK_ERRC_UNAUTHORIZED,
			    "pending acceptance by an operator");
			return;
		}
		break;
	default:
		session_error(s, PK_ERRC_PROTOCOL, "unexpected message");
		log_warnx("session: %s: unexpected %s", s->addr,
		    pk_msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case PK_MSG_HEARTBEAT:
		metrics_heartbeat_in();
		peer_alive(p, now, "heartbeat-in", s->addr);
		pk_msg_init(&reply, PK_MSG_HEARTBEAT_REPLY);
		reply.u.heartbeat.nonce = m->u.heartbeat.nonce;
		(void)session_send(s, &reply, 0);
		break;
	case PK_MSG_DEPOSIT:
		session_deposit(s, p, m);
		break;
	case PK_MSG_WITHDRAW:
		session_withdraw(s, p, m);
		break;
	case PK_MSG_NOTICE:
		memcpy(text, m->u.notice.text.p, m->u.notice.text.len);
		text[m->u.notice.text.len] = '\0';
		peer_notice(p, now, (uint64_t)m->u.notice.window * 1000,
		    s->addr, text);
		session_ack(s, PK_MSG_NOTICE);
		break;
	}
}

/* Reads and handles one frame; see session-int.h. */
int
session_read_frame(struct session *s)
{
	struct pk_msg	 m;
	size_t		 framelen, want;
	ssize_t		 n;
	uint8_t		*nb;
	int		 r;

	for (;;) {
		r = pk_frame_next(s->in, s->inlen, node->conf.max_frame,
		    &framelen);
		if (r == 0) {
			if ((r = pk_msg_decode(s->in, framelen, &m)) != 0) {
				log_warnx("session: %s: bad frame: %s",
				    s->addr, pk_strerror(r));
				session_error(s, r == PK_ERR_BAD_VERSION ?
				    PK_ERRC_VERSION : PK_ERRC_PROTOCOL,
				    pk_strerror(r));
				return 1;
			}
			session_request(s, &m);
			/* The request's fields pointed into s->in. */
			memmove(s->in, s->in + framelen, s->inlen - framelen);
			s->inlen -= framelen;
			session_deadline(s, s->idle_ms);
			return 1;
		}
		if (r != PK_ERR_TRUNCATED) {
			log_warnx("session: %s: bad frame: %s", s->addr,
			    pk_strerror(r));
			session_error(s, r == PK_ERR_TOO_LARGE ?
			    PK_ERRC_TOO_LARGE : PK_ERRC_PROTOCOL,
			    pk_strerror(r));
			return 1;
		}
		want = framelen > s->inlen ? framelen : s->inlen + 512;
		if (want > s->insize) {
			if (want < SESSION_IN_INITIAL)
				want = SESSION_IN_INITIAL;
			if ((nb = realloc(s->in, want)) == NULL) {
				session_fail(s, "buffer", PK_ERR_ALLOC);
				return 0;
			}
			s->in = nb;
			s->insize = want;
		}
		n = pk_tls_recv(s->tls, s->in + s->inlen, s->insize - s->inlen);
		if (n == PK_ERR_AGAIN)
			return 0;
		if (n == PK_ERR_EOF && s->inlen == 0) {
			log_debug("session: %s: peer closed", s->addr);
			s->dead = 1;
			return 0;
		}
		if (n < 0) {
			session_fail(s, "read", (int)n);
			return 0;
		}
		s->inlen += (size_t)n;
	}
}
