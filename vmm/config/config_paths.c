// SPDX-License-Identifier: Apache-2.0
/* Every host path a VM configuration names (vm_config_paths, config.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config/config.h"

#define EMIT(path, flags)                                                    \
	do {                                                                 \
		if ((path) && *(path) && (rc = fn(opaque, (path), (flags)))) \
			return rc;                                           \
	} while (0)

static int console_paths(const struct console_config *k, vm_path_fn *fn, void *opaque)
{
	int rc;

	if (k->mode == CONSOLE_FILE)
		EMIT(k->file, VM_PATH_WRITE | VM_PATH_CREATE);
	if (k->mode == CONSOLE_SOCKET)
		EMIT(k->socket, VM_PATH_WRITE | VM_PATH_CREATE | VM_PATH_SOCKET);
	return 0;
}

/* A VFIO device: its sysfs directory, the container, its group's node. */
static int device_paths(const struct device_config *d, char *group, size_t len, vm_path_fn *fn,
			void *opaque)
{
	char link[PATH_MAX];
	int rc;

	EMIT(d->path, 0);
	EMIT("/dev/vfio/vfio", VM_PATH_WRITE);
	if (!d->path ||
	    snprintf(link, sizeof(link), "%s/iommu_group", d->path) >= (int)sizeof(link))
		return 0;
	ssize_t n = readlink(link, group, len - 1);
	if (n <= 0)
		return 0; /* opening the device says why */
	group[n] = 0;
	const char *slash = strrchr(group, '/');
	memmove(group, slash ? slash + 1 : group, strlen(slash ? slash + 1 : group) + 1);
	char node[64];
	if (!*group || snprintf(node, sizeof(node), "/dev/vfio/%s", group) >= (int)sizeof(node))
		return 0;
	/* the walk hands out paths that outlive this call: keep it in group */
	snprintf(group, len, "%s", node);
	EMIT(group, VM_PATH_WRITE);
	return 0;
}

int vm_config_paths(const struct vm_config *c, vm_path_fn *fn, void *opaque)
{
	int rc;

	EMIT(c->payload.kernel, 0);
	EMIT(c->payload.initramfs, 0);
	EMIT(c->payload.firmware, 0);
	EMIT(c->payload.igvm, 0);
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct disk_config *d = &c->disks[i];
		if (d->vhost_user)
			EMIT(d->vhost_socket, VM_PATH_WRITE | VM_PATH_SOCKET);
		else
			EMIT(d->path, d->readonly ? 0 : VM_PATH_WRITE);
	}
	for (size_t i = 0; i < c->n_net; i++)
		if (c->net[i].vhost_user)
			EMIT(c->net[i].vhost_socket, VM_PATH_WRITE | VM_PATH_SOCKET);
	EMIT(c->rng.src, 0);
	for (size_t i = 0; i < c->n_fs; i++)
		EMIT(c->fs[i].socket, VM_PATH_WRITE | VM_PATH_SOCKET);
	for (size_t i = 0; i < c->n_pmem; i++)
		EMIT(c->pmem[i].file, c->pmem[i].discard_writes ? 0 : VM_PATH_WRITE);
	if ((rc = console_paths(&c->serial, fn, opaque)) ||
	    (rc = console_paths(&c->console, fn, opaque)))
		return rc;
	/* hybrid vsock: svmm listens on socket, and connects to socket_PORT */
	if (c->has_vsock)
		EMIT(c->vsock.socket, VM_PATH_WRITE | VM_PATH_CREATE | VM_PATH_SOCKET);
	/* /dev/vfio/N is read from sysfs, not from the config: those strings
	 * live here until the next walk (one walk per process: jail, Landlock) */
	static char group_nodes[VM_MAX_VFIO_DEVICES][64];
	for (size_t i = 0; i < c->n_devices && i < VM_MAX_VFIO_DEVICES; i++)
		if ((rc = device_paths(&c->devices[i], group_nodes[i], sizeof(group_nodes[0]), fn,
				       opaque)))
			return rc;
	return 0;
}
