/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the libFuzzer targets (tests/fuzz/fuzz_*.c): a reader that
 * takes fields off the input (zeros once it runs out, so every input is a
 * valid one), and a fake guest RAM whose regions are separate heap blocks,
 * so that AddressSanitizer sees any access past a region's end.
 */
#ifndef SVMM_TESTS_FUZZ_FUZZ_H
#define SVMM_TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kvm/memory.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_take(struct fz *z, void *out, size_t len)
{
	size_t k = len < z->n ? len : z->n;
	memcpy(out, z->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	z->p += k;
	z->n -= k;
}

static inline uint8_t fz_u8(struct fz *z)
{
	uint8_t v;
	fz_take(z, &v, sizeof(v));
	return v;
}

static inline uint16_t fz_u16(struct fz *z)
{
	uint16_t v;
	fz_take(z, &v, sizeof(v));
	return v;
}

static inline uint32_t fz_u32(struct fz *z)
{
	uint32_t v;
	fz_take(z, &v, sizeof(v));
	return v;
}

static inline uint64_t fz_u64(struct fz *z)
{
	uint64_t v;
	fz_take(z, &v, sizeof(v));
	return v;
}

/* Up to len bytes of the input, in place; *got says how many. */
static inline const uint8_t *fz_bytes(struct fz *z, size_t len, size_t *got)
{
	const uint8_t *p = z->p;
	*got = len < z->n ? len : z->n;
	z->p += *got;
	z->n -= *got;
	return p;
}

/* Guest RAM: region 0 at guest address 0 (low bytes), and with high > 0 a
 * region 1 at 4 GiB, each its own zeroed heap block. */
#define FZ_HIGH_GPA 0x100000000ULL

static inline void fz_mem_init(struct guest_mem *m, uint64_t low, uint64_t high)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->base = calloc(1, low);
	m->size = low + high;
	m->region[0] = (struct guest_region){ 0, low, m->base };
	m->n_regions = 1;
	if (high) {
		m->region[1] = (struct guest_region){ FZ_HIGH_GPA, high, calloc(1, high) };
		m->n_regions = 2;
	}
	if (!m->base || (high && !m->region[1].hva))
		abort();
}

/* Fill the regions, in order, from the rest of the input. */
static inline void fz_mem_fill(struct guest_mem *m, struct fz *z)
{
	for (unsigned int i = 0; i < m->n_regions; i++) {
		size_t got;
		const uint8_t *p = fz_bytes(z, m->region[i].size, &got);
		memcpy(m->region[i].hva, p, got);
	}
}

static inline void fz_mem_free(struct guest_mem *m)
{
	if (m->n_regions > 1)
		free(m->region[1].hva);
	free(m->base);
	memset(m, 0, sizeof(*m));
}

#endif
