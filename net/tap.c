// SPDX-License-Identifier: Apache-2.0
/* TAP interfaces through /dev/net/tun, configured with plain ioctls. */
#include "net/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */

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

/* Which TUN_F_* offloads this kernel accepts on fd. UFO went away in 4.14
 * and TSO needs CSUM: try each on top of CSUM and keep what works. */
static unsigned int probe_offloads(int fd)
{
	static const unsigned int extra[] = { TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_UFO };
	unsigned int ok = 0;

	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) < 0)
		return 0;
	ok = TUN_F_CSUM;
	for (unsigned int i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		unsigned int f = TUN_F_CSUM | extra[i];
		if (extra[i] == TUN_F_TSO_ECN)
			f |= TUN_F_TSO4;
		if (ioctl(fd, TUNSETOFFLOAD, f) == 0)
			ok |= extra[i];
	}
	ioctl(fd, TUNSETOFFLOAD, 0);
	return ok;
}

static int setup_fd(int fd)
{
	int len = TAP_VNET_HDR_LEN;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (ioctl(fd, TUNSETVNETHDRSZ, &len) < 0)
		return -errno;
	return 0;
}

static void tap_init(struct tap *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++)
		t->fd[i] = -1;
}

/* Why opening /dev/net/tun or TUNSETIFF failed, for a person. */
static const char *tun_hint(int rc, unsigned int n_queues)
{
	switch (rc) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return " (the tun driver is missing: modprobe tun)";
	case -EPERM:
	case -EACCES:
		return " (this needs CAP_NET_ADMIN)";
	case -EBUSY:
		return " (the name is taken by another kind of link, or in use)";
	case -EINVAL:
		return n_queues > 1 ? " (an existing TAP without multi_queue?)" : "";
	default:
		return "";
	}
}

int tap_open(struct tap *t, const char *name, unsigned int n_queues, bool persist, struct err *err)
{
	struct ifreq ifr;
	int rc;

	tap_init(t);
	if (!n_queues || n_queues > TAP_MAX_QUEUES)
		return err_set(err, -EINVAL, "tap: %u queues (1 to %u)", n_queues, TAP_MAX_QUEUES);
	if (name && *name && !tap_name_valid(name))
		return err_set(err, -EINVAL,
			       "tap '%s': not a valid interface name (1 to %d characters, "
			       "no '/', ':' or spaces)",
			       name, IFNAMSIZ - 1);
	t->created = !name || !*name || !if_nametoindex(name);
	for (unsigned int i = 0; i < n_queues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			rc = -errno;
			err_set(err, rc, "tap: /dev/net/tun: %s%s", strerror(errno),
				tun_hint(rc, n_queues));
			goto fail;
		}
		t->fd[t->n_fds++] = fd;
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (n_queues > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		/* the second queue onwards attaches to the first's interface */
		const char *n = i ? t->name : name;
		if (n)
			snprintf(ifr.ifr_name, IFNAMSIZ, "%s", n);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			rc = -errno;
			err_set(err, rc, "tap '%s': TUNSETIFF: %s%s", n && *n ? n : "(new)",
				strerror(errno), tun_hint(rc, n_queues));
			goto fail;
		}
		if (!i)
			snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
		rc = setup_fd(fd);
		if (rc) {
			err_set(err, rc, "tap '%s': vnet header: %s", t->name, strerror(-rc));
			goto fail;
		}
	}
	if (persist && ioctl(t->fd[0], TUNSETPERSIST, 1) < 0) {
		rc = -errno;
		err_set(err, rc, "tap '%s': TUNSETPERSIST: %s", t->name, strerror(errno));
		goto fail;
	}
	t->offload_ok = probe_offloads(t->fd[0]);
	return 0;
fail:
	tap_close(t);
	return rc;
}

int tap_adopt(struct tap *t, const int *fds, unsigned int n, struct err *err)
{
	struct ifreq ifr;
	int rc;

	tap_init(t);
	if (!n || n > TAP_MAX_QUEUES)
		return err_set(err, -EINVAL, "tap: %u fds given (1 to %u)", n, TAP_MAX_QUEUES);
	for (unsigned int i = 0; i < n; i++) {
		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(fds[i], TUNGETIFF, &ifr) < 0) {
			rc = -errno;
			err_set(err, rc, "tap fd %d: not a TAP queue (%s)", fds[i],
				strerror(errno));
			goto fail;
		}
		if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP ||
		    !(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_NO_PI)) {
			rc = err_set(err, -EINVAL,
				     "tap fd %d ('%s'): needs IFF_TAP | IFF_NO_PI | IFF_VNET_HDR",
				     fds[i], ifr.ifr_name);
			goto fail;
		}
		if (!i) {
			snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
		} else if (strcmp(t->name, ifr.ifr_name)) {
			rc = err_set(err, -EINVAL,
				     "tap fd %d is '%s', fd %d is '%s': one TAP expected", fds[0],
				     t->name, fds[i], ifr.ifr_name);
			goto fail;
		}
		rc = setup_fd(fds[i]);
		if (rc) {
			err_set(err, rc, "tap fd %d: %s", fds[i], strerror(-rc));
			goto fail;
		}
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
		t->fd[t->n_fds++] = fds[i];
	}
	t->created = false;
	t->offload_ok = probe_offloads(t->fd[0]);
	return 0;
fail:
	t->n_fds = 0; /* not ours until adopted: leave them open */
	return rc;
}

void tap_close(struct tap *t)
{
	for (unsigned int i = 0; i < t->n_fds; i++)
		close(t->fd[i]);
	t->n_fds = 0;
}

int tap_set_offload(struct tap *t, unsigned int tun_flags)
{
	for (unsigned int i = 0; i < t->n_fds; i++)
		if (ioctl(t->fd[i], TUNSETOFFLOAD, tun_flags & t->offload_ok) < 0)
			return -errno;
	return 0;
}

/* One SIOC* ioctl on name through a throwaway datagram socket. */
static int if_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

static void set_sin(struct sockaddr *sa, uint32_t addr_be)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr_be };
	memcpy(sa, &sin, sizeof(sin));
}

int tap_set_ipv4(const char *name, uint32_t addr_be, uint32_t mask_be)
{
	struct ifreq ifr = { 0 };
	int rc;

	set_sin(&ifr.ifr_addr, addr_be);
	rc = if_ioctl(name, SIOCSIFADDR, &ifr);
	if (rc)
		return rc;
	memset(&ifr, 0, sizeof(ifr));
	set_sin(&ifr.ifr_netmask, mask_be);
	return if_ioctl(name, SIOCSIFNETMASK, &ifr);
}

/* Each setter below changes nothing when the interface already has the
 * value, so that a VMM without CAP_NET_ADMIN can take a TAP its launcher
 * configured (svmm jail): the SIOCSIF* ioctls need the capability even then. */
int tap_set_mac(const char *name, const uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	if (!if_ioctl(name, SIOCGIFHWADDR, &ifr) && !memcmp(ifr.ifr_hwaddr.sa_data, mac, 6))
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return if_ioctl(name, SIOCSIFHWADDR, &ifr);
}

int tap_set_mtu(const char *name, unsigned int mtu)
{
	struct ifreq ifr = { 0 };

	if (!if_ioctl(name, SIOCGIFMTU, &ifr) && ifr.ifr_mtu == (int)mtu)
		return 0;
	ifr.ifr_mtu = (int)mtu;
	return if_ioctl(name, SIOCSIFMTU, &ifr);
}

int tap_get_mtu(const char *name, unsigned int *mtu)
{
	struct ifreq ifr = { 0 };
	int rc = if_ioctl(name, SIOCGIFMTU, &ifr);

	if (!rc)
		*mtu = (unsigned int)ifr.ifr_mtu;
	return rc;
}

int tap_set_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int rc = if_ioctl(name, SIOCGIFFLAGS, &ifr);

	if (rc)
		return rc;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return if_ioctl(name, SIOCSIFFLAGS, &ifr);
}
