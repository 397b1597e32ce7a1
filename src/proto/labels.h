/*
 * labels.h: a peer's labels, key=value words such as "zone=a rack=r3"
 * (peerkey(8), "peer label"; the guardian picker spreads shares over
 * them).
 *
 * The canonical text is the words sorted by key, one space between, each
 * key once: what the store keeps, the control socket answers and the
 * picker reads. Limits: at most PK_LABELS_N labels; a key is 1 ..
 * PK_LABEL_KEY_MAX of [a-z0-9_.-] beginning with a letter; a value is 1
 * .. PK_LABEL_VALUE_MAX of [A-Za-z0-9_.:-]. Nothing else (no blanks, no
 * '=' or ',' in a value, no control characters) is a label, so that the
 * canonical text needs no quoting anywhere it is shown.
 */
#ifndef PK_LABELS_H
#define PK_LABELS_H

#include <stddef.h>

#define PK_LABELS_N		8
#define PK_LABEL_KEY_MAX	32
#define PK_LABEL_VALUE_MAX	64
/* The longest canonical text, without its NUL. */
#define PK_LABELS_MAX		(PK_LABELS_N * \
				(PK_LABEL_KEY_MAX + 1 + PK_LABEL_VALUE_MAX + 1))

/*
 * Applies the words of change (separated by blanks or commas) to the
 * canonical labels base ("" none): "key=value" sets key, "key=" removes
 * it. Writes the canonical result to out (len >= PK_LABELS_MAX + 1).
 * Returns 0, or PK_ERR_BAD_FORMAT (a word that is no label, a key twice
 * in change) or PK_ERR_TOO_LARGE (more than PK_LABELS_N) with *cause
 * naming the word.
 */
int	 pk_labels_edit(const char *base, const char *change, char *out,
	    size_t len, char **cause);

/* Is s canonical labels text (as pk_labels_edit() writes it)? 0 or -1. */
int	 pk_labels_valid(const char *s);

/*
 * Copies the value of key in canonical labels to val (len >=
 * PK_LABEL_VALUE_MAX + 1) and returns 1, or returns 0 ("" in val) if it
 * has none.
 */
int	 pk_labels_get(const char *labels, const char *key, char *val,
	    size_t len);

/* Is key a label key? 1 or 0. */
int	 pk_label_key_ok(const char *key);

#endif /* PK_LABELS_H */
