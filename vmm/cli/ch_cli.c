// SPDX-License-Identifier: Apache-2.0
/* cloud-hypervisor's command line into struct ch_args. */
#include "vmm/cli/ch_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api/http.h"
#include "vmm/config/options.h"
#include "vmm/kvm/seccomp.h"

enum arg_kind {
	ARG_NONE,  /* a switch */
	ARG_ONE,   /* exactly one value */
	ARG_MULTI, /* one or more values, repeatable: --disk a b --disk c */
};

enum flag_id {
	F_KERNEL,
	F_INITRAMFS,
	F_CMDLINE,
	F_FIRMWARE,
	F_IGVM,
	F_HOST_DATA,
	F_CPUS,
	F_MEMORY,
	F_DISK,
	F_NET,
	F_RNG,
	F_FS,
	F_PMEM,
	F_VSOCK,
	F_DEVICE,
	F_SERIAL,
	F_CONSOLE,
	F_BALLOON,
	F_WATCHDOG,
	F_PVPANIC,
	F_LANDLOCK,
	F_LANDLOCK_RULES,
	F_API_SOCKET,
	F_EVENT_MONITOR,
	F_LOG_FILE,
	F_LOG_FORMAT,
	F_SECCOMP,
	F_METRICS,
	F_NO_SHUTDOWN,
	F_RESTORE,
	F_HELP,
	F_VERSION,
	F_UNSUPPORTED,
};

static const struct ch_flag {
	const char *name;
	enum flag_id id;
	enum arg_kind kind;
} flags[] = {
	{ "--kernel", F_KERNEL, ARG_ONE },
	{ "--initramfs", F_INITRAMFS, ARG_ONE },
	{ "--cmdline", F_CMDLINE, ARG_ONE },
	{ "--firmware", F_FIRMWARE, ARG_ONE },
	{ "--igvm", F_IGVM, ARG_ONE },
	{ "--host-data", F_HOST_DATA, ARG_ONE },
	{ "--cpus", F_CPUS, ARG_ONE },
	{ "--memory", F_MEMORY, ARG_ONE },
	{ "--disk", F_DISK, ARG_MULTI },
	{ "--net", F_NET, ARG_MULTI },
	{ "--rng", F_RNG, ARG_ONE },
	{ "--fs", F_FS, ARG_MULTI },
	{ "--pmem", F_PMEM, ARG_MULTI },
	{ "--vsock", F_VSOCK, ARG_ONE },
	{ "--serial", F_SERIAL, ARG_ONE },
	{ "--console", F_CONSOLE, ARG_ONE },
	{ "--balloon", F_BALLOON, ARG_ONE },
	{ "--watchdog", F_WATCHDOG, ARG_NONE },
	{ "--pvpanic", F_PVPANIC, ARG_NONE },
	{ "--landlock", F_LANDLOCK, ARG_NONE },
	{ "--landlock-rules", F_LANDLOCK_RULES, ARG_MULTI },
	{ "--api-socket", F_API_SOCKET, ARG_ONE },
	{ "--event-monitor", F_EVENT_MONITOR, ARG_ONE },
	{ "--log-file", F_LOG_FILE, ARG_ONE },
	{ "--log-format", F_LOG_FORMAT, ARG_ONE },
	{ "--seccomp", F_SECCOMP, ARG_ONE },
	{ "--metrics", F_METRICS, ARG_ONE },
	{ "--no-shutdown", F_NO_SHUTDOWN, ARG_NONE },
	{ "--help", F_HELP, ARG_NONE },
	{ "-h", F_HELP, ARG_NONE },
	{ "--version", F_VERSION, ARG_NONE },
	{ "-V", F_VERSION, ARG_NONE },
	/* cloud-hypervisor flags svmm does not implement: refused by name. */
	{ "--device", F_DEVICE, ARG_MULTI },
	{ "--user-device", F_UNSUPPORTED, ARG_MULTI },
	{ "--vdpa", F_UNSUPPORTED, ARG_MULTI },
	{ "--numa", F_UNSUPPORTED, ARG_MULTI },
	{ "--memory-zone", F_UNSUPPORTED, ARG_MULTI },
	{ "--generic-vhost-user", F_UNSUPPORTED, ARG_MULTI },
	{ "--rate-limit-group", F_UNSUPPORTED, ARG_MULTI },
	{ "--pci-segment", F_UNSUPPORTED, ARG_MULTI },
	{ "--platform", F_UNSUPPORTED, ARG_ONE },
	{ "--tpm", F_UNSUPPORTED, ARG_ONE },
	{ "--restore", F_RESTORE, ARG_ONE },
	{ "--gdb", F_UNSUPPORTED, ARG_ONE },
	{ "--debug-console", F_UNSUPPORTED, ARG_ONE },
	{ "--fw-cfg-config", F_UNSUPPORTED, ARG_ONE },
	{ "--ivshmem", F_UNSUPPORTED, ARG_ONE },
	{ "--rtc", F_UNSUPPORTED, ARG_NONE },
};

/* Apply one value of a flag. */
static int apply(struct ch_args *a, const struct ch_flag *f, const char *v, struct err *err)
{
	struct vm_config *c = &a->vm;

	switch (f->id) {
	case F_KERNEL:
		a->has_payload = true;
		return vm_config_set_str(&c->payload.kernel, v);
	case F_FIRMWARE:
		a->has_payload = true;
		return vm_config_set_str(&c->payload.firmware, v);
	case F_IGVM:
		a->has_payload = true;
		return vm_config_set_str(&c->payload.igvm, v);
	case F_INITRAMFS:
		return vm_config_set_str(&c->payload.initramfs, v);
	case F_CMDLINE:
		return vm_config_set_str(&c->payload.cmdline, v);
	case F_HOST_DATA:
		return vm_config_set_str(&c->payload.host_data, v);
	case F_CPUS:
		return vm_config_parse_cpus(c, v, err);
	case F_MEMORY:
		return vm_config_parse_memory(c, v, err);
	case F_DISK:
		return vm_config_parse_disk(c, v, err);
	case F_NET:
		return vm_config_parse_net(c, v, err);
	case F_RNG:
		return vm_config_parse_rng(c, v, err);
	case F_FS:
		return vm_config_parse_fs(c, v, err);
	case F_PMEM:
		return vm_config_parse_pmem(c, v, err);
	case F_VSOCK:
		return vm_config_parse_vsock(c, v, err);
	case F_DEVICE:
		return vm_config_parse_device(c, v, err);
	case F_SERIAL:
		return vm_config_parse_console(&c->serial, "--serial", v, err);
	case F_CONSOLE:
		return vm_config_parse_console(&c->console, "--console", v, err);
	case F_BALLOON:
		return vm_config_parse_balloon(c, v, err);
	case F_WATCHDOG:
		c->watchdog = true;
		return 0;
	case F_PVPANIC:
		c->pvpanic = true;
		return 0;
	case F_LANDLOCK:
		c->landlock_enable = true;
		return 0;
	case F_LANDLOCK_RULES:
		return vm_config_parse_landlock_rule(c, v, err);
	case F_API_SOCKET:
		a->api_socket = v;
		return 0;
	case F_EVENT_MONITOR:
		a->event_monitor = v;
		return 0;
	case F_LOG_FILE:
		a->log_file = v;
		return 0;
	case F_LOG_FORMAT:
		a->log_format = v;
		return 0;
	case F_METRICS:
		a->metrics = v;
		return 0;
	case F_SECCOMP:
		if (sc_mode_parse(v, &(enum sc_mode){ SC_OFF }) < 0) {
			return err_set(err, -EINVAL,
				       "--seccomp: '%.100s' is not one of true, false, log, errno",
				       v);
		}
		a->seccomp = v;
		return 0;
	case F_NO_SHUTDOWN:
		a->no_shutdown = true;
		return 0;
	case F_RESTORE: {
		struct opt_list l = { 0 };
		char *s = strdup(v);
		const char *url;
		int rc;
		if (!s)
			return -ENOMEM;
		if ((rc = opt_parse(&l, s)) < 0 || !(url = opt_get(&l, "source_url")) || !*url ||
		    (rc = opt_get_bool(&l, "prefault", &a->restore_prefault)) < 0 ||
		    (rc = opt_check_unused(&l)) < 0) {
			err_set(err, -EINVAL, "--restore: %s",
				l.err.code ? l.err.msg : "source_url=file:///DIR is required");
			free(s);
			return -EINVAL;
		}
		free(a->restore_url);
		a->restore_url = strdup(url);
		free(s);
		return a->restore_url ? 0 : -ENOMEM;
	}
	case F_HELP:
		a->help = true;
		return 0;
	case F_VERSION:
		a->version = true;
		return 0;
	case F_UNSUPPORTED:
		return err_set(err, -EINVAL, "%s is not supported by svmm", f->name);
	}
	return -EINVAL;
}

/* apply(), remembering which argument each --net value was. */
static int apply_at(struct ch_args *a, const struct ch_flag *f, const char *v, int argi,
		    struct err *err)
{
	int rc = apply(a, f, v, err);

	if (rc < 0 || f->id != F_NET)
		return rc;
	int *n = realloc(a->net_argi, a->vm.n_net * sizeof(*n));
	if (!n)
		return -ENOMEM;
	a->net_argi = n;
	n[a->vm.n_net - 1] = argi;
	return 0;
}

static bool is_vm_flag(enum flag_id id)
{
	return id <= F_PVPANIC;
}

int ch_args_parse(struct ch_args *a, int argc, char **argv, struct err *err)
{
	memset(a, 0, sizeof(*a));
	vm_config_init(&a->vm);
	*err = (struct err){ 0 };

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char name[64];
		const char *inline_val = NULL;

		/* -v, -vv, -vvv... */
		if (arg[0] == '-' && arg[1] == 'v' && strspn(arg + 1, "v") == strlen(arg + 1)) {
			a->verbosity += strlen(arg + 1);
			continue;
		}
		if (arg[0] != '-')
			return err_set(err, -EINVAL, "unexpected argument '%.100s'", arg);
		/* --flag=value */
		size_t nlen = strcspn(arg, "=");
		if (nlen >= sizeof(name))
			return err_set(err, -EINVAL, "unknown flag '%.100s'", arg);
		memcpy(name, arg, nlen);
		name[nlen] = '\0';
		if (arg[nlen] == '=')
			inline_val = arg + nlen + 1;

		const struct ch_flag *f = NULL;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (!strcmp(flags[k].name, name))
				f = &flags[k];
		if (!f)
			return err_set(err, -EINVAL, "unknown flag '%.100s'", name);
		if (is_vm_flag(f->id))
			a->vm_flags = true;
		int rc;
		if (f->kind == ARG_NONE) {
			if (inline_val)
				return err_set(err, -EINVAL, "%s takes no value", f->name);
			if ((rc = apply(a, f, NULL, err)) < 0)
				return rc;
			continue;
		}
		if (inline_val) {
			if ((rc = apply_at(a, f, inline_val, i, err)) < 0)
				return rc;
			if (f->kind == ARG_ONE)
				continue;
		} else {
			if (i + 1 >= argc)
				return err_set(err, -EINVAL, "%s needs a value", f->name);
			/* A single value may start with '-' (a --cmdline, say). */
			i++;
			if ((rc = apply_at(a, f, argv[i], i, err)) < 0)
				return rc;
			if (f->kind == ARG_ONE)
				continue;
		}
		/* ARG_MULTI: further values up to the next flag. */
		while (i + 1 < argc && argv[i + 1][0] != '-') {
			i++;
			if ((rc = apply_at(a, f, argv[i], i, err)) < 0)
				return rc;
		}
	}
	return vm_config_complete(&a->vm);
}

void ch_args_free(struct ch_args *a)
{
	free(a->net_argi);
	a->net_argi = NULL;
	free(a->restore_url);
	a->restore_url = NULL;
	vm_config_free(&a->vm);
}

int ch_api_socket_open(const char *spec, char **path, struct err *err)
{
	int fd, rc = opt_parse_path_or_fd("--api-socket", spec, path, &fd, err);

	if (rc < 0)
		return rc;
	if (!*path)
		return http_listen_fd(fd, err);
	rc = http_listen_path(*path, err);
	if (rc < 0) {
		free(*path);
		*path = NULL;
	}
	return rc;
}
