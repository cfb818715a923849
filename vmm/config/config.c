// SPDX-License-Identifier: Apache-2.0
/* The VM configuration model: defaults, completion, validation. */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio/fs/fs.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/vsock/vsock.h"

static const char *const console_names[] = {
	[CONSOLE_OFF] = "Off",	 [CONSOLE_PTY] = "Pty",	      [CONSOLE_TTY] = "Tty",
	[CONSOLE_FILE] = "File", [CONSOLE_SOCKET] = "Socket", [CONSOLE_NULL] = "Null",
};

static const char *const image_names[] = {
	[IMAGE_TYPE_AUTO] = "Unknown", [IMAGE_TYPE_RAW] = "Raw",
	[IMAGE_TYPE_QCOW2] = "Qcow2",  [IMAGE_TYPE_FIXED_VHD] = "FixedVhd",
	[IMAGE_TYPE_VHDX] = "Vhdx",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *console_mode_name(enum console_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(console_names) ? console_names[m] : "Off";
}

int console_mode_parse(const char *s, enum console_mode *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(console_names); i++) {
		if (!strcmp(s, console_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *image_type_name(enum image_type t)
{
	return (unsigned int)t < ARRAY_SIZE(image_names) ? image_names[t] : "Unknown";
}

int image_type_parse(const char *s, enum image_type *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(image_names); i++) {
		if (!strcmp(s, image_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int vm_config_set_str(char **dst, const char *v)
{
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

void vm_config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cpus.boot_vcpus = VM_DEFAULT_VCPUS;
	c->cpus.max_vcpus = VM_DEFAULT_VCPUS;
	c->cpus.max_phys_bits = VM_DEFAULT_MAX_PHYS_BITS;
	c->cpus.nested = true;
	c->memory.size = VM_DEFAULT_MEMORY;
	c->memory.thp = true;
	c->serial.mode = CONSOLE_NULL;
	c->console.mode = CONSOLE_TTY;
	/* rng.src stays NULL until complete(): the default is filled there so
	 * that init cannot fail. */
}

void disk_config_init(struct disk_config *d)
{
	memset(d, 0, sizeof(*d));
	d->num_queues = VM_DEFAULT_DISK_QUEUES;
	d->queue_size = VM_DEFAULT_DISK_QUEUE_SIZE;
	d->sparse = true;
}

void net_config_init(struct net_config *n)
{
	memset(n, 0, sizeof(*n));
	n->num_queues = VM_DEFAULT_NET_QUEUES;
	n->queue_size = VM_DEFAULT_NET_QUEUE_SIZE;
	n->offload_tso = n->offload_ufo = n->offload_csum = true;
}

void fs_config_init(struct fs_config *f)
{
	memset(f, 0, sizeof(*f));
	f->num_queues = VM_DEFAULT_FS_QUEUES;
	f->queue_size = VM_DEFAULT_FS_QUEUE_SIZE;
}

void pmem_config_init(struct pmem_config *p)
{
	memset(p, 0, sizeof(*p));
}

void vsock_config_init(struct vsock_config *v)
{
	memset(v, 0, sizeof(*v));
}

void device_config_init(struct device_config *d)
{
	memset(d, 0, sizeof(*d));
}

static void *grow(void *arr, size_t *n, size_t elem)
{
	void *p = realloc(arr, (*n + 1) * elem);
	if (!p)
		return NULL;
	memset((char *)p + *n * elem, 0, elem);
	(*n)++;
	return p;
}

struct disk_config *vm_config_add_disk(struct vm_config *c)
{
	struct disk_config *p = grow(c->disks, &c->n_disks, sizeof(*p));
	if (!p)
		return NULL;
	c->disks = p;
	disk_config_init(&p[c->n_disks - 1]);
	return &p[c->n_disks - 1];
}

struct net_config *vm_config_add_net(struct vm_config *c)
{
	struct net_config *p = grow(c->net, &c->n_net, sizeof(*p));
	if (!p)
		return NULL;
	c->net = p;
	net_config_init(&p[c->n_net - 1]);
	return &p[c->n_net - 1];
}

struct fs_config *vm_config_add_fs(struct vm_config *c)
{
	struct fs_config *p = grow(c->fs, &c->n_fs, sizeof(*p));
	if (!p)
		return NULL;
	c->fs = p;
	fs_config_init(&p[c->n_fs - 1]);
	return &p[c->n_fs - 1];
}

struct pmem_config *vm_config_add_pmem(struct vm_config *c)
{
	struct pmem_config *p = grow(c->pmem, &c->n_pmem, sizeof(*p));
	if (!p)
		return NULL;
	c->pmem = p;
	pmem_config_init(&p[c->n_pmem - 1]);
	return &p[c->n_pmem - 1];
}

struct device_config *vm_config_add_device(struct vm_config *c)
{
	struct device_config *p = grow(c->devices, &c->n_devices, sizeof(*p));
	if (!p)
		return NULL;
	c->devices = p;
	device_config_init(&p[c->n_devices - 1]);
	return &p[c->n_devices - 1];
}

struct landlock_rule_config *vm_config_add_landlock_rule(struct vm_config *c)
{
	struct landlock_rule_config *p = grow(c->landlock_rules, &c->n_landlock_rules, sizeof(*p));
	if (!p)
		return NULL;
	c->landlock_rules = p;
	return &p[c->n_landlock_rules - 1];
}

void disk_config_free(struct disk_config *d)
{
	free(d->path);
	free(d->vhost_socket);
	free(d->id);
	free(d->serial);
	free(d->rate_limit_group);
	disk_config_init(d);
}

void net_config_free(struct net_config *n)
{
	free(n->tap);
	free(n->ip);
	free(n->mask);
	free(n->mac);
	free(n->host_mac);
	free(n->vhost_socket);
	free(n->vhost_mode);
	free(n->id);
	free(n->fds);
	net_config_init(n);
}

void fs_config_free(struct fs_config *f)
{
	free(f->tag);
	free(f->socket);
	free(f->id);
	fs_config_init(f);
}

void pmem_config_free(struct pmem_config *p)
{
	free(p->file);
	free(p->id);
	pmem_config_init(p);
}

void vsock_config_free(struct vsock_config *v)
{
	free(v->socket);
	free(v->id);
	vsock_config_init(v);
}

void device_config_free(struct device_config *d)
{
	free(d->path);
	free(d->id);
	device_config_init(d);
}

void vm_config_free(struct vm_config *c)
{
	struct payload_config *pl = &c->payload;

	free(pl->firmware);
	free(pl->kernel);
	free(pl->cmdline);
	free(pl->initramfs);
	free(pl->igvm);
	free(pl->host_data);
	free(c->memory.hotplug_method);
	for (size_t i = 0; i < c->n_disks; i++)
		disk_config_free(&c->disks[i]);
	free(c->disks);
	for (size_t i = 0; i < c->n_net; i++)
		net_config_free(&c->net[i]);
	free(c->net);
	free(c->rng.src);
	for (size_t i = 0; i < c->n_fs; i++)
		fs_config_free(&c->fs[i]);
	free(c->fs);
	for (size_t i = 0; i < c->n_pmem; i++)
		pmem_config_free(&c->pmem[i]);
	free(c->pmem);
	for (size_t i = 0; i < c->n_devices; i++)
		device_config_free(&c->devices[i]);
	free(c->devices);
	free(c->serial.file);
	free(c->serial.socket);
	free(c->console.file);
	free(c->console.socket);
	vsock_config_free(&c->vsock);
	for (size_t i = 0; i < c->n_landlock_rules; i++)
		free(c->landlock_rules[i].path);
	free(c->landlock_rules);
	vm_config_init(c);
}

/* A random unicast, locally administered MAC, as cloud-hypervisor makes. */
static char *random_mac(void)
{
	uint8_t b[6];
	char *s;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return NULL;
	b[0] = (b[0] & 0xfe) | 0x02;
	if (asprintf(&s, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]) < 0)
		return NULL;
	return s;
}

static bool id_used(const struct vm_config *c, const char *id)
{
#define USED(arr, n)                                           \
	for (size_t i = 0; i < c->n; i++)                      \
		if (c->arr[i].id && !strcmp(c->arr[i].id, id)) \
			return true;
	USED(disks, n_disks)
	USED(net, n_net)
	USED(fs, n_fs)
	USED(pmem, n_pmem)
	USED(devices, n_devices)
#undef USED
	return c->has_vsock && c->vsock.id && !strcmp(c->vsock.id, id);
}

/* cloud-hypervisor's names for devices given none: one counter over every
 * kind in its order (_disk0, _disk1, _net2, ...), skipping names in use. */
static int name_device(const struct vm_config *c, char **id, const char *prefix, unsigned int *next)
{
	char buf[32];

	if (*id)
		return 0;
	do
		snprintf(buf, sizeof(buf), "%s%u", prefix, (*next)++);
	while (id_used(c, buf));
	return (*id = strdup(buf)) ? 0 : -ENOMEM;
}

int vm_config_complete(struct vm_config *c)
{
	unsigned int next = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < c->n_disks; i++)
		rc = name_device(c, &c->disks[i].id, "_disk", &next);
	for (size_t i = 0; !rc && i < c->n_net; i++)
		rc = name_device(c, &c->net[i].id, "_net", &next);
	for (size_t i = 0; !rc && i < c->n_fs; i++)
		rc = name_device(c, &c->fs[i].id, "_fs", &next);
	for (size_t i = 0; !rc && i < c->n_pmem; i++)
		rc = name_device(c, &c->pmem[i].id, "_pmem", &next);
	if (!rc && c->has_vsock)
		rc = name_device(c, &c->vsock.id, "_vsock", &next);
	for (size_t i = 0; !rc && i < c->n_devices; i++)
		rc = name_device(c, &c->devices[i].id, "_vfio", &next);
	if (rc)
		return rc;
	if (!c->rng.src && !(c->rng.src = strdup(VM_DEFAULT_RNG_SRC)))
		return -ENOMEM;
	if (!c->memory.hotplug_method && !(c->memory.hotplug_method = strdup("Acpi")))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_net; i++) {
		struct net_config *n = &c->net[i];
		if (n->ip && !n->mask && !(n->mask = strdup(VM_DEFAULT_NET_MASK)))
			return -ENOMEM;
		if (!n->mac && !(n->mac = random_mac()))
			return -ENOMEM;
		if (!n->vhost_mode && !(n->vhost_mode = strdup("Client")))
			return -ENOMEM;
	}
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static bool valid_ipv4(const char *s)
{
	unsigned int a, b, c, d;
	char tail;
	return sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a < 256 && b < 256 &&
	       c < 256 && d < 256;
}

int mac_addr_parse(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(hex, s[3 * i]), *lo = strchr(hex, s[3 * i + 1]);
		if (!s[3 * i] || !s[3 * i + 1] || !hi || !lo || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(((hi - hex) % 16) << 4 | ((lo - hex) % 16));
	}
	return 0;
}

static bool valid_mac(const char *s)
{
	uint8_t b[6];
	return !mac_addr_parse(s, b);
}

/* An IPv4 netmask: ones then zeros (the host part is 0...01...1). */
static bool valid_netmask(const char *s)
{
	unsigned int a, b, c, d;
	if (!valid_ipv4(s) || sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return false;
	uint32_t host = ~(a << 24 | b << 16 | c << 8 | d);
	return !(host & (host + 1));
}

/* The group bit of the first octet (a valid_mac). */
static bool multicast_mac(const char *s)
{
	uint8_t b[6];
	return !mac_addr_parse(s, b) && (b[0] & 1);
}

static int check_console(const struct console_config *k, const char *what, struct err *err)
{
	if (k->mode == CONSOLE_FILE && !k->file)
		return err_set(err, EINVAL, "%s: mode File needs a file", what);
	if (k->mode == CONSOLE_SOCKET && !k->socket)
		return err_set(err, EINVAL, "%s: mode Socket needs a socket", what);
	return 0;
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

const char *vm_device_pci_name(const char *path, size_t *len)
{
	size_t pre = strlen(VM_DEVICE_SYSFS_PREFIX);
	const char *s;

	if (!path || strncmp(path, VM_DEVICE_SYSFS_PREFIX, pre))
		return NULL;
	s = path + pre;
	/* DDDD:BB:DD.F: a 4-digit domain, bus, device (0..1f), function (0..7) */
	if (strlen(s) < 12 || !hex_run(s, 4) || s[4] != ':' || !hex_run(s + 5, 2) || s[7] != ':' ||
	    !hex_run(s + 8, 2) || s[10] != '.' || s[11] < '0' || s[11] > '7' ||
	    (s[8] != '0' && s[8] != '1') || (s[12] && strcmp(s + 12, "/")))
		return NULL;
	if (len)
		*len = 12;
	return s;
}

static int check_devices(const struct vm_config *c, struct err *err)
{
	if (c->n_devices > VM_MAX_VFIO_DEVICES)
		return err_set(err, EINVAL, "devices: at most %d VFIO devices",
			       VM_MAX_VFIO_DEVICES);
	for (size_t i = 0; i < c->n_devices; i++) {
		const struct device_config *d = &c->devices[i];
		const char *name = vm_device_pci_name(d->path, NULL);
		if (!d->path)
			return err_set(err, EINVAL, "devices[%zu].path: missing", i);
		if (!name)
			return err_set(err, EINVAL,
				       "devices[%zu].path: '%.200s' is not a PCI device's sysfs "
				       "directory, " VM_DEVICE_SYSFS_PREFIX "DDDD:BB:DD.F",
				       i, d->path);
		if (d->iommu)
			return err_set(err, EINVAL, "devices[%zu].iommu: not supported by svmm", i);
		if (d->pci_segment)
			return err_set(err, EINVAL,
				       "devices[%zu].pci_segment: only segment 0 is supported", i);
		for (size_t k = 0; k < i; k++)
			if (!strncmp(vm_device_pci_name(c->devices[k].path, NULL), name, 12))
				return err_set(err, EINVAL,
					       "devices[%zu].path: %.12s is assigned twice", i,
					       name);
	}
	return 0;
}

/* Device ids must be unique across every device list. */
static int check_ids(const struct vm_config *c, struct err *err)
{
	const char *ids[512];
	size_t n = 0;

	for (size_t i = 0; i < c->n_disks && n < 512; i++)
		if (c->disks[i].id)
			ids[n++] = c->disks[i].id;
	for (size_t i = 0; i < c->n_net && n < 512; i++)
		if (c->net[i].id)
			ids[n++] = c->net[i].id;
	for (size_t i = 0; i < c->n_fs && n < 512; i++)
		if (c->fs[i].id)
			ids[n++] = c->fs[i].id;
	for (size_t i = 0; i < c->n_pmem && n < 512; i++)
		if (c->pmem[i].id)
			ids[n++] = c->pmem[i].id;
	if (c->has_vsock && c->vsock.id && n < 512)
		ids[n++] = c->vsock.id;
	for (size_t i = 0; i < c->n_devices && n < 512; i++)
		if (c->devices[i].id)
			ids[n++] = c->devices[i].id;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(ids[i], ids[j]))
				return err_set(err, EINVAL, "device id '%s' is used twice", ids[i]);
	return 0;
}

int vm_config_validate(const struct vm_config *c, struct err *err)
{
	const struct payload_config *pl = &c->payload;

	if (!pl->kernel && !pl->firmware && !pl->igvm)
		return err_set(err, EINVAL, "payload: a kernel or a firmware is needed");
	if (pl->kernel && pl->firmware)
		return err_set(err, EINVAL,
			       "payload: a kernel and a firmware cannot both be given");
	if (c->cpus.boot_vcpus < 1)
		return err_set(err, EINVAL, "cpus.boot_vcpus: must be at least 1");
	if (c->cpus.max_vcpus < c->cpus.boot_vcpus)
		return err_set(err, EINVAL, "cpus.max_vcpus: %u is below boot_vcpus %u",
			       c->cpus.max_vcpus, c->cpus.boot_vcpus);
	if (c->cpus.max_vcpus > 254)
		return err_set(err, EINVAL, "cpus.max_vcpus: %u is more than 254",
			       c->cpus.max_vcpus);
	if (c->cpus.has_topology) {
		const struct cpu_topology *t = &c->cpus.topology;
		uint64_t prod = (uint64_t)t->threads_per_core * t->cores_per_die *
				t->dies_per_package * t->packages;
		if (!prod || prod != c->cpus.max_vcpus)
			return err_set(
				err, EINVAL,
				"cpus.topology: threads*cores*dies*packages must equal max_vcpus");
	}
	if (c->memory.size < VM_MIN_MEMORY || c->memory.size > VM_MAX_MEMORY ||
	    c->memory.size % (2ULL << 20))
		return err_set(err, EINVAL,
			       "memory.size: %llu is not a multiple of 2M from 64M to 64T",
			       (unsigned long long)c->memory.size);
	if (c->memory.hugepage_size && !c->memory.hugepages)
		return err_set(err, EINVAL, "memory.hugepage_size: needs hugepages");
	if (c->memory.hugepage_size && !is_pow2(c->memory.hugepage_size))
		return err_set(err, EINVAL, "memory.hugepage_size: not a power of two");
	if (check_console(&c->serial, "serial", err) || check_console(&c->console, "console", err))
		return -EINVAL;
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct disk_config *d = &c->disks[i];
		if (!d->path && !d->vhost_user)
			return err_set(err, EINVAL, "disks[%zu]: a path is needed", i);
		if (d->vhost_user && !d->vhost_socket)
			return err_set(err, EINVAL, "disks[%zu]: vhost_user needs vhost_socket", i);
		if (!d->num_queues)
			return err_set(err, EINVAL, "disks[%zu].num_queues: must be at least 1", i);
		if (!virtq_size_valid(d->queue_size))
			return err_set(
				err, EINVAL,
				"disks[%zu].queue_size: %u is not a power of two from 2 to %u", i,
				d->queue_size, VIRTQ_MAX_SIZE);
	}
	for (size_t i = 0; i < c->n_net; i++) {
		const struct net_config *n = &c->net[i];
		if (n->ip && !valid_ipv4(n->ip))
			return err_set(err, EINVAL, "net[%zu].ip: '%s' is not an IPv4 address", i,
				       n->ip);
		if (n->mask && !valid_netmask(n->mask))
			return err_set(err, EINVAL, "net[%zu].mask: '%s' is not an IPv4 netmask", i,
				       n->mask);
		if (n->mask && !n->ip)
			return err_set(err, EINVAL, "net[%zu].mask: given without an ip", i);
		if (n->mac && !valid_mac(n->mac))
			return err_set(err, EINVAL, "net[%zu].mac: '%s' is not a MAC address", i,
				       n->mac);
		if (n->mac && multicast_mac(n->mac))
			return err_set(err, EINVAL, "net[%zu].mac: '%s' is a multicast address", i,
				       n->mac);
		if (n->host_mac && !valid_mac(n->host_mac))
			return err_set(err, EINVAL, "net[%zu].host_mac: '%s' is not a MAC address",
				       i, n->host_mac);
		if (n->mtu && (n->mtu < NET_MTU_MIN || n->mtu > NET_MTU_MAX))
			return err_set(err, EINVAL, "net[%zu].mtu: %u is out of range (%d to %d)",
				       i, n->mtu, NET_MTU_MIN, NET_MTU_MAX);
		if (n->num_queues < 2 || n->num_queues % 2 || n->num_queues > 2 * TAP_MAX_QUEUES)
			return err_set(err, EINVAL,
				       "net[%zu].num_queues: %u is not an even number of 2 to %d "
				       "(a receive "
				       "and a transmit queue per pair)",
				       i, n->num_queues, 2 * TAP_MAX_QUEUES);
		if (!virtq_size_valid(n->queue_size))
			return err_set(err, EINVAL,
				       "net[%zu].queue_size: %u is not a power of two, 2 to 32768",
				       i, n->queue_size);
		if (n->n_fds && n->n_fds != n->num_queues / 2)
			return err_set(
				err, EINVAL,
				"net[%zu].fd: %zu given, one fd per queue pair (num_queues / 2) is "
				"needed",
				i, n->n_fds);
		if (n->vhost_user && !n->vhost_socket)
			return err_set(err, EINVAL, "net[%zu]: vhost_user needs vhost_socket", i);
		if (n->vhost_user)
			return err_set(err, EINVAL, "net[%zu].vhost_user: not supported by svmm",
				       i);
		if (n->iommu)
			return err_set(err, EINVAL, "net[%zu].iommu: not supported by svmm", i);
		if (n->tap && strlen(n->tap) >= 16)
			return err_set(err, EINVAL,
				       "net[%zu].tap: '%s' is longer than 15 characters", i,
				       n->tap);
		if (n->tap && strchr(n->tap, '/'))
			return err_set(err, EINVAL, "net[%zu].tap: '%s' is not an interface name",
				       i, n->tap);
		if (n->id && strlen(n->id) >= NET_ID_LEN)
			return err_set(err, EINVAL, "net[%zu].id: longer than %d bytes", i,
				       NET_ID_LEN - 1);
	}
	for (size_t i = 0; i < c->n_fs; i++) {
		const struct fs_config *f = &c->fs[i];
		if (!c->memory.shared)
			return err_set(
				err, EINVAL,
				"fs[%zu]: virtio-fs needs --memory shared=on (memory.shared=true)",
				i);
		if (!f->tag || !*f->tag || strlen(f->tag) > FS_TAG_LEN)
			return err_set(err, EINVAL, "fs[%zu].tag: a tag of 1 to %d bytes is needed",
				       i, FS_TAG_LEN);
		if (!f->socket || !*f->socket || strlen(f->socket) >= FS_PATH_LEN)
			return err_set(
				err, EINVAL,
				"fs[%zu].socket: the back-end's socket path (below %d bytes) is "
				"needed",
				i, FS_PATH_LEN);
		if (!f->num_queues)
			return err_set(err, EINVAL, "fs[%zu].num_queues: must be at least 1", i);
		if (f->num_queues > FS_MAX_REQ_QUEUES)
			return err_set(err, EINVAL,
				       "fs[%zu].num_queues: %u is more than %d request queues", i,
				       f->num_queues, FS_MAX_REQ_QUEUES);
		if (!virtq_size_valid(f->queue_size))
			return err_set(err, EINVAL,
				       "fs[%zu].queue_size: %u is not a power of two, 2 to 32768",
				       i, f->queue_size);
		if (f->id && strlen(f->id) >= FS_ID_LEN)
			return err_set(err, EINVAL, "fs[%zu].id: longer than %d bytes", i,
				       FS_ID_LEN - 1);
	}
	for (size_t i = 0; i < c->n_pmem; i++)
		if (!c->pmem[i].file)
			return err_set(err, EINVAL, "pmem[%zu]: a file is needed", i);
	if (c->has_vsock) {
		if (c->vsock.cid < VM_MIN_VSOCK_CID)
			return err_set(err, EINVAL, "vsock.cid: %llu is below %d",
				       (unsigned long long)c->vsock.cid, VM_MIN_VSOCK_CID);
		if (c->vsock.cid > UINT32_MAX - 1)
			return err_set(err, EINVAL, "vsock.cid: %llu is above %u",
				       (unsigned long long)c->vsock.cid, UINT32_MAX - 1);
		if (!c->vsock.socket)
			return err_set(err, EINVAL, "vsock.socket: missing");
		/* the mux binds SOCKET and connects SOCKET_PORT */
		if (!*c->vsock.socket || strlen(c->vsock.socket) >= VSOCK_PATH_LEN - 11)
			return err_set(err, EINVAL,
				       "vsock.socket: a Unix socket path below %d bytes is needed",
				       VSOCK_PATH_LEN - 11);
		if (c->vsock.iommu)
			return err_set(err, EINVAL, "vsock.iommu: not supported by svmm");
		if (c->vsock.id && strlen(c->vsock.id) >= VSOCK_ID_LEN)
			return err_set(err, EINVAL, "vsock.id: longer than %d bytes",
				       VSOCK_ID_LEN - 1);
	}
	if (c->has_balloon && c->balloon.size >= c->memory.size)
		return err_set(err, EINVAL, "balloon.size: must be below memory.size");
	int rc = check_devices(c, err);
	if (rc)
		return rc;
	return check_ids(c, err);
}
