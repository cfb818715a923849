// SPDX-License-Identifier: Apache-2.0
/* virtio-net queue pairs served by the kernel's vhost-net. */
#include "devices/virtio/net/vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

uint64_t vhost_net_ring_features(void)
{
	return virtio_core_features() | 1ULL << VIRTIO_NET_F_MRG_RXBUF;
}

static int vh_open(void)
{
	int fd = open(VHOST_NET_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, VHOST_SET_OWNER) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int vhost_net_probe(uint64_t *features)
{
	int fd = vh_open();
	uint64_t f = 0;
	int rc = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, VHOST_GET_FEATURES, &f) < 0)
		rc = -errno;
	else if ((f & vhost_net_ring_features()) != vhost_net_ring_features())
		rc = -ENOTSUP;
	close(fd);
	*features = f;
	return rc;
}

static int set_mem(int fd, const struct guest_mem *mem)
{
	size_t len = offsetof(struct vhost_memory, regions) +
		     mem->n_regions * sizeof(struct vhost_memory_region);
	struct vhost_memory *m = calloc(1, len);
	int rc = 0;

	if (!m)
		return -ENOMEM;
	m->nregions = mem->n_regions;
	for (unsigned int i = 0; i < mem->n_regions; i++)
		m->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = mem->region[i].gpa,
			.memory_size = mem->region[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->region[i].hva,
		};
	if (ioctl(fd, VHOST_SET_MEM_TABLE, m) < 0)
		rc = -errno;
	free(m);
	return rc;
}

/* Ring i: size, where it starts, its rings (the transport checked them
 * against guest RAM when the driver enabled the queue), kick and call. */
static int set_ring(int fd, unsigned int i, const struct virtq *q, int kick, int call)
{
	struct vhost_vring_state num = { .index = i, .num = q->size };
	struct vhost_vring_state base = { .index = i, .num = q->last_avail };
	struct vhost_vring_addr addr = {
		.index = i,
		.desc_user_addr = (uint64_t)(uintptr_t)q->desc,
		.avail_user_addr = (uint64_t)(uintptr_t)q->avail,
		.used_user_addr = (uint64_t)(uintptr_t)q->used,
	};
	struct vhost_vring_file k = { .index = i, .fd = kick };
	struct vhost_vring_file c = { .index = i, .fd = call };

	if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0 || ioctl(fd, VHOST_SET_VRING_KICK, &k) < 0 ||
	    ioctl(fd, VHOST_SET_VRING_CALL, &c) < 0)
		return -errno;
	return 0;
}

int vhost_net_start(int *out, const struct vhost_net_pair *p, uint64_t driver_features,
		    const struct guest_mem *mem)
{
	uint64_t f = driver_features & vhost_net_ring_features();
	int fd = vh_open();
	int rc;

	*out = -1;
	if (fd < 0)
		return fd;
	if (ioctl(fd, VHOST_SET_FEATURES, &f) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = set_mem(fd, mem)))
		goto fail;
	for (unsigned int i = 0; i < 2; i++) {
		if ((rc = set_ring(fd, i, p->vq[i], p->kick[i], p->call[i])))
			goto fail;
	}
	for (unsigned int i = 0; i < 2; i++) {
		struct vhost_vring_file b = { .index = i, .fd = p->tap_fd };
		if (ioctl(fd, VHOST_NET_SET_BACKEND, &b) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	*out = fd;
	return 0;
fail:
	vhost_net_stop(&fd);
	return rc;
}

void vhost_net_stop(int *fd)
{
	if (*fd < 0)
		return;
	for (unsigned int i = 0; i < 2; i++) {
		struct vhost_vring_file b = { .index = i, .fd = -1 };
		ioctl(*fd, VHOST_NET_SET_BACKEND, &b); /* fails harmlessly if never set */
	}
	close(*fd); /* the worker goes with the last reference */
	*fd = -1;
}
