/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a console device's bytes go and come from (cloud-hypervisor's
 * --serial/--console modes, read by vmm/config): off, null, tty (this terminal, in raw mode
 * while the VM runs), file=PATH (output only), pty (a new pseudo-terminal
 * whose path is reported) and socket=PATH (a listening Unix socket; one
 * client at a time).
 *
 * A chardev outlives the VMs booted on it (a reboot keeps the terminal,
 * pty or socket). Open it once; close it on every exit path: closing puts
 * the terminal back as it was.
 */
#ifndef SVMM_DEVICES_CHARDEV_H
#define SVMM_DEVICES_CHARDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>
#include "guest-agent/err.h"

enum chardev_mode {
	CHARDEV_OFF,
	CHARDEV_NULL,
	CHARDEV_TTY,
	CHARDEV_FILE,
	CHARDEV_PTY,
	CHARDEV_SOCKET
};

struct chardev {
	enum chardev_mode mode;
	char path[4096]; /* file, socket or (after open) pty path */
	int out_fd;	 /* -1: output dropped */
	int in_fd;	 /* -1: no input */
	int listen_fd;	 /* socket mode */
	pthread_mutex_t lock;
	bool tty_raw;
	struct termios saved;
};

/* A back end of mode; path is the file's or the socket's (unused for the
 * others). -EINVAL with a message in err when it is empty or too long. */
int chardev_init(struct chardev *c, enum chardev_mode mode, const char *path, struct err *err);
/* Open the backend: the file, the pty, the socket; the terminal goes raw. */
int chardev_open(struct chardev *c, struct err *err);
void chardev_close(struct chardev *c);
/* Put the terminal back (async-signal-safe: for fatal-signal handlers). */
void chardev_restore_tty(struct chardev *c);

/* Write all of buf, or drop it when nobody listens. */
void chardev_write(struct chardev *c, const void *buf, size_t len);
/* The fd to poll for input now (socket mode: the listener until a client
 * connects), or -1. */
int chardev_poll_fd(struct chardev *c);
/* Read input after poll said the fd is readable: accepts a client in socket
 * mode. Returns bytes read, 0 when there was nothing (or a client came or
 * went), -EIO when input is over for good. */
int chardev_read(struct chardev *c, void *buf, size_t len);

#endif
