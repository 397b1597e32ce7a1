/*
 * out.c: what the command prints under -j: one JSON object, success and
 * error alike (doc/peerkey.8, "JSON OUTPUT").
 *
 *	{"ok": true, MEMBERS...}
 *	{"ok": false, "error": {"code": CODE, "exit": N, "message": TEXT},
 *	    MEMBERS...}
 *
 * The same shape as the control socket's answers ("ok", then the
 * members), so a script reads "peerkey -j status" as it reads the
 * daemon. "ok" is true exactly when the exit status is 0; CODE names the
 * exit status (out_code()); a partial result (exit 5) keeps its members.
 * Times are milliseconds everywhere: instants since the epoch (UTC),
 * durations in members ending in "_ms".
 *
 * Rules: a command hands its result to out_result() instead of printing
 * it, and ends by returning its exit status to main(), which calls
 * out_finish(); code that cannot return (ctl.c's unreachable daemon)
 * calls out_exit(). Diagnostics stay what they are, lines on stderr
 * ("peerkey: ..."): under -j, out_init() makes stderr a stream that
 * writes to file descriptor 2 as before and also keeps what it wrote, and
 * those lines, without their "peerkey: ", are the error's message (or,
 * on success, "warnings"). So no message a command prints is missing
 * from the object, whichever file printed it. Nothing else may write to
 * stdout under -j.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "peerkey.h"

#define OUT_DIAG_MAX	(64 * 1024)	/* kept of stderr; the rest dropped */

static json_t	*out_members;		/* the result's members */
static char	*out_diag;		/* what stderr said */
static size_t	 out_diaglen;
static int	 out_done;

/* The stderr stream under -j: fd 2, and a copy. */
static ssize_t
out_tee_write(void *cookie, const char *buf, size_t len)
{
	size_t	 off = 0, keep;
	ssize_t	 n;
	char	*nb;

	(void)cookie;
	while (off < len) {
		n = write(STDERR_FILENO, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* a closed stderr: still kept below */
		off += (size_t)n;
	}
	keep = len;
	if (out_diaglen + keep > OUT_DIAG_MAX)
		keep = OUT_DIAG_MAX - out_diaglen;
	if (keep > 0 && (nb = realloc(out_diag, out_diaglen + keep + 1)) !=
	    NULL) {
		memcpy(nb + out_diaglen, buf, keep);
		out_diaglen += keep;
		nb[out_diaglen] = '\0';
		out_diag = nb;
	}
	return (ssize_t)len;
}

void
out_init(void)
{
	static const cookie_io_functions_t io = { .write = out_tee_write };
	static int	 done;
	FILE		*f;

	if (!opt_json || done || (f = fopencookie(NULL, "w", io)) == NULL)
		return;
	done = 1;
	setvbuf(f, NULL, _IONBF, 0);	/* in order with child processes */
	stderr = f;	/* glibc's stderr is a variable (Standard Streams) */
}

/* Adds the members of obj (borrowed) to the result. */
void
out_result(json_t *obj)
{
	if (out_members == NULL)
		out_members = json_object();
	if (json_is_object(obj))
		json_object_update(out_members, obj);
}

/* The name of an exit status, as the error's "code". */
const char *
out_code(int ex)
{
	switch (ex) {
	case EXIT_OK:
		return "ok";
	case EXIT_USAGE:
		return "usage";
	case EXIT_NODAEMON:
		return "no-daemon";
	case EXIT_NOPEER:
		return "no-peer";
	case EXIT_PARTIAL:
		return "partial";
	case EXIT_LOCAL:
		return "local";
	default:
		return "failed";
	}
}

/* What stderr said, "peerkey: " taken off each line. */
static char *
out_message(void)
{
	char	*m, *d;
	const char *s, *e;

	if ((m = malloc(out_diaglen + 1)) == NULL)
		return NULL;
	d = m;
	for (s = out_diag; s != NULL && *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, "\n");
		if (strncmp(s, "peerkey: ", 9) == 0)
			s += 9;
		if (d != m)
			*d++ = '\n';
		memcpy(d, s, (size_t)(e - s));
		d += e - s;
	}
	*d = '\0';
	return m;
}

/* Prints the object for exit status ex (under -j, once); returns ex. */
int
out_finish(int ex)
{
	json_t	*o;
	char	*msg;

	if (!opt_json || out_done)
		return ex;
	out_done = 1;
	fflush(stdout);
	msg = out_message();
	o = json_pack("{s:b}", "ok", ex == EXIT_OK);
	if (ex != EXIT_OK)
		json_object_set_new(o, "error", json_pack("{s:s, s:i, s:s}",
		    "code", out_code(ex), "exit", ex, "message",
		    msg != NULL && *msg != '\0' ? msg : out_code(ex)));
	else if (msg != NULL && *msg != '\0')
		json_object_set_new(o, "warnings", json_string(msg));
	if (out_members != NULL)
		json_object_update_missing(o, out_members);
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	fflush(stdout);
	json_decref(o);
	json_decref(out_members);
	out_members = NULL;
	free(msg);
	return ex;
}

void
out_exit(int ex)
{
	exit(out_finish(ex));
}
