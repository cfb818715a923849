// SPDX-License-Identifier: Apache-2.0
/* The counter report: groups of samples (see counters.h). */
#include "vmm/kvm/counters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, c * size);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

void ctr_group(struct ctr_set *s, const char *id, const char *label, const char *label_value)
{
	if (!grow((void **)&s->g, &s->gcap, s->ng, sizeof(*s->g))) {
		s->rc = -ENOMEM;
		return;
	}
	struct ctr_group *g = &s->g[s->ng++];
	snprintf(g->id, sizeof(g->id), "%s", id);
	g->label = label;
	snprintf(g->label_value, sizeof(g->label_value), "%s", label_value ? label_value : "");
}

void ctr_put(struct ctr_set *s, const struct ctr_desc *d, int queue, uint64_t value)
{
	if (!s->ng || !grow((void **)&s->c, &s->ccap, s->nc, sizeof(*s->c))) {
		s->rc = -ENOMEM;
		return;
	}
	s->c[s->nc++] = (struct ctr){ .d = d, .group = s->ng - 1, .queue = queue, .value = value };
}

void ctr_set_free(struct ctr_set *s)
{
	free(s->g);
	free(s->c);
	*s = (struct ctr_set){ 0 };
}
