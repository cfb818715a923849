/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading a Linux kernel into guest memory, and the boot vCPU's state.
 *
 * Two formats: an x86 bzImage (the Linux boot protocol, entered at its
 * 64-bit entry point in long mode with boot_params in RSI) and an ELF
 * vmlinux with a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, entered in
 * 32-bit protected mode with hvm_start_info in EBX). Anything else is
 * refused with a message saying what the file looks like.
 *
 * The E820 map: RAM [0, 0x9FC00), reserved MP table KiB, reserved ACPI area (LAYOUT_ACPI_*),
 * RAM [1 MiB, low end), reserved ECAM, RAM from 4 GiB.
 */
#ifndef SVMM_VMM_X86_BOOT_H
#define SVMM_VMM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include "guest-agent/err.h"

struct guest_mem;

enum boot_kind { BOOT_BZIMAGE, BOOT_PVH };

struct boot_config {
	const char *kernel;
	const char *initramfs; /* or NULL */
	const char *cmdline;   /* or NULL */
	/* Guest-physical address of the RSDP, or 0 without ACPI. Passed as
	 * boot_params.acpi_rsdp_addr or hvm_start_info.rsdp_paddr. */
	uint64_t rsdp_addr;
};

/* What boot_load() leaves for the boot vCPU. */
struct boot_entry {
	enum boot_kind kind;
	uint64_t entry;	     /* RIP */
	uint64_t boot_info;  /* RSI (zero page) or RBX (hvm_start_info) */
	uint64_t kernel_end; /* first byte above the loaded kernel */
};

/* Say what kind of kernel path is, without loading it: 0, or an error
 * described in err (not a kernel: what the file is). */
int boot_probe(const char *path, enum boot_kind *kind, struct err *err);

/* Load the kernel, initramfs and command line. On failure, err says what
 * is wrong and with which file. */
int boot_load(struct guest_mem *m, const struct boot_config *cfg, struct boot_entry *out,
	      struct err *err);

/* Set the registers (and for bzImage, GDT and page tables) of the boot vCPU. */
int boot_vcpu_setup(int vcpu_fd, struct guest_mem *m, const struct boot_entry *be);

/* E820 types */
#define E820_RAM      1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* Fill up to max entries; returns the count. */
unsigned int boot_e820(const struct guest_mem *m, struct e820_entry *e, unsigned int max);

#endif
