// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock: the device side of the queues; the muxer does the rest. */
#include "devices/virtio/vsock/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/virtio/loop.h"
#include "devices/virtio/vsock/vsock_mux.h"
#include "vmm/kvm/log.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RX	 0
#define VSOCK_TX	 1
#define VSOCK_EVT	 2
/* Packets one queue handles before the other gets a turn. */
#define VSOCK_BUDGET 256
/* Largest payload accepted from the guest (Linux sends at most 64 KiB). */
#define VSOCK_MAX_PKT (64u * 1024)

/* loop tags: the queue numbers, then the muxer */
enum { EV_MUX = 3 };

struct vsock {
	struct virtio_dev vdev;
	struct virtio_vsock_config config;
	struct vsock_mux mux;
	struct virtio_loop loop;
	struct virtq_chain txc;
	struct iovec payload[VIRTQ_MAX_SEGS];
	struct virtq_chain rxc; /* popped, not yet filled */
	bool rxc_valid;
};

/* A guest packet from the transmit queue into the muxer; malformed ones
 * are dropped (the guest times out). */
static uint32_t tx_one(void *opaque, struct virtq_chain *c)
{
	struct vsock *v = opaque;
	struct virtio_vsock_hdr h;

	if (iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h)) != sizeof(h) || h.len > VSOCK_MAX_PKT ||
	    h.len > c->out_len - sizeof(h))
		return 0;
	/* the payload: the readable bytes after the header */
	unsigned int n = 0;
	size_t skip = sizeof(h), left = h.len;
	for (unsigned int i = 0; i < c->n_out && left; i++) {
		if (skip >= c->out[i].iov_len) {
			skip -= c->out[i].iov_len;
			continue;
		}
		size_t k = c->out[i].iov_len - skip;
		if (k > left)
			k = left;
		v->payload[n++] = (struct iovec){ (char *)c->out[i].iov_base + skip, k };
		left -= k;
		skip = 0;
	}
	if (h.op != VIRTIO_VSOCK_OP_RW)
		h.len = 0;
	vsock_mux_from_guest(&v->mux, &h, v->payload, n);
	return 0;
}

/* Muxer packets into the guest's receive buffers, while both last. */
static void rx_run(struct vsock *v)
{
	struct virtq *q = &v->vdev.vq[VSOCK_RX];
	uint16_t before = q->used_idx;
	struct err err;
	int budget = VSOCK_BUDGET;

	while (vsock_mux_pending(&v->mux) && budget--) {
		if (!v->rxc_valid) {
			int rc = virtq_pop(q, &v->rxc, &err);
			if (rc < 0) {
				virtio_dev_broken(&v->vdev, VSOCK_RX, err.msg);
				break;
			}
			if (!rc) {
				if (virtq_enable_notify(q))
					continue; /* buffers came meanwhile */
				break;		  /* the rx kick brings us back */
			}
			v->rxc_valid = true;
		}
		size_t len = vsock_mux_to_guest(&v->mux, v->rxc.in, v->rxc.n_in);
		if (!len) {
			if (v->rxc.in_len < sizeof(struct virtio_vsock_hdr)) {
				virtq_push(q, v->rxc.head, 0); /* useless buffer */
				v->rxc_valid = false;
				continue;
			}
			break; /* nothing to send after all: keep the buffer */
		}
		virtq_push(q, v->rxc.head, (uint32_t)len);
		v->rxc_valid = false;
	}
	if (budget < 0 && vsock_mux_pending(&v->mux)) {
		uint64_t one = 1; /* more to do: come back after the others */
		if (write(v->vdev.kick_fd[VSOCK_RX], &one, sizeof(one)) < 0)
			log_msg(LV_ERROR, "virtio-vsock", "virtio-vsock: %s", strerror(errno));
	}
	if (q->used_idx != before)
		virtio_queue_notify(&v->vdev, VSOCK_RX);
}

static void vsock_run(void *opaque, uint64_t fired)
{
	struct vsock *v = opaque;

	(void)fired; /* any event: guest packets first (they may free credit or
		      * answer requests), then the sockets, then the guest's rx */
	virtio_queue_serve(&v->vdev, VSOCK_TX, &v->txc, VSOCK_BUDGET, tx_one, v);
	vsock_mux_poll(&v->mux);
	rx_run(v);
}

static int vsock_activate(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;
	int rc;

	if (!vd->vq[VSOCK_RX].ready || !vd->vq[VSOCK_TX].ready)
		return 0;
	rc = virtio_loop_init(&v->loop, SC_VSOCK, v->vdev.gate, vsock_run, v);
	if (rc)
		return rc;
	for (unsigned int q = VSOCK_RX; q <= VSOCK_EVT; q++)
		virtio_loop_count(&v->loop, q, &vd->stats.kicks[q]);
	if ((rc = virtio_loop_add(&v->loop, vd->kick_fd[VSOCK_RX], EPOLLIN, VSOCK_RX, true)) ||
	    (rc = virtio_loop_add(&v->loop, vd->kick_fd[VSOCK_TX], EPOLLIN, VSOCK_TX, true)) ||
	    (rc = virtio_loop_add(&v->loop, vsock_mux_fd(&v->mux), EPOLLIN, EV_MUX, false)) ||
	    /* the event queue only holds buffers (for transport resets) */
	    (vd->kick_fd[VSOCK_EVT] >= 0 &&
	     (rc = virtio_loop_add(&v->loop, vd->kick_fd[VSOCK_EVT], EPOLLIN, VSOCK_EVT, true))) ||
	    (rc = virtio_loop_start(&v->loop)))
		virtio_loop_stop(&v->loop);
	return rc;
}

static void vsock_reset(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;

	virtio_loop_stop(&v->loop);
	v->rxc_valid = false;
	/* the guest forgot its connections: so do we */
	vsock_mux_reset(&v->mux);
}

static void vsock_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	struct vsock *v = vd->priv;

	virtio_config_copy(data, off, size, &v->config, sizeof(v->config));
}

static void vsock_free(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;

	vsock_reset(vd);
	vsock_mux_close(&v->mux);
	free(v);
}

static const struct ctr_desc c_vsock[] = {
	{ "vsock", "conns_opened", "Connections established (either way)", false, NULL, NULL },
	{ "vsock", "conns_refused", "Connections refused (nobody listened)", false, NULL, NULL },
	{ "vsock", "conns_reset", "Connections reset by svmm", false, NULL, NULL },
	{ "vsock", "tx_bytes", "Payload bytes from the guest to the host", false, NULL, NULL },
	{ "vsock", "rx_bytes", "Payload bytes from the host to the guest", false, NULL, NULL },
};

static void vsock_counters(struct virtio_dev *vd, struct ctr_set *out)
{
	const struct vsock_mux *m = &((struct vsock *)vd->priv)->mux;
	const uint64_t *v[] = { &m->conns_opened, &m->conns_refused, &m->conns_reset, &m->tx_bytes,
				&m->rx_bytes };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ctr_put(out, &c_vsock[i], -1, ctr_read(v[i]));
}

/* vm.snapshot: the receive buffer taken and not yet filled goes back
 * (the restored device takes it again). */
static int vsock_save(struct virtio_dev *vd, struct snap_w *w, const char *pfx, struct err *err)
{
	struct vsock *v = vd->priv;

	(void)w;
	(void)pfx;
	(void)err;
	vd->snap_held[VSOCK_RX] = v->rxc_valid ? 1 : 0;
	return 0;
}

/* Restore: the host side's connections did not survive, so tell the
 * guest its are gone, as cloud-hypervisor does: a transport reset event
 * (virtio 1.x 5.10.6.6) in the event queue's next buffer. */
static int vsock_restore(struct virtio_dev *vd, const struct snap_r *r, const char *pfx,
			 struct err *err)
{
	struct vsock *v = vd->priv;
	struct virtq *q = &vd->vq[VSOCK_EVT];
	uint32_t ev = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET;
	struct err e;

	(void)r;
	(void)pfx;
	(void)err;
	if (!q->ready)
		return 0;
	int rc = virtq_pop(q, &v->txc, &e);
	if (rc <= 0) {
		log_msg(LV_NOTE, vd->name, "%s: no event buffer for the transport reset", vd->name);
		return 0;
	}
	size_t n = buf_to_iov(v->txc.in, v->txc.n_in, 0, &ev, sizeof(ev));
	virtq_push(q, v->txc.head, (uint32_t)n);
	virtio_queue_notify(vd, VSOCK_EVT);
	return 0;
}

static const struct virtio_dev_ops vsock_ops = {
	.activate = vsock_activate,
	.reset = vsock_reset,
	.config_read = vsock_config_read,
	.free = vsock_free,
	.counters = vsock_counters,
	.save = vsock_save,
	.restore = vsock_restore,
};

int virtio_vsock_create(struct virtio_dev **out, const struct virtio_vsock_opts *o, struct err *err)
{
	struct vsock *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	rc = vsock_mux_init(&v->mux, o->socket, o->cid, err);
	if (rc) {
		free(v);
		return rc;
	}
	v->config.guest_cid = o->cid;
	struct virtio_dev *vd = &v->vdev;
	vd->name = "virtio-vsock";
	vd->device_id = VIRTIO_ID_VSOCK;
	vd->features = 0;
	vd->config_size = sizeof(v->config);
	vd->num_queues = 3;
	vd->queue_size_max = VSOCK_QUEUE_SIZE;
	vd->ops = &vsock_ops;
	vd->priv = v;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	*out = vd;
	return 0;
}
