// SPDX-License-Identifier: Apache-2.0
/* virtio-rng: one request queue, filled from an entropy source file. */
#include "devices/virtio/rng/rng.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/virtio/loop.h"

/* At most this much entropy per request: the guest asks again for more. */
#define RNG_MAX_CHUNK 4096u

struct rng {
	struct virtio_dev vdev;
	int fd;
	struct virtio_loop loop;
	struct virtq_chain chain;
};

/* One request: as much entropy as fits, up to RNG_MAX_CHUNK. */
static uint32_t rng_one(void *opaque, struct virtq_chain *c)
{
	struct rng *r = opaque;
	uint32_t done = 0;

	for (unsigned int i = 0; i < c->n_in && done < RNG_MAX_CHUNK; i++) {
		size_t want = c->in[i].iov_len;
		if (want > RNG_MAX_CHUNK - done)
			want = RNG_MAX_CHUNK - done;
		ssize_t n = read(r->fd, c->in[i].iov_base, want);
		if (n <= 0)
			break;
		done += (uint32_t)n;
	}
	return done;
}

static void rng_run(void *opaque, uint64_t fired)
{
	struct rng *r = opaque;

	(void)fired;
	virtio_queue_serve(&r->vdev, 0, &r->chain, 0, rng_one, r);
}

static int rng_activate(struct virtio_dev *vd)
{
	struct rng *r = vd->priv;
	if (!vd->vq[0].ready)
		return 0;
	int rc = virtio_loop_init(&r->loop, SC_RNG, r->vdev.gate, rng_run, r);
	if (!rc)
		virtio_loop_count(&r->loop, 0, &vd->stats.kicks[0]);
	if (!rc && ((rc = virtio_loop_add(&r->loop, vd->kick_fd[0], EPOLLIN, 0, true)) ||
		    (rc = virtio_loop_start(&r->loop))))
		virtio_loop_stop(&r->loop);
	return rc;
}

static void rng_reset(struct virtio_dev *vd)
{
	struct rng *r = vd->priv;
	virtio_loop_stop(&r->loop);
}

static void rng_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	(void)vd;
	(void)off;
	memset(data, 0, size); /* virtio-rng has no configuration */
}

static void rng_free(struct virtio_dev *vd)
{
	struct rng *r = vd->priv;
	virtio_loop_stop(&r->loop);
	close(r->fd);
	free(r);
}

static const struct virtio_dev_ops rng_ops = {
	.activate = rng_activate,
	.reset = rng_reset,
	.config_read = rng_config_read,
	.free = rng_free,
};

int virtio_rng_create(struct virtio_dev **out, const char *src, struct err *err)
{
	struct rng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = open(src, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int rc = -errno;
		err_set(err, rc, "rng src '%s': %s", src, strerror(errno));
		free(r);
		return rc;
	}
	struct virtio_dev *vd = &r->vdev;
	vd->name = "virtio-rng";
	vd->device_id = VIRTIO_ID_RNG;
	vd->num_queues = 1;
	vd->queue_size_max = 256;
	vd->ops = &rng_ops;
	vd->priv = r;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	*out = vd;
	return 0;
}
