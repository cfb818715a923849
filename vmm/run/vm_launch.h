/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launching the VM that runs a workload: the interface `svmm run --image`
 * uses. By default svmm's own VMM runs it: vm_launch_config() makes the VM's
 * cloud-hypervisor configuration (the root file system as a read-only disk,
 * the hybrid vsock socket, ...), which is written as cloud-hypervisor's JSON
 * to config.json next to vsock_socket (in the run's state directory) and
 * booted by this binary as `svmm run --config DIR/config.json`.
 * $SVMM_LAUNCHER names an external launcher program instead (the tests'
 * QEMU harness, tests/launchers/qemu.sh, a peer to compare with).
 *
 * svmm's VMM serves each share with a virtiofsd of its own
 * ($SVMM_VIRTIOFSD, default /usr/lib/qemu/virtiofsd) on a socket next to
 * vsock_socket (fs-N.sock, its log fs-N.sock.log); a read-only share is a read-only bind mount in
 * that virtiofsd's own mount namespace, and the agent mounts it read-only.
 *
 * With net_auto or ports, svmm's VMM gets a host network (net/netvm.h): an
 * IP lease from the pool, a TAP, NAT out and the port forwards, all named
 * after id; the guest learns its address from the kernel command line
 * (svmm.ip=, svmm.gw=, svmm.dns=); all of it is removed when the VM ends
 * (`svmm net gc` removes it when svmm itself was killed).
 *
 * svmm's VMM runs jailed by default (vmm/run/jail.h): the launcher forks a
 * jailer process that makes STATE/svmm/vmm/root (STATE: the run's state
 * directory), binds what config.json names into it plus config.json
 * itself, and runs `svmm run --config STATE/config.json --seccomp MODE`
 * there as PID 1 of its own namespaces, as an unprivileged uid (vmm_uid,
 * else one of the pool's, locked in JAIL_UID_LOCK_DIR while the VMM runs)
 * with no capabilities. So that it can: the sockets' directory (the one
 * vsock_socket names; the virtiofsd sockets are there too) is the VMM's,
 * 0700, and so are the virtiofsd sockets and config.json; the TAP is the
 * one the host network opened, passed as "fds": [N] in config.json. The
 * jail directory goes when the VM ends. no_jail runs the VMM as root,
 * unjailed (still under its seccomp filters).
 *
 * The external launcher gets the VM as environment variables:
 *   SVMM_VM_KERNEL, SVMM_VM_INITRD, SVMM_VM_CMDLINE, SVMM_VM_DISK (the
 *   root file system image, attached read-only as the first virtio-blk
 *   disk), SVMM_VM_CPUS, SVMM_VM_MEM_MIB, SVMM_VM_VSOCK_CID (AF_VSOCK), or
 *   SVMM_VM_VSOCK_SOCKET (the Unix socket of the hybrid scheme: when the
 *   launcher creates it, svmm uses it instead),
 *   SVMM_VM_SHARES ("TAG=DIR[:ro] ..." virtio-fs shares), SVMM_VM_PORTS
 *   ("[ADDR:]HOST:GUEST[/udp] ...", ADDR when -p gave a host address),
 *   SVMM_VM_CONSOLE (a file for the console)
 * and runs the VM in the foreground until it powers off.
 */
#ifndef SVMM_VMM_RUN_VM_LAUNCH_H
#define SVMM_VMM_RUN_VM_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/firewall.h"
#include "guest-agent/err.h"

struct net_vm;
struct vm_config;

struct vm_share {
	const char *tag, *dir;
	bool ro;
};

struct vm_spec {
	const char *kernel, *initrd, *cmdline;
	const char *disk;
	unsigned int cpus;
	uint64_t mem_mib;
	unsigned int vsock_cid;
	const char *vsock_socket; /* the hybrid scheme's Unix socket, if the VMM makes one */
	const struct vm_share *shares;
	size_t nshares;
	const struct fw_forward *ports; /* docker's -p (fw_forward_parse) */
	size_t nports;
	const char *console; /* file for the serial console; NULL: discarded */
	const char *id;	     /* names the VM's lease and firewall rules (native VMM) */
	bool net_auto;	     /* a host network even without ports (native VMM) */
	const char *dns;     /* the guest's name server with net_auto, or NULL */
	const char *state;   /* the run's state directory: config.json, the jail (native) */
	bool no_jail;	     /* native: the VMM as root, not jailed */
	const char *seccomp; /* native: the VMM's --seccomp (NULL: true) */
	const char *metrics; /* native: the VMM's --metrics (NULL: none) */
	bool has_vmm_user;   /* native: vmm_uid/vmm_gid given, else one from the pool */
	uid_t vmm_uid;
	gid_t vmm_gid;
};

#define VM_MAX_SHARES 16
#define VM_MAX_PORTS  16

struct vm_handle {
	pid_t pid;
	char endpoint[PATH_MAX + 64]; /* where the agent listens: agent_client.h */
	pid_t fsd[VM_MAX_SHARES];     /* virtiofsd per share (native VMM); ended with the VM */
	size_t nfsd;
	struct net_vm *net;  /* the host network (native VMM), or NULL */
	int uid_lock;	     /* the VMM uid's lock (jail_uid_lock), or -1 */
	char jail[PATH_MAX]; /* the jail's directory, removed when the VM ends, or "" */
};

/* The configuration svmm's own VMM boots for s: kernel, initrd, cmdline
 * (s's, or cmdline when not NULL: s's with the network's words), cpus,
 * memory (shared when there are shares), s->disk read-only, a net on tap
 * (when not NULL), one fs per share on its virtiofsd's socket, the vsock,
 * the serial port to s->console (else null) and no console. c is
 * initialised here, completed and validated; free it with vm_config_free()
 * even on failure. -errno with err naming the field. */
int vm_launch_config(struct vm_config *c, const struct vm_spec *s, const char *cmdline,
		     const char *tap, struct err *err);

/* Whether svmm's own VMM runs the VM ($SVMM_LAUNCHER unset or empty). */
bool vm_launch_native(void);
/* Starts the VM, its vm_launch_config() validated first (an external
 * launcher's too). 0 or negative errno with err set. */
int vm_launch(const struct vm_spec *s, struct vm_handle *h, struct err *err);
/* Waits up to timeout_ms for the VM to end; -ETIMEDOUT if it did not. */
int vm_wait(struct vm_handle *h, int timeout_ms);
/* Ends the VM at once. */
void vm_kill(struct vm_handle *h);
/* rm -rf path, not following symlinks nor crossing mounts; 0 or -errno. */
int vm_remove_tree(const char *path);

#endif
