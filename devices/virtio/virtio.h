/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract between a virtio device and its transport.
 *
 * A device (blk, rng, net, ...) fills a struct virtio_dev and an ops table;
 * it never sees the transport. The transport (virtio-pci) negotiates
 * features, sets up queues from the driver's writes, and calls activate()
 * at DRIVER_OK and reset() when the driver resets the device. Each queue
 * has a kick eventfd (bound to the notify address with ioeventfd) that the
 * device's I/O thread waits on, and interrupts go back through the
 * transport's irq callbacks: under KVM a write to the vector's eventfd, an
 * irqfd, which a back end outside svmm may also be handed (queue_fd).
 */
#ifndef SVMM_DEVICES_VIRTIO_VIRTIO_H
#define SVMM_DEVICES_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/kvm/counters.h"

/* Device types (virtio 1.x section 5). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_VSOCK	  19
#define VIRTIO_ID_FS	  26

/* Feature bits the core handles. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128

#define VIRTIO_MAX_QUEUES 16

struct virtio_dev;
struct virtio_gate;
struct snap_w;
struct snap_r;
struct err;

struct virtio_dev_ops {
	/* DRIVER_OK: queues are enabled; start serving them. */
	int (*activate)(struct virtio_dev *d);
	/* Driver reset: stop serving queues and forget in-flight requests. */
	void (*reset)(struct virtio_dev *d);
	/* Device-specific configuration space; offsets are checked against
	 * config_size by the transport. config_write may be NULL (read-only). */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *data, unsigned int size);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data,
			     unsigned int size);
	/* Release everything at VM teardown. */
	void (*free)(struct virtio_dev *d);
	/* Optional: put the device's own counters (vmm/kvm/counters.h) into
	 * out's current group; any thread, while the device exists. */
	void (*counters)(struct virtio_dev *d, struct ctr_set *out);
	/* vm.snapshot, the VM paused (optional: nothing of its own to save).
	 * Records go under "PFX.dev.*"; a device that cannot be saved answers
	 * -ENOTSUP with err saying why. Called on the API thread while the
	 * device's I/O threads wait at the gate. */
	int (*save)(struct virtio_dev *d, struct snap_w *w, const char *pfx, struct err *err);
	/* Restore (optional): after the transport's state is back (queues
	 * enabled, indices restored, MSI-X routed), before the activation, with
	 * the vCPUs stopped. r is hostile: check what save wrote. */
	int (*restore)(struct virtio_dev *d, const struct snap_r *r, const char *pfx,
		       struct err *err);
};

/* Filled by the transport: how a device raises an interrupt. */
struct virtio_irq_ops {
	void (*queue)(void *opaque, unsigned int q);
	void (*config)(void *opaque);
	/* From DRIVER_OK to reset: an eventfd whose every write interrupts
	 * the driver for queue q as queue() does, or -1 (no vector, or the
	 * transport has no such fd). */
	int (*queue_fd)(void *opaque, unsigned int q);
};

struct virtio_dev {
	/* Set by the device before it is given to a transport. */
	const char *name;
	uint16_t device_id;
	uint64_t features; /* device features; the core adds VERSION_1, EVENT_IDX, INDIRECT */
	uint32_t config_size;
	unsigned int num_queues;
	uint16_t queue_size_max;
	const struct virtio_dev_ops *ops;
	void *priv;

	/* Set by the VM before it gives the device to a transport: the gate
	 * the device's I/O threads pass (devices/virtio/loop.h, vm.pause), or
	 * NULL for none. */
	struct virtio_gate *gate;

	/* Set by the device's save (snapshot), cleared by the transport once
	 * it has used them: per queue, how many chains the device took off
	 * the available ring and still holds unanswered (an empty receive
	 * buffer, a frame waiting for more buffers), the last it took. The
	 * snapshot records the next avail index that many earlier, so the
	 * restored device takes those buffers again instead of losing them. */
	uint16_t snap_held[VIRTIO_MAX_QUEUES];
	/* Managed by the transport. */
	const struct guest_mem *mem;
	uint64_t driver_features;
	uint8_t status;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES]; /* eventfds, -1 when absent */
	const struct virtio_irq_ops *irq;
	void *irq_opaque;

	/* Counted by the core, the I/O loops and the transport (ctr_inc):
	 * kick eventfd wake-ups per queue (the driver's notifications, and a
	 * device's own re-kick after its budget), interrupts svmm raised per
	 * queue and for configuration changes, guest errors on queues. What a
	 * back end outside svmm (vhost-net, virtiofsd) is kicked with or
	 * signals through an irqfd is not seen here. */
	struct virtio_stats {
		uint64_t kicks[VIRTIO_MAX_QUEUES];
		uint64_t irqs[VIRTIO_MAX_QUEUES];
		uint64_t config_irqs;
		uint64_t queue_errors;
	} stats;
};

/* Features every device offers on top of its own. */
uint64_t virtio_core_features(void);
static inline bool virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return d->driver_features & (1ULL << bit);
}

/* After pushing used buffers on queue q: interrupt the driver if it wants. */
void virtio_queue_notify(struct virtio_dev *d, unsigned int q);
/* The guest broke the rules on a queue: log why, set NEEDS_RESET and raise a
 * configuration interrupt (virtio 1.x 2.1.2). */
void virtio_dev_broken(struct virtio_dev *d, unsigned int q, const char *why);

/* The core's counters of d (per queue: notifications, interrupts; queue
 * errors, NEEDS_RESET) then the device's own, into out's current group. */
void virtio_dev_counters(struct virtio_dev *d, struct ctr_set *out);

/* Serve the driver-to-device chains of queue qi: handle() each one (it
 * returns the bytes it wrote into the chain), push it, and re-enable kicks
 * once the queue is empty. After `budget` chains (0: no limit) it stops and
 * kicks the queue's own eventfd, so the device's thread comes back after its
 * other queues had a turn. Interrupts the driver if it wants. c is scratch. */
void virtio_queue_serve(struct virtio_dev *d, unsigned int qi, struct virtq_chain *c,
			unsigned int budget,
			uint32_t (*handle)(void *opaque, struct virtq_chain *c), void *opaque);

/* config_read helper: copy [off, off+size) of a device's config structure
 * of cfg_size bytes into data, zeros past its end. */
void virtio_config_copy(void *data, uint32_t off, unsigned int size, const void *cfg,
			uint32_t cfg_size);

#endif
