// SPDX-License-Identifier: Apache-2.0
/* ACPI sleep control / reset port. */
#include "devices/pm.h"

#include <stdint.h>
#include <string.h>

#include "vmm/kvm/bus.h"

static void pm_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size);
	*(uint8_t *)data = 0x80;
}

static void pm_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct pm *p = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)off;
	(void)size;
	if ((v & 0x3c) == PM_S5_VALUE && p->power_off)
		p->power_off(p->ctx);
	else if (v == PM_RESET_VALUE && p->reset)
		p->reset(p->ctx);
}

static const struct bus_ops pm_ops = { .read = pm_read, .write = pm_write };

int pm_register(struct pm *p, struct bus *pio)
{
	return bus_register(pio, PM_PORT, 1, &pm_ops, p, "acpi-pm");
}
