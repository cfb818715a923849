/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A PCI bus 0 (devices/pci.c) with real virtio-pci devices on it
 * (virtio-rng, virtio-blk on a memfd, virtio-vsock on a socket in a
 * temporary directory), driven by a fuzzed sequence of guest accesses:
 * CF8/CFC port I/O, ECAM, BAR MMIO (common config, ISR, device config,
 * notify, MSI-X table and PBA), writes to guest RAM, resets and a Linux
 * style bring-up with fuzzed features, queue sizes and ring addresses.
 * Shared by fuzz_pci.c and fuzz_virtio_pci.c. Inputs of odd length run the
 * bus in irqfd mode against a fake KVM that aborts on any broken rule of
 * the route state machine (binding an unrouted GSI, binding twice, freeing
 * a bound route) and on a route left behind when the devices are gone.
 * In deferred mode the transports get a host defer (as svmm's devmgr): the
 * activations and resets they queue run when an op's code has its top bit
 * set, and at the end; a transport that queues a second job while one is
 * pending aborts.
 *
 * Ops: u8 code (low 3 bits: the op; the rest: its flags), then:
 *   0 CF8 := u32
 *   1 CFC + (flags & 3), u8 size/dir (bits 0-1: 1/2/4/8 bytes, bit 2: write), u32 value
 *   2 ECAM + (u32 & 0xfffff), u8 size/dir, u32 value
 *   3 BAR 0 of device (flags % n) + (u16 & 0x7fff), u8 size/dir, u64 value
 *   4 MMIO at any u64 address, u8 size/dir, u64 value
 *   5 bring-up of device (flags % n): u64 features, u8 queues, u16 size,
 *     per queue u16 desc, avail, used (x 16 in guest RAM) and u16 vector
 *   6 guest RAM: u16 offset, u8 length, the bytes
 *   7 reset device (flags % n): status 0
 */
#ifndef SVMM_TESTS_FUZZ_FUZZ_PCI_H
#define SVMM_TESTS_FUZZ_FUZZ_PCI_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/virtio/blk/blk.h"
#include "devices/virtio/rng/rng.h"
#include "devices/virtio/transport/pci.h"
#include "devices/virtio/vsock/vsock.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/kvm/bus.h"

#define FZP_ECAM   0xe0000000ULL
#define FZP_MMIO32 0xc0000000ULL
#define FZP_MMIO64 0x100000000ULL
#define FZP_RAM	   (1u << 20)
#define FZP_MAXDEV 3
#define FZP_OPS	   256

struct fzp {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct pci_bus pci;
	struct virtio_pci *vp[FZP_MAXDEV];
	struct pci_dev *dev[FZP_MAXDEV];
	unsigned int n;
	int memfd;
	unsigned int msis;
	struct {
		bool used;
		int fd; /* bound, -1 */
	} gsi[64];
	struct {
		void (*fn)(void *);
		void *arg;
	} jobs[FZP_MAXDEV];
	unsigned int njobs;
};

static int fzp_defer(void *opaque, void (*fn)(void *), void *arg)
{
	struct fzp *p = opaque;
	for (unsigned int i = 0; i < p->njobs; i++)
		if (p->jobs[i].arg == arg)
			abort(); /* a transport has one job at a time */
	if (p->njobs == FZP_MAXDEV)
		abort();
	p->jobs[p->njobs].fn = fn;
	p->jobs[p->njobs].arg = arg;
	p->njobs++;
	return 0;
}

static const struct virtio_pci_host_ops fzp_vp_deferred = { .defer = fzp_defer };

/* The devmgr's turn: every queued job, in order. */
static inline void fzp_run_jobs(struct fzp *p)
{
	while (p->njobs) {
		void (*fn)(void *) = p->jobs[0].fn;
		void *arg = p->jobs[0].arg;
		memmove(&p->jobs[0], &p->jobs[1], --p->njobs * sizeof(p->jobs[0]));
		fn(arg);
	}
}

static char fzp_sock[PATH_MAX];

static void fzp_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fzp *p = opaque;
	(void)addr;
	(void)data;
	__atomic_fetch_add(&p->msis, 1, __ATOMIC_RELAXED);
}

static const struct pci_host_ops fzp_host_ops = { .msi_send = fzp_msi };

static int fzp_route(void *opaque, int gsi, uint64_t addr, uint32_t data)
{
	struct fzp *p = opaque;
	(void)addr;
	(void)data;
	if (gsi >= 0) {
		if (gsi >= 64 || !p->gsi[gsi].used)
			abort(); /* updating a route that is not there */
		return gsi;
	}
	for (gsi = 24; gsi < 64; gsi++)
		if (!p->gsi[gsi].used) {
			p->gsi[gsi].used = true;
			p->gsi[gsi].fd = -1;
			return gsi;
		}
	return -ENOSPC;
}

static void fzp_route_free(void *opaque, int gsi)
{
	struct fzp *p = opaque;
	if (gsi < 24 || gsi >= 64 || !p->gsi[gsi].used || p->gsi[gsi].fd >= 0)
		abort(); /* freeing an unknown or still bound route */
	p->gsi[gsi].used = false;
}

static int fzp_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	struct fzp *p = opaque;
	if (gsi < 24 || gsi >= 64 || !p->gsi[gsi].used || fd < 0)
		abort();
	if (assign ? p->gsi[gsi].fd >= 0 : p->gsi[gsi].fd != fd)
		abort(); /* bound twice, or unbinding what is not bound */
	p->gsi[gsi].fd = assign ? fd : -1;
	return 0;
}

static const struct pci_host_ops fzp_irqfd_ops = {
	.msi_route = fzp_route,
	.msi_route_free = fzp_route_free,
	.irqfd = fzp_irqfd,
};

/* kind: 0 rng, 1 blk, 2 vsock. */
static inline struct virtio_dev *fzp_make(struct fzp *p, unsigned int kind)
{
	struct virtio_dev *vd = NULL;
	struct err err = { 0 };
	char path[64];
	if (kind == 0) {
		if (virtio_rng_create(&vd, "/dev/urandom", &err))
			abort();
	} else if (kind == 1) {
		p->memfd = memfd_create("fuzz-pci-disk", MFD_CLOEXEC);
		if (p->memfd < 0 || ftruncate(p->memfd, 64 * 1024) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", p->memfd);
		struct virtio_blk_opts o = { .disk = { .path = path },
					     .serial = "fuzz",
					     .queue_size = 16 };
		if (virtio_blk_create(&vd, &o, &err))
			abort();
	} else {
		struct virtio_vsock_opts o = { .cid = 3 };
		snprintf(o.socket, sizeof(o.socket), "%s", fzp_sock);
		if (virtio_vsock_create(&vd, &o, &err)) {
			fprintf(stderr, "vsock: %s\n", err.msg);
			abort();
		}
	}
	return vd;
}

/* The bus (irqfd mode or direct), and the devices of kinds[0..n), their
 * activations and resets deferred or not. */
static inline void fzp_init(struct fzp *p, const unsigned int *kinds, unsigned int n, bool irqfd,
			    bool deferred)
{
	struct pci_bus_config cfg = {
		.ecam_base = FZP_ECAM,
		.io_base = 0x1000,
		.io_size = 0xf000,
		.mmio32_base = FZP_MMIO32,
		.mmio32_size = 0x20000000,
		.mmio64_base = FZP_MMIO64,
		.mmio64_size = 1ULL << 30,
	};
	if (!fzp_sock[0])
		snprintf(fzp_sock, sizeof(fzp_sock), "%s/v.sock", fz_tmpdir("pci"));
	memset(p, 0, sizeof(*p));
	p->memfd = -1;
	fz_mem_init(&p->mem, FZP_RAM, 0);
	bus_init(&p->pio);
	bus_init(&p->mmio);
	if (pci_bus_init(&p->pci, &cfg, irqfd ? &fzp_irqfd_ops : &fzp_host_ops, p) ||
	    pci_bus_register(&p->pci, &p->pio, &p->mmio))
		abort();
	for (unsigned int i = 0; i < n; i++) {
		struct virtio_dev *vd = fzp_make(p, kinds[i]);
		if (virtio_pci_create(&p->vp[i], vd, &p->mem, deferred ? &fzp_vp_deferred : NULL,
				      p))
			abort();
		p->dev[i] = virtio_pci_dev(p->vp[i]);
		if (pci_bus_add(&p->pci, p->dev[i], -1) < 0)
			abort();
	}
	p->n = n;
}

static inline void fzp_free(struct fzp *p)
{
	fzp_run_jobs(p); /* before the free, as the devmgr does */
	for (unsigned int i = 0; i < p->n; i++)
		virtio_pci_free(p->vp[i]);
	for (unsigned int g = 0; g < 64; g++)
		if (p->gsi[g].used)
			abort(); /* a route outlived its device */
	pci_bus_free(&p->pci);
	bus_free(&p->pio);
	bus_free(&p->mmio);
	if (p->memfd >= 0)
		close(p->memfd);
	fz_mem_free(&p->mem);
}

static inline void fzp_cfg(struct fzp *p, unsigned int i, unsigned int off, uint32_t v,
			   unsigned int size)
{
	bus_access(&p->mmio, FZP_ECAM + ((uint64_t)p->dev[i]->slot << 15) + off, &v, size, true);
}

/* Place BAR 0 of device i and turn decoding and bus mastering on. */
static inline void fzp_place(struct fzp *p, unsigned int i)
{
	uint64_t bar = FZP_MMIO64 + 0x100000 * (i + 1);
	fzp_cfg(p, i, PCI_BAR0, (uint32_t)bar, 4);
	fzp_cfg(p, i, PCI_BAR0 + 4, (uint32_t)(bar >> 32), 4);
	fzp_cfg(p, i, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

static inline void fzp_bar(struct fzp *p, unsigned int i, uint64_t off, uint64_t v,
			   unsigned int size, bool write)
{
	bus_access(&p->mmio, pci_bar_addr(p->dev[i], 0) + off, &v, size, write);
}

/* What Linux's virtio_pci_modern does, with fuzzed values. */
static inline void fzp_bring_up(struct fzp *p, unsigned int i, struct fz *z)
{
	uint64_t features = fz_u64(z);
	unsigned int nq = fz_u8(z) % 4;
	uint16_t size = fz_u16(z);

	fzp_bar(p, i, 0x14, 0, 1, true);
	fzp_bar(p, i, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1, true);
	for (unsigned int w = 0; w < 2; w++) {
		fzp_bar(p, i, 0x08, w, 4, true);
		fzp_bar(p, i, 0x0c, (uint32_t)(features >> (32 * w)), 4, true);
	}
	fzp_bar(p, i, 0x14, 0xb, 1, true); /* FEATURES_OK */
	fzp_cfg(p, i, p->dev[i]->msix_cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	for (unsigned int q = 0; q < nq; q++) {
		uint64_t desc = fz_u16(z) * 16ULL, avail = fz_u16(z) * 16ULL,
			 used = fz_u16(z) * 16ULL;
		uint16_t vec = fz_u16(z);
		uint64_t t = 0x4000 + 16 * (vec & 7);
		fzp_bar(p, i, t, 0xfee00000, 4, true);
		fzp_bar(p, i, t + 8, 0x4040 + q, 4, true);
		fzp_bar(p, i, t + 12, 0, 4, true);
		fzp_bar(p, i, 0x16, q, 2, true);
		fzp_bar(p, i, 0x18, size, 2, true);
		fzp_bar(p, i, 0x1a, vec, 2, true);
		fzp_bar(p, i, 0x20, desc, 8, true);
		fzp_bar(p, i, 0x28, avail, 8, true);
		fzp_bar(p, i, 0x30, used, 8, true);
		fzp_bar(p, i, 0x1c, 1, 2, true);
	}
	fzp_bar(p, i, 0x14, 0xf, 1, true); /* DRIVER_OK */
}

static inline void fzp_run(struct fzp *p, struct fz *z)
{
	for (int k = 0; k < FZP_OPS && z->n; k++) {
		uint8_t code = fz_u8(z), op = code & 7, fl = code >> 3;
		if (code & 0x80)
			fzp_run_jobs(p); /* nothing queued unless deferred */
		unsigned int d = p->n ? fl % p->n : 0;
		uint64_t addr = 0, v = 0;
		uint8_t sd = 0;
		bool pio = false;
		switch (op) {
		case 0:
			v = fz_u32(z);
			bus_access(&p->pio, 0xcf8, &v, 4, true);
			continue;
		case 1:
			addr = 0xcfc + (fl & 3);
			pio = true;
			break;
		case 2:
			addr = FZP_ECAM + (fz_u32(z) & 0xfffff);
			break;
		case 3:
			if (!p->n)
				continue;
			addr = pci_bar_addr(p->dev[d], 0) + (fz_u16(z) & 0x7fff);
			break;
		case 4:
			addr = fz_u64(z);
			break;
		case 5:
			if (p->n)
				fzp_bring_up(p, d, z);
			continue;
		case 6: {
			uint16_t off = fz_u16(z);
			size_t got;
			const uint8_t *b = fz_bytes(z, fz_u8(z), &got);
			if (off + got <= FZP_RAM)
				memcpy(p->mem.base + off, b, got);
			continue;
		}
		case 7:
			if (p->n)
				fzp_bar(p, d, 0x14, 0, 1, true);
			continue;
		}
		sd = fz_u8(z);
		v = op == 1 || op == 2 ? fz_u32(z) : fz_u64(z);
		bus_access(pio ? &p->pio : &p->mmio, addr, &v, 1u << (sd & 3), sd & 4);
	}
}

#endif
