// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock's hybrid Unix-socket muxer against real Unix sockets: the
 * test plays the guest's vsock transport on the queues (fake_queues.h) and
 * the host's programs on the sockets, and checks the packets, the data in
 * both directions and the credit flow control.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "devices/virtio/vsock/vsock.h"
#include "devices/virtio/vsock/vsock_mux.h"
#include "tests/unit/config_opts.h"
#include "tests/unit/fake_queues.h"

#define GUEST_CID 3
#define QSIZE	  256
#define SLOTS	  (QSIZE / FQ_MAX_SEGS)
#define RXBUF	  4096
#define TXBUF	  8192
#define HLEN	  ((uint32_t)sizeof(struct virtio_vsock_hdr))

struct guest {
	struct fq_set s;
	struct virtio_dev *vd;
	uint64_t rxbuf[SLOTS], txbuf[SLOTS];
	char dir[64], path[108];
};

static struct guest *guest_new(void)
{
	struct guest *g = calloc(1, sizeof(*g));
	snprintf(g->dir, sizeof(g->dir), "/tmp/svmm-vsock-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/v.sock", g->dir);
	return g;
}

static int guest_start(struct guest *g)
{
	struct virtio_vsock_opts o;
	char spec[200];
	struct err err = { 0 };
	snprintf(spec, sizeof(spec), "cid=%d,socket=%s", GUEST_CID, g->path);
	assert_int_equal(vsock_opts_from(spec, &o, &err), 0);
	int rc = virtio_vsock_create(&g->vd, &o, &err);
	if (rc)
		return rc;
	assert_int_equal(fq_attach(&g->s, g->vd, 3, QSIZE, g->vd->features), 0);
	for (int i = 0; i < SLOTS; i++) {
		g->rxbuf[i] = fq_alloc(&g->s, RXBUF);
		g->txbuf[i] = fq_alloc(&g->s, TXBUF);
	}
	/* all receive buffers up front */
	for (int i = 0; i < SLOTS; i++) {
		uint32_t len = RXBUF;
		bool w = true;
		uint64_t gpa = g->rxbuf[i];
		fq_add(&g->s.q[0], &gpa, &len, &w, 1);
	}
	fq_kick(&g->s.q[0]);
	return 0;
}

static void guest_free(struct guest *g)
{
	if (g->vd)
		fq_free(&g->s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	assert_int_equal(system(cmd), 0);
	free(g);
}

static void guest_send(struct guest *g, uint16_t op, uint32_t src_port, uint32_t dst_port,
		       const void *data, uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt,
		       uint32_t flags)
{
	struct fq *tx = &g->s.q[1];
	uint16_t slot = fq_avail(tx)[1] % SLOTS;
	struct virtio_vsock_hdr h = {
		.src_cid = GUEST_CID,
		.dst_cid = 2,
		.src_port = src_port,
		.dst_port = dst_port,
		.len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = buf_alloc,
		.fwd_cnt = fwd_cnt,
	};
	assert_true(len <= TXBUF - HLEN);
	memcpy(fq_ptr(&g->s, g->txbuf[slot]), &h, HLEN);
	/* header and payload in two descriptors, as Linux does */
	uint64_t gpa[2] = { g->txbuf[slot], g->txbuf[slot] + HLEN };
	uint32_t lens[2] = { HLEN, len };
	bool wr[2] = { false, false };
	if (len)
		memcpy(fq_ptr(&g->s, gpa[1]), data, len);
	fq_add(tx, gpa, lens, wr, len ? 2 : 1);
	fq_kick(tx);
	uint32_t head, ulen;
	assert_int_equal(fq_wait_used(tx, &head, &ulen, 5000), 0);
}

/* The next packet for the guest; its buffer goes back to the device.
 * Returns -1 on timeout. */
static int guest_recv(struct guest *g, struct virtio_vsock_hdr *h, void *data, int timeout_ms)
{
	struct fq *rx = &g->s.q[0];
	uint32_t head, len;
	if (fq_wait_used(rx, &head, &len, timeout_ms))
		return -1;
	uint64_t gpa = fq_desc_addr(rx, head);
	assert_true(len >= HLEN);
	memcpy(h, fq_ptr(&g->s, gpa), HLEN);
	assert_int_equal(len, HLEN + h->len);
	assert_int_equal(h->src_cid, 2);
	assert_int_equal(h->dst_cid, GUEST_CID);
	if (data)
		memcpy(data, (uint8_t *)fq_ptr(&g->s, gpa) + HLEN, h->len);
	uint32_t l = RXBUF;
	bool w = true;
	fq_add(rx, &gpa, &l, &w, 1);
	fq_kick(rx);
	return 0;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 256), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int accept_timeout(int lfd)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 5000), 1);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void read_exact(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
}

static uint8_t pattern(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 31 + i / 4099 + seed);
}

struct bulk {
	int fd;
	size_t len;
	unsigned int seed;
	int slow;
	size_t bad;
};

static void *host_reader(void *arg)
{
	struct bulk *b = arg;
	uint8_t buf[16384];
	size_t done = 0;
	while (done < b->len) {
		if (b->slow)
			usleep(200);
		ssize_t n = read(b->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			b->bad += buf[i] != pattern(done + (size_t)i, b->seed);
		done += (size_t)n;
	}
	b->bad += b->len - done;
	return NULL;
}

static void *host_writer(void *arg)
{
	struct bulk *b = arg;
	uint8_t buf[10000];
	for (size_t done = 0; done < b->len;) {
		size_t k = b->len - done < sizeof(buf) ? b->len - done : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(done + i, b->seed);
		ssize_t n = write(b->fd, buf, k);
		if (n <= 0) {
			b->bad++;
			break;
		}
		done += (size_t)n;
	}
	return NULL;
}

static void guest_to_host(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	char p[140];
	snprintf(p, sizeof(p), "%s_1234", g->path);
	int lfd = unix_listen(p);
	assert_int_equal(guest_start(g), 0);
	uint8_t cfg[8];
	g->vd->ops->config_read(g->vd, 0, cfg, 8);
	assert_int_equal(cfg[0], GUEST_CID);

	struct virtio_vsock_hdr h;
	uint8_t data[RXBUF];
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 5000, 1234, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(h.dst_port, 5000);
	uint32_t host_buf_alloc = h.buf_alloc, host_fwd = h.fwd_cnt;
	assert_true(host_buf_alloc >= 4096);
	int fd = accept_timeout(lfd);
	assert_true(fd >= 0);

	/* a message each way */
	guest_send(g, VIRTIO_VSOCK_OP_RW, 5000, 1234, "hello from guest", 16, 65536, 0, 0);
	char msg[32];
	read_exact(fd, msg, 16);
	assert_memory_equal(msg, "hello from guest", 16);
	assert_int_equal(write(fd, "hello from host", 15), 15);
	assert_int_equal(guest_recv(g, &h, data, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 15);
	assert_memory_equal(data, "hello from host", 15);
	uint32_t guest_fwd = 15;

	/* 2 MiB guest -> host through a slow reader: the guest keeps to the
	 * credit it was given and gets it back with CREDIT_UPDATEs */
	struct bulk rd = { .fd = fd, .len = 2u << 20, .seed = 7, .slow = 1 };
	pthread_t t;
	pthread_create(&t, NULL, host_reader, &rd);
	uint32_t tx_cnt = 16, updates = 0;
	uint8_t chunk[4096];
	for (size_t off = 0; off < rd.len; off += sizeof(chunk)) {
		while (tx_cnt - host_fwd + sizeof(chunk) > host_buf_alloc) {
			assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
			assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
			host_fwd = h.fwd_cnt;
			updates++;
		}
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(off + i, 7);
		guest_send(g, VIRTIO_VSOCK_OP_RW, 5000, 1234, chunk, sizeof(chunk), 65536,
			   guest_fwd, 0);
		tx_cnt += sizeof(chunk);
	}
	pthread_join(t, NULL);
	assert_int_equal(rd.bad, 0);
	assert_true(updates > 0);
	/* the last credit updates, so the next phase starts clean */
	while (guest_recv(g, &h, NULL, 200) == 0)
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);

	/* 512 KiB host -> guest with a guest buffer of 16 KiB: the device
	 * never sends beyond the credit, and goes on when given more */
	const uint32_t galloc = 16384;
	guest_send(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, 1234, NULL, 0, galloc, guest_fwd, 0);
	struct bulk wr = { .fd = fd, .len = 512u << 10, .seed = 9 };
	pthread_create(&t, NULL, host_writer, &wr);
	size_t got = 0, bad = 0;
	uint32_t unacked = 0, max_unacked = 0, credit_requests = 0;
	while (got < wr.len) {
		assert_int_equal(guest_recv(g, &h, data, 5000), 0);
		if (h.op == VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
			credit_requests++;
			continue;
		}
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
		for (uint32_t i = 0; i < h.len; i++)
			bad += data[i] != pattern(got + i, 9);
		got += h.len;
		unacked += h.len;
		if (unacked > max_unacked)
			max_unacked = unacked;
		guest_fwd += h.len;
		/* the guest's reader takes the data: tell the device now and then */
		if (unacked >= galloc / 2) {
			guest_send(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, 1234, NULL, 0, galloc,
				   guest_fwd, 0);
			unacked = 0;
		}
	}
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	assert_int_equal(wr.bad, 0);
	assert_true(max_unacked <= galloc);

	/* the host closes: the guest hears SHUTDOWN and answers RST */
	close(fd);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND, VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(g, VIRTIO_VSOCK_OP_RST, 5000, 1234, NULL, 0, galloc, guest_fwd, 0);

	/* a guest that shuts down both ways: the host reads EOF, guest gets RST */
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 5001, 1234, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	fd = accept_timeout(lfd);
	guest_send(g, VIRTIO_VSOCK_OP_RW, 5001, 1234, "bye", 3, 65536, 0, 0);
	guest_send(g, VIRTIO_VSOCK_OP_SHUTDOWN, 5001, 1234, NULL, 0, 65536, 0,
		   VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	read_exact(fd, msg, 3);
	assert_int_equal(read(fd, msg, 1), 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 5001);
	close(fd);
	close(lfd);
	guest_free(g);
}

static void refused_gets_rst(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	assert_int_equal(guest_start(g), 0);
	struct virtio_vsock_hdr h;
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 6000, 4321, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 4321);
	assert_int_equal(h.dst_port, 6000);
	/* data for a connection that does not exist: RST too */
	guest_send(g, VIRTIO_VSOCK_OP_RW, 6000, 4321, "x", 1, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	guest_free(g);
}

/* A host listener whose backlog is full: the guest's connect waits for
 * room (answered once the host accepts) and is refused after a while. */
static void full_backlog_waits(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	char p[140];
	snprintf(p, sizeof(p), "%s_2100", g->path);
	int lfd = unix_listen(p);
	assert_int_equal(listen(lfd, 0), 0); /* room for one queued connect */
	assert_int_equal(guest_start(g), 0);
	struct virtio_vsock_hdr h;

	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 7001, 2100, NULL, 0, 65536, 0, 0);
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 7002, 2100, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.dst_port, 7001);
	/* the second waits: nothing for it until the host accepts */
	assert_int_equal(guest_recv(g, &h, NULL, 300), -1);
	int a = accept_timeout(lfd);
	assert_true(a >= 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.dst_port, 7002);
	/* nobody accepts any more: the third is refused, not left hanging */
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 7003, 2100, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 7003);
	close(a);
	close(lfd);
	guest_free(g);
}

static void host_to_guest(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	assert_int_equal(guest_start(g), 0);
	struct virtio_vsock_hdr h;
	uint8_t data[RXBUF];
	char line[64];

	int fd = unix_connect(g->path);
	/* payload right behind the command is not eaten by the parser */
	const char cmd[] = "connect 52\nearly";
	assert_int_equal(write(fd, cmd, sizeof(cmd) - 1), sizeof(cmd) - 1);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 52);
	assert_int_equal(h.src_port, MUX_LOCAL_PORT0);
	uint32_t hp = h.src_port;
	guest_send(g, VIRTIO_VSOCK_OP_RESPONSE, 52, hp, NULL, 0, 65536, 0, 0);
	snprintf(line, sizeof(line), "OK %u\n", MUX_LOCAL_PORT0);
	char got[64] = "";
	read_exact(fd, got, strlen(line));
	assert_string_equal(got, line);
	assert_int_equal(guest_recv(g, &h, data, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(data, "early", 5);
	guest_send(g, VIRTIO_VSOCK_OP_RW, 52, hp, "pong", 4, 65536, 5, 0);
	read_exact(fd, got, 4);
	assert_memory_equal(got, "pong", 4);

	/* nobody listens on guest port 53: the guest says RST, the host sees EOF */
	int fd2 = unix_connect(g->path);
	assert_int_equal(write(fd2, "CONNECT 53\n", 11), 11);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.src_port, MUX_LOCAL_PORT0 + 1);
	guest_send(g, VIRTIO_VSOCK_OP_RST, 53, h.src_port, NULL, 0, 0, 0, 0);
	assert_int_equal(read(fd2, got, sizeof(got)), 0);
	close(fd2);

	/* junk instead of a command: dropped without bothering the guest */
	fd2 = unix_connect(g->path);
	assert_int_equal(write(fd2, "HELLO 1\n", 8), 8);
	assert_int_equal(read(fd2, got, sizeof(got)), 0);
	close(fd2);
	fd2 = unix_connect(g->path);
	assert_int_equal(write(fd2, "CONNECT 12x\n", 12), 12);
	assert_int_equal(read(fd2, got, sizeof(got)), 0);
	close(fd2);
	assert_int_equal(guest_recv(g, &h, NULL, 200), -1);
	close(fd);
	guest_free(g);
}

/* A guest that never answers a host CONNECT, or never sends the RST after
 * the host hung up, has the connection reset after a timeout. */
static void timeouts(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	assert_int_equal(guest_start(g), 0);
	struct virtio_vsock_hdr h;
	char buf[64];

	int fd = unix_connect(g->path);
	assert_int_equal(write(fd, "CONNECT 9\n", 10), 10);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	uint32_t hp = h.src_port;
	/* no answer: an RST comes, and the host sees EOF */
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, hp);
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);
	close(fd);

	char p[140];
	snprintf(p, sizeof(p), "%s_77", g->path);
	int lfd = unix_listen(p);
	guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 7000, 77, NULL, 0, 65536, 0, 0);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	fd = accept_timeout(lfd);
	close(fd);
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* the guest keeps quiet: the device resets it */
	assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 7000);
	close(lfd);
	guest_free(g);
}

/* 100 guest connections at once, each with its own data both ways. */
static void hundred_connections(void **state)
{
	(void)state;
	enum { N = 100 };
	struct guest *g = guest_new();
	char p[140];
	snprintf(p, sizeof(p), "%s_2000", g->path);
	int lfd = unix_listen(p);
	assert_int_equal(guest_start(g), 0);
	struct virtio_vsock_hdr h;
	uint8_t data[RXBUF];

	for (int i = 0; i < N; i++)
		guest_send(g, VIRTIO_VSOCK_OP_REQUEST, 10000 + i, 2000, NULL, 0, 65536, 0, 0);
	bool seen[N] = { 0 };
	for (int i = 0; i < N; i++) {
		assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
		assert_true(h.dst_port >= 10000 && h.dst_port < 10000 + N);
		seen[h.dst_port - 10000] = true;
	}
	int fds[N];
	for (int i = 0; i < N; i++) {
		assert_true(seen[i]);
		fds[i] = accept_timeout(lfd);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++) {
		char m[32];
		int len = snprintf(m, sizeof(m), "conn %d", i);
		guest_send(g, VIRTIO_VSOCK_OP_RW, 10000 + i, 2000, m, (uint32_t)len, 65536, 0, 0);
	}
	/* accept order is connection order; read and answer on each */
	for (int i = 0; i < N; i++) {
		char m[32] = "", want[32];
		int len = snprintf(want, sizeof(want), "conn %d", i);
		read_exact(fds[i], m, (size_t)len);
		assert_string_equal(m, want);
		len = snprintf(m, sizeof(m), "ack %d", i);
		assert_int_equal(write(fds[i], m, (size_t)len), len);
	}
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		assert_int_equal(guest_recv(g, &h, data, 5000), 0);
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
		int k = (int)h.dst_port - 10000;
		char want[32];
		int len = snprintf(want, sizeof(want), "ack %d", k);
		assert_int_equal(h.len, len);
		assert_memory_equal(data, want, (size_t)len);
		seen[k] = true;
	}
	for (int i = 0; i < N; i++) {
		assert_true(seen[i]);
		close(fds[i]);
	}
	close(lfd);
	guest_free(g);
}

/* Packets for the guest until none comes for 20 ms: counts RSTs to port. */
static int drain_rsts(struct guest *g, uint32_t port)
{
	struct virtio_vsock_hdr h;
	int rsts = 0;
	while (guest_recv(g, &h, NULL, 20) == 0)
		rsts += h.op == VIRTIO_VSOCK_OP_RST && h.dst_port == port;
	return rsts;
}

/*
 * Host listeners that accept and never read: each connection the guest
 * fills to its credit needs a buffer, and the muxer's buffers together are
 * bounded (4096 connections x 256 KiB was 1 GiB per VM). The connections
 * past the budget are reset; those within it are not.
 */
static void buffers_bounded(void **state)
{
	(void)state;
	enum { FIT = MUX_MAX_BUFFERED / MUX_BUF_ALLOC, N = FIT + 4 };
	static uint8_t chunk[TXBUF - HLEN];
	struct guest *g = guest_new();
	struct virtio_vsock_hdr h;
	char p[140];
	int fds[N], first_reset = -1, resets = 0;

	snprintf(p, sizeof(p), "%s_2001", g->path);
	int lfd = unix_listen(p);
	assert_int_equal(guest_start(g), 0);
	for (int i = 0; i < N; i++) {
		uint32_t port = 20000 + (uint32_t)i;
		guest_send(g, VIRTIO_VSOCK_OP_REQUEST, port, 2001, NULL, 0, 65536, 0, 0);
		do
			assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
		while (h.op != VIRTIO_VSOCK_OP_RESPONSE || h.dst_port != port);
		fds[i] = accept_timeout(lfd);
		assert_true(fds[i] >= 0);
		for (uint32_t sent = 0; sent < MUX_BUF_ALLOC;) {
			uint32_t len = MUX_BUF_ALLOC - sent < sizeof(chunk)
					       ? MUX_BUF_ALLOC - sent
					       : (uint32_t)sizeof(chunk);
			guest_send(g, VIRTIO_VSOCK_OP_RW, port, 2001, chunk, len, 65536, 0, 0);
			sent += len;
		}
		if (drain_rsts(g, port)) {
			resets++;
			if (first_reset < 0)
				first_reset = i;
		}
	}
	assert_true(resets > 0);
	assert_true(first_reset >= FIT);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(lfd);
	guest_free(g);
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ., .. and the DIR's own fd */
}

/* Out of file descriptors, the muxer stops accepting (rather than spin on
 * the pending connection) and goes on once connections close. */
static void fd_exhaustion(void **state)
{
	(void)state;
	enum { CLIENTS = 12 };
	struct guest *g = guest_new();
	assert_int_equal(guest_start(g), 0);
	struct rlimit old, low;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)open_fds() + 4; /* room for four host connections */
	pid_t pid = fork();
	if (!pid) {
		int fds[CLIENTS];
		for (int i = 0; i < CLIENTS; i++) {
			fds[i] = unix_connect(g->path);
			if (write(fds[i], "CONNECT 7\n", 10) != 10)
				_exit(1);
		}
		pause();
		_exit(0);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* the guest refuses each request; every RST frees a slot */
	struct virtio_vsock_hdr h;
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(guest_recv(g, &h, NULL, 5000), 0);
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
		guest_send(g, VIRTIO_VSOCK_OP_RST, 7, h.src_port, NULL, 0, 0, 0, 0);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	guest_free(g);
}

static void stale_socket_replaced(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	/* a socket file left behind by a killed VMM */
	int fd = unix_listen(g->path);
	close(fd);
	struct stat st;
	assert_int_equal(stat(g->path, &st), 0);
	assert_int_equal(guest_start(g), 0);
	fd = unix_connect(g->path); /* ours now */
	close(fd);
	/* a second device on the same path while the first lives: refused */
	struct virtio_vsock_opts o = { .cid = 4 };
	struct virtio_dev *vd;
	struct err err = { 0 };
	snprintf(o.socket, sizeof(o.socket), "%s", g->path);
	assert_int_equal(virtio_vsock_create(&vd, &o, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, g->path));
	guest_free(g);

	/* not a socket: left alone, refused */
	g = guest_new();
	fd = open(g->path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(o.socket, sizeof(o.socket), "%s", g->path);
	assert_int_equal(virtio_vsock_create(&vd, &o, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not a socket"));
	guest_free(g);
}

static void parse(void **state)
{
	(void)state;
	struct virtio_vsock_opts o;
	struct err err = { 0 };
	assert_int_equal(vsock_opts_from("cid=42,socket=/run/x.sock", &o, &err), 0);
	assert_int_equal(o.cid, 42);
	assert_string_equal(o.socket, "/run/x.sock");
	assert_int_equal(vsock_opts_from("socket=/run/x.sock", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cid"));
	assert_int_equal(vsock_opts_from("cid=2,socket=/x", &o, &err), -EINVAL);
	assert_int_equal(vsock_opts_from("cid=3", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "socket"));
	assert_int_equal(vsock_opts_from("cid=3,socket=/x,color=red", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "color"));
	assert_int_equal(vsock_opts_from("cid=3,socket=/x,iommu=on", &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "iommu"));
	assert_int_equal(vsock_opts_from("cid=3,socket=/x,iommu=off,id=v0", &o, &err), 0);
	assert_string_equal(o.id, "v0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse),
		cmocka_unit_test(guest_to_host),
		cmocka_unit_test(refused_gets_rst),
		cmocka_unit_test(full_backlog_waits),
		cmocka_unit_test(host_to_guest),
		cmocka_unit_test(timeouts),
		cmocka_unit_test(hundred_connections),
		cmocka_unit_test(buffers_bounded),
		cmocka_unit_test(fd_exhaustion),
		cmocka_unit_test(stale_socket_replaced),
	};
	return cmocka_run_group_tests_name("virtio_vsock", tests, NULL, NULL);
}
