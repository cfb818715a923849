// SPDX-License-Identifier: Apache-2.0
/* `svmm jail`: its command line; the mechanism is vmm/run/jail.c. */
#include "vmm/cli/cmd_jail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli/ch_main.h"
#include "vmm/config/options.h"
#include "vmm/run/jail.h"

#define MAX_CGROUP_FLAGS 32

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svmm jail --id ID --uid UID --gid GID [--chroot-base DIR] [--netns PATH]\n"
		"                 [--cgroup KEY=VALUE]... [--resource-limit fsize=N,no-file=N]\n"
		"                 [--daemonize] -- SVMM CLOUD-HYPERVISOR-FLAGS...\n"
		"\n"
		"Run the VMM SVMM (svmm, or its cloud-hypervisor link) as Firecracker's jailer "
		"runs\n"
		"firecracker. As root:\n"
		"  - makes DIR/svmm/ID/root (DIR defaults to " JAIL_DEFAULT_BASE
		"; an existing DIR/svmm/ID is\n"
		"    refused) and COPIES SVMM into it as /svmm, with its ELF interpreter and "
		"shared\n"
		"    libraries at their host paths;\n"
		"  - bind-mounts every host path the flags name at the same path inside (kernel,\n"
		"    initramfs, firmware, disks and pmem read-only unless written, the directory "
		"of\n"
		"    each socket: --api-socket, --vsock, --fs, vhost-user; --serial/--console/\n"
		"    --log-file/--event-monitor files, created for UID when absent); paths must "
		"be\n"
		"    absolute;\n"
		"  - makes /dev/kvm, /dev/urandom, /dev/null, /dev/net/tun (a --net device) and\n"
		"    /dev/vhost-net (vhost=on) with the host's numbers, owned by UID:GID;\n"
		"  - --cgroup KEY=VALUE writes VALUE to the cgroup file KEY (pids.max=64,\n"
		"    memory.max=1G, ...) of /sys/fs/cgroup/svmm/ID on cgroup v2, or of svmm/ID in\n"
		"    the v1 hierarchy of KEY's controller, and puts the VMM there;\n"
		"  - --resource-limit sets RLIMIT_FSIZE (fsize) and RLIMIT_NOFILE (no-file);\n"
		"  - --netns PATH joins that network namespace (/var/run/netns/NAME);\n"
		"  - opens each --net TAP (tap=NAME, or none) here, configures its host side and\n"
		"    passes it as fd=N, so the VMM needs no CAP_NET_ADMIN;\n"
		"  - forks the VMM as PID 1 of new mount, pid, ipc and uts namespaces, pivots "
		"into\n"
		"    the root, drops to UID:GID with no capabilities and no_new_privs, keeps fds "
		"0-2\n"
		"    and the TAPs, and execs /svmm. Its pid is written to DIR/svmm/ID/svmm.pid.\n"
		"Without --daemonize svmm jail waits for the VMM (passing on SIGTERM, SIGINT,\n"
		"SIGHUP, SIGQUIT), removes its cgroups and exits with its status. --daemonize "
		"puts\n"
		"the VMM in a session of its own with stdio on /dev/null, prints its pid and "
		"exits\n"
		"once it runs. The jail directory is left for the caller to remove.\n");
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "svmm jail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'svmm jail --help')\n", stderr);
	return 2;
}

static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_limits(struct jail_opts *o, const char *s)
{
	char *copy = strdup(s), *save = NULL;
	int rc = 0;

	if (!copy)
		return bad("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		uint64_t v;
		if (!eq || !parse_num(eq + 1, UINT64_MAX - 1, &v)) {
			rc = bad("--resource-limit: '%s': expected fsize=N or no-file=N", t);
			break;
		}
		*eq = 0;
		if (!strcmp(t, "fsize")) {
			o->has_fsize = true;
			o->fsize = v;
		} else if (!strcmp(t, "no-file")) {
			o->has_nofile = true;
			o->nofile = v;
		} else {
			rc = bad("--resource-limit: unknown limit '%s' (fsize, no-file)", t);
		}
	}
	free(copy);
	return rc;
}

struct paths {
	struct jail_path *v;
	size_t n;
};

static int add_path(void *opaque, const char *path, unsigned int flags)
{
	struct paths *p = opaque;
	struct jail_path *v = realloc(p->v, (p->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->v = v;
	v[p->n++] = (struct jail_path){ path, flags };
	return 0;
}

int cmd_jail(int argc, char **argv)
{
	struct jail_opts o = { 0 };
	struct jail_cgroup cgroups[MAX_CGROUP_FLAGS];
	const char *uid = NULL, *gid = NULL;
	int i, rc;

	o.cgroups = cgroups;
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i], *v = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--daemonize")) {
			o.daemonize = true;
			continue;
		}
		static const char *const valued[] = {
			"--id",	   "--uid",    "--gid",		  "--chroot-base",
			"--netns", "--cgroup", "--resource-limit"
		};
		const char *name = NULL;
		size_t alen = strcspn(a, "=");
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			if (strlen(valued[k]) == alen && !strncmp(a, valued[k], alen))
				name = valued[k];
		if (!name)
			return bad("unknown flag '%s'", a);
		if (a[alen] == '=')
			v = a + alen + 1;
		else if (i + 1 < argc && strcmp(argv[i + 1], "--"))
			v = argv[++i];
		else
			return bad("%s needs a value", name);
		if (!strcmp(name, "--id"))
			o.id = v;
		else if (!strcmp(name, "--uid"))
			uid = v;
		else if (!strcmp(name, "--gid"))
			gid = v;
		else if (!strcmp(name, "--chroot-base"))
			o.base = v;
		else if (!strcmp(name, "--netns"))
			o.netns = v;
		else if (!strcmp(name, "--resource-limit")) {
			if ((rc = parse_limits(&o, v)))
				return rc;
		} else {
			const char *eq = strchr(v, '=');
			size_t klen = eq ? (size_t)(eq - v) : 0;
			if (!eq || !memchr(v, '.', klen) || memchr(v, '/', klen) || v[0] == '.')
				return bad("--cgroup '%s': expected CONTROLLER.FILE=VALUE "
					   "(pids.max=64)",
					   v);
			if (o.n_cgroups == MAX_CGROUP_FLAGS)
				return bad("--cgroup: at most %d", MAX_CGROUP_FLAGS);
			char *key = strndup(v, klen);
			if (!key)
				return bad("out of memory");
			cgroups[o.n_cgroups++] = (struct jail_cgroup){ key, eq + 1 };
		}
	}
	if (!o.id)
		return bad("--id is required");
	if (!jail_id_valid(o.id))
		return bad("--id '%s': expected 1 to %d of A-Z, a-z, 0-9 and '-'", o.id,
			   JAIL_ID_MAX);
	uint64_t n;
	if (!uid)
		return bad("--uid is required");
	if (!parse_num(uid, UINT32_MAX - 1, &n))
		return bad("--uid '%s': expected a number", uid);
	o.uid = (uid_t)n;
	if (!gid)
		return bad("--gid is required");
	if (!parse_num(gid, UINT32_MAX - 1, &n))
		return bad("--gid '%s': expected a number", gid);
	o.gid = (gid_t)n;
	if (i >= argc || i + 1 >= argc)
		return bad("nothing to run: give -- SVMM FLAGS...");
	char **vargv = argv + i + 1;
	int vargc = argc - i - 1;
	o.exe = vargv[0];
	if (vargc < 2 || vargv[1][0] != '-')
		return bad("after -- %s: the VMM's cloud-hypervisor flags (--api-socket ..., "
			   "--kernel ...); svmm subcommands (run) are not jailed yet",
			   o.exe);

	/* The VMM's flags, read as the VMM will read them (the one config model). */
	struct ch_args ca;
	struct err e = { 0 };
	struct paths paths = { 0 };
	char *api = NULL, *events = NULL;
	int fd;
	const char *slash = strrchr(o.exe, '/');
	char *name0 = vargv[0];
	rc = 2;
	if ((ch_args_parse(&ca, vargc, vargv, &e)) < 0) {
		fprintf(stderr, "svmm jail: the VMM's flags: %s\n", e.msg);
		goto out;
	}
	if ((ca.api_socket &&
	     opt_parse_path_or_fd("--api-socket", ca.api_socket, &api, &fd, &e) < 0) ||
	    (ca.event_monitor &&
	     opt_parse_path_or_fd("--event-monitor", ca.event_monitor, &events, &fd, &e) < 0)) {
		fprintf(stderr, "svmm jail: the VMM's flags: %s\n", e.msg);
		goto out;
	}
	rc = 1;
	if (vm_config_paths(&ca.vm, add_path, &paths) ||
	    (api && add_path(&paths, api, VM_PATH_WRITE | VM_PATH_CREATE | VM_PATH_SOCKET)) ||
	    (ca.log_file && add_path(&paths, ca.log_file, VM_PATH_WRITE | VM_PATH_CREATE)) ||
	    (events && add_path(&paths, events, VM_PATH_WRITE | VM_PATH_CREATE))) {
		fprintf(stderr, "svmm jail: out of memory\n");
		goto out;
	}
	o.paths = paths.v;
	o.n_paths = paths.n;
	o.vm = &ca.vm;
	o.net_argi = ca.net_argi;
	vargv[0] = (char *)(slash ? slash + 1 : o.exe); /* argv[0]: svmm or cloud-hypervisor */
	o.argv = vargv;
	pid_t pid = 0;
	int status = 0;
	e = (struct err){ 0 };
	if (jail_run(&o, &pid, &status, &e) < 0) {
		/* the mechanism's own messages start "jail: " */
		fprintf(stderr, "svmm %s%s\n", strncmp(e.msg, "jail: ", 6) ? "jail: " : "",
			e.code ? e.msg : "failed");
		goto out_restore;
	}
	if (o.daemonize) {
		printf("%d\n", (int)pid);
		rc = 0;
	} else {
		rc = status;
	}
out_restore:
	vargv[0] = name0;
out:
	ch_args_free(&ca);
	free(paths.v);
	free(api);
	free(events);
	for (size_t k = 0; k < o.n_cgroups; k++)
		free((char *)cgroups[k].key);
	return rc;
}
