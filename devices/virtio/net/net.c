// SPDX-License-Identifier: Apache-2.0
/* virtio-net on a TAP: queue-pair I/O threads (or vhost-net), offloads,
 * mergeable buffers. */
#include "devices/virtio/net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/loop.h"
#include "devices/virtio/net/vhost_net.h"
#include "vmm/kvm/log.h"

#define NET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1))
/* The largest frame a TAP hands over: a 64 KiB GSO packet, an Ethernet and
 * VLAN header, and our vnet header in front. */
#define NET_MAX_FRAME (65535u + 14 + 4 + NET_HDR_LEN)
/* Chains or frames one queue handles before it yields to the other. */
#define NET_BUDGET	   256
#define NET_QUEUE_SIZE_DEF 256
#define NET_CONFIG_SIZE	   12 /* mac, status, max_virtqueue_pairs, mtu */
/* readv takes at most IOV_MAX (1024) segments: one is the bounce buffer. */
#define NET_RX_SEGS (VIRTQ_MAX_SEGS - 1)
/* Most buffers one received frame may take (mergeable). */
#define NET_RX_MAX_BUFS 1024

/* loop tags */
enum { EV_RX_KICK, EV_TX_KICK, EV_CTRL_KICK, EV_TAP, EV_RX_CALL, EV_TX_CALL };
#define FIRED(t) (1ULL << (t))

struct net;

/* One receive/transmit queue pair on one TAP queue. */
struct net_qp {
	struct net *net;
	unsigned int idx; /* pair number: rx queue 2*idx, tx queue 2*idx+1 */
	int tap_fd;
	struct virtio_loop loop;
	bool tap_polled; /* EPOLLIN on the TAP is armed (the guest has rx buffers) */

	struct virtq_chain txc;
	/* Receive: a chain popped but not yet filled (the TAP had nothing). */
	struct virtq_chain rxc;
	bool rxc_valid;
	struct iovec rxiov[NET_RX_SEGS + 1];
	/* A frame larger than its first buffer (mergeable): the rest waits in
	 * bounce until further buffers come. */
	uint8_t *bounce;
	bool pending;
	uint32_t over_len, over_done;
	uint16_t heads[NET_RX_MAX_BUFS];
	uint32_t lens[NET_RX_MAX_BUFS];
	unsigned int n_heads;
	uint8_t *num_buffers[2]; /* where the first header's num_buffers lives */
	/* counted by the pair's thread alone (ctr_bump); tx_dropped and
	 * rx_dropped: frames refused (a bad header, the kernel's refusal,
	 * no room in the guest's buffers) */
	uint64_t rx_bytes, rx_frames, tx_bytes, tx_frames, rx_dropped, tx_dropped;

	/* vhost=on: the worker's fd, and the call eventfds of ours for rx and
	 * tx that the loop forwards when the transport has no irqfd */
	int vhost_fd;
	int call[2];
	bool forward[2];
};

struct net {
	struct virtio_dev vdev;
	struct virtio_net_config config;
	struct tap tap;
	unsigned int n_pairs;
	bool has_ctrl, vhost;
	struct virtq_chain ctrlc;
	struct net_qp qp[TAP_MAX_QUEUES];
};

static bool mrg(const struct net *n)
{
	return virtio_has(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
}

static void tap_poll(struct net_qp *qp, bool on)
{
	if (qp->tap_polled != on && virtio_loop_watch(&qp->loop, EV_TAP, on ? EPOLLIN : 0) == 0)
		qp->tap_polled = on;
}

/* Store num_buffers (little endian, bytes 10-11 of the first header). */
static void set_num_buffers(struct net_qp *qp, uint16_t n)
{
	*qp->num_buffers[0] = (uint8_t)n;
	*qp->num_buffers[1] = (uint8_t)(n >> 8);
}

/* Pointer to byte `off` of a chain's writable segments, NULL past its end. */
static uint8_t *in_byte(const struct virtq_chain *c, size_t off)
{
	for (unsigned int i = 0; i < c->n_in; i++) {
		if (off < c->in[i].iov_len)
			return (uint8_t *)c->in[i].iov_base + off;
		off -= c->in[i].iov_len;
	}
	return NULL;
}

/* Next receive chain: the one kept from last time, or a new one.
 * 1 with a chain, 0 when the guest has none, -EIO when it broke the queue. */
static int rx_chain(struct net_qp *qp)
{
	struct virtq *q = &qp->net->vdev.vq[2 * qp->idx];
	struct err err;

	if (qp->rxc_valid)
		return 1;
	int rc = virtq_pop(q, &qp->rxc, &err);
	if (rc < 0)
		virtio_dev_broken(&qp->net->vdev, 2 * qp->idx, err.msg);
	qp->rxc_valid = rc > 0;
	return rc;
}

/* Push the chains of the pending frame, all at once (the driver wants a
 * mergeable frame's buffers consecutive in the used ring). */
static void rx_finish(struct net_qp *qp)
{
	struct virtq *q = &qp->net->vdev.vq[2 * qp->idx];

	set_num_buffers(qp, (uint16_t)qp->n_heads);
	for (unsigned int i = 0; i < qp->n_heads; i++)
		virtq_push(q, qp->heads[i], qp->lens[i]);
	qp->pending = false;
	qp->n_heads = 0;
}

/* Give the remaining bytes of a frame to further buffers. 1 when the frame
 * is complete, 0 when the guest has no more buffers yet, -EIO. */
static int rx_continue(struct net_qp *qp)
{
	struct virtq *q = &qp->net->vdev.vq[2 * qp->idx];

	while (qp->over_done < qp->over_len) {
		int rc = rx_chain(qp);
		if (rc <= 0)
			return rc;
		qp->rxc_valid = false;
		size_t n = buf_to_iov(qp->rxc.in, qp->rxc.n_in, 0, qp->bounce + qp->over_done,
				      qp->over_len - qp->over_done);
		qp->over_done += (uint32_t)n;
		qp->heads[qp->n_heads] = qp->rxc.head;
		qp->lens[qp->n_heads] = (uint32_t)n;
		qp->n_heads++;
		if (qp->over_done < qp->over_len &&
		    (qp->n_heads == q->size || qp->n_heads == NET_RX_MAX_BUFS)) {
			/* the guest's whole ring cannot hold the frame: drop it */
			for (unsigned int i = 0; i < qp->n_heads; i++)
				qp->lens[i] = 0;
			ctr_bump(&qp->rx_dropped, 1);
			break;
		}
	}
	rx_finish(qp);
	return 1;
}

/* Move frames from the TAP into the guest's receive buffers. */
static void rx_run(struct net_qp *qp)
{
	struct net *n = qp->net;
	struct virtq *q = &n->vdev.vq[2 * qp->idx];
	uint16_t before = q->used_idx;
	int frames = 0, rc;

	for (;;) {
		if (qp->pending) {
			rc = rx_continue(qp);
			if (rc < 0)
				return;
			if (!rc)
				goto no_buffers;
		}
		if (frames++ == NET_BUDGET)
			break;
		rc = rx_chain(qp);
		if (rc < 0)
			return;
		if (!rc)
			goto no_buffers;
		struct virtq_chain *c = &qp->rxc;
		unsigned int nseg = c->n_in < NET_RX_SEGS ? c->n_in : NET_RX_SEGS;
		size_t cap = 0;
		for (unsigned int i = 0; i < nseg; i++) {
			qp->rxiov[i] = c->in[i];
			cap += c->in[i].iov_len;
		}
		qp->rxiov[nseg] = (struct iovec){ qp->bounce, NET_MAX_FRAME };
		ssize_t len = readv(qp->tap_fd, qp->rxiov, (int)nseg + 1);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				tap_poll(qp, false); /* the TAP is gone: stop listening */
			break;			     /* keep the chain for the next frame */
		}
		qp->rxc_valid = false;
		if (cap < NET_HDR_LEN || (size_t)len < NET_HDR_LEN ||
		    ((size_t)len > cap && !mrg(n))) {
			/* no room for the header, or the frame does not fit */
			virtq_push(q, c->head, 0);
			ctr_bump(&qp->rx_dropped, 1);
			continue;
		}
		ctr_bump(&qp->rx_bytes, (uint64_t)len - NET_HDR_LEN);
		ctr_bump(&qp->rx_frames, 1);
		qp->num_buffers[0] = in_byte(c, 10);
		qp->num_buffers[1] = in_byte(c, 11);
		qp->heads[0] = c->head;
		qp->lens[0] = (uint32_t)((size_t)len < cap ? (size_t)len : cap);
		qp->n_heads = 1;
		qp->pending = true;
		if ((size_t)len > cap) {
			/* the bytes past the first buffer are at the start of bounce */
			qp->over_len = (uint32_t)((size_t)len - cap);
			qp->over_done = 0;
		} else {
			qp->over_len = qp->over_done = 0;
		}
	}
	tap_poll(qp, true);
	goto out;
no_buffers:
	/* Sleep on the rx kick, not on the TAP, until buffers come. */
	if (virtq_enable_notify(q)) {
		uint64_t one = 1;
		/* more arrived meanwhile: come back through the kick */
		if (write(qp->net->vdev.kick_fd[2 * qp->idx], &one, sizeof(one)) < 0)
			tap_poll(qp, true);
	} else {
		tap_poll(qp, false);
	}
out:
	if (q->used_idx != before)
		virtio_queue_notify(&n->vdev, 2 * qp->idx);
}

/* A frame from the guest to the TAP: header and frame go as they are. */
static uint32_t tx_one(void *opaque, struct virtq_chain *c)
{
	struct net_qp *qp = opaque;

	ssize_t n = c->out_len < NET_HDR_LEN ? -1 : writev(qp->tap_fd, c->out, (int)c->n_out);
	if (n < (ssize_t)NET_HDR_LEN) {
		ctr_bump(&qp->tx_dropped, 1); /* bad header, or the kernel refused it */
	} else {
		ctr_bump(&qp->tx_bytes, (uint64_t)n - NET_HDR_LEN);
		ctr_bump(&qp->tx_frames, 1);
	}
	return 0;
}

/* A control command: only VQ_PAIRS_SET is offered (with MQ). */
static uint32_t ctrl_one(void *opaque, struct virtq_chain *c)
{
	struct net *n = opaque;
	struct virtio_net_ctrl_hdr h;
	uint16_t pairs;
	uint8_t ack = VIRTIO_NET_ERR;

	if (!c->in_len)
		return 0;
	if (iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h)) == sizeof(h) &&
	    h.class == VIRTIO_NET_CTRL_MQ && h.cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
	    iov_to_buf(c->out, c->n_out, sizeof(h), &pairs, 2) == 2 && pairs >= 1 &&
	    pairs <= n->n_pairs)
		ack = VIRTIO_NET_OK;
	/* the ack is the last writable byte */
	*in_byte(c, c->in_len - 1) = ack;
	return 1;
}

static void qp_run(void *opaque, uint64_t fired)
{
	struct net_qp *qp = opaque;
	struct virtio_dev *vd = &qp->net->vdev;

	if (qp->net->vhost) {
		/* the first call (START) has every bit set: nothing signalled yet */
		for (unsigned int j = 0; j < 2 && fired != VIRTIO_LOOP_START; j++)
			if ((fired & FIRED(EV_RX_CALL + j)) && vd->irq)
				vd->irq->queue(vd->irq_opaque, 2 * qp->idx + j);
		fired &= FIRED(EV_CTRL_KICK);
	}

	if (fired & FIRED(EV_TX_KICK))
		virtio_queue_serve(&qp->net->vdev, 2 * qp->idx + 1, &qp->txc, NET_BUDGET, tx_one,
				   qp);
	if (fired & (FIRED(EV_RX_KICK) | FIRED(EV_TAP)))
		rx_run(qp);
	/* the control queue belongs to pair 0's thread */
	if ((fired & FIRED(EV_CTRL_KICK)) && qp->net->has_ctrl && !qp->idx &&
	    qp->net->vdev.vq[2 * qp->net->n_pairs].ready)
		virtio_queue_serve(&qp->net->vdev, 2 * qp->net->n_pairs, &qp->net->ctrlc,
				   NET_BUDGET, ctrl_one, qp->net);
}

static void qp_stop(struct net_qp *qp)
{
	virtio_loop_stop(&qp->loop);
	vhost_net_stop(&qp->vhost_fd);
	qp->rxc_valid = false;
	qp->pending = false;
	qp->n_heads = 0;
}

/* vhost=on: hand the pair to a vhost worker; our loop, if any, serves the
 * control queue and forwards calls the transport has no eventfd for. */
static int qp_start_vhost(struct net_qp *qp)
{
	struct net *n = qp->net;
	struct virtio_dev *vd = &n->vdev;
	int ctrl = n->has_ctrl && !qp->idx ? vd->kick_fd[2 * n->n_pairs] : -1;
	struct vhost_net_pair p = { .tap_fd = qp->tap_fd };
	int rc;

	for (unsigned int j = 0; j < 2; j++) {
		unsigned int q = 2 * qp->idx + j;
		int fd = vd->irq && vd->irq->queue_fd ? vd->irq->queue_fd(vd->irq_opaque, q) : -1;
		p.vq[j] = &vd->vq[q];
		p.kick[j] = vd->kick_fd[q];
		qp->forward[j] = fd < 0;
		p.call[j] = fd < 0 ? qp->call[j] : fd;
	}
	rc = vhost_net_start(&qp->vhost_fd, &p, vd->driver_features, vd->mem);
	if (rc) {
		log_msg(LV_ERROR, "virtio-net", "virtio-net: tap '%s': vhost-net: %s", n->tap.name,
			strerror(-rc));
		return rc;
	}
	if (ctrl < 0 && !qp->forward[0] && !qp->forward[1])
		return 0; /* nothing left for a thread of ours */
	if ((rc = virtio_loop_init(&qp->loop, SC_NET, qp->net->vdev.gate, qp_run, qp)) ||
	    (qp->forward[0] &&
	     (rc = virtio_loop_add(&qp->loop, qp->call[0], EPOLLIN, EV_RX_CALL, true))) ||
	    (qp->forward[1] &&
	     (rc = virtio_loop_add(&qp->loop, qp->call[1], EPOLLIN, EV_TX_CALL, true))) ||
	    (ctrl >= 0 && (rc = virtio_loop_add(&qp->loop, ctrl, EPOLLIN, EV_CTRL_KICK, true))) ||
	    (rc = virtio_loop_start(&qp->loop)))
		qp_stop(qp);
	return rc;
}

static int qp_start(struct net_qp *qp)
{
	struct net *n = qp->net;
	int ctrl = n->has_ctrl && !qp->idx ? n->vdev.kick_fd[2 * n->n_pairs] : -1;
	int rc;

	if (n->vhost)
		return qp_start_vhost(qp);
	rc = virtio_loop_init(&qp->loop, SC_NET, qp->net->vdev.gate, qp_run, qp);

	if (rc)
		return rc;
	qp->tap_polled = true;
	virtio_loop_count(&qp->loop, EV_RX_KICK, &n->vdev.stats.kicks[2 * qp->idx]);
	virtio_loop_count(&qp->loop, EV_TX_KICK, &n->vdev.stats.kicks[2 * qp->idx + 1]);
	if (ctrl >= 0)
		virtio_loop_count(&qp->loop, EV_CTRL_KICK, &n->vdev.stats.kicks[2 * n->n_pairs]);
	if ((rc = virtio_loop_add(&qp->loop, n->vdev.kick_fd[2 * qp->idx], EPOLLIN, EV_RX_KICK,
				  true)) ||
	    (rc = virtio_loop_add(&qp->loop, n->vdev.kick_fd[2 * qp->idx + 1], EPOLLIN, EV_TX_KICK,
				  true)) ||
	    (rc = virtio_loop_add(&qp->loop, qp->tap_fd, EPOLLIN, EV_TAP, false)) ||
	    (ctrl >= 0 && (rc = virtio_loop_add(&qp->loop, ctrl, EPOLLIN, EV_CTRL_KICK, true))) ||
	    (rc = virtio_loop_start(&qp->loop)))
		virtio_loop_stop(&qp->loop);
	return rc;
}

static unsigned int tun_offloads(const struct net *n)
{
	unsigned int f = 0;

	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_CSUM))
		f |= TUN_F_CSUM;
	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_ECN))
		f |= TUN_F_TSO_ECN;
	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

static void qp_free(struct net_qp *qp)
{
	free(qp->bounce);
	for (unsigned int j = 0; j < 2; j++)
		if (qp->call[j] >= 0)
			close(qp->call[j]);
}

static void net_reset(struct virtio_dev *vd);

static int net_activate(struct virtio_dev *vd)
{
	struct net *n = vd->priv;
	int rc = tap_set_offload(&n->tap, tun_offloads(n));

	if (rc) {
		log_msg(LV_ERROR, "virtio-net", "virtio-net: tap '%s': TUNSETOFFLOAD: %s",
			n->tap.name, strerror(-rc));
		return rc;
	}
	for (unsigned int i = 0; i < n->n_pairs; i++) {
		if (!vd->vq[2 * i].ready || !vd->vq[2 * i + 1].ready)
			continue;
		rc = qp_start(&n->qp[i]);
		if (rc) {
			net_reset(vd);
			return rc;
		}
	}
	return 0;
}

static void net_reset(struct virtio_dev *vd)
{
	struct net *n = vd->priv;

	for (unsigned int i = 0; i < n->n_pairs; i++)
		qp_stop(&n->qp[i]);
	tap_set_offload(&n->tap, 0);
}

static void net_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	struct net *n = vd->priv;
	struct virtio_net_config c = n->config;

	c.status = __atomic_load_n(&n->config.status, __ATOMIC_ACQUIRE);
	virtio_config_copy(data, off, size, &c, NET_CONFIG_SIZE);
}

static void net_free(struct virtio_dev *vd)
{
	struct net *n = vd->priv;

	net_reset(vd);
	tap_close(&n->tap);
	for (unsigned int i = 0; i < n->n_pairs; i++)
		qp_free(&n->qp[i]);
	free(n);
}

static const struct ctr_desc c_net[] = {
	{ "net", "rx_bytes", "Bytes of frames from the TAP to the guest", false, NULL, NULL },
	{ "net", "rx_frames", "Frames from the TAP to the guest", false, NULL, NULL },
	{ "net", "tx_bytes", "Bytes of frames from the guest to the TAP", false, NULL, NULL },
	{ "net", "tx_frames", "Frames from the guest to the TAP", false, NULL, NULL },
	{ "net", "rx_dropped", "Frames from the TAP dropped (no room in the guest's buffers)",
	  false, NULL, NULL },
	{ "net", "tx_dropped", "Frames from the guest dropped (bad header, refused by the TAP)",
	  false, NULL, NULL },
};

/* The sums over the queue pairs (vhost=on: the kernel moves the frames,
 * and only the drops svmm saw count). */
static void net_counters(struct virtio_dev *vd, struct ctr_set *out)
{
	struct net *n = vd->priv;
	uint64_t sum[6] = { 0 };

	for (unsigned int i = 0; i < n->n_pairs; i++) {
		const struct net_qp *qp = &n->qp[i];
		const uint64_t *v[] = { &qp->rx_bytes,	&qp->rx_frames,	 &qp->tx_bytes,
					&qp->tx_frames, &qp->rx_dropped, &qp->tx_dropped };
		for (size_t k = 0; k < 6; k++)
			sum[k] += ctr_read(v[k]);
	}
	for (size_t k = 0; k < 6; k++)
		ctr_put(out, &c_net[k], -1, sum[k]);
}

/* vm.snapshot: the TAP comes back from the configuration; with vhost=on
 * the kernel's worker holds the rings' indices, which svmm cannot read
 * back: refused. */
static int net_save(struct virtio_dev *vd, struct snap_w *w, const char *pfx, struct err *err)
{
	struct net *n = vd->priv;

	(void)w;
	(void)pfx;
	if (n->vhost)
		return err_set(err, ENOTSUP,
			       "%s (vhost=on): the vhost-net worker's queue state cannot be saved",
			       vd->name);
	/* receive buffers taken and not answered (its threads wait at the
	 * gate): the restored device takes them again; a frame waiting for
	 * more buffers is lost, as on a wire */
	for (unsigned int i = 0; i < n->n_pairs; i++) {
		const struct net_qp *qp = &n->qp[i];
		unsigned int held = (qp->rxc_valid ? 1 : 0) + (qp->pending ? qp->n_heads : 0);
		if (2 * i < VIRTIO_MAX_QUEUES)
			vd->snap_held[2 * i] = (uint16_t)held;
	}
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.activate = net_activate,
	.reset = net_reset,
	.config_read = net_config_read,
	.free = net_free,
	.counters = net_counters,
	.save = net_save,
};

const char *virtio_net_tap_name(const struct virtio_dev *vd)
{
	const struct net *n = vd->priv;
	return n->tap.name;
}

void virtio_net_set_link(struct virtio_dev *vd, bool up)
{
	struct net *n = vd->priv;

	__atomic_store_n(&n->config.status, up ? VIRTIO_NET_S_LINK_UP : 0, __ATOMIC_RELEASE);
	if (vd->irq && (vd->status & VIRTIO_STATUS_DRIVER_OK))
		vd->irq->config(vd->irq_opaque);
}

static uint64_t net_features(const struct net *n, const struct virtio_net_opts *o)
{
	unsigned int ok = n->tap.offload_ok;
	uint64_t f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
		     (1ULL << VIRTIO_NET_F_MRG_RXBUF);

	if (o->mtu)
		f |= 1ULL << VIRTIO_NET_F_MTU;
	if (n->has_ctrl)
		f |= (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_MQ);
	if (!o->offload_csum)
		return f;
	/* guest to host: the TAP takes partial checksums and GSO as they are */
	f |= 1ULL << VIRTIO_NET_F_CSUM;
	if (o->offload_tso)
		f |= (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
		     (1ULL << VIRTIO_NET_F_HOST_ECN);
	if (o->offload_ufo && (ok & TUN_F_UFO))
		f |= 1ULL << VIRTIO_NET_F_HOST_UFO;
	/* host to guest: what TUNSETOFFLOAD can ask of this kernel */
	if (!(ok & TUN_F_CSUM))
		return f;
	f |= 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	if (o->offload_tso) {
		if (ok & TUN_F_TSO4)
			f |= 1ULL << VIRTIO_NET_F_GUEST_TSO4;
		if (ok & TUN_F_TSO6)
			f |= 1ULL << VIRTIO_NET_F_GUEST_TSO6;
		if ((ok & TUN_F_TSO_ECN) && (ok & (TUN_F_TSO4 | TUN_F_TSO6)))
			f |= 1ULL << VIRTIO_NET_F_GUEST_ECN;
	}
	if (o->offload_ufo && (ok & TUN_F_UFO))
		f |= 1ULL << VIRTIO_NET_F_GUEST_UFO;
	return f;
}

/* vhost=on needs a /dev/vhost-net that serves our ring features. */
static int vhost_probe(struct err *err)
{
	uint64_t f = 0;
	int rc = vhost_net_probe(&f);

	if (rc == -ENOTSUP)
		return err_set(err, rc,
			       "net: vhost=on: " VHOST_NET_DEV " lacks ring features (has 0x%llx, "
			       "needs 0x%llx)",
			       (unsigned long long)f,
			       (unsigned long long)vhost_net_ring_features());
	if (rc)
		return err_set(err, rc, "net: vhost=on: " VHOST_NET_DEV ": %s%s", strerror(-rc),
			       rc == -ENOENT ? " (modprobe vhost_net)" : "");
	return 0;
}

/* Configure the host side of a TAP: CH sets no address on a TAP that
 * existed already (the blueprint manager relies on it not failing). */
static int host_side(struct net *n, const struct virtio_net_opts *o, struct err *err)
{
	const char *name = n->tap.name;
	int rc = 0;

	if (o->has_host_mac && (rc = tap_set_mac(name, o->host_mac)))
		return err_set(err, rc, "tap '%s': host_mac: %s", name, strerror(-rc));
	if (o->mtu && (rc = tap_set_mtu(name, o->mtu)))
		return err_set(err, rc, "tap '%s': mtu %u: %s", name, o->mtu, strerror(-rc));
	if (o->has_ip && n->tap.created && (rc = tap_set_ipv4(name, o->ip, o->mask)))
		return err_set(err, rc, "tap '%s': ip/mask: %s", name, strerror(-rc));
	if ((rc = tap_set_up(name)))
		return err_set(err, rc, "tap '%s': up: %s", name, strerror(-rc));
	return 0;
}

int virtio_net_create(struct virtio_dev **out, const struct virtio_net_opts *o, struct err *err)
{
	unsigned int pairs = (o->num_queues ? o->num_queues : 2) / 2;
	int rc;

	if (!pairs || pairs > TAP_MAX_QUEUES)
		return err_set(err, -EINVAL, "net: num_queues=%u (2 to %u, even)", o->num_queues,
			       2 * TAP_MAX_QUEUES);
	if (o->n_fds && o->n_fds != pairs)
		return err_set(err, -EINVAL, "net: %u fd= given for %u queue pairs", o->n_fds,
			       pairs);
	uint32_t qs = o->queue_size ? o->queue_size : NET_QUEUE_SIZE_DEF;
	if (!virtq_size_valid(qs))
		return err_set(err, -EINVAL, "net: queue_size=%u: a power of two from 2 to %u", qs,
			       VIRTQ_MAX_SIZE);
	struct net *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	rc = o->n_fds ? tap_adopt(&n->tap, o->fds, o->n_fds, err)
		      : tap_open(&n->tap, o->tap, pairs, false, err);
	if ((rc == -EPERM || rc == -EACCES) && !o->n_fds && err) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, "; or pass an open fd=");
	}
	if (rc) {
		free(n);
		return rc;
	}
	n->n_pairs = pairs;
	n->has_ctrl = pairs > 1;
	n->vhost = o->vhost;
	for (unsigned int i = 0; i < pairs; i++)
		n->qp[i].call[0] = n->qp[i].call[1] = n->qp[i].vhost_fd = -1;
	if (o->vhost && (rc = vhost_probe(err)))
		goto fail;
	rc = host_side(n, o, err);
	if (rc)
		goto fail;
	for (unsigned int i = 0; i < pairs; i++) {
		struct net_qp *qp = &n->qp[i];
		qp->net = n;
		qp->idx = i;
		qp->tap_fd = n->tap.fd[i];
		if (o->vhost) {
			for (unsigned int j = 0; j < 2; j++)
				if ((qp->call[j] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
					rc = err_sys(err, errno, "net: eventfd");
					goto fail;
				}
			continue; /* the kernel moves the frames */
		}
		qp->bounce = malloc(NET_MAX_FRAME);
		if (!qp->bounce) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (o->has_mac) {
		memcpy(n->config.mac, o->mac, 6);
	} else {
		if (getrandom(n->config.mac, 6, 0) != 6) {
			rc = -EIO;
			err_set(err, rc, "net: no random MAC: getrandom failed");
			goto fail;
		}
		n->config.mac[0] = (n->config.mac[0] & 0xfe) | 0x02; /* unicast, local */
	}
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = (uint16_t)pairs;
	n->config.mtu = (uint16_t)o->mtu;

	struct virtio_dev *vd = &n->vdev;
	vd->name = "virtio-net";
	vd->device_id = VIRTIO_ID_NET;
	vd->features = net_features(n, o);
	vd->config_size = NET_CONFIG_SIZE;
	vd->num_queues = 2 * pairs + (n->has_ctrl ? 1 : 0);
	vd->queue_size_max = (uint16_t)qs;
	vd->ops = &net_ops;
	vd->priv = n;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	*out = vd;
	return 0;
fail:
	tap_close(&n->tap);
	for (unsigned int i = 0; i < pairs; i++)
		qp_free(&n->qp[i]);
	free(n);
	return rc;
}
