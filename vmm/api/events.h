/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --event-monitor: cloud-hypervisor's event stream. Each event is one
 * pretty-printed JSON object followed by a blank line:
 *
 *   {
 *     "timestamp": {"secs": 0, "nanos": 1234567},
 *     "source": "vm",
 *     "event": "booted",
 *     "properties": null
 *   }
 *
 * timestamp is the time since the monitor was opened (process start).
 * Sources and events svmm emits, as cloud-hypervisor names them:
 * vmm: starting, shutdown; vm: booting, booted, pausing, paused, resuming,
 * resumed, rebooting, rebooted, shutdown, deleted. Thread-safe.
 */
#ifndef SVMM_VMM_API_EVENTS_H
#define SVMM_VMM_API_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <jansson.h>
#include "guest-agent/err.h"

struct event_monitor {
	int fd;
	bool owns_fd;
	struct timespec start;
	pthread_mutex_t lock;
};

/* spec: "path=PATH" (created, truncated), "fd=N" (inherited) or a bare PATH.
 * -errno with err (256 bytes) naming what failed. */
int event_monitor_open(struct event_monitor *m, const char *spec, struct err *err);
/* Write one event; props (a JSON object of strings) may be NULL. m may be
 * NULL: nothing happens. Write errors are ignored, as cloud-hypervisor does. */
void event_monitor_emit(struct event_monitor *m, const char *source, const char *event,
			json_t *props);
void event_monitor_close(struct event_monitor *m);

#endif
