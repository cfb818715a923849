/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest driver for devices behind the real virtio-pci transport on the
 * real PCI bus code, for device tests: ECAM config cycles and BAR MMIO on a
 * struct bus, the capability walk, Linux's bring-up sequence (reset, ACK,
 * DRIVER, features, FEATURES_OK, queues, MSI-X, DRIVER_OK), kicks through
 * the notify region and MSI-X interrupts counted on the fake driver's
 * eventfd. Queue rings and buffers are fake_queues.h's.
 */
#ifndef SVMM_TESTS_UNIT_FAKE_PCI_H
#define SVMM_TESTS_UNIT_FAKE_PCI_H

#include "devices/virtio/transport/pci.h"
#include "tests/unit/fake_queues.h"

#define FP_ECAM	    0xe0000000ULL
#define FP_MMIO32   0xc0000000ULL
#define FP_MMIO64   0x100000000ULL
#define FP_MSI_ADDR 0xfee00000ULL

struct fpci {
	struct fq_set s; /* guest RAM, rings, interrupt eventfd */
	struct bus pio, mmio;
	struct pci_bus pci;
	struct virtio_pci *vp;
	struct virtio_dev *vd;
	int slot;
	uint64_t bar0;
	uint32_t common, notify, device, notify_mult;
	int msix;
	unsigned int msis;
};

static inline void fp_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct fpci *p = opaque;
	uint64_t one = 1;
	(void)addr;
	(void)data;
	__atomic_fetch_add(&p->msis, 1, __ATOMIC_RELAXED);
	if (write(p->s.f.irq_efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static const struct pci_host_ops fp_host_ops = { .msi_send = fp_msi_send };

static inline uint32_t fp_cfg_rd(struct fpci *p, unsigned int off, unsigned int size)
{
	uint32_t v = 0;
	bus_access(&p->mmio, FP_ECAM + ((uint64_t)p->slot << 15) + off, &v, size, false);
	return v;
}

static inline void fp_cfg_wr(struct fpci *p, unsigned int off, uint32_t v, unsigned int size)
{
	bus_access(&p->mmio, FP_ECAM + ((uint64_t)p->slot << 15) + off, &v, size, true);
}

static inline uint32_t fp_bar_rd(struct fpci *p, uint64_t off, unsigned int size)
{
	uint32_t v = 0;
	bus_access(&p->mmio, p->bar0 + off, &v, size, false);
	return v;
}

static inline void fp_bar_wr(struct fpci *p, uint64_t off, uint32_t v, unsigned int size)
{
	bus_access(&p->mmio, p->bar0 + off, &v, size, true);
}

/* Plug vd in (after fq_init on p->s), place BAR 0, walk the capabilities.
 * Returns 0, or -1 when a step failed. */
static inline int fp_plug(struct fpci *p, struct virtio_dev *vd)
{
	struct pci_bus_config cfg = {
		.ecam_base = FP_ECAM,
		.io_base = 0x1000,
		.io_size = 0xf000,
		.mmio32_base = FP_MMIO32,
		.mmio32_size = 0x20000000,
		.mmio64_base = FP_MMIO64,
		.mmio64_size = 1ULL << 30,
	};
	p->vd = vd;
	p->s.f.vd = vd;
	bus_init(&p->pio);
	bus_init(&p->mmio);
	if (pci_bus_init(&p->pci, &cfg, &fp_host_ops, p) ||
	    pci_bus_register(&p->pci, &p->pio, &p->mmio) ||
	    virtio_pci_create(&p->vp, vd, &p->s.f.mem, NULL, p))
		return -1;
	p->slot = pci_bus_add(&p->pci, virtio_pci_dev(p->vp), -1);
	if (p->slot < 0)
		return -1;
	p->bar0 = FP_MMIO64 + 0x100000;
	fp_cfg_wr(p, PCI_BAR0, (uint32_t)p->bar0, 4);
	fp_cfg_wr(p, PCI_BAR0 + 4, (uint32_t)(p->bar0 >> 32), 4);
	fp_cfg_wr(p, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	p->msix = -1;
	for (unsigned int c = fp_cfg_rd(p, PCI_CAPABILITY_LIST, 1), n = 0; c && n < 16;
	     c = fp_cfg_rd(p, c + 1, 1), n++) {
		if (fp_cfg_rd(p, c, 1) == PCI_CAP_ID_MSIX) {
			p->msix = (int)c;
			continue;
		}
		uint32_t type = fp_cfg_rd(p, c + 3, 1), off = fp_cfg_rd(p, c + 8, 4);
		if (type == 1)
			p->common = off;
		else if (type == 2) {
			p->notify = off;
			p->notify_mult = fp_cfg_rd(p, c + 16, 4);
		} else if (type == 4)
			p->device = off;
	}
	return p->msix > 0 ? 0 : -1;
}

/* The 64 feature bits the device offers. */
static inline uint64_t fp_device_features(struct fpci *p)
{
	fp_bar_wr(p, p->common + 0x00, 0, 4);
	uint64_t lo = fp_bar_rd(p, p->common + 0x04, 4);
	fp_bar_wr(p, p->common + 0x00, 1, 4);
	return lo | (uint64_t)fp_bar_rd(p, p->common + 0x04, 4) << 32;
}

/* Linux's bring-up with `features` and n queues of `size` (fake_queues'
 * ring layout), one MSI-X vector per queue. Returns the final status. */
static inline uint8_t fp_bring_up(struct fpci *p, uint64_t features, unsigned int n, uint16_t size)
{
	uint32_t cc = p->common;

	fp_bar_wr(p, cc + 0x14, 0, 1);
	fp_bar_wr(p, cc + 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	for (unsigned int w = 0; w < 2; w++) {
		fp_bar_wr(p, cc + 0x08, w, 4);
		fp_bar_wr(p, cc + 0x0c, (uint32_t)(features >> (32 * w)), 4);
	}
	fp_bar_wr(p, cc + 0x14,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	if (!(fp_bar_rd(p, cc + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK))
		return (uint8_t)fp_bar_rd(p, cc + 0x14, 1);
	fp_cfg_wr(p, (unsigned int)p->msix + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	p->s.n = n;
	for (unsigned int i = 0; i < n; i++) {
		struct fq *q = &p->s.q[i];
		q->f = &p->s.f;
		q->qi = i;
		q->size = size;
		q->desc = FQ_RING_BASE + i * FQ_RING_SLOT;
		q->avail = q->desc + 0x4000;
		q->used = q->desc + 0x8000;
		uint64_t t = 0x4000 + 16 * (i + 1); /* MSI-X table entry i + 1 */
		fp_bar_wr(p, t, (uint32_t)FP_MSI_ADDR, 4);
		fp_bar_wr(p, t + 4, 0, 4);
		fp_bar_wr(p, t + 8, 0x4040 + i, 4);
		fp_bar_wr(p, t + 12, 0, 4);
		fp_bar_wr(p, cc + 0x16, i, 2);
		fp_bar_wr(p, cc + 0x18, size, 2);
		fp_bar_wr(p, cc + 0x1a, i + 1, 2);
		fp_bar_wr(p, cc + 0x20, (uint32_t)q->desc, 4);
		fp_bar_wr(p, cc + 0x28, (uint32_t)q->avail, 4);
		fp_bar_wr(p, cc + 0x30, (uint32_t)q->used, 4);
		fp_bar_wr(p, cc + 0x1c, 1, 2);
	}
	fp_bar_wr(p, cc + 0x14,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK,
		  1);
	return (uint8_t)fp_bar_rd(p, cc + 0x14, 1);
}

/* Kick queue q through the notify region, as a guest does. */
static inline void fp_kick(struct fpci *p, unsigned int q)
{
	fp_bar_wr(p, p->notify + q * p->notify_mult, q, 2);
}

/* Unplug: the transport frees the device; then the RAM. */
static inline void fp_free(struct fpci *p)
{
	virtio_pci_free(p->vp);
	pci_bus_free(&p->pci);
	bus_free(&p->pio);
	bus_free(&p->mmio);
	close(p->s.f.irq_efd);
	if (p->s.shared) {
		munmap(p->s.f.ram, FD_RAM_SIZE);
		close(p->s.f.mem.fd);
	} else {
		free(p->s.f.ram);
	}
}

#endif
