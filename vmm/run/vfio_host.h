/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of PCI passthrough: hand a PCI device to vfio-pci (and back)
 * through sysfs, so that a VMM can open /dev/vfio/GROUP; and describe the
 * devices and their IOMMU groups. Nothing here opens VFIO itself: that is
 * the device model's (svmm run --device path=/sys/bus/pci/devices/BDF).
 *
 * Every path is under a sysfs root (normally "/sys"; tests point it at a
 * fake tree) and the driver a device had before bind is remembered in a
 * state directory (normally VFIO_HOST_STATE_DIR), one file BDF.driver with
 * the driver's name or "-" for none, so that unbind can give it back.
 */
#ifndef SVMM_VMM_RUN_VFIO_HOST_H
#define SVMM_VMM_RUN_VFIO_HOST_H

#include <stdbool.h>

#include "guest-agent/err.h"

#define VFIO_HOST_SYSFS	    "/sys"
#define VFIO_HOST_DEV_DIR   "/dev/vfio"
#define VFIO_HOST_STATE_DIR "/run/svmm/vfio"
#define VFIO_HOST_DRIVER    "vfio-pci"
#define VFIO_BDF_LEN	    13 /* "DDDD:BB:DD.F" and the NUL */

struct vfio_host {
	const char *sysfs;   /* NULL: VFIO_HOST_SYSFS */
	const char *dev_dir; /* NULL: VFIO_HOST_DEV_DIR */
	const char *state;   /* NULL: VFIO_HOST_STATE_DIR */
};

struct vfio_dev {
	char bdf[VFIO_BDF_LEN];
	unsigned int vendor, device; /* PCI IDs (0: unreadable, or above 16 bits) */
	unsigned int class;	     /* 24 bits: class, subclass, prog-if (0: likewise) */
	char driver[64];	     /* "" when no driver holds it */
	int group;		     /* the IOMMU group, -1 when none or not a number */
	bool viable;		     /* every device of the group is free for VFIO */
	bool others_free;	     /* every other device of the group is */
	/* when not viable: "BDF (driver)" of one that is not, another first */
	char blocker[VFIO_BDF_LEN + 64];
	int others; /* the other devices in the group */
};

/* Canonical "DDDD:BB:DD.F" (lower case) from "DDDD:BB:DD.F" or "BB:DD.F".
 * -EINVAL with a sentence when s is not a PCI address. */
int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN], struct err *e);

/* Whether the host has an IOMMU: SYSFS/kernel/iommu_groups has a group. */
bool vfio_host_iommu_on(const struct vfio_host *h);

/* What sysfs says of device bdf (canonical). -ENOENT when there is none. */
int vfio_host_describe(const struct vfio_host *h, const char *bdf, struct vfio_dev *d,
		       struct err *e);

/* Binds bdf to vfio-pci: the device exists, the IOMMU is on, vfio-pci is
 * loaded; the current driver is remembered, driver_override set, the device
 * unbound and reprobed; then its driver must be vfio-pci and DEV_DIR/GROUP
 * must exist. strict: refuse (-EBUSY, nothing changed) when another device
 * of the group is held by a driver VFIO does not allow. *already is set when
 * it was bound to vfio-pci before. d describes the device afterwards. */
int vfio_host_bind(const struct vfio_host *h, const char *bdf, bool strict, struct vfio_dev *d,
		   bool *already, struct err *e);

/* Gives bdf back: driver_override cleared, unbound from vfio-pci, bound to
 * the remembered driver (or reprobed). -EINVAL when another driver holds
 * it. d describes the device afterwards. */
int vfio_host_unbind(const struct vfio_host *h, const char *bdf, struct vfio_dev *d, struct err *e);

/* Calls fn for each PCI device, in address order; all: every device, else
 * only those bound to vfio-pci. Stops at fn's first non-zero return and
 * returns it; 0, or a negative errno when the devices cannot be listed. */
int vfio_host_list(const struct vfio_host *h, bool all,
		   int (*fn)(const struct vfio_dev *d, void *arg), void *arg, struct err *e);

#endif
