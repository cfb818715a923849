/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM confines itself with Landlock (cloud-hypervisor's --landlock):
 * from the call on, the calling thread and every thread it starts can open
 * only what the configuration names (vm_config_paths: payload, disks,
 * pmem, consoles, sockets' directories), its --landlock-rules, and the
 * device nodes its devices use (/dev/kvm, /dev/net/tun, /dev/vhost-net,
 * /dev/ptmx for a pty console). Call it after the configuration is final
 * and before the VM's devices are opened and its threads start.
 */
#ifndef SVMM_VMM_CONFINE_H
#define SVMM_VMM_CONFINE_H

#include "guest-agent/err.h"
#include "vmm/config/config.h"

/* Nothing when c->landlock_enable is false. A kernel without Landlock, or
 * a path that cannot be ruled, is an error naming it. */
int vm_confine(const struct vm_config *c, struct err *err);
/* The same, with directory dir readable too (a restore's snapshot; NULL:
 * none). A later vm.snapshot writes only where --landlock-rules allow. */
int vm_confine_dir(const struct vm_config *c, const char *dir, struct err *err);

#endif
