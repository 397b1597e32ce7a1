/*
 * prompt.c: the console prompt that runs beside the network requests, so
 * that a person can always type the passphrase.
 *
 * The device (default /dev/console) is opened read-write without becoming
 * our controlling terminal; if it is a terminal, echo is turned off (line
 * editing stays on: the kernel hands us whole lines) and restored on close,
 * whatever ended the wait. A FIFO works too (for tests and for plumbing):
 * opened read-write, it never reads as end-of-file when a writer goes away.
 * Typed bytes go straight into locked memory; the line ends at the first
 * newline, which is not part of the passphrase.
 *
 * Through plymouth (prompt_open_plymouth, when plymouthd runs): the child
 * "plymouth ask-for-password" shows the prompt and writes what was typed,
 * then exits; its stdout is a pipe, read here into the same locked buffer,
 * and the passphrase ends at end-of-file. Plymouth owns the console then,
 * so there is no console prompt beside it. An empty answer asks again; a
 * child that fails (plymouthd gone) makes way for the console prompt on
 * the device given. When something else won, prompt_close() ends the
 * child by its PID (SIGTERM, then SIGKILL), reaps it, and has plymouthd
 * restarted, since plymouth cannot withdraw the request it made.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "boot.h"
#include "log.h"
#include "pk_err.h"
#include "secret.h"

#define PROMPT_MAX	1024	/* longest passphrase typed */
#define PROMPT_EMPTY_MAX	16	/* empty plymouth answers, then console */
#define PROMPT_TERM_MS		1000	/* SIGTERM, then SIGKILL */

struct prompt {
	int		 fd;
	int		 tty;
	struct termios	 saved;
	char		*buf;
	size_t		 len;
	/* Through plymouth: */
	const char	*plymouth;	/* NULL: the console prompt */
	pid_t		 pid;		/* ask-for-password, or -1 */
	int		 empties;
	char		 ptext[300];	/* the prompt, plymouth's way */
	char		 device[BOOT_DEV_MAX];	/* the console fallback */
	char		 message[300];
};

/* A prompt with its locked buffer, nothing open yet; NULL: no memory. */
static struct prompt *
prompt_new(void)
{
	struct prompt	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->buf = pk_secret_alloc(PROMPT_MAX + 1)) == NULL) {
		free(p);
		return NULL;
	}
	p->fd = -1;
	p->pid = -1;
	return p;
}

/* Opens the console device and shows message. Returns 0 or PK_ERR_*. */
static int
prompt_console(struct prompt *p, const char *device, const char *message)
{
	struct termios	 t;
	ssize_t		 n;

	p->fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (p->fd == -1)
		return errno == ENOENT ? PK_ERR_NOT_FOUND : PK_ERR_SYSTEM;
	if (isatty(p->fd) && tcgetattr(p->fd, &p->saved) == 0) {
		t = p->saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		t.c_lflag |= ICANON;
		if (tcsetattr(p->fd, TCSAFLUSH, &t) == 0)
			p->tty = 1;
	}
	if (p->tty && message != NULL)
		n = write(p->fd, message, strlen(message));
	(void)n;
	return 0;
}

/* Starts "plymouth ask-for-password"; p->fd its stdout. 0 or PK_ERR_*. */
static int
prompt_ask_plymouth(struct prompt *p)
{
	char	 arg[sizeof(p->ptext) + 16];
	char	*argv[] = { (char *)"plymouth", (char *)"ask-for-password",
	    arg, NULL };
	int	 pfd[2];

	snprintf(arg, sizeof(arg), "--prompt=%s", p->ptext);
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return PK_ERR_SYSTEM;
	if ((p->pid = plymouth_spawn(p->plymouth, argv, pfd[1])) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return PK_ERR_SYSTEM;
	}
	close(pfd[1]);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	p->fd = pfd[0];
	return 0;
}

/*
 * Ends the ask-for-password child, if any, by its PID; then the request
 * it left in plymouthd (plymouth.c: it cannot be withdrawn otherwise).
 */
static void
prompt_end_child(struct prompt *p)
{
	if (p->pid <= 0)
		return;
	(void)kill(p->pid, SIGTERM);
	(void)plymouth_reap(p->pid, PROMPT_TERM_MS);
	p->pid = -1;
	if (plymouth_restart(p->plymouth) == 0)
		progress("plymouth's prompt ended (plymouthd restarted: it "
		    "cannot withdraw a request)");
	else
		progress("plymouth's prompt may still show: plymouthd "
		    "could not be restarted");
}

/*
 * Through plymouth (client plymouth): shows message there; device is
 * where the console prompt goes if plymouth fails. 0 or PK_ERR_*.
 */
int
prompt_open_plymouth(const char *plymouth, const char *device,
    const char *message, struct prompt **out)
{
	struct prompt	*p;
	int		 r;

	if ((p = prompt_new()) == NULL)
		return PK_ERR_ALLOC;
	p->plymouth = plymouth;
	boot_strlcpy(p->device, device, sizeof(p->device));
	boot_strlcpy(p->message, message, sizeof(p->message));
	plymouth_prompt_text(message, p->ptext, sizeof(p->ptext));
	if ((r = prompt_ask_plymouth(p)) != 0) {
		pk_secret_free(p->buf);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* "plymouth" or "console": where the prompt is shown now. */
const char *
prompt_via(const struct prompt *p)
{
	return p->plymouth != NULL ? "plymouth" : "console";
}

/*
 * Plymouth's answer ended (EOF): 1 with the passphrase, or 0 when it was
 * asked again or the console prompt took over, or PK_ERR_*.
 */
static int
prompt_plymouth_done(struct prompt *p, char **pass, size_t *passlen)
{
	char	*copy;
	size_t	 len = p->len;
	int	 st, r;

	close(p->fd);
	p->fd = -1;
	st = plymouth_reap(p->pid, PROMPT_TERM_MS);
	p->pid = -1;
	/* It writes the answer alone; a newline would be none of it. */
	if (len > 0 && p->buf[len - 1] == '\n')
		len--;
	if (st == 0 && len > 0) {
		if ((copy = pk_secret_alloc(len + 1)) == NULL)
			return PK_ERR_ALLOC;
		memcpy(copy, p->buf, len);
		pk_wipe(p->buf, PROMPT_MAX);
		p->len = 0;
		*pass = copy;
		*passlen = len;
		return 1;
	}
	pk_wipe(p->buf, PROMPT_MAX);
	p->len = 0;
	if (st == 0 && ++p->empties < PROMPT_EMPTY_MAX &&
	    prompt_ask_plymouth(p) == 0)
		return 0;
	progress("the plymouth prompt ended (status %d); console prompt "
	    "on %s", st, p->device);
	p->plymouth = NULL;
	if ((r = prompt_console(p, p->device, p->message)) != 0) {
		p->fd = -1;
		return r;
	}
	return 0;
}

/* Opens device and shows message. Returns 0 or PK_ERR_*. */
int
prompt_open(const char *device, const char *message, struct prompt **out)
{
	struct prompt	*p;
	int		 r;

	if ((p = prompt_new()) == NULL)
		return PK_ERR_ALLOC;
	if ((r = prompt_console(p, device, message)) != 0) {
		pk_secret_free(p->buf);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* The descriptor to poll for input, or -1 once the device is gone. */
int
prompt_fd(struct prompt *p)
{
	return p->fd;
}

/*
 * Reads what is there. Returns 1 with *pass (pk_secret_alloc) and
 * *passlen when a whole non-empty line has been typed; 0 when more is
 * needed; PK_ERR_EOF or PK_ERR_SYSTEM when the device is unusable (it is
 * then closed and no longer polled).
 */
int
prompt_read(struct prompt *p, char **pass, size_t *passlen)
{
	char	*nl, *copy;
	ssize_t	 n;
	size_t	 len;

	for (;;) {
		if (p->len == PROMPT_MAX) {
			pk_wipe(p->buf, PROMPT_MAX);
			p->len = 0;	/* too long: start again */
		}
		n = read(p->fd, p->buf + p->len, PROMPT_MAX - p->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (p->plymouth != NULL) {
			if (n > 0) {
				p->len += (size_t)n;
				continue;
			}
			return prompt_plymouth_done(p, pass, passlen);
		}
		if (n <= 0) {
			close(p->fd);
			p->fd = -1;
			return n == 0 ? PK_ERR_EOF : PK_ERR_SYSTEM;
		}
		p->len += (size_t)n;
		while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
			len = (size_t)(nl - p->buf);
			if (len > 0 && p->buf[len - 1] == '\r')
				len--;
			if (len == 0) {
				/* An empty line: ignore it. */
				p->len -= (size_t)(nl + 1 - p->buf);
				memmove(p->buf, nl + 1, p->len);
				continue;
			}
			if ((copy = pk_secret_alloc(len + 1)) == NULL)
				return PK_ERR_ALLOC;
			memcpy(copy, p->buf, len);
			pk_wipe(p->buf, PROMPT_MAX);
			p->len = 0;
			if (p->tty)
				n = write(p->fd, "\n", 1);
			*pass = copy;
			*passlen = len;
			return 1;
		}
	}
}

/* Restores the terminal and frees p (NULL is fine). */
void
prompt_close(struct prompt *p)
{
	if (p == NULL)
		return;
	prompt_end_child(p);
	if (p->fd != -1) {
		if (p->tty)
			(void)tcsetattr(p->fd, TCSAFLUSH, &p->saved);
		close(p->fd);
	}
	pk_secret_free(p->buf);
	free(p);
}
