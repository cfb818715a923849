// SPDX-License-Identifier: Apache-2.0
/* Launching a workload's VM: see vm_launch.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vm_launch.h"

#include <limits.h>

#include "guest-agent/protocol.h"

static void setenv_u(const char *k, unsigned long long v)
{
	char b[32];
	snprintf(b, sizeof(b), "%llu", v);
	setenv(k, b, 1);
}

/* svmm's own VMM: this very binary as `svmm run` with cloud-hypervisor's
 * flags, the root file system as a read-only virtio-blk disk and the agent
 * reached through the hybrid vsock socket. */
static int launch_native(const struct vm_spec *s, struct vm_handle *h, char *err, size_t errlen)
{
	char cpus[32], mem[64], disk[PATH_MAX + 32], vsock[PATH_MAX + 48], serial[PATH_MAX + 8];

	if (s->nshares || s->nports) {
		snprintf(err, errlen, "%s are not wired to svmm's VMM yet",
			 s->nshares ? "volumes (-v)" : "published ports (-p)");
		return -ENOTSUP;
	}
	if (!s->vsock_socket) {
		snprintf(err, errlen, "no vsock socket path for the guest agent");
		return -EINVAL;
	}
	snprintf(cpus, sizeof(cpus), "boot=%u", s->cpus ? s->cpus : 1);
	snprintf(mem, sizeof(mem), "size=%lluM",
		 (unsigned long long)(s->mem_mib ? s->mem_mib : 512));
	snprintf(disk, sizeof(disk), "path=%s,readonly=on", s->disk);
	snprintf(vsock, sizeof(vsock), "cid=%u,socket=%s", s->vsock_cid, s->vsock_socket);
	snprintf(serial, sizeof(serial), s->console ? "file=%s" : "null", s->console);
	char *argv[] = { "svmm",
			 "run",
			 "--kernel",
			 (char *)s->kernel,
			 "--initramfs",
			 (char *)s->initrd,
			 "--cmdline",
			 (char *)s->cmdline,
			 "--cpus",
			 cpus,
			 "--memory",
			 mem,
			 "--serial",
			 serial,
			 "--console",
			 "off",
			 "--vsock",
			 vsock,
			 s->disk ? "--disk" : NULL,
			 disk,
			 NULL };
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
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
}

int vm_launch(const struct vm_spec *s, struct vm_handle *h, char *err, size_t errlen)
{
	const char *launcher = getenv("SVMM_LAUNCHER");
	if (!launcher || !*launcher)
		return launch_native(s, h, err, errlen);
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
		n += snprintf(ports + n, sizeof(ports) - n, "%s%u:%u", i ? " " : "",
			      s->ports[i].host, s->ports[i].guest);
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
	if (h->pid <= 0)
		return;
	kill(-h->pid, SIGKILL);
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
}
