/*
 * test-frame.c: frames (frame.c) and messages (msg.c).
 *
 * Golden frames of every message type, written by hand from
 * doc/protocol.md as hex, are decoded and compared field by field, and the
 * same messages built as structs must encode to exactly those bytes. Then,
 * in the manner of OpenSSH's test_helper/fuzz.c, every single-bit flip and
 * every truncation of every golden frame is decoded: a flip must decode to
 * a valid message (which then re-encodes to the same bytes) or fail with a
 * clean error, and a truncation must always fail. Last come the edges:
 * every limit exactly at and one over its maximum, on both the decoder
 * and the encoder, unknown types and versions, trailing bytes and the
 * length field's own bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"
#include "pk_err.h"
#include "proto.h"
#include "test_helper.h"

#define NGOLDEN		(sizeof(goldens) / sizeof(goldens[0]))

static const uint8_t	data123[] = { 0x01, 0x02, 0x03 };
static const uint8_t	dataff[] = { 0xff };
static const uint8_t	data850102[] = { 0x85, 0x01, 0x02 };

/* Sets b to the C string s. */
static void
set_str(struct pk_bytes *b, const char *s)
{
	b->p = (const uint8_t *)s;
	b->len = strlen(s);
}

/* The expected messages, as pk_msg_init() and the fields would make
 * them: a string field (STR) or a byte array (BYTES), version 1. */
#define STR(s)		{ .p = (const uint8_t *)(s), .len = sizeof(s) - 1 }
#define BYTES(a)	{ .p = (a), .len = sizeof(a) }
#define MSG(t, ...)	{ .version = PK_PROTO_VERSION, .type = (t), __VA_ARGS__ }

static const uint8_t	secret32[PK_JOIN_SECRET_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static const struct pk_msg
    exp_unlock = MSG(PK_MSG_UNLOCK),
    exp_unlock_ok = MSG(PK_MSG_UNLOCK_REPLY,
	.u.unlock_reply = { .status = PK_UNLOCK_OK, .nblobs = 2,
	    .blobs = { { .id = STR("disk1"), .data = BYTES(data123) },
		{ .id = STR("disk2"), .data = BYTES(dataff) } } }),
    exp_unlock_refused = MSG(PK_MSG_UNLOCK_REPLY,
	.u.unlock_reply = { .status = PK_UNLOCK_REFUSED,
	    .reason = PK_REFUSE_DISABLED, .text = STR("timeout") }),
    exp_unlock_refused_empty = MSG(PK_MSG_UNLOCK_REPLY,
	.u.unlock_reply = { .status = PK_UNLOCK_REFUSED,
	    .reason = PK_REFUSE_PENDING }),
    exp_heartbeat = MSG(PK_MSG_HEARTBEAT,
	.u.heartbeat.nonce = 0x0123456789abcdefULL),
    exp_heartbeat_reply = MSG(PK_MSG_HEARTBEAT_REPLY,
	.u.heartbeat.nonce = 0x0123456789abcdefULL),
    exp_deposit = MSG(PK_MSG_DEPOSIT,
	.u.deposit.blob = { .id = STR("disk1"), .data = BYTES(data850102) }),
    exp_withdraw = MSG(PK_MSG_WITHDRAW, .u.withdraw.id = STR("disk1")),
    exp_notice = MSG(PK_MSG_NOTICE,
	.u.notice = { .window = 600, .text = STR("kernel upgrade") }),
    exp_notice_week = MSG(PK_MSG_NOTICE, .u.notice.window = 7 * 86400),
    exp_ack = MSG(PK_MSG_ACK, .u.ack.of_type = PK_MSG_DEPOSIT),
    exp_error = MSG(PK_MSG_ERROR,
	.u.error = { .code = PK_ERRC_NOT_FOUND, .text = STR("no such blob") }),
    exp_error_future = MSG(PK_MSG_ERROR, .u.error.code = 0x1234),
    exp_join = MSG(PK_MSG_JOIN,
	.u.join = { .secret = secret32, .doc = STR("{}") }),
    exp_join_reply = MSG(PK_MSG_JOIN_REPLY, .u.doc.doc = STR("{\"a\":1}")),
    exp_introduce = MSG(PK_MSG_INTRODUCE, .u.doc.doc = STR("{}")),
    exp_ack_introduce = MSG(PK_MSG_ACK, .u.ack.of_type = PK_MSG_INTRODUCE),
    exp_update = MSG(PK_MSG_UPDATE, .u.doc.doc = STR("{}")),
    exp_ack_update = MSG(PK_MSG_ACK, .u.ack.of_type = PK_MSG_UPDATE);

/*
 * The golden frames. Spaces separate the length field, the version and
 * type, and each body field; they are ignored by unhex().
 */
static const struct golden {
	const char	*name;
	const char	*hex;
	const struct pk_msg *expect;
} goldens[] = {
	{ "UNLOCK",
	  "00000003 01 01 00", &exp_unlock },
	{ "UNLOCK_REPLY ok",
	  "0000001f 01 02 00 0002"
	  " 0005 6469736b31 00000003 010203"
	  " 0005 6469736b32 00000001 ff", &exp_unlock_ok },
	{ "UNLOCK_REPLY refused",
	  "0000000d 01 02 01 02 0007 74696d656f7574", &exp_unlock_refused },
	{ "UNLOCK_REPLY refused, no text",
	  "00000006 01 02 01 03 0000", &exp_unlock_refused_empty },
	{ "HEARTBEAT",
	  "0000000a 01 03 0123456789abcdef", &exp_heartbeat },
	{ "HEARTBEAT_REPLY",
	  "0000000a 01 04 0123456789abcdef", &exp_heartbeat_reply },
	{ "DEPOSIT",
	  "00000010 01 05 0005 6469736b31 00000003 850102", &exp_deposit },
	{ "WITHDRAW",
	  "00000009 01 06 0005 6469736b31", &exp_withdraw },
	{ "NOTICE",
	  "00000016 01 07 00000258 000e 6b65726e656c2075706772616465",
	  &exp_notice },
	{ "NOTICE, a week, no text",
	  "00000008 01 07 00093a80 0000", &exp_notice_week },
	{ "ACK",
	  "00000003 01 08 05", &exp_ack },
	{ "ERROR",
	  "00000012 01 09 0006 000c 6e6f207375636820626c6f62", &exp_error },
	{ "ERROR, future code, no text",
	  "00000006 01 09 1234 0000", &exp_error_future },
	{ "JOIN",
	  "00000028 01 0a"
	  " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  " 00000002 7b7d", &exp_join },
	{ "JOIN_REPLY",
	  "0000000d 01 0b 00000007 7b2261223a317d", &exp_join_reply },
	{ "INTRODUCE",
	  "00000008 01 0c 00000002 7b7d", &exp_introduce },
	{ "ACK of INTRODUCE",
	  "00000003 01 08 0c", &exp_ack_introduce },
	{ "UPDATE",
	  "00000008 01 0d 00000002 7b7d", &exp_update },
	{ "ACK of UPDATE",
	  "00000003 01 08 0d", &exp_ack_update },
};

/* Returns "what: name" in a static buffer (for TEST_START). */
static const char *
tname(const char *what, const char *name)
{
	static char	buf[128];

	snprintf(buf, sizeof(buf), "%s: %s", what, name);
	return buf;
}

/* Decodes hex (spaces ignored) into a new buffer; sets *len. */
static uint8_t *
unhex(const char *s, size_t *len)
{
	uint8_t		*out;
	size_t		 n = 0;
	unsigned int	 v;

	if ((out = malloc(strlen(s) / 2 + 1)) == NULL)
		abort();
	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1 || s[1] == '\0' || s[1] == ' ')
			abort();
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return out;
}

/* Returns 1 if two byte fields hold the same bytes. */
static int
bytes_eq(const struct pk_bytes *a, const struct pk_bytes *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Returns 1 if a and b are the same message. */
static int
msg_eq(const struct pk_msg *a, const struct pk_msg *b)
{
	uint16_t	i;

	if (a->version != b->version || a->type != b->type)
		return 0;
	switch (a->type) {
	case PK_MSG_UNLOCK:
		return a->u.unlock.flags == b->u.unlock.flags;
	case PK_MSG_UNLOCK_REPLY:
		if (a->u.unlock_reply.status != b->u.unlock_reply.status)
			return 0;
		if (a->u.unlock_reply.status == PK_UNLOCK_REFUSED)
			return a->u.unlock_reply.reason ==
			    b->u.unlock_reply.reason &&
			    bytes_eq(&a->u.unlock_reply.text,
			    &b->u.unlock_reply.text);
		if (a->u.unlock_reply.nblobs != b->u.unlock_reply.nblobs)
			return 0;
		for (i = 0; i < a->u.unlock_reply.nblobs; i++)
			if (!bytes_eq(&a->u.unlock_reply.blobs[i].id,
			    &b->u.unlock_reply.blobs[i].id) ||
			    !bytes_eq(&a->u.unlock_reply.blobs[i].data,
			    &b->u.unlock_reply.blobs[i].data))
				return 0;
		return 1;
	case PK_MSG_HEARTBEAT:
	case PK_MSG_HEARTBEAT_REPLY:
		return a->u.heartbeat.nonce == b->u.heartbeat.nonce;
	case PK_MSG_DEPOSIT:
		return bytes_eq(&a->u.deposit.blob.id, &b->u.deposit.blob.id) &&
		    bytes_eq(&a->u.deposit.blob.data, &b->u.deposit.blob.data);
	case PK_MSG_WITHDRAW:
		return bytes_eq(&a->u.withdraw.id, &b->u.withdraw.id);
	case PK_MSG_NOTICE:
		return a->u.notice.window == b->u.notice.window &&
		    bytes_eq(&a->u.notice.text, &b->u.notice.text);
	case PK_MSG_ACK:
		return a->u.ack.of_type == b->u.ack.of_type;
	case PK_MSG_ERROR:
		return a->u.error.code == b->u.error.code &&
		    bytes_eq(&a->u.error.text, &b->u.error.text);
	case PK_MSG_JOIN:
		return memcmp(a->u.join.secret, b->u.join.secret,
		    PK_JOIN_SECRET_LEN) == 0 &&
		    bytes_eq(&a->u.join.doc, &b->u.join.doc);
	case PK_MSG_JOIN_REPLY:
	case PK_MSG_INTRODUCE:
	case PK_MSG_UPDATE:
		return bytes_eq(&a->u.doc.doc, &b->u.doc.doc);
	}
	return 0;
}

/* Returns 1 if r is one of the errors a decoder may give for bad input. */
static int
clean_error(int r)
{
	return r == PK_ERR_TRUNCATED || r == PK_ERR_TRAILING ||
	    r == PK_ERR_TOO_LARGE || r == PK_ERR_BAD_FORMAT ||
	    r == PK_ERR_BAD_TYPE || r == PK_ERR_BAD_VERSION;
}

/* Returns 1 if the byte field b lies inside buf[0 .. len). */
static int
points_into(const struct pk_bytes *b, const uint8_t *buf, size_t len)
{
	return b->len == 0 ||
	    (b->p >= buf && b->p + b->len <= buf + len);
}

/*
 * Decodes p[0 .. n) from an exact-size heap copy (so ASan sees any
 * overread); when it decodes, checks that it re-encodes to the same
 * bytes. Returns the decoder's result, or 1 if re-encoding differed.
 */
static int
decode_copy(const uint8_t *p, size_t n)
{
	struct pk_msg	 m;
	uint8_t		*c, *e;
	size_t		 w;
	int		 r;

	if ((c = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(c, p, n);
	r = pk_msg_decode(c, n, &m);
	if (r == 0) {
		if ((e = malloc(n)) == NULL)
			abort();
		if (pk_msg_encoded_len(&m) != n ||
		    pk_msg_encode(&m, e, n, &w) != 0 || w != n ||
		    memcmp(e, c, n) != 0) {
			test_hexdump("does not re-encode", c, n);
			r = 1;
		}
		free(e);
	}
	free(c);
	return r;
}

static void
test_golden(void)
{
	const struct golden	*g;
	struct pk_msg		 want, got;
	uint8_t			*frame, out[256];
	size_t			 i, len, w, fl;

	for (i = 0; i < NGOLDEN; i++) {
		g = &goldens[i];
		frame = unhex(g->hex, &len);
		want = *g->expect;

		TEST_START(tname("golden", g->name));
		/* The stream splitter sees exactly one whole frame. */
		ASSERT_INT_EQ(pk_frame_next(frame, len, PK_FRAME_MAX_DEFAULT,
		    &fl), 0);
		ASSERT_INT_EQ(fl, len);
		/* Decode gives the expected fields, pointing into frame. */
		ASSERT_INT_EQ(pk_msg_decode(frame, len, &got), 0);
		ASSERT_TRUE(msg_eq(&got, &want));
		switch (got.type) {
		case PK_MSG_UNLOCK_REPLY:
			ASSERT_TRUE(points_into(&got.u.unlock_reply.text,
			    frame, len));
			ASSERT_TRUE(points_into(&got.u.unlock_reply.blobs[0].id,
			    frame, len));
			ASSERT_TRUE(points_into(
			    &got.u.unlock_reply.blobs[1].data, frame, len));
			break;
		case PK_MSG_DEPOSIT:
			ASSERT_TRUE(points_into(&got.u.deposit.blob.data,
			    frame, len));
			ASSERT_TRUE(got.u.deposit.blob.data.p == frame + 17);
			break;
		case PK_MSG_ERROR:
			ASSERT_TRUE(points_into(&got.u.error.text, frame,
			    len));
			break;
		}
		/* The hand-built struct encodes to exactly the golden. */
		ASSERT_INT_EQ(pk_msg_encoded_len(&want), len);
		ASSERT_INT_EQ(pk_msg_encode(&want, out, sizeof(out), &w), 0);
		ASSERT_INT_EQ(w, len);
		ASSERT_MEM_EQ(out, frame, len);
		/* Version 0 in the struct means "the current one". */
		want.version = 0;
		ASSERT_INT_EQ(pk_msg_encode(&want, out, sizeof(out), &w), 0);
		ASSERT_MEM_EQ(out, frame, len);
		/* One byte short of room: refused, nothing claimed written. */
		ASSERT_INT_EQ(pk_msg_encode(&want, out, len - 1, &w),
		    PK_ERR_TOO_LARGE);
		ASSERT_INT_EQ(w, 0);
		ASSERT_INT_EQ(pk_msg_encode(&want, out, len, &w), 0);
		/* A version we do not speak is not encoded. */
		want.version = 2;
		ASSERT_INT_EQ(pk_msg_encode(&want, out, sizeof(out), &w),
		    PK_ERR_INVALID_ARG);
		ASSERT_INT_EQ(pk_msg_encoded_len(&want), 0);
		TEST_DONE();
		free(frame);
	}
}

static void
test_bitflip(void)
{
	const struct golden	*g;
	uint8_t			*frame;
	size_t			 i, bit, len, fl, nok, nerr;
	int			 r;

	for (i = 0; i < NGOLDEN; i++) {
		g = &goldens[i];
		frame = unhex(g->hex, &len);
		TEST_START(tname("every bit flip", g->name));
		nok = nerr = 0;
		for (bit = 0; bit < len * 8; bit++) {
			frame[bit / 8] ^= 1 << (bit % 8);
			r = decode_copy(frame, len);
			if (r != 0 && !clean_error(r)) {
				test_diag("%s: bit %zu: %d", g->name, bit, r);
				ASSERT_TRUE(clean_error(r));
			}
			r == 0 ? nok++ : nerr++;
			/* The length field or the version: always an error. */
			if (bit / 8 < 5)
				ASSERT_INT_NE(r, 0);
			if (bit / 8 == 4)
				ASSERT_INT_EQ(r, PK_ERR_BAD_VERSION);
			r = pk_frame_next(frame, len, PK_FRAME_MAX_DEFAULT,
			    &fl);
			ASSERT_TRUE(r == 0 || clean_error(r));
			frame[bit / 8] ^= 1 << (bit % 8);
		}
		test_diag("%s: %zu flips decode, %zu are refused", g->name,
		    nok, nerr);
		ASSERT_INT_EQ(nok + nerr, len * 8);
		ASSERT_INT_LT(0, nerr);
		TEST_DONE();
		free(frame);
	}
}

static void
test_truncation(void)
{
	const struct golden	*g;
	uint8_t			*frame;
	size_t			 i, k, len, fl;
	int			 r;

	for (i = 0; i < NGOLDEN; i++) {
		g = &goldens[i];
		frame = unhex(g->hex, &len);
		TEST_START(tname("every truncation", g->name));
		for (k = 0; k < len; k++) {
			/* As received: the length field says more. */
			r = decode_copy(frame, k);
			ASSERT_INT_EQ(r, PK_ERR_TRUNCATED);
			ASSERT_INT_EQ(pk_frame_next(frame, k,
			    PK_FRAME_MAX_DEFAULT, &fl), PK_ERR_TRUNCATED);
			ASSERT_INT_EQ(fl, k < 4 ? 0 : len);
			if (k < PK_FRAME_HDR)
				continue;
			/* A lying sender: the length field agrees. */
			frame[0] = frame[1] = 0;
			frame[2] = (uint8_t)((k - 4) >> 8);
			frame[3] = (uint8_t)(k - 4);
			r = decode_copy(frame, k);
			if (r == 0)
				test_diag("%s: body cut to %zu decodes",
				    g->name, k);
			ASSERT_TRUE(clean_error(r));
			free(frame);
			frame = unhex(g->hex, &len);
		}
		TEST_DONE();
		free(frame);
	}
}

static void
test_trailing(void)
{
	const struct golden	*g;
	struct pk_msg		 m;
	uint8_t			*frame, *two;
	size_t			 i, len, fl;

	for (i = 0; i < NGOLDEN; i++) {
		g = &goldens[i];
		frame = unhex(g->hex, &len);
		if ((two = malloc(2 * len + 1)) == NULL)
			abort();
		memcpy(two, frame, len);
		memcpy(two + len, frame, len);
		two[2 * len] = 0;
		TEST_START(tname("trailing bytes", g->name));
		/* Outside the frame: decode refuses, frame_next splits. */
		ASSERT_INT_EQ(decode_copy(two, len + 1), PK_ERR_TRAILING);
		ASSERT_INT_EQ(pk_frame_next(two, 2 * len,
		    PK_FRAME_MAX_DEFAULT, &fl), 0);
		ASSERT_INT_EQ(fl, len);
		ASSERT_INT_EQ(pk_frame_next(two + fl, 2 * len - fl,
		    PK_FRAME_MAX_DEFAULT, &fl), 0);
		ASSERT_INT_EQ(fl, len);
		ASSERT_INT_EQ(pk_msg_decode(two + len, len, &m), 0);
		/* Inside the frame: the length field counts one more byte. */
		two[3]++;
		ASSERT_INT_EQ(decode_copy(two, len + 1), PK_ERR_TRAILING);
		TEST_DONE();
		free(two);
		free(frame);
	}
}

static void
test_frame_next(void)
{
	uint8_t	b[16];
	size_t	fl;

	memset(b, 0, sizeof(b));
	TEST_START("frame_next: fewer than 4 bytes");
	fl = 99;
	ASSERT_INT_EQ(pk_frame_next(b, 0, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(fl, 0);
	ASSERT_INT_EQ(pk_frame_next(NULL, 0, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(pk_frame_next(b, 3, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_TRUNCATED);
	TEST_DONE();

	TEST_START("frame_next: length under PK_FRAME_MIN_LEN");
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_BAD_FORMAT);
	b[3] = 1;
	ASSERT_INT_EQ(pk_frame_next(b, 16, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_BAD_FORMAT);
	b[3] = 2;
	ASSERT_INT_EQ(pk_frame_next(b, 6, PK_FRAME_MAX_DEFAULT, &fl), 0);
	ASSERT_INT_EQ(fl, 6);
	TEST_DONE();

	TEST_START("frame_next: lengths at and over max, before any body");
	/* max itself: fine, just not here yet; the total is known. */
	b[0] = 0x00; b[1] = 0x01; b[2] = 0x00; b[3] = 0x00;	/* 65536 */
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(fl, 4 + PK_FRAME_MAX_DEFAULT);
	b[3] = 0x01;						/* 65537 */
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(fl, 0);
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_DEFAULT + 1, &fl),
	    PK_ERR_TRUNCATED);
	b[0] = b[1] = b[2] = b[3] = 0xff;
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_HARD, &fl),
	    PK_ERR_TOO_LARGE);
	b[0] = 0x01; b[1] = 0x00; b[2] = 0x00; b[3] = 0x00;	/* 16 MiB */
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_HARD, &fl),
	    PK_ERR_TRUNCATED);
	ASSERT_INT_EQ(fl, 4 + PK_FRAME_MAX_HARD);
	b[3] = 0x01;
	ASSERT_INT_EQ(pk_frame_next(b, 4, PK_FRAME_MAX_HARD, &fl),
	    PK_ERR_TOO_LARGE);
	b[0] = 0; b[1] = 0; b[2] = 0; b[3] = 10;
	ASSERT_INT_EQ(pk_frame_next(b, 14, 10, &fl), 0);
	ASSERT_INT_EQ(pk_frame_next(b, 14, 9, &fl), PK_ERR_TOO_LARGE);
	TEST_DONE();

	TEST_START("frame_next: bad arguments");
	ASSERT_INT_EQ(pk_frame_next(b, 14, PK_FRAME_MAX_HARD + 1, &fl),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_frame_next(b, 14, 1, &fl), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_frame_next(b, 14, PK_FRAME_MAX_DEFAULT, NULL),
	    PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_frame_next(NULL, 14, PK_FRAME_MAX_DEFAULT, &fl),
	    PK_ERR_INVALID_ARG);
	TEST_DONE();
}

/*
 * A raw frame builder for inputs the encoder would refuse: fields are
 * written as given, and raw_end() fills in the length field.
 */
static uint8_t	raw[PK_MSG_LEN_MAX + 4096];
static size_t	rawn;

static void
raw_uint(size_t n, uint64_t v)
{
	while (n-- > 0)
		raw[rawn++] = (uint8_t)(v >> (8 * n));
}

static void
raw_fill(size_t n, uint8_t c)
{
	memset(raw + rawn, c, n);
	rawn += n;
}

static void
raw_start(uint8_t version, uint8_t type)
{
	rawn = 0;
	raw_uint(4, 0);
	raw_uint(1, version);
	raw_uint(1, type);
}

/* Fills in the length field and decodes (with the re-encode check). */
static int
raw_end(void)
{
	raw[0] = (uint8_t)((rawn - 4) >> 24);
	raw[1] = (uint8_t)((rawn - 4) >> 16);
	raw[2] = (uint8_t)((rawn - 4) >> 8);
	raw[3] = (uint8_t)(rawn - 4);
	return decode_copy(raw, rawn);
}

/* A DEPOSIT with an id of idlen bytes of c and data of dlen bytes. */
static int
raw_deposit(size_t idlen, uint8_t c, size_t dlen)
{
	raw_start(1, PK_MSG_DEPOSIT);
	raw_uint(2, idlen);
	raw_fill(idlen, c);
	raw_uint(4, dlen);
	raw_fill(dlen, 0xa5);
	return raw_end();
}

/* An UNLOCK_REPLY with n blobs of id "x" and one data byte. */
static int
raw_unlock_ok(size_t n)
{
	size_t	i;

	raw_start(1, PK_MSG_UNLOCK_REPLY);
	raw_uint(1, PK_UNLOCK_OK);
	raw_uint(2, n);
	for (i = 0; i < n; i++) {
		raw_uint(2, 1);
		raw_fill(1, 'x');
		raw_uint(4, 1);
		raw_fill(1, 0);
	}
	return raw_end();
}

/* A message of type t whose body is a text field of n bytes of c. */
static int
raw_text(uint8_t t, size_t n, uint8_t c)
{
	raw_start(1, t);
	switch (t) {
	case PK_MSG_UNLOCK_REPLY:
		raw_uint(1, PK_UNLOCK_REFUSED);
		raw_uint(1, PK_REFUSE_BUSY);
		break;
	case PK_MSG_NOTICE:
		raw_uint(4, 3600);
		break;
	case PK_MSG_ERROR:
		raw_uint(2, PK_ERRC_PROTOCOL);
		break;
	}
	raw_uint(2, n);
	raw_fill(n, c);
	return raw_end();
}

static void
test_decode_limits(void)
{
	static const uint8_t	text_types[] = {
		PK_MSG_UNLOCK_REPLY, PK_MSG_NOTICE, PK_MSG_ERROR
	};
	size_t			i, t;
	int			r;

	TEST_START("decode: blob id length 1 .. PK_BLOB_ID_MAX");
	ASSERT_INT_EQ(raw_deposit(1, 'a', 1), 0);
	ASSERT_INT_EQ(raw_deposit(PK_BLOB_ID_MAX, 'a', 1), 0);
	ASSERT_INT_EQ(raw_deposit(PK_BLOB_ID_MAX + 1, 'a', 1),
	    PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(raw_deposit(0xffff, 'a', 1), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(raw_deposit(0, 'a', 1), PK_ERR_BAD_FORMAT);
	raw_start(1, PK_MSG_WITHDRAW);
	raw_uint(2, PK_BLOB_ID_MAX);
	raw_fill(PK_BLOB_ID_MAX, 'w');
	ASSERT_INT_EQ(raw_end(), 0);
	raw_start(1, PK_MSG_WITHDRAW);
	raw_uint(2, PK_BLOB_ID_MAX + 1);
	raw_fill(PK_BLOB_ID_MAX + 1, 'w');
	ASSERT_INT_EQ(raw_end(), PK_ERR_TOO_LARGE);
	raw_start(1, PK_MSG_WITHDRAW);
	raw_uint(2, 0);
	ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_FORMAT);
	/* A length over the limit is judged before the bytes are missed. */
	raw_start(1, PK_MSG_WITHDRAW);
	raw_uint(2, PK_BLOB_ID_MAX + 1);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TOO_LARGE);
	raw_start(1, PK_MSG_WITHDRAW);
	raw_uint(2, 5);
	raw_fill(4, 'w');
	ASSERT_INT_EQ(raw_end(), PK_ERR_TRUNCATED);
	TEST_DONE();

	TEST_START("decode: blob id bytes are printable ASCII, no space");
	ASSERT_INT_EQ(raw_deposit(3, '!', 1), 0);
	ASSERT_INT_EQ(raw_deposit(3, '~', 1), 0);
	ASSERT_INT_EQ(raw_deposit(3, ' ', 1), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(raw_deposit(3, 0x00, 1), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(raw_deposit(3, '\n', 1), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(raw_deposit(3, 0x7f, 1), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(raw_deposit(3, 0x80, 1), PK_ERR_BAD_FORMAT);
	TEST_DONE();

	TEST_START("decode: blob data length 1 .. PK_BLOB_MAX");
	ASSERT_INT_EQ(raw_deposit(4, 'b', PK_BLOB_MAX), 0);
	ASSERT_INT_EQ(raw_deposit(4, 'b', PK_BLOB_MAX + 1), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(raw_deposit(4, 'b', 0), PK_ERR_BAD_FORMAT);
	raw_start(1, PK_MSG_DEPOSIT);
	raw_uint(2, 1);
	raw_fill(1, 'i');
	raw_uint(4, 0xffffffff);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TOO_LARGE);
	TEST_DONE();

	TEST_START("decode: nblobs 1 .. PK_BLOBS_MAX");
	ASSERT_INT_EQ(raw_unlock_ok(1), 0);
	ASSERT_INT_EQ(raw_unlock_ok(PK_BLOBS_MAX), 0);
	ASSERT_INT_EQ(raw_unlock_ok(PK_BLOBS_MAX + 1), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(raw_unlock_ok(0), PK_ERR_BAD_FORMAT);
	raw_start(1, PK_MSG_UNLOCK_REPLY);
	raw_uint(1, PK_UNLOCK_OK);
	raw_uint(2, 0xffff);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TOO_LARGE);
	TEST_DONE();

	TEST_START("decode: the largest UNLOCK_REPLY is PK_MSG_LEN_MAX");
	raw_start(1, PK_MSG_UNLOCK_REPLY);
	raw_uint(1, PK_UNLOCK_OK);
	raw_uint(2, PK_BLOBS_MAX);
	for (i = 0; i < PK_BLOBS_MAX; i++) {
		raw_uint(2, PK_BLOB_ID_MAX);
		raw_fill(PK_BLOB_ID_MAX, 'A' + i);
		raw_uint(4, PK_BLOB_MAX);
		raw_fill(PK_BLOB_MAX, (uint8_t)i);
	}
	ASSERT_INT_EQ(raw_end(), 0);
	ASSERT_INT_EQ(rawn, 4 + PK_MSG_LEN_MAX);
	{
		size_t	fl;

		ASSERT_INT_EQ(pk_frame_next(raw, rawn, PK_FRAME_MAX_DEFAULT,
		    &fl), PK_ERR_TOO_LARGE);
		ASSERT_INT_EQ(pk_frame_next(raw, rawn, PK_MSG_LEN_MAX, &fl),
		    0);
		ASSERT_INT_EQ(fl, rawn);
	}
	TEST_DONE();

	TEST_START("decode: text length 0 .. PK_TEXT_MAX in every text field");
	for (t = 0; t < sizeof(text_types); t++) {
		ASSERT_INT_EQ(raw_text(text_types[t], 0, 'x'), 0);
		ASSERT_INT_EQ(raw_text(text_types[t], PK_TEXT_MAX, 'x'), 0);
		ASSERT_INT_EQ(raw_text(text_types[t], PK_TEXT_MAX + 1, 'x'),
		    PK_ERR_TOO_LARGE);
	}
	TEST_DONE();

	TEST_START("decode: text may not hold control bytes");
	for (t = 0; t < sizeof(text_types); t++) {
		for (i = 0; i < 256; i++) {
			r = raw_text(text_types[t], 3, (uint8_t)i);
			if (i < 0x20 || i == 0x7f)
				ASSERT_INT_EQ(r, PK_ERR_BAD_FORMAT);
			else
				ASSERT_INT_EQ(r, 0);
		}
	}
	/* One NUL in the middle of good text is enough. */
	raw_start(1, PK_MSG_ERROR);
	raw_uint(2, PK_ERRC_PROTOCOL);
	raw_uint(2, 5);
	raw_fill(2, 'o');
	raw_fill(1, 0);
	raw_fill(2, 'k');
	ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_FORMAT);
	TEST_DONE();

	TEST_START("decode: UNLOCK flags must be 0");
	raw_start(1, PK_MSG_UNLOCK);
	raw_uint(1, 0);
	ASSERT_INT_EQ(raw_end(), 0);
	for (i = 1; i < 256; i++) {
		raw_start(1, PK_MSG_UNLOCK);
		raw_uint(1, i);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_FORMAT);
	}
	raw_start(1, PK_MSG_UNLOCK);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TRUNCATED);
	TEST_DONE();

	TEST_START("decode: UNLOCK_REPLY status and reason");
	for (i = 0; i < 256; i++) {
		raw_start(1, PK_MSG_UNLOCK_REPLY);
		raw_uint(1, PK_UNLOCK_REFUSED);
		raw_uint(1, i);
		raw_uint(2, 0);
		r = raw_end();
		if (i >= 1 && i <= PK_REFUSE_MAX)
			ASSERT_INT_EQ(r, 0);
		else
			ASSERT_INT_EQ(r, PK_ERR_BAD_FORMAT);
	}
	for (i = 2; i < 256; i++) {
		raw_start(1, PK_MSG_UNLOCK_REPLY);
		raw_uint(1, i);
		raw_uint(1, PK_REFUSE_BUSY);
		raw_uint(2, 0);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_FORMAT);
	}
	TEST_DONE();

	TEST_START("decode: NOTICE window 1 .. PK_NOTICE_WINDOW_MAX");
	{
		static const struct {
			uint32_t	w;
			int		r;
		} v[] = {
			{ 0, PK_ERR_BAD_FORMAT },
			{ 1, 0 },
			{ 86400 * 7, 0 },
			{ 86400 * 7 + 1, PK_ERR_BAD_FORMAT },
			{ 0xffffffff, PK_ERR_BAD_FORMAT },
		};

		for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			raw_start(1, PK_MSG_NOTICE);
			raw_uint(4, v[i].w);
			raw_uint(2, 0);
			ASSERT_INT_EQ(raw_end(), v[i].r);
		}
	}
	TEST_DONE();

	TEST_START("decode: ACK acknowledges DEPOSIT, WITHDRAW, NOTICE, "
	    "INTRODUCE, UPDATE only");
	for (i = 0; i < 256; i++) {
		raw_start(1, PK_MSG_ACK);
		raw_uint(1, i);
		r = raw_end();
		if (i == PK_MSG_DEPOSIT || i == PK_MSG_WITHDRAW ||
		    i == PK_MSG_NOTICE || i == PK_MSG_INTRODUCE ||
		    i == PK_MSG_UPDATE)
			ASSERT_INT_EQ(r, 0);
		else
			ASSERT_INT_EQ(r, PK_ERR_BAD_FORMAT);
	}
	TEST_DONE();

	TEST_START("decode: ERROR code is any non-zero u16");
	raw_start(1, PK_MSG_ERROR);
	raw_uint(2, 0);
	raw_uint(2, 0);
	ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_FORMAT);
	for (i = 1; i <= 7; i++) {
		raw_start(1, PK_MSG_ERROR);
		raw_uint(2, i);
		raw_uint(2, 0);
		ASSERT_INT_EQ(raw_end(), 0);
	}
	raw_start(1, PK_MSG_ERROR);
	raw_uint(2, 0xffff);
	raw_uint(2, 0);
	ASSERT_INT_EQ(raw_end(), 0);
	TEST_DONE();

	TEST_START("decode: HEARTBEAT nonce is exactly 8 bytes");
	raw_start(1, PK_MSG_HEARTBEAT);
	raw_uint(8, 0);
	ASSERT_INT_EQ(raw_end(), 0);
	raw_start(1, PK_MSG_HEARTBEAT_REPLY);
	raw_uint(8, UINT64_MAX);
	ASSERT_INT_EQ(raw_end(), 0);
	raw_start(1, PK_MSG_HEARTBEAT);
	raw_uint(7, 0);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TRUNCATED);
	raw_start(1, PK_MSG_HEARTBEAT);
	raw_uint(8, 0);
	raw_uint(1, 0);
	ASSERT_INT_EQ(raw_end(), PK_ERR_TRAILING);
	TEST_DONE();

	TEST_START("decode: unknown types and versions");
	for (i = 0; i < 256; i++) {
		if (i >= PK_MSG_TYPE_MIN && i <= PK_MSG_TYPE_MAX)
			continue;
		raw_start(1, i);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_TYPE);
		raw_start(1, i);
		raw_uint(8, 0);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_TYPE);
	}
	for (i = 0; i < 256; i++) {
		if (i == PK_PROTO_VERSION)
			continue;
		/* The version is judged first, whatever the type. */
		raw_start(i, PK_MSG_HEARTBEAT);
		raw_uint(8, 0);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_VERSION);
		raw_start(i, 200);
		ASSERT_INT_EQ(raw_end(), PK_ERR_BAD_VERSION);
	}
	TEST_DONE();

	TEST_START("decode: frame length field bounds");
	{
		static const uint8_t	zero[] = { 0, 0, 0, 0 };
		static const uint8_t	one[] = { 0, 0, 0, 1, 1 };
		static const uint8_t	huge[] = { 0xff, 0xff, 0xff, 0xff,
						   1, 3, 0, 0 };

		ASSERT_INT_EQ(decode_copy(zero, sizeof(zero)),
		    PK_ERR_BAD_FORMAT);
		ASSERT_INT_EQ(decode_copy(one, sizeof(one)),
		    PK_ERR_BAD_FORMAT);
		ASSERT_INT_EQ(decode_copy(huge, sizeof(huge)),
		    PK_ERR_TRUNCATED);
		ASSERT_INT_EQ(decode_copy(zero, 0), PK_ERR_TRUNCATED);
	}
	TEST_DONE();

	TEST_START("decode: a failure leaves only version and type");
	{
		struct pk_msg	m;

		raw_start(1, PK_MSG_NOTICE);
		raw_uint(4, 600);
		raw_uint(2, 1);
		raw_fill(1, '\n');
		raw_end();
		memset(&m, 0x5a, sizeof(m));
		ASSERT_INT_EQ(pk_msg_decode(raw, rawn, &m), PK_ERR_BAD_FORMAT);
		ASSERT_INT_EQ(m.version, 1);
		ASSERT_INT_EQ(m.type, PK_MSG_NOTICE);
		ASSERT_INT_EQ(m.u.notice.window, 0);
		ASSERT_PTR_EQ(m.u.notice.text.p, NULL);
		ASSERT_INT_EQ(pk_msg_decode(raw, rawn, NULL),
		    PK_ERR_INVALID_ARG);
		ASSERT_INT_EQ(pk_msg_decode(NULL, 4, &m), PK_ERR_INVALID_ARG);
	}
	TEST_DONE();
}

/* Encodes m into a large buffer; returns the result. */
static int
enc(const struct pk_msg *m)
{
	size_t	w;
	int	r;

	r = pk_msg_encode(m, raw, sizeof(raw), &w);
	if (r == 0 && (pk_msg_encoded_len(m) != w || decode_copy(raw, w)))
		return 1;
	if (r != 0 && pk_msg_encoded_len(m) != 0)
		return 2;
	return r;
}

/*
 * Encodes m with its length field *len at max (it encodes), at max + 1
 * (PK_ERR_TOO_LARGE) and, if zero is not 0, at 0 (the error zero); then
 * leaves *len at after.
 */
static void
enc_len(struct pk_msg *m, size_t *len, size_t max, int zero, size_t after)
{
	*len = max;
	ASSERT_INT_EQ(enc(m), 0);
	*len = max + 1;
	ASSERT_INT_EQ(enc(m), PK_ERR_TOO_LARGE);
	if (zero != 0) {
		*len = 0;
		ASSERT_INT_EQ(enc(m), zero);
	}
	*len = after;
}

static void
test_encode_limits(void)
{
	static uint8_t	big[PK_BLOB_MAX + 1];
	struct pk_msg	m;
	char		id[PK_BLOB_ID_MAX + 2], text[PK_TEXT_MAX + 2];
	size_t		i;

	memset(big, 0x42, sizeof(big));
	memset(id, 'i', sizeof(id));
	memset(text, 't', sizeof(text));

	TEST_START("encode: blob id and data limits");
	pk_msg_init(&m, PK_MSG_DEPOSIT);
	m.u.deposit.blob.id.p = (uint8_t *)id;
	m.u.deposit.blob.data.p = big;
	m.u.deposit.blob.data.len = 1;
	enc_len(&m, &m.u.deposit.blob.id.len, PK_BLOB_ID_MAX,
	    PK_ERR_INVALID_ARG, 1);
	enc_len(&m, &m.u.deposit.blob.data.len, PK_BLOB_MAX,
	    PK_ERR_INVALID_ARG, 1);
	m.u.deposit.blob.data.p = NULL;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.deposit.blob.data.p = big;
	set_str(&m.u.deposit.blob.id, "has space");
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	pk_msg_init(&m, PK_MSG_WITHDRAW);
	m.u.withdraw.id.p = (uint8_t *)id;
	enc_len(&m, &m.u.withdraw.id.len, PK_BLOB_ID_MAX, 0, 1);
	set_str(&m.u.withdraw.id, "a\x7f");
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("encode: nblobs limits");
	pk_msg_init(&m, PK_MSG_UNLOCK_REPLY);
	for (i = 0; i < PK_BLOBS_MAX; i++) {
		m.u.unlock_reply.blobs[i].id.p = (uint8_t *)id;
		m.u.unlock_reply.blobs[i].id.len = PK_BLOB_ID_MAX;
		m.u.unlock_reply.blobs[i].data.p = big;
		m.u.unlock_reply.blobs[i].data.len = PK_BLOB_MAX;
	}
	m.u.unlock_reply.nblobs = PK_BLOBS_MAX;
	ASSERT_INT_EQ(enc(&m), 0);
	ASSERT_INT_EQ(pk_msg_encoded_len(&m), 4 + PK_MSG_LEN_MAX);
	m.u.unlock_reply.nblobs = PK_BLOBS_MAX + 1;
	ASSERT_INT_EQ(enc(&m), PK_ERR_TOO_LARGE);
	m.u.unlock_reply.nblobs = 0;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.unlock_reply.nblobs = 2;
	m.u.unlock_reply.blobs[1].data.len = 0;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.unlock_reply.status = 2;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("encode: refusal reason and text");
	pk_msg_init(&m, PK_MSG_UNLOCK_REPLY);
	m.u.unlock_reply.status = PK_UNLOCK_REFUSED;
	m.u.unlock_reply.text.p = (uint8_t *)text;
	for (i = 0; i < 256; i++) {
		m.u.unlock_reply.reason = i;
		ASSERT_INT_EQ(enc(&m), i >= 1 && i <= PK_REFUSE_MAX ? 0 :
		    PK_ERR_INVALID_ARG);
	}
	m.u.unlock_reply.reason = PK_REFUSE_DENIED;
	enc_len(&m, &m.u.unlock_reply.text.len, PK_TEXT_MAX, 0, PK_TEXT_MAX);
	set_str(&m.u.unlock_reply.text, "line\nbreak");
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	set_str(&m.u.unlock_reply.text, "caf\xc3\xa9");	/* UTF-8 is fine */
	ASSERT_INT_EQ(enc(&m), 0);
	TEST_DONE();

	TEST_START("encode: NOTICE, ACK, ERROR, UNLOCK field rules");
	pk_msg_init(&m, PK_MSG_NOTICE);
	m.u.notice.window = 0;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.notice.window = PK_NOTICE_WINDOW_MAX;
	ASSERT_INT_EQ(enc(&m), 0);
	m.u.notice.window = PK_NOTICE_WINDOW_MAX + 1;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.notice.window = 60;
	m.u.notice.text.p = (uint8_t *)text;
	enc_len(&m, &m.u.notice.text.len, PK_TEXT_MAX, 0, PK_TEXT_MAX);
	m.u.notice.text.p = NULL;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	pk_msg_init(&m, PK_MSG_ACK);
	for (i = 0; i < 256; i++) {
		m.u.ack.of_type = i;
		ASSERT_INT_EQ(enc(&m), (i >= 5 && i <= 7) ||
		    i == PK_MSG_INTRODUCE || i == PK_MSG_UPDATE ? 0 :
		    PK_ERR_INVALID_ARG);
	}
	pk_msg_init(&m, PK_MSG_ERROR);
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	m.u.error.code = 0xffff;
	ASSERT_INT_EQ(enc(&m), 0);
	set_str(&m.u.error.text, "tab\there");
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	pk_msg_init(&m, PK_MSG_UNLOCK);
	m.u.unlock.flags = 1;
	ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("encode: documents: JOIN_REPLY lists every member, so its "
	    "own limit");
	{
		static uint8_t	doc[PK_JOIN_REPLY_MAX + 1];
		static uint8_t	secret[PK_JOIN_SECRET_LEN];

		memset(doc, 'd', sizeof(doc));
		pk_msg_init(&m, PK_MSG_JOIN_REPLY);
		m.u.doc.doc.p = doc;
		enc_len(&m, &m.u.doc.doc.len, PK_JOIN_REPLY_MAX,
		    PK_ERR_INVALID_ARG, 1);
		/* A 100-machine cluster (about 1.5 KiB a member, as peerkey
		 * init makes them) fits with room to spare; 48 KiB did not. */
		ASSERT_TRUE(PK_JOIN_REPLY_MAX >= 4 * 100 * 1536);
		ASSERT_TRUE(PK_JOIN_MEMBERS_MAX >= 4 * 100);
		m.u.doc.doc.len = 100 * 1536;
		ASSERT_INT_EQ(enc(&m), 0);
		/* One identity stays at PK_DOC_MAX. */
		pk_msg_init(&m, PK_MSG_INTRODUCE);
		m.u.doc.doc.p = doc;
		enc_len(&m, &m.u.doc.doc.len, PK_DOC_MAX, PK_ERR_INVALID_ARG, 1);
		pk_msg_init(&m, PK_MSG_UPDATE);
		m.u.doc.doc.p = doc;
		enc_len(&m, &m.u.doc.doc.len, PK_DOC_MAX, PK_ERR_INVALID_ARG, 1);
		pk_msg_init(&m, PK_MSG_JOIN);
		m.u.join.secret = secret;
		m.u.join.doc.p = doc;
		enc_len(&m, &m.u.join.doc.len, PK_DOC_MAX, PK_ERR_INVALID_ARG,
		    1);
	}
	TEST_DONE();

	TEST_START("encode: unknown type and bad arguments");
	for (i = 0; i < 256; i++) {
		if (i >= PK_MSG_TYPE_MIN && i <= PK_MSG_TYPE_MAX)
			continue;
		pk_msg_init(&m, (uint8_t)i);
		ASSERT_INT_EQ(enc(&m), PK_ERR_INVALID_ARG);
	}
	{
		size_t	w;

		m = exp_ack;
		ASSERT_INT_EQ(pk_msg_encode(NULL, raw, sizeof(raw), &w),
		    PK_ERR_INVALID_ARG);
		ASSERT_INT_EQ(pk_msg_encode(&m, raw, sizeof(raw), NULL),
		    PK_ERR_INVALID_ARG);
		ASSERT_INT_EQ(pk_msg_encode(&m, NULL, 0, &w),
		    PK_ERR_TOO_LARGE);
		ASSERT_INT_EQ(pk_msg_encoded_len(NULL), 0);
	}
	TEST_DONE();
}

static void
test_names(void)
{
	TEST_START("names of types, reasons and error codes");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_UNLOCK), "UNLOCK");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_UNLOCK_REPLY), "UNLOCK_REPLY");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_HEARTBEAT), "HEARTBEAT");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_HEARTBEAT_REPLY),
	    "HEARTBEAT_REPLY");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_DEPOSIT), "DEPOSIT");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_WITHDRAW), "WITHDRAW");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_NOTICE), "NOTICE");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_ACK), "ACK");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_ERROR), "ERROR");
	ASSERT_STR_EQ(pk_msg_type_name(0), "unknown");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_JOIN), "JOIN");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_INTRODUCE), "INTRODUCE");
	ASSERT_STR_EQ(pk_msg_type_name(PK_MSG_UPDATE), "UPDATE");
	ASSERT_STR_EQ(pk_msg_type_name(14), "unknown");
	ASSERT_STR_EQ(pk_msg_type_name(0xffffffff), "unknown");
	ASSERT_STR_EQ(pk_refusal_name(PK_REFUSE_DISABLED), "disabled");
	ASSERT_STR_EQ(pk_refusal_name(PK_REFUSE_BUSY), "busy");
	ASSERT_STR_EQ(pk_refusal_name(0), "unknown reason");
	ASSERT_STR_EQ(pk_refusal_name(PK_REFUSE_MAX + 1), "unknown reason");
	ASSERT_STR_EQ(pk_errc_name(PK_ERRC_NOT_FOUND), "not found");
	ASSERT_STR_EQ(pk_errc_name(0), "unknown error code");
	ASSERT_STR_EQ(pk_errc_name(7), "unknown error code");
	TEST_DONE();
}

/* The wire's string rules as the control socket applies them. */
static void
test_string_rules(void)
{
	char	 id[PK_BLOB_ID_MAX + 2];

	TEST_START("pk_msg_id_valid, pk_msg_text_valid: the decoder's rules");
	ASSERT_INT_EQ(pk_msg_id_valid("luks-0b1c.2_x~"), 1);
	ASSERT_INT_EQ(pk_msg_id_valid(""), 0);
	ASSERT_INT_EQ(pk_msg_id_valid("disk 1"), 0);
	ASSERT_INT_EQ(pk_msg_id_valid("disk1\n\033[2J"), 0);
	ASSERT_INT_EQ(pk_msg_id_valid("disk\177"), 0);
	ASSERT_INT_EQ(pk_msg_id_valid("disk\200"), 0);
	memset(id, 'a', sizeof(id));
	id[PK_BLOB_ID_MAX] = '\0';
	ASSERT_INT_EQ(pk_msg_id_valid(id), 1);
	id[PK_BLOB_ID_MAX] = 'a';
	id[PK_BLOB_ID_MAX + 1] = '\0';
	ASSERT_INT_EQ(pk_msg_id_valid(id), 0);
	ASSERT_INT_EQ(pk_msg_text_valid(""), 1);
	ASSERT_INT_EQ(pk_msg_text_valid("fping -q %(host)s \303\251"), 1);
	ASSERT_INT_EQ(pk_msg_text_valid("a\tb"), 0);
	ASSERT_INT_EQ(pk_msg_text_valid("a\033[2J"), 0);
	ASSERT_INT_EQ(pk_msg_text_valid("a\177"), 0);
	TEST_DONE();
}

int
main(void)
{
	test_golden();
	test_bitflip();
	test_truncation();
	test_trailing();
	test_frame_next();
	test_decode_limits();
	test_encode_limits();
	test_names();
	test_string_rules();
	return test_exit();
}
