/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What each vCPU sees in CPUID, and the MSRs it boots with.
 *
 * The base table is KVM_GET_SUPPORTED_CPUID, with: the hypervisor bit and
 * the KVM paravirt leaves (kvmclock and friends); leaf 0xD XSAVE sizes
 * recomputed for the features the guest can enable; and, per vCPU, its
 * APIC ID and a topology of one socket with ncpus cores, one thread each
 * (leaves 1, 4, 0xB, 0x1F and AMD 0x8000_0001/0x8000_0008/0x8000_001E).
 */
#ifndef SVMM_VMM_KVM_CPUID_H
#define SVMM_VMM_KVM_CPUID_H

#include <linux/kvm.h>

struct kvm;

/* The base table (free() it). */
int cpuid_supported(struct kvm *k, struct kvm_cpuid2 **out);
/* Install the table for vCPU id of ncpus on vcpu_fd. */
int cpuid_vcpu_set(int vcpu_fd, const struct kvm_cpuid2 *base, unsigned int id, unsigned int ncpus);
/* The boot MSRs (SYSENTER/SYSCALL zeroed, TSC 0, MTRRs write-back,
 * fast strings). */
int msrs_vcpu_set(int vcpu_fd);

#endif
