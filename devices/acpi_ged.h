/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ACPI platform event device (hardware-reduced ACPI) and the sleep and
 * reset registers the FADT points at.
 *
 * GED (MMIO, 8 bytes at LAYOUT_GED_BASE, the DSDT's GED_ device):
 *   +0 EVENT  (32-bit read) pending event bits; a read returns and clears
 *             them. The DSDT's _EVT reads it when the GED IRQ fires.
 *   +4 EJECT  (32-bit write) a slot number, written by a PCI slot's _EJ0.
 * PM (port I/O, 3 bytes at LAYOUT_PM_PORT):
 *   +0 sleep control (write): SLP_TYP << 2 | SLP_EN; S5 powers off.
 *   +1 sleep status (read 0; writes ignored).
 *   +2 reset (write ACPI_PM_RESET_VALUE) resets.
 *
 * acpi_ged_press_power_button() sets the power-button event bit and raises
 * the GED interrupt; the guest's _EVT then notifies the PNP0C0C device and
 * the guest shuts down, ending with an S5 write (on_poweroff). It may be
 * called from any thread; the callbacks run on the thread of the access.
 */
#ifndef SVMM_DEVICES_ACPI_GED_H
#define SVMM_DEVICES_ACPI_GED_H

#include <stdint.h>

#include "vmm/bus.h"

#define ACPI_GED_REG_EVENT	  0x0
#define ACPI_GED_REG_EJECT	  0x4
#define ACPI_GED_REGS_LEN	  0x8
#define ACPI_GED_EVT_POWER_BUTTON (1u << 3) /* cloud-hypervisor's bit */

#define ACPI_PM_REG_SLEEP_CTL 0
#define ACPI_PM_REG_SLEEP_STS 1
#define ACPI_PM_REG_RESET     2
#define ACPI_PM_REGS_LEN      3
#define ACPI_PM_RESET_VALUE   0x01
#define ACPI_PM_SLP_EN	      0x20
#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK  0x1C
#define ACPI_S5_SLP_TYP	      5

struct acpi_ged_ops {
	/* Pulse (edge) the GED interrupt, GSI irq. Required. */
	void (*raise_irq)(void *opaque, uint32_t irq);
	/* The guest entered S5 / asked for a reset. Optional. */
	void (*on_poweroff)(void *opaque);
	void (*on_reset)(void *opaque);
	/* A slot's _EJ0 ran (hot-unplug request). Optional. */
	void (*on_eject)(void *opaque, uint32_t slot);
};

struct acpi_ged {
	const struct acpi_ged_ops *ops;
	void *opaque;
	uint32_t irq;
	uint32_t pending; /* event bits, accessed atomically */
};

void acpi_ged_init(struct acpi_ged *g, uint32_t irq, const struct acpi_ged_ops *ops, void *opaque);
/* Registers the GED block on mmio at ged_base and the PM block on pio at
 * pm_port. Negative errno from bus_register (the first range is removed
 * again if the second fails). */
int acpi_ged_register(struct acpi_ged *g, struct bus *mmio, uint64_t ged_base, struct bus *pio,
		      uint16_t pm_port);
void acpi_ged_press_power_button(struct acpi_ged *g);

#endif
