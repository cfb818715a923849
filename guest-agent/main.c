// SPDX-License-Identifier: Apache-2.0
/*
 * svmm-agent: PID 1 of svmm's guest. Sets the guest up (init.c), listens on
 * vsock for the host (protocol.h, PROTOCOL.md), runs the workload and the
 * processes exec'd into it (container.c), streams their stdio, reaps every
 * zombie, reports exit statuses and powers the VM off when the workload ends.
 *
 * The workload never waits for the host: the agent always drains its
 * output; what a slow or absent host has not taken is buffered up to a
 * limit per connection, then dropped and counted (EXIT's lost_bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "guest-agent/container.h"
#include "guest-agent/init.h"
#include "guest-agent/protocol.h"
#include "guest-agent/util.h"

#define DEFAULT_CGROUP	 "/sys/fs/cgroup/svmm/workload"
#define OUT_LIMIT	 (4u << 20) /* bytes queued per connection before dropping */
#define STDIN_LIMIT	 (1u << 20) /* stdin bytes held per process before pausing the host */
#define EXIT_DRAIN_MS	 500	    /* how long output may trail a process' exit */
#define POWEROFF_WAIT_MS 5000	    /* how long the host may take to read the exit */

enum watch_kind { W_LISTEN = 1, W_CONN, W_SIGNAL, W_OUT, W_ERR, W_PTY, W_IN };

struct outmsg {
	struct outmsg *next;
	size_t len, off;
	uint8_t data[];
};

struct conn {
	struct conn *next;
	int fd;
	unsigned int serial;
	bool hello, reading_paused, want_out;
	bool handshake; /* --listen unix: expects "CONNECT PORT\n" first */
	uint8_t *in;
	size_t inlen;
	struct outmsg *qhead, *qtail;
	size_t qbytes, limit;
};

struct proc {
	struct proc *next;
	uint32_t id;
	struct ctr_proc p;
	struct conn *owner; /* NULL once the host that started it left */
	uint8_t *inbuf;	    /* stdin not yet written */
	size_t inlen;
	bool in_close, exited, exit_sent;
	int status;
	long long exited_ms;
	uint64_t lost;
};

struct agent {
	int ep, lfd, sfd;
	struct init_cfg cfg;
	struct conn *conns;
	unsigned int conn_serial;
	struct proc *procs;
	json_t *spec;
	char cgroup[PATH_MAX];
	bool started, main_done;
	int main_status;
	long long poweroff_at; /* 0: not yet */
	long long boot_ms;
	/* Test mode (not PID 1): tests/host runs the agent on the host. */
	char state[PATH_MAX]; /* --state: the rootfs layers' mounts (/run/svmm) */
	char rootfs[PATH_MAX + 16];
	const char *root_dev;	 /* --root-dev: stands for /dev/vda */
	const char *listen_unix; /* --listen unix:PATH: the hybrid vsock scheme */
	bool cgroups;		 /* /sys/fs/cgroup is cgroup v2 */
};

static uint64_t wkey(enum watch_kind k, uint32_t v)
{
	return ((uint64_t)k << 32) | v;
}

static int ep_add(struct agent *a, int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };
	return epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_mod(struct agent *a, int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };
	epoll_ctl(a->ep, EPOLL_CTL_MOD, fd, &ev);
}

/* --- output queues -------------------------------------------------------------------- */

static void conn_update_events(struct agent *a, struct conn *c)
{
	uint32_t ev = (c->reading_paused ? 0 : EPOLLIN) | (c->qhead ? EPOLLOUT : 0);
	ep_mod(a, c->fd, ev, wkey(W_CONN, c->serial));
}

/* Queues a frame; data frames past the limit are refused (-ENOBUFS). */
static int conn_queue(struct agent *a, struct conn *c, uint16_t type, uint32_t id,
		      const void *payload, size_t len, bool droppable)
{
	if (!c)
		return -ENOTCONN;
	if (droppable && c->qbytes + len > c->limit)
		return -ENOBUFS;
	struct outmsg *m = malloc(sizeof(*m) + AGENT_HDR_LEN + len);
	if (!m)
		return -ENOMEM;
	struct agent_hdr h = { .type = type, .id = id, .len = len };
	agent_hdr_encode(m->data, &h);
	if (len)
		memcpy(m->data + AGENT_HDR_LEN, payload, len);
	m->len = AGENT_HDR_LEN + len;
	m->off = 0;
	m->next = NULL;
	if (c->qtail)
		c->qtail->next = m;
	else
		c->qhead = m;
	c->qtail = m;
	c->qbytes += m->len;
	conn_update_events(a, c);
	return 0;
}

static int conn_queue_json(struct agent *a, struct conn *c, uint16_t type, uint32_t id, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	int r = conn_queue(a, c, type, id, s, strlen(s), false);
	free(s);
	return r;
}

static void send_error(struct agent *a, struct conn *c, uint32_t id, int exit, const char *msg)
{
	alog("error (id %u): %s", id, msg);
	conn_queue_json(a, c, AGENT_ERROR, id,
			json_pack("{s:s,s:i}", "message", msg, "exit", exit));
}

static void conn_close(struct agent *a, struct conn *c)
{
	for (struct conn **pp = &a->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	for (struct proc *p = a->procs; p; p = p->next)
		if (p->owner == c)
			p->owner = NULL;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	while (c->qhead) {
		struct outmsg *m = c->qhead;
		c->qhead = m->next;
		free(m);
	}
	free(c->in);
	free(c);
}

static void conn_flush(struct agent *a, struct conn *c)
{
	while (c->qhead) {
		struct outmsg *m = c->qhead;
		ssize_t n = send(c->fd, m->data + m->off, m->len - m->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(a, c);
			return;
		}
		m->off += n;
		if (m->off < m->len)
			break;
		c->qhead = m->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->qbytes -= m->len;
		free(m);
	}
	conn_update_events(a, c);
}

/* --- processes ------------------------------------------------------------------------ */

static struct proc *proc_find(struct agent *a, uint32_t id)
{
	for (struct proc *p = a->procs; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void proc_close_fd(struct agent *a, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void proc_free(struct agent *a, struct proc *p)
{
	for (struct proc **pp = &a->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	proc_close_fd(a, &p->p.in);
	proc_close_fd(a, &p->p.out);
	proc_close_fd(a, &p->p.err);
	proc_close_fd(a, &p->p.pty);
	free(p->inbuf);
	free(p);
}

/* Sends EXIT once the process is gone and its output drained (or late). */
static void proc_maybe_exit(struct agent *a, struct proc *p, bool force)
{
	if (!p->exited || p->exit_sent)
		return;
	bool drained = p->p.out < 0 && p->p.err < 0 && p->p.pty < 0;
	if (!drained && !force)
		return;
	p->exit_sent = true;
	int sig = p->status > 128 ? p->status - 128 : 0;
	if (p->owner)
		conn_queue_json(a, p->owner, AGENT_EXIT, p->id,
				json_pack("{s:i,s:i,s:I}", "status", p->status, "signal", sig,
					  "lost_bytes", (json_int_t)p->lost));
	if (p->id == AGENT_ID_MAIN) {
		a->main_done = true;
		a->main_status = p->status;
		alog("workload exit status %d", p->status);
		a->poweroff_at = now_ms() + POWEROFF_WAIT_MS;
	}
	proc_free(a, p);
}

static void proc_read(struct agent *a, struct proc *p, int *fd, uint16_t type)
{
	static uint8_t buf[AGENT_DATA_CHUNK]; /* single-threaded: off the stack */
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty whose last user left */
		proc_close_fd(a, fd);
		proc_maybe_exit(a, p, false);
		return;
	}
	if (conn_queue(a, p->owner, type, p->id, buf, n, true) < 0)
		p->lost += n; /* no host, or a host too slow: dropped, counted */
}

static void proc_write_stdin(struct agent *a, struct proc *p)
{
	int fd = p->p.pty >= 0 ? p->p.pty : p->p.in;
	while (fd >= 0 && p->inlen) {
		ssize_t n = write(fd, p->inbuf, p->inlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			p->inlen = 0; /* the reader went away */
			break;
		}
		memmove(p->inbuf, p->inbuf + n, p->inlen - n);
		p->inlen -= n;
	}
	if (p->p.in >= 0) {
		if (!p->inlen && p->in_close)
			proc_close_fd(a, &p->p.in);
		else
			ep_mod(a, p->p.in, p->inlen ? EPOLLOUT : 0, wkey(W_IN, p->id));
	}
	if (p->owner && p->owner->reading_paused && p->inlen < STDIN_LIMIT) {
		p->owner->reading_paused = false;
		conn_update_events(a, p->owner);
	}
}

static int proc_add(struct agent *a, uint32_t id, struct conn *owner, struct ctr_proc *cp)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->id = id;
	p->p = *cp;
	p->owner = owner;
	int fds[] = { cp->out, cp->err, cp->pty, cp->in };
	enum watch_kind kinds[] = { W_OUT, W_ERR, W_PTY, W_IN };
	for (int i = 0; i < 4; i++) {
		if (fds[i] < 0)
			continue;
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		ep_add(a, fds[i], kinds[i] == W_IN ? 0 : EPOLLIN, wkey(kinds[i], id));
	}
	p->next = a->procs;
	a->procs = p;
	return 0;
}

static void reap(struct agent *a)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (struct proc *p = a->procs; p; p = p->next) {
			if (p->p.pid != pid || p->exited)
				continue;
			p->exited = true;
			p->status = ctr_wait_status(st);
			p->exited_ms = now_ms();
			if (a->cfg.debug)
				alog("process %u (pid %d) exited: %d", p->id, pid, p->status);
			proc_maybe_exit(a, p, false);
			break;
		}
	}
}

/* --- requests ------------------------------------------------------------------------- */

static void on_start(struct agent *a, struct conn *c, uint32_t id, json_t *req)
{
	struct err e = { 0 };
	struct ctr_proc cp;

	if (a->started) {
		send_error(a, c, id, 125, "the workload was already started");
		return;
	}
	json_t *spec = json_object_get(req, "spec");
	if (!json_is_object(spec)) {
		send_error(a, c, id, 125, "START: no spec object (the OCI config.json)");
		return;
	}
	json_t *rootfs = json_object_get(req, "rootfs");
	const char *src = json_string_value(json_object_get(rootfs, "source"));
	const char *type = json_string_value(json_object_get(rootfs, "type"));
	const char *root = a->rootfs;
	if (!rootfs) {
		/* No disk: spec.root.path is a directory already in the guest. */
		root = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
		if (!root || root[0] != '/') {
			send_error(a, c, id, 125, "START: no rootfs and no absolute root.path");
			return;
		}
		mkdir_p(a->rootfs, 0755);
		if (init_rootfs(a->state, root, "dir", a->rootfs, &e) < 0) {
			send_error(a, c, id, 125, e.msg);
			return;
		}
		root = a->rootfs;
	} else if (init_rootfs(a->state,
			       a->root_dev && src && !strcmp(src, "/dev/vda") ? a->root_dev : src,
			       type, a->rootfs, &e) < 0) {
		send_error(a, c, id, 125, e.msg);
		return;
	}
	init_etc_files(&a->cfg, root);
	json_t *lim = json_object_get(req, "output_limit");
	if (json_integer_value(lim) > 0)
		c->limit = json_integer_value(lim);

	const char *cgp =
		json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
	if (cgp && cgp[0] == '/' && !strstr(cgp, ".."))
		snprintf(a->cgroup, sizeof(a->cgroup), "/sys/fs/cgroup%s", cgp);
	else
		snprintf(a->cgroup, sizeof(a->cgroup), "%s", DEFAULT_CGROUP);
	if (a->cgroups && ctr_cgroup_create(spec, a->cgroup, &e) < 0) {
		send_error(a, c, id, 125, e.msg);
		return;
	}
	a->started = true;
	a->spec = json_incref(spec);
	if (ctr_start(spec, root, a->cgroups ? a->cgroup : NULL, &cp, &e) < 0) {
		send_error(a, c, id, cp.exit, e.msg);
		/* The workload could not start: that is its end. */
		a->main_done = true;
		a->main_status = cp.exit;
		a->poweroff_at = now_ms() + POWEROFF_WAIT_MS;
		return;
	}
	proc_add(a, AGENT_ID_MAIN, c, &cp);
	conn_queue_json(a, c, AGENT_STARTED, AGENT_ID_MAIN, json_pack("{s:i}", "pid", cp.pid));
	(void)id;
}

static void on_exec(struct agent *a, struct conn *c, uint32_t id, json_t *req)
{
	struct err e = { 0 };
	struct ctr_proc cp;
	struct proc *main = proc_find(a, AGENT_ID_MAIN);
	json_t *process = json_object_get(req, "process");

	if (id == AGENT_ID_MAIN || id == 0 || proc_find(a, id)) {
		send_error(a, c, id, 125, "EXEC: the id is 0, 1 or in use");
		return;
	}
	if (!main || main->exited) {
		send_error(a, c, id, 125, "EXEC: the workload is not running");
		return;
	}
	if (!json_is_object(process)) {
		send_error(a, c, id, 125, "EXEC: no process object");
		return;
	}
	if (ctr_exec(main->p.pid, a->spec, process, a->cgroups ? a->cgroup : NULL, &cp, &e) < 0) {
		send_error(a, c, id, cp.exit, e.msg);
		return;
	}
	proc_add(a, id, c, &cp);
	conn_queue_json(a, c, AGENT_STARTED, id, json_pack("{s:i}", "pid", cp.pid));
}

static void on_frame(struct agent *a, struct conn *c, struct agent_hdr *h, uint8_t *pl)
{
	json_t *j = NULL;
	struct proc *p = NULL;

	if (h->type == AGENT_HELLO || h->type == AGENT_START || h->type == AGENT_EXEC) {
		json_error_t je;
		j = json_loadb((const char *)pl, h->len, 0, &je);
		if (!json_is_object(j)) {
			char msg[300];
			snprintf(msg, sizeof(msg), "frame type %u: bad JSON: %s", h->type, je.text);
			send_error(a, c, h->id, 125, msg);
			json_decref(j);
			return;
		}
	}
	if (!c->hello && h->type != AGENT_HELLO) {
		send_error(a, c, h->id, 125, "the first frame must be HELLO");
		json_decref(j);
		return;
	}
	switch (h->type) {
	case AGENT_HELLO: {
		json_int_t v = json_integer_value(json_object_get(j, "version"));
		if (v != AGENT_PROTO_VERSION) {
			send_error(a, c, 0, 125, "unsupported protocol version (this agent: 1)");
			break;
		}
		c->hello = true;
		struct proc *m = proc_find(a, AGENT_ID_MAIN);
		conn_queue_json(a, c, AGENT_HELLO, 0,
				json_pack("{s:i,s:s,s:b,s:b,s:i}", "version", AGENT_PROTO_VERSION,
					  "agent", "svmm-agent/0.1.0", "started", a->started,
					  "running", m && !m->exited, "exit",
					  a->main_done ? a->main_status : -1));
		break;
	}
	case AGENT_START:
		on_start(a, c, h->id, j);
		break;
	case AGENT_EXEC:
		on_exec(a, c, h->id, j);
		break;
	case AGENT_STDIN:
		p = proc_find(a, h->id);
		if (!p)
			break;
		if (h->len == 0) {
			p->in_close = true;
		} else {
			uint8_t *nb = realloc(p->inbuf, p->inlen + h->len);
			if (!nb)
				break;
			memcpy(nb + p->inlen, pl, h->len);
			p->inbuf = nb;
			p->inlen += h->len;
			if (p->inlen >= STDIN_LIMIT)
				c->reading_paused = true; /* the host waits, never the workload */
		}
		proc_write_stdin(a, p);
		break;
	case AGENT_SIGNAL:
		p = proc_find(a, h->id);
		if (p && h->len >= 4 && !p->exited) {
			int sig = (int)agent_get_le32(pl);
			if (sig > 0 && sig < NSIG)
				kill(p->p.pid, sig);
		}
		break;
	case AGENT_RESIZE:
		p = proc_find(a, h->id);
		if (p && p->p.pty >= 0 && h->len >= 4) {
			struct winsize ws = { .ws_row = agent_get_le16(pl),
					      .ws_col = agent_get_le16(pl + 2) };
			ioctl(p->p.pty, TIOCSWINSZ, &ws);
		}
		break;
	case AGENT_PING: {
		unsigned n = 0;
		for (struct proc *q = a->procs; q; q = q->next)
			n += !q->exited;
		conn_queue_json(a, c, AGENT_PONG, h->id,
				json_pack("{s:I,s:i,s:s%}", "uptime_ms",
					  (json_int_t)(now_ms() - a->boot_ms), "processes", n,
					  "echo", (const char *)pl, (size_t)h->len));
		break;
	}
	case AGENT_POWEROFF:
		alog("power off asked by the host");
		init_poweroff();
	default:
		/* Unknown frames are ignored: a newer host may send more. */
		break;
	}
	json_decref(j);
}

static void conn_read(struct agent *a, struct conn *c)
{
	static uint8_t buf[65536]; /* single-threaded: off the stack */
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (a->cfg.debug)
			alog("host connection %u closed", c->serial);
		conn_close(a, c);
		return;
	}
	uint8_t *nb = realloc(c->in, c->inlen + n);
	if (!nb) {
		conn_close(a, c);
		return;
	}
	c->in = nb;
	memcpy(c->in + c->inlen, buf, n);
	c->inlen += n;
	if (c->handshake) {
		/* What a hybrid vsock device does on the host side of the VMM. */
		uint8_t *nl = memchr(c->in, '\n', c->inlen);
		if (!nl) {
			if (c->inlen > 64)
				conn_close(a, c);
			return;
		}
		if (strncmp((char *)c->in, "CONNECT ", 8) ||
		    strtoul((char *)c->in + 8, NULL, 10) != a->cfg.port) {
			conn_close(a, c);
			return;
		}
		c->handshake = false;
		if (send(c->fd, "OK 1\n", 5, MSG_NOSIGNAL) != 5) {
			conn_close(a, c);
			return;
		}
		size_t used = nl + 1 - c->in;
		memmove(c->in, nl + 1, c->inlen - used);
		c->inlen -= used;
	}
	size_t off = 0;
	unsigned int serial = c->serial;
	while (c->inlen - off >= AGENT_HDR_LEN) {
		struct agent_hdr h;
		if (agent_hdr_decode(&h, c->in + off) < 0) {
			alog("host sent a frame of %u bytes: closing it", h.len);
			conn_close(a, c);
			return;
		}
		if (c->inlen - off < AGENT_HDR_LEN + h.len)
			break;
		/* NUL-terminate the payload for JSON and PING's echo. */
		uint8_t *pl = malloc(h.len + 1);
		if (!pl)
			break;
		memcpy(pl, c->in + off + AGENT_HDR_LEN, h.len);
		pl[h.len] = 0;
		off += AGENT_HDR_LEN + h.len;
		on_frame(a, c, &h, pl);
		free(pl);
		/* on_frame may have closed c (never today; be safe). */
		bool alive = false;
		for (struct conn *x = a->conns; x; x = x->next)
			alive |= x == c && x->serial == serial;
		if (!alive)
			return;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	conn_update_events(a, c);
}

static void on_accept(struct agent *a)
{
	int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->serial = ++a->conn_serial;
	c->limit = OUT_LIMIT;
	c->handshake = a->listen_unix != NULL;
	c->next = a->conns;
	a->conns = c;
	ep_add(a, fd, EPOLLIN, wkey(W_CONN, c->serial));
	if (a->cfg.debug)
		alog("host connection %u", c->serial);
}

static struct conn *conn_by_serial(struct agent *a, uint32_t serial)
{
	for (struct conn *c = a->conns; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static int listen_vsock(unsigned int port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK,
				    .svm_cid = VMADDR_CID_ANY,
				    .svm_port = port };
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void loop(struct agent *a)
{
	struct epoll_event evs[32];
	for (;;) {
		long long now = now_ms();
		int timeout = -1;
		/* Exits whose output is late; the power off when due. */
		for (struct proc *p = a->procs, *nx; p; p = nx) {
			nx = p->next;
			if (p->exited && now - p->exited_ms >= EXIT_DRAIN_MS)
				proc_maybe_exit(a, p, true);
			else if (p->exited)
				timeout = EXIT_DRAIN_MS;
		}
		if (a->main_done) {
			/* Power off once the hosts closed their connections (a
			 * vsock send only queues: powering off at once could lose
			 * EXIT in flight), or at the deadline. */
			if (!a->conns || now >= a->poweroff_at) {
				alog("powering off");
				init_poweroff();
			}
			timeout = 50;
		}
		int n = epoll_wait(a->ep, evs, 32, timeout);
		for (int i = 0; i < n; i++) {
			enum watch_kind k = evs[i].data.u64 >> 32;
			uint32_t v = (uint32_t)evs[i].data.u64;
			struct proc *p = (k >= W_OUT) ? proc_find(a, v) : NULL;
			struct conn *c = k == W_CONN ? conn_by_serial(a, v) : NULL;
			switch (k) {
			case W_LISTEN:
				on_accept(a);
				break;
			case W_SIGNAL: {
				struct signalfd_siginfo si;
				while (read(a->sfd, &si, sizeof(si)) == sizeof(si))
					;
				reap(a);
				break;
			}
			case W_CONN:
				if (c && (evs[i].events & EPOLLOUT))
					conn_flush(a, c);
				c = conn_by_serial(a, v);
				if (c && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
					conn_read(a, c);
				break;
			case W_OUT:
				if (p)
					proc_read(a, p, &p->p.out, AGENT_STDOUT);
				break;
			case W_ERR:
				if (p)
					proc_read(a, p, &p->p.err, AGENT_STDERR);
				break;
			case W_PTY:
				if (p && (evs[i].events & EPOLLIN))
					proc_read(a, p, &p->p.pty, AGENT_STDOUT);
				else if (p && (evs[i].events & (EPOLLHUP | EPOLLERR)))
					proc_read(a, p, &p->p.pty, AGENT_STDOUT);
				break;
			case W_IN:
				if (p)
					proc_write_stdin(a, p);
				break;
			}
		}
		for (struct conn *c = a->conns, *nx; c; c = nx) {
			nx = c->next;
			if (c->qhead)
				conn_flush(a, c);
		}
	}
}

int main(int argc, char **argv)
{
	struct agent a = { .lfd = -1 };
	struct statfs sfs;

	snprintf(a.state, sizeof(a.state), "/run/svmm");
	/* Options for running outside a VM (tests/host); the kernel hands
	 * init no such words. */
	for (int i = 1; getpid() != 1 && i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen") && !strncmp(argv[i + 1], "unix:", 5))
			a.listen_unix = argv[i + 1] + 5;
		else if (!strcmp(argv[i], "--state"))
			snprintf(a.state, sizeof(a.state), "%s", argv[i + 1]);
		else if (!strcmp(argv[i], "--root-dev"))
			a.root_dev = argv[i + 1];
		else {
			alog("usage: %s [--listen unix:PATH] [--state DIR] [--root-dev FILE]",
			     argv[0]);
			return 2;
		}
	}
	snprintf(a.rootfs, sizeof(a.rootfs), "%s/rootfs", a.state);

	init_reroot(argv);
	/* PID 1 takes its signals through a signalfd; the rest are ignored. */
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	umask(022);
	if (getpid() == 1)
		init_mounts();
	a.boot_ms = now_ms();
	init_read_cmdline(&a.cfg);
	if (a.cfg.debug)
		alog("started (pid %d)", getpid());
	if (getpid() == 1) {
		if (a.cfg.hostname[0])
			sethostname(a.cfg.hostname, strlen(a.cfg.hostname));
		init_network(&a.cfg);
	}

	a.ep = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	a.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a.ep < 0 || a.sfd < 0) {
		alog("epoll/signalfd: %s", strerror(errno));
		init_poweroff();
	}
	ep_add(&a, a.sfd, EPOLLIN, wkey(W_SIGNAL, 0));
	a.cgroups = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	if (!a.cgroups)
		alog("no cgroup v2 at /sys/fs/cgroup: cgroup limits are not applied");
	a.lfd = a.listen_unix ? listen_unix(a.listen_unix) : listen_vsock(a.cfg.port);
	if (a.lfd < 0) {
		alog("cannot listen on %s%s port %u: %s", a.listen_unix ? "unix:" : "vsock",
		     a.listen_unix ? a.listen_unix : "", a.cfg.port, strerror(-a.lfd));
		init_poweroff();
	}
	ep_add(&a, a.lfd, EPOLLIN, wkey(W_LISTEN, 0));
	alog("ready on vsock port %u", a.cfg.port);
	loop(&a);
	return 0;
}
