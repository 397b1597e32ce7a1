/*
 * dial.c: requests from this machine to a peer's peerkeyd, over the
 * native protocol with this machine's node key, the peer's node key
 * pinned (doc/protocol.md). Used by enroll, unenroll and rotate (DEPOSIT,
 * WITHDRAW, and HEARTBEAT as a probe) and by join.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "io.h"
#include "key.h"
#include "msg.h"
#include "peerkey.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

#define DIAL_TIMEOUT_MS		10000	/* per address, connect to reply */

/*
 * Opens a native session to one of p's addresses (in order) with the
 * node key id, p's node key pinned. Returns 0, or a PK_ERR_* with *cause
 * saying why the last address failed ("no address" if it has none).
 */
int
dial_peer(const struct pk_identity *id, const struct cli_peer *p,
    struct pk_tls **tlsp, int *fdp, char **cause)
{
	static struct pk_tls_creds *creds;	/* GnuTLS keeps a pointer */
	static const struct pk_identity *creds_id;
	const char		*list = p->addresses;
	char			 w[PK_ADDR_LEN], *why = NULL;
	int			 more, r;

	if (creds == NULL || creds_id != id) {
		/* Another identity (one command may load the key twice): no
		 * session of the last one is open any more. */
		pk_tls_creds_free(creds);
		creds = NULL;
		creds_id = NULL;
		if ((r = pk_tls_creds_new(id, &creds)) != 0) {
			pk_cause_set(cause, "credentials: %s", pk_strerror(r));
			return r;
		}
		creds_id = id;
	}
	r = PK_ERR_NOT_FOUND;
	while ((more = pk_list_next(&list, w, sizeof(w))) != 0) {
		free(why);
		why = NULL;
		if ((r = more) < 0)
			pk_cause_set(&why, "%s: bad address", w);
		else if ((r = pk_io_dial(w, creds, p->node_keyid,
		    pk_now_ms() + DIAL_TIMEOUT_MS, tlsp, fdp, &why)) == 0)
			break;
	}
	if (r != 0)
		pk_cause_set(cause, "%s", why != NULL ? why :
		    r == PK_ERR_NOT_FOUND ? "no address" : pk_strerror(r));
	free(why);
	return r;
}

/*
 * Sends req to p and waits for its reply. Returns 0 if the reply is of
 * want_type; a positive PK_ERRC_* when the peer answered ERROR (*cause
 * has its text); a negative PK_ERR_* when it could not be asked (*cause
 * says why).
 */
int
dial_request(const struct pk_identity *id, const struct cli_peer *p,
    const struct pk_msg *req, int want_type, char **cause)
{
	static uint8_t	 buf[PK_FRAME_MAX_DEFAULT + 4];
	struct pk_tls	*tls;
	struct pk_msg	 m;
	int		 fd, r;

	if ((r = dial_peer(id, p, &tls, &fd, cause)) != 0)
		return r;
	if ((r = pk_io_send_msg(tls, fd, req, pk_now_ms() +
	    DIAL_TIMEOUT_MS)) != 0 ||
	    (r = pk_io_recv_msg(tls, fd, buf, sizeof(buf),
	    PK_FRAME_MAX_DEFAULT, &m, pk_now_ms() + DIAL_TIMEOUT_MS)) != 0) {
		pk_cause_set(cause, "%s", pk_strerror(r));
		pk_io_close(tls, fd);
		return r;
	}
	if (m.type == PK_MSG_ERROR) {
		pk_cause_set(cause, "%s: %.*s", pk_errc_name(m.u.error.code),
		    (int)m.u.error.text.len, m.u.error.text.p);
		r = m.u.error.code > 0 ? m.u.error.code : PK_ERRC_PROTOCOL;
	} else if (m.type != want_type) {
		pk_cause_set(cause, "unexpected %s", pk_msg_type_name(m.type));
		r = PK_ERR_BAD_TYPE;
	} else
		r = 0;
	pk_io_close(tls, fd);
	return r;
}
