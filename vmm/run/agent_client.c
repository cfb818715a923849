// SPDX-License-Identifier: Apache-2.0
/* The host side of the guest agent protocol: see agent_client.h. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "vmm/run/agent_client.h"

/* write_all for the agent socket: send (no SIGPIPE), write when fd is no socket. */
static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* The hybrid scheme's handshake: "CONNECT PORT\n" -> "OK HOSTPORT\n". */
static int hybrid_handshake(int fd, unsigned int port, struct err *err)
{
	char line[64];
	size_t n = 0;
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (send_all(fd, line, strlen(line)) < 0)
		return err_set(err, -EIO, "sending CONNECT: %s", strerror(errno));
	/* Read byte by byte: nothing past the newline may be consumed. */
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			return err_set(err, -ECONNREFUSED, "no answer to CONNECT %u", port);
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3))
		return err_set(err, -ECONNREFUSED, "CONNECT %u answered '%.*s'", port,
			       (int)strcspn(line, "\n"), line);
	return 0;
}

/* One attempt; -EAGAIN-like errors mean "try again". */
static int connect_once(const char *ep, struct err *err)
{
	unsigned int port = AGENT_VSOCK_PORT;
	int fd;
	if (!strncmp(ep, "vsock:", 6)) {
		char *end;
		unsigned long cid = strtoul(ep + 6, &end, 10);
		if (end == ep + 6 || (*end && *end != ':'))
			return err_set(err, -EINVAL, "endpoint '%s': not vsock:CID[:PORT]", ep);
		if (*end == ':')
			port = strtoul(end + 1, NULL, 10);
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set(err, -errno, "AF_VSOCK socket: %s", strerror(errno));
		/* A CID not up yet must not hold the retry loop for long. */
		struct timeval tv = { .tv_usec = 100000 };
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			int r = -errno;
			err_set(err, r, "vsock CID %lu port %u: %s", cid, port, strerror(errno));
			close(fd);
			return r;
		}
		return fd;
	}
	if (!strncmp(ep, "unix:", 5)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		const char *path = ep + 5, *colon = strrchr(path, ':');
		size_t plen = colon ? (size_t)(colon - path) : strlen(path);
		if (colon)
			port = strtoul(colon + 1, NULL, 10);
		if (plen >= sizeof(a.sun_path))
			return err_set(err, -ENAMETOOLONG,
				       "endpoint '%s': the socket path is too long", ep);
		memcpy(a.sun_path, path, plen);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			int r = -errno;
			err_set(err, r, "%s: %s", a.sun_path, strerror(errno));
			close(fd);
			return r;
		}
		int r = hybrid_handshake(fd, port, err);
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	}
	return err_set(err, -EINVAL, "endpoint '%s': expected vsock:CID[:PORT] or unix:PATH[:PORT]",
		       ep);
}

int agent_connect(struct agent_conn *c, const char *endpoint, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	for (;;) {
		int fd = connect_once(endpoint, &c->err);
		if (fd >= 0) {
			c->fd = fd;
			return 0;
		}
		bool retry = fd == -ECONNREFUSED || fd == -ECONNRESET || fd == -ENODEV ||
			     fd == -ENOENT || fd == -EHOSTUNREACH || fd == -ETIMEDOUT;
		if (!retry || now_ms() >= deadline)
			return fd;
		usleep(20000);
	}
}

void agent_close(struct agent_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
}

int agent_send(struct agent_conn *c, uint16_t type, uint32_t id, const void *payload, size_t len)
{
	uint8_t hdr[AGENT_HDR_LEN];
	struct agent_hdr h = { .type = type, .id = id, .len = len };
	if (len > AGENT_MAX_PAYLOAD)
		return err_set(&c->err, -EMSGSIZE,
			       "a frame of %zu bytes is over the protocol's limit", len);
	agent_hdr_encode(hdr, &h);
	int r = send_all(c->fd, hdr, sizeof(hdr));
	if (!r && len)
		r = send_all(c->fd, payload, len);
	if (r < 0)
		return err_set(&c->err, r, "sending to the agent: %s", strerror(-r));
	return 0;
}

int agent_send_json(struct agent_conn *c, uint16_t type, uint32_t id, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return err_set(&c->err, -ENOMEM, "cannot encode a JSON frame");
	int r = agent_send(c, type, id, s, strlen(s));
	free(s);
	return r;
}

/* A whole frame in c->in? Pops it. */
static int frame_pop(struct agent_conn *c, struct agent_hdr *h, uint8_t **payload)
{
	if (c->inlen < AGENT_HDR_LEN)
		return 0;
	if (agent_hdr_decode(h, c->in) < 0)
		return err_set(&c->err, -EPROTO, "the agent sent a frame of %u bytes (limit %u)",
			       h->len, AGENT_MAX_PAYLOAD);
	if (c->inlen < AGENT_HDR_LEN + h->len)
		return 0;
	uint8_t *p = malloc(h->len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, c->in + AGENT_HDR_LEN, h->len);
	p[h->len] = 0;
	memmove(c->in, c->in + AGENT_HDR_LEN + h->len, c->inlen - AGENT_HDR_LEN - h->len);
	c->inlen -= AGENT_HDR_LEN + h->len;
	*payload = p;
	return 1;
}

/* Reads what the socket has (one read). */
static int fill(struct agent_conn *c)
{
	if (c->incap - c->inlen < 65536) {
		size_t cap = c->incap ? c->incap * 2 : 131072;
		uint8_t *n = realloc(c->in, cap);
		if (!n)
			return -ENOMEM;
		c->in = n;
		c->incap = cap;
	}
	ssize_t n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0)
		return err_set(&c->err, -errno, "reading from the agent: %s", strerror(errno));
	if (n == 0)
		return err_set(&c->err, -EPIPE, "the agent closed the connection");
	c->inlen += n;
	return 0;
}

int agent_recv(struct agent_conn *c, struct agent_hdr *h, uint8_t **payload, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	for (;;) {
		int r = frame_pop(c, h, payload);
		if (r)
			return r < 0 ? r : 0;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int wait = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (timeout_ms >= 0 && wait <= 0)
			return err_set(&c->err, -ETIMEDOUT, "the agent did not answer in %d ms",
				       timeout_ms);
		r = poll(&p, 1, wait);
		if (r < 0 && errno != EINTR)
			return err_set(&c->err, -errno, "poll: %s", strerror(errno));
		if (r > 0 && (r = fill(c)) < 0)
			return r;
	}
}

int agent_hello(struct agent_conn *c, json_t **reply, int timeout_ms)
{
	struct agent_hdr h;
	uint8_t *p = NULL;
	int r = agent_send_json(c, AGENT_HELLO, 0,
				json_pack("{s:i,s:s}", "version", AGENT_PROTO_VERSION, "client",
					  "svmm/"
					  "0.1.0"));
	if (r < 0)
		return r;
	r = agent_recv(c, &h, &p, timeout_ms);
	if (r < 0)
		return r;
	json_t *j = json_loads((char *)p, 0, NULL);
	free(p);
	if (h.type == AGENT_ERROR || !json_is_object(j) || h.type != AGENT_HELLO) {
		const char *m = json_string_value(json_object_get(j, "message"));
		r = err_set(&c->err, -EPROTO, "the agent refused HELLO: %s",
			    m ? m : "unexpected answer");
		json_decref(j);
		return r;
	}
	if (json_integer_value(json_object_get(j, "version")) != AGENT_PROTO_VERSION) {
		json_decref(j);
		return err_set(&c->err, -EPROTO, "the agent speaks another protocol version");
	}
	if (reply)
		*reply = j;
	else
		json_decref(j);
	return 0;
}

static int send_winsize(struct agent_conn *c, const struct agent_session *s)
{
	struct winsize ws;
	uint8_t pl[4];
	if (ioctl(s->in_fd, TIOCGWINSZ, &ws) < 0 && ioctl(s->out_fd, TIOCGWINSZ, &ws) < 0)
		return 0;
	agent_put_le16(pl, ws.ws_row);
	agent_put_le16(pl + 2, ws.ws_col);
	return agent_send(c, AGENT_RESIZE, s->id, pl, sizeof(pl));
}

int agent_session_run(struct agent_conn *c, const struct agent_session *s, int *status,
		      char **message)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t set, old;
	int sfd = -1, r = 0;
	bool in_open = s->stdin_on;

	if (message)
		*message = NULL;
	sigemptyset(&set);
	if (s->forward_signals)
		for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
			sigaddset(&set, fwd[i]);
	if (s->tty)
		sigaddset(&set, SIGWINCH);
	/* A background job of a shell starts with SIGINT ignored, which would
	 * discard it before the signalfd sees it: default, then blocked. */
	struct sigaction dfl = { .sa_handler = SIG_DFL }, saved[NSIG];
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &dfl, &saved[sig]);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!in_open)
		r = agent_send(c, AGENT_STDIN, s->id, NULL, 0);
	if (!r && s->tty)
		r = send_winsize(c, s);

	while (!r) {
		struct pollfd p[3] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = in_open ? s->in_fd : -1, .events = POLLIN },
		};
		struct agent_hdr h;
		uint8_t *pl;
		while ((r = frame_pop(c, &h, &pl)) == 1) {
			r = 0;
			if (h.id != s->id) {
				free(pl);
				continue;
			}
			if (h.type == AGENT_STDOUT || h.type == AGENT_STDERR) {
				write_all(h.type == AGENT_STDOUT ? s->out_fd : s->err_fd, pl,
					  h.len);
			} else if (h.type == AGENT_EXIT || h.type == AGENT_ERROR) {
				json_t *j = json_loads((char *)pl, 0, NULL);
				if (h.type == AGENT_EXIT) {
					*status = json_integer_value(json_object_get(j, "status"));
				} else {
					json_t *e = json_object_get(j, "exit");
					*status = e ? json_integer_value(e) : 125;
					const char *m =
						json_string_value(json_object_get(j, "message"));
					if (message && m)
						*message = strdup(m);
				}
				json_decref(j);
				free(pl);
				goto out;
			}
			free(pl);
		}
		if (r < 0)
			break;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(&c->err, -errno, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si) && !r) {
				if (si.ssi_signo == SIGWINCH) {
					r = send_winsize(c, s);
				} else {
					uint8_t v[4];
					agent_put_le32(v, si.ssi_signo);
					r = agent_send(c, AGENT_SIGNAL, s->id, v, 4);
				}
			}
		}
		if (!r && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			uint8_t buf[AGENT_DATA_CHUNK];
			ssize_t n = read(s->in_fd, buf, sizeof(buf));
			if (n > 0) {
				r = agent_send(c, AGENT_STDIN, s->id, buf, n);
			} else if (n == 0 || errno != EINTR) {
				in_open = false;
				r = agent_send(c, AGENT_STDIN, s->id, NULL, 0);
			}
		}
		if (!r && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			r = fill(c);
	}
out:
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &saved[sig], NULL);
	return r;
}
