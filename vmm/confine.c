// SPDX-License-Identifier: Apache-2.0
/* Landlock rules from a VM configuration (confine.h). */
#include "vmm/confine.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "vmm/kvm/landlock.h"

/* A file svmm creates may not exist yet: then its directory is what is
 * allowed (to make it there); a socket's directory always is. */
struct rules {
	struct landlock l;
	struct err *err;
};

static int allow_config_path(void *opaque, const char *path, unsigned int flags)
{
	struct rules *r = opaque;
	unsigned int want = LL_READ | (flags & VM_PATH_WRITE ? LL_WRITE : 0);
	char dir[PATH_MAX];

	if ((flags & VM_PATH_SOCKET) || ((flags & VM_PATH_CREATE) && access(path, F_OK))) {
		const char *slash = strrchr(path, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == path)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		path = dir;
		want |= LL_WRITE;
	}
	return landlock_allow(&r->l, path, want, r->err);
}

static bool needs_tun(const struct vm_config *c)
{
	for (size_t i = 0; i < c->n_net; i++)
		if (!c->net[i].vhost_user && !c->net[i].n_fds)
			return true;
	return false;
}

static bool needs_vhost_net(const struct vm_config *c)
{
	for (size_t i = 0; i < c->n_net; i++)
		if (c->net[i].vhost)
			return true;
	return false;
}

int vm_confine(const struct vm_config *c, struct err *err)
{
	return vm_confine_dir(c, NULL, err);
}

int vm_confine_dir(const struct vm_config *c, const char *snap_dir, struct err *err)
{
	struct rules r = { .l = { .fd = -1 }, .err = err };
	struct landlock *l = &r.l;
	int rc;

	if (!c->landlock_enable)
		return 0;
	if ((rc = landlock_init(l, err)) < 0)
		return err_wrap(err, "--landlock");
	if ((rc = vm_config_paths(c, allow_config_path, &r)) < 0)
		goto fail;
	if (snap_dir && (rc = landlock_allow(l, snap_dir, LL_READ, err)) < 0) {
		err_wrap(err, "--restore");
		goto fail;
	}
	for (size_t i = 0; i < c->n_landlock_rules; i++) {
		const struct landlock_rule_config *rule = &c->landlock_rules[i];
		unsigned int a = LL_READ | (rule->write ? LL_WRITE : 0);
		if ((rc = landlock_allow(l, rule->path, a, err)) < 0) {
			err_wrap(err, "--landlock-rules");
			goto fail;
		}
	}
	struct {
		const char *path;
		unsigned int access;
		bool want;
	} dev[] = {
		{ "/dev/kvm", LL_READ | LL_WRITE, true },
		{ "/dev/null", LL_READ | LL_WRITE, true },
		{ "/dev/urandom", LL_READ, true },
		{ "/dev/net/tun", LL_READ | LL_WRITE, needs_tun(c) },
		{ "/dev/vhost-net", LL_READ | LL_WRITE, needs_vhost_net(c) },
		{ "/dev/ptmx", LL_READ | LL_WRITE,
		  c->serial.mode == CONSOLE_PTY || c->console.mode == CONSOLE_PTY },
		{ "/dev/pts", LL_READ | LL_WRITE,
		  c->serial.mode == CONSOLE_PTY || c->console.mode == CONSOLE_PTY },
		/* the process's own /proc files (the sanitizers read maps) */
		{ "/proc/self", LL_READ, true },
	};
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++) {
		if (!dev[i].want || access(dev[i].path, F_OK))
			continue;
		if ((rc = landlock_allow(l, dev[i].path, dev[i].access, err)) < 0)
			goto fail;
	}
	if ((rc = landlock_apply(l, err)) < 0)
		return err_wrap(err, "--landlock");
	return 0;
fail:
	landlock_free(l);
	return err_wrap(err, "--landlock");
}
