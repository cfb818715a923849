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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mkdir_p_paths),
		cmocka_unit_test(now_ms_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
