// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/x86/aml.c: AML encodings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/x86/aml.h"

#define assert_bytes(a, ...)                                         \
	do {                                                         \
		const uint8_t want_[] = { __VA_ARGS__ };             \
		assert_int_equal((a)->err, 0);                       \
		assert_int_equal((a)->len, sizeof(want_));           \
		assert_memory_equal((a)->buf, want_, sizeof(want_)); \
	} while (0)

static void integers(void **state)
{
	(void)state;
	struct aml a;

	aml_init(&a);
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 2);
	aml_int(&a, 0xFF);
	aml_int(&a, 0x100);
	aml_int(&a, 0x10000);
	aml_int(&a, 0x100000000ull);
	aml_int(&a, UINT64_MAX);
	assert_bytes(&a, 0x00, 0x01, 0x0A, 0x02, 0x0A, 0xFF, 0x0B, 0x00, 0x01, 0x0C, 0x00, 0x00,
		     0x01, 0x00, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xFF);
	aml_free(&a);
}

static void names(void **state)
{
	(void)state;
	struct aml a;

	aml_init(&a);
	aml_name(&a, "_S5");
	assert_bytes(&a, '_', 'S', '5', '_');
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "\\_SB_.PC00");
	assert_bytes(&a, '\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', '0', '0');
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "\\_SB.GED.PCEJ");
	assert_bytes(&a, '\\', 0x2F, 3, '_', 'S', 'B', '_', 'G', 'E', 'D', '_', 'P', 'C', 'E', 'J');
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "^^AB");
	assert_bytes(&a, '^', '^', 'A', 'B', '_', '_');
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "\\");
	assert_bytes(&a, '\\', 0x00);
	aml_free(&a);
}

static void bad_names_refused(void **state)
{
	(void)state;
	static const char *const bad[] = { "lower", "TOOLONG", "1ABC", "A..B", "A.", ".A", "A-B" };
	struct aml a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a);
		aml_name(&a, bad[i]);
		assert_int_equal(aml_error(&a), -EINVAL);
		/* sticky: later calls do nothing */
		aml_int(&a, 5);
		assert_int_equal(aml_error(&a), -EINVAL);
		aml_free(&a);
	}
}

static void eisaid_and_string(void **state)
{
	(void)state;
	struct aml a;

	aml_init(&a);
	aml_eisaid(&a, "PNP0A03");
	assert_bytes(&a, 0x0C, 0x41, 0xD0, 0x0A, 0x03);
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "PNP0C0C");
	assert_bytes(&a, 0x0C, 0x41, 0xD0, 0x0C, 0x0C);
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "pnp0a03");
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_string(&a, "ACPI0013");
	assert_bytes(&a, 0x0D, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00);
	aml_free(&a);
}

/* A package length's value counts its own bytes. */
static void pkglen_edges(void **state)
{
	(void)state;
	uint8_t e[4];

	assert_int_equal(aml_pkglen_encode(0, e), 1);
	assert_int_equal(e[0], 1);
	assert_int_equal(aml_pkglen_encode(62, e), 1); /* total 63: the 1-byte maximum */
	assert_int_equal(e[0], 63);
	assert_int_equal(aml_pkglen_encode(63, e), 2); /* total 65 */
	assert_int_equal(e[0], 0x41);
	assert_int_equal(e[1], 0x04);
	assert_int_equal(aml_pkglen_encode(4093, e), 2); /* total 4095 */
	assert_int_equal(e[0], 0x4F);
	assert_int_equal(e[1], 0xFF);
	assert_int_equal(aml_pkglen_encode(4094, e), 3); /* total 4097 */
	assert_int_equal(e[0], 0x81);
	assert_int_equal(e[1], 0x00);
	assert_int_equal(e[2], 0x01);
	assert_int_equal(aml_pkglen_encode((1u << 20) - 4, e), 3); /* total 2^20 - 1 */
	assert_int_equal(aml_pkglen_encode((1u << 20) - 3, e), 4);
	assert_int_equal(e[0] >> 6, 3);
	assert_int_equal(aml_pkglen_encode((1u << 28) - 5, e), 4);
	assert_int_equal(aml_pkglen_encode((1u << 28) - 4, e), -E2BIG);
}

/* Scope(ABCD) { <n bytes> }: check the package length read back. */
static size_t scope_pkglen(size_t n, size_t *hdr)
{
	struct aml a;
	static uint8_t body[8192];

	aml_init(&a);
	size_t m = aml_scope_open(&a, "ABCD");
	aml_bytes(&a, body, n);
	aml_close(&a, m);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.buf[0], 0x10);
	unsigned int follow = a.buf[1] >> 6;
	size_t v = follow ? (a.buf[1] & 0x0F) : (a.buf[1] & 0x3F);
	for (unsigned int i = 0; i < follow; i++)
		v |= (size_t)a.buf[2 + i] << (4 + 8 * i);
	*hdr = 1 + follow;
	/* the length covers itself, the name and the body, to the end */
	assert_int_equal(v, a.len - 1);
	assert_memory_equal(a.buf + 1 + *hdr, "ABCD", 4);
	aml_free(&a);
	return v;
}

static void closed_packages(void **state)
{
	(void)state;
	size_t hdr;

	/* total = hdr + 4 (name) + n */
	assert_int_equal(scope_pkglen(58, &hdr), 63);
	assert_int_equal(hdr, 1);
	assert_int_equal(scope_pkglen(59, &hdr), 65);
	assert_int_equal(hdr, 2);
	assert_int_equal(scope_pkglen(4089, &hdr), 4095);
	assert_int_equal(hdr, 2);
	assert_int_equal(scope_pkglen(4090, &hdr), 4097);
	assert_int_equal(hdr, 3);
}

static void nested_objects(void **state)
{
	(void)state;
	struct aml a;

	/* Device(PWRB) { Name(_UID, Zero) } inside Scope(\_SB_) */
	aml_init(&a);
	size_t s = aml_scope_open(&a, "\\_SB_");
	size_t d = aml_device_open(&a, "PWRB");
	aml_name_decl(&a, "_UID");
	aml_int(&a, 0);
	aml_close(&a, d);
	aml_close(&a, s);
	assert_bytes(&a, 0x10, 0x13, '\\', '_', 'S', 'B', '_', 0x5B, 0x82, 0x0B, 'P', 'W', 'R', 'B',
		     0x08, '_', 'U', 'I', 'D', 0x00);
	aml_free(&a);

	/* Method(_EVT, 1, Serialized) {}; Package(2) {1, 2} */
	aml_init(&a);
	aml_close(&a, aml_method_open(&a, "_EVT", 1, true));
	size_t p = aml_package_open(&a, 2);
	aml_int(&a, 1);
	aml_int(&a, 2);
	aml_close(&a, p);
	assert_bytes(&a, 0x14, 0x06, '_', 'E', 'V', 'T', 0x09, 0x12, 0x05, 0x02, 0x01, 0x0A, 0x02);
	aml_free(&a);

	aml_init(&a);
	aml_method_open(&a, "M", 8, false);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_close(&a, 12345); /* a mark that was never opened */
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void fields_and_regions(void **state)
{
	(void)state;
	struct aml a;

	aml_init(&a);
	aml_opregion(&a, "GDST", AML_SYSTEM_MEMORY, 0xFEB00000, 8);
	size_t f = aml_field_open(&a, "GDST", AML_FIELD_ACC_DWORD | AML_FIELD_WRITE_ZEROS);
	aml_field_entry(&a, "GDAT", 32);
	aml_field_entry(&a, "WIDE", 64);
	aml_close(&a, f);
	assert_bytes(&a, 0x5B, 0x80, 'G', 'D', 'S', 'T', 0x00, 0x0C, 0x00, 0x00, 0xB0, 0xFE, 0x0A,
		     0x08, 0x5B, 0x81, 0x11, 'G', 'D', 'S', 'T', 0x43, 'G', 'D', 'A', 'T', 0x20,
		     'W', 'I', 'D', 'E', 0x40, 0x04);
	aml_free(&a);
}

static void resources(void **state)
{
	(void)state;
	struct aml rt;

	aml_init(&rt);
	aml_rs_io(&rt, 0xCF8, 0xCF8, 1, 8);
	aml_rs_irq(&rt, 5, true, false);
	aml_rs_end(&rt);
	assert_bytes(&rt, 0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08, 0x89, 0x06, 0x00, 0x03,
		     0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00);
	aml_free(&rt);

	aml_init(&rt);
	aml_rs_word_bus(&rt, 0, 0);
	assert_int_equal(rt.len, 16);
	aml_rs_dword_mem(&rt, 0xC0000000, 0xE7FFFFFF, false, true);
	assert_int_equal(rt.len, 16 + 26);
	/* length field of the DWord descriptor */
	assert_memory_equal(rt.buf + 16 + 22, "\x00\x00\x00\x28", 4);
	aml_rs_qword_mem(&rt, 1ull << 32, (1ull << 36) - 1, false);
	assert_int_equal(rt.len, 16 + 26 + 46);
	aml_free(&rt);
}

static void uuid_byte_order(void **state)
{
	(void)state;
	struct aml a;

	aml_init(&a);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
	assert_bytes(&a, 0x11, 0x13, 0x0A, 0x10, 0x5B, 0x4D, 0xDB, 0x33, 0xF7, 0x1F, 0x1C, 0x40,
		     0x96, 0x57, 0x74, 0x41, 0xC0, 0x3D, 0xD7, 0x66);
	aml_free(&a);

	aml_init(&a);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD76"); /* short */
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_uuid(&a, "33DB4D5B+1FF7-401C-9657-7441C03DD766");
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers),	     cmocka_unit_test(names),
		cmocka_unit_test(bad_names_refused), cmocka_unit_test(eisaid_and_string),
		cmocka_unit_test(pkglen_edges),	     cmocka_unit_test(closed_packages),
		cmocka_unit_test(nested_objects),    cmocka_unit_test(fields_and_regions),
		cmocka_unit_test(resources),	     cmocka_unit_test(uuid_byte_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
