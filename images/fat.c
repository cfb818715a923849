// SPDX-License-Identifier: Apache-2.0
/*
 * FAT12/16/32 image writer. See fat.h for the model; the on-disk format is
 * Microsoft's FAT specification (BPB, FAT, 32-byte directory entries, VFAT
 * long names, the FAT32 FSInfo sector and backup boot sector).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "images/fat.h"

#define SECTOR	       512u
#define DIRENT	       32u
#define ATTR_DIR       0x10
#define ATTR_VOLUME    0x08
#define ATTR_LFN       0x0f
#define LFN_LAST       0x40
#define MAX_DIR_SLOTS  65536u /* a directory is at most 2 MiB of entries */
#define MAX_SPC	       64u    /* 32 KiB clusters: larger ones are poorly supported */
#define HOST_DEPTH_MAX 64
#define FAT32_RESERVED 32u
#define FAT32_FSINFO   1u
#define FAT32_BACKUP   6u

struct fat_node {
	char *name;	 /* UTF-8, as given */
	uint16_t *lname; /* UTF-16 long name */
	unsigned int llen;
	uint8_t sname[11]; /* 8.3 alias, set at layout */
	bool lfn;	   /* needs long-name entries */
	bool lossy;	   /* the 8.3 basis lost information: a ~N tail is needed */
	bool is_dir;
	int64_t mtime;
	uint64_t size;
	char *src;  /* host file to copy from, or NULL */
	void *data; /* bytes to write, or NULL */
	struct fat_node *parent;
	struct fat_node **kids;
	unsigned int nkids, kcap;
	struct fat_node **idx; /* the kids by folded long name, open addressing */
	unsigned int icap;
	uint32_t slots;	  /* directories: 32-byte entries needed */
	uint32_t cluster; /* first cluster, 0 when none */
	uint32_t nclusters;
};

int fat_fail(struct fat_tree *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* ---- names ---- */

uint8_t fat_lfn_checksum(const uint8_t sname[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = ((sum & 1) << 7) + (sum >> 1) + sname[i];
	return sum;
}

/* Decode one UTF-8 sequence at *s; -1 when malformed (overlong, surrogate,
 * beyond U+10FFFF, truncated). */
static int32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp, min;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f, n = 1, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f, n = 2, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07, n = 3, min = 0x10000;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*s = p + n + 1;
	return cp;
}

int fat_utf8_to_utf16(const char *s, uint16_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		int32_t cp = utf8_next(&p);

		if (cp < 0)
			return -EINVAL;
		if (cp >= 0x10000) {
			if (n + 2 > max)
				return -ENAMETOOLONG;
			cp -= 0x10000;
			out[n++] = 0xd800 | (cp >> 10);
			out[n++] = 0xdc00 | (cp & 0x3ff);
		} else {
			if (n + 1 > max)
				return -ENAMETOOLONG;
			out[n++] = cp;
		}
	}
	return n;
}

void fat_lfn_entry(uint8_t e[32], const uint16_t *name, unsigned int n, unsigned int seq, bool last,
		   uint8_t checksum)
{
	static const uint8_t off[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	unsigned int base = (seq - 1) * 13;

	memset(e, 0, DIRENT);
	e[0] = seq | (last ? LFN_LAST : 0);
	e[11] = ATTR_LFN;
	e[13] = checksum;
	for (unsigned int j = 0; j < 13; j++) {
		unsigned int i = base + j;
		uint16_t u = i < n ? name[i] : i == n ? 0x0000 : 0xffff;

		put16(e + off[j], u);
	}
}

static bool short_char_ok(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("$%'-_@~`!(){}^#&", c);
}

/* Append one code point of a base or extension to the 8.3 basis. */
static void short_put(uint8_t *dst, unsigned int *len, unsigned int max, int32_t cp, bool *lossy,
		      bool *lfn)
{
	if (cp == ' ' || cp == '.') {
		*lossy = true;
		return;
	}
	if (cp >= 'a' && cp <= 'z') {
		cp -= 'a' - 'A';
		*lfn = true;
	} else if (cp >= 0x80 || !short_char_ok(cp)) {
		cp = '_';
		*lossy = true;
	}
	if (*len == max) {
		*lossy = true;
		return;
	}
	dst[(*len)++] = cp;
}

void fat_short_basis(const char *name, uint8_t sname[11], bool *lossy, bool *lfn)
{
	const unsigned char *p = (const unsigned char *)name, *dot = NULL, *q;
	unsigned int bl = 0, el = 0;

	*lossy = false;
	*lfn = false;
	memset(sname, ' ', 11);
	while (*p == '.' || *p == ' ') {
		p++;
		*lossy = true;
	}
	for (q = p; *q; q++) {
		if (*q == '.')
			dot = q;
	}
	for (q = p; *q && q != dot;) {
		int32_t cp = utf8_next(&q);

		if (cp < 0)
			break;
		short_put(sname, &bl, 8, cp, lossy, lfn);
	}
	if (dot) {
		for (q = dot + 1; *q;) {
			int32_t cp = utf8_next(&q);

			if (cp < 0)
				break;
			short_put(sname + 8, &el, 3, cp, lossy, lfn);
		}
	}
	if (bl == 0) {
		sname[0] = '_';
		*lossy = true;
	}
	if (*lossy)
		*lfn = true;
}

void fat_short_tail(uint8_t sname[11], unsigned int n)
{
	char tail[12];
	int tl = snprintf(tail, sizeof(tail), "~%u", n);
	int bl = 0;

	while (bl < 8 && sname[bl] != ' ')
		bl++;
	if (bl > 8 - tl)
		bl = 8 - tl;
	memcpy(sname + bl, tail, tl);
}

static uint16_t fold(uint16_t c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

/* Long names compare case-insensitively (ASCII folding, as FAT does for
 * short names; other scripts compare exactly). */
static bool lname_equal(const struct fat_node *a, const uint16_t *b, unsigned int bn)
{
	if (a->llen != bn)
		return false;
	for (unsigned int i = 0; i < bn; i++) {
		if (fold(a->lname[i]) != fold(b[i]))
			return false;
	}
	return true;
}

/* The image path of a node, for messages. */
static const char *node_path(const struct fat_node *n, char *buf, size_t len)
{
	const struct fat_node *chain[256];
	int depth = 0;
	size_t at = 0;

	for (; n && n->parent && depth < 256; n = n->parent)
		chain[depth++] = n;
	buf[0] = '\0';
	if (depth == 0)
		snprintf(buf, len, "/");
	while (depth-- > 0 && at < len) {
		int w = snprintf(buf + at, len - at, "/%s", chain[depth]->name);

		at += w > 0 ? (size_t)w : 0;
	}
	return buf;
}

/* ---- the tree ---- */

static void node_free(struct fat_node *n)
{
	if (!n)
		return;
	for (unsigned int i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->idx);
	free(n->name);
	free(n->lname);
	free(n->src);
	free(n->data);
	free(n);
}

int fat_tree_init(struct fat_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->root = calloc(1, sizeof(*t->root));
	if (!t->root)
		return -ENOMEM;
	t->root->is_dir = true;
	t->root->mtime = FAT_TIME_MIN;
	return 0;
}

void fat_tree_free(struct fat_tree *t)
{
	node_free(t->root);
	t->root = NULL;
}

/* Check one path component and convert it; fills lname/llen. */
static int name_check(struct fat_tree *t, const char *path, const char *name, uint16_t *u,
		      unsigned int *ulen)
{
	size_t len = strlen(name);
	int n;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return fat_fail(t, -EINVAL, "'%s': '%s' is not a valid FAT name", path, name);
	for (const char *c = name; *c; c++) {
		if ((unsigned char)*c < 0x20 || strchr("\"*:<>?\\|", *c))
			return fat_fail(t, -EINVAL,
					"'%s': FAT names cannot hold the character %s%c%s", path,
					(unsigned char)*c < 0x20 ? "0x" : "'",
					(unsigned char)*c < 0x20 ? '?' : *c,
					(unsigned char)*c < 0x20 ? "" : "'");
	}
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return fat_fail(t, -EINVAL, "'%s': a FAT name cannot end with a dot or a space",
				path);
	n = fat_utf8_to_utf16(name, u, FAT_LFN_MAX);
	if (n == -EINVAL)
		return fat_fail(t, n, "'%s': the name is not valid UTF-8", path);
	if (n < 0)
		return fat_fail(t, n, "'%s': the name is longer than %d UTF-16 units", path,
				FAT_LFN_MAX);
	*ulen = n;
	return 0;
}

static uint32_t lname_hash(const uint16_t *u, unsigned int n)
{
	uint32_t h = 2166136261u;

	for (unsigned int i = 0; i < n; i++)
		h = (h ^ fold(u[i])) * 16777619u;
	return h;
}

static struct fat_node *kid_find(struct fat_node *dir, const uint16_t *u, unsigned int n)
{
	if (!dir->icap)
		return NULL;
	for (uint32_t i = lname_hash(u, n) & (dir->icap - 1); dir->idx[i];
	     i = (i + 1) & (dir->icap - 1)) {
		if (lname_equal(dir->idx[i], u, n))
			return dir->idx[i];
	}
	return NULL;
}

static void idx_put(struct fat_node **idx, unsigned int cap, struct fat_node *k)
{
	uint32_t i = lname_hash(k->lname, k->llen) & (cap - 1);

	while (idx[i])
		i = (i + 1) & (cap - 1);
	idx[i] = k;
}

/* Add k to the name index, growing it to keep it at most half full. */
static int idx_add(struct fat_node *dir, struct fat_node *k)
{
	if ((dir->nkids + 1) * 2 > dir->icap) {
		unsigned int cap = dir->icap ? dir->icap * 2 : 16;
		struct fat_node **idx = calloc(cap, sizeof(*idx));

		if (!idx)
			return -ENOMEM;
		for (unsigned int i = 0; i < dir->nkids; i++)
			idx_put(idx, cap, dir->kids[i]);
		free(dir->idx);
		dir->idx = idx;
		dir->icap = cap;
	}
	idx_put(dir->idx, dir->icap, k);
	return 0;
}

static struct fat_node *kid_add(struct fat_node *dir, const char *name, const uint16_t *u,
				unsigned int n, bool is_dir, int64_t mtime)
{
	struct fat_node *k;

	if (dir->nkids == dir->kcap) {
		unsigned int cap = dir->kcap ? dir->kcap * 2 : 8;
		struct fat_node **kids = realloc(dir->kids, cap * sizeof(*kids));

		if (!kids)
			return NULL;
		dir->kids = kids;
		dir->kcap = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->name = strdup(name);
	k->lname = malloc(n * sizeof(uint16_t) + 1);
	if (!k->name || !k->lname) {
		node_free(k);
		return NULL;
	}
	memcpy(k->lname, u, n * sizeof(uint16_t));
	k->llen = n;
	k->is_dir = is_dir;
	k->mtime = mtime;
	k->parent = dir;
	if (idx_add(dir, k)) {
		node_free(k);
		return NULL;
	}
	dir->kids[dir->nkids++] = k;
	return k;
}

/*
 * Walk path, creating missing directories; the last component is created as
 * a file or directory. *out gets the new node (or an existing directory when
 * want_dir and it already exists).
 */
static int tree_place(struct fat_tree *t, const char *path, bool want_dir, int64_t mtime,
		      struct fat_node **out)
{
	struct fat_node *dir = t->root;
	uint16_t u[FAT_LFN_MAX];
	char *copy, *comp, *save = NULL;
	unsigned int n = 0;
	int ret = 0;

	copy = strdup(path);
	if (!copy)
		return fat_fail(t, -ENOMEM, "out of memory");
	comp = strtok_r(copy, "/", &save);
	if (!comp) {
		ret = fat_fail(t, -EINVAL, "'%s': an empty path", path);
		goto out;
	}
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		bool last = next == NULL;
		struct fat_node *k;

		ret = name_check(t, path, comp, u, &n);
		if (ret)
			goto out;
		k = kid_find(dir, u, n);
		if (k && (!last || want_dir) && k->is_dir) {
			dir = k;
		} else if (k) {
			ret = fat_fail(t, -EEXIST,
				       "'%s': the name '%s' is taken (FAT names ignore case)", path,
				       comp);
			goto out;
		} else {
			k = kid_add(dir, comp, u, n, !last || want_dir, mtime);
			if (!k) {
				ret = fat_fail(t, -ENOMEM, "out of memory");
				goto out;
			}
			t->nodes++;
			dir = k;
		}
		comp = next;
	}
	*out = dir;
out:
	free(copy);
	return ret;
}

int fat_add_dir(struct fat_tree *t, const char *path, int64_t mtime)
{
	struct fat_node *n;

	return tree_place(t, path, true, mtime, &n);
}

/* stat a host source that must be a directory (dir) or a regular file. */
static int stat_src(struct fat_tree *t, const char *src, bool dir, struct stat *st)
{
	if (stat(src, st))
		return fat_fail(t, -errno, "'%s': %s", src, strerror(errno));
	if (dir && !S_ISDIR(st->st_mode))
		return fat_fail(t, -ENOTDIR, "'%s': not a directory", src);
	if (!dir && !S_ISREG(st->st_mode))
		return fat_fail(t, -EINVAL, "'%s': not a regular file", src);
	return 0;
}

int fat_add_file(struct fat_tree *t, const char *path, const char *src, int64_t mtime)
{
	struct fat_node *n;
	struct stat st;
	int ret;

	ret = stat_src(t, src, false, &st);
	if (ret)
		return ret;
	if ((uint64_t)st.st_size > FAT_MAX_FILE)
		return fat_fail(
			t, -EFBIG,
			"'%s': %llu bytes is more than a FAT file can hold (4 GiB - 1 = %llu)", src,
			(unsigned long long)st.st_size, FAT_MAX_FILE);
	ret = tree_place(t, path, false, mtime == FAT_MTIME_SOURCE ? st.st_mtime : mtime, &n);
	if (ret)
		return ret;
	n->size = st.st_size;
	n->src = strdup(src);
	if (!n->src)
		return fat_fail(t, -ENOMEM, "out of memory");
	return 0;
}

int fat_add_data(struct fat_tree *t, const char *path, const void *data, size_t len, int64_t mtime)
{
	struct fat_node *n;
	int ret;

	if (len > FAT_MAX_FILE)
		return fat_fail(t, -EFBIG, "'%s': %zu bytes is more than a FAT file can hold", path,
				len);
	ret = tree_place(t, path, false, mtime, &n);
	if (ret)
		return ret;
	n->size = len;
	if (len) {
		n->data = malloc(len);
		if (!n->data)
			return fat_fail(t, -ENOMEM, "out of memory");
		memcpy(n->data, data, len);
	}
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int host_walk(struct fat_tree *t, const char *path, const char *src, int depth)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;
	DIR *d;

	if (depth > HOST_DEPTH_MAX)
		return fat_fail(t, -ELOOP, "'%s': directories nest deeper than %d (a link loop?)",
				src, HOST_DEPTH_MAX);
	d = opendir(src);
	if (!d)
		return fat_fail(t, -errno, "'%s': %s", src, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*nn));

			if (!nn) {
				ret = fat_fail(t, -ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ret = fat_fail(t, -ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	/* Sorted, so that a name clash is reported the same way every time. */
	if (n)
		qsort(names, n, sizeof(*names), names_cmp);
	for (size_t i = 0; i < n && !ret; i++) {
		char *hpath = NULL, *ipath = NULL;
		struct stat st;

		if (asprintf(&hpath, "%s/%s", src, names[i]) < 0 ||
		    asprintf(&ipath, "%s%s%s", path, *path ? "/" : "", names[i]) < 0) {
			free(hpath);
			ret = fat_fail(t, -ENOMEM, "out of memory");
			break;
		}
		if (stat(hpath, &st)) {
			ret = fat_fail(t, -errno, "'%s': %s", hpath, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			ret = fat_add_dir(t, ipath, st.st_mtime);
			if (!ret)
				ret = host_walk(t, ipath, hpath, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			ret = fat_add_file(t, ipath, hpath, st.st_mtime);
		} else {
			ret = fat_fail(t, -EINVAL, "'%s': not a regular file or directory", hpath);
		}
		free(hpath);
		free(ipath);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

int fat_add_host_tree(struct fat_tree *t, const char *path, const char *src)
{
	struct stat st;
	int ret;

	ret = stat_src(t, src, true, &st);
	if (ret)
		return ret;
	if (*path) {
		ret = fat_add_dir(t, path, st.st_mtime);
		if (ret)
			return ret;
	} else {
		t->root->mtime = st.st_mtime;
	}
	return host_walk(t, path, src, 0);
}

/* ---- short names, per directory ---- */

/* 11-byte names, each with a number (for bases: the next tail to try). */
struct sname_set {
	uint8_t (*slot)[11];
	uint32_t *val;
	bool *used;
	size_t mask;
};

static int sname_set_init(struct sname_set *set, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2 + 2)
		cap *= 2;
	set->slot = calloc(cap, 11);
	set->val = calloc(cap, sizeof(uint32_t));
	set->used = calloc(cap, sizeof(bool));
	set->mask = cap - 1;
	return set->slot && set->val && set->used ? 0 : -ENOMEM;
}

static void sname_set_free(struct sname_set *set)
{
	free(set->slot);
	free(set->val);
	free(set->used);
}

/* The slot of s, which is inserted when absent (*added then true). */
static size_t sname_slot(struct sname_set *set, const uint8_t s[11], bool *added)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (int j = 0; j < 11; j++)
		h = (h ^ s[j]) * 16777619u;
	for (i = h & set->mask; set->used[i]; i = (i + 1) & set->mask) {
		if (!memcmp(set->slot[i], s, 11)) {
			*added = false;
			return i;
		}
	}
	set->used[i] = true;
	memcpy(set->slot[i], s, 11);
	*added = true;
	return i;
}

static bool sname_insert(struct sname_set *set, const uint8_t s[11])
{
	bool added;

	sname_slot(set, s, &added);
	return added;
}

static int sort_kids(const void *a, const void *b)
{
	return strcmp((*(struct fat_node *const *)a)->name, (*(struct fat_node *const *)b)->name);
}

/* Sort the children and compute each one's 8.3 basis (which decides
 * whether it needs long-name entries). */
static void short_bases(struct fat_node *dir)
{
	if (!dir->nkids)
		return;
	qsort(dir->kids, dir->nkids, sizeof(*dir->kids), sort_kids);
	for (unsigned int i = 0; i < dir->nkids; i++) {
		struct fat_node *k = dir->kids[i];

		fat_short_basis(k->name, k->sname, &k->lossy, &k->lfn);
	}
}

/*
 * Give each child its 8.3 alias: names that are already plain 8.3 keep
 * theirs; the others get their basis, with a "~N" tail when the basis lost
 * information or is taken. Each basis remembers the next N to try, so a
 * thousand similar names cost a thousand tries, not half a million.
 */
static int short_aliases(struct fat_tree *t, struct fat_node *dir)
{
	struct sname_set names, bases;
	char pbuf[1024];
	int ret = 0;

	if (!dir->nkids)
		return 0;
	if (sname_set_init(&names, dir->nkids) || sname_set_init(&bases, dir->nkids)) {
		ret = fat_fail(t, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < dir->nkids; i++) {
		if (!dir->kids[i]->lfn) /* unique: names differ beyond case */
			sname_insert(&names, dir->kids[i]->sname);
	}
	for (unsigned int i = 0; i < dir->nkids; i++) {
		struct fat_node *k = dir->kids[i];
		uint8_t basis[11];
		size_t b;
		bool added;
		uint32_t n;

		if (!k->lfn || (!k->lossy && sname_insert(&names, k->sname)))
			continue;
		memcpy(basis, k->sname, 11);
		b = sname_slot(&bases, basis, &added);
		for (n = added ? 1 : bases.val[b];; n++) {
			if (n > 999999) {
				ret = fat_fail(t, -EEXIST, "'%s': no free 8.3 alias left",
					       node_path(k, pbuf, sizeof(pbuf)));
				goto out;
			}
			memcpy(k->sname, basis, 11);
			fat_short_tail(k->sname, n);
			if (sname_insert(&names, k->sname))
				break;
		}
		bases.val[b] = n + 1;
	}
out:
	sname_set_free(&names);
	sname_set_free(&bases);
	return ret;
}

/* Slots, short names and sizes of every directory, depth first. */
static int layout_dirs(struct fat_tree *t, struct fat_node *dir, bool is_root, bool label)
{
	char pbuf[1024];
	uint64_t slots = is_root ? (label ? 1 : 0) : 2;
	int ret;

	short_bases(dir);
	for (unsigned int i = 0; i < dir->nkids; i++) {
		struct fat_node *k = dir->kids[i];

		slots += 1 + (k->lfn ? (k->llen + 12) / 13 : 0);
	}
	if (slots > MAX_DIR_SLOTS)
		return fat_fail(t, -E2BIG,
				"'%s': the directory needs %llu entries, more than FAT allows (%u)",
				node_path(dir, pbuf, sizeof(pbuf)), (unsigned long long)slots,
				MAX_DIR_SLOTS);
	dir->slots = slots;
	ret = short_aliases(t, dir);
	for (unsigned int i = 0; i < dir->nkids && !ret; i++) {
		if (dir->kids[i]->is_dir)
			ret = layout_dirs(t, dir->kids[i], false, false);
	}
	return ret;
}

/* ---- geometry ---- */

static void type_range(int type, uint32_t *min, uint32_t *max)
{
	/* Kept clear of the exact type boundaries (4085, 65525 clusters),
	 * which some implementations get wrong by a few. */
	switch (type) {
	case 12:
		*min = 1, *max = 4080;
		break;
	case 16:
		*min = 4096, *max = 65520;
		break;
	default:
		*min = 65536, *max = 0x0ffffff0;
		break;
	}
}

static uint32_t fat_sectors_for(int type, uint64_t clusters)
{
	uint64_t entries = clusters + 2;
	uint64_t bytes = type == 12 ? (entries * 3 + 1) / 2 : entries * (type / 8);

	return (bytes + SECTOR - 1) / SECTOR;
}

static void geom_base(struct fat_geom *g, int type, uint32_t spc)
{
	memset(g, 0, sizeof(*g));
	g->type = type;
	g->spc = spc;
	g->reserved = type == 32 ? FAT32_RESERVED : 1;
	g->root_entries = type == 32 ? 0 : FAT_ROOT_ENTRIES;
}

static uint32_t root_sectors(const struct fat_geom *g)
{
	return g->root_entries * DIRENT / SECTOR;
}

static int geom_check(struct fat_geom *g)
{
	uint32_t min, max;

	type_range(g->type, &min, &max);
	if (g->clusters < min || g->clusters > max || g->total_sectors > 0xffffffffull)
		return -EINVAL;
	return 0;
}

/* Pad the reserved area so that the data area starts on a cluster boundary
 * (as mkfs.fat does): a cluster is then never split across host blocks. */
static void geom_align(struct fat_geom *g)
{
	uint32_t start = g->reserved + 2 * g->fat_sectors + root_sectors(g);

	g->reserved += (g->spc - start % g->spc) % g->spc;
}

int fat_geom_from_clusters(struct fat_geom *g, int type, uint32_t spc, uint32_t clusters)
{
	geom_base(g, type, spc);
	g->clusters = clusters;
	g->fat_sectors = fat_sectors_for(type, clusters);
	geom_align(g);
	g->total_sectors =
		g->reserved + 2ull * g->fat_sectors + root_sectors(g) + (uint64_t)clusters * spc;
	return geom_check(g);
}

int fat_geom_from_total(struct fat_geom *g, int type, uint32_t spc, uint64_t total)
{
	uint64_t meta, upper, fs;

	geom_base(g, type, spc);
	g->total_sectors = total;
	meta = g->reserved + root_sectors(g);
	if (total <= meta)
		return -EINVAL;
	/* Size the FAT for every cluster the space could hold; the clusters
	 * left after the FATs are then covered with a little to spare. */
	upper = (total - meta) / spc;
	fs = fat_sectors_for(type, upper);
	g->fat_sectors = fs;
	geom_align(g);
	meta = g->reserved + root_sectors(g);
	if (total <= meta + 2 * fs)
		return -EINVAL;
	g->clusters = (total - meta - 2 * fs) / spc > 0xffffffffull
			      ? 0xffffffff
			      : (uint32_t)((total - meta - 2 * fs) / spc);
	return geom_check(g);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Clusters of cs bytes one node takes (not counting its children). The
 * FAT12/16 root lives outside the data area. */
static uint64_t node_clusters(const struct fat_node *n, uint32_t cs, bool fat32_root)
{
	if (!n->is_dir)
		return div_up(n->size, cs);
	if (!n->parent && !fat32_root)
		return 0;
	return div_up((uint64_t)(n->slots ? n->slots : 1) * DIRENT, cs);
}

/* Clusters the tree needs with clusters of cs bytes. */
static uint64_t clusters_needed(const struct fat_node *n, uint32_t cs, bool fat32_root)
{
	uint64_t c = node_clusters(n, cs, fat32_root);

	for (unsigned int i = 0; n->is_dir && i < n->nkids; i++)
		c += clusters_needed(n->kids[i], cs, false);
	return c;
}

static uint64_t bytes_needed(const struct fat_node *n)
{
	uint64_t b = 0;

	if (!n->is_dir)
		return n->size;
	for (unsigned int i = 0; i < n->nkids; i++)
		b += bytes_needed(n->kids[i]);
	return b + (uint64_t)n->slots * DIRENT;
}

/* Walk in allocation order, give each node its clusters. Returns the first
 * node that does not fit in `clusters`, or NULL. */
static struct fat_node *alloc_clusters(struct fat_node *n, uint32_t cs, bool fat32_root,
				       uint32_t clusters, uint32_t *next)
{
	uint64_t need = node_clusters(n, cs, fat32_root);

	n->nclusters = need;
	n->cluster = need ? *next : 0;
	if ((uint64_t)*next - 2 + need > clusters)
		return n;
	*next += need;
	for (unsigned int i = 0; n->is_dir && i < n->nkids; i++) {
		struct fat_node *bad = alloc_clusters(n->kids[i], cs, false, clusters, next);

		if (bad)
			return bad;
	}
	return NULL;
}

/* Root slots beyond a FAT12/16 fixed root: the first child that overflows. */
static struct fat_node *root_overflow(const struct fat_node *root, bool label)
{
	uint32_t slots = label ? 1 : 0;

	for (unsigned int i = 0; i < root->nkids; i++) {
		const struct fat_node *k = root->kids[i];

		slots += 1 + (k->lfn ? (k->llen + 12) / 13 : 0);
		if (slots > FAT_ROOT_ENTRIES)
			return root->kids[i];
	}
	return NULL;
}

static const char *type_name(int type)
{
	return type == 12 ? "FAT12" : type == 16 ? "FAT16" : "FAT32";
}

/* Whether a size that fits no geometry of the type is below its range. */
static bool first_small(int type, uint64_t total)
{
	struct fat_geom g;
	uint32_t min, max;

	type_range(type ? type : 12, &min, &max);
	return fat_geom_from_clusters(&g, type ? type : 12, 1, min) || g.total_sectors > total;
}

static int choose_geom(struct fat_tree *t, const struct fat_opts *o, bool label,
		       struct fat_geom *out)
{
	static const int all[] = { 12, 16, 32 };
	const int *types = o->fat_type ? &o->fat_type : all;
	int ntypes = o->fat_type ? 1 : 3;
	struct fat_node *over = root_overflow(t->root, label);
	bool found = false;
	char pbuf[1024];
	struct fat_geom g;

	if (over && o->fat_type && o->fat_type != 32)
		return fat_fail(t, -E2BIG,
				"'%s': the %s root directory is full (%u entries; long names take "
				"several): use FAT32 or a subdirectory",
				node_path(over, pbuf, sizeof(pbuf)), type_name(o->fat_type),
				FAT_ROOT_ENTRIES);

	if (!o->size) {
		/* The smallest image over every type and cluster size. */
		for (int i = 0; i < ntypes; i++) {
			uint32_t min, max;

			if (types[i] != 32 && over)
				continue;
			type_range(types[i], &min, &max);
			for (uint32_t spc = 1; spc <= MAX_SPC; spc *= 2) {
				uint64_t need =
					clusters_needed(t->root, spc * SECTOR, types[i] == 32);

				if (need > max)
					continue;
				if (fat_geom_from_clusters(&g, types[i], spc,
							   need < min ? min : need))
					continue;
				if (!found || g.total_sectors < out->total_sectors)
					*out = g;
				found = true;
			}
		}
		if (!found)
			return fat_fail(t, -EFBIG,
					"the files need %llu bytes, more than %s can hold",
					(unsigned long long)bytes_needed(t->root),
					o->fat_type ? type_name(o->fat_type) : "FAT");
		if (out->total_sectors * SECTOR >= FAT_MIN_IMAGE)
			return 0;
	}

	/* A given size (or the 1 MiB minimum): the smallest clusters that fit,
	 * but no more than 4M clusters, to keep the FATs small. */
	uint64_t total = o->size ? o->size / SECTOR : FAT_MIN_IMAGE / SECTOR;
	uint32_t spc_min = 1;
	struct fat_geom first = { 0 };

	while (spc_min < MAX_SPC && total / spc_min > (4u << 20))
		spc_min *= 2;
	for (uint32_t spc = spc_min; spc <= MAX_SPC; spc *= 2) {
		for (int i = 0; i < ntypes; i++) {
			if (types[i] != 32 && over)
				continue;
			if (fat_geom_from_total(&g, types[i], spc, total))
				continue;
			if (!first.type)
				first = g;
			if (clusters_needed(t->root, spc * SECTOR, types[i] == 32) <= g.clusters) {
				*out = g;
				return 0;
			}
		}
	}
	if (!first.type)
		return fat_fail(t, -EINVAL, "a %s file system cannot be %llu bytes (too %s)",
				o->fat_type ? type_name(o->fat_type) : "FAT",
				(unsigned long long)total * SECTOR,
				first_small(o->fat_type, total) ? "small" : "large");
	uint32_t next = 2;
	struct fat_node *bad = alloc_clusters(t->root, first.spc * SECTOR, first.type == 32,
					      first.clusters, &next);

	return fat_fail(t, -ENOSPC,
			"%llu bytes is too small: '%s' does not fit (%s, %u clusters of %u bytes; "
			"the files need %llu bytes)",
			(unsigned long long)total * SECTOR,
			bad ? node_path(bad, pbuf, sizeof(pbuf)) : "?", type_name(first.type),
			first.clusters, first.spc * SECTOR,
			(unsigned long long)bytes_needed(t->root));
}

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
			return fat_fail(w->t, n < 0 ? -errno : -EIO, "writing the image: %s",
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
		return fat_fail(w->t, -ENOMEM, "out of memory");
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
	return fat_fail(w->t, n < 0 ? -errno : -EIO, "'%s': %s", r->src,
			n < 0 ? strerror(errno) : "the file shrank while being copied");
}

static int copy_plain(struct writer *w, const struct copy_range *r)
{
	size_t bufsz = 1 << 20;
	uint8_t *buf = malloc(bufsz);
	uint64_t at = r->from;
	int ret = 0;

	if (!buf)
		return fat_fail(w->t, -ENOMEM, "out of memory");
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
		return fat_fail(w->t, -errno, "'%s': %s", n->src, strerror(errno));
	if (fstat(r.in, &st) || (uint64_t)st.st_size != n->size) {
		ret = fat_fail(w->t, -EAGAIN,
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
		return fat_fail(w->t, -EINVAL, "label '%s': at most 11 characters", label);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)label[i];

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (!short_char_ok(c) && c != ' ')
			return fat_fail(w->t, -EINVAL,
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
		return fat_fail(t, -EINVAL, "FAT type %d: use 12, 16 or 32", o->fat_type);
	if (o->size % SECTOR)
		return fat_fail(t, -EINVAL, "image size %llu: not a multiple of 512 bytes",
				(unsigned long long)o->size);
	ret = label_prepare(&w, o->label);
	if (ret)
		return ret;
	ret = layout_dirs(t, t->root, true, w.has_label);
	if (ret)
		return ret;
	ret = choose_geom(t, o, w.has_label, &w.g);
	if (ret)
		return ret;
	w.cs = w.g.spc * SECTOR;
	if (alloc_clusters(t->root, w.cs, w.g.type == 32, w.g.clusters, &next))
		return fat_fail(t, -ENOSPC, "internal error: the layout does not fit");
	w.g.used_clusters = next - 2;
	w.data_off = (uint64_t)(w.g.reserved + 2 * w.g.fat_sectors + root_sectors(&w.g)) * SECTOR;
	volume_id = o->volume_id
			    ? o->volume_id
			    : hash_tree(2166136261u, &w, t->root) ^ (uint32_t)w.g.total_sectors;

	fat_bytes = (size_t)w.g.fat_sectors * SECTOR;
	w.fat = calloc(1, fat_bytes);
	if (!w.fat)
		return fat_fail(t, -ENOMEM, "out of memory");
	w.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		ret = fat_fail(t, -errno, "'%s': %s", out, strerror(errno));
		goto out;
	}
	if (ftruncate(w.fd, w.g.total_sectors * SECTOR)) {
		ret = fat_fail(t, -errno, "'%s': %s", out, strerror(errno));
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
		ret = fat_fail(t, -errno, "'%s': %s", out, strerror(errno));
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
