// SPDX-License-Identifier: Apache-2.0
/* Unit tests for guest-agent/common.c, which the agent and libsvmm.a share. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest-agent/common.h"

static bool is_dir(const char *path, mode_t *mode)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	*mode = st.st_mode & 07777;
	return true;
}

static void mkdir_p_paths(void **state)
{
	char d[] = "/tmp/svmm-common-XXXXXX", p[PATH_MAX + 16], cmd[64];
	mode_t old = umask(022), mode;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(d));
	/* Parents made, each with the mode; a trailing slash and "//" are fine. */
	snprintf(p, sizeof(p), "%s/a//b/c/", d);
	assert_int_equal(mkdir_p(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a", d);
	assert_true(is_dir(p, &mode));
	assert_int_equal(mode, 0700);
	snprintf(p, sizeof(p), "%s/a/b/c", d);
	assert_true(is_dir(p, &mode));
	/* What exists is not an error, and keeps its mode. */
	assert_int_equal(mkdir_p(p, 0755), 0);
	assert_true(is_dir(p, &mode));
	assert_int_equal(mode, 0700);
	/* A file in the way: EEXIST for it, then ENOTDIR below it. */
	snprintf(p, sizeof(p), "%s/file", d);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/file/sub", d);
	assert_int_equal(mkdir_p(p, 0755), -ENOTDIR);
	assert_int_equal(mkdir_p("", 0755), -ENOENT);
	memset(p, 'x', PATH_MAX);
	p[0] = '/';
	p[PATH_MAX] = '\0';
	assert_int_equal(mkdir_p(p, 0755), -ENAMETOOLONG);
	umask(old);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void now_ms_monotonic(void **state)
{
	long long a = now_ms(), b;

	(void)state;
	assert_true(a >= 0);
	usleep(20 * 1000);
	b = now_ms();
	assert_true(b - a >= 20);
	assert_true(b - a < 10000);
}

static void files_copy_write(void **state)
{
	char d[] = "/tmp/svmm-common-XXXXXX", a[64], b[64], c[64], cmd[64], got[200000];
	mode_t old = umask(022);
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(d));
	snprintf(a, sizeof(a), "%s/a", d);
	snprintf(b, sizeof(b), "%s/b", d);
	snprintf(c, sizeof(c), "%s/c", d);
	/* More than one 64 KiB chunk, every byte value. */
	f = fopen(a, "w");
	assert_non_null(f);
	for (int i = 0; i < 150000; i++)
		fputc(i * 7 % 256, f);
	fclose(f);
	assert_int_equal(copy_file(a, b, 0750), 0);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_size, 150000);
	f = fopen(b, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got), f), 150000);
	fclose(f);
	for (int i = 0; i < 150000; i++)
		assert_int_equal((unsigned char)got[i], i * 7 % 256);
	/* dst must not exist; a missing src is its errno. */
	assert_int_equal(copy_file(a, b, 0644), -EEXIST);
	assert_int_equal(copy_file(c, d, 0644), -ENOENT);
	/* write_file: an existing file only, replaced from its start. */
	assert_int_equal(write_file(c, "x"), -ENOENT);
	assert_int_equal(write_file(b, "hello"), 0);
	f = fopen(b, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, 5, f), 5);
	fclose(f);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(write_file(d, "x"), -EISDIR);
	umask(old);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mkdir_p_paths),
		cmocka_unit_test(now_ms_monotonic),
		cmocka_unit_test(files_copy_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
