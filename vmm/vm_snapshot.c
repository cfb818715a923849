// SPDX-License-Identifier: Apache-2.0
/* vm.snapshot and --restore of one VM (vm.h, vm_priv.h). */
#include "vmm/vm_priv.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/chardev.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/x86/acpi.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/cpuid.h"
#include "vmm/config/config.h"
#include "vmm/devices.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/layout.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/memory.h"
#include "vmm/kvm/seccomp.h"
#include "vmm/x86/mptable.h"
#include "vmm/kvm/kvm_snap.h"
#include "vmm/kvm/snapshot.h"
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include "guest-agent/common.h"
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>

/* --- snapshot and restore ---------------------------------------------- */

/* The platform devices' parts, in one place. */
struct snap_part {
	const struct snap_ops *ops;
	void *opaque;
};

static unsigned int platform_parts(struct vm *vm, struct snap_part *p)
{
	unsigned int n = 0;

	if (vm->has_serial)
		p[n++] = (struct snap_part){ &serial_snap_ops, &vm->serial };
	p[n++] = (struct snap_part){ &rtc_snap_ops, &vm->rtc };
	p[n++] = (struct snap_part){ &acpi_ged_snap_ops, &vm->ged };
	return n;
}

/* Everything of the paused VM into w. */
static int snapshot_state(struct vm *vm, struct snap_w *w, struct err *err)
{
	struct snap_part parts[4];
	uint32_t ncpus = vm->cfg->ncpus;
	uint64_t mem = vm->mem.size;
	int rc;

	/* devices first: one may refuse, and blk lands its in-flight I/O,
	 * whose interrupts then are in the irqchip state below */
	if ((rc = vm_devices_save(&vm->devs, w, err)))
		return rc;
	snap_put(w, &ncpus, sizeof(ncpus), "vm.ncpus");
	snap_put(w, &mem, sizeof(mem), "vm.mem_size");
	unsigned int n = platform_parts(vm, parts);
	for (unsigned int i = 0; i < n; i++)
		if ((rc = parts[i].ops->save(parts[i].opaque, w, err)))
			return err_wrap(err, "%s", parts[i].ops->name);
	if ((rc = kvm_vm_save(&vm->kvm, &vm->clock, w, err)))
		return rc;
	for (unsigned int i = 0; i < ncpus; i++)
		if ((rc = kvm_vcpu_save(&vm->kvm, vm->vcpus[i].fd, i, w, err)))
			return rc;
	if ((rc = snap_w_finish(w)))
		return err_set(err, rc, "snapshot state: %s", strerror(-rc));
	return 0;
}

static int fill_mem(int fd, const void *vm)
{
	return guest_mem_save(&((const struct vm *)vm)->mem, fd);
}

static int fill_state(int fd, const void *w)
{
	const struct snap_w *sw = w;
	return write_all(fd, sw->buf, sw->len);
}

/* DIR/NAME made whole by fill: written under a temporary name, fsynced and
 * renamed over what was there, so nobody sees it half written. */
static int write_replace(const char *dir, const char *name, int (*fill)(int fd, const void *arg),
			 const void *arg, struct err *err)
{
	char tmp[4096], path[4096];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (rc = fill(fd, arg)) || fsync(fd) < 0) {
		rc = err_sys(err, fd < 0 || !rc ? errno : -rc, "%s", tmp);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return rc;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = err_sys(err, errno, "%s", path);
		unlink(tmp);
	}
	return rc;
}

int vm__vm_snapshot(struct vm *vm, const char *dir, struct err *err)
{
	struct snap_w w;
	char path[4096], tmp[4096];
	int fd = -1, rc;
	struct timespec t0, t1;

	if (!vm->paused)
		return err_set(err, EBUSY, "the VM is not paused: pause it first");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snap_w_init(&w);
	if ((rc = snapshot_state(vm, &w, err)))
		goto out;
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) < 0) {
		rc = err_sys(err, errno ? errno : ENOTDIR, "%s: not a directory svmm can write",
			     dir);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/." SNAP_STATE_FILE ".tmp", dir) >= (int)sizeof(tmp)) {
		rc = err_set(err, ENAMETOOLONG, "%s: path too long", dir);
		goto out;
	}
	/* no state.bin while the rest is rewritten: never a half snapshot */
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = err_sys(err, errno, "%s", path);
		goto out;
	}
	/* config.json */
	snprintf(path, sizeof(path), "%s/" SNAP_CONFIG_FILE, dir);
	json_t *cj = vm->cfg->devices ? vm_config_to_json(vm->cfg->devices) : NULL;
	if (!cj) {
		rc = err_set(err, EINVAL, "the VM has no configuration to save");
		goto out;
	}
	char *text = json_dumps(cj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(cj);
	fd = text ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	if (fd < 0 || (rc = write_all(fd, (const uint8_t *)text, strlen(text))) || fsync(fd) < 0) {
		rc = err_sys(err, fd < 0 || !rc ? errno : -rc, "%s", path);
		free(text);
		goto out;
	}
	free(text);
	close(fd);
	/* memory.bin, then state.bin last, each by rename: the memory.bin there
	 * may be what this VM or another one maps (a restore's MAP_PRIVATE
	 * pages not yet copied), which a truncation would take away (SIGBUS) */
	if ((rc = write_replace(dir, SNAP_MEMORY_FILE, fill_mem, vm, err)) ||
	    (rc = write_replace(dir, SNAP_STATE_FILE, fill_state, &w, err)))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_msg(LV_INFO, "vm", "snapshot in %s: %zu bytes of state, %llu MiB of RAM, %lld ms", dir,
		w.len, (unsigned long long)(vm->mem.size >> 20),
		(long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	snap_w_free(&w);
	return rc;
}

/* Read and check DIR/state.bin (before anything is built). */
int vm__restore_load(struct vm *vm, const char *dir, struct err *err)
{
	char path[4096];
	struct stat st;
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, dir) >= (int)sizeof(path))
		return err_set(err, ENAMETOOLONG, "%s: path too long", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "restore: %s (not a complete snapshot?)", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)(256u << 20)) {
		close(fd);
		return err_set(err, EINVAL, "restore: %s: not a regular file of at most 256 MiB",
			       path);
	}
	size_t len = (size_t)st.st_size, got = 0;
	vm->snap_buf = malloc(len ? len : 1);
	if (!vm->snap_buf) {
		close(fd);
		return err_set(err, ENOMEM, "out of memory");
	}
	while (got < len) {
		ssize_t n = read(fd, vm->snap_buf + got, len - got);
		if (n <= 0) {
			rc = err_sys(err, n < 0 ? errno : EIO, "restore: reading %s", path);
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!rc && (rc = snap_parse(&vm->snap, vm->snap_buf, len, err)))
		err_wrap(err, "restore: %s", path);
	if (!rc) {
		uint32_t ncpus;
		uint64_t mem;
		if ((rc = snap_get_exact(&vm->snap, &ncpus, sizeof(ncpus), err, "vm.ncpus")) ||
		    (rc = snap_get_exact(&vm->snap, &mem, sizeof(mem), err, "vm.mem_size")))
			err_wrap(err, "restore: %s", path);
		else if (ncpus != vm->cfg->ncpus || mem != vm->cfg->mem_size)
			rc = err_set(err, EINVAL,
				     "restore: %s holds %u vCPUs and %llu bytes of RAM, its "
				     "configuration %u and %llu",
				     path, ncpus, (unsigned long long)mem, vm->cfg->ncpus,
				     (unsigned long long)vm->cfg->mem_size);
	}
	if (rc) {
		snap_r_free(&vm->snap);
		free(vm->snap_buf);
		vm->snap_buf = NULL;
		return rc;
	}
	vm->restoring = true;
	return 0;
}

void vm__restore_done(struct vm *vm)
{
	vm->restoring = false;
	snap_r_free(&vm->snap);
	free(vm->snap_buf);
	vm->snap_buf = NULL;
}

int vm__restore_mem(struct vm *vm, struct err *err)
{
	char path[4096];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/" SNAP_MEMORY_FILE, vm->cfg->restore_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "restore: %s", path);
	rc = guest_mem_map_file(&vm->mem, vm->cfg->mem_size, fd, vm->cfg->restore_prefault);
	close(fd); /* the mapping holds the file */
	if (rc)
		return err_set(err, rc, "restore: %s: cannot map %llu bytes of it: %s", path,
			       (unsigned long long)vm->cfg->mem_size,
			       rc == -EINVAL ? "not a file of that size" : strerror(-rc));
	return 0;
}

/* With vCPUs and devices made: every state back, then the VM as paused. */
int vm__restore_state(struct vm *vm, struct err *err)
{
	struct snap_part parts[4];
	int rc;

	if ((rc = kvm_vm_restore(&vm->kvm, &vm->snap, &vm->clock, err)))
		return rc;
	for (unsigned int i = 0; i < vm->cfg->ncpus; i++)
		if ((rc = kvm_vcpu_restore(&vm->kvm, vm->vcpus[i].fd, i, &vm->snap, err)))
			return rc;
	unsigned int n = platform_parts(vm, parts);
	for (unsigned int i = 0; i < n; i++)
		if ((rc = parts[i].ops->restore(parts[i].opaque, &vm->snap, err)))
			return rc;
	return vm_devices_restore(&vm->devs, &vm->snap, err);
}
