/*
 * fetch-int.h: what fetch.c (the connection loop) and reply.c (what a
 * candidate answered) share. Nothing outside the two includes it.
 */
#ifndef PK_FETCH_INT_H
#define PK_FETCH_INT_H

#include <stdint.h>

#include "boot.h"
#include "buf.h"
#include "msg.h"
#include "proto.h"
#include "tls.h"

enum cstate {
	C_IDLE,
	C_CONNECT,
	C_LINE,
	C_HANDSHAKE,
	C_SEND,
	C_RECV,
};

struct conn {
	struct candidate	 c;
	enum cstate		 st;
	int			 fd;
	struct pk_tls		*tls;
	struct pk_buf		*in;
	uint8_t			 out[64];
	size_t			 outlen, outoff;
	uint64_t		 next_try;	/* IDLE: when to start */
	uint64_t		 deadline;	/* of the current step */
	uint64_t		 backoff;
	char			 last[160];	/* last progress said */
	char			 seen_key[PK_KEYID_HEXLEN + 1];
	int			 fails;		/* attempts that failed */
	int			 dropped;	/* mDNS, wrong key: never again */
	const struct fetch_opts	*o;
};

struct fetch {
	const struct fetch_opts	*o;
	struct pk_tls_creds	*creds;
	struct conn		*conns;
	int			 n;
	struct boot_result	*res;
	int			 won;
	struct shares		*shares;	/* threshold sets (shares.c) */
};

/* fetch.c */
void	cand_say(struct conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	conn_reset(struct conn *, uint64_t, int);

/* shares.c */
struct pk_sblob;
struct shares	*shares_new(void);
void	shares_free(struct shares *);
int	shares_take(struct fetch *, struct conn *, const char *,
	    const struct pk_sblob *, const uint8_t *, size_t);
void	shares_summary(const struct shares *);

/* reply.c */
int	try_blob(struct fetch *, struct conn *, const struct pk_bytes *,
	    const uint8_t *, size_t);
void	handle_reply(struct fetch *, struct conn *, const struct pk_msg *,
	    uint64_t);

#endif /* PK_FETCH_INT_H */
