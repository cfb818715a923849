// SPDX-License-Identifier: Apache-2.0
/* Intel MP table for guests without ACPI. */
#include "vmm/x86/mptable.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vmm/kvm/layout.h"
#include "vmm/kvm/memory.h"

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint16_t reserved;
	uint8_t ext_checksum;
	uint8_t reserved2;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define CPU_ENABLED	  1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION	  0x14
#define IOAPIC_VERSION	  0x11
#define MP_SPEC_REV	  4
#define ISA_IRQS	  16

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int mptable_write(struct guest_mem *m, unsigned int ncpus)
{
	size_t size = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
		      ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		      sizeof(struct mpc_ioapic) + (ISA_IRQS - 1 + 2) * sizeof(struct mpc_intsrc);
	uint8_t *base = guest_mem_ptr(m, LAYOUT_MPTABLE_START, LAYOUT_MPTABLE_SIZE);
	uint8_t ioapic_id = (uint8_t)ncpus;

	if (!base || size > LAYOUT_MPTABLE_SIZE || ncpus > 254)
		return -E2BIG;
	memset(base, 0, LAYOUT_MPTABLE_SIZE);

	struct mpf_intel *mpf = (struct mpf_intel *)base;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint16_t entries = 0;

	for (unsigned int i = 0; i < ncpus; i++, entries++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;
		c->type = MP_PROCESSOR;
		c->apicid = (uint8_t)i;
		c->apicver = APIC_VERSION;
		c->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0);
		c->cpufeature = 0x600;	/* family 6 */
		c->featureflag = 0x201; /* FPU, APIC */
		p += sizeof(*c);
	}
	struct mpc_bus *bus = (struct mpc_bus *)p;
	bus->type = MP_BUS;
	bus->busid = 0;
	memcpy(bus->bustype, "ISA   ", 6);
	p += sizeof(*bus);
	entries++;

	struct mpc_ioapic *io = (struct mpc_ioapic *)p;
	io->type = MP_IOAPIC;
	io->apicid = ioapic_id;
	io->apicver = IOAPIC_VERSION;
	io->flags = 1;
	io->apicaddr = (uint32_t)LAYOUT_IOAPIC_START;
	p += sizeof(*io);
	entries++;

	/* ISA IRQ n on IOAPIC pin n, but IRQ 0 (the PIT) on pin 2, as KVM
	 * routes it; edge, active high (conforming to the ISA bus). */
	for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		*s = (struct mpc_intsrc){ .type = MP_INTSRC,
					  .irqtype = MP_INT,
					  .srcbus = 0,
					  .srcbusirq = irq,
					  .dstapic = ioapic_id,
					  .dstirq = irq == 0 ? 2 : irq };
		p += sizeof(*s);
		entries++;
	}
	/* LINT0: ExtINT from the PIC; LINT1: NMI; on every LAPIC. */
	for (uint8_t lint = 0; lint < 2; lint++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		*s = (struct mpc_intsrc){ .type = MP_LINTSRC,
					  .irqtype = lint ? MP_NMI : MP_EXTINT,
					  .srcbus = 0,
					  .dstapic = 0xff,
					  .dstirq = lint };
		p += sizeof(*s);
		entries++;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "SVMM    ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = entries;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC_START;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(LAYOUT_MPTABLE_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
