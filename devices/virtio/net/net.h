/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net on a TAP interface: one TAP queue per queue pair (receive
 * queue 2n, transmit queue 2n+1, the control queue last when multiqueue),
 * a 12-byte virtio_net_hdr_v1 passed through to the TAP unchanged, the
 * checksum and segmentation offloads the kernel takes, and mergeable
 * receive buffers. Each queue pair has an I/O thread that sleeps in epoll
 * on its two kicks and on the TAP queue (only while the guest has receive
 * buffers), so nothing spins. With vhost the kernel's vhost-net serves the
 * rx and tx queues instead (vhost_net.h); the control queue stays ours.
 */
#ifndef SVMM_DEVICES_VIRTIO_NET_NET_H
#define SVMM_DEVICES_VIRTIO_NET_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "net/tap.h"
#include "guest-agent/err.h"

#define NET_ID_LEN  64
#define NET_MTU_MIN 68
#define NET_MTU_MAX 65535

/* One device, as the VM makes it from a net_config (vmm/devices.c) that
 * vm_config_validate() has checked against the limits above. */
struct virtio_net_opts {
	char tap[IFNAMSIZ]; /* "" with no tap= and no fd=: the kernel names it */
	bool has_ip;	    /* set the host side's address (mask defaults to /24) */
	uint32_t ip, mask;  /* network byte order */
	bool has_mac, has_host_mac;
	uint8_t mac[6];		 /* the guest's; random locally administered if absent */
	uint8_t host_mac[6];	 /* the TAP's own */
	unsigned int mtu;	 /* 0: leave the TAP's and offer none */
	unsigned int num_queues; /* rx + tx queues, even; default 2 */
	uint32_t queue_size;	 /* default 256 */
	int fds[TAP_MAX_QUEUES]; /* already opened TAP queues (fd=) */
	unsigned int n_fds;
	bool offload_tso, offload_ufo, offload_csum; /* default on */
	bool vhost;				     /* the kernel's vhost-net moves frames */
	char id[NET_ID_LEN];
};

/* Open (or create, or adopt) the TAP, configure its host side and make a
 * device ready for a transport. A TAP created here goes away with the
 * device; one that existed, or was passed as fd=, stays. */
int virtio_net_create(struct virtio_dev **out, const struct virtio_net_opts *o, struct err *err);

/* The TAP's name (for the host-networking code: nftables rules, leases). */
const char *virtio_net_tap_name(const struct virtio_dev *vd);
/* Report the link up or down in the config space and tell the driver. */
void virtio_net_set_link(struct virtio_dev *vd, bool up);

#endif
