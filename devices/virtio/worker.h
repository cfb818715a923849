/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An I/O thread for virtio devices: it sleeps on a set of eventfds (queue
 * kicks, io_uring completions, ...), drains the ones that fired and calls
 * run(). run() is also called once at start, for buffers offered before
 * DRIVER_OK. Stopping wakes and joins the thread.
 */
#ifndef SVMM_DEVICES_VIRTIO_WORKER_H
#define SVMM_DEVICES_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#define VIRTIO_WORKER_MAX_FDS 8

struct virtio_worker {
	pthread_t thread;
	int ep, stop_efd;
	bool running;
	void (*run)(void *opaque);
	void *opaque;
};

/* fds are eventfds (or anything readable with an 8-byte read). */
int virtio_worker_start(struct virtio_worker *w, const int *fds, unsigned int n,
			void (*run)(void *opaque), void *opaque);
void virtio_worker_stop(struct virtio_worker *w);

#endif
