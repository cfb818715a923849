// SPDX-License-Identifier: Apache-2.0
/* The error carrier (guest-agent/err.h) and the log (vmm/kvm/log.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guest-agent/err.h"
#include "vmm/kvm/log.h"

static void set_records_and_returns(void **state)
{
	struct err e = { 0 };
	(void)state;
	assert_int_equal(err_set(&e, EINVAL, "--cpus: boot=%u above max=%u", 4u, 2u), -EINVAL);
	assert_int_equal(e.code, EINVAL);
	assert_string_equal(e.msg, "--cpus: boot=4 above max=2");
	/* negative codes are normalised; 0 counts as EIO */
	assert_int_equal(err_set(&e, -ENOENT, "x"), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_int_equal(err_set(&e, 0, "y"), -EIO);
	assert_int_equal(e.code, EIO);
}

static void null_carrier_only_returns(void **state)
{
	(void)state;
	assert_int_equal(err_set(NULL, EPERM, "ignored %d", 1), -EPERM);
	assert_int_equal(err_set(NULL, -EPERM, "ignored"), -EPERM);
	assert_int_equal(err_sys(NULL, ENOENT, "ignored"), -ENOENT);
	assert_int_equal(err_wrap(NULL, "ctx"), -EIO);
}

static void wrap_prefixes_context(void **state)
{
	struct err e = { 0 };
	(void)state;
	err_set(&e, ENOENT, "no such interface");
	assert_int_equal(err_wrap(&e, "--link %s", "tap0"), -ENOENT);
	assert_string_equal(e.msg, "--link tap0: no such interface");
	assert_int_equal(err_wrap(&e, "svmm net up"), -ENOENT);
	assert_string_equal(e.msg, "svmm net up: --link tap0: no such interface");
	/* nothing recorded: the context alone, and EIO */
	struct err f = { 0 };
	assert_int_equal(err_wrap(&f, "reading %s", "a"), -EIO);
	assert_int_equal(f.code, EIO);
	assert_string_equal(f.msg, "reading a");
}

static void sys_appends_strerror(void **state)
{
	struct err e = { 0 };
	char want[128];
	(void)state;
	assert_int_equal(err_sys(&e, -ENOENT, "disk '%s'", "a.img"), -ENOENT);
	snprintf(want, sizeof(want), "disk 'a.img': %s", strerror(ENOENT));
	assert_string_equal(e.msg, want);
}

static void long_messages_are_cut(void **state)
{
	struct err e = { 0 };
	char big[2000];
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, E2BIG, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	err_wrap(&e, "ctx");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "ctx: xxx", 8);
	err_wrap(&e, "%s", big); /* a context longer than the buffer */
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	err_sys(&e, ENOENT, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_int_equal(e.code, ENOENT);
}

/* A sink that keeps the last line. */
static char last[1024], last_subsys[32];
static int lines, last_level;

static void keep(void *ctx, enum log_level level, const char *subsys, const char *line)
{
	(void)ctx;
	lines++;
	last_level = level;
	snprintf(last, sizeof(last), "%s", line);
	snprintf(last_subsys, sizeof(last_subsys), "%s", subsys);
}

static void log_without_sink_is_silent(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	lines = 0;
	assert_false(log_on(LV_ERROR));
	log_msg(LV_ERROR, "vm", "nobody hears this");
	assert_int_equal(lines, 0);
}

static void log_filters_by_level(void **state)
{
	(void)state;
	lines = 0;
	log_set_sink(keep, NULL);
	log_set_level(LV_NOTE);
	log_msg(LV_WARN, "virtio-blk", "warning: disk '%s'", "a");
	assert_int_equal(lines, 1);
	assert_int_equal(last_level, LV_WARN);
	assert_string_equal(last, "warning: disk 'a'");
	assert_string_equal(last_subsys, "virtio-blk");
	log_msg(LV_INFO, "vm", "-v only");
	assert_int_equal(lines, 1);
	assert_false(log_on(LV_DEBUG));
	log_set_level(LV_DEBUG);
	assert_true(log_on(LV_DEBUG));
	log_msg(LV_DEBUG, "vm", "cpuid %d", 7);
	assert_int_equal(lines, 2);
	assert_string_equal(last, "cpuid 7");
	log_set_level(LV_ERROR);
	log_msg(LV_NOTE, "run", "progress");
	assert_int_equal(lines, 2);
	log_set_sink(NULL, NULL);
	log_set_level(LV_NOTE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_records_and_returns),
		cmocka_unit_test(null_carrier_only_returns),
		cmocka_unit_test(wrap_prefixes_context),
		cmocka_unit_test(sys_appends_strerror),
		cmocka_unit_test(long_messages_are_cut),
		cmocka_unit_test(log_without_sink_is_silent),
		cmocka_unit_test(log_filters_by_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
