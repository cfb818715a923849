// SPDX-License-Identifier: Apache-2.0
/* svmm run: cloud-hypervisor's flags into a vm_config, validated, then booted. */
#include "vmm/cli/cmd_run.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "vmm/api/metrics.h"
#include "vmm/cli/cli.h"
#include "vmm/config/config.h"
#include "vmm/confine.h"
#include "vmm/devices.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/seccomp.h"
#include "vmm/vm.h"

#define CONSOLE_SYNTAX "off|null|tty|pty|file=<path>|socket=<path>"

struct run_args {
	struct vm_config vm;
	struct vm_params params; /* --no-reboot, -v */
	const char *config;	 /* --config PATH */
	enum sc_mode seccomp;	 /* --seccomp (default true) */
	bool landlock;		 /* --landlock (with --config too) */
	bool vm_flags;		 /* a flag that sets part of the VM */
	bool serial;		 /* --serial given */
	const char *metrics;	 /* --metrics (vmm/api/metrics.h) */
	const char *log_format;	 /* --log-format json */
	bool help, version;
};

/* One flag: its name, its syntax for messages and how it sets its value.
 * The VM's flags are read by the cloud-hypervisor readers (vmm/config),
 * whose messages name the flag; set returns -errno with err. */
struct run_flag {
	const char *name;
	const char *syntax;
	bool multi; /* takes several values after one flag, as cloud-hypervisor's --disk */
	int (*set)(struct run_args *a, const char *value, struct err *err);
};

static int set_kernel(struct run_args *a, const char *v, struct err *err)
{
	(void)err;
	return vm_config_set_str(&a->vm.payload.kernel, v);
}

static int set_initramfs(struct run_args *a, const char *v, struct err *err)
{
	(void)err;
	return vm_config_set_str(&a->vm.payload.initramfs, v);
}

static int set_cmdline(struct run_args *a, const char *v, struct err *err)
{
	(void)err;
	return vm_config_set_str(&a->vm.payload.cmdline, v);
}

static int set_serial(struct run_args *a, const char *v, struct err *err)
{
	a->serial = true;
	return vm_config_parse_console(&a->vm.serial, "--serial", v, err);
}

static int set_console(struct run_args *a, const char *v, struct err *err)
{
	return vm_config_parse_console(&a->vm.console, "--console", v, err);
}

static int set_config(struct run_args *a, const char *v, struct err *err)
{
	(void)err;
	a->config = v;
	return 0;
}

static int set_metrics(struct run_args *a, const char *v, struct err *err)
{
	struct metrics_spec sp;
	a->metrics = v;
	return metrics_spec_parse(v, &sp, err); /* a bad value is a usage error */
}

static int set_log_format(struct run_args *a, const char *v, struct err *err)
{
	(void)err;
	a->log_format = v; /* "json"; cloud-hypervisor's token formats are ignored */
	return 0;
}

/* A process setting (cloud-hypervisor's too), not part of the VM. */
static int set_seccomp(struct run_args *a, const char *v, struct err *err)
{
	if (sc_mode_parse(v, &a->seccomp) < 0)
		return err_set(err, -EINVAL, "'%.100s' is not one of true, false, log, errno", v);
	return 0;
}

#define VM_FLAG(fn, parse)                                                \
	static int fn(struct run_args *a, const char *v, struct err *err) \
	{                                                                 \
		return parse(&a->vm, v, err);                             \
	}
VM_FLAG(set_cpus, vm_config_parse_cpus)
VM_FLAG(set_memory, vm_config_parse_memory)
VM_FLAG(set_disk, vm_config_parse_disk)
VM_FLAG(set_net, vm_config_parse_net)
VM_FLAG(set_rng, vm_config_parse_rng)
VM_FLAG(set_fs, vm_config_parse_fs)
VM_FLAG(set_vsock, vm_config_parse_vsock)
VM_FLAG(set_device, vm_config_parse_device)
VM_FLAG(set_landlock_rules, vm_config_parse_landlock_rule)

static const struct run_flag flags[] = {
	{ "--kernel", "<path>", false, set_kernel },
	{ "--initramfs", "<path>", false, set_initramfs },
	{ "--cmdline", "<string>", false, set_cmdline },
	{ "--cpus", "boot=<n>[,max=<n>][,topology=<t>:<c>:<d>:<p>]", false, set_cpus },
	{ "--memory", "size=<size>[,shared=on|off][,hugepages=on|off]", false, set_memory },
	{ "--serial", CONSOLE_SYNTAX, false, set_serial },
	{ "--console", CONSOLE_SYNTAX, false, set_console },
	{ "--disk",
	  "path=<path>[,readonly=on|off][,direct=on|off][,id=<id>][,serial=<s>]"
	  "[,num_queues=<n>][,queue_size=<n>][,image_type=raw|qcow2] ...",
	  true, set_disk },
	{ "--net",
	  "tap=<name>[,ip=<ip>][,mask=<mask>][,mac=<mac>][,host_mac=<mac>][,mtu=<n>]"
	  "[,num_queues=<n>][,queue_size=<n>][,fd=<fd>|fd=[<fd>,...]] ...",
	  true, set_net },
	{ "--rng", "src=<path>", false, set_rng },
	{ "--fs", "tag=<tag>,socket=<path>[,num_queues=<n>][,queue_size=<n>] ...", true, set_fs },
	{ "--vsock", "cid=<n>,socket=<path>", false, set_vsock },
	{ "--device", "path=/sys/bus/pci/devices/<DDDD:BB:DD.F>[,id=<id>] ... (VFIO)", true,
	  set_device },
	{ "--config", "<path>", false, set_config },
	{ "--seccomp", "true|false|log|errno", false, set_seccomp },
	{ "--metrics", "path=<socket>|addr=<ipv4>:<port>[,id=<vm label>]", false, set_metrics },
	{ "--log-format", "json", false, set_log_format },
	{ "--landlock-rules", "path=<path>,access=r|rw ...", true, set_landlock_rules },
};

#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

static const struct run_flag *find_flag(const char *name, size_t len)
{
	for (size_t j = 0; j < N_FLAGS; j++)
		if (strlen(flags[j].name) == len && !strncmp(flags[j].name, name, len))
			return &flags[j];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svmm run --kernel <path> [options]\n"
		   "       svmm run --config <path> [--no-reboot] [--seccomp ...] [-v]\n\n"
		   "Boot a Linux kernel (bzImage, or ELF vmlinux with a PVH note) in a microVM.\n"
		   "Options (cloud-hypervisor syntax; --flag value or --flag=value):\n");
	for (size_t i = 0; i < N_FLAGS; i++)
		fprintf(f, "  %-12s %s\n", flags[i].name, flags[i].syntax);
	fprintf(f,
		"  --no-reboot  exit (status 0) when the guest reboots, instead of rebooting it\n"
		"  --landlock   the VMM can open only the files its configuration names (and\n"
		"               --landlock-rules); an error where the kernel has no Landlock\n"
		"  -v           more messages on stderr (timings, exits); repeat for more\n"
		"  -V, --version\n"
		"  -h, --help\n\n"
		"Defaults: --cpus boot=1, --memory size=512M, --console tty, --serial null,\n"
		"--seccomp true (each thread under its filter; log: the kernel logs what a\n"
		"filter would refuse, and lets it run).\n"
		"There is no virtio-console yet: unless --serial is given, the serial port\n"
		"takes the --console backend (so by default the terminal).\n"
		"--config reads the whole VM from a file: cloud-hypervisor's VmConfig JSON, as\n"
		"vm.create takes it (svmm run --image hands its VMM one); no other VM flag\n"
		"goes with it, and its serial and console are as the file says.\n"
		"The configuration is checked as cloud-hypervisor checks it before anything\n"
		"is opened; an error names the flag and the field.\n"
		"Exit status: 0 when the guest powers off (or reboots with --no-reboot) or\n"
		"on SIGTERM/SIGINT; 1 on an error or after a guest kernel panic; 2 on bad\n"
		"usage or a configuration that does not validate.\n");
}

/* A usage error: msg names the flag already when it starts with "FLAG: ". */
static int bad(const char *flag, const char *syntax, const char *msg)
{
	size_t n = strlen(flag);

	if (!strncmp(msg, flag, n) && msg[n] == ':')
		fprintf(stderr, "svmm run: %s\n", msg);
	else
		fprintf(stderr, "svmm run: %s: %s\n", flag, msg);
	if (syntax)
		fprintf(stderr, "  syntax: %s %s\n", flag, syntax);
	fprintf(stderr, "(try 'svmm run --help')\n");
	return 2;
}

/* Returns 0, or the exit status of a usage error (already reported). */
static int parse(struct run_args *a, int argc, char **argv)
{
	struct err err = { 0 };
	int rc;

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = true;
			continue;
		}
		if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
			a->version = true;
			continue;
		}
		if (!strcmp(arg, "--no-reboot")) {
			a->params.exit_on_reboot = true;
			continue;
		}
		if (!strcmp(arg, "--landlock")) {
			a->landlock = true;
			continue;
		}
		if (arg[0] == '-' && arg[1] == 'v' && arg[strspn(arg + 1, "v") + 1] == 0) {
			a->params.verbose += (int)strlen(arg) - 1;
			continue;
		}
		char *eq = strchr(arg, '=');
		const struct run_flag *f = find_flag(arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (!f)
			return bad(arg, NULL, "unknown option");
		const char *value = eq ? eq + 1 : NULL;
		if (!value) {
			if (i + 1 >= argc)
				return bad(f->name, f->syntax, "needs a value");
			value = argv[++i];
		}
		a->vm_flags |= f->set != set_config && f->set != set_seccomp &&
			       f->set != set_metrics && f->set != set_log_format;
		err = (struct err){ 0 };
		if ((rc = f->set(a, value, &err)) < 0)
			return bad(f->name, f->syntax, rc == -ENOMEM ? "out of memory" : err.msg);
		/* "--disk path=a path=b": more values until the next flag */
		while (f->multi && !eq && i + 1 < argc && argv[i + 1][0] != '-')
			if ((rc = f->set(a, argv[++i], &err)) < 0)
				return bad(f->name, f->syntax,
					   rc == -ENOMEM ? "out of memory" : err.msg);
	}
	return 0;
}

/* The flag that sets the field a validation message starts with. */
static const char *field_flag(const char *msg)
{
	static const struct {
		const char *field, *flag;
	} fields[] = {
		{ "payload", "--kernel" }, { "cpus", "--cpus" },       { "memory", "--memory" },
		{ "serial", "--serial" },  { "console", "--console" }, { "disks", "--disk" },
		{ "net", "--net" },	   { "rng", "--rng" },	       { "fs", "--fs" },
		{ "vsock", "--vsock" },	   { "devices", "--device" },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t n = strlen(fields[i].field);
		if (!strncmp(msg, fields[i].field, n) && strchr(".[:", msg[n]))
			return fields[i].flag;
	}
	return NULL;
}

/* --config PATH into a->vm. Returns 0 or the exit status (reported). */
static int read_config(struct run_args *a)
{
	struct err err = { 0 };
	json_error_t je;
	json_t *j;
	int rc;

	if (a->vm_flags)
		return bad("--config", NULL, "the file is the whole VM: give no other VM flag");
	if (!(j = json_load_file(a->config, 0, &je))) {
		fprintf(stderr, "svmm run: --config %s: %s (line %d)\n", a->config, je.text,
			je.line);
		return 2;
	}
	vm_config_free(&a->vm);
	rc = vm_config_from_json(&a->vm, j, &err);
	json_decref(j);
	if (rc < 0) {
		fprintf(stderr, "svmm run: --config %s: %s\n", a->config,
			rc == -ENOMEM ? "out of memory" : err.msg);
		return 2;
	}
	return 0;
}

/* There is no virtio-console: without --serial the serial port takes the
 * console's back end (its off is the serial's null). */
static void console_to_serial(struct vm_config *c)
{
	struct console_config *s = &c->serial, *k = &c->console;

	if (k->mode == CONSOLE_OFF) {
		s->mode = CONSOLE_NULL;
		return;
	}
	free(s->file);
	free(s->socket);
	*s = *k;
	*k = (struct console_config){ .mode = CONSOLE_OFF };
}

/* a->vm from the command line, completed and validated. Returns 0, or the
 * exit status (reported); *done when --help or --version answered it. */
static int configure(struct run_args *a, int argc, char **argv, bool *done)
{
	struct err err = { 0 };
	int ret = parse(a, argc, argv);

	*done = a->help || a->version;
	if (ret || *done) {
		if (!ret && a->help)
			usage(stdout);
		else if (!ret)
			printf("svmm v%s\n", SVMM_VERSION);
		return ret;
	}
	if (a->config && (ret = read_config(a)))
		return ret;
	if (!a->config && !a->vm.payload.kernel)
		return bad("--kernel", "<path>", "is required");
	if (!a->config && !a->serial)
		console_to_serial(&a->vm);
	if (vm_config_complete(&a->vm) < 0)
		return bad(a->config ? "--config" : "--net", NULL, "out of memory");
	if (vm_config_validate(&a->vm, &err) < 0) {
		const char *flag = a->config ? "--config" : field_flag(err.msg);
		if (!flag)
			fprintf(stderr, "svmm run: %s\n(try 'svmm run --help')\n", err.msg);
		return flag ? bad(flag, NULL, err.msg) : 2;
	}
	if (!a->vm.payload.kernel)
		return bad("--config", NULL, "payload.kernel: svmm boots a kernel (no firmware)");
	return 0;
}

/* The terminal must come back even when the process dies of a fault. */
static struct chardev *fatal_restore;

static void on_fatal(int sig)
{
	if (fatal_restore)
		chardev_restore_tty(fatal_restore);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int collect(void *ctx, struct ctr_set *out)
{
	return vm_ctl_counters(ctx, out);
}

static int run(struct run_args *a, int argc, char **argv)
{
	struct metrics_server metrics = { 0 };
	struct vm_ctl ctl;
	char vm_id[32];
	struct chardev serial;
	struct err err = { 0 };
	enum boot_kind kind;
	bool done;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &a->params.start);
	if ((ret = configure(a, argc, argv, &done)) || done)
		return ret;
	a->vm.landlock_enable |= a->landlock;
	vm_params_from_config(&a->params, &a->vm);
	if (boot_probe(a->vm.payload.kernel, &kind, &err)) {
		fprintf(stderr, "svmm run: %s\n", err.msg);
		return 1;
	}
	if (vm_serial_opts(&a->vm.serial, &serial, &err) || chardev_open(&serial, &err)) {
		fprintf(stderr, "svmm run: --serial %s\n", err.msg);
		return 1;
	}
	if (serial.mode == CHARDEV_PTY)
		fprintf(stderr, "svmm: serial: pty %s\n", serial.path);
	fatal_restore = &serial;
	signal(SIGSEGV, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGABRT, on_fatal);
	signal(SIGILL, on_fatal);
	signal(SIGFPE, on_fatal);
	signal(SIGPIPE, SIG_IGN); /* a socket client that leaves is not fatal */

	a->params.serial = &serial;
	/* -v: the VM's info lines; -vv: debug lines too */
	log_set_level(a->params.verbose >= 2 ? LV_DEBUG : a->params.verbose ? LV_INFO : LV_NOTE);
	snprintf(vm_id, sizeof(vm_id), "%d", (int)getpid());
	if (a->log_format && !strcmp(a->log_format, "json"))
		log_set_sink(log_json, vm_id);
	vm_ctl_init(&ctl);
	a->params.ctl = &ctl;
	/* bound before Landlock and the filter; served from its own thread */
	if (a->metrics &&
	    ((ret = metrics_server_open(&metrics, a->metrics, vm_id, collect, &ctl, &err)) < 0 ||
	     (ret = metrics_server_start(&metrics)) < 0)) {
		fprintf(stderr, "svmm run: %s\n", err.code ? err.msg : strerror(-ret));
		metrics_server_close(&metrics);
		vm_ctl_destroy(&ctl);
		chardev_close(&serial);
		fatal_restore = NULL;
		return 1;
	}
	/* Landlock, then the process filter: the VM's threads inherit both. */
	if ((ret = vm_confine(&a->vm, &err)) < 0) {
		fprintf(stderr, "svmm run: %s\n", err.msg);
		metrics_server_close(&metrics);
		vm_ctl_destroy(&ctl);
		chardev_close(&serial);
		fatal_restore = NULL;
		return 1;
	}
	sc_set_mode(a->seccomp);
	if ((ret = sc_install(SC_VMM)) < 0) {
		fprintf(stderr, "svmm run: seccomp: %s\n", strerror(-ret));
		metrics_server_close(&metrics);
		vm_ctl_destroy(&ctl);
		chardev_close(&serial);
		fatal_restore = NULL;
		return 1;
	}
	ret = vm_run(&a->params, &err);
	metrics_server_close(&metrics);
	vm_ctl_destroy(&ctl);
	log_set_sink(log_stderr, NULL); /* vm_id goes with this frame */
	chardev_close(&serial);
	fatal_restore = NULL;
	if (err.code)
		fprintf(stderr, "svmm run: %s\n", err.msg);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { .seccomp = SC_KILL };

	vm_config_init(&a.vm);
	int ret = run(&a, argc, argv);
	vm_config_free(&a.vm);
	return ret;
}
