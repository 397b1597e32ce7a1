/*
 * cmd-peer.c: "peerkey peer add|set|list|put-blob|label": manual
 * membership, policy and labels of the peers this node knows.
 *
 *	peerkey peer add NAME --boot-key ID [--node-key ID] [--address A]...
 *	    [policy options]
 *	peerkey peer set NAME [policy options]
 *	peerkey peer list
 *	peerkey peer put-blob NAME BLOB-ID FILE
 *	peerkey peer label NAME [KEY=VALUE | KEY=]...
 *
 * Policy options: --timeout D, --interval D, --extended-timeout D,
 * --approval-delay D, --approval-duration D, --deny-by-default,
 * --approve-by-default, --require-notice, --no-require-notice,
 * --checker CMD. Durations as in peerkey.conf(5): 30s, 5m, 1h30m, PT5M.
 * Labels (labels.h): KEY=VALUE sets a label, KEY= removes it; with none,
 * the peer's labels are shown. peerkeyd checks them again.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "key.h"
#include "labels.h"
#include "peerkey.h"
#include "proto.h"

enum {
	OPT_BOOT = 256, OPT_NODE, OPT_ADDR, OPT_TIMEOUT, OPT_INTERVAL,
	OPT_EXTENDED, OPT_ADELAY, OPT_ADURATION, OPT_DENY, OPT_APPROVE,
	OPT_NOTICE, OPT_NONOTICE, OPT_CHECKER,
};

static const struct option peer_opts[] = {
	{ "boot-key", required_argument, NULL, OPT_BOOT },
	{ "node-key", required_argument, NULL, OPT_NODE },
	{ "address", required_argument, NULL, OPT_ADDR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "extended-timeout", required_argument, NULL, OPT_EXTENDED },
	{ "approval-delay", required_argument, NULL, OPT_ADELAY },
	{ "approval-duration", required_argument, NULL, OPT_ADURATION },
	{ "deny-by-default", no_argument, NULL, OPT_DENY },
	{ "approve-by-default", no_argument, NULL, OPT_APPROVE },
	{ "require-notice", no_argument, NULL, OPT_NOTICE },
	{ "no-require-notice", no_argument, NULL, OPT_NONOTICE },
	{ "checker", required_argument, NULL, OPT_CHECKER },
	{ NULL, 0, NULL, 0 }
};

/*
 * Adds the duration of option --opt after checking it, as the member named
 * like the option with '_' for '-' ("extended-timeout": extended_timeout).
 */
static int
peer_duration(json_t *req, const char *opt, const char *val)
{
	uint64_t	ms;
	char		key[32];
	size_t		i;

	if (pk_parse_duration_ms(val, &ms) != 0) {
		fprintf(stderr, "peerkey: --%s \"%s\" is not a duration "
		    "(e.g. 30s, 5m, 1h30m, PT5M)\n", opt, val);
		return -1;
	}
	snprintf(key, sizeof(key), "%s", opt);
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] == '-')
			key[i] = '_';
	json_object_set_new(req, key, json_integer((json_int_t)ms));
	return 0;
}

/* Parses the options of add and set into req. */
static int
peer_parse(int argc, char **argv, json_t *req, int adding)
{
	char	 addrs[1024] = "", host[256];
	uint16_t port;
	int	 ch, li;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", peer_opts, &li)) != -1) {
		switch (ch) {
		case OPT_BOOT:
		case OPT_NODE:
			if (!pk_keyid_valid(optarg)) {
				fprintf(stderr, "peerkey: \"%s\" is not a key "
				    "id (64 hex digits)\n", optarg);
				return -1;
			}
			if (!adding) {
				fprintf(stderr, "peerkey: keys are set when a "
				    "peer is added; remove and add it again\n");
				return -1;
			}
			json_object_set_new(req, ch == OPT_BOOT ? "boot_keyid" :
			    "node_keyid", json_string(optarg));
			break;
		case OPT_ADDR:
			if (pk_parse_address(optarg, host, sizeof(host),
			    PK_DEFAULT_PORT, &port) != 0) {
				fprintf(stderr, "peerkey: --address \"%s\" is "
				    "not host, host:port or [v6]:port\n",
				    optarg);
				return -1;
			}
			if (pk_list_add(addrs, sizeof(addrs), optarg) != 0) {
				fprintf(stderr, "peerkey: too many addresses\n");
				return -1;
			}
			json_object_set_new(req, "addresses", json_string(addrs));
			break;
		case OPT_TIMEOUT:
		case OPT_INTERVAL:
		case OPT_EXTENDED:
		case OPT_ADELAY:
		case OPT_ADURATION:
			if (peer_duration(req, peer_opts[li].name, optarg))
				return -1;
			break;
		case OPT_DENY:
		case OPT_APPROVE:
			json_object_set_new(req, "approved_by_default",
			    json_boolean(ch == OPT_APPROVE));
			break;
		case OPT_NOTICE:
		case OPT_NONOTICE:
			json_object_set_new(req, "require_notice",
			    json_boolean(ch == OPT_NOTICE));
			break;
		case OPT_CHECKER:
			json_object_set_new(req, "checker", json_string(optarg));
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int
peer_list(void)
{
	json_t	*resp, *p;
	size_t	 i;
	char	 buf[PK_LABELS_MAX + 1];
	int	 ex;

	if ((ex = ctl_list(json_pack("{s:s}", "cmd", "status"), "peers",
	    &resp)) != -1)
		return ex;
	json_array_foreach(json_object_get(resp, "peers"), i, p) {
		printf("%s\n  node key %s\n  boot key %s\n  addresses %s\n"
		    "  labels ",
		    json_string_value(json_object_get(p, "name")),
		    json_string_value(json_object_get(p, "node_keyid"))[0] ?
		    json_string_value(json_object_get(p, "node_keyid")) :
		    "(none: checked by its checker command)",
		    json_string_value(json_object_get(p, "boot_keyid")),
		    json_string_value(json_object_get(p, "addresses"))[0] ?
		    json_string_value(json_object_get(p, "addresses")) :
		    "(none)");
		printf("%s\n", peer_labels_text(json_object_get(p, "labels"),
		    buf, sizeof(buf)));
	}
	json_decref(resp);
	return EXIT_OK;
}

static int
peer_put_blob(const char *name, const char *blob_id, const char *path)
{
	gnutls_datum_t	 raw = { NULL, 0 }, b64;
	json_t		*resp;
	int		 r;

	if ((r = gnutls_load_file(path, &raw)) < 0) {
		fprintf(stderr, "peerkey: cannot read %s\n", path);
		return EXIT_FAIL;
	}
	if (raw.size == 0 || raw.size > PK_BLOB_MAX) {
		fprintf(stderr, "peerkey: %s: a blob is 1 to %d bytes\n", path,
		    PK_BLOB_MAX);
		gnutls_free(raw.data);
		return EXIT_FAIL;
	}
	r = gnutls_base64_encode2(&raw, &b64);
	gnutls_free(raw.data);
	if (r != 0)
		return EXIT_FAIL;
	resp = ctl_request(json_pack("{s:s, s:s, s:s, s:s%}", "cmd",
	    "blob-put", "peer", name, "blob_id", blob_id, "data",
	    (const char *)b64.data, (size_t)b64.size));
	gnutls_free(b64.data);
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	json_decref(resp);
	return EXIT_OK;
}

/* A labels object as "key=value ..." in buf, or "-" for none. */
const char *
peer_labels_text(json_t *labels, char *buf, size_t len)
{
	const char	*k;
	json_t		*v;
	size_t		 n = 0;

	snprintf(buf, len, "-");
	json_object_foreach(labels, k, v)
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "",
			    k, json_string_value(v));
	return buf;
}

/* "peer label NAME [KEY=VALUE | KEY=]...": changes, then shows them. */
static int
peer_label(int argc, char **argv)
{
	json_t	*resp;
	char	*change = NULL, *cause = NULL;
	char	 check[PK_LABELS_MAX + 1];
	size_t	 len = 1;
	int	 i;

	for (i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((change = calloc(1, len)) == NULL)
		return EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		strcat(change, argv[i]);
		strcat(change, " ");
	}
	if (pk_labels_edit("", change, check, sizeof(check), &cause) != 0) {
		fprintf(stderr, "peerkey: %s\n", cause);
		free(cause);
		free(change);
		return EXIT_USAGE;
	}
	resp = ctl_request(json_pack("{s:s, s:s, s:s}", "cmd", "label",
	    "peer", argv[0], "labels", change));
	free(change);
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	if (opt_json)
		out_result(resp);
	else {
		printf("%s: %s\n", json_string_value(json_object_get(resp,
		    "peer")), peer_labels_text(json_object_get(resp, "labels"),
		    check, sizeof(check)));
	}
	json_decref(resp);
	return EXIT_OK;
}

int
cmd_peer(int argc, char **argv)
{
	json_t	*req, *resp;
	int	 adding;

	if (argc < 2)
		return EXIT_USAGE;
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return peer_list();
	if (strcmp(argv[1], "put-blob") == 0 && argc == 5)
		return peer_put_blob(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "label") == 0 && argc >= 3 && argv[2][0] != '-')
		return peer_label(argc - 2, argv + 2);
	adding = strcmp(argv[1], "add") == 0;
	if ((!adding && strcmp(argv[1], "set") != 0) || argc < 3 ||
	    argv[2][0] == '-')
		return EXIT_USAGE;
	req = json_pack(adding ? "{s:s, s:s}" : "{s:s, s:s}", "cmd",
	    adding ? "add" : "set", adding ? "name" : "peer", argv[2]);
	if (peer_parse(argc - 2, argv + 2, req, adding) != 0 ||
	    optind != argc - 2) {
		json_decref(req);
		return EXIT_USAGE;
	}
	if (adding && json_object_get(req, "boot_keyid") == NULL) {
		fprintf(stderr, "peerkey: peer add needs --boot-key\n");
		json_decref(req);
		return EXIT_USAGE;
	}
	resp = ctl_request(req);
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	json_decref(resp);
	return EXIT_OK;
}
