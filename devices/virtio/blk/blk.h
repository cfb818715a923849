/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk: a disk image served on io_uring, one ring and one I/O thread
 * per queue. Requests IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES.
 */
#ifndef SVMM_DEVICES_VIRTIO_BLK_BLK_H
#define SVMM_DEVICES_VIRTIO_BLK_BLK_H

#include "devices/virtio/blk/disk.h"
#include "devices/virtio/virtio.h"
#include "guest-agent/err.h"

struct virtio_blk_opts {
	struct disk_open_opts disk;
	const char *serial;	 /* GET_ID answer, at most 20 bytes; NULL: the id or path */
	unsigned int num_queues; /* default 1 */
	uint32_t queue_size;	 /* default 128 */
};

/* Open the image and make a device ready to hand to a transport.
 * err names the file and the problem. */
int virtio_blk_create(struct virtio_dev **out, const struct virtio_blk_opts *o, struct err *err);

#endif
