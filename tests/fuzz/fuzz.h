/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the libFuzzer targets (tests/fuzz/fuzz_*.c): a reader that
 * takes fields off the input (zeros once it runs out, so every input is a
 * valid one), a fake guest RAM whose regions are separate heap blocks,
 * so that AddressSanitizer sees any access past a region's end, and a Unix
 * socket helper for the host side of the vsock targets.
 */
#ifndef SVMM_TESTS_FUZZ_FUZZ_H
#define SVMM_TESTS_FUZZ_FUZZ_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ftw.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/kvm/memory.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_take(struct fz *z, void *out, size_t len)
{
	size_t k = len < z->n ? len : z->n;
	memcpy(out, z->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	z->p += k;
	z->n -= k;
}

/* fz_u8 ... fz_u64: the next field, in host byte order. */
#define FZ_FIELD(type, name)                  \
	static inline type name(struct fz *z) \
	{                                     \
		type v;                       \
		fz_take(z, &v, sizeof(v));    \
		return v;                     \
	}
FZ_FIELD(uint8_t, fz_u8)
FZ_FIELD(uint16_t, fz_u16)
FZ_FIELD(uint32_t, fz_u32)
FZ_FIELD(uint64_t, fz_u64)

/* Up to len bytes of the input, in place; *got says how many. */
static inline const uint8_t *fz_bytes(struct fz *z, size_t len, size_t *got)
{
	const uint8_t *p = z->p;
	*got = len < z->n ? len : z->n;
	z->p += *got;
	z->n -= *got;
	return p;
}

/* Guest RAM: region 0 at guest address 0 (low bytes), and with high > 0 a
 * region 1 at 4 GiB, each its own zeroed heap block. */
#define FZ_HIGH_GPA 0x100000000ULL

static inline void fz_mem_init(struct guest_mem *m, uint64_t low, uint64_t high)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->base = calloc(1, low);
	m->size = low + high;
	m->region[0] = (struct guest_region){ 0, low, m->base };
	m->n_regions = 1;
	if (high) {
		m->region[1] = (struct guest_region){ FZ_HIGH_GPA, high, calloc(1, high) };
		m->n_regions = 2;
	}
	if (!m->base || (high && !m->region[1].hva))
		abort();
}

/* Fill the regions, in order, from the rest of the input. */
static inline void fz_mem_fill(struct guest_mem *m, struct fz *z)
{
	for (unsigned int i = 0; i < m->n_regions; i++) {
		size_t got;
		const uint8_t *p = fz_bytes(z, m->region[i].size, &got);
		memcpy(m->region[i].hva, p, got);
	}
}

static inline void fz_mem_free(struct guest_mem *m)
{
	if (m->n_regions > 1)
		free(m->region[1].hva);
	free(m->base);
	memset(m, 0, sizeof(*m));
}

/* A fresh directory BASE/svmm-fuzz-NAME-XXXXXX for a target's files,
 * removed with everything in it when the target exits (fz_tmpdir: in /tmp;
 * fz_tmpdir_shm: in /dev/shm, a tmpfs, when it can, else /tmp: several
 * times faster for a target that makes and removes files for each input). */
static char fz_tmp[PATH_MAX];

static int fz_tmp_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fz_tmp_cleanup(void)
{
	nftw(fz_tmp, fz_tmp_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *fz_tmpdir_in(const char *base, const char *name)
{
	if (!fz_tmp[0]) {
		snprintf(fz_tmp, sizeof(fz_tmp), "%s/svmm-fuzz-%s-XXXXXX", base, name);
		if (!mkdtemp(fz_tmp)) {
			fz_tmp[0] = 0;
			if (!strcmp(base, "/tmp"))
				abort();
			return fz_tmpdir_in("/tmp", name);
		}
		atexit(fz_tmp_cleanup);
	}
	return fz_tmp;
}

static inline const char *fz_tmpdir(const char *name)
{
	return fz_tmpdir_in("/tmp", name);
}

static inline const char *fz_tmpdir_shm(const char *name)
{
	return fz_tmpdir_in("/dev/shm", name);
}

/* A non-blocking Unix stream socket listening at path, or connected to it
 * (-1 when nothing listens there). */
static inline int fz_unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		abort();
	if (listening) {
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
			abort();
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
