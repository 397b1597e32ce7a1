/*
 * io.h: blocking message exchange over a native TLS session, for the
 * programs that talk one request at a time (peerkey, peerkey-boot) and for
 * tests. The daemon does its own non-blocking framing with frame.h.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times in milliseconds
 * (pk_now_ms()); a call that would pass its deadline returns
 * PK_ERR_TIMEOUT. The socket may be blocking or not: these functions poll.
 */
#ifndef PK_IO_H
#define PK_IO_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "tls.h"

/* Monotonic milliseconds. */
uint64_t pk_now_ms(void);

/* Writes all of buf to fd (pre-TLS line). */
int	pk_io_write_all(int fd, const void *buf, size_t len,
	    uint64_t deadline);

/* Completes a handshake, polling fd as needed. */
int	pk_io_handshake(struct pk_tls *, int fd, uint64_t deadline);

/* Encodes msg and sends the whole frame. */
int	pk_io_send_msg(struct pk_tls *, int fd, const struct pk_msg *msg,
	    uint64_t deadline);

/*
 * Reads exactly one frame into buf[0 .. buflen) and decodes it into *msg
 * (whose byte fields point into buf). A frame longer than buflen, or than
 * max, is PK_ERR_TOO_LARGE; EOF before a whole frame is PK_ERR_EOF (or
 * PK_ERR_TRUNCATED mid-frame).
 */
int	pk_io_recv_msg(struct pk_tls *, int fd, uint8_t *buf, size_t buflen,
	    size_t max, struct pk_msg *msg, uint64_t deadline);

/*
 * Connects a TCP socket to host:port (numeric address; an IPv6
 * link-local address may carry %ifname), non-blocking connect with a
 * deadline, TCP_NODELAY set. Returns the fd (>= 0) or a PK_ERR_*.
 */
int	pk_io_connect(const char *host, const char *port, uint64_t deadline);

/*
 * Splits an address "host", "host:port", "[v6]:port", "[v6]" or a bare
 * IPv6 address (a link-local one may carry "%ifname") into host and port;
 * defport is used when none is given. Returns 0, PK_ERR_BAD_FORMAT, or
 * PK_ERR_TOO_LARGE when a part does not fit.
 */
int	pk_addr_split(const char *in, char *host, size_t hostlen, char *port,
	    size_t portlen, const char *defport);

#endif /* PK_IO_H */
