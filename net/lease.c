// SPDX-License-Identifier: Apache-2.0
/* The IP lease pool: block arithmetic, the lease file, owner liveness. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "guest-agent/common.h"
#include "net/lease.h"

const char *lease_ntoa(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

int lease_aton(const char *s, uint32_t *a)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*a = ntohl(in.s_addr);
	return 0;
}

static int parse_cidr(const char *s, uint32_t *a, unsigned int *plen)
{
	char buf[32], *slash, *end;
	unsigned long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || p > 32 || slash[1] == '+' || slash[1] == '-')
		return -EINVAL;
	*plen = (unsigned int)p;
	return lease_aton(buf, a);
}

static uint32_t mask_of(unsigned int plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

int lease_pool_parse(struct lease_pool *p, const char *cidr, unsigned int vm_plen, struct err *err)
{
	if (vm_plen != 30 && vm_plen != 31)
		return err_set(err, -EINVAL, "block size /%u: use /30 or /31", vm_plen);
	if (parse_cidr(cidr, &p->net, &p->plen) < 0)
		return err_set(err, -EINVAL, "pool '%s' is not an IPv4 A.B.C.D/P network", cidr);
	if (p->plen < 8 || p->plen > vm_plen)
		return err_set(err, -EINVAL, "pool '%s': the prefix must be /8 to /%u", cidr,
			       vm_plen);
	if (p->net & ~mask_of(p->plen))
		return err_set(err, -EINVAL, "pool '%s' has host bits set", cidr);
	p->vm_plen = vm_plen;
	return 0;
}

uint32_t lease_pool_slots(const struct lease_pool *p)
{
	return 1u << (p->vm_plen - p->plen);
}

static bool ends_0_or_255(uint32_t a)
{
	return (a & 255) == 0 || (a & 255) == 255;
}

int lease_pool_block(const struct lease_pool *p, uint32_t slot, uint32_t *net, uint32_t *host,
		     uint32_t *guest)
{
	uint32_t base;

	if (slot >= lease_pool_slots(p))
		return -ERANGE;
	base = p->net + (slot << (32 - p->vm_plen));
	*net = base;
	*host = p->vm_plen == 31 ? base : base + 1;
	*guest = *host + 1;
	if (ends_0_or_255(*host) || ends_0_or_255(*guest))
		return -EADDRNOTAVAIL;
	return 0;
}

static bool name_chars_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (extra && strchr(extra, c))))
			return false;
	}
	return true;
}

bool lease_id_valid(const char *id)
{
	return name_chars_ok(id, LEASE_ID_MAX, ".") && id[0] != '-' && id[0] != '.';
}

bool lease_table_valid(const char *name)
{
	return name_chars_ok(name, LEASE_TABLE_MAX, NULL);
}

int lease_format(const struct lease *l, char *buf, size_t len)
{
	char n[16], h[16], g[16];
	int r = snprintf(buf, len,
			 "id=%s pid=%d start=%" PRIu64 " net=%s/%u host=%s guest=%s link=%s "
			 "created=%d table=%s netns=%" PRIu64,
			 l->id, (int)l->pid, l->start, lease_ntoa(l->net, n), l->plen,
			 lease_ntoa(l->host, h), lease_ntoa(l->guest, g), l->link,
			 l->created ? 1 : 0, l->table, l->netns);

	return r < 0 || (size_t)r >= len ? -ENOSPC : 0;
}

static int copy_field(char *dst, size_t max, const char *v, bool (*ok)(const char *))
{
	if (strlen(v) >= max || (ok && !ok(v)))
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

static bool link_ok(const char *s)
{
	return name_chars_ok(s, LEASE_LINK_MAX - 1, ".@");
}

int lease_parse(struct lease *l, const char *line)
{
	char buf[512], *save = NULL, *tok;
	unsigned int seen = 0;

	if (strlen(line) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, line);
	memset(l, 0, sizeof(*l));
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		char *v = strchr(tok, '='), *end;
		unsigned long long u;
		int bit, rc = 0;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		if (!strcmp(tok, "id")) {
			bit = 0;
			rc = copy_field(l->id, sizeof(l->id), v, lease_id_valid);
		} else if (!strcmp(tok, "pid") || !strcmp(tok, "start") ||
			   !strcmp(tok, "created") || !strcmp(tok, "netns")) {
			errno = 0;
			u = strtoull(v, &end, 10);
			if (!*v || *end || errno || *v == '-' || *v == '+')
				return -EINVAL;
			if (tok[0] == 'p') {
				bit = 1;
				if (u > INT32_MAX)
					return -EINVAL;
				l->pid = (pid_t)u;
			} else if (tok[0] == 's') {
				bit = 2;
				l->start = u;
			} else if (tok[0] == 'n') {
				bit = 9;
				l->netns = u;
			} else {
				bit = 3;
				if (u > 1)
					return -EINVAL;
				l->created = u;
			}
		} else if (!strcmp(tok, "net")) {
			bit = 4;
			rc = parse_cidr(v, &l->net, &l->plen);
			if (!rc && (l->plen < 8 || (l->net & ~mask_of(l->plen))))
				rc = -EINVAL;
		} else if (!strcmp(tok, "host")) {
			bit = 5;
			rc = lease_aton(v, &l->host);
		} else if (!strcmp(tok, "guest")) {
			bit = 6;
			rc = lease_aton(v, &l->guest);
		} else if (!strcmp(tok, "link")) {
			bit = 7;
			rc = copy_field(l->link, sizeof(l->link), v, link_ok);
		} else if (!strcmp(tok, "table")) {
			bit = 8;
			rc = copy_field(l->table, sizeof(l->table), v, lease_table_valid);
		} else {
			continue; /* a newer svmm's field */
		}
		if (rc < 0 || (seen & (1u << bit)))
			return -EINVAL;
		seen |= 1u << bit;
	}
	return (seen & 0x1ff) == 0x1ff ? 0 : -EINVAL; /* netns (bit 9) may be absent */
}

int lease_proc_start(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* after ')': field 3 (state) ... field 22 (starttime) */
	for (int field = 2; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

bool lease_owner_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	return lease_proc_start(pid, &now) == 0 && now == start;
}

int lease_netns_self(uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

static bool ns_in_dir(const char *dir, const char *suffix, bool numeric, uint64_t ino)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[512];
		struct stat st;

		if (e->d_name[0] == '.' || (numeric && (e->d_name[0] < '0' || e->d_name[0] > '9')))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, e->d_name, suffix);
		found = stat(path, &st) == 0 && (uint64_t)st.st_ino == ino;
	}
	closedir(d);
	return found;
}

bool lease_netns_exists(uint64_t ino)
{
	return ns_in_dir("/run/netns", "", false, ino) || ns_in_dir("/proc", "/ns/net", true, ino);
}

static int db_push(struct lease_db *db, const struct lease *l)
{
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;
		struct lease *v = realloc(db->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		db->v = v;
		db->cap = cap;
	}
	db->v[db->n++] = *l;
	return 0;
}

static int db_load(struct lease_db *db, struct err *err)
{
	FILE *f = fopen(db->path, "re");
	char line[512];
	unsigned int lineno = 0;
	int rc = 0;

	if (!f)
		return errno == ENOENT ? 0
				       : err_set(err, -errno, "%s: %s", db->path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		struct lease l;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (lease_parse(&l, line) < 0) {
			rc = err_set(err, -EINVAL, "%s line %u: not a lease record", db->path,
				     lineno);
			break;
		}
		rc = db_push(db, &l);
		if (rc < 0)
			break;
	}
	fclose(f);
	return rc;
}

int lease_db_open(struct lease_db *db, const char *dir, struct err *err)
{
	char lock[4096 + 16];
	int rc;

	memset(db, 0, sizeof(*db));
	db->lock_fd = -1;
	if (snprintf(db->path, sizeof(db->path), "%s/leases", dir) >= (int)sizeof(db->path))
		return err_set(err, -ENAMETOOLONG, "lease directory '%s': name too long", dir);
	rc = mkdir_p(dir, 0755);
	if (rc < 0)
		return err_set(err, rc, "lease directory %s: %s", dir, strerror(-rc));
	snprintf(lock, sizeof(lock), "%s/leases.lock", dir);
	db->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (db->lock_fd < 0)
		return err_set(err, -errno, "%s: %s", lock, strerror(errno));
	while (flock(db->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = err_set(err, -errno, "flock %s: %s", lock, strerror(errno));
			goto fail;
		}
	}
	rc = db_load(db, err);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	lease_db_close(db);
	return rc;
}

int lease_db_save(struct lease_db *db, struct err *err)
{
	char tmp[4096 + 16], line[512];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", db->path);
	f = fopen(tmp, "we");
	if (!f)
		return err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	fprintf(f, "# svmm IP leases (see net/lease.h); written under flock of leases.lock\n");
	for (size_t i = 0; i < db->n && rc == 0; i++) {
		rc = lease_format(&db->v[i], line, sizeof(line));
		if (rc == 0)
			fprintf(f, "%s\n", line);
	}
	if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) < 0))
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, db->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return err_set(err, rc, "%s: %s", db->path, strerror(-rc));
	}
	return 0;
}

void lease_db_close(struct lease_db *db)
{
	if (db->lock_fd >= 0)
		close(db->lock_fd); /* drops the flock */
	db->lock_fd = -1;
	free(db->v);
	db->v = NULL;
	db->n = db->cap = 0;
}

int lease_db_find(const struct lease_db *db, const char *id)
{
	for (size_t i = 0; i < db->n; i++) {
		if (!strcmp(db->v[i].id, id))
			return (int)i;
	}
	return -ENOENT;
}

void lease_db_remove(struct lease_db *db, size_t i)
{
	if (i >= db->n)
		return;
	memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof(db->v[0]));
	db->n--;
}

static bool overlaps(uint32_t a, unsigned int alen, uint32_t b, unsigned int blen)
{
	unsigned int p = alen < blen ? alen : blen;

	return ((a ^ b) & mask_of(p)) == 0;
}

int lease_db_alloc(struct lease_db *db, const struct lease_pool *p, const struct lease *tmpl,
		   const uint32_t *avoid, size_t navoid, struct err *err)
{
	uint32_t slots = lease_pool_slots(p);
	char a[16];

	if (lease_db_find(db, tmpl->id) >= 0)
		return err_set(err, -EEXIST, "VM id '%s' already has a lease in %s", tmpl->id,
			       db->path);
	for (uint32_t s = 0; s < slots; s++) {
		struct lease l = *tmpl;
		bool used = false;

		if (lease_pool_block(p, s, &l.net, &l.host, &l.guest) < 0)
			continue;
		l.plen = p->vm_plen;
		for (size_t i = 0; i < db->n && !used; i++)
			used = overlaps(l.net, l.plen, db->v[i].net, db->v[i].plen);
		for (size_t i = 0; i < navoid && !used; i++)
			used = overlaps(l.net, l.plen, avoid[i], 32);
		if (used)
			continue;
		return db_push(db, &l);
	}
	return err_set(err, -EADDRNOTAVAIL, "the pool %s/%u is full (%u blocks of /%u)",
		       lease_ntoa(p->net, a), p->plen, slots, p->vm_plen);
}
