/*
 * ctl.c: talking to peerkeyd's control socket (JSON lines), for every
 * command that asks the running daemon.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "key.h"
#include "peerkey.h"

#define CTL_RESPONSE_MAX	(16 * 1024 * 1024)

const char *
ctl_socket_path(void)
{
	return opt_setting(opt_socket, "PEERKEY_CONTROL",
	    RUNSTATEDIR "/peerkey/control.sock");
}

/*
 * Sends one request and returns the response object (the caller owns
 * it). Exits with EXIT_NODAEMON if the daemon cannot be reached.
 */
json_t *
ctl_request(json_t *req)
{
	struct sockaddr_un	 sun;
	json_error_t		 jerr;
	json_t			*resp;
	char			*line, *buf = NULL, *nb;
	size_t			 len = 0, size = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    ctl_socket_path()) >= (int)sizeof(sun.sun_path)) {
		fprintf(stderr, "peerkey: control socket path too long\n");
		out_exit(EXIT_USAGE);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "peerkey: cannot reach peerkeyd at %s: %s\n"
		    "  (is it running? \"systemctl status peerkeyd\"; are you "
		    "root?)\n", sun.sun_path, strerror(errno));
		out_exit(EXIT_NODAEMON);
	}
	if ((line = json_dumps(req, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "peerkey: out of memory\n");
		out_exit(EXIT_FAIL);
	}
	json_decref(req);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    write(fd, "\n", 1) != 1) {
		fprintf(stderr, "peerkey: write to peerkeyd: %s\n",
		    strerror(errno));
		out_exit(EXIT_NODAEMON);
	}
	free(line);
	for (;;) {
		if (size - len < 4096) {
			if (size >= CTL_RESPONSE_MAX ||
			    (nb = realloc(buf, size + 65536)) == NULL) {
				fprintf(stderr, "peerkey: response too large\n");
				out_exit(EXIT_FAIL);
			}
			buf = nb;
			size += 65536;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fd);
	if (len == 0 || memchr(buf, '\n', len) == NULL) {
		fprintf(stderr, "peerkey: peerkeyd closed the connection "
		    "(not allowed? see its log)\n");
		out_exit(EXIT_NODAEMON);
	}
	buf[len] = '\0';
	if ((resp = json_loads(buf, 0, &jerr)) == NULL ||
	    !json_is_object(resp)) {
		fprintf(stderr, "peerkey: bad response from peerkeyd: %s\n",
		    jerr.text);
		out_exit(EXIT_FAIL);
	}
	free(buf);
	return resp;
}

/* Prints the daemon's error and returns the exit code for it. */
int
ctl_fail(json_t *resp)
{
	const char	*err = json_string_value(json_object_get(resp, "error"));
	int		 code;

	code = err != NULL && strncmp(err, "no peer named", 13) == 0 ?
	    EXIT_NOPEER : err != NULL && strncmp(err, "no event kind", 13) ==
	    0 ? EXIT_USAGE : EXIT_FAIL;
	fprintf(stderr, "peerkey: %s\n", err ? err : "failed");
	json_decref(resp);	/* err points into resp */
	return code;
}

/*
 * What the membership commands (invite, join, update) start from: this
 * machine's node key and the running daemon's status. Returns EXIT_OK
 * with *id and *resp (the status answer, the caller's) set, or the exit
 * status (said; *id and *resp NULL).
 */
int
ctl_node_status(struct pk_identity **id, json_t **resp)
{
	int	ex;

	*id = NULL;
	*resp = NULL;
	if (local_load_node(id) != 0)
		return EXIT_LOCAL;
	*resp = ctl_request(json_pack("{s:s}", "cmd", "status"));
	if (!json_is_true(json_object_get(*resp, "ok"))) {
		ex = ctl_fail(*resp);
		*resp = NULL;
		pk_identity_free(*id);
		*id = NULL;
		return ex;
	}
	return EXIT_OK;
}

/* The members of a daemon's answer, "ok" aside, into the result. */
static void
ctl_result(json_t *resp)
{
	json_t	*o = json_copy(resp);

	json_object_del(o, "ok");
	out_result(o);
	json_decref(o);
}

/*
 * Sends req, whose answer lists member. Returns -1 with *resp for the
 * caller to print and free; or the exit status when it is all done: the
 * daemon failed (said), or --json took the member as the result.
 */
int
ctl_list(json_t *req, const char *member, json_t **resp)
{
	json_t	*o;

	*resp = ctl_request(req);
	if (!json_is_true(json_object_get(*resp, "ok")))
		return ctl_fail(*resp);
	if (!opt_json)
		return -1;
	o = json_pack("{s:O}", member, json_object_get(*resp, member));
	out_result(o);
	json_decref(o);
	json_decref(*resp);
	return EXIT_OK;
}

/*
 * Sends the request with only the command cmd. Returns -1 with *resp for
 * the caller to print and free; or the exit status when it is all done:
 * the daemon failed (said), or --json took the whole answer as the result.
 */
int
ctl_show(const char *cmd, json_t **resp)
{
	*resp = ctl_request(json_pack("{s:s}", "cmd", cmd));
	if (!json_is_true(json_object_get(*resp, "ok")))
		return ctl_fail(*resp);
	if (opt_json)
		return ctl_answer(*resp);
	return -1;
}

/* A request with only a command and maybe a peer; prints "ok". */
int
ctl_simple(const char *cmd, const char *peer)
{
	json_t	*resp;

	resp = ctl_request(peer ? json_pack("{s:s, s:s}", "cmd", cmd, "peer",
	    peer) : json_pack("{s:s}", "cmd", cmd));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	ctl_result(resp);
	json_decref(resp);
	return EXIT_OK;
}

/* The daemon's whole answer (status) as the result. */
int
ctl_answer(json_t *resp)
{
	ctl_result(resp);
	json_decref(resp);
	return EXIT_OK;
}

/* "3m ago", "never". */
const char *
fmt_ago(long long wall, char *buf, size_t len)
{
	struct timespec	 ts;
	long long	 now, d;

	if (wall <= 0) {
		snprintf(buf, len, "never");
		return buf;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	d = (now - wall) / 1000;
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%llds ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%lldm ago", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%lldh ago", d / 3600);
	else
		snprintf(buf, len, "%lldd ago", d / 86400);
	return buf;
}

/* "4m59s", "1h2m", "-". */
const char *
fmt_ms(long long ms, char *buf, size_t len)
{
	long long	s = ms / 1000;

	if (ms <= 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400,
		    (s % 86400) / 3600);
	return buf;
}
