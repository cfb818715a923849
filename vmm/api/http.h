/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP/1.1 server for a Unix socket, enough for cloud-hypervisor's
 * API and its clients (hyper, curl, ch-remote): persistent connections,
 * Content-Length bodies, any Host header, pipelined requests answered in
 * order, and hard limits on header and body sizes. Chunked request bodies
 * are refused (411). One thread runs a non-blocking epoll loop, so a slow or
 * stuck client never holds up another; a malformed request gets an error
 * answer and its connection is closed, nothing else is affected.
 *
 * The request parser is a pure function over a buffer (unit-tested apart).
 */
#ifndef SVMM_VMM_API_HTTP_H
#define SVMM_VMM_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "guest-agent/err.h"

#define HTTP_MAX_HEADER	 (16 * 1024)	   /* request line + headers */
#define HTTP_MAX_BODY	 (4 * 1024 * 1024) /* cloud-hypervisor's limit */
#define HTTP_MAX_HEADERS 64		   /* header lines */
#define HTTP_MAX_CONNS	 128
#define HTTP_MAX_METHOD	 16
#define HTTP_MAX_PATH	 2048

struct http_request {
	char method[HTTP_MAX_METHOD];
	char path[HTTP_MAX_PATH]; /* the request target, query string included */
	int minor;		  /* HTTP/1.<minor> */
	const char *body;	  /* points into the parsed buffer */
	size_t body_len;
	bool keep_alive;      /* after this request */
	bool expect_continue; /* "Expect: 100-continue" */
	/* File descriptors that came with the request's bytes (SCM_RIGHTS on
	 * the Unix socket, as Kata sends a TAP's with vm.add-net). A handler
	 * keeping one sets its entry to -1; the server closes the rest after
	 * the handler. */
	int *fds;
	unsigned int n_fds;
};

#define HTTP_MAX_FDS 16 /* passed with one request; more are closed */

enum http_parse {
	HTTP_PARSE_INCOMPLETE, /* need more bytes (header section not complete, or body) */
	HTTP_PARSE_HEADERS,    /* headers complete and valid; body not all here yet */
	HTTP_PARSE_DONE,       /* a whole request; *consumed bytes */
	HTTP_PARSE_ERROR,      /* answer *status and close */
};

/*
 * Parse one request from buf[0..len), which is not modified. INCOMPLETE and
 * HEADERS mean: call again from the same start once more bytes came. On DONE,
 * req->body points into buf and *consumed is the request's length. On ERROR,
 * *status is 400, 411, 413, 414, 431, 501 or 505 and *why says what was wrong.
 */
enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req,
				   size_t *consumed, int *status, const char **why);

/* The reason phrase for a status code ("Not Found"). */
const char *http_reason(int status);

struct http_response {
	int status;
	char *body; /* malloc'd or NULL; the server frees it */
	size_t body_len;
	bool close;		  /* close the connection after this answer */
	const char *allow;	  /* an Allow header (405), static string */
	const char *content_type; /* static string; NULL: application/json */
};

/* Called on the server thread for each complete request. Fill resp. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
				struct http_response *resp);
/* Called on the server thread after a response flagged by the handler (via
 * http_server_after_flush) has been written out, or its client went away. */
typedef void (*http_flushed_fn)(void *ctx);

struct http_conn;

struct http_server {
	int listen_fd;
	int epoll_fd;
	int stop_fd; /* eventfd: http_server_stop() */
	char *path;  /* the socket file we created, unlinked at close; NULL for fd= */
	unsigned long path_ino, path_dev; /* unlinked only while it is still ours */
	http_handler_fn handler;
	http_flushed_fn flushed;
	void *ctx;
	struct http_conn *conns;
	unsigned int n_conns;
	bool flush_pending; /* call flushed() once the current answer is out */
};

/*
 * Listen on a Unix socket path. Whatever is there but a directory is
 * removed first, as cloud-hypervisor does, except a socket that a running
 * server still accepts on (-EADDRINUSE). err (256 bytes) says what failed.
 */
int http_listen_path(const char *path, struct err *err);
/* Adopt an inherited listening socket: -ENOTSOCK / -EINVAL if it is not one. */
int http_listen_fd(int fd, struct err *err);

/* Set up a server on a listening socket (taken over; closed by
 * http_server_close). path, if not NULL, is unlinked at close. -errno. */
int http_server_init(struct http_server *s, int listen_fd, const char *path,
		     http_handler_fn handler, http_flushed_fn flushed, void *ctx);
/* Serve until http_server_stop(). Returns 0, or -errno on a loop failure. */
int http_server_run(struct http_server *s);
/* Ask run() to return (any thread, async-signal-safe). */
void http_server_stop(struct http_server *s);
/* From the handler: call flushed() after the current response is written. */
void http_server_after_flush(struct http_server *s);
/* Close every connection and the listening socket; unlink the path. */
void http_server_close(struct http_server *s);

#endif
