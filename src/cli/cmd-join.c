/*
 * cmd-join.c: "peerkey join [--name N] [--address ADDR]... CODE": joins
 * the cluster of the machine that printed CODE ("peerkey invite").
 *
 * Connects to the inviter over native TLS with this machine's node key,
 * the inviter's node key pinned, sends JOIN (the secret, and this
 * machine's identity), and records the inviter and the members of its
 * JOIN_REPLY as peers of the local peerkeyd. The inviter introduces this
 * machine to the members itself (doc/trust.md). The code and the reply
 * are read and checked by invite.c, all of the reply before any peer is
 * added: a member the reply gets wrong is named and left out, the others
 * are added and boot.conf is refreshed (exit 5, EXIT_PARTIAL).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "addr.h"
#include "invite.h"
#include "io.h"
#include "key.h"
#include "msg.h"
#include "peerkey.h"
#include "pk_err.h"
#include "proto.h"
#include "secret.h"
#include "tls.h"

static const struct option join_opts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "address", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

/* Records one checked identity (invite_reply_check()) as a peer of the
 * local daemon. */
static int
join_record(json_t *id, const char **state)
{
	json_t		*resp;
	const char	*err;

	/* The daemon verifies the signed identity itself. */
	resp = ctl_request(json_pack("{s:s, s:O}", "cmd", "add", "identity",
	    json_object_get(id, "identity")));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		err = json_string_value(json_object_get(resp, "error"));
		*state = err != NULL && strstr(err, "exists") ? "known" :
		    "failed";
		if (**state == 'f')
			fprintf(stderr, "peerkey: cannot add peer %s: %s\n",
			    json_string_value(json_object_get(id, "name")),
			    err ? err : "?");
		json_decref(resp);
		return **state == 'k' ? 0 : -1;
	}
	*state = json_is_true(json_object_get(resp, "updated")) ? "updated" :
	    "added";
	json_decref(resp);
	return 0;
}

int
cmd_join(int argc, char **argv)
{
	uint8_t			*buf = NULL;
	size_t			 buflen;
	struct pk_identity	*id = NULL;
	struct pk_tls		*tls = NULL;
	struct cli_peer		 inviter;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct pk_msg		 m;
	struct invite_code	 ic = { .expires = 0 };
	json_t			*resp = NULL, *doc = NULL, *reply = NULL, *x,
				*out;
	const char		*name = NULL, *state;
	char			 addrs[512] = "", host[INET6_ADDRSTRLEN];
	char			*ident = NULL, *docs = NULL, *cause = NULL;
	size_t			 i;
	int			 ch, fd = -1, r, ex = EXIT_FAIL, bad = 0;

	/* -n NAME; -a ADDR, again for each address more. */
	while ((ch = getopt_long(argc, argv, "n:a:", join_opts, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch != 'a' ||
		    pk_list_add(addrs, sizeof(addrs), optarg) != 0)
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return EXIT_USAGE;
	if (invite_code_decode(argv[optind], &ic, &cause) != 0) {
		fprintf(stderr, "peerkey: that is not an invitation code: %s "
		    "(copy all of what \"peerkey invite\" printed)\n", cause);
		ex = EXIT_USAGE;
		goto out;
	}
	if ((ex = ctl_node_status(&id, &resp)) != EXIT_OK)
		goto out;
	ex = EXIT_FAIL;
	if (name == NULL)
		name = json_string_value(json_object_get(json_object_get(resp,
		    "self"), "name"));
	inviter.name = "inviter";
	inviter.node_keyid = ic.node_keyid;
	inviter.addresses = ic.addresses;
	if ((r = dial_peer(id, &inviter, &tls, &fd, &cause)) != 0) {
		fprintf(stderr, "peerkey: cannot reach the inviter: %s\n",
		    cause ? cause : "out of memory");
		goto out;
	}
	/* Default address: the one that reached the inviter. */
	if (*addrs == '\0' &&
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, host, sizeof(host));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, host, sizeof(host));
		snprintf(addrs, sizeof(addrs), ss.ss_family == AF_INET ?
		    "%s:%lld" : "[%s]:%lld", host, (long long)
		    json_integer_value(json_object_get(json_object_get(resp,
		    "self"), "port")));
	}
	/* This machine's identity, signed by its node key. */
	if ((ident = local_identity(id, name, addrs)) == NULL) {
		ex = EXIT_LOCAL;
		goto out;
	}
	doc = json_pack("{s:s, s:s}", "name", name, "identity", ident);
	if ((docs = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto out;
	pk_msg_init(&m, PK_MSG_JOIN);
	m.u.join.secret = ic.secret;
	m.u.join.doc.p = (const uint8_t *)docs;
	m.u.join.doc.len = strlen(docs);
	/* Room for the largest JOIN_REPLY: it lists every member. */
	buflen = PK_FRAME_HDR + 4 + PK_JOIN_REPLY_MAX;
	if ((buf = malloc(buflen)) == NULL)
		goto out;
	if ((r = pk_io_send_msg(tls, fd, &m, pk_now_ms() + 10000)) != 0 ||
	    (r = pk_io_recv_msg(tls, fd, buf, buflen, buflen, &m,
	    pk_now_ms() + 20000)) != 0) {
		fprintf(stderr, "peerkey: join: %s\n", pk_strerror(r));
		goto out;
	}
	if (m.type == PK_MSG_ERROR && m.u.error.code == PK_ERRC_TOO_LARGE) {
		fprintf(stderr, "peerkey: the inviter refused: %.*s\n"
		    "  (its reply would list more members than one JOIN "
		    "carries; your code is still valid)\n",
		    (int)m.u.error.text.len, m.u.error.text.p);
		goto out;
	}
	if (m.type == PK_MSG_ERROR) {
		fprintf(stderr, "peerkey: the inviter refused: %.*s\n"
		    "  (ask for a new code: \"peerkey invite\" on a member)\n",
		    (int)m.u.error.text.len, m.u.error.text.p);
		goto out;
	}
	if (m.type != PK_MSG_JOIN_REPLY) {
		fprintf(stderr, "peerkey: join: unexpected reply %s\n",
		    pk_msg_type_name(m.type));
		goto out;
	}
	/* All of it is checked before anything is added. */
	if ((reply = invite_reply_check(m.u.doc.doc.p, m.u.doc.doc.len,
	    id->keyid, &cause)) == NULL) {
		fprintf(stderr, "peerkey: join: a bad reply from the inviter: "
		    "%s; nothing was added\n", cause);
		goto out;
	}
	x = json_array_get(json_object_get(reply, "peers"), 0);
	if (x == NULL || strcasecmp(json_string_value(json_object_get(x,
	    "node_keyid")), ic.node_keyid) != 0) {
		fprintf(stderr, "peerkey: join: a bad reply from the inviter: "
		    "its own identity is not signed by the key of the code; "
		    "nothing was added\n");
		goto out;
	}
	json_array_foreach(json_object_get(reply, "bad"), i, x) {
		fprintf(stderr, "peerkey: join: member %lld (%s) of the "
		    "inviter's reply: %s; not added\n", (long long)
		    json_integer_value(json_object_get(x, "member")),
		    json_is_string(json_object_get(x, "name")) ?
		    json_string_value(json_object_get(x, "name")) : "no name",
		    json_string_value(json_object_get(x, "why")));
		bad++;
	}
	/* The inviter first, then the members. */
	out = json_array();
	json_array_foreach(json_object_get(reply, "peers"), i, x) {
		if (join_record(x, &state) != 0)
			bad++;
		json_array_append_new(out, json_pack("{s:O, s:s}", "name",
		    json_object_get(x, "name"), "state", state));
	}
	if (opt_json) {
		x = json_pack("{s:s, s:O, s:O}", "name", name, "inviter",
		    json_object_get(reply, "inviter"), "peers", out);
		out_result(x);
		json_decref(x);
	} else {
		printf("joined as %s; this node now guards:", name);
		json_array_foreach(out, i, x)
			printf(" %s%s", json_string_value(json_object_get(x,
			    "name")), strcmp(json_string_value(
			    json_object_get(x, "state")), "added") == 0 ? "" :
			    strcmp(json_string_value(json_object_get(x,
			    "state")), "known") == 0 ? " (known already)" :
			    strcmp(json_string_value(json_object_get(x,
			    "state")), "updated") == 0 ? " (identity updated)" :
			    " (not added)");
		printf("\nthe inviter introduces this machine to the others; "
		    "then: \"peerkey enroll DEVICE\"\n");
	}
	json_decref(out);
	bootconf_refresh("join");
	ex = bad ? EXIT_PARTIAL : EXIT_OK;
out:
	pk_io_close(tls, fd);
	free(buf);
	free(cause);
	pk_wipe(&ic, sizeof(ic));
	free(docs);
	free(ident);
	json_decref(doc);
	json_decref(reply);
	json_decref(resp);
	if (id != NULL)
		pk_identity_free(id);
	return ex;
}
