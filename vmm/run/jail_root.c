// SPDX-License-Identifier: Apache-2.0
/* svmm jail: the root's files, device nodes and bind mounts (jail_impl.h). */
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

#include "vmm/kvm/log.h"
#include "guest-agent/common.h"
#include "vmm/run/jail_impl.h"

static int copy_in_file(const char *src, const char *dst, mode_t mode, struct err *err)
{
	int rc = copy_file(src, dst, mode);
	return rc ? err_sys(err, -rc, "jail: copying %s to %s", src, dst) : 0;
}

/* Copy host file path to the same path under the root (once). */
static int copy_in(struct jail *j, const char *path, struct err *err)
{
	char dst[PATH_MAX];
	struct stat st;
	int rc;

	if (stat(path, &st))
		return err_sys(err, errno, "jail: cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "jail: %s is not a regular file", path);
	if ((rc = jail_path_join(dst, j->root, path, err)) || (rc = jail_mkdir_parent(dst, err)))
		return rc;
	if (!access(dst, F_OK))
		return 0;
	return copy_in_file(path, dst, st.st_mode & 0755, err);
}

/* The PT_INTERP of ELF file path into interp ("" for a static one). */
static int elf_interp(const char *path, char *interp, size_t len, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	Elf64_Ehdr eh;

	*interp = 0;
	if (fd < 0)
		return err_sys(err, errno, "jail: cannot open %s", path);
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		rc = err_set(err, ENOEXEC, "jail: %s is not a 64-bit ELF executable", path);
		goto out;
	}
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    sizeof(ph)) {
			rc = err_set(err, ENOEXEC, "jail: %s: truncated program headers", path);
			goto out;
		}
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > len ||
		    pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
		    interp[ph.p_filesz - 1] || interp[0] != '/') {
			rc = err_set(err, ENOEXEC, "jail: %s: bad PT_INTERP", path);
			*interp = 0;
		}
		break;
	}
out:
	close(fd);
	return rc;
}

/* Run "interp --list exe" (what ldd does) with no environment; its output
 * into buf. The interpreter must be root's and not writable by others: it
 * runs as root. */
static int ld_list(const char *interp, const char *exe, char *buf, size_t len, struct err *err)
{
	struct stat st;
	int p[2], status;

	if (stat(interp, &st))
		return err_sys(err, errno, "jail: the ELF interpreter %s of %s", interp, exe);
	if (st.st_uid || (st.st_mode & 022))
		return err_set(err, EPERM,
			       "jail: the ELF interpreter %s of %s is not root's or is writable by "
			       "others: not running it as root",
			       interp, exe);
	if (pipe2(p, O_CLOEXEC))
		return err_sys(err, errno, "jail: pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_sys(err, errno, "jail: fork");
	}
	if (!pid) {
		char *argv[] = { (char *)interp, "--list", (char *)exe, NULL }, *envp[] = { NULL };
		dup2(p[1], 1);
		execve(interp, argv, envp);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while ((r = read(p[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0)
		return err_sys(err, errno, "jail: waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(err, ENOEXEC, "jail: %s --list %s failed (status %d)", interp, exe,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (n >= len - 1)
		return err_set(err, E2BIG, "jail: %s --list %s: too much output", interp, exe);
	return 0;
}

/* The executable as /svmm, and its interpreter and libraries. */
int jail_copy_exe(struct jail *j, struct err *err)
{
	char dst[PATH_MAX], interp[PATH_MAX], *out = NULL;
	const char *exe = j->o->exe;
	struct stat st;
	int rc;

	if (stat(exe, &st))
		return err_sys(err, errno, "jail: cannot stat the executable %s", exe);
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "jail: the executable %s is not a regular file", exe);
	if ((rc = jail_path_join(dst, j->root, "/svmm", err)) ||
	    (rc = copy_in_file(exe, dst, 0755, err)) ||
	    (rc = elf_interp(exe, interp, sizeof(interp), err)))
		return rc;
	if (!*interp)
		return 0; /* static */
	if (!(out = malloc(65536)))
		return -ENOMEM;
	if ((rc = ld_list(interp, exe, out, 65536, err)) || (rc = copy_in(j, interp, err)))
		goto done;
	/* "\tlibx.so.1 => /lib/.../libx.so.1 (0x...)", "\t/lib64/ld-linux... (0x...)" */
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *path = strstr(line, "=> ");
		path = path ? path + 3 : line + strspn(line, " \t");
		if (strstr(line, "not found")) {
			rc = err_set(err, ENOENT, "jail: %s needs %s", exe,
				     line + strspn(line, " \t"));
			goto done;
		}
		if (*path != '/')
			continue; /* the vDSO */
		path[strcspn(path, " \t")] = 0;
		if ((rc = copy_in(j, path, err)))
			goto done;
	}
done:
	free(out);
	return rc;
}

/* --- devices and mounts ---------------------------------------------- */

static int dev_add(struct jail *j, const char *path, mode_t mode, bool optional, struct err *err)
{
	struct stat st;

	if (stat(path, &st)) {
		if (optional && errno == ENOENT) {
			log_msg(LV_WARN, "jail", "warning: this host has no %s: the jail has none",
				path);
			return 0;
		}
		return err_sys(err, errno, "jail: the VM needs %s", path);
	}
	if (!S_ISCHR(st.st_mode))
		return err_set(err, ENODEV, "jail: %s is not a character device", path);
	j->devs[j->n_devs++] = (struct jail_dev){ path + 5, mode, st.st_rdev };
	return 0;
}

int jail_devs_find(struct jail *j, struct err *err)
{
	const struct vm_config *vm = j->o->vm;
	bool tun = false, vhost = false;
	int rc;

	for (size_t i = 0; vm && i < vm->n_net; i++) {
		tun |= !vm->net[i].vhost_user;
		vhost |= vm->net[i].vhost;
	}
	if ((rc = dev_add(j, "/dev/kvm", 0600, true, err)) ||
	    (tun && (rc = dev_add(j, "/dev/net/tun", 0600, false, err))) ||
	    (vhost && (rc = dev_add(j, "/dev/vhost-net", 0600, false, err))) ||
	    (rc = dev_add(j, "/dev/urandom", 0666, false, err)) ||
	    (rc = dev_add(j, "/dev/null", 0666, false, err)))
		return rc;
	/* VFIO: the container, and each group's node (vm_config_paths names
	 * /dev/vfio/N), made the VMM's like /dev/kvm */
	if (vm && vm->n_devices && (rc = dev_add(j, "/dev/vfio/vfio", 0666, false, err)))
		return rc;
	for (size_t i = 0; i < j->o->n_paths; i++) {
		const char *p = j->o->paths[i].path;
		bool seen = false;
		if (strncmp(p, "/dev/vfio/", 10) || !strcmp(p, "/dev/vfio/vfio"))
			continue;
		for (size_t k = 0; k < j->n_devs && !seen; k++)
			seen = !strcmp(j->devs[k].path, p + 5);
		if (seen)
			continue;
		if (j->n_devs == MAX_DEVS)
			return err_set(err, E2BIG, "jail: more than %d device nodes", MAX_DEVS);
		if ((rc = dev_add(j, p, 0600, false, err)))
			return rc;
	}
	return 0;
}

/* Files svmm would create (a serial file, a log): made now, the VMM's. */
int jail_create_files(struct jail *j, struct err *err)
{
	for (size_t i = 0; i < j->o->n_paths; i++) {
		const struct jail_path *p = &j->o->paths[i];
		if ((p->flags & (VM_PATH_CREATE | VM_PATH_SOCKET)) != VM_PATH_CREATE ||
		    !access(p->path, F_OK))
			continue;
		int fd = open(p->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_sys(err, errno, "jail: cannot create %s", p->path);
		if (fchown(fd, j->o->uid, j->o->gid)) {
			int e = errno;
			close(fd);
			return err_sys(err, e, "jail: chown %s", p->path);
		}
		close(fd);
	}
	return 0;
}

bool jail_path_sane(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *s = p; (s = strstr(s, "/..")); s += 3)
		if (!s[3] || s[3] == '/')
			return false;
	return true;
}

/* Bind host path src (a directory when dir) at the same path in the root. */
static int bind_one(struct jail *j, const char *src, bool dir, bool writable, struct err *err)
{
	char dst[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = jail_path_join(dst, j->root, src, err)))
		return rc;
	if (stat(src, &st))
		return err_sys(err, errno, "jail: the VM's %s", src);
	if ((rc = jail_mkdir_parent(dst, err)))
		return rc;
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) { /* a device: a node, not a mount */
		if (mknod(dst, st.st_mode, st.st_rdev)) {
			if (errno == EEXIST)
				return 0; /* one of the jail's own (/dev/urandom) */
			return err_sys(err, errno, "jail: mknod %s", dst);
		}
		if (chown(dst, st.st_uid, st.st_gid))
			return err_sys(err, errno, "jail: chown %s", dst);
		return 0;
	}
	dir = dir || S_ISDIR(st.st_mode);
	if (dir) {
		if ((rc = jail_mkdir_p(dst, 0755, err)))
			return rc;
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return err_sys(err, errno, "jail: cannot create the mount point %s", dst);
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND, NULL))
		return err_sys(err, errno, "jail: bind-mount %s on %s", src, dst);
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (writable ? 0 : MS_RDONLY);
	if (mount(NULL, dst, NULL, fl, NULL))
		return err_sys(err, errno, "jail: remount %s%s", dst, writable ? "" : " read-only");
	return 0;
}

int jail_bind_paths(struct jail *j, struct err *err)
{
	int rc;

	/* socket directories first: a file in one is then bound over it */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < j->o->n_paths; i++) {
			const struct jail_path *p = &j->o->paths[i];
			bool sock = p->flags & VM_PATH_SOCKET;
			char src[PATH_MAX];
			if (sock != !pass)
				continue;
			snprintf(src, sizeof(src), "%s", p->path);
			if (sock) {
				char *slash = strrchr(src, '/');
				slash == src ? (void)(src[1] = 0) : (void)(*slash = 0);
			}
			/* once each: the first mention decides */
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++) {
				const struct jail_path *q = &j->o->paths[k];
				seen = (q->flags & VM_PATH_SOCKET) == (p->flags & VM_PATH_SOCKET) &&
				       !strcmp(q->path, p->path);
			}
			if (!seen &&
			    (rc = bind_one(j, src, sock, sock || (p->flags & VM_PATH_WRITE), err)))
				return rc;
		}
	return 0;
}

int jail_make_devs(struct jail *j, struct err *err)
{
	char dst[PATH_MAX];
	int rc;

	for (size_t i = 0; i < j->n_devs; i++) {
		const struct jail_dev *d = &j->devs[i];
		if ((rc = jail_path_join(dst, j->root, "/dev/", err)) ||
		    (rc = jail_mkdir_p(dst, 0755, err)))
			return rc;
		strncat(dst, d->path, sizeof(dst) - strlen(dst) - 1);
		if ((rc = jail_mkdir_parent(dst, err)))
			return rc;
		if (mknod(dst, S_IFCHR | d->mode, d->rdev))
			return err_sys(err, errno, "jail: mknod %s (%u:%u)", dst, major(d->rdev),
				       minor(d->rdev));
		if (chown(dst, j->o->uid, j->o->gid) || chmod(dst, d->mode))
			return err_sys(err, errno, "jail: chown/chmod %s", dst);
	}
	return 0;
}
