// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk against a real image file and real io_uring: the test plays
 * the driver (rings in a fake guest RAM, kicks through the eventfd the
 * transport would bind) and checks status bytes, used lengths and the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk/blk.h"
#include "tests/unit/fake_driver.h"

#define HDR_GPA	   0x4000
#define STATUS_GPA 0x4100
#define DATA_GPA   0x10000
#define DISK_SIZE  (1u << 20)

struct fx {
	struct fake_driver d;
	uint8_t *ram;
	char path[64];
	uint16_t next_desc;
};

static int make_device(struct fx *f, bool readonly, bool direct)
{
	struct virtio_blk_opts o = {
		.disk = { .path = f->path, .readonly = readonly, .direct = direct },
		.serial = "svmm-serial-01",
	};
	struct err err = { 0 };
	struct virtio_dev *vd;
	int rc = virtio_blk_create(&vd, &o, &err);
	if (rc) {
		print_error("virtio_blk_create: %s\n", err.msg);
		return rc;
	}
	return fd_attach(&f->d, vd);
}

/* A disk of size bytes (sparse past the first DISK_SIZE, which hold a pattern). */
static int setup_common(void **state, bool readonly, bool direct, off_t size)
{
	struct fx *f = calloc(1, sizeof(*f));
	fd_init(&f->d);
	f->ram = f->d.ram;
	/* a file system that supports O_DIRECT and holes: not tmpfs for direct */
	snprintf(f->path, sizeof(f->path), "%s/svmm-blk-XXXXXX", direct ? "/var/tmp" : "/tmp");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	uint8_t *pattern = malloc(DISK_SIZE);
	for (unsigned int i = 0; i < DISK_SIZE; i++)
		pattern[i] = (uint8_t)(i * 7 + i / 512);
	assert_int_equal(write(fd, pattern, DISK_SIZE), DISK_SIZE);
	assert_int_equal(ftruncate(fd, size), 0);
	free(pattern);
	close(fd);
	assert_int_equal(make_device(f, readonly, direct), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false, false, DISK_SIZE);
}
static int setup_ro(void **state)
{
	return setup_common(state, true, false, DISK_SIZE);
}
static int setup_direct(void **state)
{
	return setup_common(state, false, true, DISK_SIZE);
}
static int setup_direct_big(void **state)
{
	return setup_common(state, false, true, 64u << 20);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fd_free(&f->d);
	unlink(f->path);
	free(f);
	return 0;
}

/* Submit a request of type at sector with a data buffer, wait for it, and
 * return the status byte; *used_len gets the used ring's length. */
static int request(struct fx *f, uint32_t type, uint64_t sector, uint64_t data_gpa,
		   uint32_t data_len, bool data_writable, uint32_t *used_len)
{
	uint32_t hdr[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
	memcpy(f->ram + HDR_GPA, hdr, sizeof(hdr));
	f->ram[STATUS_GPA] = 0xee;
	uint16_t h = f->next_desc;
	f->next_desc = (f->next_desc + 3) % (FD_QSIZE - 2);
	struct virtq_desc *d = fd_desc(&f->d);
	d[h] = (struct virtq_desc){ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, h + 1 };
	if (data_len) {
		d[h + 1] = (struct virtq_desc){ data_gpa, data_len,
						VIRTQ_DESC_F_NEXT |
							(data_writable ? VIRTQ_DESC_F_WRITE : 0),
						h + 2 };
		d[h + 2] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		d[h + 1] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	}
	uint32_t head, len;
	if (fd_wait_used(&f->d, fd_offer(&f->d, h), &head, &len))
		return -1; /* no completion */
	assert_int_equal(head, h);
	if (used_len)
		*used_len = len;
	return f->ram[STATUS_GPA];
}

static void file_bytes(struct fx *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), len);
	close(fd);
}

static void reads_file(void **state)
{
	struct fx *f = *state;
	uint8_t want[4096];
	uint32_t used_len = 0;

	assert_int_equal(request(f, 0 /* IN */, 3, DATA_GPA, 4096, true, &used_len), 0);
	assert_int_equal(used_len, 4097);
	file_bytes(f, 3 * 512, want, sizeof(want));
	assert_memory_equal(f->ram + DATA_GPA, want, sizeof(want));
}

static void writes_file(void **state)
{
	struct fx *f = *state;
	uint8_t got[1024];

	memset(f->ram + DATA_GPA, 0x5a, 1024);
	assert_int_equal(request(f, 1 /* OUT */, 100, DATA_GPA, 1024, false, NULL), 0);
	file_bytes(f, 100 * 512, got, sizeof(got));
	for (int i = 0; i < 1024; i++)
		assert_int_equal(got[i], 0x5a);
	assert_int_equal(request(f, 4 /* FLUSH */, 0, 0, 0, false, NULL), 0);
}

static void get_id(void **state)
{
	struct fx *f = *state;
	uint32_t used_len = 0;

	assert_int_equal(request(f, 8 /* GET_ID */, 0, DATA_GPA, 20, true, &used_len), 0);
	assert_memory_equal(f->ram + DATA_GPA, "svmm-serial-01", 14);
	assert_int_equal(used_len, 21);
}

static void beyond_capacity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(request(f, 0, DISK_SIZE / 512, DATA_GPA, 512, true, NULL), 1 /* IOERR */);
	assert_int_equal(request(f, 0, DISK_SIZE / 512 - 1, DATA_GPA, 1024, true, NULL), 1);
	assert_int_equal(request(f, 0, UINT64_MAX / 512, DATA_GPA, 512, true, NULL), 1);
	/* not a whole number of sectors */
	assert_int_equal(request(f, 0, 0, DATA_GPA, 100, true, NULL), 1);
	/* the queue still works */
	assert_int_equal(request(f, 0, 0, DATA_GPA, 512, true, NULL), 0);
}

static void unknown_type(void **state)
{
	struct fx *f = *state;
	assert_int_equal(request(f, 77, 0, 0, 0, false, NULL), 2 /* UNSUPP */);
}

static void discard_and_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint64_t range[2] = { 64, 16 }; /* sector 64, 16 sectors, flags 0 */
	uint8_t got[8192];

	memcpy(f->ram + DATA_GPA, range, sizeof(range));
	assert_int_equal(request(f, 11 /* DISCARD */, 0, DATA_GPA, 16, false, NULL), 0);
	file_bytes(f, 64 * 512, got, 16 * 512);
	for (int i = 0; i < 16 * 512; i++)
		assert_int_equal(got[i], 0);
	range[0] = 512;
	memcpy(f->ram + DATA_GPA, range, sizeof(range));
	assert_int_equal(request(f, 13 /* WRITE_ZEROES */, 0, DATA_GPA, 16, false, NULL), 0);
	file_bytes(f, 512 * 512, got, 16 * 512);
	for (int i = 0; i < 16 * 512; i++)
		assert_int_equal(got[i], 0);
	/* neighbours untouched */
	file_bytes(f, 528 * 512, got, 1);
	assert_int_equal(got[0], (uint8_t)(528 * 512 * 7 + 528));
}

static void readonly_refuses_writes(void **state)
{
	struct fx *f = *state;
	uint8_t before[512], after[512];

	assert_true(f->d.vd->features & (1ULL << 5));	/* VIRTIO_BLK_F_RO */
	assert_false(f->d.vd->features & (1ULL << 13)); /* no DISCARD */
	file_bytes(f, 0, before, sizeof(before));
	memset(f->ram + DATA_GPA, 0x77, 512);
	assert_int_equal(request(f, 1, 0, DATA_GPA, 512, false, NULL), 1 /* IOERR */);
	file_bytes(f, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(request(f, 0, 0, DATA_GPA, 512, true, NULL), 0);
}

static void direct_unaligned_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t want[1024];

	/* a guest buffer at an odd address goes through a bounce buffer */
	assert_int_equal(request(f, 0, 2, DATA_GPA + 3, 1024, true, NULL), 0);
	file_bytes(f, 2 * 512, want, sizeof(want));
	assert_memory_equal(f->ram + DATA_GPA + 3, want, sizeof(want));
	memset(f->ram + DATA_GPA + 5, 0x33, 512);
	assert_int_equal(request(f, 1, 9, DATA_GPA + 5, 512, false, NULL), 0);
	file_bytes(f, 9 * 512, want, 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(want[i], 0x33);
}

/*
 * One write whose 14 data descriptors all name the same unaligned 3 MiB of
 * guest memory: 42 MiB through the bounce path. The bounce buffer was the
 * whole request; now the VMM's peak memory grows by about 1 MiB.
 */
static void direct_bounce_is_bounded(void **state)
{
	struct fx *f = *state;
	const uint32_t seg = 3u << 20, nseg = FD_QSIZE - 2;
	struct virtq_desc *d = fd_desc(&f->d);
	struct rusage before, after;

	memset(f->ram + DATA_GPA + 5, 0x5a, seg);
	uint32_t hdr[4] = { 1 /* OUT */, 0, 0, 0 };
	memcpy(f->ram + HDR_GPA, hdr, sizeof(hdr));
	f->ram[STATUS_GPA] = 0xee;
	d[0] = (struct virtq_desc){ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1 };
	for (uint16_t i = 1; i <= nseg; i++)
		d[i] = (struct virtq_desc){ DATA_GPA + 5, seg, VIRTQ_DESC_F_NEXT, i + 1 };
	d[nseg + 1] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	assert_int_equal(getrusage(RUSAGE_SELF, &before), 0);
	uint32_t head, len;
	assert_int_equal(fd_wait_used(&f->d, fd_offer(&f->d, 0), &head, &len), 0);
	assert_int_equal(getrusage(RUSAGE_SELF, &after), 0);
	assert_int_equal(f->ram[STATUS_GPA], 0);			   /* OK */
	assert_in_range(after.ru_maxrss - before.ru_maxrss, 0, 16 * 1024); /* KiB */
	uint8_t got[512];
	file_bytes(f, (uint64_t)nseg * seg - sizeof(got), got, sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], 0x5a);
}

/*
 * The disk was probed (no image_type) and is raw: a guest that writes a
 * qcow2 header into sector 0 would have its own bytes parsed as metadata at
 * the next open. That one write is refused; others, and the same bytes
 * elsewhere, go through.
 */
static void probed_raw_keeps_its_format(void **state)
{
	struct fx *f = *state;
	const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	uint8_t got[512], before[512];

	file_bytes(f, 0, before, sizeof(before));
	memset(f->ram + DATA_GPA, 0, 512);
	memcpy(f->ram + DATA_GPA, magic, sizeof(magic));
	assert_int_equal(request(f, 1, 0, DATA_GPA, 512, false, NULL), 1 /* IOERR */);
	file_bytes(f, 0, got, sizeof(got));
	assert_memory_equal(got, before, sizeof(got));
	assert_int_equal(request(f, 1, 1, DATA_GPA, 512, false, NULL), 0); /* sector 1 */
	file_bytes(f, 512, got, sizeof(magic));
	assert_memory_equal(got, magic, sizeof(magic));
	f->ram[DATA_GPA] = 'X';
	assert_int_equal(request(f, 1, 0, DATA_GPA, 1024, false, NULL), 0);
	file_bytes(f, 0, got, 1);
	assert_int_equal(got[0], 'X');
}

static void malformed_header_breaks_queue(void **state)
{
	struct fx *f = *state;
	struct virtq_desc *d = fd_desc(&f->d);

	/* an 8-byte header: the device must not read past it */
	d[0] = (struct virtq_desc){ HDR_GPA, 8, VIRTQ_DESC_F_NEXT, 1 };
	d[1] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	fd_offer(&f->d, 0);
	assert_int_equal(fd_wait_irq(&f->d), 1);
	assert_int_equal(f->d.config_irqs, 1);
	assert_true(f->d.vd->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* queue_size=65536 was cast to 0 on its way in and became the default. */
/* seg_max: 256 (1 MiB requests) with indirect descriptors, what the ring
 * holds (size - 2) without. */
static void seg_max_follows_indirect(void **state)
{
	struct fx *f = *state;
	struct virtio_dev *vd = f->d.vd;
	uint32_t seg_max = 0;

	vd->ops->config_read(vd, 12, &seg_max, 4);
	assert_int_equal(seg_max, 256);
	vd->driver_features &= ~(1ULL << VIRTIO_F_INDIRECT_DESC);
	vd->ops->config_read(vd, 12, &seg_max, 4);
	assert_int_equal(seg_max, vd->queue_size_max - 2);
}

static void queue_size_beyond_a_virtqueue(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_opts o = { .disk = { .path = f->path }, .queue_size = 65536 };
	struct virtio_dev *vd;
	struct err err = { 0 };

	assert_int_equal(virtio_blk_create(&vd, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "queue_size=65536"));
}

int main(void)
{
#define T(name, s) cmocka_unit_test_setup_teardown(name, s, teardown)
	const struct CMUnitTest tests[] = {
		T(reads_file, setup),
		T(writes_file, setup),
		T(get_id, setup),
		T(beyond_capacity, setup),
		T(unknown_type, setup),
		T(discard_and_write_zeroes, setup),
		T(readonly_refuses_writes, setup_ro),
		T(direct_unaligned_buffers, setup_direct),
		T(direct_bounce_is_bounded, setup_direct_big),
		T(malformed_header_breaks_queue, setup),
		T(queue_size_beyond_a_virtqueue, setup),
		T(seg_max_follows_indirect, setup),
		T(probed_raw_keeps_its_format, setup),
		T(probed_raw_keeps_its_format, setup_direct),
	};
	return cmocka_run_group_tests_name("virtio_blk", tests, NULL, NULL);
}
