// SPDX-License-Identifier: Apache-2.0
/* VFIO's pure helpers (vfio.h): what the physical config space, VFIO's
 * capability chains and the IOMMU's ranges say, checked before use. */
#include "devices/vfio/vfio.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* --- pure helpers ------------------------------------------------------- */

unsigned int vfio_cfg_cap(const uint8_t *cfg, size_t len, uint8_t id)
{
	unsigned int p, hops = 0;

	if (len < 0x40 || !(get16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (p = cfg[PCI_CAPABILITY_LIST] & ~3u; p; p = cfg[p + 1] & ~3u) {
		if (p < 0x40 || p + 2 > len || ++hops > 48)
			return 0; /* malformed: out of the space, or a loop */
		if (cfg[p] == id)
			return p;
	}
	return 0;
}

unsigned int vfio_cfg_msix(const uint8_t *cfg, size_t len, struct pci_dev_info *info)
{
	unsigned int p = vfio_cfg_cap(cfg, len, PCI_CAP_ID_MSIX);

	if (!p || p + 12 > len)
		return 0;
	uint16_t ctl = get16(cfg, p + 2);
	uint32_t table = get32(cfg, p + 4), pba = get32(cfg, p + 8);
	info->msix_vectors = (uint16_t)((ctl & 0x7FF) + 1);
	info->msix_bar = (uint8_t)(table & 7);
	info->msix_table_off = table & ~7u;
	info->msix_pba_off = pba & ~7u;
	if ((pba & 7) != (table & 7)) {
		/* svmm's MSI-X keeps table and PBA in one BAR */
		info->msix_vectors = 0;
		return 0;
	}
	return p;
}

int vfio_cfg_info(const uint8_t *cfg, size_t len, const uint64_t sizes[PCI_NUM_BARS],
		  struct pci_dev_info *info, struct err *err)
{
	memset(info, 0, sizeof(*info));
	if (len < 0x40)
		return err_set(err, EINVAL, "config space: %zu bytes, a header is 64", len);
	if ((cfg[PCI_HEADER_TYPE] & 0x7F) != 0)
		return err_set(err, EINVAL, "header type %#x: not an endpoint (a bridge?)",
			       cfg[PCI_HEADER_TYPE]);
	info->vendor_id = get16(cfg, PCI_VENDOR_ID);
	info->device_id = get16(cfg, PCI_DEVICE_ID);
	info->revision = cfg[PCI_CLASS_REVISION];
	info->class_code = get32(cfg, PCI_CLASS_REVISION) >> 8;
	info->subsys_vendor_id = get16(cfg, PCI_SUBSYSTEM_VENDOR_ID);
	info->subsys_id = get16(cfg, PCI_SUBSYSTEM_ID);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t lo = get32(cfg, PCI_BAR0 + 4 * i);
		struct pci_bar_info *b = &info->bars[i];
		uint64_t size = sizes[i];

		if (!size)
			continue;
		if (!pow2(size))
			return err_set(err, EINVAL, "BAR %u: size %llu is not a power of two", i,
				       (unsigned long long)size);
		if (lo & 1) {
			if (size < 4 || size > 256)
				return err_set(
					err, EINVAL,
					"BAR %u: an I/O BAR of %llu bytes (svmm takes 4..256)", i,
					(unsigned long long)size);
			b->kind = PCI_BAR_IO;
			b->size = size;
			continue;
		}
		b->prefetchable = lo & 8;
		b->size = size < 16 ? 16 : size;
		if (((lo >> 1) & 3) == 2) {
			if (i == PCI_NUM_BARS - 1)
				return err_set(err, EINVAL, "BAR 5: a 64-bit BAR in the last slot");
			b->kind = PCI_BAR_MEM64;
			i++; /* the upper half */
		} else {
			if (size > (1ull << 31))
				return err_set(err, EINVAL, "BAR %u: a 32-bit BAR of %llu bytes", i,
					       (unsigned long long)size);
			b->kind = PCI_BAR_MEM32;
		}
	}
	return 0;
}

uint16_t vfio_cmd_forward(uint16_t guest, uint16_t phys)
{
	const uint16_t fwd =
		PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;

	return (uint16_t)((phys & ~fwd) | (guest & fwd));
}

bool vfio_iova_usable(const struct vfio_usable_range *r, unsigned int n, uint64_t gpa,
		      uint64_t size)
{
	if (!n)
		return true;
	if (!size || gpa + size - 1 < gpa)
		return false;
	for (unsigned int i = 0; i < n; i++)
		if (gpa >= r[i].start && gpa + size - 1 <= r[i].end)
			return true;
	return false;
}

int vfio_memlock_check(uint64_t need, uint64_t limit, bool cap_ipc_lock, struct err *err)
{
	/* need in KiB, rounded up without (need + 1023) wrapping near 2^64
	 * (it asked for "at least 0 KiB"; found by tests/fuzz/fuzz_vfio.c) */
	const uint64_t need_kib = (need >> 10) + ((need & 1023) != 0);

	if (cap_ipc_lock || limit == (uint64_t)RLIM_INFINITY || need <= limit)
		return 0;
	return err_set(err, ENOMEM,
		       "VFIO pins all guest RAM (%llu MiB) but RLIMIT_MEMLOCK is %llu KiB: raise "
		       "it (ulimit -l, LimitMEMLOCK=, prlimit --memlock) to at least %llu KiB, or "
		       "give svmm CAP_IPC_LOCK",
		       (unsigned long long)(need >> 20), (unsigned long long)(limit >> 10),
		       (unsigned long long)need_kib);
}

int vfio_bar_pieces(uint64_t bar_size, uint64_t page, const struct vfio_range *areas,
		    unsigned int n_areas, const struct vfio_range *holes, unsigned int n_holes,
		    struct vfio_range *out, unsigned int max)
{
	const struct vfio_range whole = { 0, bar_size };
	const uint64_t mask = page - 1;
	unsigned int n = 0;

	if (!pow2(page) || bar_size > (1ull << 63))
		return -EINVAL;
	if (!areas) {
		areas = &whole;
		n_areas = 1;
	}
	for (unsigned int a = 0; a < n_areas; a++) {
		uint64_t cur = areas[a].off, end;

		if (cur >= bar_size || !areas[a].size)
			continue;
		end = areas[a].size > bar_size - cur ? bar_size : cur + areas[a].size;
		cur = (cur + mask) & ~mask;
		end &= ~mask;
		while (cur < end) {
			uint64_t stop = end;
			bool skipped = false;

			for (unsigned int h = 0; h < n_holes; h++) {
				uint64_t hs, he;

				if (!holes[h].size || holes[h].off >= bar_size)
					continue;
				hs = holes[h].off & ~mask;
				he = holes[h].size > bar_size - holes[h].off
					     ? bar_size
					     : holes[h].off + holes[h].size;
				he = (he + mask) & ~mask;
				if (hs <= cur && cur < he) {
					cur = he; /* inside a hole's pages: past them */
					skipped = true;
				} else if (hs > cur && hs < stop) {
					stop = hs;
				}
			}
			if (skipped)
				continue;
			if (n == max)
				return -ENOSPC;
			out[n++] = (struct vfio_range){ cur, stop - cur };
			cur = stop;
		}
	}
	/* in offset order (sparse areas need not be), none overlapping */
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j && out[j - 1].off > out[j].off; j--) {
			struct vfio_range t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	for (unsigned int i = 1; i < n; i++)
		if (out[i - 1].off + out[i - 1].size > out[i].off)
			return -EINVAL;
	return (int)n;
}

/* Field of struct type at off in a kernel-filled reply (the caller has
 * checked that it lies inside): copied out, so that off need not be aligned. */
#define REPLY_GET(buf, off, type, field)                                                         \
	({                                                                                       \
		__typeof__(((type *)0)->field) v_;                                               \
		memcpy(&v_, (const uint8_t *)(buf) + (off) + offsetof(type, field), sizeof(v_)); \
		v_;                                                                              \
	})

int vfio_region_sparse_parse(const void *buf, size_t len, struct vfio_range *areas, unsigned int *n,
			     unsigned int max)
{
	typedef struct vfio_region_info ri_t;
	typedef struct vfio_info_cap_header cap_t;
	typedef struct vfio_region_info_cap_sparse_mmap sp_t;
	typedef struct vfio_region_sparse_mmap_area area_t;

	*n = 0;
	if (len < sizeof(ri_t) || !(REPLY_GET(buf, 0, ri_t, flags) & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	for (uint64_t off = REPLY_GET(buf, 0, ri_t, cap_offset), hops = 0;
	     off >= sizeof(ri_t) && off + sizeof(cap_t) <= len && hops < 64; hops++) {
		if (REPLY_GET(buf, off, cap_t, id) == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			if (off + sizeof(sp_t) > len)
				return -EINVAL;
			uint32_t k = REPLY_GET(buf, off, sp_t, nr_areas);
			if (off + sizeof(sp_t) + (uint64_t)k * sizeof(area_t) > len)
				return -EINVAL;
			if (k > max)
				return -ENOSPC;
			for (uint32_t i = 0; i < k; i++) {
				size_t a = off + sizeof(sp_t) + i * sizeof(area_t);
				areas[i] = (struct vfio_range){ REPLY_GET(buf, a, area_t, offset),
								REPLY_GET(buf, a, area_t, size) };
			}
			*n = k;
			return 1;
		}
		off = REPLY_GET(buf, off, cap_t, next);
	}
	return 0;
}

int vfio_iova_ranges_parse(const void *buf, size_t len, struct vfio_usable_range **out,
			   unsigned int *n)
{
	typedef struct vfio_iommu_type1_info info_t;
	typedef struct vfio_info_cap_header cap_t;
	typedef struct vfio_iommu_type1_info_cap_iova_range cr_t;
	typedef struct vfio_iova_range r_t;

	*out = NULL;
	*n = 0;
	if (len < sizeof(info_t) || !(REPLY_GET(buf, 0, info_t, flags) & VFIO_IOMMU_INFO_CAPS) ||
	    REPLY_GET(buf, 0, info_t, argsz) < sizeof(info_t))
		return 0;
	for (uint64_t off = REPLY_GET(buf, 0, info_t, cap_offset), hops = 0;
	     off && off + sizeof(cap_t) <= len && hops < 64; hops++) {
		if (REPLY_GET(buf, off, cap_t, id) == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(cr_t) <= len) {
			uint32_t k = REPLY_GET(buf, off, cr_t, nr_iovas);
			if (off + sizeof(cr_t) + (uint64_t)k * sizeof(r_t) > len)
				return 0;
			struct vfio_usable_range *u = calloc(k ? k : 1, sizeof(*u));
			if (!u)
				return -ENOMEM;
			for (uint32_t i = 0; i < k; i++) {
				size_t r = off + sizeof(cr_t) + i * sizeof(r_t);
				u[i] = (struct vfio_usable_range){ REPLY_GET(buf, r, r_t, start),
								   REPLY_GET(buf, r, r_t, end) };
			}
			*out = u;
			*n = k;
			return 0;
		}
		off = REPLY_GET(buf, off, cap_t, next);
	}
	return 0;
}
