/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disk images: a format layer that maps guest byte offsets to extents of
 * the image file, kept apart from the I/O engine (io_uring, in the device)
 * that moves the data. Formats: raw, and qcow2 (detected by its magic).
 */
#ifndef SVMM_DEVICES_VIRTIO_BLK_DISK_H
#define SVMM_DEVICES_VIRTIO_BLK_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest-agent/err.h"

#define DISK_SECTOR	512u
#define DISK_SERIAL_LEN 20u /* VIRTIO_BLK_ID_BYTES */

enum disk_image_type {
	DISK_IMAGE_AUTO, /* probe the file */
	DISK_IMAGE_RAW,
	DISK_IMAGE_QCOW2,
};

struct disk_open_opts {
	const char *path;
	bool readonly;
	bool direct; /* O_DIRECT */
	enum disk_image_type type;
};

/* Where a piece of the guest's view lives. */
struct disk_extent {
	uint64_t len;	   /* bytes of the request this extent covers */
	bool zero;	   /* reads as zeros (unallocated); host_off unused */
	uint64_t host_off; /* offset in the image file */
};

struct disk;

struct disk_format {
	const char *name;
	/* Map [off, off+len) of the guest's view: fill e for its first part
	 * (e->len <= len). With write, allocate what is missing. Negative
	 * errno on failure (-ENOSPC, -EIO on corrupt metadata). */
	int (*map)(struct disk *d, uint64_t off, uint64_t len, bool write, struct disk_extent *e);
	/* Make metadata durable before a FLUSH completes. */
	int (*flush)(struct disk *d);
	void (*close)(struct disk *d);
};

struct disk {
	int fd;	       /* data I/O (O_DIRECT with direct=on) */
	int meta_fd;   /* the format's own metadata I/O: buffered, never O_DIRECT */
	uint64_t size; /* the guest-visible size in bytes */
	bool readonly, direct;
	bool probed_raw; /* raw because the probe found no other format */
	bool guard_hit;	 /* disk_write_refused() has refused a write */
	uint32_t align;	 /* buffer and offset alignment that O_DIRECT needs, else 1 */
	const struct disk_format *fmt;
	void *fmt_state;
	char path[4096];
};

/* Open and probe an image. On error, err (if given) says what is wrong with
 * which file: missing, unreadable, a qcow2 feature we do not handle, ... */
int disk_open(struct disk *d, const struct disk_open_opts *o, struct err *err);
void disk_close(struct disk *d);

/*
 * As QEMU does for a probed raw image: true when a guest write of buf to
 * offset off must be refused because the image would then probe as another
 * format (a qcow2 header in sector 0) and the guest's own bytes would be
 * parsed as metadata at the next open. Check the VMM's copy of the data,
 * not guest memory, which may change under the check.
 */
bool disk_write_refused(struct disk *d, uint64_t off, const void *buf, size_t len);

extern const struct disk_format disk_format_raw;

#endif
