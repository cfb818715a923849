/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent does as PID 1 before and after the workload: leave the
 * initramfs for a tmpfs root (pivot_root refuses the initramfs), mount the
 * kernel file systems, read its settings from the kernel command line, set
 * up the network, mount the workload's root, and power off.
 */
#ifndef SVMM_GUEST_AGENT_INIT_H
#define SVMM_GUEST_AGENT_INIT_H

#include <stdbool.h>
#include "guest-agent/err.h"

#define INIT_STR 256

/* Settings from the kernel command line (svmm.KEY=VALUE words). */
struct init_cfg {
	unsigned int port;	 /* svmm.port: the vsock port to listen on */
	char ip[INIT_STR];	 /* svmm.ip: ADDRESS/PREFIX for the interface */
	char gw[INIT_STR];	 /* svmm.gw: the default route's gateway */
	char dns[INIT_STR];	 /* svmm.dns: name servers, comma-separated */
	char ifname[INIT_STR];	 /* svmm.ifname: default the first non-lo one */
	char hostname[INIT_STR]; /* svmm.hostname */
	bool debug;		 /* svmm.debug: log each step on the console */
};

/* As PID 1 from the initramfs: copies it into a tmpfs, makes that the root
 * and re-executes /init there. Returns only when there is nothing to do
 * (already done, or not PID 1); the exec does not return. */
void init_reroot(char **argv);
/* Mounts /proc, /sys, /dev, /dev/pts, /dev/shm, /run, /tmp, cgroup2. */
int init_mounts(void);
void init_read_cmdline(struct init_cfg *c);
/* Brings lo up, and the interface with the address, route, DNS asked. */
int init_network(const struct init_cfg *c);
/* Mounts the workload's root at target: source/type a block device with an
 * erofs (or ext4) file system under a tmpfs overlay (its layers in
 * state/lower and state/rw), or a virtiofs tag, or
 * "dir" for a directory already in the guest. */
int init_rootfs(const char *state, const char *source, const char *type, const char *target,
		struct err *err);
/* Writes /etc/resolv.conf and /etc/hosts into the root at rootfs. */
void init_etc_files(const struct init_cfg *c, const char *rootfs);
/* Kills what is left, syncs and powers off. Never returns. */
void init_poweroff(void) __attribute__((noreturn));

/* The agent's console log, "svmm-agent: ..." lines. */
void alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
