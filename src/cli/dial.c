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
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "key.h"
#include "msg.h"
#include "peerkey.h"
#include "pk_err.h"
#include "proto.h"
#include "tls.h"

#define DIAL_TIMEOUT_MS		10000	/* per address, connect to reply */

/* The verify rule: only the pinned node key. */
static int
dial_verify(const char *keyid, void *arg)
{
	return strcasecmp(keyid, (const char *)arg) == 0 ? 0 : -1;
}

/*
 * Opens a native session to one of p's addresses (in order) with the
 * node key id, p's node key pinned. Returns 0, or a PK_ERR_* with err set.
 */
int
dial_peer(const struct pk_identity *id, const struct cli_peer *p,
    struct pk_tls **tlsp, int *fdp, char *err, size_t errlen)
{
	static struct pk_tls_creds *creds;	/* GnuTLS keeps a pointer */
	static const struct pk_identity *creds_id;
	struct pk_tls		*tls = NULL;
	char			 host[256], port[16], defport[16], *list, *w,
				*save;
	uint64_t		 deadline;
	int			 fd = -1, r;

	snprintf(err, errlen, "no address");
	snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
	if (creds == NULL || creds_id != id) {
		if ((r = pk_tls_creds_new(id, &creds)) != 0) {
			snprintf(err, errlen, "credentials: %s",
			    pk_strerror(r));
			return r;
		}
		creds_id = id;
	}
	if ((list = strdup(p->addresses)) == NULL)
		return PK_ERR_ALLOC;
	r = PK_ERR_NOT_FOUND;
	for (w = strtok_r(list, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save)) {
		deadline = pk_now_ms() + DIAL_TIMEOUT_MS;
		if ((r = pk_addr_split(w, host, sizeof(host), port,
		    sizeof(port), defport)) != 0) {
			snprintf(err, errlen, "%s: bad address", w);
			continue;
		}
		if ((fd = pk_io_connect(host, port, deadline)) < 0) {
			r = fd;
			snprintf(err, errlen, "%s: %s", w, pk_strerror(r));
			continue;
		}
		if ((r = pk_io_write_all(fd, PK_LINE_NATIVE,
		    strlen(PK_LINE_NATIVE), deadline)) != 0 ||
		    (r = pk_tls_new(&tls, fd, PK_TLS_NATIVE, PK_TLS_CLIENT,
		    creds, dial_verify, p->node_keyid)) != 0 ||
		    (r = pk_io_handshake(tls, fd, deadline)) != 0) {
			snprintf(err, errlen, "%s: %s%s", w, pk_strerror(r),
			    r == PK_ERR_PEER_REJECTED ? " (it showed another "
			    "node key than the one pinned)" : "");
			if (tls != NULL)
				pk_tls_free(tls);
			tls = NULL;
			close(fd);
			continue;
		}
		break;
	}
	free(list);
	if (tls == NULL)
		return r != 0 ? r : PK_ERR_NOT_FOUND;
	*tlsp = tls;
	*fdp = fd;
	return 0;
}

/* Ends a session. */
void
dial_close(struct pk_tls *tls, int fd)
{
	if (tls != NULL) {
		pk_tls_bye(tls);
		pk_tls_free(tls);
	}
	if (fd != -1)
		close(fd);
}

/*
 * Sends req to p and waits for its reply. Returns 0 if the reply is of
 * want_type; a positive PK_ERRC_* when the peer answered ERROR (err has
 * its text); a negative PK_ERR_* when it could not be asked (err says
 * why).
 */
int
dial_request(const struct pk_identity *id, const struct cli_peer *p,
    const struct pk_msg *req, int want_type, char *err, size_t errlen)
{
	static uint8_t	 buf[PK_FRAME_MAX_DEFAULT + 4];
	struct pk_tls	*tls;
	struct pk_msg	 m;
	int		 fd, r;

	if ((r = dial_peer(id, p, &tls, &fd, err, errlen)) != 0)
		return r;
	if ((r = pk_io_send_msg(tls, fd, req, pk_now_ms() +
	    DIAL_TIMEOUT_MS)) != 0 ||
	    (r = pk_io_recv_msg(tls, fd, buf, sizeof(buf),
	    PK_FRAME_MAX_DEFAULT, &m, pk_now_ms() + DIAL_TIMEOUT_MS)) != 0) {
		snprintf(err, errlen, "%s", pk_strerror(r));
		dial_close(tls, fd);
		return r;
	}
	if (m.type == PK_MSG_ERROR) {
		snprintf(err, errlen, "%s: %.*s", pk_errc_name(m.u.error.code),
		    (int)m.u.error.text.len, m.u.error.text.p);
		r = m.u.error.code > 0 ? m.u.error.code : PK_ERRC_PROTOCOL;
	} else if (m.type != want_type) {
		snprintf(err, errlen, "unexpected %s",
		    pk_msg_type_name(m.type));
		r = PK_ERR_BAD_TYPE;
	} else
		r = 0;
	dial_close(tls, fd);
	return r;
}
