/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address-range bus: port I/O and MMIO exits are dispatched to the
 * device whose range holds the address. Ranges never overlap. Accesses
 * that hit no device read as all ones and drop writes (as on real
 * hardware); bus_access() says whether a device took it.
 *
 * Registration happens before vCPUs run; bus_access() then runs from vCPU
 * threads without locking, and devices do their own locking.
 */
#ifndef SVMM_VMM_KVM_BUS_H
#define SVMM_VMM_KVM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* offset is relative to the range's base; size is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, const void *data, unsigned int size);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range *ranges; /* sorted by base */
	unsigned int n, cap;
};

void bus_init(struct bus *b);
void bus_free(struct bus *b);
/* -EINVAL for an empty or wrapping range, -EEXIST when it overlaps one
 * already there (the message names both), -ENOMEM. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name);
int bus_unregister(struct bus *b, uint64_t base);
/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);
/* Dispatch one access. Returns true when a device handled it; otherwise a
 * read fills data with 0xff bytes. An access that straddles the end of a
 * range is not the device's and is treated as unhandled. */
bool bus_access(const struct bus *b, uint64_t addr, void *data, unsigned int size, bool is_write);

#endif
