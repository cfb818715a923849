/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One virtual machine, from KVM set-up to the end of its life: guest RAM,
 * platform devices (16550 COM1, CMOS RTC, i8042, boot-timer port 0x80,
 * ACPI PM port), the kernel, one thread per vCPU, and exit handling.
 *
 * Lifecycle (cloud-hypervisor's behaviour):
 *   guest power-off (ACPI S5, or the kernel's "reboot: Power down" line on
 *     the serial console when there is no ACPI)     -> exit status 0
 *   guest reset (i8042 0xFE, ACPI reset, triple fault) -> the VM is
 *     rebuilt from the same configuration and boots again; with
 *     exit_on_reboot the VMM exits with status 0 instead
 *   SIGTERM, SIGINT, SIGHUP                           -> clean stop, status 0
 *   a guest kernel panic is reported on stderr; the guest's next reset or
 *     power-off then ends the VMM with status 1 instead of rebooting
 *   a vCPU that fails (KVM_RUN error, internal error, failed entry) stops
 *     the whole VM                                    -> status 1
 */
#ifndef SVMM_VMM_VM_H
#define SVMM_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/config/config.h"
#include "vmm/x86/boot.h"
#include "guest-agent/err.h"

#include <pthread.h>

struct chardev;
struct vm_config;
struct vm;

/*
 * Control of a running VM from another thread (the REST API): give a
 * struct vm_ctl in vm_params, wait for the start, then request. The VM
 * registers itself while it runs; requests to no VM give -ESRCH.
 *
 * VM_CTL_PAUSE returns once every vCPU is out of KVM_RUN and parked, the
 * guest clock saved (KVM_GET_CLOCK) and the devices quiesced (no queue
 * served, no interrupt raised by svmm's device threads or the serial
 * input; vmm/devices.h says what is left running); -ESHUTDOWN when the VM
 * stops meanwhile, -EALREADY when paused. VM_CTL_RESUME restores the clock
 * (KVM_SET_CLOCK: vmm/kvm/kvm.h kvm_clock_restore) and lets devices and
 * vCPUs go on; -EALREADY when not paused. A shutdown of a paused VM ends it as of a running one.
 * Requests come from one thread at a time (the API's lock).
 */
struct vm_ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vm *vm;	/* while vCPUs run */
	int state;	/* VM_CTL_STARTING, _RUNNING, _ENDED */
	bool ran;	/* the vCPUs ran at least once */
	struct err err; /* why the start failed */
};

enum { VM_CTL_STARTING, VM_CTL_RUNNING, VM_CTL_ENDED };
enum vm_ctl_op { VM_CTL_SHUTDOWN, VM_CTL_REBOOT, VM_CTL_POWER_BUTTON, VM_CTL_PAUSE, VM_CTL_RESUME };

void vm_ctl_init(struct vm_ctl *c);
void vm_ctl_destroy(struct vm_ctl *c);
/* Wait until the vCPUs run (0) or the VM failed to start or ended
 * (-EIO, with the reason in err). */
int vm_ctl_wait_started(struct vm_ctl *c, struct err *err);
int vm_ctl_request(struct vm_ctl *c, enum vm_ctl_op op);
/* Hot-add the device of kind (cfg: its config entry, validated, with an
 * id; vmm/config/config.h) to the running VM: its PCI function goes into a
 * free slot (*slot) and the guest is told (ACPI GED, PCI hotplug: its
 * acpiphp scans the slot). -ESRCH when no VM runs. */
int vm_ctl_hot_add(struct vm_ctl *c, enum vm_device_kind kind, const void *cfg, unsigned int *slot,
		   struct err *err);
/* Ask the guest to eject the device with config id id (ACPI GED);
 * the VMM unplugs and frees it when the guest's _EJ0 says it let go.
 * -ENOENT for no such device. */
int vm_ctl_remove_device(struct vm_ctl *c, const char *id, struct err *err);
struct ctr_set;
/* The running VM's counters (vmm/kvm/counters.h): each device's group (see
 * vm_devices_counters), then each vCPU's ("__vcpuN", label vcpu="N": its
 * exits by reason). Any thread; -ESRCH (nothing added) when no VM runs. */
int vm_ctl_counters(struct vm_ctl *c, struct ctr_set *out);
/*
 * vm.snapshot of the paused VM into directory dir (which must exist):
 * config.json (the VM configuration as cloud-hypervisor JSON), memory.bin
 * (guest RAM, sparse: pages never touched or all zero are holes) and, last,
 * state.bin (vmm/kvm/snapshot.h: vCPUs, irqchip, PIT, clock, PCI functions,
 * virtio transports, serial, RTC, GED; i8042 and PM hold no state). The
 * state is gathered first, so a device that cannot be saved (VFIO,
 * virtio-fs, net vhost=on) refuses it before anything is written; a
 * state.bin already there goes first and the new one is written under a
 * temporary name and renamed, so only a complete snapshot has one.
 * -EBUSY when not paused, -ESRCH with no VM; err says what failed.
 */
int vm_ctl_snapshot(struct vm_ctl *c, const char *dir, struct err *err);

/* How to run one VM: the cloud-hypervisor configuration (devices) plus what
 * only the svmm process decides (the serial back end, reboot policy). */
struct vm_params {
	struct boot_config boot;
	unsigned int ncpus;
	uint64_t mem_size;
	bool mem_shared, mem_hugepages;
	struct chardev *serial; /* NULL or mode off: no UART at all */
	bool exit_on_reboot;
	int verbose;
	struct timespec start; /* process start (CLOCK_MONOTONIC), for timings */
	/* Disks, net, rng, fs, vsock (vmm/config/config.h); NULL: none but the rng. */
	const struct vm_config *devices;
	/* The caller handles SIGTERM/SIGINT/SIGHUP itself (it stops the VM
	 * through ctl); otherwise vm_run() takes them as a request to stop. */
	bool no_signals;
	struct vm_ctl *ctl; /* optional */
	/* Restore the snapshot in this directory instead of booting the kernel
	 * (its config.json is what the caller made the rest of these params
	 * from): memory mapped MAP_PRIVATE from memory.bin (every page read at
	 * once with prefault), every state of state.bin put back; the VM then
	 * waits paused, as after vm.pause, until VM_CTL_RESUME. A guest reboot
	 * later boots the kernel as usual. NULL: boot. */
	const char *restore_dir;
	bool restore_prefault;
};

#define VM_MAX_CPUS 254

/* The VM of a validated config c: payload, cpus, memory and devices (c must
 * outlive the run). The serial back end, signals and ctl are the caller's. */
void vm_params_from_config(struct vm_params *p, const struct vm_config *c);

/* Boot and run until the VM's end; returns the process exit status. A set-up
 * error is described in err (naming the flag or file) with status 1. */
int vm_run(const struct vm_params *cfg, struct err *err);

#endif
