/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hostile driver for one virtio device on its own I/O threads, for the
 * device targets (fuzz_virtio_blk.c, fuzz_virtio_net.c, fuzz_virtio_vsock.c):
 * guest RAM from fuzz.h, queue i of FZD_QSIZE entries with its descriptor
 * table at FZD_RING(i), the available ring 0x400 and the used ring 0x800
 * above it; everything else in RAM is the input's to fill.
 *
 * Ops: u8 code (low 2 bits: the op, the rest: flags), then
 *   0 RAM: u16 offset (x 4), u8 length, the bytes
 *   1 descriptor (flags % FZD_QSIZE) of queue u8 (% queues): u32 addr,
 *     u32 len, u16 flags, u16 next
 *   2 offer head u8 on queue (flags % queues) and kick it; on a queue the
 *     device consumes (not a receive queue) wait until it took every chain
 *     offered (or broke the queue), at most 200 ms
 *   3 the target's own op (host-side events), given the rest of the input
 */
#ifndef SVMM_TESTS_FUZZ_FUZZ_DEV_H
#define SVMM_TESTS_FUZZ_FUZZ_DEV_H

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"
#include "tests/fuzz/fuzz.h"

#define FZD_RAM	     (256u << 10)
#define FZD_QSIZE    16
#define FZD_RING(i)  (0x1000u * (i))
#define FZD_AVAIL(i) (FZD_RING(i) + 0x400)
#define FZD_USED(i)  (FZD_RING(i) + 0x800)
#define FZD_OPS	     128

struct fzd {
	struct guest_mem mem;
	struct virtio_dev *vd;
	unsigned int nq;
	uint64_t rx_queues; /* bit i: queue i is filled by the device */
	unsigned int irqs;
};

static void fzd_irq_queue(void *opaque, unsigned int q)
{
	struct fzd *f = opaque;
	(void)q;
	__atomic_fetch_add(&f->irqs, 1, __ATOMIC_RELAXED);
}

static void fzd_irq_config(void *opaque)
{
	fzd_irq_queue(opaque, 0);
}

static const struct virtio_irq_ops fzd_irq_ops = { .queue = fzd_irq_queue,
						   .config = fzd_irq_config };

/* Negotiate what features asks of what vd offers, enable nq queues and
 * activate. Returns activate's result. */
static inline int fzd_attach(struct fzd *f, struct virtio_dev *vd, unsigned int nq,
			     uint64_t features)
{
	memset(f, 0, sizeof(*f));
	fz_mem_init(&f->mem, FZD_RAM, 0);
	f->vd = vd;
	f->nq = nq;
	vd->mem = &f->mem;
	vd->driver_features = features & (vd->features | virtio_core_features());
	vd->irq = &fzd_irq_ops;
	vd->irq_opaque = f;
	for (unsigned int i = 0; i < nq; i++) {
		struct virtq *q = &vd->vq[i];
		q->size = FZD_QSIZE;
		q->desc_gpa = FZD_RING(i);
		q->avail_gpa = FZD_AVAIL(i);
		q->used_gpa = FZD_USED(i);
		q->indirect = virtio_has(vd, VIRTIO_F_INDIRECT_DESC);
		q->event_idx = virtio_has(vd, VIRTIO_F_EVENT_IDX);
		if (virtq_enable(q, &f->mem))
			abort();
		vd->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	vd->status |= VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
	return vd->ops->activate(vd);
}

/* Stop the device (its threads first), then free what attach made. */
static inline void fzd_free(struct fzd *f)
{
	int kick[VIRTIO_MAX_QUEUES];
	for (unsigned int i = 0; i < f->nq; i++)
		kick[i] = f->vd->kick_fd[i];
	f->vd->ops->free(f->vd);
	for (unsigned int i = 0; i < f->nq; i++)
		close(kick[i]);
	fz_mem_free(&f->mem);
}

static inline volatile uint16_t *fzd_avail(struct fzd *f, unsigned int qi)
{
	return (volatile uint16_t *)(f->mem.base + FZD_AVAIL(qi));
}

static inline void fzd_kick(struct fzd *f, unsigned int qi)
{
	uint64_t one = 1;
	if (write(f->vd->kick_fd[qi], &one, sizeof(one)) != sizeof(one))
		abort();
}

static inline long long fzd_now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* Until the device took and completed every chain offered on qi, broke the
 * queue, or asked for a reset; at most max_us. (It reads what the device's
 * thread writes: good enough for a fuzzer, which only needs it bounded.) */
static inline void fzd_wait(struct fzd *f, unsigned int qi, long long max_us)
{
	struct virtq *q = &f->vd->vq[qi];
	long long end = fzd_now_us() + max_us;
	do {
		uint16_t avail = __atomic_load_n(fzd_avail(f, qi) + 1, __ATOMIC_ACQUIRE);
		uint16_t last = __atomic_load_n(&q->last_avail, __ATOMIC_ACQUIRE);
		uint16_t used = __atomic_load_n(&q->used_idx, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&q->broken, __ATOMIC_ACQUIRE) ||
		    (__atomic_load_n(&f->vd->status, __ATOMIC_ACQUIRE) &
		     VIRTIO_STATUS_NEEDS_RESET) ||
		    (last == avail && used == last))
			return;
		usleep(20);
	} while (fzd_now_us() < end);
}

static inline void fzd_run(struct fzd *f, struct fz *z, void (*own)(struct fzd *, struct fz *))
{
	for (int k = 0; k < FZD_OPS && z->n; k++) {
		uint8_t code = fz_u8(z), fl = code >> 2;
		switch (code & 3) {
		case 0: {
			uint64_t off = fz_u16(z) * 4ULL;
			size_t n;
			const uint8_t *p = fz_bytes(z, fz_u8(z), &n);
			if (off + n <= FZD_RAM)
				memcpy(f->mem.base + off, p, n);
			break;
		}
		case 1: {
			unsigned int qi = fz_u8(z) % f->nq;
			struct virtq_desc d;
			d.addr = fz_u32(z);
			d.len = fz_u32(z);
			d.flags = fz_u16(z);
			d.next = fz_u16(z);
			memcpy(f->mem.base + FZD_RING(qi) + 16 * (fl % FZD_QSIZE), &d, sizeof(d));
			break;
		}
		case 2: {
			unsigned int qi = fl % f->nq;
			volatile uint16_t *a = fzd_avail(f, qi);
			uint16_t idx = a[1];
			a[2 + idx % FZD_QSIZE] = fz_u8(z);
			__atomic_store_n(&a[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
			fzd_kick(f, qi);
			if (!(f->rx_queues >> qi & 1))
				fzd_wait(f, qi, 200000);
			break;
		}
		case 3:
			if (own)
				own(f, z);
			break;
		}
	}
}

#endif
