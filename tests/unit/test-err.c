/*
 * test-err.c: pk_strerror() names every error code with a distinct,
 * non-empty phrase and answers "unknown error" for anything else;
 * pk_cause_set() formats, keeps the first cause and accepts NULL.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk_err.h"
#include "test_helper.h"

int
main(void)
{
	const char	*a, *b;
	char		*cause = NULL;
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

	TEST_START("pk_cause_set formats a message");
	pk_cause_set(&cause, "%s: %d", "port", 70000);
	ASSERT_STR_EQ(cause, "port: 70000");
	TEST_DONE();

	TEST_START("pk_cause_set keeps the first cause");
	pk_cause_set(&cause, "a later, vaguer cause");
	ASSERT_STR_EQ(cause, "port: 70000");
	free(cause);
	cause = NULL;
	pk_cause_set(&cause, "replaced after %s", "clearing");
	ASSERT_STR_EQ(cause, "replaced after clearing");
	free(cause);
	TEST_DONE();

	TEST_START("pk_cause_set with no cause wanted");
	pk_cause_set(NULL, "nobody reads %s", "this");
	TEST_DONE();

	return test_exit();
}
