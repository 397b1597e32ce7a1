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

/*
 * Closes every descriptor from lowfd up (in a child before exec: what a
 * program we start must not hold, such as a TPM's connection, which its
 * TPM serves one at a time, or the daemon's sockets and database).
 */
void	pk_closefrom(int lowfd);

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
 * The blocking dialer of a native session, for every program that opens
 * one (peerkey's requests, peerkeyd's introductions): connects to addr
 * (one numeric address as addr.h spells it; port PK_DEFAULT_PORT when it
 * names none), writes the native pre-TLS line and completes the TLS
 * handshake with creds, accepting only the peer whose node key id is
 * keyid, all by deadline. Returns 0 with *tlsp and *fdp set (end them
 * with pk_io_close()), or a PK_ERR_* with *cause set to "ADDR: why":
 * PK_ERR_BAD_FORMAT or PK_ERR_TOO_LARGE for an address that does not
 * parse, PK_ERR_SYSTEM (errno set) or PK_ERR_TIMEOUT for the connection,
 * PK_ERR_PEER_REJECTED for another node key, PK_ERR_TLS.
 */
int	pk_io_dial(const char *addr, const struct pk_tls_creds *creds,
	    const char *keyid, uint64_t deadline, struct pk_tls **tlsp,
	    int *fdp, char **cause);

/* Ends a session: close_notify, free, close (tls NULL, fd -1: none). */
void	pk_io_close(struct pk_tls *, int fd);

/*
 * Drops a connection at once, as an event loop does on error or timeout:
 * frees *tls (no close_notify) and closes *fd, leaving *tls NULL and *fd
 * -1 (either may be so already).
 */
void	pk_io_drop(struct pk_tls **tls, int *fd);

#endif /* PK_IO_H */
