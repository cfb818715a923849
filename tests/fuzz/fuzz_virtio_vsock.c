// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock's packet path (devices/virtio/vsock/vsock.c and its muxer)
 * from a hostile driver on the real device's thread: packets on the
 * transmit queue, receive buffers, the event queue, and host programs on
 * the muxer's Unix sockets. Input: fuzz_dev.h's ops (queues rx 0, tx 1,
 * event 2); the target's own op, u8 kind then: 0 a host program connects
 * to PATH and writes (u8 length, the bytes: "CONNECT 1024\n", data...);
 * 1 the listener PATH_1024 accepts a guest-initiated connection and
 * writes (u8 length, the bytes); 2 every host socket closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/vsock/vsock.h"
#include "tests/fuzz/fuzz_dev.h"

#define MAX_HOST 8

static char path[PATH_MAX], lpath[PATH_MAX];
static int listener = -1, host[MAX_HOST], n_host;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/v.sock", fz_tmpdir("vsockdev"));
	snprintf(lpath, sizeof(lpath), "%s_1024", path);
	listener = fz_unix_socket(lpath, true);
	return 0;
}

static void host_op(struct fzd *f, struct fz *z)
{
	uint8_t kind = fz_u8(z) % 3;
	int fd = -1;
	if (kind == 2) {
		while (n_host)
			close(host[--n_host]);
		return;
	}
	if (n_host < MAX_HOST)
		fd = kind ? accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)
			  : fz_unix_socket(path, false);
	size_t n;
	const uint8_t *p = fz_bytes(z, fz_u8(z), &n);
	if (fd < 0)
		return;
	host[n_host++] = fd;
	if (n)
		send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	/* let the device's thread see it; bounded, not exact */
	long long end = fzd_now_us() + 2000;
	while (fzd_now_us() < end) {
		uint16_t avail = __atomic_load_n(fzd_avail(f, 0) + 1, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&f->vd->vq[0].used_idx, __ATOMIC_ACQUIRE) == avail)
			break;
		usleep(50);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct virtio_vsock_opts o = { .cid = 3 };
	struct err err = { 0 };
	struct virtio_dev *vd;
	struct fzd f;

	snprintf(o.socket, sizeof(o.socket), "%s", path);
	if (virtio_vsock_create(&vd, &o, &err)) {
		fprintf(stderr, "virtio_vsock_create: %s\n", err.msg);
		abort();
	}
	if (fzd_attach(&f, vd, 3, ~0ULL) == 0) {
		f.rx_queues = 1 | 4;
		fzd_run(&f, &z, host_op);
	}
	fzd_free(&f);
	while (n_host)
		close(host[--n_host]);
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		close(fd);
	return 0;
}
