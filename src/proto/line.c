/*
 * line.c: parsing and writing the pre-TLS protocol line.
 *
 * The grammar is tiny and exact:
 *
 *	line    = native / mandos
 *	native  = "peerkey " version CR LF	; version must be "1"
 *	mandos  = "1" CR LF
 *	version = "0" / %x31-39 *DIGIT		; no sign, no leading zero
 *
 * "peerkey " followed by another well-formed version is reported as
 * PK_ERR_BAD_VERSION so the daemon can log that a newer (or older) peer
 * called; everything else is PK_ERR_BAD_LINE. Mandos' server accepts any
 * line whose first word is an integer <= 1 ("0", "-7", "1 foo"); we do
 * not, because nothing we serve sends those.
 */
#include "config.h"

#include <string.h>

#include "line.h"
#include "pk_err.h"
#include "proto.h"

/* Returns 1 if s[0 .. n) is a canonical decimal number, else 0. */
static int
line_is_decimal(const uint8_t *s, size_t n)
{
	size_t	i;

	if (n == 0 || (s[0] == '0' && n > 1))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Classifies a complete line l[0 .. n), n >= 1, l[n - 1] == '\n'. */
static int
line_classify(const uint8_t *l, size_t n, enum pk_line_proto *proto)
{
	static const char	 prefix[] = "peerkey ";
	const size_t		 plen = sizeof(prefix) - 1;

	if (n == sizeof(PK_LINE_NATIVE) - 1 &&
	    memcmp(l, PK_LINE_NATIVE, n) == 0) {
		*proto = PK_LINE_PROTO_NATIVE;
		return 0;
	}
	if (n == sizeof(PK_LINE_MANDOS) - 1 &&
	    memcmp(l, PK_LINE_MANDOS, n) == 0) {
		*proto = PK_LINE_PROTO_MANDOS;
		return 0;
	}
	/* "peerkey " version CR LF with a version we do not speak. */
	if (n > plen + 2 && memcmp(l, prefix, plen) == 0 &&
	    l[n - 2] == '\r' && line_is_decimal(l + plen, n - plen - 2))
		return PK_ERR_BAD_VERSION;
	return PK_ERR_BAD_LINE;
}

/* Looks for a complete, known protocol line at the start of buf. */
int
pk_line_parse(const uint8_t *buf, size_t len, enum pk_line_proto *proto,
    size_t *linelen)
{
	const uint8_t	*nl;
	size_t		 n;
	int		 r;

	if (linelen != NULL)
		*linelen = 0;
	if ((buf == NULL && len != 0) || proto == NULL || linelen == NULL)
		return PK_ERR_INVALID_ARG;
	n = len < PK_LINE_MAX ? len : PK_LINE_MAX;
	if (n == 0 || (nl = memchr(buf, '\n', n)) == NULL)
		return len < PK_LINE_MAX ? PK_ERR_TRUNCATED : PK_ERR_TOO_LARGE;
	n = (size_t)(nl - buf) + 1;
	r = line_classify(buf, n, proto);
	*linelen = n;		/* also on BAD_LINE/BAD_VERSION, for logs */
	return r;
}

/* Writes the line that selects proto into out. */
int
pk_line_write(enum pk_line_proto proto, uint8_t *out, size_t outlen,
    size_t *written)
{
	const char	*l;
	size_t		 n;

	if (written != NULL)
		*written = 0;
	if (written == NULL || (out == NULL && outlen != 0))
		return PK_ERR_INVALID_ARG;
	switch (proto) {
	case PK_LINE_PROTO_NATIVE:
		l = PK_LINE_NATIVE;
		break;
	case PK_LINE_PROTO_MANDOS:
		l = PK_LINE_MANDOS;
		break;
	default:
		return PK_ERR_INVALID_ARG;
	}
	n = strlen(l);
	if (outlen < n)
		return PK_ERR_TOO_LARGE;
	memcpy(out, l, n);
	*written = n;
	return 0;
}

/* Names a protocol for logs. */
const char *
pk_line_proto_name(unsigned int proto)
{
	switch (proto) {
	case PK_LINE_PROTO_NATIVE:
		return "native";
	case PK_LINE_PROTO_MANDOS:
		return "mandos";
	default:
		return "unknown";
	}
}
