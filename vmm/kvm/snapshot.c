// SPDX-License-Identifier: Apache-2.0
/* The snapshot state file: named records in a versioned container. */
#include "vmm/kvm/snapshot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END_NAME "end"

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void snap_w_init(struct snap_w *w)
{
	memset(w, 0, sizeof(*w));
}

void snap_w_free(struct snap_w *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int reserve(struct snap_w *w, size_t more)
{
	if (w->rc)
		return w->rc;
	if (more > SIZE_MAX / 2 - w->len)
		return w->rc = -ENOMEM;
	if (w->len + more <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + more)
		cap *= 2;
	uint8_t *b = realloc(w->buf, cap);
	if (!b)
		return w->rc = -ENOMEM;
	w->buf = b;
	w->cap = cap;
	return 0;
}

static bool name_ok(const char *name, size_t n)
{
	if (!n || n > SNAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return false;
	return true;
}

static int put_raw(struct snap_w *w, const char *name, size_t n, const void *data, size_t len)
{
	if (w->rc)
		return w->rc;
	if (!name_ok(name, n) || len > SNAP_DATA_MAX || w->count >= SNAP_MAX_RECORDS - 1)
		return w->rc = -EINVAL;
	if (!w->len) {
		if (reserve(w, SNAP_HEADER_SIZE))
			return w->rc;
		memcpy(w->buf, SNAP_MAGIC, 8);
		put_le(w->buf + 8, SNAP_VERSION, 4);
		put_le(w->buf + 12, 0, 4);
		w->len = SNAP_HEADER_SIZE;
	}
	if (reserve(w, 2 + n + 4 + len))
		return w->rc;
	uint8_t *p = w->buf + w->len;
	put_le(p, n, 2);
	memcpy(p + 2, name, n);
	put_le(p + 2 + n, len, 4);
	if (len)
		memcpy(p + 6 + n, data, len);
	w->len += 6 + n + len;
	w->count++;
	return 0;
}

int snap_put(struct snap_w *w, const void *data, size_t len, const char *fmt, ...)
{
	char name[SNAP_NAME_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > SNAP_NAME_MAX || !strcmp(name, END_NAME))
		return w->rc ? w->rc : (w->rc = -EINVAL);
	return put_raw(w, name, (size_t)n, data, len);
}

int snap_w_finish(struct snap_w *w)
{
	uint8_t cnt[4];

	put_le(cnt, w->count, 4);
	return put_raw(w, END_NAME, strlen(END_NAME), cnt, sizeof(cnt));
}

static int rec_cmp(const void *a, const void *b)
{
	const struct snap_rec *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (int)x->name_len - (int)y->name_len;
}

int snap_parse(struct snap_r *r, const void *buf, size_t len, struct err *err)
{
	const uint8_t *b = buf;
	size_t off = SNAP_HEADER_SIZE, cap = 0;
	bool ended = false;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len < SNAP_HEADER_SIZE || memcmp(b, SNAP_MAGIC, 8))
		return err_set(err, EINVAL, "not an svmm snapshot state file (no %s header)",
			       SNAP_MAGIC);
	r->version = (uint32_t)get_le(b + 8, 4);
	if (r->version != SNAP_VERSION)
		return err_set(err, EPROTO,
			       "snapshot format version %u is not supported (this svmm reads %u)",
			       r->version, SNAP_VERSION);
	if (get_le(b + 12, 4))
		return err_set(err, EINVAL, "snapshot header: reserved field is not 0");
	while (off < len) {
		if (ended) {
			rc = err_set(err, EINVAL, "snapshot: %zu bytes after the end record",
				     len - off);
			goto fail;
		}
		if (len - off < 2) {
			rc = err_set(err, EINVAL, "snapshot truncated at offset %zu (record name)",
				     off);
			goto fail;
		}
		size_t n = get_le(b + off, 2);
		if (!name_ok((const char *)b + off + 2, n > len - off - 2 ? 0 : n)) {
			rc = err_set(err, EINVAL,
				     "snapshot: bad or truncated record name at offset %zu", off);
			goto fail;
		}
		if (len - off - 2 - n < 4) {
			rc = err_set(err, EINVAL,
				     "snapshot truncated at offset %zu (record length)", off);
			goto fail;
		}
		size_t dl = get_le(b + off + 2 + n, 4);
		if (dl > SNAP_DATA_MAX || dl > len - off - 6 - n) {
			rc = err_set(err, EINVAL,
				     "snapshot: record at offset %zu: %zu bytes of data, past the "
				     "end of the file or the limit",
				     off, dl);
			goto fail;
		}
		const char *name = (const char *)b + off + 2;
		if (n == strlen(END_NAME) && !memcmp(name, END_NAME, n)) {
			if (dl != 4 || get_le(b + off + 6 + n, 4) != r->n) {
				rc = err_set(
					err, EINVAL,
					"snapshot: the end record does not match the %u records",
					r->n);
				goto fail;
			}
			ended = true;
		} else {
			if (r->n >= SNAP_MAX_RECORDS) {
				rc = err_set(err, EINVAL, "snapshot: more than %u records",
					     SNAP_MAX_RECORDS);
				goto fail;
			}
			if (r->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct snap_rec *x = realloc(r->rec, nc * sizeof(*x));
				if (!x) {
					rc = err_set(err, ENOMEM, "snapshot: out of memory");
					goto fail;
				}
				r->rec = x;
				cap = nc;
			}
			r->rec[r->n++] = (struct snap_rec){ .name = name,
							    .name_len = (uint16_t)n,
							    .len = (uint32_t)dl,
							    .data = b + off + 6 + n };
		}
		off += 6 + n + dl;
	}
	if (!ended) {
		rc = err_set(err, EINVAL, "snapshot truncated: no end record after %u records",
			     r->n);
		goto fail;
	}
	if (r->n)
		qsort(r->rec, r->n, sizeof(*r->rec), rec_cmp);
	for (uint32_t i = 1; i < r->n; i++) {
		if (!rec_cmp(&r->rec[i - 1], &r->rec[i])) {
			rc = err_set(err, EINVAL, "snapshot: record '%.*s' appears twice",
				     (int)r->rec[i].name_len, r->rec[i].name);
			goto fail;
		}
	}
	r->buf = b;
	r->len = len;
	return 0;
fail:
	free(r->rec);
	memset(r, 0, sizeof(*r));
	return rc;
}

void snap_r_free(struct snap_r *r)
{
	free(r->rec);
	memset(r, 0, sizeof(*r));
}

static const struct snap_rec *find(const struct snap_r *r, const char *fmt, va_list ap)
{
	char name[SNAP_NAME_MAX + 2];
	int n = vsnprintf(name, sizeof(name), fmt, ap);

	if (n <= 0 || (size_t)n > SNAP_NAME_MAX || !r->n)
		return NULL;
	struct snap_rec key = { .name = name, .name_len = (uint16_t)n };
	return bsearch(&key, r->rec, r->n, sizeof(*r->rec), rec_cmp);
}

const void *snap_get(const struct snap_r *r, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	const struct snap_rec *x = find(r, fmt, ap);
	va_end(ap);
	if (len)
		*len = x ? x->len : 0;
	return x ? x->data : NULL;
}

int snap_has(const struct snap_r *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	const struct snap_rec *x = find(r, fmt, ap);
	va_end(ap);
	return x != NULL;
}

int snap_get_exact(const struct snap_r *r, void *out, size_t len, struct err *err, const char *fmt,
		   ...)
{
	va_list ap;

	va_start(ap, fmt);
	const struct snap_rec *x = find(r, fmt, ap);
	va_end(ap);
	if (!x) {
		char name[SNAP_NAME_MAX + 2];
		va_start(ap, fmt);
		vsnprintf(name, sizeof(name), fmt, ap);
		va_end(ap);
		return err_set(err, ENOENT, "snapshot: record '%s' is missing", name);
	}
	if (x->len != len)
		return err_set(err, EINVAL, "snapshot: record '%.*s' has %u bytes, expected %zu",
			       (int)x->name_len, x->name, x->len, len);
	memcpy(out, x->data, len);
	return 0;
}
