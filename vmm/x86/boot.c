// SPDX-License-Identifier: Apache-2.0
/* Kernel loading (bzImage and PVH ELF), E820, and the boot vCPU's registers. */
#include "vmm/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/kvm/layout.h"
#include "vmm/kvm/memory.h"

/* Offsets in the bzImage's first sectors and in boot_params (the same for
 * the setup header, which starts at 0x1f1 in both). */
#define BP_ACPI_RSDP_ADDR  0x070
#define BP_E820_ENTRIES	   0x1e8
#define BP_HDR		   0x1f1
#define HDR_SETUP_SECTS	   0x1f1
#define HDR_BOOT_FLAG	   0x1fe
#define HDR_JUMP	   0x200
#define HDR_MAGIC	   0x202
#define HDR_VERSION	   0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS	   0x211
#define HDR_RAMDISK_IMAGE  0x218
#define HDR_RAMDISK_SIZE   0x21c
#define HDR_HEAP_END_PTR   0x224
#define HDR_CMD_LINE_PTR   0x228
#define HDR_INITRD_MAX	   0x22c
#define HDR_XLOADFLAGS	   0x236
#define HDR_CMDLINE_SIZE   0x238
#define HDR_INIT_SIZE	   0x260
#define BP_E820_TABLE	   0x2d0
#define BP_E820_MAX	   128

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define LAYOUT_PVH_MODLIST (LAYOUT_PVH_INFO + 0x40)
#define LAYOUT_PVH_MEMMAP  (LAYOUT_PVH_INFO + 0x80)
#define PVH_MEMMAP_MAX	   ((0x1000 - 0x80) / sizeof(struct hvm_memmap_entry))

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Read exactly len bytes at off, into guest memory checked by the caller. */
static int read_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* short file */
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

unsigned int boot_e820(const struct guest_mem *m, struct e820_entry *e, unsigned int max)
{
	uint64_t low = guest_mem_low_end(m);
	unsigned int n = 0;

	if (max < 6)
		return 0;
	e[n++] = (struct e820_entry){ 0, LAYOUT_MPTABLE_START, E820_RAM };
	e[n++] = (struct e820_entry){ LAYOUT_MPTABLE_START, LAYOUT_MPTABLE_SIZE, E820_RESERVED };
	e[n++] = (struct e820_entry){ LAYOUT_ACPI_START, LAYOUT_ACPI_SIZE, E820_RESERVED };
	e[n++] = (struct e820_entry){ LAYOUT_HIGH_MEMORY, low - LAYOUT_HIGH_MEMORY, E820_RAM };
	e[n++] = (struct e820_entry){ LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_RESERVED };
	if (m->n_regions > 1)
		e[n++] = (struct e820_entry){ m->region[1].gpa, m->region[1].size, E820_RAM };
	return n;
}

/* A few words on what a file that is no kernel looks like. */
static const char *describe(const uint8_t *h, size_t n)
{
	if (n == 0)
		return "an empty file";
	if (n >= 4 && !memcmp(h, ELFMAG, SELFMAG))
		return h[EI_CLASS] == ELFCLASS64 && get16(h + 18) == EM_X86_64
			       ? "an x86-64 ELF file without a PVH entry note "
				 "(XEN_ELFNOTE_PHYS32_ENTRY; build the kernel with CONFIG_PVH=y)"
			       : "an ELF file for another architecture or class";
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return "gzip-compressed data (an initramfs or a compressed vmlinux?)";
	if (n >= 6 && !memcmp(h,
			      "\xfd"
			      "7zXZ",
			      6))
		return "xz-compressed data";
	if (n >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4))
		return "zstd-compressed data";
	if (n >= 6 && (!memcmp(h, "070701", 6) || !memcmp(h, "070702", 6)))
		return "a cpio archive (an initramfs? pass it with --initramfs)";
	if (n >= 2 && h[0] == '#' && h[1] == '!')
		return "a script";
	if (n >= 0x204 && get16(h + HDR_BOOT_FLAG) == 0xaa55)
		return "a boot sector without a Linux setup header";
	if (n >= 0x8006 && !memcmp(h + 0x8001, "CD001", 5))
		return "an ISO 9660 image";
	if (n >= 4 && !memcmp(h, "QFI\xfb", 4))
		return "a qcow2 disk image";
	return "neither a bzImage nor an ELF vmlinux";
}

static int load_initramfs(struct guest_mem *m, const char *path, uint64_t limit,
			  uint64_t kernel_end, uint64_t *addr, uint64_t *size, struct err *err)
{
	struct stat st;
	int ret, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, -errno, "--initramfs %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "--initramfs %s: not a regular file", path);
		goto out;
	}
	uint64_t top = guest_mem_low_end(m);
	if (limit && limit < top)
		top = limit;
	if ((uint64_t)st.st_size > top || ((top - st.st_size) & ~0xfffULL) < kernel_end) {
		ret = err_set(err, -E2BIG,
			      "--initramfs %s: %lld bytes do not fit in guest memory below %#llx "
			      "above the kernel (give the VM more memory)",
			      path, (long long)st.st_size, (unsigned long long)top);
		goto out;
	}
	*addr = (top - st.st_size) & ~0xfffULL;
	*size = st.st_size;
	void *dst = guest_mem_ptr(m, *addr, *size);
	ret = dst ? read_full(fd, dst, *size, 0) : -EFAULT;
	if (ret)
		err_set(err, ret, "--initramfs %s: read: %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}

static int load_cmdline(struct guest_mem *m, const char *cmdline, uint64_t max, struct err *err)
{
	const char *s = cmdline ? cmdline : "";
	size_t len = strlen(s) + 1;

	if (len > max)
		return err_set(err, -E2BIG, "--cmdline: %zu bytes, the kernel takes at most %llu",
			       len - 1, (unsigned long long)max - 1);
	memcpy(guest_mem_ptr(m, LAYOUT_CMDLINE, len), s, len);
	return 0;
}

static int load_bzimage(struct guest_mem *m, int fd, const uint8_t *hdr, off_t fsize,
			const struct boot_config *cfg, struct boot_entry *out, struct err *err)
{
	uint8_t *zp = guest_mem_ptr(m, LAYOUT_ZERO_PAGE, 0x1000);
	uint16_t version = get16(hdr + HDR_VERSION);
	unsigned int setup_sects = hdr[HDR_SETUP_SECTS] ? hdr[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (setup_sects + 1) * 512ULL;
	int ret;

	if (version < 0x020c || !(get16(hdr + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err_set(err, -ENOTSUP,
			       "--kernel %s: bzImage protocol %u.%02u without a 64-bit entry point "
			       "(need 2.12 or later, built for x86-64)",
			       cfg->kernel, version >> 8, version & 0xff);
	if ((uint64_t)fsize <= setup_size)
		return err_set(err, -EINVAL, "--kernel %s: truncated bzImage", cfg->kernel);

	uint64_t ksize = fsize - setup_size;
	uint64_t init_size = get32(hdr + HDR_INIT_SIZE);
	uint64_t kernel_end = LAYOUT_HIGH_MEMORY + (init_size > ksize ? init_size : ksize);
	void *dst = guest_mem_ptr(m, LAYOUT_HIGH_MEMORY, ksize);
	if (!dst || kernel_end > guest_mem_low_end(m))
		return err_set(err, -E2BIG,
			       "--kernel %s: the kernel needs %llu MiB; give the VM more memory",
			       cfg->kernel, (unsigned long long)(kernel_end >> 20) + 1);
	ret = read_full(fd, dst, ksize, (off_t)setup_size);
	if (ret)
		return err_set(err, ret, "--kernel %s: read: %s", cfg->kernel, strerror(-ret));

	/* boot_params: zeroed, with the file's setup header copied in. */
	size_t hdr_end = 0x202 + hdr[HDR_JUMP + 1];
	if (hdr_end > 0x400)
		hdr_end = 0x400;
	memset(zp, 0, 0x1000);
	memcpy(zp + BP_HDR, hdr + BP_HDR, hdr_end - BP_HDR);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	zp[HDR_HEAP_END_PTR] = 0x00;
	zp[HDR_HEAP_END_PTR + 1] = 0xfe; /* 0xfe00 */
	put32(zp + HDR_CMD_LINE_PTR, LAYOUT_CMDLINE);
	uint64_t cmax = get32(hdr + HDR_CMDLINE_SIZE) + 1ULL;
	ret = load_cmdline(m, cfg->cmdline, cmax < BOOT_CMDLINE_MAX ? cmax : BOOT_CMDLINE_MAX, err);
	if (ret)
		return ret;
	memcpy(zp + BP_ACPI_RSDP_ADDR, &cfg->rsdp_addr, 8);

	if (cfg->initramfs) {
		uint64_t addr, size;
		ret = load_initramfs(m, cfg->initramfs, get32(hdr + HDR_INITRD_MAX) + 1ULL,
				     kernel_end, &addr, &size, err);
		if (ret)
			return ret;
		put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
		put32(zp + HDR_RAMDISK_SIZE, (uint32_t)size);
	}
	zp[BP_E820_ENTRIES] =
		(uint8_t)boot_e820(m, (struct e820_entry *)(zp + BP_E820_TABLE), BP_E820_MAX);

	out->kind = BOOT_BZIMAGE;
	out->entry = LAYOUT_HIGH_MEMORY + 0x200; /* the 64-bit entry point */
	out->boot_info = LAYOUT_ZERO_PAGE;
	out->kernel_end = kernel_end;
	return 0;
}

/* Find the PVH entry in the PT_NOTE segments; 0 when there is none. */
static uint64_t pvh_entry(int fd, const Elf64_Phdr *ph, unsigned int n)
{
	uint8_t buf[4096];

	for (unsigned int i = 0; i < n; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof(buf))
			continue;
		if (read_full(fd, buf, ph[i].p_filesz, (off_t)ph[i].p_offset))
			continue;
		for (uint64_t off = 0; off + sizeof(Elf64_Nhdr) <= ph[i].p_filesz;) {
			Elf64_Nhdr nh;
			memcpy(&nh, buf + off, sizeof(nh));
			uint64_t name = off + sizeof(nh);
			uint64_t desc = name + ((nh.n_namesz + 3ULL) & ~3ULL);
			uint64_t next = desc + ((nh.n_descsz + 3ULL) & ~3ULL);
			if (next > ph[i].p_filesz)
				break;
			if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
			    !memcmp(buf + name, "Xen", 4)) {
				if (nh.n_descsz == 4)
					return get32(buf + desc);
				if (nh.n_descsz == 8)
					return get32(buf + desc) | (uint64_t)get32(buf + desc + 4)
									   << 32;
			}
			off = next;
		}
	}
	return 0;
}

static int load_pvh(struct guest_mem *m, int fd, const uint8_t *h, const struct boot_config *cfg,
		    struct boot_entry *out, struct err *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t kernel_end = 0;
	int ret;

	memcpy(&eh, h, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return err_set(err, -ENOEXEC, "--kernel %s: %s", cfg->kernel,
			       describe(h, sizeof(eh)));
	ret = read_full(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff);
	if (ret)
		return err_set(err, ret, "--kernel %s: cannot read the ELF program headers",
			       cfg->kernel);
	uint64_t entry = pvh_entry(fd, ph, eh.e_phnum);
	if (!entry)
		return err_set(err, -ENOEXEC, "--kernel %s: %s", cfg->kernel,
			       describe(h, sizeof(eh)));

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint8_t *dst = guest_mem_ptr(m, ph[i].p_paddr, ph[i].p_memsz);
		if (!dst || ph[i].p_filesz > ph[i].p_memsz || ph[i].p_paddr < LAYOUT_HIGH_MEMORY)
			return err_set(
				err, -E2BIG,
				"--kernel %s: segment %u at %#llx (%llu bytes) is outside guest "
				"RAM; give the VM more memory",
				cfg->kernel, i, (unsigned long long)ph[i].p_paddr,
				(unsigned long long)ph[i].p_memsz);
		ret = read_full(fd, dst, ph[i].p_filesz, (off_t)ph[i].p_offset);
		if (ret)
			return err_set(err, ret, "--kernel %s: read: %s", cfg->kernel,
				       strerror(-ret));
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
		if (ph[i].p_paddr + ph[i].p_memsz > kernel_end)
			kernel_end = ph[i].p_paddr + ph[i].p_memsz;
	}

	ret = load_cmdline(m, cfg->cmdline, BOOT_CMDLINE_MAX, err);
	if (ret)
		return ret;
	struct hvm_start_info *si = guest_mem_ptr(m, LAYOUT_PVH_INFO, sizeof(*si));
	memset(si, 0, 0x1000);
	si->magic = HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = LAYOUT_CMDLINE;
	si->rsdp_paddr = cfg->rsdp_addr;
	if (cfg->initramfs) {
		struct hvm_modlist_entry *mod = guest_mem_ptr(m, LAYOUT_PVH_MODLIST, sizeof(*mod));
		ret = load_initramfs(m, cfg->initramfs, LAYOUT_MEM_HOLE_START, kernel_end,
				     &mod->paddr, &mod->size, err);
		if (ret)
			return ret;
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_PVH_MODLIST;
	}
	struct e820_entry e[8];
	unsigned int n = boot_e820(m, e, 8);
	struct hvm_memmap_entry *mm =
		guest_mem_ptr(m, LAYOUT_PVH_MEMMAP, PVH_MEMMAP_MAX * sizeof(*mm));
	for (unsigned int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ e[i].addr, e[i].size, e[i].type, 0 };
	si->memmap_paddr = LAYOUT_PVH_MEMMAP;
	si->memmap_entries = n;

	out->kind = BOOT_PVH;
	out->entry = entry;
	out->boot_info = LAYOUT_PVH_INFO;
	out->kernel_end = kernel_end;
	return 0;
}

int boot_probe(const char *path, enum boot_kind *kind, struct err *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint8_t h[0x400];
	ssize_t n;
	int ret = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, -errno, "--kernel %s: %s", path, strerror(errno));
	memset(h, 0, sizeof(h));
	n = pread(fd, h, sizeof(h), 0);
	if (n < 0) {
		ret = err_set(err, -errno, "--kernel %s: read: %s", path, strerror(errno));
	} else if (n >= 0x240 && get16(h + HDR_BOOT_FLAG) == 0xaa55 &&
		   !memcmp(h + HDR_MAGIC, "HdrS", 4)) {
		*kind = BOOT_BZIMAGE;
	} else if ((size_t)n >= sizeof(eh) && !memcmp(h, ELFMAG, SELFMAG)) {
		memcpy(&eh, h, sizeof(eh));
		if (eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64 &&
		    eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum && eh.e_phnum <= 64 &&
		    !read_full(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff) &&
		    pvh_entry(fd, ph, eh.e_phnum))
			*kind = BOOT_PVH;
		else
			ret = err_set(err, -ENOEXEC,
				      "--kernel %s: not a bootable kernel: the file is %s", path,
				      describe(h, (size_t)n));
	} else {
		ret = err_set(err, -ENOEXEC, "--kernel %s: not a Linux kernel: the file is %s",
			      path, describe(h, (size_t)n));
	}
	close(fd);
	return ret;
}

int boot_load(struct guest_mem *m, const struct boot_config *cfg, struct boot_entry *out,
	      struct err *err)
{
	uint8_t h[0x400];
	struct stat st;
	ssize_t n;
	int ret, fd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, -errno, "--kernel %s: %s", cfg->kernel, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "--kernel %s: not a regular file", cfg->kernel);
		goto out;
	}
	memset(h, 0, sizeof(h));
	do {
		n = pread(fd, h, sizeof(h), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = err_set(err, -errno, "--kernel %s: read: %s", cfg->kernel, strerror(errno));
		goto out;
	}
	if (n >= 0x240 && get16(h + HDR_BOOT_FLAG) == 0xaa55 && !memcmp(h + HDR_MAGIC, "HdrS", 4))
		ret = load_bzimage(m, fd, h, st.st_size, cfg, out, err);
	else if ((size_t)n >= sizeof(Elf64_Ehdr) && !memcmp(h, ELFMAG, SELFMAG))
		ret = load_pvh(m, fd, h, cfg, out, err);
	else
		ret = err_set(err, -ENOEXEC, "--kernel %s: not a Linux kernel: the file is %s",
			      cfg->kernel, describe(h, (size_t)n));
out:
	close(fd);
	return ret;
}

/* GDT entries: base 0, limit 0xfffff pages. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_CODE32 0x00cf9b000000ffffULL
#define GDT_DATA   0x00cf93000000ffffULL
#define GDT_TSS	   0x008f8b000000ffffULL
#define SEL_CODE   0x10
#define SEL_DATA   0x18
#define SEL_TSS	   0x20

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool s, bool l, bool db)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.s = s,
		.l = l,
		.db = db,
		.g = 1,
	};
}

#define CR0_PE	 0x1ULL
#define CR0_ET	 0x10ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define PTE_P	 0x1ULL
#define PTE_RW	 0x2ULL
#define PTE_PS	 0x80ULL

int boot_vcpu_setup(int vcpu_fd, struct guest_mem *m, const struct boot_entry *be)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	bool lm = be->kind == BOOT_BZIMAGE;
	uint64_t *gdt = guest_mem_ptr(m, LAYOUT_GDT, 5 * 8);
	uint64_t *idt = guest_mem_ptr(m, LAYOUT_IDT, 8);

	gdt[0] = gdt[1] = 0;
	gdt[2] = lm ? GDT_CODE64 : GDT_CODE32;
	gdt[3] = GDT_DATA;
	gdt[4] = GDT_TSS;
	*idt = 0;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = LAYOUT_IDT;
	sregs.idt.limit = 7;
	sregs.cs = seg(SEL_CODE, 11, true, lm, !lm);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(SEL_DATA, 3, true, false, true);
	sregs.tr = seg(SEL_TSS, 11, false, false, false);
	sregs.tr.limit = 0xfffff;
	sregs.tr.g = 0;
	if (lm) {
		/* Identity map of the first 4 GiB with 2 MiB pages. */
		uint64_t *pml4 = guest_mem_ptr(m, LAYOUT_PML4, 0x1000);
		uint64_t *pdpt = guest_mem_ptr(m, LAYOUT_PDPT, 0x1000);
		uint64_t *pd = guest_mem_ptr(m, LAYOUT_PD, 4 * 0x1000);
		memset(pml4, 0, 0x1000);
		memset(pdpt, 0, 0x1000);
		pml4[0] = LAYOUT_PDPT | PTE_P | PTE_RW;
		for (uint64_t i = 0; i < 4; i++)
			pdpt[i] = (LAYOUT_PD + i * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t i = 0; i < 4 * 512; i++)
			pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.cr3 = 0;
		sregs.efer = 0;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = be->entry;
	if (lm) {
		regs.rsi = be->boot_info;
		regs.rsp = regs.rbp = LAYOUT_BOOT_STACK;
	} else {
		regs.rbx = be->boot_info;
	}
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
