// SPDX-License-Identifier: Apache-2.0
/* Guest RAM: allocation, KVM slots, guest-physical to host translation. */
#include "vmm/kvm/memory.h"

#include <errno.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/kvm/kvm.h"
#include "vmm/kvm/layout.h"

#define SZ_2M (2ULL << 20)

static int mem_map(struct guest_mem *m, uint64_t size, bool shared, bool hugepages, int file_fd,
		   bool prefault)
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

	if (file_fd >= 0) {
		/* a snapshot's memory: copy-on-write pages of the file, read as
		 * the guest touches them (or all now with prefault) */
		flags |= prefault ? MAP_POPULATE : 0;
	} else if (shared) {
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
	if (mmap(base, size, PROT_READ | PROT_WRITE, flags, file_fd >= 0 ? file_fd : m->fd, 0) ==
	    MAP_FAILED) {
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
	m->file = file_fd >= 0; /* mincore shows the page cache there, not the guest */
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

int guest_mem_alloc(struct guest_mem *m, uint64_t size, bool shared, bool hugepages)
{
	return mem_map(m, size, shared, hugepages, -1, false);
}

int guest_mem_map_file(struct guest_mem *m, uint64_t size, int fd, bool prefault)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return -EINVAL; /* a mapping past the file's end would SIGBUS */
	return mem_map(m, size, false, false, fd, prefault);
}

#define PAGE 4096u

static bool page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

int guest_mem_save(const struct guest_mem *m, int fd)
{
	const uint64_t chunk = 2ULL << 20; /* pages per mincore() call: 512 */
	unsigned char vec[512];

	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)m->size) < 0)
		return -errno;
	for (uint64_t off = 0; off < m->size; off += chunk) {
		uint64_t len = m->size - off < chunk ? m->size - off : chunk;
		/* a page never touched is not resident: a hole, not read */
		bool have_vec = !m->file && mincore(m->base + off, len, vec) == 0;
		uint64_t run = 0, run_len = 0;
		for (uint64_t p = 0; p < len; p += PAGE) {
			const uint8_t *pg = m->base + off + p;
			bool data = (!have_vec || (vec[p / PAGE] & 1)) && !page_zero(pg);
			if (data && run_len && run + run_len == off + p) {
				run_len += PAGE;
				continue;
			}
			if (run_len) {
				for (uint64_t done = 0; done < run_len;) {
					ssize_t n = pwrite(fd, m->base + run + done, run_len - done,
							   (off_t)(run + done));
					if (n <= 0)
						return n < 0 ? -errno : -EIO;
					done += (uint64_t)n;
				}
				run_len = 0;
			}
			if (data) {
				run = off + p;
				run_len = PAGE;
			}
		}
		for (uint64_t done = 0; done < run_len;) {
			ssize_t n = pwrite(fd, m->base + run + done, run_len - done,
					   (off_t)(run + done));
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			done += (uint64_t)n;
		}
	}
	return 0;
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
