/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IP lease pool shared by every svmm process on the host.
 *
 * A pool (default 172.30.0.0/16) is cut into equal blocks, one per VM:
 * a /30 by default (network, host side, guest side, broadcast: 16384 VMs in
 * a /16) or a /31 point-to-point pair (RFC 3021: host side, guest side;
 * blocks whose either address ends in .0 or .255 are skipped, for guests
 * that dislike them). The host side goes on the VM's TAP, the guest uses
 * the other address with the host side as its gateway.
 *
 * Leases live in a text file, DIR/leases, one line per VM:
 *   id=ID pid=PID start=TICKS net=A.B.C.D/P host=A.B.C.D guest=A.B.C.D link=IF created=0|1
 *   table=T netns=INODE
 * (netns is optional when read). The link and the rules live in that network
 * namespace: only a process in it may remove them.
 * Every reader and writer holds flock(DIR/leases.lock); a writer replaces the
 * file by rename, so a crash leaves the old or the new file, never half.
 * The owner is a (pid, start time) pair: start is field 22 of /proc/PID/stat,
 * so a recycled pid is not mistaken for the live owner. Addresses are IPv4
 * in host byte order.
 */
#ifndef SVMM_NET_LEASE_H
#define SVMM_NET_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/err.h"
#include "guest-agent/err.h"

#define LEASE_DEFAULT_POOL "172.30.0.0/16"
#define LEASE_DEFAULT_DIR  "/run/svmm/net"
#define LEASE_ID_MAX	   64
#define LEASE_TABLE_MAX	   32
#define LEASE_LINK_MAX	   16 /* IFNAMSIZ */

struct lease_pool {
	uint32_t net;	      /* first address of the pool */
	unsigned int plen;    /* the pool's prefix length */
	unsigned int vm_plen; /* each VM's block: 30 or 31 */
};

struct lease {
	char id[LEASE_ID_MAX + 1];
	pid_t pid;
	uint64_t start; /* owner's start time, clock ticks after boot */
	uint32_t net;	/* the block */
	unsigned int plen;
	uint32_t host, guest;
	char link[LEASE_LINK_MAX];	 /* the VM's host-side interface */
	bool created;			 /* svmm created link and removes it */
	char table[LEASE_TABLE_MAX + 1]; /* nf_tables table holding its rules */
	uint64_t netns;			 /* inode of the owner's network namespace; 0: unknown */
};

struct lease_db {
	int lock_fd;
	char path[4096]; /* DIR/leases */
	struct lease *v;
	size_t n, cap;
};

/* "A.B.C.D/P" with the host bits zero, 8 <= P <= vm_plen, vm_plen 30 or 31. */
int lease_pool_parse(struct lease_pool *p, const char *cidr, unsigned int vm_plen, struct err *err);
/* Number of blocks in the pool. */
uint32_t lease_pool_slots(const struct lease_pool *p);
/* Addresses of block slot: -ERANGE past the pool, -EADDRNOTAVAIL for a skipped /31 block. */
int lease_pool_block(const struct lease_pool *p, uint32_t slot, uint32_t *net, uint32_t *host,
		     uint32_t *guest);

/* A VM id: 1..LEASE_ID_MAX of [A-Za-z0-9_.-], not starting with '-' or '.'. */
bool lease_id_valid(const char *id);
/* An nf_tables table name: 1..LEASE_TABLE_MAX of [A-Za-z0-9_-]. */
bool lease_table_valid(const char *name);

/* One line of the file (no newline) from l, or l from a line. */
int lease_format(const struct lease *l, char *buf, size_t len);
int lease_parse(struct lease *l, const char *line);

/* Start time of pid (field 22 of /proc/PID/stat); -ESRCH when it is gone. */
int lease_proc_start(pid_t pid, uint64_t *start);
/* Whether the owner (pid, start) still runs. */
bool lease_owner_alive(pid_t pid, uint64_t start);
/* Inode of the calling thread's network namespace (/proc/thread-self/ns/net). */
int lease_netns_self(uint64_t *ino);
/* Whether a network namespace of that inode still exists: held by a process
 * (/proc/PID/ns/net) or a name (/run/netns). */
bool lease_netns_exists(uint64_t ino);

/* Create dir (mode 0755) if needed, take the lock (blocking) and read the leases. */
int lease_db_open(struct lease_db *db, const char *dir, struct err *err);
/* Write the leases back (temporary file, fsync, rename). */
int lease_db_save(struct lease_db *db, struct err *err);
/* Drop the lock and free the list (unsaved changes are lost). */
void lease_db_close(struct lease_db *db);

/* Index of the lease of id, or -ENOENT. */
int lease_db_find(const struct lease_db *db, const char *id);
void lease_db_remove(struct lease_db *db, size_t i);
/* Take the first block of p that overlaps no lease and holds none of the
 * avoid[] addresses (the host's own), for tmpl (id, owner, link, table
 * filled in by the caller); -EEXIST when id already has a lease,
 * -EADDRNOTAVAIL when the pool is full. The result is in db->v[db->n - 1]. */
int lease_db_alloc(struct lease_db *db, const struct lease_pool *p, const struct lease *tmpl,
		   const uint32_t *avoid, size_t navoid, struct err *err);

/* "A.B.C.D" of a host-order address into buf (16 bytes). */
const char *lease_ntoa(uint32_t a, char buf[16]);
/* Parse "A.B.C.D" into a host-order address; -EINVAL on junk. */
int lease_aton(const char *s, uint32_t *a);

#endif
