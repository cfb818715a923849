// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2 (versions 2 and 3), read and write, as `qemu-img create -f qcow2`
 * makes it: no backing file, no encryption, no external data file, no
 * compressed clusters, 16-bit refcounts.
 *
 * Metadata goes through its own buffered descriptor (the data one may be
 * O_DIRECT) and is written through with pwrite() before the data I/O is
 * queued, in an order that keeps the image consistent if svmm is killed at
 * any point: a cluster's refcount is raised before anything points at it,
 * and a new L2 table is written before the L1 entry that points at it.
 * DISCARD punches holes in the host clusters and keeps the mapping, so it
 * never changes metadata. The
 * worst a kill leaves behind is a leaked cluster (`qemu-img check -r
 * leaks` repairs it). New clusters are always taken past the end of the
 * file, which the file system fills with zeros.
 */
#include "devices/virtio/blk/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QCOW2_OFLAG_COPIED     (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO       1ULL
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ULL

#define INCOMPAT_DIRTY	     (1ULL << 0)
#define INCOMPAT_CORRUPT     (1ULL << 1)
#define INCOMPAT_DATA_FILE   (1ULL << 2)
#define INCOMPAT_COMPRESSION (1ULL << 3)
#define INCOMPAT_EXTL2	     (1ULL << 4)

#define L2_CACHE 16 /* tables kept in memory */

struct qcow2_header {
	uint32_t magic, version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size, cluster_bits;
	uint64_t size;
	uint32_t crypt_method, l1_size;
	uint64_t l1_table_offset, refcount_table_offset;
	uint32_t refcount_table_clusters, nb_snapshots;
	uint64_t snapshots_offset;
	/* version 3 */
	uint64_t incompatible_features, compatible_features, autoclear_features;
	uint32_t refcount_order, header_length;
} __attribute__((packed));

struct table_cache {
	uint64_t off; /* host offset of the cached table, 0 when empty */
	uint64_t *t;  /* big-endian entries as on disk */
	unsigned int age;
};

struct qcow2 {
	pthread_mutex_t lock;
	unsigned int cluster_bits;
	uint64_t cluster_size;
	uint64_t l2_entries; /* entries per L2 table */
	uint64_t *l1;	     /* host byte order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *rc_table; /* host byte order */
	uint64_t rc_table_entries, rc_table_offset;
	uint64_t rc_block_entries; /* refcounts per block */
	uint64_t next_free;	   /* first cluster offset past the file */
	struct table_cache l2[L2_CACHE], rcb[L2_CACHE];
	unsigned int clock;
};

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

static bool cluster_aligned(const struct qcow2 *q, uint64_t off)
{
	return !(off & (q->cluster_size - 1));
}

/* A table (L2 or refcount block) at host offset off, read through a small cache. */
static uint64_t *table_get(struct qcow2 *q, struct disk *d, struct table_cache *c, uint64_t off,
			   int *rc)
{
	struct table_cache *victim = &c[0];

	for (unsigned int i = 0; i < L2_CACHE; i++) {
		if (c[i].off == off) {
			c[i].age = ++q->clock;
			return c[i].t;
		}
		if (c[i].age < victim->age)
			victim = &c[i];
	}
	if (!victim->t && !(victim->t = malloc(q->cluster_size))) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = pread_all(d->meta_fd, victim->t, q->cluster_size, off);
	if (*rc) {
		victim->off = 0;
		return NULL;
	}
	victim->off = off;
	victim->age = ++q->clock;
	return victim->t;
}

/* Put a freshly written table in the cache. */
static void table_put(struct qcow2 *q, struct table_cache *c, uint64_t off, const void *t)
{
	struct table_cache *victim = &c[0];
	for (unsigned int i = 1; i < L2_CACHE; i++)
		if (c[i].age < victim->age)
			victim = &c[i];
	if (!victim->t && !(victim->t = malloc(q->cluster_size)))
		return;
	memcpy(victim->t, t, q->cluster_size);
	victim->off = off;
	victim->age = ++q->clock;
}

/* Raise the refcount of the cluster at host offset `host` to 1. New
 * refcount blocks are placed at the end of the file and count themselves. */
static int refcount_set_one(struct qcow2 *q, struct disk *d, uint64_t host)
{
	uint64_t cluster = host >> q->cluster_bits;
	uint64_t idx = cluster / q->rc_block_entries;
	int rc;

	if (idx >= q->rc_table_entries)
		return -ENOSPC; /* the refcount table would have to grow */
	if (!q->rc_table[idx]) {
		/* A new refcount block: take the next free cluster for it. */
		uint64_t blk = q->next_free;
		if ((blk >> q->cluster_bits) / q->rc_block_entries != idx)
			return -ENOSPC; /* it would not describe itself */
		q->next_free += q->cluster_size;
		uint16_t *b = calloc(1, q->cluster_size);
		if (!b)
			return -ENOMEM;
		b[(blk >> q->cluster_bits) % q->rc_block_entries] = htobe16(1);
		rc = ftruncate(d->meta_fd, (off_t)q->next_free) ? -errno : 0;
		if (!rc)
			rc = pwrite_all(d->meta_fd, b, q->cluster_size, blk);
		if (!rc) {
			uint64_t be = htobe64(blk);
			rc = pwrite_all(d->meta_fd, &be, 8, q->rc_table_offset + idx * 8);
		}
		if (!rc) {
			table_put(q, q->rcb, blk, b);
			q->rc_table[idx] = blk;
		}
		free(b);
		if (rc)
			return rc;
	}
	uint16_t *b = (uint16_t *)table_get(q, d, q->rcb, q->rc_table[idx], &rc);
	if (!b)
		return rc;
	uint64_t i = cluster % q->rc_block_entries;
	b[i] = htobe16(1);
	return pwrite_all(d->meta_fd, &b[i], 2, q->rc_table[idx] + i * 2);
}

/* Take a new zeroed cluster past the end of the file, refcount first. */
static int alloc_cluster(struct qcow2 *q, struct disk *d, uint64_t *out)
{
	int rc;

	/* the refcount block, if new, goes first; then the cluster */
	uint64_t probe = q->next_free;
	uint64_t idx = (probe >> q->cluster_bits) / q->rc_block_entries;
	if (idx < q->rc_table_entries && !q->rc_table[idx]) {
		rc = refcount_set_one(q, d, probe); /* creates the block at probe */
		if (rc)
			return rc;
	}
	uint64_t host = q->next_free;
	q->next_free += q->cluster_size;
	if (ftruncate(d->meta_fd, (off_t)q->next_free))
		return -errno;
	rc = refcount_set_one(q, d, host);
	if (rc)
		return rc;
	*out = host;
	return 0;
}

static int l2_table(struct qcow2 *q, struct disk *d, uint64_t l1i, bool alloc, uint64_t **t)
{
	int rc;
	uint64_t off = q->l1[l1i] & QCOW2_OFFSET_MASK;

	*t = NULL;
	if (!off) {
		if (!alloc)
			return 0;
		rc = alloc_cluster(q, d, &off);
		if (rc)
			return rc;
		uint64_t *z = calloc(1, q->cluster_size);
		if (!z)
			return -ENOMEM;
		rc = pwrite_all(d->meta_fd, z, q->cluster_size, off); /* before L1 points at it */
		if (!rc) {
			uint64_t be = htobe64(off | QCOW2_OFLAG_COPIED);
			rc = pwrite_all(d->meta_fd, &be, 8, q->l1_offset + l1i * 8);
		}
		if (!rc) {
			q->l1[l1i] = off | QCOW2_OFLAG_COPIED;
			table_put(q, q->l2, off, z);
		}
		free(z);
		if (rc)
			return rc;
	}
	if (!cluster_aligned(q, off) || off + q->cluster_size > q->next_free)
		return -EIO; /* corrupt L1 entry */
	*t = table_get(q, d, q->l2, off, &rc);
	return *t ? 0 : rc;
}

static int qcow2_map(struct disk *d, uint64_t off, uint64_t len, bool write, struct disk_extent *e)
{
	struct qcow2 *q = d->fmt_state;
	uint64_t in_cluster = off & (q->cluster_size - 1);
	uint64_t vcluster = off >> q->cluster_bits;
	uint64_t l1i = vcluster / q->l2_entries, l2i = vcluster % q->l2_entries;
	uint64_t *t;
	int rc;

	if (off > d->size || len > d->size - off || !len)
		return -EINVAL;
	e->len = q->cluster_size - in_cluster < len ? q->cluster_size - in_cluster : len;
	if (l1i >= q->l1_size)
		return -EIO;

	pthread_mutex_lock(&q->lock);
	rc = l2_table(q, d, l1i, write, &t);
	if (rc || !t) {
		e->zero = true;
		goto out;
	}
	uint64_t ent = be64toh(t[l2i]);
	if (ent & QCOW2_OFLAG_COMPRESSED) {
		rc = -ENOTSUP;
		goto out;
	}
	uint64_t host = ent & QCOW2_OFFSET_MASK;
	if (host && (!cluster_aligned(q, host) || host + q->cluster_size > q->next_free)) {
		rc = -EIO; /* corrupt L2 entry */
		goto out;
	}
	if (write && (!host || (ent & QCOW2_OFLAG_ZERO))) {
		if (!host) {
			rc = alloc_cluster(q, d, &host); /* zeros: past the old end */
			if (rc)
				goto out;
		} else {
			/* a preallocated zero cluster: make its old bytes zeros */
			uint8_t *z = calloc(1, q->cluster_size);
			rc = z ? pwrite_all(d->meta_fd, z, q->cluster_size, host) : -ENOMEM;
			free(z);
			if (rc)
				goto out;
		}
		/* The L2 table of this cluster may have been evicted meanwhile. */
		rc = l2_table(q, d, l1i, true, &t);
		if (rc)
			goto out;
		uint64_t be = htobe64(host | QCOW2_OFLAG_COPIED);
		uint64_t l2off = q->l1[l1i] & QCOW2_OFFSET_MASK;
		rc = pwrite_all(d->meta_fd, &be, 8, l2off + l2i * 8);
		if (rc)
			goto out;
		t[l2i] = be;
		ent = host | QCOW2_OFLAG_COPIED;
	}
	if (!host || (ent & QCOW2_OFLAG_ZERO)) {
		e->zero = true;
	} else {
		e->zero = false;
		e->host_off = host + in_cluster;
	}
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int qcow2_flush(struct disk *d)
{
	(void)d;
	return 0; /* metadata is written through; the device's fdatasync makes it durable */
}

static void qcow2_close(struct disk *d)
{
	struct qcow2 *q = d->fmt_state;
	if (!q)
		return;
	for (unsigned int i = 0; i < L2_CACHE; i++) {
		free(q->l2[i].t);
		free(q->rcb[i].t);
	}
	free(q->l1);
	free(q->rc_table);
	pthread_mutex_destroy(&q->lock);
	free(q);
	d->fmt_state = NULL;
}

const struct disk_format disk_format_qcow2 = {
	.name = "qcow2",
	.map = qcow2_map,
	.flush = qcow2_flush,
	.close = qcow2_close,
};

int qcow2_open(struct disk *d, struct err *err)
{
	struct qcow2_header h;
	struct stat st;
	int rc;
	const char *p = d->path;

	memset(&h, 0, sizeof(h));
	if (fstat(d->meta_fd, &st) < 0)
		return err_set(err, -errno, "disk '%s': %s", p, strerror(errno));
	rc = pread_all(d->meta_fd, &h, 72, 0);
	if (rc)
		return err_set(err, rc, "disk '%s': cannot read the qcow2 header", p);
	uint32_t version = be32toh(h.version);
	if (version == 3) {
		rc = pread_all(d->meta_fd, (uint8_t *)&h + 72, sizeof(h) - 72, 72);
		if (rc)
			return err_set(err, rc, "disk '%s': short qcow2 v3 header", p);
	} else if (version != 2) {
		return err_set(err, -ENOTSUP, "disk '%s': qcow2 version %u is not supported", p,
			       version);
	}
	uint64_t incompat = be64toh(h.incompatible_features);
	uint32_t cluster_bits = be32toh(h.cluster_bits);
	uint32_t refcount_order = version == 3 ? be32toh(h.refcount_order) : 4;
	if (be64toh(h.backing_file_offset))
		return err_set(err, -ENOTSUP,
			       "disk '%s': qcow2 backing files are not supported (flatten it with "
			       "'qemu-img convert')",
			       p);
	if (be32toh(h.crypt_method))
		return err_set(err, -ENOTSUP, "disk '%s': encrypted qcow2 is not supported", p);
	if (incompat & INCOMPAT_DATA_FILE)
		return err_set(err, -ENOTSUP,
			       "disk '%s': qcow2 external data files are not supported", p);
	if (incompat & INCOMPAT_EXTL2)
		return err_set(err, -ENOTSUP,
			       "disk '%s': qcow2 extended L2 entries are not supported", p);
	if (incompat & INCOMPAT_CORRUPT)
		return err_set(err, -EIO,
			       "disk '%s': the qcow2 image is marked corrupt ('qemu-img check -r "
			       "all' may repair it)",
			       p);
	if (incompat & INCOMPAT_DIRTY)
		return err_set(
			err, -EIO,
			"disk '%s': the qcow2 image is dirty (lazy refcounts); run 'qemu-img "
			"check -r all' first",
			p);
	if (incompat & ~(uint64_t)INCOMPAT_COMPRESSION)
		return err_set(err, -ENOTSUP,
			       "disk '%s': unknown qcow2 incompatible features 0x%llx", p,
			       (unsigned long long)incompat);
	if (cluster_bits < 9 || cluster_bits > 21)
		return err_set(err, -EINVAL, "disk '%s': qcow2 cluster_bits %u is invalid", p,
			       cluster_bits);
	if (refcount_order != 4)
		return err_set(
			err, -ENOTSUP,
			"disk '%s': qcow2 refcount width is not supported: refcount_order %u "
			"(only 4, 16-bit refcounts, is)",
			p, refcount_order);
	if (be32toh(h.nb_snapshots) && !d->readonly)
		return err_set(err, -ENOTSUP,
			       "disk '%s': qcow2 internal snapshots are supported read-only only",
			       p);

	struct qcow2 *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	d->fmt_state = q;
	q->cluster_bits = cluster_bits;
	q->cluster_size = 1ULL << cluster_bits;
	q->l2_entries = q->cluster_size / 8;
	q->rc_block_entries = q->cluster_size / 2;
	q->l1_size = be32toh(h.l1_size);
	q->l1_offset = be64toh(h.l1_table_offset);
	q->rc_table_offset = be64toh(h.refcount_table_offset);
	q->rc_table_entries = (uint64_t)be32toh(h.refcount_table_clusters) * q->cluster_size / 8;
	q->next_free = ((uint64_t)st.st_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	d->size = be64toh(h.size);

	uint64_t need_l1 =
		(d->size + q->cluster_size * q->l2_entries - 1) / (q->cluster_size * q->l2_entries);
	if (q->l1_size < need_l1 || q->l1_size > (32u << 20) / 8 ||
	    !cluster_aligned(q, q->l1_offset) || !cluster_aligned(q, q->rc_table_offset) ||
	    q->l1_offset + q->l1_size * 8ULL > (uint64_t)st.st_size ||
	    q->rc_table_entries > (64u << 20) / 8 ||
	    q->rc_table_offset + q->rc_table_entries * 8 > (uint64_t)st.st_size) {
		rc = err_set(err, -EIO, "disk '%s': qcow2 tables are out of bounds (corrupt)", p);
		goto fail;
	}
	q->l1 = malloc(q->l1_size * 8ULL + 8);
	q->rc_table = malloc(q->rc_table_entries * 8 + 8);
	if (!q->l1 || !q->rc_table) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = pread_all(d->meta_fd, q->l1, q->l1_size * 8ULL, q->l1_offset)) ||
	    (rc = pread_all(d->meta_fd, q->rc_table, q->rc_table_entries * 8,
			    q->rc_table_offset))) {
		rc = err_set(err, rc, "disk '%s': cannot read qcow2 tables", p);
		goto fail;
	}
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = be64toh(q->l1[i]);
	for (uint64_t i = 0; i < q->rc_table_entries; i++) {
		q->rc_table[i] = be64toh(q->rc_table[i]) & ~(q->cluster_size - 1);
		if (q->rc_table[i] >= q->next_free) {
			rc = err_set(
				err, -EIO,
				"disk '%s': qcow2 refcount table points past the file (corrupt)",
				p);
			goto fail;
		}
	}
	d->fmt = &disk_format_qcow2;
	return 0;
fail:
	qcow2_close(d);
	return rc;
}
