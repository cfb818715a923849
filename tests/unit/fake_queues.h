/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's side of several virtqueues, for tests of devices with more
 * than one queue (net, vsock, fs): builds on fake_driver.h's guest RAM and
 * interrupt eventfd. Queue i has its rings in a 64 KiB slot of its own;
 * buffers come from a bump allocator above them. Each chain offered takes
 * descriptors [slot * segs ...] by avail index, so up to size chains may be
 * outstanding per queue.
 */
#ifndef SVMM_TESTS_UNIT_FAKE_QUEUES_H
#define SVMM_TESTS_UNIT_FAKE_QUEUES_H

#include <sys/mman.h>

#include "tests/unit/fake_driver.h"

#define FQ_MAX	     8
#define FQ_RING_BASE 0x10000u
#define FQ_RING_SLOT 0x10000u
#define FQ_BUF_BASE  0x100000u
#define FQ_MAX_SEGS  4

struct fq {
	struct fake_driver *f;
	unsigned int qi;
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t used_seen; /* used entries consumed by fq_wait_used */
};

struct fq_set {
	struct fake_driver f;
	bool shared;
	struct fq q[FQ_MAX];
	unsigned int n;
	uint64_t next_buf;
};

/* Allocate len bytes of guest RAM; returns its guest address. */
static inline uint64_t fq_alloc(struct fq_set *s, uint64_t len)
{
	uint64_t a = s->next_buf ? s->next_buf : FQ_BUF_BASE;
	s->next_buf = (a + len + 63) & ~63ULL;
	if (s->next_buf > FD_RAM_SIZE)
		abort();
	return a;
}

static inline void *fq_ptr(struct fq_set *s, uint64_t gpa)
{
	return s->f.ram + gpa;
}

/* Guest RAM; shared: a memfd mapped MAP_SHARED (for vhost-user back-ends),
 * as guest_mem_alloc makes it with --memory shared=on. */
static inline void fq_init(struct fq_set *s, bool shared)
{
	memset(s, 0, sizeof(*s));
	fd_init(&s->f);
	if (!shared)
		return;
	int fd = memfd_create("fq-guest-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, FD_RAM_SIZE) < 0)
		abort();
	void *p = mmap(NULL, FD_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		abort();
	free(s->f.ram);
	s->f.ram = p;
	s->f.mem.base = p;
	s->f.mem.fd = fd;
	s->f.mem.region[0].hva = p;
	s->shared = true;
}

/* On RAM from fq_init: set up n queues of `size` (at most 256), negotiate
 * `features` (the core's are added) and activate the device. */
static inline int fq_setup(struct fq_set *s, struct virtio_dev *vd, unsigned int n, uint16_t size,
			   uint64_t features)
{
	s->f.vd = vd;
	s->n = n;
	vd->mem = &s->f.mem;
	vd->driver_features = features | virtio_core_features();
	vd->irq = &fd_irq_ops;
	vd->irq_opaque = &s->f;
	for (unsigned int i = 0; i < n; i++) {
		struct fq *q = &s->q[i];
		struct virtq *vq = &vd->vq[i];
		q->f = &s->f;
		q->qi = i;
		q->size = size;
		q->desc = FQ_RING_BASE + i * FQ_RING_SLOT;
		q->avail = q->desc + 0x4000;
		q->used = q->desc + 0x8000;
		vq->size = size;
		vq->desc_gpa = q->desc;
		vq->avail_gpa = q->avail;
		vq->used_gpa = q->used;
		vq->indirect = true;
		vq->event_idx = true;
		if (virtq_enable(vq, &s->f.mem))
			return -1;
		vd->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	vd->status |= VIRTIO_STATUS_DRIVER_OK;
	return vd->ops->activate(vd);
}

/* fq_init (private RAM) and fq_setup. */
static inline int fq_attach(struct fq_set *s, struct virtio_dev *vd, unsigned int n, uint16_t size,
			    uint64_t features)
{
	fq_init(s, false);
	return fq_setup(s, vd, n, size, features);
}

static inline void fq_free(struct fq_set *s)
{
	int kick[FQ_MAX];
	for (unsigned int i = 0; i < s->n; i++)
		kick[i] = s->f.vd->kick_fd[i];
	s->f.vd->ops->free(s->f.vd);
	for (unsigned int i = 0; i < s->n; i++)
		close(kick[i]);
	close(s->f.irq_efd);
	if (s->shared) {
		munmap(s->f.ram, FD_RAM_SIZE);
		close(s->f.mem.fd);
	} else {
		free(s->f.ram);
	}
}

static inline uint16_t *fq_avail(struct fq *q)
{
	return (uint16_t *)(q->f->ram + q->avail);
}

static inline uint16_t *fq_usedp(struct fq *q)
{
	return (uint16_t *)(q->f->ram + q->used);
}

static inline void fq_kick(struct fq *q)
{
	uint64_t one = 1;
	if (write(q->f->vd->kick_fd[q->qi], &one, sizeof(one)) != sizeof(one))
		abort();
}

/* Offer a chain of n segments (gpa, len, writable) without kicking;
 * returns its head. */
static inline uint16_t fq_add(struct fq *q, const uint64_t *gpa, const uint32_t *len,
			      const bool *writable, unsigned int n)
{
	uint16_t *avail = fq_avail(q);
	uint16_t slot = avail[1] % (q->size / FQ_MAX_SEGS);
	uint16_t head = (uint16_t)(slot * FQ_MAX_SEGS);
	struct virtq_desc *d = (struct virtq_desc *)(q->f->ram + q->desc);

	if (n > FQ_MAX_SEGS)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		d[head + i] = (struct virtq_desc){
			gpa[i],
			len[i],
			(uint16_t)((writable[i] ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)(head + i + 1),
		};
	}
	avail[2 + avail[1] % q->size] = head;
	__atomic_store_n(&avail[1], (uint16_t)(avail[1] + 1), __ATOMIC_RELEASE);
	return head;
}

/* One-segment chain, offered and kicked. */
static inline uint16_t fq_offer1(struct fq *q, uint64_t gpa, uint32_t len, bool writable)
{
	uint16_t h = fq_add(q, &gpa, &len, &writable, 1);
	fq_kick(q);
	return h;
}

/* As a Linux driver does before it sleeps: with EVENT_IDX, ask for an
 * interrupt as soon as the used index passes `seen` (used_event). */
static inline void fq_arm(struct fq *q, uint16_t seen)
{
	__atomic_store_n(&fq_avail(q)[2 + q->size], seen, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Wait up to timeout_ms for the next used entry; 0 with (head, len). */
static inline int fq_wait_used(struct fq *q, uint32_t *head, uint32_t *len, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		if (__atomic_load_n(&fq_usedp(q)[1], __ATOMIC_ACQUIRE) != q->used_seen)
			break;
		if (waited >= timeout_ms)
			return -1;
		struct pollfd p = { q->f->irq_efd, POLLIN, 0 };
		if (poll(&p, 1, 10) == 1) {
			uint64_t v;
			if (read(q->f->irq_efd, &v, sizeof(v)) < 0)
				return -1;
		}
	}
	uint32_t *elem = (uint32_t *)(fq_usedp(q) + 2) + 2 * (q->used_seen % q->size);
	*head = elem[0];
	*len = elem[1];
	q->used_seen++;
	return 0;
}

/* Guest address of the buffer behind descriptor `head`. */
static inline uint64_t fq_desc_addr(struct fq *q, uint32_t head)
{
	return ((struct virtq_desc *)(q->f->ram + q->desc))[head].addr;
}

#endif
