// SPDX-License-Identifier: Apache-2.0
/* Unit tests for images/fat.c: names, long-name entries, geometry, layout. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "images/fat.h"

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static void lfn_checksum(void **state)
{
	(void)state;
	/* Values from an independent implementation of the rotate-and-add sum. */
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"README  TXT"), 115);
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"LONGFI~1TXT"), 212);
	assert_int_equal(fat_lfn_checksum((const uint8_t *)"FOO     BAR"), 83);
}

static void utf8_to_utf16(void **state)
{
	(void)state;
	uint16_t u[FAT_LFN_MAX + 2];
	char longname[300];

	/* 'a', U+00E9, U+2615, U+1F600 (a surrogate pair) */
	assert_int_equal(fat_utf8_to_utf16("a\xc3\xa9\xe2\x98\x95\xf0\x9f\x98\x80", u, 8), 5);
	assert_int_equal(u[0], 'a');
	assert_int_equal(u[1], 0xe9);
	assert_int_equal(u[2], 0x2615);
	assert_int_equal(u[3], 0xd83d);
	assert_int_equal(u[4], 0xde00);
	assert_int_equal(fat_utf8_to_utf16("\xc3", u, 8), -EINVAL);		/* truncated */
	assert_int_equal(fat_utf8_to_utf16("\xc0\xaf", u, 8), -EINVAL);		/* overlong */
	assert_int_equal(fat_utf8_to_utf16("\xed\xa0\x80", u, 8), -EINVAL);	/* surrogate */
	assert_int_equal(fat_utf8_to_utf16("\xf4\x90\x80\x80", u, 8), -EINVAL); /* > U+10FFFF */
	memset(longname, 'x', 256);
	longname[256] = '\0';
	assert_int_equal(fat_utf8_to_utf16(longname, u, FAT_LFN_MAX), -ENAMETOOLONG);
	longname[255] = '\0';
	assert_int_equal(fat_utf8_to_utf16(longname, u, FAT_LFN_MAX), 255);
}

static void lfn_split(void **state)
{
	(void)state;
	static const uint8_t off[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	uint16_t name[14];
	uint8_t e[32];

	for (int i = 0; i < 14; i++)
		name[i] = 'A' + i;
	/* 14 units take two entries: 13 in the first, then 1, a 0 and padding. */
	fat_lfn_entry(e, name, 14, 1, false, 0x5a);
	assert_int_equal(e[0], 1);
	assert_int_equal(e[11], 0x0f);
	assert_int_equal(e[12], 0);
	assert_int_equal(e[13], 0x5a);
	assert_int_equal(get16(e + 26), 0);
	for (int j = 0; j < 13; j++)
		assert_int_equal(get16(e + off[j]), 'A' + j);
	fat_lfn_entry(e, name, 14, 2, true, 0x5a);
	assert_int_equal(e[0], 0x42);
	assert_int_equal(get16(e + off[0]), 'A' + 13);
	assert_int_equal(get16(e + off[1]), 0x0000);
	for (int j = 2; j < 13; j++)
		assert_int_equal(get16(e + off[j]), 0xffff);
	/* Exactly 13 units: no terminator, no padding. */
	fat_lfn_entry(e, name, 13, 1, true, 0);
	assert_int_equal(e[0], 0x41);
	assert_int_equal(get16(e + off[12]), 'A' + 12);
}

static void check_basis(const char *name, const char *want, bool lossy, bool lfn)
{
	uint8_t s[11];
	bool l, f;

	fat_short_basis(name, s, &l, &f);
	assert_memory_equal(s, want, 11);
	assert_int_equal(l, lossy);
	assert_int_equal(f, lfn);
}

static void short_names(void **state)
{
	(void)state;
	uint8_t s[11];

	check_basis("README.TXT", "README  TXT", false, false);
	check_basis("A", "A          ", false, false);
	check_basis("readme.txt", "README  TXT", false, true);
	check_basis("Long File Name.txt", "LONGFILETXT", true, true);
	check_basis("a.b.c", "AB      C  ", true, true);
	check_basis(".bashrc", "BASHRC     ", true, true);
	check_basis("index.html", "INDEX   HTM", true, true);
	check_basis("na\xc3\xafve.txt", "NA_VE   TXT", true, true);
	check_basis("a+b=c", "A_B_C      ", true, true);
	check_basis("\xe2\x98\x95", "_          ", true, true);

	memcpy(s, "LONGFILETXT", 11);
	fat_short_tail(s, 1);
	assert_memory_equal(s, "LONGFI~1TXT", 11);
	memcpy(s, "LONGFILETXT", 11);
	fat_short_tail(s, 10);
	assert_memory_equal(s, "LONGF~10TXT", 11);
	memcpy(s, "LONGFILETXT", 11);
	fat_short_tail(s, 123456);
	assert_memory_equal(s, "L~123456TXT", 11);
	memcpy(s, "A          ", 11);
	fat_short_tail(s, 2);
	assert_memory_equal(s, "A~2        ", 11);
}

static void geometry(void **state)
{
	(void)state;
	struct fat_geom g;

	/* 1 + 2 FATs of 6 sectors + 32 root sectors + 2003 clusters = 1 MiB */
	assert_int_equal(fat_geom_from_clusters(&g, 12, 1, 2003), 0);
	assert_int_equal(g.fat_sectors, 6); /* (2005 * 1.5) bytes */
	assert_int_equal(g.total_sectors, 2048);
	assert_int_equal(fat_geom_from_total(&g, 12, 1, 2048), 0);
	assert_int_equal(g.clusters, 2003);
	assert_int_equal(g.fat_sectors, 6);

	/* Cluster counts are kept inside each type's range. */
	assert_int_equal(fat_geom_from_clusters(&g, 12, 1, 4081), -EINVAL);
	assert_int_equal(fat_geom_from_clusters(&g, 16, 1, 4000), -EINVAL);
	assert_int_equal(fat_geom_from_total(&g, 16, 1, 2048), -EINVAL);
	assert_int_equal(fat_geom_from_clusters(&g, 16, 4, 65520), 0);
	assert_int_equal(g.fat_sectors, 256); /* 65522 * 2 bytes */
	assert_int_equal(fat_geom_from_clusters(&g, 16, 4, 65521), -EINVAL);
	assert_int_equal(fat_geom_from_clusters(&g, 32, 1, 65535), -EINVAL);
	assert_int_equal(fat_geom_from_clusters(&g, 32, 1, 65536), 0);
	assert_int_equal(g.reserved, 32);
	assert_int_equal(g.root_entries, 0);
	assert_int_equal(g.fat_sectors, 513); /* 65538 * 4 bytes */

	/* The data area starts on a cluster boundary: padding goes to the
	 * reserved sectors. 1 + 2 x 20 + 32 = 73 sectors, padded to 76. */
	assert_int_equal(fat_geom_from_clusters(&g, 16, 4, 5000), 0);
	assert_int_equal(g.fat_sectors, 20);
	assert_int_equal(g.reserved, 4);
	assert_int_equal((g.reserved + 2 * g.fat_sectors + 32) % 4, 0);
	assert_int_equal(fat_geom_from_total(&g, 32, 64, 8388608), 0); /* 4 GiB, 32 KiB */
	assert_int_equal((g.reserved + 2 * g.fat_sectors) % 64, 0);

	/* A total size: the FATs cover every cluster that fits after them. */
	assert_int_equal(fat_geom_from_total(&g, 32, 8, 2097152), 0); /* 1 GiB, 4 KiB clusters */
	assert_true((uint64_t)g.fat_sectors * 512 / 4 >= g.clusters + 2);
	assert_true(g.reserved + 2ull * g.fat_sectors + (uint64_t)g.clusters * 8 <= 2097152);
	assert_true(g.reserved + 2ull * g.fat_sectors + (uint64_t)(g.clusters + 1) * 8 > 2097152);
}

static void times(void **state)
{
	(void)state;
	uint16_t d, t;
	uint8_t tenths;

	fat_time_encode(0, &d, &t, &tenths); /* before 1980: clamped */
	assert_int_equal(d, 0 << 9 | 1 << 5 | 1);
	assert_int_equal(t, 0);
	fat_time_encode(946684801, &d, &t, &tenths); /* 2000-01-01 00:00:01 */
	assert_int_equal(d, 20 << 9 | 1 << 5 | 1);
	assert_int_equal(t, 0);
	assert_int_equal(tenths, 100);
	fat_time_encode(FAT_TIME_MIN + 13 * 3600 + 14 * 60 + 36, &d, &t, &tenths);
	assert_int_equal(t, 13 << 11 | 14 << 5 | 18);
	assert_int_equal(tenths, 0);
}

static char *tmp_image(void)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_fat.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* Short-name collisions get ~1, ~2, ...; every LFN run carries the checksum
 * of the short entry after it; plain 8.3 names get no long name. */
static void layout_aliases(void **state)
{
	(void)state;
	struct fat_opts o = { .fat_type = 12, .label = "unit" };
	struct fat_tree t;
	struct fat_geom g;
	char *img = tmp_image(), name[64];
	uint8_t *buf, *root;
	size_t len;
	int aliases = 0, plain = 0;

	assert_int_equal(fat_tree_init(&t), 0);
	for (int i = 1; i <= 12; i++) {
		snprintf(name, sizeof(name), "Long File Name %02d.txt", i);
		assert_int_equal(fat_add_data(&t, name, "x", 1, FAT_TIME_MIN), 0);
	}
	assert_int_equal(fat_add_data(&t, "PLAIN.TXT", "", 0, FAT_TIME_MIN), 0);
	assert_int_equal(fat_write(&t, &o, img, &g), 0);
	assert_int_equal(g.type, 12);
	assert_int_equal(g.total_sectors, 2048); /* 1 MiB minimum */
	assert_int_equal(g.used_clusters, 12);	 /* the empty file has none */
	buf = read_all(img, &len);
	assert_int_equal(len, 1 << 20);
	assert_int_equal(buf[510], 0x55);
	assert_int_equal(buf[511], 0xaa);
	root = buf + (g.reserved + 2 * g.fat_sectors) * 512;
	assert_memory_equal(root, "UNIT       ", 11);
	assert_int_equal(root[11], 0x08);
	for (uint8_t *e = root + 32; e[0]; e += 32) {
		if (e[11] == 0x0f) {
			int n = e[0] & 0x3f;
			uint8_t *s = e + 32 * n;

			assert_true(e[0] & 0x40);
			assert_int_equal(e[13], fat_lfn_checksum(s));
			if (aliases < 9)
				snprintf(name, sizeof(name), "LONGFI~%dTXT", aliases + 1);
			else
				snprintf(name, sizeof(name), "LONGF~%dTXT", aliases + 1);
			assert_memory_equal(s, name, 11);
			aliases++;
			e = s;
		} else {
			assert_memory_equal(e, "PLAIN   TXT", 11);
			assert_int_equal(get16(e + 26), 0); /* no cluster */
			plain++;
		}
	}
	assert_int_equal(aliases, 12);
	assert_int_equal(plain, 1);
	free(buf);
	fat_tree_free(&t);
	unlink(img);
}

static void errors_name_the_file(void **state)
{
	(void)state;
	struct fat_opts o = { .size = 1 << 20 };
	struct fat_tree t;
	char *img = tmp_image(), name[64];
	static char big[1 << 20];
	int fd;

	assert_int_equal(fat_tree_init(&t), 0);
	assert_int_equal(fat_add_data(&t, "a:b", "", 0, 0), -EINVAL);
	assert_non_null(strstr(t.err.msg, "'a:b'"));
	assert_int_equal(fat_add_data(&t, "dir/Name", "", 0, 0), 0);
	assert_int_equal(fat_add_data(&t, "dir/NAME", "", 0, 0), -EEXIST);
	assert_non_null(strstr(t.err.msg, "dir/NAME"));
	assert_int_equal(fat_add_data(&t, "dir/Name/x", "", 0, 0), -EEXIST);
	assert_int_equal(fat_add_data(&t, "trailing.", "", 0, 0), -EINVAL);
	assert_int_equal(fat_add_data(&t, "bad\xff", "", 0, 0), -EINVAL);
	assert_non_null(strstr(t.err.msg, "UTF-8"));

	/* A file over 4 GiB - 1 (sparse, so it costs nothing). */
	fd = open(img, O_WRONLY);
	assert_int_equal(ftruncate(fd, FAT_MAX_FILE + 1), 0);
	close(fd);
	assert_int_equal(fat_add_file(&t, "huge", img, 0), -EFBIG);
	assert_non_null(strstr(t.err.msg, img));
	assert_non_null(strstr(t.err.msg, "4 GiB"));

	/* A requested size that is too small names the first file left out. */
	assert_int_equal(fat_add_data(&t, "one", big, sizeof(big) - 65536, 0), 0);
	assert_int_equal(fat_add_data(&t, "two", big, 65536 * 2, 0), 0);
	assert_int_equal(fat_write(&t, &o, img, NULL), -ENOSPC);
	assert_non_null(strstr(t.err.msg, "'/two'"));
	fat_tree_free(&t);

	/* A FAT16 root directory holds 512 entries. */
	assert_int_equal(fat_tree_init(&t), 0);
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "F%d", i);
		assert_int_equal(fat_add_data(&t, name, "", 0, 0), 0);
	}
	o = (struct fat_opts){ .fat_type = 16 };
	assert_int_equal(fat_write(&t, &o, img, NULL), -E2BIG);
	assert_non_null(strstr(t.err.msg, "root directory is full"));
	o.fat_type = 0; /* automatic: FAT32 has no such limit */
	struct fat_geom g;
	assert_int_equal(fat_write(&t, &o, img, &g), 0);
	assert_int_equal(g.type, 32);
	fat_tree_free(&t);

	/* A directory holds at most 65536 entries: 22000 names of three each. */
	assert_int_equal(fat_tree_init(&t), 0);
	for (int i = 0; i < 22000; i++) {
		snprintf(name, sizeof(name), "big/a long file name %05d", i);
		assert_int_equal(fat_add_data(&t, name, "", 0, 0), 0);
	}
	assert_int_equal(fat_write(&t, &o, img, NULL), -E2BIG);
	assert_non_null(strstr(t.err.msg, "'/big': the directory needs 66002 entries"));
	fat_tree_free(&t);
	unlink(img);
}

static void same_input_same_bytes(void **state)
{
	(void)state;
	struct fat_opts o = { .label = "SAME", .fixed_time = true, .epoch = 1700000000 };
	uint8_t *a, *b;
	size_t la, lb;
	char pa[64], pb[64];

	for (int round = 0; round < 2; round++) {
		struct fat_tree t;

		assert_int_equal(fat_tree_init(&t), 0);
		/* Added in a different order each round: the layout sorts. */
		if (round) {
			assert_int_equal(fat_add_data(&t, "z/b.txt", "bb", 2, 5), 0);
			assert_int_equal(fat_add_data(&t, "a long name", "a", 1, 7), 0);
		} else {
			assert_int_equal(fat_add_data(&t, "a long name", "a", 1, 9), 0);
			assert_int_equal(fat_add_data(&t, "z/b.txt", "bb", 2, 3), 0);
		}
		strcpy(round ? pb : pa, tmp_image());
		assert_int_equal(fat_write(&t, &o, round ? pb : pa, NULL), 0);
		fat_tree_free(&t);
	}
	a = read_all(pa, &la);
	b = read_all(pb, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	unlink(pa);
	unlink(pb);
}

/* Host trees: empty directories (no entries to sort), files, a refusal. */
static void host_tree(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_fat_tree.XXXXXX", path[128];
	struct fat_opts o = { 0 };
	struct fat_tree t;
	struct fat_geom g;
	char *img = tmp_image();
	FILE *f;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(fat_tree_init(&t), 0);
	assert_int_equal(fat_add_host_tree(&t, "", dir), 0); /* empty */
	snprintf(path, sizeof(path), "%s/empty dir", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("data", f);
	fclose(f);
	assert_int_equal(fat_add_host_tree(&t, "copy", dir), 0);
	assert_int_equal(t.nodes, 3); /* copy, copy/empty dir, copy/file */
	assert_int_equal(fat_write(&t, &o, img, &g), 0);
	assert_int_equal(g.used_clusters, 3); /* two directories and the file */
	assert_int_equal(fat_add_host_tree(&t, "", path), -ENOTDIR);
	assert_non_null(strstr(t.err.msg, path));
	fat_tree_free(&t);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty dir", dir);
	rmdir(path);
	rmdir(dir);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lfn_checksum),
		cmocka_unit_test(utf8_to_utf16),
		cmocka_unit_test(lfn_split),
		cmocka_unit_test(short_names),
		cmocka_unit_test(geometry),
		cmocka_unit_test(times),
		cmocka_unit_test(layout_aliases),
		cmocka_unit_test(errors_name_the_file),
		cmocka_unit_test(same_input_same_bytes),
		cmocka_unit_test(host_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
