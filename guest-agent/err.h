/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error carrier, shared by the guest agent and the host side (like
 * common.c, err.c is built into both; it needs nothing but libc).
 *
 * Functions return 0 or a negative errno, as before; the ones that can say
 * more take a struct err * as their LAST argument (NULL when the caller
 * does not want the sentence) and leave there the errno of the first
 * failure and one sentence naming what failed: the flag, the JSON field,
 * the file, the interface. Callers add context with err_wrap, and nothing
 * below the command line prints it: the CLI does.
 *
 *	struct err e = { 0 };
 *	if (vm_config_parse_cpus(c, s, &e) < 0)
 *		return err_wrap(&e, "--cpus");	// "--cpus: boot=4 above max=2"
 */
#ifndef SVMM_GUEST_AGENT_ERR_H
#define SVMM_GUEST_AGENT_ERR_H

#include <stdarg.h>

struct err {
	int code;      /* positive errno of the failure; 0 when none was recorded */
	char msg[512]; /* one sentence, NUL-terminated (a longer one is cut) */
};

/* Records code (a positive or negative errno; 0 counts as EIO) and the
 * message in e, replacing what was there, and returns -code, so that
 * "return err_set(err, EINVAL, ...)" reads well. e may be NULL: then it
 * only returns. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* err_set for helpers that take their own format and arguments. */
int err_vset(struct err *e, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* err_set with ": strerror(code)" after the message. */
int err_sys(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The one way to add context: "CONTEXT: " goes before the recorded message
 * (CONTEXT alone when there is none). Returns -e->code, or -EIO when no code
 * was recorded (and records EIO). e may be NULL: then it returns -EIO. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
