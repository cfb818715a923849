// SPDX-License-Identifier: Apache-2.0
/*
 * devices/vfio's pure helpers (vfio.h) on fuzzed input, each result held to
 * the contract its header comment states (abort() on a violation, so that a
 * wrong answer is a finding, not only a crash). The input's first byte picks
 * the helper, the rest is its input (fz_* fields, zeros past the end):
 *
 *   0  config space: 6 x u8 BAR size codes (0x00-0x3f: 1 << code, 0xff: a
 *      raw u64 follows, anything else: no BAR), u8 page (4 KiB << u8 % 5),
 *      then the config space bytes (any length). vfio_cfg_info,
 *      vfio_cfg_cap, vfio_cfg_msix, and for the MSI-X BAR vfio_bar_pieces around the
 *      table and PBA (pieces_map's split: never one of their pages).
 *   1  u16 guest, u16 phys (vfio_cmd_forward); u64 need, u64 limit, u8
 *      flags (bit 0 CAP_IPC_LOCK, bit 1 limit RLIM_INFINITY)
 *      (vfio_memlock_check).
 *   2  u8 n (mod 17) ranges of u64 start, u64 end, then queries of u64 gpa,
 *      u64 size (vfio_iova_usable).
 *   3  vfio_bar_pieces: u8 BAR size code (as in 0), u8 page shift (0xff: a
 *      raw u64 page follows), u8 n_areas (0xff: none, areas NULL; else mod
 *      17), the areas (u64 off, u64 size), u8 n_holes (mod 5), the holes,
 *      u8 max (mod 17).
 *   4  u8 max (mod 17), then a VFIO_DEVICE_GET_REGION_INFO reply
 *      (vfio_region_sparse_parse), its areas then split as in 3.
 *   5  a VFIO_IOMMU_GET_INFO reply (vfio_iova_ranges_parse), its ranges
 *      then queried as in 2.
 * Every buffer a helper reads or writes is a heap block of exactly its
 * size, so that AddressSanitizer sees an access past it.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "devices/vfio/vfio.h"
#include "tests/fuzz/fuzz.h"

typedef unsigned __int128 u128;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_vfio: contract broken: %s (line %d)\n", #cond, \
				__LINE__);                                                   \
			abort();                                                             \
		}                                                                            \
	} while (0)

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void *dup_exact(const uint8_t *p, size_t n)
{
	void *b = malloc(n ? n : 1);
	if (!b)
		abort();
	memcpy(b, p, n);
	return b;
}

static uint64_t size_code(struct fz *z)
{
	uint8_t c = fz_u8(z);
	if (c == 0xff)
		return fz_u64(z);
	return c < 64 ? 1ull << c : 0;
}

/* --- vfio_bar_pieces against the contract -------------------------------- */

struct ival {
	u128 lo, hi; /* [lo, hi) */
};

/* The pages a hole touches (an empty interval for a hole of size 0). */
static struct ival hole_pages(const struct vfio_range *h, uint64_t page)
{
	if (!h->size)
		return (struct ival){ 0, 0 };
	u128 end = (u128)h->off + h->size;
	return (struct ival){ (u128)h->off / page * page, (end + page - 1) / page * page };
}

/* An area clipped to the BAR and shrunk to whole pages. */
static struct ival area_pages(const struct vfio_range *a, uint64_t bar, uint64_t page)
{
	u128 end = (u128)a->off + a->size;
	if (end > bar)
		end = bar;
	u128 lo = ((u128)a->off + page - 1) / page * page, hi = end / page * page;
	return lo < hi && a->size && a->off < bar ? (struct ival){ lo, hi } : (struct ival){ 0, 0 };
}

/* The first point of [lo, hi) in none of the n intervals, or hi. */
static u128 first_free(u128 lo, u128 hi, const struct ival *iv, unsigned int n)
{
	for (bool moved = true; moved && lo < hi;) {
		moved = false;
		for (unsigned int i = 0; i < n; i++)
			if (iv[i].lo <= lo && lo < iv[i].hi) {
				lo = iv[i].hi;
				moved = true;
			}
	}
	return lo < hi ? lo : hi;
}

/* Room for every piece there can be: up to 16 areas (or the whole BAR),
 * each cut at most once per hole (up to 4). */
#define ROOM (17 * 5)

static int pieces_checked(uint64_t bar, uint64_t page, const struct vfio_range *areas,
			  unsigned int n_areas, const struct vfio_range *holes,
			  unsigned int n_holes, unsigned int max, struct vfio_range *result)
{
	struct vfio_range *out = malloc((max ? max : 1) * sizeof(*out));
	const struct vfio_range whole = { 0, bar };
	if (!out)
		abort();
	int rc = vfio_bar_pieces(bar, page, areas, n_areas, holes, n_holes, out, max);
	if (!pow2(page) || bar > (1ull << 63)) {
		CHECK(rc == -EINVAL);
		free(out);
		return rc;
	}
	const struct vfio_range *a = areas ? areas : &whole;
	unsigned int na = areas ? n_areas : 1;
	struct ival hp[8], ap[17];
	for (unsigned int h = 0; h < n_holes; h++)
		hp[h] = hole_pages(&holes[h], page);
	for (unsigned int i = 0; i < na; i++)
		ap[i] = area_pages(&a[i], bar, page);
	/* Two areas whose pages meet outside every hole: the pieces would overlap. */
	bool overlap = false;
	for (unsigned int i = 0; i < na; i++)
		for (unsigned int j = i + 1; j < na; j++) {
			u128 lo = ap[i].lo > ap[j].lo ? ap[i].lo : ap[j].lo;
			u128 hi = ap[i].hi < ap[j].hi ? ap[i].hi : ap[j].hi;
			if (lo < hi && first_free(lo, hi, hp, n_holes) < hi)
				overlap = true;
		}
	if (rc == -ENOSPC) {
		/* with room enough it fits, or the areas overlap */
		CHECK(max < ROOM);
		free(out);
		int again = pieces_checked(bar, page, areas, n_areas, holes, n_holes, ROOM, NULL);
		CHECK(again == -EINVAL || again > (int)max);
		return rc;
	}
	if (rc == -EINVAL) {
		CHECK(overlap);
		free(out);
		return rc;
	}
	CHECK(rc >= 0 && (unsigned int)rc <= max);
	CHECK(!overlap);
	for (int i = 0; i < rc; i++) {
		const struct vfio_range *p = &out[i];
		CHECK(p->size && p->off % page == 0 && p->size % page == 0);
		CHECK(p->off <= bar && p->size <= bar - p->off);	     /* inside the BAR */
		CHECK(i == 0 || out[i - 1].off + out[i - 1].size <= p->off); /* sorted, apart */
		for (unsigned int h = 0; h < n_holes; h++)		     /* no page of a hole */
			CHECK(p->off + (u128)p->size <= hp[h].lo || hp[h].hi <= p->off);
		bool inside = false; /* inside one area's whole pages */
		for (unsigned int k = 0; k < na; k++)
			inside |= ap[k].lo <= p->off && p->off + (u128)p->size <= ap[k].hi;
		CHECK(inside);
	}
	/* and every such page of every area is in a piece */
	struct ival taken[ROOM + 4];
	unsigned int nt = 0;
	for (unsigned int h = 0; h < n_holes; h++)
		taken[nt++] = hp[h];
	for (int i = 0; i < rc; i++)
		taken[nt++] = (struct ival){ out[i].off, (u128)out[i].off + out[i].size };
	for (unsigned int k = 0; k < na; k++)
		CHECK(first_free(ap[k].lo, ap[k].hi, taken, nt) == ap[k].hi);
	if (result)
		memcpy(result, out, (size_t)rc * sizeof(*out));
	free(out);
	return rc;
}

/* --- the modes ----------------------------------------------------------- */

static void config_space(struct fz *z)
{
	uint64_t sizes[PCI_NUM_BARS];
	struct pci_dev_info info;
	struct err err = { 0 };
	size_t len;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		sizes[i] = size_code(z);
	uint64_t page = 1ull << (12 + fz_u8(z) % 5);
	const uint8_t *p = fz_bytes(z, z->n, &len);
	uint8_t *cfg = dup_exact(p, len);

	int rc = vfio_cfg_info(cfg, len, sizes, &info, &err);
	if (rc < 0) {
		CHECK(rc == -EINVAL && err.code == EINVAL && err.msg[0]);
		bool why = len < 0x40 || (cfg[PCI_HEADER_TYPE] & 0x7f);
		for (unsigned int i = 0; !why && i < PCI_NUM_BARS; i++) {
			uint64_t s = sizes[i];
			uint32_t lo = le32(cfg + PCI_BAR0 + 4 * i);
			why = s && (!pow2(s) || ((lo & 1) && (s < 4 || s > 256)) ||
				    (!(lo & 1) && ((lo >> 1) & 3) == 2 && i == PCI_NUM_BARS - 1) ||
				    (!(lo & 1) && ((lo >> 1) & 3) != 2 && s > (1ull << 31)));
		}
		CHECK(why);
		free(cfg);
		return;
	}
	CHECK(rc == 0 && len >= 0x40 && !(cfg[PCI_HEADER_TYPE] & 0x7f));
	CHECK(info.vendor_id == le16(cfg + PCI_VENDOR_ID));
	CHECK(info.device_id == le16(cfg + PCI_DEVICE_ID));
	CHECK(info.revision == cfg[PCI_CLASS_REVISION]);
	CHECK(info.class_code == le32(cfg + PCI_CLASS_REVISION) >> 8);
	CHECK(info.subsys_vendor_id == le16(cfg + PCI_SUBSYSTEM_VENDOR_ID));
	CHECK(info.subsys_id == le16(cfg + PCI_SUBSYSTEM_ID));
	CHECK(!info.msix_vectors && !info.msix_bar && !info.msix_table_off && !info.msix_pba_off);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_info *b = &info.bars[i];
		uint32_t lo = le32(cfg + PCI_BAR0 + 4 * i);
		if (b->kind == PCI_BAR_NONE) {
			CHECK(!b->size && !b->prefetchable);
			CHECK(!sizes[i] || (i && info.bars[i - 1].kind == PCI_BAR_MEM64));
			continue;
		}
		CHECK(sizes[i] && pow2(b->size));
		CHECK(!i || info.bars[i - 1].kind != PCI_BAR_MEM64); /* not an upper half */
		if (b->kind == PCI_BAR_IO) {
			CHECK((lo & 1) && b->size == sizes[i] && b->size >= 4 && b->size <= 256);
			CHECK(!b->prefetchable);
			continue;
		}
		CHECK(!(lo & 1) && b->size >= 16 && b->size == (sizes[i] < 16 ? 16 : sizes[i]));
		CHECK(b->prefetchable == !!(lo & 8));
		if (b->kind == PCI_BAR_MEM64) {
			CHECK(((lo >> 1) & 3) == 2 && i + 1 < PCI_NUM_BARS);
			CHECK(info.bars[i + 1].kind == PCI_BAR_NONE);
		} else {
			CHECK(b->kind == PCI_BAR_MEM32 && ((lo >> 1) & 3) != 2);
			CHECK(b->size <= (1ull << 31));
		}
	}

	/* a capability lookup lands on its id, in the space, dword aligned */
	for (unsigned int id = 0; id < 0x20; id++) {
		unsigned int at = vfio_cfg_cap(cfg, len, (uint8_t)id);
		CHECK(!at || (at >= 0x40 && at % 4 == 0 && at + 2 <= len && cfg[at] == id));
	}

	/* MSI-X: the fields are the capability's own, or left alone */
	struct pci_dev_info before;
	memcpy(&before, &info, sizeof(info));
	info.msix_vectors = 0xbeef;
	unsigned int cap = vfio_cfg_msix(cfg, len, &info);
	if (!cap) {
		CHECK(info.msix_vectors == 0xbeef || info.msix_vectors == 0);
		free(cfg);
		return;
	}
	CHECK(cap >= 0x40 && cap % 4 == 0 && cap + 12 <= len && cfg[cap] == PCI_CAP_ID_MSIX);
	CHECK(cap == vfio_cfg_cap(cfg, len, PCI_CAP_ID_MSIX)); /* the first one */
	CHECK(le16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST);
	uint32_t table = le32(cfg + cap + 4), pba = le32(cfg + cap + 8);
	CHECK(info.msix_vectors == (le16(cfg + cap + 2) & 0x7ff) + 1);
	CHECK(info.msix_vectors >= 1 && info.msix_vectors <= 2048);
	CHECK(info.msix_bar == (table & 7) && (pba & 7) == (table & 7));
	CHECK(info.msix_table_off == (table & ~7u) && info.msix_pba_off == (pba & ~7u));
	CHECK(before.vendor_id == info.vendor_id && before.class_code == info.class_code &&
	      before.subsys_id == info.subsys_id &&
	      !memcmp(before.bars, info.bars, sizeof(info.bars)));

	/* pieces_map's split of the MSI-X BAR: never a table or PBA page */
	if (info.msix_bar < PCI_NUM_BARS && (info.bars[info.msix_bar].kind == PCI_BAR_MEM32 ||
					     info.bars[info.msix_bar].kind == PCI_BAR_MEM64)) {
		const struct vfio_range holes[2] = {
			{ info.msix_table_off, (uint64_t)info.msix_vectors * PCI_MSIX_ENTRY_SIZE },
			{ info.msix_pba_off, ((info.msix_vectors + 63u) / 64u) * 8u },
		};
		pieces_checked(info.bars[info.msix_bar].size, page, NULL, 0, holes, 2,
			       VFIO_MAX_PIECES, NULL);
	}
	free(cfg);
}

static void cmd_and_memlock(struct fz *z)
{
	const uint16_t fwd =
		PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	uint16_t guest = fz_u16(z), phys = fz_u16(z);
	uint16_t c = vfio_cmd_forward(guest, phys);
	CHECK((c & fwd) == (guest & fwd));
	CHECK((c & ~fwd) == (phys & ~fwd));

	uint64_t need = fz_u64(z), limit = fz_u64(z);
	uint8_t f = fz_u8(z);
	bool cap = f & 1;
	struct err err = { 0 };
	if (f & 2)
		limit = (uint64_t)RLIM_INFINITY;
	int rc = vfio_memlock_check(need, limit, cap, &err);
	if (cap || limit == (uint64_t)RLIM_INFINITY || need <= limit) {
		CHECK(rc == 0 && !err.code);
	} else {
		char want[64]; /* the KiB it asks for cover need */
		snprintf(want, sizeof(want), "at least %llu KiB",
			 (unsigned long long)(((u128)need + 1023) / 1024));
		CHECK(rc == -ENOMEM && err.code == ENOMEM && strstr(err.msg, "RLIMIT_MEMLOCK"));
		CHECK(strstr(err.msg, want));
	}
}

/* vfio_iova_usable's answer, held to its definition. */
static void usable_checked(const struct vfio_usable_range *r, unsigned int n, uint64_t gpa,
			   uint64_t size)
{
	bool got = vfio_iova_usable(r, n, gpa, size);
	bool want = !n;
	u128 last = (u128)gpa + size - 1;
	for (unsigned int i = 0; !want && size && i < n; i++)
		want = r[i].start <= gpa && last <= r[i].end;
	CHECK(got == want);
	/* usable stays usable for what it contains */
	if (got && size > 1) {
		CHECK(vfio_iova_usable(r, n, gpa, size / 2));
		CHECK(vfio_iova_usable(r, n, gpa + size / 2, size - size / 2));
	}
}

static void iova(struct fz *z)
{
	unsigned int n = fz_u8(z) % 17;
	struct vfio_usable_range *r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		r[i].start = fz_u64(z);
		r[i].end = fz_u64(z);
	}
	for (int q = 0; q < 64 && z->n; q++) {
		uint64_t gpa = fz_u64(z), size = fz_u64(z);
		usable_checked(r, n, gpa, size);
	}
	usable_checked(r, n, 0, 0);
	free(r);
}

static void bar_pieces(struct fz *z)
{
	uint64_t bar = size_code(z);
	uint8_t ps = fz_u8(z);
	uint64_t page = ps == 0xff ? fz_u64(z) : 1ull << (ps % 64);
	uint8_t na = fz_u8(z);
	struct vfio_range *areas = NULL;
	if (na != 0xff) {
		na %= 17;
		areas = malloc((na ? na : 1) * sizeof(*areas));
		if (!areas)
			abort();
		for (unsigned int i = 0; i < na; i++) {
			areas[i].off = fz_u64(z);
			areas[i].size = fz_u64(z);
		}
	}
	unsigned int nh = fz_u8(z) % 5;
	struct vfio_range *holes = malloc((nh ? nh : 1) * sizeof(*holes));
	if (!holes)
		abort();
	for (unsigned int i = 0; i < nh; i++) {
		holes[i].off = fz_u64(z);
		holes[i].size = fz_u64(z);
	}
	unsigned int max = fz_u8(z) % 17;
	pieces_checked(bar, page, areas, areas ? na : 0, holes, nh, max, NULL);
	free(areas);
	free(holes);
}

/* Whether buf has, at some offset o past hdr, a capability id whose count
 * at o + 8 is n and whose n 16-byte entries after o + 16 are lo/hi pairs
 * equal to got (stride: the size of one of got's entries). */
static bool cap_in_buffer(const uint8_t *buf, size_t len, size_t hdr, uint16_t id, uint32_t n,
			  const uint64_t *got, size_t stride)
{
	for (size_t o = hdr; o + 16 + (size_t)n * 16 <= len; o++) {
		if (le16(buf + o) != id || le32(buf + o + 8) != n)
			continue;
		bool same = true;
		for (uint32_t i = 0; same && i < n; i++) {
			const uint64_t *g = (const uint64_t *)((const char *)got + i * stride);
			same = le64(buf + o + 16 + 16 * i) == g[0] &&
			       le64(buf + o + 24 + 16 * i) == g[1];
		}
		if (same)
			return true;
	}
	return false;
}

static void region_sparse(struct fz *z)
{
	unsigned int max = fz_u8(z) % 17;
	size_t len;
	const uint8_t *p = fz_bytes(z, z->n, &len);
	uint8_t *buf = dup_exact(p, len);
	struct vfio_range *areas = malloc((max ? max : 1) * sizeof(*areas));
	unsigned int n = 12345;
	if (!areas)
		abort();

	int rc = vfio_region_sparse_parse(buf, len, areas, &n, max);
	CHECK(rc == 1 || rc == 0 || rc == -EINVAL || rc == -ENOSPC);
	if (rc != 1) {
		CHECK(n == 0);
	} else {
		CHECK(n <= max && len >= sizeof(struct vfio_region_info));
		CHECK(le32(buf + offsetof(struct vfio_region_info, flags)) &
		      VFIO_REGION_INFO_FLAG_CAPS);
		CHECK(cap_in_buffer(buf, len, sizeof(struct vfio_region_info),
				    VFIO_REGION_INFO_CAP_SPARSE_MMAP, n, &areas[0].off,
				    sizeof(areas[0])));
		/* and pieces_map's use of them, in a BAR of 4 KiB .. 2 GiB */
		uint64_t bar = 1ull << (12 + (n ? areas[0].size % 20 : 4));
		pieces_checked(bar, 4096, areas, n, NULL, 0, VFIO_MAX_PIECES, NULL);
	}
	if (rc == -EINVAL || rc == -ENOSPC) /* a sparse capability was reached */
		CHECK(len >= sizeof(struct vfio_region_info) + 8 &&
		      (le32(buf + offsetof(struct vfio_region_info, flags)) &
		       VFIO_REGION_INFO_FLAG_CAPS));
	free(areas);
	free(buf);
}

static void iova_ranges(struct fz *z)
{
	size_t len;
	const uint8_t *p = fz_bytes(z, z->n, &len);
	uint8_t *buf = dup_exact(p, len);
	struct vfio_usable_range *r = (void *)1;
	unsigned int n = 12345;

	int rc = vfio_iova_ranges_parse(buf, len, &r, &n);
	CHECK(rc == 0);
	if (!r) {
		CHECK(n == 0);
	} else {
		CHECK(len >= sizeof(struct vfio_iommu_type1_info));
		CHECK(le32(buf + offsetof(struct vfio_iommu_type1_info, flags)) &
		      VFIO_IOMMU_INFO_CAPS);
		CHECK(cap_in_buffer(buf, len, 0, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, n,
				    &r[0].start, sizeof(r[0])));
		/* map_ram's use: each range's ends, and around them */
		for (unsigned int i = 0; i < n && i < 8; i++) {
			usable_checked(r, n, r[i].start, r[i].end - r[i].start + 1);
			usable_checked(r, n, r[i].start - 1, 2);
			usable_checked(r, n, r[i].end, 2);
		}
		usable_checked(r, n, 0, 1ull << 30);
	}
	free(r);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };

	switch (fz_u8(&z) % 6) {
	case 0:
		config_space(&z);
		break;
	case 1:
		cmd_and_memlock(&z);
		break;
	case 2:
		iova(&z);
		break;
	case 3:
		bar_pieces(&z);
		break;
	case 4:
		region_sparse(&z);
		break;
	case 5:
		iova_ranges(&z);
		break;
	}
	return 0;
}
