// SPDX-License-Identifier: Apache-2.0
/* virtio-fs: a vhost-user front end. */
#include "devices/virtio/fs/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/loop.h"
#include "devices/virtio/fs/vhost_user.h"
#include "vmm/kvm/log.h"

#define FS_QUEUE_SIZE_DEF 1024

struct virtio_fs_config {
	uint8_t tag[FS_TAG_LEN];
	uint32_t num_request_queues;
} __attribute__((packed));

struct fs {
	struct virtio_dev vdev;
	struct virtio_fs_config config;
	struct vhost_user vu;
	int call_fd[VIRTIO_MAX_QUEUES];
	bool call_bound[VIRTIO_MAX_QUEUES]; /* the back-end has the vector's irqfd */
	bool started[VIRTIO_MAX_QUEUES];
	struct virtio_loop loop; /* forwards the other call eventfds to d->irq */
};

/* Back-end interrupts -> the transport's interrupt callback. */
static void fs_forward(void *opaque, uint64_t fired)
{
	struct fs *f = opaque;

	if (fired == VIRTIO_LOOP_START)
		return; /* nothing signalled yet */
	for (unsigned int q = 0; q < f->vdev.num_queues; q++)
		if ((fired >> q & 1) && f->started[q] && !f->call_bound[q] && f->vdev.irq)
			f->vdev.irq->queue(f->vdev.irq_opaque, q);
}

/* A thread for the queues whose interrupt has no eventfd of the transport
 * (none under KVM): it waits on our call eventfds and calls d->irq. */
static int forward_start(struct fs *f)
{
	bool need = false;
	int rc;

	for (unsigned int q = 0; q < f->vdev.num_queues; q++)
		need |= f->started[q] && !f->call_bound[q];
	if (!need)
		return 0;
	rc = virtio_loop_init(&f->loop, SC_FS, f->vdev.gate, fs_forward, f);
	for (unsigned int q = 0; !rc && q < f->vdev.num_queues; q++)
		if (f->started[q] && !f->call_bound[q])
			rc = virtio_loop_add(&f->loop, f->call_fd[q], EPOLLIN, q, true);
	if (!rc)
		rc = virtio_loop_start(&f->loop);
	if (rc)
		virtio_loop_stop(&f->loop);
	return rc;
}

static void fs_reset(struct virtio_dev *vd);

static int fs_activate(struct virtio_dev *vd)
{
	struct fs *f = vd->priv;
	const char *step = "SET_FEATURES";
	int rc;

	/* what the driver took, the protocol bit added */
	rc = vhost_user_set_features(&f->vu, vd->driver_features);
	if (!rc) {
		step = "SET_MEM_TABLE";
		rc = vhost_user_set_mem_table(&f->vu, vd->mem);
	}
	for (unsigned int q = 0; !rc && q < vd->num_queues; q++) {
		if (!vd->vq[q].ready)
			continue;
		/* the vector's own eventfd when the transport has one: the
		 * back-end then interrupts the guest through KVM directly */
		int irqfd =
			vd->irq && vd->irq->queue_fd ? vd->irq->queue_fd(vd->irq_opaque, q) : -1;
		step = "vring setup";
		rc = vhost_user_setup_vring(&f->vu, q, &vd->vq[q], vd->kick_fd[q],
					    irqfd >= 0 ? irqfd : f->call_fd[q]);
		f->started[q] = !rc;
		f->call_bound[q] = irqfd >= 0;
	}
	if (!rc) {
		step = "interrupt thread";
		rc = forward_start(f);
	}
	if (rc) {
		log_msg(LV_ERROR, "virtio-fs", "virtio-fs: back-end '%s': %s: %s", f->vu.path, step,
			strerror(-rc));
		fs_reset(vd);
	}
	return rc;
}

static void fs_reset(struct virtio_dev *vd)
{
	struct fs *f = vd->priv;

	/* GET_VRING_BASE stops a ring in the back-end */
	for (unsigned int q = 0; q < vd->num_queues; q++) {
		uint32_t base;
		if (f->started[q] && vhost_user_get_vring_base(&f->vu, q, &base) < 0)
			log_msg(LV_ERROR, "virtio-fs",
				"virtio-fs: back-end '%s': GET_VRING_BASE %u failed", f->vu.path,
				q);
		f->started[q] = false;
		f->call_bound[q] = false;
	}
	virtio_loop_stop(&f->loop);
}

static void fs_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	struct fs *f = vd->priv;

	virtio_config_copy(data, off, size, &f->config, sizeof(f->config));
}

static void fs_free(struct virtio_dev *vd)
{
	struct fs *f = vd->priv;

	fs_reset(vd);
	vhost_user_close(&f->vu);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (f->call_fd[q] >= 0)
			close(f->call_fd[q]);
	free(f);
}

/* vm.snapshot: the queues are served by the vhost-user back end, whose
 * state (and the FUSE session) svmm does not hold: refused. */
static int fs_save(struct virtio_dev *vd, struct snap_w *w, const char *pfx, struct err *err)
{
	(void)w;
	(void)pfx;
	return err_set(err, ENOTSUP,
		       "%s: a vhost-user device (its back end holds the queues) cannot be saved",
		       vd->name);
}

static const struct virtio_dev_ops fs_ops = {
	.activate = fs_activate,
	.reset = fs_reset,
	.config_read = fs_config_read,
	.free = fs_free,
	.save = fs_save,
};

int virtio_fs_create(struct virtio_dev **out, const struct virtio_fs_opts *o,
		     const struct guest_mem *mem, struct err *err)
{
	unsigned int nreq = o->num_queues ? o->num_queues : 1;
	int rc;

	if (!mem || mem->fd < 0)
		return err_set(err, -EINVAL,
			       "virtio-fs needs --memory shared=on (the back-end maps "
			       "guest memory through its memfd)");
	if (nreq > FS_MAX_REQ_QUEUES)
		return err_set(err, -EINVAL, "--fs num_queues=%u: at most %u", nreq,
			       FS_MAX_REQ_QUEUES);
	uint32_t qs = o->queue_size ? o->queue_size : FS_QUEUE_SIZE_DEF;
	if (!virtq_size_valid(qs))
		return err_set(err, -EINVAL, "--fs queue_size=%u: a power of two from 2 to %u", qs,
			       VIRTQ_MAX_SIZE);
	struct fs *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		f->call_fd[q] = -1;
	rc = vhost_user_connect(&f->vu, o->socket, err);
	if (rc) {
		free(f);
		return rc;
	}
	uint64_t need = virtio_core_features();
	if ((f->vu.features & need) != need) {
		rc = err_set(err, -ENOTSUP,
			     "vhost-user socket '%s': the back-end lacks VERSION_1, EVENT_IDX or "
			     "INDIRECT_DESC (features 0x%llx)",
			     o->socket, (unsigned long long)f->vu.features);
		goto fail;
	}
	if (f->vu.max_queues && f->vu.max_queues < nreq + 1) {
		rc = err_set(err, -EINVAL,
			     "vhost-user socket '%s': the back-end serves %u queues, %u "
			     "needed (num_queues=%u plus the high-priority queue)",
			     o->socket, f->vu.max_queues, nreq + 1, nreq);
		goto fail;
	}
	for (unsigned int q = 0; q < nreq + 1; q++) {
		f->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->call_fd[q] < 0) {
			rc = -errno;
			err_set(err, rc, "virtio-fs: eventfd: %s", strerror(errno));
			goto fail;
		}
	}
	memcpy(f->config.tag, o->tag, strnlen(o->tag, FS_TAG_LEN));
	f->config.num_request_queues = nreq;

	struct virtio_dev *vd = &f->vdev;
	vd->name = "virtio-fs";
	vd->device_id = VIRTIO_ID_FS;
	/* the back-end's device-specific features (bits 0-23); the transport
	 * adds the core's, and nothing else (no packed ring, no logging) */
	vd->features = f->vu.features & 0xffffffULL;
	vd->config_size = sizeof(f->config);
	vd->num_queues = nreq + 1;
	vd->queue_size_max = (uint16_t)qs;
	vd->ops = &fs_ops;
	vd->priv = f;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	*out = vd;
	return 0;
fail:
	vhost_user_close(&f->vu);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (f->call_fd[q] >= 0)
			close(f->call_fd[q]);
	free(f);
	return rc;
}
