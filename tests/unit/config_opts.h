/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device options the way the VM makes them, for device tests: one
 * cloud-hypervisor flag value (--net, --fs, --vsock) through the config
 * reader (vmm/config/config_cli.c), vm_config_validate() and vmm/devices.c.
 * A bad value fails in the reader or the validation, -EINVAL with the
 * message in err.
 */
#ifndef SVMM_TESTS_UNIT_CONFIG_OPTS_H
#define SVMM_TESTS_UNIT_CONFIG_OPTS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/fs/fs.h"
#include "devices/virtio/net/net.h"
#include "devices/virtio/vsock/vsock.h"
#include "vmm/config/config.h"
#include "vmm/devices.h"

/* c with one device from spec, validated (with a kernel as the payload and
 * shared memory, which virtio-fs needs). c is to be vm_config_free'd. */
static inline int config_opts_read(struct vm_config *c,
				   int (*parse)(struct vm_config *, const char *, struct err *),
				   const char *spec, struct err *err)
{
	int rc;

	vm_config_init(c);
	c->memory.shared = true;
	if (!(c->payload.kernel = strdup("vmlinux")))
		return -ENOMEM;
	if ((rc = parse(c, spec, err)))
		return rc;
	return vm_config_validate(c, err);
}

static inline int net_opts_from(const char *spec, struct virtio_net_opts *o, struct err *err)
{
	struct vm_config c;
	int rc = config_opts_read(&c, vm_config_parse_net, spec, err);
	if (!rc)
		rc = vm_net_opts(&c.net[0], 0, o, err);
	vm_config_free(&c);
	return rc;
}

static inline int fs_opts_from(const char *spec, struct virtio_fs_opts *o, struct err *err)
{
	struct vm_config c;
	int rc = config_opts_read(&c, vm_config_parse_fs, spec, err);
	if (!rc)
		vm_fs_opts(&c.fs[0], o);
	vm_config_free(&c);
	return rc;
}

static inline int vsock_opts_from(const char *spec, struct virtio_vsock_opts *o, struct err *err)
{
	struct vm_config c;
	int rc = config_opts_read(&c, vm_config_parse_vsock, spec, err);
	if (!rc)
		vm_vsock_opts(&c.vsock, o);
	vm_config_free(&c);
	return rc;
}

#endif
