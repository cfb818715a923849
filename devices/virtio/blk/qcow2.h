/* SPDX-License-Identifier: Apache-2.0 */
/* The qcow2 format layer (see qcow2.c for what is and is not handled). */
#ifndef SVMM_DEVICES_VIRTIO_BLK_QCOW2_H
#define SVMM_DEVICES_VIRTIO_BLK_QCOW2_H

#include "devices/virtio/blk/disk.h"
#include "guest-agent/err.h"

extern const struct disk_format disk_format_qcow2;

/* Parse the header and tables of the open image d (d->fd, d->path,
 * d->readonly set); on success d->fmt and d->size are set. Features we do
 * not handle are refused with a message in err naming the file. */
int qcow2_open(struct disk *d, struct err *err);

#endif
