/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command tables of svmm and svmm-host (vmm/run/exe.h). Each subcommand
 * lives in its own file and is entered with the arguments after its name
 * (argv[0] is the name). It returns the process exit status.
 */
#ifndef SVMM_VMM_CLI_CLI_H
#define SVMM_VMM_CLI_CLI_H

#include "vmm/version.h" /* SVMM_VERSION */

struct svmm_cmd {
	const char *name;
	const char *summary;		   /* NULL: hidden from help */
	int (*run)(int argc, char **argv); /* NULL: the other executable's */
};

#endif
