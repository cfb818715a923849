// SPDX-License-Identifier: Apache-2.0
/*
 * The read side of vmm/run/vfio_host.c over a fake sysfs tree made from the
 * input (laid out as tests/host/vfio.sh's): vfio_bdf_parse on a string,
 * vfio_host_iommu_on, vfio_host_describe on each device (and on one that
 * is not there) and vfio_host_list (every device, vfio-pci's only, and
 * stopped early), each answer checked against the tree the target made.
 *
 * The tree is SYSFS = TMP/sys, TMP the target's private directory
 * (fz_tmpdir_shm: on a tmpfs, for speed), made afresh for each input and
 * removed after it; the state and /dev/vfio directories vfio_host would
 * use are TMP's too. Only the functions that read are called (bind and
 * unbind write into the tree), and every link the product follows (a
 * group's members) points inside the tree; the driver and iommu_group
 * links, of which it reads only the name, may point anywhere.
 *
 * Input (fz_* fields, zeros past the end):
 *   u8 length and the bytes of a string for vfio_bdf_parse;
 *   u8 flags: bits 0-3 make SYSFS/kernel/iommu_groups/G/devices for G 0..3,
 *     bit 4: no SYSFS/bus/pci/devices at all;
 *   u8 devices (mod 9), each in SYSFS/bus/pci/devices:
 *     u8 how: bits 0-1 its name: 0 "DDDD:BB:DD.F" from u16 domain, u8 bus,
 *       u8 devfn; 1 the same upper case; 2 "BB:DD.F" from u8 bus, u8 devfn;
 *       3 raw (u8 length, bytes; '/' becomes '_');
 *       bit 2: vendor, device, class files "0x%04x"/"0x%06x" of u16, u16,
 *       u32 (24 bits), else raw files (u8 length, bytes each);
 *       bits 3-5 its driver link: none, vfio-pci, nvme, pci-stub, pcieport,
 *       e1000e, a raw target (u8 length, bytes), a regular file;
 *       bits 6-7 its iommu_group link: none, to group u8 % 4 (a member of
 *       it), a raw target (u8 length, bytes), to group u8 % 4 (no member);
 *   u8 other members of groups (mod 9), each: u8 group (mod 4), u8 kind:
 *     0 a link to device u8 (mod the devices) by its name; 1 a link to
 *     bus/pci/devices/NAME (raw name, u8 length, bytes); 2 a directory NAME
 *     (raw) whose driver link is as a device's (bits 3-5 of u8).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/run/vfio_host.h"

#define MAX_DEVS    8
#define MAX_MEMBERS (MAX_DEVS + 8)
#define N_GROUPS    4

#define CHECK(cond)                                                                               \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "fuzz_vfio_host: contract broken: %s (line %d)\n", #cond, \
				__LINE__);                                                        \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

struct fdev {
	char name[256];
	bool exact_ids; /* vendor/device/class written from these */
	unsigned int vendor, device, class;
	char driver[256];    /* the link's name; "" none */
	int group;	     /* -1 none; else the group its link names */
	bool canonical;	     /* name is its vfio_bdf_parse form */
	struct vfio_dev got; /* what vfio_host_describe said of it */
};

struct member {
	char name[256];
	char driver[256]; /* what readlink(NAME/driver) names */
};

static char top[PATH_MAX], sys[PATH_MAX], state[PATH_MAX], devdir[PATH_MAX];
static struct fdev devs[MAX_DEVS];
static unsigned int n_devs;
static struct member members[N_GROUPS][MAX_MEMBERS];
static unsigned int n_members[N_GROUPS];
static bool group_dir[N_GROUPS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(top, sizeof(top), "%s", fz_tmpdir_shm("vfio_host"));
	snprintf(sys, sizeof(sys), "%s/sys", top);
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(devdir, sizeof(devdir), "%s/dev-vfio", top);
	return 0;
}

/* --- building the tree --------------------------------------------------- */

static void mkdirs(const char *p)
{
	char b[PATH_MAX];
	snprintf(b, sizeof(b), "%s", p);
	for (char *s = b + strlen(top) + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(b, 0755) < 0 && errno != EEXIST)
				abort();
			*s = '/';
		}
	if (mkdir(b, 0755) < 0 && errno != EEXIST)
		abort();
}

static void put(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd))
		abort();
}

/* A raw string off the input: up to 255 bytes, cut at a NUL. */
static void raw(struct fz *z, char *out)
{
	size_t n;
	const uint8_t *p = fz_bytes(z, fz_u8(z), &n);
	memcpy(out, p, n);
	out[n] = 0;
}

/* A raw name that is one path component, or "" when it cannot be one. */
static void raw_name(struct fz *z, char *out)
{
	raw(z, out);
	for (char *s = out; *s; s++)
		if (*s == '/')
			*s = '_';
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		out[0] = 0;
}

static const char *basename_of(const char *target)
{
	const char *b = strrchr(target, '/');
	return b ? b + 1 : target;
}

/* The driver link at dir/driver as bits 0-2 of kind say; its name. */
static void make_driver(struct fz *z, const char *dir, unsigned int kind, char *name)
{
	static const char *const known[] = { "vfio-pci", "nvme", "pci-stub", "pcieport", "e1000e" };
	char p[PATH_MAX], target[300];

	name[0] = 0;
	snprintf(p, sizeof(p), "%s/driver", dir);
	if (kind == 0)
		return;
	if (kind == 7) {
		put(p, "vfio-pci\n", 9); /* not a link: no driver */
		return;
	}
	if (kind <= 5)
		snprintf(target, sizeof(target), "../../drivers/%s", known[kind - 1]);
	else
		raw(z, target);
	if (!target[0] || symlink(target, p) < 0)
		return;
	snprintf(name, 256, "%s", basename_of(target));
}

static bool named(const char *name)
{
	for (unsigned int i = 0; i < n_devs; i++)
		if (!strcmp(devs[i].name, name))
			return true;
	return false;
}

static void add_member(unsigned int g, const char *name, const char *driver)
{
	for (unsigned int i = 0; i < n_members[g]; i++)
		if (!strcmp(members[g][i].name, name))
			return;
	if (n_members[g] == MAX_MEMBERS)
		return;
	snprintf(members[g][n_members[g]].name, 256, "%s", name);
	snprintf(members[g][n_members[g]].driver, 256, "%s", driver);
	n_members[g]++;
}

/* A link in group g's devices to bus/pci/devices/name (when the group's
 * directory is there); the driver it will be read as. */
static void link_member(unsigned int g, const char *name)
{
	char p[PATH_MAX], target[PATH_MAX];
	if (!group_dir[g] || !name[0])
		return;
	snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%u/devices/%s", sys, g, name);
	snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s", name);
	if (symlink(target, p) < 0)
		return; /* there already */
	const char *drv = "";
	for (unsigned int i = 0; i < n_devs; i++)
		if (!strcmp(devs[i].name, name))
			drv = devs[i].driver;
	add_member(g, name, drv);
}

/* The tree from the input; whether it has no bus/pci/devices. */
static bool build(struct fz *z)
{
	uint8_t flags = fz_u8(z);
	char p[PATH_MAX];

	n_devs = 0;
	memset(n_members, 0, sizeof(n_members));
	mkdirs(sys);
	for (unsigned int g = 0; g < N_GROUPS; g++) {
		group_dir[g] = flags & (1u << g);
		if (group_dir[g]) {
			snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%u/devices", sys, g);
			mkdirs(p);
		}
	}
	bool no_devices = flags & 16;
	unsigned int n = fz_u8(z) % (MAX_DEVS + 1);
	if (!no_devices) {
		snprintf(p, sizeof(p), "%s/bus/pci/devices", sys);
		mkdirs(p);
		snprintf(p, sizeof(p), "%s/bus/pci/drivers/vfio-pci", sys);
		mkdirs(p);
	}
	for (unsigned int i = 0; i < n && !no_devices; i++) {
		struct fdev *d = &devs[n_devs];
		uint8_t how = fz_u8(z);
		char dir[PATH_MAX];

		memset(d, 0, sizeof(*d));
		switch (how & 3) {
		case 0:
		case 1: {
			uint16_t dom = fz_u16(z);
			uint8_t bus = fz_u8(z), devfn = fz_u8(z);
			snprintf(d->name, sizeof(d->name),
				 (how & 3) ? "%04X:%02X:%02X.%X" : "%04x:%02x:%02x.%x", dom, bus,
				 devfn >> 3, devfn & 7);
			break;
		}
		case 2: {
			uint8_t bus = fz_u8(z), devfn = fz_u8(z);
			snprintf(d->name, sizeof(d->name), "%02x:%02x.%x", bus, devfn >> 3,
				 devfn & 7);
			break;
		}
		default:
			raw_name(z, d->name);
		}
		if (!d->name[0] || named(d->name))
			continue;
		char canon[VFIO_BDF_LEN];
		d->canonical = vfio_bdf_parse(d->name, canon, NULL) == 0 && !strcmp(canon, d->name);
		snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sys, d->name);
		if (mkdir(dir, 0755) < 0)
			abort();
		n_devs++;

		const char *files[3] = { "vendor", "device", "class" };
		d->exact_ids = how & 4;
		if (d->exact_ids) {
			d->vendor = fz_u16(z);
			d->device = fz_u16(z);
			d->class = fz_u32(z) & 0xffffff;
		}
		for (unsigned int f = 0; f < 3; f++) {
			char buf[300];
			size_t len;
			snprintf(p, sizeof(p), "%s/%s", dir, files[f]);
			if (d->exact_ids) {
				unsigned int v = f == 0 ? d->vendor : f == 1 ? d->device : d->class;
				len = (size_t)snprintf(buf, sizeof(buf),
						       f == 2 ? "0x%06x\n" : "0x%04x\n", v);
				put(p, buf, len);
			} else {
				const uint8_t *b = fz_bytes(z, fz_u8(z), &len);
				put(p, b, len);
			}
		}
		make_driver(z, dir, (how >> 3) & 7, d->driver);

		d->group = -1;
		unsigned int gk = how >> 6;
		if (gk) {
			char target[300];
			unsigned int g = 0;
			if (gk == 2) {
				raw(z, target);
			} else {
				g = fz_u8(z) % N_GROUPS;
				snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%u",
					 g);
			}
			snprintf(p, sizeof(p), "%s/iommu_group", dir);
			if (target[0] && symlink(target, p) == 0) {
				/* a group is a link whose name is a number */
				const char *b = basename_of(target);
				char *end;
				long v = isdigit((unsigned char)b[0]) ? strtol(b, &end, 10) : -1;
				d->group = v >= 0 && v <= 0x7fffffff && !*end ? (int)v : -1;
			}
			if (gk == 1)
				link_member(g, d->name);
		}
	}
	unsigned int n_other = fz_u8(z) % 9;
	for (unsigned int i = 0; i < n_other; i++) {
		unsigned int g = fz_u8(z) % N_GROUPS, kind = fz_u8(z) % 3;
		char name[256];
		if (kind == 0) {
			unsigned int k = fz_u8(z);
			if (n_devs)
				link_member(g, devs[k % n_devs].name);
		} else if (kind == 1) {
			raw_name(z, name);
			link_member(g, name);
		} else {
			raw_name(z, name);
			uint8_t how = fz_u8(z);
			char dir[PATH_MAX], drv[256];
			if (!group_dir[g] || !name[0])
				continue;
			snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u/devices/%s", sys, g,
				 name);
			if (mkdir(dir, 0755) < 0)
				continue; /* there already */
			make_driver(z, dir, (how >> 3) & 7, drv);
			add_member(g, name, drv);
		}
	}
	return no_devices;
}

/* --- the checks ---------------------------------------------------------- */

static bool safe(const char *drv)
{
	return !drv[0] || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

/* A driver's name as struct vfio_dev keeps it: its first 63 bytes. */
static bool same_driver(const char *got, const char *name)
{
	char want[64];
	snprintf(want, sizeof(want), "%s", name);
	return !strcmp(got, want);
}

static void check_bdf(const char *s)
{
	char out[VFIO_BDF_LEN + 8];
	struct err e = { 0 };
	size_t n = strlen(s);

	memset(out, 0x55, sizeof(out));
	int rc = vfio_bdf_parse(s, out, &e);
	/* "DDDD:BB:DD.F" or "BB:DD.F", hex digits, device 0..1f, function 0..7 */
	const char *t = n == 12 ? s + 5 : s;
	bool want = n == 12 || n == 7;
	for (size_t i = 0; want && i < n; i++) {
		bool colon = (n == 12 && i == 4) || s + i == t + 2;
		bool dot = s + i == t + 5;
		want = colon ? s[i] == ':' : dot ? s[i] == '.' : isxdigit((unsigned char)s[i]);
	}
	want = want && (t[3] == '0' || t[3] == '1') && t[6] >= '0' && t[6] <= '7';
	if (!want) {
		CHECK(rc == -EINVAL && e.code == EINVAL && strstr(e.msg, "is not a PCI address"));
		return;
	}
	CHECK(rc == 0);
	char canon[VFIO_BDF_LEN];
	snprintf(canon, sizeof(canon), "%s%s", n == 7 ? "0000:" : "", s);
	for (char *c = canon; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	CHECK(!strcmp(out, canon));
	CHECK((unsigned char)out[VFIO_BDF_LEN] == 0x55); /* nothing past it */
	char again[VFIO_BDF_LEN];
	CHECK(vfio_bdf_parse(out, again, NULL) == 0 && !strcmp(again, out));
}

static void check_describe(const struct vfio_host *h, struct fdev *f)
{
	struct vfio_dev d;
	struct err e = { 0 };

	memset(&d, 0x55, sizeof(d));
	CHECK(vfio_host_describe(h, f->name, &d, &e) == 0);
	f->got = d;
	CHECK(!strcmp(d.bdf, f->name));
	if (f->exact_ids)
		CHECK(d.vendor == f->vendor && d.device == f->device && d.class == f->class);
	CHECK(d.vendor <= 0xffff && d.device <= 0xffff && d.class <= 0xffffff);
	CHECK(same_driver(d.driver, f->driver));
	CHECK(d.group == f->group);
	if (d.group < 0 || d.group >= N_GROUPS || !group_dir[d.group]) {
		/* no group, or one whose devices cannot be listed */
		CHECK(d.others == 0 && !d.viable && !d.blocker[0]);
		CHECK(d.others_free == (d.group >= 0));
		return;
	}
	const struct member *m = members[d.group];
	int others = 0;
	bool free_ = true;
	for (unsigned int i = 0; i < n_members[d.group]; i++) {
		if (m[i].name[0] == '.' || !strcmp(m[i].name, f->name))
			continue;
		others++;
		free_ = free_ && safe(m[i].driver);
	}
	CHECK(d.others == others);
	CHECK(d.others_free == free_);
	CHECK(d.viable == (free_ && safe(f->driver)));
	char want[sizeof(d.blocker)];
	if (!free_) { /* one of the others, named as "%.12s (driver)" */
		bool found = false;
		for (unsigned int i = 0; !found && i < n_members[d.group]; i++) {
			if (m[i].name[0] == '.' || !strcmp(m[i].name, f->name) || safe(m[i].driver))
				continue;
			char drv[64];
			snprintf(drv, sizeof(drv), "%s", m[i].driver);
			snprintf(want, sizeof(want), "%.12s (%s)", m[i].name, drv);
			found = !strcmp(d.blocker, want);
		}
		CHECK(found);
	} else if (!d.viable) {
		snprintf(want, sizeof(want), "%s (%s)", f->name, d.driver);
		CHECK(!strcmp(d.blocker, want));
	} else {
		CHECK(!d.blocker[0]);
	}
}

struct seen {
	char bdf[MAX_DEVS][VFIO_BDF_LEN];
	struct vfio_dev d[MAX_DEVS];
	unsigned int n, stop_at;
	bool all;
};

static int collect(const struct vfio_dev *d, void *arg)
{
	struct seen *s = arg;
	CHECK(s->n < MAX_DEVS);
	CHECK(s->all || !strcmp(d->driver, "vfio-pci"));
	CHECK(!s->n || strcmp(s->bdf[s->n - 1], d->bdf) < 0); /* in address order */
	snprintf(s->bdf[s->n], VFIO_BDF_LEN, "%s", d->bdf);
	s->d[s->n] = *d;
	return ++s->n == s->stop_at ? 1000 + (int)s->n : 0;
}

static void check_list(const struct vfio_host *h, bool all, unsigned int stop_at, bool no_devices)
{
	struct seen s = { .all = all, .stop_at = stop_at };
	struct err e = { 0 };
	int rc = vfio_host_list(h, all, collect, &s, &e);
	if (no_devices) {
		CHECK(rc == -ENOENT && e.code == ENOENT && s.n == 0);
		return;
	}
	unsigned int want = 0;
	for (unsigned int i = 0; i < n_devs; i++) {
		if (!devs[i].canonical || (!all && strcmp(devs[i].driver, "vfio-pci")))
			continue;
		want++;
		bool listed = false;
		for (unsigned int k = 0; k < s.n; k++)
			if (!strcmp(s.bdf[k], devs[i].name)) {
				const struct vfio_dev *d = &devs[i].got; /* describe's */
				CHECK(d->vendor == s.d[k].vendor && d->device == s.d[k].device &&
				      d->class == s.d[k].class && d->group == s.d[k].group &&
				      d->viable == s.d[k].viable && d->others == s.d[k].others &&
				      d->others_free == s.d[k].others_free &&
				      !strcmp(d->driver, s.d[k].driver) &&
				      !strcmp(d->blocker, s.d[k].blocker));
				listed = true;
			}
		CHECK(listed || (stop_at && s.n == stop_at));
	}
	if (stop_at && want >= stop_at) {
		CHECK(rc == 1000 + (int)stop_at && s.n == stop_at);
	} else {
		CHECK(rc == 0 && s.n == want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	const struct vfio_host h = { .sysfs = sys, .dev_dir = devdir, .state = state };
	char s[256];

	raw(&z, s);
	check_bdf(s);

	bool no_devices = build(&z);

	bool any_group = false;
	for (unsigned int g = 0; g < N_GROUPS; g++)
		any_group |= group_dir[g];
	CHECK(vfio_host_iommu_on(&h) == any_group);
	struct vfio_dev d;
	for (unsigned int i = 0; i < n_devs; i++)
		if (devs[i].canonical)
			check_describe(&h, &devs[i]);
		else /* outside the contract (not a canonical BDF): only no crash */
			vfio_host_describe(&h, devs[i].name, &d, NULL);
	struct err e = { 0 };
	if (!named("0000:ff:1f.7"))
		CHECK(vfio_host_describe(&h, "0000:ff:1f.7", &d, &e) == -ENOENT &&
		      e.code == ENOENT && d.group == -1);
	check_list(&h, true, 0, no_devices);
	check_list(&h, false, 0, no_devices);
	check_list(&h, true, 1 + (unsigned int)(size % 3), no_devices);

	nftw(sys, fz_tmp_rm, 16, FTW_DEPTH | FTW_PHYS);
	/* nothing was written outside the tree (there is nothing else in TMP) */
	CHECK(access(state, F_OK) < 0 && access(devdir, F_OK) < 0);
	return 0;
}
