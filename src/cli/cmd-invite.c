/*
 * cmd-invite.c: "peerkey invite [--expires D] [--address ADDR]...": a
 * one-time code for "peerkey join".
 *
 * The code is base64url (no padding) of a JSON object:
 *	{"v": 1, "a": "ADDR ADDR", "k": NODE-KEY-ID, "s": SECRET, "e": EXPIRY}
 * with the inviter's addresses, its node key id (the joiner pins it), a
 * random 32-byte secret (base64url) and the expiry (seconds since the
 * epoch). The running peerkeyd keeps only the secret's SHA-256, the
 * expiry and this machine's identity, signed here by its node key
 * (control "invite-add"; doc/protocol.md, "Signed identity").
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "invite.h"
#include "key.h"
#include "peerkey.h"
#include "proto.h"
#include "secret.h"

static const struct option invite_opts[] = {
	{ "expires", required_argument, NULL, 'e' },
	{ "address", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

/* Every non-loopback IPv4 address of this host, with port; see peerkey.h. */
void
invite_local_addrs(char *out, size_t len, long long port)
{
	struct ifaddrs	*ifa, *i;
	char		 host[INET_ADDRSTRLEN], one[64];

	*out = '\0';
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->
		    sin_addr, host, sizeof(host));
		snprintf(one, sizeof(one), "%s:%lld", host, port);
		(void)pk_list_add(out, len, one);	/* the rest left out */
	}
	freeifaddrs(ifa);
}

/* No operands, the node's key, the status, the addresses; see peerkey.h. */
int
invite_start(int argc, struct pk_identity **id, json_t **resp, char *addrs,
    size_t len)
{
	int	ex;

	*id = NULL;
	*resp = NULL;
	if (optind != argc)
		return EXIT_USAGE;
	if ((ex = ctl_node_status(id, resp)) != EXIT_OK)
		return ex;
	if (*addrs == '\0')
		invite_local_addrs(addrs, len, (long long)json_integer_value(
		    json_object_get(json_object_get(*resp, "self"), "port")));
	return EXIT_OK;
}

int
cmd_invite(int argc, char **argv)
{
	struct pk_identity *node = NULL;
	unsigned char	 secret[PK_JOIN_SECRET_LEN], hash[32];
	char		 addrs[512] = "", hex[65];
	char		*ident = NULL, *s64 = NULL, *js = NULL, *code = NULL;
	json_t		*resp, *self, *j;
	uint64_t	 ms = 3600 * 1000;
	struct timespec	 now;
	char		 dur[32];
	long long	 expires, expires_ms;
	int		 ch, i, ex = EXIT_FAIL;

	while ((ch = getopt_long(argc, argv, "e:a:", invite_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (pk_parse_duration_ms(optarg, &ms) != 0) {
				fprintf(stderr, "peerkey: --expires \"%s\" is "
				    "not a duration (e.g. 30m, 1h, 2d)\n",
				    optarg);
				return EXIT_USAGE;
			}
			if (ms < 1000 || ms > INVITE_EXPIRES_MAX_MS) {
				fprintf(stderr, "peerkey: --expires %s: a code "
				    "is valid for 1s to %s (it is a secret on "
				    "its way: make it when the machine is ready "
				    "to join)\n", optarg, fmt_ms(
				    INVITE_EXPIRES_MAX_MS, dur, sizeof(dur)));
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (pk_list_add(addrs, sizeof(addrs), optarg) != 0)
				return EXIT_USAGE;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((ex = invite_start(argc, &node, &resp, addrs, sizeof(addrs))) !=
	    EXIT_OK)
		return ex;
	ex = EXIT_FAIL;
	self = json_object_get(resp, "self");
	if (*addrs == '\0') {
		fprintf(stderr, "peerkey: this host has no address to put "
		    "in the code: give --address ADDR\n");
		goto out;
	}
	/* This machine's identity, signed by its node key, for the joiner. */
	if ((ident = local_identity(node, json_string_value(json_object_get(
	    self, "name")), addrs)) == NULL) {
		ex = EXIT_LOCAL;
		goto out;
	}
	gnutls_rnd(GNUTLS_RND_KEY, secret, sizeof(secret));
	gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, sizeof(secret), hash);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	/* Valid for ms from now, to the millisecond: a whole-second
	 * clock would cut up to a second off (all of a 1 s code). The
	 * code itself carries the second it ends in, rounded up. */
	clock_gettime(CLOCK_REALTIME, &now);
	expires_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
	    (long long)ms;
	expires = (expires_ms + 999) / 1000;
	j = ctl_request(json_pack("{s:s, s:s, s:I, s:{s:s}}",
	    "cmd", "invite-add", "secret_hash", hex, "expires",
	    (json_int_t)expires_ms, "self", "identity", ident));
	if (!json_is_true(json_object_get(j, "ok"))) {
		ex = ctl_fail(j);
		goto out;
	}
	json_decref(j);
	if ((s64 = invite_b64url_encode(secret, sizeof(secret))) == NULL)
		goto out;
	j = json_pack("{s:i, s:s, s:s, s:s, s:I}", "v", 1, "a", addrs, "k",
	    json_string_value(json_object_get(self, "node_keyid")), "s", s64,
	    "e", (json_int_t)expires);
	js = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (js == NULL || (code = invite_b64url_encode(js, strlen(js))) == NULL)
		goto out;
	if (opt_json) {
		j = json_pack("{s:s, s:I, s:s}", "code", code, "expires",
		    (json_int_t)expires_ms, "addresses", addrs);
		out_result(j);
		json_decref(j);
	} else
		printf("%s\n", code);
	if (!opt_json)
		fprintf(stderr, "One machine may join with it, within %s: "
		    "\"peerkey join CODE\" there.\n",
		    fmt_ms((long long)ms, dur, sizeof(dur)));
	ex = EXIT_OK;
out:
	pk_wipe(secret, sizeof(secret));
	if (s64 != NULL)
		pk_wipe(s64, strlen(s64));
	if (js != NULL)
		pk_wipe(js, strlen(js));
	free(s64);
	free(js);
	free(code);
	free(ident);
	json_decref(resp);
	pk_identity_free(node);
	return ex;
}
