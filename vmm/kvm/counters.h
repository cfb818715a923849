/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counters for vm.counters and the Prometheus endpoint: what every part of
 * the VM (devices, vCPUs, the process) counts and how it reports it.
 *
 * Counting: a counter is a plain uint64_t in the state of whoever counts
 * (a device, a queue, a vCPU), bumped with a relaxed atomic add on the data
 * path (ctr_inc; ctr_bump where one thread is the only writer, as a vCPU's
 * own exits): no lock, no shared cache line between devices. Readers (the
 * API or metrics thread) load it relaxed (ctr_read): a value may be a few
 * events old, never torn.
 *
 * Reporting: a reader fills a struct ctr_set, a list of groups (one per
 * device, vCPU or the process: its id, "_disk0", and its Prometheus label,
 * device="_disk0") each with its samples. A sample names a static struct
 * ctr_desc: the metric's family and name (svmm_<family>_<name>_total; the
 * JSON key is the name, cloud-hypervisor's where it has one), help text,
 * counter or gauge, and optionally one fixed label (reason="io"); a sample
 * may carry a queue index (label queue="N", JSON key name_qN).
 */
#ifndef SVMM_VMM_KVM_COUNTERS_H
#define SVMM_VMM_KVM_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void ctr_inc(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Only when the calling thread is the counter's one writer. */
static inline void ctr_bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t ctr_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

struct ctr_desc {
	const char *family; /* "disk", "net", "vsock", "virtio", "vcpu", "process" */
	const char *name;   /* "read_bytes": the JSON key and the metric's stem */
	const char *help;
	bool gauge;			 /* a value that goes down too (else a counter) */
	const char *label, *label_value; /* one fixed label, or NULL: reason="io" */
};

struct ctr {
	const struct ctr_desc *d;
	size_t group;
	int queue; /* -1: none */
	uint64_t value;
};

#define CTR_ID_MAX 64

struct ctr_group {
	char id[CTR_ID_MAX];	      /* the JSON key: "_disk0", "__vcpu0", "__vmm" */
	const char *label;	      /* "device", "vcpu", or NULL for none */
	char label_value[CTR_ID_MAX]; /* its value */
};

struct ctr_set {
	struct ctr_group *g;
	size_t ng, gcap;
	struct ctr *c;
	size_t nc, ccap;
	int rc; /* -ENOMEM once an allocation failed: the set is incomplete */
};

/* Start a group: the samples put next belong to it. label may be NULL. */
void ctr_group(struct ctr_set *s, const char *id, const char *label, const char *label_value);
/* A sample of the current group; queue -1 for none. */
void ctr_put(struct ctr_set *s, const struct ctr_desc *d, int queue, uint64_t value);
/* 0, or -ENOMEM when a sample was lost. */
static inline int ctr_set_rc(const struct ctr_set *s)
{
	return s->rc;
}
void ctr_set_free(struct ctr_set *s);

#endif
