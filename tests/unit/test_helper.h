/*
 * test_helper.h: a tiny TAP assertion helper for the unit tests, in the
 * manner of OpenSSH's regress/unittests/test_helper.
 *
 *	TEST_START("what is being tested");
 *	ASSERT_INT_EQ(f(), 0);
 *	TEST_DONE();
 *	...
 *	return test_exit();
 *
 * Each TEST_START/TEST_DONE pair prints one "ok N - name" or "not ok N -
 * name" line; a failed assertion prints a diagnostic ("# file:line: ...")
 * and marks the current test failed without aborting the program, so later
 * tests still run. test_exit() prints the plan "1..N" and returns the exit
 * status. PK_TEST_SLOW=1 in the environment selects slow, thorough modes
 * (test_slow() returns non-zero).
 */
#ifndef TEST_HELPER_H
#define TEST_HELPER_H

#include <stddef.h>
#include <stdint.h>

void	test_start(const char *name);
void	test_done(void);
int	test_exit(void);
int	test_slow(void);
/* A fresh private directory (mode 0700) under $TMPDIR, removed at exit. */
const char *test_tmpdir(void);
/* test_tmpdir()/name, in one of 8 static buffers used in turn. */
const char *test_path(const char *name);
/* Runs the shell command made from fmt (stdout flushed first): its exit
 * status, or -1 if it could not run or was killed. */
int	test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The source tree's top directory ($top_srcdir or "."). */
const char *test_srcdir(void);
void	test_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	test_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	test_hexdump(const char *label, const void *p, size_t len);

#define TEST_START(name)	test_start(name)
#define TEST_DONE()		test_done()

#define ASSERT_TRUE(x) do {						\
	if (!(x))							\
		test_fail(__FILE__, __LINE__, "%s is false", #x);	\
} while (0)
#define ASSERT_FALSE(x) do {						\
	if ((x))							\
		test_fail(__FILE__, __LINE__, "%s is true", #x);	\
} while (0)
#define ASSERT_INT_EQ(a, b) do {					\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",	\
		    #a, #b, _a, _b);					\
} while (0)
#define ASSERT_INT_NE(a, b) do {					\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a == _b)							\
		test_fail(__FILE__, __LINE__, "%s != %s: both %lld",	\
		    #a, #b, _a);					\
} while (0)
#define ASSERT_INT_LT(a, b) do {					\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (!(_a < _b))							\
		test_fail(__FILE__, __LINE__, "%s < %s: %lld >= %lld",	\
		    #a, #b, _a, _b);					\
} while (0)
#define ASSERT_PTR_NE(a, b) do {					\
	if ((const void *)(a) == (const void *)(b))			\
		test_fail(__FILE__, __LINE__, "%s != %s", #a, #b);	\
} while (0)
#define ASSERT_PTR_EQ(a, b) do {					\
	if ((const void *)(a) != (const void *)(b))			\
		test_fail(__FILE__, __LINE__, "%s == %s", #a, #b);	\
} while (0)
#define ASSERT_STR_EQ(a, b) do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
		    #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");	\
} while (0)
#define ASSERT_STR_CONTAINS(a, b) do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strstr(_a, _b) == NULL)		\
		test_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"",	\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
} while (0)
#define ASSERT_MEM_EQ(a, b, n) do {					\
	if (memcmp((a), (b), (n)) != 0)					\
		test_fail(__FILE__, __LINE__, "%s == %s (%zu bytes)",	\
		    #a, #b, (size_t)(n));				\
} while (0)

#endif /* TEST_HELPER_H */
