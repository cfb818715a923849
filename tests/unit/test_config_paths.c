// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vm_config_paths (vmm/config/config_paths.c): every host
 * path a configuration names, with what svmm does with it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/cli/ch_main.h"
#include "vmm/config/config.h"

struct seen {
	char line[64][160];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect(void *opaque, const char *path, unsigned int flags)
{
	struct seen *s = opaque;

	assert_true(s->n < 64);
	snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s%s%s", path,
		 flags & VM_PATH_WRITE ? "w" : "r", flags & VM_PATH_CREATE ? "c" : "",
		 flags & VM_PATH_SOCKET ? "s" : "");
	return s->stop_after && s->n == s->stop_after ? -E2BIG : 0;
}

static void parse(struct ch_args *a, char **argv)
{
	struct err err = { 0 };
	int argc = 0;

	while (argv[argc])
		argc++;
	int rc = ch_args_parse(a, argc, argv, &err);
	if (rc)
		fail_msg("%s", err.msg);
}

/* Every kind of path, from the cloud-hypervisor command line. */
static void every_path_from_flags(void **state)
{
	(void)state;
	char *argv[] = { "cloud-hypervisor",
			 "--kernel",
			 "/k/vmlinux",
			 "--initramfs",
			 "/k/initrd",
			 "--memory",
			 "size=512M,shared=on",
			 "--disk",
			 "path=/d/root.raw,readonly=on",
			 "path=/d/data.qcow2",
			 "--net",
			 "tap=tap0",
			 "vhost_user=on,socket=/s/net.sock",
			 "--rng",
			 "src=/dev/hwrng",
			 "--fs",
			 "tag=t,socket=/s/fs.sock",
			 "--pmem",
			 "file=/p/a.img",
			 "file=/p/b.img,discard_writes=on",
			 "--serial",
			 "file=/l/serial.log",
			 "--console",
			 "socket=/s/console.sock",
			 "--vsock",
			 "cid=3,socket=/s/vsock.sock",
			 "--api-socket",
			 "/s/api.sock",
			 NULL };
	struct ch_args a;
	struct seen s = { 0 };

	parse(&a, argv);
	assert_int_equal(vm_config_paths(&a.vm, collect, &s), 0);
	const char *want[] = {
		"/k/vmlinux r",	  "/k/initrd r",      "/d/root.raw r",	     "/d/data.qcow2 w",
		"/s/net.sock ws", "/dev/hwrng r",     "/s/fs.sock ws",	     "/p/a.img w",
		"/p/b.img r",	  "/l/serial.log wc", "/s/console.sock wcs", "/s/vsock.sock wcs",
	};
	assert_int_equal(s.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s.n; i++)
		assert_string_equal(s.line[i], want[i]);
	/* the process options are not the VM's: the api socket is not listed */
	for (size_t i = 0; i < s.n; i++)
		assert_null(strstr(s.line[i], "api.sock"));
	/* which argument each --net value was (what svmm jail rewrites) */
	assert_int_equal(a.vm.n_net, 2);
	assert_string_equal(argv[a.net_argi[0]], "tap=tap0");
	assert_string_equal(argv[a.net_argi[1]], "vhost_user=on,socket=/s/net.sock");
	ch_args_free(&a);
}

/* A vhost-user disk is its socket, not a file; defaults list the rng only. */
static void vhost_user_disk_and_defaults(void **state)
{
	(void)state;
	char *argv[] = { "cloud-hypervisor",
			 "--firmware",
			 "/f/fw.bin",
			 "--disk",
			 "vhost_user=on,socket=/s/blk.sock",
			 "--net=tap=t1,fd=3",
			 NULL };
	struct ch_args a;
	struct seen s = { 0 };

	parse(&a, argv);
	assert_int_equal(vm_config_paths(&a.vm, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.line[0], "/f/fw.bin r");
	assert_string_equal(s.line[1], "/s/blk.sock ws");
	assert_string_equal(s.line[2], "/dev/urandom r"); /* the default rng source */
	assert_int_equal(a.net_argi[0], 5);		  /* "--net=..." itself */
	ch_args_free(&a);
}

/* Consoles that are not files name no path; the walk stops at fn's error. */
static void consoles_and_stop(void **state)
{
	(void)state;
	struct vm_config c;
	struct seen s = { 0 };

	vm_config_init(&c);
	assert_int_equal(vm_config_set_str(&c.payload.kernel, "/k"), 0);
	assert_int_equal(vm_config_set_str(&c.payload.initramfs, "/i"), 0);
	c.serial.mode = CONSOLE_TTY;
	c.console.mode = CONSOLE_PTY;
	assert_int_equal(vm_config_set_str(&c.console.file, "/dev/pts/3"), 0);
	assert_int_equal(vm_config_paths(&c, collect, &s), 0);
	assert_int_equal(s.n, 2); /* the kernel and the initramfs */
	s = (struct seen){ .stop_after = 1 };
	assert_int_equal(vm_config_paths(&c, collect, &s), -E2BIG);
	assert_int_equal(s.n, 1);
	vm_config_free(&c);
}

/* A VFIO device: its sysfs directory, the container and its group's node,
 * the group read from the iommu_group link. */
static void vfio_device_paths(void **state)
{
	(void)state;
	char dir[] = "/tmp/svmm-paths-XXXXXX", link[160], spec[200];
	struct vm_config c;
	struct seen s = { 0 };
	struct err err = { 0 };

	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/iommu_group", dir);
	assert_int_equal(symlink("../../../kernel/iommu_groups/17", link), 0);
	vm_config_init(&c);
	snprintf(spec, sizeof(spec), "path=%s", dir);
	assert_int_equal(vm_config_parse_device(&c, spec, &err), 0);
	assert_int_equal(vm_config_parse_device(&c, "path=/nonexistent/dev", &err), 0);
	assert_int_equal(vm_config_paths(&c, collect, &s), 0);
	assert_int_equal(s.n, 5);
	snprintf(spec, sizeof(spec), "%s r", dir);
	assert_string_equal(s.line[0], spec);
	assert_string_equal(s.line[1], "/dev/vfio/vfio w");
	assert_string_equal(s.line[2], "/dev/vfio/17 w");
	/* no link: the sysfs path and the container only (opening it says why) */
	assert_string_equal(s.line[3], "/nonexistent/dev r");
	assert_string_equal(s.line[4], "/dev/vfio/vfio w");
	unlink(link);
	rmdir(dir);
	vm_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_path_from_flags),
		cmocka_unit_test(vhost_user_disk_and_defaults),
		cmocka_unit_test(consoles_and_stop),
		cmocka_unit_test(vfio_device_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
