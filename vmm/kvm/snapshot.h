/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot state file (DIR/state.bin of vm.snapshot): one versioned
 * binary container of named records, which every layer that has state
 * (vCPUs, the irqchip, PCI functions, virtio transports, platform devices)
 * writes and reads through struct snap_w / struct snap_r. The file is
 * hostile input at restore: snap_parse checks every length before anything
 * is used, and a record is only handed out with the size its reader asks
 * for (snap_get_exact) or with its length (snap_get).
 *
 * Layout, all little-endian:
 *   header   "SVMMSNAP" (8 bytes), u32 version (SNAP_VERSION), u32 0
 *   records  u16 name length N (1..SNAP_NAME_MAX), N bytes of name (no
 *            NUL, printable ASCII), u32 data length L (<= SNAP_DATA_MAX),
 *            L bytes of data
 *   trailer  the record named "end" whose data is the u32 count of records
 *            before it; nothing may follow
 * A different magic or version, a truncated or garbled record, a duplicate
 * name, a missing or wrong trailer, or bytes after it are refused with a
 * sentence in err naming the offset.
 */
#ifndef SVMM_VMM_KVM_SNAPSHOT_H
#define SVMM_VMM_KVM_SNAPSHOT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-agent/err.h"

#define SNAP_MAGIC	 "SVMMSNAP"
#define SNAP_VERSION	 1u
#define SNAP_HEADER_SIZE 16u
#define SNAP_NAME_MAX	 64u
#define SNAP_DATA_MAX	 (16u << 20)
#define SNAP_MAX_RECORDS 65536u
#define SNAP_STATE_FILE	 "state.bin"
#define SNAP_MEMORY_FILE "memory.bin"
#define SNAP_CONFIG_FILE "config.json"

/* The writer: records appended to a growing buffer. The first failure
 * (-ENOMEM, -EINVAL for a bad name or size) sticks in rc and makes every
 * later call a no-op, so callers may check once, at snap_w_finish. */
struct snap_w {
	uint8_t *buf;
	size_t len, cap;
	uint32_t count;
	int rc;
};

void snap_w_init(struct snap_w *w);
void snap_w_free(struct snap_w *w);
/* Append a record named by fmt. Returns w->rc. */
int snap_put(struct snap_w *w, const void *data, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Append the trailer; 0 or the first failure of the writer. */
int snap_w_finish(struct snap_w *w);

struct snap_rec {
	const char *name; /* into the buffer: not NUL-terminated */
	uint16_t name_len;
	uint32_t len;
	const uint8_t *data;
};

/* A device's part of the snapshot: what the VM walks (vmm/vm.c). save
 * writes records named after name; restore reads them back, checking each
 * (the file is hostile), with the vCPUs stopped. */
struct snap_r;
struct snap_ops {
	const char *name;
	int (*save)(void *opaque, struct snap_w *w, struct err *err);
	int (*restore)(void *opaque, const struct snap_r *r, struct err *err);
};

/* The reader: an index over a buffer that must outlive it. */
struct snap_r {
	const uint8_t *buf;
	size_t len;
	uint32_t version;
	struct snap_rec *rec;
	uint32_t n;
};

/* Check and index buf[0..len). 0, or -EINVAL / -EPROTO (unknown version) /
 * -ENOMEM with err naming what is wrong. snap_r_free after success. */
int snap_parse(struct snap_r *r, const void *buf, size_t len, struct err *err);
void snap_r_free(struct snap_r *r);
/* The record named by fmt, or NULL; *len its data length. */
const void *snap_get(const struct snap_r *r, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copy the record named by fmt into out, which must be exactly len bytes:
 * 0, or -ENOENT (missing) / -EINVAL (other size) with err naming it. */
int snap_get_exact(const struct snap_r *r, void *out, size_t len, struct err *err, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));
/* Whether a record named by fmt exists. */
int snap_has(const struct snap_r *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
