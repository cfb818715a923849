// SPDX-License-Identifier: Apache-2.0
/* Unit tests for devices/pci.c: config cycles (CF8/CFC and ECAM), BAR
 * sizing, allocation and decode, capabilities, MSI-X, hostile accesses. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/layout.h"

#define ECAM	  LAYOUT_PCI_ECAM_START
#define NVEC	  3
#define TABLE_OFF 0x2000
#define PBA_OFF	  0x3000

/* A GSI of the fake KVM below: its route and the eventfd bound to it. */
struct fake_gsi {
	bool used;
	uint64_t addr;
	uint32_t data;
	int fd; /* bound irqfd, -1 */
	unsigned int delivered;
};

#define FAKE_GSIS 64

struct host_log {
	int moved, sends;
	unsigned int bar;
	uint64_t old_addr, new_addr, size, sent_addr;
	uint32_t sent_data;
	/* irqfd mode */
	struct fake_gsi gsi[FAKE_GSIS];
	int routes_set, routes_freed, binds, unbinds, route_error;
};

struct endpoint {
	struct pci_dev dev;
	int bar_reads, bar_writes, cfg_hook_writes;
	unsigned int bar;
	uint64_t off;
	uint32_t last;
	uint8_t vcap; /* offset of its vendor capability */
	int ctl_calls, cmd_calls;
	bool ctl_enabled, ctl_masked;
	uint16_t cmd;
};

struct fx {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct host_log log;
	struct endpoint ep;
};

static void bar_moved(void *o, struct pci_dev *d, unsigned int bar, uint64_t old_addr,
		      uint64_t new_addr, uint64_t size)
{
	struct host_log *l = o;
	(void)d;
	l->moved++;
	l->bar = bar;
	l->old_addr = old_addr;
	l->new_addr = new_addr;
	l->size = size;
}

static void msi_send(void *o, uint64_t addr, uint32_t data)
{
	struct host_log *l = o;
	l->sends++;
	l->sent_addr = addr;
	l->sent_data = data;
}

static const struct pci_host_ops host_ops = { .bar_moved = bar_moved, .msi_send = msi_send };

/* KVM as the irqfd host ops see it: routes on GSIs from 24 up, and an
 * irqfd that delivers (takes the count of) its eventfd, also at binding. */
static void fake_take(struct fake_gsi *g)
{
	uint64_t n;
	if (g->fd >= 0 && read(g->fd, &n, sizeof(n)) == sizeof(n))
		g->delivered++;
}

static int fake_route(void *o, int gsi, uint64_t addr, uint32_t data)
{
	struct host_log *l = o;
	if (l->route_error)
		return l->route_error;
	if (gsi < 0)
		for (gsi = 24; gsi < FAKE_GSIS && l->gsi[gsi].used; gsi++)
			;
	assert_true(gsi >= 24 && gsi < FAKE_GSIS);
	if (!l->gsi[gsi].used)
		l->gsi[gsi] = (struct fake_gsi){ .used = true, .fd = -1 };
	l->gsi[gsi].addr = addr;
	l->gsi[gsi].data = data;
	l->routes_set++;
	return gsi;
}

static void fake_route_free(void *o, int gsi)
{
	struct host_log *l = o;
	assert_true(l->gsi[gsi].used);
	assert_int_equal(l->gsi[gsi].fd, -1); /* unbound first */
	l->gsi[gsi].used = false;
	l->routes_freed++;
}

static int fake_irqfd(void *o, int fd, int gsi, bool assign)
{
	struct host_log *l = o;
	struct fake_gsi *g = &l->gsi[gsi];
	assert_true(g->used);
	if (assign) {
		assert_int_equal(g->fd, -1);
		g->fd = fd;
		l->binds++;
		fake_take(g);
	} else {
		assert_int_equal(g->fd, fd);
		g->fd = -1;
		l->unbinds++;
	}
	return 0;
}

/* Let "KVM" run: every bound eventfd that holds a count is delivered. */
static void fake_kvm_run(struct host_log *l)
{
	for (unsigned int i = 0; i < FAKE_GSIS; i++)
		fake_take(&l->gsi[i]);
}

static const struct pci_host_ops irqfd_host_ops = {
	.bar_moved = bar_moved,
	.msi_route = fake_route,
	.msi_route_free = fake_route_free,
	.irqfd = fake_irqfd,
};

static void ep_bar_read(void *o, unsigned int bar, uint64_t off, void *data, unsigned int size)
{
	struct endpoint *e = o;
	e->bar_reads++;
	e->bar = bar;
	e->off = off;
	memset(data, 0x5A, size);
}

static void ep_bar_write(void *o, unsigned int bar, uint64_t off, const void *data,
			 unsigned int size)
{
	struct endpoint *e = o;
	e->bar_writes++;
	e->bar = bar;
	e->off = off;
	e->last = 0;
	memcpy(&e->last, data, size < 4 ? size : 4);
}

/* The vendor capability's byte 3 is writable through the hook. */
static bool ep_cfg_write(void *o, unsigned int off, const void *data, unsigned int size)
{
	struct endpoint *e = o;
	if (off != e->vcap + 3u || size != 1)
		return false;
	e->cfg_hook_writes++;
	e->dev.cfg[off] = *(const uint8_t *)data;
	return true;
}

static void ep_msix_ctl(void *o, bool enabled, bool masked)
{
	struct endpoint *e = o;
	e->ctl_calls++;
	e->ctl_enabled = enabled;
	e->ctl_masked = masked;
}

static void ep_command(void *o, uint16_t cmd)
{
	struct endpoint *e = o;
	e->cmd_calls++;
	e->cmd = cmd;
}

static const struct pci_dev_ops ep_ops = { .cfg_write = ep_cfg_write,
					   .bar_read = ep_bar_read,
					   .bar_write = ep_bar_write,
					   .msix_ctl = ep_msix_ctl,
					   .command = ep_command };

static const struct pci_dev_info ep_info = {
	.vendor_id = 0x1AF4,
	.device_id = 0x1041,
	.subsys_vendor_id = 0x1AF4,
	.subsys_id = 0x0001,
	.revision = 1,
	.class_code = 0x020000,
	.bars = {
		[0] = { PCI_BAR_MEM64, 0x80000, false },
		[2] = { PCI_BAR_MEM32, 0x1000, false },
		[4] = { PCI_BAR_IO, 0x20, false },
	},
	.msix_vectors = NVEC,
	.msix_bar = 0,
	.msix_table_off = TABLE_OFF,
	.msix_pba_off = PBA_OFF,
};

static int fx_setup(void **state, const struct pci_host_ops *ops)
{
	static struct fx f;
	const struct pci_bus_config cfg = {
		.ecam_base = ECAM,
		.io_base = LAYOUT_PCI_IO_START,
		.io_size = LAYOUT_PCI_IO_SIZE,
		.mmio32_base = LAYOUT_PCI_MMIO_START,
		.mmio32_size = LAYOUT_PCI_MMIO_SIZE,
		.mmio64_base = 1ull << 32,
		.mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
	};
	const uint8_t vbody[4] = { 0x10, 0x01, 0x00, 0x00 };

	memset(&f, 0, sizeof(f));
	bus_init(&f.pio);
	bus_init(&f.mmio);
	assert_int_equal(pci_bus_init(&f.pb, &cfg, ops, &f.log), 0);
	assert_int_equal(pci_bus_register(&f.pb, &f.pio, &f.mmio), 0);
	assert_int_equal(pci_dev_init(&f.ep.dev, &ep_info, &ep_ops, &f.ep), 0);
	int off = pci_dev_add_cap(&f.ep.dev, PCI_CAP_ID_VNDR, vbody, sizeof(vbody));
	assert_true(off >= 0x40);
	f.ep.vcap = (uint8_t)off;
	assert_int_equal(pci_bus_add(&f.pb, &f.ep.dev, -1), 1);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, &host_ops);
}

static int setup_irqfd(void **state)
{
	return fx_setup(state, &irqfd_host_ops);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	pci_dev_free(&f->ep.dev);
	pci_bus_free(&f->pb);
	bus_free(&f->pio);
	bus_free(&f->mmio);
	return 0;
}

static uint32_t cf8(struct fx *f, unsigned int bus, unsigned int dev, unsigned int fn,
		    unsigned int reg, unsigned int size)
{
	uint32_t a = 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC), v = 0;
	assert_true(bus_access(&f->pio, 0xCF8, &a, 4, true));
	bus_access(&f->pio, 0xCFC + (reg & 3), &v, size, false);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void cf8_wr(struct fx *f, unsigned int dev, unsigned int reg, uint32_t v, unsigned int size)
{
	uint32_t a = 0x80000000u | dev << 11 | (reg & 0xFC);
	bus_access(&f->pio, 0xCF8, &a, 4, true);
	bus_access(&f->pio, 0xCFC + (reg & 3), &v, size, true);
}

static uint32_t ecam(struct fx *f, unsigned int bus, unsigned int dev, unsigned int fn,
		     unsigned int reg, unsigned int size)
{
	uint32_t v = 0;
	bus_access(&f->mmio, ECAM + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | reg), &v, size,
		   false);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void ecam_wr(struct fx *f, unsigned int dev, unsigned int reg, uint32_t v, unsigned int size)
{
	bus_access(&f->mmio, ECAM + (dev << 15 | reg), &v, size, true);
}

static void host_bridge_and_empty_slots(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cf8(f, 0, 0, 0, 0, 4), 0x0d578086);
	assert_int_equal(ecam(f, 0, 0, 0, 0, 4), 0x0d578086);
	assert_int_equal(cf8(f, 0, 0, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(cf8(f, 0, 0, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cf8(f, 0, 2, 0, 0, 4), 0xFFFFFFFF); /* empty slot */
	assert_int_equal(ecam(f, 0, 31, 0, 0, 4), 0xFFFFFFFF);
	assert_int_equal(cf8(f, 0, 1, 1, 0, 4), 0xFFFFFFFF); /* function 1 */
	assert_int_equal(cf8(f, 1, 1, 0, 0, 4), 0xFFFFFFFF); /* bus 1 */
	/* ECAM of bus 1 is not decoded at all */
	uint32_t v = 0;
	assert_false(bus_access(&f->mmio, ECAM + (1u << 20), &v, 4, false));
	assert_int_equal(v, 0xFFFFFFFF);
	/* the config enable bit is required */
	uint32_t a = 1u << 11;
	bus_access(&f->pio, 0xCF8, &a, 4, true);
	bus_access(&f->pio, 0xCFC, &v, 4, false);
	assert_int_equal(v, 0xFFFFFFFF);
	/* the address latch reads back */
	bus_access(&f->pio, 0xCF8, &v, 4, false);
	assert_int_equal(v, a);
}

static void both_paths_agree(void **state)
{
	struct fx *f = *state;

	for (unsigned int dev = 0; dev < 3; dev++) {
		for (unsigned int reg = 0; reg < 256; reg += 4)
			assert_int_equal(cf8(f, 0, dev, 0, reg, 4), ecam(f, 0, dev, 0, reg, 4));
		for (unsigned int reg = 0; reg < 64; reg++)
			assert_int_equal(cf8(f, 0, dev, 0, reg, 1), ecam(f, 0, dev, 0, reg, 1));
		for (unsigned int reg = 0; reg < 64; reg += 2)
			assert_int_equal(cf8(f, 0, dev, 0, reg, 2), ecam(f, 0, dev, 0, reg, 2));
	}
	assert_int_equal(cf8(f, 0, 1, 0, 0, 4), 0x10411AF4);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00011AF4);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_CLASS_REVISION, 4), 0x02000001);
	/* extended config space exists through ECAM and reads as zeros */
	assert_int_equal(ecam(f, 0, 1, 0, 0x100, 4), 0);
	assert_int_equal(ecam(f, 0, 1, 0, 0xFFC, 4), 0);
	/* a write through one path is seen through the other */
	cf8_wr(f, 1, PCI_INTERRUPT_LINE, 0x0B, 1);
	assert_int_equal(ecam(f, 0, 1, 0, PCI_INTERRUPT_LINE, 1), 0x0B);
	ecam_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
}

static void bar_sizing_probe(void **state)
{
	struct fx *f = *state;
	uint32_t saved[6];

	for (unsigned int i = 0; i < 6; i++) {
		saved[i] = cf8(f, 0, 1, 0, PCI_BAR0 + 4 * i, 4);
		cf8_wr(f, 1, PCI_BAR0 + 4 * i, 0xFFFFFFFF, 4);
	}
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0, 4), 0xFFF80004); /* 512K, 64-bit */
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 4, 4), 0xFFFFFFFF);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 8, 4), 0xFFFFF000); /* 4K, 32-bit */
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 12, 4), 0);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 16, 4), 0xFFFFFFE1); /* 32 ports */
	assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 20, 4), 0);
	cf8_wr(f, 1, PCI_ROM_ADDRESS, 0xFFFFF800, 4);
	assert_int_equal(cf8(f, 0, 1, 0, PCI_ROM_ADDRESS, 4), 0); /* no ROM */
	/* the host bridge has no BARs */
	cf8_wr(f, 0, PCI_BAR0, 0xFFFFFFFF, 4);
	assert_int_equal(cf8(f, 0, 0, 0, PCI_BAR0, 4), 0);
	for (unsigned int i = 0; i < 6; i++)
		cf8_wr(f, 1, PCI_BAR0 + 4 * i, saved[i], 4);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(cf8(f, 0, 1, 0, PCI_BAR0 + 4 * i, 4), saved[i]);
	/* sizing with decode off never made a BAR live */
	assert_int_equal(f->log.moved, 0);
}

static void bar_allocation_and_slots(void **state)
{
	struct fx *f = *state;
	struct pci_dev more[3];
	const struct pci_dev_info small = { .vendor_id = 0x1AF4,
					    .device_id = 0x1042,
					    .bars = { [0] = { PCI_BAR_MEM32, 0x100, false } } };

	uint64_t b0 = pci_bar_addr(&f->ep.dev, 0), b2 = pci_bar_addr(&f->ep.dev, 2);
	uint64_t b4 = pci_bar_addr(&f->ep.dev, 4);
	assert_true(b0 >= (1ull << 32) && b0 % 0x80000 == 0);
	assert_true(b2 >= LAYOUT_PCI_MMIO_START &&
		    b2 + 0x1000 <= LAYOUT_PCI_MMIO_START + LAYOUT_PCI_MMIO_SIZE);
	assert_true(b4 >= LAYOUT_PCI_IO_START && b4 % 0x20 == 0);

	/* devices added in order get slots 2, 3; an explicit slot; busy */
	for (int i = 0; i < 3; i++)
		assert_int_equal(pci_dev_init(&more[i], &small, NULL, NULL), 0);
	assert_int_equal(pci_bus_add(&f->pb, &more[0], -1), 2);
	assert_int_equal(pci_bus_add(&f->pb, &more[1], 5), 5);
	assert_int_equal(pci_bus_add(&f->pb, &more[2], 5), -EBUSY);
	assert_int_equal(pci_bus_add(&f->pb, &more[2], 0), -EINVAL);
	assert_int_equal(pci_bus_add(&f->pb, &more[2], 32), -EINVAL);
	assert_int_equal(pci_bus_add(&f->pb, &more[2], -1), 3);
	assert_int_equal(cf8(f, 0, 5, 0, 0, 4), 0x10421AF4);
	/* memory BARs are page aligned even when smaller */
	assert_int_equal(pci_bar_addr(&more[0], 0) % 4096, 0);
	assert_true(pci_bar_addr(&more[1], 0) != pci_bar_addr(&more[0], 0));
	for (int i = 0; i < 3; i++) {
		f->pb.slots[more[i].slot] = NULL;
		pci_dev_free(&more[i]);
	}
}

/* INTx: the pin is read-only, the line the slot's GSI (layout.h's swizzle)
 * until the guest writes its own; no pin, no GSI. */
static void intx_pin_and_line(void **state)
{
	struct fx *f = *state;
	struct pci_dev d[2];
	struct pci_dev_info info = { .vendor_id = 0x1B36,
				     .device_id = 0x0010,
				     .bars = { [0] = { PCI_BAR_MEM32, 0x1000, false } },
				     .intx_pin = 1 };

	assert_int_equal(cf8(f, 0, 1, 0, PCI_INTERRUPT_PIN, 1), 0); /* ep: no pin */
	assert_int_equal(pci_intx_gsi(&f->ep.dev), -1);
	assert_int_equal(pci_dev_init(&d[0], &info, NULL, NULL), 0);
	assert_int_equal(pci_intx_gsi(&d[0]), -1); /* not plugged */
	info.intx_pin = 2;
	assert_int_equal(pci_dev_init(&d[1], &info, NULL, NULL), 0);
	assert_int_equal(pci_bus_add(&f->pb, &d[0], 7), 7);
	assert_int_equal(pci_bus_add(&f->pb, &d[1], 15), 15);
	assert_int_equal(pci_intx_gsi(&d[0]), 16 + (7 + 0) % 8);
	assert_int_equal(pci_intx_gsi(&d[1]), 16 + (15 + 1) % 8);
	assert_int_equal(cf8(f, 0, 7, 0, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cf8(f, 0, 7, 0, PCI_INTERRUPT_LINE, 1), 23);
	assert_int_equal(ecam(f, 0, 15, 0, PCI_INTERRUPT_PIN, 1), 2);
	assert_int_equal(ecam(f, 0, 15, 0, PCI_INTERRUPT_LINE, 1), 16);
	cf8_wr(f, 7, PCI_INTERRUPT_PIN, 4, 1); /* read-only */
	cf8_wr(f, 7, PCI_INTERRUPT_LINE, 11, 1);
	assert_int_equal(cf8(f, 0, 7, 0, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cf8(f, 0, 7, 0, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(pci_intx_gsi(&d[0]), 23); /* the line is the guest's scratch */
	for (int i = 0; i < 2; i++) {
		f->pb.slots[d[i].slot] = NULL;
		pci_dev_free(&d[i]);
	}
	info.intx_pin = 5;
	assert_int_equal(pci_dev_init(&d[0], &info, NULL, NULL), -EINVAL);
}

static void decode_moves_bars(void **state)
{
	struct fx *f = *state;
	uint64_t b2 = pci_bar_addr(&f->ep.dev, 2);
	uint32_t v = 0;

	/* memory decode on: BAR0 and BAR2 go live */
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(f->log.moved, 2);
	assert_int_equal(f->log.bar, 2);
	assert_int_equal(f->log.old_addr, 0);
	assert_int_equal(f->log.new_addr, b2);
	assert_int_equal(f->log.size, 0x1000);
	assert_true(bus_access(&f->mmio, b2 + 0x10, &v, 4, false));
	assert_int_equal(v, 0x5A5A5A5A);
	assert_int_equal(f->ep.bar, 2);
	assert_int_equal(f->ep.off, 0x10);
	v = 0x1234;
	bus_access(&f->mmio, b2 + 0x20, &v, 2, true);
	assert_int_equal(f->ep.bar_writes, 1);
	assert_int_equal(f->ep.last, 0x1234);
	/* I/O BAR is not live without I/O decode */
	bus_access(&f->pio, pci_bar_addr(&f->ep.dev, 4), &v, 1, false);
	assert_int_equal(v & 0xFF, 0xFF);
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_int_equal(f->log.moved, 3);
	assert_int_equal(f->log.bar, 4);
	bus_access(&f->pio, pci_bar_addr(&f->ep.dev, 4) + 3, &v, 1, false);
	assert_int_equal(f->ep.bar, 4);
	assert_int_equal(f->ep.off, 3);

	/* move BAR2 with decode off, as Linux does */
	cf8_wr(f, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(f->log.new_addr, 0);
	v = 0;
	bus_access(&f->mmio, b2, &v, 4, false);
	assert_int_equal(v, 0xFFFFFFFF);
	cf8_wr(f, 1, PCI_BAR0 + 8, (uint32_t)b2 + 0x100000, 4);
	int moved = f->log.moved;
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(f->log.moved, moved + 2);
	assert_true(f->log.bar == 2 || f->log.bar == 0);
	assert_true(bus_access(&f->mmio, b2 + 0x100000 + 4, &v, 4, false));
	assert_int_equal(f->ep.off, 4);
	/* a BAR put outside its window is not decoded */
	cf8_wr(f, 1, PCI_BAR0 + 8, 0x10000000, 4);
	assert_int_equal(f->log.bar, 2);
	assert_int_equal(f->log.new_addr, 0);
	/* an access straddling the BAR's end is not the device's */
	cf8_wr(f, 1, PCI_BAR0 + 8, (uint32_t)b2, 4);
	int reads = f->ep.bar_reads;
	uint64_t q = 0;
	bus_access(&f->mmio, b2 + 0xFFC, &q, 8, false);
	assert_int_equal(q, UINT64_MAX);
	assert_int_equal(f->ep.bar_reads, reads);
}

static unsigned int find_cap(struct fx *f, unsigned int dev, uint8_t id)
{
	unsigned int off = cf8(f, 0, dev, 0, PCI_CAPABILITY_LIST, 1), n = 0;
	assert_true(cf8(f, 0, dev, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	while (off && n++ < 48) {
		if (cf8(f, 0, dev, 0, off, 1) == id)
			return off;
		off = cf8(f, 0, dev, 0, off + 1, 1);
	}
	return 0;
}

struct msi_ep {
	int calls;
	bool enabled;
};

static void msi_ep_ctl(void *o, bool enabled)
{
	struct msi_ep *e = o;
	e->calls++;
	e->enabled = enabled;
}

static const struct pci_dev_ops msi_ep_ops = { .msi_ctl = msi_ep_ctl };

/* MSI (irqfd mode): one vector, 64-bit; enable routes the guest's message
 * and binds the eventfd (a write held before is delivered once), disable
 * releases both; MME stays 0; msi_ctl sees each change of the enable bit. */
static void msi_irqfd(void **state)
{
	struct fx *f = *state;
	struct host_log *l = &f->log;
	struct msi_ep e = { 0 };
	struct pci_dev d;
	const struct pci_dev_info info = { .vendor_id = 0x8086,
					   .device_id = 0x2922,
					   .bars = { [5] = { PCI_BAR_MEM32, 0x1000, false } },
					   .msi = true };
	uint64_t one = 1;

	assert_int_equal(pci_dev_init(&d, &info, &msi_ep_ops, &e), 0);
	assert_int_equal(pci_msi_fd(&d), -1); /* no eventfd before the bus */
	assert_int_equal(pci_bus_add(&f->pb, &d, 6), 6);
	int fd = pci_msi_fd(&d);
	assert_true(fd >= 0);
	assert_int_equal(pci_msi_fd(&f->ep.dev), -1); /* the endpoint has none */
	unsigned int c = find_cap(f, 6, PCI_CAP_ID_MSI);
	assert_true(c >= 0x40);
	assert_int_equal(cf8(f, 0, 6, 0, c + 2, 2), PCI_MSI_FLAGS_64BIT); /* 1 vector, off */

	/* message written, still off: no route; a write is held */
	cf8_wr(f, 6, c + 4, 0xFEE01003, 4); /* the low bits are not the guest's */
	cf8_wr(f, 6, c + 8, 0, 4);
	cf8_wr(f, 6, c + 12, 0x4062, 2);
	assert_int_equal(cf8(f, 0, 6, 0, c + 4, 4), 0xFEE01000);
	assert_int_equal(l->routes_set, 0);
	assert_int_equal(write(fd, &one, 8), 8);
	/* enable (and MME 4 vectors asked: one it is) */
	cf8_wr(f, 6, c + 2, PCI_MSI_FLAGS_ENABLE | 0x20, 2);
	assert_int_equal(cf8(f, 0, 6, 0, c + 2, 2), PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(e.calls, 1);
	assert_true(e.enabled);
	assert_int_equal(l->routes_set, 1);
	assert_int_equal(l->binds, 1);
	assert_int_equal(l->gsi[24].addr, 0xFEE01000);
	assert_int_equal(l->gsi[24].data, 0x4062);
	assert_int_equal(l->gsi[24].fd, fd);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 1); /* the held one, once */
	assert_int_equal(write(fd, &one, 8), 8);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 2);
	/* a new message while on: the same GSI rerouted, not rebound */
	cf8_wr(f, 6, c + 12, 0x4072, 2);
	assert_int_equal(l->gsi[24].data, 0x4072);
	assert_int_equal(l->binds, 1);
	assert_int_equal(e.calls, 1); /* the enable bit did not change */
	/* disable: unbound, the route given back */
	cf8_wr(f, 6, c + 2, 0, 2);
	assert_int_equal(e.calls, 2);
	assert_false(e.enabled);
	assert_int_equal(l->unbinds, 1);
	assert_int_equal(l->routes_freed, 1);
	assert_false(l->gsi[24].used);
	/* re-enabled, then freed with the device: released */
	cf8_wr(f, 6, c + 2, PCI_MSI_FLAGS_ENABLE, 2);
	assert_int_equal(l->binds, 2);
	f->pb.slots[6] = NULL;
	pci_dev_free(&d);
	assert_int_equal(l->routes_freed, 2);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
}

static void capabilities(void **state)
{
	struct fx *f = *state;
	unsigned int v = find_cap(f, 1, PCI_CAP_ID_VNDR);

	assert_int_equal(v, f->ep.vcap);
	assert_int_equal(cf8(f, 0, 1, 0, v + 2, 2), 0x0110);
	/* capabilities are read-only unless the device's hook takes it */
	cf8_wr(f, 1, v + 2, 0xAB, 1);
	assert_int_equal(cf8(f, 0, 1, 0, v + 2, 1), 0x10);
	cf8_wr(f, 1, v + 3, 0xCD, 1);
	assert_int_equal(f->ep.cfg_hook_writes, 1);
	assert_int_equal(ecam(f, 0, 1, 0, v + 3, 1), 0xCD);
	/* read-only header fields stay */
	cf8_wr(f, 1, PCI_VENDOR_ID, 0xDEADBEEF, 4);
	assert_int_equal(cf8(f, 0, 1, 0, 0, 4), 0x10411AF4);
	/* a full config space refuses more */
	struct pci_dev d;
	const struct pci_dev_info none = { .vendor_id = 1 };
	uint8_t body[60] = { 0 };
	assert_int_equal(pci_dev_init(&d, &none, NULL, NULL), 0);
	int n = 0;
	while (pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, body, sizeof(body)) >= 0)
		n++;
	assert_int_equal(n, 3); /* 0x40, 0x80, 0xC0 */
	assert_int_equal(pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, body, 300), -ENOSPC);
	assert_int_equal(pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, NULL, 0), -ENOSPC);
	/* the list still ends: 0x40 -> 0x80 -> 0xC0 -> 0 */
	assert_int_equal(d.cfg[0xC1], 0);
	/* a small cap fits into the last dword, then nothing more */
	struct pci_dev e;
	uint8_t big[0xBA] = { 0 };
	assert_int_equal(pci_dev_init(&e, &none, NULL, NULL), 0);
	assert_int_equal(pci_dev_add_cap(&e, PCI_CAP_ID_VNDR, big, sizeof(big)), 0x40);
	assert_int_equal(pci_dev_add_cap(&e, PCI_CAP_ID_VNDR, NULL, 0), 0xFC);
	assert_int_equal(pci_dev_add_cap(&e, PCI_CAP_ID_VNDR, NULL, 0), -ENOSPC);
	assert_int_equal(e.cfg[0xFD], 0);
	pci_dev_free(&e);
	pci_dev_free(&d);
}

static void bar_wr32(struct fx *f, uint64_t a, uint32_t v)
{
	assert_true(bus_access(&f->mmio, a, &v, 4, true));
}

static uint32_t bar_rd32(struct fx *f, uint64_t a)
{
	uint32_t v = 0;
	assert_true(bus_access(&f->mmio, a, &v, 4, false));
	return v;
}

static void msix(void **state)
{
	struct fx *f = *state;
	unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX);
	uint64_t b0 = pci_bar_addr(&f->ep.dev, 0), t = b0 + TABLE_OFF, pba = b0 + PBA_OFF;

	assert_true(cap >= 0x40);
	assert_int_equal(cf8(f, 0, 1, 0, cap + 2, 2), NVEC - 1);
	assert_int_equal(cf8(f, 0, 1, 0, cap + 4, 4), TABLE_OFF | 0);
	assert_int_equal(cf8(f, 0, 1, 0, cap + 8, 4), PBA_OFF | 0);
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

	/* entries start masked; the table is not the device's */
	assert_int_equal(bar_rd32(f, t + 12), 1);
	int reads = f->ep.bar_reads;
	bar_wr32(f, t + 0, 0xFEE00000);
	bar_wr32(f, t + 4, 0);
	bar_wr32(f, t + 8, 0x4041);
	assert_int_equal(f->ep.bar_reads, reads);
	assert_int_equal(f->ep.bar_writes, 0);
	assert_int_equal(bar_rd32(f, t + 8), 0x4041);
	assert_int_equal(pci_msix_fd(&f->ep.dev, 0), -1); /* direct mode: no eventfds */

	/* unmasking the entry is not enough while MSI-X is disabled */
	bar_wr32(f, t + 12, 0);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 0), 0);
	assert_int_equal(bar_rd32(f, pba), 1);
	assert_int_equal(f->log.sends, 0);
	/* enable: vector 0 unmasked and its pending message sent */
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(f->log.sends, 1);
	assert_int_equal(f->log.sent_data, 0x4041);
	assert_int_equal(bar_rd32(f, pba), 0);
	assert_int_equal(cf8(f, 0, 1, 0, cap + 2, 2), PCI_MSIX_FLAGS_ENABLE | (NVEC - 1));
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 0), 1);
	assert_int_equal(f->log.sends, 2);

	/* vector 2 fires while masked: pending; unmask delivers */
	bar_wr32(f, t + 32, 0xFEE01000);
	bar_wr32(f, t + 40, 0x4042);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 2), 0);
	assert_int_equal(bar_rd32(f, pba), 1u << 2);
	uint64_t q = 0;
	assert_true(bus_access(&f->mmio, pba, &q, 8, false));
	assert_int_equal(q, 1u << 2);
	bar_wr32(f, pba, 0); /* PBA is read-only */
	assert_int_equal(bar_rd32(f, pba), 1u << 2);
	bar_wr32(f, t + 44, 0);
	assert_int_equal(f->log.sends, 3);
	assert_int_equal(f->log.sent_addr, 0xFEE01000);
	assert_int_equal(f->log.sent_data, 0x4042);
	assert_int_equal(bar_rd32(f, pba), 0);

	/* function mask masks everything, and unmask resends pendings */
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 0), 0);
	cf8_wr(f, 1, cap + 3, PCI_MSIX_FLAGS_ENABLE >> 8, 1);
	assert_int_equal(f->log.sends, 4);
	assert_int_equal(f->log.sent_data, 0x4041);

	/* 8-byte table access, bad sizes and offsets are harmless */
	q = 0xFEE02000;
	assert_true(bus_access(&f->mmio, t + 16, &q, 8, true));
	assert_int_equal(bar_rd32(f, t + 16), 0xFEE02000);
	uint16_t w = 0xFFFF;
	bus_access(&f->mmio, t + 24, &w, 2, true);
	assert_int_equal(bar_rd32(f, t + 24), 0);
	bar_wr32(f, t + 0, 0xFEE00003); /* low address bits are read-only */
	assert_int_equal(bar_rd32(f, t + 0), 0xFEE00000);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, NVEC), -EINVAL);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 1u << 31), -EINVAL);
}

/* irqfd mode: the route state machine (one GSI and binding per unmasked
 * vector, held while masked, released when MSI-X is disabled). */
static void msix_irqfd(void **state)
{
	struct fx *f = *state;
	struct host_log *l = &f->log;
	unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX);
	uint64_t b0 = pci_bar_addr(&f->ep.dev, 0), t = b0 + TABLE_OFF, pba = b0 + PBA_OFF;
	int fd0 = pci_msix_fd(&f->ep.dev, 0);

	for (unsigned int v = 0; v < NVEC; v++)
		assert_true(pci_msix_fd(&f->ep.dev, v) >= 0);
	assert_int_equal(pci_msix_fd(&f->ep.dev, NVEC), -1);
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

	/* programmed and unmasked, but MSI-X off: no route; what fires is held */
	bar_wr32(f, t + 0, 0xFEE00000);
	bar_wr32(f, t + 8, 0x4041);
	bar_wr32(f, t + 12, 0);
	assert_int_equal(l->routes_set, 0);
	assert_int_equal(pci_msix_trigger(&f->ep.dev, 0), 1);
	assert_int_equal(bar_rd32(f, pba), 1);

	/* enable: a route with the entry's message, bound; the held one is
	 * delivered once and the eventfd left empty */
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(l->routes_set, 1);
	assert_int_equal(l->binds, 1);
	assert_true(l->gsi[24].used);
	assert_int_equal(l->gsi[24].addr, 0xFEE00000);
	assert_int_equal(l->gsi[24].data, 0x4041);
	assert_int_equal(l->gsi[24].fd, fd0);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 1);
	assert_int_equal(bar_rd32(f, pba), 0);

	/* each trigger is one write, no ioctl; "KVM" delivers it */
	int sets = l->routes_set;
	pci_msix_trigger(&f->ep.dev, 0);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 2);
	assert_int_equal(l->routes_set, sets);

	/* the guest moves the vector: same GSI, new message; rewriting the
	 * same value costs nothing */
	bar_wr32(f, t + 8, 0x4051);
	assert_int_equal(l->gsi[24].data, 0x4051);
	assert_int_equal(l->routes_set, sets + 1);
	bar_wr32(f, t + 8, 0x4051);
	assert_int_equal(l->routes_set, sets + 1);
	assert_int_equal(l->binds, 1);

	/* entry mask: unbound, interrupts held in the eventfd and shown in the
	 * PBA; unmask rebinds and delivers them (once) */
	bar_wr32(f, t + 12, 1);
	assert_int_equal(l->unbinds, 1);
	assert_int_equal(l->gsi[24].fd, -1);
	pci_msix_trigger(&f->ep.dev, 0);
	pci_msix_trigger(&f->ep.dev, 0);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 2);
	assert_int_equal(bar_rd32(f, pba), 1);
	uint64_t q = 0;
	assert_true(bus_access(&f->mmio, pba, &q, 8, false));
	assert_int_equal(q, 1);
	bar_wr32(f, t + 12, 0);
	assert_int_equal(l->binds, 2);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 3);
	assert_int_equal(bar_rd32(f, pba), 0);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 3);

	/* a second vector gets a GSI of its own */
	bar_wr32(f, t + 32, 0xFEE01000);
	bar_wr32(f, t + 40, 0x4042);
	bar_wr32(f, t + 44, 0);
	assert_true(l->gsi[25].used);
	assert_int_equal(l->gsi[25].fd, pci_msix_fd(&f->ep.dev, 2));
	pci_msix_trigger(&f->ep.dev, 2);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[25].delivered, 1);
	assert_int_equal(l->gsi[24].delivered, 3);

	/* function mask: both unbound and held; clearing it delivers both */
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	assert_int_equal(l->gsi[24].fd, -1);
	assert_int_equal(l->gsi[25].fd, -1);
	pci_msix_trigger(&f->ep.dev, 0);
	pci_msix_trigger(&f->ep.dev, 2);
	assert_int_equal(bar_rd32(f, pba), 1u | 1u << 2);
	cf8_wr(f, 1, cap + 3, PCI_MSIX_FLAGS_ENABLE >> 8, 1);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 4);
	assert_int_equal(l->gsi[25].delivered, 2);

	/* MSI-X disabled: routes given back, held interrupts dropped; enabling
	 * again routes afresh */
	pci_msix_trigger(&f->ep.dev, 0); /* delivered: still bound */
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_MASKALL, 2);
	pci_msix_trigger(&f->ep.dev, 0); /* held, then dropped below */
	cf8_wr(f, 1, cap + 2, 0, 2);
	assert_int_equal(l->routes_freed, 2);
	assert_false(l->gsi[24].used);
	assert_false(l->gsi[25].used);
	assert_int_equal(bar_rd32(f, pba), 0);
	l->gsi[24].delivered = 0;
	cf8_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_true(l->gsi[24].used);
	fake_kvm_run(l);
	assert_int_equal(l->gsi[24].delivered, 0);

	/* no GSI left: the vector stays unbound, its interrupt held, and a
	 * later unmask with routes available delivers it */
	l->route_error = -ENOSPC;
	bar_wr32(f, t + 16, 0xFEE00000);
	bar_wr32(f, t + 24, 0x4043);
	bar_wr32(f, t + 28, 0);
	pci_msix_trigger(&f->ep.dev, 1);
	assert_int_equal(bar_rd32(f, pba), 1u << 1);
	l->route_error = 0;
	bar_wr32(f, t + 28, 1);
	bar_wr32(f, t + 28, 0);
	assert_int_equal(bar_rd32(f, pba), 0);
	fake_kvm_run(l);
	int g1 = -1;
	for (int g = 24; g < FAKE_GSIS; g++)
		if (l->gsi[g].used && l->gsi[g].data == 0x4043)
			g1 = g;
	assert_true(g1 > 0);
	assert_int_equal(l->gsi[g1].delivered, 1);

	/* the device going away releases every route */
	pci_dev_free(&f->ep.dev);
	for (int g = 0; g < FAKE_GSIS; g++)
		assert_false(l->gsi[g].used);
	memset(&f->ep.dev, 0, sizeof(f->ep.dev));
	pthread_mutex_init(&f->ep.dev.msix_lock, NULL); /* for teardown's free */
}

/* The endpoint hears of MSI-X enable/function-mask and command changes
 * (what VFIO programs the physical function from), once per change. */
static void msix_ctl_and_command_hooks(void **state)
{
	struct fx *f = *state;
	unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX);

	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(f->ep.cmd_calls, 1);
	assert_int_equal(f->ep.cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(f->ep.cmd_calls, 1); /* no change, no call */
	cf8_wr(f, 1, PCI_COMMAND, 0xFFFF, 2); /* only the writable bits stick */
	assert_int_equal(f->ep.cmd_calls, 2);
	assert_int_equal(f->ep.cmd & ~0x0547, 0);
	assert_int_equal(f->ep.ctl_calls, 0);

	ecam_wr(f, 1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(f->ep.ctl_calls, 1);
	assert_true(f->ep.ctl_enabled && !f->ep.ctl_masked);
	ecam_wr(f, 1, cap + 3, (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8, 1);
	assert_int_equal(f->ep.ctl_calls, 2);
	assert_true(f->ep.ctl_enabled && f->ep.ctl_masked);
	ecam_wr(f, 1, cap + 2, 0x07FF | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	assert_int_equal(f->ep.ctl_calls, 2); /* table size is read-only: no change */
	ecam_wr(f, 1, cap, (uint32_t)PCI_MSIX_FLAGS_ENABLE << 16 | PCI_CAP_ID_MSIX, 4);
	assert_int_equal(f->ep.ctl_calls, 3); /* a dword write: the function mask off */
	assert_true(f->ep.ctl_enabled && !f->ep.ctl_masked);
	ecam_wr(f, 1, cap + 2, 0, 2);
	assert_int_equal(f->ep.ctl_calls, 4);
	assert_false(f->ep.ctl_enabled);
	assert_int_equal(f->ep.cmd_calls, 2);
}

static void hostile_config_cycles(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];
	uint32_t v;

	/* through the direct entry: bad sizes, offsets, alignment */
	memset(buf, 0, sizeof(buf));
	pci_config_access(&f->pb, 0, 1, 0, 4096, buf, 4, false);
	assert_int_equal(buf[0], 0xFF);
	memset(buf, 0, sizeof(buf));
	pci_config_access(&f->pb, 0, 1, 0, 0, buf, 8, false);
	assert_int_equal(buf[7], 0xFF);
	memset(buf, 0, sizeof(buf));
	pci_config_access(&f->pb, 0, 1, 0, 2, buf, 4, false);
	assert_int_equal(buf[0], 0xFF);
	pci_config_access(&f->pb, 0, 1, 0, 0, buf, 3, false);
	pci_config_access(&f->pb, 0, 1, 0, 0, buf, 0, true);
	pci_config_access(&f->pb, 0, 99, 0, 0, buf, 4, true);
	pci_config_access(&f->pb, 0, 1, 9, 0, buf, 4, true);
	pci_config_access(&f->pb, 300, 1, 0, 0, buf, 4, true);
	v = 0xFFFFFFFF;
	pci_config_access(&f->pb, 0, 1, 0, 0x400, &v, 4, true); /* extended: dropped */
	assert_int_equal(ecam(f, 0, 1, 0, 0x400, 4), 0);

	/* ECAM: 8-byte and unaligned accesses */
	uint64_t q = 0;
	bus_access(&f->mmio, ECAM + (1 << 15), &q, 8, false);
	assert_int_equal(q, UINT64_MAX);
	assert_int_equal(ecam(f, 0, 1, 0, 1, 2), 0xFFFF);
	q = 0;
	bus_access(&f->mmio, ECAM + (1 << 15) + PCI_COMMAND, &q, 8, true);

	/* CF8/CFC: byte writes to the latch ignored, straddling data port */
	uint32_t a = 0x80000000u | 1 << 11;
	bus_access(&f->pio, 0xCF8, &a, 4, true);
	uint8_t b = 0;
	bus_access(&f->pio, 0xCF9, &b, 1, true);
	bus_access(&f->pio, 0xCF8, &v, 4, false);
	assert_int_equal(v, a);
	v = 0;
	assert_false(bus_access(&f->pio, 0xCFE, &v, 4, false)); /* past the range */
	v = 0;
	bus_access(&f->pio, 0xCFD, &v, 2, false); /* unaligned: ones */
	assert_int_equal(v, 0xFFFF);
	/* nothing above moved a BAR or touched the device */
	assert_int_equal(f->log.moved, 0);
	assert_int_equal(f->ep.bar_writes, 0);
}

/* vCPU-like threads hammer a BAR and the MSI-X table and trigger vectors
 * while another toggles decode and moves the BAR through config cycles:
 * no crash, no deadlock, and every access lands somewhere sane. */
struct race {
	struct fx *f;
	uint64_t bar2, table;
	volatile int stop;
	unsigned long ops, bad; /* cmocka asserts belong to the main thread */
};

static void *race_bar(void *o)
{
	struct race *r = o;
	uint32_t v;

	while (!r->stop) {
		v = 0;
		bus_access(&r->f->mmio, r->bar2 + 8, &v, 4, false);
		if (v != 0x5A5A5A5A && v != 0xFFFFFFFF)
			__atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
		v = 0xFEE00000;
		bus_access(&r->f->mmio, r->table, &v, 4, true);
		v = 0;
		bus_access(&r->f->mmio, r->table + 12, &v, 4, true);
		pci_msix_trigger(&r->f->ep.dev, 0);
		__atomic_fetch_add(&r->ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void concurrent_access(void **state)
{
	struct fx *f = *state;
	struct race r = { .f = f, .bar2 = pci_bar_addr(&f->ep.dev, 2) };
	unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX);
	pthread_t t[2];

	r.table = pci_bar_addr(&f->ep.dev, 0) + TABLE_OFF;
	cf8_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_bar, &r), 0);
	while (!__atomic_load_n(&r.ops, __ATOMIC_RELAXED))
		sched_yield();
	for (int i = 0; i < 2000 || __atomic_load_n(&r.ops, __ATOMIC_RELAXED) < 20000; i++) {
		ecam_wr(f, 1, PCI_COMMAND, i & 1 ? PCI_COMMAND_MEMORY : 0, 2);
		cf8_wr(f, 1, cap + 2, i & 2 ? PCI_MSIX_FLAGS_ENABLE : 0, 2);
		(void)cf8(f, 0, 1, 0, PCI_BAR0 + 8, 4);
	}
	r.stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_true(r.ops > 0);
	assert_int_equal(r.bad, 0);
	assert_true(f->log.moved >= 2000);
}

static void bad_devices_refused(void **state)
{
	(void)state;
	struct pci_dev d;
	struct pci_dev_info i;

#define REFUSED(...)                                                         \
	do {                                                                 \
		i = ep_info;                                                 \
		__VA_ARGS__;                                                 \
		assert_int_equal(pci_dev_init(&d, &i, NULL, NULL), -EINVAL); \
	} while (0)
	REFUSED(i.bars[2].size = 0x1800);
	REFUSED(i.bars[2].size = 8);
	REFUSED(i.bars[4].size = 512);
	REFUSED(i.bars[5] = (struct pci_bar_info){ PCI_BAR_MEM64, 0x1000, false });
	REFUSED(i.bars[1] = (struct pci_bar_info){ PCI_BAR_MEM32, 0x1000, false });
	REFUSED(i.bars[3].kind = 7);
	REFUSED(i.msix_vectors = 2049);
	REFUSED(i.msix_bar = 4); /* I/O */
	REFUSED(i.msix_bar = 1); /* upper half of a 64-bit BAR */
	REFUSED(i.msix_table_off = 0x7FFF8);
	REFUSED(i.msix_table_off = 4);
	REFUSED(i.msix_pba_off = TABLE_OFF + 16);
	REFUSED(i.msix_bar = 2); /* table past a 4K BAR */
#undef REFUSED

	struct pci_bus pb;
	struct pci_bus_config c = { .ecam_base = ECAM + 4096,
				    .mmio32_base = 0xC0000000,
				    .mmio32_size = 0x1000 };
	assert_int_equal(pci_bus_init(&pb, &c, NULL, NULL), -EINVAL);
	c.ecam_base = ECAM;
	c.mmio32_size = 0;
	assert_int_equal(pci_bus_init(&pb, &c, NULL, NULL), -EINVAL);
	/* a tiny window runs out: -ENOSPC, and nothing was taken */
	c.mmio32_size = 0x1000;
	assert_int_equal(pci_bus_init(&pb, &c, NULL, NULL), 0);
	i = ep_info;
	i.msix_vectors = 0;
	assert_int_equal(pci_dev_init(&d, &i, NULL, NULL), 0);
	assert_int_equal(pci_bus_add(&pb, &d, -1), -ENOSPC);
	assert_int_equal(pb.mmio32_next, 0xC0000000);
	assert_null(pb.slots[1]);
	pci_dev_free(&d);
	pci_bus_free(&pb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(host_bridge_and_empty_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(both_paths_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(bar_sizing_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(bar_allocation_and_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(decode_moves_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(msix, setup, teardown),
		cmocka_unit_test_setup_teardown(msix_irqfd, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(msix_ctl_and_command_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_config_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_access, setup, teardown),
		cmocka_unit_test(bad_devices_refused),
		cmocka_unit_test_setup_teardown(intx_pin_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(msi_irqfd, setup_irqfd, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
