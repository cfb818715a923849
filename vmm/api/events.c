// SPDX-License-Identifier: Apache-2.0
/* --event-monitor: cloud-hypervisor's JSON event stream. */
#include "vmm/api/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/options.h"

int event_monitor_open(struct event_monitor *m, const char *spec, char *err)
{
	char *copy = strdup(spec);
	struct opt_list l;
	const char *path = NULL;
	uint64_t fd = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!copy)
		return -ENOMEM;
	if (!strchr(spec, '=')) {
		path = spec;
	} else {
		const char *fds;
		rc = opt_parse(&l, copy);
		path = rc ? NULL : opt_get(&l, "path");
		fds = rc ? NULL : opt_get(&l, "fd");
		if (!rc)
			rc = opt_check_unused(&l);
		if (!rc && !!path == !!fds) {
			rc = -EINVAL;
			snprintf(l.err, sizeof(l.err), "expected path=PATH or fd=N");
		}
		if (!rc && fds && parse_u64(fds, &fd) < 0) {
			rc = -EINVAL;
			snprintf(l.err, sizeof(l.err), "fd=%.100s is not a number", fds);
		}
		if (rc < 0) {
			snprintf(err, 256, "--event-monitor: %.200s", l.err);
			free(copy);
			return -EINVAL;
		}
	}
	if (path) {
		m->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (m->fd < 0) {
			rc = -errno;
			snprintf(err, 256, "--event-monitor: cannot open '%.200s': %s", path,
				 strerror(errno));
			free(copy);
			return rc;
		}
		m->owns_fd = true;
	} else {
		if (fd > 1024 || fcntl((int)fd, F_GETFD) < 0) {
			snprintf(err, 256, "--event-monitor: fd %llu is not open",
				 (unsigned long long)fd);
			free(copy);
			return -EBADF;
		}
		m->fd = (int)fd;
	}
	free(copy);
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void event_monitor_emit(struct event_monitor *m, const char *source, const char *event,
			json_t *props)
{
	struct timespec now;
	json_t *ev, *ts;
	char *text;

	if (!m || m->fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long secs = now.tv_sec - m->start.tv_sec;
	long nanos = now.tv_nsec - m->start.tv_nsec;
	if (nanos < 0) {
		nanos += 1000000000L;
		secs--;
	}
	ts = json_pack("{s:I,s:I}", "secs", (json_int_t)secs, "nanos", (json_int_t)nanos);
	ev = json_pack("{s:o,s:s,s:s,s:O}", "timestamp", ts, "source", source, "event", event,
		       "properties", props ? props : json_null());
	if (!ev)
		return;
	text = json_dumps(ev, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!text)
		return;
	pthread_mutex_lock(&m->lock);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(m->fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	if (off == len && write(m->fd, "\n\n", 2) < 0) {
		/* ignored, as cloud-hypervisor does */
	}
	pthread_mutex_unlock(&m->lock);
	free(text);
}

void event_monitor_close(struct event_monitor *m)
{
	if (m->fd >= 0 && m->owns_fd)
		close(m->fd);
	if (m->fd >= 0)
		pthread_mutex_destroy(&m->lock);
	m->fd = -1;
}
