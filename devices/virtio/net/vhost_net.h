/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel's vhost-net as the data path of one virtio-net queue pair
 * (`--net …,vhost=on`): the TAP queue is handed to a vhost worker thread,
 * which reads and writes the guest's rx and tx rings itself, is woken by
 * the queues' kick eventfds (ioeventfds) and interrupts the guest through
 * call eventfds (irqfds). svmm stays out of the data path: it only sets
 * the rings up at DRIVER_OK and tears them down at reset.
 *
 * The TAP keeps the 12-byte virtio_net_hdr_v1 (vhost passes it through),
 * so offloads are negotiated on the TAP exactly as without vhost.
 */
#ifndef SVMM_DEVICES_VIRTIO_NET_VHOST_NET_H
#define SVMM_DEVICES_VIRTIO_NET_VHOST_NET_H

#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/kvm/memory.h"

#define VHOST_NET_DEV "/dev/vhost-net"

/* The feature bits vhost-net must serve for svmm's virtio-net (the ring
 * features and mergeable buffers); the rest are the TAP's. */
uint64_t vhost_net_ring_features(void);

/* Whether this host's vhost-net serves what svmm's virtio-net offers: 0,
 * -ENOENT/-EACCES (no usable /dev/vhost-net) or -ENOTSUP (it lacks a ring
 * feature); *features gets what it offers. */
int vhost_net_probe(uint64_t *features);

/* One queue pair on vhost: queue 0 receives, 1 transmits. */
struct vhost_net_pair {
	struct virtq *vq[2];
	int kick[2], call[2];
	int tap_fd;
};

/* Start a worker for one pair with the features the driver took (only the
 * ring bits go to vhost) on guest memory mem: a new /dev/vhost-net fd in
 * *fd, which stop() closes. Negative errno with nothing left open. */
int vhost_net_start(int *fd, const struct vhost_net_pair *p, uint64_t driver_features,
		    const struct guest_mem *mem);
/* Detach the TAP, stop the worker, close the fd; -1 is a no-op. */
void vhost_net_stop(int *fd);

#endif
