/*
 * msg.h: native peerkey messages: typed structs and their exact encoding.
 *
 * pk_msg_decode() parses one complete frame (as returned by
 * pk_frame_next() in frame.h) into a struct pk_msg whose byte fields point
 * INTO the frame buffer: the caller keeps that buffer alive while using
 * the message, and nothing needs freeing. Every length is checked against
 * the bytes present and against its limit in proto.h before use, and bytes
 * left over after the last field are an error (PK_ERR_TRAILING).
 *
 * pk_msg_encode() writes a complete frame (header included) for a message.
 * It checks the message exactly as the decoder would, so anything it
 * writes decodes, and anything that decodes re-encodes to the same bytes.
 *
 * Text fields (refusal text, NOTICE text, ERROR text) are bytes, not
 * checked as UTF-8, but may not contain bytes below 0x20 or 0x7f: a peer's
 * text is logged, and this keeps NULs, newlines and terminal escapes out of
 * the logs. Identity documents (JOIN, JOIN_REPLY, INTRODUCE) are opaque
 * here: 1 .. PK_DOC_MAX bytes (a JOIN_REPLY, which lists every member:
 * 1 .. PK_JOIN_REPLY_MAX) that the daemon and peerkey parse as JSON
 * (doc/protocol.md). Blob ids are 1 .. PK_BLOB_ID_MAX printable ASCII bytes without
 * space (0x21 .. 0x7e).
 *
 * doc/protocol.md specifies every byte.
 */
#ifndef PK_MSG_H
#define PK_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct pk_bytes {
	const uint8_t	*p;
	size_t		 len;
};

struct pk_blob {
	struct pk_bytes	 id;		/* <= PK_BLOB_ID_MAX, non-empty */
	struct pk_bytes	 data;		/* <= PK_BLOB_MAX, non-empty */
};

struct pk_msg {
	uint8_t		 version;	/* PK_PROTO_VERSION on encode */
	uint8_t		 type;		/* enum pk_msg_type */
	union {
		struct {		/* PK_MSG_UNLOCK */
			uint8_t		 flags;	/* must be 0 in version 1 */
		} unlock;
		struct {		/* PK_MSG_UNLOCK_REPLY */
			uint8_t		 status; /* PK_UNLOCK_OK / _REFUSED */
			/* if OK: */
			uint16_t	 nblobs; /* 1 .. PK_BLOBS_MAX */
			struct pk_blob	 blobs[PK_BLOBS_MAX];
			/* if REFUSED: */
			uint8_t		 reason; /* enum pk_refusal */
			struct pk_bytes	 text;	/* may be empty */
		} unlock_reply;
		struct {		/* PK_MSG_HEARTBEAT and _REPLY */
			uint64_t	 nonce;	/* echoed in the reply */
		} heartbeat;
		struct {		/* PK_MSG_DEPOSIT */
			struct pk_blob	 blob;
		} deposit;
		struct {		/* PK_MSG_WITHDRAW */
			struct pk_bytes	 id;
		} withdraw;
		struct {		/* PK_MSG_NOTICE */
			uint32_t	 window; /* seconds the notice holds */
			struct pk_bytes	 text;	/* reason, may be empty */
		} notice;
		struct {		/* PK_MSG_ACK */
			uint8_t		 of_type; /* the request acknowledged */
		} ack;
		struct {		/* PK_MSG_JOIN */
			const uint8_t	*secret; /* PK_JOIN_SECRET_LEN bytes */
			struct pk_bytes	 doc;	/* identity document (JSON) */
		} join;
		struct {		/* PK_MSG_JOIN_REPLY, _INTRODUCE, _UPDATE */
			struct pk_bytes	 doc;	/* 1 .. PK_DOC_MAX bytes
						 * (JOIN_REPLY: PK_JOIN_REPLY_MAX) */
		} doc;
		struct {		/* PK_MSG_ERROR */
			uint16_t	 code;	/* enum pk_error_code */
			struct pk_bytes	 text;	/* may be empty */
		} error;
	} u;
};

/*
 * Starts a message of type (enum pk_msg_type) to encode: clears every
 * field of *msg and sets version to PK_PROTO_VERSION.
 */
void	pk_msg_init(struct pk_msg *msg, unsigned int type);

/*
 * Decodes the complete frame frame[0 .. len) into *msg. A length field
 * that disagrees with len is PK_ERR_TRUNCATED (says more) or
 * PK_ERR_TRAILING (says less). On failure *msg is zeroed, except version
 * and type when the frame had them (for the caller's log line).
 * Returns 0, or PK_ERR_TRUNCATED (a field runs past the end),
 * PK_ERR_TRAILING, PK_ERR_TOO_LARGE (a field over its limit),
 * PK_ERR_BAD_VERSION, PK_ERR_BAD_TYPE, PK_ERR_BAD_FORMAT (e.g. a non-zero
 * reserved field, an empty blob id, an unknown status or reason).
 */
int	pk_msg_decode(const uint8_t *frame, size_t len, struct pk_msg *msg);

/*
 * Encodes msg as one frame into out[0 .. outlen); sets *written.
 * msg->version must be PK_PROTO_VERSION or 0 (meaning the same); the
 * fields of the UNLOCK_REPLY status not chosen are ignored.
 * Returns 0, PK_ERR_TOO_LARGE if out is too small or a field is over its
 * limit, or PK_ERR_INVALID_ARG for a message that would not decode.
 */
int	pk_msg_encode(const struct pk_msg *msg, uint8_t *out, size_t outlen,
	    size_t *written);

/* Returns the size pk_msg_encode() needs for msg (0 if msg is invalid). */
size_t	pk_msg_encoded_len(const struct pk_msg *msg);

/*
 * The wire's rules for strings that come from elsewhere (the control
 * socket, a document): returns 1 if id is a blob id that a frame can
 * carry (1 .. PK_BLOB_ID_MAX bytes of 0x21 .. 0x7e), else 0.
 */
int	pk_msg_id_valid(const char *id);

/*
 * Returns 1 if text has only bytes that a text field may carry (none
 * below 0x20, no 0x7f: nothing that breaks a log line), whatever its
 * length, else 0.
 */
int	pk_msg_text_valid(const char *text);

/* Returns a static name for a message type ("UNLOCK"), or "unknown". */
const char *pk_msg_type_name(unsigned int type);

/* Returns a static phrase for a refusal reason ("disabled"). */
const char *pk_refusal_name(unsigned int reason);

/* Returns a static phrase for an ERROR code ("not found"). */
const char *pk_errc_name(unsigned int code);

#endif /* PK_MSG_H */
