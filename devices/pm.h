/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The power-management port a hardware-reduced ACPI FADT points at
 * (one byte at PM_PORT, I/O space):
 *   SLEEP_CONTROL_REG: a write of SLP_EN | SLP_TYP=5, (5 << 2) | (1 << 5),
 *                      enters S5: power-off
 *   SLEEP_STATUS_REG:  reads 0x80 (WAK_STS) so a resume check passes
 *   RESET_REG:         a write of PM_RESET_VALUE resets the machine
 */
#ifndef SVMM_DEVICES_PM_H
#define SVMM_DEVICES_PM_H

struct bus;

#define PM_PORT	       0x600
#define PM_RESET_VALUE 0xfe
#define PM_S5_VALUE    ((5 << 2) | (1 << 5))

struct pm {
	void (*power_off)(void *ctx);
	void (*reset)(void *ctx);
	void *ctx;
};

int pm_register(struct pm *p, struct bus *pio);

#endif
