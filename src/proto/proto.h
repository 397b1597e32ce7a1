/*
 * proto.h: wire-visible constants of the native peerkey protocol.
 *
 * Anything in this file is seen by the other end. If you change the
 * layout of a message, a type number or a limit that peers rely on, bump
 * PK_PROTO_VERSION and document the change in doc/protocol.md.
 */
#ifndef PK_PROTO_H
#define PK_PROTO_H

#include <stdint.h>

/* The version carried in the pre-TLS line and in every frame. */
#define PK_PROTO_VERSION	1

/* Pre-TLS lines (doc/protocol.md, "Protocol selection"). */
#define PK_LINE_NATIVE		"peerkey 1\r\n"
#define PK_LINE_MANDOS		"1\r\n"
#define PK_LINE_MAX		32	/* longest line read before TLS */

/*
 * Frame: u32 length (big-endian, counts the bytes after itself),
 * u8 version, u8 type, body. So a frame is 4 + length bytes and
 * length >= 2.
 */
#define PK_FRAME_HDR		6	/* length + version + type */
#define PK_FRAME_MIN_LEN	2
#define PK_FRAME_MAX_DEFAULT	(64 * 1024)	/* default maximum length */
#define PK_FRAME_MAX_HARD	(16 * 1024 * 1024) /* no setting goes past */

/* Message types. */
enum pk_msg_type {
	PK_MSG_UNLOCK		= 1,	/* boot agent -> node */
	PK_MSG_UNLOCK_REPLY	= 2,	/* node -> boot agent */
	PK_MSG_HEARTBEAT	= 3,	/* node -> node */
	PK_MSG_HEARTBEAT_REPLY	= 4,	/* node -> node */
	PK_MSG_DEPOSIT		= 5,	/* owner's node (or CLI) -> holder */
	PK_MSG_WITHDRAW		= 6,	/* owner's node (or CLI) -> holder */
	PK_MSG_NOTICE		= 7,	/* owner's node -> holder */
	PK_MSG_ACK		= 8,	/* holder -> owner: request done */
	PK_MSG_ERROR		= 9,	/* either side: request failed */
	PK_MSG_JOIN		= 10,	/* joiner's CLI -> inviter */
	PK_MSG_JOIN_REPLY	= 11,	/* inviter -> joiner */
	PK_MSG_INTRODUCE	= 12,	/* inviter -> member (ACK) */
	PK_MSG_UPDATE		= 13,	/* node -> its holders: new identity (ACK) */
};
#define PK_MSG_TYPE_MIN		1
#define PK_MSG_TYPE_MAX		13

/* UNLOCK_REPLY status. */
#define PK_UNLOCK_OK		0
#define PK_UNLOCK_REFUSED	1

/* Why an UNLOCK was refused (wire values; never reuse a number). */
enum pk_refusal {
	PK_REFUSE_UNKNOWN	= 1,	/* no peer has this boot key */
	PK_REFUSE_DISABLED	= 2,	/* unseen past its timeout, or by hand */
	PK_REFUSE_PENDING	= 3,	/* awaiting an operator's approval */
	PK_REFUSE_DENIED	= 4,	/* an operator (or the default) denied */
	PK_REFUSE_NO_BLOBS	= 5,	/* known, but nothing deposited */
	PK_REFUSE_NO_NOTICE	= 6,	/* policy wants a planned-reboot NOTICE */
	PK_REFUSE_BUSY		= 7,	/* node overloaded: try again */
};
#define PK_REFUSE_MAX		7

/* ERROR codes (wire values). */
enum pk_error_code {
	PK_ERRC_PROTOCOL	= 1,	/* malformed or out-of-order message */
	PK_ERRC_VERSION		= 2,	/* frame version not supported */
	PK_ERRC_UNAUTHORIZED	= 3,	/* this key may not do that */
	PK_ERRC_TOO_LARGE	= 4,	/* over a limit */
	PK_ERRC_INTERNAL	= 5,	/* the node could not do it (storage) */
	PK_ERRC_NOT_FOUND	= 6,	/* withdraw of a blob it does not hold */
};

/* Field limits (decoders refuse more). */
#define PK_BLOB_ID_MAX		128	/* bytes of a blob id (e.g. LUKS UUID) */
#define PK_BLOB_MAX		(32 * 1024) /* bytes of one encrypted blob */
#define PK_BLOBS_MAX		32	/* blobs in one UNLOCK_REPLY */
#define PK_TEXT_MAX		512	/* bytes of a human-readable message */
#define PK_KEYID_LEN		64	/* hex digits of a key id */
#define PK_JOIN_SECRET_LEN	32	/* bytes of an invitation's secret */
#define PK_DOC_MAX		(48 * 1024) /* bytes of an identity document */
/*
 * A JOIN_REPLY lists every member of the cluster (the inviter and each
 * peer with a signed identity), so its limit grows with the cluster, not
 * with one identity: room for PK_JOIN_MEMBERS_MAX members of 2 KiB each.
 * A member as "peerkey init" makes it (an Ed25519 boot key) takes about
 * 1.5 KiB of JSON, so 100 machines need about 150 KiB; an inviter whose
 * reply would be larger refuses the JOIN (ERROR TOO_LARGE) before it
 * changes anything. It stays within PK_MSG_LEN_MAX (msg.c checks).
 */
#define PK_JOIN_MEMBERS_MAX	512
#define PK_JOIN_REPLY_MAX	(PK_JOIN_MEMBERS_MAX * 2048) /* 1 MiB */
#define PK_NOTICE_WINDOW_MAX	(7 * 86400) /* seconds a NOTICE may cover */

/*
 * The largest length field of any valid version 1 message: an UNLOCK_REPLY
 * with PK_BLOBS_MAX blobs, each with the longest id and data (version,
 * type, status, nblobs, then per blob u16 + id + u32 + data). This is
 * more than PK_FRAME_MAX_DEFAULT: a boot agent that wants to accept every
 * valid reply passes it as the max of pk_frame_next().
 */
#define PK_MSG_LEN_MAX		(2 + 1 + 2 + \
	PK_BLOBS_MAX * (2 + PK_BLOB_ID_MAX + 4 + PK_BLOB_MAX))

#endif /* PK_PROTO_H */
