// TEMPORARY, uncommitted: guest_mem_ptr until the vmm branch is merged.
#include "vmm/memory.h"
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}
