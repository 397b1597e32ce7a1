/*
 * plymouth.c: talking to plymouthd through its own client, plymouth(1),
 * as Debian's cryptsetup askpass does: "plymouth --ping" says whether the
 * daemon runs, "plymouth ask-for-password --prompt=TEXT" shows the prompt
 * and writes what was typed to its stdout (a pipe that prompt.c reads in
 * the fetch loop, beside the peers), "plymouth display-message --text=TEXT"
 * shows a progress line.
 *
 * The choice lives in the agent, not in the keyscript: the agent is the
 * one that holds the prompt, so it is the one that can tell that the
 * ask-for-password child failed or plymouthd went away and fall back to
 * the console prompt, end the child by its PID when a peer's passphrase
 * wins, and keep the progress lines going to plymouth; the same agent
 * works the same from any keyscript (or by hand), and --plymouth=none
 * turns it off. The keyscript passes nothing.
 *
 * Plymouth cannot withdraw a password request: killing the ask-for-password
 * client leaves plymouthd showing the prompt and taking what is typed (seen
 * under qemu; Mandos' plymouth plugin documents the same). So when a peer's
 * passphrase wins, plymouth_restart() ends the request the only way there
 * is, as Mandos does: "plymouth quit" (the daemon ends cleanly, its
 * terminal restored, whatever was half typed freed), then plymouthd again
 * with the command line it had (/proc/PID/cmdline of the PID in
 * /run/plymouth/pid, which initramfs-tools' and systemd's plymouth
 * scripts write), then "plymouth show-splash", as they start it.
 *
 * The children get /dev/null on stdin (and on stdout, but for the
 * password's pipe) and keep stderr (the console); nothing else of ours
 * is inherited: every descriptor the agent opens is close-on-exec, and
 * stdout, the passphrase's way to cryptsetup, is replaced before the exec.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"

#define PLYMOUTH_WAIT_MS	3000	/* a client that hangs is killed */
#define PLYMOUTH_QUIT_MS	10000	/* quit, the daemon's exit, its start */
#define PLYMOUTH_PID_FILE	"/run/plymouth/pid"
#define PLYMOUTHD_ARGS_MAX	32

static const char *const plymouth_paths[] = {
	"/usr/bin/plymouth",
	"/bin/plymouth",
};

/* The plymouth client to use: path if given, else the first installed. */
const char *
plymouth_find(const char *path)
{
	size_t	i;

	if (path != NULL)
		return strcmp(path, "none") == 0 ? NULL : path;
	for (i = 0; i < sizeof(plymouth_paths) / sizeof(plymouth_paths[0]);
	    i++)
		if (access(plymouth_paths[i], X_OK) == 0)
			return plymouth_paths[i];
	return NULL;
}

/*
 * Starts "path argv[1] ..." with stdout on out_fd (-1: /dev/null), and
 * stderr kept, or (err_null) on /dev/null too: a daemon must not
 * hold the console's descriptor of whoever ran us. Returns the child's
 * PID or -1.
 */
static pid_t
plymouth_spawn_err(const char *path, char *const argv[], int out_fd,
    int err_null)
{
	pid_t	pid;
	int	null;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(null);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls: the mDNS thread may run. */
		if (dup2(null, STDIN_FILENO) == -1 ||
		    dup2(out_fd != -1 ? out_fd : null, STDOUT_FILENO) == -1 ||
		    (err_null && dup2(null, STDERR_FILENO) == -1))
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(null);
	return pid;
}

/* A client: stdout on out_fd (-1: /dev/null), stderr kept. */
pid_t
plymouth_spawn(const char *path, char *const argv[], int out_fd)
{
	return plymouth_spawn_err(path, argv, out_fd, 0);
}

/* 1 while process pid exists and is not a zombie. */
static int
plymouth_alive(pid_t pid)
{
	char	 path[64], st[512], *p;
	ssize_t	 n;
	int	 fd;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT;
	n = read(fd, st, sizeof(st) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	st[n] = '\0';
	/* "PID (comm) S ...": the state after the last ')'. */
	if ((p = strrchr(st, ')')) == NULL || p[1] != ' ')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

/*
 * Waits for pid at most ms milliseconds, then kills it (SIGKILL) and
 * reaps it. Returns its exit status (0-255), or -1 when it was killed or
 * died of a signal.
 */
int
plymouth_reap(pid_t pid, int ms)
{
	int	st, i;
	pid_t	r;

	for (i = 0; ; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r == -1)
			return -1;
		if (i * 10 >= ms)
			break;
		poll(NULL, 0, 10);
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return -1;
}

/* Runs "path ARG..." and waits for it (bounded). Returns its status. */
static int
plymouth_run(const char *path, char *const argv[])
{
	pid_t	pid;

	if ((pid = plymouth_spawn(path, argv, -1)) == -1)
		return -1;
	return plymouth_reap(pid, PLYMOUTH_WAIT_MS);
}

/* 1 if plymouthd answers ("plymouth --ping"), else 0. */
int
plymouth_ping(const char *path)
{
	char	*argv[] = { (char *)"plymouth", (char *)"--ping", NULL };

	return plymouth_run(path, argv) == 0;
}

/* Shows one line on plymouth's display (best effort). */
void
plymouth_message(const char *path, const char *text)
{
	char	 arg[600];
	char	*argv[] = { (char *)"plymouth", (char *)"display-message",
	    arg, NULL };

	snprintf(arg, sizeof(arg), "--text=%s", text);
	(void)plymouth_run(path, argv);
}

/*
 * The prompt as plymouth wants it: it adds its own ": " after the text
 * in text themes, so a trailing ":" (and blanks) of ours goes. Writes
 * into out (size > 0).
 */
void
plymouth_prompt_text(const char *message, char *out, size_t size)
{
	size_t	n;

	boot_strlcpy(out, message, size);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	if (n > 0 && out[n - 1] == ':')
		n--;
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

/*
 * Reads the command line of plymouthd (the PID in pidfile) into buf as
 * argv (NUL-separated words; at most max - 1, NULL after). Returns the
 * PID, or -1.
 */
static pid_t
plymouthd_cmdline(const char *pidfile, char *buf, size_t size,
    char *argv[], int max)
{
	char	 path[64], *base;
	long	 pid;
	ssize_t	 n;
	size_t	 off;
	int	 fd, argc;

	if ((fd = open(pidfile, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, path, sizeof(path) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	path[n] = '\0';
	pid = strtol(path, &base, 10);
	if (pid <= 1 || pid > INT_MAX || (*base != '\0' && *base != '\n'))
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (argc = 0, off = 0; off < (size_t)n && argc < max - 1; argc++) {
		argv[argc] = buf + off;
		off += strlen(buf + off) + 1;
	}
	argv[argc] = NULL;
	/* Only plymouthd itself, started by path. */
	base = strrchr(argv[0], '/');
	if (argv[0][0] != '/' || strcmp(base + 1, "plymouthd") != 0)
		return -1;
	return (pid_t)pid;
}

/*
 * Ends plymouthd's pending password request: quit, start it again as it
 * was, show the splash. Returns 0, or -1 (plymouthd left as it was when
 * its command line cannot be read; gone when it did not start again).
 */
int
plymouth_restart(const char *path)
{
	char	 buf[4096];
	char	*argv[PLYMOUTHD_ARGS_MAX];
	char	*quit[] = { (char *)"plymouth", (char *)"quit", NULL };
	char	*show[] = { (char *)"plymouth", (char *)"show-splash", NULL };
	pid_t	 pid, child;
	int	 i;

	if ((pid = plymouthd_cmdline(PLYMOUTH_PID_FILE, buf, sizeof(buf),
	    argv, PLYMOUTHD_ARGS_MAX)) == -1)
		return -1;
	if ((child = plymouth_spawn(path, quit, -1)) == -1)
		return -1;
	(void)plymouth_reap(child, PLYMOUTH_QUIT_MS);
	for (i = 0; i < PLYMOUTH_QUIT_MS / 10 && plymouth_alive(pid); i++)
		poll(NULL, 0, 10);
	if (plymouth_alive(pid))
		return -1;
	/* plymouthd forks; its first process exits once the daemon runs. */
	if ((child = plymouth_spawn_err(argv[0], argv, -1, 1)) == -1 ||
	    plymouth_reap(child, PLYMOUTH_QUIT_MS) != 0)
		return -1;
	return plymouth_run(path, show) == 0 ? 0 : -1;
}
