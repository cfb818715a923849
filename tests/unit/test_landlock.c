// SPDX-License-Identifier: Apache-2.0
/* Unit tests for Landlock (vmm/kvm/landlock.c) and the VMM's rules from a
 * configuration (vmm/confine.c). Each check confines a forked child, which
 * then tries what it may and may not open; the parent reads its verdicts.
 * Where the kernel has no Landlock the tests say so and skip. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/cli/ch_main.h"
#include "vmm/config/config.h"
#include "vmm/confine.h"
#include "vmm/kvm/landlock.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	if (landlock_abi() < 0)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/svmm-landlock.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char p[128];
	static const char *const names[] = { "ro", "rw", "other", "sub/inner" };
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("data\n", f);
		fclose(f);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	return 0;
}

static bool have_landlock(void)
{
	if (landlock_abi() >= 1)
		return true;
	print_message("# this kernel has no Landlock: skipped\n");
	return false;
}

/* 0 when open(dir/name, flags) works in the child, else its errno. */
static int try_open(const char *name, int flags)
{
	char p[128];
	snprintf(p, sizeof(p), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/",
		 name);
	int fd = open(p, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Runs body in a child; the child's exit status is the number of failed
 * expectations, or 100 + errno when confining failed. */
#define IN_CHILD(body)                                          \
	do {                                                    \
		pid_t pid_ = fork();                            \
		assert_true(pid_ >= 0);                         \
		if (pid_ == 0) {                                \
			int bad_ = 0;                           \
			body;                                   \
			_exit(bad_);                            \
		}                                               \
		int st_;                                        \
		assert_int_equal(waitpid(pid_, &st_, 0), pid_); \
		assert_true(WIFEXITED(st_));                    \
		assert_int_equal(WEXITSTATUS(st_), 0);          \
	} while (0)
#define EXPECT(cond)                                                   \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "child: failed: %s\n", #cond); \
			bad_++;                                        \
		}                                                      \
	} while (0)

static void rules_allow_and_deny(void **state)
{
	(void)state;
	if (!have_landlock())
		skip();
	IN_CHILD({
		struct landlock l;
		struct err err = { 0 };
		char p[128];
		if (landlock_init(&l, &err) < 0)
			_exit(100 + err.code);
		snprintf(p, sizeof(p), "%s/ro", dir);
		EXPECT(landlock_allow(&l, p, LL_READ, &err) == 0);
		snprintf(p, sizeof(p), "%s/rw", dir);
		EXPECT(landlock_allow(&l, p, LL_READ | LL_WRITE, &err) == 0);
		snprintf(p, sizeof(p), "%s/sub", dir);
		EXPECT(landlock_allow(&l, p, LL_READ | LL_WRITE, &err) == 0);
		snprintf(p, sizeof(p), "%s/missing", dir);
		EXPECT(landlock_allow(&l, p, LL_READ, &err) == -ENOENT);
		EXPECT(strstr(err.msg, "missing") != NULL);
		if (landlock_apply(&l, &err) < 0)
			_exit(100 + err.code);
		EXPECT(try_open("ro", O_RDONLY) == 0);
		EXPECT(try_open("ro", O_WRONLY) == EACCES);
		EXPECT(try_open("rw", O_RDWR) == 0);
		EXPECT(try_open("other", O_RDONLY) == EACCES);
		EXPECT(try_open("sub/inner", O_RDWR) == 0);
		EXPECT(try_open("sub/new", O_RDWR | O_CREAT) == 0); /* a writable directory */
		EXPECT(try_open("new", O_RDWR | O_CREAT) == EACCES);
		EXPECT(try_open("/etc/passwd", O_RDONLY) == EACCES);
	});
}

static void access_parse(void **state)
{
	(void)state;
	unsigned int a = 0;
	assert_int_equal(landlock_access_parse("r", &a), 0);
	assert_int_equal(a, LL_READ);
	assert_int_equal(landlock_access_parse("rw", &a), 0);
	assert_int_equal(a, LL_READ | LL_WRITE);
	assert_int_equal(landlock_access_parse("w", &a), -EINVAL);
	assert_int_equal(landlock_access_parse("", &a), -EINVAL);
}

static void parse(struct ch_args *a, char **argv)
{
	struct err err = { 0 };
	int argc = 0;

	while (argv[argc])
		argc++;
	if (ch_args_parse(a, argc, argv, &err))
		fail_msg("%s", err.msg);
}

/* --landlock from the cloud-hypervisor command line: the kernel, the
 * read-only disk, the serial file's directory (it does not exist yet) and
 * --landlock-rules are open to the VMM, nothing else. */
static void vm_confine_from_config(void **state)
{
	(void)state;
	if (!have_landlock())
		skip();
	char k[128], ro[128], ser[128], rule[128];
	snprintf(k, sizeof(k), "%s/ro", dir);
	snprintf(ro, sizeof(ro), "path=%s/rw,readonly=on", dir);
	snprintf(ser, sizeof(ser), "file=%s/sub/serial.log", dir);
	snprintf(rule, sizeof(rule), "path=%s/other,access=r", dir);
	char *argv[] = {
		"cloud-hypervisor", "--kernel",		k,    "--disk", ro, "--serial", ser,
		"--landlock",	    "--landlock-rules", rule, NULL
	};
	struct ch_args a;
	parse(&a, argv);
	assert_true(a.vm.landlock_enable);
	assert_int_equal(a.vm.n_landlock_rules, 1);
	IN_CHILD({
		struct err err = { 0 };
		if (vm_confine(&a.vm, &err) < 0) {
			fprintf(stderr, "child: %s\n", err.msg);
			_exit(100 + err.code);
		}
		EXPECT(try_open("ro", O_RDONLY) == 0);
		EXPECT(try_open("rw", O_RDONLY) == 0);
		EXPECT(try_open("rw", O_RDWR) == EACCES); /* readonly=on */
		EXPECT(try_open("other", O_RDONLY) == 0);
		EXPECT(try_open("other", O_RDWR) == EACCES);
		EXPECT(try_open("sub/serial.log", O_WRONLY | O_CREAT) == 0);
		EXPECT(try_open("new", O_WRONLY | O_CREAT) == EACCES);
		EXPECT(try_open("/etc/passwd", O_RDONLY) == EACCES);
		EXPECT(try_open("/dev/null", O_RDWR) == 0);
	});
	ch_args_free(&a);
}

/* A rule for a path that is not there names it; without --landlock nothing
 * happens. */
static void vm_confine_errors(void **state)
{
	(void)state;
	struct vm_config c;
	struct err err = { 0 };

	vm_config_init(&c);
	assert_int_equal(vm_confine(&c, &err), 0); /* not asked for */
	if (!have_landlock()) {
		vm_config_free(&c);
		skip();
	}
	c.landlock_enable = true;
	struct landlock_rule_config *r = vm_config_add_landlock_rule(&c);
	assert_non_null(r);
	r->path = strdup("/nonexistent/svmm-landlock");
	IN_CHILD({
		EXPECT(vm_confine(&c, &err) == -ENOENT);
		EXPECT(strstr(err.msg, "--landlock-rules") != NULL);
		EXPECT(strstr(err.msg, "/nonexistent/svmm-landlock") != NULL);
	});
	vm_config_free(&c);
}

/* The JSON reader and writer carry landlock_enable and landlock_rules. */
static void json_round_trip(void **state)
{
	(void)state;
	const char *text = "{\"payload\": {\"kernel\": \"/k\"}, \"landlock_enable\": true,"
			   " \"landlock_rules\": [{\"path\": \"/srv\", \"access\": \"rw\"},"
			   " {\"path\": \"/etc/hosts\", \"access\": \"r\"}]}";
	struct vm_config c;
	struct err err = { 0 };

	vm_config_init(&c);
	assert_int_equal(vm_config_from_json_text(&c, text, strlen(text), &err), 0);
	assert_true(c.landlock_enable);
	assert_int_equal(c.n_landlock_rules, 2);
	assert_string_equal(c.landlock_rules[0].path, "/srv");
	assert_true(c.landlock_rules[0].write);
	assert_false(c.landlock_rules[1].write);
	json_t *j = vm_config_to_json(&c);
	char *out = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(out, "\"landlock_enable\":true"));
	assert_non_null(strstr(out, "{\"path\":\"/etc/hosts\",\"access\":\"r\"}"));
	free(out);
	json_decref(j);
	vm_config_free(&c);

	const char *bad = "{\"payload\": {\"kernel\": \"/k\"},"
			  " \"landlock_rules\": [{\"path\": \"/srv\", \"access\": \"x\"}]}";
	vm_config_init(&c);
	assert_int_equal(vm_config_from_json_text(&c, bad, strlen(bad), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "landlock_rules[0].access"));
	vm_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_allow_and_deny),	  cmocka_unit_test(access_parse),
		cmocka_unit_test(vm_confine_from_config), cmocka_unit_test(vm_confine_errors),
		cmocka_unit_test(json_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
