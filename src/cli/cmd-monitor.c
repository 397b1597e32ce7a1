/*
 * cmd-monitor.c: "peerkey monitor": a live view of peerkeyd, fed by a
 * subscription on the control socket ({"cmd":"subscribe"}: control.c
 * sends each new audit event and the status), never by asking again.
 *
 * On a terminal: the peer table (redrawn when the status comes), the last
 * events beneath, and keys for the selected peer: j/k or the arrows
 * select, a approve, d deny, e enable, x disable, c check, q quits. Each
 * key is one control request of its own, whose answer is shown on the
 * last line. Standard output not a terminal (a pipe, a log): one line per
 * event, as "peerkey events" prints them, until the daemon goes away.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "peerkey.h"

#define MON_EVENTS	10		/* shown beneath the table */
#define MON_LINE_MAX	(4 * 1024 * 1024)

struct mon {
	int		 fd;
	char		*buf;
	size_t		 len, size;
	json_t		*status;	/* the last one */
	json_t		*events;	/* the last MON_EVENTS */
	int		 sel;
	int		 tty;
	char		 said[256];	/* the last key's answer */
	struct termios	 saved;
};

/* Connects and subscribes; the exit status on failure. */
static int
mon_connect(struct mon *mo)
{
	struct sockaddr_un	 sun;
	static const char	 req[] = "{\"cmd\":\"subscribe\"}\n";

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl_socket_path());
	if ((mo->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(mo->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "peerkey: cannot reach peerkeyd at %s: %s\n"
		    "  (is it running? \"systemctl status peerkeyd\"; are you "
		    "root?)\n", sun.sun_path, strerror(errno));
		return EXIT_NODAEMON;
	}
	if (write(mo->fd, req, sizeof(req) - 1) != sizeof(req) - 1) {
		fprintf(stderr, "peerkey: write to peerkeyd: %s\n",
		    strerror(errno));
		return EXIT_NODAEMON;
	}
	return 0;
}

/* "2026-12-02 05:59:01  peer  kind  detail from address" */
static void
mon_event_line(json_t *ev, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	char		 when[32];
	const char	*peer = json_string_value(json_object_get(ev, "peer"));
	const char	*addr = json_string_value(json_object_get(ev,
			    "address"));

	t = (time_t)(json_integer_value(json_object_get(ev, "at")) / 1000);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, len, "%s  %-12s %-16s %s%s%s", when, peer != NULL &&
	    *peer != '\0' ? peer : "-",
	    json_string_value(json_object_get(ev, "kind")),
	    json_string_value(json_object_get(ev, "detail")),
	    addr != NULL && *addr != '\0' ? " from " : "",
	    addr != NULL ? addr : "");
}

/* The name of the selected peer, or NULL. */
static const char *
mon_selected(struct mon *mo)
{
	json_t	*peers = json_object_get(mo->status, "peers");

	if (json_array_size(peers) == 0)
		return NULL;
	if (mo->sel >= (int)json_array_size(peers))
		mo->sel = (int)json_array_size(peers) - 1;
	return json_string_value(json_object_get(json_array_get(peers,
	    (size_t)mo->sel), "name"));
}

static void
mon_draw(struct mon *mo)
{
	json_t		*peers = json_object_get(mo->status, "peers"), *p;
	char		 line[1024], seen[32], exp[32];
	size_t		 i;

	(void)mon_selected(mo);
	printf("\033[H\033[2J");
	printf("peerkey monitor: node %s  (j/k select, a approve, d deny, "
	    "e enable, x disable, c check, q quit)\r\n\r\n",
	    json_string_value(json_object_get(json_object_get(mo->status,
	    "self"), "name")));
	printf("  %-16s %-22s %-10s %-9s %s\r\n", "PEER", "STATE",
	    "LAST SEEN", "EXPIRES", "LAST CHECK");
	json_array_foreach(peers, i, p)
		printf("%c %-16s %-22s %-10s %-9s %s\r\n", (int)i == mo->sel ?
		    '>' : ' ', json_string_value(json_object_get(p, "name")),
		    json_string_value(json_object_get(p, "state")),
		    fmt_ago(json_integer_value(json_object_get(p,
		    "last_seen")), seen, sizeof(seen)),
		    fmt_ms(json_integer_value(json_object_get(p,
		    "expires_in_ms")), exp, sizeof(exp)),
		    json_integer_value(json_object_get(p, "last_check")) <= 0 ?
		    "never" : json_is_true(json_object_get(p,
		    "last_check_ok")) ? "ok" : "FAILED");
	if (json_array_size(peers) == 0)
		printf("  (no peers)\r\n");
	printf("\r\nevents:\r\n");
	json_array_foreach(mo->events, i, p) {
		mon_event_line(p, line, sizeof(line));
		printf("  %s\r\n", line);
	}
	printf("\r\n%s\r\n", mo->said);
	fflush(stdout);
}

/* One line from the daemon. */
static void
mon_line(struct mon *mo, const char *s)
{
	json_t	*j, *v;
	char	 line[1024];

	if ((j = json_loads(s, 0, NULL)) == NULL)
		return;
	if ((v = json_object_get(j, "event")) != NULL) {
		if (!mo->tty) {
			mon_event_line(v, line, sizeof(line));
			printf("%s\n", line);
			fflush(stdout);
		}
		json_array_append(mo->events, v);
		while (json_array_size(mo->events) > MON_EVENTS)
			json_array_remove(mo->events, 0);
	} else if ((v = json_object_get(j, "status")) != NULL) {
		json_decref(mo->status);
		mo->status = json_incref(v);
		if (mo->tty)
			mon_draw(mo);
	}
	json_decref(j);
}

/* Reads what the daemon sent; -1 when it is gone. */
static int
mon_read(struct mon *mo)
{
	char	*nl, *nb;
	ssize_t	 n;

	if (mo->size - mo->len < 4096) {
		if (mo->size >= MON_LINE_MAX ||
		    (nb = realloc(mo->buf, mo->size + 65536)) == NULL)
			return -1;
		mo->buf = nb;
		mo->size += 65536;
	}
	n = read(mo->fd, mo->buf + mo->len, mo->size - mo->len - 1);
	if (n == -1 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	mo->len += (size_t)n;
	while ((nl = memchr(mo->buf, '\n', mo->len)) != NULL) {
		*nl = '\0';
		mon_line(mo, mo->buf);
		mo->len -= (size_t)(nl + 1 - mo->buf);
		memmove(mo->buf, nl + 1, mo->len);
	}
	return 0;
}

/* A key; 1 to quit. */
static int
mon_key(struct mon *mo, const char *k, size_t n)
{
	static const struct { char key; const char *cmd; } acts[] = {
		{ 'a', "approve" }, { 'd', "deny" }, { 'e', "enable" },
		{ 'x', "disable" }, { 'c', "check" },
	};
	const char	*peer = mon_selected(mo), *err;
	json_t		*resp;
	size_t		 i;

	if (k[0] == 'q' || k[0] == 3 /* ^C */)
		return 1;
	if (k[0] == 'j' || (n == 3 && memcmp(k, "\033[B", 3) == 0))
		mo->sel++;
	else if ((k[0] == 'k' || (n == 3 && memcmp(k, "\033[A", 3) == 0)) &&
	    mo->sel > 0)
		mo->sel--;
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (k[0] != acts[i].key || n != 1)
			continue;
		if (peer == NULL)
			break;
		resp = ctl_request(json_pack("{s:s, s:s}", "cmd",
		    acts[i].cmd, "peer", peer));
		err = json_string_value(json_object_get(resp, "error"));
		snprintf(mo->said, sizeof(mo->said), "%s %s: %s", acts[i].cmd,
		    peer, json_is_true(json_object_get(resp, "ok")) ? "done" :
		    err != NULL ? err : "failed");
		json_decref(resp);
	}
	if (mo->status != NULL)
		mon_draw(mo);
	return 0;
}

int
cmd_monitor(int argc, char **argv)
{
	struct mon	 mo;
	struct termios	 raw;
	struct pollfd	 pfd[2];
	char		 k[16];
	ssize_t		 n;
	int		 ex, quit = 0;

	if (argc != 1)
		return EXIT_USAGE;
	if (opt_json) {
		fprintf(stderr, "peerkey: monitor has no -j: \"peerkey monitor "
		    "| cat\" is one line per event, \"peerkey -j events\" "
		    "and \"peerkey -j status\" are JSON\n");
		return EXIT_USAGE;
	}
	memset(&mo, 0, sizeof(mo));
	mo.events = json_array();
	mo.tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if ((ex = mon_connect(&mo)) != 0)
		return ex;
	if (mo.tty && tcgetattr(STDIN_FILENO, &mo.saved) == 0) {
		raw = mo.saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST;
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		/* The alternate screen, no cursor; undone at the end. */
		printf("\033[?1049h\033[?25l");
	}
	while (!quit) {
		pfd[0].fd = mo.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
		if (poll(pfd, mo.tty ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    mon_read(&mo) != 0)
			break;
		if (mo.tty && (pfd[1].revents & POLLIN) &&
		    (n = read(STDIN_FILENO, k, sizeof(k))) > 0)
			quit = mon_key(&mo, k, (size_t)n);
	}
	if (mo.tty) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &mo.saved);
		printf("\033[?25h\033[?1049l");
		fflush(stdout);
	}
	if (!quit)
		fprintf(stderr, "peerkey: peerkeyd closed the connection\n");
	close(mo.fd);
	free(mo.buf);
	json_decref(mo.status);
	json_decref(mo.events);
	return quit ? EXIT_OK : EXIT_NODAEMON;
}
