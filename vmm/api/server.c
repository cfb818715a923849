// SPDX-License-Identifier: Apache-2.0
/* cloud-hypervisor's REST endpoints, the VM state machine, and the API thread. */
#include "vmm/api/server.h"

#include "vmm/kvm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/version.h"

#define API_PREFIX "/api/v1/"

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_STATE_CREATED:
		return "Created";
	case VM_STATE_RUNNING:
		return "Running";
	case VM_STATE_PAUSED:
		return "Paused";
	case VM_STATE_SHUTDOWN:
		return "Shutdown";
	default:
		return "None";
	}
}

static void emit(struct api_server *a, const char *source, const char *event)
{
	event_monitor_emit(a->events, source, event, NULL);
}

static bool vm_active(const struct api_server *a)
{
	return a->state == VM_STATE_RUNNING || a->state == VM_STATE_PAUSED;
}

#define ERR(status, ...)                           \
	do {                                       \
		err_set(err, EINVAL, __VA_ARGS__); \
		return (status);                   \
	} while (0)

/* An op failed: 500 with its reason (or a generic one if it gave none). */
static int op_failed(int rc, const char *what, struct err *err)
{
	if (!err->code)
		err_set(err, EINVAL, "%s failed: %s", what, strerror(-rc));
	return 500;
}

/* Stop the VM if one runs; state becomes Created. */
static int vm_stop(struct api_server *a, struct err *err)
{
	if (!vm_active(a))
		return 204;
	int rc = a->ops->shutdown(a->ops_ctx, err);
	if (rc < 0)
		return op_failed(rc, "shutdown", err);
	a->state = VM_STATE_CREATED;
	emit(a, "vm", "shutdown");
	return 204;
}

/* Store cfg (taken over on success) as the VM's config. */
static int vm_create_locked(struct api_server *a, struct vm_config *cfg, struct err *err)
{
	int rc;

	if (a->state != VM_STATE_NONE)
		ERR(500, "VM is already created");
	if (a->ops->create && (rc = a->ops->create(a->ops_ctx, cfg, err)) < 0)
		return op_failed(rc, "create", err);
	a->config = *cfg;
	vm_config_init(cfg);
	a->state = VM_STATE_CREATED;
	return 204;
}

int api_vm_create(struct api_server *a, struct vm_config *cfg, struct err *err)
{
	*err = (struct err){ 0 };
	pthread_mutex_lock(&a->lock);
	int status = vm_create_locked(a, cfg, err);
	pthread_mutex_unlock(&a->lock);
	return status;
}

static int vm_boot_locked(struct api_server *a, struct err *err)
{
	struct err verr = { 0 };
	int rc;

	if (a->state == VM_STATE_NONE)
		ERR(404, "VM is not created");
	if (vm_active(a))
		ERR(500, "VM is already running");
	if (vm_config_validate(&a->config, &verr) < 0)
		ERR(400, "invalid VM configuration: %.200s", verr.msg);
	emit(a, "vm", "booting");
	rc = a->ops->boot(a->ops_ctx, &a->config, err);
	if (rc < 0)
		return op_failed(rc, "boot", err);
	a->state = VM_STATE_RUNNING;
	emit(a, "vm", "booted");
	return 204;
}

int api_vm_boot(struct api_server *a, struct err *err)
{
	*err = (struct err){ 0 };
	pthread_mutex_lock(&a->lock);
	int status = vm_boot_locked(a, err);
	pthread_mutex_unlock(&a->lock);
	return status;
}

static int vm_delete_locked(struct api_server *a, struct err *err)
{
	int status = vm_stop(a, err);
	if (status >= 300)
		return status;
	if (a->state != VM_STATE_NONE) {
		vm_config_free(&a->config);
		a->state = VM_STATE_NONE;
		emit(a, "vm", "deleted");
	}
	return 204;
}

int api_vm_delete(struct api_server *a, struct err *err)
{
	*err = (struct err){ 0 };
	pthread_mutex_lock(&a->lock);
	int status = vm_delete_locked(a, err);
	pthread_mutex_unlock(&a->lock);
	return status;
}

void api_vm_guest_exited(struct api_server *a)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	pthread_mutex_lock(&a->lock);
	if (vm_stop(a, err) >= 300)
		log_msg(LV_ERROR, "api", "shutting the VM down after guest exit: %s", err->msg);
	pthread_mutex_unlock(&a->lock);
}

/* ---- responses ---- */

static void reply_json(struct http_response *r, int status, json_t *v)
{
	r->status = status;
	r->body = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	r->body_len = r->body ? strlen(r->body) : 0;
	json_decref(v);
	if (v && !r->body) {
		r->status = 500;
		r->close = true;
	}
}

/* cloud-hypervisor's error body: the error chain as a JSON array of strings. */
static void reply_error(struct http_response *r, int status, const char *context, const char *cause)
{
	json_t *a = json_array();
	if (a) {
		json_array_append_new(a, json_string(context));
		if (cause && *cause)
			json_array_append_new(a, json_string(cause));
	}
	reply_json(r, status, a);
	r->status = status;
}

/* 2xx from an action: 204 (or the given status) without a body; else the
 * error chain. */
static void reply_status(struct http_response *r, int status, const char *context,
			 const struct err *err)
{
	if (status < 300) {
		r->status = status;
		return;
	}
	reply_error(r, status, context, err->msg);
}

/* ---- endpoints ---- */

typedef void (*endpoint_fn)(struct api_server *a, const struct http_request *req,
			    struct http_response *r);

static void ep_ping(struct api_server *a, const struct http_request *req, struct http_response *r)
{
	(void)a;
	(void)req;
	reply_json(r, 200,
		   json_pack("{s:s,s:s,s:I,s:[s]}", "build_version", "svmm v" SVMM_VERSION,
			     "version", SVMM_VERSION, "pid", (json_int_t)getpid(), "features",
			     "kvm"));
}

static void vmm_exit_after_flush(struct api_server *a)
{
	http_server_after_flush(&a->http);
}

static void ep_vmm_shutdown(struct api_server *a, const struct http_request *req,
			    struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	(void)req;
	int status = vm_delete_locked(a, err);
	if (status >= 300) {
		reply_error(r, status, "Error shutting down the VMM", err->msg);
		return;
	}
	emit(a, "vmm", "shutdown");
	/* cloud-hypervisor answers 200 with no body, then exits. */
	r->status = 200;
	r->close = true;
	vmm_exit_after_flush(a);
}

static void ep_create(struct api_server *a, const struct http_request *req, struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	struct vm_config cfg;

	if (!req->body_len) {
		reply_error(r, 400, "Error creating the VM", "a VmConfig JSON body is required");
		return;
	}
	if (a->state != VM_STATE_NONE) {
		reply_error(r, 500, "Error creating the VM", "VM is already created");
		return;
	}
	vm_config_init(&cfg);
	int rc = vm_config_from_json_text(&cfg, req->body, req->body_len, err);
	if (rc < 0) {
		vm_config_free(&cfg);
		reply_error(r, rc == -ENOMEM ? 500 : 400, "Error parsing the VmConfig",
			    rc == -ENOMEM ? "out of memory" : err->msg);
		return;
	}
	int status = vm_create_locked(a, &cfg, err);
	vm_config_free(&cfg); /* empty when it was taken over */
	reply_status(r, status, "Error creating the VM", err);
}

static void ep_boot(struct api_server *a, const struct http_request *req, struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	(void)req;
	reply_status(r, vm_boot_locked(a, err), "Error booting the VM", err);
}

static void ep_info(struct api_server *a, const struct http_request *req, struct http_response *r)
{
	(void)req;
	if (a->state == VM_STATE_NONE) {
		reply_error(r, 404, "Error getting the VM info", "VM is not created");
		return;
	}
	json_t *cfg = vm_config_to_json(&a->config);
	json_t *tree = json_null();
	if (vm_active(a)) {
		tree = a->ops->device_tree ? a->ops->device_tree(a->ops_ctx) : NULL;
		if (!tree)
			tree = json_object();
	}
	uint64_t actual = a->config.memory.size + a->config.memory.hotplugged_size;
	if (!cfg) {
		json_decref(tree);
		reply_error(r, 500, "Error getting the VM info", "out of memory");
		return;
	}
	reply_json(r, 200,
		   json_pack("{s:o,s:s,s:I,s:o}", "config", cfg, "state", vm_state_name(a->state),
			     "memory_actual_size", (json_int_t)actual, "device_tree", tree));
}

static void ep_counters(struct api_server *a, const struct http_request *req,
			struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	json_t *out = NULL;
	(void)req;
	if (a->state == VM_STATE_NONE) {
		reply_error(r, 404, "Error getting the VM counters", "VM is not created");
		return;
	}
	if (!vm_active(a)) {
		reply_error(r, 500, "Error getting the VM counters", "VM is not running");
		return;
	}
	int rc = a->ops->counters(a->ops_ctx, &out, err);
	if (rc < 0) {
		reply_error(r, op_failed(rc, "counters", err), "Error getting the VM counters",
			    err->msg);
		return;
	}
	reply_json(r, 200, out ? out : json_object());
}

/* The simple transitions: pause, resume, reboot, power-button, shutdown, nmi. */
enum simple_action { ACT_SHUTDOWN, ACT_REBOOT, ACT_POWER_BUTTON, ACT_PAUSE, ACT_RESUME, ACT_NMI };

static int simple_locked(struct api_server *a, enum simple_action act, struct err *err)
{
	const struct vmm_ops *o = a->ops;
	int rc;

	if (a->state == VM_STATE_NONE)
		ERR(404, "VM is not created");
	if (!vm_active(a))
		ERR(500, "VM is not running");
	switch (act) {
	case ACT_SHUTDOWN:
		return vm_stop(a, err);
	case ACT_REBOOT:
		if (a->state != VM_STATE_RUNNING)
			ERR(500, "VM is paused: resume it first");
		emit(a, "vm", "rebooting");
		if ((rc = o->reboot(a->ops_ctx, err)) < 0)
			return op_failed(rc, "reboot", err);
		emit(a, "vm", "rebooted");
		return 204;
	case ACT_POWER_BUTTON:
		if ((rc = o->power_button(a->ops_ctx, err)) < 0)
			return op_failed(rc, "power button", err);
		return 204;
	case ACT_PAUSE:
		if (a->state == VM_STATE_PAUSED)
			ERR(500, "VM is already paused");
		emit(a, "vm", "pausing");
		if ((rc = o->pause(a->ops_ctx, err)) < 0)
			return op_failed(rc, "pause", err);
		a->state = VM_STATE_PAUSED;
		emit(a, "vm", "paused");
		return 204;
	case ACT_RESUME:
		if (a->state != VM_STATE_PAUSED)
			ERR(500, "VM is not paused");
		emit(a, "vm", "resuming");
		if ((rc = o->resume(a->ops_ctx, err)) < 0)
			return op_failed(rc, "resume", err);
		a->state = VM_STATE_RUNNING;
		emit(a, "vm", "resumed");
		return 204;
	case ACT_NMI:
		if (!o->nmi)
			ERR(500, "NMI injection is not supported by this VMM");
		if ((rc = o->nmi(a->ops_ctx, err)) < 0)
			return op_failed(rc, "nmi", err);
		return 204;
	}
	return 500;
}

#define SIMPLE_EP(fn, act, context)                                          \
	static void fn(struct api_server *a, const struct http_request *req, \
		       struct http_response *r)                              \
	{                                                                    \
		struct err err_buf = { 0 }, *err = &err_buf;                 \
		(void)req;                                                   \
		reply_status(r, simple_locked(a, act, err), context, err);   \
	}
SIMPLE_EP(ep_shutdown, ACT_SHUTDOWN, "Error shutting down the VM")
SIMPLE_EP(ep_reboot, ACT_REBOOT, "Error rebooting the VM")
SIMPLE_EP(ep_power_button, ACT_POWER_BUTTON, "Error pressing the power button of the VM")
SIMPLE_EP(ep_pause, ACT_PAUSE, "Error pausing the VM")
SIMPLE_EP(ep_resume, ACT_RESUME, "Error resuming the VM")
SIMPLE_EP(ep_nmi, ACT_NMI, "Error injecting an NMI")

static void ep_delete(struct api_server *a, const struct http_request *req, struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	(void)req;
	reply_status(r, vm_delete_locked(a, err), "Error deleting the VM", err);
}

/*
 * vm.add-*: before boot, cloud-hypervisor adds the device to the stored
 * config (204); on a running VM it hotplugs, which svmm does not do yet
 * (500, the code cloud-hypervisor gives a VMM-side failure).
 */
static int add_precheck(struct api_server *a, const struct http_request *req, struct err *err)
{
	if (a->state == VM_STATE_NONE)
		ERR(404, "VM is not created");
	if (vm_active(a))
		ERR(500, "device hotplug is not supported by svmm: add it before vm.boot");
	if (!req->body_len)
		ERR(400, "a device configuration JSON body is required");
	return 0;
}

static json_t *load_body(const struct http_request *req, struct err *err)
{
	json_error_t je;
	json_t *o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		err_set(err, EINVAL, "invalid JSON at line %d column %d: %.150s", je.line,
			je.column, je.text);
	return o;
}

/* A device entry's file descriptors from the request (SCM_RIGHTS): a net
 * entry's TAP queues, as Kata passes them with vm.add-net. They replace
 * any "fds" of the body and are the entry's (then the device's) from here. */
static int net_take_fds(struct net_config *n, const struct http_request *req, struct err *err)
{
	if (!req->n_fds)
		return 0;
	int *a = calloc(req->n_fds, sizeof(int));
	if (!a)
		return err_set(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < req->n_fds; i++) {
		a[i] = req->fds[i];
		req->fds[i] = -1;
	}
	free(n->fds);
	n->fds = a;
	n->n_fds = req->n_fds;
	return 0;
}

#define NO_FDS(e, req, err) 0

#define HOT(kind)                                                                      \
	static int hot_##kind(struct api_server *a, const void *e, unsigned int *slot, \
			      struct err *err)                                         \
	{                                                                              \
		return a->ops->hot_add(a->ops_ctx, kind, e, slot, err);                \
	}
HOT(VM_DEV_DISK)
HOT(VM_DEV_NET)
HOT(VM_DEV_FS)
HOT(VM_DEV_VFIO)

/* For pmem, which svmm does not have: never called (can_hot false). */
static int hot_none(struct api_server *a, const void *e, unsigned int *slot, struct err *err)
{
	(void)a, (void)e, (void)slot;
	return err_set(err, -ENOTSUP, "not supported");
}

/*
 * vm.add-*: before boot the device goes into the stored config (204); on a
 * running VM it is hotplugged through the op hot (NULL: not supported, 500)
 * and the answer is cloud-hypervisor's PciDeviceInfo (200). A body that
 * does not parse is a 400; a refused hotplug leaves the config as it was.
 */
#define ADD_EP(fn, type, count, adder, parser, freer, name, can_hot, hot, take)               \
	static void fn(struct api_server *a, const struct http_request *req,                  \
		       struct http_response *r)                                               \
	{                                                                                     \
		struct err err_buf = { 0 }, *err = &err_buf;                                  \
		bool live = vm_active(a);                                                     \
		unsigned int slot = 0;                                                        \
		type *e = NULL;                                                               \
		json_t *o = NULL;                                                             \
		int st = 0, rc;                                                               \
		if (a->state == VM_STATE_NONE) {                                              \
			st = 404;                                                             \
			err_set(err, ENOENT, "VM is not created");                            \
		} else if (live && !(can_hot)) {                                              \
			st = 500;                                                             \
			err_set(err, ENOTSUP,                                                 \
				"hotplug is not supported by this VMM: add the " name         \
				" before vm.boot");                                           \
		} else if (!req->body_len) {                                                  \
			st = 400;                                                             \
			err_set(err, EINVAL, "a device configuration JSON body is required"); \
		} else if (!(o = load_body(req, err))) {                                      \
			st = 400;                                                             \
		} else if (!(e = adder(&a->config))) {                                        \
			st = 500;                                                             \
			err_set(err, ENOMEM, "out of memory");                                \
		} else if (parser(e, o, name, err) < 0 || take(e, req, err) < 0 ||            \
			   vm_config_complete(&a->config) < 0 ||                              \
			   (live && vm_config_validate(&a->config, err) < 0)) {               \
			st = 400;                                                             \
		} else if (live && (rc = hot(a, e, &slot, err)) < 0) {                        \
			st = op_failed(rc, "add-" name, err);                                 \
		}                                                                             \
		if (st && e) {                                                                \
			freer(e);                                                             \
			a->config.count--;                                                    \
		}                                                                             \
		json_decref(o);                                                               \
		if (st || !live) {                                                            \
			reply_status(r, st ? st : 204, "Error adding a " name, err);          \
			return;                                                               \
		}                                                                             \
		char bdf[16];                                                                 \
		snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", slot);                           \
		emit(a, "vm", "device-added");                                                \
		reply_json(r, 200, json_pack("{s:s,s:s}", "id", e->id, "bdf", bdf));          \
	}
ADD_EP(ep_add_disk, struct disk_config, n_disks, vm_config_add_disk, disk_config_from_json,
       disk_config_free, "disk", a->ops->hot_add, hot_VM_DEV_DISK, NO_FDS)
ADD_EP(ep_add_net, struct net_config, n_net, vm_config_add_net, net_config_from_json,
       net_config_free, "net", a->ops->hot_add, hot_VM_DEV_NET, net_take_fds)
ADD_EP(ep_add_fs, struct fs_config, n_fs, vm_config_add_fs, fs_config_from_json, fs_config_free,
       "fs", a->ops->hot_add, hot_VM_DEV_FS, NO_FDS)
ADD_EP(ep_add_pmem, struct pmem_config, n_pmem, vm_config_add_pmem, pmem_config_from_json,
       pmem_config_free, "pmem", false, hot_none, NO_FDS)
ADD_EP(ep_add_device, struct device_config, n_devices, vm_config_add_device,
       device_config_from_json, device_config_free, "device", a->ops->hot_add, hot_VM_DEV_VFIO,
       NO_FDS)
static void ep_add_vsock(struct api_server *a, const struct http_request *req,
			 struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	bool live = vm_active(a);
	struct vsock_config v;
	unsigned int slot = 0;
	int st = 0, rc;
	json_t *o = NULL;

	if (a->state == VM_STATE_NONE) {
		st = 404;
		err_set(err, ENOENT, "VM is not created");
	} else if (live && !a->ops->hot_add) {
		st = 500;
		err_set(err, ENOTSUP, "hotplug is not supported by this VMM");
	} else if (!req->body_len) {
		st = 400;
		err_set(err, EINVAL, "a device configuration JSON body is required");
	} else if (a->config.has_vsock) {
		st = 400;
		err_set(err, EINVAL, "only one vsock device is allowed");
	} else if (!(o = load_body(req, err))) {
		st = 400;
	}
	if (!st) {
		vsock_config_init(&v);
		if (vsock_config_from_json(&v, o, "vsock", err) < 0) {
			vsock_config_free(&v);
			st = 400;
		} else {
			a->config.vsock = v;
			a->config.has_vsock = true;
			if (vm_config_complete(&a->config) < 0 ||
			    (live && vm_config_validate(&a->config, err) < 0))
				st = 400;
			else if (live && (rc = a->ops->hot_add(a->ops_ctx, VM_DEV_VSOCK,
							       &a->config.vsock, &slot, err)) < 0)
				st = op_failed(rc, "add-vsock", err);
			if (st) {
				vsock_config_free(&a->config.vsock);
				a->config.has_vsock = false;
			}
		}
	}
	json_decref(o);
	if (st || !live) {
		reply_status(r, st ? st : 204, "Error adding a vsock device", err);
		return;
	}
	char bdf[16];
	snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", slot);
	emit(a, "vm", "device-added");
	reply_json(r, 200, json_pack("{s:s,s:s}", "id", a->config.vsock.id, "bdf", bdf));
}

/* Remove a device by id from the stored config (before boot). */
static bool remove_by_id(struct vm_config *c, const char *id)
{
#define TRY_LIST(list, count, freer)                                      \
	for (size_t i = 0; i < c->count; i++) {                           \
		if (c->list[i].id && !strcmp(c->list[i].id, id)) {        \
			freer(&c->list[i]);                               \
			memmove(&c->list[i], &c->list[i + 1],             \
				(c->count - i - 1) * sizeof(c->list[0])); \
			c->count--;                                       \
			return true;                                      \
		}                                                         \
	}
	TRY_LIST(disks, n_disks, disk_config_free)
	TRY_LIST(net, n_net, net_config_free)
	TRY_LIST(fs, n_fs, fs_config_free)
	TRY_LIST(pmem, n_pmem, pmem_config_free)
	TRY_LIST(devices, n_devices, device_config_free)
#undef TRY_LIST
	if (c->has_vsock && c->vsock.id && !strcmp(c->vsock.id, id)) {
		vsock_config_free(&c->vsock);
		c->has_vsock = false;
		return true;
	}
	return false;
}

static void ep_remove_device(struct api_server *a, const struct http_request *req,
			     struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	const char *ctx = "Error removing a device";
	int st = add_precheck(a, req, err);
	json_t *o = NULL, *id;

	bool hot = st == 500 && vm_active(a) && a->ops->remove_device;

	if (hot) {
		st = 0;
		*err = (struct err){ 0 };
	} else if (st == 500) {
		err_set(err, EINVAL, "device hot-unplug is not supported by this VMM");
	}
	if (!st && !(o = load_body(req, err)))
		st = 400;
	if (!st && !json_is_string(id = json_object_get(o, "id"))) {
		st = 400;
		err_set(err, EINVAL, "id: expected string");
	}
	if (!st && hot) {
		/* the guest is asked to eject it; the VMM frees it at _EJ0 */
		int rc = a->ops->remove_device(a->ops_ctx, json_string_value(id), err);
		if (rc < 0)
			st = rc == -ENOENT ? 404 : op_failed(rc, "remove-device", err);
	}
	if (!st && !remove_by_id(&a->config, json_string_value(id))) {
		st = 404;
		err_set(err, EINVAL, "no device with id '%.100s'", json_string_value(id));
	}
	json_decref(o);
	reply_status(r, st ? st : 204, ctx, err);
}

/* Endpoints cloud-hypervisor has and svmm does not implement. */
/* ---- vm.snapshot and vm.restore ---- */

const char *api_snapshot_url_path(const char *url)
{
	static const char scheme[] = "file://";

	if (!url || strncmp(url, scheme, strlen(scheme)))
		return NULL;
	const char *p = url + strlen(scheme);
	if (p[0] != '/' || strlen(p) >= 4000)
		return NULL;
	return p;
}

static void ep_snapshot(struct api_server *a, const struct http_request *req,
			struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	const char *ctx = "Error creating the snapshot";
	json_t *o = NULL, *u;
	const char *dir = NULL;
	int st = 0, rc;

	if (a->state == VM_STATE_NONE) {
		st = 404;
		err_set(err, EINVAL, "VM is not created");
	} else if (!(o = load_body(req, err))) {
		st = 400;
	} else if (!json_is_string(u = json_object_get(o, "destination_url"))) {
		st = 400;
		err_set(err, EINVAL, "destination_url: expected string");
	} else if (!(dir = api_snapshot_url_path(json_string_value(u)))) {
		st = 400;
		err_set(err, EINVAL, "destination_url '%.200s': expected file:///ABSOLUTE/PATH",
			json_string_value(u));
	} else if (a->state != VM_STATE_PAUSED) {
		st = 500;
		err_set(err, EINVAL, "VM is not paused: pause it before a snapshot");
	} else if (!a->ops->snapshot) {
		st = 500;
		err_set(err, ENOTSUP, "snapshots are not supported by this VMM");
	} else if (emit(a, "vm", "snapshotting"),
		   (rc = a->ops->snapshot(a->ops_ctx, dir, err)) < 0) {
		st = op_failed(rc, "snapshot", err);
	} else {
		emit(a, "vm", "snapshotted");
	}
	json_decref(o);
	reply_status(r, st ? st : 204, ctx, err);
}

/* Read DIR/config.json into c. */
static int load_snapshot_config(const char *dir, struct vm_config *c, struct err *err)
{
	char path[4096];
	FILE *f;
	char *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "re");
	if (!f)
		return err_sys(err, errno, "%s", path);
	FILE *m = open_memstream(&text, &len);
	char buf[8192];
	size_t n;
	while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (4u << 20))
		fwrite(buf, 1, n, m);
	fclose(f);
	if (!m)
		return err_set(err, ENOMEM, "out of memory");
	fclose(m);
	if (len >= (4u << 20)) {
		free(text);
		return err_set(err, EFBIG, "%s: larger than 4 MiB", path);
	}
	rc = vm_config_from_json_text(c, text, len, err);
	free(text);
	if (rc < 0)
		return err_wrap(err, "%s", path);
	if ((rc = vm_config_validate(c, err)) < 0)
		return err_wrap(err, "%s", path);
	return 0;
}

static int vm_restore_locked(struct api_server *a, const char *url, bool prefault, struct err *err)
{
	const char *dir = api_snapshot_url_path(url);
	struct vm_config cfg;
	char state[4096];
	int rc;

	if (!dir)
		ERR(400, "source_url '%.200s': expected file:///ABSOLUTE/PATH", url ? url : "");
	if (a->state != VM_STATE_NONE)
		ERR(500, "VM is already created");
	if (!a->ops->restore)
		ERR(500, "restore is not supported by this VMM");
	snprintf(state, sizeof(state), "%s/state.bin", dir);
	if (access(state, R_OK) < 0) {
		err_sys(err, errno, "%s: no complete snapshot there", dir);
		return 404;
	}
	vm_config_init(&cfg);
	if ((rc = load_snapshot_config(dir, &cfg, err)) < 0) {
		vm_config_free(&cfg);
		return rc == -ENOENT ? 404 : 400;
	}
	a->config = cfg; /* the ops see it where boot does */
	a->state = VM_STATE_CREATED;
	emit(a, "vm", "restoring");
	if ((rc = a->ops->restore(a->ops_ctx, &a->config, dir, prefault, err)) < 0) {
		vm_config_free(&a->config);
		vm_config_init(&a->config);
		a->state = VM_STATE_NONE;
		return op_failed(rc, "restore", err);
	}
	a->state = VM_STATE_PAUSED;
	emit(a, "vm", "restored");
	return 204;
}

int api_vm_restore(struct api_server *a, const char *source_url, bool prefault, struct err *err)
{
	pthread_mutex_lock(&a->lock);
	int st = vm_restore_locked(a, source_url, prefault, err);
	pthread_mutex_unlock(&a->lock);
	return st;
}

static void ep_restore(struct api_server *a, const struct http_request *req,
		       struct http_response *r)
{
	struct err err_buf = { 0 }, *err = &err_buf;
	json_t *o = load_body(req, err), *u, *pf;
	int st;

	if (!o) {
		st = 400;
	} else if (!json_is_string(u = json_object_get(o, "source_url"))) {
		st = 400;
		err_set(err, EINVAL, "source_url: expected string");
	} else if ((pf = json_object_get(o, "prefault")) && !json_is_boolean(pf)) {
		st = 400;
		err_set(err, EINVAL, "prefault: expected boolean");
	} else {
		st = vm_restore_locked(a, json_string_value(u), pf && json_is_true(pf), err);
	}
	json_decref(o);
	reply_status(r, st, "Error restoring the VM", err);
}

static void ep_unsupported(struct api_server *a, const struct http_request *req,
			   struct http_response *r)
{
	char msg[256];
	(void)a;
	snprintf(msg, sizeof(msg), "%.100s is not supported by svmm",
		 req->path + strlen(API_PREFIX));
	reply_error(r, 500, "Error handling the request", msg);
}

static void ep_add_unsupported(struct api_server *a, const struct http_request *req,
			       struct http_response *r)
{
	if (a->state == VM_STATE_NONE) {
		reply_error(r, 404, "Error adding a device", "VM is not created");
		return;
	}
	ep_unsupported(a, req, r);
}

static const struct route {
	const char *name;
	const char *method;
	endpoint_fn fn;
} routes[] = {
	{ "vmm.ping", "GET", ep_ping },
	{ "vmm.shutdown", "PUT", ep_vmm_shutdown },
	{ "vm.create", "PUT", ep_create },
	{ "vm.boot", "PUT", ep_boot },
	{ "vm.info", "GET", ep_info },
	{ "vm.counters", "GET", ep_counters },
	{ "vm.shutdown", "PUT", ep_shutdown },
	{ "vm.reboot", "PUT", ep_reboot },
	{ "vm.power-button", "PUT", ep_power_button },
	{ "vm.pause", "PUT", ep_pause },
	{ "vm.resume", "PUT", ep_resume },
	{ "vm.delete", "PUT", ep_delete },
	{ "vm.nmi", "PUT", ep_nmi },
	{ "vm.add-disk", "PUT", ep_add_disk },
	{ "vm.add-net", "PUT", ep_add_net },
	{ "vm.add-fs", "PUT", ep_add_fs },
	{ "vm.add-pmem", "PUT", ep_add_pmem },
	{ "vm.add-vsock", "PUT", ep_add_vsock },
	{ "vm.add-device", "PUT", ep_add_device }, /* before boot: no hotplug */
	{ "vm.add-user-device", "PUT", ep_add_unsupported },
	{ "vm.add-vdpa", "PUT", ep_add_unsupported },
	{ "vm.add-generic-vhost-user", "PUT", ep_add_unsupported },
	{ "vm.remove-device", "PUT", ep_remove_device },
	{ "vm.resize", "PUT", ep_unsupported },
	{ "vm.resize-disk", "PUT", ep_unsupported },
	{ "vm.resize-zone", "PUT", ep_unsupported },
	{ "vm.snapshot", "PUT", ep_snapshot },
	{ "vm.restore", "PUT", ep_restore },
	{ "vm.coredump", "PUT", ep_unsupported },
	{ "vm.send-migration", "PUT", ep_unsupported },
	{ "vm.receive-migration", "PUT", ep_unsupported },
};

void api_handle(void *server, const struct http_request *req, struct http_response *r)
{
	struct api_server *a = server;
	char name[HTTP_MAX_PATH];

	/* Routes are exact matches on the path; a query string is ignored. */
	if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX))) {
		reply_error(r, 404, "Not found", req->path);
		return;
	}
	snprintf(name, sizeof(name), "%s", req->path + strlen(API_PREFIX));
	name[strcspn(name, "?")] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].name, name))
			continue;
		if (strcmp(routes[i].method, req->method)) {
			char msg[HTTP_MAX_METHOD + 64];
			snprintf(msg, sizeof(msg), "%s takes %s, not %s", routes[i].name,
				 routes[i].method, req->method);
			reply_error(r, 405, "Method not allowed", msg);
			r->allow = routes[i].method;
			return;
		}
		pthread_mutex_lock(&a->lock);
		routes[i].fn(a, req, r);
		pthread_mutex_unlock(&a->lock);
		return;
	}
	reply_error(r, 404, "Not found", req->path);
}

/* ---- the API thread ---- */

static void api_flushed(void *server)
{
	struct api_server *a = server;
	uint64_t one = 1;
	if (write(a->exit_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write only fails on overflow */
	}
}

int api_server_init(struct api_server *a, int listen_fd, const char *path,
		    const struct vmm_ops *ops, void *ops_ctx, struct event_monitor *events)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->ops = ops;
	a->ops_ctx = ops_ctx;
	a->events = events;
	a->state = VM_STATE_NONE;
	vm_config_init(&a->config);
	a->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->exit_fd < 0)
		return -errno;
	a->http.listen_fd = a->http.epoll_fd = a->http.stop_fd = -1;
	if (listen_fd >= 0) {
		rc = http_server_init(&a->http, listen_fd, path, api_handle, api_flushed, a);
		if (rc < 0) {
			close(a->exit_fd);
			return rc;
		}
		a->has_http = true;
	}
	pthread_mutex_init(&a->lock, NULL);
	return 0;
}

static void *api_thread(void *arg)
{
	struct api_server *a = arg;
	int rc = http_server_run(&a->http);
	if (rc < 0)
		log_msg(LV_ERROR, "api", "API server stopped: %s", strerror(-rc));
	return NULL;
}

int api_server_start(struct api_server *a)
{
	if (!a->has_http)
		return 0;
	int rc = pthread_create(&a->thread, NULL, api_thread, a);
	if (rc)
		return -rc;
	a->thread_running = true;
	return 0;
}

int api_server_exit_fd(struct api_server *a)
{
	return a->exit_fd;
}

void api_server_destroy(struct api_server *a)
{
	struct err err_buf = { 0 }, *err = &err_buf;

	if (a->thread_running) {
		http_server_stop(&a->http);
		pthread_join(a->thread, NULL);
		a->thread_running = false;
	}
	if (api_vm_delete(a, err) >= 300)
		log_msg(LV_ERROR, "api", "deleting the VM: %s", err->msg);
	if (a->has_http)
		http_server_close(&a->http);
	close(a->exit_fd);
	pthread_mutex_destroy(&a->lock);
}
