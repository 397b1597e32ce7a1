/*
 * file.c: pk_file_read() and pk_file_write(), small files read and
 * written whole (see file.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (((flags & PK_FILE_PRIVATE) && (st.st_mode & 077) != 0) ||
	    ((flags & PK_FILE_CREDENTIAL) && (st.st_mode & 007) != 0)) {
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

/* Writes a file whole, through a temporary file (see file.h). */
int
pk_file_write(const char *path, const void *buf, size_t len, mode_t mode,
    int flags)
{
	const unsigned char	*data = buf;
	char			 tmp[PATH_MAX], dir[PATH_MAX];
	char			*slash;
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd = -1, dfd, r, saved, created = 0;

	if ((flags & PK_FILE_NOCLOBBER) && access(path, F_OK) == 0)
		return PK_ERR_EXISTS;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return PK_ERR_SYSTEM;
	}
	/* mkstemp creates the file 0600 whatever the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return PK_ERR_SYSTEM;
	created = 1;
	if (fchmod(fd, mode) == -1) {
		r = PK_ERR_SYSTEM;
		goto out;
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			r = PK_ERR_SYSTEM;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		r = PK_ERR_SYSTEM;
		goto out;
	}
	fd = -1;
	if (!(flags & PK_FILE_NOCLOBBER)) {
		if (rename(tmp, path) == -1) {
			r = PK_ERR_SYSTEM;
			goto out;
		}
	} else {
		/* link() fails if path appeared meanwhile: no clobbering. */
		if (link(tmp, path) == -1) {
			r = errno == EEXIST ? PK_ERR_EXISTS : PK_ERR_SYSTEM;
			goto out;
		}
		unlink(tmp);
	}
	created = 0;

	/* Make the new name durable too (best effort). */
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) < sizeof(dir)) {
		if ((slash = strrchr(dir, '/')) == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
		    -1) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	r = 0;
 out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (created)
		unlink(tmp);
	errno = saved;
	return r;
}
