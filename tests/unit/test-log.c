/*
 * test-log.c: log.c to stderr (captured in a temporary file) and to
 * syslog (a datagram socket bound at /dev/log inside a private mount
 * namespace, so the host's logger is never touched).
 *
 * Checks the "name: " prefix, verbosity filtering, log_warn's strerror
 * and errno preservation, escaping of control bytes and truncation, and
 * that fatal()/fatalx() exit 1 after logging.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "test_helper.h"

static FILE	*capf;
static int	 saved_stderr = -1;

/*
 * Sends stderr to a fresh unlinked temporary file. (Not under
 * test_tmpdir(): fatal() in a child runs atexit handlers, which would
 * remove that directory.)
 */
static void
cap_start(void)
{
	fflush(stderr);
	if ((capf = tmpfile()) == NULL) {
		perror("tmpfile");
		exit(99);
	}
	if (saved_stderr == -1)
		saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capf), STDERR_FILENO);
}

/* Restores stderr and returns what was captured (static buffer). */
static const char *
cap_end(void)
{
	static char	buf[16384];
	size_t		n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	rewind(capf);
	n = fread(buf, 1, sizeof(buf) - 1, capf);
	buf[n] = '\0';
	fclose(capf);
	capf = NULL;
	return buf;
}

/* Returns the number of newlines in s. */
static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void
test_prefix(void)
{
	const char	*out;

	TEST_START("stderr: program name prefix before log_procinit");
	cap_start();
	log_info("hello %d", 5);
	out = cap_end();
	ASSERT_STR_EQ(out, "test-log: hello 5\n");
	TEST_DONE();

	TEST_START("stderr: log_procinit name prefix");
	log_procinit("pkproc");
	cap_start();
	log_warnx("w %s", "x");
	log_info("i");
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: w x\npkproc: i\n");
	TEST_DONE();
}

static void
test_levels(void)
{
	const char	*out;

	TEST_START("verbosity: debug and trace filtered");
	log_setverbose(PK_LOG_INFO);
	ASSERT_INT_EQ(log_getverbose(), PK_LOG_INFO);
	cap_start();
	log_debug("d0");
	log_trace("t0");
	log_info("i0");
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: i0\n");

	log_setverbose(PK_LOG_DEBUG);
	ASSERT_INT_EQ(log_getverbose(), PK_LOG_DEBUG);
	cap_start();
	log_debug("d1");
	log_trace("t1");
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: d1\n");

	log_setverbose(PK_LOG_TRACE);
	cap_start();
	log_debug("d2");
	log_trace("t2");
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: d2\npkproc: t2\n");
	log_setverbose(PK_LOG_INFO);
	TEST_DONE();
}

static void
test_errno(void)
{
	const char	*out;
	char		 want[256];

	TEST_START("log_warn: strerror appended, errno kept");
	cap_start();
	errno = ENOENT;
	log_warn("open %s", "/x");
	ASSERT_INT_EQ(errno, ENOENT);
	errno = EACCES;
	log_warnx("no errno here");
	ASSERT_INT_EQ(errno, EACCES);
	log_info("info");
	log_debug("debug");
	ASSERT_INT_EQ(errno, EACCES);
	out = cap_end();
	snprintf(want, sizeof(want), "pkproc: open /x: %s\n"
	    "pkproc: no errno here\npkproc: info\n", strerror(ENOENT));
	ASSERT_STR_EQ(out, want);
	TEST_DONE();
}

static void
test_escape(void)
{
	const char	*out;
	char		 big[5000];

	TEST_START("escaping: newline, ESC, DEL, backslash; UTF-8 kept");
	cap_start();
	log_warnx("peer said: %s", "ok\nfake: line\x1b[31m\x7f\\x0a\r\t\xc3\xa9");
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: peer said: ok\\x0afake: line\\x1b[31m"
	    "\\x7f\\\\x0a\\x0d\\x09\xc3\xa9\n");
	ASSERT_INT_EQ(count_lines(out), 1);
	TEST_DONE();

	TEST_START("truncation: long message cut with ...");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cap_start();
	log_info("%s", big);
	out = cap_end();
	ASSERT_INT_EQ(count_lines(out), 1);
	ASSERT_INT_EQ(strlen(out), strlen("pkproc: ") + 1023 + 1);
	ASSERT_TRUE(strcmp(out + strlen(out) - 5, "A...\n") == 0);
	TEST_DONE();

	TEST_START("truncation: escapes are never cut in half");
	memset(big, '\n', sizeof(big) - 1);
	cap_start();
	log_info("%s", big);
	out = cap_end();
	ASSERT_INT_EQ(count_lines(out), 1);
	ASSERT_TRUE(strlen(out) <= strlen("pkproc: ") + 1023 + 1);
	/* "pkproc: " then whole "\x0a" units then "...\n". */
	ASSERT_INT_EQ((strlen(out) - strlen("pkproc: ") - 4) % 4, 0);
	ASSERT_TRUE(strcmp(out + strlen(out) - 8, "\\x0a...\n") == 0);
	TEST_DONE();
}

/* Child: fatal() or fatalx() (which) with output to the captured file. */
static int
child_fatal(int which)
{
	errno = EPERM;
	if (which)
		fatal("cannot %s", "bind");
	fatalx("bad invariant %d", 7);
}

/* Runs child_fatal(which) in a child; returns exit status or -1. */
static int
run_fatal(int which)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		child_fatal(which);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_fatal(void)
{
	const char	*out;
	char		 want[256];

	TEST_START("fatal: logs with strerror and exits 1");
	cap_start();
	ASSERT_INT_EQ(run_fatal(1), 1);
	out = cap_end();
	snprintf(want, sizeof(want), "pkproc: fatal: cannot bind: %s\n",
	    strerror(EPERM));
	ASSERT_STR_EQ(out, want);
	TEST_DONE();

	TEST_START("fatalx: logs and exits 1");
	cap_start();
	ASSERT_INT_EQ(run_fatal(0), 1);
	out = cap_end();
	ASSERT_STR_EQ(out, "pkproc: fatal: bad invariant 7\n");
	TEST_DONE();
}

/* Receives one datagram into buf (NUL-terminated); 0 or -1 on timeout. */
static int
recv_one(int s, char *buf, size_t sz)
{
	ssize_t	n;

	if ((n = recv(s, buf, sz - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * Child: a private /dev with a socket at /dev/log; returns 0 when syslog
 * got exactly the expected messages with the right priorities.
 */
static int
child_syslog(void)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 5, 0 };
	char			 buf[2048], want[256];
	int			 s;

	if (unshare(CLONE_NEWNS) == -1)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return 11;
	if (mount("tmpfs", "/dev", "tmpfs", 0, "size=64k") == -1)
		return 12;
	if ((s = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		return 13;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/dev/log");
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return 14;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	log_init(0, LOG_DAEMON);
	log_setverbose(PK_LOG_INFO);
	log_debug("not sent");
	log_warnx("hi\nthere");
	log_info("second");
	errno = ENOENT;
	log_warn("third");

	if (recv_one(s, buf, sizeof(buf)) == -1)
		return 15;
	/* LOG_DAEMON|LOG_WARNING is 3*8+4 = 28. */
	snprintf(want, sizeof(want), "test-log[%d]: hi\\x0athere", getpid());
	if (strncmp(buf, "<28>", 4) != 0 || strstr(buf, want) == NULL)
		return 16;
	if (recv_one(s, buf, sizeof(buf)) == -1)
		return 17;
	snprintf(want, sizeof(want), "test-log[%d]: second", getpid());
	if (strncmp(buf, "<30>", 4) != 0 || strstr(buf, want) == NULL)
		return 18;
	if (recv_one(s, buf, sizeof(buf)) == -1)
		return 19;
	snprintf(want, sizeof(want), "test-log[%d]: third: %s", getpid(),
	    strerror(ENOENT));
	if (strncmp(buf, "<28>", 4) != 0 || strstr(buf, want) == NULL)
		return 20;
	return 0;
}

static void
test_syslog(void)
{
	pid_t	pid;
	int	status, rc = -1;

	TEST_START("syslog: facility, priority, ident[pid], escaping");
	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(child_syslog());
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	ASSERT_INT_EQ(rc, 0);
	TEST_DONE();
}

int
main(void)
{
	test_prefix();
	test_levels();
	test_errno();
	test_escape();
	test_fatal();
	test_syslog();
	return test_exit();
}
