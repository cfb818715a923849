/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What KVM holds of a VM, into and out of a snapshot (vmm/kvm/snapshot.h),
 * as cloud-hypervisor and Firecracker save it.
 *
 * Per vCPU N, records "vcpuN.<what>": regs, sregs, xsave (or fpu without
 * KVM_CAP_XSAVE), xcrs (with KVM_CAP_XCRS), msrs (every MSR of
 * KVM_GET_MSR_INDEX_LIST that KVM_GET_MSRS reads, as u32 index, u32 0,
 * u64 value), lapic, events, mp_state, debugregs and cpuid (the
 * KVM_GET_CPUID2 set, as struct kvm_cpuid_entry2 entries). Restored in
 * Firecracker's order: CPUID, MP state, registers, special registers,
 * XSAVE, XCRs, debug registers, LAPIC, MSRs, events.
 *
 * Per VM: "vm.pic_master", "vm.pic_slave", "vm.ioapic" (KVM_GET_IRQCHIP),
 * "vm.pit2" (KVM_GET_PIT2) and "vm.clock" (the kvm_clock_data saved at
 * vm.pause).
 *
 * Every record is checked for its size, and counts (MSRs, CPUID entries)
 * against their limits, before KVM sees it; KVM checks the rest.
 */
#ifndef SVMM_VMM_KVM_KVM_SNAP_H
#define SVMM_VMM_KVM_KVM_SNAP_H

#include "guest-agent/err.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/snapshot.h"

#define KVM_SNAP_MAX_MSRS  2048u
#define KVM_SNAP_MAX_CPUID 256u

int kvm_vcpu_save(struct kvm *k, int vcpu_fd, unsigned int id, struct snap_w *w, struct err *err);
int kvm_vcpu_restore(struct kvm *k, int vcpu_fd, unsigned int id, const struct snap_r *r,
		     struct err *err);
/* The irqchip, the PIT and the clock c (saved at the pause). */
int kvm_vm_save(struct kvm *k, const struct kvm_clock_data *c, struct snap_w *w, struct err *err);
/* Restores irqchip and PIT; *c gets the clock for vm.resume to set. */
int kvm_vm_restore(struct kvm *k, const struct snap_r *r, struct kvm_clock_data *c,
		   struct err *err);

#endif
