/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the pieces of container.c share, and nothing outside them uses:
 *   container.c   ctr_start/ctr_exec, namespaces, the process (user,
 *                 capabilities, rlimits, exec)
 *   ctr_mount.c   mounts, /dev, pivot_root, masked and read-only paths
 *   ctr_stdio.c   pipes or a terminal for the process's stdio
 *   ctr_cgroup.c  ctr_cgroup_create
 */
#ifndef SVMM_GUEST_AGENT_CTR_PRIV_H
#define SVMM_GUEST_AGENT_CTR_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "guest-agent/container.h"
#include "guest-agent/err.h"

/* What the child needs; filled by the agent before cloning. */
struct launch {
	json_t *spec;	 /* the whole config.json */
	json_t *process; /* the process object to run */
	const char *rootfs;
	bool exec; /* joining a running workload: no mounts, no pivot */
	/* Pipes, read end and write end; -1 once closed. */
	int sync_rd, sync_wr; /* the child waits on sync_rd until the agent set it up */
	int err_rd, err_wr;   /* the child reports failures on err_wr (close-on-exec) */
	int pid_rd, pid_wr;   /* exec: the intermediate reports its child's pid */
	int cg_procs;	      /* exec: the workload's cgroup.procs, or -1 */
	int stdio[3];	      /* the child's stdin, stdout, stderr */
	bool new_cgroup_ns;   /* unshared once the child is in its cgroup */
	int pty_slave;	      /* the child's terminal, opened in its own devpts */
	int pty_sock;	      /* the child sends the terminal's master here */
	int pty_recv;	      /* the agent's end of pty_sock */
	pid_t target;
};

/* In the child: reports a failure to the agent (the message, the exit code
 * and err, the errno of the failing call) and exits with exit. */
__attribute__((noreturn)) void child_fail(struct launch *L, int exit, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ctr_mount.c, in the child: / made private, the spec's mounts, /dev, the
 * pivot into L->rootfs, maskedPaths, readonlyPaths and root.readonly. */
void mount_rootfs(struct launch *L);

/* ctr_stdio.c: opens proc's stdio (pipes, or the socket pair for a
 * terminal) into L and p; 0, or negative errno with e filled and nothing
 * left open. */
int stdio_open(json_t *proc, struct launch *L, struct ctr_proc *p, struct err *e);
/* In the child: opens the terminal in the container's devpts, makes it the
 * controlling one, and hands the master to the agent. */
void open_terminal(struct launch *L);
/* The agent's copies of the child's ends, once the child has its own. */
void stdio_close_child_ends(struct launch *L);
/* After releasing the child: its terminal's master into p->pty, sized as
 * proc.consoleSize asks. */
void stdio_take_terminal(struct launch *L, json_t *proc, struct ctr_proc *p);
/* Every stdio descriptor of L and p, on a failure. */
void stdio_close_all(struct launch *L, struct ctr_proc *p);

#endif
