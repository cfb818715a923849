// SPDX-License-Identifier: Apache-2.0
/*
 * bench-virtio-host: the host-side cost of svmm's virtio-net and
 * virtio-vsock, with the driver played in-process (tests/unit's fake
 * driver) instead of a guest. It measures the device threads and the
 * kernel objects they use (a real TAP in a private network namespace, real
 * Unix sockets), not guest throughput: that needs a booted guest (see
 * notes/issue-6.md for the in-guest plan). Prints one figure per line.
 * Needs root (CAP_NET_ADMIN) for the TAP part.
 *
 *   bench-virtio-host [seconds per figure, default 2]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <linux/virtio_vsock.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "devices/virtio/net/net.h"
#include "devices/virtio/vsock/vsock.h"
#include "tests/unit/config_opts.h"
#include "tests/unit/fake_queues.h"

#define QSIZE 256
#define SLOTS (QSIZE / FQ_MAX_SEGS)
#define VHLEN ((uint32_t)sizeof(struct virtio_vsock_hdr))

static double secs = 2.0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t used_idx(struct fq *q)
{
	return __atomic_load_n(&fq_usedp(q)[1], __ATOMIC_ACQUIRE);
}

/* Wait (1 ms at most) for an interrupt. */
static void wait_irq(struct fq_set *s)
{
	struct pollfd p = { s->f.irq_efd, POLLIN, 0 };
	uint64_t v;
	if (poll(&p, 1, 1) == 1 && read(s->f.irq_efd, &v, sizeof(v)) < 0)
		return;
}

static struct virtio_dev *net_dev(const char *spec)
{
	struct virtio_net_opts o;
	struct virtio_dev *vd;
	struct err err = { 0 };
	if (net_opts_from(spec, &o, &err) || virtio_net_create(&vd, &o, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	return vd;
}

/* Guest -> TAP: frames of `len` bytes (a GSO header when gso), as fast as
 * the device takes them; the kernel drops them after the TAP. */
static void net_tx(uint32_t len, bool gso)
{
	struct virtio_dev *vd = net_dev("tap=svb0");
	struct fq_set s;
	if (fq_attach(&s, vd, 2, QSIZE, vd->features))
		exit(1);
	struct fq *tx = &s.q[1];
	uint64_t buf[SLOTS];
	/* frames are constant: big ones share fewer buffers */
	unsigned int nbuf = (3u << 20) / (12 + len);
	if (nbuf > SLOTS)
		nbuf = SLOTS;
	for (unsigned int i = 0; i < nbuf; i++) {
		buf[i] = fq_alloc(&s, 12 + len);
		uint8_t *p = fq_ptr(&s, buf[i]);
		memset(p, 0, 12 + len);
		struct virtio_net_hdr_v1 h;
		memset(&h, 0, sizeof(h));
		if (gso) {
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			h.hdr_len = 54;
			h.gso_size = 1448;
			h.csum_start = 34;
			h.csum_offset = 16;
		}
		memcpy(p, &h, sizeof(h));
		uint8_t *e = p + 12;
		memset(e, 0x02, 6);
		e[6] = 0x02;
		e[12] = 0x08;
		uint8_t *ip = e + 14;
		ip[0] = 0x45;
		ip[2] = (uint8_t)((len - 14) >> 8);
		ip[3] = (uint8_t)(len - 14);
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 10;
		ip[16] = 10;
		ip[20 + 12] = 0x50;
	}
	uint64_t frames = 0;
	uint16_t posted = 0, done = 0;
	double t0 = now(), t;
	while ((t = now()) - t0 < secs) {
		while ((uint16_t)(posted - done) < SLOTS) {
			uint64_t g = buf[posted % nbuf];
			uint32_t l = 12 + len;
			bool w = false;
			fq_add(tx, &g, &l, &w, 1);
			posted++;
		}
		fq_kick(tx);
		fq_arm(tx, done);
		while (used_idx(tx) == done)
			wait_irq(&s);
		uint16_t u = used_idx(tx);
		frames += (uint16_t)(u - done);
		done = u;
	}
	printf("virtio-net tx to TAP, %5u-byte %s: %8.0f frames/s  %6.2f Gbit/s\n", len,
	       gso ? "GSO frames" : "frames    ", frames / (t - t0),
	       frames * len * 8 / (t - t0) / 1e9);
	fq_free(&s);
}

struct sender {
	int fd;
	volatile bool stop;
	uint64_t sent;
};

static void *send_frames(void *arg)
{
	struct sender *sd = arg;
	uint8_t f[1514];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	while (!sd->stop)
		if (send(sd->fd, f, sizeof(f), 0) == sizeof(f))
			sd->sent++;
	return NULL;
}

/* TAP -> guest: a packet socket floods 1514-byte frames into the TAP; the
 * driver recycles 2 KiB mergeable buffers. */
static void net_rx(void)
{
	struct virtio_dev *vd = net_dev("tap=svb1");
	struct fq_set s;
	if (fq_attach(&s, vd, 2, QSIZE, vd->features))
		exit(1);
	struct fq *rx = &s.q[0];
	uint64_t buf[SLOTS];
	for (int i = 0; i < SLOTS; i++) {
		buf[i] = fq_alloc(&s, 2048);
		uint32_t l = 2048;
		bool w = true;
		fq_add(rx, &buf[i], &l, &w, 1);
	}
	fq_kick(rx);
	struct sender sd = { .fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex("svb1") };
	if (bind(sd.fd, (struct sockaddr *)&sll, sizeof(sll)))
		exit(1);
	pthread_t t;
	pthread_create(&t, NULL, send_frames, &sd);
	uint64_t frames = 0;
	uint16_t done = 0;
	double t0 = now(), tn;
	while ((tn = now()) - t0 < secs) {
		uint16_t u = used_idx(rx);
		if (u == done) {
			fq_arm(rx, done);
			if (used_idx(rx) == done)
				wait_irq(&s);
			continue;
		}
		for (; done != u; done++) {
			uint32_t *e = (uint32_t *)(fq_usedp(rx) + 2) + 2 * (done % QSIZE);
			uint64_t g = fq_desc_addr(rx, e[0]);
			uint32_t l = 2048;
			bool w = true;
			fq_add(rx, &g, &l, &w, 1);
			frames++;
		}
		fq_kick(rx);
	}
	sd.stop = true;
	pthread_join(t, NULL);
	printf("virtio-net rx from TAP, 1514-byte frames:    %8.0f frames/s  %6.2f Gbit/s  "
	       "(%.0f%% of the %0.f frames/s sent)\n",
	       frames / (tn - t0), frames * 1514.0 * 8 / (tn - t0) / 1e9,
	       100.0 * frames / (sd.sent ? sd.sent : 1), sd.sent / (tn - t0));
	close(sd.fd);
	fq_free(&s);
}

struct stream {
	int fd;
	volatile bool stop;
	uint64_t bytes;
};

static void *sink(void *arg)
{
	struct stream *st = arg;
	static char b[1 << 16];
	ssize_t n;
	while ((n = read(st->fd, b, sizeof(b))) > 0)
		st->bytes += (uint64_t)n;
	return NULL;
}

static void *source(void *arg)
{
	struct stream *st = arg;
	static char b[1 << 16];
	while (!st->stop)
		if (write(st->fd, b, sizeof(b)) < 0)
			break;
	return NULL;
}

static void vsock_send(struct fq_set *s, uint64_t gpa, uint16_t op, uint32_t len, uint32_t fwd_cnt)
{
	struct virtio_vsock_hdr h = { .src_cid = 3,
				      .dst_cid = 2,
				      .src_port = 1000,
				      .dst_port = 5000,
				      .len = len,
				      .type = 1,
				      .op = op,
				      .buf_alloc = 256 << 10,
				      .fwd_cnt = fwd_cnt };
	memcpy(fq_ptr(s, gpa), &h, VHLEN);
	uint32_t l = VHLEN + len;
	bool w = false;
	fq_add(&s->q[1], &gpa, &l, &w, 1);
	fq_kick(&s->q[1]);
}

/* Both directions of one vsock stream to a Unix listener at PATH_5000,
 * with the credit traffic a Linux guest makes (4 KiB receive buffers, a
 * CREDIT_UPDATE every 128 KiB; 32 KiB packets out). */
static void vsock_bench(void)
{
	char dir[] = "/tmp/svmm-bench-XXXXXX", path[64], port[80];
	if (!mkdtemp(dir))
		exit(1);
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(port, sizeof(port), "%s_5000", path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", port);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		exit(1);
	struct virtio_vsock_opts o = { .cid = 3 };
	snprintf(o.socket, sizeof(o.socket), "%s", path);
	struct virtio_dev *vd;
	struct err err = { 0 };
	if (virtio_vsock_create(&vd, &o, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	struct fq_set s;
	if (fq_attach(&s, vd, 3, QSIZE, vd->features))
		exit(1);
	struct fq *rx = &s.q[0], *tx = &s.q[1];
	uint64_t rxb[SLOTS], txb[SLOTS];
	for (int i = 0; i < SLOTS; i++) {
		rxb[i] = fq_alloc(&s, VHLEN + 4096);
		txb[i] = fq_alloc(&s, VHLEN + 32768);
		uint32_t l = VHLEN + 4096;
		bool w = true;
		fq_add(rx, &rxb[i], &l, &w, 1);
	}
	fq_kick(rx);
	uint16_t txp = 0, txd = 0, rxd = 0;
	vsock_send(&s, txb[txp++ % SLOTS], VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	int fd = accept(lfd, NULL, NULL);
	uint32_t host_alloc = 0, host_fwd = 0, tx_cnt = 0, fwd = 0, told = 0;

	/* host -> guest */
	struct stream st = { .fd = fd };
	pthread_t t;
	pthread_create(&t, NULL, source, &st);
	uint64_t bytes = 0;
	double t0 = now(), tn;
	while ((tn = now()) - t0 < secs) {
		uint16_t u = used_idx(rx);
		if (u == rxd) {
			fq_arm(rx, rxd);
			if (used_idx(rx) == rxd)
				wait_irq(&s);
			continue;
		}
		for (; rxd != u; rxd++) {
			uint32_t *e = (uint32_t *)(fq_usedp(rx) + 2) + 2 * (rxd % QSIZE);
			uint64_t g = fq_desc_addr(rx, e[0]);
			struct virtio_vsock_hdr h;
			memcpy(&h, fq_ptr(&s, g), VHLEN);
			if (h.op == VIRTIO_VSOCK_OP_RESPONSE ||
			    h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE) {
				host_alloc = h.buf_alloc;
				host_fwd = h.fwd_cnt;
			}
			if (h.op == VIRTIO_VSOCK_OP_RW) {
				bytes += h.len;
				fwd += h.len;
			}
			uint32_t l = VHLEN + 4096;
			bool w = true;
			fq_add(rx, &g, &l, &w, 1);
		}
		fq_kick(rx);
		if (fwd - told >= (128u << 10)) {
			vsock_send(&s, txb[txp++ % SLOTS], VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, fwd);
			told = fwd;
		}
		while (used_idx(tx) != txd)
			txd++;
	}
	st.stop = true;
	double h2g = bytes / (tn - t0);

	/* guest -> host (after the host-to-guest data drains) */
	shutdown(fd, SHUT_WR);
	pthread_join(t, NULL);
	struct stream rd = { .fd = fd };
	pthread_create(&t, NULL, sink, &rd);
	t0 = now();
	while ((tn = now()) - t0 < secs) {
		uint16_t u = used_idx(rx);
		for (; rxd != u; rxd++) {
			uint32_t *e = (uint32_t *)(fq_usedp(rx) + 2) + 2 * (rxd % QSIZE);
			uint64_t g = fq_desc_addr(rx, e[0]);
			struct virtio_vsock_hdr h;
			memcpy(&h, fq_ptr(&s, g), VHLEN);
			if (h.op != VIRTIO_VSOCK_OP_RW) {
				host_alloc = h.buf_alloc;
				host_fwd = h.fwd_cnt;
			}
			uint32_t l = VHLEN + 4096;
			bool w = true;
			fq_add(rx, &g, &l, &w, 1);
		}
		fq_kick(rx);
		txd = used_idx(tx);
		if ((uint16_t)(txp - txd) < SLOTS && tx_cnt - host_fwd + 32768 <= host_alloc) {
			vsock_send(&s, txb[txp++ % SLOTS], VIRTIO_VSOCK_OP_RW, 32768, fwd);
			tx_cnt += 32768;
		} else {
			fq_arm(rx, rxd);
			fq_arm(tx, txd);
			wait_irq(&s);
		}
	}
	double g2h_t = tn - t0;
	vsock_send(&s, txb[txp++ % SLOTS], VIRTIO_VSOCK_OP_RST, 0, fwd);
	pthread_join(t, NULL);
	printf("virtio-vsock host->guest (4 KiB buffers):          %6.2f Gbit/s\n", h2g * 8 / 1e9);
	printf("virtio-vsock guest->host (32 KiB packets):         %6.2f Gbit/s\n",
	       rd.bytes * 8 / g2h_t / 1e9);
	close(lfd);
	close(fd);
	fq_free(&s);
	unlink(port);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		secs = atof(argv[1]);
	signal(SIGPIPE, SIG_IGN);
	if (unshare(CLONE_NEWNET) == 0) {
		net_tx(1514, false);
		net_tx(65000, true);
		net_rx();
	} else {
		printf("# virtio-net: skipped (needs CAP_NET_ADMIN for a TAP)\n");
	}
	vsock_bench();
	return 0;
}
