// SPDX-License-Identifier: Apache-2.0
/*
 * The hybrid vsock muxer (devices/virtio/vsock/vsock_mux.c) between a
 * hostile guest and hostile host programs, on one thread as the device
 * drives it: guest packets (header and payload as the device passes them,
 * after its own length checks), receive buffers of fuzzed shapes, polls,
 * and host sockets that connect to the muxer's socket (sending "CONNECT
 * <port>\n" or anything else), to its listeners for guest-initiated
 * connections (PATH_1024, PATH_5000), write, read, half-close and close.
 * Ops: u8 code (low 4 bits: the op, the rest: an index), then:
 *   0 guest packet: the 44-byte header, u8 payload length, the payload
 *   1 receive: u8 segments (1..4), u16 length each
 *   2 poll the muxer's sockets
 *   3 a host program connects to PATH
 *   4 host socket [index] writes: u8 length, the bytes
 *   5 host socket [index] reads what it has
 *   6 host socket [index] shuts down writing
 *   7 host socket [index] closes
 *   8 listener [index & 1] accepts (a guest-initiated connection arrives)
 *   9 the device resets
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/vsock/vsock_mux.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OPS	  256
#define MAX_HOST  8
#define GUEST_CID 3

static char path[PATH_MAX], lpath[2][PATH_MAX];
static int listener[2] = { -1, -1 };
static uint8_t rxbuf[4][65536];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/v.sock", fz_tmpdir("vsock"));
	for (int i = 0; i < 2; i++) {
		snprintf(lpath[i], sizeof(lpath[i]), "%s_%u", path, i ? 5000 : 1024);
		listener[i] = fz_unix_socket(lpath[i], true);
	}
	return 0;
}

static void guest_packet(struct vsock_mux *m, struct fz *z)
{
	struct virtio_vsock_hdr h;
	size_t n;
	fz_take(z, &h, sizeof(h));
	const uint8_t *p = fz_bytes(z, fz_u8(z), &n);
	/* what virtio-vsock's tx_one passes on */
	if (h.len > n)
		return;
	if (h.op != VIRTIO_VSOCK_OP_RW)
		h.len = 0;
	struct iovec iov = { (void *)p, h.len };
	vsock_mux_from_guest(m, &h, &iov, h.len ? 1 : 0);
}

static void guest_receive(struct vsock_mux *m, struct fz *z)
{
	struct iovec in[4];
	unsigned int n = fz_u8(z) % 4 + 1;
	size_t total = 0;
	for (unsigned int i = 0; i < n; i++) {
		in[i] = (struct iovec){ rxbuf[i], fz_u16(z) };
		total += in[i].iov_len;
	}
	bool pending = vsock_mux_pending(m);
	size_t got = vsock_mux_to_guest(m, in, n);
	if (got > total || (got && !pending))
		abort();
	if (got && got < sizeof(struct virtio_vsock_hdr))
		abort();
	if (got) {
		struct virtio_vsock_hdr h;
		uint8_t *b = (uint8_t *)&h;
		size_t k = 0;
		for (unsigned int i = 0; i < n && k < sizeof(h); i++) {
			size_t c = in[i].iov_len < sizeof(h) - k ? in[i].iov_len : sizeof(h) - k;
			memcpy(b + k, in[i].iov_base, c);
			k += c;
		}
		if (h.dst_cid != GUEST_CID || h.src_cid != MUX_HOST_CID || got != sizeof(h) + h.len)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct vsock_mux m;
	struct err err = { 0 };
	int host[MAX_HOST];
	unsigned int n_host = 0;
	uint8_t buf[4096];

	if (vsock_mux_init(&m, path, GUEST_CID, &err)) {
		fprintf(stderr, "vsock_mux_init: %s\n", err.msg);
		abort();
	}
	for (int k = 0; k < MAX_OPS && z.n; k++) {
		uint8_t code = fz_u8(&z);
		unsigned int i = n_host ? (code >> 4) % n_host : 0;
		switch (code & 15) {
		case 0:
			guest_packet(&m, &z);
			break;
		case 1:
			guest_receive(&m, &z);
			break;
		case 2:
			vsock_mux_poll(&m);
			break;
		case 3:
			if (n_host < MAX_HOST) {
				int fd = fz_unix_socket(path, false);
				if (fd >= 0)
					host[n_host++] = fd;
			}
			break;
		case 4: {
			size_t n;
			const uint8_t *p = fz_bytes(&z, fz_u8(&z), &n);
			if (n_host && n && send(host[i], p, n, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
				break;
			break;
		}
		case 5:
			while (n_host && recv(host[i], buf, sizeof(buf), 0) > 0)
				;
			break;
		case 6:
			if (n_host)
				shutdown(host[i], SHUT_WR);
			break;
		case 7:
			if (n_host) {
				close(host[i]);
				host[i] = host[--n_host];
			}
			break;
		case 8:
			if (n_host < MAX_HOST) {
				int fd = accept4(listener[(code >> 4) & 1], NULL, NULL,
						 SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd >= 0)
					host[n_host++] = fd;
			}
			break;
		case 9:
			vsock_mux_reset(&m);
			break;
		}
	}
	vsock_mux_close(&m);
	for (unsigned int i = 0; i < n_host; i++)
		close(host[i]);
	/* guest-initiated connections nobody accepted */
	for (int l = 0; l < 2; l++) {
		int fd;
		while ((fd = accept4(listener[l], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
			close(fd);
	}
	return 0;
}
