// SPDX-License-Identifier: Apache-2.0
/* The root file system disk: an erofs image made by mkfs.erofs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/rootfs_disk.h"

int rootfs_disk_build(const char *dir, const char *out, char *err, size_t errlen)
{
	char tmp[4096];
	if (access(out, R_OK) == 0)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", out);
		return -ENAMETOOLONG;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 1);
		/* -T0: reproducible times; uncompressed: see the issue 7 note. */
		execlp("mkfs.erofs", "mkfs.erofs", "--quiet", "-T0", tmp, dir, (char *)NULL);
		fprintf(stderr, "svmm: cannot run mkfs.erofs (install erofs-utils): %s\n",
			strerror(errno));
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(tmp);
		snprintf(err, errlen, "mkfs.erofs failed for %s (status %d)", dir,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -EIO;
	}
	if (rename(tmp, out) < 0) {
		int r = -errno;
		unlink(tmp);
		snprintf(err, errlen, "rename %s: %s", out, strerror(-r));
		return r;
	}
	return 0;
}
