/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TAP layer: what virtio-net's back end and `svmm net` share. A TAP is
 * opened through /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a
 * 12-byte virtio_net_hdr_v1 (IFF_MULTI_QUEUE for several queues), or adopted
 * from fds someone else opened; offloads are set on every queue, and the
 * host side's address, MAC, MTU and link state by name with plain ioctls.
 *
 * A persistent TAP outlives its fds, so a VMM can open it by name later
 * (rtnl_link_del() removes it). Otherwise one created here goes away with
 * its last queue fd; one that existed before stays. Errors are negative
 * errno, with a sentence in err that names the interface and the problem.
 */
#ifndef SVMM_NET_TAP_H
#define SVMM_NET_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "guest-agent/err.h"

#define TAP_MAX_QUEUES 7 /* virtio-net's 2 * 7 queues + ctrl fit VIRTIO_MAX_QUEUES */

struct tap {
	char name[IFNAMSIZ];
	int fd[TAP_MAX_QUEUES];
	unsigned int n_fds;
	bool created;		 /* the interface did not exist before we opened it */
	unsigned int offload_ok; /* TUN_F_* flags the kernel accepts */
};

/* A usable interface name: 1..15 bytes, no '/', ':', whitespace, not "." or "..". */
bool tap_name_valid(const char *name);

/* Open n_queues queues of TAP `name` (created when absent; NULL or "" lets
 * the kernel pick "tapN"); persist keeps the interface after the last fd
 * closes. The fds are non-blocking and close-on-exec. */
int tap_open(struct tap *t, const char *name, unsigned int n_queues, bool persist, struct err *err);
/* Adopt already opened TAP queue fds (taken over: tap_close closes them).
 * Checks each is a TAP with IFF_VNET_HDR and that they are one interface. */
int tap_adopt(struct tap *t, const int *fds, unsigned int n, struct err *err);
void tap_close(struct tap *t);

/* TUN_F_* offloads on every queue: what the reader (the guest) can take. */
int tap_set_offload(struct tap *t, unsigned int tun_flags);

/* Host-side configuration by interface name; 0 or negative errno. */
int tap_set_ipv4(const char *name, uint32_t addr_be, uint32_t mask_be);
int tap_set_mac(const char *name, const uint8_t mac[6]);
int tap_set_mtu(const char *name, unsigned int mtu);
int tap_get_mtu(const char *name, unsigned int *mtu);
int tap_set_up(const char *name);

#endif
