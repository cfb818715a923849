// SPDX-License-Identifier: Apache-2.0
/*
 * The FAT image writer: boot sector, FSInfo, the two FATs, the directories
 * and the file data (copied from the source files, holes kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "images/fat_priv.h"

#define ATTR_DIR     0x10
#define ATTR_VOLUME  0x08
#define FAT32_FSINFO 1u
#define FAT32_BACKUP 6u

/* ---- writing ---- */

void fat_time_encode(int64_t t, uint16_t *date, uint16_t *time, uint8_t *tenths)
{
	struct tm tm;
	time_t tt;

	if (t < FAT_TIME_MIN)
		t = FAT_TIME_MIN;
	if (t > 4354819198ll) /* 2107-12-31 23:59:58 */
		t = 4354819198ll;
	tt = t;
	gmtime_r(&tt, &tm);
	*date = (tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday;
	*time = tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2;
	if (tenths)
		*tenths = (tm.tm_sec % 2) * 100;
}

struct writer {
	struct fat_tree *t;
	const struct fat_opts *o;
	struct fat_geom g;
	int fd;
	uint8_t *fat;
	uint64_t data_off; /* byte offset of cluster 2 */
	uint32_t cs;	   /* cluster bytes */
	char label[11];
	bool has_label;
};

static int64_t node_time(const struct writer *w, const struct fat_node *n)
{
	return w->o->fixed_time ? w->o->epoch : n->mtime;
}

static void dirent_fill(uint8_t *e, const uint8_t name[11], uint8_t attr, uint32_t cluster,
			uint32_t size, int64_t t)
{
	uint16_t date, time;
	uint8_t tenths;

	fat_time_encode(t, &date, &time, &tenths);
	memset(e, 0, DIRENT);
	memcpy(e, name, 11);
	e[11] = attr;
	e[13] = tenths;
	put16(e + 14, time);
	put16(e + 16, date);
	put16(e + 18, date);
	put16(e + 20, cluster >> 16);
	put16(e + 22, time);
	put16(e + 24, date);
	put16(e + 26, cluster);
	put32(e + 28, size);
}

static void fat_set(struct writer *w, uint32_t i, uint32_t v)
{
	uint8_t *f = w->fat;

	switch (w->g.type) {
	case 12: {
		uint32_t o = i + i / 2;

		if (i & 1) {
			f[o] = (f[o] & 0x0f) | (v << 4 & 0xf0);
			f[o + 1] = v >> 4;
		} else {
			f[o] = v;
			f[o + 1] = (f[o + 1] & 0xf0) | (v >> 8 & 0x0f);
		}
		break;
	}
	case 16:
		put16(f + i * 2, v);
		break;
	default:
		put32(f + i * 4, v & 0x0fffffff);
		break;
	}
}

static uint32_t fat_eoc(int type)
{
	return type == 12 ? 0xfff : type == 16 ? 0xffff : 0x0fffffff;
}

static int pwrite_all(struct writer *w, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(w->fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(&w->t->err, n < 0 ? -errno : -EIO, "writing the image: %s",
				       n < 0 ? strerror(errno) : "short write");
		p += n, len -= n, off += n;
	}
	return 0;
}

static int write_dir(struct writer *w, struct fat_node *dir)
{
	bool root = !dir->parent;
	size_t len = (size_t)dir->slots * DIRENT;
	uint8_t *buf, *e;
	uint64_t off;
	int ret;

	buf = calloc(1, len ? len : 1);
	if (!buf)
		return err_set(&w->t->err, -ENOMEM, "out of memory");
	e = buf;
	if (root && w->has_label) {
		dirent_fill(e, (const uint8_t *)w->label, ATTR_VOLUME, 0, 0, node_time(w, dir));
		e += DIRENT;
	}
	if (!root) {
		static const uint8_t dot[11] = ".          ", dotdot[11] = "..         ";
		uint32_t up = dir->parent->parent ? dir->parent->cluster : 0;

		dirent_fill(e, dot, ATTR_DIR, dir->cluster, 0, node_time(w, dir));
		dirent_fill(e + DIRENT, dotdot, ATTR_DIR, up, 0, node_time(w, dir->parent));
		e += 2 * DIRENT;
	}
	for (unsigned int i = 0; i < dir->nkids; i++) {
		struct fat_node *k = dir->kids[i];

		if (k->lfn) {
			unsigned int cnt = (k->llen + 12) / 13;
			uint8_t sum = fat_lfn_checksum(k->sname);

			for (unsigned int s = cnt; s >= 1; s--) {
				fat_lfn_entry(e, k->lname, k->llen, s, s == cnt, sum);
				e += DIRENT;
			}
		}
		dirent_fill(e, k->sname, k->is_dir ? ATTR_DIR : 0, k->cluster,
			    k->is_dir ? 0 : (uint32_t)k->size, node_time(w, k));
		e += DIRENT;
	}
	if (root && w->g.type != 32)
		off = (uint64_t)(w->g.reserved + 2 * w->g.fat_sectors) * SECTOR;
	else
		off = w->data_off + (uint64_t)(dir->cluster - 2) * w->cs;
	ret = pwrite_all(w, buf, len, off);
	free(buf);
	return ret;
}

/* Bytes [from, to) of a source file go to image offset base + from. */
struct copy_range {
	int in;
	const char *src;
	uint64_t base, from, to;
};

static int copy_short(struct writer *w, const struct copy_range *r, ssize_t n)
{
	return err_set(&w->t->err, n < 0 ? -errno : -EIO, "'%s': %s", r->src,
		       n < 0 ? strerror(errno) : "the file shrank while being copied");
}

static int copy_plain(struct writer *w, const struct copy_range *r)
{
	size_t bufsz = 1 << 20;
	uint8_t *buf = malloc(bufsz);
	uint64_t at = r->from;
	int ret = 0;

	if (!buf)
		return err_set(&w->t->err, -ENOMEM, "out of memory");
	while (at < r->to && !ret) {
		size_t want = r->to - at < bufsz ? r->to - at : bufsz;
		ssize_t n = pread(r->in, buf, want, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = copy_short(w, r, n);
		else
			ret = pwrite_all(w, buf, n, r->base + at);
		at += n > 0 ? n : 0;
	}
	free(buf);
	return ret;
}

/* One range, in the kernel where it can (copy_file_range), else by hand. */
static int copy_data(struct writer *w, const struct copy_range *r)
{
	loff_t in_off = r->from, out_off = r->base + r->from;

	while ((uint64_t)in_off < r->to) {
		size_t want = r->to - in_off > (1u << 30) ? (1u << 30) : r->to - in_off;
		ssize_t c = copy_file_range(r->in, &in_off, w->fd, &out_off, want, 0);

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EBADF))
			return copy_plain(w, r);
		if (c <= 0)
			return copy_short(w, r, c);
	}
	return 0;
}

/*
 * Copy a host file into the image. The image starts as zeros, so holes in
 * a sparse source (SEEK_DATA/SEEK_HOLE) are skipped and stay holes.
 */
static int copy_file(struct writer *w, const struct fat_node *n, uint64_t off)
{
	struct copy_range r = { .src = n->src, .base = off };
	struct stat st;
	int ret = 0;

	r.in = open(n->src, O_RDONLY | O_CLOEXEC);
	if (r.in < 0)
		return err_set(&w->t->err, -errno, "'%s': %s", n->src, strerror(errno));
	if (fstat(r.in, &st) || (uint64_t)st.st_size != n->size) {
		ret = err_set(&w->t->err, -EAGAIN,
			      "'%s': the file changed size while the image was built", n->src);
		goto out;
	}
	for (uint64_t at = 0; at < n->size && !ret;) {
		off_t data = lseek(r.in, at, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* a hole to the end */
		if (data < 0) {
			r.from = at, r.to = n->size; /* no SEEK_DATA here: copy it all */
			ret = copy_data(w, &r);
			break;
		}
		hole = lseek(r.in, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > n->size)
			hole = n->size;
		r.from = data, r.to = hole;
		ret = copy_data(w, &r);
		at = hole;
	}
out:
	close(r.in);
	return ret;
}

static int write_nodes(struct writer *w, struct fat_node *n)
{
	int ret = 0;

	if (n->nclusters) {
		for (uint32_t c = n->cluster; c < n->cluster + n->nclusters - 1; c++)
			fat_set(w, c, c + 1);
		fat_set(w, n->cluster + n->nclusters - 1, fat_eoc(w->g.type));
	}
	if (n->is_dir) {
		ret = write_dir(w, n);
		for (unsigned int i = 0; i < n->nkids && !ret; i++)
			ret = write_nodes(w, n->kids[i]);
		return ret;
	}
	if (!n->size)
		return 0;
	uint64_t off = w->data_off + (uint64_t)(n->cluster - 2) * w->cs;

	if (n->data)
		return pwrite_all(w, n->data, n->size, off);
	return copy_file(w, n, off);
}

static void boot_sector(const struct writer *w, uint8_t *b, uint32_t volume_id)
{
	const struct fat_geom *g = &w->g;
	bool f32 = g->type == 32;
	uint8_t *ext = b + (f32 ? 64 : 36);
	static const uint8_t stub[] = { 0xfa, 0xf4, 0xeb, 0xfd }; /* cli; hlt; jmp hlt */

	memset(b, 0, SECTOR);
	b[0] = 0xeb;
	b[1] = f32 ? 0x58 : 0x3c;
	b[2] = 0x90;
	memcpy(b + 3, "MSWIN4.1", 8);
	put16(b + 11, SECTOR);
	b[13] = g->spc;
	put16(b + 14, g->reserved);
	b[16] = 2;
	put16(b + 17, g->root_entries);
	if (!f32 && g->total_sectors < 0x10000)
		put16(b + 19, g->total_sectors);
	else
		put32(b + 32, g->total_sectors);
	b[21] = 0xf8;
	if (!f32)
		put16(b + 22, g->fat_sectors);
	put16(b + 24, 32); /* sectors per track, heads: unused on virtual disks */
	put16(b + 26, 64);
	if (f32) {
		put32(b + 36, g->fat_sectors);
		put32(b + 44, 2); /* root directory cluster */
		put16(b + 48, FAT32_FSINFO);
		put16(b + 50, FAT32_BACKUP);
	}
	ext[0] = 0x80; /* drive number */
	ext[2] = 0x29; /* extended boot signature: the next three fields are valid */
	put32(ext + 3, volume_id);
	memcpy(ext + 7, w->has_label ? w->label : "NO NAME    ", 11);
	memcpy(ext + 18, f32 ? "FAT32   " : g->type == 16 ? "FAT16   " : "FAT12   ", 8);
	memcpy(ext + 26, stub, sizeof(stub));
	b[510] = 0x55;
	b[511] = 0xaa;
}

static void fsinfo_sector(const struct writer *w, uint8_t *b)
{
	uint32_t free_cl = w->g.clusters - w->g.used_clusters;

	memset(b, 0, SECTOR);
	put32(b, 0x41615252);
	put32(b + 484, 0x61417272);
	put32(b + 488, free_cl);
	put32(b + 492, free_cl ? 2 + w->g.used_clusters : 0xffffffff);
	put32(b + 508, 0xaa550000);
}

static uint32_t hash_tree(uint32_t h, const struct writer *w, const struct fat_node *n)
{
	int64_t t = node_time(w, n);
	uint64_t sz = n->size;

	for (const char *c = n->name ? n->name : ""; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(t >> (8 * i))) * 16777619u;
	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(sz >> (8 * i))) * 16777619u;
	for (unsigned int i = 0; i < n->nkids; i++)
		h = hash_tree(h, w, n->kids[i]);
	return h;
}

static int label_prepare(struct writer *w, const char *label)
{
	size_t len;

	memset(w->label, ' ', sizeof(w->label));
	if (!label || !*label)
		return 0;
	len = strlen(label);
	if (len > 11)
		return err_set(&w->t->err, -EINVAL, "label '%s': at most 11 characters", label);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)label[i];

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (!fat_short_char_ok(c) && c != ' ')
			return err_set(&w->t->err, -EINVAL,
				       "label '%s': '%c' is not allowed (A-Z, 0-9, space and "
				       "$%%'-_@~`!(){}^#&)",
				       label, label[i]);
		w->label[i] = c;
	}
	w->has_label = true;
	return 0;
}

int fat_write(struct fat_tree *t, const struct fat_opts *o, const char *out, struct fat_geom *geom)
{
	struct writer w = { .t = t, .o = o, .fd = -1 };
	uint8_t sec[SECTOR];
	uint32_t next = 2, volume_id;
	size_t fat_bytes;
	int ret;

	if (o->fat_type && o->fat_type != 12 && o->fat_type != 16 && o->fat_type != 32)
		return err_set(&t->err, -EINVAL, "FAT type %d: use 12, 16 or 32", o->fat_type);
	if (o->size % SECTOR)
		return err_set(&t->err, -EINVAL, "image size %llu: not a multiple of 512 bytes",
			       (unsigned long long)o->size);
	ret = label_prepare(&w, o->label);
	if (ret)
		return ret;
	ret = fat_layout_dirs(t, t->root, true, w.has_label);
	if (ret)
		return ret;
	ret = fat_choose_geom(t, o, w.has_label, &w.g);
	if (ret)
		return ret;
	w.cs = w.g.spc * SECTOR;
	if (fat_alloc_clusters(t->root, w.cs, w.g.type == 32, w.g.clusters, &next))
		return err_set(&t->err, -ENOSPC, "internal error: the layout does not fit");
	w.g.used_clusters = next - 2;
	w.data_off =
		(uint64_t)(w.g.reserved + 2 * w.g.fat_sectors + fat_root_sectors(&w.g)) * SECTOR;
	volume_id = o->volume_id
			    ? o->volume_id
			    : hash_tree(2166136261u, &w, t->root) ^ (uint32_t)w.g.total_sectors;

	fat_bytes = (size_t)w.g.fat_sectors * SECTOR;
	w.fat = calloc(1, fat_bytes);
	if (!w.fat)
		return err_set(&t->err, -ENOMEM, "out of memory");
	w.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		ret = err_set(&t->err, -errno, "'%s': %s", out, strerror(errno));
		goto out;
	}
	if (ftruncate(w.fd, w.g.total_sectors * SECTOR)) {
		ret = err_set(&t->err, -errno, "'%s': %s", out, strerror(errno));
		goto fail_unlink;
	}
	fat_set(&w, 0, 0x0fffff00 | 0xf8);
	fat_set(&w, 1, fat_eoc(w.g.type));
	ret = write_nodes(&w, t->root);
	if (ret)
		goto fail_unlink;
	for (int i = 0; i < 2 && !ret; i++)
		ret = pwrite_all(&w, w.fat, fat_bytes,
				 (uint64_t)(w.g.reserved + i * w.g.fat_sectors) * SECTOR);
	boot_sector(&w, sec, volume_id);
	if (!ret)
		ret = pwrite_all(&w, sec, SECTOR, 0);
	if (!ret && w.g.type == 32) {
		ret = pwrite_all(&w, sec, SECTOR, FAT32_BACKUP * SECTOR);
		fsinfo_sector(&w, sec);
		if (!ret)
			ret = pwrite_all(&w, sec, SECTOR, FAT32_FSINFO * SECTOR);
		if (!ret)
			ret = pwrite_all(&w, sec, SECTOR, (FAT32_BACKUP + 1) * SECTOR);
	}
	if (ret)
		goto fail_unlink;
	if (close(w.fd)) {
		w.fd = -1;
		ret = err_set(&t->err, -errno, "'%s': %s", out, strerror(errno));
		goto fail_unlink;
	}
	w.fd = -1;
	if (geom)
		*geom = w.g;
	goto out;
fail_unlink:
	unlink(out);
out:
	if (w.fd >= 0)
		close(w.fd);
	free(w.fat);
	return ret;
}
