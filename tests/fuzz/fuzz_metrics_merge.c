// SPDX-License-Identifier: Apache-2.0
/*
 * svmm metrics' merge of several expositions (vmm/api/metrics.h
 * metrics_merge). Input: texts separated by NUL bytes. The merged text must
 * hold every sample line of the inputs (no more), each HELP/TYPE line at
 * most once per family, and only lines that were in some input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/metrics.h"

static size_t samples(const char *t, size_t len)
{
	size_t n = 0;
	for (const char *p = t, *end = t + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		n += ll && p[0] != '#';
		p += ll + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *texts[32];
	size_t lens[32], n = 0, want = 0;
	char *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	for (char *p = copy, *end = copy + size; n < 32 && p <= end;) {
		size_t k = strlen(p);
		texts[n] = p;
		lens[n++] = k;
		want += samples(p, k);
		p += k + 1;
	}
	char *out;
	size_t len;
	if (metrics_merge(texts, lens, n, &out, &len) == 0) {
		if (strlen(out) != len || samples(out, len) != want)
			abort();
		for (const char *p = out; *p;) {
			const char *nl = strchr(p, '\n');
			if (!nl)
				abort(); /* every merged line ends */
			size_t ll = (size_t)(nl - p);
			bool seen = false;
			for (size_t i = 0; i < n && !seen; i++)
				for (const char *q = texts[i];
				     (q = memmem(q, lens[i] - (size_t)(q - texts[i]), p, ll)); q++)
					if ((q == texts[i] || q[-1] == '\n') &&
					    (q + ll == texts[i] + lens[i] || q[ll] == '\n')) {
						seen = true;
						break;
					}
			if (!seen)
				abort(); /* a line no input had */
			p = nl + 1;
		}
		free(out);
	}
	free(copy);
	return 0;
}
