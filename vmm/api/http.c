// SPDX-License-Identifier: Apache-2.0
/* HTTP/1.1 on a Unix socket: request parser and a non-blocking epoll server. */
#include "vmm/api/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- parser ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Bytes a request head may hold: visible ASCII, space, tab, CR, LF and
 * (in header values) obs-text. */
static bool head_byte_ok(unsigned char c)
{
	return c >= 0x20 ? c != 0x7f : (c == '\t' || c == '\r' || c == '\n');
}

#define PERR(st, msg)                    \
	do {                             \
		*status = (st);          \
		*why = (msg);            \
		return HTTP_PARSE_ERROR; \
	} while (0)

/* One line [p, eol) of the head, without its CR; NULL eol = incomplete. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', end - p);
	if (!nl)
		return NULL;
	*next = nl + 1;
	return (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
}

static bool token_eq(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(a, lit, n);
}

/* The request line "METHOD SP target SP HTTP/1.x". */
static enum http_parse parse_request_line(const char *p, const char *eol, struct http_request *req,
					  int *status, const char **why)
{
	const char *sp = p;
	while (sp < eol && is_tchar(*sp))
		sp++;
	if (sp == p || sp == eol || *sp != ' ')
		PERR(400, "malformed request line (method)");
	if ((size_t)(sp - p) >= HTTP_MAX_METHOD)
		PERR(501, "method not implemented");
	memcpy(req->method, p, sp - p);
	req->method[sp - p] = '\0';

	const char *t = sp + 1, *te = t;
	while (te < eol && *te != ' ')
		te++;
	if (te == t || te == eol)
		PERR(400, "malformed request line (target)");
	/* absolute-form ("http://host/path", RFC 9112 3.2.2): keep the path. */
	if (te - t > 7 && !strncasecmp(t, "http://", 7)) {
		const char *slash = memchr(t + 7, '/', te - t - 7);
		if (!slash)
			PERR(400, "absolute-form request target without a path");
		t = slash;
	}
	if (*t != '/')
		PERR(400, "request target must be an absolute path");
	if ((size_t)(te - t) >= HTTP_MAX_PATH)
		PERR(414, "request target too long");
	for (const char *q = t; q < te; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			PERR(400, "control character in request target");
	memcpy(req->path, t, te - t);
	req->path[te - t] = '\0';

	const char *v = te + 1;
	if (eol - v != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		PERR(400, "malformed request line (version)");
	if (v[5] != '1')
		PERR(505, "HTTP version not supported");
	req->minor = v[7] - '0';
	return HTTP_PARSE_DONE;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req,
				   size_t *consumed, int *status, const char **why)
{
	const char *p = buf, *end = buf + len, *next, *eol;
	size_t head_len;

	memset(req, 0, sizeof(*req));
	*consumed = 0;
	/* Tolerate a few empty lines before a request (RFC 9112 2.2). */
	for (int i = 0; i < 4 && p < end && (*p == '\r' || *p == '\n'); i++) {
		if (*p == '\r' && (p + 1 >= end || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
	}
	if (p < end && (*p == '\r' || *p == '\n'))
		PERR(400, "empty lines before the request");

	/* Every byte of the head so far must be plausible, before we wait for
	 * more: garbage is refused at once. */
	const char *scan_end = end - p > HTTP_MAX_HEADER ? p + HTTP_MAX_HEADER : end;
	const char *head_end = NULL;
	for (const char *q = p; q < scan_end; q++) {
		if (!head_byte_ok((unsigned char)*q))
			PERR(400, "control character in request head");
		if (*q == '\r' && q + 1 < end && q[1] != '\n')
			PERR(400, "bare CR in request head");
		if (*q == '\n' && q > p &&
		    (q[-1] == '\n' || (q[-1] == '\r' && q - 1 > p && q[-2] == '\n'))) {
			head_end = q + 1;
			break;
		}
	}

	/* Check the request line as soon as it is complete. */
	if (!(eol = line_end(p, scan_end, &next))) {
		if (end - p >= HTTP_MAX_HEADER)
			PERR(431, "request head too large");
		return HTTP_PARSE_INCOMPLETE;
	}
	if (parse_request_line(p, eol, req, status, why) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	if (!head_end) {
		if (end - p >= HTTP_MAX_HEADER)
			PERR(431, "request head too large");
		return HTTP_PARSE_INCOMPLETE;
	}
	head_len = head_end - buf;

	bool have_len = false, conn_close = false, conn_keep = false;
	uint64_t clen = 0;
	unsigned int n_headers = 0;
	for (p = next; p < head_end; p = next) {
		eol = line_end(p, head_end, &next);
		if (eol == p)
			break; /* the empty line */
		if (++n_headers > HTTP_MAX_HEADERS)
			PERR(431, "too many header fields");
		if (*p == ' ' || *p == '\t')
			PERR(400, "obsolete header line folding");
		const char *colon = p;
		while (colon < eol && is_tchar(*colon))
			colon++;
		if (colon == p || colon == eol || *colon != ':')
			PERR(400, "malformed header field");
		const char *name = p, *v = colon + 1, *ve = eol;
		size_t nlen = colon - p;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (token_eq(name, nlen, "Content-Length")) {
			uint64_t n = 0;
			if (v == ve || ve - v > 19)
				PERR(400, "invalid Content-Length");
			for (const char *q = v; q < ve; q++) {
				if (*q < '0' || *q > '9')
					PERR(400, "invalid Content-Length");
				n = n * 10 + (*q - '0');
			}
			if (have_len && n != clen)
				PERR(400, "conflicting Content-Length headers");
			have_len = true;
			clen = n;
		} else if (token_eq(name, nlen, "Transfer-Encoding")) {
			PERR(411, "Transfer-Encoding is not supported: send a Content-Length");
		} else if (token_eq(name, nlen, "Connection")) {
			/* A comma-separated list of tokens. */
			for (const char *q = v; q < ve;) {
				const char *e = q;
				while (e < ve && *e != ',')
					e++;
				const char *a = q, *b = e;
				while (a < b && (*a == ' ' || *a == '\t'))
					a++;
				while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
					b--;
				if (token_eq(a, b - a, "close"))
					conn_close = true;
				else if (token_eq(a, b - a, "keep-alive"))
					conn_keep = true;
				q = e < ve ? e + 1 : e;
			}
		} else if (token_eq(name, nlen, "Expect")) {
			if (token_eq(v, ve - v, "100-continue"))
				req->expect_continue = true;
		}
	}
	if (clen > HTTP_MAX_BODY)
		PERR(413, "request body too large");
	req->keep_alive = req->minor >= 1 ? !conn_close : (conn_keep && !conn_close);
	if (len - head_len < clen)
		return HTTP_PARSE_HEADERS;
	req->body = clen ? head_end : NULL;
	req->body_len = clen;
	*consumed = head_len + clen;
	return HTTP_PARSE_DONE;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* ---- listening sockets ---- */

int http_listen_path(const char *path, struct err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, -ENAMETOOLONG, "api socket path '%.200s' is too long", path);
	strcpy(sa.sun_path, path);
	/*
	 * As cloud-hypervisor does, whatever is at the path (a stale socket, a
	 * regular file, a link) is removed before the bind; a directory is not.
	 * Unlike it, a socket that a running server still accepts on is kept.
	 */
	if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		if (S_ISSOCK(st.st_mode)) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				goto sock_err;
			rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
			int e = errno;
			close(fd);
			if (rc == 0 || e == EAGAIN)
				return err_set(err, -EADDRINUSE,
					       "'%.200s' is in use by a running server", path);
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			return err_set(err, rc, "cannot remove '%.200s' before listening: %s", path,
				       strerror(errno));
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto sock_err;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		err_set(err, rc, "cannot listen on '%.200s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
sock_err:
	rc = -errno;
	return err_set(err, rc, "socket: %s", strerror(errno));
}

int http_listen_fd(int fd, struct err *err)
{
	int acc = 0;
	socklen_t l = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0) {
		int rc = -errno;
		return err_set(err, rc, "fd %d is not a socket: %s", fd, strerror(errno));
	}
	if (!acc)
		return err_set(err, -EINVAL, "fd %d is not a listening socket", fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int rc = -errno;
		return err_set(err, rc, "fd %d: %s", fd, strerror(errno));
	}
	return fd;
}

/* ---- server ---- */

struct http_conn {
	int fd; /* -1: free slot */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool closing;	    /* close once out is flushed */
	bool peer_gone;	    /* read() saw EOF */
	bool sent_continue; /* 100 Continue for the request being received */
	bool notify_flush;  /* call flushed() once out is written */
	bool linger;	    /* after an error: half-close, then read the rest away */
	bool draining;	    /* lingering: input is discarded until EOF */
	size_t drained;
	uint32_t events;       /* current epoll interest */
	int fds[HTTP_MAX_FDS]; /* received (SCM_RIGHTS), for the next request */
	unsigned int n_fds;
};

static void fds_close(struct http_conn *c)
{
	for (unsigned int i = 0; i < c->n_fds; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	c->n_fds = 0;
}

#define TAG_LISTEN UINT64_MAX
#define TAG_STOP   (UINT64_MAX - 1)

int http_server_init(struct http_server *s, int listen_fd, const char *path,
		     http_handler_fn handler, http_flushed_fn flushed, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	memset(s, 0, sizeof(*s));
	s->listen_fd = listen_fd;
	s->handler = handler;
	s->flushed = flushed;
	s->ctx = ctx;
	s->epoll_fd = s->stop_fd = -1;
	s->conns = calloc(HTTP_MAX_CONNS, sizeof(*s->conns));
	if (!s->conns || (path && !(s->path = strdup(path)))) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < HTTP_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	struct stat st;
	if (path && stat(path, &st) == 0) {
		s->path_ino = st.st_ino;
		s->path_dev = st.st_dev;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epoll_fd < 0 || s->stop_fd < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.u64 = TAG_LISTEN;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.u64 = TAG_STOP;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->conns);
	free(s->path);
	s->conns = NULL;
	s->path = NULL;
	s->epoll_fd = s->stop_fd = -1;
	return rc;
}

static void conn_close(struct http_server *s, struct http_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	fds_close(c);
	free(c->in);
	free(c->out);
	bool notify = c->notify_flush;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->n_conns--;
	if (notify && s->flushed)
		s->flushed(s->ctx);
}

static int out_append(struct http_conn *c, const char *data, size_t n)
{
	if (c->out_len + n > SIZE_MAX / 2)
		return -ENOMEM;
	char *p = realloc(c->out, c->out_len + n + 1);
	if (!p)
		return -ENOMEM;
	c->out = p;
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

static int queue_response(struct http_conn *c, int status, const char *body, size_t body_len,
			  bool keep_alive, const char *allow, const char *type)
{
	char head[384];
	int n;

	if (status == 204 || status < 200)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: Cloud Hypervisor API\r\n"
			     "Connection: %s\r\n\r\n",
			     status, http_reason(status), keep_alive ? "keep-alive" : "close");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: Cloud Hypervisor API\r\n"
			     "Connection: %s\r\n%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
			     status, http_reason(status), keep_alive ? "keep-alive" : "close",
			     allow ? "Allow: " : "", allow ? allow : "", allow ? "\r\n" : "",
			     body_len ? "Content-Type: " : "",
			     body_len ? (type ? type : "application/json") : "",
			     body_len ? "\r\n" : "", body_len);
	if (out_append(c, head, n) < 0)
		return -ENOMEM;
	if (status != 204 && body_len && out_append(c, body, body_len) < 0)
		return -ENOMEM;
	return 0;
}

/* An error the transport itself answers: a JSON array with one string, as
 * cloud-hypervisor's errors are; the connection is closed after it. */
static void queue_error(struct http_conn *c, int status, const char *why)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "[\"%s\"]", why);
	queue_response(c, status, body, n, false, NULL, NULL);
	c->closing = true;
	c->linger = true;
}

static void set_events(struct http_server *s, struct http_conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.u64 = (uint64_t)(c - s->conns) };
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* Answer complete requests while nothing is waiting to be written. */
static void conn_process(struct http_server *s, struct http_conn *c)
{
	while (!c->out_len && !c->closing && c->in_len) {
		struct http_request req;
		struct http_response resp = { 0 };
		size_t used;
		int status;
		const char *why;

		switch (http_parse_request(c->in, c->in_len, &req, &used, &status, &why)) {
		case HTTP_PARSE_INCOMPLETE:
			return;
		case HTTP_PARSE_HEADERS:
			if (req.expect_continue && req.minor >= 1 && !c->sent_continue) {
				queue_response(c, 100, NULL, 0, true, NULL, NULL);
				c->sent_continue = true;
			}
			return;
		case HTTP_PARSE_ERROR:
			queue_error(c, status, why);
			return;
		case HTTP_PARSE_DONE:
			break;
		}
		s->flush_pending = false;
		req.fds = c->fds;
		req.n_fds = c->n_fds;
		s->handler(s->ctx, &req, &resp);
		fds_close(c); /* what the handler did not keep */
		bool keep = req.keep_alive && !resp.close;
		if (queue_response(c, resp.status, resp.body, resp.body_len, keep, resp.allow,
				   resp.content_type) < 0)
			c->closing = true;
		free(resp.body);
		if (s->flush_pending)
			c->notify_flush = true;
		s->flush_pending = false;
		if (!keep)
			c->closing = true;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		c->sent_continue = false;
	}
}

/* Write what is queued; returns false when the connection was closed. */
static bool conn_flush(struct http_server *s, struct http_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(s, c, EPOLLOUT | EPOLLRDHUP);
			return true;
		}
		if (n <= 0) {
			conn_close(s, c);
			return false;
		}
		c->out_off += n;
	}
	c->out_len = c->out_off = 0;
	if (c->notify_flush) {
		c->notify_flush = false;
		if (s->flushed)
			s->flushed(s->ctx);
	}
	if (c->closing && c->linger && !c->peer_gone) {
		/* The client may still be sending what we refused: closing now
		 * could make it miss the answer. Half-close and read it away. */
		shutdown(c->fd, SHUT_WR);
		c->draining = true;
		c->in_len = 0;
		set_events(s, c, EPOLLIN | EPOLLRDHUP);
		return false;
	}
	if (c->closing || (c->peer_gone && !c->in_len)) {
		conn_close(s, c);
		return false;
	}
	set_events(s, c, EPOLLIN | EPOLLRDHUP);
	return true;
}

/* Lingering close: discard input until EOF (or a bound), then close. */
static void conn_drain(struct http_server *s, struct http_conn *c)
{
	char sink[16384];

	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    c->drained < 2 * (HTTP_MAX_HEADER + HTTP_MAX_BODY))
			return;
		if (n <= 0 || (c->drained += n) >= 2 * (HTTP_MAX_HEADER + HTTP_MAX_BODY)) {
			conn_close(s, c);
			return;
		}
	}
}

static void conn_read(struct http_server *s, struct http_conn *c)
{
	const size_t limit = HTTP_MAX_HEADER + HTTP_MAX_BODY + 64;

	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			if (cap > limit)
				cap = limit;
			if (cap <= c->in_len) /* full: the parser will have refused it */
				break;
			char *p = realloc(c->in, cap);
			if (!p) {
				conn_close(s, c);
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		union {
			char buf[CMSG_SPACE(HTTP_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { c->in + c->in_len, c->in_cap - c->in_len };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; h;
		     h = CMSG_NXTHDR(&mh, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
				if (c->n_fds < HTTP_MAX_FDS)
					c->fds[c->n_fds++] = fd;
				else
					close(fd); /* more than a request may bring */
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->peer_gone = true;
			break;
		}
		c->in_len += n;
	}
}

static void conn_event(struct http_server *s, struct http_conn *c, uint32_t ev)
{
	if (c->draining) {
		conn_drain(s, c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP))
		conn_read(s, c);
	else if (ev & (EPOLLERR | EPOLLHUP)) {
		conn_close(s, c);
		return;
	}
	for (;;) {
		conn_process(s, c);
		if (!c->out_len) {
			if (c->peer_gone || c->closing) {
				conn_close(s, c);
				return;
			}
			/* The buffer is full only when the parser is still waiting:
			 * stop reading until something changes (never: refuse). */
			if (c->in_len >= HTTP_MAX_HEADER + HTTP_MAX_BODY + 64) {
				conn_close(s, c);
				return;
			}
			set_events(s, c, EPOLLIN | EPOLLRDHUP);
			return;
		}
		if (!conn_flush(s, c) || c->out_len)
			return;
		/* Flushed: pipelined requests may be waiting in the buffer. */
	}
}

static void accept_all(struct http_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: try again on the next event */
		struct http_conn *c = NULL;
		for (unsigned int i = 0; i < HTTP_MAX_CONNS; i++) {
			if (s->conns[i].fd < 0) {
				c = &s->conns[i];
				break;
			}
		}
		if (!c) {
			static const char busy[] =
				"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
				"Content-Length: 25\r\n\r\n[\"too many connections\"]";
			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->events = EPOLLIN | EPOLLRDHUP;
		struct epoll_event e = { .events = c->events,
					 .data.u64 = (uint64_t)(c - s->conns) };
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		s->n_conns++;
	}
}

int http_server_run(struct http_server *s)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(s->epoll_fd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_STOP)
				return 0;
			if (tag == TAG_LISTEN) {
				accept_all(s);
				continue;
			}
			struct http_conn *c = &s->conns[tag];
			if (c->fd < 0)
				continue;
			if ((evs[i].events & EPOLLOUT) && c->out_len) {
				if (!conn_flush(s, c) || c->out_len)
					continue;
			}
			conn_event(s, c, evs[i].events);
		}
	}
}

void http_server_stop(struct http_server *s)
{
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		/* The counter can only overflow after 2^64 stops. */
	}
}

void http_server_after_flush(struct http_server *s)
{
	s->flush_pending = true;
}

void http_server_close(struct http_server *s)
{
	if (s->conns) {
		for (unsigned int i = 0; i < HTTP_MAX_CONNS; i++)
			conn_close(s, &s->conns[i]);
		free(s->conns);
		s->conns = NULL;
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	struct stat st;
	if (s->path && lstat(s->path, &st) == 0 && st.st_ino == s->path_ino &&
	    st.st_dev == s->path_dev)
		unlink(s->path);
	free(s->path);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->listen_fd = s->epoll_fd = s->stop_fd = -1;
	s->path = NULL;
}
