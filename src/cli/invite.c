/*
 * invite.c: the invitation code and the inviter's JOIN_REPLY, read and
 * checked before "peerkey join" acts on either (invite.h).
 *
 * A JOIN_REPLY comes from the network: the inviter is authenticated (its
 * node key is pinned by the code), but what it says is still checked
 * field by field, and all of it before anything is added, so that a
 * reply with a member missing a field neither crashes the command nor
 * leaves it half done: the good identities are added, the bad ones
 * named, and boot.conf refreshed as after any join.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "ident.h"
#include "invite.h"
#include "key.h"
#include "pk_err.h"
#include "secret.h"

/* base64url without padding; see invite.h. */
char *
invite_b64url_encode(const void *p, size_t len)
{
	gnutls_datum_t	 in = { (unsigned char *)(uintptr_t)p, len }, out;
	char		*s;
	size_t		 i;

	if (gnutls_base64_encode2(&in, &out) != 0)
		return NULL;
	if ((s = malloc(out.size + 1)) == NULL) {
		gnutls_free(out.data);
		return NULL;
	}
	for (i = 0; i < out.size && out.data[i] != '='; i++)
		s[i] = out.data[i] == '+' ? '-' : out.data[i] == '/' ? '_' :
		    (char)out.data[i];
	s[i] = '\0';
	gnutls_free(out.data);
	return s;
}

/* Decodes base64url; see invite.h. */
unsigned char *
invite_b64url_decode(const char *s, size_t *len)
{
	gnutls_datum_t	 in, out;
	char		*t;
	size_t		 n = strlen(s), i;

	if ((t = malloc(n + 4)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+' || s[i] == '/') {	/* base64, not -url */
			free(t);
			return NULL;
		}
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	while (i % 4)
		t[i++] = '=';
	in.data = (unsigned char *)t;
	in.size = (unsigned int)i;
	if (i == 0 || gnutls_base64_decode2(&in, &out) != 0) {
		free(t);
		return NULL;
	}
	free(t);
	*len = out.size;
	return out.data;
}

/* Decodes an invitation code; see invite.h. */
int
invite_code_decode(const char *code, struct invite_code *ic, char **cause)
{
	json_error_t	 jerr;
	json_t		*j = NULL, *e;
	const char	*a, *k, *s;
	unsigned char	*raw = NULL, *secret = NULL;
	size_t		 rawlen = 0, slen = 0;
	int		 r = -1;

	memset(ic, 0, sizeof(*ic));
	if ((raw = invite_b64url_decode(code, &rawlen)) == NULL ||
	    (j = json_loadb((char *)raw, rawlen, 0, &jerr)) == NULL ||
	    !json_is_object(j)) {
		pk_cause_set(cause, "not base64url of a JSON object");
		goto out;
	}
	a = json_string_value(json_object_get(j, "a"));
	k = json_string_value(json_object_get(j, "k"));
	s = json_string_value(json_object_get(j, "s"));
	e = json_object_get(j, "e");
	if (!json_is_integer(json_object_get(j, "v")) ||
	    json_integer_value(json_object_get(j, "v")) != 1) {
		pk_cause_set(cause, "not a version 1 code");
		goto out;
	}
	if (a == NULL || *a == '\0' || strlen(a) > INVITE_ADDRS_MAX) {
		pk_cause_set(cause, "no inviter address (\"a\")");
		goto out;
	}
	if (k == NULL || !pk_keyid_valid(k)) {
		pk_cause_set(cause, "no inviter key id (\"k\")");
		goto out;
	}
	if (s == NULL || (secret = invite_b64url_decode(s, &slen)) == NULL ||
	    slen != PK_JOIN_SECRET_LEN) {
		pk_cause_set(cause, "no %d-byte secret (\"s\")",
		    PK_JOIN_SECRET_LEN);
		goto out;
	}
	if (e != NULL && !json_is_integer(e)) {
		pk_cause_set(cause, "a bad expiry (\"e\")");
		goto out;
	}
	memcpy(ic->addresses, a, strlen(a) + 1);
	memcpy(ic->node_keyid, k, PK_KEYID_HEXLEN + 1);
	pk_keyid_normalize(ic->node_keyid);
	memcpy(ic->secret, secret, PK_JOIN_SECRET_LEN);
	ic->expires = e != NULL ? (long long)json_integer_value(e) : 0;
	r = 0;
out:
	if (secret != NULL)
		pk_wipe(secret, slen);
	gnutls_free(secret);
	if (raw != NULL)
		pk_wipe(raw, rawlen);
	gnutls_free(raw);
	json_decref(j);
	return r;
}

/* Checks one identity; see invite.h. */
int
invite_ident_check(json_t *id, char **cause)
{
	struct pk_ident	 doc;
	json_t		*v;

	if (!json_is_object(id)) {
		pk_cause_set(cause, "not an object");
		return -1;
	}
	if (!json_is_string(v = json_object_get(id, "identity"))) {
		pk_cause_set(cause, "no signed identity (\"identity\")");
		return -1;
	}
	if (pk_ident_decode_b64(json_string_value(v), &doc, NULL, NULL,
	    cause) != 0)
		return -1;
	pk_ident_clear(&doc);
	return 0;
}

/* The checked identity id as a new object of what its document says. */
static json_t *
invite_ident_copy(json_t *id)
{
	struct pk_ident	 doc;
	json_t		*o;

	if (pk_ident_decode_b64(json_string_value(json_object_get(id,
	    "identity")), &doc, NULL, NULL, NULL) != 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "name", doc.name,
	    "node_keyid", doc.node_keyid, "boot_keyid", doc.boot_keyid,
	    "addresses", doc.addresses, "boot_pgp", doc.boot_pgp,
	    "identity", json_object_get(id, "identity"));
	pk_ident_clear(&doc);
	return o;
}

/* The name that the checked identity id's document gives. */
static const char *
invite_ident_name(json_t *id)
{
	static char	 name[PK_IDENT_NAME_MAX + 1];
	struct pk_ident	 doc;

	name[0] = '\0';
	if (pk_ident_decode_b64(json_string_value(json_object_get(id,
	    "identity")), &doc, NULL, NULL, NULL) == 0) {
		memcpy(name, doc.name, sizeof(name));
		pk_ident_clear(&doc);
	}
	return name;
}

/* The node key id that identity id's document names ("" if none). */
static const char *
invite_ident_node(json_t *id, char *buf)
{
	struct pk_ident	 doc;

	buf[0] = '\0';
	if (pk_ident_decode_b64(json_string_value(json_object_get(id,
	    "identity")), &doc, NULL, NULL, NULL) == 0) {
		memcpy(buf, doc.node_keyid, sizeof(doc.node_keyid));
		pk_ident_clear(&doc);
	}
	return buf;
}

/* Reads and checks a JOIN_REPLY; see invite.h. */
json_t *
invite_reply_check(const void *doc, size_t len, const char *self_keyid,
    char **cause)
{
	json_error_t	 jerr;
	json_t		*reply, *self, *members, *x, *out = NULL, *peers, *bad,
			*c;
	char		*why = NULL, nk[PK_KEYID_HEXLEN + 1];
	size_t		 i;

	if ((reply = json_loadb(doc, len, 0, &jerr)) == NULL ||
	    !json_is_object(reply)) {
		pk_cause_set(cause, "the reply is not a JSON object");
		goto out;
	}
	self = json_object_get(reply, "self");
	members = json_object_get(reply, "members");
	if (invite_ident_check(self, &why) != 0) {
		pk_cause_set(cause, "the inviter's identity: %s", why);
		goto out;
	}
	if (members != NULL && !json_is_array(members)) {
		pk_cause_set(cause, "\"members\" is not an array");
		goto out;
	}
	out = json_pack("{s:s, s:[], s:[]}", "inviter",
	    invite_ident_name(self), "peers", "bad");
	if (out == NULL) {
		pk_cause_set(cause, "out of memory");
		goto out;
	}
	peers = json_object_get(out, "peers");
	bad = json_object_get(out, "bad");
	if (strcasecmp(invite_ident_node(self, nk), self_keyid) != 0 &&
	    json_array_append_new(peers, invite_ident_copy(self)) != 0)
		goto nomem;
	json_array_foreach(members, i, x) {
		free(why);
		why = NULL;
		if (invite_ident_check(x, &why) != 0) {
			c = json_pack("{s:I, s:O?, s:s}", "member",
			    (json_int_t)i, "name", json_is_object(x) &&
			    json_is_string(json_object_get(x, "name")) ?
			    json_object_get(x, "name") : NULL, "why", why);
			if (json_array_append_new(bad, c) != 0)
				goto nomem;
			continue;
		}
		if (strcasecmp(invite_ident_node(x, nk), self_keyid) == 0)
			continue;
		if (json_array_append_new(peers, invite_ident_copy(x)) != 0)
			goto nomem;
	}
	goto out;
nomem:
	json_decref(out);
	out = NULL;
	pk_cause_set(cause, "out of memory");
out:
	free(why);
	json_decref(reply);
	return out;
}
