// SPDX-License-Identifier: Apache-2.0
/* IPv4 forwarding sysctls through /proc/sys/net/ipv4. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/ipfwd.h"

#define IPFWD_PATH "/proc/sys/net/ipv4/ip_forward"

int ipfwd_get(bool *on, struct err *err)
{
	char c = '0';
	int fd = open(IPFWD_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, -errno, "%s: %s", IPFWD_PATH, strerror(errno));
	if (read(fd, &c, 1) != 1) {
		close(fd);
		return err_set(err, -EIO, "%s: cannot read", IPFWD_PATH);
	}
	close(fd);
	*on = c == '1';
	return 0;
}

static int write_one(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || write(fd, "1\n", 2) != 2)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

int ipfwd_enable(struct err *err)
{
	int rc = write_one(IPFWD_PATH);

	if (rc < 0)
		return err_set(err, rc, "enabling IPv4 forwarding (%s): %s%s", IPFWD_PATH,
			       strerror(-rc), net_errno_hint(rc));
	return 0;
}

int ipfwd_route_localnet(const char *link, struct err *err)
{
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", link);
	rc = write_one(path);
	if (rc < 0)
		return err_set(err, rc, "%s: %s%s", path, strerror(-rc), net_errno_hint(rc));
	return 0;
}
