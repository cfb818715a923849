// SPDX-License-Identifier: Apache-2.0
/*
 * --metrics' value parser and the Prometheus formatter (vmm/api/metrics.h).
 * Input: a --metrics value up to the first NUL, then bytes that become
 * group ids (device label values, cut at each NUL) of a counter report.
 * The parser must succeed with exactly one of a path and a TCP address
 * (strings terminated, a port 1-65535) or fail naming --metrics; the
 * formatter's text must have one line per sample plus two per family, each
 * label value escaped (no raw newline or unescaped quote inside a line),
 * and parse back to the same number of samples.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/metrics.h"

static const struct ctr_desc d_a = { "fz", "a", "help \\ with\nnewline", false, NULL, NULL };
static const struct ctr_desc d_b = { "fz", "b", "b", true, "reason", "x\"y" };

/* Lines and samples of text; abort() on a line that is not well formed. */
static void check_text(const char *t, size_t len, size_t samples, size_t families)
{
	size_t lines = 0, got = 0;

	if (strlen(t) != len)
		abort();
	for (const char *p = t; *p;) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			abort(); /* every line ends */
		lines++;
		if (*p != '#') {
			got++;
			bool in = false;
			for (const char *q = p; q < nl; q++) {
				if (*q == '\\' && in) {
					q++;
					if (*q != '\\' && *q != '"' && *q != 'n')
						abort();
				} else if (*q == '"') {
					in = !in;
				}
			}
			if (in)
				abort(); /* a label value left open */
		}
		p = nl + 1;
	}
	if (got != samples || lines != samples + 2 * families)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul ? (size_t)(nul - data) : size;
	char *spec = malloc(n + 1);
	struct metrics_spec sp;
	struct err err = { 0 };

	if (!spec)
		return 0;
	memcpy(spec, data, n);
	spec[n] = 0;
	int rc = metrics_spec_parse(spec, &sp, &err);
	if (rc == 0) {
		if (!memchr(sp.path, 0, sizeof(sp.path)) || !memchr(sp.id, 0, sizeof(sp.id)))
			abort();
		if (sp.tcp == !!sp.path[0] || (sp.tcp && !sp.port))
			abort();
	} else if (rc != -EINVAL || strncmp(err.msg, "--metrics", 9)) {
		abort();
	}
	free(spec);

	struct ctr_set s = { 0 };
	size_t samples = 0;
	const uint8_t *p = nul ? nul + 1 : data + size, *end = data + size;
	for (int g = 0; g < 16 && p <= end; g++) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		size_t k = z ? (size_t)(z - p) : (size_t)(end - p);
		char id[CTR_ID_MAX];
		if (k >= sizeof(id))
			k = sizeof(id) - 1;
		memcpy(id, p, k);
		id[k] = 0;
		ctr_group(&s, id, g & 1 ? "vcpu" : "device", id);
		ctr_put(&s, &d_a, g % 3 - 1, (uint64_t)g);
		ctr_put(&s, &d_b, -1, UINT64_MAX - (uint64_t)g);
		samples += 2;
		if (!z)
			break;
		p = z + 1;
	}
	char *text;
	size_t len;
	if (!ctr_set_rc(&s) && metrics_prometheus(&s, "fz", &text, &len) == 0) {
		check_text(text, len, samples, samples ? 2 : 0);
		free(text);
	}
	json_t *j;
	if (!ctr_set_rc(&s) && metrics_json(&s, &j) == 0)
		json_decref(j);
	ctr_set_free(&s);
	return 0;
}
