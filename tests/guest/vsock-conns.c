// SPDX-License-Identifier: Apache-2.0
/*
 * vsock-conns CID PORT N RELEASE: a guest-side test program. Opens N vsock
 * stream connections to CID:PORT at once from one process (non-blocking
 * connects, each with a 30 s connect timeout instead of the 2 s default, so
 * a slow emulated guest does not give up early), writes "conn I\n" on each,
 * prints "SVMM-FACT conns_open=K" and "SVMM-FACT conns_retries=R", then holds
 * every connection open until the FIFO RELEASE gives end of file.
 * A connect that fails is tried again, at most 5 times in all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define MAX_CONNS 1024
#define TRIES	  5

struct conn {
	int fd;
	int tries;
	int state; /* 0 connecting, 1 open, 2 given up */
};

static int start(struct conn *c, unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	struct timeval tv = { .tv_sec = 30 };

	c->tries++;
	c->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (setsockopt(c->fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0 ||
	    (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
		int rc = -errno;
		close(c->fd);
		return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	unsigned int cid, port, n, open_n = 0, done = 0, retries = 0;
	char buf[64];

	if (argc != 5 || (n = (unsigned int)atoi(argv[3])) == 0 || n > MAX_CONNS) {
		fprintf(stderr, "usage: vsock-conns CID PORT N(1-%d) RELEASE_FIFO\n", MAX_CONNS);
		return 2;
	}
	cid = (unsigned int)atoi(argv[1]);
	port = (unsigned int)atoi(argv[2]);
	for (unsigned int i = 0; i < n; i++)
		if (start(&conns[i], cid, port) < 0) {
			perror("vsock-conns: socket");
			return 1;
		}
	while (done < n) {
		for (unsigned int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = conns[i].state ? -1 : conns[i].fd,
						  .events = POLLOUT };
		if (poll(pfd, n, 60000) <= 0) {
			fprintf(stderr, "vsock-conns: no progress in 60 s\n");
			break;
		}
		for (unsigned int i = 0; i < n; i++) {
			struct conn *c = &conns[i];
			int err = 0;
			socklen_t len = sizeof(err);
			if (c->state || !pfd[i].revents)
				continue;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (!err) {
				int l = snprintf(buf, sizeof(buf), "conn %u\n", i + 1);
				if (write(c->fd, buf, (size_t)l) != l)
					err = errno ? errno : EIO;
			}
			if (!err) {
				c->state = 1;
				open_n++;
				done++;
				continue;
			}
			close(c->fd);
			if (c->tries < TRIES) {
				retries++;
				if (start(c, cid, port) == 0)
					continue;
			}
			fprintf(stderr, "vsock-conns: connection %u: %s\n", i + 1, strerror(err));
			c->state = 2;
			done++;
		}
	}
	printf("SVMM-FACT conns_open=%u\nSVMM-FACT conns_retries=%u\n", open_n, retries);
	fflush(stdout);
	int r = open(argv[4], O_RDONLY);
	while (r >= 0 && read(r, buf, sizeof(buf)) > 0)
		;
	return open_n == n ? 0 : 1;
}
