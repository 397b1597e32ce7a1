/*
 * test-buf.c: bounded byte buffers (buf.c).
 *
 * The maximum is never passed by append or reserve, bytes come out in the
 * order they went in across growth and compaction, commit cannot claim
 * more than was reserved, and a long random workload agrees with a simple
 * model. Wiping of released bytes is checked through the one window the
 * API gives: reserved space, which must read as zeros.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pk_err.h"
#include "test_helper.h"

/* Returns 1 if p[0 .. n) is all zero. */
static int
all_zero(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_new(void)
{
	struct pk_buf	*b;

	TEST_START("buf: new refuses max 0 and max over PK_BUF_MAX_HARD");
	ASSERT_PTR_EQ(pk_buf_new(0), NULL);
	ASSERT_PTR_EQ(pk_buf_new((size_t)PK_BUF_MAX_HARD + 1), NULL);
	b = pk_buf_new(PK_BUF_MAX_HARD);
	ASSERT_PTR_NE(b, NULL);
	pk_buf_free(b);
	pk_buf_free(NULL);
	TEST_DONE();

	TEST_START("buf: a new buffer is empty");
	b = pk_buf_new(100);
	ASSERT_PTR_NE(b, NULL);
	ASSERT_INT_EQ(pk_buf_len(b), 0);
	ASSERT_INT_EQ(pk_buf_max(b), 100);
	ASSERT_INT_EQ(pk_buf_room(b), 100);
	ASSERT_PTR_NE(pk_buf_ptr(b), NULL);
	ASSERT_INT_EQ(pk_buf_consume(b, 0), 0);
	ASSERT_INT_EQ(pk_buf_consume(b, 1), PK_ERR_INVALID_ARG);
	pk_buf_free(b);
	TEST_DONE();
}

static void
test_append_consume(void)
{
	struct pk_buf	*b;
	uint8_t		 data[1000];
	size_t		 i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);

	TEST_START("buf: append up to max exactly, one byte more is refused");
	b = pk_buf_new(1000);
	ASSERT_INT_EQ(pk_buf_append(b, data, 999), 0);
	ASSERT_INT_EQ(pk_buf_room(b), 1);
	ASSERT_INT_EQ(pk_buf_append(b, data, 2), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_buf_len(b), 999);		/* unchanged */
	ASSERT_INT_EQ(pk_buf_append(b, data + 999, 1), 0);
	ASSERT_INT_EQ(pk_buf_len(b), 1000);
	ASSERT_MEM_EQ(pk_buf_ptr(b), data, 1000);
	ASSERT_INT_EQ(pk_buf_append(b, data, 1), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_buf_append(b, data, 0), 0);
	ASSERT_INT_EQ(pk_buf_append(b, NULL, 0), 0);
	ASSERT_INT_EQ(pk_buf_append(b, NULL, 1), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_buf_append(b, data, (size_t)-1), PK_ERR_TOO_LARGE);
	TEST_DONE();

	TEST_START("buf: consume from the front; room comes back");
	ASSERT_INT_EQ(pk_buf_consume(b, 1001), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_buf_len(b), 1000);
	ASSERT_INT_EQ(pk_buf_consume(b, 10), 0);
	ASSERT_INT_EQ(pk_buf_len(b), 990);
	ASSERT_MEM_EQ(pk_buf_ptr(b), data + 10, 990);
	ASSERT_INT_EQ(pk_buf_room(b), 10);
	/* Appending now must compact: data stays in order. */
	ASSERT_INT_EQ(pk_buf_append(b, data, 10), 0);
	ASSERT_MEM_EQ(pk_buf_ptr(b), data + 10, 990);
	ASSERT_MEM_EQ(pk_buf_ptr(b) + 990, data, 10);
	ASSERT_INT_EQ(pk_buf_append(b, data, 1), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_buf_consume(b, 1000), 0);
	ASSERT_INT_EQ(pk_buf_len(b), 0);
	ASSERT_INT_EQ(pk_buf_room(b), 1000);
	pk_buf_free(b);
	TEST_DONE();

	TEST_START("buf: reset empties and keeps the maximum");
	b = pk_buf_new(50);
	ASSERT_INT_EQ(pk_buf_append(b, data, 50), 0);
	pk_buf_reset(b);
	ASSERT_INT_EQ(pk_buf_len(b), 0);
	ASSERT_INT_EQ(pk_buf_max(b), 50);
	ASSERT_INT_EQ(pk_buf_append(b, data, 51), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_buf_append(b, data + 3, 50), 0);
	ASSERT_MEM_EQ(pk_buf_ptr(b), data + 3, 50);
	pk_buf_free(b);
	TEST_DONE();
}

static void
test_reserve(void)
{
	struct pk_buf	*b;
	uint8_t		*p;

	TEST_START("buf: reserve and commit (as around read())");
	b = pk_buf_new(4096);
	ASSERT_INT_EQ(pk_buf_reserve(b, 1000, &p), 0);
	ASSERT_PTR_NE(p, NULL);
	ASSERT_TRUE(all_zero(p, 1000));
	memset(p, 'r', 1000);
	ASSERT_INT_EQ(pk_buf_len(b), 0);		/* not yet added */
	ASSERT_INT_EQ(pk_buf_commit(b, 1001), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_buf_commit(b, 600), 0);	/* a short read */
	ASSERT_INT_EQ(pk_buf_len(b), 600);
	/* The reservation is used up. */
	ASSERT_INT_EQ(pk_buf_commit(b, 1), PK_ERR_INVALID_ARG);
	/* What was written past the commit was wiped. */
	ASSERT_INT_EQ(pk_buf_reserve(b, 400, &p), 0);
	ASSERT_TRUE(all_zero(p, 400));
	ASSERT_INT_EQ(pk_buf_commit(b, 0), 0);
	ASSERT_INT_EQ(pk_buf_len(b), 600);
	TEST_DONE();

	TEST_START("buf: reserve past the maximum is refused");
	ASSERT_INT_EQ(pk_buf_reserve(b, 4096 - 600, &p), 0);
	ASSERT_INT_EQ(pk_buf_reserve(b, 4096 - 599, &p), PK_ERR_TOO_LARGE);
	ASSERT_PTR_EQ(p, NULL);
	ASSERT_INT_EQ(pk_buf_commit(b, 1), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_buf_len(b), 600);
	TEST_DONE();

	TEST_START("buf: an abandoned reservation is wiped, not kept");
	ASSERT_INT_EQ(pk_buf_reserve(b, 100, &p), 0);
	memset(p, 's', 100);
	/* Any other change takes the reservation back. */
	ASSERT_INT_EQ(pk_buf_append(b, "x", 1), 0);
	ASSERT_INT_EQ(pk_buf_commit(b, 1), PK_ERR_INVALID_ARG);
	ASSERT_INT_EQ(pk_buf_len(b), 601);
	ASSERT_INT_EQ(pk_buf_reserve(b, 99, &p), 0);
	ASSERT_TRUE(all_zero(p, 99));
	ASSERT_INT_EQ(pk_buf_consume(b, 1), 0);
	ASSERT_INT_EQ(pk_buf_commit(b, 1), PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("buf: consumed bytes are wiped");
	pk_buf_reset(b);
	ASSERT_INT_EQ(pk_buf_append(b, "secretsecret", 12), 0);
	ASSERT_INT_EQ(pk_buf_consume(b, 12), 0);
	/* Empty again: the next reservation reuses the same storage. */
	ASSERT_INT_EQ(pk_buf_reserve(b, 4096, &p), 0);
	ASSERT_TRUE(all_zero(p, 4096));
	ASSERT_INT_EQ(pk_buf_commit(b, 0), 0);
	/* And after compaction, the tail that moved is zero too. */
	ASSERT_INT_EQ(pk_buf_append(b, "0123456789", 10), 0);
	ASSERT_INT_EQ(pk_buf_consume(b, 4), 0);
	ASSERT_INT_EQ(pk_buf_reserve(b, 4090, &p), 0);
	ASSERT_MEM_EQ(pk_buf_ptr(b), "456789", 6);
	ASSERT_TRUE(all_zero(p, 4090));
	pk_buf_free(b);
	TEST_DONE();
}

/*
 * A random workload against a model: a plain array with a read offset.
 * Growth, compaction and every refusal must leave the buffer's contents
 * equal to the model's.
 */
static void
test_model(void)
{
	struct pk_buf	*b;
	uint8_t		*model, *p, src[700];
	size_t		 max = 3000, mlen = 0, i, n, op;
	unsigned int	 seed = 12345;
	int		 r, ok = 1;

	TEST_START("buf: 20000 random operations agree with a model");
	b = pk_buf_new(max);
	if ((model = malloc(max)) == NULL)
		abort();
	for (i = 0; i < 20000 && ok; i++) {
		op = rand_r(&seed) % 4;
		n = rand_r(&seed) % sizeof(src);
		memset(src, (int)(i & 0xff), n);
		switch (op) {
		case 0:
			r = pk_buf_append(b, src, n);
			if ((r == 0) != (mlen + n <= max))
				ok = 0;
			if (r == 0) {
				memcpy(model + mlen, src, n);
				mlen += n;
			}
			break;
		case 1:
			r = pk_buf_reserve(b, n, &p);
			if ((r == 0) != (mlen + n <= max))
				ok = 0;
			if (r == 0) {
				size_t	c = n ? rand_r(&seed) % (n + 1) : 0;

				memcpy(p, src, n);
				if (pk_buf_commit(b, c) != 0)
					ok = 0;
				memcpy(model + mlen, src, c);
				mlen += c;
			}
			break;
		case 2:
			n %= 3 * sizeof(src) / 2;
			r = pk_buf_consume(b, n);
			if ((r == 0) != (n <= mlen))
				ok = 0;
			if (r == 0) {
				memmove(model, model + n, mlen - n);
				mlen -= n;
			}
			break;
		case 3:
			if (rand_r(&seed) % 50 == 0) {
				pk_buf_reset(b);
				mlen = 0;
			}
			break;
		}
		if (pk_buf_len(b) != mlen || pk_buf_room(b) != max - mlen ||
		    memcmp(pk_buf_ptr(b), model, mlen) != 0)
			ok = 0;
		if (!ok)
			test_diag("diverged at op %zu (%zu)", i, op);
	}
	ASSERT_TRUE(ok);
	free(model);
	pk_buf_free(b);
	TEST_DONE();
}

int
main(void)
{
	test_new();
	test_append_consume();
	test_reserve();
	test_model();
	return test_exit();
}
