// SPDX-License-Identifier: Apache-2.0
/* Helpers the guest agent and the host side share: see common.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest-agent/common.h"

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (!*path)
		return -ENOENT;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, s, strlen(s));
	close(fd);
	return r;
}

int copy_file(const char *src, const char *dst, mode_t mode)
{
	enum { CHUNK = 65536 }; /* on the heap: the agent's PID 1 has a small stack */
	char *buf = malloc(CHUNK);
	int in = -1, out = -1, r = 0;

	if (!buf)
		return -ENOMEM;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777)) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0 || (r = write_all(out, buf, (size_t)n)))
			break;
	}
	if (!r && fchmod(out, mode & 07777))
		r = -errno;
out:
	if (out >= 0 && close(out) && !r)
		r = -errno;
	if (in >= 0)
		close(in);
	free(buf);
	return r;
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
