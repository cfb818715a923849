// SPDX-License-Identifier: Apache-2.0
/* PID 1 duties of the guest agent: see init.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "guest-agent/init.h"
#include "guest-agent/util.h"

#define NEWROOT "/.svmm-root"

void alog(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "svmm-agent: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(buf);
	buf[len++] = '\n';
	if (write(STDERR_FILENO, buf, len) < 0) {
		/* the console is all there is */
	}
}

void init_reroot(char **argv)
{
	if (getpid() != 1 || getenv("SVMM_AGENT_REROOTED"))
		return;
	if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST)
		return;
	if (mount("tmpfs", NEWROOT, "tmpfs", 0, "mode=0755") < 0) {
		alog("cannot mount a tmpfs root (%s): staying on the initramfs", strerror(errno));
		return;
	}
	if (copy_tree("/", NEWROOT, NEWROOT) < 0) {
		alog("cannot copy the initramfs: staying on it");
		umount(NEWROOT);
		return;
	}
	/* Free the initramfs' memory, then move the tmpfs over it. */
	remove_tree("/", NEWROOT);
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		alog("cannot switch to the tmpfs root: %s", strerror(errno));
		return;
	}
	char *envp[] = { "SVMM_AGENT_REROOTED=1", "PATH=/bin:/sbin:/usr/bin:/usr/sbin", NULL };
	execve("/init", argv, envp);
	alog("cannot re-execute /init: %s", strerror(errno));
}

static int mnt(const char *src, const char *dst, const char *type, unsigned long flags,
	       const char *data)
{
	mkdir_p(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY) {
		alog("mount %s on %s: %s", type, dst, strerror(errno));
		return -errno;
	}
	return 0;
}

int init_mounts(void)
{
	int r = 0;
	r |= mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	r |= mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	r |= mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	r |= mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=620");
	r |= mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	r |= mnt("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	r |= mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	r |= mnt("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		 "nsdelegate");
	if (access("/dev/ptmx", F_OK) < 0)
		symlink("pts/ptmx", "/dev/ptmx");
	return r ? -EIO : 0;
}

static void cfg_copy(char *dst, const char *v)
{
	snprintf(dst, INIT_STR, "%s", v);
}

void init_read_cmdline(struct init_cfg *c)
{
	char buf[4096];
	memset(c, 0, sizeof(*c));
	c->port = 1024;
	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return;
	for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(w, "--"))
			break;
		if (strncmp(w, "svmm.", 5))
			continue;
		char *eq = strchr(w, '=');
		const char *v = eq ? eq + 1 : "";
		if (eq)
			*eq = 0;
		const char *k = w + 5;
		if (!strcmp(k, "port"))
			c->port = strtoul(v, NULL, 10);
		else if (!strcmp(k, "ip"))
			cfg_copy(c->ip, v);
		else if (!strcmp(k, "gw"))
			cfg_copy(c->gw, v);
		else if (!strcmp(k, "dns"))
			cfg_copy(c->dns, v);
		else if (!strcmp(k, "ifname"))
			cfg_copy(c->ifname, v);
		else if (!strcmp(k, "hostname"))
			cfg_copy(c->hostname, v);
		else if (!strcmp(k, "debug"))
			c->debug = true;
		else
			alog("ignoring unknown kernel parameter svmm.%s", k);
	}
}

static int if_up(int s, const char *name)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%.15s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static void first_netdev(char *out)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	out[0] = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lo"))
			continue;
		if (!out[0] || strcmp(de->d_name, out) < 0)
			snprintf(out, IFNAMSIZ, "%.15s", de->d_name);
	}
	closedir(d);
}

int init_network(const struct init_cfg *c)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
	if (s < 0)
		return -errno;
	if (if_up(s, "lo") < 0)
		alog("cannot bring lo up: %s", strerror(errno));
	if (!c->ip[0])
		goto out;
	char ifname[IFNAMSIZ], addr[64];
	if (c->ifname[0])
		snprintf(ifname, sizeof(ifname), "%.15s", c->ifname);
	else
		first_netdev(ifname);
	if (!ifname[0]) {
		alog("svmm.ip=%s given but the guest has no network interface", c->ip);
		r = -ENODEV;
		goto out;
	}
	snprintf(addr, sizeof(addr), "%.63s", c->ip);
	unsigned prefix = 24;
	char *slash = strchr(addr, '/');
	if (slash) {
		*slash = 0;
		prefix = strtoul(slash + 1, NULL, 10);
	}
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%.15s", ifname);
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1 || prefix > 32) {
		alog("svmm.ip=%s is not ADDRESS/PREFIX", c->ip);
		r = -EINVAL;
		goto out;
	}
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
		r = -errno;
		alog("%s: cannot set address %s: %s", ifname, addr, strerror(errno));
		goto out;
	}
	sin->sin_addr.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		alog("%s: cannot set the netmask: %s", ifname, strerror(errno));
	if (if_up(s, ifname) < 0)
		alog("cannot bring %s up: %s", ifname, strerror(errno));
	if (c->gw[0]) {
		struct rtentry rt = { 0 };
		struct sockaddr_in *g = (struct sockaddr_in *)&rt.rt_gateway;
		((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
		((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
		g->sin_family = AF_INET;
		if (inet_pton(AF_INET, c->gw, &g->sin_addr) != 1) {
			alog("svmm.gw=%s is not an IPv4 address", c->gw);
			r = -EINVAL;
			goto out;
		}
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = ifname;
		if (ioctl(s, SIOCADDRT, &rt) < 0) {
			r = -errno;
			alog("cannot add the default route via %s: %s", c->gw, strerror(errno));
		}
	}
out:
	close(s);
	return r;
}

/*
 * Attaches file read-only to a free loop device (its path in dev) and
 * returns the device's open fd, or -errno. Keep the fd open until the
 * mount holds the device: with AUTOCLEAR the kernel detaches the file as
 * soon as the last reference goes (closing it first left an empty device,
 * "cannot find valid erofs superblock").
 */
static int loop_attach(const char *file, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), r;
	if (ctl < 0)
		return -errno;
	int n = ioctl(ctl, LOOP_CTL_GET_FREE);
	r = -errno;
	close(ctl);
	if (n < 0)
		return r;
	snprintf(dev, len, "/dev/loop%d", n);
	int lfd = open(dev, O_RDWR | O_CLOEXEC), ffd = open(file, O_RDONLY | O_CLOEXEC);
	struct loop_config cfg = {
		.fd = ffd, .info = { .lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR }
	};
	r = lfd >= 0 && ffd >= 0 && ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0 ? lfd : -errno;
	if (ffd >= 0)
		close(ffd);
	if (r < 0 && lfd >= 0)
		close(lfd);
	return r;
}

int init_rootfs(const char *state, const char *source, const char *type, const char *target,
		struct err *err)
{
	if (!type || !strcmp(type, "dir")) {
		if (!source || mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err_set(err, -EINVAL, "rootfs: cannot bind %s: %s",
				       source ? source : "(none)", strerror(errno));
		return 0;
	}
	if (!source)
		return err_set(err, -EINVAL, "rootfs: no source for type %s", type);
	char lower[PATH_MAX], rw[PATH_MAX], upper[PATH_MAX + 8], work[PATH_MAX + 8];
	snprintf(lower, sizeof(lower), "%s/lower", state);
	snprintf(rw, sizeof(rw), "%s/rw", state);
	snprintf(upper, sizeof(upper), "%s/upper", rw);
	snprintf(work, sizeof(work), "%s/work", rw);
	mkdir_p(lower, 0755);
	mkdir_p(rw, 0755);
	mkdir_p(target, 0755);
	unsigned long ro = MS_RDONLY;
	const char *data = NULL;
	if (!strcmp(type, "virtiofs") || !strcmp(type, "9p"))
		ro = 0;
	else {
		/* A block device: give the kernel a moment to probe it. */
		for (int i = 0; i < 200 && access(source, F_OK) < 0; i++)
			usleep(10000);
	}
	if (!strcmp(type, "9p"))
		data = "trans=virtio,version=9p2000.L";
	int r = mount(source, lower, type, ro, data);
	if (r < 0 && errno == ENOTBLK) {
		/* A regular file (the host tier's disk) on a kernel without
		 * file-backed erofs: through a loop device. */
		char loopdev[64];
		int lfd = loop_attach(source, loopdev, sizeof(loopdev));
		if (lfd >= 0) {
			r = mount(loopdev, lower, type, ro, data);
			close(lfd);
		}
	}
	if (r < 0)
		return err_set(err, -EINVAL, "rootfs: cannot mount %s (%s): %s", source, type,
			       strerror(errno));
	/* The writable layer: a tmpfs in the guest's memory. */
	if (mount("tmpfs", rw, "tmpfs", 0, "mode=0755") < 0 || mkdir_p(upper, 0755) < 0 ||
	    mkdir_p(work, 0755) < 0) {
		return err_set(err, -EINVAL, "rootfs: cannot make the writable layer: %s",
			       strerror(errno));
	}
	char opts[3 * PATH_MAX + 64];
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return err_set(err, -EINVAL, "rootfs: overlay on %s: %s", target, strerror(errno));
	return 0;
}

void init_etc_files(const struct init_cfg *c, const char *rootfs)
{
	char path[PATH_MAX], buf[1024];
	snprintf(path, sizeof(path), "%s/etc", rootfs);
	if (access(path, F_OK) < 0)
		return;
	if (c->dns[0]) {
		size_t n = 0;
		char dns[INIT_STR];
		snprintf(dns, sizeof(dns), "%s", c->dns);
		for (char *save = NULL, *s = strtok_r(dns, ",", &save); s;
		     s = strtok_r(NULL, ",", &save))
			n += snprintf(buf + n, sizeof(buf) - n, "nameserver %s\n", s);
		snprintf(path, sizeof(path), "%s/etc/resolv.conf", rootfs);
		unlink(path);
		write_file_create(path, buf, 0644);
	}
	if (c->hostname[0]) {
		snprintf(buf, sizeof(buf), "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n",
			 c->hostname);
		snprintf(path, sizeof(path), "%s/etc/hosts", rootfs);
		unlink(path);
		write_file_create(path, buf, 0644);
		snprintf(path, sizeof(path), "%s/etc/hostname", rootfs);
		snprintf(buf, sizeof(buf), "%s\n", c->hostname);
		unlink(path);
		write_file_create(path, buf, 0644);
	}
}

void init_poweroff(void)
{
	if (getpid() == 1) {
		/* Only as the guest's init: elsewhere -1 is every process. */
		kill(-1, SIGKILL);
		sync();
		reboot(RB_POWER_OFF);
		alog("power off failed: %s", strerror(errno));
		for (;;)
			pause();
	}
	exit(0);
}
