// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/api/http.c's request parser, hostile inputs included. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/api/http.h"

struct result {
	enum http_parse r;
	struct http_request req;
	size_t used;
	int status;
	const char *why;
};

static struct result parse_n(const char *s, size_t n)
{
	struct result res = { 0 };
	/* A private heap copy, so ASan sees any read past the end. */
	char *buf = malloc(n ? n : 1);
	memcpy(buf, s, n);
	res.r = http_parse_request(buf, n, &res.req, &res.used, &res.status, &res.why);
	if (res.r == HTTP_PARSE_DONE && res.req.body) {
		/* body points into buf: check it, then forget it */
		assert_true(res.req.body >= buf && res.req.body + res.req.body_len <= buf + n);
	}
	res.req.body = NULL;
	free(buf);
	return res;
}

static struct result parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void hyper_style_put(void **state)
{
	(void)state;
	const char *s = "PUT /api/v1/vm.create HTTP/1.1\r\n"
			"content-type: application/json\r\n"
			"host: 2f746d702f782e736f636b:0\r\n"
			"content-length: 7\r\n\r\n"
			"{\"a\":1}";
	struct result r = parse(s);
	assert_int_equal(r.r, HTTP_PARSE_DONE);
	assert_string_equal(r.req.method, "PUT");
	assert_string_equal(r.req.path, "/api/v1/vm.create");
	assert_int_equal(r.req.minor, 1);
	assert_int_equal(r.req.body_len, 7);
	assert_int_equal(r.used, strlen(s));
	assert_true(r.req.keep_alive);
}

static void get_without_body_and_pipelining(void **state)
{
	(void)state;
	const char *one = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";
	char two[256];
	snprintf(two, sizeof(two), "%s%s", one, one);
	struct result r = parse(two);
	assert_int_equal(r.r, HTTP_PARSE_DONE);
	assert_int_equal(r.used, strlen(one));
	assert_int_equal(r.req.body_len, 0);
}

static void incomplete_then_complete(void **state)
{
	(void)state;
	const char *s = "PUT /api/v1/vm.boot HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
	size_t n = strlen(s);
	/* Every strict prefix is incomplete (or headers-only), never an error. */
	for (size_t i = 0; i < n; i++) {
		struct result r = parse_n(s, i);
		assert_true(r.r == HTTP_PARSE_INCOMPLETE || r.r == HTTP_PARSE_HEADERS);
	}
	struct result r = parse_n(s, n - 2);
	assert_int_equal(r.r, HTTP_PARSE_HEADERS);
	assert_int_equal(parse_n(s, n).r, HTTP_PARSE_DONE);
}

static void connection_semantics(void **state)
{
	(void)state;
	assert_false(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").req.keep_alive);
	assert_false(parse("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n").req.keep_alive);
	assert_false(parse("GET / HTTP/1.0\r\n\r\n").req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").req.keep_alive);
	assert_true(parse("GET / HTTP/1.1\n\n").req.keep_alive); /* bare LF line ends */
	assert_true(parse("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
			    .req.expect_continue);
}

static void expect_error(const char *s, size_t n, int status)
{
	struct result r = parse_n(s, n);
	if (r.r != HTTP_PARSE_ERROR || r.status != status)
		fail_msg("input %.60s: got result %d status %d, expected error %d", s, r.r,
			 r.status, status);
	assert_non_null(r.why);
}

#define EXPECT_ERROR(s, status) expect_error(s, sizeof(s) - 1, status)

static void absolute_form_target(void **state)
{
	(void)state;
	struct result r = parse("GET http://localhost/api/v1/vmm.ping HTTP/1.1\r\n\r\n");
	assert_int_equal(r.r, HTTP_PARSE_DONE);
	assert_string_equal(r.req.path, "/api/v1/vmm.ping");
	EXPECT_ERROR("GET http://localhost HTTP/1.1\r\n\r\n", 400);
}

static void malformed_request_lines(void **state)
{
	(void)state;
	EXPECT_ERROR("GARBAGE\r\n", 400);
	EXPECT_ERROR("GET\r\n\r\n", 400);
	EXPECT_ERROR("GET /\r\n\r\n", 400);
	EXPECT_ERROR("GET  / HTTP/1.1\r\n\r\n", 400);
	EXPECT_ERROR("GET api/v1 HTTP/1.1\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/1.1 extra\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/2.0\r\n\r\n", 505);
	EXPECT_ERROR("GET / HTTP/x.y\r\n\r\n", 400);
	EXPECT_ERROR("G(T / HTTP/1.1\r\n\r\n", 400);
	EXPECT_ERROR("VERYVERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", 501);
	EXPECT_ERROR("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400);
	/* Rejected as soon as the line is there, without waiting for more. */
	EXPECT_ERROR("NOT HTTP AT ALL\n", 400);
}

static void hostile_bytes(void **state)
{
	(void)state;
	EXPECT_ERROR("GET /\0 HTTP/1.1\r\n\r\n", 400);
	EXPECT_ERROR("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400); /* a TLS hello */
	EXPECT_ERROR("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/1.1\r\nX: \x7f\r\n\r\n", 400);
	EXPECT_ERROR("GET /a\x01 HTTP/1.1\r\n\r\n", 400);
}

static void malformed_headers(void **state)
{
	(void)state;
	EXPECT_ERROR("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400);
	EXPECT_ERROR("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411);
	/* Same length twice is allowed. */
	assert_int_equal(
		parse("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na").r,
		HTTP_PARSE_DONE);
}

static void size_limits(void **state)
{
	(void)state;
	char big[128];
	snprintf(big, sizeof(big), "PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY + 1);
	expect_error(big, strlen(big), 413);
	snprintf(big, sizeof(big), "PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", HTTP_MAX_BODY);
	assert_int_equal(parse(big).r, HTTP_PARSE_HEADERS);

	/* A head that never ends. */
	size_t n = HTTP_MAX_HEADER + 100;
	char *s = malloc(n);
	memcpy(s, "GET / HTTP/1.1\r\n", 16);
	for (size_t i = 16; i < n; i += 8)
		memcpy(s + i, "X: aaa\r\n", n - i < 8 ? n - i : 8);
	struct result r = parse_n(s, n);
	assert_int_equal(r.r, HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 431);
	/* One endless request line. */
	memset(s, 'a', n);
	memcpy(s, "GET /", 5);
	r = parse_n(s, n);
	assert_int_equal(r.r, HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 431);
	free(s);

	/* Too many header lines. */
	char many[4096] = "GET / HTTP/1.1\r\n";
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		strcat(many, "A: b\r\n");
	strcat(many, "\r\n");
	expect_error(many, strlen(many), 431);

	/* A long target. */
	char *t = malloc(HTTP_MAX_PATH + 64);
	int k = sprintf(t, "GET /");
	memset(t + k, 'p', HTTP_MAX_PATH);
	strcpy(t + k + HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n");
	expect_error(t, strlen(t), 414);
	free(t);
}

/* Random bytes and random mutations of a valid request never crash the
 * parser, and every result is one of the four. */
static void fuzz(void **state)
{
	(void)state;
	const char *base = "PUT /api/v1/vm.create HTTP/1.1\r\nHost: h\r\n"
			   "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
	size_t n = strlen(base);
	unsigned int seed = 12345;
	char buf[256];

	for (int iter = 0; iter < 20000; iter++) {
		memcpy(buf, base, n);
		int muts = 1 + rand_r(&seed) % 4;
		for (int m = 0; m < muts; m++)
			buf[rand_r(&seed) % n] = (char)(rand_r(&seed) & 0xff);
		size_t len = rand_r(&seed) % (n + 1);
		struct result r = parse_n(buf, len);
		assert_true(r.r <= HTTP_PARSE_ERROR);
		if (r.r == HTTP_PARSE_DONE)
			assert_true(r.used <= len);
		if (r.r == HTTP_PARSE_ERROR)
			assert_true(r.status >= 400 && r.status < 600);
	}
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = rand_r(&seed) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(rand_r(&seed) & 0xff);
		assert_true(parse_n(buf, len).r <= HTTP_PARSE_ERROR);
	}
}

static void reasons(void **state)
{
	(void)state;
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(413), "Payload Too Large");
	assert_string_equal(http_reason(204), "No Content");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hyper_style_put),
		cmocka_unit_test(get_without_body_and_pipelining),
		cmocka_unit_test(incomplete_then_complete),
		cmocka_unit_test(connection_semantics),
		cmocka_unit_test(absolute_form_target),
		cmocka_unit_test(malformed_request_lines),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(malformed_headers),
		cmocka_unit_test(size_limits),
		cmocka_unit_test(fuzz),
		cmocka_unit_test(reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
