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

#include "vmm/boot.h"

struct chardev;

struct vm_config {
	struct boot_config boot;
	unsigned int ncpus;
	uint64_t mem_size;
	bool mem_shared, mem_hugepages;
	struct chardev *serial; /* NULL or mode off: no UART at all */
	bool exit_on_reboot;
	int verbose;
	struct timespec start; /* process start (CLOCK_MONOTONIC), for timings */
};

#define VM_MAX_CPUS 254

/* Boot and run until the VM's end; returns the process exit status. A set-up
 * error is described in err (naming the flag or file) with status 1. */
int vm_run(const struct vm_config *cfg, char *err, size_t errlen);

#endif
