/*
 * luks-check.c: the peerkey LUKS2 token's JSON, checked, and its lists of
 * peer names (luks-check.h). luks_open() (luks-token.c) hands luks.c a
 * token only after luks_token_check() has passed it: a token that fails
 * is named and the command stops before it changes anything, so a
 * damaged or forged header cannot crash peerkey or make it act on half a
 * journal.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "luks-check.h"
#include "pk_err.h"
#include "proto.h"

/* Checks that member key of tok is an array of names. */
static int
luks_token_names(json_t *tok, const char *key, char **cause)
{
	json_t	*a = json_object_get(tok, key), *x;
	size_t	 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		pk_cause_set(cause, "\"%s\" is not an array", key);
		return -1;
	}
	json_array_foreach(a, i, x) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > LUKS_CHECK_NAME_MAX ||
		    strlen(json_string_value(x)) != json_string_length(x)) {
			pk_cause_set(cause, "\"%s\"[%zu] is not a peer name",
			    key, i);
			return -1;
		}
	}
	return 0;
}

/*
 * Checks "withdraw-pending" when present: an object of at most
 * PK_BLOBS_MAX blob ids, each an array of peer names (the peers that may
 * still hold that retired blob, luks.c).
 */
static int
luks_token_pending(json_t *tok, char **cause)
{
	json_t		*o = json_object_get(tok, "withdraw-pending"), *a;
	const char	*blob;
	size_t		 i;

	if (o == NULL)
		return 0;
	if (!json_is_object(o) || json_object_size(o) > PK_BLOBS_MAX) {
		pk_cause_set(cause, "\"withdraw-pending\" is not an object "
		    "of at most %d blob ids", PK_BLOBS_MAX);
		return -1;
	}
	json_object_foreach(o, blob, a) {
		json_t	*x;

		if (*blob == '\0' || strlen(blob) > PK_BLOB_ID_MAX ||
		    !json_is_array(a)) {
			pk_cause_set(cause, "\"withdraw-pending\" has a bad "
			    "entry");
			return -1;
		}
		json_array_foreach(a, i, x)
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    json_string_length(x) > LUKS_CHECK_NAME_MAX ||
			    strlen(json_string_value(x)) !=
			    json_string_length(x)) {
				pk_cause_set(cause, "\"withdraw-pending\"[%s] "
				    "is not a list of peer names", blob);
				return -1;
			}
	}
	return 0;
}

/*
 * Checks a split's members: "threshold" 1 .. 255 when present; with 2 or
 * more, "guardians" (threshold .. 255 objects, each a distinct peer
 * "name" and a distinct "share" 1 .. their number), "epoch" (the
 * "generation") and a "blob-id" that ends in "@EPOCH"; with 1 or none,
 * neither "guardians" nor "epoch".
 */
static int
luks_token_split(json_t *tok, char **cause)
{
	json_t		*v = json_object_get(tok, "threshold"), *g, *x, *y;
	json_int_t	 k = 1, e, s;
	const char	*blob, *at, *name;
	char		 tail[32];
	size_t		 i, j, n;

	if (v != NULL && (!json_is_integer(v) || (k = json_integer_value(v))
	    < 1 || k > LUKS_CHECK_SHARES)) {
		pk_cause_set(cause, "\"threshold\" is not 1 .. %d",
		    LUKS_CHECK_SHARES);
		return -1;
	}
	g = json_object_get(tok, "guardians");
	v = json_object_get(tok, "epoch");
	if (k == 1) {
		if (g != NULL || v != NULL) {
			pk_cause_set(cause, "\"%s\" without a threshold",
			    g != NULL ? "guardians" : "epoch");
			return -1;
		}
		return 0;
	}
	if (!json_is_integer(v) || (e = json_integer_value(v)) < 1 ||
	    !json_equal(v, json_object_get(tok, "generation"))) {
		pk_cause_set(cause, "\"epoch\" is not the generation");
		return -1;
	}
	blob = json_string_value(json_object_get(tok, "blob-id"));
	snprintf(tail, sizeof(tail), "@%lld", (long long)e);
	if ((at = strrchr(blob, '@')) == NULL || strcmp(at, tail) != 0) {
		pk_cause_set(cause, "\"blob-id\" does not end in %s", tail);
		return -1;
	}
	n = json_array_size(g);
	if (!json_is_array(g) || n < (size_t)k || n > LUKS_CHECK_SHARES) {
		pk_cause_set(cause, "\"guardians\" is not an array of %lld "
		    ".. %d guardians", (long long)k, LUKS_CHECK_SHARES);
		return -1;
	}
	json_array_foreach(g, i, x) {
		v = json_object_get(x, "share");
		name = json_string_value(json_object_get(x, "name"));
		if (!json_is_object(x) || !json_is_integer(v) ||
		    (s = json_integer_value(v)) < 1 || (size_t)s > n ||
		    name == NULL || *name == '\0' || strlen(name) >
		    LUKS_CHECK_NAME_MAX || strlen(name) != json_string_length(
		    json_object_get(x, "name"))) {
			pk_cause_set(cause, "\"guardians\"[%zu] is not a peer "
			    "name and share 1 .. %zu", i, n);
			return -1;
		}
		for (j = 0; j < i; j++) {
			y = json_array_get(g, j);
			if (json_equal(json_object_get(y, "share"), v) ||
			    json_equal(json_object_get(y, "name"),
			    json_object_get(x, "name"))) {
				pk_cause_set(cause, "\"guardians\"[%zu] repeats "
				    "[%zu]", i, j);
				return -1;
			}
		}
	}
	return 0;
}

/* Checks a token; see luks-token.h. */
int
luks_token_check(json_t *tok, char **cause)
{
	static const char *const states[] = {
		"adding", "depositing", "enrolled", "removing"
	};
	const char	*state, *blob;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(tok)) {
		pk_cause_set(cause, "not a JSON object");
		return -1;
	}
	state = json_string_value(json_object_get(tok, "state"));
	for (i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]);
	    i++)
		if (strcmp(state, states[i]) == 0)
			break;
	if (state == NULL || i == sizeof(states) / sizeof(states[0])) {
		pk_cause_set(cause, "\"state\" is not one of adding, "
		    "depositing, enrolled, removing");
		return -1;
	}
	v = json_object_get(tok, "keyslot");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) >= LUKS_CHECK_SLOTS)) {
		pk_cause_set(cause, "\"keyslot\" is not a keyslot number");
		return -1;
	}
	/* The maintenance key's keyslot: another one than the token's. */
	v = json_object_get(tok, "maintenance-keyslot");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) >= LUKS_CHECK_SLOTS ||
	    json_equal(v, json_object_get(tok, "keyslot")))) {
		pk_cause_set(cause, "\"maintenance-keyslot\" is not a keyslot "
		    "number other than \"keyslot\"");
		return -1;
	}
	v = json_object_get(tok, "guardians-wanted");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > LUKS_CHECK_SHARES ||
	    json_object_get(tok, "guardians") == NULL)) {
		pk_cause_set(cause, "\"guardians-wanted\" is not a split's "
		    "count 0 .. %d", LUKS_CHECK_SHARES);
		return -1;
	}
	v = json_object_get(tok, "blob-id");
	blob = json_string_value(v);
	if (blob == NULL || *blob == '\0' || json_string_length(v) >
	    PK_BLOB_ID_MAX || strlen(blob) != json_string_length(v)) {
		pk_cause_set(cause, "\"blob-id\" is not a blob id");
		return -1;
	}
	v = json_object_get(tok, "generation");
	if (v != NULL && !json_is_integer(v)) {
		pk_cause_set(cause, "\"generation\" is not an integer");
		return -1;
	}
	if (luks_token_names(tok, "peers", cause) != 0 ||
	    luks_token_names(tok, "held-by", cause) != 0 ||
	    luks_token_pending(tok, cause) != 0 ||
	    luks_token_split(tok, cause) != 0)
		return -1;
	return 0;
}

/* The index of name in a, or -1. */
static long
luks_names_find(json_t *a, const char *name)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x),
		    name) == 0)
			return (long)i;
	return -1;
}

/* Is name in a? See luks-token.h. */
int
luks_names_has(json_t *a, const char *name)
{
	return luks_names_find(a, name) >= 0;
}

/* Adds a's names to v; see luks-token.h. */
void
luks_names_add(json_t *v, json_t *a)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && !luks_names_has(v,
		    json_string_value(x)))
			json_array_append(v, x);
}

/* Removes name from a; see luks-token.h. */
void
luks_names_del(json_t *a, const char *name)
{
	long	 i = luks_names_find(a, name);

	if (i >= 0)
		json_array_remove(a, (size_t)i);
}
