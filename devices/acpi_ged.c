// SPDX-License-Identifier: Apache-2.0
/* ACPI Generic Event Device registers. */
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
	uint32_t v;

	memset(data, 0, size);
	if (size != 4)
		return;
	if (off == ACPI_GED_REG_EVENT)
		v = __atomic_exchange_n(&g->pending, 0, __ATOMIC_ACQ_REL);
	else if (off == ACPI_GED_REG_PCIU)
		v = __atomic_exchange_n(&g->pciu, 0, __ATOMIC_ACQ_REL);
	else if (off == ACPI_GED_REG_PCID)
		v = __atomic_exchange_n(&g->pcid, 0, __ATOMIC_ACQ_REL);
	else
		return;
	memcpy(data, &v, 4);
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

int acpi_ged_register(struct acpi_ged *g, struct bus *mmio, uint64_t base)
{
	return bus_register(mmio, base, ACPI_GED_REGS_LEN, &ged_ops, g, "acpi-ged");
}

void acpi_ged_pci_changed(struct acpi_ged *g, uint32_t up, uint32_t down)
{
	__atomic_fetch_or(&g->pciu, up, __ATOMIC_ACQ_REL);
	__atomic_fetch_or(&g->pcid, down, __ATOMIC_ACQ_REL);
	__atomic_fetch_or(&g->pending, ACPI_GED_EVT_PCI_HOTPLUG, __ATOMIC_ACQ_REL);
	g->ops->raise_irq(g->opaque, g->irq);
}

void acpi_ged_press_power_button(struct acpi_ged *g)
{
	__atomic_fetch_or(&g->pending, ACPI_GED_EVT_POWER_BUTTON, __ATOMIC_ACQ_REL);
	g->ops->raise_irq(g->opaque, g->irq);
}

static int ged_save(void *opaque, struct snap_w *w, struct err *err)
{
	struct acpi_ged *g = opaque;
	uint32_t p = __atomic_load_n(&g->pending, __ATOMIC_SEQ_CST);

	(void)err;
	return snap_put(w, &p, sizeof(p), "ged");
}

static int ged_restore(void *opaque, const struct snap_r *r, struct err *err)
{
	struct acpi_ged *g = opaque;
	uint32_t p;
	int rc = snap_get_exact(r, &p, sizeof(p), err, "ged");

	if (!rc)
		__atomic_store_n(&g->pending, p, __ATOMIC_SEQ_CST);
	return rc;
}

const struct snap_ops acpi_ged_snap_ops = { "ged", ged_save, ged_restore };
