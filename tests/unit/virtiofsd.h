/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real virtiofsd (/usr/lib/qemu/virtiofsd, from qemu-system-common) for
 * virtio-fs tests: started on a scratch directory holding one file, and a
 * FUSE request driven through the request queue of fake_queues.h.
 * Include after cmocka.h.
 */
#ifndef SVMM_TESTS_UNIT_VIRTIOFSD_H
#define SVMM_TESTS_UNIT_VIRTIOFSD_H

#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/fake_queues.h"

#define VFSD_PATH    "/usr/lib/qemu/virtiofsd"
#define VFSD_CONTENT "hello from the host through virtiofs\n"

struct vfsd {
	pid_t pid;
	char dir[64], src[96], sock[108], log[96];
};

/* Start virtiofsd on a fresh directory with hello.txt; 0 once its socket
 * exists. */
static inline int vfsd_start(struct vfsd *d)
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
	assert_int_equal(write(fd, VFSD_CONTENT, strlen(VFSD_CONTENT)),
			 (ssize_t)strlen(VFSD_CONTENT));
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
		execl(VFSD_PATH, VFSD_PATH, sockopt, "-o", srcopt, "-o", "cache=none", NULL);
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

static inline void vfsd_stop(struct vfsd *d)
{
	int status;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &status, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	assert_int_equal(system(cmd), 0);
}

static inline void vfsd_print_log(const struct vfsd *d)
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

/* One FUSE request on the request queue (1), kicked with kick(); returns
 * the reply's length and copies the reply (after the out header) into out. */
static inline int vfsd_fuse_call(struct fq_set *s, void (*kick)(void *opaque, unsigned int q),
				 void *kick_opaque, uint32_t opcode, uint64_t nodeid,
				 const void *arg, uint32_t arg_len, void *out, uint32_t out_cap,
				 int32_t *error)
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
	kick(kick_opaque, 1);
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

#endif
