/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for a hardware-reduced x86-64 microVM, laid out like
 * cloud-hypervisor's: RSDP (v2) -> XSDT -> FADT (-> DSDT), MADT, MCFG.
 *
 * The DSDT holds _S5, the PCI host bridge \_SB_.PC00 (PNP0A08/PNP0A03,
 * _CRS, _OSC) with one slot object Snnn per slot (_ADR, _SUN, _EJ0: what
 * Linux acpiphp needs to create /sys/bus/pci/slots/N), a PNP0C02 device
 * reserving the ECAM range, the GED (ACPI0013) whose _EVT notifies the
 * power button \_SB_.PWRB (PNP0C0C). Register offsets and event bits are
 * those of vmm/kvm/layout.h (ACPI_GED_*), which devices/acpi_ged.c implements.
 */
#ifndef SVMM_VMM_X86_ACPI_H
#define SVMM_VMM_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS  1024
#define ACPI_MAX_SLOTS 32

struct acpi_platform {
	unsigned int ncpus;	  /* 1..ACPI_MAX_CPUS */
	const uint32_t *apic_ids; /* ncpus APIC IDs; NULL means 0..ncpus-1 */
	uint64_t lapic_base, ioapic_base;
	uint64_t ecam_base; /* ECAM of bus 0; covers buses bus_start..bus_end */
	uint8_t bus_start, bus_end;
	uint32_t pci_io_base, pci_io_size; /* PCI I/O window (within 64 KiB) */
	uint64_t mmio32_base, mmio32_size; /* below 4 GiB */
	uint64_t mmio64_base, mmio64_size; /* size 0: none */
	unsigned int nslots;		   /* slot objects S000.. on bus 0, at most 32 */
	uint64_t ged_base;		   /* GED registers (MMIO, devices/acpi_ged.h) */
	uint32_t ged_irq;		   /* GSI */
	/* FADT sleep control/status and reset registers (byte-wide I/O
	 * ports; they may be one port that decodes the value written). */
	uint16_t sleep_ctl_port, sleep_sts_port, reset_port;
	uint8_t reset_value;
	/* A 16550 (\_SB_.COM1, PNP0501) at com1_port/com1_irq; com1_port 0
	 * leaves it out. A hardware-reduced guest has no legacy PIC and so
	 * no implicit ISA IRQs: without it ttyS0 gets no interrupts. */
	uint16_t com1_port;
	uint32_t com1_irq;
	/* The CMOS RTC (\_SB_.RTC_, PNP0B00) at rtc_port (2 ports)/rtc_irq,
	 * for the same reason (rtc-cmos wants its IRQ); rtc_port 0: none. */
	uint16_t rtc_port;
	uint32_t rtc_irq;
};

/* _S5's SLP_TYP: S5 is a write of SLP_TYP << 2 | SLP_EN (0x20) = 0x34. */
#define ACPI_S5_SLP_TYP 5
/* devices/pm.c's PM_RESET_VALUE: what acpi_platform_default() puts in the
 * FADT for the port at LAYOUT_PM_PORT. */
#define ACPI_DEFAULT_RESET_VALUE 0xFE

/* Fill p from vmm/kvm/layout.h for ncpus vCPUs with APIC IDs 0..n-1 and
 * ram_size bytes of RAM (which places the 64-bit window): bus 0, 32 slots,
 * COM1 and the RTC at LAYOUT_COM1_* and LAYOUT_RTC_*, GED at LAYOUT_GED_START/LAYOUT_GED_IRQ,
 * sleep and reset registers all
 * on LAYOUT_PM_PORT with reset value 0xFE (devices/pm.c). */
void acpi_platform_default(struct acpi_platform *p, unsigned int ncpus, uint64_t ram_size);

/*
 * Write the tables into mem, which the guest sees at guest-physical gpa
 * (size bytes; LAYOUT_ACPI_START/SIZE is the place). The RSDP comes first,
 * at gpa itself, 16-byte aligned as a BIOS-area scan wants. Returns the
 * number of bytes used and sets *rsdp_gpa; -EINVAL for a bad platform
 * description (with a message on stderr naming the field), -ENOSPC when
 * size is too small, -ENOMEM.
 */
int acpi_build(const struct acpi_platform *p, void *mem, size_t size, uint64_t gpa,
	       uint64_t *rsdp_gpa);

/*
 * Follow the pointers from the RSDP at rsdp_gpa to the table with the
 * given signature ("RSD PTR " is the RSDP itself: pass "RSDP"; "FACP",
 * "APIC", "MCFG", "XSDT", "DSDT"), checking that every pointer lands inside
 * mem and every length and checksum is right on the way. Returns its
 * offset in mem and sets *len, or -ENOENT (not there) / -EINVAL (a broken
 * pointer, length or checksum).
 */
long acpi_table_find(const void *mem, size_t size, uint64_t gpa, uint64_t rsdp_gpa, const char *sig,
		     size_t *len);

#endif
