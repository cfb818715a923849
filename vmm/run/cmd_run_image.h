/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `svmm run --image REF | --bundle DIR [options] -- CMD ARGS`: docker run
 * with a VM around it, and `svmm exec NAME -- CMD`: a process in the
 * workload of a running `svmm run --name NAME`. Exit status as docker: the
 * workload's, 125 for svmm's own errors, 126 not executable, 127 not found.
 */
#ifndef SVMM_VMM_RUN_CMD_RUN_IMAGE_H
#define SVMM_VMM_RUN_CMD_RUN_IMAGE_H

#include <stdbool.h>

#include "guest-agent/err.h"

/* Each returns the exit status; when svmm itself failed (or the workload could
 * not start) err says why, for the command line to print. */
int cmd_run_image(int argc, char **argv, struct err *err);
int cmd_exec(int argc, char **argv, struct err *err);

#endif
