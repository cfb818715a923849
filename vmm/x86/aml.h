/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small AML (ACPI Machine Language) byte-code builder: just what svmm's
 * DSDT needs. Bytes go into a growable buffer. The first error (bad name,
 * out of memory, object too large) sticks: later calls do nothing and
 * aml_error() reports it, so a builder runs straight through and checks
 * once at the end.
 *
 * Objects with a package length (Scope, Device, Method, If, Else, Package,
 * Field) are opened, filled, then closed:
 *
 *	size_t dev = aml_device_open(a, "PWRB");
 *	aml_name_decl(a, "_HID");
 *	aml_eisaid(a, "PNP0C0C");
 *	aml_close(a, dev);
 *
 * Expressions are written in prefix order: aml_op(a, AML_STORE), then the
 * source, then the target.
 *
 * Names: "\_SB_.PC00" style paths; a leading '\' is the root, each '^' goes
 * up a scope; segments are 1 to 4 of [A-Z0-9_] (not starting with a digit),
 * padded with '_'.
 */
#ifndef SVMM_VMM_X86_AML_H
#define SVMM_VMM_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first error (negative errno), 0 if none */
};

/* Opcodes for aml_op(): expression and statement opcodes of one byte. */
enum aml_opcode {
	AML_ZERO = 0x00,
	AML_ONE = 0x01,
	AML_STORE = 0x70,
	AML_ADD = 0x72,
	AML_AND = 0x7B,
	AML_OR = 0x7D,
	AML_NOTIFY = 0x86,
	AML_LAND = 0x90,
	AML_LNOT = 0x92,
	AML_LEQUAL = 0x93,
	AML_RETURN = 0xA4,
};

/* Region spaces for aml_opregion(). */
enum aml_region_space {
	AML_SYSTEM_MEMORY = 0,
	AML_SYSTEM_IO = 1,
};

/* Field flags for aml_field_open(): access type | lock | update rule. */
#define AML_FIELD_ACC_ANY     0x00
#define AML_FIELD_ACC_BYTE    0x01
#define AML_FIELD_ACC_WORD    0x02
#define AML_FIELD_ACC_DWORD   0x03
#define AML_FIELD_ACC_QWORD   0x04
#define AML_FIELD_LOCK	      0x10
#define AML_FIELD_PRESERVE    0x00
#define AML_FIELD_WRITE_ONES  0x20
#define AML_FIELD_WRITE_ZEROS 0x40

void aml_init(struct aml *a);
void aml_free(struct aml *a);
static inline int aml_error(const struct aml *a)
{
	return a->err;
}

/* Raw bytes and single opcodes. */
void aml_bytes(struct aml *a, const void *data, size_t len);
void aml_op(struct aml *a, uint8_t op);

/* The encoding of a package length covering len bytes of content (the
 * encoding's own bytes are added): writes 1..4 bytes to out and returns
 * how many, or -E2BIG beyond the 28-bit limit. */
int aml_pkglen_encode(size_t content_len, uint8_t out[4]);

/* Data objects. */
void aml_name(struct aml *a, const char *path);	     /* a NameString (reference) */
void aml_name_decl(struct aml *a, const char *path); /* Name(path, <next object>) */
void aml_int(struct aml *a, uint64_t v);	     /* smallest encoding */
void aml_string(struct aml *a, const char *s);
void aml_buffer(struct aml *a, const void *data, size_t len);
/* EISAID("PNP0A08") as its 32-bit compressed integer; -EINVAL if malformed. */
void aml_eisaid(struct aml *a, const char *id);
/* ToUUID("33DB4D5B-1FF7-401C-9657-7441C03DD766"): a 16-byte buffer. */
void aml_uuid(struct aml *a, const char *uuid);
void aml_local(struct aml *a, unsigned int n); /* Local0..7 */
void aml_arg(struct aml *a, unsigned int n);   /* Arg0..6 */

/* Objects with a package length: open returns a mark for aml_close(). */
size_t aml_scope_open(struct aml *a, const char *path);
size_t aml_device_open(struct aml *a, const char *path);
size_t aml_method_open(struct aml *a, const char *path, unsigned int nargs, bool serialized);
size_t aml_if_open(struct aml *a);			     /* then the predicate, then the body */
size_t aml_else_open(struct aml *a);			     /* right after an If's close */
size_t aml_package_open(struct aml *a, unsigned int nelems); /* at most 255 */
size_t aml_field_open(struct aml *a, const char *region, uint8_t flags);
void aml_close(struct aml *a, size_t mark);

/* Inside a Field: a named field of bits bits. */
void aml_field_entry(struct aml *a, const char *name, uint32_t bits);
/* OperationRegion(name, space, offset, len). */
void aml_opregion(struct aml *a, const char *name, enum aml_region_space space, uint64_t offset,
		  uint64_t len);
/* CreateDWordField(ArgN, byte_index, name). */
void aml_create_dword_field(struct aml *a, unsigned int arg, unsigned int byte_index,
			    const char *name);

/*
 * Resource descriptors, appended to a separate struct aml used as the
 * template's byte buffer, ended with aml_rs_end() and emitted with
 * aml_buffer() (that is ResourceTemplate()).
 */
void aml_rs_word_bus(struct aml *rt, uint16_t min, uint16_t max);
void aml_rs_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_rs_word_io(struct aml *rt, uint16_t min, uint16_t max);
void aml_rs_dword_mem(struct aml *rt, uint32_t min, uint32_t max, bool cacheable, bool producer);
void aml_rs_qword_mem(struct aml *rt, uint64_t min, uint64_t max, bool cacheable);
/* Extended Interrupt(ResourceConsumer, edge|level, high|low, Exclusive). */
void aml_rs_irq(struct aml *rt, uint32_t gsi, bool edge, bool active_low);
void aml_rs_end(struct aml *rt);

#endif
