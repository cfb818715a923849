// SPDX-License-Identifier: Apache-2.0
/* I/O threads for virtio devices. */
#include "devices/virtio/worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void *worker_main(void *arg)
{
	struct virtio_worker *w = arg;

	w->run(w->opaque);
	for (;;) {
		struct epoll_event evs[VIRTIO_WORKER_MAX_FDS + 1];
		int n = epoll_wait(w->ep, evs, VIRTIO_WORKER_MAX_FDS + 1, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t v;
			if (evs[i].data.fd == w->stop_efd)
				return NULL;
			if (read(evs[i].data.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return NULL;
		}
		w->run(w->opaque);
	}
	return NULL;
}

int virtio_worker_start(struct virtio_worker *w, const int *fds, unsigned int n,
			void (*run)(void *opaque), void *opaque)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (n > VIRTIO_WORKER_MAX_FDS)
		return -EINVAL;
	w->run = run;
	w->opaque = opaque;
	w->running = false;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ep < 0 || w->stop_efd < 0) {
		rc = -errno;
		goto fail;
	}
	for (unsigned int i = 0; i <= n; i++) {
		ev.data.fd = i < n ? fds[i] : w->stop_efd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	rc = -pthread_create(&w->thread, NULL, worker_main, w);
	if (rc)
		goto fail;
	w->running = true;
	return 0;
fail:
	if (w->ep >= 0)
		close(w->ep);
	if (w->stop_efd >= 0)
		close(w->stop_efd);
	return rc;
}

void virtio_worker_stop(struct virtio_worker *w)
{
	uint64_t one = 1;

	if (!w->running)
		return;
	if (write(w->stop_efd, &one, sizeof(one)) != sizeof(one))
		perror("svmm: virtio worker stop");
	pthread_join(w->thread, NULL);
	close(w->ep);
	close(w->stop_efd);
	w->running = false;
}
