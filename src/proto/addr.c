/*
 * addr.c: address lists and addresses (see addr.h): the one iterator over
 * "host:port host:port" lists, the one way to add to one, and the one
 * host/port splitter.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "pk_err.h"

/* The next word of the list at *p (see addr.h). */
int
pk_list_next(const char **p, char *out, size_t outlen)
{
	const char	*s;
	size_t		 n;

	if (p == NULL || *p == NULL || out == NULL || outlen == 0)
		return 0;
	s = *p + strspn(*p, PK_LIST_SEP);
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	n = strcspn(s, PK_LIST_SEP);
	*p = s + n;
	if (n >= outlen) {
		memcpy(out, s, outlen - 1);
		out[outlen - 1] = '\0';
		return PK_ERR_TOO_LARGE;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

/* Appends a word to a list (see addr.h). */
int
pk_list_add(char *buf, size_t size, const char *word)
{
	size_t	 len = strlen(buf), wlen = strlen(word), sep = len > 0;

	if (len + sep + wlen >= size)
		return PK_ERR_TOO_LARGE;
	if (sep)
		buf[len] = ' ';
	memcpy(buf + len + sep, word, wlen + 1);
	return 0;
}

/* Is word in list (see addr.h)? */
int
pk_list_has(const char *list, const char *word)
{
	char	 w[256];
	int	 r;

	while ((r = pk_list_next(&list, w, sizeof(w))) != 0)
		if (r == 1 && strcmp(w, word) == 0)
			return 1;
	return 0;
}

/* Splits an address into host and port (see addr.h). */
int
pk_addr_split(const char *in, char *host, size_t hostlen, char *port,
    size_t portlen, const char *defport)
{
	const char	*h, *p = NULL, *end;
	size_t		 hl;

	if (in == NULL || *in == '\0')
		return PK_ERR_BAD_FORMAT;
	if (*in == '[') {
		h = in + 1;
		if ((end = strchr(h, ']')) == NULL)
			return PK_ERR_BAD_FORMAT;
		hl = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] != '\0')
			return PK_ERR_BAD_FORMAT;
	} else {
		h = in;
		end = strrchr(in, ':');
		if (end != NULL && strchr(in, ':') == end) {
			/* exactly one colon: host:port */
			hl = (size_t)(end - in);
			p = end + 1;
		} else
			hl = strlen(in);	/* name, IPv4 or bare IPv6 */
	}
	if (hl == 0 || (p != NULL && *p == '\0'))
		return PK_ERR_BAD_FORMAT;
	if (p == NULL)
		p = defport;
	if (hl >= hostlen || strlen(p) >= portlen)
		return PK_ERR_TOO_LARGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, strlen(p) + 1);
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) > 65535)
		return PK_ERR_BAD_FORMAT;
	return 0;
}
