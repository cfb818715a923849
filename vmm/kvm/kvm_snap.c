// SPDX-License-Identifier: Apache-2.0
/* vCPU, irqchip, PIT and clock state into and out of a snapshot. */
#include "vmm/kvm/kvm_snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm/log.h"

static int get(int fd, unsigned long req, void *p, const char *what, unsigned int id,
	       struct err *err)
{
	if (ioctl(fd, req, p) < 0)
		return err_sys(err, errno, "vCPU %u: %s", id, what);
	return 0;
}

/* The MSRs KVM can save: the index list, then read in batches, skipping
 * the one each short read stops at (an MSR the host cannot read). */
static int msrs_save(struct kvm *k, int fd, unsigned int id, struct snap_w *w, struct err *err)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *list = NULL;
	struct kvm_msrs *m = NULL;
	int rc = 0;

	if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_sys(err, errno, "KVM_GET_MSR_INDEX_LIST");
	if (probe.nmsrs > KVM_SNAP_MAX_MSRS)
		probe.nmsrs = KVM_SNAP_MAX_MSRS;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	m = calloc(1, sizeof(*m) + probe.nmsrs * sizeof(struct kvm_msr_entry));
	if (!list || !m) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	list->nmsrs = probe.nmsrs;
	if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		rc = err_sys(err, errno, "KVM_GET_MSR_INDEX_LIST");
		goto out;
	}
	uint32_t total = list->nmsrs < probe.nmsrs ? list->nmsrs : probe.nmsrs, got = 0;
	struct kvm_msrs *one = calloc(1, sizeof(*one) + sizeof(struct kvm_msr_entry));
	if (!one) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < total; i++) {
		one->nmsrs = 1;
		one->entries[0] = (struct kvm_msr_entry){ .index = list->indices[i] };
		int n = ioctl(fd, KVM_GET_MSRS, one);
		if (n == 1)
			m->entries[got++] = one->entries[0];
	}
	free(one);
	snap_put(w, m->entries, got * sizeof(struct kvm_msr_entry), "vcpu%u.msrs", id);
	log_msg(LV_DEBUG, "snapshot", "vCPU %u: %u of %u MSRs saved", id, got, total);
out:
	free(list);
	free(m);
	return rc;
}

int kvm_vcpu_save(struct kvm *k, int fd, unsigned int id, struct snap_w *w, struct err *err)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_debugregs dbg;
	int rc;

	memset(&ev, 0, sizeof(ev));
	if ((rc = get(fd, KVM_GET_REGS, &regs, "KVM_GET_REGS", id, err)) ||
	    (rc = get(fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", id, err)) ||
	    (rc = get(fd, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", id, err)) ||
	    (rc = get(fd, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS", id, err)) ||
	    (rc = get(fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE", id, err)) ||
	    (rc = get(fd, KVM_GET_DEBUGREGS, &dbg, "KVM_GET_DEBUGREGS", id, err)))
		return rc;
	snap_put(w, &regs, sizeof(regs), "vcpu%u.regs", id);
	snap_put(w, &sregs, sizeof(sregs), "vcpu%u.sregs", id);
	snap_put(w, &lapic, sizeof(lapic), "vcpu%u.lapic", id);
	snap_put(w, &ev, sizeof(ev), "vcpu%u.events", id);
	snap_put(w, &mp, sizeof(mp), "vcpu%u.mp_state", id);
	snap_put(w, &dbg, sizeof(dbg), "vcpu%u.debugregs", id);
	if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		struct kvm_xsave *xs = calloc(1, sizeof(*xs));
		if (!xs)
			return err_set(err, ENOMEM, "out of memory");
		rc = get(fd, KVM_GET_XSAVE, xs, "KVM_GET_XSAVE", id, err);
		if (!rc)
			snap_put(w, xs, sizeof(*xs), "vcpu%u.xsave", id);
		free(xs);
		if (rc)
			return rc;
	} else {
		struct kvm_fpu fpu;
		if ((rc = get(fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU", id, err)))
			return rc;
		snap_put(w, &fpu, sizeof(fpu), "vcpu%u.fpu", id);
	}
	if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
		struct kvm_xcrs xcrs;
		if ((rc = get(fd, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS", id, err)))
			return rc;
		snap_put(w, &xcrs, sizeof(xcrs), "vcpu%u.xcrs", id);
	}
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + KVM_SNAP_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return err_set(err, ENOMEM, "out of memory");
	c->nent = KVM_SNAP_MAX_CPUID;
	rc = get(fd, KVM_GET_CPUID2, c, "KVM_GET_CPUID2", id, err);
	if (!rc)
		snap_put(w, c->entries, c->nent * sizeof(struct kvm_cpuid_entry2), "vcpu%u.cpuid",
			 id);
	free(c);
	if (rc)
		return rc;
	return msrs_save(k, fd, id, w, err);
}

static int set(int fd, unsigned long req, void *p, const char *what, unsigned int id,
	       struct err *err)
{
	if (ioctl(fd, req, p) < 0)
		return err_sys(err, errno, "vCPU %u: restore: %s", id, what);
	return 0;
}

/* A record of exactly sizeof(*p), into KVM. */
#define SET_EXACT(p, req, name)                                                             \
	do {                                                                                \
		if ((rc = snap_get_exact(r, (p), sizeof(*(p)), err, "vcpu%u." name, id)) || \
		    (rc = set(fd, (req), (p), #req, id, err)))                              \
			goto out;                                                           \
	} while (0)

int kvm_vcpu_restore(struct kvm *k, int fd, unsigned int id, const struct snap_r *r,
		     struct err *err)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_debugregs dbg;
	struct kvm_cpuid2 *c = NULL;
	struct kvm_msrs *m = NULL;
	struct kvm_xsave *xs = NULL;
	size_t len;
	int rc = 0;

	(void)k; /* the VM's, for symmetry with kvm_vcpu_save */
	const void *ent = snap_get(r, &len, "vcpu%u.cpuid", id);
	if (!ent || !len || len % sizeof(struct kvm_cpuid_entry2) ||
	    len / sizeof(struct kvm_cpuid_entry2) > KVM_SNAP_MAX_CPUID)
		return err_set(err, EINVAL, "snapshot: vcpu%u.cpuid is missing or malformed", id);
	c = calloc(1, sizeof(*c) + len);
	if (!c)
		return err_set(err, ENOMEM, "out of memory");
	c->nent = (uint32_t)(len / sizeof(struct kvm_cpuid_entry2));
	memcpy(c->entries, ent, len);
	if ((rc = set(fd, KVM_SET_CPUID2, c, "KVM_SET_CPUID2", id, err)))
		goto out;
	SET_EXACT(&mp, KVM_SET_MP_STATE, "mp_state");
	SET_EXACT(&regs, KVM_SET_REGS, "regs");
	SET_EXACT(&sregs, KVM_SET_SREGS, "sregs");
	if (snap_has(r, "vcpu%u.xsave", id)) {
		if (!(xs = calloc(1, sizeof(*xs)))) {
			rc = err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		SET_EXACT(xs, KVM_SET_XSAVE, "xsave");
	} else {
		struct kvm_fpu fpu;
		SET_EXACT(&fpu, KVM_SET_FPU, "fpu");
	}
	if (snap_has(r, "vcpu%u.xcrs", id)) {
		struct kvm_xcrs xcrs;
		SET_EXACT(&xcrs, KVM_SET_XCRS, "xcrs");
	}
	SET_EXACT(&dbg, KVM_SET_DEBUGREGS, "debugregs");
	SET_EXACT(&lapic, KVM_SET_LAPIC, "lapic");
	const void *ms = snap_get(r, &len, "vcpu%u.msrs", id);
	if (!ms || len % sizeof(struct kvm_msr_entry) ||
	    len / sizeof(struct kvm_msr_entry) > KVM_SNAP_MAX_MSRS) {
		rc = err_set(err, EINVAL, "snapshot: vcpu%u.msrs is missing or malformed", id);
		goto out;
	}
	uint32_t n = (uint32_t)(len / sizeof(struct kvm_msr_entry)), done = 0;
	if (!(m = calloc(1, sizeof(*m) + len + sizeof(struct kvm_msr_entry)))) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* all at once; an MSR KVM refuses stops the batch there: skip it */
	while (done < n) {
		m->nmsrs = n - done;
		memcpy(m->entries, (const uint8_t *)ms + done * sizeof(struct kvm_msr_entry),
		       (n - done) * sizeof(struct kvm_msr_entry));
		int got = ioctl(fd, KVM_SET_MSRS, m);
		if (got < 0) {
			rc = err_sys(err, errno, "vCPU %u: restore: KVM_SET_MSRS", id);
			goto out;
		}
		done += (uint32_t)got;
		if (done < n) {
			log_msg(LV_DEBUG, "snapshot", "vCPU %u: MSR %#x not restored", id,
				m->entries[got].index);
			done++;
		}
	}
	memset(&ev, 0, sizeof(ev));
	if ((rc = snap_get_exact(r, &ev, sizeof(ev), err, "vcpu%u.events", id)))
		goto out;
	ev.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	rc = set(fd, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS", id, err);
out:
	free(c);
	free(m);
	free(xs);
	return rc;
}

static const struct {
	uint32_t chip;
	const char *name;
} chips[] = {
	{ KVM_IRQCHIP_PIC_MASTER, "vm.pic_master" },
	{ KVM_IRQCHIP_PIC_SLAVE, "vm.pic_slave" },
	{ KVM_IRQCHIP_IOAPIC, "vm.ioapic" },
};

int kvm_vm_save(struct kvm *k, const struct kvm_clock_data *c, struct snap_w *w, struct err *err)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;

	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = chips[i].chip;
		if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return err_sys(err, errno, "KVM_GET_IRQCHIP (%s)", chips[i].name + 3);
		snap_put(w, &chip, sizeof(chip), "%s", chips[i].name);
	}
	if (ioctl(k->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return err_sys(err, errno, "KVM_GET_PIT2");
	snap_put(w, &pit, sizeof(pit), "vm.pit2");
	snap_put(w, c, sizeof(*c), "vm.clock");
	return 0;
}

int kvm_vm_restore(struct kvm *k, const struct snap_r *r, struct kvm_clock_data *c, struct err *err)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	int rc;

	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		if ((rc = snap_get_exact(r, &chip, sizeof(chip), err, "%s", chips[i].name)))
			return rc;
		if (chip.chip_id != chips[i].chip)
			return err_set(err, EINVAL, "snapshot: %s names chip %u", chips[i].name,
				       chip.chip_id);
		if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_sys(err, errno, "restore: KVM_SET_IRQCHIP (%s)",
				       chips[i].name + 3);
	}
	if ((rc = snap_get_exact(r, &pit, sizeof(pit), err, "vm.pit2")))
		return rc;
	if (ioctl(k->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_sys(err, errno, "restore: KVM_SET_PIT2");
	return snap_get_exact(r, c, sizeof(*c), err, "vm.clock");
}
