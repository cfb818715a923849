// SPDX-License-Identifier: Apache-2.0
/* The root file system disk: an erofs image made by mkfs.erofs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/rootfs_disk.h"
#include "vmm/kvm/log.h"

int rootfs_disk_build(const char *dir, const char *out, struct err *err)
{
	char tmp[4096];
	if (access(out, R_OK) == 0)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, getpid()) >= (int)sizeof(tmp))
		return err_set(err, -ENAMETOOLONG, "%s: path too long", out);
	pid_t pid = fork();
	if (pid < 0)
		return err_set(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 1);
		/* -T0: reproducible times; uncompressed: see the issue 7 note. */
		execlp("mkfs.erofs", "mkfs.erofs", "--quiet", "-T0", tmp, dir, (char *)NULL);
		log_msg(LV_ERROR, "image", "cannot run mkfs.erofs (install erofs-utils): %s",
			strerror(errno));
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(tmp);
		return err_set(err, -EIO, "mkfs.erofs failed for %s (status %d)", dir,
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	if (rename(tmp, out) < 0) {
		int r = -errno;
		unlink(tmp);
		return err_set(err, r, "rename %s: %s", out, strerror(-r));
	}
	return 0;
}
