/*
 * cmd-update.c: "peerkey update [--address ADDR]...": tells every peer
 * this machine's identity anew -- its name, boot key id, boot OpenPGP
 * key and addresses, signed by its node key with a fresh sequence number
 * (doc/protocol.md, "Signed identity", and UPDATE). Run it after the
 * machine's addresses change or its boot key was made again ("peerkey
 * init" of a new boot key, then "peerkey update", then "peerkey rotate").
 *
 * The addresses are the ones given, or else every non-loopback IPv4
 * address of this host with peerkeyd's port, as "peerkey invite" finds
 * them. Each peer with a node key and an address is sent UPDATE over
 * native TLS, its node key pinned; the peer takes it only from this
 * machine's own node key and only if it is newer than what it holds, so
 * an older identity re-sent by anyone is refused. Exit 0 when every
 * peer took it, 5 (EXIT_PARTIAL) when some did not (each named).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "key.h"
#include "msg.h"
#include "peerkey.h"
#include "proto.h"

static const struct option update_opts[] = {
	{ "address", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

int
cmd_update(int argc, char **argv)
{
	struct pk_identity	*id = NULL;
	struct cli_peer		*peers = NULL;
	struct pk_msg		 m;
	json_t			*resp = NULL, *doc = NULL, *out;
	const char		*name;
	char			 addrs[512] = "";
	char			*ident = NULL, *docs = NULL, *cause = NULL;
	size_t			 n = 0, i, nok = 0;
	int			 ch, r, ex = EXIT_FAIL;

	/* Its one option, -a, may come again: each adds an address. */
	while ((ch = getopt_long(argc, argv, "a:", update_opts, NULL)) != -1)
		if (ch != 'a' || pk_list_add(addrs, sizeof(addrs), optarg) != 0)
			return EXIT_USAGE;
	if ((ex = invite_start(argc, &id, &resp, addrs, sizeof(addrs))) !=
	    EXIT_OK)
		goto out;
	ex = EXIT_FAIL;
	name = json_string_value(json_object_get(json_object_get(resp, "self"),
	    "name"));
	if ((r = local_peers(NULL, 0, &peers, &n)) != 0) {
		ex = r;
		goto out;
	}
	if ((ident = local_identity(id, name, addrs)) == NULL) {
		ex = EXIT_LOCAL;
		goto out;
	}
	doc = json_pack("{s:s, s:s}", "name", name, "identity", ident);
	if (doc == NULL || (docs = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto out;
	out = json_array();
	for (i = 0; i < n; i++) {
		pk_msg_init(&m, PK_MSG_UPDATE);
		m.u.doc.doc.p = (const uint8_t *)docs;
		m.u.doc.doc.len = strlen(docs);
		free(cause);
		cause = NULL;
		r = dial_request(id, &peers[i], &m, PK_MSG_ACK, &cause);
		if (r == 0)
			nok++;
		else
			fprintf(stderr, "peerkey: update: %s: %s\n",
			    peers[i].name, cause != NULL ? cause : "failed");
		json_array_append_new(out, json_pack("{s:s, s:b}", "name",
		    peers[i].name, "updated", r == 0));
	}
	if (opt_json) {
		json_t *j = json_pack("{s:s, s:s, s:o}", "name", name,
		    "addresses", addrs, "peers", out);

		out_result(j);
		json_decref(j);
	} else {
		printf("identity of %s (addresses %s) sent: %zu of %zu peers "
		    "took it\n", name, *addrs ? addrs : "none", nok, n);
		json_decref(out);
	}
	ex = nok == n ? EXIT_OK : EXIT_PARTIAL;
out:
	free(cause);
	free(docs);
	free(ident);
	json_decref(doc);
	json_decref(resp);
	local_peers_free(peers, n);
	if (id != NULL)
		pk_identity_free(id);
	return ex;
}
