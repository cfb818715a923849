// SPDX-License-Identifier: Apache-2.0
/*
 * The split virtqueue walk (devices/virtio/queue.c) against a hostile
 * driver. Input: queue size, the three ring addresses, negotiated features,
 * then the guest RAM's bytes (8 KiB low, 4 KiB at 4 GiB). Every chain is
 * popped, its segments read and written in full (AddressSanitizer checks
 * each byte is inside a region), and pushed back, until the queue is empty
 * or broken.
 */
#include <errno.h>

#include "devices/virtio/queue.h"
#include "tests/fuzz/fuzz.h"

#define LOW_RAM	 8192u
#define HIGH_RAM 4096u
#define MAX_POPS 256

static struct virtq_chain chain;
static uint8_t scratch[LOW_RAM + HIGH_RAM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct guest_mem mem;
	struct virtq q;

	virtq_reset(&q);
	q.size = fz_u16(&z);
	q.desc_gpa = fz_u64(&z);
	q.avail_gpa = fz_u64(&z);
	q.used_gpa = fz_u64(&z);
	uint8_t flags = fz_u8(&z);
	q.event_idx = flags & 1;
	q.indirect = flags & 2;
	size_t skip = fz_u8(&z);
	fz_mem_init(&mem, LOW_RAM, (flags & 4) ? HIGH_RAM : 0);
	fz_mem_fill(&mem, &z);

	if (virtq_enable(&q, &mem) == 0) {
		struct err err = { 0 };
		int pops = 0, rc = 0;
		do {
			while (pops < MAX_POPS && (rc = virtq_pop(&q, &chain, &err)) > 0) {
				pops++;
				if (chain.head >= q.size || chain.n_out > VIRTQ_MAX_SEGS ||
				    chain.n_in > VIRTQ_MAX_SEGS)
					abort();
				size_t got = iov_to_buf(chain.out, chain.n_out, skip, scratch,
							sizeof(scratch));
				memset(scratch, 0xa5, sizeof(scratch));
				size_t put = buf_to_iov(chain.in, chain.n_in, skip, scratch,
							sizeof(scratch));
				if (got > chain.out_len || put > chain.in_len)
					abort();
				virtq_push(&q, chain.head, (uint32_t)put);
				virtq_should_notify(&q);
			}
			if (rc < 0 && (rc != -EIO || !q.broken || !err.code))
				abort();
		} while (rc >= 0 && pops < MAX_POPS && virtq_enable_notify(&q));
		virtq_should_notify(&q);
	}
	fz_mem_free(&mem);
	return 0;
}
