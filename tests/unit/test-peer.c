/*
 * test-peer.c: peer.c, the peers this node guards: the peer constructor
 * (peer_new, peer_add, peer_remove) that control "add", JOIN and
 * INTRODUCE share, and the release decision (peer_release()) that both
 * the native UNLOCK and the Mandos protocol 1 exchange call.
 *
 * The constructor: the name rules, the key checks, the defaults, and the
 * refusals that write nothing. The release decision is a table: every
 * liveness state of a peer (enabled; its time just up; disabled by
 * timeout; disabled by an operator; and a boot key no peer has) crossed
 * with every release policy (none; nothing deposited; a planned-reboot
 * notice required, given, missing or stale; an operator's approval asked
 * for the first time, still awaited, given, refused, lapsed, and the
 * default after the delay, either way), over each protocol. For each:
 * released or which refusal, the blobs handed out, the audit events
 * recorded (in order), and after a release the extended timeout granted.
 * Then the bound on that extension: releases never keep a peer with a
 * node key enabled past its last proof of life + timeout + extended
 * timeout, and do keep a Mandos client (Mandos' rule).
 * Refusals of unknown keys from one source are folded (tally.c): one
 * event at once, then one with the count per interval.
 *
 * The daemon's real peer.c and store run here on a scratch database;
 * only what peerkeyd.c's main() would put in the struct node is filled in
 * by hand.
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "io.h"
#include "key.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"
#include "sblob.h"
#include "store.h"
#include "test_helper.h"

#define SELF_KEYID	"e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0" \
			"e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"

#define NOW		10000000ULL	/* monotonic ms, as peer.c sees it */
#define TIMEOUT		60000ULL
#define EXTENDED	900000ULL
#define DELAY		30000ULL	/* approval_delay */
#define DURATION	5000ULL		/* approval_duration */

enum state {
	ST_ENABLED,		/* now < expires */
	ST_DUE,			/* enabled, but its time is up now */
	ST_TIMEOUT,		/* disabled by timeout */
	ST_OPERATOR,		/* disabled by an operator */
	ST_UNKNOWN,		/* no peer has the boot key */
	ST_MAX_
};
static const char *const state_name[] = {
	"enabled", "time up", "disabled by timeout", "disabled by operator",
	"unknown key"
};

enum policy {
	PO_NONE,		/* blobs, nothing else asked */
	PO_NO_BLOBS,		/* nothing deposited */
	PO_NOTICE_MISSING,	/* require_notice, none given */
	PO_NOTICE_GIVEN,	/* require_notice, one valid now */
	PO_NOTICE_STALE,	/* require_notice, expired */
	PO_ASK_FIRST,		/* approval_delay, first ask */
	PO_ASK_WAITING,		/* asked before, within the delay */
	PO_APPROVED,		/* an operator approved, still valid */
	PO_DENIED,		/* an operator denied, still valid */
	PO_LAPSED,		/* approved, but approval_duration passed */
	PO_DEFAULT_YES,		/* the delay passed; approved by default */
	PO_DEFAULT_NO,		/* the delay passed; denied by default */
	PO_MAX_
};
static const char *const policy_name[] = {
	"no policy", "nothing deposited", "notice required, none",
	"notice required, given", "notice required, stale",
	"approval: first ask", "approval: still waiting", "approval: approved",
	"approval: denied", "approval: lapsed", "approval: default yes",
	"approval: default no"
};

/* Appends word to buf, space separated. */
static void
add_word(char *buf, size_t len, const char *word)
{
	size_t	 n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n > 0 ? " " : "", word);
}

/* What the table expects: 0 released, else a PK_REFUSE_*. */
static int
expected_reason(enum state st, enum policy po)
{
	if (st == ST_UNKNOWN)
		return PK_REFUSE_UNKNOWN;
	if (st != ST_ENABLED)
		return PK_REFUSE_DISABLED;
	switch (po) {
	case PO_NONE:
	case PO_NOTICE_GIVEN:
	case PO_APPROVED:
	case PO_DEFAULT_YES:
		return 0;
	case PO_NO_BLOBS:
		return PK_REFUSE_NO_BLOBS;
	case PO_NOTICE_MISSING:
	case PO_NOTICE_STALE:
		return PK_REFUSE_NO_NOTICE;
	case PO_ASK_FIRST:
	case PO_ASK_WAITING:
	case PO_LAPSED:
		return PK_REFUSE_PENDING;
	case PO_DENIED:
	case PO_DEFAULT_NO:
		return PK_REFUSE_DENIED;
	default:
		return -1;
	}
}

/*
 * The events the table expects, space separated kinds, in order: what
 * the decision records on its way, then the release or the refusal.
 */
static void
expected_events(enum state st, enum policy po, int proto, char *buf,
    size_t len)
{
	int	 reason = expected_reason(st, po);

	buf[0] = '\0';
	if (st == ST_DUE)
		add_word(buf, len, "disabled");
	if (st == ST_ENABLED) {
		if (po == PO_ASK_FIRST || po == PO_LAPSED)
			add_word(buf, len, "approval-pending");
		if (po == PO_DEFAULT_YES)
			add_word(buf, len, "approved");
		if (po == PO_DEFAULT_NO)
			add_word(buf, len, "denied");
	}
	/* A Mandos client is held while it waits: no refusal each time. */
	if (reason == 0)
		add_word(buf, len, "released");
	else if (!(proto == PEER_MANDOS && reason == PK_REFUSE_PENDING))
		add_word(buf, len, "refused");
}

/* Collects the kinds of events after id since, space separated. */
struct kinds {
	int64_t	 since;
	char	 buf[256];
	char	 detail[256];	/* of the last one */
};

static int
kinds_cb(const struct store_event_row *e, void *arg)
{
	struct kinds	*k = arg;

	if (e->id <= k->since)
		return 0;
	add_word(k->buf, sizeof(k->buf), e->kind);
	snprintf(k->detail, sizeof(k->detail), "%s", e->detail);
	return 0;
}

/* Collects into k the kinds of peer's events (every event's when peer is
 * NULL); 0 or the store's error. */
static int
kinds_of(const char *peer, struct kinds *k)
{
	struct store_event_filter	f;

	memset(&f, 0, sizeof(f));
	f.peer = peer;
	return store_events_query(node->store, peer != NULL ? &f : NULL,
	    kinds_cb, k);
}

/* Keeps the id of the newest event. */
static int
last_id_cb(const struct store_event_row *e, void *arg)
{
	*(int64_t *)arg = e->id;
	return 0;
}

static int64_t
last_event_id(void)
{
	int64_t	 id = 0;

	ASSERT_INT_EQ(store_events_query(node->store, NULL, last_id_cb, &id),
	    0);
	return id;
}

/* Makes the peer of case n in state st under policy po; NULL unknown. */
static struct peer *
make_peer(int n, enum state st, enum policy po, char *bootid)
{
	struct peer	*p;
	uint8_t		 blob[32];

	snprintf(bootid, PK_KEYID_HEXLEN + 1, "%064x", n + 1);
	if (st == ST_UNKNOWN)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		exit(99);
	snprintf(p->name, sizeof(p->name), "case-%d", n);
	snprintf(p->node_keyid, sizeof(p->node_keyid), "%064x", n + 100000);
	snprintf(p->boot_keyid, sizeof(p->boot_keyid), "%s", bootid);
	p->timeout = TIMEOUT;
	p->interval = 10000;
	p->extended_timeout = EXTENDED;
	p->approval_duration = DURATION;
	p->approved_by_default = 1;
	p->remaining = TIMEOUT;
	ASSERT_INT_EQ(store_peer_add(node->store, p, NULL, 1, "test"), 0);
	memset(blob, n, sizeof(blob));
	if (po != PO_NO_BLOBS) {
		ASSERT_INT_EQ(store_blob_deposit(node->store, p, "disk-a", blob,
		    sizeof(blob), 0, 1, NULL, NULL), 0);
		ASSERT_INT_EQ(store_blob_deposit(node->store, p, "disk-b", blob,
		    sizeof(blob) / 2, 0, 1, NULL, NULL), 0);
	}
	peer_insert(p);

	p->expires = p->proof_until = NOW + TIMEOUT / 2;
	switch (st) {
	case ST_DUE:
		p->expires = NOW;
		break;
	case ST_TIMEOUT:
		p->expires = NOW - 1;
		p->disabled_by = PEER_DIS_TIMEOUT;
		break;
	case ST_OPERATOR:
		p->disabled_by = PEER_DIS_OPERATOR;
		break;
	default:
		break;
	}
	switch (po) {
	case PO_NOTICE_MISSING:
		p->require_notice = 1;
		break;
	case PO_NOTICE_GIVEN:
		p->require_notice = 1;
		p->notice_until = NOW + 1000;
		break;
	case PO_NOTICE_STALE:
		p->require_notice = 1;
		p->notice_until = NOW;
		break;
	case PO_ASK_FIRST:
		p->approval_delay = DELAY;
		break;
	case PO_ASK_WAITING:
		p->approval_delay = DELAY;
		p->pending_since = NOW - DELAY + 1;
		break;
	case PO_APPROVED:
	case PO_DENIED:
		p->approval_delay = DELAY;
		p->decision = po == PO_APPROVED ? PEER_DECIDE_APPROVED :
		    PEER_DECIDE_DENIED;
		p->decision_until = NOW + 1;
		break;
	case PO_LAPSED:
		p->approval_delay = DELAY;
		p->decision = PEER_DECIDE_APPROVED;
		p->decision_until = NOW;
		break;
	case PO_DEFAULT_YES:
	case PO_DEFAULT_NO:
		p->approval_delay = DELAY;
		p->approved_by_default = po == PO_DEFAULT_YES;
		p->pending_since = NOW - DELAY;
		break;
	default:
		break;
	}
	return p;
}

/* Runs one case of the table over one protocol. */
static void
run_case(int n, enum state st, enum policy po, int proto)
{
	struct peer_release	 rel;
	struct peer		*p;
	struct kinds		 k;
	char			 bootid[PK_KEYID_HEXLEN + 1], want[256];
	char			 detail[256], addr[32];
	int			 r, reason = expected_reason(st, po);

	p = make_peer(n, st, po, bootid);
	/*
	 * Each case in an interval of its own: new sources beyond
	 * TALLY_FRESH_MAX in one interval are counted together (below).
	 */
	tally_stop();
	memset(&k, 0, sizeof(k));
	k.since = last_event_id();
	/* A source of its own: repeats from one source are folded. */
	snprintf(addr, sizeof(addr), "192.0.2.%d:4141", n % 250 + 1);
	r = peer_release(bootid, proto, addr, NOW, &rel);
	ASSERT_INT_EQ(r, reason == 0);
	ASSERT_TRUE(rel.peer == p);
	if (r) {
		ASSERT_INT_EQ(rel.nblobs, 2);
		if (rel.nblobs == 2) {
			ASSERT_STR_EQ(rel.blobs[0].id, "disk-a");
			ASSERT_INT_EQ(rel.blobs[0].len, 32);
			ASSERT_INT_EQ(rel.blobs[1].len, 16);
		}
		/* The peer has time to finish booting. */
		ASSERT_TRUE(p->expires >= NOW + EXTENDED);
		ASSERT_INT_EQ(p->pending_since, 0);
	} else {
		ASSERT_INT_EQ(rel.reason, reason);
		ASSERT_TRUE(rel.blobs == NULL);
		ASSERT_INT_EQ(rel.nblobs, 0);
	}
	store_blobs_free(rel.blobs, rel.nblobs);

	/* What was recorded. */
	ASSERT_INT_EQ(kinds_of(p != NULL ? p->name : NULL, &k), 0);
	expected_events(st, po, proto, want, sizeof(want));
	ASSERT_STR_EQ(k.buf, want);
	if (reason != 0 && strstr(want, "refused") != NULL) {
		if (st == ST_UNKNOWN)
			snprintf(detail, sizeof(detail), "unlock: unknown "
			    "boot key %s from %s refused (%s)", bootid, addr,
			    proto == PEER_MANDOS ? "mandos" : "native");
		else
			snprintf(detail, sizeof(detail), "%s (%s)",
			    pk_refusal_name(reason), proto == PEER_MANDOS ?
			    "mandos" : "native");
		ASSERT_STR_EQ(k.detail, detail);
	}
	if (r)
		ASSERT_STR_EQ(k.detail, proto == PEER_MANDOS ? "mandos" :
		    "native");
	/* Disabled stays disabled: asking changes nothing. */
	if (p != NULL && st != ST_ENABLED)
		ASSERT_INT_NE(p->disabled_by, PEER_DIS_NONE);
}

/* A Mandos client held for approval asks again: no new record. */
static void
test_mandos_held(int n)
{
	struct peer_release	 rel;
	struct peer		*p;
	struct kinds		 k;
	char			 bootid[PK_KEYID_HEXLEN + 1];
	int			 i;

	TEST_START("release: a Mandos client held for approval asks again "
	    "and again, recorded once; then the operator approves");
	p = make_peer(n, ST_ENABLED, PO_ASK_FIRST, bootid);
	memset(&k, 0, sizeof(k));
	k.since = last_event_id();
	for (i = 0; i < 20; i++) {
		ASSERT_INT_EQ(peer_release(bootid, PEER_MANDOS, "192.0.2.8:1",
		    NOW + i * 250, &rel), 0);
		ASSERT_INT_EQ(rel.reason, PK_REFUSE_PENDING);
	}
	ASSERT_INT_EQ(peer_operator_decide(p, NOW + 5000, 1, "test"), 0);
	ASSERT_INT_EQ(peer_release(bootid, PEER_MANDOS, "192.0.2.8:1",
	    NOW + 5250, &rel), 1);
	store_blobs_free(rel.blobs, rel.nblobs);
	ASSERT_INT_EQ(kinds_of(p->name, &k), 0);
	ASSERT_STR_EQ(k.buf, "approval-pending approved released");
	TEST_DONE();
}

/*
 * The extension a release grants is bounded by the last proof of life:
 * a boot key that asks every STEP ms from the last proof on, with no
 * proof since, keeps a peer with a node key enabled until proof +
 * TIMEOUT + EXTENDED at the latest, and no longer; a peer without one (a
 * Mandos client) is extended by every release, as Mandos does. Returns
 * the monotonic time of the first refusal (0: none until limit).
 */
#define STEP	10000ULL

static uint64_t
ask_until(struct peer *p, const char *bootid, uint64_t from, uint64_t limit,
    int proto)
{
	struct peer_release	 rel;
	uint64_t		 t;

	for (t = from; t < limit; t += STEP) {
		if (!peer_release(bootid, proto, "192.0.2.9:1", t, &rel)) {
			ASSERT_INT_EQ(rel.reason, PK_REFUSE_DISABLED);
			return t;
		}
		store_blobs_free(rel.blobs, rel.nblobs);
		/* Never past what the proof allows, for a node key. */
		if (p->node_keyid[0] != '\0')
			ASSERT_TRUE(p->expires <= p->proof_until + EXTENDED);
	}
	return 0;
}

static void
test_extension(int *n)
{
	struct peer_release	 rel;
	struct peer		*p;
	char			 bootid[PK_KEYID_HEXLEN + 1];
	uint64_t		 t, cap;
	int			 proto;

	for (proto = PEER_NATIVE; proto <= PEER_MANDOS; proto++) {
		TEST_START(proto == PEER_NATIVE ?
		    "extension: UNLOCKs every 10 s keep a node-keyed peer no "
		    "longer than proof + timeout + extended (native)" :
		    "extension: the same over Mandos protocol 1");
		p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
		p->expires = p->proof_until = NOW + TIMEOUT;	/* proof at NOW */
		cap = NOW + TIMEOUT + EXTENDED;
		ASSERT_INT_EQ(peer_extended(p, NOW), 0);
		t = ask_until(p, bootid, NOW, NOW + 3 * cap, proto);
		ASSERT_TRUE(t != 0);
		/* Released up to the cap, refused from it on. */
		ASSERT_TRUE(t >= cap && t < cap + STEP);
		ASSERT_INT_EQ(p->expires, cap);
		ASSERT_INT_EQ(p->disabled_by, PEER_DIS_TIMEOUT);
		/* Still refused later, however often it asks. */
		ASSERT_INT_EQ(ask_until(p, bootid, t, t + 5 * STEP, proto), t);
		TEST_DONE();
	}

	TEST_START("extension: status's \"extension\": enabled past the "
	    "proof's expiry only by a release");
	p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
	p->expires = p->proof_until = NOW + TIMEOUT;
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT - 1), 0);
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW + TIMEOUT - 1,
	    &rel), 1);
	store_blobs_free(rel.blobs, rel.nblobs);
	ASSERT_INT_EQ(p->expires, NOW + TIMEOUT - 1 + EXTENDED);
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT - 2), 0);
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT), 1);
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT + EXTENDED - 2), 1);
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT + EXTENDED), 0);
	/* A heartbeat from its node key: a proof, no extension any more. */
	peer_alive(p, NOW + TIMEOUT + 1, "heartbeat", "x");
	ASSERT_INT_EQ(p->proof_until, NOW + 2 * TIMEOUT + 1);
	ASSERT_INT_EQ(peer_extended(p, NOW + TIMEOUT + 2), 0);
	TEST_DONE();

	TEST_START("extension: a heartbeat after the cap re-enables, and "
	    "allows one new extension; an operator's enable counts as proof");
	p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
	p->expires = p->proof_until = NOW + TIMEOUT;
	t = ask_until(p, bootid, NOW, NOW + 10 * (TIMEOUT + EXTENDED),
	    PEER_NATIVE);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_TIMEOUT);
	peer_alive(p, t, "heartbeat", "x");
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
	ASSERT_INT_EQ(ask_until(p, bootid, t, t + 10 * (TIMEOUT + EXTENDED),
	    PEER_NATIVE) >= t + TIMEOUT + EXTENDED, 1);
	ASSERT_INT_EQ(peer_operator_disable(p, t, "test"), 0);
	t += 20 * (TIMEOUT + EXTENDED);
	ASSERT_INT_EQ(peer_operator_enable(p, t, "test"), 0);
	ASSERT_INT_EQ(p->proof_until, t + TIMEOUT);
	ASSERT_INT_EQ(ask_until(p, bootid, t, t + 10 * (TIMEOUT + EXTENDED),
	    PEER_NATIVE) >= t + TIMEOUT + EXTENDED, 1);
	TEST_DONE();

	TEST_START("extension: a Mandos client (no node key) is extended by "
	    "every release, as Mandos does");
	for (proto = PEER_NATIVE; proto <= PEER_MANDOS; proto++) {
		p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
		p->node_keyid[0] = '\0';
		p->expires = p->proof_until = NOW + TIMEOUT;
		ASSERT_INT_EQ(ask_until(p, bootid, NOW,
		    NOW + 3 * (TIMEOUT + EXTENDED), proto), 0);
		ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
		ASSERT_INT_EQ(peer_extended(p, NOW + 2 * (TIMEOUT + EXTENDED)),
		    0);
	}
	TEST_DONE();

	TEST_START("extension: what the proof allows survives a restart "
	    "(saved as proof_remaining), at another monotonic time");
	p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
	p->expires = p->proof_until = NOW + TIMEOUT;
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW + TIMEOUT - 1,
	    &rel), 1);
	store_blobs_free(rel.blobs, rel.nblobs);
	peer_remaining_set(p, NOW + TIMEOUT - 1);
	ASSERT_INT_EQ(p->remaining, EXTENDED);
	ASSERT_INT_EQ(p->proof_remaining, 1);
	peer_restore(p, 5 * NOW);
	ASSERT_INT_EQ(p->expires, 5 * NOW + EXTENDED);
	ASSERT_INT_EQ(p->proof_until, 5 * NOW + 1);
	ASSERT_INT_EQ(peer_extended(p, 5 * NOW + 1), 1);
	TEST_DONE();
}

/*
 * Mandos protocol 1 carries one whole secret: a Mandos client is never
 * given a share of a k-of-n split (doc/mandos-compat.md). With only a
 * share here it is refused as holding nothing for it, where a native
 * UNLOCK gets the share; with a whole blob beside it, the whole blob is
 * the one it gets.
 */
static void
test_mandos_no_shares(int *n)
{
	struct pk_identity	*id = NULL;
	struct peer_release	 rel;
	struct peer		*p;
	uint8_t			*share = NULL, cipher[16], whole[32];
	size_t			 sharelen = 0;
	char			 bootid[PK_KEYID_HEXLEN + 1], *cause = NULL;

	TEST_START("mandos: never a share of a split, only a whole blob");
	ASSERT_INT_EQ(pk_identity_generate(&id), 0);
	p = make_peer((*n)++, ST_ENABLED, PO_NO_BLOBS, bootid);
	memset(cipher, 7, sizeof(cipher));
	ASSERT_INT_EQ(pk_sblob_seal_share(id, bootid, "luks-u@1", 1, 1, 2, 3,
	    1, cipher, sizeof(cipher), &share, &sharelen, &cause), 0);
	ASSERT_INT_EQ(store_blob_deposit(node->store, p, "luks-u@1", share,
	    sharelen, 0, 1, NULL, NULL), 0);
	ASSERT_INT_EQ(p->nblobs, 1);
	ASSERT_INT_EQ(peer_release(bootid, PEER_MANDOS, "x", NOW, &rel), 0);
	ASSERT_INT_EQ(rel.reason, PK_REFUSE_NO_BLOBS);
	ASSERT_TRUE(rel.blobs == NULL);
	ASSERT_INT_EQ(rel.nblobs, 0);
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW, &rel), 1);
	ASSERT_INT_EQ(rel.nblobs, 1);
	store_blobs_free(rel.blobs, rel.nblobs);
	memset(whole, 9, sizeof(whole));
	ASSERT_INT_EQ(store_blob_deposit(node->store, p, "whole", whole,
	    sizeof(whole), 0, 1, NULL, NULL), 0);
	ASSERT_INT_EQ(peer_release(bootid, PEER_MANDOS, "x", NOW, &rel), 1);
	ASSERT_TRUE(rel.nblobs >= 1);
	if (rel.nblobs >= 1) {
		ASSERT_STR_EQ(rel.blobs[0].id, "whole");
		ASSERT_INT_EQ(rel.blobs[0].len, sizeof(whole));
	}
	store_blobs_free(rel.blobs, rel.nblobs);
	free(share);
	free(cause);
	pk_identity_free(id);
	TEST_DONE();
}

/*
 * A pending peer (introduced, introduced-pending): never enabled, never
 * released to, and never disabled by a timeout either (nobody guards it);
 * an operator's accept enables it with a full timeout.
 */
static void
test_pending(int *n)
{
	struct peer_release	 rel;
	struct peer		*p;
	struct kinds		 k;
	char			 bootid[PK_KEYID_HEXLEN + 1];

	TEST_START("pending: refused, not disabled, counted for its "
	    "introducer; accept enables it");
	p = make_peer((*n)++, ST_ENABLED, PO_NONE, bootid);
	p->pending = 1;
	snprintf(p->introduced_by, sizeof(p->introduced_by), "%064x", 4242);
	memset(&k, 0, sizeof(k));
	k.since = last_event_id();
	ASSERT_INT_EQ(peer_introduced_count(p->introduced_by), 1);
	ASSERT_INT_EQ(peer_introduced_count(p->node_keyid), 0);
	ASSERT_INT_EQ(peer_enabled(p, NOW + 10 * TIMEOUT), 0);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
	(void)peer_tick(NOW + 10 * TIMEOUT);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW, &rel), 0);
	ASSERT_INT_EQ(rel.reason, PK_REFUSE_DISABLED);
	ASSERT_INT_EQ(peer_accept(p, NOW + 20 * TIMEOUT, "test"), 0);
	ASSERT_INT_EQ(p->pending, 0);
	ASSERT_INT_EQ(p->expires, NOW + 21 * TIMEOUT);
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW + 20 * TIMEOUT,
	    &rel), 1);
	store_blobs_free(rel.blobs, rel.nblobs);
	ASSERT_INT_EQ(kinds_of(p->name, &k), 0);
	ASSERT_STR_EQ(k.buf, "refused accepted released");
	TEST_DONE();
}

/*
 * liveness.guard = held: a peer this node holds nothing of is unguarded:
 * never timed out, refused as nothing deposited; an operator's disable
 * still shows; once it holds a blob, its clock counts again (a peer whose
 * time ran out meanwhile is disabled by timeout until a proof of life).
 */
static void
test_unguarded(int *n)
{
	struct peer_release	 rel;
	struct peer		*p;
	char			 bootid[PK_KEYID_HEXLEN + 1];

	TEST_START("guard held: a peer held nothing of is unguarded, never "
	    "timed out, refused as nothing deposited");
	node->conf.guard = NODE_GUARD_HELD;
	p = make_peer((*n)++, ST_ENABLED, PO_NO_BLOBS, bootid);
	ASSERT_INT_EQ(p->nblobs, 0);
	ASSERT_INT_EQ(peer_guarded(p), 0);
	ASSERT_STR_EQ(peer_state_name(p, NOW), "unguarded");
	ASSERT_INT_EQ(peer_enabled(p, NOW + 10 * TIMEOUT), 0);
	(void)peer_tick(NOW + 10 * TIMEOUT);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
	ASSERT_STR_EQ(peer_state_name(p, NOW + 10 * TIMEOUT), "unguarded");
	ASSERT_INT_EQ(peer_release(bootid, PEER_NATIVE, "x", NOW + 10 * TIMEOUT,
	    &rel), 0);
	ASSERT_INT_EQ(rel.reason, PK_REFUSE_NO_BLOBS);
	/* A heartbeat of its own still proves it alive. */
	peer_alive(p, NOW + 10 * TIMEOUT, "heartbeat-in", "x");
	ASSERT_INT_EQ(p->expires, NOW + 11 * TIMEOUT);
	/* Held now: its clock counts; past its time it is disabled. */
	p->nblobs = 1;
	ASSERT_INT_EQ(peer_guarded(p), 1);
	ASSERT_STR_EQ(peer_state_name(p, NOW + 10 * TIMEOUT), "enabled");
	ASSERT_INT_EQ(peer_enabled(p, NOW + 12 * TIMEOUT), 0);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_TIMEOUT);
	p->nblobs = 0;
	ASSERT_STR_EQ(peer_state_name(p, NOW + 12 * TIMEOUT), "unguarded");
	ASSERT_INT_EQ(peer_operator_disable(p, NOW + 12 * TIMEOUT, "test"), 0);
	ASSERT_STR_EQ(peer_state_name(p, NOW + 12 * TIMEOUT),
	    "disabled-by-operator");
	p->pending = 1;
	ASSERT_INT_EQ(peer_guarded(p), 0);
	node->conf.guard = NODE_GUARD_ALL;
	ASSERT_INT_EQ(peer_guarded(p), 0);	/* pending: never */
	p->pending = 0;
	ASSERT_INT_EQ(peer_guarded(p), 1);
	TEST_DONE();
}

/* ------------------------------------------------------------------ */
/* The constructor */

/* Counts the events of kind "added" (of any peer). */
static int
count_cb(const struct store_event_row *e, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
count_added(void)
{
	struct store_event_filter	 f;
	int				 n = 0;

	memset(&f, 0, sizeof(f));
	f.kind = "added";
	f.limit = 100000;
	ASSERT_INT_EQ(store_events_query(node->store, &f, count_cb, &n), 0);
	return n;
}

/* Asserts peer_new(spec) fails with a cause that contains want. */
static void
refused(const struct peer_spec *spec, const char *want)
{
	struct peer	*p;
	char		*cause = NULL;

	p = peer_new(spec, &cause);
	ASSERT_TRUE(p == NULL);
	free(p);
	ASSERT_TRUE(cause != NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		test_fail(__FILE__, __LINE__, "cause \"%s\", not \"%s\"",
		    cause, want);
	free(cause);
}

static void
test_constructor(void)
{
	struct peer_spec	 spec, bad;
	struct peer		*p, *q;
	char			 name[PEER_NAME_MAX + 2];
	char			 addrs[PEER_ADDRS_MAX + 2];
	char			*cause = NULL;
	uint64_t		 before;
	int			 added;

	TEST_START("peer_new: the daemon's defaults, key ids normalized");
	memset(&spec, 0, sizeof(spec));
	spec.name = "Alpha-1.b_c";
	spec.boot_keyid = "ABCDEF0123456789ABCDEF0123456789"
	    "ABCDEF0123456789ABCDEF0123456789";
	spec.node_keyid = "0123456789ABCDEF0123456789ABCDEF"
	    "0123456789ABCDEF0123456789ABCDEF";
	spec.addresses = "192.0.2.1:4141 [2001:db8::1]:4141";
	p = peer_new(&spec, &cause);
	ASSERT_TRUE(p != NULL);
	ASSERT_TRUE(cause == NULL);
	if (p == NULL)
		return;
	ASSERT_STR_EQ(p->name, "Alpha-1.b_c");
	ASSERT_STR_EQ(p->boot_keyid, "abcdef0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789");
	ASSERT_STR_EQ(p->node_keyid, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef");
	ASSERT_STR_EQ(p->addresses, spec.addresses);
	ASSERT_INT_EQ(p->timeout, node->conf.timeout);
	ASSERT_INT_EQ(p->interval, node->conf.interval);
	ASSERT_INT_EQ(p->extended_timeout, node->conf.extended_timeout);
	ASSERT_INT_EQ(p->approval_delay, 0);
	ASSERT_INT_EQ(p->approval_duration, 1000);
	ASSERT_INT_EQ(p->approved_by_default, 1);
	ASSERT_INT_EQ(p->require_notice, 0);
	ASSERT_INT_EQ(p->disabled_by, PEER_DIS_NONE);
	ASSERT_INT_EQ(p->id, 0);	/* not stored yet */
	TEST_DONE();

	TEST_START("peer_add: stored with its event, enabled for a full "
	    "timeout, on the list");
	added = count_added();
	before = pk_now_ms();
	ASSERT_INT_EQ(peer_add(p, "ARMOR", "added by test", &cause), 0);
	ASSERT_TRUE(p->id > 0);
	ASSERT_TRUE(peer_by_name("Alpha-1.b_c") == p);
	ASSERT_TRUE(peer_by_boot_keyid(p->boot_keyid) == p);
	ASSERT_TRUE(p->expires >= before + p->timeout);
	ASSERT_INT_EQ(p->remaining, p->timeout);
	ASSERT_INT_EQ(count_added(), added + 1);
	TEST_DONE();

	TEST_START("peer_new: the name rules");
	bad = spec;
	bad.name = NULL;
	refused(&bad, "\"name\" must be 1-64");
	bad.name = "";
	refused(&bad, "\"name\" must be 1-64");
	bad.name = "has space";
	refused(&bad, "\"name\" must be 1-64");
	bad.name = "sl/ash";
	refused(&bad, "\"name\" must be 1-64");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';	/* 65 */
	bad.name = name;
	refused(&bad, "\"name\" must be 1-64");
	name[PEER_NAME_MAX] = '\0';	/* 64: fine, but its keys are taken */
	refused(&bad, "a peer with that key exists");
	TEST_DONE();

	TEST_START("peer_new: the key checks");
	bad = spec;
	bad.name = "other";
	bad.boot_keyid = NULL;
	refused(&bad, "\"boot_keyid\" is missing");
	bad.boot_keyid = "abc";
	refused(&bad, "\"boot_keyid\" is not a key id");
	bad.boot_keyid = "g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	refused(&bad, "\"boot_keyid\" is not a key id");
	bad.boot_keyid = "1111111111111111111111111111111111111111111111111"
	    "111111111111111";
	bad.node_keyid = "12";
	refused(&bad, "\"node_keyid\" is not a key id");
	bad.node_keyid = spec.node_keyid;	/* taken, in upper case */
	refused(&bad, "a peer with that key exists");
	bad.node_keyid = NULL;
	bad.boot_keyid = spec.boot_keyid;
	refused(&bad, "a peer with that key exists");
	bad.boot_keyid = "1111111111111111111111111111111111111111111111111"
	    "111111111111111";
	bad.node_keyid = SELF_KEYID;
	refused(&bad, "that is this node's own key");
	bad.name = spec.name;
	bad.node_keyid = NULL;
	refused(&bad, "a peer named \"Alpha-1.b_c\" exists");
	memset(addrs, '1', sizeof(addrs) - 1);
	addrs[sizeof(addrs) - 1] = '\0';
	bad.name = "other";
	bad.addresses = addrs;
	refused(&bad, "\"addresses\" must be a string of at most 512");
	TEST_DONE();

	TEST_START("peer_new: no node key is a Mandos client; \"\" is none");
	bad = spec;
	bad.name = "mandos-client";
	bad.boot_keyid = "2222222222222222222222222222222222222222222222222"
	    "222222222222222";
	bad.node_keyid = "";
	bad.addresses = NULL;
	q = peer_new(&bad, &cause);
	ASSERT_TRUE(q != NULL);
	if (q != NULL) {
		ASSERT_STR_EQ(q->node_keyid, "");
		ASSERT_STR_EQ(q->addresses, "");
	}
	TEST_DONE();

	TEST_START("peer_add: a store refusal: nothing written, not listed");
	/* In the store but not on the list: the store says it exists. */
	ASSERT_INT_EQ(store_peer_add(node->store, &(struct peer){
	    .name = "mandos-client", .boot_keyid = "3333333333333333333333"
	    "333333333333333333333333333333333333333333", .timeout = 1,
	    .interval = 1 }, NULL, 1, "behind its back"), 0);
	added = count_added();
	ASSERT_INT_EQ(peer_add(q, NULL, "test", &cause), -1);
	ASSERT_TRUE(cause != NULL && strstr(cause, "cannot store the peer: "
	    "it exists") != NULL);
	free(cause);
	cause = NULL;
	ASSERT_TRUE(peer_by_name("mandos-client") == NULL);
	ASSERT_INT_EQ(count_added(), added);
	TEST_DONE();

	TEST_START("peer_remove: gone from the store and the list");
	ASSERT_INT_EQ(peer_remove(p, "test", NULL, NULL, &cause), 0);
	ASSERT_TRUE(peer_by_name("Alpha-1.b_c") == NULL);
	ASSERT_INT_EQ(node->npeers, 0);
	ASSERT_INT_EQ(peer_remove(p, "test", NULL, NULL, &cause), -1);
	ASSERT_TRUE(cause != NULL && strstr(cause, "cannot remove") != NULL);
	free(cause);
	free(p);
	TEST_DONE();
}

/* Counts the events of kind kind at address addr (the callback's arg). */
struct count_at {
	const char	*kind, *addr;
	int		 n;
	char		 last[256];
};

static int
count_at_cb(const struct store_event_row *e, void *arg)
{
	struct count_at	*c = arg;

	if (strcmp(e->kind, c->kind) == 0 && strcmp(e->address, c->addr) == 0) {
		c->n++;
		snprintf(c->last, sizeof(c->last), "%s", e->detail);
	}
	return 0;
}

/*
 * Refusals of unknown keys from one source: the first recorded at once,
 * the rest counted, and one event with the count at the end of the
 * interval (tally.c), however many keys are tried.
 */
static void
test_unknown_repeats(void)
{
	struct peer_release	 rel;
	struct count_at		 c = { "refused", "198.51.100.7", 0, "" };
	char			 key[PK_KEYID_HEXLEN + 1], addr[32];
	int			 i;

	TEST_START("unknown keys from one source: one event, then a count");
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "%064x", 0x51000 + i);
		snprintf(addr, sizeof(addr), "198.51.100.7:%d", 1000 + i);
		ASSERT_INT_EQ(peer_release(key, i % 2 ? PEER_MANDOS :
		    PEER_NATIVE, addr, NOW, &rel), 0);
		ASSERT_INT_EQ(rel.reason, PK_REFUSE_UNKNOWN);
	}
	ASSERT_INT_EQ(store_events_query(node->store, NULL, count_at_cb, &c),
	    0);
	ASSERT_INT_EQ(c.n, 1);
	tally_stop();	/* the end of the interval */
	c.n = 0;
	ASSERT_INT_EQ(store_events_query(node->store, NULL, count_at_cb, &c),
	    0);
	ASSERT_INT_EQ(c.n, 2);
	ASSERT_STR_CONTAINS(c.last, "499 more from 198.51.100.7 in 1m");
	ASSERT_STR_CONTAINS(c.last, "00000000000000000000000000000000"
	    "00000000000000000000000000051" "1f3");
	TEST_DONE();
}

/* Counts the "refused" events after id since (any source). */
struct count_since {
	int64_t	since;
	int	n, others;
};

static int
count_since_cb(const struct store_event_row *e, void *arg)
{
	struct count_since	*c = arg;

	if (e->id > c->since && strcmp(e->kind, "refused") == 0) {
		c->n++;
		if (strcmp(e->address, "others") == 0)
			c->others++;
	}
	return 0;
}

/*
 * Unknown keys from many sources in one interval: the first 8 sources
 * (TALLY_FRESH_MAX) are recorded at once, and the first of the rest
 * under the source "others"; the other 31 are counted there, one event
 * with the count at the end of the interval.
 */
static void
test_unknown_sources(void)
{
	struct peer_release	 rel;
	struct count_since	 c;
	char			 key[PK_KEYID_HEXLEN + 1], addr[32];
	int			 i;

	TEST_START("unknown keys from 40 sources: 8 events, then the others "
	    "together");
	tally_stop();
	memset(&c, 0, sizeof(c));
	c.since = last_event_id();
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "%064x", 0x52000 + i);
		snprintf(addr, sizeof(addr), "203.0.113.%d:4141", i + 1);
		ASSERT_INT_EQ(peer_release(key, PEER_NATIVE, addr, NOW, &rel),
		    0);
		ASSERT_INT_EQ(rel.reason, PK_REFUSE_UNKNOWN);
	}
	ASSERT_INT_EQ(store_events_query(node->store, NULL, count_since_cb,
	    &c), 0);
	ASSERT_INT_EQ(c.n, 9);
	ASSERT_INT_EQ(c.others, 1);
	tally_stop();	/* the end of the interval */
	c.n = 0;
	c.others = 0;
	ASSERT_INT_EQ(store_events_query(node->store, NULL, count_since_cb,
	    &c), 0);
	ASSERT_INT_EQ(c.n, 10);
	ASSERT_INT_EQ(c.others, 2);
	TEST_DONE();
}

int
main(void)
{
	struct pk_identity	 self;
	struct store	*s = NULL;
	char		*cause = NULL;
	char		 title[160];
	int64_t		 last;
	int		 st, po, n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, LOG_DAEMON);
	log_setverbose(0);
	TAILQ_INIT(&node->peers);
	node->expiry_floor = UINT64_MAX;
	node->conf.name = "test-node";
	node->conf.timeout = 300000;
	node->conf.interval = 60000;
	node->conf.extended_timeout = 900000;
	node->conf.repeat_interval = 60000;
	/* The table: every peer guarded, blobs or not (test_unguarded()). */
	node->conf.guard = NODE_GUARD_ALL;
	memset(&self, 0, sizeof(self));
	snprintf(self.keyid, sizeof(self.keyid), "%s", SELF_KEYID);
	node->id = &self;
	if (store_open(test_tmpdir(), &s, &cause) != 0 ||
	    store_self_init(s, SELF_KEYID, 1, &last, &cause) != 0) {
		fprintf(stderr, "store: %s\n", cause ? cause : "?");
		return 99;
	}
	node->store = s;
	test_constructor();
	for (st = 0; st < ST_MAX_; st++) {
		for (po = 0; po < PO_MAX_; po++) {
			snprintf(title, sizeof(title), "release: %s, %s: %s",
			    state_name[st], policy_name[po],
			    expected_reason(st, po) == 0 ? "released" :
			    pk_refusal_name(expected_reason(st, po)));
			TEST_START(title);
			run_case(n++, st, po, PEER_NATIVE);
			run_case(n++, st, po, PEER_MANDOS);
			TEST_DONE();
		}
	}
	test_mandos_held(n++);
	test_extension(&n);
	test_unknown_repeats();
	test_unknown_sources();
	test_mandos_no_shares(&n);
	test_pending(&n);
	test_unguarded(&n);
	store_close(s);
	return test_exit();
}
