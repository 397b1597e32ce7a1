/*
 * labels.c: a peer's key=value labels (labels.h has the rules).
 *
 * Every function works on at most PK_LABELS_N + the change's words at
 * once, in fixed arrays: labels are few and short, and nothing here
 * allocates.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "pk_err.h"

#define KEY_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789_.-"
#define VALUE_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789_.:-"
#define WORD_MAX	(PK_LABEL_KEY_MAX + 1 + PK_LABEL_VALUE_MAX)
#define CHANGE_MAX	(4 * PK_LABELS_N)	/* words of one change */

struct label {
	char	key[PK_LABEL_KEY_MAX + 1];
	char	value[PK_LABEL_VALUE_MAX + 1];	/* "": remove */
};

/* Is key a label key? */
int
pk_label_key_ok(const char *key)
{
	size_t	n = strlen(key);

	return n >= 1 && n <= PK_LABEL_KEY_MAX && key[0] >= 'a' &&
	    key[0] <= 'z' && strspn(key, KEY_CHARS) == n;
}

/*
 * Splits word (n bytes, no separator in it) into l. Returns 0, or
 * PK_ERR_BAD_FORMAT; an empty value only if empty_ok (a removal).
 */
static int
label_parse(const char *word, size_t n, int empty_ok, struct label *l)
{
	const char	*eq = memchr(word, '=', n);
	size_t		 kn, vn;

	if (eq == NULL)
		return PK_ERR_BAD_FORMAT;
	kn = eq - word;
	vn = n - kn - 1;
	if (kn == 0 || kn > PK_LABEL_KEY_MAX || vn > PK_LABEL_VALUE_MAX ||
	    (vn == 0 && !empty_ok))
		return PK_ERR_BAD_FORMAT;
	memcpy(l->key, word, kn);
	l->key[kn] = '\0';
	memcpy(l->value, eq + 1, vn);
	l->value[vn] = '\0';
	if (!pk_label_key_ok(l->key) || strspn(l->value, VALUE_CHARS) != vn)
		return PK_ERR_BAD_FORMAT;
	return 0;
}

/*
 * Reads the words of s (separated by any of sep) into v (at most max).
 * Returns their number, or -1 (*bad: the offending word, at most
 * WORD_MAX of it) for a word that is no label, -2 for more than max.
 */
static int
label_words(const char *s, const char *sep, int empty_ok, struct label *v,
    int max, char *bad, size_t badlen)
{
	size_t	 n;
	int	 c = 0;

	for (;;) {
		s += strspn(s, sep);
		if (*s == '\0')
			return c;
		n = strcspn(s, sep);
		if (c == max)
			return -2;
		if (label_parse(s, n, empty_ok, &v[c]) != 0) {
			snprintf(bad, badlen, "%.*s", (int)(n > WORD_MAX ?
			    WORD_MAX : n), s);
			return -1;
		}
		c++;
		s += n;
	}
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key,
	    ((const struct label *)b)->key);
}

/* The cause for a bad word: what a label is. */
static void
label_cause(char **cause, const char *bad)
{
	pk_cause_set(cause, "label \"%s\": a label is KEY=VALUE, the key 1-%d "
	    "of a-z 0-9 _ . - beginning with a letter, the value 1-%d of "
	    "A-Z a-z 0-9 _ . : -", bad, PK_LABEL_KEY_MAX, PK_LABEL_VALUE_MAX);
}

/* Applies change to base; see labels.h. */
int
pk_labels_edit(const char *base, const char *change, char *out, size_t len,
    char **cause)
{
	struct label	 cur[PK_LABELS_N], ch[CHANGE_MAX];
	char		 bad[WORD_MAX + 1], *o = out;
	int		 nc, nch, i, j, w;

	if (len < PK_LABELS_MAX + 1)
		return PK_ERR_INVALID_ARG;
	if ((nc = label_words(base, " ", 0, cur, PK_LABELS_N, bad,
	    sizeof(bad))) < 0) {
		pk_cause_set(cause, "stored labels are not canonical");
		return PK_ERR_BAD_FORMAT;
	}
	if ((nch = label_words(change, " \t,", 1, ch, CHANGE_MAX, bad,
	    sizeof(bad))) < 0) {
		if (nch == -2) {
			pk_cause_set(cause, "at most %d labels", PK_LABELS_N);
			return PK_ERR_TOO_LARGE;
		}
		label_cause(cause, bad);
		return PK_ERR_BAD_FORMAT;
	}
	for (i = 0; i < nch; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(ch[i].key, ch[j].key) == 0) {
				pk_cause_set(cause, "label key \"%s\" given "
				    "twice", ch[i].key);
				return PK_ERR_BAD_FORMAT;
			}
		for (j = 0; j < nc && strcmp(cur[j].key, ch[i].key) != 0; j++)
			;
		if (ch[i].value[0] == '\0') {		/* remove */
			if (j < nc)
				cur[j] = cur[--nc];
			continue;
		}
		if (j == nc) {
			if (nc == PK_LABELS_N) {
				pk_cause_set(cause, "at most %d labels",
				    PK_LABELS_N);
				return PK_ERR_TOO_LARGE;
			}
			nc++;
		}
		cur[j] = ch[i];
	}
	qsort(cur, nc, sizeof(cur[0]), label_cmp);
	*o = '\0';
	for (i = 0; i < nc; i++) {
		w = snprintf(o, len - (o - out), "%s%s=%s", i ? " " : "",
		    cur[i].key, cur[i].value);
		o += w;
	}
	return 0;
}

/* Is s canonical? See labels.h. */
int
pk_labels_valid(const char *s)
{
	char	 out[PK_LABELS_MAX + 1];

	if (strlen(s) > PK_LABELS_MAX ||
	    pk_labels_edit("", s, out, sizeof(out), NULL) != 0)
		return -1;
	return strcmp(out, s) == 0 ? 0 : -1;
}

/* The value of key; see labels.h. */
int
pk_labels_get(const char *labels, const char *key, char *val, size_t len)
{
	size_t	 kn = strlen(key), n;
	const char *s = labels;

	if (len > 0)
		val[0] = '\0';
	while (*s != '\0') {
		n = strcspn(s, " ");
		if (n > kn && strncmp(s, key, kn) == 0 && s[kn] == '=') {
			snprintf(val, len, "%.*s", (int)(n - kn - 1),
			    s + kn + 1);
			return 1;
		}
		s += n;
		s += strspn(s, " ");
	}
	return 0;
}
