// SPDX-License-Identifier: Apache-2.0
/* TAP devices through /dev/net/tun. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "net/tap.h"

bool tap_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] > '~')
			return false;
	}
	return true;
}

int tap_open(const char *name, bool persist, struct net_err *err)
{
	struct ifreq ifr;
	int fd, rc, hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);

	if (!tap_name_valid(name))
		return net_errf(err, -EINVAL, "'%s' is not a valid interface name", name);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENODEV || rc == -ENXIO)
			return net_errf(
				err, rc,
				"/dev/net/tun: %s (the tun driver is missing: modprobe tun)",
				strerror(-rc));
		return net_errf(err, rc, "/dev/net/tun: %s%s", strerror(-rc), net_errno_hint(rc));
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		net_errf(err, rc, "TAP %s: TUNSETIFF: %s%s%s", name, strerror(-rc),
			 rc == -EBUSY ? " (the name is taken by another kind of link or in use)"
				      : "",
			 net_errno_hint(rc));
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		rc = net_errf(err, -errno, "TAP %s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
		goto fail;
	}
	if (persist && ioctl(fd, TUNSETPERSIST, 1) < 0) {
		rc = net_errf(err, -errno, "TAP %s: TUNSETPERSIST: %s", name, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}
