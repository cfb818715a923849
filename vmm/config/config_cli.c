// SPDX-License-Identifier: Apache-2.0
/* cloud-hypervisor's device flags ("--disk path=..,readonly=on") into a vm_config. */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/options.h"
#include "vmm/kvm/landlock.h"

/* One flag's parse: a private copy of the value split into pairs. */
struct flag {
	const char *name;
	char *buf;
	struct opt_list l;
	struct err *err;
};

static int flag_open(struct flag *f, const char *name, const char *s, struct err *err)
{
	f->name = name;
	f->err = err;
	f->buf = strdup(s ? s : "");
	if (!f->buf)
		return -ENOMEM;
	int rc = opt_parse(&f->l, f->buf);
	if (rc < 0) {
		err_set(err, rc, "%s: %.200s", name, f->l.err.msg);
		free(f->buf);
		f->buf = NULL;
	}
	return rc;
}

/* Finish: reject unknown keys, free the copy. rc passes through. */
static int flag_close(struct flag *f, int rc)
{
	if (rc >= 0 && opt_check_unused(&f->l) < 0)
		rc = -EINVAL;
	if (rc == -EINVAL && f->l.err.code)
		err_set(f->err, rc, "%s: %.200s", f->name, f->l.err.msg);
	free(f->buf);
	return rc;
}

/* Typed getters that keep the first error. */
static int f_str(struct flag *f, const char *key, char **out)
{
	const char *v = opt_get(&f->l, key);
	if (!v)
		return 0;
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 1;
}

static int f_bool(struct flag *f, const char *key, bool *out)
{
	return opt_get_bool(&f->l, key, out);
}

static int f_u32(struct flag *f, const char *key, uint32_t *out)
{
	uint64_t v;
	int rc = opt_get_u64(&f->l, key, &v);
	if (rc == 1 && v > UINT32_MAX)
		return err_set(&f->l.err, EINVAL, "option '%s': value too large", key);
	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

static int f_u16(struct flag *f, const char *key, uint16_t *out)
{
	uint64_t v;
	int rc = opt_get_u64(&f->l, key, &v);
	if (rc == 1 && v > UINT16_MAX)
		return err_set(&f->l.err, EINVAL, "option '%s': value too large", key);
	if (rc == 1)
		*out = (uint16_t)v;
	return rc;
}

static int f_size(struct flag *f, const char *key, uint64_t *out)
{
	return opt_get_size(&f->l, key, out);
}

#define T(expr)                   \
	do {                      \
		rc = (expr);      \
		if (rc < 0)       \
			goto out; \
	} while (0)

int vm_config_parse_cpus(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	const char *topo;
	int rc = flag_open(&f, "--cpus", s, err);
	if (rc < 0)
		return rc;
	bool has_max = false;
	T(f_u32(&f, "boot", &c->cpus.boot_vcpus));
	T(f_u32(&f, "max", &c->cpus.max_vcpus));
	has_max = rc == 1;
	T(f_bool(&f, "kvm_hyperv", &c->cpus.kvm_hyperv));
	T(f_u32(&f, "max_phys_bits", &c->cpus.max_phys_bits));
	T(f_bool(&f, "nested", &c->cpus.nested));
	if ((topo = opt_get(&f.l, "topology"))) {
		struct cpu_topology *t = &c->cpus.topology;
		char tail;
		if (sscanf(topo, "%u:%u:%u:%u%c", &t->threads_per_core, &t->cores_per_die,
			   &t->dies_per_package, &t->packages, &tail) != 4) {
			rc = err_set(&f.l.err, EINVAL,
				     "option 'topology=%s': expected threads:cores:dies:packages",
				     topo);
			goto out;
		}
		c->cpus.has_topology = true;
	}
	if (!has_max)
		c->cpus.max_vcpus = c->cpus.boot_vcpus;
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_memory(struct vm_config *c, const char *s, struct err *err)
{
	struct memory_config *m = &c->memory;
	struct flag f;
	const char *hm;
	int rc = flag_open(&f, "--memory", s, err);
	if (rc < 0)
		return rc;
	T(f_size(&f, "size", &m->size));
	T(f_bool(&f, "mergeable", &m->mergeable));
	T(f_bool(&f, "shared", &m->shared));
	T(f_bool(&f, "hugepages", &m->hugepages));
	T(f_size(&f, "hugepage_size", &m->hugepage_size));
	T(f_size(&f, "hotplug_size", &m->hotplug_size));
	T(f_size(&f, "hotplugged_size", &m->hotplugged_size));
	T(f_bool(&f, "prefault", &m->prefault));
	T(f_bool(&f, "thp", &m->thp));
	if ((hm = opt_get(&f.l, "hotplug_method"))) {
		const char *name = !strcmp(hm, "acpi")	       ? "Acpi"
				   : !strcmp(hm, "virtio-mem") ? "VirtioMem"
							       : NULL;
		if (!name) {
			rc = err_set(&f.l.err, EINVAL,
				     "option 'hotplug_method=%s': expected acpi or virtio-mem", hm);
			goto out;
		}
		free(m->hotplug_method);
		if (!(m->hotplug_method = strdup(name))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_disk(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	const char *it;
	int rc = flag_open(&f, "--disk", s, err);
	if (rc < 0)
		return rc;
	struct disk_config *d = vm_config_add_disk(c);
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "path", &d->path));
	T(f_bool(&f, "readonly", &d->readonly));
	T(f_bool(&f, "direct", &d->direct));
	T(f_bool(&f, "iommu", &d->iommu));
	T(f_u32(&f, "num_queues", &d->num_queues));
	T(f_u32(&f, "queue_size", &d->queue_size));
	T(f_bool(&f, "vhost_user", &d->vhost_user));
	T(f_str(&f, "socket", &d->vhost_socket));
	T(f_str(&f, "id", &d->id));
	T(f_str(&f, "serial", &d->serial));
	T(f_str(&f, "rate_limit_group", &d->rate_limit_group));
	T(f_u16(&f, "pci_segment", &d->pci_segment));
	T(f_bool(&f, "backing_files", &d->backing_files));
	T(f_bool(&f, "sparse", &d->sparse));
	if ((it = opt_get(&f.l, "image_type"))) {
		static const struct {
			const char *cli;
			enum image_type t;
		} types[] = { { "raw", IMAGE_TYPE_RAW },
			      { "qcow2", IMAGE_TYPE_QCOW2 },
			      { "vhd", IMAGE_TYPE_FIXED_VHD },
			      { "vhdx", IMAGE_TYPE_VHDX } };
		rc = err_set(&f.l.err, EINVAL,
			     "option 'image_type=%s': expected raw, qcow2, vhd or vhdx", it);
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (!strcmp(types[i].cli, it)) {
				d->image_type = types[i].t;
				rc = 0;
			}
		}
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}

/* "3" or "[3,4]" into an int array. */
static int parse_fd_list(struct flag *f, const char *v, struct net_config *n)
{
	char *copy = strdup(v), *p, *save = NULL;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	p = copy;
	if (*p == '[') {
		size_t len = strlen(p);
		if (len < 2 || p[len - 1] != ']') {
			free(copy);
			return err_set(&f->l.err, EINVAL, "option 'fd=%s': expected N or [N,N,...]",
				       v);
		}
		p[len - 1] = '\0';
		p++;
	}
	for (char *tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t fd;
		if (parse_u64(tok, &fd) < 0 || fd > INT32_MAX) {
			rc = err_set(&f->l.err, EINVAL, "option 'fd=%s': expected N or [N,N,...]",
				     v);
			break;
		}
		int *a = realloc(n->fds, (n->n_fds + 1) * sizeof(int));
		if (!a) {
			rc = -ENOMEM;
			break;
		}
		n->fds = a;
		n->fds[n->n_fds++] = (int)fd;
	}
	free(copy);
	return rc;
}

int vm_config_parse_net(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	const char *v;
	int rc = flag_open(&f, "--net", s, err);
	if (rc < 0)
		return rc;
	struct net_config *n = vm_config_add_net(c);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "tap", &n->tap));
	T(f_str(&f, "ip", &n->ip));
	T(f_str(&f, "mask", &n->mask));
	T(f_str(&f, "mac", &n->mac));
	T(f_str(&f, "host_mac", &n->host_mac));
	T(f_u32(&f, "mtu", &n->mtu));
	T(f_bool(&f, "iommu", &n->iommu));
	T(f_u32(&f, "num_queues", &n->num_queues));
	T(f_u32(&f, "queue_size", &n->queue_size));
	T(f_str(&f, "id", &n->id));
	T(f_bool(&f, "vhost_user", &n->vhost_user));
	T(f_str(&f, "socket", &n->vhost_socket));
	T(f_u16(&f, "pci_segment", &n->pci_segment));
	T(f_bool(&f, "offload_tso", &n->offload_tso));
	T(f_bool(&f, "offload_ufo", &n->offload_ufo));
	T(f_bool(&f, "offload_csum", &n->offload_csum));
	T(f_bool(&f, "vhost", &n->vhost));
	if ((v = opt_get(&f.l, "vhost_mode"))) {
		const char *name = !strcmp(v, "client")	  ? "Client"
				   : !strcmp(v, "server") ? "Server"
							  : NULL;
		if (!name) {
			rc = err_set(&f.l.err, EINVAL,
				     "option 'vhost_mode=%s': expected client or server", v);
			goto out;
		}
		if (!(n->vhost_mode = strdup(name))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((v = opt_get(&f.l, "fd")))
		T(parse_fd_list(&f, v, n));
	/* One fd per queue pair: without num_queues=, the queues follow the fds. */
	if (n->n_fds && !opt_get(&f.l, "num_queues"))
		n->num_queues = (uint32_t)(2 * n->n_fds);
	T(vm_config_complete(c));
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_rng(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--rng", s, err);
	if (rc < 0)
		return rc;
	T(f_str(&f, "src", &c->rng.src));
	T(f_bool(&f, "iommu", &c->rng.iommu));
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_landlock_rule(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	char *access = NULL;
	int rc = flag_open(&f, "--landlock-rules", s, err);
	if (rc < 0)
		return rc;
	struct landlock_rule_config *r = vm_config_add_landlock_rule(c);
	if (!r) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "path", &r->path));
	T(f_str(&f, "access", &access));
	if (!r->path || !access) {
		rc = err_set(&f.l.err, EINVAL, "needs path=PATH,access=r|rw");
		goto out;
	}
	unsigned int a;
	if (landlock_access_parse(access, &a) < 0)
		rc = err_set(&f.l.err, EINVAL, "access=%.100s: expected r or rw", access);
	else
		r->write = a & LL_WRITE;
out:
	free(access);
	return flag_close(&f, rc);
}

int vm_config_parse_fs(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--fs", s, err);
	if (rc < 0)
		return rc;
	struct fs_config *x = vm_config_add_fs(c);
	if (!x) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "tag", &x->tag));
	T(f_str(&f, "socket", &x->socket));
	T(f_u32(&f, "num_queues", &x->num_queues));
	T(f_u32(&f, "queue_size", &x->queue_size));
	T(f_str(&f, "id", &x->id));
	T(f_u16(&f, "pci_segment", &x->pci_segment));
	if (!x->tag || !x->socket) {
		rc = err_set(&f.l.err, EINVAL, "%s", "tag= and socket= are required");
		goto out;
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_pmem(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--pmem", s, err);
	if (rc < 0)
		return rc;
	struct pmem_config *p = vm_config_add_pmem(c);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "file", &p->file));
	T(f_size(&f, "size", &p->size));
	T(f_bool(&f, "iommu", &p->iommu));
	T(f_bool(&f, "discard_writes", &p->discard_writes));
	T(f_str(&f, "id", &p->id));
	T(f_u16(&f, "pci_segment", &p->pci_segment));
	if (!p->file) {
		rc = err_set(&f.l.err, EINVAL, "%s", "file= is required");
		goto out;
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_vsock(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--vsock", s, err);
	if (rc < 0)
		return rc;
	struct vsock_config *v = &c->vsock;
	if (c->has_vsock) {
		rc = err_set(&f.l.err, EINVAL, "%s", "only one vsock device is allowed");
		goto out;
	}
	uint64_t cid = 0;
	T(opt_get_u64(&f.l, "cid", &cid));
	T(f_str(&f, "socket", &v->socket));
	T(f_bool(&f, "iommu", &v->iommu));
	T(f_str(&f, "id", &v->id));
	T(f_u16(&f, "pci_segment", &v->pci_segment));
	if (!cid || !v->socket) {
		rc = err_set(&f.l.err, EINVAL, "%s", "cid= and socket= are required");
		goto out;
	}
	v->cid = cid;
	c->has_vsock = true;
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_device(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--device", s, err);
	if (rc < 0)
		return rc;
	struct device_config *d = vm_config_add_device(c);
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	T(f_str(&f, "path", &d->path));
	T(f_str(&f, "id", &d->id));
	T(f_bool(&f, "iommu", &d->iommu));
	T(f_u16(&f, "pci_segment", &d->pci_segment));
	if (!d->path) {
		rc = err_set(&f.l.err, EINVAL, "%s", "path= is required");
		goto out;
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}

int vm_config_parse_balloon(struct vm_config *c, const char *s, struct err *err)
{
	struct flag f;
	int rc = flag_open(&f, "--balloon", s, err);
	if (rc < 0)
		return rc;
	T(f_size(&f, "size", &c->balloon.size));
	T(f_bool(&f, "deflate_on_oom", &c->balloon.deflate_on_oom));
	T(f_bool(&f, "free_page_reporting", &c->balloon.free_page_reporting));
	c->has_balloon = true;
	rc = 0;
out:
	return flag_close(&f, rc);
}

#define CONSOLE_MODES "off, null, pty, tty, file=PATH, socket=PATH"

int vm_config_parse_console(struct console_config *k, const char *flag, const char *s,
			    struct err *err)
{
	static const struct {
		const char *word;
		enum console_mode mode;
	} words[] = { { "off", CONSOLE_OFF },
		      { "null", CONSOLE_NULL },
		      { "pty", CONSOLE_PTY },
		      { "tty", CONSOLE_TTY } };
	struct flag f;
	int modes = 0;
	int rc = flag_open(&f, flag, s, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *v = opt_get(&f.l, words[i].word);
		if (!v)
			continue;
		if (*v) {
			rc = err_set(&f.l.err, EINVAL, "'%s' takes no value", words[i].word);
			goto out;
		}
		k->mode = words[i].mode;
		modes++;
	}
	T(f_str(&f, "file", &k->file));
	if (rc == 1) {
		k->mode = CONSOLE_FILE;
		modes++;
	}
	T(f_str(&f, "socket", &k->socket));
	if (rc == 1) {
		k->mode = CONSOLE_SOCKET;
		modes++;
	}
	T(f_bool(&f, "iommu", &k->iommu));
	if (!modes) {
		rc = err_set(&f.l.err, EINVAL, "'%.100s' is not one of " CONSOLE_MODES, s);
		goto out;
	}
	if (modes != 1) {
		rc = err_set(&f.l.err, EINVAL, "%s", "expected one of " CONSOLE_MODES);
		goto out;
	}
	rc = 0;
out:
	return flag_close(&f, rc);
}
