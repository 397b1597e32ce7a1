/*
 * msg.c: decoding and encoding native peerkey messages.
 *
 * Decoding walks the frame with a bounded reader: every fixed-size field
 * and every length prefix is checked against the bytes left before it is
 * read, every length against its limit in proto.h before its bytes are
 * used, and the frame must end exactly where the last field ends. Byte
 * fields are not copied: they point into the caller's frame.
 *
 * Encoding first checks the whole message with the same rules and computes
 * its size (msg_check), then writes it; the writer therefore never needs a
 * bounds check of its own, and a message that encodes always decodes to an
 * equal message. doc/protocol.md is the specification of every byte.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "pk_err.h"
#include "proto.h"

/* A bounded reader over the body of one frame. */
struct msg_rd {
	const uint8_t	*p;
	size_t		 left;
};

/* A writer into a buffer known to be large enough. */
struct msg_wr {
	uint8_t		*p;
	size_t		 off;
};

/* Returns 1 if every byte of b may appear in a logged text field. */
static int
msg_text_ok(const struct pk_bytes *b)
{
	size_t	i;

	for (i = 0; i < b->len; i++)
		if (b->p[i] < 0x20 || b->p[i] == 0x7f)
			return 0;
	return 1;
}

/* Returns 1 if every byte of b is printable ASCII other than space. */
static int
msg_id_ok(const struct pk_bytes *b)
{
	size_t	i;

	for (i = 0; i < b->len; i++)
		if (b->p[i] < 0x21 || b->p[i] > 0x7e)
			return 0;
	return 1;
}

/* Is id a blob id a frame can carry; see msg.h. */
int
pk_msg_id_valid(const char *id)
{
	struct pk_bytes	 b;

	b.p = (const uint8_t *)id;
	b.len = strlen(id);
	return b.len >= 1 && b.len <= PK_BLOB_ID_MAX && msg_id_ok(&b);
}

/* May text go in a text field; see msg.h. */
int
pk_msg_text_valid(const char *text)
{
	struct pk_bytes	 b;

	b.p = (const uint8_t *)text;
	b.len = strlen(text);
	return msg_text_ok(&b);
}

/* Returns 1 if type is a request that an ACK may acknowledge. */
static int
msg_ackable(unsigned int type)
{
	return type == PK_MSG_DEPOSIT || type == PK_MSG_WITHDRAW ||
	    type == PK_MSG_NOTICE || type == PK_MSG_INTRODUCE ||
	    type == PK_MSG_UPDATE;
}

/* Reads n bytes as a pointer into the frame. */
static int
rd_bytes(struct msg_rd *r, size_t n, struct pk_bytes *b)
{
	if (r->left < n)
		return PK_ERR_TRUNCATED;
	b->p = r->p;
	b->len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* Reads a big-endian unsigned integer of n (1..8) bytes. */
static int
rd_uint(struct msg_rd *r, size_t n, uint64_t *v)
{
	size_t	i;

	if (r->left < n)
		return PK_ERR_TRUNCATED;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return 0;
}

/* Reads a u8. */
static int
rd_u8(struct msg_rd *r, uint8_t *v)
{
	uint64_t	x;
	int		ret;

	if ((ret = rd_uint(r, 1, &x)) == 0)
		*v = (uint8_t)x;
	return ret;
}

/* Reads a big-endian u16. */
static int
rd_u16(struct msg_rd *r, uint16_t *v)
{
	uint64_t	x;
	int		ret;

	if ((ret = rd_uint(r, 2, &x)) == 0)
		*v = (uint16_t)x;
	return ret;
}

/* Reads a big-endian u32. */
static int
rd_u32(struct msg_rd *r, uint32_t *v)
{
	uint64_t	x;
	int		ret;

	if ((ret = rd_uint(r, 4, &x)) == 0)
		*v = (uint32_t)x;
	return ret;
}

/*
 * Reads a length-prefixed field (prefix of lensize bytes) of min .. max
 * bytes: over max is PK_ERR_TOO_LARGE, under min PK_ERR_BAD_FORMAT, both
 * judged before the bytes themselves are looked for.
 */
static int
rd_field(struct msg_rd *r, size_t lensize, size_t min, size_t max,
    struct pk_bytes *b)
{
	uint64_t	n;
	int		ret;

	if ((ret = rd_uint(r, lensize, &n)) != 0)
		return ret;
	if (n > max)
		return PK_ERR_TOO_LARGE;
	if (n < min)
		return PK_ERR_BAD_FORMAT;
	return rd_bytes(r, (size_t)n, b);
}

/* Reads a str16 text field: 0 .. PK_TEXT_MAX loggable bytes. */
static int
rd_text(struct msg_rd *r, struct pk_bytes *b)
{
	int	ret;

	if ((ret = rd_field(r, 2, 0, PK_TEXT_MAX, b)) != 0)
		return ret;
	return msg_text_ok(b) ? 0 : PK_ERR_BAD_FORMAT;
}

/* Reads a blob: str16 id, bytes32 data. */
static int
rd_blob(struct msg_rd *r, struct pk_blob *blob)
{
	int	ret;

	if ((ret = rd_field(r, 2, 1, PK_BLOB_ID_MAX, &blob->id)) != 0)
		return ret;
	if (!msg_id_ok(&blob->id))
		return PK_ERR_BAD_FORMAT;
	return rd_field(r, 4, 1, PK_BLOB_MAX, &blob->data);
}

/* Decodes an UNLOCK_REPLY body. */
static int
msg_decode_unlock_reply(struct msg_rd *r, struct pk_msg *msg)
{
	uint16_t	i;
	int		ret;

	if ((ret = rd_u8(r, &msg->u.unlock_reply.status)) != 0)
		return ret;
	switch (msg->u.unlock_reply.status) {
	case PK_UNLOCK_OK:
		if ((ret = rd_u16(r, &msg->u.unlock_reply.nblobs)) != 0)
			return ret;
		if (msg->u.unlock_reply.nblobs > PK_BLOBS_MAX)
			return PK_ERR_TOO_LARGE;
		if (msg->u.unlock_reply.nblobs == 0)
			return PK_ERR_BAD_FORMAT;
		for (i = 0; i < msg->u.unlock_reply.nblobs; i++)
			if ((ret = rd_blob(r,
			    &msg->u.unlock_reply.blobs[i])) != 0)
				return ret;
		return 0;
	case PK_UNLOCK_REFUSED:
		if ((ret = rd_u8(r, &msg->u.unlock_reply.reason)) != 0)
			return ret;
		if (msg->u.unlock_reply.reason < 1 ||
		    msg->u.unlock_reply.reason > PK_REFUSE_MAX)
			return PK_ERR_BAD_FORMAT;
		return rd_text(r, &msg->u.unlock_reply.text);
	default:
		return PK_ERR_BAD_FORMAT;
	}
}

/* Decodes the body of a message of type msg->type. */
static int
msg_decode_body(struct msg_rd *r, struct pk_msg *msg)
{
	struct pk_bytes	secret;
	uint64_t	nonce;
	int		ret;

	switch (msg->type) {
	case PK_MSG_UNLOCK:
		if ((ret = rd_u8(r, &msg->u.unlock.flags)) != 0)
			return ret;
		return msg->u.unlock.flags == 0 ? 0 : PK_ERR_BAD_FORMAT;
	case PK_MSG_UNLOCK_REPLY:
		return msg_decode_unlock_reply(r, msg);
	case PK_MSG_HEARTBEAT:
	case PK_MSG_HEARTBEAT_REPLY:
		if ((ret = rd_uint(r, 8, &nonce)) != 0)
			return ret;
		msg->u.heartbeat.nonce = nonce;
		return 0;
	case PK_MSG_DEPOSIT:
		return rd_blob(r, &msg->u.deposit.blob);
	case PK_MSG_WITHDRAW:
		if ((ret = rd_field(r, 2, 1, PK_BLOB_ID_MAX,
		    &msg->u.withdraw.id)) != 0)
			return ret;
		return msg_id_ok(&msg->u.withdraw.id) ? 0 : PK_ERR_BAD_FORMAT;
	case PK_MSG_NOTICE:
		if ((ret = rd_u32(r, &msg->u.notice.window)) != 0)
			return ret;
		if (msg->u.notice.window < 1 ||
		    msg->u.notice.window > PK_NOTICE_WINDOW_MAX)
			return PK_ERR_BAD_FORMAT;
		return rd_text(r, &msg->u.notice.text);
	case PK_MSG_ACK:
		if ((ret = rd_u8(r, &msg->u.ack.of_type)) != 0)
			return ret;
		return msg_ackable(msg->u.ack.of_type) ? 0 : PK_ERR_BAD_FORMAT;
	case PK_MSG_ERROR:
		if ((ret = rd_u16(r, &msg->u.error.code)) != 0)
			return ret;
		if (msg->u.error.code == 0)
			return PK_ERR_BAD_FORMAT;
		return rd_text(r, &msg->u.error.text);
	case PK_MSG_JOIN:
		if ((ret = rd_bytes(r, PK_JOIN_SECRET_LEN, &secret)) != 0)
			return ret;
		msg->u.join.secret = secret.p;
		return rd_field(r, 4, 1, PK_DOC_MAX, &msg->u.join.doc);
	case PK_MSG_JOIN_REPLY:
		return rd_field(r, 4, 1, PK_JOIN_REPLY_MAX, &msg->u.doc.doc);
	case PK_MSG_INTRODUCE:
	case PK_MSG_UPDATE:
		return rd_field(r, 4, 1, PK_DOC_MAX, &msg->u.doc.doc);
	default:
		return PK_ERR_BAD_TYPE;
	}
}

/* Decodes one complete frame into *msg. */
int
pk_msg_decode(const uint8_t *frame, size_t len, struct pk_msg *msg)
{
	struct msg_rd	r;
	uint32_t	flen;
	uint8_t		type, version;
	int		ret;

	if (msg == NULL || (frame == NULL && len != 0))
		return PK_ERR_INVALID_ARG;
	memset(msg, 0, sizeof(*msg));
	r.p = frame;
	r.left = len;
	if ((ret = rd_u32(&r, &flen)) != 0)
		return ret;
	if (flen < PK_FRAME_MIN_LEN)
		return PK_ERR_BAD_FORMAT;
	if (r.left < flen)
		return PK_ERR_TRUNCATED;
	if (r.left > flen)
		return PK_ERR_TRAILING;
	/* flen >= 2: these two reads cannot fail. */
	if ((ret = rd_u8(&r, &version)) != 0 ||
	    (ret = rd_u8(&r, &type)) != 0)
		return PK_ERR_INTERNAL;
	msg->version = version;
	msg->type = type;
	if (version != PK_PROTO_VERSION)
		ret = PK_ERR_BAD_VERSION;
	else if ((ret = msg_decode_body(&r, msg)) == 0 && r.left != 0)
		ret = PK_ERR_TRAILING;
	if (ret != 0) {
		memset(msg, 0, sizeof(*msg));
		msg->version = version;
		msg->type = type;
	}
	return ret;
}

/* Checks a byte field's length against min .. max and its pointer. */
static int
msg_check_bytes(const struct pk_bytes *b, size_t min, size_t max)
{
	if (b->len > max)
		return PK_ERR_TOO_LARGE;
	if (b->len < min || (b->p == NULL && b->len != 0))
		return PK_ERR_INVALID_ARG;
	return 0;
}

/* Checks a text field; adds its encoded size to *n. */
static int
msg_check_text(const struct pk_bytes *b, size_t *n)
{
	int	ret;

	if ((ret = msg_check_bytes(b, 0, PK_TEXT_MAX)) != 0)
		return ret;
	if (!msg_text_ok(b))
		return PK_ERR_INVALID_ARG;
	*n += 2 + b->len;
	return 0;
}

/* Checks a blob id; adds its encoded size to *n. */
static int
msg_check_id(const struct pk_bytes *b, size_t *n)
{
	int	ret;

	if ((ret = msg_check_bytes(b, 1, PK_BLOB_ID_MAX)) != 0)
		return ret;
	if (!msg_id_ok(b))
		return PK_ERR_INVALID_ARG;
	*n += 2 + b->len;
	return 0;
}

/* Checks a blob; adds its encoded size to *n. */
static int
msg_check_blob(const struct pk_blob *blob, size_t *n)
{
	int	ret;

	if ((ret = msg_check_id(&blob->id, n)) != 0)
		return ret;
	if ((ret = msg_check_bytes(&blob->data, 1, PK_BLOB_MAX)) != 0)
		return ret;
	*n += 4 + blob->data.len;
	return 0;
}

/* A JOIN_REPLY is a valid version 1 message: PK_MSG_LEN_MAX covers it. */
_Static_assert(1 + 1 + 4 + PK_JOIN_REPLY_MAX <= PK_MSG_LEN_MAX,
    "PK_JOIN_REPLY_MAX exceeds PK_MSG_LEN_MAX");

/* Checks a document field (u32 length + 1 .. max). */
static int
msg_check_doc(const struct pk_bytes *b, size_t max, size_t *n)
{
	if (b->len > max)
		return PK_ERR_TOO_LARGE;
	if (b->len == 0 || b->p == NULL)
		return PK_ERR_INVALID_ARG;
	*n += 4 + b->len;
	return 0;
}

/*
 * Checks that msg would decode, by the decoder's rules, and sets *need to
 * the size of its frame. Returns 0, PK_ERR_TOO_LARGE (a field over its
 * limit) or PK_ERR_INVALID_ARG.
 */
static int
msg_check(const struct pk_msg *msg, size_t *need)
{
	const struct pk_msg	*m = msg;
	size_t			 n = PK_FRAME_HDR;
	uint16_t		 i;
	int			 ret = 0;

	*need = 0;
	if (msg == NULL)
		return PK_ERR_INVALID_ARG;
	if (m->version != 0 && m->version != PK_PROTO_VERSION)
		return PK_ERR_INVALID_ARG;
	switch (m->type) {
	case PK_MSG_UNLOCK:
		if (m->u.unlock.flags != 0)
			return PK_ERR_INVALID_ARG;
		n += 1;
		break;
	case PK_MSG_UNLOCK_REPLY:
		n += 1;
		if (m->u.unlock_reply.status == PK_UNLOCK_OK) {
			if (m->u.unlock_reply.nblobs > PK_BLOBS_MAX)
				return PK_ERR_TOO_LARGE;
			if (m->u.unlock_reply.nblobs == 0)
				return PK_ERR_INVALID_ARG;
			n += 2;
			for (i = 0; i < m->u.unlock_reply.nblobs; i++)
				if ((ret = msg_check_blob(
				    &m->u.unlock_reply.blobs[i], &n)) != 0)
					return ret;
		} else if (m->u.unlock_reply.status == PK_UNLOCK_REFUSED) {
			if (m->u.unlock_reply.reason < 1 ||
			    m->u.unlock_reply.reason > PK_REFUSE_MAX)
				return PK_ERR_INVALID_ARG;
			n += 1;
			ret = msg_check_text(&m->u.unlock_reply.text, &n);
		} else
			return PK_ERR_INVALID_ARG;
		break;
	case PK_MSG_HEARTBEAT:
	case PK_MSG_HEARTBEAT_REPLY:
		n += 8;
		break;
	case PK_MSG_DEPOSIT:
		ret = msg_check_blob(&m->u.deposit.blob, &n);
		break;
	case PK_MSG_WITHDRAW:
		ret = msg_check_id(&m->u.withdraw.id, &n);
		break;
	case PK_MSG_NOTICE:
		if (m->u.notice.window < 1 ||
		    m->u.notice.window > PK_NOTICE_WINDOW_MAX)
			return PK_ERR_INVALID_ARG;
		n += 4;
		ret = msg_check_text(&m->u.notice.text, &n);
		break;
	case PK_MSG_ACK:
		if (!msg_ackable(m->u.ack.of_type))
			return PK_ERR_INVALID_ARG;
		n += 1;
		break;
	case PK_MSG_ERROR:
		if (m->u.error.code == 0)
			return PK_ERR_INVALID_ARG;
		n += 2;
		ret = msg_check_text(&m->u.error.text, &n);
		break;
	case PK_MSG_JOIN:
		if (m->u.join.secret == NULL)
			return PK_ERR_INVALID_ARG;
		n += PK_JOIN_SECRET_LEN;
		ret = msg_check_doc(&m->u.join.doc, PK_DOC_MAX, &n);
		break;
	case PK_MSG_JOIN_REPLY:
		ret = msg_check_doc(&m->u.doc.doc, PK_JOIN_REPLY_MAX, &n);
		break;
	case PK_MSG_INTRODUCE:
	case PK_MSG_UPDATE:
		ret = msg_check_doc(&m->u.doc.doc, PK_DOC_MAX, &n);
		break;
	default:
		return PK_ERR_INVALID_ARG;
	}
	if (ret == 0)
		*need = n;
	return ret;
}

/* Writes a big-endian unsigned integer of n (1..8) bytes. */
static void
wr_uint(struct msg_wr *w, size_t n, uint64_t v)
{
	while (n-- > 0)
		w->p[w->off++] = (uint8_t)(v >> (8 * n));
}

/* Writes a length prefix of lensize bytes and the bytes of b. */
static void
wr_field(struct msg_wr *w, size_t lensize, const struct pk_bytes *b)
{
	wr_uint(w, lensize, b->len);
	if (b->len > 0)
		memcpy(w->p + w->off, b->p, b->len);
	w->off += b->len;
}

/* Writes a blob: str16 id, bytes32 data. */
static void
wr_blob(struct msg_wr *w, const struct pk_blob *blob)
{
	wr_field(w, 2, &blob->id);
	wr_field(w, 4, &blob->data);
}

/* Encodes msg as one frame into out. */
int
pk_msg_encode(const struct pk_msg *msg, uint8_t *out, size_t outlen,
    size_t *written)
{
	struct msg_wr	w;
	size_t		need;
	uint16_t	i;
	int		ret;

	if (written != NULL)
		*written = 0;
	if (written == NULL || (out == NULL && outlen != 0))
		return PK_ERR_INVALID_ARG;
	if ((ret = msg_check(msg, &need)) != 0)
		return ret;
	if (outlen < need)
		return PK_ERR_TOO_LARGE;
	w.p = out;
	w.off = 0;
	wr_uint(&w, 4, need - 4);
	wr_uint(&w, 1, PK_PROTO_VERSION);
	wr_uint(&w, 1, msg->type);
	switch (msg->type) {
	case PK_MSG_UNLOCK:
		wr_uint(&w, 1, msg->u.unlock.flags);
		break;
	case PK_MSG_UNLOCK_REPLY:
		wr_uint(&w, 1, msg->u.unlock_reply.status);
		if (msg->u.unlock_reply.status == PK_UNLOCK_OK) {
			wr_uint(&w, 2, msg->u.unlock_reply.nblobs);
			for (i = 0; i < msg->u.unlock_reply.nblobs; i++)
				wr_blob(&w, &msg->u.unlock_reply.blobs[i]);
		} else {
			wr_uint(&w, 1, msg->u.unlock_reply.reason);
			wr_field(&w, 2, &msg->u.unlock_reply.text);
		}
		break;
	case PK_MSG_HEARTBEAT:
	case PK_MSG_HEARTBEAT_REPLY:
		wr_uint(&w, 8, msg->u.heartbeat.nonce);
		break;
	case PK_MSG_DEPOSIT:
		wr_blob(&w, &msg->u.deposit.blob);
		break;
	case PK_MSG_WITHDRAW:
		wr_field(&w, 2, &msg->u.withdraw.id);
		break;
	case PK_MSG_NOTICE:
		wr_uint(&w, 4, msg->u.notice.window);
		wr_field(&w, 2, &msg->u.notice.text);
		break;
	case PK_MSG_ACK:
		wr_uint(&w, 1, msg->u.ack.of_type);
		break;
	case PK_MSG_ERROR:
		wr_uint(&w, 2, msg->u.error.code);
		wr_field(&w, 2, &msg->u.error.text);
		break;
	case PK_MSG_JOIN:
		memcpy(w.p + w.off, msg->u.join.secret, PK_JOIN_SECRET_LEN);
		w.off += PK_JOIN_SECRET_LEN;
		wr_field(&w, 4, &msg->u.join.doc);
		break;
	case PK_MSG_JOIN_REPLY:
	case PK_MSG_INTRODUCE:
	case PK_MSG_UPDATE:
		wr_field(&w, 4, &msg->u.doc.doc);
		break;
	}
	if (w.off != need)
		return PK_ERR_INTERNAL;
	*written = need;
	return 0;
}

/* Starts a message to encode; see msg.h. */
void
pk_msg_init(struct pk_msg *msg, unsigned int type)
{
	memset(msg, 0, sizeof(*msg));
	msg->version = PK_PROTO_VERSION;
	msg->type = type;
}

/* Returns the encoded size of msg, or 0 if it would not encode. */
size_t
pk_msg_encoded_len(const struct pk_msg *msg)
{
	size_t	need;

	if (msg_check(msg, &need) != 0)
		return 0;
	return need;
}

/* Names a message type for logs. */
const char *
pk_msg_type_name(unsigned int type)
{
	static const char *const names[] = {
		[PK_MSG_UNLOCK] = "UNLOCK",
		[PK_MSG_UNLOCK_REPLY] = "UNLOCK_REPLY",
		[PK_MSG_HEARTBEAT] = "HEARTBEAT",
		[PK_MSG_HEARTBEAT_REPLY] = "HEARTBEAT_REPLY",
		[PK_MSG_DEPOSIT] = "DEPOSIT",
		[PK_MSG_WITHDRAW] = "WITHDRAW",
		[PK_MSG_NOTICE] = "NOTICE",
		[PK_MSG_ACK] = "ACK",
		[PK_MSG_ERROR] = "ERROR",
		[PK_MSG_JOIN] = "JOIN",
		[PK_MSG_JOIN_REPLY] = "JOIN_REPLY",
		[PK_MSG_INTRODUCE] = "INTRODUCE",
		[PK_MSG_UPDATE] = "UPDATE",
	};

	if (type < PK_MSG_TYPE_MIN || type > PK_MSG_TYPE_MAX)
		return "unknown";
	return names[type];
}

/* Names a refusal reason for logs and the boot console. */
const char *
pk_refusal_name(unsigned int reason)
{
	static const char *const names[] = {
		[PK_REFUSE_UNKNOWN] = "unknown boot key",
		[PK_REFUSE_DISABLED] = "disabled",
		[PK_REFUSE_PENDING] = "pending approval",
		[PK_REFUSE_DENIED] = "denied",
		[PK_REFUSE_NO_BLOBS] = "nothing deposited",
		[PK_REFUSE_NO_NOTICE] = "no reboot notice",
		[PK_REFUSE_BUSY] = "busy",
	};

	if (reason < 1 || reason > PK_REFUSE_MAX)
		return "unknown reason";
	return names[reason];
}

/* Names an ERROR code for logs. */
const char *
pk_errc_name(unsigned int code)
{
	static const char *const names[] = {
		[PK_ERRC_PROTOCOL] = "protocol error",
		[PK_ERRC_VERSION] = "version not supported",
		[PK_ERRC_UNAUTHORIZED] = "unauthorized",
		[PK_ERRC_TOO_LARGE] = "too large",
		[PK_ERRC_INTERNAL] = "internal error",
		[PK_ERRC_NOT_FOUND] = "not found",
	};

	if (code < PK_ERRC_PROTOCOL || code > PK_ERRC_NOT_FOUND)
		return "unknown error code";
	return names[code];
}
