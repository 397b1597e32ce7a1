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
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "boot.h"
#include "log.h"
#include "pk_err.h"
#include "secret.h"

#define PROMPT_MAX	1024	/* longest passphrase typed */

struct prompt {
	int		 fd;
	int		 tty;
	struct termios	 saved;
	char		*buf;
	size_t		 len;
};

/* Opens device and shows message. Returns 0 or PK_ERR_*. */
int
prompt_open(const char *device, const char *message, struct prompt **out)
{
	struct prompt	*p;
	struct termios	 t;
	ssize_t		 n;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PK_ERR_ALLOC;
	if ((p->buf = pk_secret_alloc(PROMPT_MAX + 1)) == NULL) {
		free(p);
		return PK_ERR_ALLOC;
	}
	p->fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (p->fd == -1) {
		pk_secret_free(p->buf);
		free(p);
		return errno == ENOENT ? PK_ERR_NOT_FOUND : PK_ERR_SYSTEM;
	}
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
		if (p->len == PROMPT_MAX)
			p->len = 0;	/* too long: start again */
		n = read(p->fd, p->buf + p->len, PROMPT_MAX - p->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
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
	if (p->fd != -1) {
		if (p->tty)
			(void)tcsetattr(p->fd, TCSAFLUSH, &p->saved);
		close(p->fd);
	}
	pk_secret_free(p->buf);
	free(p);
}
