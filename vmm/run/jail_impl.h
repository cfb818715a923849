/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the jail's files share (jail.c: the ids, uid pool, TAPs, child and
 * parent; jail_root.c: the root's copies, device nodes and bind mounts;
 * jail_cgroup.c: the cgroups). Not an interface: jail.h is.
 */
#ifndef SVMM_VMM_RUN_JAIL_IMPL_H
#define SVMM_VMM_RUN_JAIL_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "guest-agent/err.h"
#include "vmm/run/jail.h"

#define MAX_CGROUPS 16
#define MAX_TAP_FDS 64
#define MAX_DEVS    16

struct jail_dev {
	const char *path; /* under /dev */
	mode_t mode;
	dev_t rdev;
};

struct jail {
	const struct jail_opts *o;
	char dir[PATH_MAX], root[PATH_MAX];
	char cg[MAX_CGROUPS][PATH_MAX]; /* cgroup directories made, to join */
	size_t n_cg;
	int tap_fds[MAX_TAP_FDS];
	size_t n_tap_fds;
	int pass_fds[MAX_TAP_FDS]; /* the caller's TAP fds the config names: kept, not closed */
	size_t n_pass_fds;
	char **argv; /* o->argv with the --net values rewritten */
	char **owned;
	size_t n_owned;
	struct jail_dev devs[MAX_DEVS];
	size_t n_devs;
	int null_fd; /* /dev/null for --daemonize */
};

/* out = a + b, -ENAMETOOLONG (with err) past PATH_MAX. */
int jail_path_join(char *out, const char *a, const char *b, struct err *err);
/* mkdir -p path (mode), err naming it. */
int jail_mkdir_p(const char *path, mode_t mode, struct err *err);
/* mkdir -p of path's parent directory. */
int jail_mkdir_parent(const char *path, struct err *err);

/* jail_root.c. In the parent: the executable as /svmm with its interpreter
 * and libraries; the files svmm would create; the device nodes it needs. */
int jail_copy_exe(struct jail *j, struct err *err);
int jail_create_files(struct jail *j, struct err *err);
int jail_devs_find(struct jail *j, struct err *err);
/* Whether p is absolute with no ".." component. */
bool jail_path_sane(const char *p);
/* In the child's mount namespace: the nodes under root/dev, the paths. */
int jail_make_devs(struct jail *j, struct err *err);
int jail_bind_paths(struct jail *j, struct err *err);

/* jail_cgroup.c: make the --cgroup directories and write their values
 * (the child joins j->cg[]); remove the directories made. */
int jail_cg_setup(struct jail *j, struct err *err);
void jail_cg_remove(struct jail *j);

#endif
