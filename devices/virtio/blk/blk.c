// SPDX-License-Identifier: Apache-2.0
/* virtio-blk on io_uring. */
#include "devices/virtio/blk/blk.h"

#include "devices/virtio/loop.h"

#include <errno.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "vmm/kvm/log.h"

/* Feature bits (virtio 1.x 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Data segments per request. With indirect descriptors a request takes one
 * ring slot whatever its size: 256 pages, so Linux sends 1 MiB requests.
 * Without, the ring must hold the segments, the header and the status. */
#define BLK_SEG_MAX		256
#define BLK_MAX_DISCARD_SECTORS (UINT32_MAX / DISK_SECTOR)
#define BLK_MAX_DISCARD_SEGS	1
#define WRITE_ZEROES_FLAG_UNMAP 1

struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} geometry;
	uint32_t blk_size;
	struct {
		uint8_t physical_block_exp;
		uint8_t alignment_offset;
		uint16_t min_io_size;
		uint32_t opt_io_size;
	} topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_queue;

/* One guest request in flight. */
struct blk_req {
	struct blk_queue *bq;
	uint16_t head;
	uint8_t *status;
	uint32_t written; /* bytes for the used ring: data read + status byte */
	int pending;	  /* io_uring operations outstanding */
	int error;
	bool is_read, rw; /* rw: an IN or OUT, counted */
	size_t len;
	struct iovec *data;
	unsigned int n_data;
};

/* One io_uring operation: a piece of a request. */
struct blk_op {
	struct blk_req *req;
	unsigned int n;
	struct iovec iov[];
};

struct blk_queue {
	struct blk *blk;
	unsigned int idx;
	struct virtio_loop loop;
	struct io_uring ring;
	int ring_efd;
	unsigned int inflight;
	struct virtq_chain chain;
	void *bounce; /* BLK_BOUNCE_SIZE, made on first use */
};

struct blk {
	struct virtio_dev vdev;
	struct disk disk;
	struct virtio_blk_config config;
	char serial[DISK_SERIAL_LEN];
	struct blk_queue q[VIRTIO_MAX_QUEUES];
	/* cloud-hypervisor's counters: completed reads and writes */
	uint64_t read_bytes, write_bytes, read_ops, write_ops, io_errors;
};

static void req_done(struct blk_req *r)
{
	struct blk_queue *bq = r->bq;

	*r->status = r->error ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (r->error)
		ctr_inc(&bq->blk->io_errors, 1);
	else if (r->rw) {
		struct blk *b = bq->blk;
		ctr_inc(r->is_read ? &b->read_bytes : &b->write_bytes, r->len);
		ctr_inc(r->is_read ? &b->read_ops : &b->write_ops, 1);
	}
	virtq_push(&bq->blk->vdev.vq[bq->idx], r->head, r->written);
	free(r->data);
	free(r);
	bq->inflight--;
}

/* Immediate answer with no data moved but the status (and GET_ID bytes). */
static void reply(struct blk_queue *bq, uint16_t head, uint8_t *status, uint8_t code,
		  uint32_t written)
{
	*status = code;
	virtq_push(&bq->blk->vdev.vq[bq->idx], head, written + 1);
}

static struct io_uring_sqe *get_sqe(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
	if (!sqe) {
		io_uring_submit(&bq->ring);
		sqe = io_uring_get_sqe(&bq->ring);
	}
	return sqe;
}

/* The slice [pos, pos+len) of iov as a new iovec array in op. */
static struct blk_op *slice(const struct iovec *iov, unsigned int n, size_t pos, size_t len)
{
	struct blk_op *op = malloc(sizeof(*op) + n * sizeof(struct iovec));
	if (!op)
		return NULL;
	op->n = 0;
	for (unsigned int i = 0; i < n && len; i++) {
		if (pos >= iov[i].iov_len) {
			pos -= iov[i].iov_len;
			continue;
		}
		size_t chunk = iov[i].iov_len - pos;
		if (chunk > len)
			chunk = len;
		op->iov[op->n++] = (struct iovec){ (char *)iov[i].iov_base + pos, chunk };
		len -= chunk;
		pos = 0;
	}
	return op;
}

static bool aligned(const struct iovec *iov, unsigned int n, uint32_t align)
{
	for (unsigned int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	return true;
}

/*
 * Unaligned guest buffers on an O_DIRECT disk go through the queue's one
 * bounce buffer, BLK_BOUNCE_SIZE at a time and synchronously, so what a
 * request costs the host is bounded whatever its length (one request whose
 * descriptors all named the same guest page once grew the VMM by 1 GiB).
 * So do writes to sector 0 of a probed raw image: the copy is what
 * disk_write_refused() checks and what is written.
 */
#define BLK_BOUNCE_SIZE (1u << 20)

static int bounce_rw(struct blk_queue *bq, struct blk_req *r, uint64_t off)
{
	struct disk *d = &bq->blk->disk;

	if (!bq->bounce &&
	    posix_memalign(&bq->bounce, d->align > 4096 ? d->align : 4096, BLK_BOUNCE_SIZE)) {
		bq->bounce = NULL;
		return -ENOMEM;
	}
	for (size_t pos = 0; pos < r->len;) {
		size_t want = r->len - pos < BLK_BOUNCE_SIZE ? r->len - pos : BLK_BOUNCE_SIZE;
		struct disk_extent e;
		int rc = d->fmt->map(d, off + pos, want, !r->is_read, &e);
		if (rc < 0 || !e.len || e.len > want)
			return rc < 0 ? rc : -EIO;
		if (e.zero && r->is_read) {
			memset(bq->bounce, 0, e.len);
		} else {
			if (!r->is_read) {
				iov_to_buf(r->data, r->n_data, pos, bq->bounce, e.len);
				if (disk_write_refused(d, off + pos, bq->bounce, e.len))
					return -EPERM;
			}
			ssize_t n;
			do
				n = r->is_read
					    ? pread(d->fd, bq->bounce, e.len, (off_t)e.host_off)
					    : pwrite(d->fd, bq->bounce, e.len, (off_t)e.host_off);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return -errno;
			if ((size_t)n != e.len)
				return -EIO; /* short read or write */
		}
		if (r->is_read)
			buf_to_iov(r->data, r->n_data, pos, bq->bounce, e.len);
		pos += e.len;
	}
	return 0;
}

/* Start a read or write of r->data at guest byte offset off. */
static void start_rw(struct blk_queue *bq, struct blk_req *r, uint64_t off)
{
	struct disk *d = &bq->blk->disk;
	const struct iovec *iov = r->data;
	unsigned int n = r->n_data;

	if ((d->align > 1 && !aligned(r->data, r->n_data, d->align)) ||
	    (d->probed_raw && !r->is_read && off == 0)) {
		r->error = bounce_rw(bq, r, off);
		return;
	}
	for (size_t pos = 0; pos < r->len;) {
		struct disk_extent e;
		int rc = d->fmt->map(d, off + pos, r->len - pos, !r->is_read, &e);
		if (rc < 0 || !e.len) {
			r->error = rc < 0 ? rc : -EIO;
			return;
		}
		if (e.zero && r->is_read) {
			struct blk_op *z = slice(iov, n, pos, e.len);
			if (!z) {
				r->error = -ENOMEM;
				return;
			}
			for (unsigned int i = 0; i < z->n; i++)
				memset(z->iov[i].iov_base, 0, z->iov[i].iov_len);
			free(z);
		} else {
			struct blk_op *op = slice(iov, n, pos, e.len);
			struct io_uring_sqe *sqe = op ? get_sqe(bq) : NULL;
			if (!sqe) {
				free(op);
				r->error = -ENOMEM;
				return;
			}
			op->req = r;
			if (r->is_read)
				io_uring_prep_readv(sqe, d->fd, op->iov, op->n, e.host_off);
			else
				io_uring_prep_writev(sqe, d->fd, op->iov, op->n, e.host_off);
			io_uring_sqe_set_data(sqe, op);
			r->pending++;
		}
		pos += e.len;
	}
}

/* Start FLUSH, or DISCARD / WRITE_ZEROES as one fallocate per mapped extent
 * (unallocated extents already read as zeros). */
static void start_simple(struct blk_queue *bq, struct blk_req *r, uint32_t type,
			 const struct blk_range *range)
{
	struct disk *d = &bq->blk->disk;
	uint64_t off = range->sector * DISK_SECTOR,
		 len = (uint64_t)range->num_sectors * DISK_SECTOR;
	int mode = FALLOC_FL_KEEP_SIZE;

	if (type == VIRTIO_BLK_T_FLUSH) {
		int rc = d->fmt->flush(d);
		if (rc < 0) {
			r->error = rc;
			return;
		}
	} else if (type == VIRTIO_BLK_T_DISCARD || (range->flags & WRITE_ZEROES_FLAG_UNMAP)) {
		mode |= FALLOC_FL_PUNCH_HOLE;
	} else {
		mode |= FALLOC_FL_ZERO_RANGE;
	}
	for (uint64_t pos = 0; type == VIRTIO_BLK_T_FLUSH || pos < len;) {
		struct disk_extent e = { .len = len - pos };
		if (type != VIRTIO_BLK_T_FLUSH) {
			int rc = d->fmt->map(d, off + pos, len - pos, false, &e);
			if (rc < 0 || !e.len) {
				r->error = rc < 0 ? rc : -EIO;
				return;
			}
			pos += e.len;
			if (e.zero)
				continue;
		}
		struct blk_op *op = malloc(sizeof(*op));
		struct io_uring_sqe *sqe = op ? get_sqe(bq) : NULL;
		if (!sqe) {
			free(op);
			r->error = -ENOMEM;
			return;
		}
		op->req = r;
		op->n = 0;
		if (type == VIRTIO_BLK_T_FLUSH)
			io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		else
			io_uring_prep_fallocate(sqe, d->fd, mode, e.host_off, e.len);
		io_uring_sqe_set_data(sqe, op);
		r->pending++;
		if (type == VIRTIO_BLK_T_FLUSH)
			return;
	}
}

static bool range_ok(const struct disk *d, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = d->size / DISK_SECTOR;
	return sector <= sectors && bytes / DISK_SECTOR <= sectors - sector &&
	       !(bytes % DISK_SECTOR);
}

/* Handle one chain. Returns 0, or -EIO when the guest broke the protocol. */
static int handle(struct blk_queue *bq, struct virtq_chain *c)
{
	struct blk *blk = bq->blk;
	struct disk *d = &blk->disk;
	struct blk_hdr h;

	if (c->out_len < sizeof(h) || c->in_len < 1 || c->in[c->n_in - 1].iov_len < 1)
		return -EIO;
	iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h));
	struct iovec *last = &c->in[c->n_in - 1];
	uint8_t *status = (uint8_t *)last->iov_base + last->iov_len - 1;
	/* The status byte is not data: trim it from the writable segments. */
	last->iov_len--;

	struct blk_req *r;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool rd = h.type == VIRTIO_BLK_T_IN;
		uint64_t len = rd ? c->in_len - 1 : c->out_len - sizeof(h);
		if (!rd && d->readonly) {
			reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
			return 0;
		}
		if (!range_ok(d, h.sector, len)) {
			reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
			return 0;
		}
		r = calloc(1, sizeof(*r));
		struct blk_op *data = r ? (rd ? slice(c->in, c->n_in, 0, len)
					      : slice(c->out, c->n_out, sizeof(h), len))
					: NULL;
		if (!data) {
			free(r);
			reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
			return 0;
		}
		/* keep the slice's iovecs as the request's data list */
		r->n_data = data->n;
		r->data = malloc((data->n ? data->n : 1) * sizeof(struct iovec));
		if (!r->data) {
			free(data);
			free(r);
			reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
			return 0;
		}
		memcpy(r->data, data->iov, data->n * sizeof(struct iovec));
		free(data);
		r->bq = bq;
		r->head = c->head;
		r->status = status;
		r->is_read = rd;
		r->rw = true;
		r->len = len;
		r->written = (rd ? (uint32_t)len : 0) + 1;
		bq->inflight++;
		start_rw(bq, r, h.sector * DISK_SECTOR);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct blk_range range = { 0 };
		if (h.type != VIRTIO_BLK_T_FLUSH) {
			if (d->readonly) {
				reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
				return 0;
			}
			/* we advertise one segment per request */
			if (c->out_len - sizeof(h) != sizeof(range)) {
				reply(bq, c->head, status, VIRTIO_BLK_S_UNSUPP, 0);
				return 0;
			}
			iov_to_buf(c->out, c->n_out, sizeof(h), &range, sizeof(range));
			if (!range_ok(d, range.sector, (uint64_t)range.num_sectors * DISK_SECTOR) ||
			    (range.flags & ~WRITE_ZEROES_FLAG_UNMAP)) {
				reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
				return 0;
			}
		}
		r = calloc(1, sizeof(*r));
		if (!r) {
			reply(bq, c->head, status, VIRTIO_BLK_S_IOERR, 0);
			return 0;
		}
		r->bq = bq;
		r->head = c->head;
		r->status = status;
		r->written = 1;
		bq->inflight++;
		start_simple(bq, r, h.type, &range);
		break;
	}
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = buf_to_iov(c->in, c->n_in, 0, blk->serial, DISK_SERIAL_LEN);
		reply(bq, c->head, status, VIRTIO_BLK_S_OK, (uint32_t)n);
		return 0;
	}
	default:
		reply(bq, c->head, status, VIRTIO_BLK_S_UNSUPP, 0);
		return 0;
	}
	if (!r->pending) /* nothing was queued: an error, or an all-zero read */
		req_done(r);
	return 0;
}

static void reap(struct blk_queue *bq)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&bq->ring, head, cqe)
	{
		struct blk_op *op = io_uring_cqe_get_data(cqe);
		n++;
		if (!op)
			continue;
		struct blk_req *r = op->req;
		size_t want = 0;
		for (unsigned int i = 0; i < op->n; i++)
			want += op->iov[i].iov_len;
		if (cqe->res < 0 && !r->error)
			r->error = cqe->res;
		else if (op->n && (size_t)cqe->res != want && !r->error)
			r->error = -EIO; /* short read or write */
		free(op);
		if (--r->pending == 0)
			req_done(r);
	}
	io_uring_cq_advance(&bq->ring, n);
}

static void serve_queue(struct blk_queue *bq)
{
	struct virtio_dev *vd = &bq->blk->vdev;
	struct virtq *q = &vd->vq[bq->idx];
	struct err err;

	do {
		int rc;
		while ((rc = virtq_pop(q, &bq->chain, &err)) > 0) {
			if (handle(bq, &bq->chain) < 0) {
				err_set(&err, EIO, "malformed request (head %u)", bq->chain.head);
				q->broken = true;
				rc = -EIO;
				break;
			}
		}
		if (rc < 0) {
			virtio_dev_broken(vd, bq->idx, err.msg);
			break;
		}
	} while (virtq_enable_notify(q));
	io_uring_submit(&bq->ring);
}

/* One wake-up of a queue's I/O thread: completions, new requests, then
 * one interrupt for whatever completed. */
static void queue_run(void *opaque, uint64_t fired)
{
	struct blk_queue *bq = opaque;
	struct virtio_dev *vd = &bq->blk->vdev;
	uint16_t before = vd->vq[bq->idx].used_idx;

	(void)fired; /* the kick and the completions are looked at each time */
	reap(bq);
	serve_queue(bq);
	reap(bq);
	if (vd->vq[bq->idx].used_idx != before)
		virtio_queue_notify(vd, bq->idx);
}

static void stop_queues(struct blk *blk)
{
	for (unsigned int i = 0; i < blk->vdev.num_queues; i++) {
		struct blk_queue *bq = &blk->q[i];
		if (!bq->loop.running)
			continue;
		virtio_loop_stop(&bq->loop);
		/* Let in-flight I/O land before the guest's buffers are given back. */
		while (bq->inflight) {
			struct io_uring_cqe *cqe;
			io_uring_submit(&bq->ring);
			if (io_uring_wait_cqe(&bq->ring, &cqe) < 0)
				break;
			reap(bq);
		}
		io_uring_queue_exit(&bq->ring);
		close(bq->ring_efd);
		free(bq->bounce);
		bq->bounce = NULL;
	}
}

static int blk_activate(struct virtio_dev *vd)
{
	struct blk *blk = vd->priv;
	int rc = 0;

	for (unsigned int i = 0; i < vd->num_queues; i++) {
		struct blk_queue *bq = &blk->q[i];
		if (!vd->vq[i].ready)
			continue;
		bq->blk = blk;
		bq->idx = i;
		bq->inflight = 0;
		rc = io_uring_queue_init(vd->vq[i].size, &bq->ring, 0);
		if (rc < 0)
			goto fail;
		bq->ring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (bq->ring_efd < 0 || io_uring_register_eventfd(&bq->ring, bq->ring_efd) < 0) {
			rc = -EIO;
		} else if (!(rc = virtio_loop_init(&bq->loop, SC_BLK, vd->gate, queue_run, bq)) &&
			   (virtio_loop_count(&bq->loop, 0, &vd->stats.kicks[i]),
			    (rc = virtio_loop_add(&bq->loop, vd->kick_fd[i], EPOLLIN, 0, true)) ||
				    (rc = virtio_loop_add(&bq->loop, bq->ring_efd, EPOLLIN, 1,
							  true)) ||
				    (rc = virtio_loop_start(&bq->loop)))) {
			virtio_loop_stop(&bq->loop);
		}
		if (rc) {
			if (bq->ring_efd >= 0)
				close(bq->ring_efd);
			io_uring_queue_exit(&bq->ring);
			goto fail;
		}
	}
	return 0;
fail:
	log_msg(LV_ERROR, vd->name, "%s: cannot start queue: %s", vd->name, strerror(-rc));
	stop_queues(blk);
	return rc;
}

static void blk_reset(struct virtio_dev *vd)
{
	stop_queues(vd->priv);
}

static void blk_config_read(struct virtio_dev *vd, uint32_t off, void *data, unsigned int size)
{
	struct blk *blk = vd->priv;
	struct virtio_blk_config c = blk->config;

	/* the driver reads it after feature negotiation, as Linux does */
	if (!virtio_has(vd, VIRTIO_F_INDIRECT_DESC) && c.seg_max > vd->queue_size_max - 2u)
		c.seg_max = vd->queue_size_max - 2u;
	memcpy(data, (uint8_t *)&c + off, size);
}

static void blk_free(struct virtio_dev *vd)
{
	struct blk *blk = vd->priv;
	stop_queues(blk);
	disk_close(&blk->disk);
	free(blk);
}

static const struct ctr_desc c_blk[] = {
	{ "disk", "read_bytes", "Bytes the guest read from the disk", false, NULL, NULL },
	{ "disk", "write_bytes", "Bytes the guest wrote to the disk", false, NULL, NULL },
	{ "disk", "read_ops", "Read requests completed", false, NULL, NULL },
	{ "disk", "write_ops", "Write requests completed", false, NULL, NULL },
	{ "disk", "io_errors", "Requests answered with an I/O error", false, NULL, NULL },
};

static void blk_counters(struct virtio_dev *vd, struct ctr_set *out)
{
	struct blk *b = vd->priv;
	const uint64_t *v[] = { &b->read_bytes, &b->write_bytes, &b->read_ops, &b->write_ops,
				&b->io_errors };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ctr_put(out, &c_blk[i], -1, ctr_read(v[i]));
}

/* vm.snapshot: nothing of its own, but no request may be in flight: the
 * I/O threads wait at the gate, so land what io_uring still has here and
 * give the chains back (their interrupts wait in KVM with the vCPUs). */
static int blk_save(struct virtio_dev *vd, struct snap_w *w, const char *pfx, struct err *err)
{
	struct blk *blk = vd->priv;

	(void)w;
	(void)pfx;
	(void)err;
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		struct blk_queue *bq = &blk->q[i];
		if (!bq->loop.running)
			continue;
		uint16_t before = vd->vq[i].used_idx;
		while (bq->inflight) {
			struct io_uring_cqe *cqe;
			io_uring_submit(&bq->ring);
			if (io_uring_wait_cqe(&bq->ring, &cqe) < 0)
				break;
			reap(bq);
		}
		if (vd->vq[i].used_idx != before)
			virtio_queue_notify(vd, i);
	}
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
	.activate = blk_activate,
	.reset = blk_reset,
	.config_read = blk_config_read,
	.free = blk_free,
	.counters = blk_counters,
	.save = blk_save,
};

int virtio_blk_create(struct virtio_dev **out, const struct virtio_blk_opts *o, struct err *err)
{
	unsigned int nq = o->num_queues ? o->num_queues : 1;
	uint32_t qs = o->queue_size ? o->queue_size : 128;

	if (nq > VIRTIO_MAX_QUEUES)
		return err_set(err, -EINVAL, "disk '%s': num_queues=%u: at most %u", o->disk.path,
			       nq, VIRTIO_MAX_QUEUES);
	if (!virtq_size_valid(qs))
		return err_set(err, -EINVAL,
			       "disk '%s': queue_size=%u: a power of two from 2 to %u",
			       o->disk.path, qs, VIRTQ_MAX_SIZE);
	if (o->serial && strlen(o->serial) > DISK_SERIAL_LEN)
		return err_set(err, -EINVAL, "disk '%s': serial '%s' is longer than %u bytes",
			       o->disk.path, o->serial, DISK_SERIAL_LEN);
	struct blk *blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	int rc = disk_open(&blk->disk, &o->disk, err);
	if (rc < 0) {
		free(blk);
		return rc;
	}
	if (o->serial)
		memcpy(blk->serial, o->serial, strlen(o->serial));

	struct virtio_blk_config *c = &blk->config;
	c->capacity = blk->disk.size / DISK_SECTOR;
	c->seg_max = BLK_SEG_MAX; /* less without indirect descriptors: blk_config_read */
	c->blk_size = DISK_SECTOR;
	c->num_queues = nq;
	c->max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
	c->max_discard_seg = BLK_MAX_DISCARD_SEGS;
	c->discard_sector_alignment = 1;
	c->max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS;
	c->max_write_zeroes_seg = BLK_MAX_DISCARD_SEGS;
	c->write_zeroes_may_unmap = 1;

	struct virtio_dev *vd = &blk->vdev;
	vd->name = "virtio-blk";
	vd->device_id = VIRTIO_ID_BLOCK;
	vd->features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		       (1ULL << VIRTIO_BLK_F_FLUSH) | (nq > 1 ? 1ULL << VIRTIO_BLK_F_MQ : 0);
	if (blk->disk.readonly)
		vd->features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		vd->features |=
			(1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	vd->config_size = sizeof(*c);
	vd->num_queues = nq;
	vd->queue_size_max = (uint16_t)qs;
	vd->ops = &blk_ops;
	vd->priv = blk;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	*out = vd;
	return 0;
}
