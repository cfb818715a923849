// SPDX-License-Identifier: Apache-2.0
/* VFIO PCI passthrough: container, groups, the device and its PCI endpoint. */
#include "devices/vfio/vfio.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/kvm/log.h"

#define VFIO_CONTAINER "/dev/vfio/vfio"
#define CFG_BYTES      PCI_CFG_SIZE

/* --- the container and its groups ---------------------------------------- */

void vfio_ctx_init(struct vfio_ctx *c, struct kvm *kvm, const struct guest_mem *mem)
{
	memset(c, 0, sizeof(*c));
	c->kvm = kvm;
	c->mem = mem;
	c->container = -1;
	c->kvm_vfio = -1;
	c->live = true;
}

void vfio_ctx_free(struct vfio_ctx *c)
{
	if (!c->live)
		return;
	for (unsigned int i = 0; i < c->n_groups; i++) {
		if (c->groups[i].fd < 0)
			continue;
		if (c->kvm_vfio >= 0)
			kvm_vfio_group(c->kvm_vfio, c->groups[i].fd, false);
		ioctl(c->groups[i].fd, VFIO_GROUP_UNSET_CONTAINER);
		close(c->groups[i].fd);
	}
	c->n_groups = 0;
	if (c->kvm_vfio >= 0)
		close(c->kvm_vfio);
	if (c->container >= 0)
		close(c->container); /* the last user: the DMA mappings go */
	c->kvm_vfio = c->container = -1;
	c->mapped = false;
	c->live = false;
}

static int container_open(struct vfio_ctx *c, struct err *err)
{
	int fd, v;

	if (c->container >= 0)
		return 0;
	fd = open(VFIO_CONTAINER, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return err_sys(err, e, "%s%s", VFIO_CONTAINER,
			       e == ENOENT ? " (is the vfio-pci module loaded?)" : "");
	}
	v = ioctl(fd, VFIO_GET_API_VERSION);
	if (v != VFIO_API_VERSION) {
		close(fd);
		return err_set(err, ENODEV, "%s: VFIO API version %d, svmm speaks %d",
			       VFIO_CONTAINER, v, VFIO_API_VERSION);
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		close(fd);
		return err_set(err, ENODEV, "%s: no type-1 v2 IOMMU (is the host IOMMU on?)",
			       VFIO_CONTAINER);
	}
	c->container = fd;
	return 0;
}

static bool cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

/* The container's usable IOVA ranges (VFIO_IOMMU_GET_INFO's capability);
 * *n 0 when the kernel gives none. *out is malloc'd. */
static int iova_ranges(int container, struct vfio_usable_range **out, unsigned int *n,
		       struct err *err)
{
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));
	uint32_t sz = sizeof(*info);
	int rc;

	*out = NULL;
	*n = 0;
	if (!info)
		return -ENOMEM;
	info->argsz = sz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info)) {
		int e = errno;
		free(info);
		return err_sys(err, e, "VFIO_IOMMU_GET_INFO");
	}
	if (info->argsz > sz) {
		sz = info->argsz;
		struct vfio_iommu_type1_info *big = realloc(info, sz);
		if (!big) {
			free(info);
			return -ENOMEM;
		}
		info = big;
		memset(info, 0, sz);
		info->argsz = sz;
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info)) {
			int e = errno;
			free(info);
			return err_sys(err, e, "VFIO_IOMMU_GET_INFO");
		}
	}
	rc = vfio_iova_ranges_parse(info, sz, out, n);
	free(info);
	return rc;
}

/* Map every guest RAM region at IOVA = GPA. */
static int map_ram(struct vfio_ctx *c, struct err *err)
{
	const struct guest_mem *m = c->mem;
	struct vfio_usable_range *r;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned int n;
	int rc;

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if ((rc = vfio_memlock_check(m->size, rl.rlim_cur, cap_ipc_lock(), err)))
		return rc;
	if ((rc = iova_ranges(c->container, &r, &n, err)))
		return rc;
	for (unsigned int i = 0; i < m->n_regions; i++) {
		const struct guest_region *g = &m->region[i];
		if (!vfio_iova_usable(r, n, g->gpa, g->size)) {
			free(r);
			return err_set(
				err, EINVAL,
				"guest RAM [%#llx, %#llx) overlaps an IOVA range the host "
				"IOMMU reserves (see /sys/kernel/iommu_groups/*/reserved_regions): "
				"try less --memory",
				(unsigned long long)g->gpa, (unsigned long long)(g->gpa + g->size));
		}
		struct vfio_iommu_type1_dma_map dm = {
			.argsz = sizeof(dm),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)g->hva,
			.iova = g->gpa,
			.size = g->size,
		};
		if (ioctl(c->container, VFIO_IOMMU_MAP_DMA, &dm)) {
			int e = errno;
			free(r);
			return err_sys(
				err, e, "VFIO_IOMMU_MAP_DMA of guest RAM [%#llx, +%llu MiB)%s",
				(unsigned long long)g->gpa, (unsigned long long)(g->size >> 20),
				e == ENOMEM ? " (RLIMIT_MEMLOCK?)" : "");
		}
	}
	free(r);
	c->mapped = true;
	return 0;
}

/* The group of the device at sysfs path: opened, viable, in the container. */
/* ", and DDDD:BB:DD.F is bound to DRIVER" for the first device of group id
 * that holds it back (on a driver other than vfio-pci or pcieport, which
 * VFIO allows), or "" when sysfs does not say (a jail may hide it). */
static void group_blocker(unsigned long id, char *out, size_t len)
{
	char dir[64], link[512], target[256];
	struct dirent *e;
	DIR *d;

	*out = 0;
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%lu/devices", id);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s/driver", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		const char *drv = strrchr(target, '/');
		drv = drv ? drv + 1 : target;
		if (strcmp(drv, "vfio-pci") && strcmp(drv, "pcieport")) {
			snprintf(out, len, ", and %.32s is bound to %.64s", e->d_name, drv);
			break;
		}
	}
	closedir(d);
}

/* A device of g is gone: the last one takes g out of KVM's VFIO device and
 * the container and closes it (the host may hand the group to another VM);
 * the last group takes the container's IOMMU and DMA mappings with it. */
static void group_put(struct vfio_ctx *c, struct vfio_group *g)
{
	if (--g->users)
		return;
	if (c->kvm_vfio >= 0)
		kvm_vfio_group(c->kvm_vfio, g->fd, false);
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	g->fd = -1;
	bool left = false;
	for (unsigned int i = 0; i < c->n_groups; i++)
		left |= c->groups[i].fd >= 0;
	if (!left)
		c->mapped = false; /* VFIO_SET_IOMMU and the mappings again for the next */
}

static int group_get(struct vfio_ctx *c, const char *path, struct vfio_group **out, struct err *err)
{
	char link[PATH_MAX], target[PATH_MAX], node[64];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t len;
	int fd, rc;

	snprintf(link, sizeof(link), "%s/iommu_group", path);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0) {
		int e = errno;
		if (access(path, F_OK))
			return err_sys(err, errno, "%s", path);
		return err_sys(err, e,
			       "%s has no IOMMU group (is the host IOMMU on: intel_iommu=on or "
			       "amd_iommu=on?)",
			       path);
	}
	target[len] = 0;
	const char *slash = strrchr(target, '/'), *num = slash ? slash + 1 : target;
	char *end;
	errno = 0;
	/* digits only (strtoul would take a sign or spaces), and a uint */
	unsigned long id = strtoul(num, &end, 10);
	if (*end || end == num || !isdigit((unsigned char)*num) || errno || id > UINT_MAX)
		return err_set(err, EINVAL, "%s: iommu_group link '%s' names no group", path,
			       target);
	unsigned int slot = c->n_groups;
	for (unsigned int i = 0; i < c->n_groups; i++) {
		if (c->groups[i].fd >= 0 && c->groups[i].id == id) {
			*out = &c->groups[i];
			return 0;
		}
		if (c->groups[i].fd < 0 && slot == c->n_groups)
			slot = i; /* a group released by a hot-remove */
	}
	if (slot == VFIO_MAX_GROUPS)
		return err_set(err, ENOSPC, "at most %d VFIO groups", VFIO_MAX_GROUPS);
	if ((rc = container_open(c, err)))
		return rc;
	snprintf(node, sizeof(node), "/dev/vfio/%lu", id);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return err_sys(err, e, "%s (group of %s%s)", node, path,
			       e == ENOENT ? "; is it bound to vfio-pci?" : "");
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		rc = err_sys(err, errno, "%s: VFIO_GROUP_GET_STATUS", node);
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char who[320];
		group_blocker(id, who, sizeof(who));
		rc = err_set(
			err, EBUSY,
			"group %lu is not viable: every device in it must be bound to "
			"vfio-pci or to no driver%s (see /sys/kernel/iommu_groups/%lu/devices)",
			id, who, id);
		goto fail;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->container)) {
		rc = err_sys(err, errno, "%s: VFIO_GROUP_SET_CONTAINER", node);
		goto fail;
	}
	if (!c->mapped) {
		if (ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
			rc = err_sys(err, errno, "VFIO_SET_IOMMU (type-1 v2)");
			goto fail_unset;
		}
		if ((rc = map_ram(c, err)))
			goto fail_unset;
	}
	if (c->kvm_vfio < 0) {
		rc = kvm_vfio_create(c->kvm);
		if (rc < 0) {
			err_sys(err, -rc, "KVM_CREATE_DEVICE (KVM_DEV_TYPE_VFIO)");
			goto fail_unset;
		}
		c->kvm_vfio = rc;
	}
	if ((rc = kvm_vfio_group(c->kvm_vfio, fd, true))) {
		err_sys(err, -rc, "KVM VFIO device: adding group %lu", id);
		goto fail_unset;
	}
	c->groups[slot] = (struct vfio_group){ .fd = fd, .id = (unsigned int)id };
	if (slot == c->n_groups)
		c->n_groups++;
	*out = &c->groups[slot];
	return 0;
fail_unset:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
fail:
	close(fd);
	return rc;
}

/* --- the endpoint --------------------------------------------------------- */

static void bar_read(void *opaque, unsigned int bar, uint64_t off, void *data, unsigned int size)
{
	struct vfio_dev *v = opaque;
	const struct vfio_region *r = &v->bar[bar];

	if (off + size > r->size || pread(v->fd, data, size, (off_t)(r->offset + off)) != size)
		memset(data, 0xFF, size);
}

static void bar_write(void *opaque, unsigned int bar, uint64_t off, const void *data,
		      unsigned int size)
{
	struct vfio_dev *v = opaque;
	const struct vfio_region *r = &v->bar[bar];

	if (off + size <= r->size &&
	    pwrite(v->fd, data, size, (off_t)(r->offset + off)) != (ssize_t)size)
		log_msg(LV_DEBUG, "vfio", "vfio %s: BAR %u write at %#llx failed", v->name, bar,
			(unsigned long long)off);
}

/* Point the physical MSI-X vectors at pci.c's eventfds (on), or off. */
static int msix_program(struct vfio_dev *v, bool on)
{
	unsigned int n = on ? v->pci.msix_n : 0;
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		   (on ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = 0;
	s->count = n;
	for (unsigned int i = 0; i < n; i++)
		((int32_t *)s->data)[i] = pci_msix_fd(&v->pci, i);
	if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, s))
		rc = -errno;
	free(s);
	if (!rc)
		v->msix_on = on;
	return rc;
}

/* Point the physical INTx at the irqfd (on: trigger eventfd, and the
 * resample eventfd as VFIO's unmask), or off. VFIO masks the line when it
 * fires; the guest's EOI writes the resample eventfd, which unmasks it. */
static int intx_program(struct vfio_dev *v, bool on)
{
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} set = { .s = { .argsz = sizeof(set), .index = VFIO_PCI_INTX_IRQ_INDEX } };
	int rc = 0;

	if (v->intx_gsi < 0 || v->intx_on == on)
		return 0;
	set.s.flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		      (on ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set.s.count = on;
	set.fd = v->intx_fd;
	if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set.s))
		return -errno;
	if (on) {
		set.s.flags = VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_EVENTFD;
		set.fd = v->intx_rfd;
		if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set.s)) {
			rc = -errno;
			set.s.flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE;
			set.s.count = 0;
			ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set.s);
			return rc;
		}
	}
	v->intx_on = on;
	return 0;
}

static void intx_set(struct vfio_dev *v, bool on)
{
	int rc = intx_program(v, on);

	if (rc)
		log_msg(LV_ERROR, "vfio", "vfio %s: VFIO_DEVICE_SET_IRQS (INTx %s): %s", v->name,
			on ? "on" : "off", strerror(-rc));
}

static int msi_program(struct vfio_dev *v, bool on);

static void msix_ctl(void *opaque, bool enabled, bool masked)
{
	struct vfio_dev *v = opaque;
	int rc = 0;

	(void)masked; /* pci.c holds masked vectors' interrupts in their eventfds */
	if (enabled == v->msix_on)
		return;
	/* VFIO takes one interrupt type at a time: INTx goes while MSI-X is on */
	if (enabled) {
		intx_set(v, false);
		msi_program(v, false);
	}
	if (enabled && pci_msix_fd(&v->pci, 0) < 0)
		log_msg(LV_ERROR, "vfio", "vfio %s: MSI-X needs irqfd mode", v->name);
	else
		rc = msix_program(v, enabled);
	if (rc)
		log_msg(LV_ERROR, "vfio", "vfio %s: VFIO_DEVICE_SET_IRQS (MSI-X %s): %s", v->name,
			enabled ? "on" : "off", strerror(-rc));
	if (!v->msix_on && !v->msi_on)
		intx_set(v, true);
}

/* The physical MSI (one vector) pointed at pci.c's MSI eventfd, or off. */
static int msi_program(struct vfio_dev *v, bool on)
{
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} set = { .s = { .argsz = sizeof(set), .index = VFIO_PCI_MSI_IRQ_INDEX } };

	if (v->msi_on == on)
		return 0;
	set.s.flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		      (on ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set.s.count = on;
	set.fd = pci_msi_fd(&v->pci);
	if (on && set.fd < 0)
		return -ENOSYS; /* no irqfd mode */
	if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set.s))
		return -errno;
	v->msi_on = on;
	return 0;
}

static void msi_ctl(void *opaque, bool enabled)
{
	struct vfio_dev *v = opaque;
	int rc;

	if (enabled) {
		intx_set(v, false);
		if (v->msix_on)
			msix_program(v, false);
	}
	if ((rc = msi_program(v, enabled)))
		log_msg(LV_ERROR, "vfio", "vfio %s: VFIO_DEVICE_SET_IRQS (MSI %s): %s", v->name,
			enabled ? "on" : "off", strerror(-rc));
	if (!v->msix_on && !v->msi_on)
		intx_set(v, true);
}

static void command(void *opaque, uint16_t cmd)
{
	struct vfio_dev *v = opaque;
	off_t at = (off_t)(v->cfg.offset + PCI_COMMAND);
	uint16_t phys = 0;

	if (pread(v->fd, &phys, 2, at) != 2)
		phys = 0;
	phys = vfio_cmd_forward(cmd, phys);
	if (pwrite(v->fd, &phys, 2, at) != 2)
		log_msg(LV_ERROR, "vfio", "vfio %s: cannot write the command register", v->name);
}

/* Delete BAR bar's slots (the guest then traps there again). */
static void pieces_unregister(struct vfio_dev *v, unsigned int bar)
{
	struct kvm *k = v->ctx->kvm;

	for (unsigned int i = 0; i < v->n_pieces[bar]; i++) {
		struct vfio_piece *p = &v->piece[bar][i];
		if (p->slot < 0)
			continue;
		int rc = kvm_set_memory(k, (uint32_t)p->slot, 0, 0, NULL);
		if (rc)
			/* the slot stays KVM's: do not hand it out again */
			log_msg(LV_ERROR, "vfio", "vfio %s: BAR %u: deleting memory slot %d: %s",
				v->name, bar, p->slot, strerror(-rc));
		else
			kvm_slot_free(k, p->slot);
		p->slot = -1;
	}
}

static bool overlaps_ram(const struct guest_mem *m, uint64_t gpa, uint64_t size)
{
	for (unsigned int i = 0; m && i < m->n_regions; i++)
		if (gpa < m->region[i].gpa + m->region[i].size && m->region[i].gpa < gpa + size)
			return true;
	return false;
}

/* BAR bar's pieces as slots at addr + their offsets. A piece that cannot
 * be one stays trapped. */
static void pieces_register(struct vfio_dev *v, unsigned int bar, uint64_t addr)
{
	struct kvm *k = v->ctx->kvm;
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	for (unsigned int i = 0; i < v->n_pieces[bar]; i++) {
		struct vfio_piece *p = &v->piece[bar][i];
		uint64_t gpa = addr + p->off;
		int slot, rc;

		if (!p->hva)
			continue;
		if (gpa < addr || gpa + p->size < gpa || (gpa & (page - 1))) {
			log_msg(LV_WARN, "vfio",
				"vfio %s: BAR %u at %#llx: piece +%#llx not mappable", v->name, bar,
				(unsigned long long)addr, (unsigned long long)p->off);
			continue;
		}
		if (overlaps_ram(v->ctx->mem, gpa, p->size)) {
			log_msg(LV_ERROR, "vfio",
				"vfio %s: BAR %u at %#llx overlaps guest RAM: left trapped",
				v->name, bar, (unsigned long long)addr);
			continue;
		}
		slot = kvm_slot_alloc(k);
		if (slot < 0) {
			log_msg(LV_WARN, "vfio",
				"vfio %s: BAR %u: no KVM memory slot left: [%#llx, +%#llx) trapped",
				v->name, bar, (unsigned long long)gpa, (unsigned long long)p->size);
			continue;
		}
		rc = kvm_set_memory(k, (uint32_t)slot, gpa, p->size, p->hva);
		if (rc) {
			log_msg(LV_WARN, "vfio",
				"vfio %s: BAR %u: KVM_SET_USER_MEMORY_REGION [%#llx, +%#llx): %s: "
				"trapped",
				v->name, bar, (unsigned long long)gpa, (unsigned long long)p->size,
				strerror(-rc));
			kvm_slot_free(k, slot);
			continue;
		}
		p->slot = slot;
	}
}

static void bar_moved(void *opaque, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct vfio_dev *v = opaque;

	(void)old_addr;
	if (bar >= PCI_NUM_BARS || !v->n_pieces[bar])
		return;
	pieces_unregister(v, bar);
	if (new_addr)
		pieces_register(v, bar, new_addr);
}

/* The BAR region's sparse mmap areas: 1 with them in areas (*n of them,
 * at most max), 0 when VFIO gives none (the whole region is mappable). */
static int region_sparse(struct vfio_dev *v, unsigned int index, struct vfio_range *areas,
			 unsigned int *n, unsigned int max)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };
	struct vfio_region_info *big;
	int found;

	*n = 0;
	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
	    !(ri.flags & VFIO_REGION_INFO_FLAG_CAPS) || ri.argsz <= sizeof(ri) || ri.argsz > 65536)
		return 0;
	big = calloc(1, ri.argsz);
	if (!big)
		return -ENOMEM;
	big->argsz = ri.argsz;
	big->index = index;
	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, big)) {
		free(big);
		return 0;
	}
	found = vfio_region_sparse_parse(big, ri.argsz < big->argsz ? ri.argsz : big->argsz, areas,
					 n, max);
	free(big);
	return found;
}

/* mmap each memory BAR's mappable pieces (no slots yet: bar_moved). A BAR
 * or piece that cannot be mapped stays trapped. */
static void pieces_map(struct vfio_dev *v, const struct pci_dev_info *info)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
		const struct vfio_region *r = &v->bar[b];
		struct vfio_range areas[VFIO_MAX_PIECES], holes[2] = { { 0, 0 }, { 0, 0 } };
		struct vfio_range out[VFIO_MAX_PIECES];
		unsigned int n_areas = 0;
		int sparse, n;

		v->n_pieces[b] = 0;
		if (info->bars[b].kind != PCI_BAR_MEM32 && info->bars[b].kind != PCI_BAR_MEM64)
			continue;
		if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
		    (r->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
			    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) ||
		    (r->offset & (page - 1)))
			continue;
		sparse = region_sparse(v, VFIO_PCI_BAR0_REGION_INDEX + b, areas, &n_areas,
				       VFIO_MAX_PIECES);
		if (sparse < 0) {
			log_msg(LV_WARN, "vfio", "vfio %s: BAR %u: bad sparse mmap list: trapped",
				v->name, b);
			continue;
		}
		if (info->msix_vectors && info->msix_bar == b) {
			holes[0] = (struct vfio_range){ info->msix_table_off,
							(uint64_t)info->msix_vectors *
								PCI_MSIX_ENTRY_SIZE };
			holes[1] = (struct vfio_range){ info->msix_pba_off,
							((info->msix_vectors + 63u) / 64u) * 8u };
		}
		n = vfio_bar_pieces(r->size, page, sparse ? areas : NULL, n_areas, holes, 2, out,
				    VFIO_MAX_PIECES);
		if (n < 0) {
			log_msg(LV_WARN, "vfio",
				"vfio %s: BAR %u: cannot split it for mmap (%s): trapped", v->name,
				b, strerror(-n));
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct vfio_piece *p = &v->piece[b][v->n_pieces[b]];
			void *hva = mmap(NULL, out[i].size, PROT_READ | PROT_WRITE, MAP_SHARED,
					 v->fd, (off_t)(r->offset + out[i].off));
			if (hva == MAP_FAILED) {
				log_msg(LV_WARN, "vfio",
					"vfio %s: BAR %u: mmap of [%#llx, +%#llx): %s: trapped",
					v->name, b, (unsigned long long)out[i].off,
					(unsigned long long)out[i].size, strerror(errno));
				continue;
			}
			*p = (struct vfio_piece){ out[i].off, out[i].size, hva, -1 };
			v->n_pieces[b]++;
		}
		if (v->n_pieces[b])
			log_msg(LV_INFO, "vfio",
				"vfio %s: BAR %u: %u piece(s) mapped into the guest", v->name, b,
				v->n_pieces[b]);
	}
}

/* Delete the slots and unmap every piece. */
static void pieces_free(struct vfio_dev *v)
{
	for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
		pieces_unregister(v, b);
		for (unsigned int i = 0; i < v->n_pieces[b]; i++)
			munmap(v->piece[b][i].hva, v->piece[b][i].size);
		v->n_pieces[b] = 0;
	}
}

static const struct pci_dev_ops vfio_pci_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.bar_moved = bar_moved,
	.msix_ctl = msix_ctl,
	.msi_ctl = msi_ctl,
	.command = command,
};

static int region_info(struct vfio_dev *v, unsigned int index, struct vfio_region *out,
		       struct err *err)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return err_sys(err, errno, "%s: VFIO_DEVICE_GET_REGION_INFO %u", v->name, index);
	*out = (struct vfio_region){ ri.size, ri.offset, ri.flags };
	return 0;
}

static int dev_open(struct vfio_dev *v, const char *path, struct err *err)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	uint8_t cfg[CFG_BYTES];
	uint64_t sizes[PCI_NUM_BARS] = { 0 };
	struct pci_dev_info info;
	int rc;

	if ((rc = group_get(v->ctx, path, &v->group, err)))
		return rc;
	v->group->users++;
	v->fd = ioctl(v->group->fd, VFIO_GROUP_GET_DEVICE_FD, v->name);
	if (v->fd < 0)
		return err_sys(err, errno, "%s: VFIO_GROUP_GET_DEVICE_FD (bound to vfio-pci?)",
			       v->name);
	fcntl(v->fd, F_SETFD, FD_CLOEXEC);
	if (ioctl(v->fd, VFIO_DEVICE_GET_INFO, &di))
		return err_sys(err, errno, "%s: VFIO_DEVICE_GET_INFO", v->name);
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return err_set(err, ENODEV, "%s: not a VFIO PCI device", v->name);
	v->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	if (v->can_reset && ioctl(v->fd, VFIO_DEVICE_RESET))
		log_msg(LV_WARN, "vfio", "vfio %s: VFIO_DEVICE_RESET: %s", v->name,
			strerror(errno));
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		if ((rc = region_info(v, VFIO_PCI_BAR0_REGION_INDEX + i, &v->bar[i], err)))
			return rc;
		sizes[i] = v->bar[i].size;
	}
	if ((rc = region_info(v, VFIO_PCI_CONFIG_REGION_INDEX, &v->cfg, err)))
		return rc;
	memset(cfg, 0, sizeof(cfg));
	if (pread(v->fd, cfg, sizeof(cfg), (off_t)v->cfg.offset) != (ssize_t)sizeof(cfg))
		return err_sys(err, errno, "%s: reading its config space", v->name);
	if ((rc = vfio_cfg_info(cfg, sizeof(cfg), sizes, &info, err)))
		return err_wrap(err, "%s", v->name);
	v->msix_phys_cap = (uint16_t)vfio_cfg_msix(cfg, sizeof(cfg), &info);
	if (info.msix_vectors) {
		if (ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) || ii.count < info.msix_vectors) {
			log_msg(LV_WARN, "vfio",
				"vfio %s: VFIO offers %u MSI-X vectors of %u: none exposed",
				v->name, ii.count, info.msix_vectors);
			info.msix_vectors = 0;
		}
	}
	/* MSI: one vector of the physical capability, when VFIO offers it */
	ii = (struct vfio_irq_info){ .argsz = sizeof(ii), .index = VFIO_PCI_MSI_IRQ_INDEX };
	if (vfio_cfg_cap(cfg, sizeof(cfg), PCI_CAP_ID_MSI) &&
	    !ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) && ii.count &&
	    (ii.flags & VFIO_IRQ_INFO_EVENTFD))
		info.msi = true;
	/* INTx: the physical pin, when VFIO offers the (maskable) interrupt */
	ii = (struct vfio_irq_info){ .argsz = sizeof(ii), .index = VFIO_PCI_INTX_IRQ_INDEX };
	if (cfg[PCI_INTERRUPT_PIN] >= 1 && cfg[PCI_INTERRUPT_PIN] <= 4 &&
	    !ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) && ii.count &&
	    (ii.flags & VFIO_IRQ_INFO_EVENTFD) && (ii.flags & VFIO_IRQ_INFO_MASKABLE))
		info.intx_pin = cfg[PCI_INTERRUPT_PIN];
	if (!info.msix_vectors && !info.msi && !info.intx_pin)
		log_msg(LV_WARN, "vfio",
			"vfio %s: no MSI-X, MSI or INTx that VFIO offers: the guest gets no "
			"interrupts",
			v->name);
	/* decode and bus master off until the guest turns them on */
	command(v, 0);
	if ((rc = pci_dev_init(&v->pci, &info, &vfio_pci_ops, v)))
		return err_set(err, rc, "%s: svmm's PCI model cannot take it (see the log)",
			       v->name);
	pieces_map(v, &info);
	log_msg(LV_INFO, "vfio",
		"vfio %s: %04x:%04x class %06x, %u MSI-X vectors in BAR %u, MSI %s, INTx pin %u",
		v->name, info.vendor_id, info.device_id, info.class_code, info.msix_vectors,
		info.msix_bar, info.msi ? "yes" : "no", info.intx_pin);
	return 0;
}

int vfio_dev_create(struct vfio_dev **out, struct vfio_ctx *c, const char *path, struct err *err)
{
	struct vfio_dev *v = calloc(1, sizeof(*v));
	const char *name;
	size_t len;
	int rc;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->ctx = c;
	v->fd = -1;
	v->intx_fd = v->intx_rfd = v->intx_gsi = -1;
	/* the name is the directory's (validated by the config: DDDD:BB:DD.F) */
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	name = memrchr(path, '/', len);
	name = name ? name + 1 : path;
	len -= (size_t)(name - path);
	if (!len || len >= sizeof(v->name)) {
		free(v);
		return err_set(err, EINVAL, "%s: not a PCI device's sysfs directory", path);
	}
	memcpy(v->name, name, len);
	v->name[len] = 0;
	if ((rc = dev_open(v, path, err))) {
		pieces_free(v);
		if (v->fd >= 0)
			close(v->fd);
		if (v->group)
			group_put(c, v->group);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int vfio_dev_start(struct vfio_dev *v, struct err *err)
{
	int gsi = pci_intx_gsi(&v->pci), rc;

	if (gsi < 0)
		return 0;
	v->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->intx_fd < 0 || v->intx_rfd < 0)
		return err_sys(err, errno, "%s: eventfd for INTx", v->name);
	if ((rc = kvm_irqfd_resample_bind(v->ctx->kvm, v->intx_fd, v->intx_rfd, (uint32_t)gsi)))
		return err_sys(err, -rc, "%s: KVM_IRQFD (INTx, GSI %d, resample)", v->name, gsi);
	v->intx_gsi = gsi;
	if ((rc = intx_program(v, true)))
		return err_sys(err, -rc, "%s: VFIO_DEVICE_SET_IRQS (INTx)", v->name);
	log_msg(LV_INFO, "vfio", "vfio %s: INTx on GSI %d", v->name, gsi);
	return 0;
}

void vfio_dev_free(struct vfio_dev *v)
{
	if (!v)
		return;
	if (v->msix_on)
		msix_program(v, false);
	msi_program(v, false);
	intx_program(v, false);
	if (v->intx_gsi >= 0)
		kvm_irqfd_unbind(v->ctx->kvm, v->intx_fd, (uint32_t)v->intx_gsi);
	if (v->intx_fd >= 0)
		close(v->intx_fd);
	if (v->intx_rfd >= 0)
		close(v->intx_rfd);
	pieces_free(v); /* before decode goes off: the guest traps again */
	command(v, 0);
	if (v->can_reset)
		ioctl(v->fd, VFIO_DEVICE_RESET);
	close(v->fd);
	pci_dev_free(&v->pci);
	group_put(v->ctx, v->group);
	free(v);
}
