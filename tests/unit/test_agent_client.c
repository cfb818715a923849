// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the agent protocol framing (guest-agent/protocol.h) and
 * the host client (vmm/run/agent_client.c) over real socket pairs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/run/agent_client.h"

static void header_round_trip(void **state)
{
	(void)state;
	uint8_t raw[AGENT_HDR_LEN];
	struct agent_hdr in = { .type = AGENT_EXIT, .flags = 0, .id = 0x01020304, .len = 77 }, out;

	agent_hdr_encode(raw, &in);
	/* Little-endian on the wire whatever the host. */
	assert_int_equal(raw[0], AGENT_EXIT);
	assert_int_equal(raw[4], 0x04);
	assert_int_equal(raw[7], 0x01);
	assert_int_equal(agent_hdr_decode(&out, raw), 0);
	assert_int_equal(out.type, in.type);
	assert_int_equal(out.id, in.id);
	assert_int_equal(out.len, 77);
	in.len = AGENT_MAX_PAYLOAD + 1;
	agent_hdr_encode(raw, &in);
	assert_int_equal(agent_hdr_decode(&out, raw), -1);
}

static void frames_over_a_socket(void **state)
{
	(void)state;
	int sv[2];
	struct agent_conn a = { .fd = -1 }, b = { .fd = -1 };
	struct agent_hdr h;
	uint8_t *p = NULL;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.fd = sv[0];
	b.fd = sv[1];
	assert_int_equal(agent_send(&a, AGENT_STDOUT, 7, "hello", 5), 0);
	assert_int_equal(agent_send(&a, AGENT_STDIN, 7, NULL, 0), 0);
	assert_int_equal(agent_send_json(&a, AGENT_PING, 3, json_pack("{s:i}", "x", 1)), 0);

	assert_int_equal(agent_recv(&b, &h, &p, 1000), 0);
	assert_int_equal(h.type, AGENT_STDOUT);
	assert_int_equal(h.id, 7);
	assert_int_equal(h.len, 5);
	assert_memory_equal(p, "hello", 5);
	assert_int_equal(p[5], 0); /* NUL-terminated for JSON users */
	free(p);
	assert_int_equal(agent_recv(&b, &h, &p, 1000), 0);
	assert_int_equal(h.type, AGENT_STDIN);
	assert_int_equal(h.len, 0);
	free(p);
	assert_int_equal(agent_recv(&b, &h, &p, 1000), 0);
	assert_int_equal(h.type, AGENT_PING);
	assert_string_equal((char *)p, "{\"x\":1}");
	free(p);

	/* Nothing more: a timeout, then EOF once the peer closes. */
	assert_int_equal(agent_recv(&b, &h, &p, 50), -ETIMEDOUT);
	agent_close(&a);
	assert_int_equal(agent_recv(&b, &h, &p, 1000), -EPIPE);
	assert_non_null(strstr(b.err.msg, "closed"));
	agent_close(&b);
}

static void byte_by_byte_frames(void **state)
{
	(void)state;
	int sv[2];
	struct agent_conn b = { .fd = -1 };
	uint8_t raw[AGENT_HDR_LEN + 3];
	struct agent_hdr h = { .type = AGENT_STDERR, .id = 9, .len = 3 };
	uint8_t *p = NULL;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	b.fd = sv[1];
	agent_hdr_encode(raw, &h);
	memcpy(raw + AGENT_HDR_LEN, "abc", 3);
	for (size_t i = 0; i < sizeof(raw); i++) /* a frame split in 15 reads */
		assert_int_equal(write(sv[0], raw + i, 1), 1);
	assert_int_equal(agent_recv(&b, &h, &p, 1000), 0);
	assert_int_equal(h.type, AGENT_STDERR);
	assert_memory_equal(p, "abc", 3);
	free(p);
	close(sv[0]);
	agent_close(&b);
}

static void oversized_frame_is_refused(void **state)
{
	(void)state;
	int sv[2];
	struct agent_conn b = { .fd = -1 };
	uint8_t raw[AGENT_HDR_LEN];
	struct agent_hdr h = { .type = AGENT_STDOUT, .id = 1, .len = AGENT_MAX_PAYLOAD + 1 };
	uint8_t *p = NULL;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	b.fd = sv[1];
	agent_hdr_encode(raw, &h);
	assert_int_equal(write(sv[0], raw, sizeof(raw)), (ssize_t)sizeof(raw));
	assert_int_equal(agent_recv(&b, &h, &p, 1000), -EPROTO);
	assert_non_null(strstr(b.err.msg, "limit"));
	close(sv[0]);
	agent_close(&b);
}

static void bad_endpoints(void **state)
{
	(void)state;
	struct agent_conn c;
	assert_int_equal(agent_connect(&c, "tcp:1.2.3.4", 100), -EINVAL);
	assert_non_null(strstr(c.err.msg, "vsock:CID"));
	assert_int_equal(agent_connect(&c, "vsock:abc", 100), -EINVAL);
	/* A Unix socket that does not exist: retried, then ENOENT. */
	assert_int_equal(agent_connect(&c, "unix:/nonexistent/svmm.sock", 50), -ENOENT);
}

static void hybrid_handshake(void **state)
{
	(void)state;
	char dir[] = "/tmp/svmm-unit.XXXXXX", path[64], line[32] = { 0 };
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(l, (void *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid_t pid = fork();
	if (pid == 0) { /* the VMM's side: answer CONNECT 1024 */
		int s = accept(l, NULL, NULL);
		ssize_t n = read(s, line, sizeof(line) - 1);
		_exit(n > 0 && !strcmp(line, "CONNECT 1024\n") && write(s, "OK 77\n", 6) == 6 ? 0
											      : 1);
	}
	char ep[96];
	snprintf(ep, sizeof(ep), "unix:%s", path);
	struct agent_conn c;
	assert_int_equal(agent_connect(&c, ep, 1000), 0);
	agent_close(&c);
	int st;
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	close(l);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_round_trip),   cmocka_unit_test(frames_over_a_socket),
		cmocka_unit_test(byte_by_byte_frames), cmocka_unit_test(oversized_frame_is_refused),
		cmocka_unit_test(bad_endpoints),       cmocka_unit_test(hybrid_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
