// SPDX-License-Identifier: Apache-2.0
/* The REST API's VM operations on the VMM core. */
#include "vmm/api/api_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "vmm/api/metrics.h"
#include "vmm/config/config.h"
#include "vmm/confine.h"
#include "vmm/devices.h"
#include "vmm/kvm/log.h"
#include "vmm/vm.h"

struct api_vm {
	struct vm_params params;
	struct vm_ctl ctl;
	struct chardev serial;
	bool serial_open, running;
	pthread_t thread;
	int exit_efd;	     /* written when the guest ended the VM itself */
	bool stop_requested; /* under ctl.lock: the API stops it (vm.shutdown) */
	int status;
	struct err err;
	int statm_fd;		/* /proc/self/statm, opened before Landlock: the RSS */
	char restore_dir[4096]; /* vm.restore's, while the VM runs */
};

static void *vm_thread(void *arg)
{
	struct api_vm *v = arg;
	uint64_t one = 1;

	v->status = vm_run(&v->params, &v->err);
	if (v->err.code)
		log_msg(LV_ERROR, "vm", "%s", v->err.msg);
	/* A VM that never ran failed its boot: vm.boot reports that, and the
	 * VMM goes on serving. One that ran and ended is the guest's exit,
	 * unless the API stopped it (vm.shutdown, vm.delete: the VMM stays). */
	pthread_mutex_lock(&v->ctl.lock);
	bool ran = v->ctl.ran && !v->stop_requested;
	pthread_mutex_unlock(&v->ctl.lock);
	if (ran && write(v->exit_efd, &one, sizeof(one)) < 0)
		log_msg(LV_ERROR, "api", "exit eventfd: %s", strerror(errno));
	return NULL;
}

static void release(struct api_vm *v)
{
	if (v->running) {
		pthread_join(v->thread, NULL);
		v->running = false;
	}
	if (v->serial_open)
		chardev_close(&v->serial);
	v->serial_open = false;
	uint64_t n;
	if (read(v->exit_efd, &n, sizeof(n)) < 0) {
		/* nonblocking: nothing pending is fine */
	}
}

static int start(struct api_vm *v, const struct vm_config *cfg, const char *restore_dir,
		 bool prefault, struct err *err);

static int op_boot(void *ctx, const struct vm_config *cfg, struct err *err)
{
	return start(ctx, cfg, NULL, false, err);
}

/* vm.restore: the VM of the snapshot's configuration, from its state; it
 * comes up paused (vm_params.restore_dir). */
static int op_restore(void *ctx, const struct vm_config *cfg, const char *dir, bool prefault,
		      struct err *err)
{
	struct api_vm *v = ctx;

	snprintf(v->restore_dir, sizeof(v->restore_dir), "%s", dir);
	return start(v, cfg, v->restore_dir, prefault, err);
}

static int op_snapshot(void *ctx, const char *dir, struct err *err)
{
	struct api_vm *v = ctx;

	return vm_ctl_snapshot(&v->ctl, dir, err);
}

static int start(struct api_vm *v, const struct vm_config *cfg, const char *restore_dir,
		 bool prefault, struct err *err)
{
	int rc;

	if (v->running)
		return err_set(err, -EBUSY, "a VM is already running");
	if (!cfg->payload.kernel)
		return err_set(err, -ENOTSUP, "payload.kernel: svmm boots a kernel (no firmware)");
	memset(&v->params, 0, sizeof(v->params));
	clock_gettime(CLOCK_MONOTONIC, &v->params.start);
	vm_params_from_config(&v->params, cfg);
	v->params.no_signals = true;
	v->params.ctl = &v->ctl;
	v->params.restore_dir = restore_dir;
	v->params.restore_prefault = prefault;
	if ((rc = vm_serial_opts(&cfg->serial, &v->serial, err)) ||
	    (rc = chardev_open(&v->serial, err)))
		return rc;
	v->serial_open = true;
	v->params.serial = &v->serial;
	/* --landlock: this thread and the VM's, from here on */
	if ((rc = vm_confine_dir(cfg, restore_dir, err)) < 0) {
		release(v);
		return rc;
	}

	v->ctl.state = VM_CTL_STARTING;
	v->ctl.ran = false;
	v->stop_requested = false;
	v->ctl.err = (struct err){ 0 };
	v->err = (struct err){ 0 };
	rc = -pthread_create(&v->thread, NULL, vm_thread, v);
	if (rc) {
		release(v);
		return err_set(err, rc, "VM thread: %s", strerror(-rc));
	}
	v->running = true;
	rc = vm_ctl_wait_started(&v->ctl, err);
	if (rc)
		release(v);
	return rc;
}

/* Stop the VM on the API's request: its end is no guest exit. */
static void stop(struct api_vm *v)
{
	pthread_mutex_lock(&v->ctl.lock);
	v->stop_requested = true;
	pthread_mutex_unlock(&v->ctl.lock);
	vm_ctl_request(&v->ctl, VM_CTL_SHUTDOWN); /* -ESRCH: it ended already */
	release(v);
}

static int op_shutdown(void *ctx, struct err *err)
{
	(void)err;
	stop(ctx);
	return 0;
}

static int request(struct api_vm *v, enum vm_ctl_op op, struct err *err)
{
	int rc = vm_ctl_request(&v->ctl, op);
	if (rc)
		err_set(err, rc, "the VM is not running");
	return rc;
}

static int op_reboot(void *ctx, struct err *err)
{
	return request(ctx, VM_CTL_REBOOT, err);
}

static int op_power_button(void *ctx, struct err *err)
{
	return request(ctx, VM_CTL_POWER_BUTTON, err);
}

/* pause and resume: what vm_ctl_request says, in words. */
static int pause_resume(struct api_vm *v, enum vm_ctl_op op, struct err *err)
{
	const char *what = op == VM_CTL_PAUSE ? "pausing" : "resuming";
	int rc = vm_ctl_request(&v->ctl, op);

	if (rc == -ESRCH || rc == -ESHUTDOWN)
		err_set(err, rc, "the VM is not running");
	else if (rc == -EALREADY)
		err_set(err, rc, "the VM is %s",
			op == VM_CTL_PAUSE ? "already paused" : "not paused");
	else if (rc)
		err_set(err, rc, "%s the VM: %s", what, strerror(-rc));
	return rc;
}

static int op_pause(void *ctx, struct err *err)
{
	return pause_resume(ctx, VM_CTL_PAUSE, err);
}

static int op_resume(void *ctx, struct err *err)
{
	return pause_resume(ctx, VM_CTL_RESUME, err);
}

static int op_hot_add(void *ctx, enum vm_device_kind kind, const void *cfg, unsigned int *slot,
		      struct err *err)
{
	return vm_ctl_hot_add(&((struct api_vm *)ctx)->ctl, kind, cfg, slot, err);
}

static int op_remove_device(void *ctx, const char *id, struct err *err)
{
	return vm_ctl_remove_device(&((struct api_vm *)ctx)->ctl, id, err);
}

int api_vm_collect(void *ctx, struct ctr_set *out)
{
	return vm_ctl_counters(&((struct api_vm *)ctx)->ctl, out);
}

/* Every device's group, the vCPUs', and the process's (vmm/api/metrics.h). */
static int op_counters(void *ctx, json_t **out, struct err *err)
{
	struct ctr_set s = { 0 };
	int rc;

	api_vm_collect(ctx, &s); /* -ESRCH between boots: only the process */
	metrics_process(&s, ((struct api_vm *)ctx)->statm_fd);
	if (!(rc = ctr_set_rc(&s)))
		rc = metrics_json(&s, out);
	ctr_set_free(&s);
	if (rc)
		err_set(err, rc, "counters: %s", strerror(-rc));
	return rc;
}

static int op_exit_fd(void *ctx)
{
	return ((struct api_vm *)ctx)->exit_efd;
}

const struct vmm_ops api_vm_ops = {
	.boot = op_boot,
	.shutdown = op_shutdown,
	.reboot = op_reboot,
	.power_button = op_power_button,
	.pause = op_pause,
	.resume = op_resume,
	.hot_add = op_hot_add,
	.remove_device = op_remove_device,
	.snapshot = op_snapshot,
	.restore = op_restore,
	.counters = op_counters,
	.collect = api_vm_collect,
	.exit_fd = op_exit_fd,
};

int api_vm_new(struct api_vm **out)
{
	struct api_vm *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	vm_ctl_init(&v->ctl);
	v->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->exit_efd < 0) {
		int rc = -errno;
		vm_ctl_destroy(&v->ctl);
		free(v);
		return rc;
	}
	v->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	*out = v;
	return 0;
}

void api_vm_free(struct api_vm *v)
{
	if (!v)
		return;
	if (v->running)
		stop(v);
	close(v->exit_efd);
	if (v->statm_fd >= 0)
		close(v->statm_fd);
	vm_ctl_destroy(&v->ctl);
	free(v);
}
