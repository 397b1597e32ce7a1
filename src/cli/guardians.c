/*
 * guardians.c: the guardian picker (guardians.h has the policy).
 *
 * The pick is a water-filling: the candidates that can guard are grouped
 * by their value of the spread label (one group for those without it),
 * each group in name order; then, n times, the group that holds the
 * fewest picks so far and has a candidate left gives its next one (ties:
 * the smaller value, "" last). The largest number of picks in one group
 * is then the smallest any pick can reach: for every bound m, no pick
 * puts more than m in each group unless the groups hold fewer than n
 * candidates below m, and water-filling reaches m before it exceeds it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guardians.h"
#include "labels.h"
#include "pk_err.h"

struct group {
	char	 value[PK_LABEL_VALUE_MAX + 1];	/* "" no label */
	size_t	*members;			/* indexes into c, by name */
	size_t	 nmembers, next, picked;
};

static const struct guardian_cand *sort_c;	/* for by_name() */

static int
by_name(const void *a, const void *b)
{
	return strcmp(sort_c[*(const size_t *)a].name,
	    sort_c[*(const size_t *)b].name);
}

static int
can_guard(const struct guardian_cand *c)
{
	return c->usable && c->has_node_key;
}

/* The value of key in c's labels, "" none. */
static void
value_of(const struct guardian_cand *c, const char *key, char *v,
    size_t len)
{
	if (pk_labels_get(c->labels != NULL ? c->labels : "", key, v,
	    len) == 0)
		v[0] = '\0';
}

/* Groups the candidates idx[0 .. n) by value; returns the count, or -1. */
static int
group_all(const struct guardian_cand *c, const size_t *idx, size_t n,
    const char *key, struct group *g)
{
	char	 v[PK_LABEL_VALUE_MAX + 1];
	size_t	 i, j, ng = 0;

	for (i = 0; i < n; i++) {
		value_of(&c[idx[i]], key, v, sizeof(v));
		for (j = 0; j < ng && strcmp(g[j].value, v) != 0; j++)
			;
		if (j == ng) {
			memset(&g[ng], 0, sizeof(g[ng]));
			snprintf(g[ng].value, sizeof(g[ng].value), "%s", v);
			if ((g[ng].members = calloc(n, sizeof(size_t))) ==
			    NULL)
				return -1;
			ng++;
		}
		g[j].members[g[j].nmembers++] = idx[i];
	}
	return (int)ng;
}

static void
group_free(struct group *g, int ng)
{
	int	i;

	for (i = 0; i < ng; i++)
		free(g[i].members);
	free(g);
}

/* Does group a come before b among equals? The smaller value; "" last. */
static int
group_before(const struct group *a, const struct group *b)
{
	if (a->value[0] == '\0' || b->value[0] == '\0')
		return b->value[0] == '\0' && a->value[0] != '\0';
	return strcmp(a->value, b->value) < 0;
}

/* Policy sentence; see guardians.h. */
char *
guardians_spread(const struct guardian_cand *c, const size_t *pick,
    size_t n, unsigned k, const char *key)
{
	struct group	*g;
	char		*why = NULL;
	size_t		 top = 0;
	int		 ng, i, worst = -1;

	if (k <= 1 || n == 0)
		return NULL;
	if ((g = calloc(n, sizeof(*g))) == NULL)
		return NULL;
	if ((ng = group_all(c, pick, n, key, g)) < 0) {
		group_free(g, n);
		return NULL;
	}
	for (i = 0; i < ng; i++)
		if (g[i].nmembers > top) {
			top = g[i].nmembers;
			worst = i;
		}
	if (worst >= 0 && top >= k) {
		if (g[worst].value[0] == '\0')
			pk_cause_set(&why, "only %d %s%s for %u of %zu: %zu "
			    "guardians have no %s label", ng, key, ng == 1 ?
			    "" : "s", k, n, top, key);
		else
			pk_cause_set(&why, "only %d %s%s for %u of %zu: "
			    "%s=%s holds %zu", ng, key, ng == 1 ? "" : "s", k,
			    n, key, g[worst].value, top);
	}
	group_free(g, ng);
	return why;
}

/* The candidates that can guard, in name order, in idx; their number. */
static size_t
eligible(const struct guardian_cand *c, size_t nc, size_t *idx)
{
	size_t	i, n = 0;

	for (i = 0; i < nc; i++)
		if (can_guard(&c[i]))
			idx[n++] = i;
	sort_c = c;
	qsort(idx, n, sizeof(*idx), by_name);
	return n;
}

/* Picks n; see guardians.h. */
int
guardians_pick(const struct guardian_cand *c, size_t nc, unsigned k,
    unsigned n, const char *key, size_t *pick, char **why, char **cause)
{
	struct group	*g = NULL;
	size_t		*idx, ne, i;
	int		 ng, j, best;

	*why = NULL;
	if (n < 1 || n > GUARDIANS_MAX || k < 1 || k > n) {
		pk_cause_set(cause, "a threshold of %u of %u: it must be 1 to "
		    "%u, the guardians %u to %d", k, n, n, k, GUARDIANS_MAX);
		return -1;
	}
	if (!pk_label_key_ok(key)) {
		pk_cause_set(cause, "\"%s\" is not a label key", key);
		return -1;
	}
	if ((idx = calloc(nc + 1, sizeof(*idx))) == NULL)
		return -1;
	if ((ne = eligible(c, nc, idx)) < n) {
		pk_cause_set(cause, "%u guardians asked for, but only %zu "
		    "peer%s can guard (enabled, with a node key)", n, ne,
		    ne == 1 ? "" : "s");
		free(idx);
		return -1;
	}
	if ((g = calloc(ne, sizeof(*g))) == NULL ||
	    (ng = group_all(c, idx, ne, key, g)) < 0) {
		free(g);
		free(idx);
		return -1;
	}
	for (i = 0; i < n; i++) {
		best = -1;
		for (j = 0; j < ng; j++) {
			if (g[j].next == g[j].nmembers)
				continue;
			if (best == -1 || g[j].picked < g[best].picked ||
			    (g[j].picked == g[best].picked &&
			    group_before(&g[j], &g[best])))
				best = j;
		}
		pick[i] = g[best].members[g[best].next++];
		g[best].picked++;
	}
	group_free(g, ng);
	free(idx);
	*why = guardians_spread(c, pick, n, k, key);
	return 0;
}

/* The index of the candidate named name (len bytes), or nc. */
static size_t
find(const struct guardian_cand *c, size_t nc, const char *name,
    size_t len)
{
	size_t	i;

	for (i = 0; i < nc; i++)
		if (strlen(c[i].name) == len &&
		    strncmp(c[i].name, name, len) == 0)
			return i;
	return nc;
}

/* Checks --guardians NAME,...; see guardians.h. */
int
guardians_named(const struct guardian_cand *c, size_t nc, const char *names,
    unsigned k, const char *key, size_t *pick, size_t *npick, char **why,
    char **cause)
{
	const char	*s = names;
	size_t		 len, i, j, n = 0;

	*why = NULL;
	*npick = 0;
	while (*s != '\0') {
		len = strcspn(s, ",");
		if (len == 0) {
			pk_cause_set(cause, "--guardians: an empty name");
			return -1;
		}
		if ((i = find(c, nc, s, len)) == nc) {
			pk_cause_set(cause, "--guardians: no peer %.*s",
			    (int)(len > 64 ? 64 : len), s);
			return -1;
		}
		if (!can_guard(&c[i])) {
			pk_cause_set(cause, "--guardians: %s cannot guard (%s)",
			    c[i].name, !c[i].has_node_key ? "no node key: a "
			    "Mandos client" : "not enabled");
			return -1;
		}
		for (j = 0; j < n; j++)
			if (pick[j] == i) {
				pk_cause_set(cause, "--guardians: %s named "
				    "twice", c[i].name);
				return -1;
			}
		if (n == GUARDIANS_MAX) {
			pk_cause_set(cause, "--guardians: at most %d",
			    GUARDIANS_MAX);
			return -1;
		}
		pick[n++] = i;
		s += len;
		if (*s == ',' && *++s == '\0') {
			pk_cause_set(cause, "--guardians: an empty name");
			return -1;
		}
	}
	if (n < k || k < 1) {
		pk_cause_set(cause, "--guardians: %zu named for a threshold of "
		    "%u", n, k);
		return -1;
	}
	*npick = n;
	*why = guardians_spread(c, pick, n, k, key);
	return 0;
}
