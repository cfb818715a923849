// SPDX-License-Identifier: Apache-2.0
/* virtio 1.x modern PCI transport. */
#include "devices/virtio/transport/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "vmm/kvm/log.h"
#include "vmm/kvm/snapshot.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + device type, modern only */

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* BAR 0 layout. */
#define BAR_COMMON     0x0000
#define BAR_ISR	       0x1000
#define BAR_DEVICE     0x2000
#define BAR_NOTIFY     0x3000
#define BAR_MSIX_TABLE 0x4000
#define BAR_MSIX_PBA   0x5000
#define BAR_SIZE       0x8000
#define REGION_SIZE    0x1000
#define NOTIFY_MULT    4

/* virtio_pci_common_cfg offsets. */
#define CC_DFSELECT	 0x00
#define CC_DF		 0x04
#define CC_GFSELECT	 0x08
#define CC_GF		 0x0c
#define CC_MSIX		 0x10
#define CC_NUMQ		 0x12
#define CC_STATUS	 0x14
#define CC_CFGGENERATION 0x15
#define CC_Q_SELECT	 0x16
#define CC_Q_SIZE	 0x18
#define CC_Q_MSIX	 0x1a
#define CC_Q_ENABLE	 0x1c
#define CC_Q_NOFF	 0x1e
#define CC_Q_DESCLO	 0x20
#define CC_Q_DESCHI	 0x24
#define CC_Q_AVAILLO	 0x28
#define CC_Q_AVAILHI	 0x2c
#define CC_Q_USEDLO	 0x30
#define CC_Q_USEDHI	 0x34
#define CC_SIZE		 0x38

/* virtio_pci_cap after the id and next bytes. */
struct vcap {
	uint8_t cap_len, cfg_type, bar, id, pad[2];
	uint32_t offset, length;
} __attribute__((packed));

struct vcap_notify {
	struct vcap cap;
	uint32_t mult;
} __attribute__((packed));

struct vcap_pcicfg {
	struct vcap cap;
	uint8_t data[4];
} __attribute__((packed));

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vd;
	const struct virtio_pci_host_ops *ops;
	void *opaque;
	pthread_mutex_t lock; /* common configuration */
	uint32_t dfselect, gfselect;
	uint16_t q_select, config_vector;
	uint16_t q_vector[VIRTIO_MAX_QUEUES];
	uint8_t isr;
	uint8_t generation;
	uint64_t notify_gpa; /* where the doorbells are bound, 0 when not */
	int pcicfg_off;	     /* offset of the PCI_CFG capability */
	/* With the host's defer (under lock): the job queued or running, and
	 * a reset the driver wrote while the activation was pending. */
	enum { JOB_NONE, JOB_ACTIVATE, JOB_RESET } job;
	bool reset_after;
};

static uint64_t offered(const struct virtio_pci *vp)
{
	return vp->vd->features | virtio_core_features();
}

/* --- interrupts ------------------------------------------------------- */

static void irq_queue(void *opaque, unsigned int q)
{
	struct virtio_pci *vp = opaque;
	uint16_t v = q < VIRTIO_MAX_QUEUES ? vp->q_vector[q] : VIRTIO_MSI_NO_VECTOR;

	__atomic_or_fetch(&vp->isr, 1, __ATOMIC_SEQ_CST);
	if (q < VIRTIO_MAX_QUEUES)
		ctr_inc(&vp->vd->stats.irqs[q], 1);
	if (v != VIRTIO_MSI_NO_VECTOR)
		pci_msix_trigger(&vp->pci, v);
}

static void irq_config(void *opaque)
{
	struct virtio_pci *vp = opaque;

	__atomic_or_fetch(&vp->isr, 2, __ATOMIC_SEQ_CST);
	ctr_inc(&vp->vd->stats.config_irqs, 1);
	if (vp->config_vector != VIRTIO_MSI_NO_VECTOR)
		pci_msix_trigger(&vp->pci, vp->config_vector);
}

static int irq_queue_fd(void *opaque, unsigned int q)
{
	struct virtio_pci *vp = opaque;
	uint16_t v = q < VIRTIO_MAX_QUEUES ? vp->q_vector[q] : VIRTIO_MSI_NO_VECTOR;

	return v == VIRTIO_MSI_NO_VECTOR ? -1 : pci_msix_fd(&vp->pci, v);
}

static const struct virtio_irq_ops irq_ops = { irq_queue, irq_config, irq_queue_fd };

/* --- device status and reset ------------------------------------------ */

/* The transport's half of a reset: queues, vectors, negotiation. */
static void transport_reset(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;

	for (unsigned int i = 0; i < vd->num_queues; i++) {
		virtq_reset(&vd->vq[i]);
		vd->vq[i].size = vd->queue_size_max;
		vp->q_vector[i] = VIRTIO_MSI_NO_VECTOR;
	}
	vd->status = 0;
	vd->driver_features = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->dfselect = vp->gfselect = 0;
	vp->q_select = 0;
	vp->isr = 0;
}

static void device_reset(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;

	if (vd->status & VIRTIO_STATUS_DRIVER_OK)
		vd->ops->reset(vd);
	transport_reset(vp);
}

static void activation_failed(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;

	log_msg(LV_ERROR, vd->name, "%s: cannot start the device", vd->name);
	vd->status = (vd->status & ~VIRTIO_STATUS_DRIVER_OK) | VIRTIO_STATUS_NEEDS_RESET;
}

/*
 * The deferred activation or reset, on the host's thread. The device's own
 * work runs without the lock, so the vCPU never waits on it: meanwhile the
 * status reads DRIVER_OK (activation) or what it was (reset), and
 * set_status and common_write keep the state still (queue fields are
 * locked by DRIVER_OK; during a reset every write is ignored). A reset
 * asked for during the activation runs after it, in this same job.
 */
static void deferred_job(void *arg)
{
	struct virtio_pci *vp = arg;
	struct virtio_dev *vd = vp->vd;
	bool failed = false;

	pthread_mutex_lock(&vp->lock);
	if (vp->job == JOB_ACTIVATE) {
		pthread_mutex_unlock(&vp->lock);
		int rc = vd->ops->activate(vd);
		pthread_mutex_lock(&vp->lock);
		if (rc < 0) {
			activation_failed(vp);
			failed = true;
		}
		vp->job = vp->reset_after ? JOB_RESET : JOB_NONE;
		vp->reset_after = false;
	}
	if (vp->job == JOB_RESET) {
		bool running = vd->status & VIRTIO_STATUS_DRIVER_OK;
		pthread_mutex_unlock(&vp->lock);
		if (running)
			vd->ops->reset(vd);
		pthread_mutex_lock(&vp->lock);
		transport_reset(vp);
		vp->job = JOB_NONE;
		failed = false; /* the reset cleared NEEDS_RESET already */
	}
	pthread_mutex_unlock(&vp->lock);
	if (failed) /* the driver saw DRIVER_OK: tell it (virtio 1.x 2.1.2) */
		irq_config(vp);
}

static bool deferring(const struct virtio_pci *vp)
{
	return vp->ops && vp->ops->defer;
}

/* Queue job for the host's thread; false if it would not take it. */
static bool defer_job(struct virtio_pci *vp, int job)
{
	vp->job = job;
	int rc = vp->ops->defer(vp->opaque, deferred_job, vp);
	if (rc < 0) {
		vp->job = JOB_NONE;
		log_msg(LV_ERROR, vp->vd->name, "%s: cannot queue the device's %s: %s",
			vp->vd->name, job == JOB_RESET ? "reset" : "activation", strerror(-rc));
		return false;
	}
	return true;
}

/* A reset (status 0) with the host's defer. */
static void reset_deferred(struct virtio_pci *vp)
{
	if (vp->job == JOB_ACTIVATE) {
		vp->reset_after = true; /* the job resets once it activated */
		return;
	}
	if (vp->job == JOB_RESET)
		return;
	/* nothing runs (never started, or failed to): nothing to stop, and
	 * the transport's half makes no system call */
	if (!(vp->vd->status & VIRTIO_STATUS_DRIVER_OK)) {
		transport_reset(vp);
		return;
	}
	if (!defer_job(vp, JOB_RESET))
		device_reset(vp); /* not reached while the host keeps its side */
}

/*
 * The driver only adds status bits; a reset (0) is the one way back. A
 * write that would clear a bit (DRIVER_OK or FEATURES_OK of a running
 * device) is ignored, as is anything but FAILED once the device needs a
 * reset: otherwise a reset would skip stopping the device, or activate it
 * a second time on top of itself. With the host's defer, activation and
 * reset are queued (deferred_job); while a reset is pending every write
 * is ignored (common_write).
 */
static void set_status(struct virtio_pci *vp, uint8_t status)
{
	struct virtio_dev *vd = vp->vd;
	uint8_t old = vd->status, kept = old & ~VIRTIO_STATUS_NEEDS_RESET;

	if (!status) {
		if (deferring(vp))
			reset_deferred(vp);
		else
			device_reset(vp);
		return;
	}
	status &= ~VIRTIO_STATUS_NEEDS_RESET; /* the device's bit, not the driver's */
	if ((status & kept) != kept)
		return;
	if (old & VIRTIO_STATUS_NEEDS_RESET) {
		vd->status = old | (status & VIRTIO_STATUS_FAILED);
		return;
	}
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = vd->driver_features;
		/* features we did not offer, or a legacy driver: refuse */
		if ((f & ~offered(vp)) || !(f & (1ULL << VIRTIO_F_VERSION_1)))
			status &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		vd->status = status;
		if (!(status & VIRTIO_STATUS_FEATURES_OK))
			activation_failed(vp);
		else if (deferring(vp)) {
			if (!defer_job(vp, JOB_ACTIVATE))
				activation_failed(vp);
		} else if (vd->ops->activate(vd) < 0)
			activation_failed(vp);
		return;
	}
	vd->status = status | (old & VIRTIO_STATUS_NEEDS_RESET);
}

/* --- common configuration --------------------------------------------- */

static struct virtq *selected(struct virtio_pci *vp)
{
	return vp->q_select < vp->vd->num_queues ? &vp->vd->vq[vp->q_select] : NULL;
}

static uint32_t common_read(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *q = selected(vp);

	switch (off) {
	case CC_DFSELECT:
		return vp->dfselect;
	case CC_DF:
		return vp->dfselect < 2 ? (uint32_t)(offered(vp) >> (32 * vp->dfselect)) : 0;
	case CC_GFSELECT:
		return vp->gfselect;
	case CC_GF:
		return vp->gfselect < 2 ? (uint32_t)(vd->driver_features >> (32 * vp->gfselect))
					: 0;
	case CC_MSIX:
		return vp->config_vector;
	case CC_NUMQ:
		return vd->num_queues;
	case CC_STATUS:
		return vd->status;
	case CC_CFGGENERATION:
		return vp->generation;
	case CC_Q_SELECT:
		return vp->q_select;
	}
	if (!q)
		return 0; /* a queue that does not exist reads as size 0 */
	switch (off) {
	case CC_Q_SIZE:
		return q->size;
	case CC_Q_MSIX:
		return vp->q_vector[vp->q_select];
	case CC_Q_ENABLE:
		return q->ready;
	case CC_Q_NOFF:
		return vp->q_select;
	case CC_Q_DESCLO:
		return (uint32_t)q->desc_gpa;
	case CC_Q_DESCHI:
		return (uint32_t)(q->desc_gpa >> 32);
	case CC_Q_AVAILLO:
		return (uint32_t)q->avail_gpa;
	case CC_Q_AVAILHI:
		return (uint32_t)(q->avail_gpa >> 32);
	case CC_Q_USEDLO:
		return (uint32_t)q->used_gpa;
	case CC_Q_USEDHI:
		return (uint32_t)(q->used_gpa >> 32);
	}
	return 0;
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}
static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

static void common_write(struct virtio_pci *vp, unsigned int off, uint32_t val)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *q = selected(vp);
	bool features_locked = vd->status & VIRTIO_STATUS_FEATURES_OK;

	/* a reset is pending: the driver must wait for status 0 first */
	if (vp->job == JOB_RESET || vp->reset_after)
		return;
	switch (off) {
	case CC_DFSELECT:
		vp->dfselect = val;
		return;
	case CC_GFSELECT:
		vp->gfselect = val;
		return;
	case CC_GF:
		if (vp->gfselect < 2 && !features_locked) {
			unsigned int sh = 32 * vp->gfselect;
			vd->driver_features = (vd->driver_features & ~(0xffffffffULL << sh)) |
					      ((uint64_t)val << sh);
		}
		return;
	case CC_MSIX:
		vp->config_vector = val < vp->pci.msix_n ? val : VIRTIO_MSI_NO_VECTOR;
		return;
	case CC_STATUS:
		set_status(vp, (uint8_t)val);
		return;
	case CC_Q_SELECT:
		vp->q_select = val;
		return;
	}
	/* Queue fields: only for an existing queue, not while it runs, and
	 * not once the device runs (its thread may be reading them). */
	if (!q || q->ready || (vd->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	switch (off) {
	case CC_Q_SIZE:
		q->size = val;
		break;
	case CC_Q_MSIX:
		vp->q_vector[vp->q_select] = val < vp->pci.msix_n ? val : VIRTIO_MSI_NO_VECTOR;
		break;
	case CC_Q_ENABLE:
		if (val != 1)
			break;
		if (q->size > vd->queue_size_max) {
			log_msg(LV_ERROR, vd->name, "%s: queue %u: size %u above %u", vd->name,
				vp->q_select, q->size, vd->queue_size_max);
			break;
		}
		q->event_idx = virtio_has(vd, VIRTIO_F_EVENT_IDX);
		q->indirect = virtio_has(vd, VIRTIO_F_INDIRECT_DESC);
		if (virtq_enable(q, vd->mem) < 0)
			log_msg(LV_ERROR, vd->name,
				"%s: queue %u: rings outside guest memory or misaligned", vd->name,
				vp->q_select);
		break;
	case CC_Q_DESCLO:
		set_lo(&q->desc_gpa, val);
		break;
	case CC_Q_DESCHI:
		set_hi(&q->desc_gpa, val);
		break;
	case CC_Q_AVAILLO:
		set_lo(&q->avail_gpa, val);
		break;
	case CC_Q_AVAILHI:
		set_hi(&q->avail_gpa, val);
		break;
	case CC_Q_USEDLO:
		set_lo(&q->used_gpa, val);
		break;
	case CC_Q_USEDHI:
		set_hi(&q->used_gpa, val);
		break;
	}
}

/* Field widths: an access must hit one whole field (or half of a 64-bit one). */
static unsigned int common_width(unsigned int off)
{
	if (off < CC_MSIX)
		return 4;
	if (off < CC_STATUS)
		return 2;
	if (off < CC_Q_SELECT)
		return 1;
	if (off < CC_Q_DESCLO)
		return 2;
	return off < CC_SIZE ? 4 : 0;
}

/* --- BAR accesses -------------------------------------------------------- */

static void kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;
	if (q < vp->vd->num_queues && vp->vd->kick_fd[q] >= 0 &&
	    write(vp->vd->kick_fd[q], &one, sizeof(one)) < 0)
		log_msg(LV_ERROR, "virtio-pci", "virtio-pci: kick: %s", strerror(errno));
}

static void bar_access(struct virtio_pci *vp, uint64_t off, void *data, unsigned int size,
		       bool is_write)
{
	struct virtio_dev *vd = vp->vd;
	uint32_t v = 0;

	if (size > 4 || !size) {
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	if (is_write)
		memcpy(&v, data, size);
	if (off < BAR_COMMON + CC_SIZE) { /* BAR_COMMON is 0 */
		unsigned int o = off - BAR_COMMON;
		pthread_mutex_lock(&vp->lock);
		if (common_width(o) == size && !(o % size)) {
			if (is_write)
				common_write(vp, o, v);
			else
				v = common_read(vp, o);
		} else {
			v = 0;
		}
		pthread_mutex_unlock(&vp->lock);
	} else if (off == BAR_ISR && size == 1) {
		if (!is_write) /* reading clears it */
			v = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
	} else if (off >= BAR_DEVICE && off - BAR_DEVICE < vd->config_size &&
		   size <= vd->config_size - (off - BAR_DEVICE)) {
		uint32_t o = off - BAR_DEVICE;
		if (!is_write)
			vd->ops->config_read(vd, o, &v, size);
		else if (vd->ops->config_write)
			vd->ops->config_write(vd, o, &v, size);
	} else if (off >= BAR_NOTIFY && off < BAR_NOTIFY + REGION_SIZE) {
		if (is_write)
			kick(vp, (off - BAR_NOTIFY) / NOTIFY_MULT);
	}
	if (!is_write)
		memcpy(data, &v, size);
}

static void pci_bar_read(void *opaque, unsigned int bar, uint64_t off, void *data,
			 unsigned int size)
{
	if (bar == 0)
		bar_access(opaque, off, data, size, false);
	else
		memset(data, 0, size);
}

static void pci_bar_write(void *opaque, unsigned int bar, uint64_t off, const void *data,
			  unsigned int size)
{
	if (bar == 0)
		bar_access(opaque, off, (void *)data, size, true);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window into the BARs through config space. */
static bool pcicfg_access(struct virtio_pci *vp, unsigned int off, void *data, unsigned int size,
			  bool is_write)
{
	unsigned int data_off = vp->pcicfg_off + 2 + offsetof(struct vcap_pcicfg, data);

	if (vp->pcicfg_off <= 0 || off < data_off || off + size > data_off + 4)
		return false;
	uint8_t *cap = vp->pci.cfg + vp->pcicfg_off + 2;
	struct vcap c;
	memcpy(&c, cap, sizeof(c));
	if (c.bar != 0 || (c.length != 1 && c.length != 2 && c.length != 4) || off != data_off ||
	    size < c.length || c.offset % c.length) {
		if (!is_write)
			memset(data, 0, size);
		return true;
	}
	bar_access(vp, c.offset, data, c.length, is_write);
	return true;
}

static bool pci_cfg_read(void *opaque, unsigned int off, void *data, unsigned int size)
{
	return pcicfg_access(opaque, off, data, size, false);
}

static bool pci_cfg_write(void *opaque, unsigned int off, const void *data, unsigned int size)
{
	struct virtio_pci *vp = opaque;
	unsigned int cap = vp->pcicfg_off + 2;

	if (vp->pcicfg_off > 0 && off >= cap + 2 && off + size <= cap + sizeof(struct vcap)) {
		/* bar, offset and length of the window are the driver's to set */
		memcpy(vp->pci.cfg + off, data, size);
		return true;
	}
	return pcicfg_access(vp, off, (void *)data, size, true);
}

/* BAR 0 moved: move the doorbells' ioeventfds with it. */
static void pci_bar_moved(void *opaque, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;

	if (bar != 0 || !vp->ops || !vp->ops->ioeventfd)
		return;
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		uint64_t off = BAR_NOTIFY + i * NOTIFY_MULT;
		if (old_addr)
			vp->ops->ioeventfd(vp->opaque, old_addr + off, 4, vd->kick_fd[i], false);
		if (new_addr &&
		    vp->ops->ioeventfd(vp->opaque, new_addr + off, 4, vd->kick_fd[i], true) < 0)
			log_msg(LV_NOTE, vd->name,
				"%s: no ioeventfd for queue %u; kicks exit to svmm", vd->name, i);
	}
	vp->notify_gpa = new_addr;
}

static const struct pci_dev_ops vp_pci_ops = {
	.bar_moved = pci_bar_moved,
	.cfg_read = pci_cfg_read,
	.cfg_write = pci_cfg_write,
	.bar_read = pci_bar_read,
	.bar_write = pci_bar_write,
};

/* --- creation ------------------------------------------------------------ */

static uint32_t class_of(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication, other */
	default:
		return 0x00ff00; /* unclassified */
	}
}

static int add_vcap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len)
{
	struct vcap c = {
		.cap_len = sizeof(c) + 2, .cfg_type = type, .bar = 0, .offset = off, .length = len
	};
	return pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &c, sizeof(c));
}

int virtio_pci_create(struct virtio_pci **out, struct virtio_dev *vd, const struct guest_mem *mem,
		      const struct virtio_pci_host_ops *ops, void *opaque)
{
	int rc;

	if (vd->num_queues > VIRTIO_MAX_QUEUES || vd->config_size > REGION_SIZE)
		return -EINVAL;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vd = vd;
	vp->ops = ops;
	vp->opaque = opaque;
	pthread_mutex_init(&vp->lock, NULL);
	vd->mem = mem;
	vd->irq = &irq_ops;
	vd->irq_opaque = vp;

	struct pci_dev_info info = {
		.vendor_id = VIRTIO_PCI_VENDOR,
		.device_id = VIRTIO_PCI_DEVICE_BASE + vd->device_id,
		.subsys_vendor_id = VIRTIO_PCI_VENDOR,
		.subsys_id = VIRTIO_PCI_DEVICE_BASE + vd->device_id,
		.revision = 1,
		.class_code = class_of(vd->device_id),
		.bars = { [0] = { .kind = PCI_BAR_MEM64, .size = BAR_SIZE } },
		.msix_vectors = vd->num_queues + 1,
		.msix_bar = 0,
		.msix_table_off = BAR_MSIX_TABLE,
		.msix_pba_off = BAR_MSIX_PBA,
	};
	rc = pci_dev_init(&vp->pci, &info, &vp_pci_ops, vp);
	if (rc)
		goto fail;
	struct vcap_notify n = { .cap = { .cap_len = sizeof(n) + 2,
					  .cfg_type = VIRTIO_PCI_CAP_NOTIFY_CFG,
					  .offset = BAR_NOTIFY,
					  .length = REGION_SIZE },
				 .mult = NOTIFY_MULT };
	struct vcap_pcicfg p = { .cap = { .cap_len = sizeof(p) + 2,
					  .cfg_type = VIRTIO_PCI_CAP_PCI_CFG } };
	if ((rc = add_vcap(vp, VIRTIO_PCI_CAP_COMMON_CFG, BAR_COMMON, CC_SIZE)) < 0 ||
	    (rc = add_vcap(vp, VIRTIO_PCI_CAP_ISR_CFG, BAR_ISR, 1)) < 0 ||
	    (vd->config_size &&
	     (rc = add_vcap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, BAR_DEVICE, vd->config_size)) < 0) ||
	    (rc = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &n, sizeof(n))) < 0 ||
	    (rc = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &p, sizeof(p))) < 0)
		goto fail_pci;
	vp->pcicfg_off = rc;
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		vd->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->kick_fd[i] < 0) {
			rc = -errno;
			goto fail_pci;
		}
	}
	device_reset(vp);
	*out = vp;
	return 0;
fail_pci:
	pci_dev_free(&vp->pci);
fail:
	for (unsigned int i = 0; i < vd->num_queues; i++)
		if (vd->kick_fd[i] >= 0)
			close(vd->kick_fd[i]);
	free(vp);
	return rc;
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return &vp->pci;
}

void virtio_pci_free(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;
	int kick[VIRTIO_MAX_QUEUES];
	unsigned int nq = vd->num_queues;

	if (vp->job != JOB_NONE) /* the host broke its side: a job would use vp */
		log_msg(LV_ERROR, vd->name, "%s: freed with a deferred job pending", vd->name);
	memcpy(kick, vd->kick_fd, sizeof(kick));
	vd->ops->free(vd); /* stops the device's threads first */
	for (unsigned int i = 0; i < nq; i++) {
		if (vp->notify_gpa && vp->ops && vp->ops->ioeventfd)
			vp->ops->ioeventfd(vp->opaque, vp->notify_gpa + i * NOTIFY_MULT, 4, kick[i],
					   false);
		if (kick[i] >= 0)
			close(kick[i]);
	}
	pci_dev_free(&vp->pci);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

/* --- snapshot ------------------------------------------------------------ */

struct vp_queue_state {
	uint64_t desc, avail, used;
	uint16_t size, vector, last_avail, used_idx, signalled;
	uint8_t ready, signalled_valid;
	uint8_t pad[4];
} __attribute__((packed));

struct vp_state {
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t q_select, config_vector;
	uint8_t status, isr, generation, num_queues;
	struct vp_queue_state q[VIRTIO_MAX_QUEUES];
} __attribute__((packed));

const char *virtio_pci_name(const struct virtio_pci *vp)
{
	return vp->vd->name;
}

int virtio_pci_save(struct virtio_pci *vp, struct snap_w *w, const char *pfx, struct err *err)
{
	struct virtio_dev *vd = vp->vd;
	struct vp_state s;
	int rc;

	if (vd->ops->save && (rc = vd->ops->save(vd, w, pfx, err)))
		return rc; /* first: a device that cannot be saved stops it all */
	pthread_mutex_lock(&vp->lock);
	if (vp->job != JOB_NONE) {
		pthread_mutex_unlock(&vp->lock);
		return err_set(err, EBUSY, "%s: an activation or reset is still pending", vd->name);
	}
	memset(&s, 0, sizeof(s));
	s.driver_features = vd->driver_features;
	s.dfselect = vp->dfselect;
	s.gfselect = vp->gfselect;
	s.q_select = vp->q_select;
	s.config_vector = vp->config_vector;
	s.status = vd->status;
	s.isr = __atomic_load_n(&vp->isr, __ATOMIC_SEQ_CST);
	s.generation = vp->generation;
	s.num_queues = (uint8_t)vd->num_queues;
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		const struct virtq *q = &vd->vq[i];
		/* held chains: never more than are outstanding */
		uint16_t out = (uint16_t)(q->last_avail - q->used_idx);
		uint16_t held = vd->snap_held[i] <= out ? vd->snap_held[i] : out;
		vd->snap_held[i] = 0;
		s.q[i] = (struct vp_queue_state){ .desc = q->desc_gpa,
						  .avail = q->avail_gpa,
						  .used = q->used_gpa,
						  .size = q->size,
						  .vector = vp->q_vector[i],
						  .last_avail = (uint16_t)(q->last_avail - held),
						  .used_idx = q->used_idx,
						  .signalled = q->signalled,
						  .ready = q->ready,
						  .signalled_valid = q->signalled_valid };
	}
	pthread_mutex_unlock(&vp->lock);
	snap_put(w, &s, sizeof(s), "%s.virtio", pfx);
	if ((rc = pci_dev_save(&vp->pci, w, pfx)))
		return err_set(err, rc, "%s: saving its PCI state: %s", vd->name, strerror(-rc));
	return 0;
}

static bool vector_ok(const struct virtio_pci *vp, uint16_t v)
{
	return v == VIRTIO_MSI_NO_VECTOR || v < vp->pci.msix_n;
}

int virtio_pci_restore(struct virtio_pci *vp, const struct snap_r *r, const char *pfx,
		       struct err *err)
{
	struct virtio_dev *vd = vp->vd;
	struct vp_state s;
	int rc;

	if ((rc = pci_dev_restore(&vp->pci, r, pfx, err)))
		return rc;
	if ((rc = snap_get_exact(r, &s, sizeof(s), err, "%s.virtio", pfx)))
		return rc;
	if (s.num_queues != vd->num_queues)
		return err_set(err, EINVAL, "snapshot: %s (%s) has %u queues, this one %u", pfx,
			       vd->name, s.num_queues, vd->num_queues);
	if (s.driver_features & ~offered(vp))
		return err_set(err, EINVAL, "snapshot: %s (%s): features %#llx were not offered",
			       pfx, vd->name,
			       (unsigned long long)(s.driver_features & ~offered(vp)));
	if (!vector_ok(vp, s.config_vector))
		return err_set(err, EINVAL, "snapshot: %s: config vector %u", pfx, s.config_vector);
	bool running =
		(s.status & VIRTIO_STATUS_DRIVER_OK) && !(s.status & VIRTIO_STATUS_NEEDS_RESET);
	if (running && !(s.status & VIRTIO_STATUS_FEATURES_OK))
		return err_set(err, EINVAL, "snapshot: %s: DRIVER_OK without FEATURES_OK", pfx);
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		const struct vp_queue_state *q = &s.q[i];
		if (!vector_ok(vp, q->vector) ||
		    (q->size && (!virtq_size_valid(q->size) || q->size > vd->queue_size_max)) ||
		    (q->ready && !q->size) || q->ready > 1)
			return err_set(
				err, EINVAL,
				"snapshot: %s (%s): queue %u: size %u or vector %u is invalid", pfx,
				vd->name, i, q->size, q->vector);
	}
	pthread_mutex_lock(&vp->lock);
	transport_reset(vp);
	vd->driver_features = s.driver_features;
	vp->dfselect = s.dfselect;
	vp->gfselect = s.gfselect;
	vp->q_select = s.q_select;
	vp->config_vector = s.config_vector;
	vp->isr = s.isr;
	vp->generation = s.generation;
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		const struct vp_queue_state *qs = &s.q[i];
		struct virtq *q = &vd->vq[i];
		vp->q_vector[i] = qs->vector;
		q->size = qs->size ? qs->size : vd->queue_size_max;
		q->desc_gpa = qs->desc;
		q->avail_gpa = qs->avail;
		q->used_gpa = qs->used;
		if (!qs->ready)
			continue;
		q->event_idx = virtio_has(vd, VIRTIO_F_EVENT_IDX);
		q->indirect = virtio_has(vd, VIRTIO_F_INDIRECT_DESC);
		if (virtq_enable(q, vd->mem) < 0) {
			transport_reset(vp);
			pthread_mutex_unlock(&vp->lock);
			return err_set(err, EINVAL,
				       "snapshot: %s (%s): queue %u: rings outside guest memory or "
				       "misaligned",
				       pfx, vd->name, i);
		}
		q->last_avail = qs->last_avail;
		q->used_idx = qs->used_idx;
		q->signalled = qs->signalled;
		q->signalled_valid = qs->signalled_valid;
	}
	/* DRIVER_OK is set by the activation below, as a status write does */
	vd->status = s.status & ~(running ? VIRTIO_STATUS_DRIVER_OK : 0);
	pthread_mutex_unlock(&vp->lock);
	if (vd->ops->restore && (rc = vd->ops->restore(vd, r, pfx, err)))
		return rc;
	if (running) {
		pthread_mutex_lock(&vp->lock);
		set_status(vp, s.status);
		pthread_mutex_unlock(&vp->lock);
	}
	return 0;
}
