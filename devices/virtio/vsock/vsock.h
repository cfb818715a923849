/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock with cloud-hypervisor's hybrid Unix-socket scheme (see
 * vsock_mux.h): queues rx (0), tx (1) and event (2), the guest's CID in
 * the config space, and one I/O thread that sleeps in epoll on the kicks
 * and the muxer's sockets.
 */
#ifndef SVMM_DEVICES_VIRTIO_VSOCK_VSOCK_H
#define SVMM_DEVICES_VIRTIO_VSOCK_VSOCK_H

#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "guest-agent/err.h"

#define VSOCK_PATH_LEN 108
#define VSOCK_ID_LEN   64

/* The device, as the VM makes it from the vsock_config (vmm/devices.c) that
 * vm_config_validate() has checked against the limits above. */
struct virtio_vsock_opts {
	uint64_t cid; /* at least 3 (0-2 are reserved) */
	char socket[VSOCK_PATH_LEN];
	char id[VSOCK_ID_LEN];
};

/* Bind the host socket (replacing a stale one) and make a device ready for
 * a transport. The socket file is removed when the device is freed. */
int virtio_vsock_create(struct virtio_dev **out, const struct virtio_vsock_opts *o,
			struct err *err);

#endif
