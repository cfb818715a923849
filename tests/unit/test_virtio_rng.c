// SPDX-License-Identifier: Apache-2.0
/* virtio-rng fills the driver's buffers from the entropy source. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "devices/virtio/rng/rng.h"
#include "tests/unit/fake_driver.h"

static void fills_buffers(void **state)
{
	(void)state;
	struct fake_driver f;
	struct virtio_dev *vd;
	struct err err = { 0 };
	uint32_t head, len;

	fd_init(&f);
	assert_int_equal(virtio_rng_create(&vd, "/dev/urandom", &err), 0);
	assert_int_equal(vd->device_id, VIRTIO_ID_RNG);
	assert_int_equal(fd_attach(&f, vd), 0);
	/* two writable segments in one chain */
	fd_desc(&f)[0] =
		(struct virtq_desc){ 0x10000, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 };
	fd_desc(&f)[1] = (struct virtq_desc){ 0x20000, 64, VIRTQ_DESC_F_WRITE, 0 };
	assert_int_equal(fd_wait_used(&f, fd_offer(&f, 0), &head, &len), 0);
	assert_int_equal(head, 0);
	assert_int_equal(len, 128);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += f.ram[0x10000 + i] != 0 && f.ram[0x20000 + i] != 0;
	assert_true(nonzero > 32);
	/* a huge request gets at most one chunk, and the queue goes on */
	fd_desc(&f)[2] = (struct virtq_desc){ 0x100000, 1 << 20, VIRTQ_DESC_F_WRITE, 0 };
	assert_int_equal(fd_wait_used(&f, fd_offer(&f, 2), &head, &len), 0);
	assert_int_equal(len, 4096);
	fd_free(&f);
}

static void missing_source(void **state)
{
	(void)state;
	struct virtio_dev *vd;
	struct err err = { 0 };

	assert_int_equal(virtio_rng_create(&vd, "/nonexistent/rng", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/rng"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fills_buffers),
		cmocka_unit_test(missing_source),
	};
	return cmocka_run_group_tests_name("virtio_rng", tests, NULL, NULL);
}
