/*
 * pgp-home.c: the throw-away GnuPG homes of pgp.c — made private under a
 * work directory (or taken from $GNUPGHOME), configured so gpg never asks
 * the network or a pinentry, with gpg-agent started by us; torn down by
 * stopping every GnuPG daemon /proc shows serving the home (SIGTERM, then
 * SIGKILL after PGP_AGENT_WAIT_MS; "gpgconf --kill all" without /proc) and
 * overwriting and removing every file in it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpgme.h>

#include "pgp.h"
#include "pgp-int.h"
#include "pk_err.h"

extern char **environ;

/* The longest socket name gpg-agent makes in its home, plus its slash. */
#define PGP_SOCK_SUFFIX		"/S.gpg-agent.browser"
/* sizeof(((struct sockaddr_un *)0)->sun_path) on Linux. */
#define PGP_SUN_PATH_MAX	108
/* How long (ms) we wait for an agent to exit after SIGTERM. */
#define PGP_AGENT_WAIT_MS	3000
/* Daemons (gpg-agent, scdaemon, dirmngr) of one home we watch by pid. */
#define PGP_MAX_DAEMONS		8

/* Configuration written into every temporary home (Debian #894495). */
static const char pgp_gpg_conf[] =
    "ignore-time-conflict\n"
    "ignore-valid-from\n"
    "disable-dirmngr\n"
    "no-auto-key-retrieve\n"
    "no-greeting\n";
static const char pgp_agent_conf[] =
    "allow-loopback-pinentry\n";


/* Writes a small file of text into dirfd; 0 or PK_ERR_SYSTEM. */
static int
pgp_write_file(int dirfd, const char *name, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, saved;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return PK_ERR_SYSTEM;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			saved = n == 0 ? EIO : errno;
			(void)close(fd);
			errno = saved;
			return PK_ERR_SYSTEM;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1)
		return PK_ERR_SYSTEM;
	return 0;
}

/* Overwrites a regular file with zeros before it is unlinked. */
static void
pgp_zero_file(int dirfd, const char *name, off_t size)
{
	char zero[4096];
	off_t off = 0;
	ssize_t n;
	size_t chunk;
	int fd;

	if (size <= 0)
		return;
	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	memset(zero, 0, sizeof(zero));
	while (off < size) {
		chunk = (size - off) < (off_t)sizeof(zero) ?
		    (size_t)(size - off) : sizeof(zero);
		n = write(fd, zero, chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	(void)fdatasync(fd);
	(void)close(fd);
}

/* Wipes and removes everything inside the directory dirfd (consumed). */
static int
pgp_wipe_dir(int dirfd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rv = 0;

	if ((d = fdopendir(dirfd)) == NULL) {
		(void)close(dirfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			rv = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fd = -1;
			if (depth < 8)
				fd = openat(dirfd, de->d_name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || pgp_wipe_dir(fd, depth + 1) == -1)
				rv = -1;
			if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) == -1)
				rv = -1;
			continue;
		}
		if (S_ISREG(st.st_mode))
			pgp_zero_file(dirfd, de->d_name, st.st_size);
		if (unlinkat(dirfd, de->d_name, 0) == -1)
			rv = -1;
	}
	(void)closedir(d);
	return rv;
}

/*
 * Starts prog (path, or name looked up on PATH) with argv, stdin and
 * stdout on /dev/null, stderr too, and no other descriptor of ours;
 * returns its pid, or -1. gpg-agent --daemon keeps what it inherits for
 * its life: a TPM connection among them (tss2's swtpm TCTI opens one per
 * command, on a thread, while a decryption may start the agent) and the
 * TPM, which serves one connection at a time, stops answering anyone
 * else until gpg-agent exits.
 */
static pid_t
pgp_spawn(const char *path, const char *name, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0)
		goto out;
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	if (posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0)
		goto out;
#else
	{
		long	max, fd;

		if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 1 << 16)
			max = 1 << 16;
		for (fd = 3; fd < max; fd++)
			if (fcntl((int)fd, F_GETFD) != -1 &&
			    posix_spawn_file_actions_addclose(&fa, (int)fd) !=
			    0)
				goto out;
	}
#endif
	if (path != NULL) {
		if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0)
			pid = -1;
	} else if (posix_spawnp(&pid, name, &fa, NULL, argv, environ) != 0)
		pid = -1;
 out:
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Waits for child pid (if any); returns its wait status, or -1. */
static int
pgp_reap(pid_t pid)
{
	pid_t r;
	int st;

	if (pid <= 0)
		return -1;
	do {
		r = waitpid(pid, &st, 0);
	} while (r == -1 && errno == EINTR);
	return r == pid ? st : -1;
}

/* Runs gpgconf with args for the home dir; waits for it. */
static void
pgp_gpgconf(const char *dir, const char *a1, const char *a2)
{
	gpgme_engine_info_t ei;
	const char *path = NULL;
	char *argv[6];

	if (gpgme_get_engine_info(&ei) == 0) {
		for (; ei != NULL; ei = ei->next)
			if (ei->protocol == GPGME_PROTOCOL_GPGCONF &&
			    ei->file_name != NULL)
				path = ei->file_name;
	}
	argv[0] = (char *)"gpgconf";
	argv[1] = (char *)"--homedir";
	argv[2] = (char *)dir;
	argv[3] = (char *)a1;
	argv[4] = (char *)a2;
	argv[5] = NULL;
	(void)pgp_reap(pgp_spawn(path, "gpgconf", argv));
}

/*
 * Starts gpg-agent for home dir, as gpg would at its first need of it
 * (the parent returns once the agent listens). Returns the parent's pid to
 * reap, or -1: gpg will then start one itself.
 */
static pid_t
pgp_agent_launch(const char *dir)
{
	char *argv[6];

	argv[0] = (char *)"gpg-agent";
	argv[1] = (char *)"--homedir";
	argv[2] = (char *)dir;
	argv[3] = (char *)"--use-standard-socket";
	argv[4] = (char *)"--daemon";
	argv[5] = NULL;
	return pgp_spawn(NULL, "gpg-agent", argv);
}

/* Reads /proc/PID/what into buf (NUL-terminated); the length, or <= 0. */
static ssize_t
pgp_proc_read(const char *pid, const char *what, char *buf, size_t size)
{
	char	path[300];
	ssize_t	n;
	int	fd;

	(void)snprintf(path, sizeof(path), "/proc/%s/%s", pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	(void)close(fd);
	if (n > 0)
		buf[n] = '\0';
	return n;
}

/*
 * Says whether process pid is a live GnuPG daemon serving home dir: its
 * program name starts with gpg-agent, scdaemon or dirmngr, one argument
 * names dir (or ends with dir's unique last component), and it is not a
 * zombie.
 */
static int
pgp_is_our_daemon(const char *pid, const char *dir, const char *base)
{
	char buf[4096], *p, *end, *prog;
	size_t blen = strlen(base);
	ssize_t n;
	int found = 0;

	if ((n = pgp_proc_read(pid, "cmdline", buf, sizeof(buf))) <= 0)
		return 0;
	end = buf + n;
	prog = strrchr(buf, '/') != NULL ? strrchr(buf, '/') + 1 : buf;
	if (strncmp(prog, "gpg-agent", 9) != 0 &&
	    strncmp(prog, "scdaemon", 8) != 0 &&
	    strncmp(prog, "dirmngr", 7) != 0)
		return 0;
	for (p = buf; p < end; p += strlen(p) + 1) {
		size_t plen = strlen(p);

		if (strcmp(p, dir) == 0 || (plen >= blen &&
		    strcmp(p + plen - blen, base) == 0)) {
			found = 1;
			break;
		}
	}
	if (!found)
		return 0;
	/* A zombie has exited; only its parent can reap it. */
	if (pgp_proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2] != 'Z' && p[2] != 'X';
}

/*
 * Counts (and with sig, signals) the live daemons of home dir, noting up
 * to PGP_MAX_DAEMONS of their pids in pids (if not NULL); -1 when /proc
 * cannot be read.
 */
static int
pgp_daemons(const char *dir, int sig, char pids[][16])
{
	struct dirent *de;
	const char *base;
	DIR *d;
	int n = 0;

	if ((base = strrchr(dir, '/')) == NULL)
		base = dir;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strlen(de->d_name) >= 16)
			continue;
		if (!pgp_is_our_daemon(de->d_name, dir, base))
			continue;
		if (pids != NULL && n < PGP_MAX_DAEMONS)
			memcpy(pids[n], de->d_name, strlen(de->d_name) + 1);
		n++;
		if (sig != 0)
			(void)kill((pid_t)strtol(de->d_name, NULL, 10), sig);
	}
	(void)closedir(d);
	return n;
}

/* Counts the daemons of pids (n of them) that still serve home dir. */
static int
pgp_daemons_left(const char *dir, char pids[][16], int n)
{
	const char *base;
	int i, left = 0;

	if ((base = strrchr(dir, '/')) == NULL)
		base = dir;
	for (i = 0; i < n && i < PGP_MAX_DAEMONS; i++)
		left += pgp_is_our_daemon(pids[i], dir, base);
	return left;
}

/* Stops the daemons GnuPG started for home dir and waits for them. */
static void
pgp_agent_stop(const char *dir)
{
	struct timespec ts = { 0, 1000 * 1000 };
	char pids[PGP_MAX_DAEMONS][16], rundir[64];
	struct stat st;
	int i, n;

	/*
	 * SIGTERM is gpg-agent's documented shutdown (it finishes pending
	 * requests; there are none) and costs no process, where "gpgconf
	 * --kill all" runs gpg-connect-agent once per daemon. Then we watch
	 * just those pids, each millisecond. Nothing started (encryption
	 * needs no agent): nothing to stop.
	 */
	if ((n = pgp_daemons(dir, SIGTERM, pids)) == 0)
		goto sockdir;
	if (n < 0) {
		/* No /proc: ask gpgconf, and trust it. */
		pgp_gpgconf(dir, "--kill", "all");
		goto sockdir;
	}
	for (i = 0; i < PGP_AGENT_WAIT_MS; i++) {
		if (pgp_daemons_left(dir, pids, n) == 0 &&
		    (n <= PGP_MAX_DAEMONS || pgp_daemons(dir, 0, NULL) == 0))
			break;
		(void)nanosleep(&ts, NULL);
	}
	if (i == PGP_AGENT_WAIT_MS) {
		/* It ignored SIGTERM: it serves nobody but us. */
		(void)pgp_daemons(dir, SIGKILL, NULL);
		for (i = 0; i < 1000 && pgp_daemons(dir, 0, NULL) > 0; i++)
			(void)nanosleep(&ts, NULL);
	}
 sockdir:
	/* With /run/user/UID, GnuPG keeps sockets in a d.HASH dir there. */
	(void)snprintf(rundir, sizeof(rundir), "/run/user/%u/gnupg",
	    (unsigned int)getuid());
	if (stat(rundir, &st) == 0)
		pgp_gpgconf(dir, "--remove-socketdir", NULL);
}

/* Tears down a home: context, agent, files. */
void
pgp_home_close(struct pgp_home *h)
{
	int fd;

	if (h->ph_ctx != NULL) {
		gpgme_release(h->ph_ctx);
		h->ph_ctx = NULL;
	}
	if (h->ph_dir[0] == '\0')
		return;
	pgp_agent_stop(h->ph_dir);
	fd = open(h->ph_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1)
		(void)pgp_wipe_dir(fd, 0);
	(void)rmdir(h->ph_dir);
	h->ph_dir[0] = '\0';
}

/*
 * Names the home $GNUPGHOME (envhome: the caller made it, empty, and set
 * the variable before starting any thread), or makes a private one under
 * workdir.
 */
static int
pgp_home_name(struct pgp_home *h, const char *workdir, int envhome,
    char **cause)
{
	char real[PATH_MAX];
	const char *home;
	struct stat st;
	int r, saved;

	if (envhome) {
		home = getenv("GNUPGHOME");
		if (home == NULL || home[0] != '/' || strlen(home) +
		    strlen(PGP_SOCK_SUFFIX) >= PGP_SUN_PATH_MAX) {
			pk_cause_set(cause, "GNUPGHOME is not set to a short "
			    "absolute path");
			return PK_ERR_INVALID_ARG;
		}
		if (lstat(home, &st) == -1) {
			pk_cause_set(cause, "GNUPGHOME %s: %s", home,
			    strerror(errno));
			return PK_ERR_SYSTEM;
		}
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 077) != 0) {
			pk_cause_set(cause, "GNUPGHOME %s is not a private "
			    "directory of ours", home);
			return PK_ERR_PERM;
		}
		(void)snprintf(h->ph_dir, sizeof(h->ph_dir), "%s", home);
		return 0;
	}
	if (realpath(workdir, real) == NULL) {
		pk_cause_set(cause, "workdir: %s", strerror(errno));
		return PK_ERR_SYSTEM;
	}
	r = snprintf(h->ph_dir, sizeof(h->ph_dir), "%s/pk-gnupg.XXXXXX",
	    strcmp(real, "/") == 0 ? "" : real);
	if (r < 0 || strlen(h->ph_dir) + strlen(PGP_SOCK_SUFFIX) >=
	    PGP_SUN_PATH_MAX) {
		h->ph_dir[0] = '\0';
		pk_cause_set(cause, "workdir path too long for gpg-agent's "
		    "sockets");
		return PK_ERR_INVALID_ARG;
	}
	if (mkdtemp(h->ph_dir) == NULL) {
		saved = errno;
		pk_cause_set(cause, "mkdtemp: %s", strerror(errno));
		h->ph_dir[0] = '\0';
		errno = saved;
		return PK_ERR_SYSTEM;
	}
	return 0;
}

/*
 * Makes (or takes, see pgp_home_name) a private home and a context bound
 * to it. With envhome gpg finds the home in its environment, and GPGME is
 * spared the gpg --version that gpgme_ctx_set_engine_info() runs.
 */
int
pgp_home_open(struct pgp_home *h, const char *workdir, int envhome,
    int agent, char **cause)
{
	gpgme_error_t e;
	pid_t apid = -1;
	int dfd, r, saved;

	memset(h, 0, sizeof(*h));
	if ((r = pgp_home_name(h, workdir, envhome, cause)) != 0)
		return r;
	if ((dfd = open(h->ph_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto syserr;
	if (fchmod(dfd, 0700) == -1 ||
	    pgp_write_file(dfd, "gpg.conf", pgp_gpg_conf) != 0 ||
	    pgp_write_file(dfd, "gpg-agent.conf", pgp_agent_conf) != 0) {
		saved = errno;
		(void)close(dfd);
		errno = saved;
		goto syserr;
	}
	(void)close(dfd);
	/*
	 * The agent starts on one core while GPGME, on the other, runs
	 * gpg --version for its engine check: ~20 ms off a boot.
	 */
	if (agent)
		apid = pgp_agent_launch(h->ph_dir);
	if ((r = pgp_init(cause)) != 0)
		goto fail;

	if ((e = gpgme_new(&h->ph_ctx)) != 0) {
		h->ph_ctx = NULL;
		r = pgp_fail(cause, e, "gpgme_new");
		goto fail;
	}
	if ((e = gpgme_set_protocol(h->ph_ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (!envhome && (e = gpgme_ctx_set_engine_info(h->ph_ctx,
	    GPGME_PROTOCOL_OpenPGP, NULL, h->ph_dir)) != 0) ||
	    (e = gpgme_set_pinentry_mode(h->ph_ctx,
	    GPGME_PINENTRY_MODE_LOOPBACK)) != 0) {
		r = pgp_fail(cause, e, "gpgme set-up");
		goto fail;
	}
	gpgme_set_passphrase_cb(h->ph_ctx, pgp_no_passphrase, NULL);
	gpgme_set_armor(h->ph_ctx, 0);
	gpgme_set_offline(h->ph_ctx, 1);
	(void)pgp_reap(apid);
	return 0;

 syserr:
	saved = errno;
	pk_cause_set(cause, "temporary GnuPG home: %s", strerror(errno));
	pgp_home_close(h);
	errno = saved;
	return PK_ERR_SYSTEM;
 fail:
	(void)pgp_reap(apid);
	pgp_home_close(h);
	return r;
}

