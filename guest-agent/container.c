// SPDX-License-Identifier: Apache-2.0
/*
 * OCI runtime spec processes in the guest. The workload is cloned into the
 * namespaces its spec asks for (a mount namespace always), joins its cgroup,
 * mounts what the spec lists under its root, pivots into it, masks and
 * write-protects paths, then becomes its user with its capabilities, rlimits,
 * no_new_privs and seccomp filter, and execs. A failure before exec goes back
 * to the agent through a close-on-exec pipe with the docker exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "guest-agent/container.h"
#include "guest-agent/ctr_priv.h"
#include "guest-agent/seccomp.h"
#include "guest-agent/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What a child that failed before exec writes to err_wr. */
struct child_report {
	int exit;     /* the exit status docker would give */
	struct err e; /* e.code: errno of the failing call (EINVAL: the spec is wrong) */
};

__attribute__((noreturn)) void child_fail(struct launch *L, int exit, int err, const char *fmt, ...)
{
	struct child_report rep = { .exit = exit };
	va_list ap;
	va_start(ap, fmt);
	err_vset(&rep.e, err > 0 ? err : EIO, fmt, ap);
	va_end(ap);
	if (write(L->err_wr, &rep, sizeof(rep)) < 0) {
		/* nothing more to do: the agent sees the exit status */
	}
	_exit(exit);
}

int ctr_wait_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 125;
}

/* --- namespaces ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int flag;
	const char *proc; /* /proc/PID/ns/ name */
} ns_types[] = {
	{ "pid", CLONE_NEWPID, "pid" },		 { "network", CLONE_NEWNET, "net" },
	{ "mount", CLONE_NEWNS, "mnt" },	 { "ipc", CLONE_NEWIPC, "ipc" },
	{ "uts", CLONE_NEWUTS, "uts" },		 { "user", CLONE_NEWUSER, "user" },
	{ "cgroup", CLONE_NEWCGROUP, "cgroup" },
};

static int ns_flag(const char *name)
{
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (!strcmp(ns_types[i].name, name))
			return ns_types[i].flag;
	return 0;
}

static bool spec_has_ns(json_t *spec, int flag)
{
	json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
	size_t i;
	json_array_foreach(nss, i, ns)
	{
		if (ns_flag(json_string_value(json_object_get(ns, "type"))) == flag)
			return true;
	}
	return false;
}

/* --- the process: user, capabilities, rlimits -------------------------------------- */

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* A capability list as a 64-bit mask; -1 naming the unknown one. */
static int caps_mask(json_t *list, uint64_t *mask, const char **bad)
{
	json_t *c;
	size_t i;
	*mask = 0;
	json_array_foreach(list, i, c)
	{
		const char *s = json_string_value(c);
		int k;
		for (k = 0; k < N_CAPS; k++)
			if (s && !strcasecmp(s, cap_names[k]))
				break;
		if (k == N_CAPS) {
			*bad = s ? s : "(not a string)";
			return -1;
		}
		*mask |= 1ull << k;
	}
	return 0;
}

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

static void set_rlimits(struct launch *L, json_t *proc)
{
	json_t *r;
	size_t i;
	json_array_foreach(json_object_get(proc, "rlimits"), i, r)
	{
		const char *type = json_string_value(json_object_get(r, "type"));
		size_t k;
		for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
			if (type && !strcmp(type, rlimit_names[k].name))
				break;
		if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
			child_fail(L, 125, EINVAL, "process.rlimits: unknown type '%s'",
				   type ? type : "(none)");
		struct rlimit rl = {
			.rlim_cur = (rlim_t)json_integer_value(json_object_get(r, "soft")),
			.rlim_max = (rlim_t)json_integer_value(json_object_get(r, "hard")),
		};
		if (setrlimit(rlimit_names[k].res, &rl) < 0)
			child_fail(L, 125, errno, "process.rlimits: %s: %s", type, strerror(errno));
	}
}

static void set_user_and_caps(struct launch *L, json_t *proc)
{
	json_t *user = json_object_get(proc, "user");
	json_t *caps = json_object_get(proc, "capabilities");
	uid_t uid = json_integer_value(json_object_get(user, "uid"));
	gid_t gid = json_integer_value(json_object_get(user, "gid"));
	uint64_t bnd = 0, eff = 0, prm = 0, inh = 0, amb = 0;
	const char *bad = NULL;

	if (caps_mask(json_object_get(caps, "bounding"), &bnd, &bad) < 0 ||
	    caps_mask(json_object_get(caps, "effective"), &eff, &bad) < 0 ||
	    caps_mask(json_object_get(caps, "permitted"), &prm, &bad) < 0 ||
	    caps_mask(json_object_get(caps, "inheritable"), &inh, &bad) < 0 ||
	    caps_mask(json_object_get(caps, "ambient"), &amb, &bad) < 0)
		child_fail(L, 125, EINVAL, "process.capabilities: unknown capability '%s'", bad);

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_fail(L, 125, errno, "PR_SET_KEEPCAPS: %s", strerror(errno));
	for (int c = 0; c <= 63; c++) {
		if (bnd & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			child_fail(L, 125, errno,
				   "dropping capability %d from the bounding set: %s", c,
				   strerror(errno));
		}
	}

	json_t *ag = json_object_get(user, "additionalGids"), *g;
	gid_t groups[256];
	size_t i, ng = 0;
	json_array_foreach(ag, i, g)
	{
		if (ng < sizeof(groups) / sizeof(groups[0]))
			groups[ng++] = json_integer_value(g);
	}
	if (setgroups(ng, groups) < 0 && errno != EPERM)
		child_fail(L, 125, errno, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		child_fail(L, 125, errno, "process.user.gid %u: %s", gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		child_fail(L, 125, errno, "process.user.uid %u: %s", uid, strerror(errno));

	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(L, 125, errno, "capset: %s", strerror(errno));
	for (int c = 0; c < N_CAPS; c++) {
		if (!(amb & (1ull << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			child_fail(L, 125, errno, "ambient capability %s: %s", cap_names[c],
				   strerror(errno));
	}
}

/* Builds envp from process.env; returns PATH's value through path. */
static char **make_env(json_t *proc, const char **path)
{
	json_t *env = json_object_get(proc, "env"), *v;
	size_t i, n = json_array_size(env);
	char **envp = calloc(n + 1, sizeof(*envp));
	*path = DEFAULT_PATH;
	if (!envp)
		return NULL;
	size_t k = 0;
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			continue;
		envp[k++] = (char *)s;
		if (!strncmp(s, "PATH=", 5))
			*path = s + 5;
	}
	return envp;
}

/* execve args in the container: args[0] searched in PATH as docker does. */
static __attribute__((noreturn)) void do_exec(struct launch *L, json_t *proc)
{
	json_t *args = json_object_get(proc, "args");
	size_t n = json_array_size(args);
	const char *path;
	if (n == 0)
		child_fail(L, 125, EINVAL, "process.args is empty: no command to run");
	char **argv = calloc(n + 1, sizeof(*argv));
	char **envp = make_env(proc, &path);
	if (!argv || !envp)
		child_fail(L, 125, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		argv[i] = (char *)json_string_value(json_array_get(args, i));
		if (!argv[i])
			child_fail(L, 125, EINVAL, "process.args[%zu] is not a string", i);
	}
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		int err = errno;
		child_fail(L, err == ENOENT ? 127 : 126, err, "%s: %s", argv[0], strerror(err));
	}
	char full[PATH_MAX];
	int saw_eacces = 0;
	const char *p = path;
	while (*p || p == path) {
		const char *end = strchrnul(p, ':');
		int len = end - p;
		snprintf(full, sizeof(full), "%.*s/%s", len ? len : 1, len ? p : ".", argv[0]);
		execve(full, argv, envp);
		if (errno == EACCES || errno == ENOEXEC || errno == EISDIR)
			saw_eacces = errno;
		if (!*end)
			break;
		p = end + 1;
	}
	if (saw_eacces)
		child_fail(L, 126, saw_eacces, "%s: %s", argv[0], strerror(saw_eacces));
	child_fail(L, 127, ENOENT, "%s: executable file not found in $PATH", argv[0]);
}

/* Everything after the namespaces exist, up to exec. */
static __attribute__((noreturn)) void child_run(struct launch *L)
{
	json_t *proc = L->process;
	char c;

	/* Wait until the agent wrote the id maps and set up the cgroup. */
	if (read(L->sync_rd, &c, 1) != 1)
		child_fail(L, 125, EPIPE, "the agent went away during setup");
	close(L->sync_rd);
	if (L->new_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
		child_fail(L, 125, errno, "cgroup namespace: %s", strerror(errno));

	if (setsid() < 0)
		child_fail(L, 125, errno, "setsid: %s", strerror(errno));

	if (!L->exec) {
		mount_rootfs(L);
		const char *host = json_string_value(json_object_get(L->spec, "hostname"));
		if (host && spec_has_ns(L->spec, CLONE_NEWUTS) &&
		    sethostname(host, strlen(host)) < 0)
			child_fail(L, 125, errno, "hostname '%s': %s", host, strerror(errno));
		json_t *sysctl = json_object_get(json_object_get(L->spec, "linux"), "sysctl"), *v;
		const char *key;
		json_object_foreach(sysctl, key, v)
		{
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "/proc/sys/%s", key);
			for (char *q = p + 10; *q; q++)
				if (*q == '.')
					*q = '/';
			int r = write_file(p, json_string_value(v) ? json_string_value(v) : "");
			if (r < 0)
				child_fail(L, 125, -r, "linux.sysctl %s: %s", key, strerror(-r));
		}
	}

	if (L->pty_sock >= 0)
		open_terminal(L);
	for (int i = 0; i < 3; i++) {
		int fd = L->pty_slave >= 0 ? L->pty_slave : L->stdio[i];
		if (dup2(fd, i) < 0)
			child_fail(L, 125, errno, "dup2: %s", strerror(errno));
	}
	set_rlimits(L, proc);
	json_t *oom = json_object_get(proc, "oomScoreAdj");
	if (oom) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(oom));
		write_file("/proc/self/oom_score_adj", v);
	}
	set_user_and_caps(L, proc);

	const char *cwd = json_string_value(json_object_get(proc, "cwd"));
	if (chdir(cwd && *cwd ? cwd : "/") < 0)
		child_fail(L, 125, errno, "process.cwd %s: %s", cwd, strerror(errno));
	if (json_is_true(json_object_get(proc, "noNewPrivileges")) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(L, 125, errno, "noNewPrivileges: %s", strerror(errno));

	json_t *sc = json_object_get(json_object_get(L->spec, "linux"), "seccomp");
	if (sc) {
		char msg[256];
		int r = seccomp_apply(sc, msg, sizeof(msg));
		if (r < 0)
			child_fail(L, 125, -r, "linux.seccomp: %s", msg);
	}
	/* Unblock what the agent blocked (it takes signals by signalfd). */
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	do_exec(L, proc);
}

/* --- the agent's side --------------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A launch with nothing open yet. */
static void launch_init(struct launch *L, json_t *spec, json_t *process)
{
	*L = (struct launch){ .spec = spec,
			      .process = process,
			      .sync_rd = -1,
			      .sync_wr = -1,
			      .err_rd = -1,
			      .err_wr = -1,
			      .pid_rd = -1,
			      .pid_wr = -1,
			      .cg_procs = -1,
			      .stdio = { -1, -1, -1 },
			      .pty_slave = -1,
			      .pty_sock = -1,
			      .pty_recv = -1 };
}

/* Every descriptor of L and p the agent still holds, on a failure. */
static void launch_close(struct launch *L, struct ctr_proc *p)
{
	int *fds[] = { &L->sync_rd, &L->sync_wr, &L->err_rd,  &L->err_wr,
		       &L->pid_rd,  &L->pid_wr,	 &L->cg_procs };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close_fd(fds[i]);
	stdio_close_all(L, p);
}

static int launch_pipe(int *rd, int *wr, struct err *e)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		int r = -errno;
		err_set(e, r, "pipe: %s", strerror(-r));
		return r;
	}
	*rd = fds[0];
	*wr = fds[1];
	return 0;
}

/*
 * The clone and sync dance of ctr_start and ctr_exec: opens the stdio of
 * L->process into p, the sync and error pipes (and the pid pipe for an
 * exec), and clones with flags. The child closes the agent's ends and runs
 * enter(L), which does not return; child_run() then waits on L->sync_rd for
 * launch_release(). The agent gets the child's pid with the child's pipe
 * ends closed, or a negative errno with e filled and everything closed.
 */
static pid_t launch_clone(struct launch *L, int flags, void (*enter)(struct launch *),
			  struct ctr_proc *p, struct err *e)
{
	pid_t pid;
	int r;

	if ((r = stdio_open(L->process, L, p, e)) < 0 ||
	    (r = launch_pipe(&L->sync_rd, &L->sync_wr, e)) < 0 ||
	    (r = launch_pipe(&L->err_rd, &L->err_wr, e)) < 0 ||
	    (L->exec && (r = launch_pipe(&L->pid_rd, &L->pid_wr, e)) < 0))
		goto fail;
	pid = syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
	if (pid < 0) {
		r = -errno;
		err_set(e, r, "clone (namespaces 0x%x): %s", flags, strerror(-r));
		goto fail;
	}
	if (pid == 0) {
		close_fd(&L->sync_wr);
		close_fd(&L->err_rd);
		close_fd(&L->pid_rd);
		enter(L);
		_exit(125); /* enter does not return */
	}
	close_fd(&L->sync_rd);
	close_fd(&L->err_wr);
	close_fd(&L->pid_wr);
	return pid;
fail:
	launch_close(L, p);
	return r;
}

/* Reads the child's failure report, if any (EOF: it exec'd), and reaps pid
 * (when > 0) after one. 0, or the errno of the child's failing call,
 * negated, with e filled. */
static int collect_error(struct launch *L, pid_t pid, int *exit, struct err *e)
{
	struct child_report rep;
	ssize_t n;
	do
		n = read(L->err_rd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close_fd(&L->err_rd);
	if (n == (ssize_t)sizeof(rep)) {
		rep.e.msg[sizeof(rep.e.msg) - 1] = 0;
		*exit = rep.exit;
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return err_set(e, rep.e.code > 0 ? rep.e.code : EIO, "%s", rep.e.msg);
	}
	return 0;
}

/* Lets the child (pid, which runs the process) go on past its setup, takes
 * its stdio into p and collects its failure, if any. 0, or negative errno
 * with e filled, everything closed and the child reaped. */
static int launch_release(struct launch *L, pid_t pid, struct ctr_proc *p, struct err *e)
{
	int r = 0;

	/* A failed write means the child is gone: its report says why. */
	if (write(L->sync_wr, "g", 1) != 1)
		r = -errno;
	close_fd(&L->sync_wr);
	stdio_close_child_ends(L);
	stdio_take_terminal(L, L->process, p);
	p->pid = pid;
	int cr = collect_error(L, pid, &p->exit, e);
	if (!cr && r) {
		err_set(e, r, "cannot release the process: %s", strerror(-r));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr = r;
	}
	if (cr)
		launch_close(L, p);
	return cr;
}

/* Writes linux.uidMappings/gidMappings for a child in a new user namespace. */
static int write_id_maps(json_t *spec, pid_t pid, struct err *e)
{
	static const char *const keys[] = { "uidMappings", "gidMappings" };
	static const char *const files[] = { "uid_map", "gid_map" };
	for (int k = 0; k < 2; k++) {
		json_t *maps = json_object_get(json_object_get(spec, "linux"), keys[k]), *m;
		char buf[1024], path[64];
		size_t i, n = 0;
		json_array_foreach(maps, i, m)
		{
			int w = snprintf(buf + n, sizeof(buf) - n, "%lld %lld %lld\n",
					 json_integer_value(json_object_get(m, "containerID")),
					 json_integer_value(json_object_get(m, "hostID")),
					 json_integer_value(json_object_get(m, "size")));
			if (w < 0 || (size_t)w >= sizeof(buf) - n)
				break;
			n += w;
		}
		if (!n)
			snprintf(buf, sizeof(buf), "0 0 4294967295\n");
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[k]);
		int r = write_file(path, buf);
		if (r < 0) {
			err_set(e, r, "linux.%s: %s", keys[k], strerror(-r));
			return r;
		}
	}
	return 0;
}

/* The workload's child: joins the namespaces the spec names by path. */
static __attribute__((noreturn)) void start_enter(struct launch *L)
{
	json_t *nss = json_object_get(json_object_get(L->spec, "linux"), "namespaces"), *ns;
	size_t i;
	json_array_foreach(nss, i, ns)
	{
		const char *path = json_string_value(json_object_get(ns, "path"));
		if (!path)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, 0) < 0)
			child_fail(L, 125, errno, "linux.namespaces: join %s: %s", path,
				   strerror(errno));
		close(fd);
	}
	child_run(L);
}

int ctr_start(json_t *spec, const char *rootfs, const char *cgroup, struct ctr_proc *p,
	      struct err *e)
{
	struct launch L;
	json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
	int flags = CLONE_NEWNS, r;
	size_t i;
	pid_t pid;

	p->exit = 125; /* unless the child says 126 or 127 */

	launch_init(&L, spec, json_object_get(spec, "process"));
	L.rootfs = rootfs;
	if (!json_is_object(L.process)) {
		err_set(e, EINVAL, "config.json has no process object");
		return -EINVAL;
	}
	json_array_foreach(nss, i, ns)
	{
		const char *type = json_string_value(json_object_get(ns, "type"));
		int f = type ? ns_flag(type) : 0;
		if (!f) {
			err_set(e, EINVAL, "linux.namespaces[%zu]: unknown type '%s'", i,
				type ? type : "(none)");
			return -EINVAL;
		}
		if (!json_object_get(ns, "path"))
			flags |= f;
	}
	/* The cgroup namespace must be rooted at the workload's cgroup: the
	 * child unshares it after the agent moved it there. */
	L.new_cgroup_ns = flags & CLONE_NEWCGROUP;
	flags &= ~CLONE_NEWCGROUP;
	pid = launch_clone(&L, flags, start_enter, p, e);
	if (pid < 0)
		return pid;
	if ((flags & CLONE_NEWUSER) && (r = write_id_maps(spec, pid, e)) < 0)
		goto fail;
	if (cgroup) {
		char procs[PATH_MAX], v[32];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
		snprintf(v, sizeof(v), "%d", pid);
		if ((r = write_file(procs, v)) < 0) {
			err_set(e, r, "cannot move the workload into %s: %s", cgroup, strerror(-r));
			goto fail;
		}
	}
	return launch_release(&L, pid, p, e);

fail:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	launch_close(&L, p);
	return r;
}

/* The exec'd process inherits defaults from the workload's process. */
static json_t *exec_process(json_t *spec, json_t *process)
{
	json_t *base = json_object_get(spec, "process");
	json_t *proc = json_deep_copy(process);
	static const char *const inherit[] = { "capabilities", "noNewPrivileges",
					       "rlimits",      "user",
					       "env",	       "cwd" };
	for (size_t i = 0; i < sizeof(inherit) / sizeof(inherit[0]); i++)
		if (!json_object_get(proc, inherit[i]) && json_object_get(base, inherit[i]))
			json_object_set(proc, inherit[i], json_object_get(base, inherit[i]));
	return proc;
}

/* The exec intermediate: joins the workload's cgroup and namespaces, then
 * clones the process as a sibling (CLONE_PARENT) so that the agent is its
 * parent, and reports its pid. */
static __attribute__((noreturn)) void exec_enter(struct launch *L)
{
	if (L->cg_procs >= 0 && write(L->cg_procs, "0", 1) < 0)
		child_fail(L, 125, errno, "cannot join the workload's cgroup: %s", strerror(errno));
	static const int order[] = { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
				     CLONE_NEWPID,    CLONE_NEWNS,  CLONE_NEWUSER };
	int fds[7];
	for (int k = 0; k < 7; k++) {
		char path[64], self[64];
		struct stat a, b;
		const char *name = NULL;
		for (size_t j = 0; j < sizeof(ns_types) / sizeof(ns_types[0]); j++)
			if (ns_types[j].flag == order[k])
				name = ns_types[j].proc;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", L->target, name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
		fds[k] = -1;
		if (stat(path, &a) < 0 || stat(self, &b) < 0 || a.st_ino == b.st_ino)
			continue;
		fds[k] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[k] < 0)
			child_fail(L, 125, errno, "open %s: %s", path, strerror(errno));
	}
	for (int k = 0; k < 7; k++) {
		if (fds[k] >= 0 && setns(fds[k], order[k]) < 0)
			child_fail(L, 125, errno, "setns into the workload (%d): %s", order[k],
				   strerror(errno));
	}
	pid_t pid =
		syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, NULL);
	if (pid < 0)
		child_fail(L, 125, errno, "clone: %s", strerror(errno));
	if (pid == 0) {
		close_fd(&L->pid_wr);
		child_run(L);
	}
	if (write(L->pid_wr, &pid, sizeof(pid)) != sizeof(pid))
		_exit(125);
	_exit(0);
}

int ctr_exec(pid_t target, json_t *spec, json_t *process, const char *cgroup, struct ctr_proc *p,
	     struct err *e)
{
	struct launch L;
	json_t *proc = exec_process(spec, process);
	pid_t mid, pid = -1;
	ssize_t n;
	int r;

	p->exit = 125; /* unless the child says 126 or 127 */

	if (!proc) {
		err_set(e, EINVAL, "out of memory");
		return -ENOMEM;
	}
	launch_init(&L, spec, proc);
	L.exec = true;
	L.target = target;
	if (cgroup) {
		char procs[PATH_MAX];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
		L.cg_procs = open(procs, O_WRONLY | O_CLOEXEC);
	}
	mid = launch_clone(&L, 0, exec_enter, p, e);
	close_fd(&L.cg_procs);
	if (mid < 0) {
		json_decref(proc);
		return mid;
	}
	n = read(L.pid_rd, &pid, sizeof(pid));
	r = n < 0 ? -errno : -EIO;
	close_fd(&L.pid_rd);
	waitpid(mid, NULL, 0);
	if (n != sizeof(pid)) {
		/* The intermediate failed: its report says why. A process it
		 * cloned sees EOF on sync, reports and exits. */
		close_fd(&L.sync_wr);
		int cr = collect_error(&L, -1, &p->exit, e);
		if (cr)
			r = cr;
		else
			err_set(e, EINVAL, "exec: the helper process failed");
		launch_close(&L, p);
		json_decref(proc);
		return r;
	}
	r = launch_release(&L, pid, p, e);
	json_decref(proc);
	return r;
}
