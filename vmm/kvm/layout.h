/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest-physical address map, in one place. Where the guest can see
 * an address (PCI windows, ECAM, IOAPIC/LAPIC) it is cloud-hypervisor's.
 *
 *   0x0000_0500  GDT, then IDT (boot.c, 64-bit bzImage entry)
 *   0x0000_6000  hvm_start_info, module list, PVH memory map
 *   0x0000_7000  boot_params ("zero page") for bzImage
 *   0x0000_8ff0  boot stack (grows down)
 *   0x0000_9000  page tables: PML4, PDPT, 4 PDs (identity map of 4 GiB)
 *   0x0002_0000  kernel command line (up to BOOT_CMDLINE_MAX bytes)
 *   0x0009_FC00  MP table (the last KiB of base memory; E820 reserved)
 *   0x000A_0000  legacy VGA/ROM hole (E820: not RAM)
 *   0x000E_0000  ACPI tables (E820 reserved, 128 KiB; the RSDP is first,
 *                so the legacy scan of 0xE0000-0xFFFFF finds it too)
 *   0x0010_0000  kernel (bzImage protected-mode code, or PVH segments)
 *   ...          RAM up to min(size, 3 GiB); initramfs at its top
 *   0xC000_0000  32-bit PCI hole:
 *                  0xC000_0000 PCI 32-bit BAR window, 640 MiB
 *                  0xE800_0000 ECAM, 256 MiB reserved (E820 reserved;
 *                              bus 0's first MiB is decoded)
 *                  0xFEB0_0000 ACPI GED registers (devices/acpi_ged.h)
 *                  0xFEC0_0000 IOAPIC
 *                  0xFEE0_0000 LAPIC
 *                  0xFFFB_C000 KVM identity map page, then TSS (3 pages)
 *   0x1_0000_0000 RAM above 4 GiB (what does not fit below the hole)
 *   layout_mmio64_start(ram)  PCI 64-bit BAR window, 64 GiB, 1 GiB aligned
 *
 * Port I/O: 0x600 ACPI sleep control/status + reset (devices/pm.c),
 * 0xCF8-0xCFF PCI config, 0x1000-0xFFFF PCI I/O BAR window.
 */
#ifndef SVMM_VMM_KVM_LAYOUT_H
#define SVMM_VMM_KVM_LAYOUT_H

#include <stdint.h>

#define LAYOUT_GDT	     0x500ULL
#define LAYOUT_IDT	     0x520ULL
#define LAYOUT_PVH_INFO	     0x6000ULL
#define LAYOUT_ZERO_PAGE     0x7000ULL
#define LAYOUT_BOOT_STACK    0x8ff0ULL
#define LAYOUT_PML4	     0x9000ULL
#define LAYOUT_PDPT	     0xa000ULL
#define LAYOUT_PD	     0xb000ULL /* four pages */
#define LAYOUT_CMDLINE	     0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL
#define LAYOUT_MPTABLE_START 0x9fc00ULL
#define LAYOUT_MPTABLE_SIZE  0x400ULL
#define LAYOUT_EBDA_START    0xa0000ULL
#define LAYOUT_ACPI_START    0xe0000ULL
#define LAYOUT_ACPI_SIZE     0x20000ULL
#define LAYOUT_HIGH_MEMORY   0x100000ULL

#define LAYOUT_MEM_HOLE_START	0xc0000000ULL
#define LAYOUT_MEM_HOLE_END	0x100000000ULL
#define LAYOUT_PCI_MMIO_START	0xc0000000ULL
#define LAYOUT_PCI_MMIO_SIZE	0x28000000ULL
#define LAYOUT_PCI_ECAM_START	0xe8000000ULL
#define LAYOUT_PCI_ECAM_SIZE	0x10000000ULL
#define LAYOUT_GED_START	0xfeb00000ULL
#define LAYOUT_IOAPIC_START	0xfec00000ULL
#define LAYOUT_LAPIC_START	0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL
#define LAYOUT_KVM_TSS		0xfffbd000ULL

#define LAYOUT_PCI_MMIO64_ALIGN (1ULL << 30)
#define LAYOUT_PCI_MMIO64_SIZE	(64ULL << 30)

#define LAYOUT_PM_PORT	       0x600
#define LAYOUT_PCI_CONFIG_PORT 0xcf8
#define LAYOUT_PCI_IO_START    0x1000
#define LAYOUT_PCI_IO_SIZE     0xf000

/* COM1 (devices/serial.c), described in the DSDT so that a hardware-reduced
 * guest (no legacy PIC, so no implicit ISA IRQs) routes its interrupt. */
#define LAYOUT_COM1_PORT 0x3f8
#define LAYOUT_COM1_IRQ	 4
/* The CMOS RTC (devices/rtc.c), likewise in the DSDT. */
#define LAYOUT_RTC_PORT 0x70
#define LAYOUT_RTC_IRQ	8

/* PCI INTx: a function's pin (1..4, INTA..INTD) in slot s reaches IOAPIC
 * pin LAYOUT_PCI_INTX_GSI_BASE + (s + pin - 1) % LAYOUT_PCI_INTX_GSIS,
 * level-triggered: the swizzle the DSDT's _PRT (vmm/x86/acpi.c) states and
 * devices/pci.c follows. These GSIs are PCI's alone. */
#define LAYOUT_PCI_INTX_GSI_BASE 16
#define LAYOUT_PCI_INTX_GSIS	 8
static inline unsigned int layout_pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return LAYOUT_PCI_INTX_GSI_BASE + (slot + pin - 1) % LAYOUT_PCI_INTX_GSIS;
}

/* GSI of the ACPI GED (power button) interrupt: edge, active high. */
#define LAYOUT_GED_IRQ 5

/* The ACPI GED's registers at LAYOUT_GED_START: the guest-visible contract
 * between the DSDT (vmm/x86/acpi.c) and the device (devices/acpi_ged.c). */
#define ACPI_GED_REG_EVENT	  0x0
#define ACPI_GED_REG_EJECT	  0x4
#define ACPI_GED_REG_PCIU	  0x8 /* slots whose device came (bits), read-and-clear */
#define ACPI_GED_REG_PCID	  0xC /* slots whose device is to go, read-and-clear */
#define ACPI_GED_REGS_LEN	  0x10
#define ACPI_GED_EVT_PCI_HOTPLUG  (1u << 2) /* cloud-hypervisor's bits */
#define ACPI_GED_EVT_POWER_BUTTON (1u << 3)

/* Where guest RAM of ram_size bytes ends: below the hole, then from 4 GiB. */
static inline uint64_t layout_ram_end(uint64_t ram_size)
{
	return ram_size <= LAYOUT_MEM_HOLE_START
		       ? ram_size
		       : LAYOUT_MEM_HOLE_END + (ram_size - LAYOUT_MEM_HOLE_START);
}

/* Start of the 64-bit PCI window: past RAM and 4 GiB, 1 GiB aligned. */
static inline uint64_t layout_mmio64_start(uint64_t ram_size)
{
	uint64_t end = layout_ram_end(ram_size);

	if (end < LAYOUT_MEM_HOLE_END)
		end = LAYOUT_MEM_HOLE_END;
	return (end + LAYOUT_PCI_MMIO64_ALIGN - 1) & ~(LAYOUT_PCI_MMIO64_ALIGN - 1);
}

#endif
