// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot state file (vmm/kvm/snapshot.c) from a hostile file: the
 * input is the whole file. snap_parse must refuse it or index it; every
 * record it indexes must lie inside the input with a valid name, be found
 * by its name, and be copied only at its exact size. An accepted file,
 * written again record by record, must parse to the same records.
 */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/kvm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_r r;
	struct err err = { 0 };

	if (snap_parse(&r, data, size, &err) < 0) {
		if (!err.code || !err.msg[0])
			abort(); /* a refusal names its reason */
		return 0;
	}
	struct snap_w w;
	snap_w_init(&w);
	for (uint32_t i = 0; i < r.n; i++) {
		const struct snap_rec *x = &r.rec[i];
		if (x->data < data || x->data + x->len > data + size ||
		    (const uint8_t *)x->name < data ||
		    (const uint8_t *)x->name + x->name_len > data + size || !x->name_len ||
		    x->name_len > SNAP_NAME_MAX)
			abort();
		size_t len;
		const void *p = snap_get(&r, &len, "%.*s", (int)x->name_len, x->name);
		if (p != x->data || len != x->len)
			abort();
		uint8_t small[8];
		int rc = snap_get_exact(&r, small, sizeof(small), &err, "%.*s", (int)x->name_len,
					x->name);
		if ((rc == 0) != (x->len == sizeof(small)))
			abort();
		snap_put(&w, x->data, x->len, "%.*s", (int)x->name_len, x->name);
	}
	if (snap_w_finish(&w) == 0) {
		struct snap_r r2;
		if (snap_parse(&r2, w.buf, w.len, &err) < 0 || r2.n != r.n)
			abort();
		snap_r_free(&r2);
	}
	snap_w_free(&w);
	snap_r_free(&r);
	return 0;
}
