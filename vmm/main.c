// SPDX-License-Identifier: Apache-2.0
/* svmm entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "vmm/cli.h"
#include "vmm/cmd_run_image.h"

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
	/* The lead joins this with the plain-kernel `run` (vmm/cmd_run.c):
	 * run dispatches to cmd_run_image when cmd_run_image_wanted(). */
	{ "run", "run an OCI image or bundle in a microVM", cmd_run_image },
	{ "exec", "run a command in a running svmm run --name NAME", cmd_exec },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: svmm COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	return 0;
}

int main(int argc, char **argv)
{
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
