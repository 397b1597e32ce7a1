/*
 * cmd-reshare.c: "peerkey reshare [--dry-run] [--after DURATION]
 * [DEVICE...]": the running machine re-splits its disks by itself (its
 * timer, peerkey-reshare.timer, runs this daily as root), with each
 * disk's maintenance key (luks-maint.c) instead of a passphrase.
 *
 * For each split disk (DEVICE..., else every LUKS2 block device with a
 * peerkey token, as "peerkey list" finds them), judged against the local
 * peerkeyd's peers ("status"):
 * - a guardian unseen past its timeout for at least reshare-after
 *   (--after, else peerkeyd.conf's [liveness] reshare-after as the daemon
 *   reports it, reshare_after_ms; 0: never), counted from the end of its
 *   timeout (its last proof of life here, or the daemon's start if
 *   later, plus its timeout), or no longer a peer here (unless
 *   reshare-after is 0), is left out: the
 *   split is re-made with as many guardians
 *   as before among the others (luks_enroll, LUKS_RESHARE, excluding
 *   them: the same journey as "peerkey remove", so a kill at any step
 *   converges on the next run and a boot in between unlocks);
 * - a split made with fewer guardians than its policy wants (the token's
 *   "guardians-wanted": enroll --guardians N --guardians-min M, or 0:
 *   every peer that can guard, when enroll had no --guardians) grows up
 *   to what it wants when more peers can guard now (enabled, or
 *   unguarded: not yet heartbeated, as a new peer holding nothing is),
 *   as long as every guardian it has is enabled.
 * An unfinished journal (a run killed) is first finished or undone
 * (luks_converge). One line per disk says what is done and why, or that
 * nothing needs doing. A disk that needs a re-split and has no
 * maintenance key (enrolled with --no-maintenance-key, or before there
 * were any) is said, with what to run, and so is one that cannot be
 * re-split now: exit 5 (EXIT_PARTIAL).
 */
#include "config.h"

#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <jansson.h>

#include "conf.h"
#include "guardians.h"
#include "key.h"
#include "luks.h"
#include "msg.h"
#include "peerkey.h"

#define RESHARE_AFTER_DEFAULT	(7LL * 24 * 3600 * 1000)

static const struct option reshare_opts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "after", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

/*
 * For how long guardian p has been unseen past its timeout (ms), or -1
 * while it is seen within it (or pending, or disabled by an operator:
 * an operator's choice, not a loss). A guardian heartbeats the machine
 * whose share it holds, so its "last seen" here is its word that it is
 * up, whatever this node's own state for it ("unguarded" when this node
 * holds nothing of it). Counted from no earlier than this daemon's
 * start: this node's own downtime does not count against its peers.
 */
static long long
rs_off(json_t *p, long long now, long long started)
{
	const char	*st = json_string_value(json_object_get(p, "state"));
	long long	 seen = json_integer_value(json_object_get(p,
			    "last_seen"));
	long long	 off;

	if (st == NULL || strcmp(st, "pending") == 0 ||
	    strcmp(st, "disabled-by-operator") == 0)
		return -1;
	if (seen < started)
		seen = started;
	off = now - seen - json_integer_value(json_object_get(p,
	    "timeout_ms"));
	return off > 0 ? off : -1;
}

/*
 * How many of the peers (but those of list gone) could guard a split now:
 * neither pending nor disabled by an operator, with a node key, and
 * answering a heartbeat now (a peer this node holds nothing of is not
 * watched here, so only asking it tells).
 */
static size_t
rs_answering(const char *gone)
{
	struct pk_identity	*id = NULL;
	struct cli_peer		*v = NULL;
	struct pk_msg		 m;
	size_t			 n = 0, i, good = 0;
	char			*cause;

	if (local_load_node(&id) != 0)
		return 0;
	if (local_peers(NULL, 1, &v, &n) != 0) {
		pk_identity_free(id);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!v[i].usable || v[i].node_keyid[0] == '\0' ||
		    luks_excluded(gone, v[i].name))
			continue;
		pk_msg_init(&m, PK_MSG_HEARTBEAT);
		gnutls_rnd(GNUTLS_RND_NONCE, &m.u.heartbeat.nonce,
		    sizeof(m.u.heartbeat.nonce));
		cause = NULL;
		if (dial_request(id, &v[i], &m, PK_MSG_HEARTBEAT_REPLY,
		    &cause) == 0)
			good++;
		free(cause);
	}
	local_peers_free(v, n);
	pk_identity_free(id);
	return good;
}

/* Appends name to the list s (NAME,...; of len bytes). */
static void
rs_list_add(char *s, size_t len, const char *name)
{
	size_t	 n = strlen(s);

	snprintf(s + n, len - n, "%s%s", n > 0 ? "," : "", name);
}

/*
 * Is there a maintenance key file of disk uuid (1), none (0), or one
 * group or others may read (-1: never used)?
 */
static int
rs_has_maint(const char *uuid)
{
	struct stat	 st;
	char		*path = luks_maint_path(uuid);
	int		 r;

	r = lstat(path, &st) == -1 ? 0 : !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0 ? -1 : 1;
	free(path);
	return r;
}

/*
 * Judges and re-splits disk d (a "peerkey list" object of an enrolled
 * split); returns an exit code.
 */
static int
rs_disk(json_t *d, json_t *peers, long long started, long long after,
    int dry, json_t *out)
{
	json_t		*g = json_object_get(d, "guardians"), *x, *p;
	json_t		*wv = json_object_get(d, "guardians_wanted");
	const char	*dev = json_string_value(json_object_get(d, "device"));
	const char	*uuid = json_string_value(json_object_get(d, "uuid"));
	const char	*name;
	char		 gone[(LUKS_CHECK_NAME_MAX + 1) * LUKS_CHECK_SHARES + 1] = "";
	char		 why[4096] = "", t[32], a[32];
	struct luks_opts o;
	size_t		 i, base = json_array_size(g), can = 0, ng, want;
	size_t		 ngone = 0, nwait = 0;
	long long	 now = status_now_ms(), off, k;
	int		 r;

	k = json_integer_value(json_object_get(d, "threshold"));
	json_array_foreach(g, i, x) {
		name = json_string_value(x);
		if ((p = status_peer(peers, name)) == NULL && after == 0)
			nwait++;
		else if (p == NULL) {
			rs_list_add(gone, sizeof(gone), name);
			ngone++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    "%sguardian %s is no longer a peer here",
			    *why ? "; " : "", name);
			continue;
		}
		if ((off = rs_off(p, now, started)) < 0)
			continue;
		if (after > 0 && off >= after) {
			rs_list_add(gone, sizeof(gone), name);
			ngone++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    "%sguardian %s unseen past its timeout for %s "
			    "(reshare-after %s)",
			    *why ? "; " : "", name, fmt_ms(off, t, sizeof(t)),
			    fmt_ms(after, a, sizeof(a)));
		} else
			nwait++;
	}
	/* What the policy wants, as far as the peers allow. */
	ng = base;
	if (json_is_integer(wv) && nwait == 0 && (json_integer_value(wv) ==
	    0 || (size_t)json_integer_value(wv) > base - ngone)) {
		can = rs_answering(gone);
		want = json_integer_value(wv) == 0 ? can :
		    (size_t)json_integer_value(wv);
		if (want > can)
			want = can;
		if (want > GUARDIANS_MAX)
			want = GUARDIANS_MAX;
		if (want > base) {
			ng = want;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    "%sits policy wants %s%lld guardians, the split "
			    "has %zu and %zu can guard now", *why ? "; " : "",
			    json_integer_value(wv) == 0 ? "every peer that "
			    "can guard: " : "", json_integer_value(wv) == 0 ?
			    (long long)can : (long long)json_integer_value(wv),
			    base, can);
		}
	}
	if (ngone == 0 && ng == base) {
		json_array_append_new(out, json_pack("{s:s, s:s, s:I}",
		    "device", dev, "action", "nothing", "waiting",
		    (json_int_t)nwait));
		if (opt_json)
			return EXIT_OK;
		printf("%s: nothing to re-share (%lld of %zu, epoch %lld",
		    dev, k, base, (long long)json_integer_value(
		    json_object_get(d, "generation")));
		if (nwait > 0)
			printf("; %zu guardian%s unseen past %s timeout "
			    "for less than reshare-after %s", nwait, nwait ==
			    1 ? "" : "s", nwait == 1 ? "its" : "their",
			    after > 0 ? fmt_ms(after, a, sizeof(a)) :
			    "0 (never)");
		printf(")\n");
		return EXIT_OK;
	}
	json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:I}",
	    "device", dev, "action", dry ? "would re-split" : "re-split",
	    "without", gone, "why", why, "guardians", (json_int_t)ng));
	if ((r = rs_has_maint(uuid)) != 1) {
		json_object_set_new(json_array_get(out, json_array_size(out) -
		    1), "action", json_string("no maintenance key"));
		fprintf(stderr, "peerkey: %s: needs a re-split (%s) but has %s: "
		    "run \"peerkey rotate %s\" once (it makes one), or "
		    "\"peerkey remove\" the gone guardians\n", dev, why, r == 0 ?
		    "no maintenance key" : "a maintenance key others than "
		    "root may read (it is not used)", dev);
		return EXIT_PARTIAL;
	}
	if (!opt_json)
		printf("%s: %s %lld of %zu%s%s: %s\n", dev, dry ?
		    "would re-split" : "re-splitting", k, ng, ngone > 0 ?
		    " without " : "", gone, why);
	fflush(stdout);
	if (dry)
		return EXIT_OK;
	memset(&o, 0, sizeof(o));
	o.keyfile = luks_maint_path(uuid);
	o.exclude = ngone > 0 ? gone : NULL;
	o.nguardians = (unsigned)ng;
	/* Growing: as many as answer, if more than now. */
	o.min_guardians = ng > base ? (unsigned)(ngone > 0 ? base :
	    base + 1) : 0;
	r = luks_enroll(dev, &o, LUKS_RESHARE);
	free((char *)o.keyfile);
	if (r == EXIT_OK || r == EXIT_PARTIAL)
		return r;
	json_object_set_new(json_array_get(out, json_array_size(out) - 1),
	    "action", json_string("not re-shared"));
	fprintf(stderr, "peerkey: %s: not re-shared; the split is as it was "
	    "(\"peerkey status %s\"; the next run tries again)\n", dev, dev);
	return EXIT_PARTIAL;
}

/* Is d the newest enrolled token of its device among disks? */
static int
rs_newest(json_t *disks, json_t *d)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(disks, i, e)
		if (e != d && json_equal(json_object_get(e, "device"),
		    json_object_get(d, "device")) && json_is_string(
		    json_object_get(e, "state")) && strcmp(json_string_value(
		    json_object_get(e, "state")), "enrolled") == 0 &&
		    json_integer_value(json_object_get(e, "generation")) >
		    json_integer_value(json_object_get(d, "generation")))
			return 0;
	return 1;
}

/* Does dev have an unfinished journal among disks (a run killed)? */
static int
rs_unfinished(json_t *disks, const char *dev)
{
	json_t	*d;
	size_t	 i, n = 0;
	int	 bad = 0;

	json_array_foreach(disks, i, d) {
		if (strcmp(json_string_value(json_object_get(d, "device")),
		    dev) != 0 || json_object_get(d, "keyslot") == NULL)
			continue;
		n++;
		bad |= strcmp(json_string_value(json_object_get(d, "state")),
		    "enrolled") != 0;
	}
	return bad || n > 1;
}

int
cmd_reshare(int argc, char **argv)
{
	json_t		*resp, *peers, *disks, *d, *v, *seen, *out;
	const char	*dev;
	long long	 after = RESHARE_AFTER_DEFAULT, started;
	uint64_t	 ms;
	size_t		 i;
	int		 ch, dry = 0, unreadable, ex, r, worst = EXIT_OK;
	int		 given = 0;

	while ((ch = getopt_long(argc, argv, "na:", reshare_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'n':
			dry = 1;
			break;
		case 'a':
			if (pk_parse_duration_ms(optarg, &ms) != 0) {
				fprintf(stderr, "peerkey: --after %s: not a "
				    "duration (such as 7d, 12h; 0: never)\n",
				    optarg);
				return EXIT_USAGE;
			}
			after = (long long)ms;
			given = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	resp = ctl_request(json_pack("{s:s}", "cmd", "status"));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	v = json_object_get(json_object_get(resp, "self"),
	    "reshare_after_ms");
	if (!given && json_is_integer(v))
		after = json_integer_value(v);
	started = json_integer_value(json_object_get(json_object_get(resp,
	    "self"), "started"));
	peers = json_object_get(resp, "peers");
	disks = json_array();
	ex = list_disks(argc - optind + 1, argv + optind - 1, disks,
	    &unreadable);
	if (ex != EXIT_OK) {
		json_decref(disks);
		json_decref(resp);
		return ex;
	}
	/* An interrupted run first: finished or undone, then read again. */
	seen = json_array();
	json_array_foreach(disks, i, d) {
		dev = json_string_value(json_object_get(d, "device"));
		if (luks_names_has(seen, dev) || !rs_unfinished(disks, dev))
			continue;
		json_array_append_new(seen, json_string(dev));
		if (dry) {
			if (!opt_json)
				printf("%s: would finish or undo an "
				    "interrupted run first\n", dev);
			continue;
		}
		if ((r = luks_converge(dev)) != EXIT_OK)
			worst = r;
	}
	if (json_array_size(seen) > 0 && !dry) {
		json_decref(disks);
		disks = json_array();
		(void)list_disks(argc - optind + 1, argv + optind - 1, disks,
		    &unreadable);
	}
	json_decref(seen);
	out = json_array();
	json_array_foreach(disks, i, d) {
		dev = json_string_value(json_object_get(d, "device"));
		if (json_object_get(d, "keyslot") == NULL)
			continue;	/* not ours */
		if (json_integer_value(json_object_get(d, "threshold")) < 2) {
			json_array_append_new(out, json_pack("{s:s, s:s}",
			    "device", dev, "action", "nothing"));
			if (!opt_json)
				printf("%s: nothing to re-share (a whole key "
				    "at each peer, not a split)\n", dev);
			continue;
		}
		if (strcmp(json_string_value(json_object_get(d, "state")),
		    "enrolled") != 0)
			continue;
		if (!rs_newest(disks, d))
			continue;
		r = rs_disk(d, peers, started, after, dry, out);
		if (r != EXIT_OK && (worst == EXIT_OK || r != EXIT_PARTIAL))
			worst = r;
	}
	/* Under -j, after what luks_enroll() said: the disks' verdicts. */
	v = json_pack("{s:o}", "disks", out);
	out_result(v);
	json_decref(v);
	json_decref(disks);
	json_decref(resp);
	return worst;
}
