// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net, virtio-vsock and virtio-fs behind the real virtio-pci
 * transport (fake_pci.h): identity, device config through the BAR, feature
 * negotiation and Linux's bring-up, kicks through the notify region and
 * interrupts as MSI-X messages; the devices then move real data (a TAP in
 * a netns, Unix sockets, the real virtiofsd).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <linux/virtio_vsock.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "devices/virtio/fs/fs.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/vsock/vsock.h"
#include "tests/unit/config_opts.h"
#include "tests/unit/fake_pci.h"
#include "tests/unit/virtiofsd.h"

#define F(b)  (1ULL << (b))
#define QSIZE 64

static bool have_netns;

static void net_on_pci(void **state)
{
	(void)state;
	if (!have_netns)
		skip();
	struct virtio_net_opts o;
	struct virtio_dev *vd;
	struct err err = { 0 };
	assert_int_equal(net_opts_from("tap=svp0,mac=52:54:00:ab:cd:ef,mtu=1400", &o, &err), 0);
	assert_int_equal(virtio_net_create(&vd, &o, &err), 0);
	struct fpci p;
	fq_init(&p.s, false);
	assert_int_equal(fp_plug(&p, vd), 0);
	assert_int_equal(fp_cfg_rd(&p, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_NET);
	assert_int_equal(fp_bar_rd(&p, p.common + 0x12, 2), 2); /* num_queues */
	/* the MAC and MTU through the device configuration region */
	uint8_t mac[6];
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)fp_bar_rd(&p, p.device + (unsigned int)i, 1);
	assert_memory_equal(mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 0xef }), 6);
	assert_int_equal(fp_bar_rd(&p, p.device + 10, 2), 1400);
	assert_int_equal(fp_bar_rd(&p, p.device + 6, 2), VIRTIO_NET_S_LINK_UP);
	uint64_t offered = fp_device_features(&p);
	assert_true(offered & F(VIRTIO_F_VERSION_1));
	assert_true(offered & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(offered & F(VIRTIO_NET_F_GUEST_CSUM));
	/* what Linux's virtio_net would take of it */
	uint64_t want =
		offered & (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_NET_F_MAC) |
			   F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) |
			   F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_MTU));
	assert_true(fp_bring_up(&p, want, 2, QSIZE) & VIRTIO_STATUS_DRIVER_OK);

	/* TX: a frame kicked through the notify region reaches the TAP */
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex("svp0") };
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	struct timeval tv = { 5, 0 };
	setsockopt(ps, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint64_t g = fq_alloc(&p.s, 12 + 100);
	uint8_t *fr = fq_ptr(&p.s, g);
	memset(fr, 0, 12 + 100);
	memset(fr + 12, 0xff, 6);
	memcpy(fr + 18, mac, 6);
	fr[24] = 0x88;
	fr[25] = 0xb5;
	uint32_t l = 12 + 100;
	bool w = false;
	fq_add(&p.s.q[1], &g, &l, &w, 1);
	fp_kick(&p, 1);
	uint32_t head = 0, len = 0;
	assert_int_equal(fq_wait_used(&p.s.q[1], &head, &len, 5000), 0);
	uint8_t got[256];
	ssize_t n;
	do
		n = recv(ps, got, sizeof(got), 0);
	while (n > 0 && !(got[12] == 0x88 && got[13] == 0xb5));
	assert_int_equal(n, 100);

	/* RX: buffers kicked in, a frame from the host, an MSI-X message */
	for (int i = 0; i < 4; i++) {
		uint64_t b = fq_alloc(&p.s, 2048);
		uint32_t bl = 2048;
		bool bw = true;
		fq_add(&p.s.q[0], &b, &bl, &bw, 1);
	}
	fp_kick(&p, 0);
	/* (the kernel's own IPv6 chatter may come first) */
	uint16_t seen = __atomic_load_n(&fq_usedp(&p.s.q[0])[1], __ATOMIC_ACQUIRE);
	for (; p.s.q[0].used_seen != seen; p.s.q[0].used_seen++)
		;
	fq_arm(&p.s.q[0], seen);
	unsigned int msis = __atomic_load_n(&p.msis, __ATOMIC_RELAXED);
	memcpy(got, mac, 6);
	assert_int_equal(send(ps, got, 100, 0), 100);
	for (int i = 0;; i++) {
		assert_true(i < 4);
		assert_int_equal(fq_wait_used(&p.s.q[0], &head, &len, 5000), 0);
		uint8_t *b = fq_ptr(&p.s, fq_desc_addr(&p.s.q[0], head));
		if (len == 12 + 100 && b[12 + 12] == 0x88 && b[12 + 13] == 0xb5)
			break;
	}
	for (int i = 0; i < 100 && __atomic_load_n(&p.msis, __ATOMIC_RELAXED) == msis; i++)
		usleep(10000);
	assert_true(__atomic_load_n(&p.msis, __ATOMIC_RELAXED) > msis);
	close(ps);
	fp_free(&p);
	assert_int_equal(if_nametoindex("svp0"), 0);
}

static void vsock_on_pci(void **state)
{
	(void)state;
	char dir[] = "/tmp/svmm-vsp-XXXXXX", path[64], port[80];
	struct err err = { 0 };
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(port, sizeof(port), "%s_80", path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", port);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	struct virtio_vsock_opts o = { .cid = 0x1234567 };
	snprintf(o.socket, sizeof(o.socket), "%s", path);
	struct virtio_dev *vd;
	assert_int_equal(virtio_vsock_create(&vd, &o, &err), 0);
	struct fpci p;
	fq_init(&p.s, false);
	assert_int_equal(fp_plug(&p, vd), 0);
	assert_int_equal(fp_cfg_rd(&p, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_VSOCK);
	assert_int_equal(fp_bar_rd(&p, p.common + 0x12, 2), 3);
	assert_int_equal(fp_bar_rd(&p, p.device, 4), 0x1234567);
	assert_int_equal(fp_bar_rd(&p, p.device + 4, 4), 0);
	uint64_t offered = fp_device_features(&p);
	assert_true(fp_bring_up(&p, offered, 3, QSIZE) & VIRTIO_STATUS_DRIVER_OK);
	uint64_t rb = fq_alloc(&p.s, 4096);
	uint32_t rl = 4096;
	bool rw = true;
	fq_add(&p.s.q[0], &rb, &rl, &rw, 1);
	fp_kick(&p, 0);
	/* REQUEST to host port 80 -> PATH_80 accepts -> RESPONSE */
	struct virtio_vsock_hdr h = { .src_cid = 0x1234567,
				      .dst_cid = 2,
				      .src_port = 999,
				      .dst_port = 80,
				      .type = 1,
				      .op = VIRTIO_VSOCK_OP_REQUEST,
				      .buf_alloc = 65536 };
	uint64_t tb = fq_alloc(&p.s, sizeof(h));
	memcpy(fq_ptr(&p.s, tb), &h, sizeof(h));
	uint32_t tl = sizeof(h);
	bool tw = false;
	fq_add(&p.s.q[1], &tb, &tl, &tw, 1);
	fp_kick(&p, 1);
	uint32_t head = 0, len = 0;
	assert_int_equal(fq_wait_used(&p.s.q[0], &head, &len, 5000), 0);
	memcpy(&h, fq_ptr(&p.s, rb), sizeof(h));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.dst_cid, 0x1234567);
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	close(fd);
	close(lfd);
	fp_free(&p);
	unlink(port);
	assert_int_equal(access(path, F_OK), -1); /* the device's socket is gone */
	rmdir(dir);
}

static void pci_kick(void *opaque, unsigned int q)
{
	fp_kick(opaque, q);
}

static void fs_on_pci(void **state)
{
	(void)state;
	if (access(VFSD_PATH, X_OK))
		skip();
	struct vfsd d;
	assert_int_equal(vfsd_start(&d), 0);
	struct fpci p;
	fq_init(&p.s, true);
	struct virtio_fs_opts o;
	char spec[200];
	struct err err = { 0 };
	snprintf(spec, sizeof(spec), "tag=pcifs,socket=%s,queue_size=%d", d.sock, QSIZE);
	assert_int_equal(fs_opts_from(spec, &o, &err), 0);
	struct virtio_dev *vd;
	assert_int_equal(virtio_fs_create(&vd, &o, &p.s.f.mem, &err), 0);
	assert_int_equal(fp_plug(&p, vd), 0);
	assert_int_equal(fp_cfg_rd(&p, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_FS);
	char tag[8] = "";
	for (int i = 0; i < 5; i++)
		tag[i] = (char)fp_bar_rd(&p, p.device + (unsigned int)i, 1);
	assert_string_equal(tag, "pcifs");
	assert_int_equal(fp_bar_rd(&p, p.device + 36, 4), 1); /* num_request_queues */
	uint64_t offered = fp_device_features(&p);
	assert_false(offered & F(34)); /* no packed ring passed through */
	uint8_t st = fp_bring_up(&p, offered, 2, QSIZE);
	if (!(st & VIRTIO_STATUS_DRIVER_OK))
		vfsd_print_log(&d);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	/* FUSE_INIT: kicked through the BAR to virtiofsd's kick eventfd; its
	 * call eventfd comes back as an MSI-X message */
	unsigned int msis = __atomic_load_n(&p.msis, __ATOMIC_RELAXED);
	struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
				     .minor = FUSE_KERNEL_MINOR_VERSION };
	struct fuse_init_out io;
	int32_t error = -1;
	int rc = vfsd_fuse_call(&p.s, pci_kick, &p, FUSE_INIT, 0, &init, sizeof(init), &io,
				sizeof(io), &error);
	if (rc < 0)
		vfsd_print_log(&d);
	assert_true(rc > 0);
	assert_int_equal(error, 0);
	assert_int_equal(io.major, 7);
	for (int i = 0; i < 100 && __atomic_load_n(&p.msis, __ATOMIC_RELAXED) == msis; i++)
		usleep(10000);
	assert_true(__atomic_load_n(&p.msis, __ATOMIC_RELAXED) > msis);
	/* driver reset through the transport: GET_VRING_BASE to the back-end */
	fp_bar_wr(&p, p.common + 0x14, 0, 1);
	assert_int_equal(fp_bar_rd(&p, p.common + 0x14, 1), 0);
	fp_free(&p);
	vfsd_stop(&d);
}

static int group_setup(void **state)
{
	(void)state;
	have_netns = unshare(CLONE_NEWNET) == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(net_on_pci),
		cmocka_unit_test(vsock_on_pci),
		cmocka_unit_test(fs_on_pci),
	};
	return cmocka_run_group_tests_name("virtio_pci_netdev", tests, group_setup, NULL);
}
