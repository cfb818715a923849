// SPDX-License-Identifier: Apache-2.0
/* Guest RAM: allocation, KVM slots, guest-physical to host translation. */
#include "vmm/kvm/memory.h"

#include <errno.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/kvm/kvm.h"
#include "vmm/kvm/layout.h"

#define SZ_2M (2ULL << 20)

int guest_mem_alloc(struct guest_mem *m, uint64_t size, bool shared, bool hugepages)
{
	int flags = MAP_FIXED | (shared ? MAP_SHARED : MAP_PRIVATE);
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (size < SZ_2M || size % SZ_2M)
		return -EINVAL;
	if (size > (1ULL << 46))
		return -E2BIG;

	/* Reserve 2 MiB more than needed, then place RAM at the first 2 MiB
	 * boundary in it and give back the rest. */
	uint8_t *resv = mmap(NULL, size + SZ_2M, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	uint8_t *base = (uint8_t *)(((uintptr_t)resv + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));

	if (shared) {
		m->fd = memfd_create("svmm-guest-ram", MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0));
		if (m->fd < 0 || ftruncate(m->fd, (off_t)size) < 0) {
			ret = -errno;
			goto fail;
		}
	} else {
		/* hugetlb pages are reserved at mmap time (no MAP_NORESERVE), so
		 * too few of them fail here and not as a SIGBUS later. */
		flags |= MAP_ANONYMOUS | (hugepages ? MAP_HUGETLB : MAP_NORESERVE);
	}
	if (mmap(base, size, PROT_READ | PROT_WRITE, flags, m->fd, 0) == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	if (base > resv)
		munmap(resv, base - resv);
	if (resv + SZ_2M > base)
		munmap(base + size, resv + SZ_2M - base);
	if (!hugepages)
		madvise(base, size, MADV_HUGEPAGE); /* best effort: THP may be off */
	madvise(base, size, MADV_DONTDUMP);

	m->base = base;
	m->size = size;
	uint64_t low = size < LAYOUT_MEM_HOLE_START ? size : LAYOUT_MEM_HOLE_START;
	m->region[0] = (struct guest_region){ .gpa = 0, .size = low, .hva = base };
	m->n_regions = 1;
	if (size > low) {
		m->region[1] = (struct guest_region){ .gpa = LAYOUT_MEM_HOLE_END,
						      .size = size - low,
						      .hva = base + low };
		m->n_regions = 2;
	}
	return 0;
fail:
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	munmap(resv, size + SZ_2M);
	return ret;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int guest_mem_register(const struct guest_mem *m, struct kvm *k)
{
	for (unsigned int i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->region[i];
		int ret = kvm_set_memory(k, i, r->gpa, r->size, r->hva);
		if (ret)
			return ret;
	}
	return 0;
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->n_regions ? m->region[0].size : 0;
}
