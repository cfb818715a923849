/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The i8042 keyboard controller, as far as a reset needs (ports 0x60 and
 * 0x64): command 0xFE (pulse the reset line) calls reset().
 *
 * The status register reads "input buffer empty" so a reset command goes
 * through at once, and "output buffer full" with only zeros behind it,
 * which Linux's probe takes for a stuck controller and gives up on at
 * once ("i8042: Can't read CTR" style probes would otherwise poll for
 * half a second); there is no keyboard.
 */
#ifndef SVMM_DEVICES_I8042_H
#define SVMM_DEVICES_I8042_H

struct bus;

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64

struct i8042 {
	void (*reset)(void *ctx);
	void *ctx;
};

int i8042_register(struct i8042 *k, struct bus *pio);

#endif
