/*
 * peer.c: the peers this node guards: how one is made, its liveness and
 * the release policy.
 *
 * A peer is made, stored and removed in peer-new.c (peer_new: the name
 * rules, the key checks and the default policy, for control "add", JOIN
 * and INTRODUCE alike). This file is where its state changes, and where
 * the release is
 * decided (peer_release, for the native UNLOCK and Mandos alike). Each
 * change is written to the store together with its audit event, in one
 * transaction (a state change of store.h), and logged. The rules
 * (doc/peerkeyd.8, "LIVENESS"):
 *
 *  - A peer is enabled while now < expires, and only then may its blobs be
 *    released. expires is monotonic time; what is saved is "remaining", the
 *    time it had left, so that this node's own downtime does not count
 *    against its peers and a wall-clock jump changes nothing.
 *  - A proof of life from the peer's NODE key (a heartbeat answered, or a
 *    heartbeat received; a configured checker command for Mandos clients,
 *    which have no node key) sets expires to at least now + timeout, and
 *    re-enables a peer that was disabled by timeout. A peer disabled by an
 *    operator stays disabled until an operator enables it.
 *  - When expires passes the peer is disabled by timeout, logged and
 *    recorded (Mandos does this silently).
 *  - A release pushes expires to at least now + extended_timeout, so the
 *    peer has time to finish booting, but for a peer with a node key never
 *    past proof_until + extended_timeout, proof_until being the expiry its
 *    last proof of life set (or an operator's enable): however many
 *    UNLOCKs a boot key makes, they never keep a machine enabled on their
 *    own (a thief holds the boot key, not the node key). A peer without a
 *    node key (a Mandos client, whose liveness is its checker command)
 *    keeps Mandos' rule: each release extends it (doc/mandos-compat.md).
 *  - Guarding follows holding (liveness.guard = held, the default): this
 *    node heartbeats only the peers it holds a blob or share of, a Mandos
 *    client it serves among them, so that its work grows with its
 *    guardian duties, not with the cluster. A peer it holds nothing of is
 *    "unguarded" (peer_guarded()): no heartbeat is sent to it, its clock
 *    is not watched (it is never disabled by timeout: there is nothing to
 *    release, and a timeout would be a false alarm), an UNLOCK of its boot
 *    key is refused "no-blobs"; a heartbeat it sends is still answered
 *    and still a proof of life, and an operator's disable still stands.
 *    A DEPOSIT from its node key starts guarding it at once: the deposit
 *    came over a session that key authenticated, so it is a proof of life
 *    (peer_deposited(): enabled with a full timeout, re-enabled if it had
 *    timed out), and its heartbeats begin within one interval. An
 *    operator's blob-put starts the checks at once but proves nothing: a
 *    peer whose time ran out while unguarded is disabled by timeout until
 *    its first good check. When its last blob is withdrawn it is
 *    unguarded again. liveness.guard = all guards every peer, as before.
 *  - A peer a member introduced may be held pending (introduced-pending):
 *    then it is not guarded, not enabled and never released to, and its
 *    node key may do nothing, until an operator accepts it (peer_accept).
 *  - Policy before release: blobs held; optionally a planned-reboot NOTICE
 *    still valid; optionally an operator's approval (approve/deny within
 *    approval_delay, else the default), valid for approval_duration.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "addr.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "store.h"

#define PEER_SCAN_MAX	60000	/* ms between full expiry scans at most */

static int	peer_record(struct peer *, uint64_t now, const char *kind,
		    const char *addr, const char *detail);
static void	peer_expiry_note(const struct peer *);
static int	peer_unlock_decision(struct peer *, uint64_t now, int *reason);
static void	peer_released(struct peer *, uint64_t now, const char *addr,
		    const char *how);
static void	peer_refused(struct peer *, const char *boot_keyid,
		    uint64_t now, const char *addr, int reason,
		    const char *how);

/*
 * Returns the peer whose string field at offset off (of struct peer) is
 * v, or NULL; "" is no one's (a peer without a node key has node_keyid
 * "", and no peer has an empty name or boot key id).
 */
static struct peer *
peer_by(size_t off, const char *v)
{
	struct peer	*p;

	if (*v == '\0')
		return NULL;
	TAILQ_FOREACH(p, &node->peers, entry)
		if (strcmp((const char *)p + off, v) == 0)
			return p;
	return NULL;
}

/* Returns the peer whose boot key has this id, or NULL. */
struct peer *
peer_by_boot_keyid(const char *keyid)
{
	return peer_by(offsetof(struct peer, boot_keyid), keyid);
}

/* Returns the peer whose node key has this id, or NULL. */
struct peer *
peer_by_node_keyid(const char *keyid)
{
	return peer_by(offsetof(struct peer, node_keyid), keyid);
}

/* Returns the peer of that name, or NULL. */
struct peer *
peer_by_name(const char *name)
{
	return peer_by(offsetof(struct peer, name), name);
}

/* Milliseconds from now until t (0 once passed). */
static uint64_t
peer_left(uint64_t t, uint64_t now)
{
	return t > now ? t - now : 0;
}

/* Sets p's saved times as of now; see node.h. */
void
peer_remaining_set(struct peer *p, uint64_t now)
{
	p->remaining = peer_left(p->expires, now);
	p->proof_remaining = peer_left(p->proof_until, now);
}

/* A proof of life (or an operator's word) lets p live until now + timeout. */
static void
peer_proved(struct peer *p, uint64_t now)
{
	if (p->expires < now + p->timeout)
		p->expires = now + p->timeout;
	if (p->proof_until < now + p->timeout)
		p->proof_until = now + p->timeout;
}

/* Is p enabled only by a release's extension; see node.h. */
int
peer_extended(const struct peer *p, uint64_t now)
{
	return p->node_keyid[0] != '\0' && p->disabled_by == PEER_DIS_NONE &&
	    now < p->expires && now >= p->proof_until;
}

/*
 * Records nobody is told of, written on the unlock path, need not wait for
 * the disk: a fsync per unlock would cap the node at a few hundred unlocks
 * a second. They survive a crash of the daemon; a power loss may undo the
 * last of them, up to the next durable commit (the periodic alive mark at
 * the latest). What an operator or a peer is told was done (enable,
 * disable, approve, deny, deposit, notice) and every disable stays durable.
 * These records change nothing but the peer's liveness (the expiry a
 * release extends, the check times and result), so only those columns are
 * written (store_peer_save_liveness()): a release costs one row and one
 * event, not a rewrite of the row's name and key indexes.
 */
static int
peer_lazy_kind(const char *kind)
{
	return strcmp(kind, "released") == 0 || strcmp(kind, "refused") == 0 ||
	    strcmp(kind, "check-ok") == 0 || strcmp(kind, "check-failed") == 0 ||
	    strcmp(kind, "approval-pending") == 0;
}

/*
 * Writes the peer's persistent state and one audit event in a single
 * transaction. A store failure is logged; the in-memory state stands (a
 * disable is never undone because the disk is full). Returns 0, or the
 * store's error (callers that acknowledge a change must say it was not
 * saved).
 */
static int
peer_record(struct peer *p, uint64_t now, const char *kind, const char *addr,
    const char *detail)
{
	int	 r;

	peer_remaining_set(p, now);
	if (peer_lazy_kind(kind))
		r = store_peer_save_liveness(node->store, p, STORE_LAZY,
		    wall_ms(), kind, addr, detail);
	else
		r = store_peer_save(node->store, p, 0, wall_ms(), kind, addr,
		    detail);
	if (r != 0)
		log_warnx("store: cannot record %s of peer %s: %s (%s)", kind,
		    p->name, pk_strerror(r), store_errmsg(node->store));
	return r;
}

/* Does this node guard p (heartbeat it, time it out)? The file comment. */
int
peer_guarded(const struct peer *p)
{
	return !p->pending && (node->conf.guard == NODE_GUARD_ALL ||
	    p->nblobs > 0);
}

/*
 * Disables p by timeout if its time is up. Returns 1 if p is enabled; an
 * unguarded peer is not, and is never timed out.
 */
int
peer_enabled(struct peer *p, uint64_t now)
{
	char	 buf[32], detail[96];

	if (p->pending || p->disabled_by != PEER_DIS_NONE || !peer_guarded(p))
		return 0;
	if (now < p->expires)
		return 1;
	p->disabled_by = PEER_DIS_TIMEOUT;
	p->pending_since = 0;
	snprintf(detail, sizeof(detail), "unseen for longer than its timeout "
	    "(%s)", pk_format_duration(p->timeout, buf, sizeof(buf)));
	log_warnx("peer %s: disabled: %s", p->name, detail);
	peer_record(p, now, "disabled", NULL, detail);
	return 0;
}

/* The state status and the metrics show (node.h). */
const char *
peer_state_name(struct peer *p, uint64_t now)
{
	if (p->pending)
		return "pending";
	if (p->disabled_by == PEER_DIS_OPERATOR)
		return "disabled-by-operator";
	if (!peer_guarded(p))
		return "unguarded";
	return peer_enabled(p, now) ? "enabled" : "disabled";
}

/*
 * A proof of life: how says which ("heartbeat", "heartbeat-in",
 * "checker"), addr where it came from.
 */
void
peer_alive(struct peer *p, uint64_t now, const char *how, const char *addr)
{
	int	 was_ok = p->last_check_ok, reenabled = 0;

	peer_proved(p, now);
	p->last_seen = p->last_check = wall_ms();
	p->last_check_ok = 1;
	if (p->disabled_by == PEER_DIS_TIMEOUT) {
		p->disabled_by = PEER_DIS_NONE;
		reenabled = 1;
	}
	peer_expiry_note(p);
	if (reenabled) {
		log_info("peer %s: enabled: %s from its node key at %s",
		    p->name, how, addr ? addr : "?");
		peer_record(p, now, "enabled", addr, how);
	} else if (!was_ok) {
		log_info("peer %s: %s ok at %s", p->name, how,
		    addr ? addr : "?");
		peer_record(p, now, "check-ok", addr, how);
	}
	log_debug("%s: peer %s: %s ok", __func__, p->name, how);
}

/*
 * A blob of p's came from its node key (how "deposit") at addr, or from
 * an operator (addr NULL): a deposit is a proof of life; either starts
 * guarding p if this was its first blob (the file comment).
 */
void
peer_deposited(struct peer *p, uint64_t now, const char *addr)
{
	if (addr != NULL && p->node_keyid[0] != '\0')
		peer_alive(p, now, "deposit", addr);
	if (checker_update(p))
		log_info("peer %s: guarded from now on: this node holds %d "
		    "blob%s of it", p->name, p->nblobs, p->nblobs == 1 ? "" :
		    "s");
	if (addr == NULL)
		checker_now(p);
}

/* A blob of p's was withdrawn: p may be unguarded now. */
void
peer_withdrawn(struct peer *p)
{
	if (p->cc != NULL && !peer_guarded(p)) {
		checker_remove(p);
		log_info("peer %s: unguarded: this node holds nothing of it",
		    p->name);
	}
}

/*
 * A failed check. The first failure after a success is recorded, and then
 * every change of reason (not of address): a peer that goes down and then
 * shows a wrong node key at its address is two events, not one, and a
 * peer never reached is one event, not one per interval.
 */
void
peer_check_failed(struct peer *p, uint64_t now, const char *why)
{
	const char	*reason = strrchr(why, ':');
	int		 was_ok = p->last_check_ok;

	reason = reason != NULL ? reason + 1 : why;
	p->last_check = wall_ms();
	p->last_check_ok = 0;
	if (was_ok ||
	    strncmp(p->last_fail, reason, sizeof(p->last_fail) - 1) != 0) {
		snprintf(p->last_fail, sizeof(p->last_fail), "%s", reason);
		log_info("peer %s: check failed: %s", p->name, why);
		peer_record(p, now, "check-failed", NULL, why);
	} else
		log_debug("%s: peer %s: check failed: %s", __func__, p->name,
		    why);
	(void)peer_enabled(p, now);
}

/* Is b a share of a k-of-n split (a signed blob with k >= 2)? */
static int
peer_blob_is_share(const struct store_blob *b)
{
	struct pk_sblob	 sb;
	char		*cause = NULL;
	int		 r;

	if (!pk_sblob_is(b->data, b->len))
		return 0;
	r = pk_sblob_decode(b->data, b->len, &sb, &cause);
	free(cause);
	return r == 0 && sb.k >= 2;
}

/*
 * Drops the shares of k-of-n splits from rel's blobs (a Mandos client's
 * answer is one whole secret: doc/mandos-compat.md); the count left.
 */
static size_t
peer_whole_blobs(struct peer_release *rel)
{
	struct store_blob	 t;
	size_t			 i, n = 0;

	for (i = 0; i < rel->nblobs; i++) {
		if (peer_blob_is_share(&rel->blobs[i]))
			continue;
		t = rel->blobs[n];
		rel->blobs[n++] = rel->blobs[i];
		rel->blobs[i] = t;
	}
	return n;
}

/*
 * The release decision; see node.h. The UNLOCK of a native session and
 * the Mandos protocol 1 exchange both come here, and differ in two things
 * only: a Mandos client is held while its approval is pending, and asks
 * again every few hundred milliseconds, so its wait is not a refusal (it
 * is recorded once, as "approval-pending"); and it is never given a
 * share of a k-of-n split, only whole blobs (first in rel->blobs; none:
 * refused as holding nothing for it).
 */
int
peer_release(const char *keyid, int proto, const char *addr, uint64_t now,
    struct peer_release *rel)
{
	const char	*how = proto == PEER_MANDOS ? "mandos" : "native";
	struct peer	*p;
	int		 r;

	memset(rel, 0, sizeof(*rel));
	if ((p = rel->peer = peer_by_boot_keyid(keyid)) == NULL) {
		rel->reason = PK_REFUSE_UNKNOWN;
		goto refused;
	}
	if (!peer_unlock_decision(p, now, &rel->reason)) {
		if (proto == PEER_MANDOS && rel->reason == PK_REFUSE_PENDING)
			return 0;
		goto refused;
	}
	if ((r = store_blobs_get(node->store, p->id, &rel->blobs,
	    &rel->nblobs)) != 0 || rel->nblobs == 0) {
		if (r != 0)
			log_warnx("unlock: peer %s: cannot read blobs: %s",
			    p->name, store_errmsg(node->store));
		rel->reason = r != 0 ? PK_REFUSE_BUSY : PK_REFUSE_NO_BLOBS;
		rel->blobs = NULL;
		rel->nblobs = 0;
		goto refused;
	}
	if (proto == PEER_MANDOS && peer_whole_blobs(rel) == 0) {
		store_blobs_free(rel->blobs, rel->nblobs);
		rel->reason = PK_REFUSE_NO_BLOBS;
		rel->blobs = NULL;
		rel->nblobs = 0;
		goto refused;
	}
	peer_released(p, now, addr, how);
	return 1;
refused:
	peer_refused(p, keyid, now, addr, rel->reason, how);
	return 0;
}

/*
 * Decides whether p's blobs may be released now. Returns 1 to release, or
 * 0 with *reason set to a PK_REFUSE_* value. Approval bookkeeping (a
 * pending request, the default applied after approval_delay) happens here.
 */
static int
peer_unlock_decision(struct peer *p, uint64_t now, int *reason)
{
	if (!p->pending && !peer_guarded(p)) {
		*reason = PK_REFUSE_NO_BLOBS;
		return 0;
	}
	if (!peer_enabled(p, now)) {
		*reason = PK_REFUSE_DISABLED;
		return 0;
	}
	if (p->nblobs == 0) {
		*reason = PK_REFUSE_NO_BLOBS;
		return 0;
	}
	if (p->require_notice && now >= p->notice_until) {
		*reason = PK_REFUSE_NO_NOTICE;
		return 0;
	}
	if (p->approval_delay == 0)
		return 1;
	if (p->decision != PEER_DECIDE_NONE && now < p->decision_until) {
		if (p->decision == PEER_DECIDE_APPROVED)
			return 1;
		*reason = PK_REFUSE_DENIED;
		return 0;
	}
	p->decision = PEER_DECIDE_NONE;
	if (p->pending_since == 0) {
		p->pending_since = now;
		log_info("peer %s: unlock awaits approval", p->name);
		peer_record(p, now, "approval-pending", NULL, NULL);
		*reason = PK_REFUSE_PENDING;
		return 0;
	}
	if (now - p->pending_since < p->approval_delay) {
		*reason = PK_REFUSE_PENDING;
		return 0;
	}
	/* The delay has passed with no decision: the default applies. */
	p->pending_since = 0;
	p->decision = p->approved_by_default ? PEER_DECIDE_APPROVED :
	    PEER_DECIDE_DENIED;
	p->decision_until = now + p->approval_duration;
	log_info("peer %s: no decision within the approval delay: %s by "
	    "default", p->name, p->approved_by_default ? "approved" : "denied");
	peer_record(p, now, p->approved_by_default ? "approved" : "denied",
	    NULL, "by default");
	if (p->approved_by_default)
		return 1;
	*reason = PK_REFUSE_DENIED;
	return 0;
}

/*
 * Records a release to addr and grants the extended timeout: to a peer
 * with a node key, no further than its last proof of life allows (the
 * file comment).
 */
static void
peer_released(struct peer *p, uint64_t now, const char *addr,
    const char *how)
{
	uint64_t	 until = now + p->extended_timeout;

	if (p->node_keyid[0] != '\0' &&
	    until > p->proof_until + p->extended_timeout)
		until = p->proof_until + p->extended_timeout;
	if (p->expires < until)
		p->expires = until;
	p->pending_since = 0;
	metrics_release(how);
	log_info("unlock: peer %s: released %d blob%s to %s (%s)", p->name,
	    p->nblobs, p->nblobs == 1 ? "" : "s", addr, how);
	peer_record(p, now, "released", addr, how);
}

/* Records a refusal to addr. */
static void
peer_refused(struct peer *p, const char *boot_keyid, uint64_t now,
    const char *addr, int reason, const char *how)
{
	char		 detail[160], src[PK_ADDR_LEN];

	metrics_refusal(how, reason);

	snprintf(detail, sizeof(detail), "%s (%s)", pk_refusal_name(reason),
	    how);
	if (p == NULL) {
		/* Anyone can ask with a new key: counted per source. */
		budget_source_name(addr, src, sizeof(src));
		tally(PK_TALLY_INFO, "unlock-unknown", src, "refused",
		    "unlock: unknown boot key %s from %s refused (%s)",
		    boot_keyid, addr, how);
		return;
	}
	log_info("unlock: peer %s: refused to %s: %s", p->name, addr,
	    detail);
	peer_record(p, now, "refused", addr, detail);
}

/*
 * An operator's word enables p with a fresh timeout (it counts as a proof
 * of life), recorded as kind ("enabled", "accepted"). Returns 0, or the
 * store's error (the change is in effect but not saved).
 */
static int
peer_operator_on(struct peer *p, uint64_t now, const char *kind,
    const char *who)
{
	p->disabled_by = PEER_DIS_NONE;
	peer_proved(p, now);
	peer_expiry_note(p);
	log_info("peer %s: %s by %s", p->name, kind, who);
	return peer_record(p, now, kind, NULL, who);
}

/* An operator enables p; see peer_operator_on(). */
int
peer_operator_enable(struct peer *p, uint64_t now, const char *who)
{
	return peer_operator_on(p, now, "enabled", who);
}

/* An operator disables p: it stays disabled until enabled by hand.
 * Returns 0, or the store's error (in effect but not saved). */
int
peer_operator_disable(struct peer *p, uint64_t now, const char *who)
{
	p->disabled_by = PEER_DIS_OPERATOR;
	p->pending_since = 0;
	log_info("peer %s: disabled by %s", p->name, who);
	return peer_record(p, now, "disabled", NULL, who);
}

/* An operator approves (approve = 1) or denies p's unlock. Returns 0, or
 * the store's error (in effect but not saved). */
int
peer_operator_decide(struct peer *p, uint64_t now, int approve,
    const char *who)
{
	p->decision = approve ? PEER_DECIDE_APPROVED : PEER_DECIDE_DENIED;
	p->decision_until = now + p->approval_duration;
	p->pending_since = 0;
	log_info("peer %s: %s by %s", p->name, approve ? "approved" : "denied",
	    who);
	return peer_record(p, now, approve ? "approved" : "denied", NULL, who);
}

/* An operator accepts a pending peer; see node.h. */
int
peer_accept(struct peer *p, uint64_t now, const char *who)
{
	p->pending = 0;
	return peer_operator_on(p, now, "accepted", who);
}

/* How many peers introducer_keyid introduced; see node.h. */
int
peer_introduced_count(const char *introducer_keyid)
{
	struct peer	*p;
	int		 n = 0;

	TAILQ_FOREACH(p, &node->peers, entry)
		if (strcmp(p->introduced_by, introducer_keyid) == 0)
			n++;
	return n;
}

/* A planned-reboot NOTICE from p's node key, valid for window ms. */
void
peer_notice(struct peer *p, uint64_t now, uint64_t window, const char *addr,
    const char *text)
{
	char	 buf[32], detail[PK_TEXT_MAX + 64];

	p->notice_until = now + window;
	snprintf(detail, sizeof(detail), "for %s: %s",
	    pk_format_duration(window, buf, sizeof(buf)), text);
	log_info("peer %s: planned reboot announced %s", p->name, detail);
	peer_record(p, now, "notice", addr, detail);
}

/*
 * Tells peer_tick() that p may now expire before every other peer: called
 * wherever a peer is put on the list (peer_insert) or (re-)enabled with a
 * new expiry.
 */
static void
peer_expiry_note(const struct peer *p)
{
	if (p->disabled_by == PEER_DIS_NONE && p->expires < node->expiry_floor)
		node->expiry_floor = p->expires;
}

/*
 * Disables every peer whose time is up; returns the monotonic time of the
 * next expiry (0 if none), for the caller's timer. Walking 1,000 peers
 * every second was the largest item of guarding them after the heartbeats
 * themselves, so the walk is made only when the earliest expiry seen (the
 * floor, lowered by peer_expiry_note()) has come, or once every
 * PEER_SCAN_MAX in any case.
 */
uint64_t
peer_tick(uint64_t now)
{
	struct peer	*p;
	uint64_t	 next = 0;

	if (now < node->expiry_floor &&
	    now - node->expiry_scan < PEER_SCAN_MAX)
		return node->expiry_floor == UINT64_MAX ? 0 :
		    node->expiry_floor;
	TAILQ_FOREACH(p, &node->peers, entry) {
		if (!peer_enabled(p, now))
			continue;
		if (next == 0 || p->expires < next)
			next = p->expires;
	}
	node->expiry_floor = next != 0 ? next : UINT64_MAX;
	node->expiry_scan = now;
	return next;
}

/*
 * The periodic "alive" mark: saves every peer's remaining time and this
 * node's alive time in one transaction. After a crash a peer's remaining
 * time is off by at most one mark: the time since the last mark counts as
 * this node's downtime, and a heartbeat since then is forgotten. State
 * changes (disable, enable, release) are saved when they happen.
 */
void
peer_save_all(uint64_t now)
{
	struct peer	*p, **v;
	size_t		 n = 0;
	int		 r;

	if ((v = calloc(node->npeers ? node->npeers : 1, sizeof(*v))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;
	}
	TAILQ_FOREACH(p, &node->peers, entry) {
		peer_remaining_set(p, now);
		v[n++] = p;
	}
	if ((r = store_liveness_save(node->store, v, n, wall_ms())) != 0)
		log_warnx("store: cannot save liveness: %s (%s)",
		    pk_strerror(r), store_errmsg(node->store));
	free(v);
}

/* Rebuilds run-time state after loading p from the store at now. */
void
peer_restore(struct peer *p, uint64_t now)
{
	p->expires = p->disabled_by == PEER_DIS_NONE ? now + p->remaining : 0;
	p->proof_until = now + p->proof_remaining;
	p->notice_until = 0;
	p->pending_since = 0;
	p->decision = PEER_DECIDE_NONE;
}

/*
 * Puts p (added, joined or loaded) on the node's list of peers; it may
 * now expire before every other one (peer_tick()'s floor).
 */
void
peer_insert(struct peer *p)
{
	TAILQ_INSERT_TAIL(&node->peers, p, entry);
	node->npeers++;
	peer_expiry_note(p);
}
