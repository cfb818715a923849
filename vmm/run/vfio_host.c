// SPDX-License-Identifier: Apache-2.0
/* PCI devices to vfio-pci and back, through sysfs (vfio_host.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/run/vfio_host.h"

/* snprintf for paths and names: one that does not fit is cut, and then
 * names nothing that exists (sysfs paths are far shorter than PATH_MAX). */
__attribute__((format(printf, 3, 4))) static void sfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static const char *sysfs(const struct vfio_host *h)
{
	return h && h->sysfs ? h->sysfs : VFIO_HOST_SYSFS;
}

int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN], struct err *e)
{
	unsigned int dom = 0, bus, dev, fn;
	int n = -1;

	if (!s || strlen(s) > 12)
		goto bad;
	for (const char *p = s; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			goto bad;
	if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) == 4 && n == 12 &&
	    s[4] == ':' && s[7] == ':' && s[10] == '.')
		;
	/* the short form ends at its 7th character: "00:03.0000" is not one
	 * (tests/fuzz/fuzz_vfio_host.c found it taken as 0000:00:03.0) */
	else if (dom = 0, n = -1,
		 sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) == 3 && n == 7 && !s[7] &&
			 s[2] == ':' && s[5] == '.')
		;
	else
		goto bad;
	if (dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, VFIO_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	return err_set(e, EINVAL, "'%s' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F",
		       s ? s : "");
}

/* The first line of a small file, without its newline. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		int rc = ferror(f) ? -EIO : -ENODATA;
		fclose(f);
		return rc;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_str(const char *path, const char *s, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "cannot open %s", path);
	size_t n = strlen(s);
	ssize_t w = write(fd, s, n);
	int saved = errno;
	close(fd);
	if (w < 0)
		return err_sys(e, saved, "cannot write '%s' to %s", s, path);
	if ((size_t)w != n)
		return err_set(e, EIO, "short write of '%s' to %s", s, path);
	return 0;
}

/* The basename of a symbolic link's target into out ("" when there is no link). */
static int link_name(const char *path, char *out, size_t len)
{
	char t[PATH_MAX];
	ssize_t n = readlink(path, t, sizeof(t) - 1);

	out[0] = 0;
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	t[n] = 0;
	const char *b = strrchr(t, '/');
	sfmt(out, len, "%s", b ? b + 1 : t);
	return 0;
}

/* A hex number file, 0 when it cannot be read or is above max (the field's
 * width: a broken tree's "0x12345678" is no 24-bit class, nor "-1" an ID). */
static unsigned int read_hex(const char *dir, const char *name, unsigned long max)
{
	char p[PATH_MAX], v[32];

	sfmt(p, sizeof(p), "%s/%s", dir, name);
	if (read_line(p, v, sizeof(v)) < 0)
		return 0;
	unsigned long x = strtoul(v, NULL, 16);
	return x <= max ? (unsigned int)x : 0;
}

/* An IOMMU group's number: its link's name, decimal; -1 for a name that is
 * not one (atoi took "-5" or "4294967298" and then listed another group's
 * devices; tests/fuzz/fuzz_vfio_host.c). */
static int group_number(const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end || errno || v > INT_MAX ? -1 : (int)v;
}

/* Drivers that leave a group usable by VFIO (the kernel's DMA ownership:
 * no driver, vfio's, and the ones with driver_managed_dma). */
static bool driver_vfio_safe(const char *drv)
{
	return !drv[0] || !strcmp(drv, VFIO_HOST_DRIVER) || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

int vfio_host_describe(const struct vfio_host *h, const char *bdf, struct vfio_dev *d,
		       struct err *e)
{
	char dir[PATH_MAX], p[PATH_MAX], g[PATH_MAX];
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->group = -1;
	sfmt(d->bdf, sizeof(d->bdf), "%s", bdf);
	sfmt(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs(h), bdf);
	if (stat(dir, &st) < 0)
		return err_set(e, ENOENT, "no PCI device %s (no %s)", bdf, dir);
	d->vendor = read_hex(dir, "vendor", 0xffff);
	d->device = read_hex(dir, "device", 0xffff);
	d->class = read_hex(dir, "class", 0xffffff);
	sfmt(p, sizeof(p), "%s/driver", dir);
	link_name(p, d->driver, sizeof(d->driver));
	sfmt(p, sizeof(p), "%s/iommu_group", dir);
	link_name(p, g, sizeof(g));
	d->group = group_number(g);
	if (d->group < 0)
		return 0;
	d->others_free = true;
	sfmt(p, sizeof(p), "%s/kernel/iommu_groups/%d/devices", sysfs(h), d->group);
	DIR *dd = opendir(p);
	if (!dd)
		return 0;
	for (struct dirent *de; (de = readdir(dd));) {
		char q[PATH_MAX], drv[64];

		if (de->d_name[0] == '.' || !strcmp(de->d_name, bdf))
			continue;
		d->others++;
		sfmt(q, sizeof(q), "%s/%s/driver", p, de->d_name);
		link_name(q, drv, sizeof(drv));
		if (!driver_vfio_safe(drv) && d->others_free) {
			d->others_free = false;
			sfmt(d->blocker, sizeof(d->blocker), "%.12s (%s)", de->d_name, drv);
		}
	}
	closedir(dd);
	d->viable = d->others_free && driver_vfio_safe(d->driver);
	if (d->others_free && !d->viable)
		sfmt(d->blocker, sizeof(d->blocker), "%s (%s)", bdf, d->driver);
	return 0;
}

bool vfio_host_iommu_on(const struct vfio_host *h)
{
	char p[PATH_MAX];
	bool any = false;

	sfmt(p, sizeof(p), "%s/kernel/iommu_groups", sysfs(h));
	DIR *d = opendir(p);
	if (!d)
		return false;
	for (struct dirent *de; !any && (de = readdir(d));)
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static const char *state_dir(const struct vfio_host *h)
{
	return h && h->state ? h->state : VFIO_HOST_STATE_DIR;
}

static int mkdirs(const char *path)
{
	char p[PATH_MAX];

	sfmt(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int remember(const struct vfio_host *h, const char *bdf, const char *drv, struct err *e)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	int rc = mkdirs(state_dir(h));

	if (rc < 0)
		return err_sys(e, -rc, "cannot create %s", state_dir(h));
	sfmt(p, sizeof(p), "%s/%s.driver", state_dir(h), bdf);
	sfmt(tmp, sizeof(tmp), "%s.tmp", p);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return err_sys(e, errno, "cannot create %s", tmp);
	fprintf(f, "%s\n", drv[0] ? drv : "-");
	if (fclose(f) != 0 || rename(tmp, p) < 0) {
		rc = errno;
		unlink(tmp);
		return err_sys(e, rc, "cannot write %s", p);
	}
	return 0;
}

/* Waits a little for a condition the kernel makes true asynchronously. */
static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

int vfio_host_bind(const struct vfio_host *h, const char *bdf, bool strict, struct vfio_dev *d,
		   bool *already, struct err *e)
{
	char dir[PATH_MAX], p[PATH_MAX], was[64];
	struct stat st;
	int rc;

	*already = false;
	rc = vfio_host_describe(h, bdf, d, e);
	if (rc < 0)
		return rc;
	sfmt(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs(h), bdf);
	if (!vfio_host_iommu_on(h))
		return err_set(e, ENODEV,
			       "no IOMMU (%s/kernel/iommu_groups is empty): boot with "
			       "intel_iommu=on or amd_iommu=on",
			       sysfs(h));
	if (d->group < 0)
		return err_set(e, ENODEV, "%s is in no IOMMU group (no %s/iommu_group)", bdf, dir);
	sfmt(p, sizeof(p), "%s/bus/pci/drivers/" VFIO_HOST_DRIVER, sysfs(h));
	if (stat(p, &st) < 0)
		return err_set(e, ENODEV, "vfio-pci is not there (no %s): load the vfio-pci module",
			       p);
	if (!strcmp(d->driver, VFIO_HOST_DRIVER)) {
		*already = true;
		return 0;
	}
	if (strict && !d->others_free)
		return err_set(e, EBUSY,
			       "IOMMU group %d is not viable: %s is held by a driver VFIO does not "
			       "allow; bind it to vfio-pci too, or drop --strict",
			       d->group, d->blocker);
	sfmt(was, sizeof(was), "%s", d->driver);
	rc = remember(h, bdf, was, e);
	if (rc < 0)
		return rc;
	sfmt(p, sizeof(p), "%s/driver_override", dir);
	rc = write_str(p, VFIO_HOST_DRIVER, e);
	if (rc < 0)
		return rc;
	if (was[0]) {
		sfmt(p, sizeof(p), "%s/driver/unbind", dir);
		rc = write_str(p, bdf, e);
		if (rc < 0)
			goto undo;
	}
	sfmt(p, sizeof(p), "%s/bus/pci/drivers_probe", sysfs(h));
	rc = write_str(p, bdf, e);
	if (rc < 0)
		goto undo;
	for (int i = 0; i < 50; i++) {
		rc = vfio_host_describe(h, bdf, d, e);
		if (rc < 0)
			goto undo;
		if (!strcmp(d->driver, VFIO_HOST_DRIVER))
			break;
		nap();
	}
	if (strcmp(d->driver, VFIO_HOST_DRIVER)) {
		rc = err_set(e, EIO, "%s did not bind to vfio-pci (its driver is %s)", bdf,
			     d->driver[0] ? d->driver : "none");
		goto undo;
	}
	sfmt(p, sizeof(p), "%s/%d", h && h->dev_dir ? h->dev_dir : VFIO_HOST_DEV_DIR, d->group);
	for (int i = 0; i < 50 && stat(p, &st) < 0; i++)
		nap();
	if (stat(p, &st) < 0)
		return err_set(e, ENOENT, "%s is bound to vfio-pci but %s did not appear", bdf, p);
	return 0;
undo : {
	/* back to where it was, as far as possible; the first error stands */
	struct vfio_dev ignored;
	vfio_host_unbind(h, bdf, &ignored, NULL);
	return rc;
}
}

int vfio_host_unbind(const struct vfio_host *h, const char *bdf, struct vfio_dev *d, struct err *e)
{
	char dir[PATH_MAX], p[PATH_MAX], state[PATH_MAX], drv[64] = "", ov[64] = "";
	struct stat st;
	int rc;

	rc = vfio_host_describe(h, bdf, d, e);
	if (rc < 0)
		return rc;
	sfmt(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs(h), bdf);
	if (d->driver[0] && strcmp(d->driver, VFIO_HOST_DRIVER))
		return err_set(e, EINVAL, "%s is not bound to vfio-pci (its driver is %s)", bdf,
			       d->driver);
	sfmt(p, sizeof(p), "%s/driver_override", dir);
	read_line(p, ov, sizeof(ov));
	if (!d->driver[0] && strcmp(ov, VFIO_HOST_DRIVER))
		return err_set(e, EINVAL, "%s is not bound to vfio-pci (it has no driver)", bdf);
	rc = write_str(p, "\n", e); /* a newline clears the override */
	if (rc < 0)
		return rc;
	if (d->driver[0]) {
		sfmt(p, sizeof(p), "%s/bus/pci/drivers/" VFIO_HOST_DRIVER "/unbind", sysfs(h));
		rc = write_str(p, bdf, e);
		if (rc < 0)
			return rc;
	}
	sfmt(state, sizeof(state), "%s/%s.driver", state_dir(h), bdf);
	if (read_line(state, drv, sizeof(drv)) < 0 || !strcmp(drv, "-") || strchr(drv, '/') ||
	    !strcmp(drv, VFIO_HOST_DRIVER))
		drv[0] = 0;
	rc = -1;
	sfmt(p, sizeof(p), "%s/bus/pci/drivers/%s", sysfs(h), drv);
	if (drv[0] && stat(p, &st) == 0) {
		sfmt(p, sizeof(p), "%s/bus/pci/drivers/%s/bind", sysfs(h), drv);
		rc = write_str(p, bdf, NULL);
	}
	if (rc < 0) { /* no driver remembered, or it is gone: let the kernel choose */
		sfmt(p, sizeof(p), "%s/bus/pci/drivers_probe", sysfs(h));
		rc = write_str(p, bdf, e);
		if (rc < 0)
			return rc;
	}
	unlink(state);
	return vfio_host_describe(h, bdf, d, e);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vfio_host_list(const struct vfio_host *h, bool all,
		   int (*fn)(const struct vfio_dev *d, void *arg), void *arg, struct err *e)
{
	char p[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	sfmt(p, sizeof(p), "%s/bus/pci/devices", sysfs(h));
	DIR *dd = opendir(p);
	if (!dd)
		return err_sys(e, errno, "cannot list %s", p);
	for (struct dirent *de; (de = readdir(dd));) {
		char bdf[VFIO_BDF_LEN];

		if (vfio_bdf_parse(de->d_name, bdf, NULL) < 0 || strcmp(bdf, de->d_name))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof(*v));
			if (!v) {
				rc = err_set(e, ENOMEM, "out of memory listing %s", p);
				goto out;
			}
			names = v;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = err_set(e, ENOMEM, "out of memory listing %s", p);
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		struct vfio_dev d;

		if (vfio_host_describe(h, names[i], &d, NULL) < 0)
			continue; /* gone meanwhile */
		if (all || !strcmp(d.driver, VFIO_HOST_DRIVER))
			rc = fn(&d, arg);
	}
out:
	closedir(dd);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
