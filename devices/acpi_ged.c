// SPDX-License-Identifier: Apache-2.0
/* ACPI GED event register and the sleep/reset registers. */
#include "devices/acpi_ged.h"

#include <string.h>

void acpi_ged_init(struct acpi_ged *g, uint32_t irq, const struct acpi_ged_ops *ops, void *opaque)
{
	memset(g, 0, sizeof(*g));
	g->ops = ops;
	g->opaque = opaque;
	g->irq = irq;
}

static void ged_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct acpi_ged *g = opaque;
	uint32_t v = 0;

	memset(data, 0, size);
	if (off == ACPI_GED_REG_EVENT && size == 4) {
		v = __atomic_exchange_n(&g->pending, 0, __ATOMIC_ACQ_REL);
		memcpy(data, &v, 4);
	}
}

static void ged_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct acpi_ged *g = opaque;
	uint32_t v;

	if (off != ACPI_GED_REG_EJECT || size != 4)
		return;
	memcpy(&v, data, 4);
	if (g->ops->on_eject)
		g->ops->on_eject(g->opaque, v);
}

static const struct bus_ops ged_ops = { ged_read, ged_write };

static void pm_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size);
}

static void pm_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct acpi_ged *g = opaque;
	uint8_t v;

	if (size != 1)
		return;
	memcpy(&v, data, 1);
	if (off == ACPI_PM_REG_SLEEP_CTL) {
		unsigned int typ = (v & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;
		if ((v & ACPI_PM_SLP_EN) && typ == ACPI_S5_SLP_TYP && g->ops->on_poweroff)
			g->ops->on_poweroff(g->opaque);
	} else if (off == ACPI_PM_REG_RESET) {
		if (v == ACPI_PM_RESET_VALUE && g->ops->on_reset)
			g->ops->on_reset(g->opaque);
	}
}

static const struct bus_ops pm_ops = { pm_read, pm_write };

int acpi_ged_register(struct acpi_ged *g, struct bus *mmio, uint64_t ged_base, struct bus *pio,
		      uint16_t pm_port)
{
	int err = bus_register(mmio, ged_base, ACPI_GED_REGS_LEN, &ged_ops, g, "acpi-ged");
	if (err)
		return err;
	err = bus_register(pio, pm_port, ACPI_PM_REGS_LEN, &pm_ops, g, "acpi-pm");
	if (err)
		bus_unregister(mmio, ged_base);
	return err;
}

void acpi_ged_press_power_button(struct acpi_ged *g)
{
	__atomic_fetch_or(&g->pending, ACPI_GED_EVT_POWER_BUTTON, __ATOMIC_ACQ_REL);
	g->ops->raise_irq(g->opaque, g->irq);
}
