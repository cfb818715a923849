// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/x86/boot.c with synthetic kernels: the bzImage zero page,
 * the PVH start info, the E820 map, and refusals. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/x86/boot.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/memory.h"

#define MiB (1ULL << 20)

static char dir[] = "/tmp/svmm-test-boot.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[4][256];
	static int n;
	char *p = path[n++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void bzimage(void **state)
{
	uint8_t img[1024 + 8192];
	uint8_t initrd[5000];
	struct guest_mem m;
	struct boot_config cfg = { .cmdline = "console=ttyS0 quiet", .rsdp_addr = 0xe0000 };
	struct boot_entry be;
	enum boot_kind kind;
	struct err err = { 0 };
	(void)state;

	memset(img, 0, sizeof(img));
	img[0x1f1] = 1; /* setup_sects: setup is 2 sectors */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;
	img[0x207] = 0x02; /* protocol 2.15 */
	wr32(img + 0x22c, 0x7fffffff);
	img[0x236] = 1; /* XLF_KERNEL_64 */
	wr32(img + 0x238, 2047);
	wr32(img + 0x260, 0x200000); /* init_size */
	for (size_t i = 1024; i < sizeof(img); i++)
		img[i] = (uint8_t)i;
	memset(initrd, 0x42, sizeof(initrd));
	cfg.kernel = write_file("bzImage", img, sizeof(img));
	cfg.initramfs = write_file("initrd", initrd, sizeof(initrd));

	assert_int_equal(boot_probe(cfg.kernel, &kind, &err), 0);
	assert_int_equal(kind, BOOT_BZIMAGE);
	assert_int_equal(guest_mem_alloc(&m, 64 * MiB, false, false), 0);
	assert_int_equal(boot_load(&m, &cfg, &be, &err), 0);
	assert_int_equal(be.kind, BOOT_BZIMAGE);
	assert_int_equal(be.entry, 0x100200);
	assert_int_equal(be.boot_info, LAYOUT_ZERO_PAGE);
	assert_memory_equal(guest_mem_ptr(&m, 0x100000, 8192), img + 1024, 8192);

	uint8_t *zp = guest_mem_ptr(&m, LAYOUT_ZERO_PAGE, 4096);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);		    /* type_of_loader */
	assert_int_equal(zp[0x211] & 0x81, 0x81);	    /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(rd32(zp + 0x228), LAYOUT_CMDLINE); /* cmd_line_ptr */
	assert_string_equal(guest_mem_ptr(&m, LAYOUT_CMDLINE, 1), "console=ttyS0 quiet");
	uint64_t rsdp;
	memcpy(&rsdp, zp + 0x70, 8);
	assert_int_equal(rsdp, 0xe0000);
	uint32_t rd = rd32(zp + 0x218), rs = rd32(zp + 0x21c);
	assert_int_equal(rs, sizeof(initrd));
	assert_int_equal(rd % 4096, 0);
	assert_true(rd + rs <= 64 * MiB && rd >= 0x100000 + 0x200000);
	assert_memory_equal(guest_mem_ptr(&m, rd, rs), initrd, rs);

	/* E820: RAM below the MP table, reserved ACPI area, RAM from 1 MiB */
	struct e820_entry e[16];
	assert_int_equal(zp[0x1e8], boot_e820(&m, e, 16));
	assert_memory_equal(zp + 0x2d0, e, zp[0x1e8] * sizeof(e[0]));
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].type, E820_RAM);
	int acpi = 0, ram_1m = 0;
	for (int i = 0; i < zp[0x1e8]; i++) {
		acpi |= e[i].addr == LAYOUT_ACPI_START && e[i].size == LAYOUT_ACPI_SIZE &&
			e[i].type == E820_RESERVED;
		ram_1m |= e[i].addr == 0x100000 && e[i].addr + e[i].size == 64 * MiB &&
			  e[i].type == E820_RAM;
	}
	assert_true(acpi && ram_1m);

	/* a command line longer than the kernel takes */
	char *longline = malloc(4000);
	memset(longline, 'a', 3999);
	longline[3999] = 0;
	cfg.cmdline = longline;
	assert_int_equal(boot_load(&m, &cfg, &be, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "--cmdline"));
	free(longline);

	/* a 32-bit-only bzImage */
	img[0x236] = 0;
	cfg.kernel = write_file("bzImage32", img, sizeof(img));
	cfg.cmdline = NULL;
	assert_int_equal(boot_load(&m, &cfg, &be, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "64-bit entry point"));
	guest_mem_free(&m);
}

static void pvh_elf(void **state)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		uint8_t note[32];
		uint8_t code[256];
	} __attribute__((packed)) elf;
	struct guest_mem m;
	struct boot_config cfg = { .cmdline = "pvh", .rsdp_addr = 0 };
	struct boot_entry be;
	enum boot_kind kind;
	struct err err = { 0 };
	(void)state;

	memset(&elf, 0, sizeof(elf));
	memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
	elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh.e_machine = EM_X86_64;
	elf.eh.e_phoff = offsetof(typeof(elf), ph);
	elf.eh.e_phentsize = sizeof(Elf64_Phdr);
	elf.eh.e_phnum = 2;
	elf.ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
				  .p_offset = offsetof(typeof(elf), code),
				  .p_paddr = 0x1000000,
				  .p_filesz = 256,
				  .p_memsz = 4096 };
	elf.ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE,
				  .p_offset = offsetof(typeof(elf), note),
				  .p_filesz = 12 + 4 + 8 };
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 8, .n_type = 18 };
	memcpy(elf.note, &nh, 12);
	memcpy(elf.note + 12, "Xen", 4);
	uint64_t entry = 0x1000040;
	memcpy(elf.note + 16, &entry, 8);
	memset(elf.code, 0x90, sizeof(elf.code));
	cfg.kernel = write_file("vmlinux", &elf, sizeof(elf));
	cfg.initramfs = write_file("initrd2", "0707010000", 10);

	assert_int_equal(boot_probe(cfg.kernel, &kind, &err), 0);
	assert_int_equal(kind, BOOT_PVH);
	assert_int_equal(guest_mem_alloc(&m, 64 * MiB, false, false), 0);
	memset(guest_mem_ptr(&m, 0x1000000 + 256, 16), 0xee, 16);
	assert_int_equal(boot_load(&m, &cfg, &be, &err), 0);
	assert_int_equal(be.kind, BOOT_PVH);
	assert_int_equal(be.entry, entry);
	assert_int_equal(be.kernel_end, 0x1001000);
	uint8_t *seg = guest_mem_ptr(&m, 0x1000000, 4096);
	assert_int_equal(seg[0], 0x90);
	assert_int_equal(seg[256], 0); /* bss zeroed */
	uint8_t *si = guest_mem_ptr(&m, be.boot_info, 56);
	assert_int_equal(rd32(si), 0x336ec578);
	assert_int_equal(rd32(si + 12), 1); /* nr_modules */
	assert_true(rd32(si + 48) >= 4);    /* memmap entries */

	/* the same ELF with the note's type changed: not PVH */
	nh.n_type = 17;
	memcpy(elf.note, &nh, 12);
	cfg.kernel = write_file("vmlinux-nopvh", &elf, sizeof(elf));
	assert_int_equal(boot_probe(cfg.kernel, &kind, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "without a PVH entry note"));
	/* a segment outside RAM */
	nh.n_type = 18;
	memcpy(elf.note, &nh, 12);
	elf.ph[0].p_paddr = 0x10000000;
	cfg.kernel = write_file("vmlinux-high", &elf, sizeof(elf));
	assert_int_equal(boot_load(&m, &cfg, &be, &err), -E2BIG);
	guest_mem_free(&m);
}

static void refusals(void **state)
{
	enum boot_kind kind;
	struct err err = { 0 };
	(void)state;

	assert_int_equal(boot_probe(write_file("gz", "\x1f\x8b\x08\x00", 4), &kind, &err),
			 -ENOEXEC);
	assert_non_null(strstr(err.msg, "gzip"));
	assert_int_equal(boot_probe(write_file("empty", "", 0), &kind, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "empty file"));
	assert_int_equal(boot_probe("/nonexistent/kernel", &kind, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/kernel"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bzimage),
		cmocka_unit_test(pvh_elf),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests_name("boot", tests, setup, teardown);
}
