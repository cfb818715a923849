/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PCI bus 0: host bridge at 00.0 (Intel 8086:0d57, as cloud-hypervisor's),
 * config space through ports 0xCF8/0xCFC and through ECAM, endpoints in
 * slots 1..31 (one function each), BARs allocated from the windows, MSI-X.
 *
 * The PCI code owns each endpoint's type-0 header (IDs, command/status,
 * BARs with sizing, capability list) and its MSI-X capability, table and
 * PBA. The endpoint sees only its BAR accesses (bar_read/bar_write: BAR
 * index and offset) and, if it wants, config accesses at 0x40 and above
 * outside MSI-X (its own capabilities, e.g. virtio's), and may hear of
 * changes of the command register and of MSI-X's enable and function-mask
 * bits (ops command, msix_ctl: VFIO programs the physical function there).
 *
 * BAR accesses reach the bus through whole-window ranges registered once
 * on the VMM's buses (pci_bus_register), so nothing is re-registered while
 * vCPUs run. A BAR is live (decoded) while its command-register decode bit
 * is on and it lies wholly inside its window; each change of a BAR's live
 * address is reported through host ops bar_moved (the VMM moves its
 * ioeventfds there).
 *
 * MSI-X, two ways, chosen by the host ops:
 *  - irqfd (msi_route, msi_route_free and irqfd given): each vector has an
 *    eventfd (pci_msix_fd) and raising it is a write there, by our device
 *    threads or by anyone handed the fd (a vhost-user back end, VFIO). The
 *    PCI code keeps each vector's route in step with the guest: unmasked =
 *    a route with the entry's address and data and the eventfd bound to it;
 *    masked = unbound, so the eventfd holds the interrupt (the PBA shows
 *    it) until the unmask delivers it; MSI-X disabled = route released and
 *    whatever was held dropped.
 *  - direct (only msi_send): pci_msix_trigger sets the PBA bit of a masked
 *    vector, sends an unmasked one through msi_send, and unmasking a
 *    pending vector sends it.
 *
 * Locking: config cycles serialize on the bus lock (a writer lock), BAR
 * accesses take it as readers, MSI-X state has a per-device lock. Host
 * ops and device ops run with those locks held: they must not make config
 * cycles or add devices (pci_msix_trigger is fine from bar hooks).
 */
#ifndef SVMM_DEVICES_PCI_H
#define SVMM_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm/bus.h"

#define PCI_SLOTS	     32
#define PCI_NUM_BARS	     6
#define PCI_CFG_SIZE	     256 /* stored config space; 256..4095 read as 0 */
#define PCI_ECAM_BUS_SIZE    (1u << 20)
#define PCI_MSIX_MAX_VECTORS 2048

#define PCI_VENDOR_ID		    0x00
#define PCI_DEVICE_ID		    0x02
#define PCI_COMMAND		    0x04
#define PCI_COMMAND_IO		    0x0001
#define PCI_COMMAND_MEMORY	    0x0002
#define PCI_COMMAND_MASTER	    0x0004
#define PCI_COMMAND_INTX_DISABLE    0x0400
#define PCI_STATUS		    0x06
#define PCI_STATUS_CAP_LIST	    0x0010
#define PCI_CLASS_REVISION	    0x08
#define PCI_HEADER_TYPE		    0x0E
#define PCI_BAR0		    0x10
#define PCI_SUBSYSTEM_VENDOR_ID	    0x2C
#define PCI_SUBSYSTEM_ID	    0x2E
#define PCI_ROM_ADDRESS		    0x30
#define PCI_CAPABILITY_LIST	    0x34
#define PCI_INTERRUPT_LINE	    0x3C
#define PCI_INTERRUPT_PIN	    0x3D
#define PCI_CAP_ID_VNDR		    0x09
#define PCI_CAP_ID_MSI		    0x05
#define PCI_MSI_FLAGS_ENABLE	    0x0001
#define PCI_MSI_FLAGS_64BIT	    0x0080
#define PCI_MSI_CAP_LEN		    16 /* 64-bit address, no per-vector mask */
#define PCI_CAP_ID_MSIX		    0x11
#define PCI_MSIX_FLAGS_ENABLE	    0x8000
#define PCI_MSIX_FLAGS_MASKALL	    0x4000
#define PCI_MSIX_ENTRY_SIZE	    16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar_info {
	enum pci_bar_kind kind; /* a MEM64 BAR also takes the next index */
	uint64_t size;		/* power of two; IO 4..256, memory >= 16 */
	bool prefetchable;
};

struct pci_dev_info {
	uint16_t vendor_id, device_id, subsys_vendor_id, subsys_id;
	uint8_t revision;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	struct pci_bar_info bars[PCI_NUM_BARS];
	/* MSI-X: msix_vectors 0 means none. The table and PBA sit in memory
	 * BAR msix_bar at the given 8-aligned offsets. */
	uint16_t msix_vectors;
	uint8_t msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	/* INTx: the pin the function uses (1..4: INTA..INTD), 0 for none. Its
	 * GSI follows from the slot (pci_intx_gsi); the device raises it
	 * itself (VFIO: an irqfd with resample). */
	uint8_t intx_pin;
	/* MSI: a capability with one vector and a 64-bit address (no
	 * per-vector masking), delivered only in irqfd mode (pci_msi_fd). */
	bool msi;
};

struct pci_dev_ops {
	/* Config space at offsets 0x40..0xFF outside the MSI-X capability.
	 * Return true when handled; otherwise the stored bytes are read and
	 * writes are dropped (capabilities are read-only). Optional. */
	bool (*cfg_read)(void *opaque, unsigned int off, void *data, unsigned int size);
	bool (*cfg_write)(void *opaque, unsigned int off, const void *data, unsigned int size);
	/* A BAR access outside the MSI-X table/PBA; off is within the BAR,
	 * size 1, 2, 4 or 8. Optional (reads then return zeros). */
	void (*bar_read)(void *opaque, unsigned int bar, uint64_t off, void *data,
			 unsigned int size);
	void (*bar_write)(void *opaque, unsigned int bar, uint64_t off, const void *data,
			  unsigned int size);
	/* BAR bar now decodes at new_addr (0: no longer), it did at old_addr
	 * (0: was not); called after the host's bar_moved. Optional. */
	void (*bar_moved)(void *opaque, unsigned int bar, uint64_t old_addr, uint64_t new_addr);
	/* A config write changed the MSI-X control word's enable or function
	 * mask bit (enabled, masked: the new values). It has taken effect: the
	 * vectors' routes and bindings are already in step. Called with the bus
	 * lock held, msix_lock not held. Optional (a device passed through with
	 * VFIO programs its physical MSI-X here). */
	void (*msix_ctl)(void *opaque, bool enabled, bool masked);
	/* Likewise for the MSI enable bit (the vector's route and binding are
	 * in step already). Optional (VFIO programs its physical MSI). */
	void (*msi_ctl)(void *opaque, bool enabled);
	/* A config write changed the command register; cmd is its new value
	 * (after bar_moved for the decode bits). Bus lock held. Optional (VFIO
	 * forwards decode and bus master to the physical function). */
	void (*command)(void *opaque, uint16_t cmd);
};

struct pci_dev;

struct pci_host_ops {
	/* BAR bar of d now decodes at new_addr (0: no longer decoded), it
	 * did at old_addr (0: was not). Optional. */
	void (*bar_moved)(void *opaque, struct pci_dev *d, unsigned int bar, uint64_t old_addr,
			  uint64_t new_addr, uint64_t size);
	/* irqfd MSI-X. msi_route points gsi at the message (addr, data),
	 * taking a free GSI first when gsi < 0; it returns the GSI or a
	 * negative errno. msi_route_free gives gsi back. irqfd binds (assign)
	 * or unbinds eventfd fd to gsi; binding an fd that holds a count must
	 * deliver it. All three, or none. */
	int (*msi_route)(void *opaque, int gsi, uint64_t addr, uint32_t data);
	void (*msi_route_free)(void *opaque, int gsi);
	int (*irqfd)(void *opaque, int fd, int gsi, bool assign);
	/* Direct MSI-X: deliver one message (KVM_SIGNAL_MSI). */
	void (*msi_send)(void *opaque, uint64_t addr, uint32_t data);
};

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

/* A vector's host side in irqfd mode. */
struct pci_msix_vec {
	int fd;	       /* eventfd, -1 in direct mode */
	int gsi;       /* its route, -1 while none */
	bool bound;    /* fd bound to gsi */
	uint64_t addr; /* the message gsi carries */
	uint32_t data;
};

struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t size;
	uint64_t live; /* address while decoded, else 0 */
};

struct pci_dev {
	struct pci_bus *bus; /* set by pci_bus_add */
	unsigned int slot;
	const struct pci_dev_ops *ops;
	void *opaque;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	unsigned int cap_end, last_cap; /* next free cap offset; last cap's offset */
	struct pci_bar bar[PCI_NUM_BARS];

	pthread_mutex_t msix_lock;
	uint16_t msix_n;
	uint8_t msix_cap, msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	struct pci_msix_entry *msix_table;
	uint64_t *msix_pba;	       /* direct mode's pending bits */
	struct pci_msix_vec *msix_vec; /* irqfd mode, from pci_bus_add */
	uint8_t msi_cap;	       /* MSI capability offset, 0: none */
	struct pci_msix_vec msi_vec;   /* its one vector (irqfd mode), under msix_lock */
};

struct pci_bus_config {
	uint64_t ecam_base;
	uint32_t io_base, io_size;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size; /* size 0: 64-bit BARs go below 4G */
};

struct pci_window {
	struct pci_bus *bus;
	uint64_t base;
	bool io;
};

struct pci_bus {
	struct pci_bus_config cfg;
	const struct pci_host_ops *ops;
	void *opaque;
	pthread_rwlock_t lock;
	uint32_t cf8; /* config address latch */
	struct pci_dev *slots[PCI_SLOTS];
	struct pci_dev host;
	uint64_t io_next, mmio32_next, mmio64_next;
	struct pci_window win[3]; /* I/O, 32-bit, 64-bit: bus_register opaques */
};

/* Set up bus 0 with its host bridge. -EINVAL for a bad window. */
int pci_bus_init(struct pci_bus *b, const struct pci_bus_config *cfg,
		 const struct pci_host_ops *ops, void *opaque);
void pci_bus_free(struct pci_bus *b);
/* Register 0xCF8..0xCFF and the I/O window on pio, bus 0's ECAM and the
 * MMIO windows on mmio. Negative errno from bus_register; on failure
 * nothing stays registered. */
int pci_bus_register(struct pci_bus *b, struct bus *pio, struct bus *mmio);

/* Build the header (and MSI-X) of an endpoint. -EINVAL with a message
 * naming the bad field, -ENOMEM; on failure nothing is held (do not call
 * pci_dev_free). */
int pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info, const struct pci_dev_ops *ops,
		 void *opaque);
void pci_dev_free(struct pci_dev *d);
/* Append a capability: id, then body (len bytes, after the id and next
 * bytes), dword aligned from 0x40 on. Call between pci_dev_init and
 * pci_bus_add. Returns its config offset, or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned int len);
/* Plug d into slot (1..31), or the lowest free slot when slot < 0, and
 * allocate its BARs (and, in irqfd mode, its vectors' eventfds). Returns
 * the slot, -EBUSY, -ENOSPC (no slot or window space left), -EINVAL, or
 * the errno of eventfd(). */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d, int slot);

/* The GSI of d's INTx pin (vmm/kvm/layout.h's swizzle, what the DSDT's _PRT
 * tells the guest), or -1 when it has no pin or is not plugged in. */
int pci_intx_gsi(const struct pci_dev *d);

/* Unplug d (hot-remove, after the guest ejected it): its BARs stop
 * decoding (the hosts' bar_moved hooks see them go) and its slot is free.
 * d stays the bus's for pci_dev_free (its vectors' routes). */
void pci_bus_remove(struct pci_bus *b, struct pci_dev *d);

/* A BAR's programmed address (what the guest wrote, decoded or not). */
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned int bar);

/* Signal MSI-X vector: 1 when sent (irqfd mode: written to its eventfd,
 * which holds it while masked), 0 when masked in direct mode (its PBA bit
 * is set and it is sent on unmask), -EINVAL for a bad vector, -ENOSYS
 * without a way to deliver. Callable from any thread, without locks in
 * irqfd mode. */
int pci_msix_trigger(struct pci_dev *d, unsigned int vector);
/* The eventfd that raises vector in irqfd mode (for a back end to write
 * itself), or -1 (direct mode, bad vector). Valid until pci_dev_free. */
int pci_msix_fd(const struct pci_dev *d, unsigned int vector);

/* The eventfd that raises the MSI vector (irqfd mode, an MSI capability),
 * or -1. While MSI is off, or the message unset, a write is held there and
 * delivered once at enable. Valid until pci_dev_free. */
int pci_msi_fd(const struct pci_dev *d);

/* One config cycle on bus 0 (what CF8/CFC and ECAM both end in): off in
 * 0..4095, size 1, 2 or 4, naturally aligned; anything else reads as all
 * ones and writes nothing. */
void pci_config_access(struct pci_bus *b, unsigned int bus, unsigned int dev, unsigned int fn,
		       unsigned int off, void *data, unsigned int size, bool is_write);

/* Snapshot (vmm/kvm/snapshot.h): d's config space ("PFX.cfg"), MSI-X table
 * ("PFX.msix") and pending bits ("PFX.msix_pba"), the MSI vector's held
 * interrupt ("PFX.msi_held"). Restore takes only the bits the guest can
 * write (wmask) from the saved config space, refuses a function of other
 * IDs, then brings BAR decoding (bar_moved), MSI-X and MSI routes and
 * irqfds in step as the guest's own writes would: routes get new GSIs, a
 * pending vector is raised again and held until unmasked. With the vCPUs
 * stopped. 0 or -errno with err. */
struct snap_w;
struct snap_r;
struct err;
int pci_dev_save(struct pci_dev *d, struct snap_w *w, const char *pfx);
int pci_dev_restore(struct pci_dev *d, const struct snap_r *r, const char *pfx, struct err *err);

#endif
