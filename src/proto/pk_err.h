/*
 * pk_err.h: error codes of libpeerkey.
 *
 * Every library function returns 0 (PK_OK) on success or one of these
 * negative codes; the library never exits and never decides policy.
 * pk_strerror() turns a code into a short English phrase for logs.
 * PK_ERR_SYSTEM means "look at errno", which the function leaves set.
 *
 * How an error message travels: a function whose failure an operator
 * must read takes a "char **cause" out-parameter, returns its PK_ERR_*
 * code and sets *cause with pk_cause_set(). The caller passes the address
 * of a NULL pointer (or NULL: no message wanted), prints the message and
 * frees it; *cause still NULL after a failure means memory ran out. No
 * module keeps a global "last error" (pk_tls_error() names what GnuTLS
 * said on one session, for log lines).
 */
#ifndef PK_ERR_H
#define PK_ERR_H

#include <stdarg.h>

#define PK_OK			 0
#define PK_ERR_INTERNAL		-1	/* a broken invariant: a bug */
#define PK_ERR_ALLOC		-2	/* out of memory */
#define PK_ERR_INVALID_ARG	-3	/* caller passed something unusable */
#define PK_ERR_SYSTEM		-4	/* a system call failed; see errno */
#define PK_ERR_TRUNCATED	-5	/* input ends early: more bytes needed */
#define PK_ERR_TRAILING		-6	/* bytes left over after a message */
#define PK_ERR_TOO_LARGE	-7	/* a length over its named limit */
#define PK_ERR_BAD_FORMAT	-8	/* input does not parse */
#define PK_ERR_BAD_TYPE		-9	/* unknown message type */
#define PK_ERR_BAD_VERSION	-10	/* protocol version we do not speak */
#define PK_ERR_BAD_LINE		-11	/* pre-TLS line is not one we know */
#define PK_ERR_PERM		-12	/* a key file readable by others */
#define PK_ERR_KEY		-13	/* a key that cannot be used */
#define PK_ERR_TLS		-14	/* TLS failed (handshake or record) */
#define PK_ERR_PEER_REJECTED	-15	/* the peer's key was not accepted */
#define PK_ERR_AGAIN		-16	/* non-blocking: try again later */
#define PK_ERR_EOF		-17	/* the peer closed the connection */
#define PK_ERR_TIMEOUT		-18	/* a deadline passed */
#define PK_ERR_PGP		-19	/* OpenPGP operation failed */
#define PK_ERR_CONF		-20	/* configuration is not valid */
#define PK_ERR_NOT_FOUND	-21	/* no such file, key or entry */
#define PK_ERR_EXISTS		-22	/* refusing to overwrite */
#define PK_ERR_STORE		-23	/* the database failed (I/O, full) */
#define PK_ERR_TPM		-24	/* the TPM (or its library) failed */
#define PK_ERR_MAX_		-25	/* one past the last code */

/* Returns a static string describing code; never NULL. */
const char	*pk_strerror(int code);

/*
 * Sets *cause to a malloc'ed printf-formatted message. Does nothing when
 * cause is NULL or *cause is already set: the first cause, the one nearest
 * the failure, is the one reported, so a caller may add its own after a
 * callee failed without losing the callee's (free and clear *cause first
 * to replace it). Out of memory leaves *cause NULL.
 */
void		 pk_cause_set(char **cause, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The same with a va_list. */
void		 pk_cause_vset(char **cause, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));

/*
 * Test hook, for the tests only (tests/node/cli-enroll.sh,
 * tests/cluster/15-reshare.sh, 19-kill-peerkeyd.sh): with
 * PEERKEY_TEST_CRASH_AT=STEP in the environment, the program dies with
 * _exit(9) the first time it reaches STEP, as a kill -9 or a power cut
 * leaves things; "STEP:N" the N-th time. Says so on stderr as "WHO: test
 * crash at ...". Inert (returns 0) without the variable, which nothing
 * but a test sets.
 */
int		 pk_test_crash(const char *who, const char *step);

#endif /* PK_ERR_H */
