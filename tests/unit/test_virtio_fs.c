// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-fs against the real virtiofsd (/usr/lib/qemu/virtiofsd, from
 * qemu-system-common): the vhost-user handshake, the memory table with a
 * memfd guest RAM, the vring setup, then FUSE requests (INIT, LOOKUP,
 * OPEN, READ) put on the request queue by the test playing the driver and
 * answered by virtiofsd in the used ring. Skipped when virtiofsd is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "devices/virtio/fs/fs.h"
#include "tests/unit/config_opts.h"
#include "tests/unit/fake_queues.h"
#include "tests/unit/virtiofsd.h"

#define QSIZE 64

static void kick(void *opaque, unsigned int q)
{
	fq_kick(&((struct fq_set *)opaque)->q[q]);
}

static int fuse_call(struct fq_set *s, uint32_t opcode, uint64_t nodeid, const void *arg,
		     uint32_t arg_len, void *out, uint32_t out_cap, int32_t *error)
{
	return vfsd_fuse_call(s, kick, s, opcode, nodeid, arg, arg_len, out, out_cap, error);
}

static void fuse_round_trip(void **state)
{
	(void)state;
	if (access(VFSD_PATH, X_OK))
		skip();
	struct vfsd d;
	assert_int_equal(vfsd_start(&d), 0);

	struct fq_set s;
	fq_init(&s, true); /* guest RAM in a memfd, as --memory shared=on */
	struct virtio_fs_opts o;
	struct err err = { 0 };
	char spec[200];
	snprintf(spec, sizeof(spec), "tag=myfs,socket=%s,queue_size=%d", d.sock, QSIZE);
	assert_int_equal(fs_opts_from(spec, &o, &err), 0);
	struct virtio_dev *vd;
	int rc = virtio_fs_create(&vd, &o, &s.f.mem, &err);
	if (rc) {
		print_error("virtio_fs_create: %s\n", err.msg);
		vfsd_print_log(&d);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(vd->device_id, VIRTIO_ID_FS);
	assert_int_equal(vd->num_queues, 2);
	uint8_t cfg[40];
	vd->ops->config_read(vd, 0, cfg, sizeof(cfg));
	assert_memory_equal(cfg, "myfs", 5);
	assert_int_equal(cfg[36], 1);

	/* DRIVER_OK: SET_FEATURES, SET_MEM_TABLE (memfd), vrings; each acked */
	rc = fq_setup(&s, vd, 2, QSIZE, vd->features);
	if (rc)
		vfsd_print_log(&d);
	assert_int_equal(rc, 0);

	int32_t error = -1;
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 65536,
	};
	struct fuse_init_out io;
	memset(&io, 0, sizeof(io));
	rc = fuse_call(&s, FUSE_INIT, 0, &init, sizeof(init), &io, sizeof(io), &error);
	if (rc < 0)
		vfsd_print_log(&d);
	assert_true(rc >= 24);
	assert_int_equal(error, 0);
	assert_int_equal(io.major, 7);
	assert_true(io.max_write > 0);

	struct fuse_entry_out entry;
	assert_true(fuse_call(&s, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &entry, sizeof(entry),
			      &error) > 0);
	assert_int_equal(error, 0);
	assert_int_equal(entry.attr.size, strlen(VFSD_CONTENT));

	struct fuse_entry_out none;
	fuse_call(&s, FUSE_LOOKUP, FUSE_ROOT_ID, "missing", 8, &none, sizeof(none), &error);
	assert_int_equal(error, -ENOENT);

	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_open_out oo;
	assert_true(fuse_call(&s, FUSE_OPEN, entry.nodeid, &oi, sizeof(oi), &oo, sizeof(oo),
			      &error) > 0);
	assert_int_equal(error, 0);

	struct fuse_read_in ri = { .fh = oo.fh, .offset = 0, .size = 4096 };
	char data[4096];
	rc = fuse_call(&s, FUSE_READ, entry.nodeid, &ri, sizeof(ri), data, sizeof(data), &error);
	assert_int_equal(error, 0);
	assert_int_equal(rc, strlen(VFSD_CONTENT));
	assert_memory_equal(data, VFSD_CONTENT, strlen(VFSD_CONTENT));

	/* reset: GET_VRING_BASE stops the rings; then teardown */
	vd->ops->reset(vd);
	fq_free(&s);
	vfsd_stop(&d);
}

static void needs_shared_memory(void **state)
{
	(void)state;
	struct guest_mem mem = { .fd = -1 };
	struct virtio_fs_opts o;
	struct virtio_dev *vd;
	struct err err = { 0 };
	assert_int_equal(fs_opts_from("tag=t,socket=/nonexistent.sock", &o, &err), 0);
	assert_int_equal(virtio_fs_create(&vd, &o, &mem, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "virtio-fs needs --memory shared=on"));
	/* shared memory but no back-end: the socket is named */
	mem.fd = 0;
	assert_int_equal(virtio_fs_create(&vd, &o, &mem, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent.sock"));
}

static void parse(void **state)
{
	(void)state;
	struct virtio_fs_opts o;
	struct err err = { 0 };
	assert_int_equal(
		fs_opts_from("tag=data,socket=/run/fs.sock,num_queues=2,queue_size=512,id=fs0", &o,
			     &err),
		0);
	assert_string_equal(o.tag, "data");
	assert_string_equal(o.id, "fs0");
	assert_int_equal(o.num_queues, 2);
	assert_int_equal(o.queue_size, 512);
	assert_int_equal(fs_opts_from("tag=a,socket=/x,id=0123456789012345678901234567890123456789"
				      "012345678901234567890123456789",
				      &o, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "id"));
	assert_int_equal(fs_opts_from("socket=/x", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "tag"));
	assert_int_equal(fs_opts_from("tag=a", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "socket"));
	assert_int_equal(fs_opts_from("tag=a,socket=/x,queue_size=3", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "queue_size"));
	assert_int_equal(
		fs_opts_from("tag=0123456789012345678901234567890123456,socket=/x", &o, &err),
		-EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse),
		cmocka_unit_test(needs_shared_memory),
		cmocka_unit_test(fuse_round_trip),
	};
	return cmocka_run_group_tests_name("virtio_fs", tests, NULL, NULL);
}
