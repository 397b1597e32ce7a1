/*
 * test-err.c: pk_strerror() names every error code with a distinct,
 * non-empty phrase and answers "unknown error" for anything else.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pk_err.h"
#include "test_helper.h"

int
main(void)
{
	const char	*a, *b;
	int		 i, j;

	TEST_START("every code has a non-empty, non-default phrase");
	for (i = PK_OK; i > PK_ERR_MAX_; i--) {
		a = pk_strerror(i);
		ASSERT_PTR_NE(a, NULL);
		if (a == NULL)
			continue;
		if (*a == '\0' || strcmp(a, "unknown error") == 0)
			test_fail(__FILE__, __LINE__, "code %d: \"%s\"", i, a);
	}
	TEST_DONE();

	TEST_START("phrases are distinct");
	for (i = PK_OK; i > PK_ERR_MAX_; i--)
		for (j = i - 1; j > PK_ERR_MAX_; j--) {
			a = pk_strerror(i);
			b = pk_strerror(j);
			if (strcmp(a, b) == 0)
				test_fail(__FILE__, __LINE__,
				    "codes %d and %d: \"%s\"", i, j, a);
		}
	TEST_DONE();

	TEST_START("known phrases");
	ASSERT_STR_EQ(pk_strerror(PK_OK), "success");
	ASSERT_STR_EQ(pk_strerror(PK_ERR_CONF), "invalid configuration");
	ASSERT_STR_EQ(pk_strerror(PK_ERR_NOT_FOUND), "not found");
	TEST_DONE();

	TEST_START("unknown codes");
	ASSERT_STR_EQ(pk_strerror(PK_ERR_MAX_), "unknown error");
	ASSERT_STR_EQ(pk_strerror(PK_ERR_MAX_ - 1), "unknown error");
	ASSERT_STR_EQ(pk_strerror(1), "unknown error");
	ASSERT_STR_EQ(pk_strerror(INT_MAX), "unknown error");
	ASSERT_STR_EQ(pk_strerror(INT_MIN), "unknown error");
	TEST_DONE();

	return test_exit();
}
