// SPDX-License-Identifier: Apache-2.0
/* Split virtqueues, device side, with every guest value checked. */
#include "devices/virtio/queue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1

/* Byte sizes of the three parts (virtio 1.x 2.7). */
static uint64_t desc_bytes(uint16_t n)
{
	return 16ULL * n;
}
static uint64_t avail_bytes(uint16_t n)
{
	return 6 + 2ULL * n;
}
static uint64_t used_bytes(uint16_t n)
{
	return 6 + 8ULL * n;
}

int virtq_enable(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t n = q->size;

	q->ready = false;
	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	q->desc = guest_mem_ptr(mem, q->desc_gpa, desc_bytes(n));
	q->avail = guest_mem_ptr(mem, q->avail_gpa, avail_bytes(n));
	q->used = guest_mem_ptr(mem, q->used_gpa, used_bytes(n));
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	q->mem = mem;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int broken(struct virtq *q, struct err *err, const char *fmt, ...)
{
	q->broken = true;
	va_list ap;
	va_start(ap, fmt);
	int rc = err_vset(err, EIO, fmt, ap);
	va_end(ap);
	return rc;
}

/* Map one descriptor's buffer into the chain. */
static int add_seg(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d,
		   struct err *err)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;

	if (!writable && c->n_in)
		return broken(q, err, "readable descriptor after a writable one");
	if (c->n_out + c->n_in >= VIRTQ_MAX_SEGS)
		return broken(q, err, "chain longer than %u segments", VIRTQ_MAX_SEGS);
	if (!d->len)
		return 0; /* nothing to map; harmless */
	void *p = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!p)
		return broken(q, err, "buffer 0x%llx+0x%x is outside guest memory",
			      (unsigned long long)d->addr, d->len);
	if (writable) {
		c->in[c->n_in++] = (struct iovec){ p, d->len };
		c->in_len += d->len;
	} else {
		c->out[c->n_out++] = (struct iovec){ p, d->len };
		c->out_len += d->len;
	}
	return 0;
}

/* Walk an indirect table (virtio 1.x 2.7.5.3). */
static int walk_indirect(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d,
			 struct err *err)
{
	if (!q->indirect)
		return broken(q, err, "indirect descriptor without INDIRECT_DESC");
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return broken(q, err, "descriptor has both INDIRECT and NEXT");
	if (!d->len || d->len % sizeof(struct virtq_desc) ||
	    d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
		return broken(q, err, "indirect table length %u is invalid", d->len);
	const uint8_t *table = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!table)
		return broken(q, err, "indirect table 0x%llx+0x%x is outside guest memory",
			      (unsigned long long)d->addr, d->len);
	uint32_t n = d->len / sizeof(struct virtq_desc), i = 0;
	for (uint32_t steps = 0;; steps++) {
		if (steps >= n)
			return broken(q, err, "indirect chain loops");
		struct virtq_desc e;
		memcpy(&e, table + i * sizeof(e), sizeof(e)); /* may be unaligned */
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, err, "nested indirect descriptor");
		int ret = add_seg(q, c, &e, err);
		if (ret)
			return ret;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return broken(q, err, "indirect next %u beyond table of %u", e.next, n);
		i = e.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c, struct err *err)
{
	if (!q->ready || q->broken)
		return q->broken ? -EIO : 0;

	uint16_t avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	uint16_t pending = avail_idx - q->last_avail;
	if (!pending)
		return 0;
	if (pending > q->size)
		return broken(q, err, "available index moved by %u on a queue of %u", pending,
			      q->size);

	uint16_t head = q->avail[2 + q->last_avail % q->size];
	if (head >= q->size)
		return broken(q, err, "head index %u beyond queue size %u", head, q->size);
	q->last_avail++;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	uint16_t i = head;
	for (uint32_t steps = 0;; steps++) {
		if (steps >= q->size)
			return broken(q, err, "descriptor chain loops");
		struct virtq_desc d = q->desc[i];
		int ret = (d.flags & VIRTQ_DESC_F_INDIRECT) ? walk_indirect(q, c, &d, err)
							    : add_seg(q, c, &d, err);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (d.next >= q->size)
			return broken(q, err, "next index %u beyond queue size %u", d.next,
				      q->size);
		i = d.next;
	}
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	volatile struct virtq_used_elem *ring = (volatile struct virtq_used_elem *)(q->used + 2);

	ring[q->used_idx % q->size].id = head;
	ring[q->used_idx % q->size].len = written;
	q->used_idx++;
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
	/* The used index must be visible before we read the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(q->avail[0] & VRING_AVAIL_F_NO_INTERRUPT);

	uint16_t old = q->signalled, new = q->used_idx;
	bool valid = q->signalled_valid;
	q->signalled = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	uint16_t event = q->avail[2 + q->size]; /* used_event */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (q->event_idx)
		q->used[2 + 4 * q->size] = q->last_avail; /* avail_event */
	else
		q->used[0] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE) != q->last_avail;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t chunk = iov[i].iov_len - skip;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

size_t buf_to_iov(const struct iovec *iov, unsigned int n, size_t skip, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t chunk = iov[i].iov_len - skip;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}
