/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VFIO PCI passthrough: a host PCI function bound to vfio-pci becomes one of
 * the guest's PCI endpoints.
 *
 * One container per VM (struct vfio_ctx, /dev/vfio/vfio, the type-1 v2
 * IOMMU): every guest RAM region is mapped for DMA at IOVA = guest physical
 * address, so the device DMAs to the addresses the guest's driver gives it.
 * Each group (/dev/vfio/N, N from the device's sysfs iommu_group link) joins
 * the container and the KVM VFIO pseudo-device. VFIO pins the guest RAM:
 * RLIMIT_MEMLOCK must cover it (or CAP_IPC_LOCK), which is checked first.
 *
 * The endpoint (struct vfio_dev) is svmm's PCI model (devices/pci.h) with
 * the physical function's identity: vendor/device, class, revision and
 * subsystem IDs read from its config space, its BARs (kind, size,
 * prefetchable) from the config BARs and the region infos. It has no
 * expansion ROM and no capability but MSI-X and MSI (below); MSI-X's geometry (vectors,
 * table and PBA BAR and offsets) is the physical one, so the guest's driver
 * finds them where the device has them; the guest's table writes stay in
 * svmm's emulated table (pci.c). When the guest enables MSI-X, the physical
 * function's vectors are pointed at pci.c's per-vector eventfds
 * (VFIO_DEVICE_SET_IRQS, DATA_EVENTFD): a device interrupt then is a write
 * to the eventfd, which pci.c binds to the vector's KVM route while it is
 * unmasked and holds (PBA) while masked. MSI-X disable turns them off.
 * The command register's memory/IO decode and bus-master bits are forwarded
 * to the physical function (bus master: the device may DMA).
 *
 * BARs are mapped into the guest where VFIO lets them be: each memory BAR
 * whose region has VFIO_REGION_INFO_FLAG_MMAP (read and write) is split at
 * open into page-aligned pieces (its sparse mmap areas when VFIO gives
 * them, less the pages that hold the MSI-X table or PBA, which pci.c
 * emulates), each mmap'd MAP_SHARED read/write (never exec) from the device
 * fd. While the BAR decodes (bar_moved) each piece is a KVM memory slot at
 * the BAR's address + its offset, so the guest reaches the device without
 * exits; the slots go when the BAR moves or stops decoding, and at free.
 * A piece that cannot be a slot (no slot left, it would overlap RAM, KVM
 * refuses) stays trapped, with a log line. Everything outside the pieces
 * is trapped: a pread/pwrite on the device fd at the BAR region's offset
 * (on the vCPU thread, in the MMIO exit).
 *
 * INTx: a function with an interrupt pin that VFIO offers as a maskable
 * eventfd keeps its pin; its slot's GSI (pci_intx_gsi, the DSDT's _PRT) is
 * a KVM irqfd with resample (vfio_dev_start): VFIO writes the trigger
 * eventfd and masks the line when the device asserts it, the guest's EOI
 * on the IOAPIC deasserts the GSI and writes the resample eventfd, which is
 * VFIO's unmask eventfd, so the line is sampled again. INTx is on while
 * MSI-X is off (VFIO takes one type at a time); the guest's INTx-disable
 * bit goes to vfio-pci, which masks for it.
 *
 * MSI: a function whose MSI capability VFIO offers gets pci.c's MSI
 * capability (one vector, 64-bit address; the guest's driver finds it in the
 * list next to MSI-X); when the guest enables it, the physical MSI is
 * pointed at pci.c's MSI eventfd (an irqfd on the guest's message). One
 * interrupt type at a time: enabling MSI or MSI-X turns the others off, and
 * INTx comes back when both are off. Not yet: multi-vector MSI, the
 * physical function's other capabilities (PCIe, PM: hidden), hotplug, a
 * virtual IOMMU.
 *
 * Errors are negative errno with a sentence in err naming what failed.
 */
#ifndef SVMM_DEVICES_VFIO_VFIO_H
#define SVMM_DEVICES_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pci.h"
#include "guest-agent/err.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/memory.h"

#define VFIO_MAX_GROUPS 8

struct vfio_group {
	int fd;
	unsigned int id; /* N of /dev/vfio/N */
	unsigned int users;
};

struct vfio_ctx {
	bool live; /* vfio_ctx_init ran (a zeroed context frees nothing) */
	struct kvm *kvm;
	const struct guest_mem *mem;
	int container; /* -1 until the first device */
	int kvm_vfio;  /* the KVM VFIO device, -1 until the first group */
	bool mapped;   /* guest RAM mapped for DMA (after the first group) */
	struct vfio_group groups[VFIO_MAX_GROUPS];
	unsigned int n_groups;
};

struct vfio_region {
	uint64_t size, offset;
	uint32_t flags;
};

/* A byte range of a BAR: offset and size within it. */
struct vfio_range {
	uint64_t off, size;
};

#define VFIO_MAX_PIECES 8 /* mapped pieces per BAR */

/* A BAR piece mmap'd at open and, while the BAR decodes, a KVM memory slot
 * at the BAR's address + off (slot -1: not registered). */
struct vfio_piece {
	uint64_t off, size;
	void *hva;
	int slot;
};

struct vfio_dev {
	struct pci_dev pci;
	struct vfio_ctx *ctx;
	struct vfio_group *group;
	char name[32]; /* DDDD:BB:DD.F */
	int fd;
	bool can_reset;
	bool msix_on; /* physical MSI-X pointed at our eventfds */
	bool intx_on; /* physical INTx pointed at intx_fd */
	bool msi_on;  /* physical MSI pointed at pci.c's MSI eventfd */
	/* INTx (vfio_dev_start): a KVM irqfd with resample on the slot's GSI */
	int intx_fd, intx_rfd, intx_gsi;
	struct vfio_region bar[PCI_NUM_BARS];
	struct vfio_region cfg;
	uint16_t msix_phys_cap; /* the physical MSI-X capability's offset, 0: none */
	struct vfio_piece piece[PCI_NUM_BARS][VFIO_MAX_PIECES];
	unsigned int n_pieces[PCI_NUM_BARS];
};

/* A context for vm's devices; nothing is opened until the first device. */
void vfio_ctx_init(struct vfio_ctx *c, struct kvm *kvm, const struct guest_mem *mem);
/* Close the groups, the KVM VFIO device and the container (which unmaps
 * the guest RAM). Free the devices first. A zeroed context: nothing. */
void vfio_ctx_free(struct vfio_ctx *c);

/* Open the device at sysfs path (/sys/bus/pci/devices/DDDD:BB:DD.F) and
 * build its endpoint, ready for pci_bus_add(&(*out)->pci). */
int vfio_dev_create(struct vfio_dev **out, struct vfio_ctx *c, const char *path, struct err *err);
/* Once it is plugged into the bus (its slot, so its INTx GSI, known):
 * INTx through KVM when it has a pin. */
int vfio_dev_start(struct vfio_dev *v, struct err *err);
/* Turn its interrupts off, reset it, close it. Unplugged from the bus (or
 * the bus no longer used) first. */
void vfio_dev_free(struct vfio_dev *v);

/* --- pure helpers (exported for the unit tests) ------------------------- */

/* The MSI-X capability of a type-0 config space (len bytes, len >= 64):
 * its offset, or 0 when there is none or the list is malformed (a loop,
 * an offset out of the space). Fills info's msix_vectors, msix_bar,
 * msix_table_off and msix_pba_off when found. */
unsigned int vfio_cfg_msix(const uint8_t *cfg, size_t len, struct pci_dev_info *info);
/* The offset of the first capability id in a type-0 config space (len
 * bytes), or 0 when there is none or the list is malformed (a loop, an
 * offset out of the space). */
unsigned int vfio_cfg_cap(const uint8_t *cfg, size_t len, uint8_t id);
/* Identity and BARs from the physical config space and the BAR regions'
 * sizes (0: none): IDs, class, revision, subsystem IDs; each BAR's kind
 * from its low bits (I/O, 32-bit or 64-bit memory, prefetchable) and size
 * from sizes[]. -EINVAL with err for a BAR svmm's PCI model cannot take
 * (a size that is not a power of two, a 64-bit BAR in slot 5). MSI-X is
 * filled by vfio_cfg_msix. */
int vfio_cfg_info(const uint8_t *cfg, size_t len, const uint64_t sizes[PCI_NUM_BARS],
		  struct pci_dev_info *info, struct err *err);
/* The physical command register to write when the guest's becomes guest:
 * the memory and I/O decode, bus-master and INTx-disable bits from guest
 * (vfio-pci masks INTx for the last), every other bit as the device has it
 * (phys). */
uint16_t vfio_cmd_forward(uint16_t guest, uint16_t phys);

struct vfio_usable_range {
	uint64_t start, end; /* inclusive */
};
/* Whether [gpa, gpa + size) lies inside one of the n usable IOVA ranges
 * (n 0: no list, everything is usable). */
bool vfio_iova_usable(const struct vfio_usable_range *r, unsigned int n, uint64_t gpa,
		      uint64_t size);
/* Whether pinning need bytes fits the RLIMIT_MEMLOCK soft limit (limit,
 * RLIM_INFINITY for none) or CAP_IPC_LOCK lifts it; -ENOMEM with err naming
 * the limit and the size otherwise. */
int vfio_memlock_check(uint64_t need, uint64_t limit, bool cap_ipc_lock, struct err *err);

/* The mappable pieces of a BAR of bar_size bytes, in offset order, into
 * out (max entries): the n_areas mmap areas (areas NULL: the whole BAR),
 * each clipped to the BAR and shrunk to page boundaries (page: a power of
 * two), less every page that touches one of the n_holes ranges (the MSI-X
 * table and PBA; a hole of size 0 is none). Returns the number of pieces
 * (0: nothing to map), -EINVAL for a bad page size or overlapping areas,
 * -ENOSPC when more than max pieces would result. */
int vfio_bar_pieces(uint64_t bar_size, uint64_t page, const struct vfio_range *areas,
		    unsigned int n_areas, const struct vfio_range *holes, unsigned int n_holes,
		    struct vfio_range *out, unsigned int max);

/* The capability chains of two VFIO replies, walked over the bytes the
 * kernel filled (buf, len; no alignment needed): every offset and length
 * is checked against len, and a chain that leaves the buffer, or runs
 * past 64 hops (a loop), ends the walk as if it had ended there. */

/* VFIO_DEVICE_GET_REGION_INFO's reply (a struct vfio_region_info and its
 * chain): 1 with the sparse mmap capability's areas in areas (*n of them,
 * at most max), 0 when there is none (no VFIO_REGION_INFO_FLAG_CAPS, no
 * such capability, len below the header: the whole region is mappable),
 * -EINVAL when the capability runs past len, -ENOSPC when it has more
 * than max areas. *n is 0 unless 1 is returned. */
int vfio_region_sparse_parse(const void *buf, size_t len, struct vfio_range *areas, unsigned int *n,
			     unsigned int max);
/* VFIO_IOMMU_GET_INFO's reply (a struct vfio_iommu_type1_info and its
 * chain): the first IOVA-range capability's ranges, malloc'd into *out
 * (the caller frees it), *n of them. *out NULL and *n 0 when there is none
 * (no VFIO_IOMMU_INFO_CAPS, an argsz below the header, no such capability
 * or one whose ranges run past len); -ENOMEM. */
int vfio_iova_ranges_parse(const void *buf, size_t len, struct vfio_usable_range **out,
			   unsigned int *n);

#endif
