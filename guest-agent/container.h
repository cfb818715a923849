/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running processes as an OCI runtime spec (config.json) says, inside the
 * guest: the workload (namespaces, mounts, pivot_root, cgroup, user,
 * capabilities, rlimits, no_new_privs, seccomp) and processes exec'd into
 * its namespaces later.
 */
#ifndef SVMM_GUEST_AGENT_CONTAINER_H
#define SVMM_GUEST_AGENT_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "guest-agent/err.h"

/* A started process and the agent's ends of its stdio. With a terminal,
 * pty is the master (read for output, written for input) and in/out/err
 * are -1; otherwise pty is -1 and in/out/err are pipe ends. */
struct ctr_proc {
	pid_t pid;
	int in, out, err, pty;
	/* When a start failed: the exit code docker would give (125: the
	 * runtime's own error, 126: not executable, 127: not found). */
	int exit;
};

/* Starts the workload of spec (a parsed config.json) with rootfs as its root
 * directory and cgroup (a path under /sys/fs/cgroup) as its cgroup. 0 or
 * negative errno with e filled. */
int ctr_start(json_t *spec, const char *rootfs, const char *cgroup, struct ctr_proc *p,
	      struct err *e);

/* Starts process (an OCI "process" object) in the namespaces and cgroup of
 * the running workload target; spec gives the defaults the workload had
 * (capabilities, seccomp, no_new_privs) when process has none. */
int ctr_exec(pid_t target, json_t *spec, json_t *process, const char *cgroup, struct ctr_proc *p,
	     struct err *e);

/* Creates the cgroup at path and applies spec.linux.resources to it. */
int ctr_cgroup_create(json_t *spec, const char *path, struct err *e);

/* The exit status as docker reports it: the code, or 128 + the signal. */
int ctr_wait_status(int wstatus);

#endif
