/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hybrid vsock muxer (the Unix-socket scheme cloud-hypervisor and
 * Firecracker share): it turns the guest's vsock stream packets into Unix
 * socket connections on the host and back.
 *
 *   guest connects to (CID 2, port P)  ->  connect("PATH_P")
 *   host connects to PATH, writes "CONNECT P\n"  ->  the guest gets a
 *     request to port P from host port 2^30 + n, and the host reads
 *     "OK <2^30 + n>\n" once the guest accepts (closed when it refuses)
 *
 * Flow control is vsock's credit scheme both ways: data from the guest is
 * written to the socket and whatever the socket does not take waits in a
 * per-connection buffer of MUX_BUF_ALLOC bytes (the credit we give), held
 * only while it has data; all of a muxer's buffers together hold at most
 * MUX_MAX_BUFFERED bytes, and a connection that would need more is reset
 * (host listeners that never read cost the VMM 32 MiB, not 1 GiB). Data
 * to the guest is read only while the guest has credit and receive
 * buffers. Nothing blocks: every socket is non-blocking and watched by the
 * muxer's own epoll fd, which the device's thread polls.
 *
 * A REQUEST the guest leaves unanswered, or a connection the host closed
 * whose RST the guest does not send, is reset after a timeout.
 *
 * Not thread-safe: one thread (the device's) drives a muxer.
 */
#ifndef SVMM_DEVICES_VIRTIO_VSOCK_VSOCK_MUX_H
#define SVMM_DEVICES_VIRTIO_VSOCK_VSOCK_MUX_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "guest-agent/err.h"

#define MUX_HOST_CID	 2
#define MUX_BUF_ALLOC	 (256u * 1024) /* credit given to the guest per connection */
#define MUX_MAX_CONNS	 4096
#define MUX_MAX_BUFFERED (128u * MUX_BUF_ALLOC) /* all connection buffers of a muxer */
#define MUX_LOCAL_PORT0	 (1u << 30)		/* first host port of host-initiated connections */

struct vsock_conn;

struct vsock_mux {
	char path[108];
	uint64_t guest_cid;
	int listen_fd;
	bool listen_paused; /* out of fds: not accepting until one closes */
	int ep;		    /* epoll over the listener, the sweep timer and every connection */
	int timer_fd;
	unsigned int n_deadlines;
	struct vsock_conn **hash;
	unsigned int n_conns;
	size_t buffered; /* bytes of connection buffers allocated */
	uint32_t next_local_port;
	/* connections with something for the guest, in arrival order */
	struct vsock_conn *rx_head, *rx_tail;
	/* RSTs for packets that match no connection */
	struct virtio_vsock_hdr stray[64];
	unsigned int n_stray;
	/* counters (the driving thread writes, ctr_bump; others read):
	 * connections established either way, refused (nobody listens on
	 * the host, or the guest answered a host's CONNECT with RST), reset by
	 * svmm (a broken rule, a timeout, a full budget); payload bytes from the
	 * guest to the host (tx) and from the host to the guest (rx) */
	uint64_t conns_opened, conns_refused, conns_reset, tx_bytes, rx_bytes;
};

/* Bind the host listener at path (a stale socket file left by a killed
 * VMM is replaced; a live one, or another kind of file, is an error). */
int vsock_mux_init(struct vsock_mux *m, const char *path, uint64_t guest_cid, struct err *err);
/* Close every connection and the listener; unlink the path. */
void vsock_mux_close(struct vsock_mux *m);
/* Forget every connection (device reset); the listener stays. */
void vsock_mux_reset(struct vsock_mux *m);

/* The epoll fd to wait on; then call vsock_mux_poll. */
static inline int vsock_mux_fd(const struct vsock_mux *m)
{
	return m->ep;
}
/* Handle whatever the host sockets have ready (never blocks). */
void vsock_mux_poll(struct vsock_mux *m);

/* A packet from the guest (its transmit queue): header and payload. */
void vsock_mux_from_guest(struct vsock_mux *m, const struct virtio_vsock_hdr *h,
			  const struct iovec *payload, unsigned int n);
/* Whether something waits for the guest's receive queue. */
bool vsock_mux_pending(const struct vsock_mux *m);
/* Write the next packet for the guest into a receive buffer (header then
 * payload). Returns the bytes written, 0 when nothing could be produced. */
size_t vsock_mux_to_guest(struct vsock_mux *m, const struct iovec *in, unsigned int n);

#endif
