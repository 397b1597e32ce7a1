/*
 * emit.c: what the agent writes: the passphrase to stdout, as a cryptsetup
 * keyscript must (the bytes exactly, no newline added, nothing else ever
 * on stdout), and progress lines on stderr, which in an initramfs is the
 * console, and, when the prompt goes through plymouth, on plymouth's
 * display too ("plymouth display-message").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "pk_err.h"

static const char	*progress_ply;	/* plymouth client, or NULL */

/* Progress lines go to plymouth too (NULL: no more). */
void
progress_plymouth(const char *plymouth)
{
	progress_ply = plymouth;
}

/* Writes len bytes of pass to stdout, then closes it. Returns 0 or
 * PK_ERR_SYSTEM. */
int
emit_stdout(const char *pass, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	while (off < len) {
		n = write(STDOUT_FILENO, pass + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return PK_ERR_SYSTEM;
		off += (size_t)n;
	}
	/*
	 * EOF now, so that cryptsetup need not wait for our clean-up: put
	 * /dev/null in stdout's place (a plain close would let the next
	 * open() take descriptor 1).
	 */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		return close(STDOUT_FILENO) == 0 ? 0 : PK_ERR_SYSTEM;
	if (dup2(fd, STDOUT_FILENO) == -1) {
		close(fd);
		return PK_ERR_SYSTEM;
	}
	close(fd);
	return 0;
}

/* Writes "peerkey-boot: " and one line to stderr (never a secret). */
void
progress(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* A peer's text is checked by msg.c; be safe with the rest too. */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	fprintf(stderr, "peerkey-boot: %s\n", buf);
	fflush(stderr);
	if (progress_ply != NULL) {
		char	 line[sizeof(buf) + 16];

		snprintf(line, sizeof(line), "peerkey-boot: %s", buf);
		plymouth_message(progress_ply, line);
	}
}
