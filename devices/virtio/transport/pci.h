/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio 1.x modern PCI transport (virtio 1.x section 4.1): a virtio
 * device behind a PCI function with common, notify, ISR, device and
 * PCI-config capabilities in one 64-bit memory BAR, and MSI-X vectors
 * (one for configuration changes, one per queue).
 *
 * The transport knows PCI and virtio's rules; it knows nothing of the
 * device (which sees only struct virtio_dev) nor of KVM (doorbells are
 * bound through the host's ioeventfd callback; interrupts go through
 * pci_msix_trigger, which honours masking and pending bits).
 */
#ifndef SVMM_DEVICES_VIRTIO_TRANSPORT_PCI_H
#define SVMM_DEVICES_VIRTIO_TRANSPORT_PCI_H

#include "devices/pci.h"
#include "devices/virtio/virtio.h"

struct virtio_pci_host_ops {
	/* Bind (assign) or unbind fd to 4-byte writes at gpa, so a queue
	 * notification wakes the device without a VM exit to user space.
	 * Optional: without it notifications arrive as BAR writes. */
	int (*ioeventfd)(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign);
	/* Run fn(arg) soon on another thread (the VM's device manager), jobs
	 * in the order given: 0, or -errno (nothing queued). With it, the
	 * device's activation at DRIVER_OK and its reset run there, not on
	 * the vCPU thread that wrote the status; a transport has at most one
	 * job queued or running. Until a reset's job is done the status reads
	 * as before it (non-zero: the driver waits for 0) and the driver's
	 * common-configuration writes are ignored; a reset written while the
	 * activation is pending runs right after it. The host must have run
	 * every job it was given before virtio_pci_free. Optional: without it
	 * both run at once, inside the status write. */
	int (*defer)(void *opaque, void (*fn)(void *arg), void *arg);
};

struct virtio_pci;

/* Wrap vd in a PCI function; plug it in with pci_bus_add(bus,
 * virtio_pci_dev(vp), slot). Creates the queues' kick eventfds. */
int virtio_pci_create(struct virtio_pci **out, struct virtio_dev *vd, const struct guest_mem *mem,
		      const struct virtio_pci_host_ops *ops, void *opaque);
/* Frees the transport and the device. */
void virtio_pci_free(struct virtio_pci *vp);
struct pci_dev *virtio_pci_dev(struct virtio_pci *vp);

/*
 * Snapshot (vmm/kvm/snapshot.h), with the vCPUs stopped and no job
 * pending: the PCI function (pci_dev_save under PFX), then "PFX.virtio":
 * negotiated features, status, config generation, vectors, ISR and per
 * queue its size, vector, enable, ring addresses, next avail index, used
 * index; then the device's own save (which may refuse: -ENOTSUP).
 * Restore checks each field against what this transport and device allow
 * (features offered, sizes, vectors, rings inside guest RAM) before it
 * takes any, then the device's restore, then, when the driver had set
 * DRIVER_OK, queues the activation as the status write does (the host's
 * defer); the caller waits for it. 0 or -errno with err.
 */
int virtio_pci_save(struct virtio_pci *vp, struct snap_w *w, const char *pfx, struct err *err);
int virtio_pci_restore(struct virtio_pci *vp, const struct snap_r *r, const char *pfx,
		       struct err *err);
const char *virtio_pci_name(const struct virtio_pci *vp);

#endif
