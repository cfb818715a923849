// SPDX-License-Identifier: Apache-2.0
/* /dev/kvm, the VM, its irqchip and PIT, vCPUs, GSI routing, irqfd, ioeventfd. */
#include "vmm/kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Just below the IOAPIC and LAPIC pages, in the 32-bit PCI hole: three
 * pages of TSS and one of identity map for the real-mode emulation of
 * Intel CPUs without unrestricted guest. */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR	      0xfffbd000ULL

/* True when the first "flags" line of /proc/cpuinfo names vmx or svm. */
static bool cpu_has_virt(void)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return true; /* cannot tell: let KVM decide */
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

int kvm_open(struct kvm *k)
{
	memset(k, 0, sizeof(*k));
	k->sys_fd = k->vm_fd = -1;
	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0)
		return errno == EACCES || errno == EPERM ? -EACCES
		       : errno == ENOENT		 ? -ENOENT
							 : -errno;
	if (ioctl(k->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
	    access("/sys/module/kvm_pvm", F_OK) == 0 || !cpu_has_virt()) {
		close(k->sys_fd);
		k->sys_fd = -1;
		return -ENODEV;
	}
	k->vcpu_mmap_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->vcpu_mmap_size <= 0) {
		close(k->sys_fd);
		k->sys_fd = -1;
		return -ENODEV;
	}
	pthread_mutex_init(&k->routes_lock, NULL);
	return 0;
}

const char *kvm_open_hint(int err)
{
	switch (err) {
	case -ENOENT:
		return "/dev/kvm does not exist (load kvm-intel or kvm-amd, or run inside "
		       "tools/kvm-sandbox -- ...)";
	case -EACCES:
		return "no permission on /dev/kvm (add yourself to the 'kvm' group, or run as "
		       "root)";
	case -ENODEV:
		return "/dev/kvm is not usable for a Linux guest here (no VMX/SVM, or KVM-PVM); "
		       "run "
		       "inside tools/kvm-sandbox -- ...";
	default:
		return "cannot open /dev/kvm";
	}
}

static int routes_reserve(struct kvm *k, unsigned int n)
{
	if (n <= k->routes_cap)
		return 0;
	unsigned int cap = k->routes_cap ? k->routes_cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	struct kvm_irq_routing *r =
		realloc(k->routes, sizeof(*r) + cap * sizeof(struct kvm_irq_routing_entry));
	if (!r)
		return -ENOMEM;
	k->routes = r;
	k->routes_cap = cap;
	return 0;
}

static void route_add_irqchip(struct kvm *k, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &k->routes->entries[k->routes->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int routes_commit(struct kvm *k)
{
	return ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, k->routes) < 0 ? -errno : 0;
}

/* The table KVM starts with: GSI 0-7 on the master PIC, 8-15 on the slave,
 * 0-23 on the IOAPIC (GSI 0 is IOAPIC pin 2, as ISA IRQ 0 is wired there). */
static int routes_init(struct kvm *k)
{
	int ret = routes_reserve(k, 64);

	if (ret)
		return ret;
	k->routes->nr = 0;
	k->routes->flags = 0;
	for (uint32_t i = 0; i < 16; i++)
		route_add_irqchip(k, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				  i % 8);
	for (uint32_t i = 0; i < KVM_GSI_IRQCHIP_PINS; i++) {
		if (i == 2)
			continue;
		route_add_irqchip(k, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	memset(k->gsi_used, 0, sizeof(k->gsi_used));
	return routes_commit(k);
}

int kvm_vm_create(struct kvm *k)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	int ret;

	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return -errno;
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 ||
	    ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	ret = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	k->nr_slots = ret > 0 ? (unsigned int)ret : 32; /* KVM's floor */
	ret = routes_init(k);
	return ret;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	k->vm_fd = k->sys_fd = -1;
	free(k->routes);
	k->routes = NULL;
	k->routes_cap = 0;
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm_slot_alloc(struct kvm *k)
{
	int slot = -ENOSPC;

	pthread_mutex_lock(&k->routes_lock);
	for (unsigned int i = 0; i < KVM_SLOT_DYN_MAX && KVM_SLOT_DYN_BASE + i < k->nr_slots; i++)
		if (!(k->slot_used & (1ull << i))) {
			k->slot_used |= 1ull << i;
			slot = (int)(KVM_SLOT_DYN_BASE + i);
			break;
		}
	pthread_mutex_unlock(&k->routes_lock);
	return slot;
}

void kvm_slot_free(struct kvm *k, int slot)
{
	unsigned int i = (unsigned int)slot - KVM_SLOT_DYN_BASE;

	if (slot < KVM_SLOT_DYN_BASE || i >= KVM_SLOT_DYN_MAX)
		return;
	pthread_mutex_lock(&k->routes_lock);
	k->slot_used &= ~(1ull << i);
	pthread_mutex_unlock(&k->routes_lock);
}

int kvm_vfio_create(struct kvm *k)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	if (ioctl(k->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	return (int)cd.fd;
}

int kvm_vfio_group(int kvm_vfio_fd, int group_fd, bool add)
{
	int32_t fd = group_fd;
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_GROUP,
		.attr = add ? KVM_DEV_VFIO_GROUP_ADD : KVM_DEV_VFIO_GROUP_DEL,
		.addr = (uintptr_t)&fd,
	};
	return ioctl(kvm_vfio_fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

int kvm_vcpu_create(struct kvm *k, unsigned int id, int *fd, struct kvm_run **run)
{
	int vfd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);

	if (vfd < 0)
		return -errno;
	void *p = mmap(NULL, k->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;
		close(vfd);
		return ret;
	}
	*fd = vfd;
	*run = p;
	return 0;
}

int kvm_irq_line(struct kvm *k, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_clock_save(struct kvm *k, struct kvm_clock_data *c)
{
	struct timespec now;

	memset(c, 0, sizeof(*c));
	if (ioctl(k->vm_fd, KVM_GET_CLOCK, c) < 0)
		return -errno;
	if (!(c->flags & KVM_CLOCK_REALTIME) && clock_gettime(CLOCK_REALTIME, &now) == 0) {
		c->realtime = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
		c->flags |= KVM_CLOCK_REALTIME;
	}
	return 0;
}

int kvm_clock_restore(struct kvm *k, const struct kvm_clock_data *c)
{
	struct kvm_clock_data d = *c;

	if (ioctl(k->vm_fd, KVM_SET_CLOCK, &d) == 0)
		return 0;
	if (errno != EINVAL || !c->flags)
		return -errno;
	d = (struct kvm_clock_data){ .clock = c->clock };
	return ioctl(k->vm_fd, KVM_SET_CLOCK, &d) < 0 ? -errno : 0;
}

int kvm_gsi_alloc(struct kvm *k)
{
	int gsi = -ENOSPC;

	pthread_mutex_lock(&k->routes_lock);
	for (int g = KVM_GSI_IRQCHIP_PINS; g < KVM_GSI_MAX; g++) {
		if (!(k->gsi_used[g / 64] >> (g % 64) & 1)) {
			k->gsi_used[g / 64] |= 1ull << (g % 64);
			gsi = g;
			break;
		}
	}
	pthread_mutex_unlock(&k->routes_lock);
	return gsi;
}

void kvm_gsi_free(struct kvm *k, int gsi)
{
	if (gsi < KVM_GSI_IRQCHIP_PINS || gsi >= KVM_GSI_MAX)
		return;
	pthread_mutex_lock(&k->routes_lock);
	k->gsi_used[gsi / 64] &= ~(1ull << (gsi % 64));
	pthread_mutex_unlock(&k->routes_lock);
}

static struct kvm_irq_routing_entry *route_find_msi(struct kvm *k, uint32_t gsi)
{
	for (unsigned int i = 0; i < k->routes->nr; i++) {
		struct kvm_irq_routing_entry *e = &k->routes->entries[i];
		if (e->gsi == gsi && e->type == KVM_IRQ_ROUTING_MSI)
			return e;
	}
	return NULL;
}

int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int ret = 0;

	if (gsi < KVM_GSI_IRQCHIP_PINS || gsi >= KVM_GSI_MAX)
		return -EINVAL;
	pthread_mutex_lock(&k->routes_lock);
	struct kvm_irq_routing_entry *e = route_find_msi(k, gsi);
	if (!e) {
		ret = routes_reserve(k, k->routes->nr + 1);
		if (ret)
			goto out;
		e = &k->routes->entries[k->routes->nr++];
		memset(e, 0, sizeof(*e));
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
	} else if (e->u.msi.address_lo == (uint32_t)addr &&
		   e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data) {
		goto out; /* unchanged: no ioctl */
	}
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	ret = routes_commit(k);
out:
	pthread_mutex_unlock(&k->routes_lock);
	return ret;
}

int kvm_msi_route_clear(struct kvm *k, uint32_t gsi)
{
	int ret = 0;

	pthread_mutex_lock(&k->routes_lock);
	struct kvm_irq_routing_entry *e = route_find_msi(k, gsi);
	if (e) {
		*e = k->routes->entries[--k->routes->nr];
		ret = routes_commit(k);
	}
	pthread_mutex_unlock(&k->routes_lock);
	return ret;
}

static int irqfd(struct kvm *k, int fd, uint32_t gsi, uint32_t flags)
{
	struct kvm_irqfd i = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags };

	return ioctl(k->vm_fd, KVM_IRQFD, &i) < 0 ? -errno : 0;
}

int kvm_irqfd_bind(struct kvm *k, int fd, uint32_t gsi)
{
	return irqfd(k, fd, gsi, 0);
}

int kvm_irqfd_unbind(struct kvm *k, int fd, uint32_t gsi)
{
	return irqfd(k, fd, gsi, KVM_IRQFD_FLAG_DEASSIGN);
}

int kvm_irqfd_resample_bind(struct kvm *k, int fd, int resample_fd, uint32_t gsi)
{
	struct kvm_irqfd i = { .fd = (uint32_t)fd,
			       .gsi = gsi,
			       .flags = KVM_IRQFD_FLAG_RESAMPLE,
			       .resamplefd = (uint32_t)resample_fd };

	if (gsi >= KVM_GSI_IRQCHIP_PINS)
		return -EINVAL;
	return ioctl(k->vm_fd, KVM_IRQFD, &i) < 0 ? -errno : 0;
}

static int ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool match,
		     uint64_t datamatch, uint32_t flags)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = flags | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
	};
	return ioctl(k->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}

int kvm_ioeventfd_add(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool match,
		      uint64_t datamatch)
{
	return ioeventfd(k, fd, addr, len, pio, match, datamatch, 0);
}

int kvm_ioeventfd_del(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool match,
		      uint64_t datamatch)
{
	return ioeventfd(k, fd, addr, len, pio, match, datamatch, KVM_IOEVENTFD_FLAG_DEASSIGN);
}
