/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's counters (vmm/kvm/counters.h) as vm.counters' JSON and as
 * Prometheus metrics, and the --metrics endpoint that serves them.
 *
 * vm.counters: {"<group id>": {"<key>": <u64>, ...}, ...}, a group per
 * device keyed by its cloud-hypervisor id ("_disk0": read_bytes, write_bytes,
 * read_ops, write_ops as cloud-hypervisor, plus svmm's own), per vCPU
 * ("__vcpu0") and for the process ("__vmm"). A key is the counter's name,
 * with _q<N> for a queue's and _<value> for a fixed label's (exits_io).
 *
 * Prometheus (text exposition format 0.0.4): svmm_<family>_<name>_total
 * for a counter, svmm_<family>_<name> for a gauge, each family once with
 * its # HELP and # TYPE, labels vm="<id>", the group's (device="_disk0" or
 * vcpu="0"), queue="N" where per queue, and the counter's own (reason="io").
 *
 * --metrics path=SOCKET | addr=IPV4:PORT [,id=VM] serves GET /metrics on a
 * Unix socket or a TCP port, on a thread of its own (seccomp kind
 * "metrics"); id is the vm label (default: the caller's).
 */
#ifndef SVMM_VMM_API_METRICS_H
#define SVMM_VMM_API_METRICS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/api/http.h"
#include "vmm/kvm/counters.h"
#include "guest-agent/err.h"

int metrics_json(const struct ctr_set *s, json_t **out);
/* A malloc'd text in *out (*len bytes, NUL-terminated). 0 or -ENOMEM. */
int metrics_prometheus(const struct ctr_set *s, const char *vm, char **out, size_t *len);
/* The process's group "__vmm": resident memory (statm_fd, /proc/self/statm
 * opened beforehand; -1: left out), peak resident memory, CPU time. */
void metrics_process(struct ctr_set *s, int statm_fd);

#define METRICS_ID_MAX 64

struct metrics_spec {
	char path[108]; /* path=: a Unix socket */
	bool tcp;	/* addr=: IPv4 address and port */
	uint32_t addr;	/* network order */
	uint16_t port;
	char id[METRICS_ID_MAX]; /* "" when not given */
};

/* --metrics' value: exactly one of path= and addr=, and id=. -EINVAL with
 * err naming what is wrong. Pure: no system call. */
int metrics_spec_parse(const char *spec, struct metrics_spec *out, struct err *err);

/* Fills out with the VM's groups: 0, or -ESRCH when no VM runs (the
 * process group still goes out). */
typedef int metrics_collect_fn(void *ctx, struct ctr_set *out);

struct metrics_server {
	struct http_server http;
	bool inited, running;
	pthread_t thread;
	metrics_collect_fn *collect;
	void *ctx;
	char vm[METRICS_ID_MAX];
	int statm_fd;
};

/* Parse spec and listen (before the process filter: bind). default_id is
 * the vm label unless spec names one. */
int metrics_server_open(struct metrics_server *m, const char *spec, const char *default_id,
			metrics_collect_fn *collect, void *ctx, struct err *err);
/* Serve on a thread of its own. -errno. */
int metrics_server_start(struct metrics_server *m);
/* Stop the thread, close the sockets, unlink the path. Nothing on a zeroed one. */
void metrics_server_close(struct metrics_server *m);

/*
 * svmm metrics: the texts of several endpoints as one exposition: each
 * family once (its first # HELP and # TYPE), with the samples of every text
 * that has it, families in the order they first appear; other comments and
 * blank lines are dropped. *out malloc'd. 0 or -ENOMEM.
 */
int metrics_merge(const char *const *texts, const size_t *lens, size_t n, char **out, size_t *len);

/* One scrape as the endpoint answers it (for tests): *out malloc'd. */
int metrics_scrape(struct metrics_server *m, char **out, size_t *len);

#endif
