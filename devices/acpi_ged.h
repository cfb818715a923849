/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ACPI Generic Event Device of hardware-reduced ACPI: how the VMM
 * tells the guest "the power button was pressed" (and hears a PCI slot's
 * eject request). The DSDT's \_SB_.GED_ (vmm/x86/acpi.c) maps these registers
 * (MMIO, 8 bytes at LAYOUT_GED_START; the offsets are in vmm/kvm/layout.h):
 *   +0 EVENT  (32-bit read) pending event bits; a read returns and clears
 *             them. _EVT reads it when the GED interrupt fires, and for
 *             ACPI_GED_EVT_POWER_BUTTON notifies \_SB_.PWRB (PNP0C0C): the
 *             guest then shuts down, ending with an S5 write to the sleep
 *             control register (devices/pm.c).
 *   +4 EJECT  (32-bit write) a slot number, written by a slot's _EJ0.
 *   +8 PCIU   (32-bit read) bit s: slot s has a new device (hot-add);
 *             read and cleared by \_SB_.PC00.PCNT, which notifies the
 *             slot's object (device check: the guest scans the slot)
 *   +C PCID   (32-bit read) bit s: slot s's device is to be removed;
 *             PCNT notifies an eject request, the guest releases the
 *             device and calls the slot's _EJ0 (EJECT above)
 *   ACPI_GED_EVT_PCI_HOTPLUG in EVENT makes _EVT run PCNT.
 * Other offsets and sizes read as 0 and ignore writes.
 *
 * acpi_ged_press_power_button() and acpi_ged_pci_changed() may be called
 * from any thread.
 */
#ifndef SVMM_DEVICES_ACPI_GED_H
#define SVMM_DEVICES_ACPI_GED_H

#include <stdint.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/snapshot.h"
#include "vmm/kvm/layout.h" /* ACPI_GED_REG_*, ACPI_GED_EVT_* */

struct acpi_ged_ops {
	/* Pulse (edge, active high) GSI irq, e.g. KVM_IRQ_LINE 1 then 0.
	 * Required. */
	void (*raise_irq)(void *opaque, uint32_t irq);
	/* A slot's _EJ0 ran (hot-unplug request). Optional. */
	void (*on_eject)(void *opaque, uint32_t slot);
};

struct acpi_ged {
	const struct acpi_ged_ops *ops;
	void *opaque;
	uint32_t irq;
	uint32_t pending;    /* event bits, accessed atomically */
	uint32_t pciu, pcid; /* slot bits, accessed atomically */
};

void acpi_ged_init(struct acpi_ged *g, uint32_t irq, const struct acpi_ged_ops *ops, void *opaque);
/* Register the registers on mmio at base; negative errno from bus_register. */
int acpi_ged_register(struct acpi_ged *g, struct bus *mmio, uint64_t base);
void acpi_ged_press_power_button(struct acpi_ged *g);
/* Tell the guest: the slots in up have a new device, those in down are to
 * be ejected (bit s: slot s); one interrupt. */
void acpi_ged_pci_changed(struct acpi_ged *g, uint32_t up, uint32_t down);
/* Snapshot: the pending event bits ("ged"). */
extern const struct snap_ops acpi_ged_snap_ops;

#endif
