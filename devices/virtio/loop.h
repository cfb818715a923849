/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O thread of a virtio device or queue: it sleeps on queue kicks and
 * whatever else the device waits on (io_uring completions, a TAP queue,
 * sockets, another epoll set). Each fd is added with a tag (0-62), and
 * run() gets the set of tags that fired as a bit mask. Eventfds added as
 * such are drained before run() sees them; other fds are left to run().
 * run() is called once at start with every bit set, for work that was
 * there before the thread began. Stopping wakes and joins the thread.
 * The thread installs the seccomp filter of its kind (vmm/kvm/seccomp.h)
 * first, in the process mode; if that fails it serves nothing.
 *
 * A loop given a gate passes it before every run(), the first included:
 * while the gate is closed (the VM is paused) the thread does not run, so
 * its device serves no queue and raises no interrupt; what fired meanwhile
 * is run once the gate opens again. Stopping a loop held at a closed gate
 * ends it without a run.
 */
#ifndef SVMM_DEVICES_VIRTIO_LOOP_H
#define SVMM_DEVICES_VIRTIO_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm/counters.h"
#include "vmm/kvm/seccomp.h"

#define VIRTIO_LOOP_MAX_TAG 62
/* `fired` of the first call, made when the thread starts */
#define VIRTIO_LOOP_START (~0ULL >> 1)

/*
 * What holds a VM's device threads still (vm.pause): one per VM, shared by
 * the loops of all its devices. Closing it waits for the runs in progress
 * to end and holds back the next ones until it is opened.
 */
struct virtio_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	unsigned int busy; /* run() calls in progress, under lock */
};

void virtio_gate_init(struct virtio_gate *g);
void virtio_gate_destroy(struct virtio_gate *g);
/* Close g: returns once no loop of g is inside run(); none enters it until
 * virtio_gate_open(). Not from a run() of one of its loops. */
void virtio_gate_close(struct virtio_gate *g);
void virtio_gate_open(struct virtio_gate *g);

struct virtio_loop {
	pthread_t thread;
	int ep, stop_efd;
	bool inited, running;
	uint64_t eventfd_tags; /* tags whose fd is an eventfd to drain */
	int fds[VIRTIO_LOOP_MAX_TAG + 1];
	uint64_t *count[VIRTIO_LOOP_MAX_TAG + 1]; /* NULL, or what an eventfd's reads add to */
	void (*run)(void *opaque, uint64_t fired);
	void *opaque;
	enum sc_thread kind;	  /* whose seccomp filter the thread runs under */
	struct virtio_gate *gate; /* NULL: never held */
	bool stopping;		  /* under gate->lock: stop() was called */
};

/* Prepare l (no thread yet): then add fds and start. gate (NULL: none) is
 * the VM's, which must outlive the loop. */
int virtio_loop_init(struct virtio_loop *l, enum sc_thread kind, struct virtio_gate *gate,
		     void (*run)(void *opaque, uint64_t fired), void *opaque);
/* Watch fd for events (EPOLLIN, ...) under tag; an eventfd is drained. */
int virtio_loop_add(struct virtio_loop *l, int fd, uint32_t events, unsigned int tag, bool eventfd);
/* Count the events read from tag's eventfd into *ctr (ctr_inc), as a
 * queue's kicks into its struct virtio_stats. Before start. */
void virtio_loop_count(struct virtio_loop *l, unsigned int tag, uint64_t *ctr);
/* Change what the fd of tag is watched for (0: nothing, for now). Only
 * from run() or before start. */
int virtio_loop_watch(struct virtio_loop *l, unsigned int tag, uint32_t events);
int virtio_loop_start(struct virtio_loop *l);
/* Stop the thread (if started) and release what init made; nothing on a
 * zeroed or stopped loop. */
void virtio_loop_stop(struct virtio_loop *l);

#endif
