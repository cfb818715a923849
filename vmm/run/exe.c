// SPDX-License-Identifier: Apache-2.0
/* svmm and svmm-host: finding and exec'ing each other. */
#include "vmm/run/exe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int svmm_exe_path(const char *name, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	if ((size_t)snprintf(out, len, "%s/%s", slash ? self : ".", name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int svmm_exe_exec(const char *name, char **argv)
{
	char path[PATH_MAX];
	int rc = svmm_exe_path(name, path, sizeof(path));

	if (rc)
		return rc;
	argv[0] = (char *)name;
	execv(path, argv);
	return -errno;
}

bool svmm_run_wants_image(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--image", 7) || !strncmp(argv[i], "--bundle", 8))
			return true;
	return false;
}
