// SPDX-License-Identifier: Apache-2.0
/* vhost-user front end: messages, file descriptors and replies. */
#include "devices/virtio/fs/vhost_user.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

#define VHOST_USER_VERSION     0x1
#define VHOST_USER_REPLY       0x4
#define VHOST_USER_NEED_REPLY  0x8
#define VHOST_USER_MAX_REGIONS 8
/* Protocol features we ask for when offered. */
#define VU_PROTOCOL_WANTED (VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK)

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc, used, avail, log;
} __attribute__((packed));

struct vu_region {
	uint64_t gpa, size, uaddr, mmap_offset;
} __attribute__((packed));

struct vu_mem {
	uint32_t n;
	uint32_t padding;
	struct vu_region r[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vu_msg {
	struct vu_hdr h;
	union {
		uint64_t u64;
		struct vu_state state;
		struct vu_addr addr;
		struct vu_mem mem;
	};
} __attribute__((packed));

static int send_msg(struct vhost_user *vu, struct vu_msg *m, const int *fds, unsigned int nfds)
{
	struct iovec iov = { m, sizeof(m->h) + m->h.size };
	char ctl[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	m->h.flags |= VHOST_USER_VERSION;
	if (nfds) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(vu->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EIO;
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/* Read the reply to `request` into r (payload at most sizeof(r) - header). */
static int recv_reply(struct vhost_user *vu, uint32_t request, struct vu_msg *r)
{
	int rc = read_full(vu->fd, &r->h, sizeof(r->h));

	if (rc)
		return rc;
	if (r->h.request != request || !(r->h.flags & VHOST_USER_REPLY) ||
	    r->h.size > sizeof(*r) - sizeof(r->h))
		return -EPROTO;
	return read_full(vu->fd, &r->u64, r->h.size);
}

/* Send a request that changes state; with REPLY_ACK wait for its verdict. */
static int request(struct vhost_user *vu, struct vu_msg *m, const int *fds, unsigned int nfds)
{
	bool ack = vu->protocol_features & VHOST_USER_PROTOCOL_F_REPLY_ACK;
	struct vu_msg r;
	int rc;

	if (ack)
		m->h.flags |= VHOST_USER_NEED_REPLY;
	rc = send_msg(vu, m, fds, nfds);
	if (rc || !ack)
		return rc;
	rc = recv_reply(vu, m->h.request, &r);
	if (rc)
		return rc;
	if (r.h.size != sizeof(uint64_t))
		return -EPROTO;
	return r.u64 ? -EREMOTEIO : 0; /* the back-end refused */
}

/* A request answered with a u64 (GET_FEATURES and the like). */
static int get_u64(struct vhost_user *vu, uint32_t req, uint64_t *out)
{
	struct vu_msg m = { .h = { .request = req } }, r;
	int rc = send_msg(vu, &m, NULL, 0);

	if (!rc)
		rc = recv_reply(vu, req, &r);
	if (!rc && r.h.size != sizeof(uint64_t))
		rc = -EPROTO;
	if (!rc)
		*out = r.u64;
	return rc;
}

static int set_u64(struct vhost_user *vu, uint32_t req, uint64_t v, const int *fds,
		   unsigned int nfds)
{
	struct vu_msg m = { .h = { .request = req, .size = sizeof(uint64_t) }, .u64 = v };
	return request(vu, &m, fds, nfds);
}

static int set_state(struct vhost_user *vu, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vu_msg m = { .h = { .request = req, .size = sizeof(struct vu_state) },
			    .state = { idx, num } };
	return request(vu, &m, NULL, 0);
}

int vhost_user_connect(struct vhost_user *vu, const char *path, struct err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *step = "connect";
	int rc;

	memset(vu, 0, sizeof(*vu));
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return err_set(err, -ENAMETOOLONG, "vhost-user socket '%s': path too long", path);
	snprintf(vu->path, sizeof(vu->path), "%s", path);
	vu->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vu->fd < 0 || connect(vu->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto fail;
	}
	step = "GET_FEATURES";
	if ((rc = get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features)))
		goto fail;
	if (vu->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		uint64_t pf;
		step = "GET_PROTOCOL_FEATURES";
		if ((rc = get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &pf)))
			goto fail;
		pf &= VU_PROTOCOL_WANTED;
		step = "SET_PROTOCOL_FEATURES";
		/* no reply is asked before REPLY_ACK is agreed */
		if ((rc = set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, pf, NULL, 0)))
			goto fail;
		vu->protocol_features = pf;
		if (pf & VHOST_USER_PROTOCOL_F_MQ) {
			uint64_t q;
			step = "GET_QUEUE_NUM";
			if ((rc = get_u64(vu, VHOST_USER_GET_QUEUE_NUM, &q)))
				goto fail;
			vu->max_queues = q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
		}
	}
	step = "SET_OWNER";
	struct vu_msg m = { .h = { .request = VHOST_USER_SET_OWNER } };
	if ((rc = request(vu, &m, NULL, 0)))
		goto fail;
	return 0;
fail:
	err_set(err, rc, "vhost-user socket '%s': %s: %s", path, step, strerror(-rc));
	vhost_user_close(vu);
	return rc;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	if (vu->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
		features |= 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;
	return set_u64(vu, VHOST_USER_SET_FEATURES, features, NULL, 0);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *mem)
{
	struct vu_msg m = { .h = { .request = VHOST_USER_SET_MEM_TABLE } };
	int fds[VHOST_USER_MAX_REGIONS];

	if (mem->fd < 0 || !mem->n_regions || mem->n_regions > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	m.mem.n = mem->n_regions;
	for (unsigned int i = 0; i < mem->n_regions; i++) {
		const struct guest_region *r = &mem->region[i];
		m.mem.r[i] = (struct vu_region){
			.gpa = r->gpa,
			.size = r->size,
			.uaddr = (uint64_t)(uintptr_t)r->hva,
			.mmap_offset = (uint64_t)(r->hva - mem->base),
		};
		fds[i] = mem->fd; /* one memfd behind every region */
	}
	m.h.size = (uint32_t)(offsetof(struct vu_mem, r) + mem->n_regions * sizeof(m.mem.r[0]));
	return request(vu, &m, fds, mem->n_regions);
}

int vhost_user_setup_vring(struct vhost_user *vu, unsigned int idx, const struct virtq *q,
			   int kick_fd, int call_fd)
{
	struct vu_msg m = { .h = { .request = VHOST_USER_SET_VRING_ADDR,
				   .size = sizeof(struct vu_addr) } };
	int rc;

	if (!q->ready || kick_fd < 0 || call_fd < 0)
		return -EINVAL;
	if ((rc = set_state(vu, VHOST_USER_SET_VRING_NUM, idx, q->size)) ||
	    (rc = set_state(vu, VHOST_USER_SET_VRING_BASE, idx, q->last_avail)))
		return rc;
	/* ring addresses in our address space; the memory table maps them */
	m.addr = (struct vu_addr){ .index = idx,
				   .desc = (uint64_t)(uintptr_t)q->desc,
				   .used = (uint64_t)(uintptr_t)q->used,
				   .avail = (uint64_t)(uintptr_t)q->avail };
	if ((rc = request(vu, &m, NULL, 0)) ||
	    (rc = set_u64(vu, VHOST_USER_SET_VRING_KICK, idx, &kick_fd, 1)) ||
	    (rc = set_u64(vu, VHOST_USER_SET_VRING_CALL, idx, &call_fd, 1)))
		return rc;
	if (vu->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
		rc = set_state(vu, VHOST_USER_SET_VRING_ENABLE, idx, 1);
	return rc;
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int idx, uint32_t *base)
{
	struct vu_msg m = { .h = { .request = VHOST_USER_GET_VRING_BASE,
				   .size = sizeof(struct vu_state) },
			    .state = { idx, 0 } },
		      r;
	int rc = send_msg(vu, &m, NULL, 0);

	if (!rc)
		rc = recv_reply(vu, VHOST_USER_GET_VRING_BASE, &r);
	if (!rc && r.h.size != sizeof(struct vu_state))
		rc = -EPROTO;
	if (!rc)
		*base = r.state.num;
	return rc;
}
