/*
 * file.c: pk_file_read(), small files read whole (see file.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "file.h"
#include "pk_err.h"
#include "secret.h"

/* Frees a buffer of pk_file_read(), wiping it. */
static void
file_free(char *buf, size_t size, int flags)
{
	if (buf == NULL)
		return;
	if (flags & PK_FILE_SECRET) {
		pk_secret_free(buf);
		return;
	}
	pk_wipe(buf, size);
	free(buf);
}

int
pk_file_read(const char *path, size_t max, int flags, char **out,
    size_t *len)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 got = 0, size = 0;
	ssize_t		 n;
	int		 fd, r, saved;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return errno == ENOENT || errno == ENOTDIR ? PK_ERR_NOT_FOUND :
		    PK_ERR_SYSTEM;
	if (fstat(fd, &st) == -1) {
		r = PK_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		r = PK_ERR_SYSTEM;
		goto out;
	}
	if ((flags & PK_FILE_PRIVATE) && (st.st_mode & 077) != 0) {
		r = PK_ERR_PERM;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		r = PK_ERR_TOO_LARGE;
		goto out;
	}
	/* One byte for the NUL, one more to see a file that grew. */
	size = (size_t)st.st_size + 2;
	buf = (flags & PK_FILE_SECRET) ? pk_secret_alloc(size) : malloc(size);
	if (buf == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + got, size - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = PK_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == size - 1) {
			r = PK_ERR_TOO_LARGE;
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	r = 0;
 out:
	saved = errno;
	file_free(buf, size, flags);
	close(fd);
	errno = saved;
	return r;
}
