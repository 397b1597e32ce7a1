/*
 * test-plymouth.c: the boot agent's plymouth client side (plymouth.c):
 * the prompt made plymouth's way, which client is used, and the
 * children: spawned with the given stdout, reaped with their status,
 * killed when they outlive the wait. The prompt through the real
 * plymouthd is tests/vm/test-plymouth.sh; through a stand-in client,
 * tests/boot/test-plymouth.sh.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "test_helper.h"

/* plymouth.c reports through progress() (emit.c): not linked here. */
void
progress(const char *fmt, ...)
{
	(void)fmt;
}

/* The prompt text for message, plymouth's way. */
static const char *
ptext(const char *message, size_t size)
{
	static char	 out[64];

	memset(out, 'x', sizeof(out));
	plymouth_prompt_text(message, out, size);
	return out;
}

static void
test_prompt_text(void)
{
	TEST_START("prompt text: our trailing \": \" goes, plymouth adds its own");
	ASSERT_STR_EQ(ptext("Please unlock disk root: ", 64),
	    "Please unlock disk root");
	ASSERT_STR_EQ(ptext("Please unlock disk root:", 64),
	    "Please unlock disk root");
	ASSERT_STR_EQ(ptext("Please unlock disk root :  \t", 64),
	    "Please unlock disk root");
	TEST_DONE();

	TEST_START("prompt text: only one colon, and nothing else, goes");
	ASSERT_STR_EQ(ptext("a::", 64), "a:");
	ASSERT_STR_EQ(ptext("disk (peerkey)", 64), "disk (peerkey)");
	ASSERT_STR_EQ(ptext("a: b", 64), "a: b");
	ASSERT_STR_EQ(ptext(": ", 64), "");
	ASSERT_STR_EQ(ptext("", 64), "");
	TEST_DONE();

	TEST_START("prompt text: cut to the buffer, NUL-terminated");
	ASSERT_STR_EQ(ptext("Please unlock disk root: ", 7), "Please");
	ASSERT_STR_EQ(ptext("abc:", 4), "abc");
	ASSERT_STR_EQ(ptext("abcd", 1), "");
	TEST_DONE();
}

static void
test_find(void)
{
	TEST_START("find: a given path is used, none is no plymouth");
	ASSERT_STR_EQ(plymouth_find("/x/plymouth"), "/x/plymouth");
	ASSERT_PTR_EQ(plymouth_find("none"), NULL);
	TEST_DONE();

	TEST_START("find: by default an installed client or none");
	{
		const char	*p = plymouth_find(NULL);

		ASSERT_TRUE(p == NULL || strcmp(p, "/usr/bin/plymouth") == 0 ||
		    strcmp(p, "/bin/plymouth") == 0);
		if (p != NULL)
			ASSERT_INT_EQ(access(p, X_OK), 0);
	}
	TEST_DONE();
}

/* Writes an executable script at test_path(name). */
static const char *
script(const char *name, const char *body)
{
	const char	*path = test_path(name);
	FILE		*f;

	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	if (chmod(path, 0755) != 0)
		abort();
	return path;
}

static void
test_children(void)
{
	const char	*p;
	char		*argv[] = { (char *)"plymouth", (char *)"--ping",
	    NULL };
	char		 buf[64];
	int		 pfd[2];
	ssize_t		 n;
	pid_t		 pid;

	TEST_START("spawn: stdout on the pipe given, the arguments passed");
	p = script("echo", "printf '%s|%s' \"$#\" \"$1\"");
	ASSERT_INT_EQ(pipe(pfd), 0);
	pid = plymouth_spawn(p, argv, pfd[1]);
	ASSERT_INT_NE(pid, -1);
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	ASSERT_TRUE(n > 0);
	buf[n] = '\0';
	ASSERT_STR_EQ(buf, "1|--ping");
	ASSERT_INT_EQ(plymouth_reap(pid, 5000), 0);
	TEST_DONE();

	TEST_START("reap: the exit status; stdin is /dev/null");
	p = script("status", "read x && exit 9; exit 3");
	pid = plymouth_spawn(p, argv, -1);
	ASSERT_INT_EQ(plymouth_reap(pid, 5000), 3);
	TEST_DONE();

	TEST_START("reap: a child that outlives the wait is killed and reaped");
	p = script("hang", "exec sleep 60");
	pid = plymouth_spawn(p, argv, -1);
	ASSERT_INT_EQ(plymouth_reap(pid, 100), -1);
	ASSERT_INT_EQ(kill(pid, 0), -1);
	ASSERT_INT_EQ(errno, ESRCH);
	TEST_DONE();

	TEST_START("reap: killed by a signal is -1");
	pid = plymouth_spawn(p, argv, -1);
	ASSERT_INT_EQ(kill(pid, SIGTERM), 0);
	ASSERT_INT_EQ(plymouth_reap(pid, 5000), -1);
	TEST_DONE();

	TEST_START("spawn: a client that cannot run exits 127");
	pid = plymouth_spawn(test_path("missing"), argv, -1);
	ASSERT_INT_NE(pid, -1);
	ASSERT_INT_EQ(plymouth_reap(pid, 5000), 127);
	TEST_DONE();

	TEST_START("ping: plymouth --ping's status says whether it runs");
	ASSERT_INT_EQ(plymouth_ping(script("up", "[ \"$1\" = --ping ]")), 1);
	ASSERT_INT_EQ(plymouth_ping(script("down", "exit 1")), 0);
	ASSERT_INT_EQ(plymouth_ping(test_path("missing")), 0);
	TEST_DONE();
}

int
main(void)
{
	test_prompt_text();
	test_find();
	test_children();
	return test_exit();
}
