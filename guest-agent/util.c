// SPDX-License-Identifier: Apache-2.0
/* Small file helpers for the guest agent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "guest-agent/util.h"

int write_file_create(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, s, strlen(s));
	close(fd);
	return r;
}

ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	return n;
}

int copy_tree(const char *src, const char *dst, const char *skip)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int r = 0;
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* "/" + name must read "/name": skip is compared with it. */
		snprintf(s, sizeof(s), "%s/%s", strcmp(src, "/") ? src : "", de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		if (skip && !strcmp(s, skip))
			continue;
		if (lstat(s, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(t, st.st_mode & 07777) < 0 && errno != EEXIST)
				r = -errno;
			else
				r = copy_tree(s, t, skip);
			chmod(t, st.st_mode & 07777);
		} else if (S_ISLNK(st.st_mode)) {
			char l[PATH_MAX];
			ssize_t n = readlink(s, l, sizeof(l) - 1);
			if (n < 0)
				continue;
			l[n] = 0;
			if (symlink(l, t) < 0 && errno != EEXIST)
				r = -errno;
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(s, t, st.st_mode);
		} else {
			mknod(t, st.st_mode, st.st_rdev);
		}
	}
	closedir(d);
	return r;
}

void remove_tree(const char *path, const char *skip)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct stat root;
	if (!d)
		return;
	if (fstat(dirfd(d), &root) < 0) {
		closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", strcmp(path, "/") ? path : "", de->d_name);
		if ((skip && !strcmp(p, skip)) || lstat(p, &st) < 0 || st.st_dev != root.st_dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			remove_tree(p, skip);
			rmdir(p);
		} else {
			unlink(p);
		}
	}
	closedir(d);
}
