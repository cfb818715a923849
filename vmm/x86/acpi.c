// SPDX-License-Identifier: Apache-2.0
/* ACPI table construction (ACPI 6.3 layouts). */
#include "vmm/x86/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/x86/aml.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/log.h"

#define HDR_LEN	   36
#define RSDP_LEN   36
#define FADT_LEN   276
#define OEM_ID	   "SVMM  "
#define CREATOR_ID "SVMM"

/* Linux's PCI host bridge _OSC UUID (PCI Firmware Specification). */
#define PCI_OSC_UUID "33DB4D5B-1FF7-401C-9657-7441C03DD766"
/* Controls granted by _OSC: PME, AER, PCIe capability structure. Native
 * PCIe and SHPC hotplug stay with the firmware: slots are ACPI's. */
#define PCI_OSC_GRANTED 0x1C

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[off + i];
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return (uint64_t)get32(p, off + 4) << 32 | get32(p, off);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Standard table header; length and checksum are filled in by finish(). */
static void header(uint8_t *t, const char *sig, uint8_t rev, const char *table_id)
{
	char id[9];

	memcpy(t, sig, 4);
	put8(t, 8, rev);
	memcpy(t + 10, OEM_ID, 6);
	snprintf(id, sizeof(id), "%-8s", table_id);
	memcpy(t + 16, id, 8);
	put32(t, 24, 1); /* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t, 32, 1); /* creator revision */
}

static void finish(uint8_t *t, size_t len)
{
	put32(t, 4, (uint32_t)len);
	t[9] = 0;
	t[9] = (uint8_t)-sum8(t, len);
}

/* Generic Address Structure for a byte-wide I/O port. */
static void gas_io8(uint8_t *p, size_t off, uint16_t port)
{
	put8(p, off, 1);     /* SystemIO */
	put8(p, off + 1, 8); /* bit width */
	put8(p, off + 2, 0); /* bit offset */
	put8(p, off + 3, 1); /* byte access */
	put64(p, off + 4, port);
}

void acpi_platform_default(struct acpi_platform *p, unsigned int ncpus, uint64_t ram_size)
{
	memset(p, 0, sizeof(*p));
	p->ncpus = ncpus;
	p->lapic_base = LAYOUT_LAPIC_START;
	p->ioapic_base = LAYOUT_IOAPIC_START;
	p->ecam_base = LAYOUT_PCI_ECAM_START;
	p->bus_start = 0;
	p->bus_end = 0;
	p->pci_io_base = LAYOUT_PCI_IO_START;
	p->pci_io_size = LAYOUT_PCI_IO_SIZE;
	p->mmio32_base = LAYOUT_PCI_MMIO_START;
	p->mmio32_size = LAYOUT_PCI_MMIO_SIZE;
	p->mmio64_base = layout_mmio64_start(ram_size);
	p->mmio64_size = LAYOUT_PCI_MMIO64_SIZE;
	p->nslots = ACPI_MAX_SLOTS;
	p->ged_base = LAYOUT_GED_START;
	p->ged_irq = LAYOUT_GED_IRQ;
	p->sleep_ctl_port = LAYOUT_PM_PORT;
	p->sleep_sts_port = LAYOUT_PM_PORT;
	p->reset_port = LAYOUT_PM_PORT;
	p->reset_value = ACPI_DEFAULT_RESET_VALUE;
	p->com1_port = LAYOUT_COM1_PORT;
	p->com1_irq = LAYOUT_COM1_IRQ;
	p->rtc_port = LAYOUT_RTC_PORT;
	p->rtc_irq = LAYOUT_RTC_IRQ;
}

static int bad(const char *field, const char *why)
{
	log_msg(LV_ERROR, "acpi", "acpi: platform field %s %s", field, why);
	return -EINVAL;
}

static int check_platform(const struct acpi_platform *p)
{
	if (p->ncpus < 1 || p->ncpus > ACPI_MAX_CPUS)
		return bad("ncpus", "must be 1..1024");
	if (p->apic_ids) {
		for (unsigned int i = 0; i < p->ncpus; i++) {
			if (p->apic_ids[i] == UINT32_MAX)
				return bad("apic_ids", "holds the invalid ID 0xffffffff");
			for (unsigned int j = 0; j < i; j++)
				if (p->apic_ids[i] == p->apic_ids[j])
					return bad("apic_ids", "holds a duplicate");
		}
	}
	if (p->lapic_base > UINT32_MAX || p->ioapic_base > UINT32_MAX)
		return bad("lapic_base/ioapic_base", "must be below 4 GiB");
	if (p->bus_start > p->bus_end)
		return bad("bus_start", "is above bus_end");
	if (p->ecam_base & ((1ull << 20) - 1) ||
	    p->ecam_base > UINT64_MAX - ((uint64_t)(p->bus_end + 1) << 20))
		return bad("ecam_base", "must be 1 MiB aligned and cover the buses");
	if (p->pci_io_size &&
	    (p->pci_io_base > 0xFFFF || p->pci_io_size > 0x10000 - p->pci_io_base))
		return bad("pci_io_base/size", "must lie within the 64 KiB I/O space");
	if (!p->mmio32_size || p->mmio32_base > UINT32_MAX ||
	    p->mmio32_size > (1ull << 32) - p->mmio32_base)
		return bad("mmio32_base/size", "must be a non-empty window below 4 GiB");
	if (p->mmio64_size && p->mmio64_base > UINT64_MAX - p->mmio64_size + 1)
		return bad("mmio64_base/size", "wraps");
	if (p->nslots > ACPI_MAX_SLOTS)
		return bad("nslots", "is above 32");
	if (p->ged_base > UINT64_MAX - ACPI_GED_REGS_LEN)
		return bad("ged_base", "wraps");
	if (p->com1_port > 0xFFFF - 7)
		return bad("com1_port", "leaves no room for the 8 registers");
	if (p->rtc_port > 0xFFFF - 1)
		return bad("rtc_port", "leaves no room for the 2 registers");
	if (!p->sleep_ctl_port || !p->sleep_sts_port || !p->reset_port)
		return bad("sleep_ctl_port/sleep_sts_port/reset_port", "must be set");
	return 0;
}

/* End the resource template rt, emit Name(_CRS, rt) and free rt. */
static void name_crs(struct aml *a, struct aml *rt)
{
	aml_rs_end(rt);
	if (rt->err && !a->err)
		a->err = rt->err;
	aml_name_decl(a, "_CRS");
	aml_buffer(a, rt->buf, rt->len);
	aml_free(rt);
}

static void dsdt_pci_crs(struct aml *a, const struct acpi_platform *p)
{
	struct aml rt;

	aml_init(&rt);
	aml_rs_word_bus(&rt, p->bus_start, p->bus_end);
	aml_rs_io(&rt, LAYOUT_PCI_CONFIG_PORT, LAYOUT_PCI_CONFIG_PORT, 1, 8);
	/* Legacy ports below the config ports are routed through the bridge
	 * too, as on a PC; then the BAR window. */
	aml_rs_word_io(&rt, 0x0000, LAYOUT_PCI_CONFIG_PORT - 1);
	if (p->pci_io_size)
		aml_rs_word_io(&rt, (uint16_t)p->pci_io_base,
			       (uint16_t)(p->pci_io_base + p->pci_io_size - 1));
	aml_rs_dword_mem(&rt, (uint32_t)p->mmio32_base,
			 (uint32_t)(p->mmio32_base + p->mmio32_size - 1), false, true);
	if (p->mmio64_size)
		aml_rs_qword_mem(&rt, p->mmio64_base, p->mmio64_base + p->mmio64_size - 1, false);
	name_crs(a, &rt);
}

static void dsdt_pci_osc(struct aml *a)
{
	size_t m = aml_method_open(a, "_OSC", 4, false);
	aml_create_dword_field(a, 3, 0, "CDW1");
	size_t i = aml_if_open(a);
	aml_op(a, AML_LEQUAL);
	aml_arg(a, 0);
	aml_uuid(a, PCI_OSC_UUID);
	{
		aml_create_dword_field(a, 3, 8, "CDW3");
		aml_op(a, AML_AND); /* CDW3 &= granted */
		aml_name(a, "CDW3");
		aml_int(a, PCI_OSC_GRANTED);
		aml_name(a, "CDW3");
		size_t j = aml_if_open(a); /* revision 1 only */
		aml_op(a, AML_LNOT);
		aml_op(a, AML_LEQUAL);
		aml_arg(a, 1);
		aml_int(a, 1);
		aml_op(a, AML_OR); /* unrecognized revision */
		aml_name(a, "CDW1");
		aml_int(a, 0x08);
		aml_name(a, "CDW1");
		aml_close(a, j);
	}
	aml_close(a, i);
	size_t e = aml_else_open(a);
	aml_op(a, AML_OR); /* unrecognized UUID */
	aml_name(a, "CDW1");
	aml_int(a, 0x04);
	aml_name(a, "CDW1");
	aml_close(a, e);
	aml_op(a, AML_RETURN);
	aml_arg(a, 3);
	aml_close(a, m);
}

static void dsdt_slot(struct aml *a, unsigned int slot)
{
	char name[5] = { 'S', '0', (char)('0' + slot / 10 % 10), (char)('0' + slot % 10), 0 };

	size_t d = aml_device_open(a, name);
	aml_name_decl(a, "_ADR");
	aml_int(a, (uint64_t)slot << 16);
	aml_name_decl(a, "_SUN");
	aml_int(a, slot);
	/* Eject request: tell the VMM which slot (GED EJECT register). */
	size_t m = aml_method_open(a, "_EJ0", 1, false);
	aml_op(a, AML_STORE);
	aml_int(a, slot);
	aml_name(a, "\\_SB_.GED_.PCEJ");
	aml_close(a, m);
	aml_close(a, d);
}

/* _PRT: every slot's INTA..INTD to its GSI (static, no link devices), the
 * swizzle of vmm/kvm/layout.h; level-triggered, active low (ACPI's default
 * for a GSI named in _PRT). */
static void dsdt_pci_prt(struct aml *a, const struct acpi_platform *p)
{
	aml_name_decl(a, "_PRT");
	size_t pk = aml_package_open(a, p->nslots * 4);
	for (unsigned int s = 0; s < p->nslots; s++)
		for (unsigned int pin = 1; pin <= 4; pin++) {
			size_t e = aml_package_open(a, 4);
			aml_int(a, (uint64_t)s << 16 | 0xFFFF); /* any function of slot s */
			aml_int(a, pin - 1);			/* 0: INTA */
			aml_int(a, 0);				/* source: none, a GSI */
			aml_int(a, layout_pci_intx_gsi(s, pin));
			aml_close(a, e);
		}
	aml_close(a, pk);
}

/* PCNT: the GED's hotplug bits, read once (they clear), as a Notify to each
 * slot: 1 (device check) for a new device, 3 (eject request) for one to go. */
static void dsdt_pci_pcnt(struct aml *a, const struct acpi_platform *p)
{
	size_t m = aml_method_open(a, "PCNT", 0, true);
	aml_op(a, AML_STORE);
	aml_name(a, "\\_SB_.GED_.PCIU");
	aml_local(a, 1);
	aml_op(a, AML_STORE);
	aml_name(a, "\\_SB_.GED_.PCID");
	aml_local(a, 2);
	for (unsigned int s = 0; s < p->nslots; s++) {
		char name[5] = { 'S', '0', (char)('0' + s / 10 % 10), (char)('0' + s % 10), 0 };
		for (unsigned int k = 0; k < 2; k++) {
			size_t i = aml_if_open(a);
			aml_op(a, AML_AND);
			aml_local(a, 1 + k);
			aml_int(a, 1ull << s);
			aml_op(a, 0x00); /* no target */
			aml_op(a, AML_NOTIFY);
			aml_name(a, name);
			aml_int(a, k ? 3 : 1);
			aml_close(a, i);
		}
	}
	aml_close(a, m);
}

static void dsdt_pci(struct aml *a, const struct acpi_platform *p)
{
	size_t d = aml_device_open(a, "PC00");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name_decl(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name_decl(a, "_SEG");
	aml_int(a, 0);
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_name_decl(a, "_BBN");
	aml_int(a, p->bus_start);
	dsdt_pci_crs(a, p);
	dsdt_pci_osc(a);
	dsdt_pci_prt(a, p);
	dsdt_pci_pcnt(a, p);
	for (unsigned int s = 0; s < p->nslots; s++)
		dsdt_slot(a, s);
	aml_close(a, d);
}

/* Motherboard resources: reserves the ECAM range, which Linux wants to
 * see before it uses MCFG. */
static void dsdt_mbrd(struct aml *a, const struct acpi_platform *p)
{
	uint64_t ecam_len = (uint64_t)(p->bus_end + 1) << 20;
	struct aml rt;

	size_t d = aml_device_open(a, "MBRD");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_init(&rt);
	if (p->ecam_base + ecam_len - 1 <= UINT32_MAX)
		aml_rs_dword_mem(&rt, (uint32_t)p->ecam_base,
				 (uint32_t)(p->ecam_base + ecam_len - 1), false, false);
	else
		aml_rs_qword_mem(&rt, p->ecam_base, p->ecam_base + ecam_len - 1, false);
	name_crs(a, &rt);
	aml_close(a, d);
}

static void dsdt_ged(struct aml *a, const struct acpi_platform *p)
{
	struct aml rt;

	size_t d = aml_device_open(a, "GED_");
	aml_name_decl(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_init(&rt);
	aml_rs_irq(&rt, p->ged_irq, true, false);
	name_crs(a, &rt);
	aml_opregion(a, "GDST", AML_SYSTEM_MEMORY, p->ged_base, ACPI_GED_REGS_LEN);
	size_t f = aml_field_open(a, "GDST", AML_FIELD_ACC_DWORD | AML_FIELD_WRITE_ZEROS);
	aml_field_entry(a, "GDAT", 32); /* ACPI_GED_REG_EVENT */
	aml_field_entry(a, "PCEJ", 32); /* ACPI_GED_REG_EJECT */
	aml_field_entry(a, "PCIU", 32); /* ACPI_GED_REG_PCIU */
	aml_field_entry(a, "PCID", 32); /* ACPI_GED_REG_PCID */
	aml_close(a, f);

	size_t m = aml_method_open(a, "_EVT", 1, true);
	aml_op(a, AML_STORE);
	aml_name(a, "GDAT");
	aml_local(a, 0);
	size_t i = aml_if_open(a);
	aml_op(a, AML_AND);
	aml_local(a, 0);
	aml_int(a, ACPI_GED_EVT_POWER_BUTTON);
	aml_op(a, 0x00); /* no target */
	aml_op(a, AML_NOTIFY);
	aml_name(a, "\\_SB_.PWRB");
	aml_int(a, 0x80);
	aml_close(a, i);
	i = aml_if_open(a);
	aml_op(a, AML_AND);
	aml_local(a, 0);
	aml_int(a, ACPI_GED_EVT_PCI_HOTPLUG);
	aml_op(a, 0x00); /* no target */
	aml_name(a, "\\_SB_.PC00.PCNT");
	aml_close(a, i);
	aml_close(a, m);
	aml_close(a, d);
}

/* A legacy ISA device: _HID, _UID, then IO (len ports at port) and an
 * edge, active-high interrupt. */
static void dsdt_isa(struct aml *a, const char *name, const char *hid, uint16_t port, uint8_t len,
		     uint32_t irq)
{
	struct aml rt;

	size_t d = aml_device_open(a, name);
	aml_name_decl(a, "_HID");
	aml_eisaid(a, hid);
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_init(&rt);
	aml_rs_io(&rt, port, port, 1, len);
	aml_rs_irq(&rt, irq, true, false);
	name_crs(a, &rt);
	aml_close(a, d);
}

static void dsdt_body(struct aml *a, const struct acpi_platform *p)
{
	/* S5: SLP_TYP for the sleep control register (HW-reduced). */
	aml_name_decl(a, "_S5_");
	size_t pk = aml_package_open(a, 4);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_close(a, pk);

	size_t sb = aml_scope_open(a, "\\_SB_");
	dsdt_pci(a, p);
	dsdt_mbrd(a, p);
	if (p->com1_port)
		dsdt_isa(a, "COM1", "PNP0501", p->com1_port, 8, p->com1_irq);
	if (p->rtc_port)
		dsdt_isa(a, "RTC_", "PNP0B00", p->rtc_port, 2, p->rtc_irq);
	dsdt_ged(a, p);
	size_t d = aml_device_open(a, "PWRB");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0C0C");
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_close(a, d);
	aml_close(a, sb);
}

static size_t fadt(uint8_t *t, const struct acpi_platform *p, uint64_t dsdt_gpa)
{
	header(t, "FACP", 6, "SVMMFACP");
	/* FIRMWARE_CTRL/DSDT (32-bit) stay 0: X_DSDT is used. No SCI, no
	 * PM1/GPE blocks, no PM timer: hardware-reduced. */
	/* IAPC_BOOT_ARCH: no VGA; no i8042 advertised (Linux skips probing
	 * it; reboot through port 0x64 still works); CMOS RTC present. */
	put16(t, 109, 1u << 2);
	put32(t, 112,
	      (1u << 4) /* PWR_BUTTON: control-method power button */ |
		      (1u << 5) /* SLP_BUTTON: none fixed */ | (1u << 10) /* RESET_REG_SUP */ |
		      (1u << 20) /* HW_REDUCED_ACPI */);
	gas_io8(t, 116, p->reset_port);
	put8(t, 128, p->reset_value);
	put8(t, 131, 3); /* FADT minor version: ACPI 6.3 */
	put64(t, 140, dsdt_gpa);
	gas_io8(t, 244, p->sleep_ctl_port);
	gas_io8(t, 256, p->sleep_sts_port);
	memcpy(t + 268, "SVMM\0\0\0\0", 8); /* hypervisor vendor identity */
	finish(t, FADT_LEN);
	return FADT_LEN;
}

static size_t madt_len(const struct acpi_platform *p)
{
	size_t len = HDR_LEN + 8;

	for (unsigned int i = 0; i < p->ncpus; i++) {
		uint32_t id = p->apic_ids ? p->apic_ids[i] : i;
		len += id < 255 ? 8 : 16;
	}
	return len + 12 /* IOAPIC */ + 10 /* ISO */ + 6 /* LAPIC NMI */;
}

static size_t madt(uint8_t *t, const struct acpi_platform *p)
{
	size_t off = HDR_LEN + 8;

	header(t, "APIC", 5, "SVMMAPIC");
	put32(t, 36, (uint32_t)p->lapic_base);
	put32(t, 40, 1); /* PCAT_COMPAT: KVM's in-kernel irqchip has the 8259s */
	for (unsigned int i = 0; i < p->ncpus; i++) {
		uint32_t id = p->apic_ids ? p->apic_ids[i] : i;
		if (id < 255) {
			put8(t, off, 0); /* Processor Local APIC */
			put8(t, off + 1, 8);
			put8(t, off + 2, (uint8_t)i); /* ACPI processor UID */
			put8(t, off + 3, (uint8_t)id);
			put32(t, off + 4, 1); /* enabled */
			off += 8;
		} else {
			put8(t, off, 9); /* Processor Local x2APIC */
			put8(t, off + 1, 16);
			put32(t, off + 4, id);
			put32(t, off + 8, 1);
			put32(t, off + 12, i);
			off += 16;
		}
	}
	put8(t, off, 1); /* I/O APIC */
	put8(t, off + 1, 12);
	put8(t, off + 2, 0); /* I/O APIC ID, KVM's reset value */
	put32(t, off + 4, (uint32_t)p->ioapic_base);
	put32(t, off + 8, 0); /* GSI base */
	off += 12;
	/* KVM routes the PIT (ISA IRQ 0) to IOAPIC pin 2. */
	put8(t, off, 2); /* Interrupt Source Override */
	put8(t, off + 1, 10);
	put8(t, off + 2, 0);  /* ISA */
	put8(t, off + 3, 0);  /* IRQ 0 */
	put32(t, off + 4, 2); /* GSI 2 */
	put16(t, off + 8, 0); /* conforming polarity and trigger */
	off += 10;
	put8(t, off, 4); /* Local APIC NMI: all processors, LINT1 */
	put8(t, off + 1, 6);
	put8(t, off + 2, 0xFF);
	put16(t, off + 3, 0);
	put8(t, off + 5, 1);
	off += 6;
	finish(t, off);
	return off;
}

static size_t mcfg(uint8_t *t, const struct acpi_platform *p)
{
	header(t, "MCFG", 1, "SVMMMCFG");
	/* 8 reserved bytes, then one allocation: base, segment, buses. */
	put64(t, 44, p->ecam_base);
	put16(t, 52, 0);
	put8(t, 54, p->bus_start);
	put8(t, 55, p->bus_end);
	finish(t, 60);
	return 60;
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

int acpi_build(const struct acpi_platform *p, void *mem, size_t size, uint64_t gpa,
	       uint64_t *rsdp_gpa)
{
	uint8_t *m = mem;
	struct aml body;
	int err = check_platform(p);

	if (err)
		return err;
	if (gpa & 15 || gpa > UINT32_MAX || size > UINT32_MAX - gpa + 1) {
		log_msg(LV_ERROR, "acpi",
			"acpi: table area 0x%llx+0x%zx must be 16-byte aligned and below 4 GiB",
			(unsigned long long)gpa, size);
		return -EINVAL;
	}
	aml_init(&body);
	dsdt_body(&body, p);
	err = aml_error(&body);
	if (err) {
		aml_free(&body);
		return err;
	}

	size_t off_dsdt = align16(RSDP_LEN);
	size_t off_fadt = align16(off_dsdt + HDR_LEN + body.len);
	size_t off_madt = align16(off_fadt + FADT_LEN);
	size_t off_mcfg = align16(off_madt + madt_len(p));
	size_t off_xsdt = align16(off_mcfg + 60);
	size_t end = off_xsdt + HDR_LEN + 3 * 8;
	if (end > size) {
		aml_free(&body);
		return -ENOSPC;
	}
	memset(m, 0, end);

	header(m + off_dsdt, "DSDT", 2, "SVMMDSDT");
	memcpy(m + off_dsdt + HDR_LEN, body.buf, body.len);
	finish(m + off_dsdt, HDR_LEN + body.len);
	aml_free(&body);

	fadt(m + off_fadt, p, gpa + off_dsdt);
	madt(m + off_madt, p);
	mcfg(m + off_mcfg, p);

	header(m + off_xsdt, "XSDT", 1, "SVMMXSDT");
	put64(m, off_xsdt + HDR_LEN, gpa + off_fadt);
	put64(m, off_xsdt + HDR_LEN + 8, gpa + off_madt);
	put64(m, off_xsdt + HDR_LEN + 16, gpa + off_mcfg);
	finish(m + off_xsdt, HDR_LEN + 24);

	memcpy(m, "RSD PTR ", 8);
	memcpy(m + 9, OEM_ID, 6);
	put8(m, 15, 2);	 /* ACPI 2.0+ */
	put32(m, 16, 0); /* no RSDT */
	put32(m, 20, RSDP_LEN);
	put64(m, 24, gpa + off_xsdt);
	m[8] = (uint8_t)-sum8(m, 20);
	m[32] = (uint8_t)-sum8(m, RSDP_LEN);

	*rsdp_gpa = gpa;
	return (int)end;
}

/* The table at guest address a, checked: inside mem, length, checksum. */
static long table_at(const uint8_t *m, size_t size, uint64_t gpa, uint64_t a, size_t *len)
{
	if (a < gpa || a - gpa > size || size - (a - gpa) < HDR_LEN)
		return -EINVAL;
	size_t off = (size_t)(a - gpa);
	uint32_t l = get32(m, off + 4);
	if (l < HDR_LEN || l > size - off || sum8(m + off, l))
		return -EINVAL;
	*len = l;
	return (long)off;
}

long acpi_table_find(const void *mem, size_t size, uint64_t gpa, uint64_t rsdp_gpa, const char *sig,
		     size_t *len)
{
	const uint8_t *m = mem;
	size_t xlen, tlen;

	if (rsdp_gpa < gpa || rsdp_gpa - gpa > size || size - (rsdp_gpa - gpa) < RSDP_LEN)
		return -EINVAL;
	size_t r = (size_t)(rsdp_gpa - gpa);
	if (memcmp(m + r, "RSD PTR ", 8) || sum8(m + r, 20) || m[r + 15] < 2 ||
	    get32(m, r + 20) != RSDP_LEN || sum8(m + r, RSDP_LEN))
		return -EINVAL;
	if (!strcmp(sig, "RSDP")) {
		*len = RSDP_LEN;
		return (long)r;
	}
	long x = table_at(m, size, gpa, get64(m, r + 24), &xlen);
	if (x < 0 || memcmp(m + x, "XSDT", 4) || (xlen - HDR_LEN) % 8)
		return -EINVAL;
	if (!strcmp(sig, "XSDT")) {
		*len = xlen;
		return x;
	}
	bool want_dsdt = !strcmp(sig, "DSDT");
	for (size_t e = HDR_LEN; e < xlen; e += 8) {
		long t = table_at(m, size, gpa, get64(m, (size_t)x + e), &tlen);
		if (t < 0)
			return -EINVAL;
		if (want_dsdt && !memcmp(m + t, "FACP", 4)) {
			if (tlen < 148)
				return -EINVAL;
			long d = table_at(m, size, gpa, get64(m, (size_t)t + 140), len);
			if (d < 0 || memcmp(m + d, "DSDT", 4))
				return -EINVAL;
			return d;
		}
		if (!want_dsdt && !memcmp(m + t, sig, 4)) {
			*len = tlen;
			return t;
		}
	}
	return -ENOENT;
}
