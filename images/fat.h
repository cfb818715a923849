/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A FAT12/16/32 image writer: an in-memory directory tree, then one pass
 * that writes the image file.
 *
 * The tree holds names, sizes and times; file data stays in the source
 * files (or a small caller buffer) and is copied straight into the image at
 * write time, so a large file costs no memory. Every file and directory is
 * laid out in one contiguous run of clusters, in a fixed order (children
 * sorted by name), so the same tree and options give the same bytes.
 *
 * Names are UTF-8; each gets a VFAT long name (UTF-16) when it is not a
 * plain upper-case 8.3 name, and a generated 8.3 alias ("LONGNA~1.TXT").
 * Errors are negative errno with a message naming the file in tree->err.
 */
#ifndef SVMM_IMAGES_FAT_H
#define SVMM_IMAGES_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest-agent/err.h"

#define FAT_MAX_FILE	 0xffffffffull /* 4 GiB - 1: the size field is 32 bits */
#define FAT_MIN_IMAGE	 (1ull << 20)  /* an automatically sized image is at least 1 MiB */
#define FAT_ROOT_ENTRIES 512	       /* fixed root directory of FAT12/16 (32-byte slots) */
#define FAT_LFN_MAX	 255	       /* UTF-16 units in a long name */
#define FAT_TIME_MIN	 315532800ll   /* 1980-01-01 00:00:00 UTC, the earliest FAT time */

struct fat_node;

struct fat_tree {
	struct fat_node *root;
	uint64_t nodes; /* files and directories, the root excepted */
	struct err err;
};

struct fat_opts {
	int fat_type;	    /* 12, 16 or 32; 0 picks the one giving the smallest image */
	uint64_t size;	    /* image bytes (a multiple of 512); 0: the smallest that fits */
	const char *label;  /* volume label, up to 11 characters; NULL: none ("NO NAME") */
	uint32_t volume_id; /* serial number; 0: derived from the tree (deterministic) */
	bool fixed_time;    /* every entry gets `epoch` instead of its own mtime */
	int64_t epoch;	    /* seconds since 1970, UTC; see fixed_time */
};

/* What fat_write() laid out (filled on success, for callers and tests). */
struct fat_geom {
	int type;		/* 12, 16 or 32 */
	uint32_t spc;		/* sectors per cluster */
	uint32_t reserved;	/* reserved sectors (boot sector, FSInfo, backup, padding
				 * that puts the data area on a cluster boundary) */
	uint32_t root_entries;	/* FAT12/16 fixed root slots; 0 on FAT32 */
	uint32_t fat_sectors;	/* sectors in each of the two FATs */
	uint32_t clusters;	/* data clusters */
	uint64_t total_sectors; /* 512-byte sectors in the image */
	uint32_t used_clusters; /* clusters holding files and directories */
};

/* An empty tree (only the root directory). */
int fat_tree_init(struct fat_tree *t);
void fat_tree_free(struct fat_tree *t);

/*
 * Add entries under their image path ("dir/sub/name", '/'-separated, UTF-8).
 * Missing parent directories are created with the same mtime. Names are
 * checked here: -EINVAL for a character FAT forbids, -ENAMETOOLONG beyond
 * 255 UTF-16 units, -EEXIST for a name taken (case-insensitively),
 * -EFBIG for a file over FAT_MAX_FILE.
 */
int fat_add_dir(struct fat_tree *t, const char *path, int64_t mtime);
/* A file whose data is read from host file src at write time (size now).
 * mtime FAT_MTIME_SOURCE takes src's modification time. */
#define FAT_MTIME_SOURCE INT64_MIN
int fat_add_file(struct fat_tree *t, const char *path, const char *src, int64_t mtime);
/* A file with the given bytes (copied). */
int fat_add_data(struct fat_tree *t, const char *path, const void *data, size_t len, int64_t mtime);
/* Everything under host directory src (symbolic links followed), placed under
 * image directory path ("" for the root). Other file types are refused. */
int fat_add_host_tree(struct fat_tree *t, const char *path, const char *src);

/*
 * Lay out the tree and write the image to file out. out is not touched when
 * the layout fails; it is created (or truncated) once the layout fits, and
 * removed again if writing fails. -ENOSPC names the first entry that does not
 * fit a requested size, -E2BIG a FAT12/16 root directory that is too full.
 * geom may be NULL.
 */
int fat_write(struct fat_tree *t, const struct fat_opts *o, const char *out, struct fat_geom *geom);

/* ---- pieces, exposed for the unit tests ---- */

/* The checksum of an 11-byte short name stored in each of its LFN entries. */
uint8_t fat_lfn_checksum(const uint8_t sname[11]);

/* UTF-8 to UTF-16 (surrogate pairs above U+FFFF). Returns the unit count,
 * -EINVAL on malformed UTF-8, -ENAMETOOLONG beyond max units. */
int fat_utf8_to_utf16(const char *s, uint16_t *out, size_t max);

/* Fill LFN entry number seq (1-based; the last one gets 0x40) of a long
 * name of n units into the 32-byte slot e. */
void fat_lfn_entry(uint8_t e[32], const uint16_t *name, unsigned int n, unsigned int seq, bool last,
		   uint8_t checksum);

/* The 8.3 basis of a UTF-8 name, space-padded into sname. *lossy is set when
 * characters were dropped, replaced or cut (a "~N" tail is then required);
 * *lfn when the name needs a long-name entry at all. */
void fat_short_basis(const char *name, uint8_t sname[11], bool *lossy, bool *lfn);

/* Put the numeric tail "~n" into an 8.3 basis (shortening the base). */
void fat_short_tail(uint8_t sname[11], unsigned int n);

/* Fill geometry for a type, cluster size and data cluster count; or for a
 * type, cluster size and total sector count. -EINVAL when the cluster count
 * is out of range for the type. */
int fat_geom_from_clusters(struct fat_geom *g, int type, uint32_t spc, uint32_t clusters);
int fat_geom_from_total(struct fat_geom *g, int type, uint32_t spc, uint64_t total_sectors);

/* FAT date and time (UTC) of a Unix time, clamped to 1980..2107. */
void fat_time_encode(int64_t t, uint16_t *date, uint16_t *time, uint8_t *tenths);

#endif
