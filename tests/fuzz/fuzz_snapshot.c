// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot state file (vmm/kvm/snapshot.c) from a hostile file: the
 * input is the whole file. snap_parse must refuse it or index it; every
 * record it indexes must lie inside the input with a valid name, be found
 * by its name, and be copied only at its exact size. An accepted file,
 * written again record by record, must parse to the same records.
 *
 * Then what reads it at restore, on the accepted file: the platform
 * devices' parts (RTC, GED) and a PCI bus with a virtio-rng (slot 1) and
 * a virtio-vsock (slot 2) behind the virtio-pci transport, each restored
 * from "pci01" / "pci02" as vmm/devices.c does (irqfd mode or direct by
 * the input's size): whatever the records say, the restore either refuses
 * them with a reason or leaves a transport whose state saves again and
 * parses, and every route it made is given back at the free.
 */
#include <string.h>

#include "devices/acpi_ged.h"
#include "devices/rtc.h"
#include "tests/fuzz/fuzz_pci.h"
#include "vmm/kvm/snapshot.h"

static void restore_devices(const struct snap_r *r, bool irqfd)
{
	static const unsigned int kinds[] = { 0, 2 };
	struct fzp p;
	struct err err = { 0 };
	char pfx[16];

	struct rtc rtc;
	rtc_init(&rtc);
	if (rtc_snap_ops.restore(&rtc, r, &err) < 0 && !err.msg[0])
		abort();
	struct acpi_ged ged;
	acpi_ged_init(&ged, 5, NULL, NULL);
	err = (struct err){ 0 };
	if (acpi_ged_snap_ops.restore(&ged, r, &err) < 0 && !err.msg[0])
		abort();

	fzp_init(&p, kinds, 2, irqfd, true);
	for (unsigned int i = 0; i < p.n; i++) {
		snprintf(pfx, sizeof(pfx), "pci%02x", p.dev[i]->slot);
		err = (struct err){ 0 };
		if (virtio_pci_restore(p.vp[i], r, pfx, &err) < 0) {
			if (!err.msg[0])
				abort();
			continue;
		}
		fzp_run_jobs(&p); /* the activation, as the devmgr would */
		struct snap_w w;
		snap_w_init(&w);
		if (virtio_pci_save(p.vp[i], &w, pfx, &err) < 0 || snap_w_finish(&w) < 0)
			abort();
		struct snap_r r2;
		if (snap_parse(&r2, w.buf, w.len, &err) < 0)
			abort();
		snap_r_free(&r2);
		snap_w_free(&w);
	}
	fzp_free(&p);
}

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
	restore_devices(&r, size & 1);
	snap_r_free(&r);
	return 0;
}
