// SPDX-License-Identifier: Apache-2.0
/* The hybrid vsock muxer: guest vsock streams <-> host Unix sockets. */
#include "devices/virtio/vsock/vsock_mux.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/queue.h"
#include "guest-agent/common.h"
#include "vmm/kvm/counters.h"

#define MUX_BUCKETS    4096
#define MUX_CMD_MAX    32 /* "CONNECT 4294967295\n" fits */
#define MUX_POLL_BATCH 64
/* How long the guest may leave a host-initiated REQUEST unanswered, and a
 * connection the host closed without its RST; then we reset it. */
#define MUX_REQUEST_TIMEOUT_MS	2000
#define MUX_SHUTDOWN_TIMEOUT_MS 2000
#define MUX_SWEEP_MS		20
/* How long a guest connect waits for room in a host listener's backlog
 * (under the guest's own 2 s connect timeout). */
#define MUX_BACKLOG_WAIT_MS 1500
#define VSOCK_HDR_LEN	    sizeof(struct virtio_vsock_hdr)
#define SHUT_BOTH	    (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

/* Control packets a connection owes the guest. */
enum {
	P_REQUEST = 1,
	P_RESPONSE = 2,
	P_RST = 4,
	P_SHUTDOWN = 8,
	P_CREDIT_UPDATE = 16,
	P_CREDIT_REQUEST = 32,
};

enum conn_state {
	CS_HOST_CMD,   /* host connected to PATH; reading "CONNECT <port>\n" */
	CS_CONNECTING, /* REQUEST sent to the guest; waiting for its answer */
	CS_BACKLOG,    /* guest REQUEST; PATH_port's backlog is full, retrying */
	CS_ESTABLISHED,
};

struct vsock_conn {
	struct vsock_conn *hnext; /* hash chain */
	struct vsock_conn *all_next, *all_prev;
	struct vsock_conn *rx_next;
	bool in_rx, hashed, watched;
	int fd;
	uint32_t events; /* armed epoll events */
	enum conn_state state;
	uint32_t local_port, peer_port;
	unsigned int pend;
	uint32_t shut_flags; /* for P_SHUTDOWN */

	/* host socket -> guest */
	bool readable, hup, eof, credit_asked;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* guest -> host socket */
	uint32_t rx_cnt, fwd_cnt, fwd_told;
	bool guest_no_send, guest_no_recv, wr_shut;
	uint8_t *buf; /* MUX_BUF_ALLOC bytes once needed */
	uint32_t buf_start, buf_len;

	char cmd[MUX_CMD_MAX];
	unsigned int cmd_len;
	uint64_t deadline; /* CLOCK_MONOTONIC ms; 0: none */
};

/* The sweep timer runs only while some connection has a deadline. */
static void sweep_timer(struct vsock_mux *m, bool on)
{
	struct itimerspec it = { 0 };
	if (on)
		it.it_value.tv_nsec = it.it_interval.tv_nsec = MUX_SWEEP_MS * 1000000L;
	timerfd_settime(m->timer_fd, 0, &it, NULL);
}

static void set_deadline(struct vsock_mux *m, struct vsock_conn *c, unsigned int ms)
{
	if (!c->deadline && m->n_deadlines++ == 0)
		sweep_timer(m, true);
	c->deadline = (uint64_t)now_ms() + ms;
}

static void clear_deadline(struct vsock_mux *m, struct vsock_conn *c)
{
	if (!c->deadline)
		return;
	c->deadline = 0;
	if (--m->n_deadlines == 0)
		sweep_timer(m, false);
}

/* All connections, to tear them down; kept off the hash until ported. */
static struct vsock_conn *all_list(struct vsock_mux *m)
{
	return m->hash ? m->hash[MUX_BUCKETS] : NULL;
}

static unsigned int bucket(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % MUX_BUCKETS;
}

static struct vsock_conn *lookup(struct vsock_mux *m, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = m->hash[bucket(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return NULL;
}

static void hash_add(struct vsock_mux *m, struct vsock_conn *c)
{
	unsigned int b = bucket(c->local_port, c->peer_port);
	c->hnext = m->hash[b];
	m->hash[b] = c;
	c->hashed = true;
}

static void hash_del(struct vsock_mux *m, struct vsock_conn *c)
{
	if (!c->hashed)
		return;
	for (struct vsock_conn **p = &m->hash[bucket(c->local_port, c->peer_port)]; *p;
	     p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	}
	c->hashed = false;
}

static uint32_t credit(const struct vsock_conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;
	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* Watch what this connection needs now. One that needs nothing is taken
 * out of the epoll set: a hung-up socket would wake it for ever. */
static void conn_update(struct vsock_mux *m, struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->state == CS_HOST_CMD)
		ev = EPOLLIN;
	else if (c->state == CS_ESTABLISHED && !(c->pend & P_RST)) {
		if (!c->readable && !c->eof && !c->guest_no_recv && credit(c))
			ev |= EPOLLIN;
		if (c->buf_len)
			ev |= EPOLLOUT;
	}
	if (ev == c->events && (ev != 0) == c->watched)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	int rc = !ev	      ? epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL)
		 : c->watched ? epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &e)
			      : epoll_ctl(m->ep, EPOLL_CTL_ADD, c->fd, &e);
	if (rc == 0) {
		c->events = ev;
		c->watched = ev != 0;
	}
}

static void rx_enqueue(struct vsock_mux *m, struct vsock_conn *c)
{
	if (c->in_rx)
		return;
	c->in_rx = true;
	c->rx_next = NULL;
	if (m->rx_tail)
		m->rx_tail->rx_next = c;
	else
		m->rx_head = c;
	m->rx_tail = c;
}

static void rx_remove(struct vsock_mux *m, struct vsock_conn *c)
{
	struct vsock_conn *prev = NULL;

	if (!c->in_rx)
		return;
	for (struct vsock_conn *p = m->rx_head; p; prev = p, p = p->rx_next) {
		if (p != c)
			continue;
		if (prev)
			prev->rx_next = c->rx_next;
		else
			m->rx_head = c->rx_next;
		if (m->rx_tail == c)
			m->rx_tail = prev;
		break;
	}
	c->in_rx = false;
}

static void pend(struct vsock_mux *m, struct vsock_conn *c, unsigned int what)
{
	c->pend |= what;
	rx_enqueue(m, c);
}

/* Watch the listener, or stop for now (out of file descriptors: the
 * pending connection would wake us for ever). */
static void listen_watch(struct vsock_mux *m, bool on)
{
	struct epoll_event e = { .events = on ? EPOLLIN : 0, .data.ptr = NULL };

	if (m->listen_paused == !on)
		return;
	if (epoll_ctl(m->ep, EPOLL_CTL_MOD, m->listen_fd, &e) == 0)
		m->listen_paused = !on;
}

static struct vsock_conn *conn_new(struct vsock_mux *m, int fd, enum conn_state st)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	struct epoll_event e = { .events = EPOLLIN };

	if (!c)
		return NULL;
	c->fd = fd;
	c->state = st;
	e.data.ptr = c;
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		free(c);
		return NULL;
	}
	c->events = EPOLLIN;
	c->watched = true;
	struct vsock_conn **head = &m->hash[MUX_BUCKETS];
	c->all_next = *head;
	if (*head)
		(*head)->all_prev = c;
	*head = c;
	m->n_conns++;
	return c;
}

/* A connection's buffer, taken from and given back to the muxer's budget. */
static bool buf_take(struct vsock_mux *m, struct vsock_conn *c)
{
	if (c->buf)
		return true;
	if (m->buffered + MUX_BUF_ALLOC > MUX_MAX_BUFFERED || !(c->buf = malloc(MUX_BUF_ALLOC)))
		return false;
	m->buffered += MUX_BUF_ALLOC;
	return true;
}

static void buf_drop(struct vsock_mux *m, struct vsock_conn *c)
{
	if (!c->buf)
		return;
	free(c->buf);
	c->buf = NULL;
	m->buffered -= MUX_BUF_ALLOC;
}

static void conn_free(struct vsock_mux *m, struct vsock_conn *c)
{
	clear_deadline(m, c);
	rx_remove(m, c);
	hash_del(m, c);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		m->hash[MUX_BUCKETS] = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	if (c->watched)
		epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_drop(m, c);
	free(c);
	m->n_conns--;
	if (m->listen_paused)
		listen_watch(m, true);
}

/* Reset a connection: tell the guest (when it knows the connection) and
 * close the host socket once the RST is out. */
static void conn_reset(struct vsock_mux *m, struct vsock_conn *c)
{
	if (c->state == CS_HOST_CMD) {
		conn_free(m, c);
		return;
	}
	ctr_bump(&m->conns_reset, 1);
	c->pend = P_RST;
	c->readable = false;
	c->buf_len = 0;
	shutdown(c->fd, SHUT_RDWR);
	rx_enqueue(m, c);
	conn_update(m, c);
}

static void stray_rst(struct vsock_mux *m, const struct virtio_vsock_hdr *h)
{
	if (m->n_stray == sizeof(m->stray) / sizeof(m->stray[0]))
		return; /* the guest times out instead */
	struct virtio_vsock_hdr *r = &m->stray[m->n_stray++];
	memset(r, 0, sizeof(*r));
	r->src_cid = MUX_HOST_CID;
	r->dst_cid = m->guest_cid;
	r->src_port = h->dst_port;
	r->dst_port = h->src_port;
	r->type = VIRTIO_VSOCK_TYPE_STREAM;
	r->op = VIRTIO_VSOCK_OP_RST;
}

/* Move buffered guest data to the host socket. -errno when it is broken. */
static int flush(struct vsock_mux *m, struct vsock_conn *c)
{
	while (c->buf_len) {
		ssize_t n = send(c->fd, c->buf + c->buf_start, c->buf_len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0)
			break;
		c->buf_start += (uint32_t)n;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->fwd_cnt - c->fwd_told >= MUX_BUF_ALLOC / 4)
		pend(m, c, P_CREDIT_UPDATE);
	if (c->buf_len)
		return 0;
	c->buf_start = 0;
	buf_drop(m, c);
	if (c->guest_no_send && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	/* the guest closed both ways and everything is delivered: finish */
	if (c->guest_no_send && c->guest_no_recv)
		conn_reset(m, c);
	return 0;
}

/* Guest data for an established connection. */
static void guest_rw(struct vsock_mux *m, struct vsock_conn *c, const struct iovec *iov,
		     unsigned int n, uint32_t len)
{
	if (c->guest_no_send || (c->rx_cnt - c->fwd_cnt) + (uint64_t)len > MUX_BUF_ALLOC) {
		conn_reset(m, c); /* data after SHUTDOWN, or beyond its credit */
		return;
	}
	c->rx_cnt += len;
	ctr_bump(&m->tx_bytes, len);
	uint32_t done = 0;
	if (!c->buf_len) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_reset(m, c);
			return;
		}
		done = w > 0 ? (uint32_t)w : 0;
		c->fwd_cnt += done;
	}
	if (done < len) {
		if (!buf_take(m, c)) {
			conn_reset(m, c); /* out of memory, or of the muxer's budget */
			return;
		}
		if (c->buf_start + c->buf_len + (len - done) > MUX_BUF_ALLOC) {
			memmove(c->buf, c->buf + c->buf_start, c->buf_len);
			c->buf_start = 0;
		}
		/* skip what went out, copy the rest */
		size_t skip = done;
		for (unsigned int i = 0; i < n; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			size_t k = iov[i].iov_len - skip;
			memcpy(c->buf + c->buf_start + c->buf_len,
			       (uint8_t *)iov[i].iov_base + skip, k);
			c->buf_len += (uint32_t)k;
			skip = 0;
		}
	}
	if (c->fwd_cnt - c->fwd_told >= MUX_BUF_ALLOC / 4)
		pend(m, c, P_CREDIT_UPDATE);
	conn_update(m, c);
}

static int port_path(const struct vsock_mux *m, uint32_t port, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s_%u", m->path, port);
	return n < (int)sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/* The host listener took the connection: answer the guest. */
static void guest_connected(struct vsock_mux *m, struct vsock_conn *c)
{
	c->state = CS_ESTABLISHED;
	ctr_bump(&m->conns_opened, 1);
	clear_deadline(m, c);
	pend(m, c, P_RESPONSE);
	conn_update(m, c);
}

/* The guest asks for host port `port`: connect to PATH_port. A listener
 * whose backlog is full (a Unix connect says EAGAIN at once) is retried
 * from the sweep until MUX_BACKLOG_WAIT_MS, as a blocking connect would. */
static void guest_request(struct vsock_mux *m, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa;
	struct vsock_conn *c;
	int fd = -1, rc;

	if (m->n_conns >= MUX_MAX_CONNS || port_path(m, h->dst_port, &sa) < 0)
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (rc && rc != -EAGAIN)
		goto refuse; /* nobody listens */
	c = conn_new(m, fd, CS_BACKLOG);
	if (!c)
		goto refuse;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	hash_add(m, c);
	if (rc) {
		set_deadline(m, c, MUX_BACKLOG_WAIT_MS);
		conn_update(m, c); /* nothing to watch until connected */
	} else {
		guest_connected(m, c);
	}
	return;
refuse:
	ctr_bump(&m->conns_refused, 1);
	if (fd >= 0)
		close(fd);
	stray_rst(m, h);
}

/* Retry a connect that met a full backlog; refuse it when time is up. */
static void backlog_retry(struct vsock_mux *m, struct vsock_conn *c, uint64_t now)
{
	struct sockaddr_un sa;
	int rc = port_path(m, c->local_port, &sa);

	if (!rc)
		rc = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (!rc) {
		guest_connected(m, c);
	} else if ((rc != -EAGAIN && rc != -EINTR) || c->deadline <= now) {
		clear_deadline(m, c);
		conn_reset(m, c);
	}
}

void vsock_mux_from_guest(struct vsock_mux *m, const struct virtio_vsock_hdr *h,
			  const struct iovec *payload, unsigned int n)
{
	if (h->op == VIRTIO_VSOCK_OP_RST && h->dst_cid == MUX_HOST_CID) {
		struct vsock_conn *c = lookup(m, h->dst_port, h->src_port);
		if (c && c->state == CS_CONNECTING)
			ctr_bump(&m->conns_refused, 1); /* nobody listens in the guest */
		if (c)
			conn_free(m, c); /* closes the host socket: the host sees EOF */
		return;
	}
	if (h->src_cid != m->guest_cid || h->dst_cid != MUX_HOST_CID ||
	    h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h->op != VIRTIO_VSOCK_OP_RST)
			stray_rst(m, h);
		return;
	}
	struct vsock_conn *c = lookup(m, h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_request(m, h);
		else
			stray_rst(m, h);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != CS_CONNECTING) {
			conn_reset(m, c);
			break;
		}
		c->state = CS_ESTABLISHED;
		ctr_bump(&m->conns_opened, 1);
		clear_deadline(m, c);
		char ok[32];
		int len = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		/* a fresh socket's buffer takes a line */
		if (send(c->fd, ok, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len)
			conn_reset(m, c);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != CS_ESTABLISHED) {
			conn_reset(m, c);
			break;
		}
		guest_rw(m, c, payload, n, h->len);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_no_recv = true;
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		if (flush(m, c) < 0)
			conn_reset(m, c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		pend(m, c, P_CREDIT_UPDATE);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	default: /* REQUEST for a live connection, or an unknown op */
		conn_reset(m, c);
		return;
	}
	/* more credit may let waiting host data go */
	if (lookup(m, h->dst_port, h->src_port) == c) {
		if (c->readable && credit(c)) {
			c->credit_asked = false;
			rx_enqueue(m, c);
		}
		conn_update(m, c);
	}
}

bool vsock_mux_pending(const struct vsock_mux *m)
{
	return m->rx_head || m->n_stray;
}

/* Build one packet of c into the buffer; 0 when it had nothing after all. */
static size_t conn_packet(struct vsock_mux *m, struct vsock_conn *c, const struct iovec *in,
			  unsigned int n, uint64_t room, bool *free_it)
{
	struct virtio_vsock_hdr h = {
		.src_cid = MUX_HOST_CID,
		.dst_cid = m->guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.buf_alloc = MUX_BUF_ALLOC,
	};
	size_t len = 0;

	if (c->pend & P_RST) {
		h.op = VIRTIO_VSOCK_OP_RST;
		*free_it = true;
	} else if (c->pend & P_REQUEST) {
		h.op = VIRTIO_VSOCK_OP_REQUEST;
		c->pend &= ~P_REQUEST;
	} else if (c->pend & P_RESPONSE) {
		h.op = VIRTIO_VSOCK_OP_RESPONSE;
		c->pend &= ~P_RESPONSE;
	} else if (c->readable && c->state == CS_ESTABLISHED && credit(c)) {
		uint64_t want = credit(c) < room ? credit(c) : room;
		struct iovec iov[64];
		unsigned int k = 0;
		size_t skip = VSOCK_HDR_LEN, left = want;
		for (unsigned int i = 0; i < n && k < 64 && left; i++) {
			if (skip >= in[i].iov_len) {
				skip -= in[i].iov_len;
				continue;
			}
			size_t chunk = in[i].iov_len - skip;
			if (chunk > left)
				chunk = left;
			iov[k++] = (struct iovec){ (uint8_t *)in[i].iov_base + skip, chunk };
			left -= chunk;
			skip = 0;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = k };
		ssize_t r = recvmsg(c->fd, &mh, MSG_DONTWAIT);
		if (r > 0) {
			h.op = VIRTIO_VSOCK_OP_RW;
			h.len = (uint32_t)r;
			len = (size_t)r;
			c->tx_cnt += (uint32_t)r;
			ctr_bump(&m->rx_bytes, (uint64_t)r);
			if ((size_t)r < want)
				c->readable = false; /* likely drained; epoll says when not */
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* the host closed (or broke) its side: no more data from it */
			c->readable = false;
			c->eof = true;
			h.op = VIRTIO_VSOCK_OP_SHUTDOWN;
			h.flags = c->hup ? SHUT_BOTH : VIRTIO_VSOCK_SHUTDOWN_SEND;
			if (c->hup) /* gone both ways: the guest owes us an RST */
				set_deadline(m, c, MUX_SHUTDOWN_TIMEOUT_MS);
		} else {
			c->readable = false;
		}
	} else if (c->pend & P_SHUTDOWN) {
		h.op = VIRTIO_VSOCK_OP_SHUTDOWN;
		h.flags = c->shut_flags;
		c->pend &= ~P_SHUTDOWN;
	} else if (c->pend & P_CREDIT_UPDATE) {
		h.op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	} else if (c->pend & P_CREDIT_REQUEST) {
		h.op = VIRTIO_VSOCK_OP_CREDIT_REQUEST;
		c->pend &= ~P_CREDIT_REQUEST;
	}
	if (!h.op)
		return 0;
	/* every packet tells the guest our credit */
	h.fwd_cnt = c->fwd_cnt;
	c->fwd_told = c->fwd_cnt;
	c->pend &= ~P_CREDIT_UPDATE;
	buf_to_iov(in, n, 0, &h, sizeof(h));
	return VSOCK_HDR_LEN + len;
}

size_t vsock_mux_to_guest(struct vsock_mux *m, const struct iovec *in, unsigned int n)
{
	uint64_t cap = 0;

	for (unsigned int i = 0; i < n; i++)
		cap += in[i].iov_len;
	if (cap < VSOCK_HDR_LEN)
		return 0;
	if (m->n_stray) {
		buf_to_iov(in, n, 0, &m->stray[0], VSOCK_HDR_LEN);
		memmove(&m->stray[0], &m->stray[1], --m->n_stray * sizeof(m->stray[0]));
		return VSOCK_HDR_LEN;
	}
	while (m->rx_head) {
		struct vsock_conn *c = m->rx_head;
		bool free_it = false;
		rx_remove(m, c);
		size_t len = conn_packet(m, c, in, n, cap - VSOCK_HDR_LEN, &free_it);
		if (free_it) {
			conn_free(m, c);
			return len;
		}
		if (c->readable && c->state == CS_ESTABLISHED && !credit(c) && !c->credit_asked) {
			c->credit_asked = true; /* once, until the guest gives credit */
			c->pend |= P_CREDIT_REQUEST;
		}
		if (c->pend || (c->readable && c->state == CS_ESTABLISHED && credit(c)))
			rx_enqueue(m, c); /* round robin: to the back */
		conn_update(m, c);
		if (len)
			return len;
	}
	return 0;
}

/* Read "CONNECT <port>\n" a byte at a time, so no payload is consumed. */
static void host_cmd(struct vsock_mux *m, struct vsock_conn *c)
{
	for (;;) {
		char ch;
		ssize_t r = recv(c->fd, &ch, 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0 || c->cmd_len == MUX_CMD_MAX - 1) {
			conn_free(m, c);
			return;
		}
		if (ch != '\n') {
			c->cmd[c->cmd_len++] = ch;
			continue;
		}
		c->cmd[c->cmd_len] = '\0';
		break;
	}
	char *p = c->cmd, *end;
	if (strncasecmp(p, "CONNECT", 7) || !isspace((unsigned char)p[7])) {
		conn_free(m, c);
		return;
	}
	p += 8;
	while (isspace((unsigned char)*p))
		p++;
	errno = 0;
	unsigned long port = strtoul(p, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (!isdigit((unsigned char)*p) || *end || errno || port > UINT32_MAX) {
		conn_free(m, c);
		return;
	}
	/* a host port of our own, not in use with that guest port */
	do {
		c->local_port = m->next_local_port++;
		if (m->next_local_port < MUX_LOCAL_PORT0)
			m->next_local_port = MUX_LOCAL_PORT0;
	} while (lookup(m, c->local_port, (uint32_t)port));
	c->peer_port = (uint32_t)port;
	c->state = CS_CONNECTING;
	c->peer_buf_alloc = 0;
	set_deadline(m, c, MUX_REQUEST_TIMEOUT_MS);
	hash_add(m, c);
	pend(m, c, P_REQUEST);
	conn_update(m, c);
}

static void accept_all(struct vsock_mux *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				listen_watch(m, false); /* until a connection closes */
			return;
		}
		if (m->n_conns >= MUX_MAX_CONNS || !conn_new(m, fd, CS_HOST_CMD))
			close(fd); /* the host sees EOF */
	}
}

/* Reset the connections whose deadline passed. */
static void sweep(struct vsock_mux *m)
{
	uint64_t v, now = (uint64_t)now_ms();

	if (read(m->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (struct vsock_conn *c = all_list(m); c; c = c->all_next) {
		if (c->state == CS_BACKLOG && c->deadline)
			backlog_retry(m, c, now);
		else if (c->deadline && c->deadline <= now) {
			clear_deadline(m, c);
			conn_reset(m, c); /* not freed here: the RST goes first */
		}
	}
}

void vsock_mux_poll(struct vsock_mux *m)
{
	struct epoll_event evs[MUX_POLL_BATCH];
	int n;

	do {
		n = epoll_wait(m->ep, evs, MUX_POLL_BATCH, 0);
		for (int i = 0; i < n; i++) {
			struct vsock_conn *c = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			if (!c) {
				accept_all(m);
				continue;
			}
			if ((void *)c == &m->timer_fd) {
				sweep(m);
				continue;
			}
			if (c->state == CS_HOST_CMD) {
				host_cmd(m, c);
				continue;
			}
			if ((e & EPOLLOUT) && flush(m, c) < 0) {
				conn_reset(m, c);
				continue;
			}
			if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				c->readable = true;
				c->hup = c->hup || (e & EPOLLHUP);
				if (credit(c) || (e & (EPOLLHUP | EPOLLERR)))
					rx_enqueue(m, c);
			}
			conn_update(m, c);
		}
	} while (n == MUX_POLL_BATCH);
}

/* Bind path, replacing a socket file nobody listens on any more. */
static int bind_listener(struct vsock_mux *m, struct err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", m->path) >=
	    (int)sizeof(sa.sun_path) - 11) {
		/* room for "_4294967295" too */
		return err_set(err, -ENAMETOOLONG, "vsock socket '%s': path too long", m->path);
	}
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		return -errno;
	if (lstat(m->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, -EEXIST,
				       "vsock socket '%s': exists and is not a socket", m->path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			return err_set(err, -EADDRINUSE,
				       "vsock socket '%s': in use by a running process", m->path);
		unlink(m->path); /* stale: left by a VMM that was killed */
	}
	if (bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(m->listen_fd, 128) < 0) {
		int rc = -errno;
		return err_set(err, rc, "vsock socket '%s': %s", m->path, strerror(errno));
	}
	return 0;
}

int vsock_mux_init(struct vsock_mux *m, const char *path, uint64_t guest_cid, struct err *err)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int rc;

	memset(m, 0, sizeof(*m));
	m->listen_fd = m->timer_fd = m->ep = -1;
	m->guest_cid = guest_cid;
	m->next_local_port = MUX_LOCAL_PORT0;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (strlen(path) >= sizeof(m->path))
		return err_set(err, -ENAMETOOLONG, "vsock socket '%s': path too long", path);
	/* one extra slot: the list of all connections */
	m->hash = calloc(MUX_BUCKETS + 1, sizeof(*m->hash));
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event te = { .events = EPOLLIN, .data.ptr = &m->timer_fd };
	if (!m->hash || m->ep < 0 || m->timer_fd < 0 ||
	    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->timer_fd, &te) < 0) {
		rc = m->hash ? -errno : -ENOMEM;
		goto fail;
	}
	rc = bind_listener(m, err);
	if (rc)
		goto fail;
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->listen_fd, &e) < 0) {
		rc = -errno;
		unlink(m->path);
		goto fail;
	}
	return 0;
fail:
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->ep >= 0)
		close(m->ep);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	free(m->hash);
	m->hash = NULL;
	return rc;
}

void vsock_mux_reset(struct vsock_mux *m)
{
	struct vsock_conn *c;

	while ((c = all_list(m)))
		conn_free(m, c);
	m->n_stray = 0;
	m->rx_head = m->rx_tail = NULL;
}

void vsock_mux_close(struct vsock_mux *m)
{
	if (!m->hash)
		return;
	vsock_mux_reset(m);
	close(m->listen_fd);
	close(m->ep);
	close(m->timer_fd);
	unlink(m->path);
	free(m->hash);
	m->hash = NULL;
}
