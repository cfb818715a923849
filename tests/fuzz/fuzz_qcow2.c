// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2 images (devices/virtio/blk/qcow2.c, disk.c) from a hostile file:
 * input = u16 image length L, L bytes of image (header, L1, refcount
 * table, L2 and refcount blocks), then ops of 13 bytes: kind (read,
 * write, discard, flush; bit 7: read-only open for the first op byte),
 * u64 guest offset, u32 length. The image goes into a memfd, is opened
 * through disk_open as the device does, and each op maps its range extent
 * by extent and moves the bytes with pread/pwrite/fallocate as
 * virtio-blk does, checking what map returns.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/blk/disk.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OPS	   16
#define MAX_OP_LEN (128u * 1024)

static uint8_t buf[MAX_OP_LEN];

static void op(struct disk *d, unsigned int kind, uint64_t off, uint64_t len)
{
	if (off > d->size || len > d->size - off)
		return; /* the device refuses these before mapping (range_ok) */
	if (kind == 3) {
		d->fmt->flush(d);
		return;
	}
	bool write = kind == 1 && !d->readonly;
	for (uint64_t pos = 0; pos < len;) {
		struct disk_extent e = { 0 };
		if (d->fmt->map(d, off + pos, len - pos, write, &e) < 0)
			return;
		if (!e.len || e.len > len - pos)
			abort();
		if (!e.zero) {
			ssize_t n = 0;
			if (kind == 0)
				n = pread(d->fd, buf, e.len, (off_t)e.host_off);
			else if (write && !disk_write_refused(d, off + pos, buf, e.len))
				n = pwrite(d->fd, buf, e.len, (off_t)e.host_off);
			else if (kind == 2 && !d->readonly)
				n = fallocate(d->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					      (off_t)e.host_off, (off_t)e.len);
			if (n < 0)
				return;
		}
		pos += e.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	size_t image_len;
	const uint8_t *image = fz_bytes(&z, fz_u16(&z), &image_len);
	uint8_t flags = z.n ? z.p[0] : 0;

	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (image_len && write(fd, image, image_len) != (ssize_t)image_len)
		abort();
	char path[64];
	struct err err = { 0 };
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct disk_open_opts o = { .path = path, .readonly = flags & 0x80 };
	struct disk d;
	if (disk_open(&d, &o, &err) == 0) {
		memset(buf, 0x5a, sizeof(buf));
		for (int i = 0; i < MAX_OPS && z.n; i++) {
			unsigned int kind = fz_u8(&z) & 3;
			uint64_t off = fz_u64(&z);
			uint32_t len = fz_u32(&z) % (MAX_OP_LEN + 1);
			op(&d, kind, off, len);
		}
		disk_close(&d);
	}
	close(fd);
	return 0;
}
