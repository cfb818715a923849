/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What devices/pci.c (config space, BARs, the bus) and devices/pci_msi.c
 * (MSI and MSI-X: the table, the PBA, the vectors' routes and irqfds)
 * share. Not an interface: devices/pci.h is.
 */
#ifndef SVMM_DEVICES_PCI_PRIV_H
#define SVMM_DEVICES_PCI_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci.h"

#define CAP_START    0x40
#define MSIX_CAP_LEN 12

static inline uint16_t get16(const uint8_t *p, unsigned int off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static inline uint32_t get32(const uint8_t *p, unsigned int off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static inline void put16(uint8_t *p, unsigned int off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, unsigned int off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static inline bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* pci_msi.c: whether b delivers vectors through irqfds (the host ops have
 * msi_route, msi_route_free and irqfd). */
bool pci__irqfd_mode(const struct pci_bus *b);
/* Add one to eventfd fd; whether fd holds a count. */
void pci__efd_raise(int fd);
bool pci__efd_held(int fd);
/* A vector unbound, its route given back, its held count dropped
 * (MSI's, or MSI-X vector v). msix_lock held (or no bus yet). */
void pci__vec_release(struct pci_dev *d, struct pci_msix_vec *x);
void pci__msix_release(struct pci_dev *d, unsigned int v);
/* The MSI capability, or the MSI-X table or control word, changed: routes
 * and bindings in step. msix_lock held. */
void pci__msi_sync(struct pci_dev *d);
void pci__msix_sync_all(struct pci_dev *d);
/* Whether MSI-X vector v has an interrupt held (PBA bit or eventfd). */
bool pci__msix_pending(const struct pci_dev *d, unsigned int v);
/* An access to the MSI-X table or PBA at off of the MSI-X BAR; whether
 * (bar, off, size) falls there. */
void pci__msix_bar_access(struct pci_dev *d, uint64_t off, void *data, unsigned int size,
			  bool is_write);
bool pci__msix_bar_region(const struct pci_dev *d, unsigned int bar, uint64_t off,
			  unsigned int size);
/* The MSI-X capability, table and PBA of info, in pci_dev_init. */
int pci__msix_init(struct pci_dev *d, const struct pci_dev_info *info);

#endif
