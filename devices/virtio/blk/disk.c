// SPDX-License-Identifier: Apache-2.0
/* Opening disk images, probing their format, and the raw format. */
#include "devices/virtio/blk/disk.h"

#include "devices/virtio/blk/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/kvm/log.h"

static int raw_map(struct disk *d, uint64_t off, uint64_t len, bool write, struct disk_extent *e)
{
	(void)write;
	if (off > d->size || len > d->size - off)
		return -EINVAL;
	*e = (struct disk_extent){ .len = len, .zero = false, .host_off = off };
	return 0;
}

static int raw_flush(struct disk *d)
{
	(void)d;
	return 0; /* no metadata of our own: fdatasync is the device's job */
}

const struct disk_format disk_format_raw = {
	.name = "raw",
	.map = raw_map,
	.flush = raw_flush,
};

static const uint8_t qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };

int disk_open(struct disk *d, const struct disk_open_opts *o, struct err *err)
{
	struct stat st;
	uint8_t magic[4] = { 0 };
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", o->path);
	d->fd = open(o->path, flags);
	if (d->fd < 0)
		return err_set(err, -errno, "disk '%s': %s", o->path, strerror(errno));
	if (fstat(d->fd, &st) < 0) {
		int rc = -errno;
		close(d->fd);
		return err_set(err, rc, "disk '%s': %s", o->path, strerror(-rc));
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;
		if (ioctl(d->fd, BLKGETSIZE64, &bytes) == 0)
			st.st_size = (off_t)bytes;
	} else if (!S_ISREG(st.st_mode)) {
		close(d->fd);
		return err_set(err, -EINVAL, "disk '%s': not a regular file or block device",
			       o->path);
	}
	d->readonly = o->readonly;
	d->direct = o->direct;
	d->align = o->direct ? 4096 : 1;
	d->size = (uint64_t)st.st_size;

	/* Headers and format metadata are small unaligned I/O: never O_DIRECT. */
	d->meta_fd =
		o->direct ? open(o->path, (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC) : d->fd;
	if (d->meta_fd < 0) {
		int rc = -errno;
		close(d->fd);
		return err_set(err, rc, "disk '%s': %s", o->path, strerror(-rc));
	}
	if (pread(d->meta_fd, magic, sizeof(magic), 0) < 0)
		memset(magic, 0, sizeof(magic));
	bool is_qcow2 = !memcmp(magic, qcow2_magic, sizeof(magic));
	enum disk_image_type type = o->type;
	if (type == DISK_IMAGE_AUTO)
		type = is_qcow2 ? DISK_IMAGE_QCOW2 : DISK_IMAGE_RAW;
	if (type == DISK_IMAGE_QCOW2) {
		if (!is_qcow2) {
			disk_close(d);
			return err_set(
				err, -EINVAL,
				"disk '%s': image_type=qcow2 but the file has no qcow2 header",
				o->path);
		}
		int rc = qcow2_open(d, err);
		if (rc < 0)
			disk_close(d);
		return rc;
	}
	if (is_qcow2 && o->type == DISK_IMAGE_RAW)
		log_msg(LV_WARN, "virtio-blk",
			"warning: disk '%s' has a qcow2 header but image_type=raw was "
			"given: the guest sees the qcow2 file itself",
			o->path);
	d->fmt = &disk_format_raw;
	d->probed_raw = o->type == DISK_IMAGE_AUTO;
	d->size &= ~(uint64_t)(DISK_SECTOR - 1); /* the guest sees whole sectors */
	return 0;
}

bool disk_write_refused(struct disk *d, uint64_t off, const void *buf, size_t len)
{
	if (!d->probed_raw || off || len < sizeof(qcow2_magic) ||
	    memcmp(buf, qcow2_magic, sizeof(qcow2_magic)))
		return false;
	if (!d->guard_hit)
		log_msg(LV_WARN, "virtio-blk",
			"disk '%s': refused a guest write of a qcow2 header to sector 0 "
			"of a probed raw image (give image_type=raw to allow it)",
			d->path);
	d->guard_hit = true;
	return true;
}

void disk_close(struct disk *d)
{
	if (d->fmt && d->fmt->close)
		d->fmt->close(d);
	if (d->meta_fd >= 0 && d->meta_fd != d->fd)
		close(d->meta_fd);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = d->meta_fd = -1;
}
