// SPDX-License-Identifier: Apache-2.0
/* A VM's wiring, vCPU threads, exit handling and lifecycle. */
#include "vmm/vm.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/chardev.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/x86/acpi.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/cpuid.h"
#include "vmm/config/config.h"
#include "vmm/devices.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/memory.h"
#include "vmm/kvm/seccomp.h"
#include "vmm/x86/mptable.h"
#include "vmm/kvm/kvm_snap.h"
#include "vmm/kvm/snapshot.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>

#include "vmm/vm_priv.h"

static void vm_request_stop(struct vm *vm, enum vm_stop why, const char *fmt, ...)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->lock);
	if (vm->stop == VM_RUNNING) {
		vm->stop = why;
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
			va_end(ap);
		}
	}
	atomic_store(&vm->stopping, true);
	pthread_cond_broadcast(&vm->park_cond); /* parked vCPUs and a pause waiting */
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflow */
	}
}

static void on_reset(void *ctx)
{
	vm_request_stop(ctx, VM_RESET, "the guest reset the machine");
}

static void on_power_off(void *ctx)
{
	vm_request_stop(ctx, VM_POWEROFF, "the guest powered off");
}

void vm_ctl_init(struct vm_ctl *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
}

void vm_ctl_destroy(struct vm_ctl *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}

static void ctl_set(struct vm_ctl *c, struct vm *vm, int state, const char *err)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->vm = vm;
	c->state = state;
	c->ran |= state == VM_CTL_RUNNING;
	if (err && err[0] && !c->err.code)
		err_set(&c->err, EIO, "%s", err);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int vm_ctl_wait_started(struct vm_ctl *c, struct err *err)
{
	pthread_mutex_lock(&c->lock);
	while (c->state == VM_CTL_STARTING)
		pthread_cond_wait(&c->cond, &c->lock);
	int rc = c->state == VM_CTL_RUNNING ? 0 : -EIO;
	if (rc)
		err_set(err, rc, "%s", c->err.code ? c->err.msg : "the VM ended");
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int vm_pause(struct vm *vm);
static int vm_resume(struct vm *vm);

int vm_ctl_request(struct vm_ctl *c, enum vm_ctl_op op)
{
	int rc = 0;

	/* held throughout: the VM cannot end under a pause or resume (its
	 * thread clears c->vm first, under this lock) */
	pthread_mutex_lock(&c->lock);
	struct vm *vm = c->vm;
	if (!vm)
		rc = -ESRCH;
	else if (op == VM_CTL_SHUTDOWN)
		vm_request_stop(vm, VM_SIGNAL, "shutdown requested");
	else if (op == VM_CTL_REBOOT)
		vm_request_stop(vm, VM_RESET, "reboot requested");
	else if (op == VM_CTL_PAUSE)
		rc = vm_pause(vm);
	else if (op == VM_CTL_RESUME)
		rc = vm_resume(vm);
	else
		acpi_ged_press_power_button(&vm->ged);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int vm_ctl_hot_add(struct vm_ctl *c, enum vm_device_kind kind, const void *cfg, unsigned int *slot,
		   struct err *err)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	struct vm *vm = c->vm;
	if (!vm)
		rc = err_set(err, -ESRCH, "the VM is not running");
	else if (!vm->has_pci)
		rc = err_set(err, -ENOTSUP, "the VM has no PCI bus");
	else if (!(rc = vm_devices_hot_add(&vm->devs, kind, cfg, slot, err)))
		acpi_ged_pci_changed(&vm->ged, 1u << *slot, 0);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int vm_ctl_remove_device(struct vm_ctl *c, const char *id, struct err *err)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	struct vm *vm = c->vm;
	if (!vm)
		rc = err_set(err, -ESRCH, "the VM is not running");
	else if ((rc = vm_devices_slot_of(&vm->devs, id)) < 0)
		err_set(err, rc, "no device with id '%s'", id);
	else {
		acpi_ged_pci_changed(&vm->ged, 0, 1u << rc);
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static const struct ctr_desc c_exits[EXIT_N] = {
#define EXIT_DESC(r)                                                           \
	{                                                                      \
		"vcpu", "exits", "KVM_RUN exits by reason", false, "reason", r \
	}
	EXIT_DESC("io"),       EXIT_DESC("mmio"),	  EXIT_DESC("hlt"),   EXIT_DESC("intr"),
	EXIT_DESC("shutdown"), EXIT_DESC("system_event"), EXIT_DESC("other"),
#undef EXIT_DESC
};

int vm_ctl_counters(struct vm_ctl *c, struct ctr_set *out)
{
	pthread_mutex_lock(&c->lock); /* the VM cannot end meanwhile */
	struct vm *vm = c->vm;
	if (vm) {
		vm_devices_counters(&vm->devs, out);
		for (unsigned int i = 0; i < vm->cfg->ncpus; i++) {
			char id[32], n[16];
			snprintf(id, sizeof(id), "__vcpu%u", i);
			snprintf(n, sizeof(n), "%u", i);
			ctr_group(out, id, "vcpu", n);
			for (unsigned int k = 0; k < EXIT_N; k++)
				ctr_put(out, &c_exits[k], -1, ctr_read(&vm->vcpus[i].exits[k]));
		}
	}
	pthread_mutex_unlock(&c->lock);
	return vm ? 0 : -ESRCH;
}

int vm_ctl_snapshot(struct vm_ctl *c, const char *dir, struct err *err)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	if (!c->vm)
		rc = err_set(err, ESRCH, "the VM is not running");
	else
		rc = vm__vm_snapshot(c->vm, dir, err);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void on_serial_line(void *ctx, const char *line)
{
	struct vm *vm = ctx;

	if (strstr(line, "Kernel panic - not syncing")) {
		if (!atomic_exchange(&vm->panicked, true))
			log_msg(LV_ERROR, "vm", "guest kernel panic: %s", line);
	} else if (strstr(line, "reboot: Power down") || strstr(line, "reboot: System halted")) {
		/* With no ACPI Linux cannot power off: it halts every CPU with
		 * interrupts off for good. Its last words say so. */
		vm_request_stop(vm, VM_POWEROFF, "the guest powered off");
	}
}

static void vcpu_fail(struct vcpu *v, const char *what)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		vm_request_stop(v->vm, VM_ERROR, "vCPU %u: %s (rip %#llx)", v->id, what,
				(unsigned long long)regs.rip);
	else
		vm_request_stop(v->vm, VM_ERROR, "vCPU %u: %s", v->id, what);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;

	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		bus_access(&v->vm->pio, r->io.port, data, r->io.size,
			   r->io.direction == KVM_EXIT_IO_OUT);
}

/* vm.pause asked: wait here, out of KVM_RUN, until resumed or stopped. */
static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	vm->vcpus_parked++;
	pthread_cond_broadcast(&vm->park_cond); /* vm_pause counts us */
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->park_cond, &vm->lock);
	vm->vcpus_parked--;
	/* The pause's immediate_exit goes only here, under the lock and with
	 * no pause asked: a later pause sets it again before its kick, so no
	 * kick is lost between our check of pause_req and KVM_RUN. */
	if (!atomic_load(&vm->pause_req))
		v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->lock);
}

static void vcpu_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *r = v->run;
	sigset_t kick;
	char what[96];

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	int rc = sc_install(SC_VCPU); /* last before serving the guest */
	if (rc) {
		vm_request_stop(vm, VM_ERROR, "vCPU %u: seccomp filter: %s", v->id, strerror(-rc));
		return;
	}

	if (v->id == 0 && vm->cfg->verbose) {
		struct timespec now, cpu;
		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		long long us = (now.tv_sec - vm->cfg->start.tv_sec) * 1000000LL +
			       (now.tv_nsec - vm->cfg->start.tv_nsec) / 1000;
		log_msg(LV_INFO, "vm", "first KVM_RUN at %lld us after start (%lld us of CPU)", us,
			cpu.tv_sec * 1000000LL + cpu.tv_nsec / 1000);
	}

	while (!atomic_load(&vm->stopping)) {
		if (atomic_load(&vm->pause_req)) {
			vcpu_park(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(what, sizeof(what), "KVM_RUN: %s", strerror(errno));
			vcpu_fail(v, what);
			break;
		}
		unsigned int why = r->exit_reason == KVM_EXIT_IO	     ? EXIT_IO
				   : r->exit_reason == KVM_EXIT_MMIO	     ? EXIT_MMIO
				   : r->exit_reason == KVM_EXIT_HLT	     ? EXIT_HLT
				   : r->exit_reason == KVM_EXIT_INTR	     ? EXIT_INTR
				   : r->exit_reason == KVM_EXIT_SHUTDOWN     ? EXIT_SHUTDOWN
				   : r->exit_reason == KVM_EXIT_SYSTEM_EVENT ? EXIT_SYSTEM_EVENT
									     : EXIT_OTHER;
		ctr_bump(&v->exits[why], 1);
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			if (r->mmio.len <= 8)
				bus_access(&vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
					   r->mmio.is_write);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
			vm_request_stop(vm, VM_POWEROFF, "vCPU %u halted", v->id);
			break;
		case KVM_EXIT_SHUTDOWN:
			vm_request_stop(vm, VM_RESET, "triple fault on vCPU %u", v->id);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			switch (r->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				on_power_off(vm);
				break;
			case KVM_SYSTEM_EVENT_RESET:
				on_reset(vm);
				break;
			default:
				if (!atomic_exchange(&vm->panicked, true))
					log_msg(LV_ERROR, "vm", "guest crashed (system event %u)",
						r->system_event.type);
				on_reset(vm);
			}
			break;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(what, sizeof(what), "VM entry failed (reason %#llx)",
				 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
			vcpu_fail(v, what);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			snprintf(what, sizeof(what), "KVM internal error %u", r->internal.suberror);
			vcpu_fail(v, what);
			break;
		default:
			snprintf(what, sizeof(what), "unhandled exit reason %u", r->exit_reason);
			vcpu_fail(v, what);
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	vcpu_loop(v);
	pthread_mutex_lock(&vm->lock);
	vm->vcpus_live--;
	pthread_cond_broadcast(&vm->park_cond); /* a pause waits for one fewer */
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

static void kick_noop(int sig)
{
	(void)sig;
}

/* Stop and join every vCPU thread (parked ones too). */
static void vcpus_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->stopping, true);
	pthread_cond_broadcast(&vm->park_cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->cfg->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	for (unsigned int i = 0; i < vm->cfg->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->started)
			pthread_join(v->thread, NULL);
		v->started = false;
	}
}

/* Let parked vCPUs run again. */
static void vcpus_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->park_cond);
	pthread_mutex_unlock(&vm->lock);
}

/* Every vCPU out of KVM_RUN (kicked as for a stop, with immediate_exit so
 * that a kick just before KVM_RUN is not lost) and parked: 0, or
 * -ESHUTDOWN when the VM stops meanwhile (its vCPUs then end). */
static int vcpus_pause(struct vm *vm)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->lock);
		return -ESHUTDOWN;
	}
	atomic_store(&vm->pause_req, true);
	for (unsigned int i = 0; i < vm->cfg->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	while (vm->vcpus_parked < vm->vcpus_live && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->park_cond, &vm->lock);
	if (atomic_load(&vm->stopping))
		rc = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/* vm.pause, in cloud-hypervisor's order: the vCPUs, then the guest clock
 * (vCPUs quiet), then the devices (vmm/devices.h) and the serial input. */
static int vm_pause(struct vm *vm)
{
	int rc;

	if (vm->paused)
		return -EALREADY;
	if ((rc = vcpus_pause(vm)))
		return rc;
	if ((rc = kvm_clock_save(&vm->kvm, &vm->clock))) {
		log_msg(LV_ERROR, "vm", "pause: KVM_GET_CLOCK: %s", strerror(-rc));
		vcpus_resume(vm);
		return rc;
	}
	vm_devices_pause(&vm->devs);
	if (vm->has_serial)
		serial_pause(&vm->serial);
	vm->paused = true;
	log_msg(LV_INFO, "vm", "paused: %u vCPU(s) parked, devices quiesced", vm->cfg->ncpus);
	return 0;
}

/* vm.resume: the clock first, then the devices, then the vCPUs. */
static int vm_resume(struct vm *vm)
{
	int rc;

	if (!vm->paused)
		return -EALREADY;
	if ((rc = kvm_clock_restore(&vm->kvm, &vm->clock))) {
		log_msg(LV_ERROR, "vm", "resume: KVM_SET_CLOCK: %s", strerror(-rc));
		return rc; /* still paused */
	}
	if (vm->has_serial)
		serial_resume(&vm->serial);
	vm_devices_resume(&vm->devs);
	vm->paused = false;
	vcpus_resume(vm);
	log_msg(LV_INFO, "vm", "resumed");
	return 0;
}

static void vm_teardown(struct vm *vm)
{
	if (vm->vcpus) {
		vcpus_stop(vm);
		for (unsigned int i = 0; i < vm->cfg->ncpus; i++) {
			struct vcpu *v = &vm->vcpus[i];
			if (v->run)
				munmap(v->run, vm->kvm.vcpu_mmap_size);
			if (v->fd >= 0)
				close(v->fd);
		}
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->has_serial)
		serial_destroy(&vm->serial);
	vm->has_serial = false;
	vm_devices_free(&vm->devs); /* the devmgr (vCPUs stopped: no new job), then the devices */
	if (vm->has_pci)
		pci_bus_free(&vm->pci);
	vm->has_pci = false;
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	kvm_close(&vm->kvm);
	guest_mem_free(&vm->mem);
}

/* COM1: a level on its IOAPIC pin while an interrupt is pending. */
static void serial_set_irq(void *ctx, uint32_t irq, int level)
{
	struct vm *vm = ctx;

	kvm_irq_line(&vm->kvm, irq, level);
}

/* GED: the power button interrupt is an edge on an IOAPIC pin. */
static void ged_raise_irq(void *ctx, uint32_t irq)
{
	struct vm *vm = ctx;

	kvm_irq_line(&vm->kvm, irq, 1);
	kvm_irq_line(&vm->kvm, irq, 0);
}

/* GED: a slot's _EJ0 ran (the guest let go of its device). */
static void ged_on_eject(void *ctx, uint32_t slot)
{
	struct vm *vm = ctx;

	vm_devices_eject(&vm->devs, slot);
}

static const struct acpi_ged_ops ged_ops = { .raise_irq = ged_raise_irq, .on_eject = ged_on_eject };

/* PCI: every MSI-X vector is an eventfd bound as an irqfd to a GSI whose
 * route the PCI code keeps in step with the guest's table entry. */
static int pci_msi_route(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;
	int g = gsi >= 0 ? gsi : kvm_gsi_alloc(&vm->kvm);
	int rc;

	if (g < 0)
		return g;
	rc = kvm_msi_route_set(&vm->kvm, (uint32_t)g, addr, data);
	if (rc && gsi < 0)
		kvm_gsi_free(&vm->kvm, g);
	return rc ? rc : g;
}

static void pci_msi_route_free(void *ctx, int gsi)
{
	struct vm *vm = ctx;

	kvm_msi_route_clear(&vm->kvm, (uint32_t)gsi);
	kvm_gsi_free(&vm->kvm, gsi);
}

static int pci_irqfd(void *ctx, int fd, int gsi, bool assign)
{
	struct vm *vm = ctx;

	return assign ? kvm_irqfd_bind(&vm->kvm, fd, (uint32_t)gsi)
		      : kvm_irqfd_unbind(&vm->kvm, fd, (uint32_t)gsi);
}

static const struct pci_host_ops pci_ops = {
	.msi_route = pci_msi_route,
	.msi_route_free = pci_msi_route_free,
	.irqfd = pci_irqfd,
};

static int vm_setup_devices(struct vm *vm, struct err *err)
{
	const struct vm_params *cfg = vm->cfg;
	int ret;

	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	if (cfg->serial && cfg->serial->mode != CHARDEV_OFF) {
		ret = serial_init(&vm->serial, cfg->serial, SERIAL_COM1_IRQ, serial_set_irq, vm);
		if (ret)
			return err_set(err, ret, "serial: %s", strerror(-ret));
		vm->has_serial = true;
		vm->serial.on_line = on_serial_line;
		vm->serial.ctx = vm;
		ret = serial_register(&vm->serial, &vm->pio, SERIAL_COM1_BASE);
		if (ret)
			return err_set(err, ret, "serial: %s", strerror(-ret));
	}
	rtc_init(&vm->rtc);
	vm->i8042 = (struct i8042){ .reset = on_reset, .ctx = vm };
	vm->pm = (struct pm){ .power_off = on_power_off, .reset = on_reset, .ctx = vm };
	boot_timer_init(&vm->boot_timer, &cfg->start, cfg->verbose > 0);
	if ((ret = rtc_register(&vm->rtc, &vm->pio)) ||
	    (ret = i8042_register(&vm->i8042, &vm->pio)) ||
	    (ret = boot_timer_register(&vm->boot_timer, &vm->pio)) ||
	    (ret = pm_register(&vm->pm, &vm->pio)))
		return err_set(err, ret, "platform devices: %s", strerror(-ret));

	/* PCI bus 0: config ports, ECAM and the BAR windows. */
	const struct pci_bus_config pcfg = {
		.ecam_base = LAYOUT_PCI_ECAM_START,
		.io_base = LAYOUT_PCI_IO_START,
		.io_size = LAYOUT_PCI_IO_SIZE,
		.mmio32_base = LAYOUT_PCI_MMIO_START,
		.mmio32_size = LAYOUT_PCI_MMIO_SIZE,
		.mmio64_base = layout_mmio64_start(cfg->mem_size),
		.mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
	};
	ret = pci_bus_init(&vm->pci, &pcfg, &pci_ops, vm);
	if (ret)
		return err_set(err, ret, "PCI bus: %s", strerror(-ret));
	vm->has_pci = true;
	if ((ret = pci_bus_register(&vm->pci, &vm->pio, &vm->mmio)))
		return err_set(err, ret, "PCI bus: %s", strerror(-ret));
	acpi_ged_init(&vm->ged, LAYOUT_GED_IRQ, &ged_ops, vm);
	if ((ret = acpi_ged_register(&vm->ged, &vm->mmio, LAYOUT_GED_START)))
		return err_set(err, ret, "ACPI GED: %s", strerror(-ret));
	/* err already names the device and the problem */
	return vm_devices_create(&vm->devs, cfg->devices, &vm->pci, &vm->kvm, &vm->mem, err);
}

static int vm_setup_vcpus(struct vm *vm, struct err *err)
{
	const struct vm_params *cfg = vm->cfg;
	int ret;

	vm->vcpus = calloc(cfg->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_set(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < cfg->ncpus; i++)
		vm->vcpus[i] = (struct vcpu){ .vm = vm, .id = i, .fd = -1 };
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		ret = kvm_vcpu_create(&vm->kvm, i, &v->fd, &v->run);
		if (ret)
			return err_set(err, ret, "vCPU %u: KVM_CREATE_VCPU: %s", i, strerror(-ret));
		ret = cpuid_vcpu_set(v->fd, vm->cpuid, i, cfg->ncpus);
		if (ret)
			return err_set(err, ret, "vCPU %u: KVM_SET_CPUID2: %s", i, strerror(-ret));
		ret = msrs_vcpu_set(v->fd);
		if (ret)
			return err_set(err, ret, "vCPU %u: KVM_SET_MSRS: %s", i, strerror(-ret));
		/* The others wait in the in-kernel LAPIC for INIT/SIPI. */
		if (i == 0 && !vm->restoring) {
			ret = boot_vcpu_setup(v->fd, &vm->mem, &vm->entry);
			if (ret)
				return err_set(err, ret, "vCPU 0: boot registers: %s",
					       strerror(-ret));
		}
	}
	return 0;
}

/* Build the VM and run it to its end. Returns the stop reason (VM_ERROR with
 * err set when set-up fails). */
static enum vm_stop vm_boot_once(struct vm *vm, int sig_fd, struct err *err)
{
	const struct vm_params *cfg = vm->cfg;
	struct boot_config boot = cfg->boot;
	int ret;

	vm->stop = VM_RUNNING;
	vm->stop_msg[0] = 0;
	atomic_store(&vm->stopping, false);
	atomic_store(&vm->pause_req, false);
	vm->vcpus_live = vm->vcpus_parked = 0;
	vm->paused = false;
	vm->mem.fd = -1;

	ret = kvm_open(&vm->kvm);
	if (ret)
		goto fail_kvm;
	ret = kvm_vm_create(&vm->kvm);
	if (ret) {
		err_set(err, ret, "cannot create the VM: %s", strerror(-ret));
		return VM_ERROR;
	}
	if (vm->restoring && vm__restore_mem(vm, err))
		return VM_ERROR;
	ret = vm->restoring ? 0
			    : guest_mem_alloc(&vm->mem, cfg->mem_size, cfg->mem_shared,
					      cfg->mem_hugepages);
	if (ret) {
		err_set(err, ret, "--memory: cannot allocate %llu MiB%s: %s",
			(unsigned long long)(cfg->mem_size >> 20),
			cfg->mem_hugepages ? " of hugepages (are enough reserved? see "
					     "/proc/sys/vm/nr_hugepages)"
					   : "",
			strerror(-ret));
		return VM_ERROR;
	}
	ret = guest_mem_register(&vm->mem, &vm->kvm);
	if (ret) {
		err_set(err, ret, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
		return VM_ERROR;
	}
	if (!vm->cpuid) {
		ret = cpuid_supported(&vm->kvm, &vm->cpuid);
		if (ret) {
			err_set(err, ret, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
			return VM_ERROR;
		}
		for (uint32_t i = 0; i < vm->cpuid->nent && log_on(LV_DEBUG); i++) {
			const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
			log_msg(LV_DEBUG, "vm", "cpuid %#010x.%u: %08x %08x %08x %08x", e->function,
				e->index, e->eax, e->ebx, e->ecx, e->edx);
		}
	}
	if (vm_setup_devices(vm, err))
		return VM_ERROR;
	if (vm->restoring)
		goto vcpus; /* RAM holds the tables and the kernel already */
	{
		struct acpi_platform ap;
		void *tables = guest_mem_ptr(&vm->mem, LAYOUT_ACPI_START, LAYOUT_ACPI_SIZE);

		acpi_platform_default(&ap, cfg->ncpus, cfg->mem_size);
		if (!vm->has_serial)
			ap.com1_port = 0; /* no 16550 to describe */
		ret = tables ? acpi_build(&ap, tables, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_START,
					  &boot.rsdp_addr)
			     : -EFAULT;
		if (ret < 0) {
			err_set(err, ret, "ACPI tables: %s", strerror(-ret));
			return VM_ERROR;
		}
	}
	ret = mptable_write(&vm->mem, cfg->ncpus);
	if (ret) {
		err_set(err, ret, "MP table: %s", strerror(-ret));
		return VM_ERROR;
	}
	ret = boot_load(&vm->mem, &boot, &vm->entry, err);
	if (ret)
		return VM_ERROR;
	log_msg(LV_INFO, "vm", "kernel: %s, entry %#llx, %u vCPU(s), %llu MiB",
		vm->entry.kind == BOOT_PVH ? "PVH ELF (32-bit entry)" : "bzImage (64-bit entry)",
		(unsigned long long)vm->entry.entry, cfg->ncpus,
		(unsigned long long)(cfg->mem_size >> 20));
vcpus:
	if (vm_setup_vcpus(vm, err))
		return VM_ERROR;
	if (vm->restoring) {
		/* as after vm.pause: devices at the gate (closed before their
		 * activations start their threads), vCPUs park at once */
		vm_devices_pause(&vm->devs);
		if (vm__restore_state(vm, err)) {
			err_wrap(err, "restoring %s", cfg->restore_dir);
			return VM_ERROR;
		}
		atomic_store(&vm->pause_req, true);
		vm->paused = true;
	}
	if (vm->has_serial && (ret = serial_start(&vm->serial))) {
		err_set(err, ret, "serial input thread: %s", strerror(-ret));
		return VM_ERROR;
	}
	if (vm->restoring && vm->has_serial)
		serial_pause(&vm->serial);
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		pthread_mutex_lock(&vm->lock);
		vm->vcpus_live++; /* before it can end */
		pthread_mutex_unlock(&vm->lock);
		ret = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (ret) {
			pthread_mutex_lock(&vm->lock);
			vm->vcpus_live--;
			pthread_mutex_unlock(&vm->lock);
			err_set(err, ret, "vCPU %u thread: %s", i, strerror(ret));
			return VM_ERROR;
		}
		vm->vcpus[i].started = true;
	}
	if (vm->restoring) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		log_msg(LV_INFO, "vm", "restored from %s in %lld ms: paused until vm.resume",
			cfg->restore_dir,
			(long long)((now.tv_sec - cfg->start.tv_sec) * 1000 +
				    (now.tv_nsec - cfg->start.tv_nsec) / 1000000));
		vm__restore_done(vm); /* a reboot boots the kernel */
	}
	ctl_set(cfg->ctl, vm, VM_CTL_RUNNING, NULL);

	/* Wait for the VM's end or a signal. */
	while (!atomic_load(&vm->stopping)) {
		struct pollfd p[2] = { { .fd = vm->stop_fd, .events = POLLIN },
				       { .fd = sig_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				vm_request_stop(vm, VM_SIGNAL, "%s", strsignal((int)si.ssi_signo));
		}
		if (p[0].revents & POLLIN) {
			uint64_t n;
			if (read(vm->stop_fd, &n, sizeof(n)) < 0) {
				/* nothing to do: the flag is what counts */
			}
		}
	}
	ctl_set(cfg->ctl, NULL, VM_CTL_STARTING, NULL); /* a reboot starts it again */
	vcpus_stop(vm);
	if (vm->stop == VM_ERROR)
		err_set(err, EIO, "%s", vm->stop_msg);
	return vm->stop;

fail_kvm:
	err_set(err, ret, "%s", kvm_open_hint(ret));
	return VM_ERROR;
}

void vm_params_from_config(struct vm_params *p, const struct vm_config *c)
{
	p->boot.kernel = c->payload.kernel;
	p->boot.initramfs = c->payload.initramfs;
	p->boot.cmdline = c->payload.cmdline;
	p->ncpus = c->cpus.boot_vcpus;
	p->mem_size = c->memory.size;
	p->mem_shared = c->memory.shared;
	p->mem_hugepages = c->memory.hugepages;
	p->devices = c;
}

int vm_run(const struct vm_params *cfg, struct err *err)
{
	struct vm vm;
	sigset_t sigs, kick;
	struct sigaction sa = { .sa_handler = kick_noop };
	int status = 1, sig_fd;

	memset(&vm, 0, sizeof(vm));
	vm.cfg = cfg;
	*err = (struct err){ 0 };
	if (cfg->ncpus < 1 || cfg->ncpus > VM_MAX_CPUS) {
		err_set(err, EINVAL, "--cpus: boot=%u is out of range (1-%u)", cfg->ncpus,
			VM_MAX_CPUS);
		ctl_set(cfg->ctl, NULL, VM_CTL_ENDED, err->msg);
		return 1;
	}
	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.park_cond, NULL);
	vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	/* Termination signals arrive on a signalfd; vCPU threads are kicked
	 * out of KVM_RUN with VCPU_KICK_SIGNAL, which only they unblock. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	/* With no_signals the caller owns them: its mask stays as it is. */
	if (!cfg->no_signals)
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	sig_fd = cfg->no_signals ? -1 : signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm.stop_fd < 0 || (sig_fd < 0 && !cfg->no_signals)) {
		err_set(err, errno, "eventfd/signalfd: %s", strerror(errno));
		goto out;
	}

	if (cfg->restore_dir && vm__restore_load(&vm, cfg->restore_dir, err))
		goto out;
	for (unsigned int boots = 1;; boots++) {
		enum vm_stop why = vm_boot_once(&vm, sig_fd, err);
		vm_teardown(&vm);
		switch (why) {
		case VM_POWEROFF:
			log_msg(LV_INFO, "vm", "%s", vm.stop_msg);
			status = atomic_load(&vm.panicked) ? 1 : 0;
			goto out;
		case VM_SIGNAL:
			log_msg(LV_INFO, "vm", "%s: shutting down", vm.stop_msg);
			status = 0;
			goto out;
		case VM_RESET:
			if (atomic_load(&vm.panicked)) {
				log_msg(LV_ERROR, "vm",
					"guest reset after a kernel panic: exiting");
				status = 1;
				goto out;
			}
			if (cfg->exit_on_reboot) {
				log_msg(LV_INFO, "vm", "%s: exiting (--no-reboot)", vm.stop_msg);
				status = 0;
				goto out;
			}
			log_msg(LV_INFO, "vm", "%s: rebooting (boot %u)", vm.stop_msg, boots + 1);
			continue;
		default:
			status = 1;
			goto out;
		}
	}
out:
	vm__restore_done(&vm);
	ctl_set(cfg->ctl, NULL, VM_CTL_ENDED, err->code ? err->msg : "the VM ended");
	free(vm.cpuid);
	if (sig_fd >= 0)
		close(sig_fd);
	if (vm.stop_fd >= 0)
		close(vm.stop_fd);
	if (!cfg->no_signals)
		pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	pthread_cond_destroy(&vm.park_cond);
	pthread_mutex_destroy(&vm.lock);
	return status;
}
