// SPDX-License-Identifier: Apache-2.0
/*
 * A virtio-pci function through a snapshot (virtio_pci_save, then
 * virtio_pci_restore into a new device of the same configuration, whose
 * guest RAM is a copy of the first's, as a restore maps the memory file):
 * the driver's state reads back the same, the queue goes on from where it
 * was (used index 1, then 2; held chains never rewind it past what is
 * outstanding), MSI-X entries come back, and a tampered
 * record or a device of another kind is refused naming it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/rng/rng.h"
#include "tests/unit/fake_pci.h"
#include "vmm/kvm/snapshot.h"

#define QSIZE 16

static void new_rng(struct fpci *p)
{
	struct virtio_dev *vd;
	struct err err = { 0 };

	assert_int_equal(virtio_rng_create(&vd, "/dev/urandom", &err), 0);
	fq_init(&p->s, false);
	assert_int_equal(fp_plug(p, vd), 0);
}

static void one_buffer(struct fpci *p, unsigned int want_used)
{
	uint32_t head, len;
	uint64_t g = fq_alloc(&p->s, 64);

	fq_add(&p->s.q[0], &g, &(uint32_t){ 64 }, &(bool){ true }, 1);
	fp_kick(p, 0);
	assert_int_equal(fq_wait_used(&p->s.q[0], &head, &len, 5000), 0);
	assert_int_equal(len, 64);
	assert_int_equal(fq_usedp(&p->s.q[0])[1], want_used);
}

static void save(struct fpci *p, struct snap_w *w)
{
	struct err err = { 0 };

	snap_w_init(w);
	assert_int_equal(virtio_pci_save(p->vp, w, "pci01", &err), 0);
	assert_int_equal(snap_w_finish(w), 0);
}

static void round_trip(void **state)
{
	struct fpci a, b;
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	(void)state;

	new_rng(&a);
	uint64_t feat = fp_device_features(&a) & (1ULL << VIRTIO_F_VERSION_1);
	assert_true(fp_bring_up(&a, feat, 1, QSIZE) & VIRTIO_STATUS_DRIVER_OK);
	one_buffer(&a, 1);
	/* a device that claims more held chains than are outstanding (none):
	 * the transport gives back no more than that, and forgets the claim */
	a.vd->snap_held[0] = 5;
	save(&a, &w);
	assert_int_equal(a.vd->snap_held[0], 0);
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), 0);

	/* the new VM: the same device, RAM copied as the memory file is mapped */
	new_rng(&b);
	memcpy(b.s.f.ram, a.s.f.ram, FD_RAM_SIZE);
	b.s.n = a.s.n;
	b.s.next_buf = a.s.next_buf;
	b.s.q[0] = a.s.q[0];
	b.s.q[0].f = &b.s.f;
	fp_free(&a);
	assert_int_equal(virtio_pci_restore(b.vp, &r, "pci01", &err), 0);
	uint32_t cc = b.common;
	assert_int_equal(fp_bar_rd(&b, cc + 0x14, 1) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);
	fp_bar_wr(&b, cc + 0x08, 1, 4);
	assert_int_equal(fp_bar_rd(&b, cc + 0x0c, 4), 1); /* VERSION_1, negotiated */
	fp_bar_wr(&b, cc + 0x16, 0, 2);
	assert_int_equal(fp_bar_rd(&b, cc + 0x18, 2), QSIZE);
	assert_int_equal(fp_bar_rd(&b, cc + 0x1c, 2), 1);
	assert_int_equal(fp_bar_rd(&b, cc + 0x1a, 2), 1);
	assert_int_equal(fp_bar_rd(&b, cc + 0x20, 4), (uint32_t)b.s.q[0].desc);
	assert_int_equal(fp_bar_rd(&b, 0x4000 + 16 + 8, 4), 0x4040); /* MSI-X entry 1 */
	assert_int_equal(fp_cfg_rd(&b, (unsigned int)b.msix + 2, 2) & PCI_MSIX_FLAGS_ENABLE,
			 PCI_MSIX_FLAGS_ENABLE);
	/* the queue goes on: the next buffer is used entry 2, not 1 */
	one_buffer(&b, 2);
	snap_r_free(&r);
	snap_w_free(&w);
	fp_free(&b);
}

static void tampered_refused(void **state)
{
	struct fpci a, b;
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	(void)state;

	new_rng(&a);
	uint64_t feat = fp_device_features(&a) & (1ULL << VIRTIO_F_VERSION_1);
	assert_true(fp_bring_up(&a, feat, 1, QSIZE) & VIRTIO_STATUS_DRIVER_OK);
	save(&a, &w);
	fp_free(&a);
	new_rng(&b);

	/* the queue's size (at offset 24 + 24 of "pci01.virtio") made 3 */
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), 0);
	size_t len;
	uint8_t *v = (uint8_t *)snap_get(&r, &len, "pci01.virtio");
	assert_non_null(v);
	v[24 + 24] = 3;
	v[24 + 25] = 0;
	assert_int_equal(virtio_pci_restore(b.vp, &r, "pci01", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "queue 0"));
	v[24 + 24] = QSIZE;
	/* features it never offered */
	v[4] = 0x80;
	assert_int_equal(virtio_pci_restore(b.vp, &r, "pci01", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not offered"));
	v[4] = 0;
	/* another device's IDs in the config space */
	uint8_t *cfg = (uint8_t *)snap_get(&r, &len, "pci01.cfg");
	cfg[2] = 0x41; /* 0x1041: virtio-net */
	assert_int_equal(virtio_pci_restore(b.vp, &r, "pci01", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1af4:1041"));
	/* a record missing */
	assert_int_equal(virtio_pci_restore(b.vp, &r, "pci02", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "pci02.cfg"));
	snap_r_free(&r);
	snap_w_free(&w);
	fp_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(tampered_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
