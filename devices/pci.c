// SPDX-License-Identifier: Apache-2.0
/* PCI bus 0: config space (CF8/CFC, ECAM), BARs, capabilities, MSI-X. */
#include "devices/pci.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci_priv.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/snapshot.h"

#define HOST_VENDOR	  0x8086
#define HOST_DEVICE	  0x0d57
#define CLASS_HOST_BRIDGE 0x060000
#define CF8_ENABLE	  0x80000000u
#define MEM_BAR_ALIGN	  4096 /* page-aligned BARs, whatever their size */

static int bad(const char *what, const char *why)
{
	log_msg(LV_ERROR, "pci", "pci: %s %s", what, why);
	return -EINVAL;
}

static int check_info(const struct pci_dev_info *info)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_info *bi = &info->bars[i];
		switch (bi->kind) {
		case PCI_BAR_NONE:
			break;
		case PCI_BAR_IO:
			if (!pow2(bi->size) || bi->size < 4 || bi->size > 256)
				return bad("device bars[].size",
					   "of an I/O BAR must be a power of two, 4..256");
			break;
		case PCI_BAR_MEM32:
			if (!pow2(bi->size) || bi->size < 16 || bi->size > (1ull << 31))
				return bad("device bars[].size",
					   "of a 32-bit BAR must be a power of two, 16..2G");
			break;
		case PCI_BAR_MEM64:
			if (!pow2(bi->size) || bi->size < 16 || bi->size > (1ull << 62))
				return bad("device bars[].size",
					   "of a 64-bit BAR must be a power of two");
			if (i == PCI_NUM_BARS - 1 || info->bars[i + 1].kind != PCI_BAR_NONE)
				return bad("device bars[]", "64-bit BAR needs the next index free");
			i++;
			break;
		default:
			return bad("device bars[].kind", "is unknown");
		}
	}
	if (info->intx_pin > 4)
		return bad("device intx_pin", "must be 0 (none) or 1..4 (INTA..INTD)");
	if (!info->msix_vectors)
		return 0;
	uint32_t n = info->msix_vectors;
	uint64_t tlen = (uint64_t)n * PCI_MSIX_ENTRY_SIZE, plen = (n + 63) / 64 * 8;
	if (n > PCI_MSIX_MAX_VECTORS)
		return bad("device msix_vectors", "is above 2048");
	if (info->msix_bar >= PCI_NUM_BARS || (info->bars[info->msix_bar].kind != PCI_BAR_MEM32 &&
					       info->bars[info->msix_bar].kind != PCI_BAR_MEM64))
		return bad("device msix_bar", "is not a memory BAR");
	uint64_t size = info->bars[info->msix_bar].size;
	if ((info->msix_table_off | info->msix_pba_off) & 7)
		return bad("device msix_table_off/msix_pba_off", "must be 8-byte aligned");
	if (info->msix_table_off + tlen > size || info->msix_pba_off + plen > size)
		return bad("device msix_table_off/msix_pba_off",
			   "put the table or PBA past the BAR");
	if (info->msix_table_off < info->msix_pba_off + plen &&
	    info->msix_pba_off < info->msix_table_off + tlen)
		return bad("device msix_table_off/msix_pba_off", "overlap");
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned int len)
{
	unsigned int off = d->cap_end;

	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - 2 - off)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (len)
		memcpy(d->cfg + off + 2, body, len);
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	put16(d->cfg, PCI_STATUS, get16(d->cfg, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->last_cap = off;
	d->cap_end = (off + 2 + len + 3) & ~3u; /* may reach 256: full */
	return (int)off;
}

int pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info, const struct pci_dev_ops *ops,
		 void *opaque)
{
	int err = check_info(info);

	memset(d, 0, sizeof(*d));
	d->msi_vec = (struct pci_msix_vec){ .fd = -1, .gsi = -1 };
	if (err)
		return err;
	pthread_mutex_init(&d->msix_lock, NULL);
	d->ops = ops;
	d->opaque = opaque;
	d->cap_end = CAP_START;
	put16(d->cfg, PCI_VENDOR_ID, info->vendor_id);
	put16(d->cfg, PCI_DEVICE_ID, info->device_id);
	put32(d->cfg, PCI_CLASS_REVISION, info->class_code << 8 | info->revision);
	put16(d->cfg, PCI_SUBSYSTEM_VENDOR_ID, info->subsys_vendor_id);
	put16(d->cfg, PCI_SUBSYSTEM_ID, info->subsys_id);
	put16(d->wmask, PCI_COMMAND,
	      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x0040 /* parity */ |
		      0x0100 /* SERR */ | PCI_COMMAND_INTX_DISABLE);
	d->wmask[0x0C] = 0xFF; /* cache line size */
	d->wmask[0x0D] = 0xFF; /* latency timer */
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
	d->cfg[PCI_INTERRUPT_PIN] = info->intx_pin;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_info *bi = &info->bars[i];
		unsigned int reg = PCI_BAR0 + 4 * i;
		uint64_t mask = ~(bi->size - 1);

		d->bar[i].kind = bi->kind;
		d->bar[i].size = bi->size;
		switch (bi->kind) {
		case PCI_BAR_IO:
			put32(d->cfg, reg, 0x1);
			put32(d->wmask, reg, (uint32_t)mask & ~0x3u);
			break;
		case PCI_BAR_MEM32:
			put32(d->cfg, reg, bi->prefetchable ? 0x8 : 0);
			put32(d->wmask, reg, (uint32_t)mask & ~0xFu);
			break;
		case PCI_BAR_MEM64:
			put32(d->cfg, reg, 0x4 | (bi->prefetchable ? 0x8 : 0));
			put32(d->wmask, reg, (uint32_t)mask & ~0xFu);
			put32(d->wmask, reg + 4, (uint32_t)(mask >> 32));
			i++;
			break;
		default:
			break;
		}
	}
	if (info->msix_vectors) {
		err = pci__msix_init(d, info);
		if (err) {
			pci_dev_free(d);
			return err;
		}
	}
	if (info->msi) {
		uint8_t body[PCI_MSI_CAP_LEN - 2] = { PCI_MSI_FLAGS_64BIT }; /* one vector */
		int off = pci_dev_add_cap(d, PCI_CAP_ID_MSI, body, sizeof(body));
		if (off < 0) {
			pci_dev_free(d);
			return off;
		}
		d->msi_cap = (uint8_t)off;
		d->wmask[off + 2] = PCI_MSI_FLAGS_ENABLE;	 /* MME stays 0: one vector */
		put32(d->wmask, (unsigned int)off + 4, ~3u);	 /* address, dword aligned */
		put32(d->wmask, (unsigned int)off + 8, ~0u);	 /* its high half */
		put16(d->wmask, (unsigned int)off + 12, 0xFFFF); /* data */
	}
	return 0;
}

void pci_dev_free(struct pci_dev *d)
{
	for (unsigned int v = 0; d->msix_vec && v < d->msix_n; v++) {
		pci__msix_release(d, v);
		if (d->msix_vec[v].fd >= 0)
			close(d->msix_vec[v].fd);
	}
	pci__vec_release(d, &d->msi_vec);
	if (d->msi_vec.fd >= 0)
		close(d->msi_vec.fd);
	d->msi_vec.fd = -1;
	free(d->msix_table);
	free(d->msix_pba);
	free(d->msix_vec);
	d->msix_table = NULL;
	d->msix_pba = NULL;
	d->msix_vec = NULL;
	d->msix_n = 0;
	pthread_mutex_destroy(&d->msix_lock);
}

int pci_intx_gsi(const struct pci_dev *d)
{
	unsigned int pin = d->cfg[PCI_INTERRUPT_PIN];

	if (!pin || !d->bus)
		return -1;
	return (int)layout_pci_intx_gsi(d->slot, pin);
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned int bar)
{
	if (bar >= PCI_NUM_BARS)
		return 0;
	uint32_t lo = get32(d->cfg, PCI_BAR0 + 4 * bar);
	switch (d->bar[bar].kind) {
	case PCI_BAR_IO:
		return lo & ~0x3u;
	case PCI_BAR_MEM32:
		return lo & ~0xFu;
	case PCI_BAR_MEM64:
		return (uint64_t)get32(d->cfg, PCI_BAR0 + 4 * bar + 4) << 32 | (lo & ~0xFu);
	default:
		return 0;
	}
}

/* MSI-X */

static bool in_window(uint64_t a, uint64_t len, uint64_t base, uint64_t size)
{
	return size && a >= base && len <= size && a - base <= size - len;
}

static bool bar_in_window(const struct pci_bus *b, const struct pci_bar *bar, uint64_t a)
{
	const struct pci_bus_config *c = &b->cfg;

	switch (bar->kind) {
	case PCI_BAR_IO:
		return in_window(a, bar->size, c->io_base, c->io_size);
	case PCI_BAR_MEM32:
		return in_window(a, bar->size, c->mmio32_base, c->mmio32_size);
	case PCI_BAR_MEM64:
		return in_window(a, bar->size, c->mmio32_base, c->mmio32_size) ||
		       in_window(a, bar->size, c->mmio64_base, c->mmio64_size);
	default:
		return false;
	}
}

/* Recompute which BARs decode where; bus lock held as writer. */
static void bars_update(struct pci_dev *d)
{
	uint16_t cmd = get16(d->cfg, PCI_COMMAND);

	if (!d->bus)
		return;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &d->bar[i];
		if (bar->kind == PCI_BAR_NONE)
			continue;
		uint16_t decode = bar->kind == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		uint64_t a = pci_bar_addr(d, i);
		uint64_t live = (cmd & decode) && bar_in_window(d->bus, bar, a) ? a : 0;
		if (live == bar->live)
			continue;
		uint64_t old = bar->live;
		bar->live = live;
		if (d->bus->ops && d->bus->ops->bar_moved)
			d->bus->ops->bar_moved(d->bus->opaque, d, i, old, live, bar->size);
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d->opaque, i, old, live);
	}
}

void pci_bus_remove(struct pci_bus *b, struct pci_dev *d)
{
	pthread_rwlock_wrlock(&b->lock);
	if (d->bus == b && b->slots[d->slot] == d) {
		put16(d->cfg, PCI_COMMAND,
		      get16(d->cfg, PCI_COMMAND) & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
		bars_update(d);
		b->slots[d->slot] = NULL;
	}
	pthread_rwlock_unlock(&b->lock);
}

static void window_access(struct pci_bus *b, uint64_t a, void *data, unsigned int size,
			  bool is_write, bool io)
{
	pthread_rwlock_rdlock(&b->lock);
	for (unsigned int s = 1; s < PCI_SLOTS; s++) {
		struct pci_dev *d = b->slots[s];
		if (!d)
			continue;
		for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
			const struct pci_bar *bar = &d->bar[i];
			if (!bar->live || (bar->kind == PCI_BAR_IO) != io ||
			    !in_window(a, size, bar->live, bar->size))
				continue;
			uint64_t off = a - bar->live;
			if (pci__msix_bar_region(d, i, off, size))
				pci__msix_bar_access(d, off, data, size, is_write);
			else if (is_write && d->ops && d->ops->bar_write)
				d->ops->bar_write(d->opaque, i, off, data, size);
			else if (!is_write && d->ops && d->ops->bar_read)
				d->ops->bar_read(d->opaque, i, off, data, size);
			else if (!is_write)
				memset(data, 0, size);
			pthread_rwlock_unlock(&b->lock);
			return;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	if (!is_write)
		memset(data, 0xFF, size);
}

/* Config space */

static bool overlaps(unsigned int off, unsigned int size, unsigned int start, unsigned int len)
{
	return off < start + len && off + size > start;
}

static bool dev_hook_area(const struct pci_dev *d, unsigned int off, unsigned int size)
{
	return off >= CAP_START && !(d->msix_n && overlaps(off, size, d->msix_cap, MSIX_CAP_LEN)) &&
	       !(d->msi_cap && overlaps(off, size, d->msi_cap, PCI_MSI_CAP_LEN));
}

static void dev_cfg_read(struct pci_dev *d, unsigned int off, void *data, unsigned int size)
{
	if (off >= PCI_CFG_SIZE) {
		memset(data, 0, size);
		return;
	}
	if (dev_hook_area(d, off, size) && d->ops && d->ops->cfg_read &&
	    d->ops->cfg_read(d->opaque, off, data, size))
		return;
	if ((d->msix_n && overlaps(off, size, d->msix_cap, MSIX_CAP_LEN)) ||
	    (d->msi_cap && overlaps(off, size, d->msi_cap, PCI_MSI_CAP_LEN))) {
		pthread_mutex_lock(&d->msix_lock);
		memcpy(data, d->cfg + off, size);
		pthread_mutex_unlock(&d->msix_lock);
		return;
	}
	memcpy(data, d->cfg + off, size);
}

static void dev_cfg_write(struct pci_dev *d, unsigned int off, const void *data, unsigned int size)
{
	const uint8_t *v = data;
	bool msix = d->msix_n && overlaps(off, size, d->msix_cap + 2, 2);
	bool msi = d->msi_cap && overlaps(off, size, d->msi_cap + 2, PCI_MSI_CAP_LEN - 2);
	uint16_t old_cmd = get16(d->cfg, PCI_COMMAND), old_ctl = 0, new_ctl = 0;
	bool msi_was = false, msi_on = false;
	const uint16_t ctl_bits = PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL;

	if (off >= PCI_CFG_SIZE)
		return;
	if (dev_hook_area(d, off, size) && d->ops && d->ops->cfg_write &&
	    d->ops->cfg_write(d->opaque, off, data, size))
		return;
	if (msix || msi)
		pthread_mutex_lock(&d->msix_lock);
	if (msix)
		old_ctl = get16(d->cfg, d->msix_cap + 2) & ctl_bits;
	if (msi)
		msi_was = get16(d->cfg, d->msi_cap + 2) & PCI_MSI_FLAGS_ENABLE;
	for (unsigned int i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i];
		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (v[i] & m));
	}
	if (msix) {
		new_ctl = get16(d->cfg, d->msix_cap + 2) & ctl_bits;
		pci__msix_sync_all(d);
	}
	if (msi) {
		msi_on = get16(d->cfg, d->msi_cap + 2) & PCI_MSI_FLAGS_ENABLE;
		pci__msi_sync(d);
	}
	if (msix || msi)
		pthread_mutex_unlock(&d->msix_lock);
	if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS))
		bars_update(d);
	if (msix && old_ctl != new_ctl && d->ops && d->ops->msix_ctl)
		d->ops->msix_ctl(d->opaque, new_ctl & PCI_MSIX_FLAGS_ENABLE,
				 new_ctl & PCI_MSIX_FLAGS_MASKALL);
	if (msi && msi_was != msi_on && d->ops && d->ops->msi_ctl)
		d->ops->msi_ctl(d->opaque, msi_on);
	if (get16(d->cfg, PCI_COMMAND) != old_cmd && d->ops && d->ops->command)
		d->ops->command(d->opaque, get16(d->cfg, PCI_COMMAND));
}

void pci_config_access(struct pci_bus *b, unsigned int bus, unsigned int dev, unsigned int fn,
		       unsigned int off, void *data, unsigned int size, bool is_write)
{
	struct pci_dev *d;

	if ((size != 1 && size != 2 && size != 4) || off >= 4096 || off % size || bus != 0 ||
	    dev >= PCI_SLOTS || fn != 0) {
		if (!is_write && (size == 1 || size == 2 || size == 4 || size == 8))
			memset(data, 0xFF, size);
		return;
	}
	pthread_rwlock_wrlock(&b->lock);
	d = b->slots[dev];
	if (!d) {
		if (!is_write)
			memset(data, 0xFF, size);
	} else if (is_write) {
		dev_cfg_write(d, off, data, size);
	} else {
		dev_cfg_read(d, off, data, size);
	}
	pthread_rwlock_unlock(&b->lock);
}

/* Bus ranges */

static void cf8_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct pci_bus *b = opaque;
	uint32_t a;

	if (off == 0) {
		if (size == 4) {
			a = __atomic_load_n(&b->cf8, __ATOMIC_ACQUIRE);
			memcpy(data, &a, 4);
		} else {
			memset(data, 0xFF, size);
		}
		return;
	}
	a = __atomic_load_n(&b->cf8, __ATOMIC_ACQUIRE);
	unsigned int k = (unsigned int)off - 4;
	if (off < 4 || k + size > 4 || !(a & CF8_ENABLE)) {
		memset(data, 0xFF, size);
		return;
	}
	pci_config_access(b, (a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 0x7, (a & 0xFC) + k,
			  data, size, false);
}

static void cf8_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct pci_bus *b = opaque;
	uint32_t a;

	if (off == 0) {
		if (size == 4) {
			memcpy(&a, data, 4);
			__atomic_store_n(&b->cf8, a, __ATOMIC_RELEASE);
		}
		return;
	}
	a = __atomic_load_n(&b->cf8, __ATOMIC_ACQUIRE);
	unsigned int k = (unsigned int)off - 4;
	if (off < 4 || k + size > 4 || !(a & CF8_ENABLE))
		return;
	pci_config_access(b, (a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 0x7, (a & 0xFC) + k,
			  (void *)data, size, true);
}

static void ecam_access(struct pci_bus *b, uint64_t off, void *data, unsigned int size,
			bool is_write)
{
	pci_config_access(b, (unsigned int)(off >> 20), (unsigned int)(off >> 15) & 0x1F,
			  (unsigned int)(off >> 12) & 0x7, (unsigned int)off & 0xFFF, data, size,
			  is_write);
}

static void ecam_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	ecam_access(opaque, off, data, size, false);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	ecam_access(opaque, off, (void *)data, size, true);
}

/* A BAR window; opaque is its struct pci_window. */
static void win_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct pci_window *w = opaque;
	window_access(w->bus, w->base + off, data, size, false, w->io);
}

static void win_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct pci_window *w = opaque;
	window_access(w->bus, w->base + off, (void *)data, size, true, w->io);
}

static const struct bus_ops cf8_ops = { cf8_read, cf8_write };
static const struct bus_ops ecam_ops = { ecam_read, ecam_write };
static const struct bus_ops win_ops = { win_read, win_write };

int pci_bus_init(struct pci_bus *b, const struct pci_bus_config *cfg,
		 const struct pci_host_ops *ops, void *opaque)
{
	static const struct pci_dev_info host = {
		.vendor_id = HOST_VENDOR,
		.device_id = HOST_DEVICE,
		.class_code = CLASS_HOST_BRIDGE,
	};

	memset(b, 0, sizeof(*b));
	if (cfg->ecam_base & (PCI_ECAM_BUS_SIZE - 1) ||
	    cfg->ecam_base > UINT64_MAX - PCI_ECAM_BUS_SIZE)
		return bad("bus ecam_base", "must be 1 MiB aligned");
	if (cfg->io_size && (cfg->io_base > 0xFFFF || cfg->io_size > 0x10000 - cfg->io_base))
		return bad("bus io window", "must lie within the 64 KiB I/O space");
	if (!cfg->mmio32_size || cfg->mmio32_base > UINT32_MAX ||
	    cfg->mmio32_size > (1ull << 32) - cfg->mmio32_base)
		return bad("bus mmio32 window", "must be non-empty and below 4 GiB");
	if (cfg->mmio64_size && cfg->mmio64_base > UINT64_MAX - cfg->mmio64_size + 1)
		return bad("bus mmio64 window", "wraps");
	b->cfg = *cfg;
	b->ops = ops;
	b->opaque = opaque;
	b->io_next = cfg->io_base;
	b->mmio32_next = cfg->mmio32_base;
	b->mmio64_next = cfg->mmio64_base;
	b->win[0] = (struct pci_window){ b, cfg->io_base, true };
	b->win[1] = (struct pci_window){ b, cfg->mmio32_base, false };
	b->win[2] = (struct pci_window){ b, cfg->mmio64_base, false };
	pthread_rwlock_init(&b->lock, NULL);
	pci_dev_init(&b->host, &host, NULL, NULL);
	b->host.bus = b;
	b->slots[0] = &b->host;
	return 0;
}

void pci_bus_free(struct pci_bus *b)
{
	pci_dev_free(&b->host);
	pthread_rwlock_destroy(&b->lock);
}

int pci_bus_register(struct pci_bus *b, struct bus *pio, struct bus *mmio)
{
	const struct {
		struct bus *on;
		uint64_t base, len;
		const struct bus_ops *ops;
		void *opaque;
		const char *name;
	} r[] = {
		{ pio, 0xCF8, 8, &cf8_ops, b, "pci-config" },
		{ pio, b->cfg.io_base, b->cfg.io_size, &win_ops, &b->win[0], "pci-io" },
		{ mmio, b->cfg.ecam_base, PCI_ECAM_BUS_SIZE, &ecam_ops, b, "pci-ecam" },
		{ mmio, b->cfg.mmio32_base, b->cfg.mmio32_size, &win_ops, &b->win[1],
		  "pci-mmio32" },
		{ mmio, b->cfg.mmio64_base, b->cfg.mmio64_size, &win_ops, &b->win[2],
		  "pci-mmio64" },
	};
	unsigned int n = sizeof(r) / sizeof(r[0]);
	int err = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].len)
			continue;
		err = bus_register(r[i].on, r[i].base, r[i].len, r[i].ops, r[i].opaque, r[i].name);
		if (err) {
			while (i--)
				if (r[i].len)
					bus_unregister(r[i].on, r[i].base);
			return err;
		}
	}
	return 0;
}

static int alloc_from(uint64_t *next, uint64_t base, uint64_t size, uint64_t len, uint64_t align,
		      uint64_t *out)
{
	uint64_t a = (*next + align - 1) & ~(align - 1);

	if (a < *next || !in_window(a, len, base, size))
		return -ENOSPC;
	*out = a;
	*next = a + len;
	return 0;
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d, int slot)
{
	uint64_t io = b->io_next, m32 = b->mmio32_next, m64 = b->mmio64_next;
	const struct pci_bus_config *c = &b->cfg;
	uint64_t addr[PCI_NUM_BARS] = { 0 };
	int err = 0;

	if (slot >= PCI_SLOTS || slot == 0)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	if (slot < 0) {
		for (slot = 1; slot < PCI_SLOTS && b->slots[slot]; slot++)
			;
		if (slot == PCI_SLOTS) {
			err = -ENOSPC;
			goto out;
		}
	} else if (b->slots[slot]) {
		err = -EBUSY;
		goto out;
	}
	for (unsigned int i = 0; i < PCI_NUM_BARS && !err; i++) {
		const struct pci_bar *bar = &d->bar[i];
		uint64_t mem_align = bar->size > MEM_BAR_ALIGN ? bar->size : MEM_BAR_ALIGN;

		switch (bar->kind) {
		case PCI_BAR_IO:
			err = alloc_from(&io, c->io_base, c->io_size, bar->size, bar->size,
					 &addr[i]);
			break;
		case PCI_BAR_MEM32:
			err = alloc_from(&m32, c->mmio32_base, c->mmio32_size, bar->size, mem_align,
					 &addr[i]);
			break;
		case PCI_BAR_MEM64:
			if (c->mmio64_size)
				err = alloc_from(&m64, c->mmio64_base, c->mmio64_size, bar->size,
						 mem_align, &addr[i]);
			else
				err = alloc_from(&m32, c->mmio32_base, c->mmio32_size, bar->size,
						 mem_align, &addr[i]);
			break;
		default:
			break;
		}
	}
	for (unsigned int v = 0; !err && pci__irqfd_mode(b) && v < d->msix_n; v++) {
		if (d->msix_vec[v].fd >= 0)
			continue;
		d->msix_vec[v].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->msix_vec[v].fd < 0)
			err = -errno;
	}
	if (!err && pci__irqfd_mode(b) && d->msi_cap && d->msi_vec.fd < 0 &&
	    (d->msi_vec.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		err = -errno;
	if (err)
		goto out;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		unsigned int reg = PCI_BAR0 + 4 * i;
		uint32_t low = get32(d->cfg, reg) & (d->bar[i].kind == PCI_BAR_IO ? 0x3u : 0xFu);
		if (d->bar[i].kind == PCI_BAR_NONE)
			continue;
		put32(d->cfg, reg, (uint32_t)addr[i] | low);
		if (d->bar[i].kind == PCI_BAR_MEM64)
			put32(d->cfg, reg + 4, (uint32_t)(addr[i] >> 32));
	}
	if (d->cfg[PCI_INTERRUPT_PIN]) /* what firmware would have written */
		d->cfg[PCI_INTERRUPT_LINE] =
			(uint8_t)layout_pci_intx_gsi((unsigned int)slot, d->cfg[PCI_INTERRUPT_PIN]);
	b->io_next = io;
	b->mmio32_next = m32;
	b->mmio64_next = m64;
	d->bus = b;
	d->slot = (unsigned int)slot;
	b->slots[slot] = d;
out:
	pthread_rwlock_unlock(&b->lock);
	return err ? err : slot;
}

/* --- snapshot ------------------------------------------------------------ */

int pci_dev_save(struct pci_dev *d, struct snap_w *w, const char *pfx)
{
	pthread_mutex_lock(&d->msix_lock);
	snap_put(w, d->cfg, sizeof(d->cfg), "%s.cfg", pfx);
	if (d->msix_n) {
		uint64_t pba[(PCI_MSIX_MAX_VECTORS + 63) / 64] = { 0 };
		for (unsigned int v = 0; v < d->msix_n; v++)
			if (pci__msix_pending(d, v))
				pba[v / 64] |= 1ull << (v % 64);
		snap_put(w, d->msix_table, d->msix_n * sizeof(*d->msix_table), "%s.msix", pfx);
		snap_put(w, pba, (d->msix_n + 63) / 64 * 8, "%s.msix_pba", pfx);
	}
	if (d->msi_cap) {
		uint8_t held =
			d->msi_vec.fd >= 0 && !d->msi_vec.bound && pci__efd_held(d->msi_vec.fd);
		snap_put(w, &held, 1, "%s.msi_held", pfx);
	}
	pthread_mutex_unlock(&d->msix_lock);
	return w->rc;
}

int pci_dev_restore(struct pci_dev *d, const struct snap_r *r, const char *pfx, struct err *err)
{
	uint8_t cfg[PCI_CFG_SIZE];
	uint64_t pba[(PCI_MSIX_MAX_VECTORS + 63) / 64] = { 0 };
	uint8_t msi_held = 0;
	int rc;

	if ((rc = snap_get_exact(r, cfg, sizeof(cfg), err, "%s.cfg", pfx)))
		return rc;
	if (get16(cfg, PCI_VENDOR_ID) != get16(d->cfg, PCI_VENDOR_ID) ||
	    get16(cfg, PCI_DEVICE_ID) != get16(d->cfg, PCI_DEVICE_ID))
		return err_set(err, EINVAL,
			       "snapshot: %s is a %04x:%04x, the configuration makes a %04x:%04x",
			       pfx, get16(cfg, PCI_VENDOR_ID), get16(cfg, PCI_DEVICE_ID),
			       get16(d->cfg, PCI_VENDOR_ID), get16(d->cfg, PCI_DEVICE_ID));
	if (d->msix_n) {
		struct pci_msix_entry *t = calloc(d->msix_n, sizeof(*t));
		if (!t)
			return err_set(err, ENOMEM, "out of memory");
		if ((rc = snap_get_exact(r, t, d->msix_n * sizeof(*t), err, "%s.msix", pfx)) ||
		    (rc = snap_get_exact(r, pba, (d->msix_n + 63) / 64 * 8, err, "%s.msix_pba",
					 pfx))) {
			free(t);
			return rc;
		}
		pthread_mutex_lock(&d->msix_lock);
		memcpy(d->msix_table, t, d->msix_n * sizeof(*t));
		pthread_mutex_unlock(&d->msix_lock);
		free(t);
	}
	if (d->msi_cap && (rc = snap_get_exact(r, &msi_held, 1, err, "%s.msi_held", pfx)))
		return rc;
	if (d->bus)
		pthread_rwlock_wrlock(&d->bus->lock);
	pthread_mutex_lock(&d->msix_lock);
	/* only what the guest could have written: IDs, BAR sizes and the
	 * capability list stay as this svmm builds them */
	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
		d->cfg[i] = (uint8_t)((d->cfg[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]));
	for (unsigned int v = 0; v < d->msix_n; v++) {
		d->msix_table[v].ctrl &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		if (!((pba[v / 64] >> (v % 64)) & 1))
			continue;
		if (d->msix_vec && d->msix_vec[v].fd >= 0)
			pci__efd_raise(d->msix_vec[v].fd); /* held while masked, sent at unmask */
		else if (d->msix_pba)
			d->msix_pba[v / 64] |= 1ull << (v % 64);
	}
	if (d->msi_cap && msi_held && d->msi_vec.fd >= 0)
		pci__efd_raise(d->msi_vec.fd);
	if (d->bus) {
		if (d->msix_n)
			pci__msix_sync_all(d);
		if (d->msi_cap)
			pci__msi_sync(d);
	}
	pthread_mutex_unlock(&d->msix_lock);
	bars_update(d);
	if (d->bus)
		pthread_rwlock_unlock(&d->bus->lock);
	if (d->ops && d->ops->command)
		d->ops->command(d->opaque, get16(d->cfg, PCI_COMMAND));
	return 0;
}
