// SPDX-License-Identifier: Apache-2.0
/* CPUID for each vCPU and the MSRs it boots with. */
#include "vmm/kvm/cpuid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm/kvm.h"

#define CPUID_MAX_ENTRIES 256

#define KVM_CPUID_SIGNATURE 0x40000000
#define KVM_CPUID_FEATURES  0x40000001

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static struct kvm_cpuid_entry2 *find_or_add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx,
					    uint32_t flags)
{
	struct kvm_cpuid_entry2 *e = find(c, fn, idx);

	if (e || c->nent >= CPUID_MAX_ENTRIES)
		return e;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = flags;
	return e;
}

/*
 * Leaf 0xD: keep in the XCR0 mask (subleaf 0 EAX) only components whose
 * enabling CPUID bit the guest sees, as Linux drops the others too, and
 * make the sizes (subleaf 0 EBX/ECX, subleaf 1 EBX) agree with the
 * components' own offsets and sizes. Mismatched sizes are what Linux's
 * "XSAVE consistency problem" warning is about.
 */
static void fix_xsave(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *l1 = find(c, 1, 0), *l7 = find(c, 7, 0);
	struct kvm_cpuid_entry2 *d0 = find(c, 0xd, 0), *d1 = find(c, 0xd, 1);

	if (!l1 || !d0)
		return;
	uint32_t mask = d0->eax;
	if (!(l1->ecx & (1u << 28)))
		mask &= ~(1u << 2); /* AVX */
	if (!l7 || !(l7->ebx & (1u << 14)))
		mask &= ~(3u << 3); /* MPX */
	if (!l7 || !(l7->ebx & (1u << 16)))
		mask &= ~(7u << 5); /* AVX-512 */
	if (!l7 || !(l7->ecx & (1u << 3)))
		mask &= ~(1u << 9); /* PKRU */
	d0->eax = mask;

	uint32_t std_size = 576, compact = 576;
	for (uint32_t i = 2; i < 32; i++) {
		struct kvm_cpuid_entry2 *e = find(c, 0xd, i);
		if (!(mask & (1u << i))) {
			if (e && i < 32 && !(d1 && (d1->ecx & (1u << i))))
				memset(&e->eax, 0, 4 * sizeof(uint32_t));
			continue;
		}
		if (!e || !e->eax)
			continue;
		if (e->ebx + e->eax > std_size)
			std_size = e->ebx + e->eax;
		if (e->ecx & 2) /* 64-byte aligned in the compacted format */
			compact = (compact + 63) & ~63u;
		compact += e->eax;
	}
	d0->ebx = std_size;
	d0->ecx = std_size;
	if (d1 && (d1->eax & (1u << 3)) && !d1->ecx && !d1->edx)
		d1->ebx = compact; /* XSAVES with no supervisor state: XCR0 only */
}

int cpuid_supported(struct kvm *k, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES - 4; /* room for leaves we add */
	if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int ret = -errno;
		free(c);
		return ret;
	}

	struct kvm_cpuid_entry2 *e = find(c, 1, 0);
	if (e)
		e->ecx |= 1u << 31; /* hypervisor present */

	/* KVM's signature leaf; the features leaf comes from KVM itself. */
	e = find_or_add(c, KVM_CPUID_SIGNATURE, 0, 0);
	if (e) {
		e->eax = KVM_CPUID_FEATURES;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
	}
	e = find(c, KVM_CPUID_FEATURES, 0);
	if (e)
		e->edx = 0; /* no KVM_HINTS_REALTIME: we do not pin vCPUs */
	fix_xsave(c);
	*out = c;
	return 0;
}

static uint32_t order(uint32_t n)
{
	uint32_t s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

int cpuid_vcpu_set(int vcpu_fd, const struct kvm_cpuid2 *base, unsigned int id, unsigned int ncpus)
{
	size_t sz = sizeof(*base) + base->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(sz);
	uint32_t shift = order(ncpus);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, base, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | ((ncpus & 0xff) << 16) | (id << 24);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: the count field is valid */
			break;
		case 4: /* deterministic cache parameters */
			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= 0x3ff;
			e->eax |= ((1u << shift) - 1) << 26; /* cores per package - 1 */
			/* each cache is per core, except the last level */
			if (((e->eax >> 5) & 7) == 3)
				e->eax |= ((1u << shift) - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8; /* SMT level */
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = 1 | (2u << 8); /* core level */
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index; /* invalid level: end */
			}
			break;
		case 0x80000001:
			if (ncpus > 1)
				e->ecx |= 1u << 1; /* CmpLegacy */
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | ((ncpus - 1) & 0xff);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff; /* core id, one thread per core */
			e->ecx = 0;	    /* node 0 */
			break;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_TSC	      0x10
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR	      0xc0000081
#define MSR_LSTAR	      0xc0000082
#define MSR_CSTAR	      0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

int msrs_vcpu_set(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} boot[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },	       /* fast string operations */
		{ MSR_MTRR_DEF_TYPE, (1u << 11) | 6 }, /* MTRRs on, default write-back */
	};
	const unsigned int n = sizeof(boot) / sizeof(boot[0]);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[sizeof(boot) / sizeof(boot[0])];
	} msrs;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = n;
	for (unsigned int i = 0; i < n; i++) {
		msrs.e[i].index = boot[i].index;
		msrs.e[i].data = boot[i].data;
	}
	int ret = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return -errno;
	return (unsigned int)ret == n ? 0 : -EIO;
}
