/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.x, section 2.7), device side.
 *
 * The guest is hostile: every ring address, descriptor address, length,
 * index and chain is checked here before a device sees it. A guest that
 * breaks the rules gets its queue marked broken (virtq_pop then fails with
 * -EIO) and the device asks for a reset; it never gets out-of-bounds access.
 *
 * One thread serves a queue at a time. Ring pointers are resolved once, when
 * the driver enables the queue (guest RAM does not move while a VM runs).
 */
#ifndef SVMM_DEVICES_VIRTIO_QUEUE_H
#define SVMM_DEVICES_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/kvm/memory.h"
#include "guest-agent/err.h"

#define VIRTQ_MAX_SIZE 32768u

/* A queue size a device may offer: a power of two, 2 to VIRTQ_MAX_SIZE. */
static inline bool virtq_size_valid(uint32_t n)
{
	return n >= 2 && n <= VIRTQ_MAX_SIZE && !(n & (n - 1));
}
/* Most segments one chain may have; longer chains are refused. */
#define VIRTQ_MAX_SEGS 1024u

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq {
	/* Set by the transport from the driver's writes. */
	uint16_t size; /* power of two, at most VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Resolved by virtq_enable(). */
	const struct guest_mem *mem;
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, then elems, then avail_event */
	bool ready, broken;
	uint16_t last_avail; /* next available-ring slot to take */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled;  /* used_idx when the driver was last notified */
	bool signalled_valid;
};

/* A descriptor chain taken from the queue: out[] are the segments the
 * device reads (driver to device), in[] those it writes. */
struct virtq_chain {
	uint16_t head;
	unsigned int n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
};

/* Check the ring addresses the driver gave (inside guest RAM, aligned,
 * size a power of two) and resolve them. -EINVAL when they are not. */
int virtq_enable(struct virtq *q, const struct guest_mem *mem);
/* Back to the state after device reset. */
void virtq_reset(struct virtq *q);

/* Take the next available chain into c. Returns 1 with a chain, 0 when the
 * queue is empty, -EIO when the guest broke the rules (the queue is then
 * broken; q->broken is set and the reason is in err if given). */
int virtq_pop(struct virtq *q, struct virtq_chain *c, struct err *err);
/* Give a chain back with `written` bytes written into its in[] segments. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt for what was pushed since the last
 * call (VRING_AVAIL_F_NO_INTERRUPT or, with EVENT_IDX, used_event). */
bool virtq_should_notify(struct virtq *q);
/* Ask for (or stop asking for) kicks: with EVENT_IDX, publish avail_event.
 * Returns true when more buffers arrived meanwhile (so poll again). */
bool virtq_enable_notify(struct virtq *q);

/* Copy helpers over a chain's segments; return the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		  size_t len);

#endif
