/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM configuration: cloud-hypervisor's VmConfig, field for field where
 * svmm models it, with cloud-hypervisor's defaults.
 *
 * One struct is filled from two front doors: the JSON body of PUT /vm.create
 * (config_json.c) and cloud-hypervisor's command-line flags (config_cli.c).
 * vm_config_to_json() gives it back for GET /vm.info. Strings are owned by the
 * struct (malloc'd, NULL when absent); vm_config_free() releases everything.
 * Nothing here knows about KVM; of the devices, vm_config_validate() knows
 * their limits only (from their headers), so that what it passes they take.
 * The VMM only reads the struct.
 *
 * Errors are negative errno with a message in the caller's struct err
 * (guest-agent/err.h) that names the field path ("disks[2].readonly: ...")
 * or the flag ("--disk: ...").
 */
#ifndef SVMM_VMM_CONFIG_CONFIG_H
#define SVMM_VMM_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "guest-agent/err.h"

/* Defaults, as cloud-hypervisor's vm_config.rs has them. */
#define VM_DEFAULT_VCPUS	   1
#define VM_DEFAULT_MAX_PHYS_BITS   46
#define VM_DEFAULT_MEMORY	   (512ULL << 20)
#define VM_DEFAULT_DISK_QUEUES	   1
#define VM_DEFAULT_DISK_QUEUE_SIZE 128
#define VM_DEFAULT_NET_QUEUES	   2
#define VM_DEFAULT_NET_QUEUE_SIZE  256
#define VM_DEFAULT_NET_MASK	   "255.255.255.0"
#define VM_DEFAULT_FS_QUEUES	   1
#define VM_DEFAULT_FS_QUEUE_SIZE   1024
#define VM_DEFAULT_RNG_SRC	   "/dev/urandom"
#define VM_MIN_VSOCK_CID	   3
/* What svmm's guest memory takes: a multiple of 2 MiB in this range. */
#define VM_MIN_MEMORY (64ULL << 20)
#define VM_MAX_MEMORY (1ULL << 46)

struct payload_config {
	char *firmware, *kernel, *cmdline, *initramfs, *igvm, *host_data;
};

struct cpu_topology {
	uint32_t threads_per_core, cores_per_die, dies_per_package, packages;
};

struct cpus_config {
	uint32_t boot_vcpus, max_vcpus;
	bool has_topology;
	struct cpu_topology topology;
	bool kvm_hyperv;
	uint32_t max_phys_bits;
	bool nested;
};

struct memory_config {
	uint64_t size;		  /* bytes */
	uint64_t hotplug_size;	  /* 0 = none */
	uint64_t hotplugged_size; /* 0 = none */
	uint64_t hugepage_size;	  /* 0 = the host default */
	bool mergeable, shared, hugepages, prefault, thp;
	char *hotplug_method; /* "Acpi" | "VirtioMem" */
};

enum image_type {
	IMAGE_TYPE_AUTO = 0, /* absent: detect from the file */
	IMAGE_TYPE_RAW,
	IMAGE_TYPE_QCOW2,
	IMAGE_TYPE_FIXED_VHD,
	IMAGE_TYPE_VHDX,
};

struct disk_config {
	char *path;
	bool readonly, direct, iommu, vhost_user, backing_files, sparse;
	uint32_t num_queues, queue_size;
	char *vhost_socket, *id, *serial, *rate_limit_group;
	uint16_t pci_segment;
	enum image_type image_type;
};

struct net_config {
	char *tap;
	char *ip, *mask; /* mask defaults to 255.255.255.0 when only ip is given */
	char *mac;	 /* a random locally administered one when absent */
	char *host_mac;
	uint32_t mtu; /* 0 = leave the TAP's */
	bool iommu, vhost_user, offload_tso, offload_ufo, offload_csum;
	bool vhost; /* svmm: the kernel's vhost-net as data path (QEMU's vhost=on) */
	uint32_t num_queues, queue_size;
	char *vhost_socket, *vhost_mode, *id;
	uint16_t pci_segment;
	int *fds; /* file descriptors of already opened TAP queues */
	size_t n_fds;
};

struct rng_config {
	char *src;
	bool iommu;
};

struct fs_config {
	char *tag, *socket, *id;
	uint32_t num_queues, queue_size;
	uint16_t pci_segment;
};

struct pmem_config {
	char *file, *id;
	uint64_t size; /* 0 = the file's size */
	bool iommu, discard_writes;
	uint16_t pci_segment;
};

/* Serial (16550) and console (virtio-console) back ends. */
enum console_mode {
	CONSOLE_OFF,
	CONSOLE_PTY,
	CONSOLE_TTY,
	CONSOLE_FILE,
	CONSOLE_SOCKET,
	CONSOLE_NULL,
};

struct console_config {
	enum console_mode mode;
	char *file;   /* File: the path; Pty: the allocated /dev/pts/N */
	char *socket; /* Socket */
	bool iommu;
};

struct vsock_config {
	uint64_t cid;
	char *socket, *id;
	bool iommu;
	uint16_t pci_segment;
};

/* A host PCI device assigned to the guest through VFIO (cloud-hypervisor's
 * DeviceConfig): path is its sysfs directory, /sys/bus/pci/devices/DDDD:BB:DD.F,
 * which must be bound to vfio-pci (with every device of its IOMMU group bound
 * to vfio-pci or to no driver). iommu (a virtual IOMMU in front of it) is not
 * supported by svmm. */
#define VM_DEVICE_SYSFS_PREFIX "/sys/bus/pci/devices/"
#define VM_MAX_VFIO_DEVICES    8
struct device_config {
	char *path, *id;
	bool iommu;
	uint16_t pci_segment;
};

/* The kinds of device entry a running VM can take (hotplug): the entry is
 * a struct disk_config, net_config, fs_config, vsock_config or
 * device_config (VFIO). */
enum vm_device_kind { VM_DEV_DISK, VM_DEV_NET, VM_DEV_FS, VM_DEV_VSOCK, VM_DEV_VFIO };

struct balloon_config {
	uint64_t size;
	bool deflate_on_oom, free_page_reporting;
};

/* A path the VMM may open besides those its devices name (cloud-hypervisor's
 * --landlock-rules path=P,access=r|rw), for what is hotplugged later. */
struct landlock_rule_config {
	char *path;
	bool write; /* access=rw (else r) */
};

struct vm_config {
	struct payload_config payload;
	struct cpus_config cpus;
	struct memory_config memory;
	struct disk_config *disks;
	size_t n_disks;
	struct net_config *net;
	size_t n_net;
	struct rng_config rng;
	struct fs_config *fs;
	size_t n_fs;
	struct pmem_config *pmem;
	size_t n_pmem;
	struct device_config *devices; /* VFIO */
	size_t n_devices;
	struct console_config serial, console;
	bool has_vsock;
	struct vsock_config vsock;
	bool has_balloon;
	struct balloon_config balloon;
	bool iommu, watchdog, pvpanic;
	/* --landlock: the VMM confines itself to the paths this config names
	 * (vm_config_paths) and landlock_rules (vmm/confine.h) */
	bool landlock_enable;
	struct landlock_rule_config *landlock_rules;
	size_t n_landlock_rules;
};

/* Replace *dst (owned, may be NULL) with a copy of v. -ENOMEM. */
int vm_config_set_str(char **dst, const char *v);

/* A config with cloud-hypervisor's defaults and no payload or devices. */
void vm_config_init(struct vm_config *c);
void vm_config_free(struct vm_config *c);
/* Defaults for one list entry (what an absent field gets). */
void disk_config_init(struct disk_config *d);
void net_config_init(struct net_config *n);
void fs_config_init(struct fs_config *f);
void pmem_config_init(struct pmem_config *p);
void vsock_config_init(struct vsock_config *v);
void device_config_init(struct device_config *d);

/* Free one entry's strings and reset it to the defaults. */
void disk_config_free(struct disk_config *d);
void net_config_free(struct net_config *n);
void fs_config_free(struct fs_config *f);
void pmem_config_free(struct pmem_config *p);
void vsock_config_free(struct vsock_config *v);
void device_config_free(struct device_config *d);

/* Append a defaulted entry; NULL on ENOMEM. */
struct disk_config *vm_config_add_disk(struct vm_config *c);
struct net_config *vm_config_add_net(struct vm_config *c);
struct fs_config *vm_config_add_fs(struct vm_config *c);
struct pmem_config *vm_config_add_pmem(struct vm_config *c);
struct landlock_rule_config *vm_config_add_landlock_rule(struct vm_config *c);
struct device_config *vm_config_add_device(struct vm_config *c);

/* The device name of a devices[] path, "DDDD:BB:DD.F" (what VFIO calls it),
 * when path is VM_DEVICE_SYSFS_PREFIX followed by a well-formed PCI address
 * (a trailing slash allowed); else NULL. Pure: nothing is looked at.
 * The result points into path (no trailing slash: copy up to len). */
const char *vm_device_pci_name(const char *path, size_t *len);

/* Fill what cloud-hypervisor fills after parsing: a device without an id
 * gets cloud-hypervisor's name (one counter over disks, net, fs, pmem,
 * vsock, devices in that order: _disk0, _net1, ...; names in use skipped),
 * a net entry with an ip and
 * no mask gets 255.255.255.0, one without a mac a random local MAC, and a
 * cpus.max_vcpus below boot_vcpus is raised to it (CLI only; JSON gives both).
 * Called by both parsers; idempotent. -ENOMEM. */
int vm_config_complete(struct vm_config *c);

/* cloud-hypervisor's validate(), run at vm.boot (an error there is a 400)
 * and by `svmm run` before anything is opened:
 * a kernel or firmware and not both, 1 <= boot_vcpus <= max_vcpus <= 254,
 * memory (a multiple of 2 MiB, VM_MIN_MEMORY to VM_MAX_MEMORY), a File console with a file, vsock
 * cid >= 3, fs needing shared memory, queue counts and sizes, unique device ids; and what svmm's
 * devices cannot take: a multicast guest MAC, a netmask that is not ones then zeros, an MTU
 * outside 68..65535, fds that are not one per queue pair, net vhost_user,
 * net and vsock iommu, fs tags over 36 bytes, over-long ids and socket
 * paths, a devices[] path that is not /sys/bus/pci/devices/DDDD:BB:DD.F,
 * the same device twice, devices[].iommu, more than VM_MAX_VFIO_DEVICES.
 * Pure: whether the device exists and has an IOMMU group is checked when
 * it is opened (devices/vfio). -EINVAL with err. */
int vm_config_validate(const struct vm_config *c, struct err *err);

/* "12:34:56:78:9a:bc" (two hex digits a byte) into mac; -EINVAL otherwise. */
int mac_addr_parse(const char *s, uint8_t mac[6]);

/* Names as cloud-hypervisor spells them in JSON ("Off", "Pty", ... /
 * "Raw", "Qcow2", ...) and back; -EINVAL for a name it does not know
 * (case-sensitive, as serde is). */
const char *console_mode_name(enum console_mode m);
int console_mode_parse(const char *s, enum console_mode *out);
const char *image_type_name(enum image_type t);
int image_type_parse(const char *s, enum image_type *out);

/*
 * Every host path the configuration names, in a fixed order (payload, disks,
 * net vhost-user sockets, rng source, fs sockets, pmem files, serial, console,
 * vsock, VFIO devices), each once per mention, with what svmm does with it:
 *   0               opened read-only (a kernel, a read-only disk)
 *   VM_PATH_WRITE   opened for writing too
 *   VM_PATH_CREATE  svmm creates it when absent (a serial file, a listening socket)
 *   VM_PATH_SOCKET  a Unix socket svmm listens on or connects to: what a
 *                   sandbox must allow is its directory (a listener is made
 *                   there; hybrid vsock also connects to SOCKET_PORT beside it)
 * For the jail's bind mounts (vmm/run/jail.h) and a Landlock ruleset. Paths
 * are as written in the config (maybe relative); absent ones are skipped.
 * fn returning non-zero stops the walk and that value is returned; else 0.
 * The process options (--api-socket, --log-file, --event-monitor) are not
 * part of the VM config: their callers add them.
 * A VFIO device names its sysfs directory (read: its iommu_group link),
 * /dev/vfio/vfio (the container) and /dev/vfio/N, its group's node (N read
 * from the sysfs link; left out when the link cannot be read, which
 * opening the device then reports). Those /dev/vfio/N strings are static,
 * valid until the next call (not thread-safe; at most VM_MAX_VFIO_DEVICES).
 */
#define VM_PATH_WRITE  1u
#define VM_PATH_CREATE 2u
#define VM_PATH_SOCKET 4u
typedef int vm_path_fn(void *opaque, const char *path, unsigned int flags);
int vm_config_paths(const struct vm_config *c, vm_path_fn *fn, void *opaque);

/* JSON (config_json.c). vm_config_from_json: c must be vm_config_init'ed and
 * is filled; unknown fields are ignored, a field of the wrong type or out of
 * range is -EINVAL with "path: expected ..." in err, and so is a
 * cloud-hypervisor feature svmm cannot honour (user_devices, vdpa,
 * generic_vhost_user, numa, tpm, pci_segments, memory.zones: "... not
 * supported by svmm"). Other fields svmm does not model (platform, affinity,
 * rate limiters, landlock) are ignored. The result is completed
 * (vm_config_complete) but not validated. */
int vm_config_from_json(struct vm_config *c, const json_t *root, struct err *err);
int vm_config_from_json_text(struct vm_config *c, const char *text, size_t len, struct err *err);
/* The same, for one list entry (vm.add-disk & co.); path prefixes messages. */
int disk_config_from_json(struct disk_config *d, const json_t *o, const char *path,
			  struct err *err);
int net_config_from_json(struct net_config *n, const json_t *o, const char *path, struct err *err);
int fs_config_from_json(struct fs_config *f, const json_t *o, const char *path, struct err *err);
int pmem_config_from_json(struct pmem_config *p, const json_t *o, const char *path,
			  struct err *err);
int vsock_config_from_json(struct vsock_config *v, const json_t *o, const char *path,
			   struct err *err);
int device_config_from_json(struct device_config *d, const json_t *o, const char *path,
			    struct err *err);
/* The whole VmConfig as cloud-hypervisor serializes it (absent optional
 * fields as null). NULL on ENOMEM. */
json_t *vm_config_to_json(const struct vm_config *c);

/* Command-line values, cloud-hypervisor's "key=value,..." syntax (config_cli.c).
 * Each adds to or sets part of c; s is not modified. Unknown keys and bad
 * values are -EINVAL with "--flag: ..." in err; -ENOMEM. */
int vm_config_parse_cpus(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_memory(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_disk(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_net(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_rng(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_fs(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_pmem(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_vsock(struct vm_config *c, const char *s, struct err *err);
/* --device path=/sys/bus/pci/devices/DDDD:BB:DD.F[,id=ID][,iommu=on|off][,pci_segment=N] */
int vm_config_parse_device(struct vm_config *c, const char *s, struct err *err);
/* --landlock-rules path=P,access=r|rw */
int vm_config_parse_landlock_rule(struct vm_config *c, const char *s, struct err *err);
int vm_config_parse_balloon(struct vm_config *c, const char *s, struct err *err);
/* --serial / --console: off|null|pty|tty|file=PATH|socket=PATH. */
int vm_config_parse_console(struct console_config *k, const char *flag, const char *s,
			    struct err *err);

#endif
