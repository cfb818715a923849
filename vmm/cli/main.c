// SPDX-License-Identifier: Apache-2.0
/* svmm, the VMM executable: boot VMs (svmm run, the cloud-hypervisor
 * personality); the host-side commands are svmm-host's (vmm/run/exe.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/api/api_vm.h"
#include "vmm/cli/ch_main.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cmd_acpi_dump.h"
#include "vmm/cli/cmd_metrics.h"
#include "vmm/cli/cmd_run.h"
#include "vmm/kvm/log.h"
#include "vmm/run/exe.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("svmm v%s\n", SVMM_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct svmm_cmd commands[] = {
	{ "help", "show this help", cmd_help },
	{ "version", "print the version", cmd_version },
	{ "run", "boot a kernel, or run an OCI image or bundle, in a microVM", cmd_run },
	{ "net", "VM host networking: up, down, gc, lease, ls", NULL },
	{ "seed", "build FAT images, cloud-init seeds and service disks", NULL },
	{ "acpi-dump", "write the ACPI tables to DIR (debug)", cmd_acpi_dump },
	{ "metrics", "every svmm VM's metrics (--metrics) as one Prometheus text", cmd_metrics },
	{ "exec", "run a command in a running svmm run --name NAME", NULL },
	{ "jail", "run the VMM jailed, as Firecracker's jailer (root)", NULL },
	{ "vfio", "PCI devices to vfio-pci for passthrough: bind, unbind, ls", NULL },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: svmm COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].summary)
			printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	return 0;
}

/*
 * Every thread of a VM (vCPUs, device loops, the API) gets a 1 MiB stack:
 * room for the deepest path (jansson parses up to 2048 nested levels), and
 * small enough that the kernel never backs it with a 2 MiB huge page, as it
 * did the default 8 MiB ones (2 MiB resident each). ASan's frames are
 * larger.
 */
#if defined(__SANITIZE_ADDRESS__)
#define THREAD_STACK (8u << 20)
#else
#define THREAD_STACK (1u << 20)
#endif

static void small_thread_stacks(void)
{
	pthread_attr_t a;

	if (pthread_attr_init(&a))
		return;
	if (!pthread_attr_setstacksize(&a, THREAD_STACK))
		pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
}

static int to_host(char **argv)
{
	int rc = svmm_exe_exec(SVMM_HOST_EXE, argv);
	fprintf(stderr, "svmm: %s: cannot run %s (installed next to svmm): %s\n", argv[1],
		SVMM_HOST_EXE, strerror(-rc));
	return argv[1] && !strcmp(argv[1], "run") ? 125 : 1;
}

int main(int argc, char **argv)
{
	log_set_sink(log_stderr, NULL); /* runtime events: "svmm: ..." on stderr */
	small_thread_stacks();
	tzset(); /* the RTC's local time: /etc/localtime read now, not by a filtered vCPU */
	/* As cloud-hypervisor: by name, or when the first argument is a flag. */
	if (ch_invoked(argc, argv)) {
		struct api_vm *vm;
		if (api_vm_new(&vm) < 0) {
			perror("cloud-hypervisor: error");
			return 1;
		}
		int rc = ch_main(argc, argv, &api_vm_ops, vm);
		api_vm_free(vm);
		return rc;
	}
	if (argc < 2) {
		cmd_help(0, NULL);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "-V"))
		name = "version";
	else if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	/* svmm run boots a VM here; a container (--image, --bundle) is svmm-host's */
	if (!strcmp(name, "run") && svmm_run_wants_image(argc - 1, argv + 1))
		return to_host(argv);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name))
			continue;
		return commands[i].run ? commands[i].run(argc - 1, argv + 1) : to_host(argv);
	}
	fprintf(stderr, "svmm: unknown command '%s' (try 'svmm help')\n", argv[1]);
	return 2;
}
