/*
 * cmd-status.c: "peerkey status [DEVICE...]": this node and every peer
 * it knows, as a table a person reads at a glance, or --json; then every
 * disk this machine enrolled (status-disks.c: the devices named, else
 * every LUKS2 block device with a peerkey token), its K of N and who
 * could release it now. "peerkey metrics": the daemon's state for
 * Prometheus (peerkeyd's metrics.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "labels.h"
#include "peerkey.h"

/* The first of a peer's addresses, "+" when it has more, "-" none. */
static const char *
status_address(json_t *p, char *buf, size_t len)
{
	const char	*a = json_string_value(json_object_get(p, "addresses"));
	size_t		 n;

	if (a == NULL || *a == '\0')
		return "-";
	n = strcspn(a, " ");
	snprintf(buf, len, "%.*s%s", (int)n, a, a[n] != '\0' ? " +" : "");
	return buf;
}

/* "ok 5s ago", "FAILED 2m ago", "never". */
static void
status_check(json_t *p, char *buf, size_t len)
{
	long long	 at = json_integer_value(json_object_get(p,
			    "last_check"));
	char		 ago[32];

	if (at <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	snprintf(buf, len, "%s %s", json_is_true(json_object_get(p,
	    "last_check_ok")) ? "ok" : "FAILED", fmt_ago(at, ago,
	    sizeof(ago)));
}

int
cmd_status(int argc, char **argv)
{
	json_t		*resp, *self, *peers, *p, *disks;
	size_t		 i;
	char		 seen[32], exp[32], state[40], addr[64], check[48];
	char		 labels[PK_LABELS_MAX + 1];
	int		 pending = 0, failing = 0, ex;

	for (i = 1; i < (size_t)argc; i++)
		if (argv[i][0] == '-')
			return EXIT_USAGE;
	resp = ctl_request(json_pack("{s:s}", "cmd", "status"));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	self = json_object_get(resp, "self");
	peers = json_object_get(resp, "peers");
	disks = status_disks(argc, argv, peers, &ex);
	if (ex != EXIT_OK) {
		json_decref(disks);
		json_decref(resp);
		return ex;
	}
	if (opt_json) {
		json_object_set_new(resp, "disks", disks);
		return ctl_answer(resp);
	}
	printf("node %s  key %.16s...  port %lld  peerkeyd %s\n",
	    json_string_value(json_object_get(self, "name")),
	    json_string_value(json_object_get(self, "node_keyid")),
	    (long long)json_integer_value(json_object_get(self, "port")),
	    json_string_value(json_object_get(self, "version")));
	if (json_array_size(peers) == 0) {
		printf("no peers (add one with \"peerkey join\" or "
		    "\"peerkey peer add\")\n");
		status_disks_print(disks);
		json_decref(disks);
		json_decref(resp);
		return EXIT_OK;
	}
	printf("\n%-16s %-22s %-21s %-10s %-16s %-9s %5s  %-16s %s\n",
	    "PEER", "STATE", "ADDRESS", "LAST SEEN", "LAST CHECK", "EXPIRES",
	    "BLOBS", "LABELS", "POLICY");
	json_array_foreach(peers, i, p) {
		const char *st = json_string_value(json_object_get(p, "state"));
		int pend = json_is_true(json_object_get(p, "pending_approval"));

		/* Enabled only by a release's extension: EXPIRES says
		 * when that ends (peerkeyd(8), LIVENESS). */
		snprintf(state, sizeof(state), "%s%s%s", st,
		    json_is_true(json_object_get(p, "extension")) ?
		    " (extension)" : "", pend ? " (approval?)" : "");
		pending += pend;
		status_check(p, check, sizeof(check));
		printf("%-16s %-22s %-21s %-10s %-16s %-9s %5lld  ",
		    json_string_value(json_object_get(p, "name")), state,
		    status_address(p, addr, sizeof(addr)),
		    fmt_ago(json_integer_value(json_object_get(p,
		    "last_seen")), seen, sizeof(seen)), check,
		    fmt_ms(json_integer_value(json_object_get(p,
		    "expires_in_ms")), exp, sizeof(exp)),
		    (long long)json_integer_value(json_object_get(p,
		    "blobs")));
		printf("%-16s ", peer_labels_text(json_object_get(p,
		    "labels"), labels, sizeof(labels)));
		printf("%s%s%s\n", json_integer_value(json_object_get(p,
		    "approval_delay_ms")) > 0 ? "approval " : "",
		    json_is_true(json_object_get(p, "require_notice")) ?
		    "notice " : "",
		    json_string_value(json_object_get(p, "node_keyid"))[0] ?
		    "" : "mandos-client");
	}
	json_array_foreach(peers, i, p)
		failing += json_integer_value(json_object_get(p,
		    "last_check")) > 0 && !json_is_true(json_object_get(p,
		    "last_check_ok"));
	if (failing)
		printf("\n%d peer%s failed %s last check: \"peerkey events "
		    "--kind check-failed\" says why\n", failing,
		    failing == 1 ? "" : "s", failing == 1 ? "its" : "their");
	if (pending)
		printf("\n%d peer%s await%s approval: \"peerkey approve NAME\" "
		    "or \"peerkey deny NAME\"\n", pending, pending == 1 ?
		    "" : "s", pending == 1 ? "s" : "");
	status_disks_print(disks);
	json_decref(disks);
	json_decref(resp);
	return EXIT_OK;
}

/* "peerkey metrics": peerkeyd's metrics, Prometheus' text format. */
int
cmd_metrics(int argc, char **argv)
{
	json_t	*resp;
	int	 ex;

	if (argc != 1)
		return EXIT_USAGE;
	if ((ex = ctl_show("metrics", &resp)) != -1)
		return ex;
	fputs(json_string_value(json_object_get(resp, "text")), stdout);
	json_decref(resp);
	return EXIT_OK;
}
