// SPDX-License-Identifier: Apache-2.0
/* Landlock rulesets from paths (see landlock.h). */
#include "vmm/kvm/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights newer than the headers of Debian 12 (6.1, ABI 2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* The file rights of ABI 1 and everything ABI 1 handles on directories. */
#define FS_FILE_READ  LANDLOCK_ACCESS_FS_READ_FILE
#define FS_FILE_WRITE LANDLOCK_ACCESS_FS_WRITE_FILE
#define FS_DIR_WRITE                                                    \
	(LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK)
#define FS_ABI1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	if (v >= 1)
		return (int)v;
	return errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
}

static uint64_t handled_for(int abi)
{
	uint64_t h = FS_ABI1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

int landlock_init(struct landlock *l, struct err *err)
{
	l->fd = -1;
	l->abi = landlock_abi();
	if (l->abi == -EOPNOTSUPP)
		return err_set(
			err, EOPNOTSUPP,
			"this kernel has no Landlock (CONFIG_SECURITY_LANDLOCK, or 'landlock' "
			"missing from the lsm= boot parameter)");
	if (l->abi < 0)
		return err_sys(err, -l->abi, "landlock_create_ruleset");
	l->handled = handled_for(l->abi);
	struct landlock_ruleset_attr attr = { .handled_access_fs = l->handled };
	long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return err_sys(err, errno, "landlock_create_ruleset (ABI %d)", l->abi);
	l->fd = (int)fd;
	return 0;
}

int landlock_allow(struct landlock *l, const char *path, unsigned int access, struct err *err)
{
	struct stat st;
	uint64_t a = 0;
	int fd, rc = 0;

	if (l->fd < 0)
		return err_set(err, EBADF, "landlock: no ruleset");
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "landlock rule '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = err_sys(err, errno, "landlock rule '%s': fstat", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (access & LL_READ)
			a |= FS_FILE_READ | LANDLOCK_ACCESS_FS_READ_DIR;
		if (access & LL_WRITE)
			a |= FS_FILE_WRITE | FS_DIR_WRITE | LANDLOCK_ACCESS_FS_REFER |
			     LANDLOCK_ACCESS_FS_TRUNCATE;
	} else {
		if (access & LL_READ)
			a |= FS_FILE_READ;
		if (access & LL_WRITE)
			a |= FS_FILE_WRITE | LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))
		a |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	struct landlock_path_beneath_attr pb = { .allowed_access = a & l->handled,
						 .parent_fd = fd };
	if (syscall(SYS_landlock_add_rule, l->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		rc = err_sys(err, errno, "landlock rule '%s'", path);
out:
	close(fd);
	return rc;
}

int landlock_apply(struct landlock *l, struct err *err)
{
	int rc = 0;

	if (l->fd < 0)
		return err_set(err, EBADF, "landlock: no ruleset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = err_sys(err, errno, "landlock: PR_SET_NO_NEW_PRIVS");
	else if (syscall(SYS_landlock_restrict_self, l->fd, 0) < 0)
		rc = err_sys(err, errno, "landlock_restrict_self");
	landlock_free(l);
	return rc;
}

void landlock_free(struct landlock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int landlock_access_parse(const char *s, unsigned int *access)
{
	if (!strcmp(s, "r"))
		*access = LL_READ;
	else if (!strcmp(s, "rw"))
		*access = LL_READ | LL_WRITE;
	else
		return -EINVAL;
	return 0;
}
