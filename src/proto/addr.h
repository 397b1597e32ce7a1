/*
 * addr.h: peer addresses as the configuration, the store and the wire
 * write them.
 *
 * An address is "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
 * address; a link-local IPv6 address may carry "%ifname". An address list
 * is addresses separated by any run of spaces, tabs and commas
 * (PK_LIST_SEP): "192.0.2.1:4141, [fe80::1%eth0]:4141". Every list in
 * peerkey (peer addresses, listen addresses, boot.conf's address, the
 * mdns-interfaces of boot.conf) is read with pk_list_next(); lists are
 * written with single spaces, by pk_list_add().
 */
#ifndef PK_ADDR_H
#define PK_ADDR_H

#include <stddef.h>

#define PK_LIST_SEP	" \t,"	/* what separates the words of a list */
#define PK_ADDR_LEN	264	/* "[" 255-byte host "]:65535" and its NUL */

/*
 * Copies the next word of the list at *p into out[0 .. outlen) and moves
 * *p past it. Returns 1 for a word, 0 at the end of the list (or on a NULL
 * *p), or PK_ERR_TOO_LARGE for a word of outlen bytes or more: *p still
 * moves past it, and out holds its first outlen - 1 bytes, for a message.
 *
 *	const char	*p = list;
 *	char		 a[PK_ADDR_LEN];
 *
 *	while ((r = pk_list_next(&p, a, sizeof(a))) != 0)
 *		...
 */
int	pk_list_next(const char **p, char *out, size_t outlen);

/*
 * Appends word to the list in buf[0 .. size) (a string), after a space
 * unless the list is empty. Returns 0, or PK_ERR_TOO_LARGE (buf as it was)
 * when it does not fit.
 */
int	pk_list_add(char *buf, size_t size, const char *word);

/* Is word one of the list's words? */
int	pk_list_has(const char *list, const char *word);

/*
 * Splits one address (above) into host and port; defport is used when it
 * has none. Returns 0, PK_ERR_BAD_FORMAT, or PK_ERR_TOO_LARGE when a part
 * does not fit. Only the syntax is checked, not that host is numeric.
 */
int	pk_addr_split(const char *in, char *host, size_t hostlen, char *port,
	    size_t portlen, const char *defport);

#endif /* PK_ADDR_H */
