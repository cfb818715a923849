// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/x86/acpi.c and devices/acpi_ged.c: table layout, pointers,
 * checksums, and the GED/PM registers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/acpi_ged.h"
#include "vmm/x86/acpi.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/layout.h"

#define GPA  LAYOUT_ACPI_START
#define SIZE ((size_t)LAYOUT_ACPI_SIZE)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p + 4) << 32 | rd32(p);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table by guest address, checked independently of acpi_table_find. */
static const uint8_t *table(const uint8_t *m, uint64_t a, const char *sig)
{
	assert_true(a >= GPA && a + 36 <= GPA + SIZE);
	const uint8_t *t = m + (a - GPA);
	assert_memory_equal(t, sig, 4);
	uint32_t len = rd32(t + 4);
	assert_true(len >= 36 && a + len <= GPA + SIZE);
	assert_int_equal(sum(t, len), 0);
	return t;
}

static int count(const uint8_t *m, size_t n, const char *needle, size_t nl)
{
	int c = 0;
	for (size_t i = 0; i + nl <= n; i++)
		c += !memcmp(m + i, needle, nl);
	return c;
}

static void pointers_and_checksums(void **state)
{
	(void)state;
	struct acpi_platform p;
	uint8_t *m = calloc(1, SIZE);
	uint64_t rsdp = 0;

	acpi_platform_default(&p, 2, 8ull << 30);
	int n = acpi_build(&p, m, SIZE, GPA, &rsdp);
	assert_true(n > 0 && (size_t)n <= SIZE);
	assert_int_equal(rsdp, GPA);

	/* RSDP v2: both checksums, length, XSDT pointer */
	assert_memory_equal(m, "RSD PTR ", 8);
	assert_int_equal(sum(m, 20), 0);
	assert_int_equal(sum(m, 36), 0);
	assert_int_equal(m[15], 2);
	assert_int_equal(rd32(m + 20), 36);
	const uint8_t *x = table(m, rd64(m + 24), "XSDT");
	assert_int_equal(rd32(x + 4), 36 + 3 * 8);

	const uint8_t *f = table(m, rd64(x + 36), "FACP");
	const uint8_t *madt = table(m, rd64(x + 44), "APIC");
	const uint8_t *mcfg = table(m, rd64(x + 52), "MCFG");
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);
	const uint8_t *d = table(m, rd64(f + 140), "DSDT");
	uint32_t dlen = rd32(d + 4);

	/* FADT: HW-reduced, reset register and sleep registers on the PM ports */
	uint32_t flags = rd32(f + 112);
	assert_true(flags & (1u << 20));
	assert_true(flags & (1u << 10));
	assert_int_equal(f[116], 1); /* SystemIO */
	assert_int_equal(rd64(f + 120), LAYOUT_PM_PORT);
	assert_int_equal(f[128], 0xFE);
	assert_int_equal(f[244], 1);
	assert_int_equal(rd64(f + 248), LAYOUT_PM_PORT);
	assert_int_equal(f[256], 1);
	assert_int_equal(rd64(f + 260), LAYOUT_PM_PORT);

	/* MADT: two local APICs, the IOAPIC, IRQ0 -> GSI2 */
	assert_int_equal(rd32(madt + 36), LAYOUT_LAPIC_START);
	size_t off = 44, mlen = rd32(madt + 4);
	int lapics = 0, ioapics = 0, isos = 0;
	while (off < mlen) {
		const uint8_t *e = madt + off;
		assert_true(e[1] >= 2 && off + e[1] <= mlen);
		if (e[0] == 0) {
			assert_int_equal(e[3], lapics); /* APIC ID */
			assert_int_equal(rd32(e + 4) & 1, 1);
			lapics++;
		} else if (e[0] == 1) {
			assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_START);
			ioapics++;
		} else if (e[0] == 2) {
			assert_int_equal(e[3], 0);
			assert_int_equal(rd32(e + 4), 2);
			isos++;
		}
		off += e[1];
	}
	assert_int_equal(off, mlen);
	assert_int_equal(lapics, 2);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);

	/* MCFG: ECAM of bus 0 */
	assert_int_equal(rd32(mcfg + 4), 60);
	assert_int_equal(rd64(mcfg + 44), LAYOUT_PCI_ECAM_START);
	assert_int_equal(mcfg[54], 0);
	assert_int_equal(mcfg[55], 0);

	/* DSDT: 32 slots (NameSegs S000..S031 and their _SUN), GED, PWRB, _S5 */
	assert_int_equal(count(d, dlen, "_SUN", 4), 32);
	assert_int_equal(count(d, dlen, "_EJ0", 4), 32);
	/* each slot: its Device and PCNT's two Notifys; PCNT, _PRT once */
	assert_int_equal(count(d, dlen, "S005", 4), 3);
	assert_int_equal(count(d, dlen, "S031", 4), 3);
	assert_int_equal(count(d, dlen, "PCNT", 4), 2); /* the method, _EVT's call */
	assert_int_equal(count(d, dlen, "_PRT", 4), 1);
	assert_int_equal(count(d, dlen, "S032", 4), 0);
	assert_int_equal(count(d, dlen, "ACPI0013", 8), 1);
	assert_int_equal(count(d, dlen, "_S5_", 4), 1);
	assert_int_equal(count(d, dlen, "\x0C\x41\xD0\x0C\x0C", 5), 1); /* PNP0C0C */
	assert_int_equal(count(d, dlen, "\x0C\x41\xD0\x05\x01", 5), 1); /* PNP0501 */
	/* COM1's IO descriptor: 0x3F8, 8 ports */
	assert_int_equal(count(d, dlen, "\x47\x01\xF8\x03\xF8\x03\x01\x08", 8), 1);
	assert_int_equal(count(d, dlen, "\x0C\x41\xD0\x0B\x00", 5), 1); /* PNP0B00 */
	assert_int_equal(count(d, dlen, "\x47\x01\x70\x00\x70\x00\x01\x02", 8), 1);

	/* acpi_table_find agrees with the manual walk */
	size_t len;
	assert_int_equal(acpi_table_find(m, SIZE, GPA, rsdp, "DSDT", &len), d - m);
	assert_int_equal(len, dlen);
	assert_int_equal(acpi_table_find(m, SIZE, GPA, rsdp, "APIC", &len), madt - m);
	assert_int_equal(acpi_table_find(m, SIZE, GPA, rsdp, "HPET", &len), -ENOENT);
	/* a corrupted byte is caught by the checksum */
	m[(d - m) + 100] ^= 0x55;
	assert_int_equal(acpi_table_find(m, SIZE, GPA, rsdp, "DSDT", &len), -EINVAL);
	free(m);
}

static void x2apic_ids(void **state)
{
	(void)state;
	static const uint32_t ids[] = { 0, 254, 255, 300 };
	struct acpi_platform p;
	uint8_t *m = calloc(1, SIZE);
	uint64_t rsdp;
	size_t len;

	acpi_platform_default(&p, 4, 512ull << 20);
	p.apic_ids = ids;
	assert_true(acpi_build(&p, m, SIZE, GPA, &rsdp) > 0);
	long off = acpi_table_find(m, SIZE, GPA, rsdp, "APIC", &len);
	assert_true(off > 0);
	int lapic = 0, x2 = 0;
	for (size_t o = 44; o < len; o += m[off + o + 1]) {
		const uint8_t *e = m + off + o;
		if (e[0] == 0)
			lapic++;
		if (e[0] == 9) {
			assert_int_equal(e[1], 16);
			assert_int_equal(rd32(e + 4), ids[2 + x2]);
			assert_int_equal(rd32(e + 12), 2 + x2); /* UID */
			x2++;
		}
	}
	assert_int_equal(lapic, 2);
	assert_int_equal(x2, 2);
	free(m);
}

static void bad_platforms_refused(void **state)
{
	(void)state;
	static const uint32_t dup[] = { 1, 1 };
	struct acpi_platform p;
	uint8_t *m = calloc(1, SIZE);
	uint64_t rsdp;

	acpi_platform_default(&p, 0, 1ull << 30);
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 2, 1ull << 30);
	p.apic_ids = dup;
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 1, 1ull << 30);
	p.nslots = 33;
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 1, 1ull << 30);
	p.bus_start = 2;
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 1, 1ull << 30);
	p.mmio32_base = 0xF0000000;
	p.mmio32_size = 0x20000000; /* crosses 4 GiB */
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 1, 1ull << 30);
	p.pci_io_base = 0xF000;
	p.pci_io_size = 0x2000;
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	acpi_platform_default(&p, 1, 1ull << 30);
	assert_int_equal(acpi_build(&p, m, SIZE, GPA + 8, &rsdp), -EINVAL); /* unaligned */
	p.com1_port = 0xFFFC;
	assert_int_equal(acpi_build(&p, m, SIZE, GPA, &rsdp), -EINVAL);
	p.com1_port = 0; /* no COM1 is fine */
	assert_true(acpi_build(&p, m, SIZE, GPA, &rsdp) > 0);
	assert_int_equal(acpi_build(&p, m, 256, GPA, &rsdp), -ENOSPC);
	/* the largest platform still fits the reserved area */
	acpi_platform_default(&p, ACPI_MAX_CPUS, 1ull << 40);
	assert_true(acpi_build(&p, m, SIZE, GPA, &rsdp) > 0);
	free(m);
}

static void hostile_tables_refused(void **state)
{
	(void)state;
	struct acpi_platform p;
	uint8_t *m = calloc(1, SIZE);
	uint64_t rsdp;
	size_t len;

	acpi_platform_default(&p, 1, 1ull << 30);
	int n = acpi_build(&p, m, SIZE, GPA, &rsdp);
	assert_true(n > 0);
	/* RSDP outside the area, XSDT pointer out of range */
	assert_int_equal(acpi_table_find(m, SIZE, GPA, GPA - 16, "RSDP", &len), -EINVAL);
	assert_int_equal(acpi_table_find(m, SIZE, GPA, GPA + SIZE - 8, "RSDP", &len), -EINVAL);
	memcpy(m + 24, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
	m[32] = 0;
	m[32] = (uint8_t)-sum(m, 36);
	assert_int_equal(acpi_table_find(m, SIZE, GPA, rsdp, "XSDT", &len), -EINVAL);
	free(m);
}

/* GED registers */
struct ged_log {
	int irqs, ejects;
	uint32_t irq, slot;
};

static void log_irq(void *o, uint32_t irq)
{
	struct ged_log *l = o;
	l->irqs++;
	l->irq = irq;
}

static void log_eject(void *o, uint32_t slot)
{
	struct ged_log *l = o;
	l->ejects++;
	l->slot = slot;
}

static const struct acpi_ged_ops ged_ops = { log_irq, log_eject };

static void ged_registers(void **state)
{
	(void)state;
	struct bus mmio;
	struct acpi_ged g;
	struct ged_log l = { 0 };
	uint32_t v;
	uint8_t b;

	bus_init(&mmio);
	acpi_ged_init(&g, LAYOUT_GED_IRQ, &ged_ops, &l);
	assert_int_equal(acpi_ged_register(&g, &mmio, LAYOUT_GED_START), 0);

	/* power button: event bit set, IRQ raised; the read clears it */
	acpi_ged_press_power_button(&g);
	assert_int_equal(l.irqs, 1);
	assert_int_equal(l.irq, LAYOUT_GED_IRQ);
	assert_true(bus_access(&mmio, LAYOUT_GED_START, &v, 4, false));
	assert_int_equal(v, ACPI_GED_EVT_POWER_BUTTON);
	assert_true(bus_access(&mmio, LAYOUT_GED_START, &v, 4, false));
	assert_int_equal(v, 0);
	/* a byte read or a write does not consume the event */
	acpi_ged_press_power_button(&g);
	b = 0xAA;
	bus_access(&mmio, LAYOUT_GED_START, &b, 1, false);
	assert_int_equal(b, 0);
	v = 0;
	bus_access(&mmio, LAYOUT_GED_START, &v, 4, true);
	bus_access(&mmio, LAYOUT_GED_START, &v, 4, false);
	assert_int_equal(v, ACPI_GED_EVT_POWER_BUTTON);

	/* eject register; bad sizes and offsets are ignored */
	v = 5;
	assert_true(bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_EJECT, &v, 4, true));
	assert_int_equal(l.ejects, 1);
	assert_int_equal(l.slot, 5);
	v = 6;
	bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_EJECT, &v, 2, true);
	bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_EJECT + 1, &v, 1, true);
	assert_int_equal(l.ejects, 1);
	/* hotplug: slot bits read and cleared, one interrupt per change */
	int irqs = l.irqs;
	acpi_ged_pci_changed(&g, 1u << 3, 0);
	acpi_ged_pci_changed(&g, 1u << 7, 1u << 9);
	assert_int_equal(l.irqs, irqs + 2);
	assert_true(bus_access(&mmio, LAYOUT_GED_START, &v, 4, false));
	assert_int_equal(v, ACPI_GED_EVT_PCI_HOTPLUG);
	assert_true(bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_PCIU, &v, 4, false));
	assert_int_equal(v, (1u << 3) | (1u << 7));
	assert_true(bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_PCIU, &v, 4, false));
	assert_int_equal(v, 0);
	assert_true(bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_PCID, &v, 4, false));
	assert_int_equal(v, 1u << 9);
	assert_true(bus_access(&mmio, LAYOUT_GED_START + ACPI_GED_REG_PCID, &v, 4, false));
	assert_int_equal(v, 0);
	uint64_t q = 0;
	assert_false(bus_access(&mmio, LAYOUT_GED_START + 12, &q, 8, false)); /* past the end */
	assert_int_equal(q, UINT64_MAX);
	/* a second GED on the same range is refused */
	struct acpi_ged g2;
	acpi_ged_init(&g2, 6, &ged_ops, &l);
	assert_int_equal(acpi_ged_register(&g2, &mmio, LAYOUT_GED_START + 4), -EEXIST);
	bus_free(&mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pointers_and_checksums), cmocka_unit_test(x2apic_ids),
		cmocka_unit_test(bad_platforms_refused),  cmocka_unit_test(hostile_tables_refused),
		cmocka_unit_test(ged_registers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
