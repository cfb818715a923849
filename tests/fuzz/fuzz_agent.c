// SPDX-License-Identifier: Apache-2.0
/*
 * The host side of the guest agent protocol (vmm/run/agent_client.c) on a
 * hostile guest's byte stream: the input is what the agent "sent", queued
 * on a socket pair whose other end then stops writing. The client does
 * HELLO (a frame, JSON), then runs a session (frames for other processes,
 * STDOUT / STDERR data, EXIT or ERROR), until the stream ends.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/run/agent_client.h"

static int devnull = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (size > 128 * 1024 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort(); /* fits the socket buffers: nothing else to do */
	shutdown(sv[1], SHUT_WR);

	struct agent_conn c = { .fd = sv[0] };
	json_t *reply = NULL;
	if (agent_hello(&c, &reply, 1000) == 0) {
		json_decref(reply);
		struct agent_session s = {
			.id = AGENT_ID_MAIN, .in_fd = -1, .out_fd = devnull, .err_fd = devnull
		};
		int status = 0;
		char *message = NULL;
		agent_session_run(&c, &s, &status, &message);
		free(message);
	} else {
		/* whatever HELLO left: frames, one at a time, until the end */
		struct agent_hdr h;
		uint8_t *p;
		for (int n = 0; n < 10000 && agent_recv(&c, &h, &p, 1000) == 0; n++) {
			if (p[h.len])
				abort();
			free(p);
		}
	}
	agent_close(&c);
	close(sv[1]);
	return 0;
}
