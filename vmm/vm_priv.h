/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's insides that vmm/vm.c (set-up, vCPUs, lifecycle, control) and
 * vmm/vm_snapshot.c (vm.snapshot, --restore) share. Not an interface:
 * vmm/vm.h is.
 */
#ifndef SVMM_VMM_VM_PRIV_H
#define SVMM_VMM_VM_PRIV_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/devices.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/memory.h"
#include "vmm/kvm/snapshot.h"
#include "vmm/vm.h"

/* Why a VM stopped. */
enum vm_stop { VM_RUNNING, VM_POWEROFF, VM_RESET, VM_SIGNAL, VM_ERROR };

#define VCPU_KICK_SIGNAL SIGUSR1

struct vm;

/* What a vCPU counts: KVM_RUN's exits by reason. */
enum {
	EXIT_IO,
	EXIT_MMIO,
	EXIT_HLT,
	EXIT_INTR,
	EXIT_SHUTDOWN,
	EXIT_SYSTEM_EVENT,
	EXIT_OTHER,
	EXIT_N
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits[EXIT_N]; /* its own thread writes (ctr_bump) */
};

struct vm {
	const struct vm_params *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct kvm_cpuid2 *cpuid;
	struct boot_entry entry;
	struct vcpu *vcpus;

	struct serial serial;
	bool has_serial;
	struct rtc rtc;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	struct pm pm;
	struct pci_bus pci;
	bool has_pci;
	struct acpi_ged ged;
	struct vm_devices devs;

	pthread_mutex_t lock;
	enum vm_stop stop; /* first reason wins */
	char stop_msg[256];
	int stop_fd; /* eventfd: the main thread wakes when stop is set */
	atomic_bool stopping;
	atomic_bool panicked; /* kept across reboots by vm_run */

	/* vm.pause. A vCPU parks when it sees pause_req, out of KVM_RUN, and
	 * waits on park_cond until pause_req is cleared or the VM stops;
	 * pause_req, vcpus_live (threads that may still park), vcpus_parked
	 * and each immediate_exit a pause sets are under lock. */
	pthread_cond_t park_cond;
	atomic_bool pause_req;
	unsigned int vcpus_live, vcpus_parked;
	/* the pause is complete (vCPUs, clock, devices); the clock saved at
	 * it. Only the ctl's caller touches them, under the ctl's lock. */
	bool paused;
	struct kvm_clock_data clock;

	/* restore_dir: the snapshot's state, parsed (snap indexes snap_buf),
	 * for the first boot only */
	bool restoring;
	uint8_t *snap_buf;
	struct snap_r snap;
};

/* vm_snapshot.c. vm.snapshot of the paused vm into dir (vm.h's
 * vm_ctl_snapshot says what is written). */
int vm__vm_snapshot(struct vm *vm, const char *dir, struct err *err);
/* --restore: parse dir's state.bin into vm->snap (before /dev/kvm);
 * map its memory.bin; put every state back once the VM is built; drop
 * the parsed state. */
int vm__restore_load(struct vm *vm, const char *dir, struct err *err);
void vm__restore_done(struct vm *vm);
int vm__restore_mem(struct vm *vm, struct err *err);
int vm__restore_state(struct vm *vm, struct err *err);

#endif
