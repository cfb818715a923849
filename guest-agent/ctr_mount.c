// SPDX-License-Identifier: Apache-2.0
/*
 * The workload's file system view, set up in the child before exec: the
 * spec's mounts under its root, the default /dev, pivot_root into the root,
 * then maskedPaths, readonlyPaths and root.readonly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "guest-agent/ctr_priv.h"
#include "guest-agent/util.h"

/* --- mounts ----------------------------------------------------------------------- */

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_opts[] = {
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV },
	{ "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },
	{ "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS },
	{ "noatime", false, MS_NOATIME },
	{ "atime", true, MS_NOATIME },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME },
	{ "bind", false, MS_BIND },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "remount", false, MS_REMOUNT },
	{ "dirsync", false, MS_DIRSYNC },
	{ "mand", false, MS_MANDLOCK },
};

static const struct {
	const char *name;
	unsigned long flag;
} prop_opts[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* Splits a mount's options into flags, propagation and the data string. */
static void mount_parse_opts(json_t *opts, unsigned long *flags, unsigned long *prop, char *data,
			     size_t dlen)
{
	json_t *o;
	size_t i, n = 0;
	*flags = 0;
	*prop = 0;
	data[0] = 0;
	json_array_foreach(opts, i, o)
	{
		const char *s = json_string_value(o);
		bool known = false;
		if (!s)
			continue;
		for (size_t k = 0; k < sizeof(mount_opts) / sizeof(mount_opts[0]); k++) {
			if (!strcmp(s, mount_opts[k].name)) {
				if (mount_opts[k].clear)
					*flags &= ~mount_opts[k].flag;
				else
					*flags |= mount_opts[k].flag;
				known = true;
			}
		}
		for (size_t k = 0; k < sizeof(prop_opts) / sizeof(prop_opts[0]); k++) {
			if (!strcmp(s, prop_opts[k].name)) {
				*prop |= prop_opts[k].flag;
				known = true;
			}
		}
		if (!known) {
			int w = snprintf(data + n, dlen - n, "%s%s", n ? "," : "", s);
			if (w > 0 && (size_t)w < dlen - n)
				n += w;
		}
	}
}

/* Creates the mount point dst: a directory, or a file when src is one. */
static int make_mountpoint(const char *dst, const char *src)
{
	struct stat st;
	if (src && stat(src, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", dst);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = 0;
			mkdir_p(parent, 0755);
		}
		int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EISDIR)
			return -errno;
		if (fd >= 0)
			close(fd);
		return 0;
	}
	return mkdir_p(dst, 0755);
}

static void mount_one(struct launch *L, json_t *m)
{
	const char *dest = json_string_value(json_object_get(m, "destination"));
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *src = json_string_value(json_object_get(m, "source"));
	unsigned long flags, prop;
	char data[1024], dst[PATH_MAX];

	if (!dest || dest[0] != '/')
		child_fail(L, 125, EINVAL, "mounts: destination '%s' is not an absolute path",
			   dest ? dest : "(none)");
	mount_parse_opts(json_object_get(m, "options"), &flags, &prop, data, sizeof(data));
	if (type && !strcmp(type, "bind"))
		flags |= MS_BIND;
	if (type && !strcmp(type, "cgroup"))
		type = "cgroup2"; /* the guest has cgroup v2 only */
	snprintf(dst, sizeof(dst), "%s%s", L->rootfs, dest);
	int r = make_mountpoint(dst, (flags & MS_BIND) ? src : NULL);
	if (r < 0)
		child_fail(L, 125, -r, "mounts: cannot create %s: %s", dest, strerror(-r));
	if (flags & MS_BIND) {
		if (mount(src, dst, NULL, flags & (MS_BIND | MS_REC), NULL) < 0)
			child_fail(L, 125, errno, "mounts: bind %s on %s: %s", src ? src : "(none)",
				   dest, strerror(errno));
		unsigned long ro = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
		if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | ro, NULL) < 0)
			child_fail(L, 125, errno, "mounts: remount %s: %s", dest, strerror(errno));
	} else if (mount(src ? src : type, dst, type, flags, data[0] ? data : NULL) < 0) {
		/* mqueue and sysfs can be refused in a user namespace: skip
		 * what the kernel lacks rather than fail the workload. */
		if (errno == ENODEV)
			return;
		child_fail(L, 125, errno, "mounts: %s on %s (%s): %s", type ? type : "?", dest,
			   data, strerror(errno));
	}
	if (prop && mount(NULL, dst, NULL, prop, NULL) < 0)
		child_fail(L, 125, errno, "mounts: propagation of %s: %s", dest, strerror(errno));
}

/* The devices every container gets, bound from the agent's devtmpfs. */
static const char *const default_devs[] = { "null", "zero", "full", "random", "urandom", "tty" };

static void setup_dev(struct launch *L)
{
	char dst[PATH_MAX], src[64];
	struct stat st;
	snprintf(dst, sizeof(dst), "%s/dev", L->rootfs);
	if (stat(dst, &st) < 0)
		return;
	for (size_t i = 0; i < sizeof(default_devs) / sizeof(default_devs[0]); i++) {
		snprintf(src, sizeof(src), "/dev/%s", default_devs[i]);
		snprintf(dst, sizeof(dst), "%s/dev/%s", L->rootfs, default_devs[i]);
		if (lstat(dst, &st) == 0 && S_ISCHR(st.st_mode))
			continue;
		unlink(dst);
		int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			child_fail(L, 125, errno, "cannot create /dev/%s: %s", default_devs[i],
				   strerror(errno));
		close(fd);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			child_fail(L, 125, errno, "cannot bind /dev/%s: %s", default_devs[i],
				   strerror(errno));
	}
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },	 { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },		 { "/proc/kcore", "core" }
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/dev/%s", L->rootfs, links[i][1]);
		if (symlink(links[i][0], dst) < 0 && errno != EEXIST)
			child_fail(L, 125, errno, "cannot link /dev/%s: %s", links[i][1],
				   strerror(errno));
	}
	/* linux.devices: extra nodes the spec asks for. */
	json_t *devs = json_object_get(json_object_get(L->spec, "linux"), "devices"), *d;
	size_t i;
	json_array_foreach(devs, i, d)
	{
		const char *path = json_string_value(json_object_get(d, "path"));
		const char *type = json_string_value(json_object_get(d, "type"));
		json_t *mode = json_object_get(d, "fileMode");
		if (!path || !type || path[0] != '/')
			child_fail(L, 125, EINVAL,
				   "linux.devices[%zu]: needs an absolute path and a type", i);
		mode_t m = (mode ? json_integer_value(mode) : 0666) & 07777;
		m |= type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
		dev_t dev = makedev(json_integer_value(json_object_get(d, "major")),
				    json_integer_value(json_object_get(d, "minor")));
		snprintf(dst, sizeof(dst), "%s%s", L->rootfs, path);
		unlink(dst);
		if (mknod(dst, m, dev) < 0)
			child_fail(L, 125, errno, "linux.devices: mknod %s: %s", path,
				   strerror(errno));
		if (chown(dst, json_integer_value(json_object_get(d, "uid")),
			  json_integer_value(json_object_get(d, "gid"))) < 0)
			child_fail(L, 125, errno, "linux.devices: chown %s: %s", path,
				   strerror(errno));
	}
}

static void pivot(struct launch *L)
{
	if (mount(L->rootfs, L->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(L, 125, errno, "bind the root %s: %s", L->rootfs, strerror(errno));
	if (chdir(L->rootfs) < 0)
		child_fail(L, 125, errno, "chdir %s: %s", L->rootfs, strerror(errno));
	/* pivot_root(".", "."): the old root ends up on top of the new one. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(L, 125, errno, "pivot_root into %s: %s", L->rootfs, strerror(errno));
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0)
		child_fail(L, 125, errno, "detach the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		child_fail(L, 125, errno, "chdir /: %s", strerror(errno));
}

/* After pivot: maskedPaths, readonlyPaths and root.readonly. */
static void protect_paths(struct launch *L)
{
	json_t *lin = json_object_get(L->spec, "linux"), *p;
	size_t i;
	struct stat st;
	json_array_foreach(json_object_get(lin, "maskedPaths"), i, p)
	{
		const char *path = json_string_value(p);
		if (!path || stat(path, &st) < 0)
			continue;
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", path, NULL, MS_BIND, NULL);
		if (r < 0)
			child_fail(L, 125, errno, "maskedPaths: %s: %s", path, strerror(errno));
	}
	json_array_foreach(json_object_get(lin, "readonlyPaths"), i, p)
	{
		const char *path = json_string_value(p);
		if (!path || stat(path, &st) < 0)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL) < 0) {
			/* proc's own files refuse nodev changes: retry plain ro */
			if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
				child_fail(L, 125, errno, "readonlyPaths: %s: %s", path,
					   strerror(errno));
		}
	}
	if (json_is_true(json_object_get(json_object_get(L->spec, "root"), "readonly"))) {
		if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			child_fail(L, 125, errno, "root.readonly: %s", strerror(errno));
	}
}

void mount_rootfs(struct launch *L)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(L, 125, errno, "make / private: %s", strerror(errno));
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(L->spec, "mounts"), i, m) mount_one(L, m);
	setup_dev(L);
	pivot(L);
	protect_paths(L);
}
