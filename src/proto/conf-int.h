/*
 * conf-int.h: what the file reader (conf.c) and the item code
 * (conf-item.c) share; not part of libpeerkey's interface.
 */
#ifndef PK_CONF_INT_H
#define PK_CONF_INT_H

#include <stddef.h>

#include "conf.h"

#define QUOTE_MAX	80	/* bytes of a bad value shown in a message */
#define QUOTE_BUF	(QUOTE_MAX + 16)

/*
 * Writes the first n bytes of s into buf (QUOTE_BUF bytes) as a quoted,
 * printable string; returns buf. conf_quote() takes a C string.
 */
const char	*conf_quote_n(char *buf, const char *s, size_t n);
const char	*conf_quote(char *buf, const char *s);

/* Returns item's section, "" for none. */
const char	*conf_item_section(const struct pk_conf_item *it);

/*
 * Checks value against item and stores it in obj. On PK_ERR_CONF sets
 * *msg to a malloc'ed "NAME: ..." (NULL if that allocation failed).
 */
int		 conf_set_value(const struct pk_conf_item *it,
		    const char *value, void *obj, char **msg);

#endif /* PK_CONF_INT_H */
