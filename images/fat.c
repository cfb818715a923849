// SPDX-License-Identifier: Apache-2.0
/*
 * FAT12/16/32 image writer: the in-memory tree (fat_add_*). See fat.h for
 * the model; fat_names.c, fat_geom.c and fat_write.c lay it out and write it
 * as Microsoft's FAT specification says (BPB, FAT, 32-byte directory
 * entries, VFAT long names, the FAT32 FSInfo sector and backup boot sector).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "images/fat_priv.h"

#define HOST_DEPTH_MAX 64

/* ---- the tree ---- */

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
const char *fat_node_path(const struct fat_node *n, char *buf, size_t len)
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
		return err_set(&t->err, -ENOMEM, "out of memory");
	comp = strtok_r(copy, "/", &save);
	if (!comp) {
		ret = err_set(&t->err, -EINVAL, "'%s': an empty path", path);
		goto out;
	}
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		bool last = next == NULL;
		struct fat_node *k;

		ret = fat_name_check(t, path, comp, u, &n);
		if (ret)
			goto out;
		k = kid_find(dir, u, n);
		if (k && (!last || want_dir) && k->is_dir) {
			dir = k;
		} else if (k) {
			ret = err_set(&t->err, -EEXIST,
				      "'%s': the name '%s' is taken (FAT names ignore case)", path,
				      comp);
			goto out;
		} else {
			k = kid_add(dir, comp, u, n, !last || want_dir, mtime);
			if (!k) {
				ret = err_set(&t->err, -ENOMEM, "out of memory");
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
		return err_set(&t->err, -errno, "'%s': %s", src, strerror(errno));
	if (dir && !S_ISDIR(st->st_mode))
		return err_set(&t->err, -ENOTDIR, "'%s': not a directory", src);
	if (!dir && !S_ISREG(st->st_mode))
		return err_set(&t->err, -EINVAL, "'%s': not a regular file", src);
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
		return err_set(
			&t->err, -EFBIG,
			"'%s': %llu bytes is more than a FAT file can hold (4 GiB - 1 = %llu)", src,
			(unsigned long long)st.st_size, FAT_MAX_FILE);
	ret = tree_place(t, path, false, mtime == FAT_MTIME_SOURCE ? st.st_mtime : mtime, &n);
	if (ret)
		return ret;
	n->size = st.st_size;
	n->src = strdup(src);
	if (!n->src)
		return err_set(&t->err, -ENOMEM, "out of memory");
	return 0;
}

int fat_add_data(struct fat_tree *t, const char *path, const void *data, size_t len, int64_t mtime)
{
	struct fat_node *n;
	int ret;

	if (len > FAT_MAX_FILE)
		return err_set(&t->err, -EFBIG, "'%s': %zu bytes is more than a FAT file can hold",
			       path, len);
	ret = tree_place(t, path, false, mtime, &n);
	if (ret)
		return ret;
	n->size = len;
	if (len) {
		n->data = malloc(len);
		if (!n->data)
			return err_set(&t->err, -ENOMEM, "out of memory");
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
		return err_set(&t->err, -ELOOP,
			       "'%s': directories nest deeper than %d (a link loop?)", src,
			       HOST_DEPTH_MAX);
	d = opendir(src);
	if (!d)
		return err_set(&t->err, -errno, "'%s': %s", src, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*nn));

			if (!nn) {
				ret = err_set(&t->err, -ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ret = err_set(&t->err, -ENOMEM, "out of memory");
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
			ret = err_set(&t->err, -ENOMEM, "out of memory");
			break;
		}
		if (stat(hpath, &st)) {
			ret = err_set(&t->err, -errno, "'%s': %s", hpath, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			ret = fat_add_dir(t, ipath, st.st_mtime);
			if (!ret)
				ret = host_walk(t, ipath, hpath, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			ret = fat_add_file(t, ipath, hpath, st.st_mtime);
		} else {
			ret = err_set(&t->err, -EINVAL, "'%s': not a regular file or directory",
				      hpath);
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
