// SPDX-License-Identifier: Apache-2.0
/* svmm entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_vm.h"
#include "vmm/cli/ch_main.h"
#include "vmm/cli/cmd_acpi_dump.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cmd_net.h"
#include "vmm/cli/cmd_run.h"
#include "vmm/cli/cmd_seed.h"
#include "vmm/kvm/log.h"
#include "vmm/run/cmd_run_image.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("svmm v%s\n", SVMM_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static int cmd_exec_cli(int argc, char **argv)
{
	struct err e = { 0 };
	int status = cmd_exec(argc, argv, &e);
	if (e.code)
		fprintf(stderr, "svmm: %s\n", e.msg);
	return status;
}

static const struct svmm_cmd commands[] = {
	{ "help", "show this help", cmd_help },
	{ "version", "print the version", cmd_version },
	{ "run", "boot a kernel, or run an OCI image or bundle, in a microVM", cmd_run },
	{ "net", "VM host networking: up, down, gc, lease, ls", cmd_net },
	{ "seed", "build FAT images, cloud-init seeds and service disks", cmd_seed },
	{ "acpi-dump", "write the ACPI tables to DIR (debug)", cmd_acpi_dump },
	{ "exec", "run a command in a running svmm run --name NAME", cmd_exec_cli },
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

int main(int argc, char **argv)
{
	log_set_sink(log_stderr, NULL); /* runtime events: "svmm: ..." on stderr */
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
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (!strcmp(commands[i].name, name))
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "svmm: unknown command '%s' (try 'svmm help')\n", argv[1]);
	return 2;
}
