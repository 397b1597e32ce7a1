/*
 * config.c: peerkeyd.conf: the one table of options and their defaults.
 *
 * doc/peerkey.conf.5 documents every item here; conf/peerkeyd.conf shows
 * the defaults. Keep the three in step.
 *
 * The one default not in the table is the node key's: the credential
 * "node.key" when systemd passes one ($CREDENTIALS_DIRECTORY, from the
 * unit's LoadCredential=, so that the key stays root's while peerkeyd
 * runs as its own user), else SYSCONFDIR/peerkey/node.key.
 */
#include "config.h"

#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "node.h"
#include "pk_err.h"
#include "proto.h"

#define O(f)	offsetof(struct node_conf, f)
#define SEC	1000ULL
#define MIN	(60 * SEC)
#define DAY	(24 * 60 * MIN)

/* liveness.guard, in the order of enum node_guard. */
static const char *const guard_choices[] = { "held", "all", NULL };

static const struct pk_conf_item node_items[] = {
	{ "node", "name", PK_CONF_STRING, O(name), 0, 64, NULL, NULL },
	{ "node", "key", PK_CONF_PATH, O(key), 0, 0, NULL, NULL },
	{ "node", "state-directory", PK_CONF_PATH, O(state_dir), 0, 0,
	    LOCALSTATEDIR "/lib/peerkey", NULL },
	{ "node", "runtime-directory", PK_CONF_PATH, O(runtime_dir), 0, 90,
	    RUNSTATEDIR "/peerkey", NULL },
	{ "node", "listen", PK_CONF_STRING, O(listen), 0, 512, "", NULL },
	{ "node", "port", PK_CONF_UINT, O(port), 0, 65535, PK_DEFAULT_PORT_STR,
	    NULL },
	{ "node", "control-group", PK_CONF_STRING, O(control_group), 0, 64,
	    "", NULL },
	{ "node", "log-level", PK_CONF_LOGLEVEL, O(log_level), 0, 0, "info",
	    NULL },

	{ "limits", "line-timeout", PK_CONF_DURATION, O(line_timeout),
	    100, 60 * SEC, "3s", NULL },
	{ "limits", "handshake-timeout", PK_CONF_DURATION,
	    O(handshake_timeout), 100, 5 * MIN, "5s", NULL },
	{ "limits", "idle-timeout", PK_CONF_DURATION, O(idle_timeout),
	    100, DAY, "2m", NULL },
	{ "limits", "max-frame", PK_CONF_SIZE, O(max_frame), 1024,
	    PK_FRAME_MAX_HARD, "64k", NULL },
	{ "limits", "max-connections", PK_CONF_UINT, O(max_conns), 1,
	    100000, "4096", NULL },
	{ "limits", "max-connections-per-source", PK_CONF_UINT,
	    O(max_conns_per_source), 1, 100000, "2048", NULL },
	{ "limits", "max-handshakes", PK_CONF_UINT, O(max_handshakes), 1,
	    100000, "512", NULL },
	{ "limits", "max-handshakes-per-source", PK_CONF_UINT,
	    O(max_handshakes_per_source), 1, 100000, "32", NULL },
	{ "limits", "max-unknown", PK_CONF_UINT, O(max_unknown), 1,
	    100000, "128", NULL },
	{ "limits", "max-unknown-per-source", PK_CONF_UINT,
	    O(max_unknown_per_source), 1, 100000, "8", NULL },
	{ "limits", "unknown-timeout", PK_CONF_DURATION, O(unknown_timeout),
	    100, 5 * MIN, "2s", NULL },

	{ "liveness", "interval", PK_CONF_DURATION, O(interval), 100,
	    DAY, "30s", NULL },
	{ "liveness", "timeout", PK_CONF_DURATION, O(timeout), 1000,
	    365 * DAY, "5m", NULL },
	{ "liveness", "extended-timeout", PK_CONF_DURATION,
	    O(extended_timeout), 0, 365 * DAY, "15m", NULL },
	{ "liveness", "alive-mark", PK_CONF_DURATION, O(alive_mark), 100,
	    10 * MIN, "10s", NULL },
	{ "liveness", "checker-timeout", PK_CONF_DURATION,
	    O(checker_timeout), 100, 10 * MIN, "10s", NULL },
	{ "liveness", "guard", PK_CONF_ENUM, O(guard), 0, 0, "held",
	    guard_choices },
	{ "liveness", "reshare-after", PK_CONF_DURATION, O(reshare_after), 0,
	    100 * 365 * DAY, "7d", NULL },

	{ "announce", "enable", PK_CONF_BOOL, O(announce), 0, 0, "yes",
	    NULL },
	{ "announce", "mandos", PK_CONF_BOOL, O(announce_mandos), 0, 0,
	    "yes", NULL },
	{ "announce", "service-name", PK_CONF_STRING, O(service_name), 0,
	    63, NULL, NULL },

	{ "mandos", "enable", PK_CONF_BOOL, O(mandos), 0, 0, "yes", NULL },

	{ "events", "retention", PK_CONF_DURATION, O(event_retention), 0,
	    100 * 365 * DAY, "90d", NULL },
	{ "events", "max-rows", PK_CONF_UINT, O(event_max_rows), 0,
	    1000000000, "100000", NULL },
	{ "events", "max-bytes", PK_CONF_SIZE, O(event_max_bytes), 0,
	    1ULL << 40, "32M", NULL },
	{ "events", "repeat-interval", PK_CONF_DURATION, O(repeat_interval),
	    1 * SEC, DAY, "60s", NULL },

	{ "membership", "max-introductions", PK_CONF_UINT,
	    O(max_introductions), 0, 100000, "128", NULL },
	{ "membership", "introduced-pending", PK_CONF_BOOL,
	    O(introduced_pending), 0, 0, "no", NULL },

	{ "metrics", "listen", PK_CONF_STRING, O(metrics_listen), 0, 64, "",
	    NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};

/* The node key when the file names none (see the top of this file). */
static int
config_key_default(struct node_conf *nc)
{
	const char	*creds = getenv("CREDENTIALS_DIRECTORY");
	char		*p;

	if (creds != NULL && *creds == '/') {
		if (asprintf(&p, "%s/" NODE_KEY_CREDENTIAL, creds) == -1)
			return -1;
		if (access(p, F_OK) == 0) {
			nc->key = p;
			nc->key_credential = 1;
			return 0;
		}
		free(p);
	}
	nc->key_credential = 0;
	return (nc->key = strdup(SYSCONFDIR "/peerkey/node.key")) == NULL ?
	    -1 : 0;
}

/*
 * Reads path (defaults first; a missing file means all defaults only if
 * it is the default path) into nc. Returns 0, or -1 with *cause set.
 */
int
config_load(const char *path, struct node_conf *nc, char **cause)
{
	char	 host[256];
	int	 r;

	memset(nc, 0, sizeof(*nc));
	if ((r = pk_conf_defaults(node_items, nc, cause)) != 0)
		return -1;
	r = pk_conf_load_file(path, node_items, nc, cause);
	if (r == PK_ERR_NOT_FOUND) {
		free(*cause);
		*cause = NULL;
		pk_cause_set(cause, "%s: no such file (see peerkey.conf(5))",
		    path);
		return -1;
	}
	if (r != 0)
		return -1;
	if ((nc->path = strdup(path)) == NULL)
		return -1;
	if (nc->key == NULL && config_key_default(nc) != 0)
		return -1;
	if (nc->name == NULL || *nc->name == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "peerkey");
		host[sizeof(host) - 1] = '\0';
		free(nc->name);
		if ((nc->name = strdup(host)) == NULL)
			return -1;
	}
	if (nc->service_name == NULL || *nc->service_name == '\0') {
		free(nc->service_name);
		if ((nc->service_name = strdup(nc->name)) == NULL)
			return -1;
	}
	if (nc->timeout < nc->interval) {
		pk_cause_set(cause, "%s: liveness timeout (%llu ms) is shorter "
		    "than the interval (%llu ms): every peer would be "
		    "disabled between two checks", path,
		    (unsigned long long)nc->timeout,
		    (unsigned long long)nc->interval);
		return -1;
	}
	if (metrics_listen_check(nc->metrics_listen, cause) != 0)
		return -1;	/* it says what and where */
	/* Checked here too, so that "peerkeyd -n" catches it. */
	if (nc->control_group != NULL && *nc->control_group != '\0' &&
	    getgrnam(nc->control_group) == NULL) {
		pk_cause_set(cause, "%s: control-group \"%s\": no such group",
		    path, nc->control_group);
		return -1;
	}
	return 0;
}

void
config_free(struct node_conf *nc)
{
	pk_conf_free(node_items, nc);
	free(nc->path);
	nc->path = NULL;
}
