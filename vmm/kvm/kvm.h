/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM layer: /dev/kvm, one VM with an in-kernel irqchip (PIC, IOAPIC,
 * LAPICs) and PIT, its memory slots, vCPUs, and the interrupt plumbing the
 * devices use: ISA IRQ lines, a GSI routing table with MSI routes, irqfd
 * and ioeventfd.
 *
 * Errors are negative errno. kvm_open() distinguishes the three ways
 * /dev/kvm can fail so that the caller can say what to do (see
 * kvm_open_hint()).
 */
#ifndef SVMM_VMM_KVM_KVM_H
#define SVMM_VMM_KVM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* GSIs 0..KVM_GSI_IRQCHIP_PINS-1 are the IOAPIC pins (0..15 also the PIC's);
 * MSI routes take the GSIs above. */
#define KVM_GSI_IRQCHIP_PINS 24
#define KVM_GSI_MAX	     1024
/* Memory slots: guest RAM takes 0..KVM_SLOT_DYN_BASE-1 (guest_mem_register);
 * the slots above are handed out at run time (kvm_slot_alloc: VFIO BARs
 * mapped into the guest), at most KVM_SLOT_DYN_MAX of them. */
#define KVM_SLOT_DYN_BASE 8
#define KVM_SLOT_DYN_MAX  64

struct kvm {
	int sys_fd; /* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;

	/* The GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table,
	 * so the irqchip routes are kept in it next to the MSI routes. */
	pthread_mutex_t routes_lock;
	struct kvm_irq_routing *routes;
	unsigned int routes_cap;
	uint64_t gsi_used[KVM_GSI_MAX / 64]; /* MSI GSIs handed out */
	/* run-time memory slots handed out (bit i: KVM_SLOT_DYN_BASE + i),
	 * under routes_lock; nr_slots is KVM_CAP_NR_MEMSLOTS */
	uint64_t slot_used;
	unsigned int nr_slots;
};

/*
 * Open /dev/kvm and check it can run a Linux guest:
 *   -ENOENT  there is no /dev/kvm
 *   -EACCES  no permission on it
 *   -ENODEV  it opens but cannot run a stock Linux guest (KVM-PVM, no
 *            VMX/SVM on the CPU, or a wrong API version)
 */
int kvm_open(struct kvm *k);
/* A one-line hint for an error of kvm_open() (never NULL). */
const char *kvm_open_hint(int err);

/* Create the VM: TSS and identity-map addresses, irqchip, PIT, the default
 * GSI routes. */
int kvm_vm_create(struct kvm *k);
void kvm_close(struct kvm *k);

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
/* A free run-time memory slot (>= KVM_SLOT_DYN_BASE) or -ENOSPC;
 * kvm_slot_free gives it back (delete it first: kvm_set_memory, size 0). */
int kvm_slot_alloc(struct kvm *k);
void kvm_slot_free(struct kvm *k, int slot);

/* The KVM VFIO pseudo-device (KVM_DEV_TYPE_VFIO), once per VM: KVM learns
 * which VFIO groups the VM uses (for coherent DMA and the like). Returns its
 * fd or a negative errno; close() it when done. kvm_vfio_group adds
 * (KVM_DEV_VFIO_GROUP_ADD) or removes (_DEL) VFIO group fd group_fd. */
int kvm_vfio_create(struct kvm *k);
int kvm_vfio_group(int kvm_vfio_fd, int group_fd, bool add);

/* A vCPU fd and its mapped kvm_run. */
int kvm_vcpu_create(struct kvm *k, unsigned int id, int *fd, struct kvm_run **run);

/* Set an ISA/IOAPIC interrupt line (GSI 0..23) to level. */
int kvm_irq_line(struct kvm *k, uint32_t gsi, int level);

/* A free GSI for an MSI route (>= KVM_GSI_IRQCHIP_PINS), or -ENOSPC;
 * kvm_gsi_free gives it back (clear its route first). */
int kvm_gsi_alloc(struct kvm *k);
void kvm_gsi_free(struct kvm *k, int gsi);
/* Add or update the MSI route of gsi (address and data as the guest wrote
 * them in the MSI-X table entry) and commit the table. */
int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data);
/* Remove the route of gsi (a masked or disabled vector) and commit. */
int kvm_msi_route_clear(struct kvm *k, uint32_t gsi);

/* The guest's clock across vm.pause, as cloud-hypervisor keeps it:
 * kvm_clock_save is KVM_GET_CLOCK with KVM_CLOCK_REALTIME (the host's wall
 * clock at that moment) filled in when the kernel left it out;
 * kvm_clock_restore is KVM_SET_CLOCK with it, which advances the kvmclock
 * by the host wall time gone by since (never backwards), so the guest's
 * clock stays in step with the TSC, which ran on. A kernel that takes no
 * flags there (before 5.16: -EINVAL) is given the saved clock itself. */
int kvm_clock_save(struct kvm *k, struct kvm_clock_data *c);
int kvm_clock_restore(struct kvm *k, const struct kvm_clock_data *c);

/* Bind eventfd fd to gsi: a write to fd raises the interrupt. */
int kvm_irqfd_bind(struct kvm *k, int fd, uint32_t gsi);
int kvm_irqfd_unbind(struct kvm *k, int fd, uint32_t gsi);
/* Level-triggered (INTx): a write to fd asserts IOAPIC pin gsi (0..23)
 * until the guest's EOI, which deasserts it and writes resample_fd. */
int kvm_irqfd_resample_bind(struct kvm *k, int fd, int resample_fd, uint32_t gsi);

/* Signal eventfd fd when the guest writes to addr (port I/O when pio,
 * MMIO otherwise), len bytes; when match is set only a write of datamatch
 * counts. The write then never reaches user space. */
int kvm_ioeventfd_add(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool match,
		      uint64_t datamatch);
int kvm_ioeventfd_del(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool match,
		      uint64_t datamatch);

#endif
