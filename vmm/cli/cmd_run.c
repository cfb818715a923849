// SPDX-License-Identifier: Apache-2.0
/* svmm run: parse cloud-hypervisor style flags, boot the VM. */
#include "vmm/cli/cmd_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/chardev.h"
#include "vmm/cli/cli.h"
#include "vmm/run/cmd_run_image.h"
#include "vmm/config/config.h"
#include "vmm/config/options.h"
#include "vmm/vm.h"

#define DEFAULT_MEM_SIZE (512ULL << 20)

struct run_args {
	struct vm_params vm;
	struct vm_config devs; /* --disk, --net, --rng, --fs, --vsock */
	const char *serial, *console;
	bool help, version;
};

/* One flag: its name, whether it takes a value, and its syntax for
 * messages. More flags (issue 7: --image) are one more row. */
struct run_flag {
	const char *name;
	const char *syntax;
	bool multi; /* takes several values after one flag, as cloud-hypervisor's --disk */
	int (*set)(struct run_args *a, char *value, char *err, size_t errlen);
};

static int set_kernel(struct run_args *a, char *v, char *err, size_t n)
{
	(void)err, (void)n;
	a->vm.boot.kernel = v;
	return 0;
}

static int set_initramfs(struct run_args *a, char *v, char *err, size_t n)
{
	(void)err, (void)n;
	a->vm.boot.initramfs = v;
	return 0;
}

static int set_cmdline(struct run_args *a, char *v, char *err, size_t n)
{
	(void)err, (void)n;
	a->vm.boot.cmdline = v;
	return 0;
}

static int opt_fail(struct opt_list *l, char *err, size_t n, int ret)
{
	snprintf(err, n, "%s", l->err);
	return ret;
}

static int set_cpus(struct run_args *a, char *v, char *err, size_t n)
{
	struct opt_list l;
	uint64_t boot = 1, max = 0;
	int ret;

	if ((ret = opt_parse(&l, v)) || (ret = opt_get_u64(&l, "boot", &boot)) < 0 ||
	    (ret = opt_get_u64(&l, "max", &max)) < 0 || (ret = opt_check_unused(&l)))
		return opt_fail(&l, err, n, ret < 0 ? ret : -EINVAL);
	if (boot < 1 || boot > VM_MAX_CPUS) {
		snprintf(err, n, "boot=%llu: must be 1 to %u", (unsigned long long)boot,
			 VM_MAX_CPUS);
		return -EINVAL;
	}
	if (max && max < boot) {
		snprintf(err, n, "max=%llu is less than boot=%llu", (unsigned long long)max,
			 (unsigned long long)boot);
		return -EINVAL;
	}
	a->vm.ncpus = (unsigned int)boot;
	return 0;
}

static int set_memory(struct run_args *a, char *v, char *err, size_t n)
{
	struct opt_list l;
	uint64_t size = DEFAULT_MEM_SIZE;
	int ret;

	if ((ret = opt_parse(&l, v)) || (ret = opt_get_size(&l, "size", &size)) < 0 ||
	    (ret = opt_get_bool(&l, "shared", &a->vm.mem_shared)) < 0 ||
	    (ret = opt_get_bool(&l, "hugepages", &a->vm.mem_hugepages)) < 0 ||
	    (ret = opt_check_unused(&l)))
		return opt_fail(&l, err, n, ret < 0 ? ret : -EINVAL);
	if (size < (64ULL << 20) || size % (2ULL << 20) || size > (1ULL << 46)) {
		snprintf(err, n, "size=%llu: must be a multiple of 2M, from 64M to 64T",
			 (unsigned long long)size);
		return -EINVAL;
	}
	a->vm.mem_size = size;
	return 0;
}

static int set_serial(struct run_args *a, char *v, char *err, size_t n)
{
	(void)err, (void)n;
	a->serial = v;
	return 0;
}

static int set_console(struct run_args *a, char *v, char *err, size_t n)
{
	(void)err, (void)n;
	a->console = v;
	return 0;
}

/* Device flags go through the cloud-hypervisor config parsers (vmm/config/config.h),
 * the same ones the REST API's vm.create and the cloud-hypervisor front door
 * use; their messages already name the key. */
#define DEVICE_FLAG(fn, parse)                                          \
	static int fn(struct run_args *a, char *v, char *err, size_t n) \
	{                                                               \
		char e[VM_CONFIG_ERR_LEN] = "";                         \
		int rc = parse(&a->devs, v, e);                         \
		if (rc < 0)                                             \
			snprintf(err, n, "%s", e);                      \
		return rc;                                              \
	}
DEVICE_FLAG(set_disk, vm_config_parse_disk)
DEVICE_FLAG(set_net, vm_config_parse_net)
DEVICE_FLAG(set_rng, vm_config_parse_rng)
DEVICE_FLAG(set_fs, vm_config_parse_fs)
DEVICE_FLAG(set_vsock, vm_config_parse_vsock)

static const struct run_flag flags[] = {
	{ "--kernel", "<path>", false, set_kernel },
	{ "--initramfs", "<path>", false, set_initramfs },
	{ "--cmdline", "<string>", false, set_cmdline },
	{ "--cpus", "boot=<n>[,max=<n>]", false, set_cpus },
	{ "--memory", "size=<size>[,shared=on|off][,hugepages=on|off]", false, set_memory },
	{ "--serial", CHARDEV_SYNTAX, false, set_serial },
	{ "--console", CHARDEV_SYNTAX, false, set_console },
	{ "--disk",
	  "path=<path>[,readonly=on|off][,direct=on|off][,id=<id>][,serial=<s>]"
	  "[,num_queues=<n>][,queue_size=<n>][,image_type=raw|qcow2] ...",
	  true, set_disk },
	{ "--net",
	  "tap=<name>[,ip=<ip>][,mask=<mask>][,mac=<mac>][,host_mac=<mac>][,mtu=<n>]"
	  "[,num_queues=<n>][,queue_size=<n>][,fd=<fd>] ...",
	  true, set_net },
	{ "--rng", "src=<path>", false, set_rng },
	{ "--fs", "tag=<tag>,socket=<path>[,num_queues=<n>][,queue_size=<n>] ...", true, set_fs },
	{ "--vsock", "cid=<n>,socket=<path>", false, set_vsock },
};

#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: svmm run --kernel <path> [options]\n\n"
		   "Boot a Linux kernel (bzImage, or ELF vmlinux with a PVH note) in a microVM.\n"
		   "Options (cloud-hypervisor syntax; --flag value or --flag=value):\n");
	for (size_t i = 0; i < N_FLAGS; i++)
		fprintf(f, "  %-12s %s\n", flags[i].name, flags[i].syntax);
	fprintf(f,
		"  --no-reboot  exit (status 0) when the guest reboots, instead of rebooting it\n"
		"  -v           more messages on stderr (timings, exits); repeat for more\n"
		"  -V, --version\n"
		"  -h, --help\n\n"
		"Defaults: --cpus boot=1, --memory size=512M, --console tty, --serial null.\n"
		"There is no virtio-console yet: unless --serial is given, the serial port\n"
		"takes the --console backend (so by default the terminal).\n"
		"Exit status: 0 when the guest powers off (or reboots with --no-reboot) or\n"
		"on SIGTERM/SIGINT; 1 on an error or after a guest kernel panic; 2 on bad\n"
		"usage.\n");
}

static int bad(const char *flag, const char *syntax, const char *msg)
{
	fprintf(stderr, "svmm run: %s: %s\n", flag, msg);
	if (syntax)
		fprintf(stderr, "  syntax: %s %s\n", flag, syntax);
	fprintf(stderr, "(try 'svmm run --help')\n");
	return 2;
}

/* Returns 0, or the exit status of a usage error (already reported). */
static int parse(struct run_args *a, int argc, char **argv)
{
	char err[OPT_ERR_LEN + 128];

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
			a->vm.exit_on_reboot = true;
			continue;
		}
		if (arg[0] == '-' && arg[1] == 'v' && arg[strspn(arg + 1, "v") + 1] == 0) {
			a->vm.verbose += (int)strlen(arg) - 1;
			continue;
		}
		char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct run_flag *f = NULL;
		for (size_t j = 0; j < N_FLAGS; j++)
			if (strlen(flags[j].name) == len && !strncmp(flags[j].name, arg, len))
				f = &flags[j];
		if (!f)
			return bad(arg, NULL, "unknown option");
		char *value = eq ? eq + 1 : NULL;
		if (!value) {
			if (i + 1 >= argc)
				return bad(f->name, f->syntax, "needs a value");
			value = argv[++i];
		}
		err[0] = 0;
		if (f->set(a, value, err, sizeof(err)))
			return bad(f->name, f->syntax, err);
		/* "--disk path=a path=b": more values until the next flag */
		while (f->multi && !eq && i + 1 < argc && argv[i + 1][0] != '-') {
			if (f->set(a, argv[++i], err, sizeof(err)))
				return bad(f->name, f->syntax, err);
		}
	}
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

static int run(struct run_args *a, int argc, char **argv)
{
	struct chardev serial;
	char err[1024 > BOOT_ERR_LEN ? 1024 : BOOT_ERR_LEN];
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &a->vm.start);
	ret = parse(a, argc, argv);
	if (!ret && vm_config_complete(&a->devs) < 0)
		ret = bad("--net", NULL, "out of memory");
	if (ret)
		return ret;
	a->vm.devices = &a->devs;
	if (a->help) {
		usage(stdout);
		return 0;
	}
	if (a->version) {
		printf("svmm v%s\n", SVMM_VERSION);
		return 0;
	}
	if (!a->vm.boot.kernel)
		return bad("--kernel", "<path>", "is required");

	const char *spec = a->serial;
	if (!spec)
		spec = a->console && strcmp(a->console, "off") ? a->console
		       : a->console			       ? "null"
							       : "tty";
	if (chardev_parse(&serial, spec, err, sizeof(err)))
		return bad(a->serial ? "--serial" : "--console", CHARDEV_SYNTAX, err);
	if (a->console && a->serial) {
		struct chardev probe; /* check the syntax; there is no virtio-console yet */
		if (chardev_parse(&probe, a->console, err, sizeof(err)))
			return bad("--console", CHARDEV_SYNTAX, err);
	}
	enum boot_kind kind;
	if (boot_probe(a->vm.boot.kernel, &kind, err)) {
		fprintf(stderr, "svmm run: %s\n", err);
		return 1;
	}
	if (chardev_open(&serial, err, sizeof(err))) {
		fprintf(stderr, "svmm run: --serial %s\n", err);
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

	a->vm.serial = &serial;
	ret = vm_run(&a->vm, err, sizeof(err));
	chardev_close(&serial);
	fatal_restore = NULL;
	if (err[0])
		fprintf(stderr, "svmm run: %s\n", err);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	if (cmd_run_image_wanted(argc, argv)) /* --image or --bundle: docker run */
		return cmd_run_image(argc, argv);
	struct run_args a = { .vm = { .ncpus = 1, .mem_size = DEFAULT_MEM_SIZE } };

	vm_config_init(&a.devs);
	int ret = run(&a, argc, argv);
	vm_config_free(&a.devs);
	return ret;
}
