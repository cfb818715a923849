// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net (devices/virtio/net/net.c) from a hostile driver: frames and
 * virtio-net headers on the transmit queue go to a real TAP; frames the
 * host sends on the TAP (an AF_PACKET socket on it) fill the receive
 * queue's buffers, mergeable or not. The TAP lives in a network namespace
 * of the target's own (no addresses, IPv6 off: the kernel sends nothing of
 * its own); the device adopts a dup of its fd each run. Without
 * CAP_NET_ADMIN the target skips.
 * Input: u8 offload options (bits 0-2: csum, tso, ufo), u64 features the
 * driver asks for, then fuzz_dev.h's ops; the target's own op: the host
 * sends a frame (u8 length, the bytes) and waits until the device took it
 * or has no receive buffer left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net/net.h"
#include "tests/fuzz/fuzz_dev.h"

#define TAP_NAME "fz0"

static int tap_fd = -1, pkt_fd = -1;

static int setup(void)
{
	struct ifreq ifr = { 0 };
	struct err err = { 0 };
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (tap_fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0)
		return -1;
	FILE *f = fopen("/proc/sys/net/ipv6/conf/" TAP_NAME "/disable_ipv6", "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	if (tap_set_up(TAP_NAME) < 0)
		return -1;
	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(TAP_NAME) };
	if (pkt_fd < 0 || bind(pkt_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -1;
	(void)err.msg;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (setup() < 0) {
		fprintf(stderr, "FUZZ-SKIP: fuzz_virtio_net: no TAP in a network namespace (%s)\n",
			strerror(errno));
		if (tap_fd >= 0)
			close(tap_fd);
		tap_fd = -1;
	}
	return 0;
}

static bool tap_has_frames(void)
{
	struct pollfd p = { tap_fd, POLLIN, 0 };
	return poll(&p, 1, 0) == 1;
}

static void host_frame(struct fzd *f, struct fz *z)
{
	size_t n;
	const uint8_t *p = fz_bytes(z, fz_u8(z), &n);
	if (send(pkt_fd, p, n, 0) < 0)
		return;
	struct virtq *q = &f->vd->vq[0];
	long long end = fzd_now_us() + 20000;
	while (tap_has_frames() && fzd_now_us() < end) {
		uint16_t avail = __atomic_load_n(fzd_avail(f, 0) + 1, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&q->last_avail, __ATOMIC_ACQUIRE) == avail &&
		    __atomic_load_n(&q->used_idx, __ATOMIC_ACQUIRE) == avail)
			break; /* every buffer used: the frame stays in the TAP */
		usleep(20);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (tap_fd < 0)
		return 0;
	struct fz z = { data, size };
	uint8_t opts = fz_u8(&z);
	uint64_t features = fz_u64(&z);
	struct virtio_net_opts o = {
		.has_mac = true,
		.mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
		.num_queues = 2,
		.queue_size = FZD_QSIZE,
		.n_fds = 1,
		.offload_csum = opts & 1,
		.offload_tso = opts & 2,
		.offload_ufo = opts & 4,
	};
	struct err err = { 0 };
	struct virtio_dev *vd;
	struct fzd f;

	o.fds[0] = fcntl(tap_fd, F_DUPFD_CLOEXEC, 3);
	if (o.fds[0] < 0)
		abort();
	if (virtio_net_create(&vd, &o, &err)) {
		fprintf(stderr, "virtio_net_create: %s\n", err.msg);
		abort();
	}
	if (fzd_attach(&f, vd, 2, features) == 0) {
		f.rx_queues = 1;
		fzd_run(&f, &z, host_frame);
	}
	fzd_free(&f);
	/* what the device did not take is not the next run's */
	uint8_t buf[65536 + 256];
	while (read(tap_fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}
