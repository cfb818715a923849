/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime events that no caller gets back as an error: a guest driver's
 * mistake, a device that cannot start after DRIVER_OK, a kernel panic line,
 * the VM shutting down, -v lines. Errors that a function returns go into its
 * struct err (guest-agent/err.h) instead, and the CLI prints them.
 *
 * The sink (where lines go) and the level (how many) are set by the command
 * line at start-up, before any thread runs: with no sink set nothing is
 * printed, so library code and tests are silent unless they ask. subsys names
 * the part that speaks ("virtio-blk", "vm", "run"): the stderr sink does not
 * print it (today's lines keep their text), later sinks may.
 */
#ifndef SVMM_VMM_KVM_LOG_H
#define SVMM_VMM_KVM_LOG_H

#include <stdbool.h>
#include "guest-agent/err.h"

/* Lowest first: a line goes out when its level is at most the set level. */
enum log_level {
	LV_ERROR, /* something failed and is not returned to anyone */
	LV_WARN,  /* went on, but maybe not as the user meant ("warning: " in the text) */
	LV_NOTE,  /* what the user sees by default: progress, asked-for timings */
	LV_INFO,  /* -v */
	LV_DEBUG, /* -vv */
};

/* One finished line, without a newline. */
typedef void log_sink_fn(void *ctx, enum log_level level, const char *subsys, const char *line);

/* fn NULL: nothing is printed (the default). */
void log_set_sink(log_sink_fn *fn, void *ctx);
/* The highest level that goes out (default LV_NOTE). */
void log_set_level(enum log_level max);
/* Whether a line at level would reach a sink: for lines costly to make. */
bool log_on(enum log_level level);
void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The command line's sink: "svmm: LINE\n" on stderr, in one write ("svmm-timing:
 * LINE" for subsys "timing", the form benchmarks parse). ctx is unused. */
void log_stderr(void *ctx, enum log_level level, const char *subsys, const char *line);

/* --log-format json: one JSON object a line on stderr, in one write:
 * {"time": RFC 3339 UTC with microseconds, "level": "error|warn|note|info|
 * debug", "subsystem", "vm": ctx (a const char *, the VM's id; NULL: ""),
 * "msg"}. */
void log_json(void *ctx, enum log_level level, const char *subsys, const char *line);

#endif
