// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/config/config*.c: VmConfig from JSON and flags, defaults, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cli/ch_main.h"
#include "vmm/config/config.h"

/* The body the blueprint manager sends (contract 1.4), with an unknown field. */
static const char manager_body[] =
	"{\"memory\":{\"size\":4294967296,\"shared\":true},"
	"\"payload\":{\"kernel\":\"/c/vmlinuz\",\"cmdline\":\"root=/dev/vda1 rw "
	"console=ttyS0\",\"initramfs\":\"/c/initrd.img\"},"
	"\"disks\":[{\"path\":\"/d/ubuntu.img\",\"readonly\":false,\"direct\":true},"
	"{\"path\":\"/c/ci.img\",\"readonly\":true,\"direct\":true},"
	"{\"path\":\"/d/data.qcow2\",\"readonly\":false,\"direct\":true},"
	"{\"path\":\"/c/bin.img\",\"readonly\":true,\"direct\":true}],"
	"\"net\":[{\"tap\":\"tap-tngl-7\",\"ip\":\"172.30.0.1\"}],"
	"\"serial\":{\"file\":\"/c/guest.log\",\"mode\":\"File\"},"
	"\"console\":{\"mode\":\"Off\"},"
	"\"vsock\":{\"cid\":10,\"socket\":\"/r/svc.sock\"},"
	"\"future_field\":{\"nested\":[1,2,3]}}";

static int from_text(struct vm_config *c, const char *s, struct err *err)
{
	vm_config_init(c);
	return vm_config_from_json_text(c, s, strlen(s), err);
}

static void manager_config(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;

	assert_int_equal(from_text(&c, manager_body, &err), 0);
	assert_int_equal(c.memory.size, 4294967296ULL);
	assert_true(c.memory.shared);
	assert_string_equal(c.payload.kernel, "/c/vmlinuz");
	assert_null(c.payload.firmware);
	assert_int_equal(c.n_disks, 4);
	assert_string_equal(c.disks[2].path, "/d/data.qcow2");
	assert_true(c.disks[1].readonly && c.disks[3].readonly);
	assert_false(c.disks[0].readonly);
	assert_true(c.disks[0].direct);
	assert_int_equal(c.disks[0].num_queues, 1);
	assert_int_equal(c.disks[0].queue_size, 128);
	assert_int_equal(c.n_net, 1);
	assert_string_equal(c.net[0].mask, "255.255.255.0");
	assert_non_null(c.net[0].mac); /* random, locally administered */
	assert_int_equal(strlen(c.net[0].mac), 17);
	assert_int_equal(strtol(c.net[0].mac, NULL, 16) & 3, 2);
	assert_int_equal(c.net[0].num_queues, 2);
	assert_int_equal(c.net[0].queue_size, 256);
	assert_int_equal(c.serial.mode, CONSOLE_FILE);
	assert_string_equal(c.serial.file, "/c/guest.log");
	assert_int_equal(c.console.mode, CONSOLE_OFF);
	assert_true(c.has_vsock);
	assert_int_equal(c.vsock.cid, 10);
	/* Defaults for what the manager does not send. */
	assert_int_equal(c.cpus.boot_vcpus, 1);
	assert_int_equal(c.cpus.max_vcpus, 1);
	assert_int_equal(c.cpus.max_phys_bits, 46);
	assert_string_equal(c.rng.src, "/dev/urandom");
	assert_int_equal(vm_config_validate(&c, &err), 0);
	vm_config_free(&c);
}

static void defaults_of_empty_config(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;

	assert_int_equal(from_text(&c, "{}", &err), 0);
	assert_int_equal(c.memory.size, 512ULL << 20);
	assert_int_equal(c.serial.mode, CONSOLE_NULL);
	assert_int_equal(c.console.mode, CONSOLE_TTY);
	assert_false(c.has_vsock);
	/* No payload: create accepts it, boot's validation refuses it. */
	assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "payload"));
	vm_config_free(&c);
}

static void expect_json_error(const char *body, const char *msg)
{
	struct err err = { 0 };
	struct vm_config c;
	int rc = from_text(&c, body, &err);
	if (rc != -EINVAL || !strstr(err.msg, msg))
		fail_msg("body %s: rc %d, err.msg '%s', expected '%s'", body, rc, err.msg, msg);
	vm_config_free(&c);
}

static void wrong_types_name_the_field(void **state)
{
	(void)state;
	expect_json_error("{\"disks\":[{\"path\":\"a\"},{\"path\":\"b\"},"
			  "{\"path\":\"c\",\"readonly\":\"yes\"}]}",
			  "disks[2].readonly: expected boolean");
	expect_json_error("{\"memory\":{\"size\":\"4G\"}}", "memory.size: expected unsigned");
	expect_json_error("{\"memory\":{\"size\":-1}}", "memory.size: expected unsigned");
	expect_json_error("{\"memory\":{\"shared\":true}}", "memory.size: missing");
	expect_json_error("{\"cpus\":{\"boot_vcpus\":2}}", "cpus.max_vcpus: missing");
	expect_json_error("{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":4294967296}}",
			  "cpus.max_vcpus: expected unsigned integer (at most 4294967295)");
	expect_json_error("{\"net\":[{\"tap\":5}]}", "net[0].tap: expected string");
	expect_json_error("{\"net\":{\"tap\":\"t\"}}", "net: expected array");
	expect_json_error("{\"net\":[\"tap0\"]}", "net[0]: expected object");
	expect_json_error("{\"net\":[{\"fds\":[3,\"x\"]}]}", "net[0].fds[1]: expected");
	expect_json_error("{\"serial\":{\"mode\":\"file\"}}", "serial.mode: expected one of");
	expect_json_error("{\"console\":{}}", "console.mode: missing");
	expect_json_error("{\"vsock\":{\"cid\":3}}", "vsock.socket: missing");
	expect_json_error("{\"payload\":[]}", "payload: expected object");
	expect_json_error("{\"payload\":{\"kernel\":true}}", "payload.kernel: expected string");
	expect_json_error("{\"disks\":[{\"image_type\":\"qcow\"}]}", "disks[0].image_type");
	expect_json_error("{\"iommu\":1}", "iommu: expected boolean");
	expect_json_error("[1,2]", "expected a JSON object");
	expect_json_error("{\"memory\":", "invalid JSON");
	expect_json_error("{\"a\":1,\"a\":2}", "invalid JSON");
	expect_json_error("{\"memory\":{\"size\":99999999999999999999}}", "invalid JSON");
	expect_json_error("{\"devices\":[{\"id\":\"x\"}]}", "devices[0].path: missing");
	expect_json_error("{\"devices\":[{\"path\":1}]}", "devices[0].path: expected string");
	expect_json_error("{\"devices\":{}}", "devices: expected array");
	expect_json_error("{\"devices\":[{\"path\":\"p\",\"iommu\":\"off\"}]}",
			  "devices[0].iommu: expected boolean");
	expect_json_error("{\"user_devices\":[{\"socket\":\"/s\"}]}",
			  "user_devices: not supported by svmm");
	expect_json_error("{\"memory\":{\"size\":1048576,\"zones\":[{\"id\":\"a\"}]}}",
			  "memory.zones: not supported");
}

static void nulls_are_absent(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;
	/* vm.info's own output (nulls for absent options) is accepted back. */
	assert_int_equal(from_text(&c,
				   "{\"payload\":{\"kernel\":\"/k\",\"firmware\":null},"
				   "\"disks\":null,\"vsock\":null,\"balloon\":null}",
				   &err),
			 0);
	assert_null(c.payload.firmware);
	assert_int_equal(c.n_disks, 0);
	assert_false(c.has_vsock);
	vm_config_free(&c);
}

static void round_trip(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config a, b;

	assert_int_equal(from_text(&a, manager_body, &err), 0);
	json_t *j = vm_config_to_json(&a);
	assert_non_null(j);
	/* 64-bit size survives. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "memory"), "size")),
			 4294967296LL);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "net"), 0), "mask")),
			    "255.255.255.0");
	assert_true(json_is_null(json_object_get(j, "fs")));
	assert_true(json_is_object(json_object_get(j, "payload")));
	/* svmm's own vhost field appears only when set */
	assert_null(json_object_get(json_array_get(json_object_get(j, "net"), 0), "vhost"));
	json_decref(j);
	a.net[0].vhost = true;
	j = vm_config_to_json(&a);
	assert_true(json_is_true(
		json_object_get(json_array_get(json_object_get(j, "net"), 0), "vhost")));
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(from_text(&b, text, &err), 0);
	assert_true(b.net[0].vhost);
	assert_int_equal(b.n_disks, 4);
	assert_string_equal(b.net[0].mac, a.net[0].mac); /* kept, not re-randomised */
	assert_int_equal(b.vsock.cid, a.vsock.cid);
	json_t *ja = vm_config_to_json(&a), *jb = vm_config_to_json(&b);
	assert_true(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	free(text);
	vm_config_free(&a);
	vm_config_free(&b);
}

static void validation(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;
	static const struct {
		const char *body, *msg;
	} cases[] = {
		{ "{\"payload\":{\"kernel\":\"k\",\"firmware\":\"f\"}}", "not both" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"cpus\":{\"boot_vcpus\":4,\"max_vcpus\":2}}",
		  "cpus.max_vcpus" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"cpus\":{\"boot_vcpus\":0,\"max_vcpus\":2}}",
		  "cpus.boot_vcpus" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"serial\":{\"mode\":\"File\"}}",
		  "serial: mode File needs a file" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"vsock\":{\"cid\":2,\"socket\":\"s\"}}",
		  "vsock.cid" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"ip\":\"1.2.3\"}]}", "net[0].ip" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"mask\":\"255.0.0.0\"}]}",
		  "net[0].mask: given without an ip" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"num_queues\":3}]}",
		  "net[0].num_queues" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"tap\":\"a-very-long-tap-name\"}]}",
		  "net[0].tap" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"disks\":[{\"path\":\"a\",\"queue_size\":100}]"
		  "}",
		  "disks[0].queue_size" },
		/* a power of two, but more than a virtqueue holds (was cast to 0) */
		{ "{\"payload\":{\"kernel\":\"k\"},\"disks\":[{\"path\":\"a\",\"queue_size\":65536}"
		  "]"
		  "}",
		  "disks[0].queue_size: 65536" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"queue_size\":65536}]}",
		  "net[0].queue_size" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"disks\":[{}]}", "disks[0]: a path" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"fs\":[{\"tag\":\"t\",\"socket\":\"s\"}]}",
		  "memory.shared" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"disks\":[{\"path\":\"a\",\"id\":\"x\"}],"
		  "\"net\":[{\"id\":\"x\"}]}",
		  "'x' is used twice" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":1000}}", "memory.size" },
		/* what svmm's guest memory takes: 2 MiB multiples, 64 MiB to 64 TiB */
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":105906176}}",
		  "memory.size: 105906176 is not a multiple of 2M from 64M to 64T" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":33554432}}",
		  "memory.size: 33554432" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":140737490452480}}",
		  "memory.size: 140737490452480" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"fs\":[{\"tag\":\"t\",\"socket\":\"s\"}]}",
		  "fs[0]: virtio-fs needs --memory shared=on" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"cpus\":{\"boot_vcpus\":255,\"max_vcpus\":255}"
		  "}",
		  "cpus.max_vcpus: 255 is more than 254" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"mac\":\" 2:00:00:00:00:01\"}]}",
		  "net[0].mac: ' 2:00:00:00:00:01' is not a MAC address" },
		/* what the devices cannot take (once their own parsers checked it) */
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"mac\":\"01:00:5e:00:00:01\"}]}",
		  "net[0].mac: '01:00:5e:00:00:01' is a multicast address" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"ip\":\"10.0.0.1\",\"mask\":"
		  "\"255.0.255.0\"}]}",
		  "net[0].mask" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"mtu\":67}]}", "net[0].mtu" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"num_queues\":16}]}",
		  "net[0].num_queues" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"fds\":[3],\"num_queues\":4}]}",
		  "net[0].fd" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"net\":[{\"iommu\":true}]}",
		  "net[0].iommu: not supported" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":1073741824,\"shared\":true}"
		  ",\"fs\":[{\"tag\":"
		  "\"0123456789012345678901234567890123456\",\"socket\":\"s\"}]}",
		  "fs[0].tag" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"memory\":{\"size\":1073741824,\"shared\":true}"
		  ",\"fs\":[{\"tag\":"
		  "\"t\",\"socket\":\"s\",\"queue_size\":3}]}",
		  "fs[0].queue_size" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"vsock\":{\"cid\":4294967295,\"socket\":\"s\"}"
		  "}",
		  "vsock.cid" },
		{ "{\"payload\":{\"kernel\":\"k\"},\"vsock\":{\"cid\":3,\"socket\":\"s\",\"iommu\":"
		  "true}}",
		  "vsock.iommu: not supported" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(from_text(&c, cases[i].body, &err), 0);
		if (vm_config_validate(&c, &err) != -EINVAL || !strstr(err.msg, cases[i].msg))
			fail_msg("%s: err.msg '%s', expected '%s'", cases[i].body, err.msg,
				 cases[i].msg);
		vm_config_free(&c);
	}
}

static int cli(struct ch_args *a, const char *const *args, struct err *err)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = "cloud-hypervisor";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return ch_args_parse(a, argc, argv, err);
}

static void command_line(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct ch_args a;
	const char *const args[] = {
		"--api-socket",
		"/tmp/x.sock",
		"--kernel",
		"/k",
		"--cmdline",
		"-- console=ttyS0",
		"--initramfs=/i",
		"--cpus",
		"boot=2",
		"--memory",
		"size=4G,shared=ON",
		"--disk",
		"path=/a,readonly=on,direct=true",
		"path=/b,image_type=qcow2,id=d1",
		"--disk",
		"path=/c,num_queues=2,queue_size=256",
		"--net",
		"tap=tap0,ip=10.0.0.1,mac=12:34:56:78:9a:bc,fd=[3,4],vhost=on",
		"--rng",
		"src=/dev/random",
		"--vsock",
		"cid=5,socket=/tmp/v.sock",
		"--serial",
		"file=/tmp/serial.log",
		"--console",
		"off",
		"--fs",
		"tag=myfs,socket=/tmp/fs.sock",
		"--pmem",
		"file=/p,size=1M",
		"--event-monitor",
		"path=/tmp/ev",
		"-vv",
		"-v",
		"--log-file",
		"/tmp/log",
		"--seccomp",
		"false",
		"--no-shutdown",
		NULL,
	};
	assert_int_equal(cli(&a, args, &err), 0);
	assert_string_equal(a.api_socket, "/tmp/x.sock");
	assert_true(a.has_payload);
	assert_string_equal(a.vm.payload.cmdline, "-- console=ttyS0");
	assert_string_equal(a.vm.payload.initramfs, "/i");
	assert_int_equal(a.vm.cpus.boot_vcpus, 2);
	assert_int_equal(a.vm.cpus.max_vcpus, 2); /* max follows boot */
	assert_int_equal(a.vm.memory.size, 4ULL << 30);
	assert_true(a.vm.memory.shared);
	assert_int_equal(a.vm.n_disks, 3);
	assert_true(a.vm.disks[0].readonly && a.vm.disks[0].direct);
	assert_int_equal(a.vm.disks[1].image_type, IMAGE_TYPE_QCOW2);
	assert_string_equal(a.vm.disks[1].id, "d1");
	assert_int_equal(a.vm.disks[2].queue_size, 256);
	assert_string_equal(a.vm.net[0].mask, "255.255.255.0");
	assert_string_equal(a.vm.net[0].mac, "12:34:56:78:9a:bc");
	assert_int_equal(a.vm.net[0].n_fds, 2);
	assert_int_equal(a.vm.net[0].fds[1], 4);
	assert_int_equal(a.vm.net[0].num_queues, 4); /* one pair per fd, as cloud-hypervisor */
	assert_true(a.vm.net[0].vhost);
	assert_string_equal(a.vm.rng.src, "/dev/random");
	assert_int_equal(a.vm.vsock.cid, 5);
	assert_int_equal(a.vm.serial.mode, CONSOLE_FILE);
	assert_string_equal(a.vm.serial.file, "/tmp/serial.log");
	assert_int_equal(a.vm.console.mode, CONSOLE_OFF);
	assert_string_equal(a.vm.fs[0].tag, "myfs");
	assert_int_equal(a.vm.pmem[0].size, 1 << 20);
	assert_int_equal(a.verbosity, 3);
	assert_true(a.no_shutdown);
	assert_string_equal(a.event_monitor, "path=/tmp/ev");
	assert_int_equal(vm_config_validate(&a.vm, &err), 0);
	ch_args_free(&a);
}

static void expect_cli_error(const char *const *args, const char *msg)
{
	struct err err = { 0 };
	struct ch_args a;
	int rc = cli(&a, args, &err);
	if (rc != -EINVAL || !strstr(err.msg, msg))
		fail_msg("%s %s: rc %d, err.msg '%s', expected '%s'", args[0],
			 args[1] ? args[1] : "", rc, err.msg, msg);
	ch_args_free(&a);
}

static void command_line_errors(void **state)
{
	(void)state;
#define E(msg, ...) expect_cli_error((const char *const[]){ __VA_ARGS__, NULL }, msg)
	E("--disk: unknown option 'readonlyy'", "--disk", "path=/a,readonlyy=on");
	E("--disk: option 'readonly=maybe': not on or off", "--disk", "path=/a,readonly=maybe");
	E("--memory: option 'size=lots'", "--memory", "size=lots");
	E("--cpus: option 'topology=1:2'", "--cpus", "boot=2,topology=1:2");
	E("--serial: expected one of", "--serial", "file=/a,pty");
	E("--serial: 'off' takes no value", "--serial", "off=1");
	E("--vsock: cid= and socket= are required", "--vsock", "cid=3");
	E("unknown flag '--frobnicate'", "--frobnicate");
	E("--kernel needs a value", "--kernel");
	E("--device: path= is required", "--device", "id=x");
	E("--device: unknown option 'bdf'", "--device", "path=/p,bdf=1");
	E("--device: option 'iommu=maybe'", "--device", "path=/p,iommu=maybe");
	E("--user-device is not supported by svmm", "--user-device", "socket=/s");
	E("--seccomp: 'maybe'", "--seccomp", "maybe");
	E("unexpected argument 'stray'", "stray");
	E("--net: option 'fd=[3,x]'", "--net", "fd=[3,x]");
	E("--no-shutdown takes no value", "--no-shutdown=yes");
#undef E
}

static void console_flags(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		enum console_mode m;
	} cases[] = { { "off", CONSOLE_OFF },	   { "null", CONSOLE_NULL },
		      { "pty", CONSOLE_PTY },	   { "tty", CONSOLE_TTY },
		      { "file=/x", CONSOLE_FILE }, { "socket=/s", CONSOLE_SOCKET } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct console_config k = { 0 };
		struct err err = { 0 };
		assert_int_equal(vm_config_parse_console(&k, "--serial", cases[i].v, &err), 0);
		assert_int_equal(k.mode, cases[i].m);
		free(k.file);
		free(k.socket);
	}
}

static void mac_addresses(void **state)
{
	(void)state;
	uint8_t m[6];
	static const char *const bad[] = {
		"",
		"12:34:56:78:9a",
		"12:34:56:78:9a:bc:",
		"12-34-56-78-9a-bc",
		"1:2:3:4:5:6",
		" 2:34:56:78:9a:bc",
		"+2:34:56:78:9a:bc",
		"12:34:56:78:9a:bg",
		"12:34:56:78:9a:b",
	};
	assert_int_equal(mac_addr_parse("12:34:56:78:9a:BC", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc }), 6);
	assert_int_equal(mac_addr_parse("ff:FF:00:0f:f0:a5", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 0xff, 0xff, 0x00, 0x0f, 0xf0, 0xa5 }), 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mac_addr_parse(bad[i], m) != -EINVAL)
			fail_msg("'%s' taken as a MAC address", bad[i]);
}

/* What `svmm run` refuses before it opens anything: the cloud-hypervisor
 * flag readers, then the one validation. */
#define DEV0 "/sys/bus/pci/devices/0000:01:00.0"

/* VFIO devices: --device and "devices", validation (pure), to_json. */
static void vfio_devices(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;
	size_t len = 0;

	vm_config_init(&c);
	assert_int_equal(vm_config_set_str(&c.payload.kernel, "k"), 0);
	assert_int_equal(vm_config_parse_device(&c, "path=" DEV0 ",id=nvme0,iommu=off", &err), 0);
	assert_int_equal(
		vm_config_parse_device(&c, "path=/sys/bus/pci/devices/0000:02:1f.7/", &err), 0);
	assert_int_equal(c.n_devices, 2);
	assert_string_equal(c.devices[0].path, DEV0);
	assert_string_equal(c.devices[0].id, "nvme0");
	assert_false(c.devices[0].iommu);
	assert_null(c.devices[1].id);
	assert_int_equal(vm_config_validate(&c, &err), 0);
	assert_string_equal(vm_device_pci_name(c.devices[1].path, &len), "0000:02:1f.7/");
	assert_int_equal(len, 12);

	json_t *j = vm_config_to_json(&c);
	json_t *d = json_array_get(json_object_get(j, "devices"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "path")), DEV0);
	assert_string_equal(json_string_value(json_object_get(d, "id")), "nvme0");
	assert_true(json_is_false(json_object_get(d, "iommu")));
	assert_int_equal(json_integer_value(json_object_get(d, "pci_segment")), 0);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct vm_config b;
	assert_int_equal(from_text(&b, text, &err), 0);
	free(text);
	assert_int_equal(b.n_devices, 2);
	assert_string_equal(b.devices[0].id, "nvme0");
	assert_string_equal(b.devices[1].path, "/sys/bus/pci/devices/0000:02:1f.7/");
	vm_config_free(&b);

	/* what validation refuses, naming the field */
	static const struct {
		const char *arg, *msg;
	} bad[] = {
		{ "path=/dev/vfio/7",
		  "devices[2].path: '/dev/vfio/7' is not a PCI device's sysfs" },
		{ "path=/sys/bus/pci/devices/01:00.0", "devices[2].path" },
		{ "path=/sys/bus/pci/devices/0000:01:20.0", "devices[2].path" },
		{ "path=/sys/bus/pci/devices/0000:01:00.8", "devices[2].path" },
		{ "path=/sys/bus/pci/devices/0000:01:00.0/config", "devices[2].path" },
		{ "path=/sys/bus/pci/devices/0000:0g:00.0", "devices[2].path" },
		{ "path=" DEV0 "/", "devices[2].path: 0000:01:00.0 is assigned twice" },
		{ "path=/sys/bus/pci/devices/0000:03:00.0,iommu=on",
		  "devices[2].iommu: not supported by svmm" },
		{ "path=/sys/bus/pci/devices/0000:03:00.0,pci_segment=1",
		  "devices[2].pci_segment: only segment 0" },
		{ "path=/sys/bus/pci/devices/0000:03:00.0,id=nvme0",
		  "device id 'nvme0' is used twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vm_config_parse_device(&c, bad[i].arg, &err), 0);
		assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: '%s', expected '%s'", bad[i].arg, err.msg, bad[i].msg);
		device_config_free(&c.devices[--c.n_devices]);
	}
	for (int i = 0; i < VM_MAX_VFIO_DEVICES - 1; i++) {
		char a[80];
		snprintf(a, sizeof(a), "path=/sys/bus/pci/devices/0000:10:%02x.0", i);
		assert_int_equal(vm_config_parse_device(&c, a, &err), 0);
	}
	assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "devices: at most 8"));
	assert_null(vm_device_pci_name(NULL, NULL));
	vm_config_free(&c);
}

static void flags_then_validation(void **state)
{
	(void)state;
	struct err err = { 0 };
	struct vm_config c;

	vm_config_init(&c);
	assert_int_equal(vm_config_parse_cpus(&c, "boot=4,max=2", &err), 0);
	assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "payload")); /* no kernel yet */
	c.payload.kernel = strdup("k");
	assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.msg, "cpus.max_vcpus: 2 is below boot_vcpus 4");
	assert_int_equal(vm_config_parse_cpus(&c, "boot=2", &err), 0);
	assert_int_equal(vm_config_validate(&c, &err), 0);
	assert_int_equal(vm_config_parse_memory(&c, "size=101M", &err), 0);
	assert_int_equal(vm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.size"));
	vm_config_free(&c);

	struct console_config k = { 0 };
	assert_int_equal(vm_config_parse_console(&k, "--serial", "frob", &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--serial: 'frob' is not one of off, null, pty, tty, file=PATH, "
			    "socket=PATH");
	assert_int_equal(vm_config_parse_console(&k, "--console", "tty,pty", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--console: expected one of"));
	free(k.file);
	free(k.socket);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(manager_config),
		cmocka_unit_test(defaults_of_empty_config),
		cmocka_unit_test(wrong_types_name_the_field),
		cmocka_unit_test(nulls_are_absent),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(validation),
		cmocka_unit_test(command_line),
		cmocka_unit_test(command_line_errors),
		cmocka_unit_test(console_flags),
		cmocka_unit_test(mac_addresses),
		cmocka_unit_test(vfio_devices),
		cmocka_unit_test(flags_then_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
