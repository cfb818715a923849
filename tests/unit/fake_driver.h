/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's side of one virtqueue, for device unit tests: a fake guest
 * RAM with rings at fixed addresses, descriptor chains offered through the
 * available ring, kicks through the eventfd a transport would bind, and
 * interrupts counted on an eventfd.
 */
#ifndef SVMM_TESTS_UNIT_FAKE_DRIVER_H
#define SVMM_TESTS_UNIT_FAKE_DRIVER_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

#define FD_RAM_SIZE  (4u << 20)
#define FD_QSIZE     16
#define FD_DESC_GPA  0x1000
#define FD_AVAIL_GPA 0x2000
#define FD_USED_GPA  0x3000

struct fake_driver {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtio_dev *vd;
	int irq_efd;
	int config_irqs;
};

static inline void fd_irq_queue(void *opaque, unsigned int q)
{
	struct fake_driver *f = opaque;
	uint64_t one = 1;
	(void)q;
	if (write(f->irq_efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static inline void fd_irq_config(void *opaque)
{
	struct fake_driver *f = opaque;
	f->config_irqs++;
	fd_irq_queue(opaque, 0);
}

static const struct virtio_irq_ops fd_irq_ops = { .queue = fd_irq_queue, .config = fd_irq_config };

static inline void fd_init(struct fake_driver *f)
{
	memset(f, 0, sizeof(*f));
	f->ram = aligned_alloc(4096, FD_RAM_SIZE);
	memset(f->ram, 0, FD_RAM_SIZE);
	f->mem =
		(struct guest_mem){ .base = f->ram, .size = FD_RAM_SIZE, .fd = -1, .n_regions = 1 };
	f->mem.region[0] = (struct guest_region){ 0, FD_RAM_SIZE, f->ram };
	f->irq_efd = eventfd(0, EFD_CLOEXEC);
}

/* Negotiate everything offered, enable queue 0 and activate the device. */
static inline int fd_attach(struct fake_driver *f, struct virtio_dev *vd)
{
	f->vd = vd;
	vd->mem = &f->mem;
	vd->driver_features = vd->features | virtio_core_features();
	vd->irq = &fd_irq_ops;
	vd->irq_opaque = f;
	struct virtq *q = &vd->vq[0];
	q->size = FD_QSIZE;
	q->desc_gpa = FD_DESC_GPA;
	q->avail_gpa = FD_AVAIL_GPA;
	q->used_gpa = FD_USED_GPA;
	q->indirect = true;
	if (virtq_enable(q, &f->mem))
		return -1;
	vd->kick_fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return vd->ops->activate(vd);
}

static inline void fd_free(struct fake_driver *f)
{
	int kick = f->vd->kick_fd[0];
	f->vd->ops->free(f->vd);
	close(kick);
	close(f->irq_efd);
	free(f->ram);
}

static inline struct virtq_desc *fd_desc(struct fake_driver *f)
{
	return (struct virtq_desc *)(f->ram + FD_DESC_GPA);
}

static inline uint16_t *fd_used(struct fake_driver *f)
{
	return (uint16_t *)(f->ram + FD_USED_GPA);
}

/* Offer the chain at head and kick. Returns the used index before. */
static inline uint16_t fd_offer(struct fake_driver *f, uint16_t head)
{
	uint16_t *avail = (uint16_t *)(f->ram + FD_AVAIL_GPA);
	uint16_t before = __atomic_load_n(&fd_used(f)[1], __ATOMIC_ACQUIRE);
	avail[2 + avail[1] % FD_QSIZE] = head;
	__atomic_store_n(&avail[1], avail[1] + 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(f->vd->kick_fd[0], &one, sizeof(one)) != sizeof(one))
		abort();
	return before;
}

/* Wait up to 5 s for an interrupt; returns 1 when one came. */
static inline int fd_wait_irq(struct fake_driver *f)
{
	struct pollfd p = { f->irq_efd, POLLIN, 0 };
	uint64_t v;
	if (poll(&p, 1, 5000) != 1 || read(f->irq_efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return 1;
}

/* Wait until the used index passes `before`; returns the used element's
 * (head, len), or -1 on timeout. */
static inline int fd_wait_used(struct fake_driver *f, uint16_t before, uint32_t *head,
			       uint32_t *len)
{
	for (int tries = 0; tries < 50; tries++) {
		if (__atomic_load_n(&fd_used(f)[1], __ATOMIC_ACQUIRE) != before)
			break;
		struct pollfd p = { f->irq_efd, POLLIN, 0 };
		poll(&p, 1, 100);
	}
	uint64_t v;
	if (read(f->irq_efd, &v, sizeof(v)) != sizeof(v) ||
	    __atomic_load_n(&fd_used(f)[1], __ATOMIC_ACQUIRE) == before)
		return -1;
	uint32_t *elem = (uint32_t *)(fd_used(f) + 2) + 2 * (before % FD_QSIZE);
	*head = elem[0];
	*len = elem[1];
	return 0;
}

#endif
