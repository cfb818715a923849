// SPDX-License-Identifier: Apache-2.0
/* VmConfig <-> JSON, the shapes of cloud-hypervisor's REST API. */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kvm/landlock.h"

/* Every field reader: 0 when absent or null (out untouched), 1 when read,
 * -EINVAL with "path.key: expected ..." when the value has the wrong type or
 * range, -ENOMEM. path is the enclosing object's path ("" at the top). */

static int type_error(const char *path, const char *key, const char *what, struct err *err)
{
	return err_set(err, -EINVAL, "%s%s%s: expected %s", path, *path ? "." : "", key, what);
}

static int missing(const char *path, const char *key, struct err *err)
{
	return err_set(err, -EINVAL, "%s%s%s: missing", path, *path ? "." : "", key);
}

static const json_t *field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_null(v) ? NULL : v;
}

static int get_bool(const json_t *o, const char *path, const char *key, bool *out, struct err *err)
{
	const json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return type_error(path, key, "boolean", err);
	*out = json_is_true(v);
	return 1;
}

static int get_u64(const json_t *o, const char *path, const char *key, uint64_t max, uint64_t *out,
		   struct err *err)
{
	const json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		char what[64];
		snprintf(what, sizeof(what), "unsigned integer (at most %llu)",
			 (unsigned long long)max);
		return type_error(path, key, what, err);
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

static int get_u32(const json_t *o, const char *path, const char *key, uint32_t *out,
		   struct err *err)
{
	uint64_t v;
	int rc = get_u64(o, path, key, UINT32_MAX, &v, err);
	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

static int get_u16(const json_t *o, const char *path, const char *key, uint16_t *out,
		   struct err *err)
{
	uint64_t v;
	int rc = get_u64(o, path, key, UINT16_MAX, &v, err);
	if (rc == 1)
		*out = (uint16_t)v;
	return rc;
}

static int get_str(const json_t *o, const char *path, const char *key, char **out, struct err *err)
{
	const json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return type_error(path, key, "string", err);
	char *s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 1;
}

/* An object member; 0 absent, 1 present (*out set), -EINVAL not an object. */
static int get_obj(const json_t *o, const char *path, const char *key, const json_t **out,
		   struct err *err)
{
	const json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_object(v))
		return type_error(path, key, "object", err);
	*out = v;
	return 1;
}

static int get_arr(const json_t *o, const char *path, const char *key, const json_t **out,
		   struct err *err)
{
	const json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return type_error(path, key, "array", err);
	*out = v;
	return 1;
}

/* Run one reader; return from the caller on error. */
#define TRY(expr)                   \
	do {                        \
		int rc_ = (expr);   \
		if (rc_ < 0)        \
			return rc_; \
	} while (0)
#define REQUIRE(expr, path, key)                        \
	do {                                            \
		int rc_ = (expr);                       \
		if (rc_ < 0)                            \
			return rc_;                     \
		if (rc_ == 0)                           \
			return missing(path, key, err); \
	} while (0)

static int payload_from_json(struct payload_config *p, const json_t *o, struct err *err)
{
	const char *path = "payload";
	TRY(get_str(o, path, "firmware", &p->firmware, err));
	TRY(get_str(o, path, "kernel", &p->kernel, err));
	TRY(get_str(o, path, "cmdline", &p->cmdline, err));
	TRY(get_str(o, path, "initramfs", &p->initramfs, err));
	TRY(get_str(o, path, "igvm", &p->igvm, err));
	TRY(get_str(o, path, "host_data", &p->host_data, err));
	return 0;
}

static int cpus_from_json(struct cpus_config *c, const json_t *o, struct err *err)
{
	const char *path = "cpus";
	const json_t *t;

	REQUIRE(get_u32(o, path, "boot_vcpus", &c->boot_vcpus, err), path, "boot_vcpus");
	REQUIRE(get_u32(o, path, "max_vcpus", &c->max_vcpus, err), path, "max_vcpus");
	TRY(get_bool(o, path, "kvm_hyperv", &c->kvm_hyperv, err));
	TRY(get_u32(o, path, "max_phys_bits", &c->max_phys_bits, err));
	TRY(get_bool(o, path, "nested", &c->nested, err));
	int rc = get_obj(o, path, "topology", &t, err);
	if (rc < 0)
		return rc;
	if (rc) {
		const char *tp = "cpus.topology";
		struct cpu_topology *x = &c->topology;
		c->has_topology = true;
		REQUIRE(get_u32(t, tp, "threads_per_core", &x->threads_per_core, err), tp,
			"threads_per_core");
		REQUIRE(get_u32(t, tp, "cores_per_die", &x->cores_per_die, err), tp,
			"cores_per_die");
		REQUIRE(get_u32(t, tp, "dies_per_package", &x->dies_per_package, err), tp,
			"dies_per_package");
		REQUIRE(get_u32(t, tp, "packages", &x->packages, err), tp, "packages");
	}
	return 0;
}

static int memory_from_json(struct memory_config *m, const json_t *o, struct err *err)
{
	const char *path = "memory";
	REQUIRE(get_u64(o, path, "size", INT64_MAX, &m->size, err), path, "size");
	TRY(get_u64(o, path, "hotplug_size", INT64_MAX, &m->hotplug_size, err));
	TRY(get_u64(o, path, "hotplugged_size", INT64_MAX, &m->hotplugged_size, err));
	TRY(get_u64(o, path, "hugepage_size", INT64_MAX, &m->hugepage_size, err));
	TRY(get_bool(o, path, "mergeable", &m->mergeable, err));
	TRY(get_bool(o, path, "shared", &m->shared, err));
	TRY(get_bool(o, path, "hugepages", &m->hugepages, err));
	TRY(get_bool(o, path, "prefault", &m->prefault, err));
	TRY(get_bool(o, path, "thp", &m->thp, err));
	int rc = get_str(o, path, "hotplug_method", &m->hotplug_method, err);
	if (rc < 0)
		return rc;
	if (rc && strcmp(m->hotplug_method, "Acpi") && strcmp(m->hotplug_method, "VirtioMem"))
		return type_error(path, "hotplug_method", "\"Acpi\" or \"VirtioMem\"", err);
	return 0;
}

static int need_object(const json_t *o, const char *path, struct err *err)
{
	if (json_is_object(o))
		return 0;
	return err_set(err, -EINVAL, "%s: expected object", path);
}

int disk_config_from_json(struct disk_config *d, const json_t *o, const char *path, struct err *err)
{
	char *type = NULL;
	int rc;

	TRY(need_object(o, path, err));
	TRY(get_str(o, path, "path", &d->path, err));
	TRY(get_bool(o, path, "readonly", &d->readonly, err));
	TRY(get_bool(o, path, "direct", &d->direct, err));
	TRY(get_bool(o, path, "iommu", &d->iommu, err));
	TRY(get_u32(o, path, "num_queues", &d->num_queues, err));
	TRY(get_u32(o, path, "queue_size", &d->queue_size, err));
	TRY(get_bool(o, path, "vhost_user", &d->vhost_user, err));
	TRY(get_str(o, path, "vhost_socket", &d->vhost_socket, err));
	TRY(get_str(o, path, "id", &d->id, err));
	TRY(get_str(o, path, "serial", &d->serial, err));
	TRY(get_str(o, path, "rate_limit_group", &d->rate_limit_group, err));
	TRY(get_u16(o, path, "pci_segment", &d->pci_segment, err));
	TRY(get_bool(o, path, "backing_files", &d->backing_files, err));
	TRY(get_bool(o, path, "sparse", &d->sparse, err));
	rc = get_str(o, path, "image_type", &type, err);
	if (rc < 0)
		return rc;
	if (rc) {
		rc = image_type_parse(type, &d->image_type);
		free(type);
		if (rc < 0)
			return type_error(path, "image_type",
					  "one of Raw, Qcow2, FixedVhd, Vhdx, Unknown", err);
	}
	return 0;
}

int net_config_from_json(struct net_config *n, const json_t *o, const char *path, struct err *err)
{
	const json_t *fds;
	int rc;

	TRY(need_object(o, path, err));
	TRY(get_str(o, path, "tap", &n->tap, err));
	TRY(get_str(o, path, "ip", &n->ip, err));
	TRY(get_str(o, path, "mask", &n->mask, err));
	TRY(get_str(o, path, "mac", &n->mac, err));
	TRY(get_str(o, path, "host_mac", &n->host_mac, err));
	TRY(get_u32(o, path, "mtu", &n->mtu, err));
	TRY(get_bool(o, path, "iommu", &n->iommu, err));
	TRY(get_u32(o, path, "num_queues", &n->num_queues, err));
	TRY(get_u32(o, path, "queue_size", &n->queue_size, err));
	TRY(get_bool(o, path, "vhost_user", &n->vhost_user, err));
	TRY(get_str(o, path, "vhost_socket", &n->vhost_socket, err));
	TRY(get_str(o, path, "id", &n->id, err));
	TRY(get_u16(o, path, "pci_segment", &n->pci_segment, err));
	TRY(get_bool(o, path, "offload_tso", &n->offload_tso, err));
	TRY(get_bool(o, path, "offload_ufo", &n->offload_ufo, err));
	TRY(get_bool(o, path, "offload_csum", &n->offload_csum, err));
	TRY(get_bool(o, path, "vhost", &n->vhost, err));
	rc = get_str(o, path, "vhost_mode", &n->vhost_mode, err);
	if (rc < 0)
		return rc;
	if (rc && strcmp(n->vhost_mode, "Client") && strcmp(n->vhost_mode, "Server"))
		return type_error(path, "vhost_mode", "\"Client\" or \"Server\"", err);
	rc = get_arr(o, path, "fds", &fds, err);
	if (rc < 0)
		return rc;
	if (rc) {
		size_t k = json_array_size(fds);
		int *a = k ? calloc(k, sizeof(int)) : NULL;
		if (k && !a)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++) {
			const json_t *v = json_array_get(fds, i);
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > INT32_MAX) {
				free(a);
				return err_set(err, -EINVAL,
					       "%.180s.fds[%zu]: expected file descriptor", path,
					       i);
			}
			a[i] = (int)json_integer_value(v);
		}
		free(n->fds);
		n->fds = a;
		n->n_fds = k;
	}
	return 0;
}

int fs_config_from_json(struct fs_config *f, const json_t *o, const char *path, struct err *err)
{
	TRY(need_object(o, path, err));
	REQUIRE(get_str(o, path, "tag", &f->tag, err), path, "tag");
	REQUIRE(get_str(o, path, "socket", &f->socket, err), path, "socket");
	TRY(get_u32(o, path, "num_queues", &f->num_queues, err));
	TRY(get_u32(o, path, "queue_size", &f->queue_size, err));
	TRY(get_str(o, path, "id", &f->id, err));
	TRY(get_u16(o, path, "pci_segment", &f->pci_segment, err));
	return 0;
}

int pmem_config_from_json(struct pmem_config *p, const json_t *o, const char *path, struct err *err)
{
	TRY(need_object(o, path, err));
	REQUIRE(get_str(o, path, "file", &p->file, err), path, "file");
	TRY(get_u64(o, path, "size", INT64_MAX, &p->size, err));
	TRY(get_bool(o, path, "iommu", &p->iommu, err));
	TRY(get_bool(o, path, "discard_writes", &p->discard_writes, err));
	TRY(get_str(o, path, "id", &p->id, err));
	TRY(get_u16(o, path, "pci_segment", &p->pci_segment, err));
	return 0;
}

int vsock_config_from_json(struct vsock_config *v, const json_t *o, const char *path,
			   struct err *err)
{
	TRY(need_object(o, path, err));
	REQUIRE(get_u64(o, path, "cid", UINT32_MAX, &v->cid, err), path, "cid");
	REQUIRE(get_str(o, path, "socket", &v->socket, err), path, "socket");
	TRY(get_bool(o, path, "iommu", &v->iommu, err));
	TRY(get_str(o, path, "id", &v->id, err));
	TRY(get_u16(o, path, "pci_segment", &v->pci_segment, err));
	return 0;
}

int device_config_from_json(struct device_config *d, const json_t *o, const char *path,
			    struct err *err)
{
	TRY(need_object(o, path, err));
	REQUIRE(get_str(o, path, "path", &d->path, err), path, "path");
	TRY(get_str(o, path, "id", &d->id, err));
	TRY(get_bool(o, path, "iommu", &d->iommu, err));
	TRY(get_u16(o, path, "pci_segment", &d->pci_segment, err));
	return 0;
}

static int console_from_json(struct console_config *k, const json_t *o, const char *path,
			     struct err *err)
{
	char *mode = NULL;
	int rc = get_str(o, path, "mode", &mode, err);
	if (rc < 0)
		return rc;
	if (!rc)
		return missing(path, "mode", err);
	rc = console_mode_parse(mode, &k->mode);
	free(mode);
	if (rc < 0)
		return type_error(path, "mode", "one of Off, Pty, Tty, File, Socket, Null", err);
	TRY(get_str(o, path, "file", &k->file, err));
	TRY(get_str(o, path, "socket", &k->socket, err));
	TRY(get_bool(o, path, "iommu", &k->iommu, err));
	return 0;
}

/* Parse a JSON array of objects into a list through add() + one_from_json(). */
#define PARSE_LIST(root, key, cfg, addfn, parsefn)                            \
	do {                                                                  \
		const json_t *arr_;                                           \
		int r_ = get_arr(root, "", key, &arr_, err);                  \
		if (r_ < 0)                                                   \
			return r_;                                            \
		for (size_t i_ = 0; r_ && i_ < json_array_size(arr_); i_++) { \
			char p_[64];                                          \
			snprintf(p_, sizeof(p_), "%s[%zu]", key, i_);         \
			void *e_ = addfn(cfg);                                \
			if (!e_)                                              \
				return -ENOMEM;                               \
			TRY(parsefn(e_, json_array_get(arr_, i_), p_, err));  \
		}                                                             \
	} while (0)

/* {"path": P, "access": "r" | "rw"} */
static int landlock_rule_from_json(void *e, const json_t *o, const char *path, struct err *err)
{
	struct landlock_rule_config *r = e;
	char *access = NULL;
	int rc;

	if (!json_is_object(o))
		return err_set(err, -EINVAL, "%s: expected an object", path);
	REQUIRE(get_str(o, path, "path", &r->path, err), path, "path");
	REQUIRE(get_str(o, path, "access", &access, err), path, "access");
	unsigned int a;
	rc = landlock_access_parse(access, &a);
	if (rc < 0)
		err_set(err, rc, "%s.access: expected \"r\" or \"rw\", not \"%.100s\"", path,
			access);
	else
		r->write = a & LL_WRITE;
	free(access);
	return rc;
}

/* Fields cloud-hypervisor knows that svmm cannot honour: refused rather
 * than silently dropped (a VM without its VFIO device or NUMA layout is not
 * what was asked for). null and [] are fine. Unknown fields are ignored. */
static int refuse_unsupported(const json_t *root, struct err *err)
{
	static const char *const fields[] = { "user_devices", "vdpa", "generic_vhost_user",
					      "numa",	      "tpm",  "pci_segments" };
	const json_t *mem = json_object_get(root, "memory"), *v;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v = field(root, fields[i]);
		if (v && !(json_is_array(v) && !json_array_size(v)))
			return err_set(err, -EINVAL, "%s: not supported by svmm", fields[i]);
	}
	v = json_is_object(mem) ? field(mem, "zones") : NULL;
	if (v && !(json_is_array(v) && !json_array_size(v)))
		return err_set(err, -EINVAL, "memory.zones: not supported by svmm");
	return 0;
}

int vm_config_from_json(struct vm_config *c, const json_t *root, struct err *err)
{
	const json_t *o;
	int rc;

	if (!json_is_object(root))
		return err_set(err, -EINVAL, "VmConfig: expected a JSON object");
	TRY(refuse_unsupported(root, err));
	if ((rc = get_obj(root, "", "payload", &o, err)) < 0)
		return rc;
	if (rc)
		TRY(payload_from_json(&c->payload, o, err));
	if ((rc = get_obj(root, "", "cpus", &o, err)) < 0)
		return rc;
	if (rc)
		TRY(cpus_from_json(&c->cpus, o, err));
	if ((rc = get_obj(root, "", "memory", &o, err)) < 0)
		return rc;
	if (rc)
		TRY(memory_from_json(&c->memory, o, err));
	PARSE_LIST(root, "disks", c, vm_config_add_disk, disk_config_from_json);
	PARSE_LIST(root, "net", c, vm_config_add_net, net_config_from_json);
	PARSE_LIST(root, "fs", c, vm_config_add_fs, fs_config_from_json);
	PARSE_LIST(root, "pmem", c, vm_config_add_pmem, pmem_config_from_json);
	PARSE_LIST(root, "devices", c, vm_config_add_device, device_config_from_json);
	if ((rc = get_obj(root, "", "rng", &o, err)) < 0)
		return rc;
	if (rc) {
		REQUIRE(get_str(o, "rng", "src", &c->rng.src, err), "rng", "src");
		TRY(get_bool(o, "rng", "iommu", &c->rng.iommu, err));
	}
	if ((rc = get_obj(root, "", "serial", &o, err)) < 0)
		return rc;
	if (rc)
		TRY(console_from_json(&c->serial, o, "serial", err));
	if ((rc = get_obj(root, "", "console", &o, err)) < 0)
		return rc;
	if (rc)
		TRY(console_from_json(&c->console, o, "console", err));
	if ((rc = get_obj(root, "", "vsock", &o, err)) < 0)
		return rc;
	if (rc) {
		c->has_vsock = true;
		TRY(vsock_config_from_json(&c->vsock, o, "vsock", err));
	}
	if ((rc = get_obj(root, "", "balloon", &o, err)) < 0)
		return rc;
	if (rc) {
		c->has_balloon = true;
		REQUIRE(get_u64(o, "balloon", "size", INT64_MAX, &c->balloon.size, err), "balloon",
			"size");
		TRY(get_bool(o, "balloon", "deflate_on_oom", &c->balloon.deflate_on_oom, err));
		TRY(get_bool(o, "balloon", "free_page_reporting", &c->balloon.free_page_reporting,
			     err));
	}
	TRY(get_bool(root, "", "iommu", &c->iommu, err));
	TRY(get_bool(root, "", "watchdog", &c->watchdog, err));
	TRY(get_bool(root, "", "pvpanic", &c->pvpanic, err));
	TRY(get_bool(root, "", "landlock_enable", &c->landlock_enable, err));
	PARSE_LIST(root, "landlock_rules", c, vm_config_add_landlock_rule, landlock_rule_from_json);
	if (vm_config_complete(c) < 0)
		return -ENOMEM;
	return 0;
}

int vm_config_from_json_text(struct vm_config *c, const char *text, size_t len, struct err *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!root)
		return err_set(err, -EINVAL, "invalid JSON at line %d column %d: %s", je.line,
			       je.column, je.text);
	int rc = vm_config_from_json(c, root, err);
	json_decref(root);
	return rc;
}

/* ---- serialization ---- */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *jint_opt(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* json_object_set_new on a NULL object or value fails safely: one check at the
 * end of each builder is enough (a failed set leaves the object incomplete,
 * which the caller detects by the sticky flag). */
struct jb {
	json_t *o;
	bool failed;
};

static void put(struct jb *b, const char *key, json_t *v)
{
	if (!v || !b->o || json_object_set_new(b->o, key, v) < 0)
		b->failed = true;
}

static json_t *done(struct jb *b)
{
	if (b->failed) {
		json_decref(b->o);
		return NULL;
	}
	return b->o;
}

static json_t *payload_to_json(const struct payload_config *p)
{
	struct jb b = { json_object(), false };
	put(&b, "firmware", jstr(p->firmware));
	put(&b, "kernel", jstr(p->kernel));
	put(&b, "cmdline", jstr(p->cmdline));
	put(&b, "initramfs", jstr(p->initramfs));
	put(&b, "igvm", jstr(p->igvm));
	put(&b, "host_data", jstr(p->host_data));
	return done(&b);
}

static json_t *cpus_to_json(const struct cpus_config *c)
{
	struct jb b = { json_object(), false };
	put(&b, "boot_vcpus", jint(c->boot_vcpus));
	put(&b, "max_vcpus", jint(c->max_vcpus));
	if (c->has_topology) {
		struct jb t = { json_object(), false };
		put(&t, "threads_per_core", jint(c->topology.threads_per_core));
		put(&t, "cores_per_die", jint(c->topology.cores_per_die));
		put(&t, "dies_per_package", jint(c->topology.dies_per_package));
		put(&t, "packages", jint(c->topology.packages));
		put(&b, "topology", done(&t));
	} else {
		put(&b, "topology", json_null());
	}
	put(&b, "kvm_hyperv", json_boolean(c->kvm_hyperv));
	put(&b, "max_phys_bits", jint(c->max_phys_bits));
	put(&b, "affinity", json_null());
	put(&b, "features", json_object());
	put(&b, "nested", json_boolean(c->nested));
	return done(&b);
}

static json_t *memory_to_json(const struct memory_config *m)
{
	struct jb b = { json_object(), false };
	put(&b, "size", jint(m->size));
	put(&b, "mergeable", json_boolean(m->mergeable));
	put(&b, "hotplug_method", jstr(m->hotplug_method ? m->hotplug_method : "Acpi"));
	put(&b, "hotplug_size", jint_opt(m->hotplug_size));
	put(&b, "hotplugged_size", jint_opt(m->hotplugged_size));
	put(&b, "shared", json_boolean(m->shared));
	put(&b, "hugepages", json_boolean(m->hugepages));
	put(&b, "hugepage_size", jint_opt(m->hugepage_size));
	put(&b, "prefault", json_boolean(m->prefault));
	put(&b, "zones", json_null());
	put(&b, "thp", json_boolean(m->thp));
	return done(&b);
}

static json_t *disk_to_json(const struct disk_config *d)
{
	struct jb b = { json_object(), false };
	put(&b, "path", jstr(d->path));
	put(&b, "readonly", json_boolean(d->readonly));
	put(&b, "direct", json_boolean(d->direct));
	put(&b, "iommu", json_boolean(d->iommu));
	put(&b, "num_queues", jint(d->num_queues));
	put(&b, "queue_size", jint(d->queue_size));
	put(&b, "vhost_user", json_boolean(d->vhost_user));
	put(&b, "vhost_socket", jstr(d->vhost_socket));
	put(&b, "rate_limit_group", jstr(d->rate_limit_group));
	put(&b, "rate_limiter_config", json_null());
	put(&b, "id", jstr(d->id));
	put(&b, "pci_segment", jint(d->pci_segment));
	put(&b, "serial", jstr(d->serial));
	put(&b, "backing_files", json_boolean(d->backing_files));
	put(&b, "sparse", json_boolean(d->sparse));
	put(&b, "image_type",
	    d->image_type == IMAGE_TYPE_AUTO ? json_null() : jstr(image_type_name(d->image_type)));
	return done(&b);
}

static json_t *net_to_json(const struct net_config *n)
{
	struct jb b = { json_object(), false };
	put(&b, "tap", jstr(n->tap));
	put(&b, "ip", jstr(n->ip));
	put(&b, "mask", jstr(n->mask));
	put(&b, "mac", jstr(n->mac));
	put(&b, "host_mac", jstr(n->host_mac));
	put(&b, "mtu", jint_opt(n->mtu));
	put(&b, "iommu", json_boolean(n->iommu));
	put(&b, "num_queues", jint(n->num_queues));
	put(&b, "queue_size", jint(n->queue_size));
	put(&b, "vhost_user", json_boolean(n->vhost_user));
	put(&b, "vhost_socket", jstr(n->vhost_socket));
	put(&b, "vhost_mode", jstr(n->vhost_mode ? n->vhost_mode : "Client"));
	put(&b, "id", jstr(n->id));
	if (n->n_fds) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->n_fds; i++)
			if (json_array_append_new(a, json_integer(n->fds[i])) < 0)
				b.failed = true;
		put(&b, "fds", a);
	} else {
		put(&b, "fds", json_null());
	}
	put(&b, "rate_limiter_config", json_null());
	put(&b, "pci_segment", jint(n->pci_segment));
	put(&b, "offload_tso", json_boolean(n->offload_tso));
	put(&b, "offload_ufo", json_boolean(n->offload_ufo));
	put(&b, "offload_csum", json_boolean(n->offload_csum));
	if (n->vhost) /* svmm's own field: absent unless set */
		put(&b, "vhost", json_true());
	return done(&b);
}

static json_t *fs_to_json(const struct fs_config *f)
{
	struct jb b = { json_object(), false };
	put(&b, "tag", jstr(f->tag));
	put(&b, "socket", jstr(f->socket));
	put(&b, "num_queues", jint(f->num_queues));
	put(&b, "queue_size", jint(f->queue_size));
	put(&b, "id", jstr(f->id));
	put(&b, "pci_segment", jint(f->pci_segment));
	return done(&b);
}

static json_t *pmem_to_json(const struct pmem_config *p)
{
	struct jb b = { json_object(), false };
	put(&b, "file", jstr(p->file));
	put(&b, "size", jint_opt(p->size));
	put(&b, "iommu", json_boolean(p->iommu));
	put(&b, "discard_writes", json_boolean(p->discard_writes));
	put(&b, "id", jstr(p->id));
	put(&b, "pci_segment", jint(p->pci_segment));
	return done(&b);
}

static json_t *device_to_json(const struct device_config *d)
{
	struct jb b = { json_object(), false };
	put(&b, "path", jstr(d->path));
	put(&b, "iommu", json_boolean(d->iommu));
	put(&b, "id", jstr(d->id));
	put(&b, "pci_segment", jint(d->pci_segment));
	return done(&b);
}

static json_t *console_to_json(const struct console_config *k)
{
	struct jb b = { json_object(), false };
	put(&b, "file", jstr(k->file));
	put(&b, "mode", jstr(console_mode_name(k->mode)));
	put(&b, "iommu", json_boolean(k->iommu));
	put(&b, "socket", jstr(k->socket));
	return done(&b);
}

#define LIST_TO_JSON(b, key, arr, n, fn)                              \
	do {                                                          \
		if (!(n)) {                                           \
			put(b, key, json_null());                     \
			break;                                        \
		}                                                     \
		json_t *a_ = json_array();                            \
		for (size_t i_ = 0; a_ && i_ < (n); i_++) {           \
			json_t *e_ = fn(&(arr)[i_]);                  \
			if (!e_ || json_array_append_new(a_, e_) < 0) \
				(b)->failed = true;                   \
		}                                                     \
		put(b, key, a_);                                      \
	} while (0)

static json_t *landlock_rule_to_json(const struct landlock_rule_config *r)
{
	struct jb b = { json_object(), false };
	put(&b, "path", jstr(r->path));
	put(&b, "access", json_string(r->write ? "rw" : "r"));
	return done(&b);
}

json_t *vm_config_to_json(const struct vm_config *c)
{
	struct jb b = { json_object(), false };

	put(&b, "cpus", cpus_to_json(&c->cpus));
	put(&b, "memory", memory_to_json(&c->memory));
	put(&b, "payload", payload_to_json(&c->payload));
	put(&b, "rate_limit_groups", json_null());
	LIST_TO_JSON(&b, "disks", c->disks, c->n_disks, disk_to_json);
	LIST_TO_JSON(&b, "net", c->net, c->n_net, net_to_json);
	{
		struct jb r = { json_object(), false };
		put(&r, "src", jstr(c->rng.src ? c->rng.src : VM_DEFAULT_RNG_SRC));
		put(&r, "iommu", json_boolean(c->rng.iommu));
		put(&b, "rng", done(&r));
	}
	if (c->has_balloon) {
		struct jb r = { json_object(), false };
		put(&r, "size", jint(c->balloon.size));
		put(&r, "deflate_on_oom", json_boolean(c->balloon.deflate_on_oom));
		put(&r, "free_page_reporting", json_boolean(c->balloon.free_page_reporting));
		put(&b, "balloon", done(&r));
	} else {
		put(&b, "balloon", json_null());
	}
	LIST_TO_JSON(&b, "fs", c->fs, c->n_fs, fs_to_json);
	LIST_TO_JSON(&b, "pmem", c->pmem, c->n_pmem, pmem_to_json);
	put(&b, "serial", console_to_json(&c->serial));
	put(&b, "console", console_to_json(&c->console));
	LIST_TO_JSON(&b, "devices", c->devices, c->n_devices, device_to_json);
	put(&b, "user_devices", json_null());
	put(&b, "vdpa", json_null());
	if (c->has_vsock) {
		struct jb v = { json_object(), false };
		put(&v, "cid", jint(c->vsock.cid));
		put(&v, "socket", jstr(c->vsock.socket));
		put(&v, "iommu", json_boolean(c->vsock.iommu));
		put(&v, "id", jstr(c->vsock.id));
		put(&v, "pci_segment", jint(c->vsock.pci_segment));
		put(&b, "vsock", done(&v));
	} else {
		put(&b, "vsock", json_null());
	}
	put(&b, "iommu", json_boolean(c->iommu));
	put(&b, "numa", json_null());
	put(&b, "watchdog", json_boolean(c->watchdog));
	put(&b, "pvpanic", json_boolean(c->pvpanic));
	put(&b, "landlock_enable", json_boolean(c->landlock_enable));
	LIST_TO_JSON(&b, "landlock_rules", c->landlock_rules, c->n_landlock_rules,
		     landlock_rule_to_json);
	put(&b, "pci_segments", json_null());
	put(&b, "platform", json_null());
	put(&b, "tpm", json_null());
	return done(&b);
}
