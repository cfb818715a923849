// SPDX-License-Identifier: Apache-2.0
/* Netlink requests and nf_tables batches over libmnl. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "net/nl.h"

#define NL_RCVBUF (MNL_SOCKET_BUFFER_SIZE * 4)

int nl_open(struct nl *nl, int bus)
{
	nl->sock = mnl_socket_open(bus);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return rc;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)getpid() ^ 0x5a5a0000u;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Whether buf holds the end of a dump (or an error that ends it). */
static bool dump_ends(const char *buf, size_t n)
{
	int left = (int)n;

	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
	     h = mnl_nlmsg_next(h, &left)) {
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
			return true;
	}
	return false;
}

/* Skip the rest of an interrupted dump; -EINTR when done. */
static int drain(struct nl *nl, char *buf, size_t n)
{
	while (!dump_ends(buf, n)) {
		ssize_t r = mnl_socket_recvfrom(nl->sock, buf, NL_RCVBUF);

		if (r < 0)
			return -errno;
		n = (size_t)r;
	}
	return -EINTR;
}

int nl_request(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char *buf;
	int rc;

	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	buf = malloc(NL_RCVBUF);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_RCVBUF);

		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, nl->portid, cb, data);
		if (rc < 0 && errno == EINTR) {
			/* a dump interrupted by a concurrent change: read it to its end */
			rc = drain(nl, buf, (size_t)n);
			break;
		}
		if (rc < 0) {
			rc = -errno;
			break;
		}
		if (rc == MNL_CB_STOP)
			break;
	}
	free(buf);
	return rc;
}

int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, void (*reset)(void *data))
{
	int rc = -EINTR;

	for (int tries = 0; tries < 16 && rc == -EINTR; tries++) {
		if (reset)
			reset(data);
		req->nlmsg_seq = nl->seq++;
		rc = nl_request(nl, req, cb, data);
	}
	return rc;
}

int nl_batch(struct nl *nl, const void *msgs, size_t len)
{
	int fd = mnl_socket_get_fd(nl->sock), first = 0;
	char *buf;

	if (mnl_socket_sendto(nl->sock, msgs, len) < 0)
		return -errno;
	buf = malloc(NL_RCVBUF);
	if (!buf)
		return -ENOMEM;
	/* nfnetlink handles the batch inside sendmsg(): every answer is
	 * queued by now, so read until the socket is empty. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 0) <= 0)
			break;
		n = recv(fd, buf, NL_RCVBUF, 0);
		if (n <= 0) {
			if (!first)
				first = n < 0 ? -errno : -EIO;
			break;
		}
		/* Not mnl_cb_run(): it stops at the first ack of the buffer. */
		int left = (int)n;

		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			if (e->error && !first)
				first = e->error;
		}
	}
	free(buf);
	return first;
}
