/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest physical address map (x86-64): the one place that defines it.
 * Values follow cloud-hypervisor's layout where the guest can see them.
 *
 *   0x0000_0000 .. 0x000A_0000  low RAM (E820 RAM)
 *   0x000E_0000 .. 0x0010_0000  ACPI tables, RSDP first (E820 reserved;
 *                               also where a BIOS-style RSDP scan looks)
 *   0x0010_0000 .. RAM32_END    RAM
 *   0xC000_0000 .. 0xE800_0000  PCI 32-bit MMIO window (BARs)
 *   0xE800_0000 .. 0xF800_0000  PCI ECAM, 256 buses reserved (E820 reserved)
 *   0xFEB0_0000 +  0x1000       ACPI GED registers
 *   0xFEC0_0000 +  0x1000       IOAPIC
 *   0xFEE0_0000 +  0x1000       local APIC
 *   0xFFFB_C000 .. 0xFFFB_F000  KVM identity map page + TSS (3 pages)
 *   0x1_0000_0000 ..            RAM above 4 GiB (what does not fit below)
 *   mmio64_base(ram) ..         PCI 64-bit MMIO window, 1 GiB aligned
 *
 * Port I/O: 0x3C0..0x3C2 ACPI sleep control/status and reset registers
 * (cloud-hypervisor's port), 0xCF8..0xCFF PCI config, 0x1000..0xFFFF PCI
 * I/O window.
 */
#ifndef SVMM_VMM_LAYOUT_H
#define SVMM_VMM_LAYOUT_H

#include <stdint.h>

#define LAYOUT_LOWRAM_END    0x000A0000ULL
#define LAYOUT_ACPI_BASE     0x000E0000ULL
#define LAYOUT_ACPI_SIZE     0x00020000ULL
#define LAYOUT_HIGHMEM_START 0x00100000ULL
#define LAYOUT_RAM32_END     0xC0000000ULL

#define LAYOUT_MMIO32_BASE	0xC0000000ULL
#define LAYOUT_MMIO32_SIZE	0x28000000ULL
#define LAYOUT_ECAM_BASE	0xE8000000ULL
#define LAYOUT_ECAM_SIZE	0x10000000ULL
#define LAYOUT_GED_BASE		0xFEB00000ULL
#define LAYOUT_GED_SIZE		0x1000ULL
#define LAYOUT_IOAPIC_BASE	0xFEC00000ULL
#define LAYOUT_LAPIC_BASE	0xFEE00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xFFFBC000ULL
#define LAYOUT_KVM_TSS		0xFFFBD000ULL

#define LAYOUT_RAM64_BASE   0x100000000ULL
#define LAYOUT_MMIO64_ALIGN (1ULL << 30)
#define LAYOUT_MMIO64_SIZE  (64ULL << 30)

#define LAYOUT_PM_PORT	       0x3C0 /* +0 sleep control, +1 sleep status, +2 reset */
#define LAYOUT_PCI_CONFIG_PORT 0xCF8
#define LAYOUT_PCI_IO_BASE     0x1000
#define LAYOUT_PCI_IO_SIZE     0xF000

/* GSI of the ACPI GED (power button) interrupt, edge, active high. */
#define LAYOUT_GED_IRQ 5

/* Where guest RAM of ram_size bytes ends: below the 32-bit hole, then
 * from 4 GiB on. */
static inline uint64_t layout_ram_end(uint64_t ram_size)
{
	return ram_size <= LAYOUT_RAM32_END ? ram_size
					    : LAYOUT_RAM64_BASE + (ram_size - LAYOUT_RAM32_END);
}

/* Start of the 64-bit PCI MMIO window: past RAM and 4 GiB, 1 GiB aligned. */
static inline uint64_t layout_mmio64_base(uint64_t ram_size)
{
	uint64_t end = layout_ram_end(ram_size);

	if (end < LAYOUT_RAM64_BASE)
		end = LAYOUT_RAM64_BASE;
	return (end + LAYOUT_MMIO64_ALIGN - 1) & ~(LAYOUT_MMIO64_ALIGN - 1);
}

#endif
