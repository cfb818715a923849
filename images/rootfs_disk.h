/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload's root file system as a disk image for the guest: an erofs
 * image (mkfs.erofs from erofs-utils) of an unpacked root directory,
 * attached read-only as a virtio-blk disk; the agent puts a tmpfs overlay on
 * top for writes. guest-agent/PROTOCOL.md and the issue 7 note say why.
 */
#ifndef SVMM_IMAGES_ROOTFS_DISK_H
#define SVMM_IMAGES_ROOTFS_DISK_H

#include <stddef.h>
#include "guest-agent/err.h"

/* Writes the erofs image of dir to out (through out.tmp, renamed when
 * done), unless out exists already. 0 or negative errno with err set. */
int rootfs_disk_build(const char *dir, const char *out, struct err *err);

#endif
