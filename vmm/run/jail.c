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
#include "guest-agent/common.h"
#include "net/tap.h"
#include "vmm/devices.h"
#include "vmm/kvm/log.h"
#include "vmm/run/jail_impl.h"

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

int jail_path_join(char *out, const char *a, const char *b, struct err *err)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		return err_set(err, ENAMETOOLONG, "jail: path too long: %s%s", a, b);
	return 0;
}

int jail_mkdir_p(const char *path, mode_t mode, struct err *err)
{
	int rc = mkdir_p(path, mode);
	return rc ? err_sys(err, -rc, "jail: mkdir -p %s", path) : 0;
}

int jail_mkdir_parent(const char *path, struct err *err)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = 0;
	return jail_mkdir_p(p, 0755, err);
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
		if ((rc = write_file(p, "0")))
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
	if ((rc = jail_make_devs(j, err)) || (rc = jail_bind_paths(j, err)))
		return rc;
	/* a /proc of the jail's pid namespace, its processes only (subset=pid) */
	if ((rc = jail_path_join(p, j->root, "/proc", err)))
		return rc;
	if (mkdir(p, 0555) && errno != EEXIST)
		return err_sys(err, errno, "jail: mkdir %s", p);
	unsigned long pf = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("proc", p, "proc", pf, "subset=pid") && mount("proc", p, "proc", pf, NULL))
		return err_sys(err, errno, "jail: mount proc on %s", p);
	if ((rc = jail_path_join(p, j->root, "/old_root", err)))
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
		if (!jail_path_sane(o->paths[i].path))
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
	if ((rc = jail_mkdir_p(p, 0755, err)))
		return rc;
	if (mkdir(j->dir, 0700)) {
		if (errno == EEXIST)
			return err_set(err, EEXIST,
				       "jail: %s exists: a jail with id '%s' ran or runs there "
				       "(remove it first)",
				       j->dir, o->id);
		return err_sys(err, errno, "jail: mkdir %s", j->dir);
	}
	if ((rc = jail_path_join(j->root, j->dir, "/root", err)))
		return rc;
	if (mkdir(j->root, 0755) || chmod(j->root, 0755))
		return err_sys(err, errno, "jail: mkdir %s", j->root);
	if ((rc = jail_copy_exe(j, err)) || (rc = jail_create_files(j, err)) ||
	    (rc = jail_devs_find(j, err)))
		return rc;
	if (o->daemonize && (j->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "jail: open /dev/null");
	if ((rc = jail_cg_setup(j, err)))
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
		jail_cg_remove(j);
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
