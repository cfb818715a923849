// SPDX-License-Identifier: Apache-2.0
/* Port I/O and MMIO dispatch by address range. */
#include "vmm/kvm/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/kvm/log.h"

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

void bus_free(struct bus *b)
{
	free(b->ranges);
	bus_init(b);
}

/* Index of the first range whose base is greater than addr. */
static unsigned int upper(const struct bus *b, uint64_t addr)
{
	unsigned int lo = 0, hi = b->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	if (!len || base + len - 1 < base || !ops)
		return -EINVAL;
	unsigned int i = upper(b, base);
	const struct bus_range *prev = i ? &b->ranges[i - 1] : NULL;
	const struct bus_range *next = i < b->n ? &b->ranges[i] : NULL;
	if ((prev && prev->base + prev->len - 1 >= base) ||
	    (next && base + len - 1 >= next->base)) {
		log_msg(LV_ERROR, "bus", "bus: %s at 0x%llx+0x%llx overlaps %s", name ? name : "?",
			(unsigned long long)base, (unsigned long long)len,
			(prev && prev->base + prev->len - 1 >= base) ? prev->name : next->name);
		return -EEXIST;
	}
	if (b->n == b->cap) {
		unsigned int cap = b->cap ? 2 * b->cap : 16;
		struct bus_range *r = realloc(b->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->ranges = r;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->n - i) * sizeof(*b->ranges));
	b->ranges[i] = (struct bus_range){ base, len, ops, opaque, name ? name : "?" };
	b->n++;
	return 0;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	unsigned int i = upper(b, base);

	if (!i || b->ranges[i - 1].base != base)
		return -ENOENT;
	i--;
	memmove(&b->ranges[i], &b->ranges[i + 1], (b->n - i - 1) * sizeof(*b->ranges));
	b->n--;
	return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned int i = upper(b, addr);

	if (!i)
		return NULL;
	const struct bus_range *r = &b->ranges[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

bool bus_access(const struct bus *b, uint64_t addr, void *data, unsigned int size, bool is_write)
{
	const struct bus_range *r = bus_find(b, addr);

	if (r && size && addr - r->base + size <= r->len) {
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, addr - r->base, data, size);
		} else if (r->ops->read) {
			r->ops->read(r->opaque, addr - r->base, data, size);
		} else {
			memset(data, 0xff, size);
		}
		return true;
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
