/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's PCI devices, made from the cloud-hypervisor configuration in
 * cloud-hypervisor's order, so they take the same slots: after the host
 * bridge (00.0) come the disks, then net, rng, fs, vsock, then the VFIO
 * devices (devices/vfio: host PCI functions passed through). With four disks
 * the first NIC is in slot 5 (a systemd guest names it ens5).
 * Each device sits behind the virtio-pci transport; its doorbells are KVM
 * ioeventfds, its interrupts MSI-X messages.
 *
 * The device manager thread (devmgr, its own seccomp kind) runs what the
 * transports defer: a device's activation at DRIVER_OK and its reset, which
 * start and stop its I/O threads, so a vCPU never does (its filter holds
 * only what KVM_RUN's exits need). Jobs run one at a time, in order; the
 * thread is started with the devices and, at vm_devices_free, runs what is
 * still queued and is joined before any device is freed.
 *
 * vm.pause quiesces the devices (vm_devices_pause, with the vCPUs already
 * stopped, so no job can be queued): the devmgr finishes its queue, then the
 * devices' gate (devices/virtio/loop.h) closes, so no I/O thread serves a
 * queue or raises an interrupt until vm_devices_resume. Back ends outside
 * svmm (vhost-net's kernel worker, a vhost-user daemon) and VFIO devices
 * are not stopped: what they signal stays pending in KVM until the vCPUs
 * run again.
 */
#ifndef SVMM_VMM_DEVICES_H
#define SVMM_VMM_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/pci.h"
#include "devices/vfio/vfio.h"
#include "devices/virtio/loop.h"
#include "vmm/config/config.h"
#include "vmm/kvm/counters.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/memory.h"
#include "guest-agent/err.h"

#define VM_MAX_PCI_DEVICES (PCI_SLOTS - 1)

struct chardev;
struct virtio_fs_opts;
struct virtio_net_opts;
struct virtio_pci;
struct virtio_vsock_opts;

/* A transport has at most one job queued: one slot per device is enough. */
#define VM_DEVMGR_SLOTS (VM_MAX_PCI_DEVICES + 1)

struct vm_devmgr {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		void (*fn)(void *arg);
		void *arg;
	} q[VM_DEVMGR_SLOTS];
	unsigned int head, n; /* the queue, under lock */
	int rc;		      /* the thread's seccomp install, then 0 */
	bool started, ready, stopping;
	bool busy; /* a job runs, under lock */
};

struct vm_devices {
	struct kvm *kvm;
	struct pci_bus *bus;
	const struct guest_mem *mem;
	/* the virtio functions and their config ids ("" for the rng); a
	 * hot-add (API thread) and an eject (devmgr) change them under lock */
	pthread_mutex_t lock;
	bool has_lock;
	struct virtio_pci *vp[VM_MAX_PCI_DEVICES];
	struct virtio_dev *vd[VM_MAX_PCI_DEVICES]; /* what vp[i] carries */
	/* cloud-hypervisor's device ids (the config's, "__rng" for the rng), as
	 * vm.counters keys them and vm.remove-device finds them */
	char id[VM_MAX_PCI_DEVICES][CTR_ID_MAX];
	unsigned int n;
	/* a guest's eject of slot s, queued for the devmgr */
	struct vm_eject {
		struct vm_devices *d;
		unsigned int slot;
	} eject[PCI_SLOTS];
	struct vfio_ctx vfio; /* the VM's VFIO container, groups, KVM VFIO device */
	struct vfio_dev *vfio_dev[VM_MAX_VFIO_DEVICES];
	char vfio_id[VM_MAX_VFIO_DEVICES][CTR_ID_MAX];
	unsigned int n_vfio;
	struct vm_devmgr mgr;
	struct virtio_gate gate; /* every virtio device's I/O threads pass it */
	bool has_gate;
};

/* Start the devmgr, create every device of cfg (NULL: only the rng, as
 * cloud-hypervisor) and plug it into bus. err names the device and what is
 * wrong with it. */
int vm_devices_create(struct vm_devices *d, const struct vm_config *cfg, struct pci_bus *bus,
		      struct kvm *kvm, const struct guest_mem *mem, struct err *err);
/* Stop the devmgr (after the jobs still queued) and free every device. The
 * vCPUs must be stopped first: no new job after it. */
void vm_devices_free(struct vm_devices *d);

/* Every device's counters (vmm/kvm/counters.h), one group each, keyed and
 * labelled by its id. Any thread, while the devices exist. */
void vm_devices_counters(struct vm_devices *d, struct ctr_set *out);

/* vm.pause, with the vCPUs stopped: let the devmgr finish the jobs queued,
 * then hold every I/O thread at the gate (after the run in progress).
 * vm_devices_resume lets them go on. Both nothing on devices not made. */
void vm_devices_pause(struct vm_devices *d);

/* Hotplug. Hot-add the device of kind (cfg its config entry, validated,
 * with an id) to the running VM: a virtio or VFIO function in a free slot
 * (*slot), not yet announced (the caller tells the guest: ACPI GED). */
int vm_devices_hot_add(struct vm_devices *d, enum vm_device_kind kind, const void *cfg,
		       unsigned int *slot, struct err *err);
/* The slot of the (virtio or VFIO) function with config id id, or -ENOENT. */
int vm_devices_slot_of(struct vm_devices *d, const char *id);
/* The guest ejected slot (its _EJ0, on a vCPU thread): the devmgr unplugs
 * and frees the function there. */
void vm_devices_eject(struct vm_devices *d, unsigned int slot);
void vm_devices_resume(struct vm_devices *d);

/* vm.snapshot, the VM paused (vm_devices_pause): every PCI function's
 * state under "pciSS" (its slot, two hex digits: the PCI function, the
 * virtio transport, the device's own) and "devices" (how many). A VFIO
 * device or a device whose save refuses (virtio-fs, net vhost=on) fails it
 * with err naming the device; nothing is written to w before that check
 * for VFIO, and the caller drops w on any failure. */
int vm_devices_save(struct vm_devices *d, struct snap_w *w, struct err *err);
/* Restore into devices just made from the same configuration, before the
 * vCPUs run: each function's state, then the activations it implies, run
 * by the devmgr and waited for. The caller then pauses them. */
int vm_devices_restore(struct vm_devices *d, const struct snap_r *r, struct err *err);

/* One device's options from its entry of a validated config, as
 * vm_devices_create() makes them (i numbers the entry in messages). */
int vm_net_opts(const struct net_config *n, size_t i, struct virtio_net_opts *o, struct err *err);
void vm_fs_opts(const struct fs_config *f, struct virtio_fs_opts *o);
/* The serial port's back end of k (not opened yet). -EINVAL with err. */
int vm_serial_opts(const struct console_config *k, struct chardev *cd, struct err *err);
void vm_vsock_opts(const struct vsock_config *v, struct virtio_vsock_opts *o);

#endif
