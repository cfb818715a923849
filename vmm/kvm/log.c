// SPDX-License-Identifier: Apache-2.0
/* The log: see log.h. */
#include "vmm/kvm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up, before other threads exist; read by all. */
static log_sink_fn *sink;
static void *sink_ctx;
static enum log_level max_level = LV_NOTE;

void log_set_sink(log_sink_fn *fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

void log_set_level(enum log_level max)
{
	max_level = max;
}

bool log_on(enum log_level level)
{
	return sink && level <= max_level;
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log_on(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink(sink_ctx, level, subsys, line);
}

/* One write(2), no stdio: any thread may log, and its seccomp filter allows
 * write but not the fstat stdio makes on a stream's first use. */
void log_stderr(void *ctx, enum log_level level, const char *subsys, const char *line)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s: %s\n",
			 subsys && !strcmp(subsys, "timing") ? "svmm-timing" : "svmm", line);

	(void)ctx;
	(void)level;
	if (n > (int)sizeof(buf) - 1) { /* cut: keep the newline */
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
}

/* s as a JSON string's contents: quote, backslash and control characters
 * escaped. Returns the new end (at most end). */
static char *json_str(char *p, char *end, const char *s)
{
	for (; *s && p < end - 7; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch < 0x20) {
			p += snprintf(p, (size_t)(end - p), "\\u%04x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	return p;
}

void log_json(void *ctx, enum log_level level, const char *subsys, const char *line)
{
	static const char *const names[] = { "error", "warn", "note", "info", "debug" };
	char buf[4400], *p = buf, *end = buf + sizeof(buf) - 4;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	p += strftime(p, (size_t)(end - p), "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	p += snprintf(p, (size_t)(end - p), ".%06ldZ\",\"level\":\"%s\",\"subsystem\":\"",
		      ts.tv_nsec / 1000,
		      (unsigned int)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?");
	p = json_str(p, end, subsys ? subsys : "");
	p += snprintf(p, (size_t)(end - p), "\",\"vm\":\"");
	p = json_str(p, end, ctx ? (const char *)ctx : "");
	p += snprintf(p, (size_t)(end - p), "\",\"msg\":\"");
	p = json_str(p, end, line);
	memcpy(p, "\"}\n", 3);
	(void)!write(STDERR_FILENO, buf, (size_t)(p + 3 - buf));
}
