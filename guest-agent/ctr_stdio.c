// SPDX-License-Identifier: Apache-2.0
/*
 * A launched process's stdio: three pipes, or a terminal that the child
 * opens in its own devpts and passes back to the agent over a socket pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/ctr_priv.h"

/* Opens the terminal in the container's own devpts (so ttyname() works in
 * it), makes it the controlling one, and hands the master to the agent. */
void open_terminal(struct launch *L)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[64];
	if (m < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
		child_fail(L, 125, errno, "cannot open a terminal in the container: %s",
			   strerror(errno));
	L->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (L->pty_slave < 0)
		child_fail(L, 125, errno, "cannot open %s: %s", name, strerror(errno));
	if (ioctl(L->pty_slave, TIOCSCTTY, 0) < 0)
		child_fail(L, 125, errno, "cannot make the terminal controlling: %s",
			   strerror(errno));
	if (!L->exec) {
		/* The terminal is the container's /dev/console too. */
		int fd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		mount(name, "/dev/console", NULL, MS_BIND, NULL);
	}
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "t", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &m, sizeof(int));
	if (sendmsg(L->pty_sock, &msg, 0) != 1)
		child_fail(L, 125, errno, "cannot pass the terminal to the agent: %s",
			   strerror(errno));
	close(m);
	close(L->pty_sock);
}

/* The agent's side of open_terminal: the master, or -1 if the child failed. */
static int recv_terminal(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) == 1) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	return fd;
}

int stdio_open(json_t *proc, struct launch *L, struct ctr_proc *p, struct err *e)
{
	int r;
	p->in = p->out = p->err = p->pty = -1;
	L->pty_slave = L->pty_sock = L->pty_recv = -1;
	for (int i = 0; i < 3; i++)
		L->stdio[i] = -1;
	if (json_is_true(json_object_get(proc, "terminal"))) {
		/* The child opens it in its devpts and sends the master back. */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			r = -errno;
			err_set(e, r, "socketpair: %s", strerror(-r));
			return r;
		}
		L->pty_recv = sv[0];
		L->pty_sock = sv[1];
		return 0;
	}
	/* stdin: the child reads; stdout, stderr: the child writes. */
	int *mine[3] = { &p->in, &p->out, &p->err };
	for (int i = 0; i < 3; i++) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0) {
			r = -errno;
			err_set(e, r, "pipe: %s", strerror(-r));
			stdio_close_all(L, p);
			return r;
		}
		L->stdio[i] = fds[i == 0 ? 0 : 1];
		*mine[i] = fds[i == 0 ? 1 : 0];
	}
	return 0;
}

void stdio_close_child_ends(struct launch *L)
{
	for (int i = 0; i < 3; i++) {
		if (L->stdio[i] >= 0)
			close(L->stdio[i]);
		L->stdio[i] = -1;
	}
	if (L->pty_sock >= 0)
		close(L->pty_sock);
	L->pty_sock = -1;
}

/* After releasing the child: its terminal's master, sized as asked. */
void stdio_take_terminal(struct launch *L, json_t *proc, struct ctr_proc *p)
{
	if (L->pty_recv < 0)
		return;
	p->pty = recv_terminal(L->pty_recv);
	close(L->pty_recv);
	L->pty_recv = -1;
	json_t *size = json_object_get(proc, "consoleSize");
	if (p->pty >= 0 && size) {
		struct winsize ws = {
			.ws_row = json_integer_value(json_object_get(size, "height")),
			.ws_col = json_integer_value(json_object_get(size, "width")),
		};
		ioctl(p->pty, TIOCSWINSZ, &ws);
	}
}

void stdio_close_all(struct launch *L, struct ctr_proc *p)
{
	stdio_close_child_ends(L);
	if (L->pty_recv >= 0)
		close(L->pty_recv);
	L->pty_recv = -1;
	int *fds[] = { &p->in, &p->out, &p->err, &p->pty };
	for (size_t i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
