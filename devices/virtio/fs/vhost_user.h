/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The front-end (VMM) side of the vhost-user protocol: a Unix socket to a
 * back-end process (virtiofsd, ...) that reads and writes the virtqueues
 * itself, in guest memory shared through memfd. We hand it the memory
 * table, the ring addresses (as our own virtual addresses, which the
 * memory table lets it translate) and, per queue, the kick eventfd (the
 * driver's doorbell) and the call eventfd (the back-end's interrupt).
 *
 * Every request that changes state is sent with NEED_REPLY when the
 * back-end offers REPLY_ACK, so a refusal is seen where it happens.
 */
#ifndef SVMM_DEVICES_VIRTIO_FS_VHOST_USER_H
#define SVMM_DEVICES_VIRTIO_FS_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/kvm/memory.h"
#include "guest-agent/err.h"

/* Feature bit in GET_FEATURES: the back-end speaks protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol features we use. */
#define VHOST_USER_PROTOCOL_F_MQ	1ULL
#define VHOST_USER_PROTOCOL_F_REPLY_ACK (1ULL << 3)

struct vhost_user {
	int fd;
	char path[108];
	uint64_t features;	    /* the back-end's virtio features */
	uint64_t protocol_features; /* negotiated */
	uint32_t max_queues;	    /* GET_QUEUE_NUM, or 0 when not asked */
};

/* Connect to the back-end's socket and do the first exchange:
 * GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER.
 * err names the socket and the step that failed. */
int vhost_user_connect(struct vhost_user *vu, const char *path, struct err *err);
void vhost_user_close(struct vhost_user *vu);

int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
/* Regions of mem, with its memfd. -EINVAL when mem->fd is -1. */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *mem);
/* Everything for queue idx: size, base (q->last_avail), ring addresses,
 * kick and call eventfds, then enable it. */
int vhost_user_setup_vring(struct vhost_user *vu, unsigned int idx, const struct virtq *q,
			   int kick_fd, int call_fd);
/* Stop queue idx; *base gets the back-end's next available index. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int idx, uint32_t *base);

#endif
