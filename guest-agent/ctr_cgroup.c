// SPDX-License-Identifier: Apache-2.0
/* The workload's cgroup (v2): created with its controllers enabled, and
 * spec.linux.resources written into it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "guest-agent/common.h"
#include "guest-agent/container.h"
#include "guest-agent/ctr_priv.h"
#include "guest-agent/util.h"

static int cg_write(const char *dir, const char *file, const char *val, struct err *e)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int r = write_file(path, val);
	if (r < 0)
		err_set(e, r, "cgroup %s = '%s': %s", file, val, strerror(-r));
	return r;
}

int ctr_cgroup_create(json_t *spec, const char *path, struct err *e)
{
	json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
	char v[64];
	int r;

	/* Create path, enabling the controllers top-down in every ancestor
	 * (a cgroup can only enable what its parent enabled). */
	static const char *const ctl[] = { "+cpu", "+memory", "+pids", "+io", "+cpuset" };
	const size_t base = strlen("/sys/fs/cgroup");
	char walk[PATH_MAX], sub[PATH_MAX + 32];
	snprintf(walk, sizeof(walk), "%s", path);
	size_t len = strlen(walk);
	if (strncmp(walk, "/sys/fs/cgroup/", base + 1) || strstr(walk, "/..")) {
		err_set(e, EINVAL, "cgroup %s is not under /sys/fs/cgroup", path);
		return -EINVAL;
	}
	for (size_t i = base; i <= len; i++) {
		char c = walk[i];
		if (c != '/' && c != 0)
			continue;
		walk[i] = 0; /* walk: an ancestor of path, or path */
		if (i > base && mkdir(walk, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			err_set(e, r, "cannot create the cgroup %s: %s", walk, strerror(-r));
			return r;
		}
		if (c == '/') {
			snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", walk);
			for (size_t k = 0; k < sizeof(ctl) / sizeof(ctl[0]); k++)
				write_file(sub, ctl[k]); /* one may be missing: best effort */
		}
		walk[i] = c;
	}
	json_t *mem = json_object_get(res, "memory");
	json_t *x;
	if ((x = json_object_get(mem, "limit")) && json_integer_value(x) > 0) {
		snprintf(v, sizeof(v), "%lld", json_integer_value(x));
		if ((r = cg_write(path, "memory.max", v, e)) < 0)
			return r;
	}
	if ((x = json_object_get(mem, "reservation")) && json_integer_value(x) > 0) {
		snprintf(v, sizeof(v), "%lld", json_integer_value(x));
		if ((r = cg_write(path, "memory.low", v, e)) < 0)
			return r;
	}
	if ((x = json_object_get(mem, "swap")) && json_integer_value(x) > 0) {
		/* v1 semantics: swap is memory+swap; v2 wants swap alone. */
		long long sw =
			json_integer_value(x) - json_integer_value(json_object_get(mem, "limit"));
		snprintf(v, sizeof(v), "%lld", sw > 0 ? sw : 0);
		cg_write(path, "memory.swap.max", v, e); /* no swap in the guest: best effort */
	}
	json_t *cpu = json_object_get(res, "cpu");
	if ((x = json_object_get(cpu, "shares")) && json_integer_value(x) > 0) {
		/* The conversion runc and crun use from shares to weight. */
		long long sh = json_integer_value(x);
		long long w = 1 + ((sh - 2) * 9999) / 262142;
		snprintf(v, sizeof(v), "%lld", w < 1 ? 1 : w > 10000 ? 10000 : w);
		if ((r = cg_write(path, "cpu.weight", v, e)) < 0)
			return r;
	}
	if ((x = json_object_get(cpu, "quota")) && json_integer_value(x) > 0) {
		long long period = json_integer_value(json_object_get(cpu, "period"));
		snprintf(v, sizeof(v), "%lld %lld", json_integer_value(x),
			 period > 0 ? period : 100000);
		if ((r = cg_write(path, "cpu.max", v, e)) < 0)
			return r;
	}
	if ((x = json_object_get(cpu, "cpus")) && json_string_value(x) && *json_string_value(x)) {
		if ((r = cg_write(path, "cpuset.cpus", json_string_value(x), e)) < 0)
			return r;
	}
	if ((x = json_object_get(json_object_get(res, "pids"), "limit")) &&
	    json_integer_value(x) > 0) {
		snprintf(v, sizeof(v), "%lld", json_integer_value(x));
		if ((r = cg_write(path, "pids.max", v, e)) < 0)
			return r;
	}
	const char *key;
	json_object_foreach(json_object_get(res, "unified"), key, x)
	{
		if (strchr(key, '/') || !json_string_value(x)) {
			err_set(e, EINVAL, "linux.resources.unified: bad entry '%s'", key);
			return -EINVAL;
		}
		if ((r = cg_write(path, key, json_string_value(x), e)) < 0)
			return r;
	}
	return 0;
}
