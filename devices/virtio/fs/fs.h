/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs as a vhost-user front end: the device (tag, request queues) is
 * ours, the queues are served by a back-end such as virtiofsd over the
 * vhost-user socket, straight from guest memory. So guest RAM must be a
 * shared memfd (`--memory shared=on`).
 *
 * Queue 0 is the high-priority queue, 1..num_queues the request queues.
 * The back-end signals a call eventfd per queue: the queue's MSI-X vector
 * eventfd (an irqfd) when the transport has one (d->irq->queue_fd), so its
 * interrupts reach the guest without us; otherwise one of ours that a
 * thread waits on and raises through d->irq.
 */
#ifndef SVMM_DEVICES_VIRTIO_FS_FS_H
#define SVMM_DEVICES_VIRTIO_FS_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "guest-agent/err.h"

#define FS_TAG_LEN	  36 /* virtio_fs_config.tag: not NUL-terminated when full */
#define FS_PATH_LEN	  108
#define FS_ID_LEN	  64
#define FS_MAX_REQ_QUEUES (VIRTIO_MAX_QUEUES - 1) /* and the hiprio queue */

/* One device, as the VM makes it from an fs_config (vmm/devices.c) that
 * vm_config_validate() has checked against the limits above. */
struct virtio_fs_opts {
	char tag[FS_TAG_LEN + 1];
	char socket[FS_PATH_LEN];
	unsigned int num_queues; /* request queues; default 1 */
	uint32_t queue_size;	 /* default 1024 */
	char id[FS_ID_LEN];
};

/* Connect to the back-end and make a device ready for a transport. mem is
 * the guest RAM the back-end will map: -EINVAL with "virtio-fs needs
 * --memory shared=on" when it has no memfd. */
int virtio_fs_create(struct virtio_dev **out, const struct virtio_fs_opts *o,
		     const struct guest_mem *mem, struct err *err);

#endif
