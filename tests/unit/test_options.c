// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/config/options.c: cloud-hypervisor style option lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/config/options.h"

static void parses_pairs_and_brackets(void **state)
{
	(void)state;
	char s[] = "boot=2,affinity=[0@[0,2],1@[1]],readonly";
	struct opt_list l;

	assert_int_equal(opt_parse(&l, s), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(opt_get(&l, "boot"), "2");
	assert_string_equal(opt_get(&l, "affinity"), "[0@[0,2],1@[1]]");
	assert_string_equal(opt_get(&l, "readonly"), "");
	assert_null(opt_get(&l, "missing"));
	assert_int_equal(opt_check_unused(&l), 0);
}

static void rejects_bad_lists(void **state)
{
	(void)state;
	struct opt_list l;
	char a[] = "a=1,,b=2", b[] = "x=[1,2", c[] = "a=1,a=2", d[] = "=5";

	assert_int_equal(opt_parse(&l, a), -EINVAL);
	assert_int_equal(opt_parse(&l, b), -EINVAL);
	assert_non_null(strstr(l.err.msg, "unbalanced"));
	assert_int_equal(opt_parse(&l, c), -EINVAL);
	assert_non_null(strstr(l.err.msg, "'a' given twice"));
	assert_int_equal(opt_parse(&l, d), -EINVAL);
}

static void names_unknown_keys(void **state)
{
	(void)state;
	char s[] = "size=1G,sharde=on";
	struct opt_list l;
	uint64_t size = 0;

	assert_int_equal(opt_parse(&l, s), 0);
	assert_int_equal(opt_get_size(&l, "size", &size), 1);
	assert_int_equal(size, 1ULL << 30);
	assert_int_equal(opt_check_unused(&l), -EINVAL);
	assert_string_equal(l.err.msg, "unknown option 'sharde'");
}

static void typed_values(void **state)
{
	(void)state;
	char s[] = "n=0x10,flag=off,bad=12x";
	struct opt_list l;
	uint64_t n = 0;
	bool flag = true;

	assert_int_equal(opt_parse(&l, s), 0);
	assert_int_equal(opt_get_u64(&l, "n", &n), 1);
	assert_int_equal(n, 16);
	assert_int_equal(opt_get_bool(&l, "flag", &flag), 1);
	assert_false(flag);
	assert_int_equal(opt_get_u64(&l, "bad", &n), -EINVAL);
	assert_non_null(strstr(l.err.msg, "'bad=12x'"));
	assert_int_equal(opt_get_u64(&l, "absent", &n), 0);
	assert_int_equal(n, 16);
}

static void sizes(void **state)
{
	(void)state;
	uint64_t v;

	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("2k", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("1Q", &v), -EINVAL);
	assert_int_equal(parse_size("1Mx", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
}

static void bools_ignore_case(void **state)
{
	(void)state;
	bool b = false;
	assert_int_equal(parse_bool("ON", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("False", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("yes", &b), -EINVAL);
}

static void path_or_fd(void **state)
{
	(void)state;
	struct err err = { 0 };
	char *path;
	int fd;

	assert_int_equal(opt_parse_path_or_fd("--api-socket", "/run/a.sock", &path, &fd, &err), 0);
	assert_string_equal(path, "/run/a.sock");
	assert_int_equal(fd, -1);
	free(path);
	assert_int_equal(opt_parse_path_or_fd("--api-socket", "path=/b", &path, &fd, &err), 0);
	assert_string_equal(path, "/b");
	free(path);
	assert_int_equal(opt_parse_path_or_fd("--event-monitor", "fd=7", &path, &fd, &err), 0);
	assert_null(path);
	assert_int_equal(fd, 7);
	assert_int_equal(opt_parse_path_or_fd("--x", "path=/a,fd=3", &path, &fd, &err), -EINVAL);
	assert_string_equal(err.msg, "--x: expected path=PATH, fd=N or PATH");
	assert_int_equal(opt_parse_path_or_fd("--x", "fd=three", &path, &fd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a file descriptor"));
	assert_int_equal(opt_parse_path_or_fd("--x", "sock=/a", &path, &fd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option 'sock'"));
	assert_int_equal(opt_parse_path_or_fd("--x", "", &path, &fd, &err), -EINVAL);
	assert_null(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_pairs_and_brackets),
		cmocka_unit_test(rejects_bad_lists),
		cmocka_unit_test(names_unknown_keys),
		cmocka_unit_test(typed_values),
		cmocka_unit_test(sizes),
		cmocka_unit_test(bools_ignore_case),
		cmocka_unit_test(path_or_fd),
	};
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
