// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock: the device side of the queues; the muxer does the rest. */
#include "devices/virtio/vsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/vsock_mux.h"
#include "vmm/options.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RX	 0
#define VSOCK_TX	 1
#define VSOCK_EVT	 2
/* Packets one queue handles before the other gets a turn. */
#define VSOCK_BUDGET 256
/* Largest payload accepted from the guest (Linux sends at most 64 KiB). */
#define VSOCK_MAX_PKT (64u * 1024)

enum { EV_RX, EV_TX, EV_EVT, EV_MUX, EV_STOP };

struct vsock {
	struct virtio_dev vdev;
	struct virtio_vsock_config config;
	struct vsock_mux mux;
	pthread_t thread;
	bool running;
	int ep, stop_efd;
	struct virtq_chain txc;
	struct virtq_chain rxc; /* popped, not yet filled */
	bool rxc_valid;
};

/* Guest packets from the transmit queue into the muxer. */
static void tx_run(struct vsock *v)
{
	struct virtq *q = &v->vdev.vq[VSOCK_TX];
	uint16_t before = q->used_idx;
	char err[160];
	int rc, budget = VSOCK_BUDGET;

	do {
		while ((rc = virtq_pop(q, &v->txc, err, sizeof(err))) > 0) {
			struct virtq_chain *c = &v->txc;
			struct virtio_vsock_hdr h;
			if (iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h)) == sizeof(h) &&
			    h.len <= VSOCK_MAX_PKT && h.len <= c->out_len - sizeof(h)) {
				/* the payload: the readable bytes after the header */
				struct iovec pl[VIRTQ_MAX_SEGS];
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
					pl[n++] = (struct iovec){ (char *)c->out[i].iov_base + skip,
								  k };
					left -= k;
					skip = 0;
				}
				if (h.op != VIRTIO_VSOCK_OP_RW)
					h.len = 0;
				vsock_mux_from_guest(&v->mux, &h, pl, n);
			}
			/* malformed packets are dropped (the guest times out) */
			virtq_push(q, c->head, 0);
			if (--budget == 0) {
				uint64_t one = 1;
				if (write(v->vdev.kick_fd[VSOCK_TX], &one, sizeof(one)) < 0)
					break;
				goto out;
			}
		}
		if (rc < 0) {
			virtio_dev_broken(&v->vdev, VSOCK_TX, err);
			break;
		}
	} while (virtq_enable_notify(q));
out:
	if (q->used_idx != before)
		virtio_queue_notify(&v->vdev, VSOCK_TX);
}

/* Muxer packets into the guest's receive buffers, while both last. */
static void rx_run(struct vsock *v)
{
	struct virtq *q = &v->vdev.vq[VSOCK_RX];
	uint16_t before = q->used_idx;
	char err[160];
	int budget = VSOCK_BUDGET;

	while (vsock_mux_pending(&v->mux) && budget--) {
		if (!v->rxc_valid) {
			int rc = virtq_pop(q, &v->rxc, err, sizeof(err));
			if (rc < 0) {
				virtio_dev_broken(&v->vdev, VSOCK_RX, err);
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
			perror("svmm: virtio-vsock");
	}
	if (q->used_idx != before)
		virtio_queue_notify(&v->vdev, VSOCK_RX);
}

static void *vsock_main(void *arg)
{
	struct vsock *v = arg;

	tx_run(v);
	vsock_mux_poll(&v->mux);
	rx_run(v);
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(v->ep, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t val;
			uint32_t tag = evs[i].data.u32;
			if (tag == EV_STOP)
				return NULL;
			if (tag != EV_MUX && read(v->vdev.kick_fd[tag], &val, sizeof(val)) < 0 &&
			    errno != EAGAIN)
				return NULL;
		}
		/* guest packets first: they may free credit or answer requests */
		tx_run(v);
		vsock_mux_poll(&v->mux);
		rx_run(v);
	}
	return NULL;
}

static int ep_add(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int vsock_activate(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;
	int rc;

	if (!vd->vq[VSOCK_RX].ready || !vd->vq[VSOCK_TX].ready)
		return 0;
	v->ep = epoll_create1(EPOLL_CLOEXEC);
	v->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->ep < 0 || v->stop_efd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = ep_add(v->ep, v->stop_efd, EV_STOP)) ||
	    (rc = ep_add(v->ep, vd->kick_fd[VSOCK_RX], EV_RX)) ||
	    (rc = ep_add(v->ep, vd->kick_fd[VSOCK_TX], EV_TX)) ||
	    (rc = ep_add(v->ep, vsock_mux_fd(&v->mux), EV_MUX)))
		goto fail;
	/* the event queue only holds buffers (for transport resets) */
	if (vd->kick_fd[VSOCK_EVT] >= 0 && (rc = ep_add(v->ep, vd->kick_fd[VSOCK_EVT], EV_EVT)))
		goto fail;
	rc = -pthread_create(&v->thread, NULL, vsock_main, v);
	if (rc)
		goto fail;
	v->running = true;
	return 0;
fail:
	if (v->ep >= 0)
		close(v->ep);
	if (v->stop_efd >= 0)
		close(v->stop_efd);
	return rc;
}

static void vsock_reset(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;
	uint64_t one = 1;

	if (v->running) {
		if (write(v->stop_efd, &one, sizeof(one)) != sizeof(one))
			perror("svmm: virtio-vsock stop");
		pthread_join(v->thread, NULL);
		close(v->ep);
		close(v->stop_efd);
		v->running = false;
	}
	v->rxc_valid = false;
	/* the guest forgot its connections: so do we */
	vsock_mux_reset(&v->mux);
}

static void vsock_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	struct vsock *v = vd->priv;

	memset(data, 0, size);
	if (off < sizeof(v->config))
		memcpy(data, (uint8_t *)&v->config + off,
		       size < sizeof(v->config) - off ? size : sizeof(v->config) - off);
}

static void vsock_free(struct virtio_dev *vd)
{
	struct vsock *v = vd->priv;

	vsock_reset(vd);
	vsock_mux_close(&v->mux);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.activate = vsock_activate,
	.reset = vsock_reset,
	.config_read = vsock_config_read,
	.free = vsock_free,
};

int virtio_vsock_create(struct virtio_dev **out, const struct virtio_vsock_opts *o, char *err,
			unsigned int errlen)
{
	struct vsock *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	rc = vsock_mux_init(&v->mux, o->socket, o->cid, err, errlen);
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

int virtio_vsock_parse(struct virtio_vsock_opts *o, const char *arg, char *err, unsigned int errlen)
{
	struct opt_list l;
	const char *v;
	bool b;
	int rc;
	char *copy = strdup(arg ? arg : "");

	if (!copy)
		return -ENOMEM;
	memset(o, 0, sizeof(*o));
	rc = opt_parse(&l, copy);
	if (rc)
		goto opt_err;
	if ((rc = opt_get_u64(&l, "cid", &o->cid)) < 0)
		goto opt_err;
	if (!rc || o->cid < 3 || o->cid > UINT32_MAX - 1) {
		snprintf(err, errlen, "--vsock: cid=%s: a guest CID of 3 or more is needed",
			 rc ? opt_get(&l, "cid") : "(missing)");
		rc = -EINVAL;
		goto out;
	}
	v = opt_get(&l, "socket");
	if (!v || !*v || strlen(v) >= VSOCK_PATH_LEN - 11) {
		snprintf(err, errlen, "--vsock: socket=%s: a Unix socket path is needed%s",
			 v ? v : "(missing)", v && *v ? " (too long)" : "");
		rc = -EINVAL;
		goto out;
	}
	snprintf(o->socket, sizeof(o->socket), "%s", v);
	if ((v = opt_get(&l, "id"))) {
		if (strlen(v) >= VSOCK_ID_LEN) {
			snprintf(err, errlen, "--vsock: id=%s: too long", v);
			rc = -EINVAL;
			goto out;
		}
		snprintf(o->id, sizeof(o->id), "%s", v);
	}
	if ((rc = opt_get_bool(&l, "iommu", &b)) < 0)
		goto opt_err;
	if (rc && b) {
		snprintf(err, errlen, "--vsock: iommu=on: not supported by svmm");
		rc = -EINVAL;
		goto out;
	}
	rc = opt_check_unused(&l);
	if (rc < 0)
		goto opt_err;
	rc = 0;
	goto out;
opt_err:
	snprintf(err, errlen, "--vsock: %s", l.err);
out:
	free(copy);
	return rc;
}
