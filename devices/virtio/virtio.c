// SPDX-License-Identifier: Apache-2.0
/* Transport-independent parts of a virtio device. */
#include "devices/virtio/virtio.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include "vmm/kvm/log.h"

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
	ctr_inc(&d->stats.queue_errors, 1);
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return; /* say it once */
	log_msg(LV_ERROR, d->name, "%s: queue %u: guest error: %s; device needs reset", d->name, q,
		why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->irq)
		d->irq->config(d->irq_opaque);
}

static const struct ctr_desc c_kicks = { "virtio",
					 "notifications",
					 "Kick eventfd wake-ups of a queue (guest notifications)",
					 false,
					 NULL,
					 NULL };
static const struct ctr_desc c_irqs = {
	"virtio", "interrupts", "Queue interrupts svmm raised to the guest", false, NULL, NULL
};
static const struct ctr_desc c_config_irqs = {
	"virtio", "config_interrupts", "Configuration-change interrupts raised", false, NULL, NULL
};
static const struct ctr_desc c_errors = {
	"virtio", "queue_errors", "Guest errors found on the device's queues", false, NULL, NULL
};
static const struct ctr_desc c_needs_reset = {
	"virtio", "needs_reset", "1 while the device is in NEEDS_RESET", true, NULL, NULL
};

void virtio_dev_counters(struct virtio_dev *d, struct ctr_set *out)
{
	for (unsigned int q = 0; q < d->num_queues && q < VIRTIO_MAX_QUEUES; q++) {
		ctr_put(out, &c_kicks, (int)q, ctr_read(&d->stats.kicks[q]));
		ctr_put(out, &c_irqs, (int)q, ctr_read(&d->stats.irqs[q]));
	}
	ctr_put(out, &c_config_irqs, -1, ctr_read(&d->stats.config_irqs));
	ctr_put(out, &c_errors, -1, ctr_read(&d->stats.queue_errors));
	ctr_put(out, &c_needs_reset, -1,
		!!(__atomic_load_n(&d->status, __ATOMIC_RELAXED) & VIRTIO_STATUS_NEEDS_RESET));
	if (d->ops && d->ops->counters)
		d->ops->counters(d, out);
}

void virtio_config_copy(void *data, uint32_t off, unsigned int size, const void *cfg,
			uint32_t cfg_size)
{
	memset(data, 0, size);
	if (off < cfg_size)
		memcpy(data, (const uint8_t *)cfg + off,
		       size < cfg_size - off ? size : cfg_size - off);
}

void virtio_queue_serve(struct virtio_dev *d, unsigned int qi, struct virtq_chain *c,
			unsigned int budget,
			uint32_t (*handle)(void *opaque, struct virtq_chain *c), void *opaque)
{
	struct virtq *q = &d->vq[qi];
	uint16_t before = q->used_idx;
	struct err err;
	int rc;

	do {
		while ((rc = virtq_pop(q, c, &err)) > 0) {
			virtq_push(q, c->head, handle(opaque, c));
			if (budget && --budget == 0) {
				uint64_t one = 1;
				if (write(d->kick_fd[qi], &one, sizeof(one)) != sizeof(one))
					continue; /* cannot come back later: go on now */
				goto out;
			}
		}
		if (rc < 0) {
			virtio_dev_broken(d, qi, err.msg);
			break;
		}
	} while (virtq_enable_notify(q));
out:
	if (q->used_idx != before)
		virtio_queue_notify(d, qi);
}
