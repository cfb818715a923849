// SPDX-License-Identifier: Apache-2.0
/*
 * api-selftest [cloud-hypervisor flags]: a TEST program for the API host
 * tests (tests/host/api-*.sh). It runs the real cloud-hypervisor front end
 * (ch_main: flags, socket, HTTP server, state machine, events) with a TEST
 * DOUBLE in place of the VMM: its vmm_ops boot nothing, they record each
 * call (readable through vm.counters as {"api-selftest": {"boot": N, ...}}
 * and on stderr), boot fails when the kernel file cannot be opened, and
 * power-button behaves like a guest that powers itself off in response (its
 * exit_fd fires). Only tests about the API layer use it; real guests come
 * with the VMM core.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/cli/ch_main.h"

enum { OP_BOOT, OP_SHUTDOWN, OP_REBOOT, OP_POWER_BUTTON, OP_PAUSE, OP_RESUME, OP_NMI, N_OPS };
static const char *const op_names[N_OPS] = { "boot",  "shutdown", "reboot", "power_button",
					     "pause", "resume",	  "nmi" };

struct selftest {
	unsigned long calls[N_OPS];
	int exit_fd; /* the simulated guest's power-off */
	size_t disks, nets;
};

static int record(struct selftest *t, int op)
{
	t->calls[op]++;
	fprintf(stderr, "api-selftest: %s\n", op_names[op]);
	return 0;
}

static int st_boot(void *ctx, const struct vm_config *cfg, struct err *err)
{
	struct selftest *t = ctx;
	const char *payload = cfg->payload.kernel ? cfg->payload.kernel : cfg->payload.firmware;

	if (payload && access(payload, R_OK) < 0) {
		int rc = -errno;
		return err_set(err, rc, "cannot open payload '%.200s': %s", payload,
			       strerror(errno));
	}
	t->disks = cfg->n_disks;
	t->nets = cfg->n_net;
	return record(t, OP_BOOT);
}

static int st_shutdown(void *ctx, struct err *err)
{
	struct selftest *t = ctx;
	uint64_t v;
	(void)err;
	if (read(t->exit_fd, &v, sizeof(v)) < 0) {
		/* nothing pending: fine */
	}
	return record(t, OP_SHUTDOWN);
}

#define ST_OP(fn, op)                             \
	static int fn(void *ctx, struct err *err) \
	{                                         \
		(void)err;                        \
		return record(ctx, op);           \
	}
ST_OP(st_reboot, OP_REBOOT)
ST_OP(st_pause, OP_PAUSE)
ST_OP(st_resume, OP_RESUME)
ST_OP(st_nmi, OP_NMI)

/* A guest with ACPI powers off when the button is pressed. */
static int st_power_button(void *ctx, struct err *err)
{
	struct selftest *t = ctx;
	uint64_t one = 1;
	(void)err;
	if (write(t->exit_fd, &one, sizeof(one)) < 0)
		return -errno;
	return record(t, OP_POWER_BUTTON);
}

static int st_counters(void *ctx, json_t **out, struct err *err)
{
	struct selftest *t = ctx;
	json_t *o = json_object();
	(void)err;
	for (int i = 0; o && i < N_OPS; i++)
		json_object_set_new(o, op_names[i], json_integer(t->calls[i]));
	json_object_set_new(o, "disks", json_integer(t->disks));
	json_object_set_new(o, "net", json_integer(t->nets));
	*out = json_pack("{s:o}", "api-selftest", o);
	return *out ? 0 : -ENOMEM;
}

static int st_exit_fd(void *ctx)
{
	return ((struct selftest *)ctx)->exit_fd;
}

static const struct vmm_ops selftest_ops = {
	.boot = st_boot,
	.shutdown = st_shutdown,
	.reboot = st_reboot,
	.power_button = st_power_button,
	.pause = st_pause,
	.resume = st_resume,
	.counters = st_counters,
	.nmi = st_nmi,
	.exit_fd = st_exit_fd,
};

int main(int argc, char **argv)
{
	struct selftest t = { 0 };

	t.exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t.exit_fd < 0) {
		perror("api-selftest: eventfd");
		return 1;
	}
	int status = ch_main(argc, argv, &selftest_ops, &t);
	close(t.exit_fd);
	return status;
}
