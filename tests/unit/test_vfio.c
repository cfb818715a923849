// SPDX-License-Identifier: Apache-2.0
/* Unit tests for devices/vfio's pure helpers: the endpoint's identity, BARs
 * and MSI-X geometry from a physical config space, command forwarding, the
 * IOVA and RLIMIT_MEMLOCK checks, the BAR pieces, the capability chains of
 * VFIO's replies. (The device path itself needs an IOMMU and a device bound
 * to vfio-pci: the nested sandbox's test.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "devices/vfio/vfio.h"

static void put16(uint8_t *p, unsigned int off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, unsigned int off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

/* QEMU's emulated NVMe (1b36:0010) as the host sees it: a 64-bit BAR 0 of
 * 16 KiB holding the registers, the MSI-X table at 0x2000 and the PBA at
 * 0x3000; PM at 0x40, MSI-X at 0x80 (65 vectors), PCIe at 0x60. */
static void nvme_cfg(uint8_t *cfg)
{
	memset(cfg, 0, 256);
	put16(cfg, PCI_VENDOR_ID, 0x1b36);
	put16(cfg, PCI_DEVICE_ID, 0x0010);
	put16(cfg, PCI_COMMAND, 0x0007);
	put16(cfg, PCI_STATUS, PCI_STATUS_CAP_LIST);
	put32(cfg, PCI_CLASS_REVISION, 0x01080202); /* NVMe, revision 2 */
	put32(cfg, PCI_BAR0, 0xfebd0004);	    /* 64-bit memory, not prefetchable */
	put32(cfg, PCI_BAR0 + 4, 0);
	put16(cfg, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);
	put16(cfg, PCI_SUBSYSTEM_ID, 0x1100);
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cfg[0x40] = 0x01; /* PM */
	cfg[0x41] = 0x60;
	cfg[0x60] = 0x10; /* PCIe */
	cfg[0x61] = 0x80;
	cfg[0x80] = PCI_CAP_ID_MSIX;
	cfg[0x81] = 0x00;
	put16(cfg, 0x82, 64); /* 65 vectors, disabled */
	put32(cfg, 0x84, 0x2000 | 0);
	put32(cfg, 0x88, 0x3000 | 0);
}

static void identity_and_bars(void **state)
{
	(void)state;
	uint8_t cfg[256];
	uint64_t sizes[PCI_NUM_BARS] = { 0x4000 };
	struct pci_dev_info info;
	struct err err = { 0 };

	nvme_cfg(cfg);
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), sizes, &info, &err), 0);
	assert_int_equal(info.vendor_id, 0x1b36);
	assert_int_equal(info.device_id, 0x0010);
	assert_int_equal(info.revision, 2);
	assert_int_equal(info.class_code, 0x010802);
	assert_int_equal(info.subsys_vendor_id, 0x1af4);
	assert_int_equal(info.subsys_id, 0x1100);
	assert_int_equal(info.bars[0].kind, PCI_BAR_MEM64);
	assert_int_equal(info.bars[0].size, 0x4000);
	assert_false(info.bars[0].prefetchable);
	assert_int_equal(info.bars[1].kind, PCI_BAR_NONE);
	assert_int_equal(info.msix_vectors, 0); /* vfio_cfg_msix's */

	/* I/O, 32-bit prefetchable, a BAR VFIO reports as absent */
	put32(cfg, PCI_BAR0 + 8, 0xc001);
	put32(cfg, PCI_BAR0 + 12, 0xfe000008);
	put32(cfg, PCI_BAR0 + 16, 0xfd000000);
	uint64_t more[PCI_NUM_BARS] = { 0x4000, 0, 0x20, 0x100000, 0, 0 };
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), more, &info, &err), 0);
	assert_int_equal(info.bars[2].kind, PCI_BAR_IO);
	assert_int_equal(info.bars[2].size, 0x20);
	assert_int_equal(info.bars[3].kind, PCI_BAR_MEM32);
	assert_true(info.bars[3].prefetchable);
	assert_int_equal(info.bars[4].kind, PCI_BAR_NONE);

	/* what svmm's PCI model cannot take */
	more[3] = 0x3000;
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), more, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "BAR 3: size 12288 is not a power of two"));
	more[3] = 0;
	more[2] = 0x400;
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), more, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "BAR 2: an I/O BAR of 1024 bytes"));
	more[2] = 0;
	put32(cfg, PCI_BAR0 + 20, 0x4);
	more[5] = 0x1000;
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), more, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "BAR 5: a 64-bit BAR in the last slot"));
	cfg[PCI_HEADER_TYPE] = 0x81; /* a bridge */
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), sizes, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not an endpoint"));
}

static void msix_geometry(void **state)
{
	(void)state;
	uint8_t cfg[256];
	struct pci_dev_info info;
	struct err err = { 0 };
	uint64_t sizes[PCI_NUM_BARS] = { 0x4000 };

	nvme_cfg(cfg);
	assert_int_equal(vfio_cfg_info(cfg, sizeof(cfg), sizes, &info, &err), 0);
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0x80);
	assert_int_equal(info.msix_vectors, 65);
	assert_int_equal(info.msix_bar, 0);
	assert_int_equal(info.msix_table_off, 0x2000);
	assert_int_equal(info.msix_pba_off, 0x3000);
	/* svmm's PCI model takes that geometry as it is */
	struct pci_dev d;
	assert_int_equal(pci_dev_init(&d, &info, NULL, NULL), 0);
	assert_int_equal(d.msix_n, 65);
	pci_dev_free(&d);

	/* table in BAR 2, PBA in BAR 4: svmm keeps both in one BAR */
	memset(&info, 0, sizeof(info));
	put32(cfg, 0x84, 0x1000 | 2);
	put32(cfg, 0x88, 0x0000 | 4);
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	assert_int_equal(info.msix_vectors, 0);
	nvme_cfg(cfg);

	/* no capability list; no MSI-X; a loop; an offset off the space */
	memset(&info, 0, sizeof(info));
	put16(cfg, PCI_STATUS, 0);
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	put16(cfg, PCI_STATUS, PCI_STATUS_CAP_LIST);
	cfg[0x61] = 0;
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	cfg[0x61] = 0x40;
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	cfg[0x61] = 0xF8;
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	cfg[0x61] = 0xF8; /* MSI-X there would run past the end */
	cfg[0xF8] = PCI_CAP_ID_MSIX;
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	cfg[0xF8] = 0;
	cfg[0x61] = 0x20;
	assert_int_equal(vfio_cfg_msix(cfg, sizeof(cfg), &info), 0);
	assert_int_equal(info.msix_vectors, 0);
	nvme_cfg(cfg);
	assert_int_equal(vfio_cfg_msix(cfg, 64, &info), 0); /* only the header */
}

static void capability_lookup(void **state)
{
	(void)state;
	uint8_t cfg[256];

	nvme_cfg(cfg);
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSIX), 0x80);
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), 0x10), 0x60);
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSI), 0); /* none */
	cfg[0x61] = 0x70; /* an MSI capability between PCIe and MSI-X */
	cfg[0x70] = PCI_CAP_ID_MSI;
	cfg[0x71] = 0x80;
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSI), 0x70);
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSIX), 0x80);
	cfg[0x81] = 0x40; /* a loop: never found, no hang */
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), 0x42), 0);
	cfg[0x81] = 0x20; /* into the header */
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), 0x42), 0);
	cfg[0x81] = 0xFF; /* past a short space */
	assert_int_equal(vfio_cfg_cap(cfg, 0x90, 0x42), 0);
	put16(cfg, PCI_STATUS, 0); /* no list */
	assert_int_equal(vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSIX), 0);
	assert_int_equal(vfio_cfg_cap(cfg, 32, PCI_CAP_ID_MSIX), 0);
}

static void command_forwarding(void **state)
{
	(void)state;
	/* decode, bus master and INTx disable from the guest; SERR etc. the device's */
	assert_int_equal(vfio_cmd_forward(0x0006, 0x0100), 0x0106);
	assert_int_equal(vfio_cmd_forward(0x0000, 0x0107), 0x0100);
	assert_int_equal(vfio_cmd_forward(0xFFFF, 0x0000), 0x0407);
	assert_int_equal(vfio_cmd_forward(0x0001, 0x0400), 0x0001);
	assert_int_equal(vfio_cmd_forward(0x0406, 0x0000), 0x0406); /* INTx disable: the guest's */
}

static void iova_and_memlock(void **state)
{
	(void)state;
	/* intel-iommu: everything but the MSI window */
	const struct vfio_usable_range r[] = {
		{ 0, 0xfedfffff },
		{ 0xfef00000, (1ull << 39) - 1 },
	};
	struct err err = { 0 };

	assert_true(vfio_iova_usable(r, 2, 0, 3ull << 30));
	assert_true(vfio_iova_usable(r, 2, 1ull << 32, 4ull << 30));
	assert_false(vfio_iova_usable(r, 2, 0, 0xfee00001));
	assert_false(vfio_iova_usable(r, 2, 1ull << 39, 1 << 21));
	assert_false(vfio_iova_usable(r, 2, ~0ull - 10, 100)); /* wraps */
	assert_true(vfio_iova_usable(NULL, 0, 0xfee00000, 1 << 20));

	assert_int_equal(vfio_memlock_check(512ull << 20, 8ull << 20, false, &err), -ENOMEM);
	assert_non_null(strstr(err.msg, "(512 MiB) but RLIMIT_MEMLOCK is 8192 KiB"));
	assert_non_null(strstr(err.msg, "at least 524288 KiB"));
	assert_int_equal(vfio_memlock_check(512ull << 20, 512ull << 20, false, &err), 0);
	assert_int_equal(vfio_memlock_check(512ull << 20, RLIM_INFINITY, false, &err), 0);
	assert_int_equal(vfio_memlock_check(512ull << 20, 0, true, &err), 0);
	/* the KiB asked for cover need even where need + 1023 would wrap */
	assert_int_equal(vfio_memlock_check(UINT64_MAX, 8ull << 20, false, &err), -ENOMEM);
	assert_non_null(strstr(err.msg, "at least 18014398509481984 KiB"));
	assert_int_equal(vfio_memlock_check(1025, 0, false, &err), -ENOMEM);
	assert_non_null(strstr(err.msg, "at least 2 KiB"));
}

/* A zeroed context frees nothing (no close(0)); an initialised one opens
 * nothing until the first device. */
static void context_lifecycle(void **state)
{
	(void)state;
	struct vfio_ctx c;

	memset(&c, 0, sizeof(c));
	vfio_ctx_free(&c);
	vfio_ctx_init(&c, NULL, NULL);
	assert_int_equal(c.container, -1);
	assert_int_equal(c.kvm_vfio, -1);
	vfio_ctx_free(&c);
	vfio_ctx_free(&c);
}

/* What opening a device says before any VFIO node is touched. */
static void open_errors(void **state)
{
	(void)state;
	char dir[] = "/tmp/svmm-vfio-XXXXXX", link[80], path[100];
	struct vfio_ctx c;
	struct vfio_dev *v = (void *)1;
	struct err err = { 0 };

	vfio_ctx_init(&c, NULL, NULL);
	assert_int_equal(vfio_dev_create(&v, &c, "/nonexistent/0000:01:00.0", &err), -ENOENT);
	assert_null(v);
	assert_non_null(strstr(err.msg, "/nonexistent/0000:01:00.0: No such file"));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vfio_dev_create(&v, &c, dir, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "has no IOMMU group (is the host IOMMU on"));
	snprintf(link, sizeof(link), "%s/iommu_group", dir);
	assert_int_equal(symlink("../../kernel/iommu_groups/none", link), 0);
	snprintf(path, sizeof(path), "%s/", dir);
	assert_int_equal(vfio_dev_create(&v, &c, path, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "names no group"));
	assert_int_equal(c.n_groups, 0);
	assert_int_equal(c.container, -1);
	unlink(link);
	rmdir(dir);
	vfio_ctx_free(&c);
}

#define PG 0x1000ull

static void assert_piece(const struct vfio_range *r, uint64_t off, uint64_t size)
{
	assert_int_equal(r->off, off);
	assert_int_equal(r->size, size);
}

/* BAR mmap: which page-aligned pieces of a BAR go to the guest as memory
 * slots, around the MSI-X table and PBA, inside the sparse areas. */
static void bar_pieces(void **state)
{
	(void)state;
	struct vfio_range out[VFIO_MAX_PIECES];
	/* the NVMe above: 16 KiB, 65 vectors' table at 0x2000 (1040 bytes),
	 * PBA at 0x3000: registers and doorbells [0, 0x2000) mapped */
	const struct vfio_range nvme[2] = { { 0x2000, 65 * 16 }, { 0x3000, 16 } };

	assert_int_equal(vfio_bar_pieces(0x4000, PG, NULL, 0, nvme, 2, out, VFIO_MAX_PIECES), 1);
	assert_piece(&out[0], 0, 0x2000);
	/* no MSI-X (holes of size 0): the whole BAR */
	const struct vfio_range none[2] = { { 0, 0 }, { 0, 0 } };
	assert_int_equal(vfio_bar_pieces(0x10000, PG, NULL, 0, none, 2, out, VFIO_MAX_PIECES), 1);
	assert_piece(&out[0], 0, 0x10000);
	/* a table in the middle: pieces on both sides; an unaligned hole
	 * takes every page it touches (0x5ff0 + 0x20 reaches page 0x6000) */
	const struct vfio_range mid[2] = { { 0x5ff0, 0x20 }, { 0xc000, 8 } };
	assert_int_equal(vfio_bar_pieces(0x10000, PG, NULL, 0, mid, 2, out, VFIO_MAX_PIECES), 3);
	assert_piece(&out[0], 0, 0x5000);
	assert_piece(&out[1], 0x7000, 0x5000);
	assert_piece(&out[2], 0xd000, 0x3000);
	/* table and PBA in the same page, at the start */
	const struct vfio_range start[2] = { { 0, 0x100 }, { 0x800, 8 } };
	assert_int_equal(vfio_bar_pieces(0x4000, PG, NULL, 0, start, 2, out, VFIO_MAX_PIECES), 1);
	assert_piece(&out[0], 0x1000, 0x3000);
	/* a BAR smaller than a page, or all MSI-X: nothing to map */
	assert_int_equal(vfio_bar_pieces(0x100, PG, NULL, 0, none, 2, out, VFIO_MAX_PIECES), 0);
	assert_int_equal(vfio_bar_pieces(0x1000, PG, NULL, 0, start, 2, out, VFIO_MAX_PIECES), 0);
	/* 64 KiB pages: the NVMe's 16 KiB BAR cannot be mapped at all */
	assert_int_equal(vfio_bar_pieces(0x4000, 0x10000, NULL, 0, nvme, 2, out, VFIO_MAX_PIECES),
			 0);
	/* sparse areas (out of order, one unaligned, one past the end, one
	 * empty) clipped, shrunk to pages, less the holes, sorted */
	const struct vfio_range sp[4] = {
		{ 0x8000, 0x10000 }, /* clipped to the BAR's end 0x10000 */
		{ 0x100, 0x2000 },   /* shrunk to [0x1000, 0x2000) */
		{ 0x20000, 0x1000 }, /* past the end */
		{ 0x4000, 0 },	     /* empty */
	};
	assert_int_equal(vfio_bar_pieces(0x10000, PG, sp, 4, mid, 2, out, VFIO_MAX_PIECES), 3);
	assert_piece(&out[0], 0x1000, 0x1000);
	assert_piece(&out[1], 0x8000, 0x4000);
	assert_piece(&out[2], 0xd000, 0x3000);
	/* a sparse capability with no areas: nothing is mappable */
	assert_int_equal(vfio_bar_pieces(0x10000, PG, sp, 0, none, 2, out, VFIO_MAX_PIECES), 0);
	/* overlapping areas are refused */
	const struct vfio_range ov[2] = { { 0, 0x3000 }, { 0x2000, 0x2000 } };
	assert_int_equal(vfio_bar_pieces(0x10000, PG, ov, 2, none, 2, out, VFIO_MAX_PIECES),
			 -EINVAL);
	/* a hole whose end overflows covers to the BAR's end */
	const struct vfio_range huge[1] = { { 0x3000, UINT64_MAX } };
	assert_int_equal(vfio_bar_pieces(0x10000, PG, NULL, 0, huge, 1, out, VFIO_MAX_PIECES), 1);
	assert_piece(&out[0], 0, 0x3000);
	/* more pieces than room */
	assert_int_equal(vfio_bar_pieces(0x10000, PG, NULL, 0, mid, 2, out, 2), -ENOSPC);
	/* a page size that is not a power of two */
	assert_int_equal(vfio_bar_pieces(0x10000, 3000, NULL, 0, none, 2, out, VFIO_MAX_PIECES),
			 -EINVAL);
}

static void put64(uint8_t *p, unsigned int off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

/* A capability header at off: id, version 1, next. */
static void cap(uint8_t *p, unsigned int off, uint16_t id, uint32_t next)
{
	put16(p, off, id);
	put16(p, off + 2, 1);
	put32(p, off + 4, next);
}

/* The capability chains of VFIO's replies, walked over their bytes. */
static void reply_chains(void **state)
{
	(void)state;
	uint8_t b[160];
	struct vfio_range a[4];
	unsigned int n;

	/* region info: an unknown capability at 32, then (unaligned, at 41)
	 * the sparse areas [0, 0x2000) and [0x3000, +0x1000) */
	memset(b, 0, sizeof(b));
	put32(b, 0, 41 + 16 + 32);
	put32(b, 4, 0xf); /* read, write, mmap, caps */
	put32(b, 12, 32);
	cap(b, 32, 7, 41);
	cap(b, 41, 1, 0);
	put32(b, 41 + 8, 2);
	put64(b, 41 + 16, 0);
	put64(b, 41 + 24, 0x2000);
	put64(b, 41 + 32, 0x3000);
	put64(b, 41 + 40, 0x1000);
	assert_int_equal(vfio_region_sparse_parse(b, 41 + 48, a, &n, 4), 1);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].size, 0x2000);
	assert_int_equal(a[1].off, 0x3000);
	assert_int_equal(a[1].size, 0x1000);
	/* the areas run past the reply; more than room; no caps flag; a loop */
	assert_int_equal(vfio_region_sparse_parse(b, 41 + 47, a, &n, 4), -EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(vfio_region_sparse_parse(b, 41 + 48, a, &n, 1), -ENOSPC);
	put32(b, 4, 0x7);
	assert_int_equal(vfio_region_sparse_parse(b, 41 + 48, a, &n, 4), 0);
	put32(b, 4, 0xf);
	cap(b, 32, 7, 32);
	assert_int_equal(vfio_region_sparse_parse(b, 41 + 48, a, &n, 4), 0);
	assert_int_equal(vfio_region_sparse_parse(b, 20, a, &n, 4), 0); /* below the header */

	/* IOMMU info: the IOVA ranges capability at 24 */
	struct vfio_usable_range *r;
	memset(b, 0, sizeof(b));
	put32(b, 0, 24 + 16 + 32);
	put32(b, 4, 3); /* page sizes, caps */
	put32(b, 16, 24);
	cap(b, 24, 1, 0);
	put32(b, 24 + 8, 2);
	put64(b, 24 + 16, 0);
	put64(b, 24 + 24, 0xfedfffff);
	put64(b, 24 + 32, 0xfef00000);
	put64(b, 24 + 40, (1ull << 39) - 1);
	assert_int_equal(vfio_iova_ranges_parse(b, 24 + 48, &r, &n), 0);
	assert_non_null(r);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].end, 0xfedfffff);
	assert_int_equal(r[1].start, 0xfef00000);
	free(r);
	/* ranges past the reply, or no caps flag: no list */
	assert_int_equal(vfio_iova_ranges_parse(b, 24 + 40, &r, &n), 0);
	assert_null(r);
	assert_int_equal(n, 0);
	put32(b, 4, 1);
	assert_int_equal(vfio_iova_ranges_parse(b, 24 + 48, &r, &n), 0);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity_and_bars),  cmocka_unit_test(msix_geometry),
		cmocka_unit_test(command_forwarding), cmocka_unit_test(iova_and_memlock),
		cmocka_unit_test(context_lifecycle),  cmocka_unit_test(open_errors),
		cmocka_unit_test(bar_pieces),	      cmocka_unit_test(capability_lookup),
		cmocka_unit_test(reply_chains),
	};
	return cmocka_run_group_tests_name("vfio", tests, NULL, NULL);
}
