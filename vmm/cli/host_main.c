// SPDX-License-Identifier: Apache-2.0
/* svmm-host, the host-side executable: svmm run --image/--bundle, net, seed,
 * exec, jail, vfio (vmm/run/exe.h). svmm hands these over; anything else goes back. */
#include <stdio.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/cli/cmd_jail.h"
#include "vmm/cli/cmd_net.h"
#include "vmm/cli/cmd_seed.h"
#include "vmm/cli/cmd_vfio.h"
#include "vmm/kvm/log.h"
#include "vmm/run/cmd_run_image.h"
#include "vmm/run/exe.h"

static int print_err(int status, const struct err *e)
{
	if (e->code)
		fprintf(stderr, "svmm: %s\n", e->msg);
	return status;
}

static int cmd_run_container(int argc, char **argv)
{
	struct err e = { 0 };
	return print_err(cmd_run_image(argc, argv, &e), &e);
}

static int cmd_exec_cli(int argc, char **argv)
{
	struct err e = { 0 };
	return print_err(cmd_exec(argc, argv, &e), &e);
}

static const struct svmm_cmd commands[] = {
	{ "net", NULL, cmd_net },   { "seed", NULL, cmd_seed }, { "exec", NULL, cmd_exec_cli },
	{ "jail", NULL, cmd_jail }, { "vfio", NULL, cmd_vfio },
};

int main(int argc, char **argv)
{
	log_set_sink(log_stderr, NULL);
	const char *name = argc > 1 ? argv[1] : "";

	if (!strcmp(name, "run") && svmm_run_wants_image(argc - 1, argv + 1))
		return cmd_run_container(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].run(argc - 1, argv + 1);
	/* the VMM's commands (and help) are svmm's */
	int rc = svmm_exe_exec(SVMM_EXE, argv);
	fprintf(stderr, "svmm-host: cannot run %s: %s\n", SVMM_EXE, strerror(-rc));
	return 125;
}
