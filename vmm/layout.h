/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest-physical address map, in one place.
 *
 *   0x0000_0500  GDT, then IDT (boot.c, 64-bit bzImage entry)
 *   0x0000_6000  hvm_start_info, module list, PVH memory map
 *   0x0000_7000  boot_params ("zero page") for bzImage
 *   0x0000_8ff0  boot stack (grows down)
 *   0x0000_9000  page tables: PML4, PDPT, 4 PDs (identity map of 4 GiB)
 *   0x0002_0000  kernel command line (up to BOOT_CMDLINE_MAX bytes)
 *   0x0009_FC00  MP table (the last KiB of base memory; E820 reserved)
 *   0x000A_0000  legacy VGA/ROM hole (E820: not RAM)
 *   0x000E_0000  ACPI tables (E820 reserved, 128 KiB; the RSDP is in it,
 *                so the legacy scan of 0xE0000-0xFFFFF finds it too)
 *   0x0010_0000  kernel (bzImage protected-mode code, or PVH segments)
 *   ...          RAM up to min(size, 3 GiB); initramfs at its top
 *   0xC000_0000  32-bit PCI hole: MMIO BARs (0xC000_0000-0xDFFF_FFFF),
 *                ECAM (0xE000_0000, 256 MiB, E820 reserved),
 *                IOAPIC 0xFEC0_0000, LAPIC 0xFEE0_0000
 *   0x1_0000_0000 RAM above 4 GiB (what does not fit below the hole)
 */
#ifndef SVMM_VMM_LAYOUT_H
#define SVMM_VMM_LAYOUT_H

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

#define LAYOUT_MEM_HOLE_START 0xc0000000ULL
#define LAYOUT_MEM_HOLE_END   0x100000000ULL
#define LAYOUT_PCI_MMIO_START 0xc0000000ULL
#define LAYOUT_PCI_MMIO_SIZE  0x20000000ULL
#define LAYOUT_PCI_ECAM_START 0xe0000000ULL
#define LAYOUT_PCI_ECAM_SIZE  0x10000000ULL
#define LAYOUT_IOAPIC_START   0xfec00000ULL
#define LAYOUT_LAPIC_START    0xfee00000ULL

#endif
