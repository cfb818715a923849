// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2 through virtio-blk, judged by QEMU's own tools: images made by
 * `qemu-img create`, written through the device (the test plays the
 * driver), then `qemu-img check` must find no errors and `qemu-img convert
 * -O raw` must give exactly what was written. Also: refusal of features we
 * do not handle, and flushed data surviving a kill -9 with at most leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk/blk.h"
#include "tests/unit/fake_driver.h"

#define HDR_GPA	   0x4000
#define STATUS_GPA 0x4100
#define DATA_GPA   0x10000
#define MAX_IO	   (256u << 10)

static char dir[64];

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

struct dev {
	struct fake_driver d;
	uint16_t next;
};

static int dev_open_direct(struct dev *v, const char *path, bool readonly, bool direct,
			   struct err *err)
{
	struct virtio_blk_opts o = {
		.disk = { .path = path, .readonly = readonly, .direct = direct }
	};
	struct virtio_dev *vd;
	memset(v, 0, sizeof(*v));
	fd_init(&v->d);
	int rc = virtio_blk_create(&vd, &o, err);
	if (rc) {
		free(v->d.ram);
		close(v->d.irq_efd);
		return rc;
	}
	return fd_attach(&v->d, vd);
}

static int dev_open(struct dev *v, const char *path, bool readonly, struct err *err)
{
	return dev_open_direct(v, path, readonly, false, err);
}

/* One request; returns the status byte or -1 on timeout. */
static int io(struct dev *v, uint32_t type, uint64_t off, void *buf, uint32_t len)
{
	uint8_t *ram = v->d.ram;
	uint32_t hdr[4] = { type, 0, (uint32_t)(off / 512), (uint32_t)(off / 512 >> 32) };
	bool rd = type == 0;
	memcpy(ram + HDR_GPA, hdr, sizeof(hdr));
	if (!rd && len)
		memcpy(ram + DATA_GPA, buf, len);
	uint16_t h = v->next;
	v->next = (v->next + 3) % (FD_QSIZE - 2);
	struct virtq_desc *d = fd_desc(&v->d);
	d[h] = (struct virtq_desc){ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, h + 1 };
	if (len) {
		d[h + 1] = (struct virtq_desc){ DATA_GPA, len,
						VIRTQ_DESC_F_NEXT | (rd ? VIRTQ_DESC_F_WRITE : 0),
						h + 2 };
		d[h + 2] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		d[h + 1] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	}
	uint32_t head, ulen;
	if (fd_wait_used(&v->d, fd_offer(&v->d, h), &head, &ulen))
		return -1;
	if (rd && len)
		memcpy(buf, ram + DATA_GPA, len);
	return ram[STATUS_GPA];
}

static void pattern(uint8_t *buf, size_t len, uint64_t off, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((off + i) * 31 + seed + (off + i) / 4096);
}

/* Write through the device and into a raw model file at the same offset. */
static void write_both(struct dev *v, int model, uint64_t off, uint32_t len, unsigned int seed)
{
	static uint8_t buf[MAX_IO];
	pattern(buf, len, off, seed);
	assert_int_equal(io(v, 1, off, buf, len), 0);
	assert_int_equal(pwrite(model, buf, len, (off_t)off), len);
}

static void check_clean(const char *img)
{
	assert_int_equal(sh("qemu-img check -q %s", img), 0);
}

/* What the guest wrote, exactly: convert to raw and compare byte for byte
 * (or, for a large sparse image, let qemu-img compare walk the allocation). */
static void same_as_model(const char *img, const char *model, bool large)
{
	if (large) {
		assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s", img, model), 0);
		return;
	}
	assert_int_equal(sh("qemu-img convert -O raw %s %s/converted.raw", img, dir), 0);
	assert_int_equal(sh("cmp %s/converted.raw %s", dir, model), 0);
}

static void writes_round_trip(void **state)
{
	(void)state;
	char img[128], model[128];
	struct err err = { 0 };
	struct dev v;
	static uint8_t got[MAX_IO], want[MAX_IO];

	snprintf(img, sizeof(img), "%s/a.qcow2", dir);
	snprintf(model, sizeof(model), "%s/a.raw", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 64M && truncate -s 64M %s", img, model),
			 0);
	int m = open(model, O_RDWR);
	assert_true(m >= 0);
	assert_int_equal(dev_open(&v, img, false, &err), 0);
	/* unallocated clusters read as zeros */
	assert_int_equal(io(&v, 0, 1 << 20, got, 4096), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(got[i], 0);
	write_both(&v, m, 0, 4096, 1);		      /* first cluster */
	write_both(&v, m, 70000 / 512 * 512, 512, 2); /* partial cluster */
	write_both(&v, m, 65536 - 4096, 8192, 3);     /* across a cluster boundary */
	write_both(&v, m, 60u << 20, MAX_IO, 4);      /* far away, several clusters */
	write_both(&v, m, 0, 512, 5);		      /* overwrite allocated */
	for (unsigned int i = 0; i < 40; i++)	      /* many L2 entries */
		write_both(&v, m, (uint64_t)i * 1234567 / 512 * 512, 4096, 6 + i);
	assert_int_equal(io(&v, 4, 0, NULL, 0), 0); /* FLUSH */
	/* read back through the device */
	assert_int_equal(io(&v, 0, (60u << 20) - 4096, got, MAX_IO), 0);
	assert_int_equal(pread(m, want, MAX_IO, (60 << 20) - 4096), MAX_IO);
	assert_memory_equal(got, want, MAX_IO);
	fd_free(&v.d);
	close(m);
	check_clean(img);
	same_as_model(img, model, false);
}

/* direct=on (as the blueprint manager sends it): data through O_DIRECT,
 * qcow2 metadata through its own buffered descriptor. */
static void direct_io(void **state)
{
	(void)state;
	char img[128], model[128];
	struct err err = { 0 };
	struct dev v;

	snprintf(img, sizeof(img), "%s/direct.qcow2", dir);
	snprintf(model, sizeof(model), "%s/direct.raw", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 32M && truncate -s 32M %s", img, model),
			 0);
	int m = open(model, O_RDWR);
	if (dev_open_direct(&v, img, false, true, &err))
		fail_msg("direct=on refused: %s", err.msg);
	write_both(&v, m, 0, 65536, 11);
	write_both(&v, m, 3 << 20, 4096, 12);
	write_both(&v, m, (5 << 20) + 512, 1024, 13); /* sector-aligned, not page-aligned */
	assert_int_equal(io(&v, 4, 0, NULL, 0), 0);
	fd_free(&v.d);
	close(m);
	check_clean(img);
	same_as_model(img, model, false);
}

static void sparse_beyond_4g(void **state)
{
	(void)state;
	char img[128], model[128];
	struct err err = { 0 };
	struct dev v;
	static uint8_t got[8192];

	snprintf(img, sizeof(img), "%s/big.qcow2", dir);
	snprintf(model, sizeof(model), "%s/big.raw", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 8G && truncate -s 8G %s", img, model),
			 0);
	int m = open(model, O_RDWR);
	assert_int_equal(dev_open(&v, img, false, &err), 0);
	assert_int_equal(v.d.vd->ops != NULL, 1);
	write_both(&v, m, 5ULL << 30, 8192, 9);
	write_both(&v, m, (8ULL << 30) - 4096, 4096, 10); /* the last sector */
	assert_int_equal(io(&v, 0, 5ULL << 30, got, 8192), 0);
	uint8_t want[8192];
	pattern(want, 8192, 5ULL << 30, 9);
	assert_memory_equal(got, want, 8192);
	/* past the end */
	assert_int_equal(io(&v, 0, 8ULL << 30, got, 512), 1);
	fd_free(&v.d);
	close(m);
	check_clean(img);
	struct stat st;
	assert_int_equal(stat(img, &st), 0);
	assert_true(st.st_size < (8 << 20)); /* still sparse */
	same_as_model(img, model, true);
}

static void discard_reads_zero(void **state)
{
	(void)state;
	char img[128];
	struct err err = { 0 };
	struct dev v;
	static uint8_t buf[131072];

	snprintf(img, sizeof(img), "%s/d.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 16M", img), 0);
	assert_int_equal(dev_open(&v, img, false, &err), 0);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(io(&v, 1, 0, buf, sizeof(buf)), 0);
	uint64_t range[2] = { 0, 128 }; /* sectors 0..127 = the first 64 KiB cluster */
	assert_int_equal(io(&v, 11, 0, range, 16), 0);
	assert_int_equal(io(&v, 0, 0, buf, sizeof(buf)), 0);
	for (int i = 0; i < 65536; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[65536], 0xab);
	fd_free(&v.d);
	check_clean(img);
}

static void readonly_qcow2(void **state)
{
	(void)state;
	char img[128];
	struct err err = { 0 };
	struct dev v;
	uint8_t buf[512] = { 1 };

	snprintf(img, sizeof(img), "%s/ro.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 1M", img), 0);
	assert_int_equal(dev_open(&v, img, true, &err), 0);
	assert_int_equal(io(&v, 1, 0, buf, 512), 1); /* IOERR */
	assert_int_equal(io(&v, 0, 0, buf, 512), 0);
	fd_free(&v.d);
	check_clean(img);
}

static void expect_refused(const char *create, const char *name, const char *why)
{
	char img[128];
	struct err err = { 0 };
	struct dev v;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	assert_int_equal(sh(create, img), 0);
	int rc = dev_open(&v, img, false, &err);
	if (rc == 0)
		fail_msg("%s was accepted", name);
	if (!strstr(err.msg, why) || !strstr(err.msg, img))
		fail_msg("expected an error naming %s and '%s', got '%s'", img, why, err.msg);
}

static void refuses_what_it_cannot_do(void **state)
{
	(void)state;
	char base[128], cmd[512];

	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 1M", base), 0);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 -b %s -F qcow2 %%s", base);
	expect_refused(cmd, "overlay.qcow2", "backing file");
	expect_refused("qemu-img create -q -f qcow2 -o extended_l2=on %s 1M", "ext.qcow2",
		       "extended L2");
	expect_refused("qemu-img create -q -f qcow2 -o refcount_bits=8 %s 1M", "rc8.qcow2",
		       "refcount width");
	/* an order no shift can take (the header's value, at byte 96, is named) */
	expect_refused("qemu-img create -q -f qcow2 %s 1M && printf '\\0\\0\\0\\310' | "
		       "dd of=%1$s bs=1 seek=96 conv=notrunc status=none",
		       "rc200.qcow2", "refcount_order 200");
	/* a qcow2 header whose tables point past the end of the file */
	expect_refused("qemu-img create -q -f qcow2 %s 1M && truncate -s 512 %1$s", "trunc.qcow2",
		       "corrupt");
	/* image_type=qcow2 on a raw file */
	char img[128];
	struct err err = { 0 };
	snprintf(img, sizeof(img), "%s/plain.raw", dir);
	assert_int_equal(sh("truncate -s 1M %s", img), 0);
	struct virtio_blk_opts o = { .disk = { .path = img, .type = DISK_IMAGE_QCOW2 } };
	struct virtio_dev *vd;
	assert_int_equal(virtio_blk_create(&vd, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no qcow2 header"));
}

/* The child writes, flushes, says so, then writes on until it is killed. */
static void child_writer(const char *img, int ready_fd)
{
	struct dev v;
	struct err err = { 0 };
	static uint8_t buf[65536];

	if (dev_open(&v, img, false, &err))
		_exit(2);
	for (unsigned int i = 0; i < 16; i++) {
		pattern(buf, sizeof(buf), (uint64_t)i << 20, 77);
		if (io(&v, 1, (uint64_t)i << 20, buf, sizeof(buf)) != 0)
			_exit(3);
	}
	if (io(&v, 4, 0, NULL, 0) != 0)
		_exit(4);
	if (write(ready_fd, "k", 1) != 1)
		_exit(5);
	for (uint64_t i = 0;; i++) {
		pattern(buf, sizeof(buf), 0, (unsigned int)i);
		io(&v, 1, (32ULL << 20) + (i % 400) * 65536 + (i % 3) * 4096, buf, 8192);
	}
}

static void survives_kill_9(void **state)
{
	(void)state;
	char img[128];
	int p[2];

	snprintf(img, sizeof(img), "%s/kill.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 64M", img), 0);
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_writer(img, p[1]);
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	usleep(200 * 1000); /* mid-way through unflushed allocations */
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	/* leaks at most: a leak repair leaves a clean image */
	int rc = sh("qemu-img check -q -r leaks %s >/dev/null", img);
	assert_true(rc == 0);
	check_clean(img);
	/* the flushed data is intact */
	assert_int_equal(sh("qemu-img convert -O raw %s %s/kill.raw", img, dir), 0);
	char raw[128];
	snprintf(raw, sizeof(raw), "%s/kill.raw", dir);
	int fd = open(raw, O_RDONLY);
	static uint8_t got[65536], want[65536];
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(pread(fd, got, sizeof(got), (off_t)i << 20), sizeof(got));
		pattern(want, sizeof(want), (uint64_t)i << 20, 77);
		assert_memory_equal(got, want, sizeof(got));
	}
	close(fd);
}

static int group_setup(void **state)
{
	(void)state;
	/* not tmpfs: qcow2 files want a real file system with holes */
	snprintf(dir, sizeof(dir), "/var/tmp/svmm-qcow2-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return sh("rm -rf %s", dir);
}

int main(void)
{
	if (system("qemu-img --version >/dev/null 2>&1") != 0) {
		printf("not ok 1 - qemu-img is missing (run make deps)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_round_trip), cmocka_unit_test(direct_io),
		cmocka_unit_test(sparse_beyond_4g),  cmocka_unit_test(discard_reads_zero),
		cmocka_unit_test(readonly_qcow2),    cmocka_unit_test(refuses_what_it_cannot_do),
		cmocka_unit_test(survives_kill_9),
	};
	return cmocka_run_group_tests_name("qcow2", tests, group_setup, group_teardown);
}
