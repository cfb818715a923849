// SPDX-License-Identifier: Apache-2.0
/*
 * FAT geometry: the type (FAT12/16/32), cluster size and image size that fit
 * a laid-out tree, and the clusters each node gets.
 */
#include <errno.h>
#include <string.h>

#include "images/fat_priv.h"

#define MAX_SPC	       64u /* 32 KiB clusters: larger ones are poorly supported */
#define FAT32_RESERVED 32u

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

uint32_t fat_root_sectors(const struct fat_geom *g)
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
	uint32_t start = g->reserved + 2 * g->fat_sectors + fat_root_sectors(g);

	g->reserved += (g->spc - start % g->spc) % g->spc;
}

int fat_geom_from_clusters(struct fat_geom *g, int type, uint32_t spc, uint32_t clusters)
{
	geom_base(g, type, spc);
	g->clusters = clusters;
	g->fat_sectors = fat_sectors_for(type, clusters);
	geom_align(g);
	g->total_sectors = g->reserved + 2ull * g->fat_sectors + fat_root_sectors(g) +
			   (uint64_t)clusters * spc;
	return geom_check(g);
}

int fat_geom_from_total(struct fat_geom *g, int type, uint32_t spc, uint64_t total)
{
	uint64_t meta, upper, fs;

	geom_base(g, type, spc);
	g->total_sectors = total;
	meta = g->reserved + fat_root_sectors(g);
	if (total <= meta)
		return -EINVAL;
	/* Size the FAT for every cluster the space could hold; the clusters
	 * left after the FATs are then covered with a little to spare. */
	upper = (total - meta) / spc;
	fs = fat_sectors_for(type, upper);
	g->fat_sectors = fs;
	geom_align(g);
	meta = g->reserved + fat_root_sectors(g);
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
struct fat_node *fat_alloc_clusters(struct fat_node *n, uint32_t cs, bool fat32_root,
				    uint32_t clusters, uint32_t *next)
{
	uint64_t need = node_clusters(n, cs, fat32_root);

	n->nclusters = need;
	n->cluster = need ? *next : 0;
	if ((uint64_t)*next - 2 + need > clusters)
		return n;
	*next += need;
	for (unsigned int i = 0; n->is_dir && i < n->nkids; i++) {
		struct fat_node *bad = fat_alloc_clusters(n->kids[i], cs, false, clusters, next);

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

int fat_choose_geom(struct fat_tree *t, const struct fat_opts *o, bool label, struct fat_geom *out)
{
	static const int all[] = { 12, 16, 32 };
	const int *types = o->fat_type ? &o->fat_type : all;
	int ntypes = o->fat_type ? 1 : 3;
	struct fat_node *over = root_overflow(t->root, label);
	bool found = false;
	char pbuf[1024];
	struct fat_geom g;

	if (over && o->fat_type && o->fat_type != 32)
		return err_set(&t->err, -E2BIG,
			       "'%s': the %s root directory is full (%u entries; long names take "
			       "several): use FAT32 or a subdirectory",
			       fat_node_path(over, pbuf, sizeof(pbuf)), type_name(o->fat_type),
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
			return err_set(&t->err, -EFBIG,
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
		return err_set(&t->err, -EINVAL, "a %s file system cannot be %llu bytes (too %s)",
			       o->fat_type ? type_name(o->fat_type) : "FAT",
			       (unsigned long long)total * SECTOR,
			       first_small(o->fat_type, total) ? "small" : "large");
	uint32_t next = 2;
	struct fat_node *bad = fat_alloc_clusters(t->root, first.spc * SECTOR, first.type == 32,
						  first.clusters, &next);

	return err_set(&t->err, -ENOSPC,
		       "%llu bytes is too small: '%s' does not fit (%s, %u clusters of %u bytes; "
		       "the files need %llu bytes)",
		       (unsigned long long)total * SECTOR,
		       bad ? fat_node_path(bad, pbuf, sizeof(pbuf)) : "?", type_name(first.type),
		       first.clusters, first.spc * SECTOR,
		       (unsigned long long)bytes_needed(t->root));
}
