// SPDX-License-Identifier: Apache-2.0
/* --event-monitor: cloud-hypervisor's JSON event stream. */
#include "vmm/api/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config/options.h"

int event_monitor_open(struct event_monitor *m, const char *spec, struct err *err)
{
	char *path;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	rc = opt_parse_path_or_fd("--event-monitor", spec, &path, &fd, err);
	if (rc < 0)
		return rc;
	if (path) {
		m->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (m->fd < 0) {
			rc = -errno;
			err_set(err, rc, "--event-monitor: cannot open '%.200s': %s", path,
				strerror(errno));
			free(path);
			return rc;
		}
		m->owns_fd = true;
		free(path);
	} else {
		if (fcntl(fd, F_GETFD) < 0)
			return err_set(err, -EBADF, "--event-monitor: fd %d is not open", fd);
		m->fd = fd;
	}
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
