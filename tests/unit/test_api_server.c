// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for vmm/api/server.c: routing, the state machine and the JSON
 * answers, calling the request handler directly (no socket) with a recording
 * TEST DOUBLE as the VMM (struct vmm_ops). Runs under ASan in unit-asan.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/api/server.h"

struct rec {
	int boots, shutdowns, pauses, resumes, reboots, buttons, creates;
	int fail_boot; /* negative errno to fail the next boot with */
	int adds, removes, fail_add;
	char added_id[64], removed_id[64];
	char last_kernel[256];
};

static int rec_create(void *ctx, struct vm_config *cfg, struct err *err)
{
	struct rec *r = ctx;
	(void)err;
	r->creates++;
	/* What a real create does for Pty: report the allocated path. */
	if (cfg->serial.mode == CONSOLE_PTY)
		cfg->serial.file = strdup("/dev/pts/42");
	return 0;
}

static int rec_boot(void *ctx, const struct vm_config *cfg, struct err *err)
{
	struct rec *r = ctx;
	if (r->fail_boot)
		return err_set(err, r->fail_boot, "cannot load the kernel");
	snprintf(r->last_kernel, sizeof(r->last_kernel), "%s", cfg->payload.kernel);
	r->boots++;
	return 0;
}

#define REC(fn, field)                            \
	static int fn(void *ctx, struct err *err) \
	{                                         \
		(void)err;                        \
		((struct rec *)ctx)->field++;     \
		return 0;                         \
	}
REC(rec_shutdown, shutdowns)
REC(rec_pause, pauses)
REC(rec_resume, resumes)
REC(rec_reboot, reboots)
REC(rec_button, buttons)

static int rec_counters(void *ctx, json_t **out, struct err *err)
{
	(void)ctx;
	(void)err;
	*out = json_pack("{s:{s:I}}", "_disk0", "read_bytes", (json_int_t)1 << 40);
	return 0;
}

static int rec_add(void *ctx, enum vm_device_kind kind, const void *cfg, unsigned int *slot,
		   struct err *err)
{
	struct rec *r = ctx;
	const struct disk_config *dc = cfg;
	if (kind != VM_DEV_DISK)
		return err_set(err, -ENOTSUP, "only disks here");
	if (r->fail_add)
		return err_set(err, r->fail_add, "disk '%s': No such file or directory", dc->path);
	r->adds++;
	snprintf(r->added_id, sizeof(r->added_id), "%s", dc->id);
	*slot = 5;
	return 0;
}

static int rec_remove(void *ctx, const char *id, struct err *err)
{
	struct rec *r = ctx;
	if (strcmp(id, r->added_id))
		return err_set(err, -ENOENT, "no device with id '%s'", id);
	r->removes++;
	snprintf(r->removed_id, sizeof(r->removed_id), "%s", id);
	return 0;
}

static const struct vmm_ops ops = {
	.hot_add = rec_add,
	.remove_device = rec_remove,
	.create = rec_create,
	.boot = rec_boot,
	.shutdown = rec_shutdown,
	.reboot = rec_reboot,
	.power_button = rec_button,
	.pause = rec_pause,
	.resume = rec_resume,
	.counters = rec_counters,
};

struct fixture {
	struct api_server api;
	struct rec rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_int_equal(api_server_init(&f->api, -1, NULL, &ops, &f->rec, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	api_server_destroy(&f->api);
	free(f);
	return 0;
}

/* One request; returns the status, *body (parsed JSON or NULL) for the caller
 * to decref. */
static int call(struct fixture *f, const char *method, const char *ep, const char *body,
		json_t **out)
{
	struct http_request req = { 0 };
	struct http_response resp = { 0 };

	snprintf(req.method, sizeof(req.method), "%s", method);
	snprintf(req.path, sizeof(req.path), "/api/v1/%s", ep);
	req.minor = 1;
	req.keep_alive = true;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	api_handle(&f->api, &req, &resp);
	if (out)
		*out = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	if (resp.status == 204)
		assert_int_equal(resp.body_len, 0);
	free(resp.body);
	return resp.status;
}

static const char *first_error(json_t *errs)
{
	assert_true(json_is_array(errs));
	return json_string_value(json_array_get(errs, json_array_size(errs) - 1));
}

static void lifecycle(void **state)
{
	struct fixture *f = *state;
	json_t *j;

	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 404);
	assert_string_equal(first_error(j), "VM is not created");
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.create",
			      "{\"payload\":{\"kernel\":\"/k\"},\"serial\":{\"mode\":\"Pty\"},"
			      "\"memory\":{\"size\":8589934592}}",
			      NULL),
			 204);
	assert_int_equal(f->rec.creates, 1);
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Created");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(j, "config"), "serial"), "file")),
		"/dev/pts/42");
	assert_int_equal(json_integer_value(json_object_get(j, "memory_actual_size")),
			 8589934592LL);
	json_decref(j);

	f->rec.fail_boot = -ENOENT;
	assert_int_equal(call(f, "PUT", "vm.boot", NULL, &j), 500);
	assert_string_equal(first_error(j), "cannot load the kernel");
	json_decref(j);
	f->rec.fail_boot = 0;
	assert_int_equal(call(f, "PUT", "vm.boot", NULL, NULL), 204);
	assert_string_equal(f->rec.last_kernel, "/k");
	assert_int_equal(call(f, "GET", "vm.counters", NULL, &j), 200);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "_disk0"), "read_bytes")),
		1LL << 40);
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.pause", NULL, NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.power-button", NULL, NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.resume", NULL, NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.reboot", NULL, NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.nmi", NULL, &j), 500); /* no nmi op */
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.delete", NULL, NULL), 204);
	assert_int_equal(f->rec.shutdowns, 1);
	assert_int_equal(f->rec.pauses + f->rec.resumes + f->rec.reboots + f->rec.buttons, 4);
	assert_int_equal(call(f, "GET", "vm.info", NULL, NULL), 404);
}

/* vm.add-disk on a running VM is a hotplug (200, PciDeviceInfo, the disk
 * in vm.info), a failure leaves the config as it was; vm.remove-device
 * asks the VMM, 404 for an id it does not know. */
static void hotplug(void **state)
{
	struct fixture *f = *state;
	json_t *j;

	assert_int_equal(call(f, "PUT", "vm.create",
			      "{\"payload\":{\"kernel\":\"/k\"},\"disks\":[{\"path\":\"/a\"}]}",
			      NULL),
			 204);
	assert_int_equal(call(f, "PUT", "vm.boot", NULL, NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.add-disk", "{\"path\":\"/b\"}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "_disk1");
	assert_string_equal(json_string_value(json_object_get(j, "bdf")), "0000:00:05.0");
	json_decref(j);
	assert_int_equal(f->rec.adds, 1);
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	json_t *disks = json_object_get(json_object_get(j, "config"), "disks");
	assert_int_equal(json_array_size(disks), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(disks, 0), "id")),
			    "_disk0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(disks, 1), "path")),
			    "/b");
	json_decref(j);
	/* refused by the VMM: 500 with its message, the config unchanged */
	f->rec.fail_add = -ENOENT;
	assert_int_equal(call(f, "PUT", "vm.add-disk", "{\"path\":\"/nope\"}", &j), 500);
	assert_non_null(strstr(first_error(j), "/nope"));
	json_decref(j);
	f->rec.fail_add = 0;
	assert_int_equal(call(f, "PUT", "vm.add-disk", "{\"path\":", NULL), 400);
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "config"), "disks")),
			 2);
	json_decref(j);
	/* remove: asked of the VMM, then gone from the config */
	assert_int_equal(call(f, "PUT", "vm.remove-device", "{\"id\":\"_disk1\"}", NULL), 204);
	assert_string_equal(f->rec.removed_id, "_disk1");
	assert_int_equal(call(f, "PUT", "vm.remove-device", "{\"id\":\"_disk7\"}", NULL), 404);
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "config"), "disks")),
			 1);
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.delete", NULL, NULL), 204);
}

static void guest_exit_and_direct_calls(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	struct vm_config c;

	vm_config_init(&c);
	c.payload.kernel = strdup("/cli-kernel");
	assert_int_equal(api_vm_create(&f->api, &c, &err), 204);
	assert_null(c.payload.kernel); /* taken over */
	assert_int_equal(api_vm_create(&f->api, &c, &err), 500);
	assert_string_equal(err.msg, "VM is already created");
	vm_config_free(&c);
	assert_int_equal(api_vm_boot(&f->api, &err), 204);
	api_vm_guest_exited(&f->api);
	assert_int_equal(f->rec.shutdowns, 1);
	json_t *j;
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Created");
	json_decref(j);
	api_vm_guest_exited(&f->api); /* nothing running: no second shutdown */
	assert_int_equal(f->rec.shutdowns, 1);
}

static void routing(void **state)
{
	struct fixture *f = *state;
	json_t *j;

	assert_int_equal(call(f, "GET", "vmm.ping", NULL, &j), 200);
	assert_true(json_is_string(json_object_get(j, "version")));
	assert_true(json_is_integer(json_object_get(j, "pid")));
	json_decref(j);
	assert_int_equal(call(f, "POST", "vmm.ping", NULL, NULL), 405);
	assert_int_equal(call(f, "GET", "vm.boot", NULL, NULL), 405);
	assert_int_equal(call(f, "GET", "vm.nothing", NULL, NULL), 404);
	assert_int_equal(call(f, "GET", "vmm.ping?verbose=1", NULL, NULL), 200);
	assert_int_equal(call(f, "GET", "", NULL, NULL), 404);
	assert_int_equal(call(f, "PUT", "vm.create", "{\"disks\":[{\"readonly\":1}]}", &j), 400);
	assert_string_equal(first_error(j), "disks[0].readonly: expected boolean");
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.create", "{", NULL), 400);
	assert_int_equal(call(f, "PUT", "vm.create", NULL, NULL), 400);
	assert_int_equal(call(f, "PUT", "vm.create", "{\"net\":[{\"ip\":\"10.0.0.1\"}]}", NULL),
			 204);
	/* Cold-added devices before boot; refused duplicate vsock. */
	assert_int_equal(call(f, "PUT", "vm.add-net", "{\"tap\":\"t1\",\"id\":\"n1\"}", NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.add-vsock", "{\"cid\":3,\"socket\":\"/s\"}", NULL),
			 204);
	assert_int_equal(call(f, "PUT", "vm.add-vsock", "{\"cid\":4,\"socket\":\"/s\"}", NULL),
			 400);
	assert_int_equal(call(f, "PUT", "vm.add-pmem", "{\"size\":1}", &j), 400);
	assert_string_equal(first_error(j), "pmem.file: missing");
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.add-fs", "{\"tag\":\"a\",\"socket\":\"/f\"}", NULL),
			 204);
	assert_int_equal(call(f, "GET", "vm.info", NULL, &j), 200);
	json_t *cfg = json_object_get(j, "config");
	assert_int_equal(json_array_size(json_object_get(cfg, "net")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(cfg, "net"), 0), "mask")),
			    "255.255.255.0");
	assert_int_equal(json_array_size(json_object_get(cfg, "fs")), 1);
	assert_true(json_is_null(json_object_get(cfg, "pmem")));
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vm.remove-device", "{\"id\":\"n1\"}", NULL), 204);
	assert_int_equal(call(f, "PUT", "vm.remove-device", "{\"id\":\"n1\"}", NULL), 404);
	assert_int_equal(call(f, "PUT", "vm.remove-device", "{\"id\":5}", NULL), 400);
	/* fs without shared memory: caught by validation at boot (400). */
	assert_int_equal(call(f, "PUT", "vm.boot", NULL, &j), 400);
	json_decref(j);
	assert_int_equal(call(f, "PUT", "vmm.shutdown", NULL, NULL), 200);
	assert_int_equal(call(f, "GET", "vm.info", NULL, NULL), 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_exit_and_direct_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(routing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
