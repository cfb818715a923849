// SPDX-License-Identifier: Apache-2.0
/* AML byte-code builder (ACPI 6.x, section 20 "ACPI Machine Language"). */
#include "vmm/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PKGLEN_RESERVED 4 /* bytes held for a package length until close */
#define PKGLEN_MAX	((1u << 28) - 1)

#define OP_NAME		      0x08
#define OP_BYTE		      0x0A
#define OP_WORD		      0x0B
#define OP_DWORD	      0x0C
#define OP_STRING	      0x0D
#define OP_QWORD	      0x0E
#define OP_SCOPE	      0x10
#define OP_BUFFER	      0x11
#define OP_PACKAGE	      0x12
#define OP_METHOD	      0x14
#define OP_DUAL_NAME	      0x2E
#define OP_MULTI_NAME	      0x2F
#define OP_EXT		      0x5B
#define OP_EXT_REGION	      0x80
#define OP_EXT_FIELD	      0x81
#define OP_EXT_DEVICE	      0x82
#define OP_LOCAL0	      0x60
#define OP_ARG0		      0x68
#define OP_CREATE_DWORD_FIELD 0x8A
#define OP_IF		      0xA0
#define OP_ELSE		      0xA1
#define OP_ONES		      0xFF

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static uint8_t *grow(struct aml *a, size_t n)
{
	if (a->err)
		return NULL;
	if (n > SIZE_MAX - a->len) {
		aml_fail(a, -E2BIG);
		return NULL;
	}
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *p = realloc(a->buf, cap);
		if (!p) {
			aml_fail(a, -ENOMEM);
			return NULL;
		}
		a->buf = p;
		a->cap = cap;
	}
	uint8_t *p = a->buf + a->len;
	a->len += n;
	return p;
}

void aml_bytes(struct aml *a, const void *data, size_t len)
{
	uint8_t *p = grow(a, len);
	if (p && len)
		memcpy(p, data, len);
}

void aml_op(struct aml *a, uint8_t op)
{
	aml_bytes(a, &op, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t *p = grow(a, n);
	if (!p)
		return;
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Bytes needed to encode v as a package length: 6 bits in one byte, else
 * 4 + 8n bits in 1 + n bytes. */
static unsigned int pkglen_bytes(size_t v)
{
	if (v <= 63)
		return 1;
	if (v < (1u << 12))
		return 2;
	if (v < (1u << 20))
		return 3;
	return 4;
}

static void pkglen_put(size_t v, unsigned int n, uint8_t out[4])
{
	if (n == 1) {
		out[0] = (uint8_t)v;
		return;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (v & 0x0F));
	for (unsigned int i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
}

int aml_pkglen_encode(size_t content_len, uint8_t out[4])
{
	/* The length counts its own encoding bytes. */
	for (unsigned int n = 1; n <= 4; n++) {
		if (content_len > PKGLEN_MAX - n)
			return -E2BIG;
		if (pkglen_bytes(content_len + n) == n) {
			pkglen_put(content_len + n, n, out);
			return (int)n;
		}
	}
	return -E2BIG;
}

static bool seg_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_name(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	unsigned int nsegs = 0;
	const char *p = path;

	if (a->err)
		return;
	if (!path) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (*p == '\\') {
		aml_op(a, '\\');
		p++;
	} else {
		while (*p == '^') {
			aml_op(a, '^');
			p++;
		}
	}
	while (*p) {
		unsigned int n = 0;
		if (nsegs == 255) {
			aml_fail(a, -EINVAL);
			return;
		}
		while (*p && *p != '.') {
			if (n == 4 || !seg_char_ok(*p, n == 0)) {
				aml_fail(a, -EINVAL);
				return;
			}
			segs[nsegs][n++] = (uint8_t)*p++;
		}
		if (!n) {
			aml_fail(a, -EINVAL);
			return;
		}
		while (n < 4)
			segs[nsegs][n++] = '_';
		nsegs++;
		if (*p == '.' && !*++p) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	if (nsegs == 0) {
		aml_op(a, 0x00); /* NullName */
		return;
	}
	if (nsegs == 2) {
		aml_op(a, OP_DUAL_NAME);
	} else if (nsegs > 2) {
		aml_op(a, OP_MULTI_NAME);
		aml_op(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, 4 * nsegs);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_op(a, OP_NAME);
	aml_name(a, path);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_op(a, AML_ZERO);
	} else if (v == 1) {
		aml_op(a, AML_ONE);
	} else if (v == UINT64_MAX) {
		aml_op(a, OP_ONES);
	} else if (v <= 0xFF) {
		aml_op(a, OP_BYTE);
		put_le(a, v, 1);
	} else if (v <= 0xFFFF) {
		aml_op(a, OP_WORD);
		put_le(a, v, 2);
	} else if (v <= 0xFFFFFFFF) {
		aml_op(a, OP_DWORD);
		put_le(a, v, 4);
	} else {
		aml_op(a, OP_QWORD);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	if (!s) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x01 || (unsigned char)*c > 0x7F) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_op(a, OP_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Opcode bytes, then room for the package length; returns the mark. */
static size_t open_pkg(struct aml *a, const uint8_t *op, size_t oplen)
{
	static const uint8_t zero[PKGLEN_RESERVED];

	aml_bytes(a, op, oplen);
	size_t mark = a->len;
	aml_bytes(a, zero, sizeof(zero));
	return mark;
}

void aml_close(struct aml *a, size_t mark)
{
	uint8_t enc[4];

	if (a->err)
		return;
	if (mark > a->len || a->len - mark < PKGLEN_RESERVED) {
		aml_fail(a, -EINVAL);
		return;
	}
	size_t content = a->len - mark - PKGLEN_RESERVED;
	int n = aml_pkglen_encode(content, enc);
	if (n < 0) {
		aml_fail(a, n);
		return;
	}
	memmove(a->buf + mark + n, a->buf + mark + PKGLEN_RESERVED, content);
	memcpy(a->buf + mark, enc, (size_t)n);
	a->len -= PKGLEN_RESERVED - (size_t)n;
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	static const uint8_t op = OP_BUFFER;
	size_t mark = open_pkg(a, &op, 1);

	aml_int(a, len);
	aml_bytes(a, data, len);
	aml_close(a, mark);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (!id || strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else {
			aml_fail(a, -EINVAL);
			return;
		}
		v |= d << (4 * (6 - i));
	}
	/* Stored most significant byte first. */
	aml_int(a, __builtin_bswap32(v));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_uuid(struct aml *a, const char *uuid)
{
	/* Text byte order aabbccdd-eeff-gghh-iijj-kkllmmnnoopp; the first
	 * three groups are stored little-endian. */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t text[16], out[16];
	unsigned int n = 0;

	if (!uuid || strlen(uuid) != 36) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (unsigned int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (uuid[i] != '-') {
				aml_fail(a, -EINVAL);
				return;
			}
			continue;
		}
		int hi = hexval(uuid[i]), lo = hexval(uuid[i + 1]);
		if (hi < 0 || lo < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		text[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	for (unsigned int i = 0; i < 16; i++)
		out[i] = text[order[i]];
	aml_buffer(a, out, sizeof(out));
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7)
		aml_fail(a, -EINVAL);
	else
		aml_op(a, (uint8_t)(OP_LOCAL0 + n));
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6)
		aml_fail(a, -EINVAL);
	else
		aml_op(a, (uint8_t)(OP_ARG0 + n));
}

size_t aml_scope_open(struct aml *a, const char *path)
{
	static const uint8_t op = OP_SCOPE;
	size_t mark = open_pkg(a, &op, 1);
	aml_name(a, path);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *path)
{
	static const uint8_t op[2] = { OP_EXT, OP_EXT_DEVICE };
	size_t mark = open_pkg(a, op, 2);
	aml_name(a, path);
	return mark;
}

size_t aml_method_open(struct aml *a, const char *path, unsigned int nargs, bool serialized)
{
	static const uint8_t op = OP_METHOD;
	size_t mark = open_pkg(a, &op, 1);

	aml_name(a, path);
	if (nargs > 7)
		aml_fail(a, -EINVAL);
	aml_op(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

size_t aml_if_open(struct aml *a)
{
	static const uint8_t op = OP_IF;
	return open_pkg(a, &op, 1);
}

size_t aml_else_open(struct aml *a)
{
	static const uint8_t op = OP_ELSE;
	return open_pkg(a, &op, 1);
}

size_t aml_package_open(struct aml *a, unsigned int nelems)
{
	static const uint8_t op = OP_PACKAGE;
	size_t mark = open_pkg(a, &op, 1);

	if (nelems > 255)
		aml_fail(a, -EINVAL);
	aml_op(a, (uint8_t)nelems);
	return mark;
}

size_t aml_field_open(struct aml *a, const char *region, uint8_t flags)
{
	static const uint8_t op[2] = { OP_EXT, OP_EXT_FIELD };
	size_t mark = open_pkg(a, op, 2);

	aml_name(a, region);
	aml_op(a, flags);
	return mark;
}

void aml_field_entry(struct aml *a, const char *name, uint32_t bits)
{
	uint8_t enc[4];

	/* A NameSeg (exactly one segment, no prefix), then the width as a
	 * package length whose value is the bit count itself. */
	if (!name || strchr(name, '.') || name[0] == '\\' || name[0] == '^' || !bits) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (bits > PKGLEN_MAX) {
		aml_fail(a, -E2BIG);
		return;
	}
	aml_name(a, name);
	unsigned int n = pkglen_bytes(bits);
	pkglen_put(bits, n, enc);
	aml_bytes(a, enc, n);
}

void aml_opregion(struct aml *a, const char *name, enum aml_region_space space, uint64_t offset,
		  uint64_t len)
{
	static const uint8_t op[2] = { OP_EXT, OP_EXT_REGION };

	aml_bytes(a, op, 2);
	aml_name(a, name);
	aml_op(a, (uint8_t)space);
	aml_int(a, offset);
	aml_int(a, len);
}

void aml_create_dword_field(struct aml *a, unsigned int arg, unsigned int byte_index,
			    const char *name)
{
	aml_op(a, OP_CREATE_DWORD_FIELD);
	aml_arg(a, arg);
	aml_int(a, byte_index);
	aml_name(a, name);
}

/* Resource descriptors (ACPI 6.x, 6.4). */
#define RS_GEN_PRODUCER 0x0C /* MinFixed, MaxFixed, PosDecode, producer */
#define RS_GEN_CONSUMER 0x0D

static void rs_word(struct aml *rt, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	const uint8_t hdr[] = { 0x88, 0x0D, 0x00, type, RS_GEN_PRODUCER, tflags };

	aml_bytes(rt, hdr, sizeof(hdr));
	put_le(rt, 0, 2); /* granularity */
	put_le(rt, min, 2);
	put_le(rt, max, 2);
	put_le(rt, 0, 2); /* translation */
	put_le(rt, (uint32_t)max - min + 1, 2);
}

void aml_rs_word_bus(struct aml *rt, uint16_t min, uint16_t max)
{
	rs_word(rt, 2, 0, min, max);
}

void aml_rs_word_io(struct aml *rt, uint16_t min, uint16_t max)
{
	rs_word(rt, 1, 0x03 /* entire range */, min, max);
}

void aml_rs_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	const uint8_t d[] = { 0x47,	    0x01 /* Decode16 */, (uint8_t)min, (uint8_t)(min >> 8),
			      (uint8_t)max, (uint8_t)(max >> 8), align,	       len };
	aml_bytes(rt, d, sizeof(d));
}

void aml_rs_dword_mem(struct aml *rt, uint32_t min, uint32_t max, bool cacheable, bool producer)
{
	const uint8_t hdr[] = { 0x87,
				0x17,
				0x00,
				0 /* memory */,
				producer ? RS_GEN_PRODUCER : RS_GEN_CONSUMER,
				(uint8_t)(0x01 /* RW */ | (cacheable ? 0x02 : 0)) };

	aml_bytes(rt, hdr, sizeof(hdr));
	put_le(rt, 0, 4);
	put_le(rt, min, 4);
	put_le(rt, max, 4);
	put_le(rt, 0, 4);
	put_le(rt, (uint64_t)max - min + 1, 4);
}

void aml_rs_qword_mem(struct aml *rt, uint64_t min, uint64_t max, bool cacheable)
{
	const uint8_t hdr[] = {
		0x8A, 0x2B, 0x00, 0, RS_GEN_PRODUCER, (uint8_t)(0x01 | (cacheable ? 0x02 : 0))
	};

	aml_bytes(rt, hdr, sizeof(hdr));
	put_le(rt, 0, 8);
	put_le(rt, min, 8);
	put_le(rt, max, 8);
	put_le(rt, 0, 8);
	put_le(rt, max - min + 1, 8);
}

void aml_rs_irq(struct aml *rt, uint32_t gsi, bool edge, bool active_low)
{
	const uint8_t hdr[] = {
		0x89, 0x06, 0x00,
		(uint8_t)(0x01 /* consumer */ | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0)), 1
	};
	aml_bytes(rt, hdr, sizeof(hdr));
	put_le(rt, gsi, 4);
}

void aml_rs_end(struct aml *rt)
{
	const uint8_t end[] = { 0x79, 0x00 }; /* checksum 0: "treat as correct" */
	aml_bytes(rt, end, sizeof(end));
}
