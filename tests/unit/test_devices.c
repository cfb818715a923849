// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the platform devices: the 16550A registers as Linux's
 * 8250 driver probes them, its output, the CMOS RTC, the MP table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/chardev.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/devices.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/memory.h"
#include "vmm/x86/mptable.h"

static uint8_t in8(struct bus *b, uint64_t port)
{
	uint8_t v;
	bus_access(b, port, &v, 1, false);
	return v;
}

static void out8(struct bus *b, uint64_t port, uint8_t v)
{
	bus_access(b, port, &v, 1, true);
}

#define COM1 SERIAL_COM1_BASE

/* The serial's interrupt line (what the VMM wires to KVM_IRQ_LINE). */
static void serial_irq(void *opaque, uint32_t irq, int level)
{
	*(int *)opaque = level;
	(void)irq;
}

/* A 16550 at COM1 on a bus of its own, writing to a temporary file. */
struct serial_fx {
	char path[32];
	int fd, irq_level;
	struct chardev cd;
	struct serial s;
	struct bus b;
};

static void serial_fx_open(struct serial_fx *x)
{
	struct err err = { 0 };

	memset(x, 0, sizeof(*x));
	snprintf(x->path, sizeof(x->path), "/tmp/svmm-test-serial.XXXXXX");
	x->fd = mkstemp(x->path);
	assert_true(x->fd >= 0);
	assert_int_equal(chardev_init(&x->cd, CHARDEV_FILE, x->path, &err), 0);
	assert_int_equal(chardev_open(&x->cd, &err), 0);
	bus_init(&x->b);
	assert_int_equal(serial_init(&x->s, &x->cd, 4, serial_irq, &x->irq_level), 0);
	assert_int_equal(serial_register(&x->s, &x->b, COM1), 0);
}

/* Stops the device; the file stays readable through x->fd until done. */
static void serial_fx_stop(struct serial_fx *x)
{
	serial_destroy(&x->s);
	chardev_close(&x->cd);
	bus_free(&x->b);
}

static void serial_fx_done(struct serial_fx *x)
{
	close(x->fd);
	unlink(x->path);
}

static void serial_probe_and_output(void **state)
{
	struct serial_fx x;
	char buf[64];
	(void)state;

	serial_fx_open(&x);

	/* IER reads back what was written (4 bits) */
	out8(&x.b, COM1 + 1, 0x0f);
	assert_int_equal(in8(&x.b, COM1 + 1), 0x0f);
	assert_int_equal(x.irq_level, 1); /* THRE enabled with THR empty: raised through set_irq */
	out8(&x.b, COM1 + 1, 0);
	assert_int_equal(in8(&x.b, COM1 + 1), 0);
	assert_int_equal(x.irq_level, 0);
	/* loopback: MCR 0x1a (LOOP|OUT2|RTS) reads as MSR DCD|CTS */
	out8(&x.b, COM1 + 4, 0x1a);
	assert_int_equal(in8(&x.b, COM1 + 6) & 0xf0, 0x90);
	out8(&x.b, COM1 + 4, 0x1f);
	assert_int_equal(in8(&x.b, COM1 + 6) & 0xf0, 0xf0);
	/* loopback carries a byte from THR to RBR */
	out8(&x.b, COM1, 'x');
	assert_int_equal(in8(&x.b, COM1 + 5) & 0x01, 0x01);
	assert_int_equal(in8(&x.b, COM1), 'x');
	assert_int_equal(in8(&x.b, COM1 + 5) & 0x01, 0);
	out8(&x.b, COM1 + 4, 0x0b);
	/* FIFO enabled: IIR bits 7:6 set, as a 16550A */
	out8(&x.b, COM1 + 2, 0x07);
	assert_int_equal(in8(&x.b, COM1 + 2) & 0xc0, 0xc0);
	/* DLAB: divisor latch instead of RBR/IER */
	out8(&x.b, COM1 + 3, 0x80);
	out8(&x.b, COM1, 0x01);
	out8(&x.b, COM1 + 1, 0x00);
	assert_int_equal(in8(&x.b, COM1), 0x01);
	out8(&x.b, COM1 + 3, 0x03);
	/* scratch */
	out8(&x.b, COM1 + 7, 0xa5);
	assert_int_equal(in8(&x.b, COM1 + 7), 0xa5);
	/* THRE interrupt: pending once enabled, acknowledged by reading IIR */
	out8(&x.b, COM1 + 1, 0x02);
	assert_int_equal(in8(&x.b, COM1 + 2) & 0x0f, 0x02);
	assert_int_equal(in8(&x.b, COM1 + 2) & 0x0f, 0x01);
	/* a transmitted byte raises it again */
	out8(&x.b, COM1, 'o');
	out8(&x.b, COM1, 'k');
	out8(&x.b, COM1, '\n');
	assert_int_equal(in8(&x.b, COM1 + 2) & 0x0f, 0x02);
	/* LSR: transmitter empty */
	assert_int_equal(in8(&x.b, COM1 + 5) & 0x60, 0x60);

	serial_fx_stop(&x);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(x.fd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "ok\n");
	serial_fx_done(&x);
}

static void keep_line(void *ctx, const char *line)
{
	snprintf(ctx, 256, "%s", line);
}

/* The lines the VMM watches (and prints, on a panic) come with the guest's
 * control bytes escaped; the bytes written to the chardev are untouched. */
static void serial_lines_escaped(void **state)
{
	const char msg[] = "Kernel panic - not syncing \x1b]0;owned\x07\x7f!\r\n";
	char got[256] = "";
	struct serial_fx x;
	(void)state;

	serial_fx_open(&x);
	x.s.on_line = keep_line;
	x.s.ctx = got;
	for (const char *p = msg; *p; p++)
		out8(&x.b, COM1, (uint8_t)*p);
	assert_string_equal(got, "Kernel panic - not syncing \\x1b]0;owned\\x07\\x7f!");
	/* a long line of escapes is cut, never overrun */
	for (int i = 0; i < 300; i++)
		out8(&x.b, COM1, 0x1b);
	out8(&x.b, COM1, '\n');
	assert_true(strlen(got) <= 255 && strlen(got) % 4 == 0);
	assert_memory_equal(got, "\\x1b\\x1b", 8);
	serial_fx_stop(&x);
	char raw[128] = "";
	assert_true(read(x.fd, raw, sizeof(raw) - 1) > 0);
	assert_non_null(strstr(raw, "\x1b]0;owned\x07"));
	serial_fx_done(&x);
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static void rtc_host_time(void **state)
{
	struct rtc r;
	struct bus b;
	struct tm tm;
	time_t now;
	(void)state;

	bus_init(&b);
	rtc_init(&r);
	assert_int_equal(rtc_register(&r, &b), 0);
	out8(&b, 0x70, 0x0a);
	assert_int_equal(in8(&b, 0x71) & 0x80, 0); /* UIP clear */
	out8(&b, 0x70, 0x0d);
	assert_int_equal(in8(&b, 0x71), 0x80); /* battery fine */

	now = time(NULL);
	gmtime_r(&now, &tm);
	out8(&b, 0x70, 0x09);
	assert_int_equal(bcd(in8(&b, 0x71)), tm.tm_year % 100);
	out8(&b, 0x70, 0x32);
	assert_int_equal(bcd(in8(&b, 0x71)), (tm.tm_year + 1900) / 100);
	out8(&b, 0x70, 0x08);
	assert_int_equal(bcd(in8(&b, 0x71)), tm.tm_mon + 1);
	out8(&b, 0x70, 0x07);
	assert_int_equal(bcd(in8(&b, 0x71)), tm.tm_mday);

	/* binary mode, selected by register B */
	out8(&b, 0x70, 0x0b);
	out8(&b, 0x71, 0x06);
	out8(&b, 0x70, 0x08);
	assert_int_equal(in8(&b, 0x71), tm.tm_mon + 1);
	/* NVRAM bytes are storage; bit 7 of the index (NMI) is ignored */
	out8(&b, 0x70, 0x80 | 0x40);
	out8(&b, 0x71, 0x77);
	out8(&b, 0x70, 0x40);
	assert_int_equal(in8(&b, 0x71), 0x77);
	bus_free(&b);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void mptable_valid(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_alloc(&m, 64 << 20, false, false), 0);
	assert_int_equal(mptable_write(&m, 4), 0);
	uint8_t *mpf = guest_mem_ptr(&m, LAYOUT_MPTABLE_START, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum(mpf, 16), 0);
	uint32_t phys;
	memcpy(&phys, mpf + 4, 4);
	uint8_t *mpc = guest_mem_ptr(&m, phys, 44);
	assert_non_null(mpc);
	assert_memory_equal(mpc, "PCMP", 4);
	uint16_t len;
	memcpy(&len, mpc + 4, 2);
	assert_int_equal(sum(mpc, len), 0);
	/* four processor entries first, the BSP flagged */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(mpc[44 + i * 20], 0);
		assert_int_equal(mpc[44 + i * 20 + 1], i);
		assert_int_equal(mpc[44 + i * 20 + 3], i == 0 ? 3 : 1);
	}
	assert_int_equal(mptable_write(&m, 200), -E2BIG);
	guest_mem_free(&m);
}

/* The serial port's back end from the config's serial (no re-parsing). */
static void serial_from_config(void **state)
{
	struct err err = { 0 };
	char longp[200];
	struct chardev cd;
	(void)state;

	struct console_config k = { .mode = CONSOLE_FILE, .file = "/tmp/x.log" };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), 0);
	assert_int_equal(cd.mode, CHARDEV_FILE);
	assert_string_equal(cd.path, "/tmp/x.log");
	k = (struct console_config){ .mode = CONSOLE_SOCKET, .socket = "/tmp/s" };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), 0);
	assert_int_equal(cd.mode, CHARDEV_SOCKET);
	assert_string_equal(cd.path, "/tmp/s");
	k = (struct console_config){ .mode = CONSOLE_NULL, .file = "/ignored" };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), 0);
	assert_int_equal(cd.mode, CHARDEV_NULL);
	assert_int_equal(cd.out_fd, -1);
	k = (struct console_config){ .mode = CONSOLE_PTY };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), 0);
	assert_int_equal(cd.mode, CHARDEV_PTY);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	k = (struct console_config){ .mode = CONSOLE_SOCKET, .socket = longp };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "socket="));
	k = (struct console_config){ .mode = CONSOLE_FILE };
	assert_int_equal(vm_serial_opts(&k, &cd, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serial_probe_and_output), cmocka_unit_test(serial_from_config),
		cmocka_unit_test(serial_lines_escaped),	   cmocka_unit_test(rtc_host_time),
		cmocka_unit_test(mptable_valid),
	};
	return cmocka_run_group_tests_name("devices", tests, NULL, NULL);
}
