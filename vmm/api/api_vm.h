/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The REST API's VM operations (struct vmm_ops) on svmm's VMM core: vm.boot
 * runs the VM on a thread of its own and returns once its devices exist and
 * its vCPUs run; shutdown, reboot, the power button, pause and resume reach
 * it through struct vm_ctl; exit_fd turns readable when the guest ends
 * itself.
 */
#ifndef SVMM_VMM_API_API_VM_H
#define SVMM_VMM_API_API_VM_H

#include "vmm/api/server.h"

extern const struct vmm_ops api_vm_ops;

struct api_vm;
int api_vm_new(struct api_vm **out);
void api_vm_free(struct api_vm *v);
struct ctr_set;
/* The running VM's counters (vm_ctl_counters), for --metrics: ctx is the
 * struct api_vm. -ESRCH when none runs. */
int api_vm_collect(void *ctx, struct ctr_set *out);

#endif
