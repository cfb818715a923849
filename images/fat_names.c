// SPDX-License-Identifier: Apache-2.0
/*
 * FAT names: UTF-8 to UTF-16, VFAT long-name entries, 8.3 short names and
 * the aliases of each directory's children.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/fat_priv.h"

#define ATTR_LFN      0x0f
#define LFN_LAST      0x40
#define MAX_DIR_SLOTS 65536u /* a directory is at most 2 MiB of entries */

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

bool fat_short_char_ok(int c)
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
	} else if (cp >= 0x80 || !fat_short_char_ok(cp)) {
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

/* Check one path component and convert it; fills lname/llen. */
int fat_name_check(struct fat_tree *t, const char *path, const char *name, uint16_t *u,
		   unsigned int *ulen)
{
	size_t len = strlen(name);
	int n;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(&t->err, -EINVAL, "'%s': '%s' is not a valid FAT name", path, name);
	for (const char *c = name; *c; c++) {
		if ((unsigned char)*c < 0x20 || strchr("\"*:<>?\\|", *c))
			return err_set(&t->err, -EINVAL,
				       "'%s': FAT names cannot hold the character %s%c%s", path,
				       (unsigned char)*c < 0x20 ? "0x" : "'",
				       (unsigned char)*c < 0x20 ? '?' : *c,
				       (unsigned char)*c < 0x20 ? "" : "'");
	}
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return err_set(&t->err, -EINVAL,
			       "'%s': a FAT name cannot end with a dot or a space", path);
	n = fat_utf8_to_utf16(name, u, FAT_LFN_MAX);
	if (n == -EINVAL)
		return err_set(&t->err, n, "'%s': the name is not valid UTF-8", path);
	if (n < 0)
		return err_set(&t->err, n, "'%s': the name is longer than %d UTF-16 units", path,
			       FAT_LFN_MAX);
	*ulen = n;
	return 0;
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
		ret = err_set(&t->err, -ENOMEM, "out of memory");
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
				ret = err_set(&t->err, -EEXIST, "'%s': no free 8.3 alias left",
					      fat_node_path(k, pbuf, sizeof(pbuf)));
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
int fat_layout_dirs(struct fat_tree *t, struct fat_node *dir, bool is_root, bool label)
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
		return err_set(&t->err, -E2BIG,
			       "'%s': the directory needs %llu entries, more than FAT allows (%u)",
			       fat_node_path(dir, pbuf, sizeof(pbuf)), (unsigned long long)slots,
			       MAX_DIR_SLOTS);
	dir->slots = slots;
	ret = short_aliases(t, dir);
	for (unsigned int i = 0; i < dir->nkids && !ret; i++) {
		if (dir->kids[i]->is_dir)
			ret = fat_layout_dirs(t, dir->kids[i], false, false);
	}
	return ret;
}
