/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of the guest agent protocol (guest-agent/PROTOCOL.md):
 * connecting to the agent over either vsock transport, framing, and a
 * session that pumps one process' stdio, signals and terminal size until
 * its exit status comes back.
 *
 * Endpoints are strings:
 *   "vsock:CID[:PORT]"   AF_VSOCK (vhost-vsock, e.g. QEMU in tests)
 *   "unix:PATH[:PORT]"   the hybrid vsock scheme of cloud-hypervisor and
 *                        Firecracker: connect to the Unix socket PATH, send
 *                        "CONNECT PORT\n", expect "OK ...\n"
 * PORT defaults to AGENT_VSOCK_PORT.
 */
#ifndef SVMM_VMM_RUN_AGENT_CLIENT_H
#define SVMM_VMM_RUN_AGENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-agent/err.h"
#include "guest-agent/protocol.h"

struct agent_conn {
	int fd;
	uint8_t *in; /* received bytes not yet parsed */
	size_t inlen, incap;
	struct err err; /* why the last call failed */
};

/* Connects to endpoint, retrying for up to timeout_ms while the guest
 * boots (refused, reset, or no such CID yet). 0 or negative errno, with
 * c->err saying why. */
int agent_connect(struct agent_conn *c, const char *endpoint, int timeout_ms);
void agent_close(struct agent_conn *c);

/* Sends one frame (blocking). */
int agent_send(struct agent_conn *c, uint16_t type, uint32_t id, const void *payload, size_t len);
/* Sends j as a JSON control frame; takes the reference. */
int agent_send_json(struct agent_conn *c, uint16_t type, uint32_t id, json_t *j);
/* Receives one frame, waiting up to timeout_ms (-1: forever). *payload is
 * malloc'ed and NUL-terminated; the caller frees it. -ETIMEDOUT, -EPIPE
 * when the agent closed the connection. */
int agent_recv(struct agent_conn *c, struct agent_hdr *h, uint8_t **payload, int timeout_ms);

/* HELLO both ways; *reply (may be NULL) gets the agent's object. */
int agent_hello(struct agent_conn *c, json_t **reply, int timeout_ms);

/* A session: the process id, what to pump, and how. */
struct agent_session {
	uint32_t id;
	bool tty;      /* the process has a terminal: one output stream */
	bool stdin_on; /* forward in_fd (-i); otherwise stdin is closed */
	int in_fd, out_fd, err_fd;
	bool forward_signals; /* SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 */
};

/* Pumps s until the process' EXIT (or ERROR) frame. *status is the docker
 * style status (the exit code, 128 + signal, or ERROR's code); *message
 * (may be NULL) gets ERROR's text, malloc'ed. 0, or negative errno when the
 * connection failed (c->err says why). */
int agent_session_run(struct agent_conn *c, const struct agent_session *s, int *status,
		      char **message);

#endif
