// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-pci transport on the real PCI bus code: the test plays a
 * guest driver doing what Linux's virtio_pci_modern does, through ECAM
 * config cycles and BAR MMIO on a struct bus, with virtio-rng behind it,
 * until an MSI-X interrupt reports a filled buffer.
 *
 * Each test runs twice more with the host's defer (as svmm's devmgr):
 * "auto", whose queued jobs run before the guest's next read (a worker
 * that is quick), and "manual", whose jobs run only when the test says,
 * with the device's activate and reset counted and checked.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/transport/pci.h"
#include "devices/virtio/rng/rng.h"
#include "tests/unit/fake_driver.h"

#define ECAM	 0xe0000000ULL
#define MMIO32	 0xc0000000ULL
#define MMIO64	 0x100000000ULL
#define MSI_ADDR 0xfee00000ULL

enum mode { SYNC, AUTO, MANUAL };

#define MAX_JOBS 8

struct fx {
	struct fake_driver d; /* guest RAM and the irq eventfd */
	enum mode mode;
	struct {
		void (*fn)(void *);
		void *arg;
	} jobs[MAX_JOBS];
	unsigned int njobs, deferred;
	struct bus pio, mmio;
	struct pci_bus pci;
	struct virtio_pci *vp;
	int slot;
	uint64_t bar0;
	unsigned int msis, ioeventfds;
	uint32_t last_msi_data;
};

static void msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct fx *f = opaque;
	uint64_t one = 1;
	assert_int_equal(addr, MSI_ADDR);
	f->msis++;
	f->last_msi_data = data;
	assert_int_equal(write(f->d.irq_efd, &one, sizeof(one)), sizeof(one));
}

static const struct pci_host_ops host_ops = { .msi_send = msi_send };

static int ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	struct fx *f = opaque;
	(void)gpa;
	(void)len;
	(void)fd;
	f->ioeventfds += assign ? 1 : -1;
	return 0;
}

static const struct virtio_pci_host_ops vp_host = { .ioeventfd = ioeventfd };

static int fake_defer(void *opaque, void (*fn)(void *), void *arg)
{
	struct fx *f = opaque;
	assert_true(f->njobs < MAX_JOBS);
	assert_int_equal(f->njobs, 0); /* one transport: one job at a time */
	f->jobs[f->njobs].fn = fn;
	f->jobs[f->njobs].arg = arg;
	f->njobs++;
	f->deferred++;
	return 0;
}

static const struct virtio_pci_host_ops vp_host_deferred = { .ioeventfd = ioeventfd,
							     .defer = fake_defer };

/* The host's thread gets its turn: every queued job, in order. */
static unsigned int run_jobs(struct fx *f)
{
	unsigned int ran = 0;
	while (f->njobs) {
		void (*fn)(void *) = f->jobs[0].fn;
		void *arg = f->jobs[0].arg;
		memmove(&f->jobs[0], &f->jobs[1], --f->njobs * sizeof(f->jobs[0]));
		fn(arg);
		ran++;
	}
	return ran;
}

/* The device's activate and reset, counted: never twice in a row. */
static struct {
	const struct virtio_dev_ops *real;
	struct virtio_dev_ops ops;
	unsigned int activations, resets;
	bool active, fail;
} dev;

static int counted_activate(struct virtio_dev *vd)
{
	assert_false(dev.active); /* activated on top of itself */
	if (dev.fail)
		return -EIO;
	int rc = dev.real->activate(vd);
	dev.activations++;
	dev.active = !rc;
	return rc;
}

static void counted_reset(struct virtio_dev *vd)
{
	assert_true(dev.active); /* a reset of what never started */
	dev.real->reset(vd);
	dev.resets++;
	dev.active = false;
}

static uint32_t cfg_rd(struct fx *f, unsigned int off, unsigned int size)
{
	uint32_t v = 0;
	bus_access(&f->mmio, ECAM + ((uint64_t)f->slot << 15) + off, &v, size, false);
	return v;
}

static void cfg_wr(struct fx *f, unsigned int off, uint32_t v, unsigned int size)
{
	bus_access(&f->mmio, ECAM + ((uint64_t)f->slot << 15) + off, &v, size, true);
}

static uint32_t bar_rd(struct fx *f, uint64_t off, unsigned int size)
{
	uint32_t v = 0;
	if (f->mode == AUTO)
		run_jobs(f);
	bus_access(&f->mmio, f->bar0 + off, &v, size, false);
	return v;
}

static void bar_wr(struct fx *f, uint64_t off, uint32_t v, unsigned int size)
{
	bus_access(&f->mmio, f->bar0 + off, &v, size, true);
}

/* Offsets found by walking the capability list, as a driver does. */
struct caps {
	uint32_t common, notify, isr, device, notify_mult;
	int pcicfg, msix;
};

static struct caps walk_caps(struct fx *f)
{
	struct caps c = { .pcicfg = -1, .msix = -1 };
	unsigned int n = 0;
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned int p = cfg_rd(f, PCI_CAPABILITY_LIST, 1); p; p = cfg_rd(f, p + 1, 1)) {
		assert_true(++n < 16); /* no loop */
		if (cfg_rd(f, p, 1) == PCI_CAP_ID_MSIX) {
			c.msix = (int)p;
			continue;
		}
		assert_int_equal(cfg_rd(f, p, 1), PCI_CAP_ID_VNDR);
		uint32_t type = cfg_rd(f, p + 3, 1), off = cfg_rd(f, p + 8, 4);
		assert_int_equal(cfg_rd(f, p + 4, 1), 0); /* BAR 0 */
		switch (type) {
		case 1:
			c.common = off;
			break;
		case 2:
			c.notify = off;
			c.notify_mult = cfg_rd(f, p + 16, 4);
			break;
		case 3:
			c.isr = off;
			break;
		case 4:
			c.device = off;
			break;
		case 5:
			c.pcicfg = (int)p;
			break;
		default:
			fail_msg("unknown virtio cap type %u", type);
		}
	}
	return c;
}

static int setup_mode(void **state, enum mode mode)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_dev *vd;
	struct err err = { 0 };

	f->mode = mode;
	fd_init(&f->d);
	bus_init(&f->pio);
	bus_init(&f->mmio);
	struct pci_bus_config cfg = {
		.ecam_base = ECAM,
		.io_base = 0x1000,
		.io_size = 0xf000,
		.mmio32_base = MMIO32,
		.mmio32_size = 0x20000000,
		.mmio64_base = MMIO64,
		.mmio64_size = 1ULL << 30,
	};
	assert_int_equal(pci_bus_init(&f->pci, &cfg, &host_ops, f), 0);
	assert_int_equal(pci_bus_register(&f->pci, &f->pio, &f->mmio), 0);
	assert_int_equal(virtio_rng_create(&vd, "/dev/urandom", &err), 0);
	memset(&dev, 0, sizeof(dev));
	dev.real = vd->ops;
	dev.ops = *vd->ops;
	dev.ops.activate = counted_activate;
	dev.ops.reset = counted_reset;
	vd->ops = &dev.ops;
	assert_int_equal(virtio_pci_create(&f->vp, vd, &f->d.mem,
					   mode == SYNC ? &vp_host : &vp_host_deferred, f),
			 0);
	f->d.vd = vd;
	f->slot = pci_bus_add(&f->pci, virtio_pci_dev(f->vp), -1);
	assert_int_equal(f->slot, 1);
	/* the guest sizes and places BAR 0 (64-bit), then turns decoding on */
	cfg_wr(f, PCI_BAR0, 0xffffffff, 4);
	cfg_wr(f, PCI_BAR0 + 4, 0xffffffff, 4);
	uint32_t lo = cfg_rd(f, PCI_BAR0, 4);
	assert_int_equal(lo & 0x6, 0x4); /* 64-bit memory BAR */
	assert_int_equal(~(lo & ~0xfu) + 1, 0x8000);
	f->bar0 = MMIO64 + 0x100000;
	cfg_wr(f, PCI_BAR0, (uint32_t)f->bar0, 4);
	cfg_wr(f, PCI_BAR0 + 4, (uint32_t)(f->bar0 >> 32), 4);
	assert_int_equal(f->ioeventfds, 0);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(f->ioeventfds, 1); /* the doorbell is bound */
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_mode(state, SYNC);
}

static int setup_auto(void **state)
{
	return setup_mode(state, AUTO);
}

static int setup_manual(void **state)
{
	return setup_mode(state, MANUAL);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	run_jobs(f); /* the host runs every job before the free */
	if (f->mode == SYNC)
		assert_int_equal(f->deferred, 0);
	virtio_pci_free(f->vp);
	pci_bus_free(&f->pci);
	bus_free(&f->pio);
	bus_free(&f->mmio);
	close(f->d.irq_efd);
	free(f->d.ram);
	free(f);
	return 0;
}

static void identity_and_caps(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(f, PCI_CLASS_REVISION, 1), 1); /* modern */
	struct caps c = walk_caps(f);
	assert_true(c.msix > 0 && c.pcicfg > 0);
	assert_int_equal(c.common, 0);
	assert_int_equal(c.notify_mult, 4);
	assert_int_equal(bar_rd(f, c.common + 0x12, 2), 1); /* num_queues */
}

/*
 * Linux's sequence: reset, ACK, DRIVER, features, FEATURES_OK, queues,
 * DRIVER_OK; with enable_q false, queue 0 is set up but not enabled.
 */
static void bring_up(struct fx *f, const struct caps *cp, bool enable_q)
{
	struct caps c = *cp;

	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	bar_wr(f, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	bar_wr(f, 0x00, 1, 4); /* device_feature_select = 1 */
	uint32_t hi = bar_rd(f, 0x04, 4);
	assert_true(hi & 1); /* VERSION_1 */
	bar_wr(f, 0x08, 1, 4);
	bar_wr(f, 0x0c, 1, 4); /* driver takes VERSION_1 */
	bar_wr(f, 0x08, 0, 4);
	bar_wr(f, 0x0c, 1u << VIRTIO_F_EVENT_IDX, 4);
	bar_wr(f, 0x14,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	assert_true(bar_rd(f, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* MSI-X: enable, program vector 1 for queue 0 */
	cfg_wr(f, c.msix + 2, PCI_MSIX_FLAGS_ENABLE, 2);
	uint64_t t = 0x4000 + 16; /* table entry 1 */
	bar_wr(f, t, (uint32_t)MSI_ADDR, 4);
	bar_wr(f, t + 4, 0, 4);
	bar_wr(f, t + 8, 0x4041, 4);
	bar_wr(f, t + 12, 0, 4); /* unmask */
	bar_wr(f, 0x16, 0, 2);	 /* queue_select */
	assert_int_equal(bar_rd(f, 0x18, 2), 256);
	bar_wr(f, 0x18, FD_QSIZE, 2);
	bar_wr(f, 0x1a, 1, 2);
	assert_int_equal(bar_rd(f, 0x1a, 2), 1);
	bar_wr(f, 0x20, FD_DESC_GPA, 4);
	bar_wr(f, 0x28, FD_AVAIL_GPA, 4);
	bar_wr(f, 0x30, FD_USED_GPA, 4);
	if (enable_q) {
		bar_wr(f, 0x1c, 1, 2);
		assert_int_equal(bar_rd(f, 0x1c, 2), 1);
	}
	bar_wr(f, 0x14, 0xf & ~VIRTIO_STATUS_NEEDS_RESET, 1); /* DRIVER_OK */
	assert_true(bar_rd(f, 0x14, 1) & VIRTIO_STATUS_DRIVER_OK);
}

/* One buffer in a fresh ring, a kick through the notify region, and its MSI. */
static void one_buffer(struct fx *f, const struct caps *c)
{
	unsigned int msis = f->msis;

	memset(f->d.ram + FD_AVAIL_GPA, 0, 4);
	memset(f->d.ram + FD_USED_GPA, 0, 4);
	fd_desc(&f->d)[0] = (struct virtq_desc){ 0x10000, 32, VIRTQ_DESC_F_WRITE, 0 };
	uint16_t *avail = (uint16_t *)(f->d.ram + FD_AVAIL_GPA);
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	bar_wr(f, c->notify + 0 * c->notify_mult, 0, 2);
	assert_int_equal(fd_wait_irq(&f->d), 1);
	assert_int_equal(f->msis, msis + 1);
	assert_int_equal(f->last_msi_data, 0x4041);
	assert_int_equal(fd_used(&f->d)[1], 1);
}

static void driver_brings_device_up(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	bring_up(f, &c, true);
	one_buffer(f, &c);
	assert_int_equal(f->msis, 1);
	assert_true(bar_rd(f, c.isr, 1) & 1); /* ISR: queue interrupt, cleared on read */
	assert_int_equal(bar_rd(f, c.isr, 1), 0);

	/* reset stops the device and clears the negotiation */
	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	bar_wr(f, 0x08, 1, 4);
	assert_int_equal(bar_rd(f, 0x0c, 4), 0);
}

/*
 * Only a reset takes status bits back. Writing 0x0f, 0x0b, 0 once skipped
 * the device's reset and left its thread on zeroed rings (the next kick
 * wrote through a NULL used ring); 0x0f, 0x0b, 0x0f activated it twice;
 * 0x07 reopened feature negotiation on a running device.
 */
static void status_goes_back_only_by_reset(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);
	const uint8_t up = 0xf & ~VIRTIO_STATUS_NEEDS_RESET;

	bring_up(f, &c, true);
	bar_wr(f, 0x14, 0x0b, 1); /* clear DRIVER_OK */
	assert_int_equal(bar_rd(f, 0x14, 1), up);
	bar_wr(f, 0x14, 0x07, 1); /* clear FEATURES_OK */
	assert_int_equal(bar_rd(f, 0x14, 1), up);
	bar_wr(f, 0x08, 0, 4);
	bar_wr(f, 0x0c, 0, 4); /* features stay locked */
	assert_int_equal(bar_rd(f, 0x0c, 4), 1u << VIRTIO_F_EVENT_IDX);
	bar_wr(f, 0x14, up, 1); /* DRIVER_OK again: no second activation */
	assert_int_equal(bar_rd(f, 0x14, 1), up);
	one_buffer(f, &c);
	assert_int_equal(f->msis, 1);

	bar_wr(f, 0x14, 0x0b, 1);
	bar_wr(f, 0x14, 0, 1); /* the reset stops the device */
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	bar_wr(f, c.notify, 0, 2); /* a kick after it: nothing runs, no crash */
	bring_up(f, &c, true);
	one_buffer(f, &c);
	assert_int_equal(f->msis, 2);

	/* the driver's FAILED is kept; NEEDS_RESET is the device's to set */
	bar_wr(f, 0x14, up | VIRTIO_STATUS_NEEDS_RESET, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), up);
	bar_wr(f, 0x14, up | VIRTIO_STATUS_FAILED, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), up | VIRTIO_STATUS_FAILED);
}

/* Queue fields are the driver's only before DRIVER_OK. */
static void queue_locked_once_running(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	bring_up(f, &c, false);
	bar_wr(f, 0x16, 0, 2);
	bar_wr(f, 0x1c, 1, 2); /* enable after DRIVER_OK: refused */
	assert_int_equal(bar_rd(f, 0x1c, 2), 0);
	bar_wr(f, 0x18, 64, 2);
	assert_int_equal(bar_rd(f, 0x18, 2), FD_QSIZE);
}

static void legacy_driver_refused(void **state)
{
	struct fx *f = *state;

	bar_wr(f, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	bar_wr(f, 0x08, 0, 4);
	bar_wr(f, 0x0c, 0, 4); /* no VERSION_1 */
	bar_wr(f, 0x14, 0xb, 1);
	assert_false(bar_rd(f, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* features not offered are refused too */
	bar_wr(f, 0x08, 1, 4);
	bar_wr(f, 0x0c, 1 | (1u << 30), 4);
	bar_wr(f, 0x14, 0xb, 1);
	assert_false(bar_rd(f, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
}

static void hostile_accesses(void **state)
{
	struct fx *f = *state;

	/* queue rings outside guest RAM: the queue does not come up */
	bar_wr(f, 0x16, 0, 2);
	bar_wr(f, 0x20, 0xfffff000, 4);
	bar_wr(f, 0x24, 0x7fff, 4);
	bar_wr(f, 0x1c, 1, 2);
	assert_int_equal(bar_rd(f, 0x1c, 2), 0);
	/* a queue size above the maximum is not enabled */
	bar_wr(f, 0x20, FD_DESC_GPA, 4);
	bar_wr(f, 0x24, 0, 4);
	bar_wr(f, 0x18, 4096, 2);
	bar_wr(f, 0x1c, 1, 2);
	assert_int_equal(bar_rd(f, 0x1c, 2), 0);
	/* a queue that does not exist */
	bar_wr(f, 0x16, 9, 2);
	assert_int_equal(bar_rd(f, 0x18, 2), 0);
	bar_wr(f, 0x1c, 1, 2);
	/* misaligned and wrong-width accesses to the common config */
	assert_int_equal(bar_rd(f, 0x13, 2), 0);
	bar_wr(f, 0x15, 0xff, 1); /* config_generation is read-only */
	assert_int_equal(bar_rd(f, 0x15, 1), 0);
	/* a notify for a queue that does not exist */
	bar_wr(f, 0x3000 + 4 * 9, 0, 2);
	/* device config of virtio-rng is empty: reads as zero, no crash */
	assert_int_equal(bar_rd(f, 0x2000, 4), 0);
	/* MSI vector beyond the table is refused */
	bar_wr(f, 0x10, 100, 2);
	assert_int_equal(bar_rd(f, 0x10, 2), 0xffff);
}

/* --- with the host's defer, jobs run when the test says ----------------- */

static const uint8_t UP = 0xf & ~VIRTIO_STATUS_NEEDS_RESET;

/* DRIVER_OK queues the activation; the status reads DRIVER_OK meanwhile,
 * and kicks that come before it are served once it ran. */
static void activation_is_deferred(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	bring_up(f, &c, true);
	assert_int_equal(f->njobs, 1);
	assert_int_equal(dev.activations, 0);
	assert_int_equal(bar_rd(f, 0x14, 1), UP);
	/* queue fields stay locked while it is pending */
	bar_wr(f, 0x16, 0, 2);
	bar_wr(f, 0x18, 64, 2);
	assert_int_equal(bar_rd(f, 0x18, 2), FD_QSIZE);
	bar_wr(f, 0x14, UP, 1); /* DRIVER_OK again: nothing more queued */
	assert_int_equal(f->njobs, 1);
	assert_int_equal(run_jobs(f), 1);
	assert_int_equal(dev.activations, 1);
	one_buffer(f, &c);
	assert_int_equal(run_jobs(f), 0);
}

/* A reset of a running device: the status reads non-zero until its job
 * ran, and the driver's writes meanwhile change nothing. */
static void reset_reads_nonzero_until_done(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	bring_up(f, &c, true);
	run_jobs(f);
	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(f->njobs, 1);
	assert_int_equal(dev.resets, 0);
	for (int i = 0; i < 3; i++) /* the driver polls */
		assert_int_equal(bar_rd(f, 0x14, 1), UP);
	bar_wr(f, 0x14, 0, 1); /* a second reset: the same one */
	bar_wr(f, 0x14, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	bar_wr(f, 0x10, 0, 2); /* config vector */
	bar_wr(f, 0x16, 0, 2);
	bar_wr(f, 0x00, 0, 4);
	assert_int_equal(f->njobs, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), UP);
	assert_int_equal(bar_rd(f, 0x00, 4), 1); /* bring_up's */
	assert_int_equal(run_jobs(f), 1);
	assert_int_equal(dev.resets, 1);
	assert_false(dev.active);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	assert_int_equal(bar_rd(f, 0x10, 2), 0xffff);
	bar_wr(f, c.notify, 0, 2); /* a kick after it: nothing runs */
	/* and it comes up again */
	bring_up(f, &c, true);
	run_jobs(f);
	assert_int_equal(dev.activations, 2);
	one_buffer(f, &c);
}

/* DRIVER_OK, then a reset before the activation ran: one job activates
 * then resets; nothing is activated twice, nothing left running. */
static void reset_while_activation_pending(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	bring_up(f, &c, true);
	bar_wr(f, 0x14, 0, 1);
	bar_wr(f, 0x14, UP, 1); /* ignored: the reset is pending */
	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(f->njobs, 1);
	assert_int_equal(bar_rd(f, 0x14, 1), UP);
	assert_int_equal(run_jobs(f), 1);
	assert_int_equal(dev.activations, 1);
	assert_int_equal(dev.resets, 1);
	assert_false(dev.active);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	assert_int_equal(run_jobs(f), 0);
	/* a reset of a device that is not running is done at once */
	bar_wr(f, 0x14, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(f->njobs, 0);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
}

/* An activation that fails in its job: NEEDS_RESET and a config interrupt;
 * the reset after it stops nothing and is done at once. */
static void deferred_activation_fails(void **state)
{
	struct fx *f = *state;
	struct caps c = walk_caps(f);

	dev.fail = true;
	bring_up(f, &c, true);
	assert_int_equal(bar_rd(f, c.isr, 1), 0);
	run_jobs(f);
	uint8_t st = (uint8_t)bar_rd(f, 0x14, 1);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(st & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(bar_rd(f, c.isr, 1), 2); /* configuration change */
	bar_wr(f, 0x14, UP, 1);			  /* no second try without a reset */
	assert_int_equal(f->njobs, 0);
	bar_wr(f, 0x14, 0, 1);
	assert_int_equal(f->njobs, 0);
	assert_int_equal(bar_rd(f, 0x14, 1), 0);
	assert_int_equal(dev.resets, 0);
	dev.fail = false;
	bring_up(f, &c, true);
	run_jobs(f);
	one_buffer(f, &c);
}

/* Any status sequence, with the jobs run at any point: never activated
 * twice, never reset when not running (counted_*), and a final reset
 * leaves nothing running. */
static void hostile_status_sequences(void **state)
{
	static const uint8_t writes[] = { 0,	1,    3,    0x0b, 0x0f, 0x0b, 0x07, 0x4f,
					  0x8f, 0xff, 0x0f, 0x0f, 0,	0x04, 0x8b, 0x03 };
	struct fx *f = *state;
	struct caps c = walk_caps(f);
	uint32_t x = 12345;

	for (int round = 0; round < 40; round++) {
		bring_up(f, &c, round & 1);
		for (int i = 0; i < 200; i++) {
			x = x * 1103515245 + 12345;
			uint8_t w = writes[(x >> 16) % sizeof(writes)];
			if ((x >> 8) & 1) { /* VERSION_1 (or not), now and then */
				bar_wr(f, 0x08, 1, 4);
				bar_wr(f, 0x0c, (x >> 3) & 3 ? 1 : 0, 4);
			}
			bar_wr(f, 0x14, w, 1);
			if ((x >> 12) % 3 == 0)
				run_jobs(f);
			if ((x >> 20) % 7 == 0)
				bar_wr(f, c.notify, 0, 2);
			assert_true(f->njobs <= 1);
		}
		run_jobs(f);
		bar_wr(f, 0x14, 0, 1);
		run_jobs(f);
		assert_int_equal(bar_rd(f, 0x14, 1), 0);
		assert_false(dev.active);
		assert_int_equal(dev.activations, dev.resets);
	}
	assert_true(dev.activations > 40);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define A(name) cmocka_unit_test_setup_teardown(name, setup_auto, teardown)
#define M(name) cmocka_unit_test_setup_teardown(name, setup_manual, teardown)
	const struct CMUnitTest tests[] = {
		T(identity_and_caps),
		T(driver_brings_device_up),
		T(status_goes_back_only_by_reset),
		T(queue_locked_once_running),
		T(legacy_driver_refused),
		T(hostile_accesses),
		T(hostile_status_sequences),
		A(identity_and_caps),
		A(driver_brings_device_up),
		A(status_goes_back_only_by_reset),
		A(queue_locked_once_running),
		A(legacy_driver_refused),
		A(hostile_accesses),
		A(hostile_status_sequences),
		M(activation_is_deferred),
		M(reset_reads_nonzero_until_done),
		M(reset_while_activation_pending),
		M(deferred_activation_fails),
		M(hostile_status_sequences),
	};
	return cmocka_run_group_tests_name("virtio_pci", tests, NULL, NULL);
}
