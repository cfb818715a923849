// SPDX-License-Identifier: Apache-2.0
/* svmm jail: the --cgroup directories, v2 or v1 (jail_impl.h). */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "vmm/run/jail_impl.h"

/* --- cgroups --------------------------------------------------------- */

static bool word_in(const char *list, const char *w, const char *seps)
{
	size_t n = strlen(w);

	for (const char *p = list; *p; p += strcspn(p, seps), p += strspn(p, seps))
		if (!strncmp(p, w, n) && (!p[n] || strchr(seps, p[n])))
			return true;
	return false;
}

/* The v1 hierarchy that has controller ctrl mounted: into mnt. */
static int v1_mount(const char *ctrl, char *mnt, struct err *err)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024];
	int rc = -ENOENT;

	if (!f)
		return err_sys(err, errno, "jail: cannot read /proc/self/mounts");
	while (fgets(line, sizeof(line), f)) {
		char dir[512], type[64], opts[512];
		if (sscanf(line, "%*s %511s %63s %511s", dir, type, opts) != 3 ||
		    strcmp(type, "cgroup") || !word_in(opts, ctrl, ","))
			continue;
		snprintf(mnt, PATH_MAX, "%s", dir);
		rc = 0;
		break;
	}
	fclose(f);
	if (rc)
		return err_set(err, ENOENT,
			       "--cgroup: no cgroup v1 hierarchy has the %s controller "
			       "(/proc/self/mounts), and /sys/fs/cgroup is not cgroup v2",
			       ctrl);
	return 0;
}

static int cg_add(struct jail *j, const char *dir)
{
	for (size_t i = 0; i < j->n_cg; i++)
		if (!strcmp(j->cg[i], dir))
			return 0;
	if (j->n_cg == MAX_CGROUPS)
		return -E2BIG;
	snprintf(j->cg[j->n_cg++], PATH_MAX, "%s", dir);
	return 0;
}

#define CG2 "/sys/fs/cgroup"

/* The cgroup directory for key (made, its controller enabled on v2). */
static int cg_dir(struct jail *j, const char *key, char *dir, struct err *err)
{
	char ctrl[64], p[PATH_MAX], buf[512] = "";
	size_t n = strcspn(key, ".");
	int rc;

	if (!n || !key[n] || n >= sizeof(ctrl))
		return err_set(err, EINVAL, "--cgroup %s: expected CONTROLLER.FILE=VALUE", key);
	memcpy(ctrl, key, n);
	ctrl[n] = 0;
	if (!access(CG2 "/cgroup.controllers", F_OK)) {
		int fd = open(CG2 "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
		ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[r > 0 ? r : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		bool core = !strcmp(ctrl, "cgroup");
		if (!core && !word_in(buf, ctrl, " "))
			return err_set(err, ENOENT,
				       "--cgroup %s: the %s controller is not available in " CG2
				       " (cgroup.controllers: %s)",
				       key, ctrl, *buf ? buf : "none");
		if (mkdir(CG2 "/svmm", 0755) && errno != EEXIST)
			return err_sys(err, errno, "--cgroup: mkdir " CG2 "/svmm");
		snprintf(p, sizeof(p), "+%s", ctrl);
		if (!core && ((rc = write_file(CG2 "/cgroup.subtree_control", p)) ||
			      (rc = write_file(CG2 "/svmm/cgroup.subtree_control", p))))
			return err_set(err, rc,
				       "--cgroup %s: cannot enable the %s controller for " CG2
				       "/svmm: %s",
				       key, ctrl, strerror(-rc));
		snprintf(dir, PATH_MAX, CG2 "/svmm/%s", j->o->id);
	} else {
		if ((rc = v1_mount(ctrl, p, err)))
			return rc;
		if ((size_t)snprintf(dir, PATH_MAX, "%s/svmm", p) >= PATH_MAX)
			return -ENAMETOOLONG;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return err_sys(err, errno, "--cgroup: mkdir %s", dir);
		if ((size_t)snprintf(dir, PATH_MAX, "%s/svmm/%s", p, j->o->id) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return err_sys(err, errno, "--cgroup: mkdir %s", dir);
	if (cg_add(j, dir))
		return err_set(err, E2BIG, "--cgroup: more than %d cgroup directories",
			       MAX_CGROUPS);
	return 0;
}

int jail_cg_setup(struct jail *j, struct err *err)
{
	char dir[PATH_MAX], file[PATH_MAX + 64];
	int rc;

	for (size_t i = 0; i < j->o->n_cgroups; i++) {
		const struct jail_cgroup *c = &j->o->cgroups[i];
		if ((rc = cg_dir(j, c->key, dir, err)))
			return rc;
		if (strchr(c->key, '/'))
			return err_set(err, EINVAL, "--cgroup %s: not a file name", c->key);
		snprintf(file, sizeof(file), "%s/%s", dir, c->key);
		if (access(file, F_OK))
			return err_set(err, ENOENT,
				       "--cgroup %s: %s does not exist (not a file of that "
				       "controller?)",
				       c->key, file);
		if ((rc = write_file(file, c->value)))
			return err_set(err, rc, "--cgroup %s=%s: writing %s: %s", c->key, c->value,
				       file, strerror(-rc));
	}
	return 0;
}

void jail_cg_remove(struct jail *j)
{
	for (size_t i = 0; i < j->n_cg; i++)
		rmdir(j->cg[i]);
}
