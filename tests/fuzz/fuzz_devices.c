// SPDX-License-Identifier: Apache-2.0
/*
 * The platform devices' registers as a guest pokes them: the 16550 at COM1
 * (with host input arriving through its chardev), the CMOS RTC, the i8042,
 * the PM port, the boot timer port and the ACPI GED's MMIO registers.
 * Ops: u8 code (low 2 bits: the op, the rest: flags), then
 *   0 port I/O at base (flags % 6: COM1, RTC, i8042 data, i8042 command,
 *     PM, boot timer) + u8 offset, u8 size/dir (bits 0-1: 1/2/4/8 bytes,
 *     bit 2: write), u32 value
 *   1 GED MMIO at u8 offset, u8 size/dir, u32 value
 *   2 host input for the serial: u8 length, the bytes (then waits until
 *     the input thread took them or the receive FIFO is full)
 *   3 the host presses the power button
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/chardev.h"
#include "devices/i8042.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/kvm/bus.h"

#define MAX_OPS 512

static int events;

static void set_irq(void *opaque, uint32_t irq, int level)
{
	(void)opaque;
	(void)irq;
	(void)level;
}

static void raise_irq(void *opaque, uint32_t irq)
{
	(void)opaque;
	(void)irq;
	events++;
}

static void on_eject(void *opaque, uint32_t slot)
{
	(void)opaque;
	(void)slot; /* the guest's value, as is: the consumer checks it */
	events++;
}

static void power(void *ctx)
{
	(void)ctx;
	events++;
}

static void on_line(void *ctx, const char *line)
{
	(void)ctx;
	if (strlen(line) > 255)
		abort();
}

static const struct acpi_ged_ops ged_ops = { raise_irq, on_eject };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t bases[6] = { SERIAL_COM1_BASE,   RTC_PORT, I8042_DATA_PORT,
					   I8042_COMMAND_PORT, PM_PORT,	 BOOT_TIMER_PORT };
	struct fz z = { data, size };
	struct bus pio, mmio;
	struct chardev cd;
	struct serial s;
	struct rtc rtc;
	struct i8042 kbd = { power, NULL };
	struct pm pm = { power, power, NULL };
	struct boot_timer bt;
	struct acpi_ged ged;
	struct timespec now;
	int in[2];

	if (pipe2(in, O_CLOEXEC | O_NONBLOCK) < 0)
		abort();
	/* A chardev whose input is a pipe the target writes and whose output
	 * is dropped. */
	memset(&cd, 0, sizeof(cd));
	cd.mode = CHARDEV_NULL;
	cd.out_fd = -1;
	cd.in_fd = in[0];
	cd.listen_fd = -1;
	pthread_mutex_init(&cd.lock, NULL);

	bus_init(&pio);
	bus_init(&mmio);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (serial_init(&s, &cd, SERIAL_COM1_IRQ, set_irq, NULL) ||
	    serial_register(&s, &pio, SERIAL_COM1_BASE))
		abort();
	s.on_line = on_line;
	rtc_init(&rtc);
	boot_timer_init(&bt, &now, false);
	acpi_ged_init(&ged, LAYOUT_GED_IRQ, &ged_ops, NULL);
	if (rtc_register(&rtc, &pio) || i8042_register(&kbd, &pio) || pm_register(&pm, &pio) ||
	    boot_timer_register(&bt, &pio) || acpi_ged_register(&ged, &mmio, LAYOUT_GED_START) ||
	    serial_start(&s))
		abort();

	for (int k = 0; k < MAX_OPS && z.n; k++) {
		uint8_t code = fz_u8(&z), fl = code >> 2;
		uint64_t v = 0;
		switch (code & 3) {
		case 0: {
			uint64_t port = bases[fl % 6] + fz_u8(&z);
			uint8_t sd = fz_u8(&z);
			v = fz_u32(&z);
			bus_access(&pio, port, &v, 1u << (sd & 3), sd & 4);
			break;
		}
		case 1: {
			uint64_t addr = LAYOUT_GED_START + fz_u8(&z);
			uint8_t sd = fz_u8(&z);
			v = fz_u32(&z);
			bus_access(&mmio, addr, &v, 1u << (sd & 3), sd & 4);
			break;
		}
		case 2: {
			size_t n;
			const uint8_t *b = fz_bytes(&z, fz_u8(&z), &n);
			if (n && write(in[1], b, n) < 0)
				break;
			for (int t = 0; t < 2000; t++) {
				int left = 0;
				pthread_mutex_lock(&s.lock);
				bool full = s.rx_count == SERIAL_RX_FIFO;
				pthread_mutex_unlock(&s.lock);
				if (full || ioctl(in[0], FIONREAD, &left) < 0 || !left)
					break;
				usleep(10);
			}
			break;
		}
		case 3:
			acpi_ged_press_power_button(&ged);
			break;
		}
	}
	serial_destroy(&s);
	bus_free(&pio);
	bus_free(&mmio);
	close(in[0]);
	close(in[1]);
	pthread_mutex_destroy(&cd.lock);
	return 0;
}
