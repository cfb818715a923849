// SPDX-License-Identifier: Apache-2.0
/* The error carrier: see err.h. */
#include "guest-agent/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int norm(int code)
{
	if (code < 0)
		code = -code;
	return code ? code : EIO;
}

int err_vset(struct err *e, int code, const char *fmt, va_list ap)
{
	code = norm(code);
	if (e) {
		e->code = code;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	return -code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = err_vset(e, code, fmt, ap);
	va_end(ap);
	return rc;
}

int err_sys(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = err_vset(e, code, fmt, ap);
	va_end(ap);
	if (e) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(-rc));
	}
	return rc;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char ctx[sizeof(e->msg)], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -EIO;
	if (!e->code) { /* nothing recorded: no message either */
		e->code = EIO;
		e->msg[0] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* CONTEXT, then ": " and the old message, as much as fits. */
	size_t n = strlen(ctx);
	memcpy(e->msg, ctx, n + 1);
	if (old[0] && n + 2 < sizeof(e->msg)) {
		size_t m = strlen(old);
		if (m > sizeof(e->msg) - 1 - n - 2)
			m = sizeof(e->msg) - 1 - n - 2;
		memcpy(e->msg + n, ": ", 2);
		memcpy(e->msg + n + 2, old, m);
		e->msg[n + 2 + m] = '\0';
	}
	return -e->code;
}
