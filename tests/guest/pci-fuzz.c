// SPDX-License-Identifier: Apache-2.0
/*
 * pci-fuzz: a hostile driver, run as root in a guest. For every PCI
 * function it maps each memory BAR through sysfs (resourceN) and makes
 * random reads and writes of every width at every offset, with virtio
 * status sequences written to the common configuration, kicks of the
 * notify region and writes to the MSI-X table among them; then it writes
 * random values into the function's configuration space (sysfs config).
 * Now and then it brings a virtio device up as a driver would, with up to
 * three queues whose rings lie in RAM the guest kernel does not use (given
 * on the command line: boot the guest with memmap=SIZE$BASE), so that the
 * status sequences and kicks that follow meet a running device, and what
 * the device writes never lands in the guest kernel's memory.
 *
 *   pci-fuzz OPS SEED [RING_GPA]   OPS accesses per function (config
 *                                  writes: OPS/10); RING_GPA: 3 free pages
 *
 * Drivers should be unbound first, so that the guest kernel does not trip
 * over what this does to its devices. Prints one line per function and
 * "pci-fuzz: done N" at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_BARS       6
#define IORESOURCE_MEM 0x200

#define PAGE 4096u

static uint64_t rng_state;
static uint64_t ring_gpa; /* 3 pages the guest kernel leaves alone, or 0 */

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

struct bar {
	volatile uint8_t *p;
	size_t size;
};

struct fn {
	struct bar bar[MAX_BARS];
	unsigned int n_bars;
	/* virtio capabilities, when the function has them: (bar, offset) */
	int common_bar, notify_bar;
	uint32_t common_off, notify_off;
};

static void access_at(volatile uint8_t *p, unsigned int width, int write, uint64_t v)
{
	switch (width) {
	case 1:
		if (write)
			*p = (uint8_t)v;
		else
			(void)*p;
		break;
	case 2:
		if (write)
			*(volatile uint16_t *)p = (uint16_t)v;
		else
			(void)*(volatile uint16_t *)p;
		break;
	case 4:
		if (write)
			*(volatile uint32_t *)p = (uint32_t)v;
		else
			(void)*(volatile uint32_t *)p;
		break;
	default:
		if (write)
			*(volatile uint64_t *)p = v;
		else
			(void)*(volatile uint64_t *)p;
	}
}

/* The function's virtio vendor capabilities, from its config space. */
static void find_virtio_caps(const char *dev, struct fn *f)
{
	char path[512];
	uint8_t cfg[256] = { 0 };

	f->common_bar = f->notify_bar = -1;
	snprintf(path, sizeof(path), "%s/config", dev);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n < 64 || !(cfg[6] & 0x10)) /* no capability list */
		return;
	for (unsigned int p = cfg[0x34], hops = 0; p >= 0x40 && p < 0xf0 && hops < 32;
	     p = cfg[p + 1], hops++) {
		if (cfg[p] != 0x09) /* vendor specific */
			continue;
		uint8_t type = cfg[p + 3], bar = cfg[p + 4];
		uint32_t off;
		memcpy(&off, &cfg[p + 8], 4);
		if (type == 1 && bar < MAX_BARS) {
			f->common_bar = bar;
			f->common_off = off;
		} else if (type == 2 && bar < MAX_BARS) {
			f->notify_bar = bar;
			f->notify_off = off;
		}
	}
}

static void map_bars(const char *dev, struct fn *f, int bar_index[MAX_BARS])
{
	char path[512], line[256];
	snprintf(path, sizeof(path), "%s/resource", dev);
	FILE *r = fopen(path, "re");
	for (int i = 0; i < MAX_BARS; i++)
		bar_index[i] = -1;
	if (!r)
		return;
	for (int i = 0; i < MAX_BARS && fgets(line, sizeof(line), r); i++) {
		unsigned long long start, end, flags;
		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 || !end ||
		    !(flags & IORESOURCE_MEM))
			continue;
		size_t size = (size_t)(end - start + 1);
		snprintf(path, sizeof(path), "%s/resource%d", dev, i);
		int fd = open(path, O_RDWR | O_SYNC);
		if (fd < 0)
			continue;
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (p == MAP_FAILED)
			continue;
		bar_index[i] = (int)f->n_bars;
		f->bar[f->n_bars++] = (struct bar){ p, size };
	}
	fclose(r);
}

static void w16(volatile uint8_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}
static void w32(volatile uint8_t *p, uint32_t v)
{
	*(volatile uint32_t *)p = v;
}
static uint32_t r32(volatile uint8_t *p)
{
	return *(volatile uint32_t *)p;
}

/* What a driver does: reset, features (VERSION_1 and some of the offered
 * ones), FEATURES_OK, up to 3 queues of 16 at ring_gpa, DRIVER_OK. */
static bool bring_up(volatile uint8_t *c)
{
	c[0x14] = 0;
	c[0x14] = 1;
	c[0x14] = 3;
	w32(c + 0x00, 0);
	uint32_t lo = r32(c + 0x04);
	w32(c + 0x00, 1);
	uint32_t hi = r32(c + 0x04);
	w32(c + 0x08, 0);
	w32(c + 0x0c, lo & (uint32_t)rnd());
	w32(c + 0x08, 1);
	w32(c + 0x0c, (hi & (uint32_t)rnd()) | 1); /* VERSION_1 */
	c[0x14] = 0x0b;
	uint16_t nq = *(volatile uint16_t *)(c + 0x12);
	for (uint16_t q = 0; q < nq && q < 3; q++) {
		w16(c + 0x16, q);
		w16(c + 0x18, 16);
		w16(c + 0x1a, (uint16_t)(rnd() % 4));
		w32(c + 0x20, (uint32_t)ring_gpa);
		w32(c + 0x24, (uint32_t)(ring_gpa >> 32));
		w32(c + 0x28, (uint32_t)(ring_gpa + PAGE));
		w32(c + 0x2c, (uint32_t)((ring_gpa + PAGE) >> 32));
		w32(c + 0x30, (uint32_t)(ring_gpa + 2 * PAGE));
		w32(c + 0x34, (uint32_t)((ring_gpa + 2 * PAGE) >> 32));
		w16(c + 0x1c, 1);
	}
	c[0x14] = 0x0f;
	return c[0x14] == 0x0f;
}

/* A virtio status sequence: the ones a reset must guard against, or random. */
static void status_sequence(volatile uint8_t *status)
{
	static const uint8_t seqs[][4] = {
		{ 0x0f, 0x0b, 0x00, 0 },    { 0x0f, 0x0b, 0x0f, 0 }, { 0x0f, 0x07, 0x0f, 0 },
		{ 0x01, 0x03, 0x0b, 0x0f }, { 0x8f, 0x00, 0x4f, 0 }, { 0x00, 0x0f, 0x00, 0x0f },
	};
	const uint8_t *s = seqs[rnd() % (sizeof(seqs) / sizeof(seqs[0]))];
	for (int i = 0; i < 4; i++)
		*status = rnd() % 8 ? s[i] : (uint8_t)rnd();
}

static unsigned long fuzz_function(const char *dev, unsigned long ops, unsigned long *ups)
{
	struct fn f = { 0 };
	int idx[MAX_BARS];
	unsigned long done = 0;

	find_virtio_caps(dev, &f);
	map_bars(dev, &f, idx);
	volatile uint8_t *common = NULL;
	if (f.common_bar >= 0 && idx[f.common_bar] >= 0 &&
	    f.common_off + 0x38 <= f.bar[idx[f.common_bar]].size)
		common = f.bar[idx[f.common_bar]].p + f.common_off;
	for (unsigned long i = 0; f.n_bars && i < ops; i++, done++) {
		uint64_t r = rnd();
		if (common && ring_gpa && r % 1024 == 2) {
			*ups += bring_up(common);
			continue;
		}
		if (r % 64 == 0 && common) {
			status_sequence(common + 0x14);
			continue;
		}
		if (r % 64 == 1 && f.notify_bar >= 0 && idx[f.notify_bar] >= 0) {
			struct bar *b = &f.bar[idx[f.notify_bar]];
			size_t off = f.notify_off + 4 * (rnd() % 8);
			if (off + 2 <= b->size)
				access_at(b->p + off, 2, 1, rnd() % 8);
			continue;
		}
		struct bar *b = &f.bar[rnd() % f.n_bars];
		unsigned int width = 1u << (rnd() % 4);
		if (width > b->size)
			width = 1;
		size_t off = rnd() % (b->size - width + 1);
		if (rnd() % 4) /* mostly aligned, as drivers do; sometimes not */
			off &= ~(size_t)(width - 1);
		access_at(b->p + off, width, (int)(rnd() % 2), rnd());
	}
	for (unsigned int i = 0; i < f.n_bars; i++)
		munmap((void *)f.bar[i].p, f.bar[i].size);

	/* then the configuration space, BARs and command register included */
	char path[512];
	snprintf(path, sizeof(path), "%s/config", dev);
	int fd = open(path, O_RDWR);
	for (unsigned long i = 0; fd >= 0 && i < ops / 10; i++, done++) {
		unsigned int width = 1u << (rnd() % 3);
		off_t off = (off_t)(rnd() % 256) & ~(off_t)(width - 1);
		uint32_t v = (uint32_t)rnd();
		if (rnd() % 2) {
			if (pwrite(fd, &v, width, off) < 0)
				continue;
		} else if (pread(fd, &v, width, off) < 0) {
			continue;
		}
	}
	if (fd >= 0)
		close(fd);
	return done;
}

int main(int argc, char **argv)
{
	unsigned long ops = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	if (!rng_state)
		rng_state = 1;
	ring_gpa = argc > 3 ? strtoull(argv[3], NULL, 0) & ~(uint64_t)(PAGE - 1) : 0;
	DIR *d = opendir("/sys/bus/pci/devices");
	if (!d) {
		perror("pci-fuzz: /sys/bus/pci/devices");
		return 1;
	}
	struct dirent *e;
	unsigned long total = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dev[300];
		snprintf(dev, sizeof(dev), "/sys/bus/pci/devices/%s", e->d_name);
		unsigned long ups = 0, n = fuzz_function(dev, ops, &ups);
		printf("pci-fuzz: %s: %lu accesses, brought up %lu times\n", e->d_name, n, ups);
		fflush(stdout);
		total += n;
	}
	closedir(d);
	printf("pci-fuzz: done %lu\n", total);
	return 0;
}
