/*
 * line.h: the pre-TLS protocol line that selects native or Mandos mode.
 *
 * A client's first bytes on the TCP connection are one ASCII line ending
 * in CR LF. Exactly "peerkey 1\r\n" selects the native protocol; exactly
 * "1\r\n" selects Mandos protocol 1 (what mandos-client sends). We are
 * strict where Mandos is lax: nothing else is accepted (doc/protocol.md,
 * "Protocol selection").
 */
#ifndef PK_LINE_H
#define PK_LINE_H

#include <stddef.h>
#include <stdint.h>

enum pk_line_proto {
	PK_LINE_PROTO_NATIVE	= 1,
	PK_LINE_PROTO_MANDOS	= 2,
};

/*
 * Looks at the bytes received so far, buf[0 .. len), for a complete line.
 * Only the first PK_LINE_MAX bytes are ever examined, so the caller may
 * pass whatever recv(MSG_PEEK) returned.
 *
 * Returns 0 and sets *proto and *linelen (bytes of the line including its
 * CR LF: consume exactly that many) for one of the two known lines.
 * Otherwise:
 *   PK_ERR_TRUNCATED	no LF yet and len < PK_LINE_MAX: read more;
 *   PK_ERR_TOO_LARGE	PK_LINE_MAX bytes and no LF among them;
 *   PK_ERR_BAD_VERSION	"peerkey N\r\n", N a canonical decimal other than 1;
 *   PK_ERR_BAD_LINE	any other complete line;
 *   PK_ERR_INVALID_ARG	a NULL pointer.
 * On BAD_VERSION and BAD_LINE *linelen is still the length of the line
 * (for logging); on every other error it is 0.
 */
int	pk_line_parse(const uint8_t *buf, size_t len,
	    enum pk_line_proto *proto, size_t *linelen);

/*
 * Copies the line that selects proto into out[0 .. outlen) (no NUL
 * added) and sets *written. Returns 0, PK_ERR_INVALID_ARG for an unknown
 * proto, or PK_ERR_TOO_LARGE if out is too small.
 */
int	pk_line_write(enum pk_line_proto proto, uint8_t *out, size_t outlen,
	    size_t *written);

/* Returns a static name for proto ("native", "mandos"), or "unknown". */
const char *pk_line_proto_name(unsigned int proto);

#endif /* PK_LINE_H */
