// SPDX-License-Identifier: Apache-2.0
/* Transport-independent parts of a virtio device. */
#include "devices/virtio/virtio.h"

#include <stdio.h>
#include <string.h>

uint64_t virtio_core_features(void)
{
	return (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |
	       (1ULL << VIRTIO_F_INDIRECT_DESC);
}

void virtio_queue_notify(struct virtio_dev *d, unsigned int q)
{
	if (d->irq && virtq_should_notify(&d->vq[q]))
		d->irq->queue(d->irq_opaque, q);
}

void virtio_dev_broken(struct virtio_dev *d, unsigned int q, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return; /* say it once */
	fprintf(stderr, "svmm: %s: queue %u: guest error: %s; device needs reset\n", d->name, q,
		why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->irq)
		d->irq->config(d->irq_opaque);
}

void virtio_config_copy(void *data, uint32_t off, unsigned int size, const void *cfg,
			uint32_t cfg_size)
{
	memset(data, 0, size);
	if (off < cfg_size)
		memcpy(data, (const uint8_t *)cfg + off,
		       size < cfg_size - off ? size : cfg_size - off);
}
