// SPDX-License-Identifier: Apache-2.0
/* i8042: status register and the reset command. */
#include "devices/i8042.h"

#include <string.h>

#include "vmm/kvm/bus.h"

#define STATUS_OBF	0x01
#define STATUS_SYS	0x04
#define CMD_RESET_PULSE 0xfe

static void data_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size);
}

static void data_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)size;
}

static void status_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	memset(data, STATUS_OBF | STATUS_SYS, size);
}

static void command_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct i8042 *k = opaque;

	(void)off;
	if (size == 1 && *(const uint8_t *)data == CMD_RESET_PULSE && k->reset)
		k->reset(k->ctx);
}

static const struct bus_ops i8042_ops = { .read = data_read, .write = data_write };
static const struct bus_ops i8042_cmd_ops = { .read = status_read, .write = command_write };

int i8042_register(struct i8042 *k, struct bus *pio)
{
	/* Port 0x61 in between is the PIT's speaker port, kept in KVM. */
	int ret = bus_register(pio, I8042_DATA_PORT, 1, &i8042_ops, k, "i8042-data");

	return ret ? ret : bus_register(pio, I8042_COMMAND_PORT, 1, &i8042_cmd_ops, k, "i8042");
}
