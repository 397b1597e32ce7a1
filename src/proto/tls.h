/*
 * tls.h: GnuTLS sessions for peerkey, on a caller's socket.
 *
 * Two profiles:
 *
 *  PK_TLS_NATIVE: TLS 1.3 only, raw public keys (RFC 7250) on both sides,
 *	Ed25519 or ECDSA P-256 (a TPM boot key, tpm.h: the identity's
 *	external key signs), X25519 key exchange, no session tickets. Both
 *	ends present their identity; each checks the other with the
 *	caller's verify rule, which receives the peer's key id. A peer with no key, a key of another
 *	type, or a key the rule rejects fails the handshake.
 *
 *  PK_TLS_MANDOS: what Mandos 1.8 negotiates (doc/mandos-compat.md). Roles
 *	are inverted: the booting side is the TLS server and presents its raw
 *	public key; the serving side is the TLS client and presents nothing
 *	(identity NULL). The serving side learns the booting side's key id
 *	through the same verify rule.
 *
 * Blocking or non-blocking is the socket's own mode: with a non-blocking
 * fd, pk_tls_handshake()/pk_tls_send()/pk_tls_recv() return PK_ERR_AGAIN
 * and pk_tls_want_write() says which way to wait. TCP_NODELAY is the
 * caller's job (it owns the socket).
 */
#ifndef PK_TLS_H
#define PK_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>

#include "key.h"

enum pk_tls_profile {
	PK_TLS_NATIVE,
	PK_TLS_MANDOS,
};

enum pk_tls_role {
	PK_TLS_CLIENT,
	PK_TLS_SERVER,
};

/*
 * The verify rule: called during the handshake with the peer's key id
 * (lowercase hex). Return 0 to accept the peer, non-zero to refuse it
 * (the handshake then fails with PK_ERR_PEER_REJECTED).
 */
typedef int (*pk_tls_verify_fn)(const char *keyid, void *arg);

/* Credentials built once from an identity, shared by many sessions. */
struct pk_tls_creds;

/* Makes credentials from id (NULL: none, for the Mandos serving side). */
int	pk_tls_creds_new(const struct pk_identity *id,
	    struct pk_tls_creds **out);
void	pk_tls_creds_free(struct pk_tls_creds *);

struct pk_tls;

/*
 * Makes a session on fd. verify may be NULL only for the Mandos booting
 * side (which, like mandos-client, does not authenticate the server) or
 * when the caller checks pk_tls_peer_keyid() itself after the handshake.
 * Returns 0, PK_ERR_INVALID_ARG, PK_ERR_TLS, PK_ERR_ALLOC.
 */
int	pk_tls_new(struct pk_tls **out, int fd, enum pk_tls_profile,
	    enum pk_tls_role, const struct pk_tls_creds *,
	    pk_tls_verify_fn verify, void *verify_arg);

/* Returns 0 when done, PK_ERR_AGAIN, PK_ERR_PEER_REJECTED, PK_ERR_TLS. */
int	pk_tls_handshake(struct pk_tls *);

/* After a handshake: 1 if the next PK_ERR_AGAIN waits for writability. */
int	pk_tls_want_write(struct pk_tls *);

/* The peer's key id, valid after a successful handshake ("" before). */
const char *pk_tls_peer_keyid(struct pk_tls *);

/*
 * The key id the peer offered during the handshake, even one that was
 * then refused ("" if it sent none): for log lines about refusals.
 */
const char *pk_tls_offered_keyid(struct pk_tls *);

/*
 * Sends up to len bytes; returns bytes sent (> 0), PK_ERR_AGAIN or
 * PK_ERR_TLS. After PK_ERR_AGAIN, call pk_tls_send() again with the same
 * buf and len (GnuTLS has already taken the record). pk_tls_recv
 * returns bytes read (> 0), PK_ERR_EOF on a clean close_notify or TCP
 * EOF, PK_ERR_AGAIN, or PK_ERR_TLS.
 */
ssize_t	pk_tls_send(struct pk_tls *, const void *buf, size_t len);
ssize_t	pk_tls_recv(struct pk_tls *, void *buf, size_t len);

/* Bytes already decrypted and waiting in GnuTLS (for event loops). */
size_t	pk_tls_pending(struct pk_tls *);

/* Sends close_notify (best effort, never blocks on a non-blocking fd). */
void	pk_tls_bye(struct pk_tls *);

/*
 * Frees the session; does not close fd. GnuTLS wipes its keys, but it
 * frees its record buffers without wiping them (3.7.9 has no API for
 * that): read secrets out promptly and wipe your own copies.
 */
void	pk_tls_free(struct pk_tls *);

/*
 * Writes GnuTLS's one-line description of the negotiated session (version,
 * certificate type, group, signature, cipher) into buf, for logs.
 * Returns 0, PK_ERR_INVALID_ARG (no handshake yet) or PK_ERR_ALLOC.
 */
int	pk_tls_describe(struct pk_tls *, char *buf, size_t len);

/* A short description of the last GnuTLS error on this session. */
const char *pk_tls_error(struct pk_tls *);

#endif /* PK_TLS_H */
