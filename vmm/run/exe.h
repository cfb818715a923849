/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svmm's two executables, side by side in one directory:
 *   svmm       the VMM: boots VMs (svmm run without an image, the
 *              cloud-hypervisor personality); linked with only what a VM
 *              needs (liburing, jansson), so a VM process stays small;
 *   svmm-host  the host-side commands: run --image/--bundle (images,
 *              networking, the agent), net, seed, exec, jail, vfio.
 * Each hands the other's commands over by exec, with the same arguments.
 */
#ifndef SVMM_VMM_RUN_EXE_H
#define SVMM_VMM_RUN_EXE_H

#include <stdbool.h>
#include <stddef.h>

#define SVMM_EXE      "svmm"
#define SVMM_HOST_EXE "svmm-host"

/* The path of executable name next to the running one. -ENAMETOOLONG,
 * or the errno of readlink(/proc/self/exe). */
int svmm_exe_path(const char *name, char *out, size_t len);
/* Replace this process with executable name, argv[0] set to name and the
 * rest of argv as given. Returns only on failure: a negative errno. */
int svmm_exe_exec(const char *name, char **argv);
/* Whether svmm run's arguments (after "run") ask for a container:
 * --image or --bundle before "--". */
bool svmm_run_wants_image(int argc, char **argv);

#endif
