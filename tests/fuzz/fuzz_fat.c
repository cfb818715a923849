// SPDX-License-Identifier: Apache-2.0
/*
 * The FAT writer's names (images/fat.c): fuzzed UTF-8 paths become
 * directories and small files of a tree, each name also goes through the
 * exposed pieces (UTF-16 conversion, the 8.3 basis and its ~N tail, the
 * LFN checksum), and the tree is written as an image to a temporary file.
 * Input: u8 options (bits 0-1: FAT type auto/12/16/32, bit 2: a label,
 * bit 3: fixed time), the label (u8 length, bytes) if any, then entries:
 * u8 kind (bit 0: file), u8 name length, the path's bytes, for a file u8
 * data length and the data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/fat.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ENTRIES 64

static char out[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(out, sizeof(out), "%s/img", fz_tmpdir("fat"));
	return 0;
}

static void pieces(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	uint16_t u[FAT_LFN_MAX + 1];
	int n = fat_utf8_to_utf16(base, u, FAT_LFN_MAX);
	if (n > FAT_LFN_MAX)
		abort();
	uint8_t sname[11], e[32];
	bool lossy = false, lfn = false;
	fat_short_basis(base, sname, &lossy, &lfn);
	for (unsigned int i = 0; i < 11; i++)
		if (sname[i] < 0x20 && !(i == 0 && sname[i] == 0x05))
			abort(); /* a control character in a short name */
	uint8_t ck = fat_lfn_checksum(sname);
	if (n > 0)
		fat_lfn_entry(e, u, (unsigned int)n, 1, (unsigned int)n <= 13, ck);
	for (unsigned int t = 1; t < 1000000; t *= 7)
		fat_short_tail(sname, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct fat_tree t;
	static const int types[4] = { 0, 12, 16, 32 };
	uint8_t flags = fz_u8(&z);
	char label[256], path[256];
	struct fat_opts o = { .fat_type = types[flags & 3],
			      .fixed_time = flags & 8,
			      .epoch = 1700000000 };
	size_t n;

	if (flags & 4) {
		const uint8_t *p = fz_bytes(&z, fz_u8(&z), &n);
		memcpy(label, p, n);
		label[n] = 0;
		o.label = label;
	}
	if (fat_tree_init(&t) < 0)
		abort();
	for (int i = 0; i < MAX_ENTRIES && z.n; i++) {
		uint8_t kind = fz_u8(&z);
		const uint8_t *p = fz_bytes(&z, fz_u8(&z), &n);
		memcpy(path, p, n);
		path[n] = 0;
		int64_t mtime = FAT_TIME_MIN + (int64_t)kind * 86400 * 97;
		pieces(path);
		if (kind & 1) {
			const uint8_t *d = fz_bytes(&z, fz_u8(&z), &n);
			fat_add_data(&t, path, d, n, mtime);
		} else {
			fat_add_dir(&t, path, mtime);
		}
	}
	struct fat_geom g;
	t.err = (struct err){ 0 };
	int rc = fat_write(&t, &o, out, &g);
	struct stat st;
	if (rc == 0 && (stat(out, &st) < 0 || (uint64_t)st.st_size != g.total_sectors * 512))
		abort();
	if (rc < 0 && !t.err.code)
		abort();
	fat_tree_free(&t);
	unlink(out);
	return 0;
}
