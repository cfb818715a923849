// SPDX-License-Identifier: Apache-2.0
/* The guest's virtio devices, from the configuration, in cloud-hypervisor's order. */
#include "vmm/devices.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/chardev.h"
#include "devices/virtio/blk/blk.h"
#include "devices/virtio/fs/fs.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/transport/pci.h"
#include "devices/virtio/rng/rng.h"
#include "devices/virtio/vsock/vsock.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/seccomp.h"
#include "vmm/kvm/snapshot.h"

static int ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	struct vm_devices *d = opaque;
	return assign ? kvm_ioeventfd_add(d->kvm, fd, gpa, len, false, false, 0)
		      : kvm_ioeventfd_del(d->kvm, fd, gpa, len, false, false, 0);
}

/* --- the device manager thread ----------------------------------------- */

static void *devmgr_main(void *arg)
{
	struct vm_devmgr *m = arg;
	int rc = sc_install(SC_DEVMGR);

	pthread_mutex_lock(&m->lock);
	m->rc = rc;
	m->ready = true;
	pthread_cond_broadcast(&m->cond);
	while (!rc) {
		while (!m->n && !m->stopping)
			pthread_cond_wait(&m->cond, &m->lock);
		if (!m->n)
			break; /* stopping, and nothing left to run */
		void (*fn)(void *) = m->q[m->head].fn;
		void *fa = m->q[m->head].arg;
		m->head = (m->head + 1) % VM_DEVMGR_SLOTS;
		m->n--;
		m->busy = true;
		pthread_mutex_unlock(&m->lock);
		fn(fa);
		pthread_mutex_lock(&m->lock);
		m->busy = false;
		pthread_cond_broadcast(&m->cond); /* devmgr_drain waits for it */
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int devmgr_start(struct vm_devmgr *m, struct err *err)
{
	int rc;

	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	rc = -pthread_create(&m->thread, NULL, devmgr_main, m);
	if (rc) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->lock);
		return err_set(err, rc, "device manager thread: %s", strerror(-rc));
	}
	m->started = true;
	pthread_mutex_lock(&m->lock);
	while (!m->ready)
		pthread_cond_wait(&m->cond, &m->lock);
	rc = m->rc;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return err_set(err, rc, "device manager thread: seccomp filter: %s", strerror(-rc));
	return 0;
}

/* Wait until the queue is empty and no job runs. Only while nothing can
 * queue a job (the vCPUs are stopped). */
static void devmgr_drain(struct vm_devmgr *m)
{
	if (!m->started)
		return;
	pthread_mutex_lock(&m->lock);
	while ((m->n || m->busy) && !m->rc)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

static void devmgr_stop(struct vm_devmgr *m)
{
	if (!m->started)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL); /* after the jobs still queued */
	m->started = false;
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}

/* The transports' defer: on a vCPU thread, inside an MMIO write. */
static int defer(void *opaque, void (*fn)(void *arg), void *arg)
{
	struct vm_devmgr *m = &((struct vm_devices *)opaque)->mgr;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (m->stopping || m->rc)
		rc = -ESHUTDOWN;
	else if (m->n == VM_DEVMGR_SLOTS)
		rc = -EAGAIN; /* not while each transport queues at most one job */
	else {
		unsigned int tail = (m->head + m->n) % VM_DEVMGR_SLOTS;
		m->q[tail].fn = fn;
		m->q[tail].arg = arg;
		m->n++;
		pthread_cond_broadcast(&m->cond); /* the devmgr, not a devmgr_drain */
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static const struct virtio_pci_host_ops host_ops = { .ioeventfd = ioeventfd, .defer = defer };

/* Put vd (config id id, NULL: none) behind a transport in the next free
 * slot. Frees vd on failure. d->lock held once the VM runs. */
static int plug(struct vm_devices *d, struct virtio_dev *vd, struct pci_bus *bus,
		const struct guest_mem *mem, const char *id, struct err *err)
{
	struct virtio_pci *vp;
	int rc;

	vd->gate = &d->gate;
	if (d->n == VM_MAX_PCI_DEVICES) {
		vd->ops->free(vd);
		return err_set(err, -ENOSPC, "%s: no PCI slot left (at most %u devices)", vd->name,
			       VM_MAX_PCI_DEVICES);
	}
	rc = virtio_pci_create(&vp, vd, mem, &host_ops, d);
	if (rc) {
		vd->ops->free(vd);
		return err_set(err, rc, "%s: cannot create its PCI function: %s", vd->name,
			       strerror(-rc));
	}
	rc = pci_bus_add(bus, virtio_pci_dev(vp), -1);
	if (rc < 0) {
		virtio_pci_free(vp);
		return err_set(err, rc, "%s: cannot plug it into PCI: %s", vd->name, strerror(-rc));
	}
	d->vd[d->n] = vd;
	snprintf(d->id[d->n], sizeof(d->id[d->n]), "%s", id ? id : "");
	d->vp[d->n++] = vp;
	return 0;
}

void vm_devices_counters(struct vm_devices *d, struct ctr_set *out)
{
	pthread_mutex_lock(&d->lock); /* an eject may free one meanwhile */
	for (unsigned int i = 0; i < d->n; i++) {
		ctr_group(out, d->id[i], "device", d->id[i]);
		virtio_dev_counters(d->vd[i], out);
	}
	pthread_mutex_unlock(&d->lock);
}

int vm_net_opts(const struct net_config *n, size_t i, struct virtio_net_opts *o, struct err *err)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->tap, sizeof(o->tap), "%s", n->tap ? n->tap : "");
	if (n->ip) {
		o->has_ip = true;
		if (inet_pton(AF_INET, n->ip, &o->ip) != 1 ||
		    inet_pton(AF_INET, n->mask ? n->mask : "255.255.255.0", &o->mask) != 1) {
			return err_set(err, -EINVAL,
				       "net[%zu]: ip '%s' or mask '%s' is not an IPv4 address", i,
				       n->ip, n->mask ? n->mask : "");
		}
	}
	if (n->mac) {
		o->has_mac = true;
		if (mac_addr_parse(n->mac, o->mac))
			return err_set(err, -EINVAL, "net[%zu]: mac '%s' is not a MAC address", i,
				       n->mac);
	}
	if (n->host_mac) {
		o->has_host_mac = true;
		if (mac_addr_parse(n->host_mac, o->host_mac))
			return err_set(err, -EINVAL, "net[%zu]: host_mac '%s' is not a MAC address",
				       i, n->host_mac);
	}
	o->mtu = n->mtu;
	o->num_queues = n->num_queues;
	o->queue_size = n->queue_size;
	if (n->n_fds > TAP_MAX_QUEUES)
		return err_set(err, -EINVAL, "net[%zu]: at most %u fds", i, TAP_MAX_QUEUES);
	for (size_t k = 0; k < n->n_fds; k++)
		o->fds[k] = n->fds[k];
	o->n_fds = (unsigned int)n->n_fds;
	o->offload_tso = n->offload_tso;
	o->offload_ufo = n->offload_ufo;
	o->offload_csum = n->offload_csum;
	o->vhost = n->vhost;
	snprintf(o->id, sizeof(o->id), "%s", n->id ? n->id : "");
	return 0;
}

int vm_serial_opts(const struct console_config *k, struct chardev *cd, struct err *err)
{
	static const enum chardev_mode modes[] = {
		[CONSOLE_OFF] = CHARDEV_OFF,	   [CONSOLE_PTY] = CHARDEV_PTY,
		[CONSOLE_TTY] = CHARDEV_TTY,	   [CONSOLE_FILE] = CHARDEV_FILE,
		[CONSOLE_SOCKET] = CHARDEV_SOCKET, [CONSOLE_NULL] = CHARDEV_NULL,
	};
	if ((unsigned int)k->mode >= sizeof(modes) / sizeof(modes[0]))
		return err_set(err, -EINVAL, "mode %d is unknown", (int)k->mode);
	return chardev_init(cd, modes[k->mode], k->mode == CONSOLE_SOCKET ? k->socket : k->file,
			    err);
}

void vm_fs_opts(const struct fs_config *fc, struct virtio_fs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->num_queues = fc->num_queues;
	o->queue_size = fc->queue_size;
	snprintf(o->tag, sizeof(o->tag), "%s", fc->tag ? fc->tag : "");
	snprintf(o->socket, sizeof(o->socket), "%s", fc->socket ? fc->socket : "");
	snprintf(o->id, sizeof(o->id), "%s", fc->id ? fc->id : "");
}

void vm_vsock_opts(const struct vsock_config *vc, struct virtio_vsock_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cid = vc->cid;
	snprintf(o->socket, sizeof(o->socket), "%s", vc->socket ? vc->socket : "");
	snprintf(o->id, sizeof(o->id), "%s", vc->id ? vc->id : "");
}

static enum disk_image_type image_type(enum image_type t)
{
	switch (t) {
	case IMAGE_TYPE_RAW:
		return DISK_IMAGE_RAW;
	case IMAGE_TYPE_QCOW2:
		return DISK_IMAGE_QCOW2;
	default:
		return DISK_IMAGE_AUTO;
	}
}

/* A virtio-blk function for dc, plugged. */
static int add_disk(struct vm_devices *d, const struct disk_config *dc, struct err *err)
{
	struct virtio_dev *vd;
	int rc;

	if (dc->image_type == IMAGE_TYPE_FIXED_VHD || dc->image_type == IMAGE_TYPE_VHDX)
		return err_set(err, -ENOTSUP,
			       "disk '%s': image_type: only raw and qcow2 are supported", dc->path);
	struct virtio_blk_opts o = {
		.disk = { .path = dc->path,
			  .readonly = dc->readonly,
			  .direct = dc->direct,
			  .type = image_type(dc->image_type) },
		.serial = dc->serial ? dc->serial : dc->id,
		.num_queues = dc->num_queues,
		.queue_size = dc->queue_size,
	};
	if ((rc = virtio_blk_create(&vd, &o, err)))
		return rc;
	return plug(d, vd, d->bus, d->mem, dc->id, err);
}

/* A virtio-net function for entry i (nc), plugged. */
static int add_net(struct vm_devices *d, const struct net_config *nc, size_t i, struct err *err)
{
	struct virtio_net_opts o;
	struct virtio_dev *vd;
	int rc;

	if ((rc = vm_net_opts(nc, i, &o, err)) || (rc = virtio_net_create(&vd, &o, err)))
		return rc;
	return plug(d, vd, d->bus, d->mem, nc->id, err);
}

static int add_fs(struct vm_devices *d, const struct fs_config *fc, struct err *err)
{
	struct virtio_fs_opts o;
	struct virtio_dev *vd;
	int rc;

	vm_fs_opts(fc, &o);
	if ((rc = virtio_fs_create(&vd, &o, d->mem, err)))
		return rc;
	return plug(d, vd, d->bus, d->mem, fc->id, err);
}

static int add_vsock(struct vm_devices *d, const struct vsock_config *vc, struct err *err)
{
	struct virtio_vsock_opts o;
	struct virtio_dev *vd;
	int rc;

	vm_vsock_opts(vc, &o);
	if ((rc = virtio_vsock_create(&vd, &o, err)))
		return rc;
	return plug(d, vd, d->bus, d->mem, vc->id, err);
}

/* A VFIO function for devices[i] (dc), plugged and started (INTx). */
static int add_vfio(struct vm_devices *d, const struct device_config *dc, size_t i, struct err *err)
{
	struct vfio_dev *v;
	int rc;

	if (d->n_vfio == VM_MAX_VFIO_DEVICES)
		return err_set(err, -ENOSPC, "devices[%zu] (%s): at most %d VFIO devices", i,
			       dc->path, VM_MAX_VFIO_DEVICES);
	if ((rc = vfio_dev_create(&v, &d->vfio, dc->path, err)))
		return err_wrap(err, "devices[%zu] (%s)", i, dc->path);
	rc = pci_bus_add(d->bus, &v->pci, -1);
	if (rc < 0) {
		vfio_dev_free(v);
		return err_set(err, rc, "devices[%zu] (%s): cannot plug it into PCI: %s", i,
			       dc->path, strerror(-rc));
	}
	snprintf(d->vfio_id[d->n_vfio], sizeof(d->vfio_id[0]), "%s", dc->id ? dc->id : "");
	d->vfio_dev[d->n_vfio++] = v;
	if ((rc = vfio_dev_start(v, err)))
		return err_wrap(err, "devices[%zu] (%s)", i, dc->path);
	return 0;
}

int vm_devices_create(struct vm_devices *d, const struct vm_config *cfg, struct pci_bus *bus,
		      struct kvm *kvm, const struct guest_mem *mem, struct err *err)
{
	struct virtio_dev *vd;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->kvm = kvm;
	d->bus = bus;
	d->mem = mem;
	pthread_mutex_init(&d->lock, NULL);
	d->has_lock = true;
	virtio_gate_init(&d->gate);
	d->has_gate = true;
	vfio_ctx_init(&d->vfio, kvm, mem);
	if ((rc = devmgr_start(&d->mgr, err)))
		goto fail;
	for (size_t i = 0; cfg && i < cfg->n_disks; i++) {
		if ((rc = add_disk(d, &cfg->disks[i], err)))
			goto fail;
	}
	for (size_t i = 0; cfg && i < cfg->n_net; i++) {
		if ((rc = add_net(d, &cfg->net[i], i, err)))
			goto fail;
	}
	const char *rng = cfg && cfg->rng.src ? cfg->rng.src : VM_DEFAULT_RNG_SRC;
	if ((rc = virtio_rng_create(&vd, rng, err)) || (rc = plug(d, vd, bus, mem, "__rng", err)))
		goto fail;
	for (size_t i = 0; cfg && i < cfg->n_fs; i++)
		if ((rc = add_fs(d, &cfg->fs[i], err)))
			goto fail;
	if (cfg && cfg->has_vsock && (rc = add_vsock(d, &cfg->vsock, err)))
		goto fail;
	/* VFIO devices last, as cloud-hypervisor plugs them; guest RAM is
	 * registered by now (the container maps it for DMA) */
	for (size_t i = 0; cfg && i < cfg->n_devices; i++)
		if ((rc = add_vfio(d, &cfg->devices[i], i, err)))
			goto fail;
	return 0;
fail:
	vm_devices_free(d);
	return rc;
}

void vm_devices_free(struct vm_devices *d)
{
	devmgr_stop(&d->mgr); /* no job may run on a freed device */
	while (d->n)
		virtio_pci_free(d->vp[--d->n]);
	while (d->n_vfio)
		vfio_dev_free(d->vfio_dev[--d->n_vfio]);
	vfio_ctx_free(&d->vfio);
	if (d->has_lock)
		pthread_mutex_destroy(&d->lock);
	d->has_lock = false;
	if (d->has_gate)
		virtio_gate_destroy(&d->gate);
	d->has_gate = false;
}

void vm_devices_pause(struct vm_devices *d)
{
	if (!d->has_gate)
		return;
	devmgr_drain(&d->mgr); /* an activation queued before the pause completes */
	virtio_gate_close(&d->gate);
}

void vm_devices_resume(struct vm_devices *d)
{
	if (d->has_gate)
		virtio_gate_open(&d->gate);
}

int vm_devices_hot_add(struct vm_devices *d, enum vm_device_kind kind, const void *cfg,
		       unsigned int *slot, struct err *err)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	switch (kind) {
	case VM_DEV_DISK:
		rc = add_disk(d, cfg, err);
		break;
	case VM_DEV_NET:
		rc = add_net(d, cfg, 0, err);
		break;
	case VM_DEV_FS:
		rc = add_fs(d, cfg, err);
		break;
	case VM_DEV_VSOCK:
		rc = add_vsock(d, cfg, err);
		break;
	case VM_DEV_VFIO:
		rc = add_vfio(d, cfg, 0, err);
		break;
	default:
		rc = err_set(err, -EINVAL, "unknown device kind %d", (int)kind);
	}
	if (!rc)
		*slot = kind == VM_DEV_VFIO ? d->vfio_dev[d->n_vfio - 1]->pci.slot
					    : virtio_pci_dev(d->vp[d->n - 1])->slot;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int vm_devices_slot_of(struct vm_devices *d, const char *id)
{
	int slot = -ENOENT;

	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->n && slot < 0; i++)
		if (*d->id[i] && !strcmp(d->id[i], id))
			slot = (int)virtio_pci_dev(d->vp[i])->slot;
	for (unsigned int i = 0; i < d->n_vfio && slot < 0; i++)
		if (*d->vfio_id[i] && !strcmp(d->vfio_id[i], id))
			slot = (int)d->vfio_dev[i]->pci.slot;
	pthread_mutex_unlock(&d->lock);
	return slot;
}

/* On the devmgr: the function in the ejected slot goes (its threads stop,
 * its fds close), the rest keep their order. */
static void eject_job(void *arg)
{
	struct vm_eject *e = arg;
	struct vm_devices *d = e->d;

	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->n; i++) {
		struct pci_dev *pd = virtio_pci_dev(d->vp[i]);
		if (pd->slot != e->slot)
			continue;
		log_msg(LV_INFO, "devices", "slot %u (%s) ejected by the guest: removed", e->slot,
			*d->id[i] ? d->id[i] : "no id");
		pci_bus_remove(d->bus, pd);
		virtio_pci_free(d->vp[i]);
		memmove(&d->vp[i], &d->vp[i + 1], (d->n - i - 1) * sizeof(d->vp[0]));
		memmove(&d->vd[i], &d->vd[i + 1], (d->n - i - 1) * sizeof(d->vd[0]));
		memmove(d->id[i], d->id[i + 1], (d->n - i - 1) * sizeof(d->id[0]));
		d->n--;
		goto out;
	}
	for (unsigned int i = 0; i < d->n_vfio; i++) {
		struct vfio_dev *v = d->vfio_dev[i];
		if (v->pci.slot != e->slot)
			continue;
		log_msg(LV_INFO, "devices", "slot %u (%s) ejected by the guest: removed", e->slot,
			*d->vfio_id[i] ? d->vfio_id[i] : "no id");
		pci_bus_remove(d->bus, &v->pci);
		vfio_dev_free(v);
		memmove(&d->vfio_dev[i], &d->vfio_dev[i + 1],
			(d->n_vfio - i - 1) * sizeof(d->vfio_dev[0]));
		memmove(d->vfio_id[i], d->vfio_id[i + 1],
			(d->n_vfio - i - 1) * sizeof(d->vfio_id[0]));
		d->n_vfio--;
		break;
	}
out:
	pthread_mutex_unlock(&d->lock);
}

void vm_devices_eject(struct vm_devices *d, unsigned int slot)
{
	if (slot >= PCI_SLOTS)
		return;
	d->eject[slot] = (struct vm_eject){ d, slot };
	if (defer(d, eject_job, &d->eject[slot]))
		log_msg(LV_ERROR, "devices", "slot %u: the eject could not be queued", slot);
}

/* --- snapshot ------------------------------------------------------------ */

int vm_devices_save(struct vm_devices *d, struct snap_w *w, struct err *err)
{
	char pfx[16];
	uint32_t n = d->n;
	int rc;

	if (d->n_vfio)
		return err_set(err, ENOTSUP,
			       "VFIO device %s: its host hardware state cannot be saved",
			       d->vfio_dev[0]->name);
	for (unsigned int i = 0; i < d->n; i++) {
		snprintf(pfx, sizeof(pfx), "pci%02x", virtio_pci_dev(d->vp[i])->slot);
		if ((rc = virtio_pci_save(d->vp[i], w, pfx, err)) < 0)
			return rc;
	}
	return snap_put(w, &n, sizeof(n), "devices");
}

int vm_devices_restore(struct vm_devices *d, const struct snap_r *r, struct err *err)
{
	char pfx[16];
	uint32_t n;
	int rc;

	if ((rc = snap_get_exact(r, &n, sizeof(n), err, "devices")))
		return rc;
	if (n != d->n)
		return err_set(err, EINVAL,
			       "snapshot: %u PCI devices saved, the configuration makes %u", n,
			       d->n);
	for (unsigned int i = 0; i < d->n; i++) {
		snprintf(pfx, sizeof(pfx), "pci%02x", virtio_pci_dev(d->vp[i])->slot);
		if ((rc = virtio_pci_restore(d->vp[i], r, pfx, err)) < 0)
			return err_wrap(err, "%s (%s)", virtio_pci_name(d->vp[i]), pfx);
	}
	devmgr_drain(&d->mgr); /* the activations queued by the restores */
	return 0;
}
