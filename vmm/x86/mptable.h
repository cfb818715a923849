/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An Intel MultiProcessor Specification 1.4 table at LAYOUT_MPTABLE_START
 * (the last KiB of base memory, where Linux looks): one processor entry
 * per vCPU (APIC ID = vCPU index), the ISA bus, the IOAPIC and its ISA
 * interrupts. It lets a guest without ACPI bring up every vCPU; with an
 * ACPI MADT present Linux uses the MADT and ignores this table.
 */
#ifndef SVMM_VMM_X86_MPTABLE_H
#define SVMM_VMM_X86_MPTABLE_H

struct guest_mem;

/* -E2BIG when ncpus entries do not fit in the KiB. */
int mptable_write(struct guest_mem *m, unsigned int ncpus);

#endif
