// SPDX-License-Identifier: Apache-2.0
/* Console backends: off, null, tty, file, pty, socket. */
#include "devices/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int chardev_init(struct chardev *c, enum chardev_mode mode, const char *path, struct err *err)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = c->in_fd = c->listen_fd = -1;
	c->mode = mode;
	if (mode != CHARDEV_FILE && mode != CHARDEV_SOCKET)
		return 0;
	size_t max = mode == CHARDEV_SOCKET ? sizeof(((struct sockaddr_un *)0)->sun_path)
					    : sizeof(c->path);
	if (!path || !*path || strlen(path) >= max)
		return err_set(err, -EINVAL, "%s=%.200s: the path is empty or too long",
			       mode == CHARDEV_SOCKET ? "socket" : "file", path ? path : "");
	strcpy(c->path, path);
	return 0;
}

static int make_raw(struct chardev *c, int fd)
{
	struct termios t;

	if (tcgetattr(fd, &c->saved) < 0)
		return -errno;
	t = c->saved;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR; /* keep "\n" as a line end on our side */
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	c->tty_raw = true;
	return 0;
}

int chardev_open(struct chardev *c, struct err *err)
{
	int ret;

	pthread_mutex_init(&c->lock, NULL);
	switch (c->mode) {
	case CHARDEV_OFF:
	case CHARDEV_NULL:
		return 0;
	case CHARDEV_TTY:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO)) {
			ret = make_raw(c, STDIN_FILENO);
			if (ret)
				return err_set(err, ret, "tty: cannot set raw mode: %s",
					       strerror(-ret));
		}
		return 0;
	case CHARDEV_FILE:
		c->out_fd =
			open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
		if (c->out_fd < 0) {
			ret = -errno;
			return err_set(err, ret, "file=%s: %s", c->path, strerror(errno));
		}
		return 0;
	case CHARDEV_PTY: {
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 ||
		    ptsname_r(fd, c->path, sizeof(c->path))) {
			ret = -errno;
			err_set(err, ret, "pty: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
			return ret;
		}
		struct termios t;
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
		c->out_fd = c->in_fd = fd;
		return 0;
	}
	case CHARDEV_SOCKET: {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, c->path);
		c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		unlink(c->path);
		if (c->listen_fd < 0 ||
		    bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(c->listen_fd, 1) < 0) {
			ret = -errno;
			err_set(err, ret, "socket=%s: %s", c->path, strerror(errno));
			if (c->listen_fd >= 0)
				close(c->listen_fd);
			c->listen_fd = -1;
			return ret;
		}
		return 0;
	}
	}
	return -EINVAL;
}

void chardev_restore_tty(struct chardev *c)
{
	if (c->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
}

void chardev_close(struct chardev *c)
{
	chardev_restore_tty(c);
	c->tty_raw = false;
	switch (c->mode) {
	case CHARDEV_FILE:
	case CHARDEV_PTY:
		if (c->out_fd >= 0)
			close(c->out_fd);
		break;
	case CHARDEV_SOCKET:
		if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->listen_fd >= 0) {
			close(c->listen_fd);
			unlink(c->path);
		}
		break;
	default:
		break;
	}
	c->out_fd = c->in_fd = c->listen_fd = -1;
}

void chardev_write(struct chardev *c, const void *buf, size_t len)
{
	const char *p = buf;

	pthread_mutex_lock(&c->lock);
	while (len && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (c->mode == CHARDEV_SOCKET) { /* the client went away */
				close(c->out_fd);
				c->out_fd = c->in_fd = -1;
			}
			break; /* a pty nobody reads, a full disk: drop */
		}
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&c->lock);
}

int chardev_poll_fd(struct chardev *c)
{
	int fd;

	pthread_mutex_lock(&c->lock);
	fd = c->mode == CHARDEV_SOCKET && c->in_fd < 0 ? c->listen_fd : c->in_fd;
	pthread_mutex_unlock(&c->lock);
	return fd;
}

int chardev_read(struct chardev *c, void *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	if (c->mode == CHARDEV_SOCKET && c->in_fd < 0) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			c->in_fd = c->out_fd = fd;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	int fd = c->in_fd;
	pthread_mutex_unlock(&c->lock);
	if (fd < 0)
		return -EIO;
	ssize_t n = read(fd, buf, len);
	if (n > 0)
		return (int)n;
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (c->mode == CHARDEV_SOCKET) {
		pthread_mutex_lock(&c->lock);
		if (c->in_fd == fd) {
			close(fd);
			c->in_fd = c->out_fd = -1;
		}
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (c->mode == CHARDEV_PTY && n < 0 && errno == EIO) {
		usleep(100000); /* no one has the pty open (yet): poll says readable */
		return 0;
	}
	return -EIO;
}
