/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A netlink socket (libmnl) and the two conversations svmm has with it:
 * one request answered by an ack or a dump, and an nf_tables batch whose
 * every message is acked.
 */
#ifndef SVMM_NET_NL_H
#define SVMM_NET_NL_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq; /* next sequence number */
};

/* Open and bind a socket on bus (NETLINK_ROUTE, NETLINK_NETFILTER). */
int nl_open(struct nl *nl, int bus);
void nl_close(struct nl *nl);

/* Send one request (its nlmsg_seq already set from nl->seq++) and read
 * the answer: cb (may be NULL) sees each message of a dump. 0 on the ack
 * or the end of the dump; the kernel's negative errno otherwise. */
int nl_request(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* A dump request: like nl_request(), but a dump that a concurrent change
 * interrupted (NLM_F_DUMP_INTR, -EINTR) is asked again, after reset(data)
 * forgets what the callback had gathered (and before the first try). */
int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data,
	    void (*reset)(void *data));

/* Send a batch (nf_tables: begin, messages with NLM_F_ACK, end) of len
 * bytes and read every answer; 0 when all were acked, else the first
 * error the kernel reported (the whole batch is then undone by it). */
int nl_batch(struct nl *nl, const void *buf, size_t len);

#endif
