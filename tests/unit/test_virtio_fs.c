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

#include "devices/virtio/fs.h"
#include "tests/unit/fake_queues.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define QSIZE	  64
#define CONTENT	  "hello from the host through virtiofs\n"

struct daemon {
	pid_t pid;
	char dir[64], src[96], sock[108], log[96];
};

static int daemon_start(struct daemon *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/svmm-fs-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->src, sizeof(d->src), "%s/src", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/vfsd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/vfsd.log", d->dir);
	assert_int_equal(mkdir(d->src, 0755), 0);
	char p[160];
	snprintf(p, sizeof(p), "%s/hello.txt", d->src);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, CONTENT, strlen(CONTENT)), (ssize_t)strlen(CONTENT));
	close(fd);
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (!d->pid) {
		int log = open(d->log, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		dup2(log, 1);
		dup2(log, 2);
		char sockopt[140], srcopt[120];
		snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", d->sock);
		snprintf(srcopt, sizeof(srcopt), "source=%s", d->src);
		execl(VIRTIOFSD, VIRTIOFSD, sockopt, "-o", srcopt, "-o", "cache=none", NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(d->sock, &st) == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

static void daemon_stop(struct daemon *d)
{
	int status;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &status, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	assert_int_equal(system(cmd), 0);
}

static void print_log(const struct daemon *d)
{
	char buf[4096];
	int fd = open(d->log, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n > 0) {
		buf[n] = '\0';
		print_message("# virtiofsd log:\n%s\n", buf);
	}
	if (fd >= 0)
		close(fd);
}

/* One FUSE request on the request queue (1); returns the reply's length
 * and copies the reply (after the out header) into out. */
static int fuse_call(struct fq_set *s, uint32_t opcode, uint64_t nodeid, const void *arg,
		     uint32_t arg_len, void *out, uint32_t out_cap, int32_t *error)
{
	static uint64_t unique = 1;
	struct fq *q = &s->q[1];
	uint32_t in_len = (uint32_t)sizeof(struct fuse_in_header) + arg_len;
	uint32_t rep_len = (uint32_t)sizeof(struct fuse_out_header) + out_cap;
	uint64_t g[2] = { fq_alloc(s, in_len), fq_alloc(s, rep_len) };
	uint32_t l[2] = { in_len, rep_len };
	bool w[2] = { false, true };
	struct fuse_in_header ih = {
		.len = in_len,
		.opcode = opcode,
		.unique = unique++,
		.nodeid = nodeid,
	};
	memcpy(fq_ptr(s, g[0]), &ih, sizeof(ih));
	memcpy((uint8_t *)fq_ptr(s, g[0]) + sizeof(ih), arg, arg_len);
	uint16_t head = fq_add(q, g, l, w, 2);
	fq_kick(q);
	uint32_t uh, ul;
	if (fq_wait_used(q, &uh, &ul, 5000))
		return -1;
	assert_int_equal(uh, head);
	struct fuse_out_header oh;
	memcpy(&oh, fq_ptr(s, g[1]), sizeof(oh));
	assert_int_equal(oh.unique, ih.unique);
	assert_int_equal(oh.len, ul);
	*error = oh.error;
	memcpy(out, (uint8_t *)fq_ptr(s, g[1]) + sizeof(oh), ul - sizeof(oh));
	return (int)(ul - sizeof(oh));
}

static void fuse_round_trip(void **state)
{
	(void)state;
	if (access(VIRTIOFSD, X_OK))
		skip();
	struct daemon d;
	assert_int_equal(daemon_start(&d), 0);

	struct fq_set s;
	fq_init(&s, true); /* guest RAM in a memfd, as --memory shared=on */
	struct virtio_fs_opts o;
	char err[256] = "", spec[200];
	snprintf(spec, sizeof(spec), "tag=myfs,socket=%s,queue_size=%d", d.sock, QSIZE);
	assert_int_equal(virtio_fs_parse(&o, spec, err, sizeof(err)), 0);
	struct virtio_dev *vd;
	int rc = virtio_fs_create(&vd, &o, &s.f.mem, err, sizeof(err));
	if (rc) {
		print_error("virtio_fs_create: %s\n", err);
		print_log(&d);
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
		print_log(&d);
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
		print_log(&d);
	assert_true(rc >= 24);
	assert_int_equal(error, 0);
	assert_int_equal(io.major, 7);
	assert_true(io.max_write > 0);

	struct fuse_entry_out entry;
	assert_true(fuse_call(&s, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &entry, sizeof(entry),
			      &error) > 0);
	assert_int_equal(error, 0);
	assert_int_equal(entry.attr.size, strlen(CONTENT));

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
	assert_int_equal(rc, strlen(CONTENT));
	assert_memory_equal(data, CONTENT, strlen(CONTENT));

	/* reset: GET_VRING_BASE stops the rings; then teardown */
	vd->ops->reset(vd);
	fq_free(&s);
	daemon_stop(&d);
}

static void needs_shared_memory(void **state)
{
	(void)state;
	struct guest_mem mem = { .fd = -1 };
	struct virtio_fs_opts o;
	struct virtio_dev *vd;
	char err[256];
	assert_int_equal(virtio_fs_parse(&o, "tag=t,socket=/nonexistent.sock", err, sizeof(err)),
			 0);
	assert_int_equal(virtio_fs_create(&vd, &o, &mem, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "virtio-fs needs --memory shared=on"));
	/* shared memory but no back-end: the socket is named */
	mem.fd = 0;
	assert_int_equal(virtio_fs_create(&vd, &o, &mem, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent.sock"));
}

static void parse(void **state)
{
	(void)state;
	struct virtio_fs_opts o;
	char err[256];
	assert_int_equal(virtio_fs_parse(&o,
					 "tag=data,socket=/run/fs.sock,num_queues=2,"
					 "queue_size=512,id=fs0",
					 err, sizeof(err)),
			 0);
	assert_string_equal(o.tag, "data");
	assert_int_equal(o.num_queues, 2);
	assert_int_equal(o.queue_size, 512);
	assert_int_equal(virtio_fs_parse(&o, "socket=/x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tag"));
	assert_int_equal(virtio_fs_parse(&o, "tag=a", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket"));
	assert_int_equal(virtio_fs_parse(&o, "tag=a,socket=/x,queue_size=3", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "queue_size"));
	assert_int_equal(virtio_fs_parse(&o, "tag=0123456789012345678901234567890123456,socket=/x",
					 err, sizeof(err)),
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
