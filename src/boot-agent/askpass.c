/*
 * askpass.c: answering systemd's password requests, as a password agent
 * does (systemd's "Password Agents" specification), for dracut and other
 * systemd initrds.
 *
 * systemd-cryptsetup asks by writing a file ask.XXXX into
 * /run/systemd/ask-password: an INI-like [Ask] section with Socket= (an
 * AF_UNIX datagram socket), PID= (the asker), NotAfter= (CLOCK_MONOTONIC
 * microseconds, 0 for none), Message= and Id=. An agent watches the
 * directory with inotify, ignores requests whose asker is gone or whose
 * time is up, and answers by sending one datagram to Socket: "+" followed
 * by the password, or "-" to cancel. Only root may write there, and only
 * root runs us, so the file is trusted as far as its syntax goes; it is
 * still read with bounds.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "log.h"
#include "pk_err.h"
#include "secret.h"

/* Copies the value of "key=" from line into dst if it matches. */
static void
take(const char *line, const char *key, char *dst, size_t len)
{
	size_t	n = strlen(key);

	if (strncmp(line, key, n) == 0 && line[n] == '=')
		boot_strlcpy(dst, line + n + 1, len);
}

/* Parses one ask file. Returns 0, or -1 if it is not a usable request. */
static int
ask_parse(const char *path, struct ask *a)
{
	FILE	*fp;
	char	 line[1024], pid[32] = "", notafter[32] = "";
	int	 in_ask = 0;

	memset(a, 0, sizeof(*a));
	boot_strlcpy(a->path, path, sizeof(a->path));
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '[') {
			in_ask = strcmp(line, "[Ask]") == 0;
			continue;
		}
		if (!in_ask)
			continue;
		take(line, "Socket", a->socket, sizeof(a->socket));
		take(line, "Id", a->id, sizeof(a->id));
		take(line, "Message", a->message, sizeof(a->message));
		take(line, "PID", pid, sizeof(pid));
		take(line, "NotAfter", notafter, sizeof(notafter));
	}
	fclose(fp);
	if (a->socket[0] != '/')
		return -1;
	a->pid = strtol(pid, NULL, 10);
	a->not_after_us = strtoull(notafter, NULL, 10);
	return 0;
}

/* Returns 1 if the request still stands: file, asker, time. */
int
askpass_valid(const struct ask *a)
{
	struct timespec	 ts;
	uint64_t	 now;

	if (access(a->path, F_OK) != 0)
		return 0;
	if (a->pid > 0 && kill((pid_t)a->pid, 0) == -1 && errno == ESRCH)
		return 0;
	if (a->not_after_us != 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000 +
		    (uint64_t)ts.tv_nsec / 1000;
		if (now > a->not_after_us)
			return 0;
	}
	return 1;
}

/* Fills asks[0 .. max) with the valid requests in dir; returns the count. */
int
askpass_find(const char *dir, struct ask *asks, int max)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[512];
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "ask.", 4) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (ask_parse(path, &asks[n]) != 0 || !askpass_valid(&asks[n]))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* Returns an inotify descriptor watching dir, or -1. */
int
askpass_watch(const char *dir)
{
	int	fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return -1;
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_DELETE | IN_MOVED_FROM) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends "+" and the passphrase to the request's socket. */
int
askpass_answer(const struct ask *a, const char *pass, size_t len)
{
	struct sockaddr_un	 sun;
	char			*msg;
	ssize_t			 n;
	int			 fd, r = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (boot_strlcpy(sun.sun_path, a->socket, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return PK_ERR_TOO_LARGE;
	if ((msg = pk_secret_alloc(len + 1)) == NULL)
		return PK_ERR_ALLOC;
	msg[0] = '+';
	memcpy(msg + 1, pass, len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		pk_secret_free(msg);
		return PK_ERR_SYSTEM;
	}
	n = sendto(fd, msg, len + 1, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    sizeof(sun));
	if (n != (ssize_t)(len + 1))
		r = PK_ERR_SYSTEM;
	close(fd);
	pk_secret_free(msg);
	return r;
}

/*
 * The device a request is for: systemd-cryptsetup asks with
 * Id=cryptsetup:PATH, PATH being the device it opens (/dev/block/8:3,
 * /dev/disk/by-uuid/...). Returns buf if that names something that
 * exists, else NULL. systemd escapes unusual bytes with a backslash; such
 * a path is not taken (askpass_uuid() may still name the disk).
 */
const char *
askpass_device(const struct ask *a, char *buf, size_t len)
{
	struct stat	 st;
	const char	*p;

	if (strncmp(a->id, "cryptsetup:", 11) != 0)
		return NULL;
	p = a->id + 11;
	if (*p != '/' || strchr(p, '\\') != NULL ||
	    boot_strlcpy(buf, p, len) >= len || stat(buf, &st) == -1 ||
	    !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode)))
		return NULL;
	return buf;
}

/*
 * The LUKS UUID a request names, if any: the "luks-UUID" name systemd and
 * dracut give a LUKS device, in Message= or Id=, or a /dev/disk/by-uuid/
 * path in Id=. Returns buf, or NULL if there is none.
 */
const char *
askpass_uuid(const struct ask *a, char *buf, size_t len)
{
	const char	*p, *src[2] = { a->message, a->id };
	size_t		 n;
	int		 i;

	for (i = 0; i < 3; i++) {
		if (i < 2 && (p = strstr(src[i], "luks-")) != NULL)
			p += 5;
		else if (i == 2 && (p = strstr(a->id, "/by-uuid/")) != NULL)
			p += 9;
		else
			continue;
		n = strspn(p, "0123456789abcdefABCDEF-");
		if (n == 0 || n + 1 > len)
			continue;
		snprintf(buf, len, "%.*s", (int)n, p);
		return buf;
	}
	return NULL;
}
