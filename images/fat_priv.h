/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the pieces of the FAT writer share, and nothing outside them uses:
 * the tree's node, the byte helpers, and the steps fat_write() calls.
 *   fat.c        the tree: fat_add_*, the name index, node paths
 *   fat_names.c  UTF-8/UTF-16, long-name entries, 8.3 names and aliases
 *   fat_geom.c   FAT type, cluster size, image size, cluster allocation
 *   fat_write.c  the image: boot sector, FATs, directories, file data
 */
#ifndef SVMM_IMAGES_FAT_PRIV_H
#define SVMM_IMAGES_FAT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/fat.h"

#define SECTOR 512u
#define DIRENT 32u

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

/* Little-endian stores. */
static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* fat.c: the image path of a node ("/dir/name"), for messages. */
const char *fat_node_path(const struct fat_node *n, char *buf, size_t len);

/* fat_names.c: whether c may stand in an 8.3 name (or a volume label). */
bool fat_short_char_ok(int c);
/* Check one path component and convert it to UTF-16 into u (FAT_LFN_MAX
 * units), its length in *ulen; -EINVAL or -ENAMETOOLONG with t->err set. */
int fat_name_check(struct fat_tree *t, const char *path, const char *name, uint16_t *u,
		   unsigned int *ulen);
/* Sort every directory's children and give each its 8.3 alias and each
 * directory its slot count, depth first (label: the root holds one). */
int fat_layout_dirs(struct fat_tree *t, struct fat_node *dir, bool is_root, bool label);

/* fat_geom.c: sectors of a FAT12/16 fixed root directory (0 on FAT32). */
uint32_t fat_root_sectors(const struct fat_geom *g);
/* The geometry for a laid-out tree and the options: the smallest image, or
 * the smallest clusters that fit o->size; -EFBIG, -EINVAL, -ENOSPC or
 * -E2BIG with t->err naming why. */
int fat_choose_geom(struct fat_tree *t, const struct fat_opts *o, bool label, struct fat_geom *out);
/* Give each node its clusters of cs bytes, in allocation order from *next;
 * returns the first node that does not fit in `clusters`, or NULL. */
struct fat_node *fat_alloc_clusters(struct fat_node *n, uint32_t cs, bool fat32_root,
				    uint32_t clusters, uint32_t *next);

#endif
