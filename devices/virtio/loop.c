// SPDX-License-Identifier: Apache-2.0
/* I/O threads waiting on tagged file descriptors. */
#include "devices/virtio/loop.h"

#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "vmm/kvm/log.h"
#include <string.h>

#define STOP_TAG 63

void virtio_gate_init(struct virtio_gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->closed = false;
	g->busy = 0;
}

void virtio_gate_destroy(struct virtio_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void virtio_gate_close(struct virtio_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = true;
	while (g->busy)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void virtio_gate_open(struct virtio_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Before a run(): wait while the gate is closed. true: go on (the run is
 * counted in progress until run_done); false: the loop is stopping. */
static bool run_begin(struct virtio_loop *l)
{
	struct virtio_gate *g = l->gate;
	bool go;

	if (!g)
		return true;
	pthread_mutex_lock(&g->lock);
	while (g->closed && !l->stopping)
		pthread_cond_wait(&g->cond, &g->lock);
	go = !l->stopping;
	if (go)
		g->busy++;
	pthread_mutex_unlock(&g->lock);
	return go;
}

static void run_done(struct virtio_loop *l)
{
	struct virtio_gate *g = l->gate;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (--g->busy == 0 && g->closed)
		pthread_cond_broadcast(&g->cond); /* virtio_gate_close waits for it */
	pthread_mutex_unlock(&g->lock);
}

static void *loop_main(void *arg)
{
	struct virtio_loop *l = arg;
	int rc = sc_install(l->kind);

	if (rc) {
		log_msg(LV_ERROR, "virtio", "%s I/O thread: seccomp filter: %s",
			sc_thread_name(l->kind), strerror(-rc));
		return NULL;
	}
	if (!run_begin(l))
		return NULL;
	l->run(l->opaque, VIRTIO_LOOP_START);
	run_done(l);
	for (;;) {
		struct epoll_event evs[16];
		uint64_t fired = 0;
		int n = epoll_wait(l->ep, evs, 16, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			unsigned int tag = (unsigned int)evs[i].data.u32;
			uint64_t v;
			if (tag == STOP_TAG)
				return NULL;
			if (l->eventfd_tags >> tag & 1) {
				ssize_t r = read(l->fds[tag], &v, sizeof(v));
				if (r < 0 && errno != EAGAIN)
					return NULL;
				if (r == sizeof(v) && l->count[tag])
					ctr_inc(l->count[tag], v);
			}
			fired |= 1ULL << tag;
		}
		if (!fired)
			continue;
		if (!run_begin(l))
			return NULL;
		l->run(l->opaque, fired);
		run_done(l);
	}
	return NULL;
}

int virtio_loop_init(struct virtio_loop *l, enum sc_thread kind, struct virtio_gate *gate,
		     void (*run)(void *opaque, uint64_t fired), void *opaque)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = STOP_TAG };

	l->running = false;
	l->inited = false;
	l->run = run;
	l->opaque = opaque;
	l->kind = kind;
	l->gate = gate;
	l->stopping = false;
	l->eventfd_tags = 0;
	for (unsigned int i = 0; i <= VIRTIO_LOOP_MAX_TAG; i++) {
		l->fds[i] = -1;
		l->count[i] = NULL;
	}
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->ep < 0 || l->stop_efd < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->stop_efd, &ev) < 0) {
		int rc = -errno;
		if (l->ep >= 0)
			close(l->ep);
		if (l->stop_efd >= 0)
			close(l->stop_efd);
		return rc;
	}
	l->inited = true;
	return 0;
}

int virtio_loop_add(struct virtio_loop *l, int fd, uint32_t events, unsigned int tag, bool eventfd)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	if (tag > VIRTIO_LOOP_MAX_TAG || l->fds[tag] >= 0 || fd < 0)
		return -EINVAL;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->fds[tag] = fd;
	if (eventfd)
		l->eventfd_tags |= 1ULL << tag;
	return 0;
}

void virtio_loop_count(struct virtio_loop *l, unsigned int tag, uint64_t *ctr)
{
	if (tag <= VIRTIO_LOOP_MAX_TAG)
		l->count[tag] = ctr;
}

int virtio_loop_watch(struct virtio_loop *l, unsigned int tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	if (tag > VIRTIO_LOOP_MAX_TAG || l->fds[tag] < 0)
		return -EINVAL;
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, l->fds[tag], &ev) < 0 ? -errno : 0;
}

int virtio_loop_start(struct virtio_loop *l)
{
	int rc = -pthread_create(&l->thread, NULL, loop_main, l);
	if (!rc)
		l->running = true;
	return rc;
}

void virtio_loop_stop(struct virtio_loop *l)
{
	uint64_t one = 1;

	if (!l->inited)
		return;
	if (l->running && l->gate) { /* a thread held at a closed gate ends too */
		pthread_mutex_lock(&l->gate->lock);
		l->stopping = true;
		pthread_cond_broadcast(&l->gate->cond);
		pthread_mutex_unlock(&l->gate->lock);
	}
	if (l->running) {
		if (write(l->stop_efd, &one, sizeof(one)) != sizeof(one))
			log_msg(LV_ERROR, "virtio", "virtio loop stop: %s", strerror(errno));
		pthread_join(l->thread, NULL);
		l->running = false;
	}
	close(l->ep);
	close(l->stop_efd);
	l->inited = false;
}
