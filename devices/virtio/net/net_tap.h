/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TAP interfaces for virtio-net: open or create one (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, plus IFF_MULTI_QUEUE for several queue pairs), or adopt
 * fds someone else opened; set the host side's address, netmask, MAC and
 * MTU with plain ioctls, and bring it up.
 *
 * A TAP created here is not persistent: the kernel removes it when its last
 * queue fd is closed. One that existed before (persistent, made by `ip
 * tuntap add` or by whoever passed the fds) stays.
 */
#ifndef SVMM_DEVICES_VIRTIO_NET_NET_TAP_H
#define SVMM_DEVICES_VIRTIO_NET_NET_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#define TAP_MAX_QUEUES 7 /* queue pairs: 2 * 7 + ctrl fits VIRTIO_MAX_QUEUES */

struct tap {
	char name[IFNAMSIZ];
	int fd[TAP_MAX_QUEUES];
	unsigned int n_fds;
	bool created;		 /* the interface did not exist before we opened it */
	unsigned int offload_ok; /* TUN_F_* flags the kernel accepts */
};

/* Open n_queues queues of TAP `name` (created when absent; NULL or "" lets
 * the kernel pick "tapN"). The fds are non-blocking, close-on-exec, with a
 * 12-byte virtio_net_hdr_v1. err names the interface and the problem. */
int net_tap_open(struct tap *t, const char *name, unsigned int n_queues, char *err,
		 unsigned int errlen);
/* Adopt already opened TAP queue fds (taken over: tap_close closes them).
 * Checks each is a TAP with IFF_VNET_HDR and that they are one interface. */
int net_tap_adopt(struct tap *t, const int *fds, unsigned int n, char *err, unsigned int errlen);
void net_tap_close(struct tap *t);

/* TUN_F_* offloads on every queue: what the reader (the guest) can take. */
int net_tap_set_offload(struct tap *t, unsigned int tun_flags);

/* Host-side configuration by interface name; 0 or negative errno. */
int net_tap_set_ipv4(const char *name, uint32_t addr_be, uint32_t mask_be);
int net_tap_set_mac(const char *name, const uint8_t mac[6]);
int net_tap_set_mtu(const char *name, unsigned int mtu);
int net_tap_get_mtu(const char *name, unsigned int *mtu);
int net_tap_set_up(const char *name);

#endif
