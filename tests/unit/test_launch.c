// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vm_launch_config(): the VM `svmm run --image` hands its
 * VMM, and that it reaches the child unchanged through the JSON it is
 * written as (config.json, read by `svmm run --config`). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/config/config.h"
#include "vmm/run/vm_launch.h"

static const struct vm_share shares[] = { { "svmm-vol0", "/srv/a", false },
					  { "svmm-vol1", "/srv/b", true } };

static struct vm_spec spec(void)
{
	return (struct vm_spec){
		.kernel = "/k/bzImage",
		.initrd = "/k/initramfs.cpio.gz",
		.cmdline = "console=ttyS0 quiet",
		.disk = "/state/rootfs.erofs",
		.cpus = 2,
		.mem_mib = 256,
		.vsock_cid = 1234,
		.vsock_socket = "/run/svmm/containers/t/vsock.sock",
		.shares = shares,
		.nshares = 2,
		.console = "/run/svmm/containers/t/console.log",
		.id = "t",
	};
}

/* c through the serializer and back, as the child reads it. */
static void round_trip(const struct vm_config *c, struct vm_config *child)
{
	struct err err = { 0 };
	json_t *j = vm_config_to_json(c);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_INDENT(2));
	assert_non_null(text);
	vm_config_init(child);
	if (vm_config_from_json_text(child, text, strlen(text), &err) < 0)
		fail_msg("the child cannot read its config: %s", err.msg);
	assert_int_equal(vm_config_validate(child, &err), 0);
	json_t *back = vm_config_to_json(child);
	assert_true(json_equal(j, back));
	json_decref(back);
	json_decref(j);
	free(text);
}

static void config_of_a_run(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_spec s = spec();
	struct vm_config c, k;

	assert_int_equal(vm_launch_config(&c, &s, "console=ttyS0 quiet svmm.ip=172.30.0.2/30",
					  "svmm-t", &err),
			 0);
	round_trip(&c, &k);
	assert_string_equal(k.payload.kernel, "/k/bzImage");
	assert_string_equal(k.payload.initramfs, "/k/initramfs.cpio.gz");
	assert_string_equal(k.payload.cmdline, "console=ttyS0 quiet svmm.ip=172.30.0.2/30");
	assert_int_equal(k.cpus.boot_vcpus, 2);
	assert_int_equal(k.cpus.max_vcpus, 2);
	assert_int_equal(k.memory.size, 256ULL << 20);
	assert_true(k.memory.shared); /* virtio-fs needs it */
	assert_int_equal(k.n_disks, 1);
	assert_string_equal(k.disks[0].path, "/state/rootfs.erofs");
	assert_true(k.disks[0].readonly);
	assert_int_equal(k.n_net, 1);
	assert_string_equal(k.net[0].tap, "svmm-t");
	assert_string_equal(k.net[0].mac, c.net[0].mac); /* the one made for the run */
	assert_int_equal(k.n_fs, 2);
	assert_string_equal(k.fs[1].tag, "svmm-vol1");
	assert_string_equal(k.fs[0].socket, "/run/svmm/containers/t/fs-0.sock");
	assert_string_equal(k.fs[1].socket, "/run/svmm/containers/t/fs-1.sock");
	assert_true(k.has_vsock);
	assert_int_equal(k.vsock.cid, 1234);
	assert_string_equal(k.vsock.socket, "/run/svmm/containers/t/vsock.sock");
	assert_int_equal(k.serial.mode, CONSOLE_FILE);
	assert_string_equal(k.serial.file, "/run/svmm/containers/t/console.log");
	assert_int_equal(k.console.mode, CONSOLE_OFF);
	vm_config_free(&k);
	vm_config_free(&c);
}

static void plain_run(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_spec s = spec();
	struct vm_config c, k;

	s.nshares = 0;
	s.disk = NULL;
	s.console = NULL;
	s.cpus = 0;
	s.mem_mib = 0;
	assert_int_equal(vm_launch_config(&c, &s, NULL, NULL, &err), 0);
	round_trip(&c, &k);
	assert_string_equal(k.payload.cmdline, "console=ttyS0 quiet");
	assert_int_equal(k.cpus.boot_vcpus, 1);
	assert_int_equal(k.memory.size, 512ULL << 20);
	assert_false(k.memory.shared);
	assert_int_equal(k.n_disks + k.n_net + k.n_fs, 0);
	assert_int_equal(k.serial.mode, CONSOLE_NULL);
	vm_config_free(&k);
	vm_config_free(&c);
}

/* What the VMM would refuse is refused before anything is launched. */
static void refused_before_launch(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_spec s = spec();
	struct vm_config c;

	s.cpus = 300;
	assert_int_equal(vm_launch_config(&c, &s, NULL, NULL, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "the VM's configuration: cpus.max_vcpus: 300 is more than 254");
	vm_config_free(&c);
	s = spec();
	s.mem_mib = 101;
	assert_int_equal(vm_launch_config(&c, &s, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.size"));
	vm_config_free(&c);
	s = spec();
	s.vsock_cid = 2;
	assert_int_equal(vm_launch_config(&c, &s, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vsock.cid"));
	vm_config_free(&c);
	s = spec();
	s.vsock_socket = NULL;
	assert_int_equal(vm_launch_config(&c, &s, NULL, NULL, &err), -EINVAL);
	vm_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_of_a_run),
		cmocka_unit_test(plain_run),
		cmocka_unit_test(refused_before_launch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
