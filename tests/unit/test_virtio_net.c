// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net on a real TAP, in a network namespace of its own: the test
 * plays the driver (fake_queues.h) and the host side (an AF_PACKET socket
 * on the TAP, a UDP socket routed through it), and checks frames, virtio
 * net headers, mergeable buffers, offloads and the TAP's configuration.
 * Needs CAP_NET_ADMIN (skipped without it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if_arp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "devices/virtio/net/net.h"
#include "tests/unit/config_opts.h"
#include "tests/unit/fake_queues.h"

#define ETH_TEST 0x88b5 /* IEEE local experimental ethertype */
#define HDR	 12
#define F(b)	 (1ULL << (b))

static bool have_netns;

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static int packet_socket(const char *ifname)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(s >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	struct timeval tv = { 5, 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/* Receive the next frame of our ethertype from the packet socket. */
static ssize_t recv_test_frame(int s, uint8_t *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(s, buf, len, 0);
		if (n < 0)
			return n;
		if (n >= 14 && buf[12] == (ETH_TEST >> 8) && buf[13] == (ETH_TEST & 0xff))
			return n;
	}
}

static void fill_frame(uint8_t *p, size_t len, const uint8_t *src, uint8_t seed)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETH_TEST >> 8;
	p[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

static struct virtio_dev *make_net(const char *spec)
{
	struct virtio_net_opts o;
	struct virtio_dev *vd;
	struct err err = { 0 };
	int rc = net_opts_from(spec, &o, &err);
	if (rc)
		print_error("parse '%s': %s\n", spec, err.msg);
	assert_int_equal(rc, 0);
	rc = virtio_net_create(&vd, &o, &err);
	if (rc)
		print_error("create '%s': %s\n", spec, err.msg);
	assert_int_equal(rc, 0);
	return vd;
}

static void parse_defaults_and_errors(void **state)
{
	(void)state;
	struct virtio_net_opts o;
	struct err err = { 0 };

	assert_int_equal(net_opts_from("tap=tap-tngl-1,ip=172.30.0.1", &o, &err), 0);
	assert_string_equal(o.tap, "tap-tngl-1");
	assert_true(o.has_ip);
	assert_int_equal(o.ip, inet_addr("172.30.0.1"));
	assert_int_equal(o.mask, inet_addr("255.255.255.0"));
	assert_true(o.has_mac); /* the config's random one: locally administered, unicast */
	assert_int_equal(o.mac[0] & 3, 2);
	assert_int_equal(o.num_queues, 2);
	assert_int_equal(o.queue_size, 256);

	assert_int_equal(net_opts_from("tap=t0,ip=10.0.0.1,mask=255.255.0.0,mac=52:54:00:aa:bb:"
				       "cc,host_mac=02:00:00:00:00:01,mtu=9000,num_queues=4,"
				       "queue_size=1024,offload_ufo=off",
				       &o, &err),
			 0);
	assert_int_equal(o.mask, inet_addr("255.255.0.0"));
	assert_int_equal(o.mac[5], 0xcc);
	assert_int_equal(o.host_mac[5], 0x01);
	assert_int_equal(o.mtu, 9000);
	assert_int_equal(o.num_queues, 4);
	assert_int_equal(o.queue_size, 1024);
	assert_false(o.offload_ufo);
	assert_true(o.offload_tso);

	assert_int_equal(net_opts_from("fd=[5,6]", &o, &err), 0);
	assert_int_equal(o.n_fds, 2);
	assert_int_equal(o.fds[1], 6);
	assert_int_equal(o.num_queues, 4);

	static const char *const bad[][2] = {
		{ "mac=52:54:00:aa:bb", "mac" },
		{ "mac=01:00:00:00:00:01", "multicast" },
		{ "ip=300.1.1.1", "ip" },
		{ "mask=255.255.255.0", "without an ip" },
		{ "ip=10.0.0.1,mask=255.0.255.0", "mask" },
		{ "num_queues=3", "num_queues" },
		{ "queue_size=100", "queue_size" },
		{ "mtu=20", "mtu" },
		{ "tap=averyveryverylongname", "tap" },
		{ "bogus=1", "bogus" },
		{ "fd=[1,x]", "fd" },
		{ "fd=[3],num_queues=4", "fd" },
		{ "vhost_user=on", "vhost_user" },
		{ "iommu=on", "iommu" },
		{ "iommu=maybe", "iommu" },
		{ "id=0123456789012345678901234567890123456789012345678901234567890123456789",
		  "id" },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.code = '\0';
		assert_int_equal(net_opts_from(bad[i][0], &o, &err), -EINVAL);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s': message '%s' does not name '%s'", bad[i][0], err.msg,
				 bad[i][1]);
	}
}

static uint32_t if_addr(const char *name, unsigned long req)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	assert_int_equal(ioctl(s, req, &ifr), 0);
	close(s);
	return ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
}

static void host_side_configured(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd =
		make_net("tap=svt0,ip=10.9.0.1,mtu=9000,host_mac=02:00:00:00:00:99");
	assert_string_equal(virtio_net_tap_name(vd), "svt0");
	assert_int_equal(if_addr("svt0", SIOCGIFADDR), inet_addr("10.9.0.1"));
	assert_int_equal(if_addr("svt0", SIOCGIFNETMASK), inet_addr("255.255.255.0"));
	unsigned int mtu = 0;
	assert_int_equal(tap_get_mtu("svt0", &mtu), 0);
	assert_int_equal(mtu, 9000);
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "svt0");
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	assert_int_equal((uint8_t)ifr.ifr_hwaddr.sa_data[5], 0x99);
	close(s);
	/* a random, locally administered, unicast MAC for the guest */
	uint8_t mac[6];
	vd->ops->config_read(vd, 0, mac, 6);
	assert_int_equal(mac[0] & 3, 2);
	uint16_t status, mtu_cfg;
	vd->ops->config_read(vd, 6, &status, 2);
	assert_int_equal(status, VIRTIO_NET_S_LINK_UP);
	vd->ops->config_read(vd, 10, &mtu_cfg, 2);
	assert_int_equal(mtu_cfg, 9000);
	assert_true(vd->features & F(VIRTIO_NET_F_MTU));
	assert_true(vd->features & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(vd->num_queues, 2);
	virtio_net_set_link(vd, false);
	vd->ops->config_read(vd, 6, &status, 2);
	assert_int_equal(status, 0);
	vd->ops->free(vd);
	/* svmm created it: gone with the device */
	assert_int_equal(if_nametoindex("svt0"), 0);
}

static void existing_tap_stays(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	/* a persistent TAP made beforehand, as `ip tuntap add` would */
	int fd = open("/dev/net/tun", O_RDWR);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, IFNAMSIZ, "svt-keep");
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_int_equal(tap_set_ipv4("svt-keep", inet_addr("10.8.0.1"), inet_addr("255.255.0.0")),
			 0);
	struct virtio_dev *vd = make_net("tap=svt-keep,ip=10.7.0.1");
	/* CH leaves an existing TAP's address alone */
	assert_int_equal(if_addr("svt-keep", SIOCGIFADDR), inet_addr("10.8.0.1"));
	vd->ops->free(vd);
	assert_true(if_nametoindex("svt-keep") != 0);
	/* and an fd handed over is adopted */
	fd = open("/dev/net/tun", O_RDWR);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	char spec[32];
	snprintf(spec, sizeof(spec), "fd=%d", fd);
	vd = make_net(spec);
	assert_string_equal(virtio_net_tap_name(vd), "svt-keep");
	vd->ops->free(vd);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* taken over and closed */
	fd = open("/dev/net/tun", O_RDWR);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
	assert_int_equal(if_nametoindex("svt-keep"), 0);
	/* a non-TAP fd is refused by name */
	struct virtio_net_opts o;
	struct err err = { 0 };
	fd = open("/dev/null", O_RDWR);
	snprintf(spec, sizeof(spec), "fd=%d", fd);
	assert_int_equal(net_opts_from(spec, &o, &err), 0);
	assert_true(virtio_net_create(&vd, &o, &err) < 0);
	assert_non_null(strstr(err.msg, "not a TAP"));
	close(fd);
}

/* A frame the driver transmits appears on the TAP, unchanged. */
static void tx_reaches_tap(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt1,mac=52:54:00:12:34:56");
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 2, 64, vd->features), 0);
	int ps = packet_socket("svt1");
	struct fq *tx = &s.q[1];
	uint8_t got[2048];
	uint32_t head = 0, len = 0;

	for (int round = 0; round < 3; round++) {
		/* header and frame in separate descriptors, as Linux sends them */
		uint64_t gpa[2] = { fq_alloc(&s, HDR), fq_alloc(&s, 1000) };
		uint32_t lens[2] = { HDR, 1000 };
		bool wr[2] = { false, false };
		memset(fq_ptr(&s, gpa[0]), 0, HDR);
		fill_frame(fq_ptr(&s, gpa[1]), 1000, guest_mac, (uint8_t)round);
		uint16_t h = fq_add(tx, gpa, lens, wr, 2);
		fq_kick(tx);
		assert_int_equal(fq_wait_used(tx, &head, &len, 5000), 0);
		assert_int_equal(head, h);
		ssize_t n = recv_test_frame(ps, got, sizeof(got));
		assert_int_equal(n, 1000);
		assert_memory_equal(got, fq_ptr(&s, gpa[1]), 1000);
	}
	/* a chain too short for the header is dropped, and the queue goes on */
	fq_offer1(tx, fq_alloc(&s, 4), 4, false);
	assert_int_equal(fq_wait_used(tx, &head, &len, 5000), 0);
	close(ps);
	fq_free(&s);
}

/* HOST_TSO4: a 4000-byte TCP segment with a GSO header and a partial
 * checksum is taken by the TAP as one GSO packet (the kernel segments it
 * later); a header with a bogus GSO type is refused and dropped. */
static void tx_tso(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt6,mac=52:54:00:12:34:56");
	assert_true(vd->features & F(VIRTIO_NET_F_HOST_TSO4));
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 2, 64, vd->features), 0);
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = (int)if_nametoindex("svt6") };
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	struct timeval tv = { 5, 0 };
	setsockopt(ps, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct fq *tx = &s.q[1];
	const uint32_t plen = 4000, flen = 14 + 20 + 20 + plen;
	uint64_t g = fq_alloc(&s, HDR + flen);
	uint8_t *p = fq_ptr(&s, g);
	struct virtio_net_hdr_v1 h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54,
		.gso_size = 1448,
		.csum_start = 34,
		.csum_offset = 16,
	};
	memcpy(p, &h, HDR);
	uint8_t *e = p + HDR;
	memset(e, 0, flen);
	memset(e, 0x02, 6);
	memcpy(e + 6, guest_mac, 6);
	e[12] = 0x08;
	uint8_t *ip = e + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 20 + plen) >> 8);
	ip[3] = (uint8_t)(20 + 20 + plen);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 10, 9, 6, 2, 10, 9, 6, 1 }, 8);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *tcp = ip + 20;
	tcp[1] = 80;
	tcp[3] = 81;
	tcp[12] = 0x50;
	tcp[13] = 0x18; /* PSH ACK */
	tcp[14] = 0xff;
	for (uint32_t i = 0; i < plen; i++)
		tcp[20 + i] = (uint8_t)i;
	fq_offer1(tx, g, HDR + flen, false);
	uint32_t head = 0, len = 0;
	assert_int_equal(fq_wait_used(tx, &head, &len, 5000), 0);
	uint8_t got[8192];
	ssize_t n;
	do
		n = recv(ps, got, sizeof(got), 0);
	while (n > 0 && (n < 14 + 20 || got[14 + 9] != 6));
	assert_int_equal(n, flen); /* one GSO packet, as the guest sent it */
	assert_memory_equal(got + 54, tcp + 20, plen);

	/* an unknown GSO type: the kernel refuses it, the chain still returns */
	h.gso_type = 0x33;
	memcpy(p, &h, HDR);
	fq_offer1(tx, g, HDR + flen, false);
	assert_int_equal(fq_wait_used(tx, &head, &len, 5000), 0);
	close(ps);
	fq_free(&s);
}

/* A frame written into the TAP arrives in mergeable receive buffers. */
static void rx_mergeable(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt2,mtu=9000");
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 2, 64, vd->features), 0);
	int ps = packet_socket("svt2");
	struct fq *rx = &s.q[0];
	uint64_t bufs[8];
	uint32_t head = 0, len = 0;

	for (int i = 0; i < 8; i++) {
		bufs[i] = fq_alloc(&s, 1024);
		uint32_t l = 1024;
		bool w = true;
		fq_add(rx, &bufs[i], &l, &w, 1);
	}
	fq_kick(rx);

	uint8_t frame[3000];
	uint8_t src[6] = { 2, 0, 0, 0, 0, 7 };
	fill_frame(frame, sizeof(frame), src, 42);
	memcpy(frame, guest_mac, 6);
	assert_int_equal(send(ps, frame, sizeof(frame), 0), sizeof(frame));

	/* 12 + 3000 bytes: 1024 + 1024 + 964, in order, num_buffers 3 */
	uint8_t got[4096];
	size_t total = 0;
	uint32_t expect[3] = { 1024, 1024, 964 };
	struct virtio_net_hdr_v1 h;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
		assert_int_equal(len, expect[i]);
		uint64_t gpa = fq_desc_addr(rx, head);
		assert_int_equal(gpa, bufs[i]);
		memcpy(got + total, fq_ptr(&s, gpa), len);
		total += len;
	}
	memcpy(&h, got, sizeof(h));
	assert_int_equal(h.num_buffers, 3);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal(got + HDR, frame, sizeof(frame));

	/* more frames than buffers: the rest waits in the TAP until the
	 * driver gives buffers (nothing is lost, nothing spins) */
	for (int i = 0; i < 4; i++) {
		fill_frame(frame, 1500, src, (uint8_t)i);
		memcpy(frame, guest_mac, 6);
		assert_int_equal(send(ps, frame, 1500, 0), 1500);
	}
	/* five buffers left: frames 0..2 take 2 each (1512 bytes), so frame 0
	 * and 1 fit and frame 2 has one buffer and waits for more */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
	}
	assert_int_equal(fq_wait_used(rx, &head, &len, 300), -1);
	for (int i = 0; i < 8; i++) {
		uint64_t b = fq_alloc(&s, 1024);
		uint32_t l = 1024;
		bool w = true;
		fq_add(rx, &b, &l, &w, 1);
	}
	fq_kick(rx);
	int frames = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
		uint8_t *p = fq_ptr(&s, fq_desc_addr(rx, head));
		if (len == 1024) {
			memcpy(&h, p, sizeof(h));
			/* the first buffer of a frame carries the header */
			if (h.num_buffers == 2)
				frames++;
		}
	}
	assert_int_equal(frames, 2); /* frame 2 (begun in an old buffer) and frame 3 */
	assert_int_equal(fq_wait_used(rx, &head, &len, 300), -1);
	close(ps);
	fq_free(&s);
}

/* Without MRG_RXBUF one buffer holds a frame; one too big is dropped. */
static void rx_single_buffer(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt3,mtu=9000");
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 2, 64, vd->features & ~F(VIRTIO_NET_F_MRG_RXBUF)), 0);
	int ps = packet_socket("svt3");
	struct fq *rx = &s.q[0];
	uint32_t head = 0, len = 0;
	/* header and data in two descriptors */
	for (int i = 0; i < 2; i++) {
		uint64_t g[2] = { fq_alloc(&s, HDR), fq_alloc(&s, 2048) };
		uint32_t l[2] = { HDR, 2048 };
		bool w[2] = { true, true };
		fq_add(rx, g, l, w, 2);
	}
	fq_kick(rx);
	uint8_t frame[4000], src[6] = { 2, 0, 0, 0, 0, 8 };
	fill_frame(frame, sizeof(frame), src, 1);
	assert_int_equal(send(ps, frame, 4000, 0), 4000);
	assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
	assert_int_equal(len, 0); /* dropped: does not fit */
	assert_int_equal(send(ps, frame, 100, 0), 100);
	assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
	assert_int_equal(len, HDR + 100);
	uint8_t *hdr = fq_ptr(&s, fq_desc_addr(rx, head));
	uint8_t *data = fq_ptr(&s, fq_desc_addr(rx, head + 1));
	assert_int_equal(hdr[10] | hdr[11] << 8, 1); /* num_buffers is 1 */
	assert_memory_equal(data, frame, 100);
	close(ps);
	fq_free(&s);
}

/* UDP sent by the host through the TAP reaches the guest with its checksum
 * left to the guest (GUEST_CSUM -> TUN_F_CSUM -> NEEDS_CSUM), and without
 * GUEST_CSUM it arrives checksummed. */
static void rx_checksum_offload(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	for (int offload = 1; offload >= 0; offload--) {
		struct virtio_dev *vd = make_net("tap=svt4,ip=10.9.4.1");
		uint64_t feat = vd->features;
		if (!offload)
			feat &= ~(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |
				  F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_ECN) |
				  F(VIRTIO_NET_F_GUEST_UFO));
		assert_true(vd->features & F(VIRTIO_NET_F_GUEST_CSUM));
		struct fq_set s;
		assert_int_equal(fq_attach(&s, vd, 2, 64, feat), 0);
		struct fq *rx = &s.q[0];
		for (int i = 0; i < 16; i++)
			fq_offer1(rx, fq_alloc(&s, 2048), 2048, true);
		/* the guest 10.9.4.2 at guest_mac: a permanent ARP entry */
		struct arpreq ar = { 0 };
		struct sockaddr_in *pa = (struct sockaddr_in *)&ar.arp_pa;
		pa->sin_family = AF_INET;
		pa->sin_addr.s_addr = inet_addr("10.9.4.2");
		ar.arp_ha.sa_family = ARPHRD_ETHER;
		memcpy(ar.arp_ha.sa_data, guest_mac, 6);
		ar.arp_flags = ATF_COM | ATF_PERM;
		snprintf(ar.arp_dev, sizeof(ar.arp_dev), "svt4");
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(ioctl(u, SIOCSARP, &ar), 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9999) };
		to.sin_addr.s_addr = inet_addr("10.9.4.2");
		char msg[200];
		memset(msg, 'x', sizeof(msg));
		assert_int_equal(sendto(u, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
				 sizeof(msg));
		close(u);
		/* skip whatever else the kernel sends (IPv6 neighbour discovery) */
		uint32_t head = 0, len = 0;
		uint8_t *p = NULL;
		for (int i = 0; i < 16; i++) {
			assert_int_equal(fq_wait_used(rx, &head, &len, 5000), 0);
			p = fq_ptr(&s, fq_desc_addr(rx, head));
			if (len == HDR + 14 + 20 + 8 + sizeof(msg) && p[HDR + 12] == 0x08 &&
			    p[HDR + 13] == 0x00)
				break;
			p = NULL;
		}
		assert_non_null(p);
		struct virtio_net_hdr_v1 h;
		memcpy(&h, p, sizeof(h));
		uint16_t udp_csum = (uint16_t)(p[HDR + 14 + 20 + 6] << 8 | p[HDR + 14 + 20 + 7]);
		if (offload) {
			assert_true(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
			assert_int_equal(h.csum_start, 14 + 20);
			assert_int_equal(h.csum_offset, 6);
		} else {
			assert_false(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
			assert_true(udp_csum != 0);
			/* verify the full UDP checksum over the pseudo header */
			uint8_t *ip = p + HDR + 14, *udp = ip + 20;
			uint32_t sum = 0;
			for (int i = 12; i < 20; i += 2)
				sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
			sum += 17 + 8 + sizeof(msg);
			for (size_t i = 0; i < 8 + sizeof(msg); i += 2)
				sum += (uint32_t)(udp[i] << 8 | udp[i + 1]);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			assert_int_equal(sum, 0xffff);
		}
		fq_free(&s);
	}
}

/* A guest that breaks the transmit queue (a descriptor chain that loops)
 * gets NEEDS_RESET and a configuration interrupt; the device stays up and
 * a reset brings the queues back. */
static void hostile_queue(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt7");
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 2, 64, vd->features), 0);
	struct fq *tx = &s.q[1];
	uint64_t g[2] = { fq_alloc(&s, 64), fq_alloc(&s, 64) };
	uint32_t l[2] = { 64, 64 };
	bool w[2] = { false, false };
	uint16_t head = fq_add(tx, g, l, w, 2);
	struct virtq_desc *d = (struct virtq_desc *)(s.f.ram + tx->desc);
	d[head + 1].flags |= VIRTQ_DESC_F_NEXT;
	d[head + 1].next = head; /* back to the start */
	fq_kick(tx);
	for (int i = 0; i < 500 && !(vd->status & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(10000);
	assert_true(vd->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(s.f.config_irqs, 1);
	vd->ops->reset(vd);
	fq_free(&s);
}

/* Two queue pairs on two TAP queues, and the control queue's MQ command. */
static void multiqueue(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_dev *vd = make_net("tap=svt5,num_queues=4");
	assert_int_equal(vd->num_queues, 5);
	assert_true(vd->features & F(VIRTIO_NET_F_MQ));
	assert_true(vd->features & F(VIRTIO_NET_F_CTRL_VQ));
	uint16_t pairs;
	vd->ops->config_read(vd, 8, &pairs, 2);
	assert_int_equal(pairs, 2);
	struct fq_set s;
	assert_int_equal(fq_attach(&s, vd, 5, 64, vd->features), 0);
	/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 2: OK; 3: ERR */
	struct fq *ctrl = &s.q[4];
	uint32_t head = 0, len = 0;
	for (uint16_t n = 2; n <= 3; n++) {
		uint64_t g[3] = { fq_alloc(&s, 2), fq_alloc(&s, 2), fq_alloc(&s, 1) };
		uint32_t l[3] = { 2, 2, 1 };
		bool w[3] = { false, false, true };
		uint8_t *c = fq_ptr(&s, g[0]);
		c[0] = VIRTIO_NET_CTRL_MQ;
		c[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
		memcpy(fq_ptr(&s, g[1]), &n, 2);
		*(uint8_t *)fq_ptr(&s, g[2]) = 0xee;
		fq_add(ctrl, g, l, w, 3);
		fq_kick(ctrl);
		assert_int_equal(fq_wait_used(ctrl, &head, &len, 5000), 0);
		assert_int_equal(len, 1);
		assert_int_equal(*(uint8_t *)fq_ptr(&s, g[2]),
				 n == 2 ? VIRTIO_NET_OK : VIRTIO_NET_ERR);
	}
	/* each pair's transmit queue reaches the TAP */
	int ps = packet_socket("svt5");
	for (int pair = 0; pair < 2; pair++) {
		struct fq *tx = &s.q[2 * pair + 1];
		uint64_t g = fq_alloc(&s, HDR + 200);
		memset(fq_ptr(&s, g), 0, HDR);
		fill_frame((uint8_t *)fq_ptr(&s, g) + HDR, 200, guest_mac, (uint8_t)(pair + 100));
		fq_offer1(tx, g, HDR + 200, false);
		assert_int_equal(fq_wait_used(tx, &head, &len, 5000), 0);
		uint8_t got[512];
		assert_int_equal(recv_test_frame(ps, got, sizeof(got)), 200);
		assert_memory_equal(got, (uint8_t *)fq_ptr(&s, g) + HDR, 200);
	}
	close(ps);
	fq_free(&s);
	assert_int_equal(if_nametoindex("svt5"), 0);
}

static int group_setup(void **state)
{
	(void)state;
	/* a network namespace of our own: nothing leaks to the host */
	have_netns = unshare(CLONE_NEWNET) == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
	/* no IPv6 autoconfiguration chatter in the guest's receive buffers */
	static const char *const v6[] = { "/proc/sys/net/ipv6/conf/default/disable_ipv6",
					  "/proc/sys/net/ipv6/conf/all/disable_ipv6" };
	for (unsigned int i = 0; have_netns && i < 2; i++) {
		int fd = open(v6[i], O_WRONLY);
		if (fd >= 0 && write(fd, "1", 1) != 1)
			print_message("# %s: not written\n", v6[i]);
		if (fd >= 0)
			close(fd);
	}
	if (!have_netns)
		print_message("# no CAP_NET_ADMIN or /dev/net/tun: TAP tests skipped\n");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_defaults_and_errors),
		cmocka_unit_test(host_side_configured),
		cmocka_unit_test(existing_tap_stays),
		cmocka_unit_test(tx_reaches_tap),
		cmocka_unit_test(tx_tso),
		cmocka_unit_test(rx_mergeable),
		cmocka_unit_test(rx_single_buffer),
		cmocka_unit_test(rx_checksum_offload),
		cmocka_unit_test(multiqueue),
		cmocka_unit_test(hostile_queue),
	};
	return cmocka_run_group_tests_name("virtio_net", tests, group_setup, NULL);
}
