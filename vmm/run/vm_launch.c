// SPDX-License-Identifier: Apache-2.0
/* Launching a workload's VM: see vm_launch.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/run/vm_launch.h"

#include <limits.h>

#include "guest-agent/protocol.h"
#include "net/netvm.h"
#include "vmm/config/config.h"
#include "vmm/kvm/log.h"
#include "vmm/run/exe.h"
#include "vmm/run/jail.h"

static void setenv_u(const char *k, unsigned long long v)
{
	char b[32];
	snprintf(b, sizeof(b), "%llu", v);
	setenv(k, b, 1);
}

#define VIRTIOFSD_DEFAULT "/usr/lib/qemu/virtiofsd"

/* Start a virtiofsd for share sh on socket sock, and wait for the socket. */
static int start_virtiofsd(const struct vm_share *sh, const char *sock, pid_t *pid, struct err *err)
{
	const char *fsd = getenv("SVMM_VIRTIOFSD");
	char src[PATH_MAX + 16], sockarg[PATH_MAX + 32], log[PATH_MAX + 16];
	struct stat st;

	if (!fsd || !*fsd)
		fsd = VIRTIOFSD_DEFAULT;
	if (access(fsd, X_OK) < 0) {
		return err_set(err, -ENOENT,
			       "volumes need virtiofsd (%s: %s; install qemu-system-common or set "
			       "SVMM_VIRTIOFSD)",
			       fsd, strerror(errno));
	}
	snprintf(src, sizeof(src), "source=%s", sh->dir);
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", sock);
	snprintf(log, sizeof(log), "%s.log", sock);
	unlink(sock);
	pid_t p = fork();
	if (p < 0)
		return err_set(err, -errno, "fork: %s", strerror(errno));
	if (p == 0) {
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (nul >= 0)
			dup2(nul, 0);
		if (lf >= 0) {
			dup2(lf, 1);
			dup2(lf, 2);
		}
		/* A read-only volume is read-only on the host too, whatever the
		 * guest mounts: virtiofsd runs in a mount namespace of its own
		 * where the directory is a read-only bind mount. */
		if (sh->ro &&
		    (unshare(CLONE_NEWNS) < 0 ||
		     mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		     mount(sh->dir, sh->dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		     mount(NULL, sh->dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)) {
			log_msg(LV_ERROR, "run", "read-only bind mount of %s: %s", sh->dir,
				strerror(errno));
			_exit(126);
		}
		execl(fsd, fsd, sockarg, "-o", src, "-o", "cache=auto", (char *)NULL);
		log_msg(LV_ERROR, "run", "exec %s: %s", fsd, strerror(errno));
		_exit(127);
	}
	*pid = p;
	for (int i = 0; i < 500; i++) { /* 5 s */
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(p, NULL, WNOHANG) == p) {
			*pid = -1;
			return err_set(err, -EIO, "-v %s: virtiofsd failed (see %s)", sh->dir, log);
		}
		usleep(10000);
	}
	return err_set(err, -ETIMEDOUT, "-v %s: virtiofsd made no socket in 5 s (see %s)", sh->dir,
		       log);
}

static void stop_virtiofsd(struct vm_handle *h)
{
	for (size_t i = 0; i < h->nfsd; i++) {
		if (h->fsd[i] <= 0)
			continue;
		kill(h->fsd[i], SIGTERM);
		waitpid(h->fsd[i], NULL, 0);
	}
	h->nfsd = 0;
}

/* The host network of a native VM: a lease, a TAP, NAT and the forwards.
 * The guest's address goes on the kernel command line in cmd. */
static int start_net(const struct vm_spec *s, struct vm_handle *h, char *cmd, size_t cmdlen,
		     struct err *err)
{
	char guest[16], host[16];
	int rc;

	if (s->nports > VM_MAX_PORTS)
		return err_set(err, -E2BIG, "-p: at most %d ports", VM_MAX_PORTS);
	struct net_vm_config cfg = { .id = s->id, .fwd = s->ports, .nfwd = s->nports };
	h->net = calloc(1, sizeof(*h->net));
	if (!h->net)
		return err_set(err, -ENOMEM, "out of memory");
	rc = net_vm_setup(h->net, &cfg, err);
	if (rc < 0) {
		err_wrap(err, "the VM's network");
		free(h->net);
		h->net = NULL;
		return rc;
	}
	/* h->net->tap_fd (a queue of the persistent TAP) goes to the VMM as an fd */
	if (h->net->warning[0])
		log_msg(LV_WARN, "net", "warning: %s", h->net->warning);
	struct in_addr g = { htonl(h->net->lease.guest) }, gw = { htonl(h->net->lease.host) };
	inet_ntop(AF_INET, &g, guest, sizeof(guest));
	inet_ntop(AF_INET, &gw, host, sizeof(host));
	if (snprintf(cmd, cmdlen, "%s svmm.ip=%s/%u svmm.gw=%s%s%s", s->cmdline, guest,
		     h->net->lease.plen, host, s->dns ? " svmm.dns=" : "",
		     s->dns ? s->dns : "") >= (int)cmdlen) {
		return err_set(err, -E2BIG, "the kernel command line is too long");
	}
	return 0;
}

/* What a native VM had beside its VMM process: virtiofsds, the network. */
static void release_host_side(struct vm_handle *h)
{
	struct err nerr;

	stop_virtiofsd(h);
	if (h->jail[0] && vm_remove_tree(h->jail) < 0)
		log_msg(LV_ERROR, "run", "removing the VMM's jail %s: %s", h->jail,
			strerror(errno));
	h->jail[0] = 0;
	if (h->uid_lock >= 0)
		close(h->uid_lock); /* the VMM's uid goes back to the pool */
	h->uid_lock = -1;
	if (!h->net)
		return;
	if (net_vm_teardown(h->net, &nerr) < 0)
		log_msg(LV_ERROR, "net", "removing the VM's network: %s", nerr.msg);
	free(h->net);
	h->net = NULL;
}

/* Share i's virtiofsd socket: fs-I.sock next to the agent's socket. */
static int fs_socket(const struct vm_spec *s, size_t i, char *out, size_t len)
{
	const char *slash = strrchr(s->vsock_socket, '/');
	int dirlen = slash ? (int)(slash - s->vsock_socket + 1) : 0;

	if (snprintf(out, len, "%.*sfs-%zu.sock", dirlen, s->vsock_socket, i) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

#define T(expr)                        \
	do {                           \
		if ((rc = (expr)) < 0) \
			goto out;      \
	} while (0)

int vm_launch_config(struct vm_config *c, const struct vm_spec *s, const char *cmdline,
		     const char *tap, struct err *err)
{
	char sock[PATH_MAX];
	int rc = -ENOMEM;

	vm_config_init(c);
	if (!s->vsock_socket)
		return err_set(err, -EINVAL, "no vsock socket path for the guest agent");
	if (s->nshares > VM_MAX_SHARES)
		return err_set(err, -E2BIG, "-v: at most %d volumes", VM_MAX_SHARES);
	T(vm_config_set_str(&c->payload.kernel, s->kernel));
	T(vm_config_set_str(&c->payload.initramfs, s->initrd));
	T(vm_config_set_str(&c->payload.cmdline, cmdline ? cmdline : s->cmdline));
	c->cpus.boot_vcpus = c->cpus.max_vcpus = s->cpus ? s->cpus : 1;
	c->memory.size = (s->mem_mib ? s->mem_mib : 512) << 20;
	c->memory.shared = s->nshares > 0;
	if (s->disk) {
		struct disk_config *d = vm_config_add_disk(c);
		T(d ? vm_config_set_str(&d->path, s->disk) : -ENOMEM);
		d->readonly = true;
	}
	if (tap) {
		struct net_config *n = vm_config_add_net(c);
		T(n ? vm_config_set_str(&n->tap, tap) : -ENOMEM);
	}
	for (size_t i = 0; i < s->nshares; i++) {
		struct fs_config *f = vm_config_add_fs(c);
		T(f ? 0 : -ENOMEM);
		if (fs_socket(s, i, sock, sizeof(sock)) < 0)
			return err_set(err, -ENAMETOOLONG, "-v: the run's state path is too long");
		T(vm_config_set_str(&f->tag, s->shares[i].tag));
		T(vm_config_set_str(&f->socket, sock));
	}
	c->has_vsock = true;
	c->vsock.cid = s->vsock_cid;
	T(vm_config_set_str(&c->vsock.socket, s->vsock_socket));
	c->serial.mode = s->console ? CONSOLE_FILE : CONSOLE_NULL;
	if (s->console)
		T(vm_config_set_str(&c->serial.file, s->console));
	c->console.mode = CONSOLE_OFF;
	T(vm_config_complete(c));
	if ((rc = vm_config_validate(c, err)) < 0)
		return err_wrap(err, "the VM's configuration");
	return rc;
out:
	return err_set(err, rc, "out of memory");
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (remove(path) < 0 && errno != ENOENT)
		return -errno;
	(void)type;
	return 0;
}

int vm_remove_tree(const char *path)
{
	int rc = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (rc < 0 && errno == ENOENT)
		return 0;
	return rc > 0 ? 0 : rc < 0 ? -errno : 0;
}

/* c as cloud-hypervisor's JSON in path (0600, owner:group). */
static int write_config(const struct vm_config *c, const char *path, uid_t owner, gid_t group,
			struct err *err)
{
	json_t *j = vm_config_to_json(c);
	int rc = 0, fd = -1;

	if (!j)
		rc = -ENOMEM;
	else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		rc = -errno;
	else if (json_dumpfd(j, fd, JSON_INDENT(2)) < 0)
		rc = -EIO;
	else if (fchown(fd, owner, group) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	json_decref(j);
	if (rc < 0)
		err_set(err, rc, "the VM's configuration %s: %s", path, strerror(-rc));
	return rc;
}

struct jail_paths {
	struct jail_path v[4 + 2 * VM_MAX_SHARES + 8];
	size_t n;
};

static int add_path(void *opaque, const char *path, unsigned int flags)
{
	struct jail_paths *p = opaque;

	if (p->n == sizeof(p->v) / sizeof(p->v[0]))
		return -E2BIG;
	p->v[p->n++] = (struct jail_path){ path, flags };
	return 0;
}

/* The jailer: the VMM (argv) in the jail STATE/svmm/vmm, waited for; its
 * exit status, or 125 when the jail could not start it. */
static int run_jailed(const struct vm_spec *s, const struct vm_config *c, uid_t uid, gid_t gid,
		      char **argv)
{
	struct jail_paths paths = { .n = 0 };
	char exe[PATH_MAX];
	struct err err = { 0 };
	int rc, status = 125;

	if ((rc = svmm_exe_path(SVMM_EXE, exe, sizeof(exe))) < 0) {
		log_msg(LV_ERROR, "run", "the VMM (%s): %s", SVMM_EXE, strerror(-rc));
		return 125;
	}
	if (vm_config_paths(c, add_path, &paths) || add_path(&paths, argv[3], 0)) {
		log_msg(LV_ERROR, "run", "the VMM's jail: too many paths");
		return 125;
	}
	struct jail_opts o = {
		.id = "vmm",
		.uid = uid,
		.gid = gid,
		.base = s->state,
		.exe = exe,
		.argv = argv,
		.vm = c,
		.paths = paths.v,
		.n_paths = paths.n,
	};
	if (jail_run(&o, NULL, &status, &err) < 0) {
		log_msg(LV_ERROR, "run", "the VMM's jail (%s/svmm/vmm): %s", s->state, err.msg);
		return 125;
	}
	return status;
}

/* svmm's own VMM: this very binary as `svmm run --config STATE/config.json`,
 * jailed unless s->no_jail, with the virtiofsds and the host network
 * started first. s is one that vm_launch_config() took. */
static int launch_native(const struct vm_spec *s, struct vm_handle *h, struct err *err)
{
	char cmd[2048], tap[48], sock[PATH_MAX], path[PATH_MAX], vdir[PATH_MAX];
	struct vm_config c;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	vm_config_init(&c);
	h->nfsd = 0;
	if (!s->state ||
	    snprintf(path, sizeof(path), "%s/config.json", s->state) >= (int)sizeof(path) ||
	    snprintf(h->jail, sizeof(h->jail), "%s/svmm", s->state) >= (int)sizeof(h->jail)) {
		h->jail[0] = 0;
		return err_set(err, -ENAMETOOLONG, "the run's state path is too long");
	}
	h->jail[0] = 0;
	snprintf(vdir, sizeof(vdir), "%s", s->vsock_socket);
	char *slash = strrchr(vdir, '/');
	if (slash)
		*slash = 0;
	if (!s->no_jail) {
		uid = s->has_vmm_user ? s->vmm_uid : (uid_t)-1;
		if ((rc = jail_uid_lock(JAIL_UID_LOCK_DIR, &uid, err)) < 0)
			return rc;
		h->uid_lock = rc;
		gid = s->has_vmm_user ? s->vmm_gid : (gid_t)uid;
		/* the VMM's: the sockets' directory (it listens there) */
		if (!slash || chown(vdir, uid, gid) < 0 || chmod(vdir, 0700) < 0) {
			rc = err_set(err, -errno,
				     "the VMM's socket directory %s: chown to %u:%u: %s", vdir,
				     (unsigned)uid, (unsigned)gid, strerror(errno));
			goto fail;
		}
	}
	for (size_t i = 0; i < s->nshares; i++) {
		if (fs_socket(s, i, sock, sizeof(sock)) < 0) {
			rc = err_set(err, -ENAMETOOLONG, "-v: the run's state path is too long");
			goto fail;
		}
		h->fsd[i] = -1;
		h->nfsd = i + 1;
		if ((rc = start_virtiofsd(&s->shares[i], sock, &h->fsd[i], err)) < 0)
			goto fail;
		if (lchown(sock, uid, gid) < 0) { /* the VMM connects to it */
			rc = err_set(err, -errno, "-v %s: chown %s to %u:%u: %s", s->shares[i].dir,
				     sock, (unsigned)uid, (unsigned)gid, strerror(errno));
			goto fail;
		}
	}
	if (s->net_auto || s->nports) {
		if ((rc = start_net(s, h, cmd, sizeof(cmd), err)) < 0)
			goto fail;
		snprintf(tap, sizeof(tap), "%s", h->net->lease.link);
	}
	rc = vm_launch_config(&c, s, h->net ? cmd : NULL, h->net ? tap : NULL, err);
	if (rc < 0)
		goto fail;
	if (h->net && c.n_net == 1) { /* the TAP the network opened, as an fd */
		if (!(c.net[0].fds = malloc(sizeof(int)))) {
			rc = err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		c.net[0].fds[0] = h->net->tap_fd;
		c.net[0].n_fds = 1;
	}
	if ((rc = write_config(&c, path, uid, gid, err)) < 0)
		goto fail;
	char *args[] = { SVMM_EXE,
			 "run",
			 "--config",
			 path,
			 "--seccomp",
			 s->seccomp ? (char *)s->seccomp : "true",
			 s->metrics ? "--metrics" : NULL,
			 (char *)s->metrics,
			 NULL };
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		err_set(err, rc, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		setpgid(0, 0); /* the VM is not the terminal's: no Ctrl-C for it */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (!s->no_jail)
			_exit(run_jailed(s, &c, uid, gid, args));
		if (h->net && h->net->tap_fd >= 0)
			fcntl(h->net->tap_fd, F_SETFD, 0);
		int rc = svmm_exe_exec(SVMM_EXE, args);
		log_msg(LV_ERROR, "run", "cannot run the VMM (%s): %s", SVMM_EXE, strerror(-rc));
		_exit(125);
	}
	vm_config_free(&c);
	if (h->net && h->net->tap_fd >= 0) /* the VMM's now */
		close(h->net->tap_fd);
	if (h->net)
		h->net->tap_fd = -1;
	if (!s->no_jail)
		snprintf(h->jail, sizeof(h->jail), "%s/svmm", s->state);
	h->pid = pid;
	snprintf(h->endpoint, sizeof(h->endpoint), "unix:%s:%u", s->vsock_socket, AGENT_VSOCK_PORT);
	return 0;
fail:
	vm_config_free(&c);
	release_host_side(h);
	return rc;
}

bool vm_launch_native(void)
{
	const char *launcher = getenv("SVMM_LAUNCHER");
	return !launcher || !*launcher;
}

int vm_launch(const struct vm_spec *s, struct vm_handle *h, struct err *err)
{
	/* Checked before anything starts; an external launcher's VM too. */
	struct vm_config c;
	h->uid_lock = -1;
	h->jail[0] = 0;
	int rc = vm_launch_config(&c, s, NULL, NULL, err);
	vm_config_free(&c);
	if (rc < 0)
		return rc;
	if (vm_launch_native())
		return launch_native(s, h, err);
	const char *launcher = getenv("SVMM_LAUNCHER");
	char shares[4096] = "", ports[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < s->nshares; i++)
		n += snprintf(shares + n, sizeof(shares) - n, "%s%s=%s%s", i ? " " : "",
			      s->shares[i].tag, s->shares[i].dir, s->shares[i].ro ? ":ro" : "");
	if (n >= sizeof(shares))
		return err_set(err, -E2BIG, "too many volumes");
	n = 0;
	for (size_t i = 0; i < s->nports && n < sizeof(ports); i++) {
		const struct fw_forward *f = &s->ports[i];
		struct in_addr a = { htonl(f->host_addr) };
		char addr[INET_ADDRSTRLEN + 1] = "";
		if (f->host_addr && inet_ntop(AF_INET, &a, addr, sizeof(addr)))
			strcat(addr, ":");
		n += snprintf(ports + n, sizeof(ports) - n, "%s%s%u:%u%s", i ? " " : "", addr,
			      f->host_port, f->guest_port, f->proto == IPPROTO_UDP ? "/udp" : "");
	}
	pid_t pid = fork();
	if (pid < 0)
		return err_set(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		setenv("SVMM_VM_KERNEL", s->kernel, 1);
		setenv("SVMM_VM_INITRD", s->initrd, 1);
		setenv("SVMM_VM_CMDLINE", s->cmdline, 1);
		setenv("SVMM_VM_DISK", s->disk ? s->disk : "", 1);
		setenv_u("SVMM_VM_CPUS", s->cpus);
		setenv_u("SVMM_VM_MEM_MIB", s->mem_mib);
		setenv_u("SVMM_VM_VSOCK_CID", s->vsock_cid);
		setenv("SVMM_VM_VSOCK_SOCKET", s->vsock_socket ? s->vsock_socket : "", 1);
		setenv("SVMM_VM_SHARES", shares, 1);
		setenv("SVMM_VM_PORTS", ports, 1);
		setenv("SVMM_VM_CONSOLE", s->console ? s->console : "/dev/null", 1);
		/* The VM is not the terminal's: it must not see Ctrl-C. */
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execl(launcher, launcher, (char *)NULL);
		log_msg(LV_ERROR, "run", "cannot run the launcher %s: %s", launcher,
			strerror(errno));
		_exit(125);
	}
	h->pid = pid;
	snprintf(h->endpoint, sizeof(h->endpoint), "vsock:%u", s->vsock_cid);
	return 0;
}

int vm_wait(struct vm_handle *h, int timeout_ms)
{
	for (int waited = 0; h->pid > 0; waited += 10) {
		int st;
		pid_t r = waitpid(h->pid, &st, WNOHANG);
		if (r == h->pid || (r < 0 && errno == ECHILD)) {
			h->pid = -1;
			release_host_side(h);
			return 0;
		}
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

void vm_kill(struct vm_handle *h)
{
	if (h->pid > 0) {
		kill(-h->pid, SIGKILL);
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = -1;
	}
	release_host_side(h);
}
