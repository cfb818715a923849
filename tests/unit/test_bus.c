// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/kvm/bus.c: range registration and dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/kvm/bus.h"

struct dev {
	uint64_t last_off;
	uint32_t last_val;
	unsigned int reads, writes;
};

static void dev_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct dev *d = opaque;
	d->reads++;
	d->last_off = off;
	memset(data, 0xab, size);
}

static void dev_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct dev *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_val = 0;
	memcpy(&d->last_val, data, size < 4 ? size : 4);
}

static const struct bus_ops ops = { dev_read, dev_write };

static void dispatch_by_range(void **state)
{
	(void)state;
	struct bus b;
	struct dev uart = { 0 }, rtc = { 0 };
	uint32_t v = 0;

	bus_init(&b);
	assert_int_equal(bus_register(&b, 0x3f8, 8, &ops, &uart, "uart"), 0);
	assert_int_equal(bus_register(&b, 0x70, 2, &ops, &rtc, "rtc"), 0);
	assert_true(bus_access(&b, 0x3fd, &v, 1, false));
	assert_int_equal(uart.last_off, 5);
	assert_int_equal(v & 0xff, 0xab);
	v = 0x42;
	assert_true(bus_access(&b, 0x71, &v, 1, true));
	assert_int_equal(rtc.last_off, 1);
	assert_int_equal(rtc.last_val, 0x42);
	assert_int_equal(uart.writes, 0);
	bus_free(&b);
}

static void unhandled_reads_all_ones(void **state)
{
	(void)state;
	struct bus b;
	struct dev d = { 0 };
	uint32_t v = 0;

	bus_init(&b);
	assert_int_equal(bus_register(&b, 0x1000, 0x10, &ops, &d, "d"), 0);
	assert_false(bus_access(&b, 0xfff, &v, 4, false));
	assert_int_equal(v, 0xffffffff);
	/* straddles the end of the range: not the device's */
	v = 0;
	assert_false(bus_access(&b, 0x100e, &v, 4, false));
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(d.reads, 0);
	assert_false(bus_access(&b, 0x1010, &v, 1, true));
	assert_int_equal(d.writes, 0);
	bus_free(&b);
}

static void overlaps_refused(void **state)
{
	(void)state;
	struct bus b;
	struct dev d = { 0 };

	bus_init(&b);
	assert_int_equal(bus_register(&b, 0x100, 0x100, &ops, &d, "a"), 0);
	assert_int_equal(bus_register(&b, 0x1ff, 1, &ops, &d, "b"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x0, 0x101, &ops, &d, "c"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x200, 1, &ops, &d, "d"), 0);
	assert_int_equal(bus_register(&b, 0, 0, &ops, &d, "empty"), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 2, &ops, &d, "wraps"), -EINVAL);
	assert_int_equal(bus_unregister(&b, 0x100), 0);
	assert_null(bus_find(&b, 0x150));
	assert_non_null(bus_find(&b, 0x200));
	assert_int_equal(bus_unregister(&b, 0x150), -ENOENT);
	bus_free(&b);
}

static void many_ranges_sorted(void **state)
{
	(void)state;
	struct bus b;
	struct dev d[64];

	bus_init(&b);
	memset(d, 0, sizeof(d));
	for (int i = 63; i >= 0; i--)
		assert_int_equal(bus_register(&b, (uint64_t)i * 0x1000, 0x800, &ops, &d[i], "x"),
				 0);
	for (int i = 0; i < 64; i++) {
		const struct bus_range *r = bus_find(&b, (uint64_t)i * 0x1000 + 0x7ff);
		assert_non_null(r);
		assert_ptr_equal(r->opaque, &d[i]);
		assert_null(bus_find(&b, (uint64_t)i * 0x1000 + 0x800));
	}
	bus_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatch_by_range),
		cmocka_unit_test(unhandled_reads_all_ones),
		cmocka_unit_test(overlaps_refused),
		cmocka_unit_test(many_ranges_sorted),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
