/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svmm jail: Firecracker's jailer for svmm, the host-side launcher floor.
 * As root, jail_run() puts a VMM process in a root of its own and starts it
 * with nothing it does not need:
 *
 *   <base>/svmm/<id>/        made here (mode 0700), refused when it exists
 *   <base>/svmm/<id>/root/   the VMM's / (0755): a COPY of the executable as
 *                            /svmm, its ELF interpreter and shared libraries
 *                            at their host paths, each host path the VM
 *                            configuration names bind-mounted at the same
 *                            path (read-only unless written), /dev with only
 *                            kvm, net/tun, vhost-net, urandom, null, and a
 *                            /proc of its own pid namespace
 *   <base>/svmm/<id>/svmm.pid the VMM's pid (as the host sees it)
 *
 * The steps, in order: the directories and the copies; the cgroups (v2 when
 * /sys/fs/cgroup is the unified hierarchy: /sys/fs/cgroup/svmm/<id>, with
 * the keys' controllers enabled on the way; else v1: svmm/<id> in the
 * hierarchy of each key's controller); setns into --netns; the TAPs (each
 * net device with a tap name or none and no fd= is opened and configured
 * here, and its --net argument rewritten to fd=, so the VMM needs no
 * CAP_NET_ADMIN; a net device whose fds the caller already opened, as a
 * `run --config FILE` VMM's JSON names them, keeps those fds across the
 * exec); then a child in new mount, pid, ipc and uts namespaces
 * (the VMM is PID 1 of its pid namespace) joins the cgroups, takes the
 * rlimits, makes its mounts private, binds the root onto itself and the
 * paths into it, makes the device nodes, pivots into it and detaches the
 * old root, drops to uid/gid with no capabilities (bounding set included)
 * and no_new_privs, keeps only fds 0-2 and the TAPs, and execs /svmm. Its
 * setup errors come back to the parent through a pipe.
 *
 * Errors are negative errno with a sentence in err naming what failed and
 * on which path.
 */
#ifndef SVMM_VMM_RUN_JAIL_H
#define SVMM_VMM_RUN_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-agent/err.h"
#include "vmm/config/config.h"

#define JAIL_DEFAULT_BASE "/srv/jailer"
#define JAIL_ID_MAX	  64

struct jail_cgroup {
	const char *key, *value; /* "pids.max", "64": the file and what is written */
};

struct jail_path {
	const char *path;   /* absolute host path, bound at the same path */
	unsigned int flags; /* VM_PATH_* (vmm/config/config.h) */
};

struct jail_opts {
	const char *id; /* [A-Za-z0-9-]{1,64} */
	uid_t uid;
	gid_t gid;
	const char *base;  /* NULL: JAIL_DEFAULT_BASE */
	const char *netns; /* a network namespace file (/var/run/netns/N), or NULL */
	const struct jail_cgroup *cgroups;
	size_t n_cgroups;
	bool has_fsize, has_nofile;
	uint64_t fsize, nofile;
	/* setsid, stdio on /dev/null; jail_run returns once the VMM runs */
	bool daemonize;
	const char *exe; /* the VMM executable on the host */
	/* The VMM's argv (argv[0] its name), NULL-terminated; the TAP fds
	 * replace tap= in the --net values at net_argi (may be changed). */
	char **argv;
	const struct vm_config *vm; /* what argv configures */
	const int *net_argi;	    /* vm->net[i]'s argument index in argv */
	const struct jail_path *paths;
	size_t n_paths;
};

/* The VMM uids `svmm run --image` takes when none is given: 64 from
 * 1879048192 (0x70000000), the start of the range systemd documents as
 * unused (above its nspawn container ranges, 524288-1879048191, and far
 * above /etc/subuid's default allocations), gid the same number. Each is
 * held by a flock on JAIL_UID_LOCK_DIR/<uid>.lock. */
#define JAIL_UID_POOL_BASE 1879048192u
#define JAIL_UID_POOL_SIZE 64u
#define JAIL_UID_LOCK_DIR  "/run/svmm/vmm-uids"

/* A uid for a VMM, held while the returned fd (O_CLOEXEC, a flock on
 * dir/<uid>.lock; dir is made 0700) stays open in some process. *uid ==
 * (uid_t)-1: the first uid of the pool nobody holds (LOCK_EX), -EAGAIN when
 * all are; else that very uid, shared (LOCK_SH: runs given the same uid
 * may share it, and the pool skips it). The fd or -errno with err. */
int jail_uid_lock(const char *dir, uid_t *uid, struct err *err);

/* Whether id is a jail id: [A-Za-z0-9-]{1,64}. */
bool jail_id_valid(const char *id);

/* A --net value with tap=NAME (if any) replaced by fd=N or fd=[N,M,...];
 * malloc'd, NULL on ENOMEM. */
char *jail_net_arg(const char *value, const int *fds, unsigned int n_fds);

/* Make the jail and run the VMM in it. Without daemonize, waits for it
 * (forwarding SIGTERM, SIGINT, SIGHUP and SIGQUIT), removes the cgroups
 * and sets *status to its exit status (128+N when killed by signal N);
 * with daemonize, sets *pid and returns once it has exec'd. 0 or a
 * negative errno with err. */
int jail_run(const struct jail_opts *o, pid_t *pid, int *status, struct err *err);

#endif
