// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk requests (devices/virtio/blk/blk.c) from a hostile driver,
 * served by the real device on its io_uring thread against a 64 KiB disk
 * in a memfd (a probed raw image, so sector 0's guard is in play).
 * Input: u8 options (bit 0: read-only disk), u64 features the driver
 * asks for, then fuzz_dev.h's ops (the target's own op: FLUSH-style
 * settling, waiting until the queue is idle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/blk/blk.h"
#include "tests/fuzz/fuzz_dev.h"

static void settle(struct fzd *f, struct fz *z)
{
	(void)z;
	fzd_wait(f, 0, 200000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	uint8_t opts = fz_u8(&z);
	uint64_t features = fz_u64(&z);
	char path[64];
	struct err err = { 0 };
	struct virtio_dev *vd;
	struct fzd f;

	int fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 64 * 1024) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct virtio_blk_opts o = {
		.disk = { .path = path, .readonly = opts & 1 },
		.serial = "fuzz-serial",
		.queue_size = FZD_QSIZE,
	};
	if (virtio_blk_create(&vd, &o, &err)) {
		fprintf(stderr, "virtio_blk_create: %s\n", err.msg);
		abort();
	}
	if (fzd_attach(&f, vd, 1, features) == 0)
		fzd_run(&f, &z, settle);
	fzd_free(&f);
	close(fd);
	return 0;
}
