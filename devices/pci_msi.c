// SPDX-License-Identifier: Apache-2.0
/* PCI MSI and MSI-X (pci.h): the capability bodies, the table and PBA in
 * their BAR, and each vector's route and irqfd (or a direct message). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci_priv.h"
#include "vmm/kvm/log.h"

int pci__msix_init(struct pci_dev *d, const struct pci_dev_info *info)
{
	uint32_t n = info->msix_vectors;
	uint8_t body[MSIX_CAP_LEN - 2];

	d->msix_table = calloc(n, sizeof(*d->msix_table));
	d->msix_pba = calloc((n + 63) / 64, sizeof(*d->msix_pba));
	d->msix_vec = calloc(n, sizeof(*d->msix_vec));
	if (!d->msix_table || !d->msix_pba || !d->msix_vec)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++) {
		d->msix_table[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT; /* masked at reset */
		d->msix_vec[v] = (struct pci_msix_vec){ .fd = -1, .gsi = -1 };
	}
	d->msix_n = (uint16_t)n;
	d->msix_bar = info->msix_bar;
	d->msix_table_off = info->msix_table_off;
	d->msix_pba_off = info->msix_pba_off;
	put16(body, 0, (uint16_t)(n - 1));
	put32(body, 2, info->msix_table_off | info->msix_bar);
	put32(body, 6, info->msix_pba_off | info->msix_bar);
	int off = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, body, sizeof(body));
	if (off < 0)
		return off;
	d->msix_cap = (uint8_t)off;
	d->wmask[off + 3] = (uint8_t)((PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8);
	return 0;
}

static bool msix_masked(const struct pci_dev *d, unsigned int v)
{
	uint16_t ctl = get16(d->cfg, d->msix_cap + 2);
	return !(ctl & PCI_MSIX_FLAGS_ENABLE) || (ctl & PCI_MSIX_FLAGS_MASKALL) ||
	       (d->msix_table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool pci__irqfd_mode(const struct pci_bus *b)
{
	return b && b->ops && b->ops->msi_route && b->ops->msi_route_free && b->ops->irqfd;
}

/* Take what an eventfd holds (0 when nothing). */
static uint64_t efd_take(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

void pci__efd_raise(int fd)
{
	uint64_t one = 1;

	/* only fails when the count would overflow: it is pending anyway */
	(void)!write(fd, &one, sizeof(one));
}

bool pci__efd_held(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* irqfd mode, the vector disabled or the device going away: unbind, give
 * the route back, drop what the eventfd held. msix_lock held (or no bus
 * yet). */
void pci__vec_release(struct pci_dev *d, struct pci_msix_vec *x)
{
	const struct pci_host_ops *ops = d->bus ? d->bus->ops : NULL;

	if (x->fd < 0 || !pci__irqfd_mode(d->bus))
		return;
	if (x->bound)
		ops->irqfd(d->bus->opaque, x->fd, x->gsi, false);
	if (x->gsi >= 0)
		ops->msi_route_free(d->bus->opaque, x->gsi);
	x->bound = false;
	x->gsi = -1;
	efd_take(x->fd);
}

void pci__msix_release(struct pci_dev *d, unsigned int v)
{
	pci__vec_release(d, &d->msix_vec[v]);
}

/* irqfd mode: bring vector x's route and binding in step: released while
 * off, unbound (its interrupts held in the eventfd) while masked, else
 * routed to (addr, data) and bound. what and v name it in the log. */
static void vec_sync(struct pci_dev *d, struct pci_msix_vec *x, bool on, bool masked, uint64_t addr,
		     uint32_t data, const char *what, unsigned int v)
{
	const struct pci_host_ops *ops = d->bus->ops;
	void *opaque = d->bus->opaque;

	if (!on) {
		pci__vec_release(d, x);
		return;
	}
	if (masked) {
		if (x->bound && !ops->irqfd(opaque, x->fd, x->gsi, false))
			x->bound = false;
		return;
	}
	if (x->gsi < 0 || x->addr != addr || x->data != data) {
		int gsi = ops->msi_route(opaque, x->gsi, addr, data);
		if (gsi < 0) {
			log_msg(LV_ERROR, "pci", "pci %02x.0: %s %u: no route: %s", d->slot, what,
				v, strerror(-gsi));
			return; /* it stays held in the eventfd */
		}
		x->gsi = gsi;
		x->addr = addr;
		x->data = data;
	}
	if (!x->bound) {
		/* bind empty, then raise what was held: delivered once, and the
		 * eventfd is left at zero */
		uint64_t held = efd_take(x->fd);
		int rc = ops->irqfd(opaque, x->fd, x->gsi, true);
		if (!rc)
			x->bound = true;
		else
			log_msg(LV_ERROR, "pci", "pci %02x.0: %s %u: irqfd: %s", d->slot, what, v,
				strerror(-rc));
		if (held)
			pci__efd_raise(x->fd);
	}
}

static void msix_sync_irqfd(struct pci_dev *d, unsigned int v)
{
	const struct pci_msix_entry *e = &d->msix_table[v];

	vec_sync(d, &d->msix_vec[v], get16(d->cfg, d->msix_cap + 2) & PCI_MSIX_FLAGS_ENABLE,
		 msix_masked(d, v), (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data,
		 "MSI-X vector", v);
}

/* The MSI capability changed (irqfd mode). msix_lock held. */
void pci__msi_sync(struct pci_dev *d)
{
	unsigned int c = d->msi_cap;

	if (d->msi_vec.fd < 0)
		return;
	vec_sync(d, &d->msi_vec, get16(d->cfg, c + 2) & PCI_MSI_FLAGS_ENABLE, false,
		 (uint64_t)get32(d->cfg, c + 8) << 32 | get32(d->cfg, c + 4), get16(d->cfg, c + 12),
		 "MSI", 0);
}

int pci_msi_fd(const struct pci_dev *d)
{
	return d->msi_cap ? d->msi_vec.fd : -1;
}

/* Direct mode: send a pending vector that is now unmasked. */
static void msix_sync_direct(struct pci_dev *d, unsigned int v)
{
	const struct pci_host_ops *ops = d->bus ? d->bus->ops : NULL;
	const struct pci_msix_entry *e = &d->msix_table[v];

	if (!msix_masked(d, v) && (d->msix_pba[v / 64] >> (v % 64)) & 1) {
		d->msix_pba[v / 64] &= ~(1ull << (v % 64));
		if (ops && ops->msi_send)
			ops->msi_send(d->bus->opaque, (uint64_t)e->addr_hi << 32 | e->addr_lo,
				      e->data);
	}
}

/* Vector v's entry or the function's control changed. msix_lock held. */
static void msix_sync(struct pci_dev *d, unsigned int v)
{
	if (d->msix_vec[v].fd >= 0)
		msix_sync_irqfd(d, v);
	else
		msix_sync_direct(d, v);
}

void pci__msix_sync_all(struct pci_dev *d)
{
	for (unsigned int v = 0; v < d->msix_n; v++)
		msix_sync(d, v);
}

/* Bit v of the PBA: in irqfd mode an unbound vector whose eventfd holds
 * a count. msix_lock held. */
bool pci__msix_pending(const struct pci_dev *d, unsigned int v)
{
	const struct pci_msix_vec *x = &d->msix_vec[v];

	if (x->fd >= 0)
		return !x->bound && pci__efd_held(x->fd);
	return (d->msix_pba[v / 64] >> (v % 64)) & 1;
}

int pci_msix_fd(const struct pci_dev *d, unsigned int vector)
{
	return vector < d->msix_n ? d->msix_vec[vector].fd : -1;
}

int pci_msix_trigger(struct pci_dev *d, unsigned int vector)
{
	int ret;

	if (!d->bus || vector >= d->msix_n)
		return -EINVAL;
	if (d->msix_vec[vector].fd >= 0) {
		pci__efd_raise(d->msix_vec[vector].fd);
		return 1;
	}
	if (!d->bus->ops || !d->bus->ops->msi_send)
		return -ENOSYS;
	pthread_mutex_lock(&d->msix_lock);
	if (msix_masked(d, vector)) {
		d->msix_pba[vector / 64] |= 1ull << (vector % 64);
		ret = 0;
	} else {
		const struct pci_msix_entry *e = &d->msix_table[vector];
		d->bus->ops->msi_send(d->bus->opaque, (uint64_t)e->addr_hi << 32 | e->addr_lo,
				      e->data);
		ret = 1;
	}
	pthread_mutex_unlock(&d->msix_lock);
	return ret;
}

static void msix_table_dword(struct pci_dev *d, unsigned int v, unsigned int field, uint32_t *val,
			     bool is_write)
{
	struct pci_msix_entry *e = &d->msix_table[v];
	uint32_t *f[4] = { &e->addr_lo, &e->addr_hi, &e->data, &e->ctrl };
	static const uint32_t wmask[4] = { ~0x3u, ~0u, ~0u, PCI_MSIX_ENTRY_CTRL_MASKBIT };

	if (is_write)
		*f[field] = *val & wmask[field];
	else
		*val = *f[field];
}

/* off is relative to the BAR; size 4 or 8, naturally aligned, else a read
 * gives zeros and a write is dropped. */
void pci__msix_bar_access(struct pci_dev *d, uint64_t off, void *data, unsigned int size,
			  bool is_write)
{
	uint64_t tlen = (uint64_t)d->msix_n * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = (uint64_t)(d->msix_n + 63) / 64 * 8;
	uint32_t dw[2] = { 0, 0 };

	if (!is_write)
		memset(data, 0, size);
	if ((size != 4 && size != 8) || off % size)
		return;
	if (is_write)
		memcpy(dw, data, size);
	pthread_mutex_lock(&d->msix_lock);
	if (off >= d->msix_table_off && off + size <= d->msix_table_off + tlen) {
		uint64_t t = off - d->msix_table_off;
		unsigned int v = (unsigned int)(t / PCI_MSIX_ENTRY_SIZE);
		unsigned int field = (unsigned int)(t % PCI_MSIX_ENTRY_SIZE) / 4;
		for (unsigned int i = 0; i < size / 4; i++)
			msix_table_dword(d, v, field + i, &dw[i], is_write);
		if (is_write)
			msix_sync(d, v);
	} else if (off >= d->msix_pba_off && off + size <= d->msix_pba_off + plen && !is_write) {
		unsigned int first = (unsigned int)(off - d->msix_pba_off) / 8 * 64;
		uint64_t q = 0;
		for (unsigned int v = first; v < first + 64 && v < d->msix_n; v++)
			q |= (uint64_t)pci__msix_pending(d, v) << (v - first);
		if (size == 8) {
			dw[0] = (uint32_t)q;
			dw[1] = (uint32_t)(q >> 32);
		} else {
			dw[0] = (uint32_t)(q >> (off % 8 ? 32 : 0));
		}
	}
	pthread_mutex_unlock(&d->msix_lock);
	if (!is_write)
		memcpy(data, dw, size);
}

bool pci__msix_bar_region(const struct pci_dev *d, unsigned int bar, uint64_t off,
			  unsigned int size)
{
	uint64_t tlen = (uint64_t)d->msix_n * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = (uint64_t)(d->msix_n + 63) / 64 * 8;

	if (!d->msix_n || bar != d->msix_bar)
		return false;
	return (off < d->msix_table_off + tlen && off + size > d->msix_table_off) ||
	       (off < d->msix_pba_off + plen && off + size > d->msix_pba_off);
}

/* BARs */
