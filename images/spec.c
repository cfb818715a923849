// SPDX-License-Identifier: Apache-2.0
/* The OCI runtime spec from an image config and docker-style overrides. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/spec.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Docker's default capability set. */
static const char *const default_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",	   "CAP_FOWNER",
	"CAP_MKNOD",   "CAP_NET_RAW",	   "CAP_SETGID",	   "CAP_SETUID",
	"CAP_SETFCAP", "CAP_SETPCAP",	   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",    "CAP_AUDIT_WRITE",
};

static const char *const masked[] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					"/proc/sysrq-trigger" };

static json_t *strs(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}
#define STRS(v) strs(v, sizeof(v) / sizeof(v[0]))

static json_t *mount_obj(const char *dst, const char *type, const char *src, const char *opts)
{
	json_t *o = json_array();
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", opts);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
			 "options", o);
}

/* Looks name (or number) up in a passwd/group style file: fields[2] and,
 * for passwd, fields[3]. */
static int lookup(const char *rootfs, const char *file, const char *name, long *id, long *gid)
{
	char path[4096], line[1024];
	snprintf(path, sizeof(path), "%s/etc/%s", rootfs, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *fs[5] = { 0 }, *save = NULL, *p = line;
		int n = 0;
		for (char *t; n < 5 && (t = strsep(&p, ":")); n++)
			fs[n] = t;
		(void)save;
		if (n < 3)
			continue;
		if (!strcmp(fs[0], name) || !strcmp(fs[2], name)) {
			*id = strtol(fs[2], NULL, 10);
			if (gid && fs[3])
				*gid = strtol(fs[3], NULL, 10);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int spec_resolve_user(const char *rootfs, const char *user, json_t **out, struct err *err)
{
	char u[256], *g;
	long uid = 0, gid = 0, pgid = -1;
	snprintf(u, sizeof(u), "%s", user && *user ? user : "0");
	g = strchr(u, ':');
	if (g)
		*g++ = 0;
	if (lookup(rootfs, "passwd", u, &uid, &pgid) < 0) {
		if (!numeric(u))
			return err_set(err, -EINVAL, "user '%s' is not in the image's /etc/passwd",
				       u);
		uid = strtol(u, NULL, 10);
	}
	gid = pgid >= 0 ? pgid : 0;
	if (g) {
		if (lookup(rootfs, "group", g, &gid, NULL) < 0) {
			if (!numeric(g))
				return err_set(err, -EINVAL,
					       "group '%s' is not in the image's /etc/group", g);
			gid = strtol(g, NULL, 10);
		}
	}
	/* Additional groups: those listing the user's name in /etc/group. */
	json_t *extra = json_array();
	char path[4096], line[1024], uname[256] = "";
	FILE *f;
	snprintf(path, sizeof(path), "%s/etc/passwd", rootfs);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (c2 && strtol(c2 + 1, NULL, 10) == uid) {
				snprintf(uname, sizeof(uname), "%.*s", (int)(c1 - line), line);
				break;
			}
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/etc/group", rootfs);
	if (uname[0] && (f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			char *fs[4] = { 0 }, *p = line;
			int n = 0;
			for (char *t; n < 4 && (t = strsep(&p, ":")); n++)
				fs[n] = t;
			if (n < 4)
				continue;
			for (char *s2 = NULL, *m = strtok_r(fs[3], ",", &s2); m;
			     m = strtok_r(NULL, ",", &s2))
				if (!strcmp(m, uname) && strtol(fs[2], NULL, 10) != gid)
					json_array_append_new(
						extra, json_integer(strtol(fs[2], NULL, 10)));
		}
		fclose(f);
	}
	*out = json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)uid, "gid", (json_int_t)gid,
			 "additionalGids", extra);
	return 0;
}

/* Sets or replaces K=V in env (an array of strings). */
static void env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv), i;
	json_t *v;
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);
		if (s && !strncmp(s, kv, kl) && (s[kl] == '=' || s[kl] == 0)) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

int spec_apply(json_t *spec, const char *rootfs, const struct spec_overrides *o, struct err *err)
{
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc)) {
		proc = json_object();
		json_object_set_new(spec, "process", proc);
	}
	if (o->cmd) {
		json_t *args = json_array();
		for (char **c = o->cmd; *c; c++)
			json_array_append_new(args, json_string(*c));
		json_object_set_new(proc, "args", args);
	}
	json_t *env = json_object_get(proc, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(proc, "env", env);
	}
	for (size_t i = 0; i < o->nenv; i++) {
		if (!strchr(o->env[i], '=')) {
			/* "-e NAME": the host's value, as docker does. */
			const char *v = getenv(o->env[i]);
			if (!v)
				continue;
			char kv[4096];
			snprintf(kv, sizeof(kv), "%s=%s", o->env[i], v);
			env_set(env, kv);
		} else {
			env_set(env, o->env[i]);
		}
	}
	if (o->workdir) {
		if (o->workdir[0] != '/')
			return err_set(err, -EINVAL,
				       "-w %s: the working directory must be absolute", o->workdir);
		json_object_set_new(proc, "cwd", json_string(o->workdir));
	}
	if (o->user) {
		json_t *u;
		if (spec_resolve_user(rootfs, o->user, &u, err) < 0)
			return -EINVAL;
		json_object_set_new(proc, "user", u);
	}
	json_object_set_new(proc, "terminal", json_boolean(o->tty));
	if (o->tty && o->rows && o->cols)
		json_object_set_new(proc, "consoleSize",
				    json_pack("{s:i,s:i}", "height", o->rows, "width", o->cols));
	if (o->tty)
		env_set(env, "TERM=xterm");
	if (o->hostname)
		json_object_set_new(spec, "hostname", json_string(o->hostname));
	if (o->readonly)
		json_object_set_new(json_object_get(spec, "root"), "readonly", json_true());
	json_t *mounts = json_object_get(spec, "mounts");
	if (!json_is_array(mounts)) {
		mounts = json_array();
		json_object_set_new(spec, "mounts", mounts);
	}
	for (size_t i = 0; i < o->nvols; i++)
		json_array_append_new(mounts,
				      mount_obj(o->vols[i].guest, "virtiofs", o->vols[i].tag,
						o->vols[i].ro ? "ro" : "rw"));
	if (!json_array_size(json_object_get(proc, "args")))
		return err_set(err, -EINVAL,
			       "no command: the image has no Entrypoint or Cmd, give one");
	return 0;
}

json_t *spec_from_image(json_t *imgcfg, const char *rootfs, const struct spec_overrides *o,
			struct err *err)
{
	json_t *c = json_object_get(imgcfg, "config");
	json_t *args = json_array(), *env = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(c, "Entrypoint"), i, v) json_array_append(args, v);
	if (o->cmd) {
		for (char **p = o->cmd; *p; p++)
			json_array_append_new(args, json_string(*p));
	} else {
		json_array_foreach(json_object_get(c, "Cmd"), i, v) json_array_append(args, v);
	}
	json_array_foreach(json_object_get(c, "Env"), i, v) json_array_append(env, v);
	bool has_path = false;
	json_array_foreach(env, i, v) has_path |= !strncmp(json_string_value(v), "PATH=", 5);
	if (!has_path)
		json_array_insert_new(env, 0, json_string(DEFAULT_PATH));
	const char *wd = json_string_value(json_object_get(c, "WorkingDir"));
	const char *user = json_string_value(json_object_get(c, "User"));
	json_t *u;
	if (spec_resolve_user(rootfs, o->user ? "0" : user, &u, err) < 0) {
		json_decref(args);
		json_decref(env);
		return NULL;
	}
	json_t *caps =
		json_pack("{s:o,s:o,s:o,s:[]}", "bounding", STRS(default_caps), "effective",
			  STRS(default_caps), "permitted", STRS(default_caps), "inheritable");
	json_t *mounts = json_array();
	json_array_append_new(mounts, mount_obj("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mount_obj("/dev", "tmpfs", "tmpfs",
						"nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts,
			      mount_obj("/dev/pts", "devpts", "devpts",
					"nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
	json_array_append_new(mounts, mount_obj("/dev/shm", "tmpfs", "shm",
						"nosuid,noexec,nodev,mode=1777,size=65536k"));
	json_array_append_new(mounts,
			      mount_obj("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	json_array_append_new(mounts,
			      mount_obj("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
	json_array_append_new(mounts, mount_obj("/sys/fs/cgroup", "cgroup", "cgroup",
						"nosuid,noexec,nodev,relatime,ro"));
	/* No network namespace: the workload has the VM's network. No
	 * rlimits: the workload inherits the agent's, as docker's inherit
	 * the daemon's. */
	json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc",
			       "type", "uts", "type", "mount", "type", "cgroup");
	json_t *spec = json_pack("{s:s,s:{s:b,s:o,s:o,s:o,s:s,s:o,s:b},s:{s:s,s:b},s:s,s:o,"
				 "s:{s:o,s:o,s:o,s:s}}",
				 "ociVersion", "1.0.2", "process", "terminal", false, "user", u,
				 "args", args, "env", env, "cwd", wd && *wd ? wd : "/",
				 "capabilities", caps, "noNewPrivileges", false, "root", "path",
				 "rootfs", "readonly", false, "hostname", "svmm", "mounts", mounts,
				 "linux", "namespaces", ns, "maskedPaths", STRS(masked),
				 "readonlyPaths", STRS(readonly), "cgroupsPath", "/svmm/workload");
	if (!spec) {
		err_set(err, ENOMEM, "cannot build the runtime spec");
		return NULL;
	}
	/* Entrypoint + the command line: o->cmd is already in args. */
	struct spec_overrides rest = *o;
	rest.cmd = NULL;
	if (spec_apply(spec, rootfs, &rest, err) < 0) {
		json_decref(spec);
		return NULL;
	}
	/* Non-root users keep capabilities only in the bounding set, as docker. */
	json_t *proc = json_object_get(spec, "process");
	if (json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")) != 0) {
		json_object_set_new(caps, "effective", json_array());
		json_object_set_new(caps, "permitted", json_array());
	}
	return spec;
}
