/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng: entropy for the guest from the host's /dev/urandom. */
#ifndef SVMM_DEVICES_VIRTIO_RNG_RNG_H
#define SVMM_DEVICES_VIRTIO_RNG_RNG_H

#include "devices/virtio/virtio.h"
#include "guest-agent/err.h"

/* src: the entropy source (cloud-hypervisor's default is /dev/urandom). */
int virtio_rng_create(struct virtio_dev **out, const char *src, struct err *err);

#endif
