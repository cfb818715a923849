// SPDX-License-Identifier: Apache-2.0
/* Launching a workload's VM: see vm_launch.h. */
#include <errno.h>
#include <fcntl.h>
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

static void setenv_u(const char *k, unsigned long long v)
{
	char b[32];
	snprintf(b, sizeof(b), "%llu", v);
	setenv(k, b, 1);
}

#define VIRTIOFSD_DEFAULT "/usr/lib/qemu/virtiofsd"

/* Start a virtiofsd for share sh on socket sock, and wait for the socket. */
static int start_virtiofsd(const struct vm_share *sh, const char *sock, pid_t *pid, char *err,
			   size_t errlen)
{
	const char *fsd = getenv("SVMM_VIRTIOFSD");
	char src[PATH_MAX + 16], sockarg[PATH_MAX + 32], log[PATH_MAX + 16];
	struct stat st;

	if (!fsd || !*fsd)
		fsd = VIRTIOFSD_DEFAULT;
	if (access(fsd, X_OK) < 0) {
		snprintf(err, errlen,
			 "volumes need virtiofsd (%s: %s; install qemu-system-common or set "
			 "SVMM_VIRTIOFSD)",
			 fsd, strerror(errno));
		return -ENOENT;
	}
	snprintf(src, sizeof(src), "source=%s", sh->dir);
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", sock);
	snprintf(log, sizeof(log), "%s.log", sock);
	unlink(sock);
	pid_t p = fork();
	if (p < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
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
			fprintf(stderr, "svmm: read-only bind mount of %s: %s\n", sh->dir,
				strerror(errno));
			_exit(126);
		}
		execl(fsd, fsd, sockarg, "-o", src, "-o", "cache=auto", (char *)NULL);
		fprintf(stderr, "svmm: exec %s: %s\n", fsd, strerror(errno));
		_exit(127);
	}
	*pid = p;
	for (int i = 0; i < 500; i++) { /* 5 s */
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(p, NULL, WNOHANG) == p) {
			*pid = -1;
			snprintf(err, errlen, "-v %s: virtiofsd failed (see %s)", sh->dir, log);
			return -EIO;
		}
		usleep(10000);
	}
	snprintf(err, errlen, "-v %s: virtiofsd made no socket in 5 s (see %s)", sh->dir, log);
	return -ETIMEDOUT;
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
		     char *err, size_t errlen)
{
	struct fw_forward fwd[VM_MAX_PORTS];
	struct net_err nerr;
	char guest[16], host[16];
	int rc;

	if (s->nports > VM_MAX_PORTS) {
		snprintf(err, errlen, "-p: at most %d ports", VM_MAX_PORTS);
		return -E2BIG;
	}
	for (size_t i = 0; i < s->nports; i++)
		fwd[i] = (struct fw_forward){ .proto = s->ports[i].udp ? IPPROTO_UDP : IPPROTO_TCP,
					      .host_port = s->ports[i].host,
					      .guest_port = s->ports[i].guest };
	struct net_vm_config cfg = { .id = s->id, .fwd = fwd, .nfwd = s->nports };
	h->net = calloc(1, sizeof(*h->net));
	if (!h->net) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = net_vm_setup(h->net, &cfg, &nerr);
	if (rc < 0) {
		snprintf(err, errlen, "the VM's network: %s", nerr.msg);
		free(h->net);
		h->net = NULL;
		return rc;
	}
	if (h->net->tap_fd >= 0) /* persistent: the VMM opens it by name */
		close(h->net->tap_fd);
	h->net->tap_fd = -1;
	if (h->net->warning[0])
		fprintf(stderr, "svmm: warning: %s\n", h->net->warning);
	struct in_addr g = { htonl(h->net->lease.guest) }, gw = { htonl(h->net->lease.host) };
	inet_ntop(AF_INET, &g, guest, sizeof(guest));
	inet_ntop(AF_INET, &gw, host, sizeof(host));
	if (snprintf(cmd, cmdlen, "%s svmm.ip=%s/%u svmm.gw=%s%s%s", s->cmdline, guest,
		     h->net->lease.plen, host, s->dns ? " svmm.dns=" : "",
		     s->dns ? s->dns : "") >= (int)cmdlen) {
		snprintf(err, errlen, "the kernel command line is too long");
		return -E2BIG;
	}
	return 0;
}

/* What a native VM had beside its VMM process: virtiofsds, the network. */
static void release_host_side(struct vm_handle *h)
{
	struct net_err nerr;

	stop_virtiofsd(h);
	if (!h->net)
		return;
	if (net_vm_teardown(h->net, &nerr) < 0)
		fprintf(stderr, "svmm: removing the VM's network: %s\n", nerr.msg);
	free(h->net);
	h->net = NULL;
}

/* svmm's own VMM: this very binary as `svmm run` with cloud-hypervisor's
 * flags, the root file system as a read-only virtio-blk disk and the agent
 * reached through the hybrid vsock socket. */
static int launch_native(const struct vm_spec *s, struct vm_handle *h, char *err, size_t errlen)
{
	char cpus[32], mem[64], disk[PATH_MAX + 32], vsock[PATH_MAX + 48], serial[PATH_MAX + 8];
	char fs[VM_MAX_SHARES][2 * PATH_MAX + 32], dir[PATH_MAX], cmd[2048], tap[48];
	char *argv[34 + 2 * VM_MAX_SHARES];
	int n = 0, rc;

	if (s->nshares > VM_MAX_SHARES) {
		snprintf(err, errlen, "-v: at most %d volumes", VM_MAX_SHARES);
		return -E2BIG;
	}
	if (!s->vsock_socket) {
		snprintf(err, errlen, "no vsock socket path for the guest agent");
		return -EINVAL;
	}
	/* the shares' sockets live next to the agent's: dir keeps its '/' */
	snprintf(dir, sizeof(dir), "%s", s->vsock_socket);
	char *slash = strrchr(dir, '/');
	*(slash ? slash + 1 : dir) = '\0';
	h->nfsd = 0;
	for (size_t i = 0; i < s->nshares; i++) {
		char sock[PATH_MAX];
		if (snprintf(sock, sizeof(sock), "%sfs-%zu.sock", dir, i) >= (int)sizeof(sock)) {
			snprintf(err, errlen, "-v: the run's state path is too long");
			rc = -ENAMETOOLONG;
			goto fail;
		}
		h->fsd[i] = -1;
		h->nfsd = i + 1;
		rc = start_virtiofsd(&s->shares[i], sock, &h->fsd[i], err, errlen);
		if (rc < 0)
			goto fail;
		snprintf(fs[i], sizeof(fs[i]), "tag=%s,socket=%s", s->shares[i].tag, sock);
	}
	if (s->net_auto || s->nports) {
		rc = start_net(s, h, cmd, sizeof(cmd), err, errlen);
		if (rc < 0)
			goto fail;
		snprintf(tap, sizeof(tap), "tap=%s", h->net->lease.link);
	}
	snprintf(cpus, sizeof(cpus), "boot=%u", s->cpus ? s->cpus : 1);
	snprintf(mem, sizeof(mem), "size=%lluM%s",
		 (unsigned long long)(s->mem_mib ? s->mem_mib : 512),
		 s->nshares ? ",shared=on" : "");
	snprintf(disk, sizeof(disk), "path=%s,readonly=on", s->disk);
	snprintf(vsock, sizeof(vsock), "cid=%u,socket=%s", s->vsock_cid, s->vsock_socket);
	snprintf(serial, sizeof(serial), s->console ? "file=%s" : "null", s->console);
	argv[n++] = "svmm";
	argv[n++] = "run";
	argv[n++] = "--kernel";
	argv[n++] = (char *)s->kernel;
	argv[n++] = "--initramfs";
	argv[n++] = (char *)s->initrd;
	argv[n++] = "--cmdline";
	argv[n++] = h->net ? cmd : (char *)s->cmdline;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	argv[n++] = "--serial";
	argv[n++] = serial;
	argv[n++] = "--console";
	argv[n++] = "off";
	argv[n++] = "--vsock";
	argv[n++] = vsock;
	if (s->disk) {
		argv[n++] = "--disk";
		argv[n++] = disk;
	}
	if (h->net) {
		argv[n++] = "--net";
		argv[n++] = tap;
	}
	for (size_t i = 0; i < s->nshares; i++) {
		argv[n++] = "--fs";
		argv[n++] = fs[i];
	}
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		setpgid(0, 0); /* the VM is not the terminal's: no Ctrl-C for it */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execv("/proc/self/exe", argv);
		fprintf(stderr, "svmm: cannot run the VMM: %s\n", strerror(errno));
		_exit(125);
	}
	h->pid = pid;
	snprintf(h->endpoint, sizeof(h->endpoint), "unix:%s:%u", s->vsock_socket, AGENT_VSOCK_PORT);
	return 0;
fail:
	release_host_side(h);
	return rc;
}

bool vm_launch_native(void)
{
	const char *launcher = getenv("SVMM_LAUNCHER");
	return !launcher || !*launcher;
}

int vm_launch(const struct vm_spec *s, struct vm_handle *h, char *err, size_t errlen)
{
	if (vm_launch_native())
		return launch_native(s, h, err, errlen);
	const char *launcher = getenv("SVMM_LAUNCHER");
	char shares[4096] = "", ports[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < s->nshares; i++)
		n += snprintf(shares + n, sizeof(shares) - n, "%s%s=%s%s", i ? " " : "",
			      s->shares[i].tag, s->shares[i].dir, s->shares[i].ro ? ":ro" : "");
	if (n >= sizeof(shares)) {
		snprintf(err, errlen, "too many volumes");
		return -E2BIG;
	}
	n = 0;
	for (size_t i = 0; i < s->nports && n < sizeof(ports); i++)
		n += snprintf(ports + n, sizeof(ports) - n, "%s%u:%u%s", i ? " " : "",
			      s->ports[i].host, s->ports[i].guest, s->ports[i].udp ? "/udp" : "");
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
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
		fprintf(stderr, "svmm: cannot run the launcher %s: %s\n", launcher,
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
