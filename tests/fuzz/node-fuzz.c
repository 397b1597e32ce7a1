/*
 * node-fuzz.c: the peerkeyd of the stateful fuzz targets (node-fuzz.h).
 *
 * What peerkeyd.c's main() does is done here by hand: a configuration
 * (config.c, from a file of test defaults), a node key, the store in a
 * fresh directory under /dev/shm, an event loop that never runs (the
 * checker's timers are armed, never fired). The node's log goes to
 * /dev/null unless PK_FUZZ_LOG is set; sanitizer reports and libFuzzer's
 * own output still reach the real standard error.
 */
#include "config.h"

#include <sys/types.h>

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "key.h"
#include "log.h"
#include "node.h"
#include "node-fuzz.h"
#include "pk_err.h"
#include "proto.h"
#include "store.h"

static int	fuzz_ready;
static char	fuzz_dir[] = "/dev/shm/pk-fuzz-node.XXXXXX";

static const char *const fuzz_keys[FUZZ_NKEYS] = {
	FUZZ_P_NODE, FUZZ_P_BOOT, FUZZ_Q_BOOT, FUZZ_JOINER, FUZZ_STRANGER
};

const char *
fuzz_node_keyid(unsigned int i)
{
	return fuzz_keys[i % FUZZ_NKEYS];
}

/* Removes the scratch directory at exit. */
static void
fuzz_node_cleanup(void)
{
	char	cmd[sizeof(fuzz_dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "node-fuzz: cannot remove %s\n", fuzz_dir);
}

static void __attribute__((noreturn))
fuzz_node_fail(const char *what, const char *why)
{
	fprintf(stderr, "node-fuzz: %s: %s\n", what, why ? why : "failed");
	abort();
}

/* The node, once. */
static void
fuzz_node_init(void)
{
	char	 path[sizeof(fuzz_dir) + 32];
	char	*cause = NULL;
	FILE	*f;
	int64_t	 last = 0;

	/* Nothing a fuzz input names (peer addresses) may be dialled. */
	if (unshare(CLONE_NEWNET) == -1)
		fuzz_node_fail("unshare(CLONE_NEWNET)", "needs root");
	if (getenv("PK_FUZZ_LOG") == NULL &&
	    (stderr = fopen("/dev/null", "w")) == NULL)
		abort();
	log_init(1, 0);
	log_setverbose(getenv("PK_FUZZ_LOG") != NULL ? 2 : 0);
	if (mkdtemp(fuzz_dir) == NULL)
		fuzz_node_fail("mkdtemp", fuzz_dir);
	atexit(fuzz_node_cleanup);
	snprintf(path, sizeof(path), "%s/peerkeyd.conf", fuzz_dir);
	if ((f = fopen(path, "w")) == NULL)
		fuzz_node_fail("fopen", path);
	fprintf(f, "[node]\nname = fuzz\nkey = %s/node.key\n"
	    "state-directory = %s\nruntime-directory = %s\n"
	    "[announce]\nenable = no\n", fuzz_dir, fuzz_dir, fuzz_dir);
	fclose(f);
	TAILQ_INIT(&node->peers);
	node->expiry_floor = UINT64_MAX;
	if (config_load(path, &node->conf, &cause) != 0)
		fuzz_node_fail("config", cause);
	if (pk_identity_generate(&node->id) != 0)
		fuzz_node_fail("node key", NULL);
	if ((node->loop = ev_default_loop(0)) == NULL)
		fuzz_node_fail("ev_default_loop", NULL);
	if (store_open(fuzz_dir, &node->store, &cause) != 0 ||
	    store_self_init(node->store, node->id->keyid, wall_ms(), &last,
	    &cause) != 0)
		fuzz_node_fail("store", cause);
	fuzz_ready = 1;
}

/* Adds a standard peer with one blob. */
static void
fuzz_node_add(const char *name, const char *node_keyid, const char *boot)
{
	static const uint8_t	 blob[] = "stand-in ciphertext";
	struct peer_spec	 spec = { name, boot, node_keyid,
				    "127.0.0.1:9" };
	struct peer		*p;
	char			*cause = NULL;

	if ((p = peer_new(&spec, &cause)) == NULL ||
	    peer_add(p, NULL, "fuzz", &cause) != 0)
		fuzz_node_fail("peer", cause);
	checker_add(p);
	if (store_blob_deposit(node->store, p, "disk", blob, sizeof(blob),
	    PK_BLOBS_MAX, wall_ms(), "fuzz", "fuzz") != 0)
		fuzz_node_fail("blob", store_errmsg(node->store));
}

/* Puts the node back into its start state; see node-fuzz.h. */
void
fuzz_node_reset(int with_members)
{
	unsigned char	 secret[PK_JOIN_SECRET_LEN], hash[32];
	struct peer	*p;
	char		 hex[65], *cause = NULL;
	int		 i, r;

	if (!fuzz_ready)
		fuzz_node_init();
	while ((p = TAILQ_FIRST(&node->peers)) != NULL) {
		if (peer_remove(p, "fuzz", NULL, NULL, &cause) != 0)
			fuzz_node_fail("remove", cause);
		checker_remove(p);
		free(p);
	}
	if (store_events_prune(node->store, INT64_MAX, NULL) != 0)
		fuzz_node_fail("prune", store_errmsg(node->store));
	for (i = 0; i < PK_JOIN_SECRET_LEN; i++)
		secret[i] = FUZZ_SECRET_BYTE(i);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, sizeof(secret), hash);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	r = store_invite_add(node->store, hex, wall_ms() + 3600 * 1000,
	    "{\"boot_keyid\":\"" FUZZ_Q_BOOT "\",\"addresses\":\"\"}",
	    wall_ms(), "fuzz");
	if (r != 0 && r != PK_ERR_EXISTS)
		fuzz_node_fail("invite", store_errmsg(node->store));
	if (with_members)
		fuzz_node_add("p", FUZZ_P_NODE, FUZZ_P_BOOT);
	fuzz_node_add("q", NULL, FUZZ_Q_BOOT);
}

/* Does some peer have a node key? */
int
fuzz_node_has_members(void)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &node->peers, entry)
		if (p->node_keyid[0] != '\0')
			return 1;
	return 0;
}

/* Checks the node's list of peers; see node-fuzz.h. */
void
fuzz_node_check(void)
{
	struct peer	*p, *q;
	int		 n = 0;

	TAILQ_FOREACH(p, &node->peers, entry) {
		n++;
		if (p->name[0] == '\0' || strlen(p->boot_keyid) !=
		    PK_KEYID_HEXLEN)
			abort();
		for (q = TAILQ_NEXT(p, entry); q != NULL;
		    q = TAILQ_NEXT(q, entry))
			if (strcmp(p->boot_keyid, q->boot_keyid) == 0 ||
			    strcmp(p->name, q->name) == 0 ||
			    (p->node_keyid[0] != '\0' &&
			    strcmp(p->node_keyid, q->node_keyid) == 0))
				abort();
	}
	if (n != node->npeers)
		abort();
}
