// SPDX-License-Identifier: Apache-2.0
/* svmm jail: the VMM in a root, namespaces and cgroups of its own (jail.h). */
#include "vmm/run/jail.h"

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

#include "devices/virtio/net/net.h"
#include "net/tap.h"
#include "vmm/devices.h"
#include "vmm/kvm/log.h"

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

bool jail_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > JAIL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return false;
	return true;
}

char *jail_net_arg(const char *value, const int *fds, unsigned int n_fds)
{
	size_t cap = strlen(value) + 16 + n_fds * 12;
	char *out = malloc(cap), *p = out;
	const char *s = value;

	if (!out)
		return NULL;
	*p = 0;
	while (*s) {
		size_t len = strcspn(s, ",");
		if (strncmp(s, "tap=", 4) && strncmp(s, "fd=", 3)) {
			p += sprintf(p, "%s%.*s", p == out ? "" : ",", (int)len, s);
		}
		s += len;
		if (*s == ',')
			s++;
	}
	p += sprintf(p, "%sfd=%s", p == out ? "" : ",", n_fds > 1 ? "[" : "");
	for (unsigned int i = 0; i < n_fds; i++)
		p += sprintf(p, "%s%d", i ? "," : "", fds[i]);
	if (n_fds > 1)
		strcpy(p, "]");
	return out;
}

int jail_uid_lock(const char *dir, uid_t *uid, struct err *err)
{
	bool pick = *uid == (uid_t)-1;
	char p[PATH_MAX];

	if (mkdir(dir, 0700) && errno != EEXIST)
		return err_sys(err, errno, "the VMM's uid: mkdir %s", dir);
	for (unsigned int i = 0; i < (pick ? JAIL_UID_POOL_SIZE : 1); i++) {
		uid_t u = pick ? JAIL_UID_POOL_BASE + i : *uid;
		snprintf(p, sizeof(p), "%s/%u.lock", dir, (unsigned)u);
		int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return err_sys(err, errno, "the VMM's uid: cannot open %s", p);
		if (!flock(fd, (pick ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
			*uid = u;
			return fd;
		}
		int e = errno;
		close(fd);
		if (e != EWOULDBLOCK)
			return err_sys(err, e, "the VMM's uid: flock %s", p);
		if (!pick)
			return err_set(err, EBUSY,
				       "--vmm-user %u: a VMM of another svmm run holds it from the "
				       "pool (%s)",
				       (unsigned)u, p);
	}
	return err_set(err, EAGAIN,
		       "the VMM's uid: all %u of the pool (%u-%u) are in use (locks in %s); give "
		       "--vmm-user",
		       JAIL_UID_POOL_SIZE, JAIL_UID_POOL_BASE,
		       JAIL_UID_POOL_BASE + JAIL_UID_POOL_SIZE - 1, dir);
}

/* --- files ----------------------------------------------------------- */

static int path_join(char *out, const char *a, const char *b, struct err *err)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		return err_set(err, ENAMETOOLONG, "jail: path too long: %s%s", a, b);
	return 0;
}

/* mkdir -p; the directories made get mode. */
static int mkdir_p(const char *path, mode_t mode, struct err *err)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return err_set(err, ENAMETOOLONG, "jail: path too long: %s", path);
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, mode) && errno != EEXIST)
			return err_sys(err, errno, "jail: mkdir %s", p);
		*s = c;
		if (!c)
			return 0;
	}
}

static int mkdir_parent(const char *path, struct err *err)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = 0;
	return mkdir_p(p, 0755, err);
}

/* Copy src to dst (which must not exist), mode mode. */
static int copy_file(const char *src, const char *dst, mode_t mode, struct err *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	char buf[65536];

	if (in < 0)
		return err_sys(err, errno, "jail: cannot open %s", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		rc = err_sys(err, errno, "jail: cannot create %s", dst);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			rc = err_sys(err, errno, "jail: reading %s", src);
			goto out;
		}
		if (!n)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				rc = err_sys(err, errno, "jail: writing %s", dst);
				goto out;
			}
			off += w;
		}
	}
	if (fchmod(out, mode))
		rc = err_sys(err, errno, "jail: chmod %s", dst);
out:
	if (out >= 0 && close(out) && !rc)
		rc = err_sys(err, errno, "jail: writing %s", dst);
	close(in);
	return rc;
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
	if ((rc = path_join(dst, j->root, path, err)) || (rc = mkdir_parent(dst, err)))
		return rc;
	if (!access(dst, F_OK))
		return 0;
	return copy_file(path, dst, st.st_mode & 0755, err);
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
static int copy_exe(struct jail *j, struct err *err)
{
	char dst[PATH_MAX], interp[PATH_MAX], *out = NULL;
	const char *exe = j->o->exe;
	struct stat st;
	int rc;

	if (stat(exe, &st))
		return err_sys(err, errno, "jail: cannot stat the executable %s", exe);
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "jail: the executable %s is not a regular file", exe);
	if ((rc = path_join(dst, j->root, "/svmm", err)) || (rc = copy_file(exe, dst, 0755, err)) ||
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

/* --- cgroups --------------------------------------------------------- */

static int write_file(const char *path, const char *s, struct err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? errno : 0;
	close(fd);
	(void)err;
	return n < 0 ? -e : 0;
}

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
		if (!core && ((rc = write_file(CG2 "/cgroup.subtree_control", p, err)) ||
			      (rc = write_file(CG2 "/svmm/cgroup.subtree_control", p, err))))
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

static int cg_setup(struct jail *j, struct err *err)
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
		if ((rc = write_file(file, c->value, err)))
			return err_set(err, rc, "--cgroup %s=%s: writing %s: %s", c->key, c->value,
				       file, strerror(-rc));
	}
	return 0;
}

static void cg_remove(struct jail *j)
{
	for (size_t i = 0; i < j->n_cg; i++)
		rmdir(j->cg[i]);
}

/* --- TAPs ------------------------------------------------------------ */

/* Each net device with a TAP (named or not) and no fd=: open and configure
 * it here (in the netns), and hand the VMM its queues as fd=. */
static int open_taps(struct jail *j, struct err *err)
{
	const struct vm_config *vm = j->o->vm;
	int rc;

	for (size_t i = 0; vm && i < vm->n_net; i++) {
		const struct net_config *n = &vm->net[i];
		struct virtio_net_opts vo;
		struct tap t;
		if (n->vhost_user)
			continue;
		for (size_t k = 0; k < n->n_fds; k++) { /* the caller's: passed on */
			if (fcntl(n->fds[k], F_GETFD) < 0)
				return err_sys(err, errno, "jail: net[%zu]: fd %d", i, n->fds[k]);
			if (j->n_pass_fds == MAX_TAP_FDS)
				return err_set(err, E2BIG, "jail: more than %d TAP fds",
					       MAX_TAP_FDS);
			j->pass_fds[j->n_pass_fds++] = n->fds[k];
		}
		if (n->n_fds)
			continue;
		if ((rc = vm_net_opts(n, i, &vo, err)))
			return rc;
		unsigned int pairs = (n->num_queues ? n->num_queues : 2) / 2;
		if (!pairs || pairs > TAP_MAX_QUEUES || j->n_tap_fds + pairs > MAX_TAP_FDS)
			return err_set(err, EINVAL, "--net: net[%zu]: num_queues=%u", i,
				       n->num_queues);
		if ((rc = tap_open(&t, n->tap, pairs, false, err)))
			return err_wrap(err, "--net: net[%zu]", i);
		for (unsigned int q = 0; q < t.n_fds; q++)
			j->tap_fds[j->n_tap_fds++] = t.fd[q];
		const char *name = t.name;
		if (vo.has_host_mac && (rc = tap_set_mac(name, vo.host_mac)))
			return err_set(err, rc, "--net: tap '%s': host_mac: %s", name,
				       strerror(-rc));
		if (vo.mtu && (rc = tap_set_mtu(name, vo.mtu)))
			return err_set(err, rc, "--net: tap '%s': mtu %u: %s", name, vo.mtu,
				       strerror(-rc));
		if (vo.has_ip && t.created && (rc = tap_set_ipv4(name, vo.ip, vo.mask)))
			return err_set(err, rc, "--net: tap '%s': ip/mask: %s", name,
				       strerror(-rc));
		if ((rc = tap_set_up(name)))
			return err_set(err, rc, "--net: tap '%s': up: %s", name, strerror(-rc));
		/* rewrite its argument */
		int ai = j->o->net_argi[i];
		const char *arg = j->argv[ai];
		bool inl = !strncmp(arg, "--net=", 6);
		char *v = jail_net_arg(inl ? arg + 6 : arg, t.fd, t.n_fds), *full = v;
		if (v && inl && asprintf(&full, "--net=%s", v) < 0)
			full = NULL;
		if (full != v)
			free(v);
		if (!full)
			return -ENOMEM;
		j->owned[j->n_owned++] = full;
		j->argv[ai] = full;
	}
	return 0;
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

static int devs_find(struct jail *j, struct err *err)
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
static int create_files(struct jail *j, struct err *err)
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

static bool path_sane(const char *p)
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

	if ((rc = path_join(dst, j->root, src, err)))
		return rc;
	if (stat(src, &st))
		return err_sys(err, errno, "jail: the VM's %s", src);
	if ((rc = mkdir_parent(dst, err)))
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
		if ((rc = mkdir_p(dst, 0755, err)))
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

static int bind_paths(struct jail *j, struct err *err)
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

static int make_devs(struct jail *j, struct err *err)
{
	char dst[PATH_MAX];
	int rc;

	for (size_t i = 0; i < j->n_devs; i++) {
		const struct jail_dev *d = &j->devs[i];
		if ((rc = path_join(dst, j->root, "/dev/", err)) || (rc = mkdir_p(dst, 0755, err)))
			return rc;
		strncat(dst, d->path, sizeof(dst) - strlen(dst) - 1);
		if ((rc = mkdir_parent(dst, err)))
			return rc;
		if (mknod(dst, S_IFCHR | d->mode, d->rdev))
			return err_sys(err, errno, "jail: mknod %s (%u:%u)", dst, major(d->rdev),
				       minor(d->rdev));
		if (chown(dst, j->o->uid, j->o->gid) || chmod(dst, d->mode))
			return err_sys(err, errno, "jail: chown/chmod %s", dst);
	}
	return 0;
}

/* --- the child: PID 1 of the new pid namespace ------------------------ */

static int drop_privileges(const struct jail_opts *o, struct err *err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (setgroups(0, NULL))
		return err_sys(err, errno, "jail: setgroups(0)");
	if (setresgid(o->gid, o->gid, o->gid))
		return err_sys(err, errno, "jail: setresgid(%u)", (unsigned)o->gid);
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return err_sys(err, errno, "jail: PR_CAPBSET_DROP %d", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return err_sys(err, errno, "jail: PR_CAP_AMBIENT_CLEAR_ALL");
	if (setresuid(o->uid, o->uid, o->uid))
		return err_sys(err, errno, "jail: setresuid(%u)", (unsigned)o->uid);
	if (syscall(SYS_capset, &h, d))
		return err_sys(err, errno, "jail: capset (none)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return err_sys(err, errno, "jail: PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int keep_fds(struct jail *j, struct err *err)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl))
			return err_sys(err, errno, "jail: getrlimit");
		for (int fd = 3; fd < (int)rl.rlim_cur && fd < (1 << 20); fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	for (size_t i = 0; i < j->n_tap_fds; i++)
		if (fcntl(j->tap_fds[i], F_SETFD, 0))
			return err_sys(err, errno, "jail: fd %d (a TAP)", j->tap_fds[i]);
	for (size_t i = 0; i < j->n_pass_fds; i++)
		if (fcntl(j->pass_fds[i], F_SETFD, 0))
			return err_sys(err, errno, "jail: fd %d (a TAP)", j->pass_fds[i]);
	return 0;
}

static int child_setup(struct jail *j, const sigset_t *mask, struct err *err)
{
	const struct jail_opts *o = j->o;
	char p[PATH_MAX];
	int rc;

	if (o->daemonize) {
		if (setsid() < 0)
			return err_sys(err, errno, "jail: setsid");
		if (dup2(j->null_fd, 0) < 0 || dup2(j->null_fd, 1) < 0 || dup2(j->null_fd, 2) < 0)
			return err_sys(err, errno, "jail: stdio on /dev/null");
	}
	for (size_t i = 0; i < j->n_cg; i++) {
		snprintf(p, sizeof(p), "%s/cgroup.procs", j->cg[i]);
		if ((rc = write_file(p, "0", err)))
			return err_set(err, rc, "jail: joining the cgroup %s: %s", j->cg[i],
				       strerror(-rc));
	}
	if (o->has_fsize && setrlimit(RLIMIT_FSIZE, &(struct rlimit){ o->fsize, o->fsize }))
		return err_sys(err, errno, "--resource-limit fsize=%llu",
			       (unsigned long long)o->fsize);
	if (o->has_nofile && setrlimit(RLIMIT_NOFILE, &(struct rlimit){ o->nofile, o->nofile }))
		return err_sys(err, errno, "--resource-limit no-file=%llu",
			       (unsigned long long)o->nofile);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return err_sys(err, errno, "jail: making / private");
	if (mount(j->root, j->root, NULL, MS_BIND, NULL))
		return err_sys(err, errno, "jail: bind-mount %s on itself", j->root);
	if ((rc = make_devs(j, err)) || (rc = bind_paths(j, err)))
		return rc;
	/* a /proc of the jail's pid namespace, its processes only (subset=pid) */
	if ((rc = path_join(p, j->root, "/proc", err)))
		return rc;
	if (mkdir(p, 0555) && errno != EEXIST)
		return err_sys(err, errno, "jail: mkdir %s", p);
	unsigned long pf = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("proc", p, "proc", pf, "subset=pid") && mount("proc", p, "proc", pf, NULL))
		return err_sys(err, errno, "jail: mount proc on %s", p);
	if ((rc = path_join(p, j->root, "/old_root", err)))
		return rc;
	if (mkdir(p, 0700) && errno != EEXIST)
		return err_sys(err, errno, "jail: mkdir %s", p);
	if (chdir(j->root))
		return err_sys(err, errno, "jail: chdir %s", j->root);
	if (syscall(SYS_pivot_root, ".", "old_root"))
		return err_sys(err, errno, "jail: pivot_root to %s", j->root);
	if (chdir("/"))
		return err_sys(err, errno, "jail: chdir /");
	if (umount2("/old_root", MNT_DETACH))
		return err_sys(err, errno, "jail: unmounting the old root");
	if (rmdir("/old_root"))
		return err_sys(err, errno, "jail: rmdir /old_root");
	if ((rc = drop_privileges(o, err)) || (rc = keep_fds(j, err)))
		return rc;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv("/svmm", j->argv);
	return err_sys(err, errno, "jail: exec /svmm (%s)", o->exe);
}

/* --- the parent ------------------------------------------------------- */

static int setup(struct jail *j, struct err *err)
{
	const struct jail_opts *o = j->o;
	const char *base = o->base ? o->base : JAIL_DEFAULT_BASE;
	char p[PATH_MAX];
	int rc;

	if (!jail_id_valid(o->id))
		return err_set(err, EINVAL, "--id '%s': expected [A-Za-z0-9-]{1,%d}", o->id,
			       JAIL_ID_MAX);
	for (size_t i = 0; i < o->n_paths; i++)
		if (!path_sane(o->paths[i].path))
			return err_set(
				err, EINVAL,
				"jail: the VM's path '%s' is not absolute (or has '..'): the "
				"VMM runs in the jail's root",
				o->paths[i].path);
	if (base[0] != '/')
		return err_set(err, EINVAL, "--chroot-base '%s': not an absolute path", base);
	if ((size_t)snprintf(j->dir, sizeof(j->dir), "%s/svmm/%s", base, o->id) >= sizeof(j->dir))
		return err_set(err, ENAMETOOLONG, "--chroot-base: too long");
	snprintf(p, sizeof(p), "%s/svmm", base); /* shorter than j->dir */
	if ((rc = mkdir_p(p, 0755, err)))
		return rc;
	if (mkdir(j->dir, 0700)) {
		if (errno == EEXIST)
			return err_set(err, EEXIST,
				       "jail: %s exists: a jail with id '%s' ran or runs there "
				       "(remove it first)",
				       j->dir, o->id);
		return err_sys(err, errno, "jail: mkdir %s", j->dir);
	}
	if ((rc = path_join(j->root, j->dir, "/root", err)))
		return rc;
	if (mkdir(j->root, 0755) || chmod(j->root, 0755))
		return err_sys(err, errno, "jail: mkdir %s", j->root);
	if ((rc = copy_exe(j, err)) || (rc = create_files(j, err)) || (rc = devs_find(j, err)))
		return rc;
	if (o->daemonize && (j->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "jail: open /dev/null");
	if ((rc = cg_setup(j, err)))
		return rc;
	if (o->netns) {
		int fd = open(o->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "--netns %s", o->netns);
		rc = setns(fd, CLONE_NEWNET) ? -errno : 0;
		close(fd);
		if (rc)
			return err_sys(err, -rc, "--netns %s: setns", o->netns);
	}
	return open_taps(j, err);
}

static int wait_child(pid_t pid, const sigset_t *set, int *status)
{
	for (;;) {
		siginfo_t si;
		int st, sig = sigwaitinfo(set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (sig != SIGCHLD) {
			kill(pid, sig);
			continue;
		}
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return 0;
		}
	}
}

int jail_run(const struct jail_opts *o, pid_t *pid_out, int *status, struct err *err)
{
	struct jail *j = calloc(1, sizeof(*j));
	sigset_t set, old;
	int argc = 0, rc, pfd[2] = { -1, -1 };
	pid_t pid = -1;

	if (!j)
		return -ENOMEM;
	j->o = o;
	j->null_fd = -1;
	while (o->argv[argc])
		argc++;
	j->argv = calloc((size_t)argc + 1, sizeof(char *));
	j->owned = calloc((o->vm ? o->vm->n_net : 0) + 1, sizeof(char *));
	if (!j->argv || !j->owned) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(j->argv, o->argv, (size_t)argc * sizeof(char *));
	if ((rc = setup(j, err)))
		goto out;
	if (pipe2(pfd, O_CLOEXEC)) {
		rc = err_sys(err, errno, "jail: pipe");
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* fork into new namespaces: the child is PID 1 of its pid namespace */
	pid = (pid_t)syscall(SYS_clone,
			     CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
			     NULL, NULL, NULL, NULL);
	if (pid < 0) {
		rc = err_sys(err, errno, "jail: clone (new mount, pid, ipc, uts namespaces)");
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	if (!pid) {
		struct err ce = { 0 };
		close(pfd[0]);
		rc = child_setup(j, &old, &ce);
		if (!ce.code)
			err_set(&ce, rc, "jail: setting up the VMM failed");
		if (write(pfd[1], &ce, sizeof(ce)) < 0)
			_exit(126);
		_exit(125);
	}
	close(pfd[1]);
	pfd[1] = -1;
	struct err ce;
	ssize_t n;
	while ((n = read(pfd[0], &ce, sizeof(ce))) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < j->n_tap_fds; i++)
		close(j->tap_fds[i]);
	j->n_tap_fds = 0;
	if (n > 0) {
		waitpid(pid, NULL, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = n == sizeof(ce) ? err_set(err, ce.code, "%s", ce.msg)
				     : err_set(err, EIO, "jail: the VMM's setup failed");
		goto out;
	}
	char pidf[PATH_MAX + 16], num[32];
	snprintf(pidf, sizeof(pidf), "%s/svmm.pid", j->dir);
	snprintf(num, sizeof(num), "%d\n", (int)pid);
	int fd = open(pidf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, num, strlen(num)) < 0)
			log_msg(LV_WARN, "jail", "warning: writing %s: %s", pidf, strerror(errno));
		close(fd);
	}
	if (pid_out)
		*pid_out = pid;
	if (o->daemonize) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = 0;
		goto out_keep;
	}
	rc = wait_child(pid, &set, status);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc)
		err_sys(err, -rc, "jail: waiting for the VMM");
	pid = -1;
out:
	if (pid < 0 || rc)
		cg_remove(j);
out_keep:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	for (size_t i = 0; i < j->n_tap_fds; i++)
		close(j->tap_fds[i]);
	if (j->null_fd >= 0)
		close(j->null_fd);
	for (size_t i = 0; i < j->n_owned; i++)
		free(j->owned[i]);
	free(j->owned);
	free(j->argv);
	free(j);
	return rc;
}
