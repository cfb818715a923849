/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one host mapping, aligned to 2 MiB so that KVM can map it with
 * huge pages, split into at most two guest-physical regions around the
 * 32-bit PCI hole (below LAYOUT_MEM_HOLE_START, and from 4 GiB up).
 */
#ifndef SVMM_VMM_KVM_MEMORY_H
#define SVMM_VMM_KVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm;

struct guest_region {
	uint64_t gpa, size;
	uint8_t *hva;
};

struct guest_mem {
	uint8_t *base; /* the whole mapping, 2 MiB aligned */
	uint64_t size; /* bytes of RAM */
	int fd;	       /* memfd when shared, else -1 */
	bool file;     /* mapped from a snapshot's file (guest_mem_map_file) */
	struct guest_region region[2];
	unsigned int n_regions;
};

/* Map size bytes of RAM (a multiple of 2 MiB, at least 2 MiB). shared: a
 * memfd mapped MAP_SHARED (vhost-user needs the fd); hugepages: hugetlbfs
 * pages (-ENOMEM when the host has too few reserved). */
int guest_mem_alloc(struct guest_mem *m, uint64_t size, bool shared, bool hugepages);
void guest_mem_free(struct guest_mem *m);
/* A snapshot's RAM: the file fd (exactly size bytes, the layout
 * guest_mem_save writes) mapped MAP_PRIVATE, so pages are read when first
 * touched and written copy-on-write (several VMs may map one file);
 * prefault reads them all now (MAP_POPULATE). -EINVAL for a file of
 * another size. */
int guest_mem_map_file(struct guest_mem *m, uint64_t size, int fd, bool prefault);
/* Write RAM into fd (truncated to m->size), sparse: pages never touched
 * (mincore) or all zero are skipped, left as holes. 0 or -errno. */
int guest_mem_save(const struct guest_mem *m, int fd);
/* One KVM memory slot per region, from slot 0 up. */
int guest_mem_register(const struct guest_mem *m, struct kvm *k);

/* Host pointer for [gpa, gpa+len) when all of it is RAM of one region,
 * else NULL. Guest addresses and lengths are hostile: this is the check. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* End of RAM below the PCI hole. */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
