// SPDX-License-Identifier: Apache-2.0
/*
 * svmm run --image/--bundle: prepare the image (images/oci.c), build the
 * runtime spec (images/spec.c) and the root disk (images/rootfs_disk.c),
 * launch the VM (vmm/run/vm_launch.c), then drive the guest agent
 * (vmm/run/agent_client.c) until the workload's exit status comes back.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "images/oci.h"
#include "images/rootfs_disk.h"
#include "images/spec.h"
#include "vmm/run/agent_client.h"
#include "vmm/run/cmd_run_image.h"
#include "vmm/run/exe.h"
#include "vmm/run/jail.h"
#include "net/firewall.h"
#include "net/lease.h"
#include "vmm/config/options.h"
#include "vmm/kvm/log.h"
#include "vmm/run/vm_launch.h"

#define EXIT_SVMM    125
#define MAX_ENV	     256
#define STATE_DIR    "/run/svmm/containers"
#define BOOT_TIMEOUT 120000 /* ms for the agent to answer after launch */

struct run_args {
	const char *image, *bundle, *name, *net, *workdir, *user, *hostname;
	const char *kernel, *initrd, *cache;
	const char *seccomp; /* the VMM's --seccomp */
	const char *metrics; /* the VMM's --metrics */
	bool no_jail, has_vmm_user;
	uid_t vmm_uid;
	gid_t vmm_gid;
	unsigned int cpus;
	uint64_t mem;
	const char *env[MAX_ENV];
	size_t nenv;
	struct spec_volume vols[VM_MAX_SHARES];
	char vol_tags[VM_MAX_SHARES][16];
	size_t nvols;
	struct fw_forward ports[VM_MAX_PORTS];
	size_t nports;
	bool tty, interactive, rm, readonly, quiet, help;
	bool net_auto;
	char dns[64];
	char **cmd;
};

/* At a command's edge: report, and end with svmm's own exit status. */
#define EXIT_FAIL(...) (err_set(err, EINVAL, __VA_ARGS__), EXIT_SVMM)

static void usage(FILE *f)
{
	fprintf(f, "usage: svmm run (--image REF | --bundle DIR) [options] [-- CMD ARGS...]\n"
		   "  --image REF        an OCI layout DIR, DIR:TAG, or a docker-save tarball\n"
		   "  --bundle DIR       an OCI bundle: DIR/config.json and its root\n"
		   "  --cpus N           virtual CPUs (default 1)\n"
		   "  --memory SIZE      guest memory (default 512M)\n"
		   "  -e, --env K=V      set an environment variable (K alone: the host's value)\n"
		   "  -w, --workdir DIR  the working directory\n"
		   "  -u, --user U[:G]   the user (names are looked up in the image)\n"
		   "  -t, --tty          give the workload a terminal\n"
		   "  -i, --interactive  keep stdin open\n"
		   "  --net auto[,dns=D]  a TAP, an address from the host's pool and NAT\n"
		   "                     (svmm's VMM; -p implies it)\n"
		   "  --net ip=A/P,gw=G,dns=D  given addresses (with SVMM_LAUNCHER)\n"
		   "  --net none         no network (the default without -p)\n"
		   "  -p, --publish [A:]H:G[/udp]  forward host port H (of address A; TCP or\n"
		   "                     UDP) to guest port G\n"
		   "  -v, --volume HOST:GUEST[:ro]  share a host directory\n"
		   "  --read-only        the root file system is read-only\n"
		   "  --hostname NAME    the workload's host name\n"
		   "  --name NAME        name the run (for svmm exec NAME): 1 to 64 letters,\n"
		   "                     digits, '.', '-', '_', not starting with '.' or '-'\n"
		   "  --rm               remove the run's state when it ends\n"
		   "  --kernel FILE, --initrd FILE  the guest kernel and agent initramfs\n"
		   "environment: SVMM_LAUNCHER (an external VM launcher instead of svmm's VMM),\n"
		   "SVMM_IMAGE_CACHE (default " IMAGE_DEFAULT_CACHE ")\n");
	fprintf(f,
		"The VMM (svmm's own) runs jailed and under seccomp by default: in a root of\n"
		"its own in the run's state directory (only the files its VM needs), new\n"
		"mount, pid, ipc and uts namespaces, as an unprivileged uid with no\n"
		"capabilities and no_new_privs (svmm jail), each thread under its seccomp\n"
		"filter:\n"
		"  --vmm-user UID[:GID]  the VMM's uid and gid (numbers, not 0; GID defaults\n"
		"                     to UID); default: the first free of %u from %u,\n"
		"                     each locked in " JAIL_UID_LOCK_DIR " while its VMM runs\n"
		"                     (not -u: that is the workload's user in the guest)\n"
		"  --no-jail          run the VMM as root, not jailed (still under seccomp)\n"
		"  --seccomp true|false|log|errno  the VMM's seccomp filters (default true;\n"
		"                     log: the kernel logs what they would refuse)\n"
		"  --metrics addr=IPV4:PORT|path=SOCKET[,id=ID]  the VMM serves its counters\n"
		"                     as Prometheus text (GET /metrics); vm label: ID, else\n"
		"                     the run's name; a path is a link to the run's\n"
		"                     STATE/vmm/metrics.sock (where the jailed VMM can bind)\n",
		JAIL_UID_POOL_SIZE, JAIL_UID_POOL_BASE);
}

/* --vmm-user UID[:GID]: numbers, not root's. */
static int parse_vmm_user(struct run_args *a, const char *v, struct err *err)
{
	const char *colon = strchr(v, ':');
	char u[16] = "";
	uint64_t uid, gid;

	if ((colon ? (size_t)(colon - v) : strlen(v)) >= sizeof(u))
		goto bad;
	memcpy(u, v, colon ? (size_t)(colon - v) : strlen(v));
	if (!u[0] || strspn(u, "0123456789") != strlen(u) || parse_u64(u, &uid) < 0 ||
	    uid >= UINT32_MAX)
		goto bad;
	gid = uid;
	if (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		      parse_u64(colon + 1, &gid) < 0 || gid >= UINT32_MAX))
		goto bad;
	if (!uid || !gid)
		return err_set(err, -EINVAL,
			       "--vmm-user %s: not root's uid or gid (--no-jail runs the VMM as "
			       "root)",
			       v);
	a->has_vmm_user = true;
	a->vmm_uid = (uid_t)uid;
	a->vmm_gid = (gid_t)gid;
	return 0;
bad:
	return err_set(err, -EINVAL, "--vmm-user '%s': expected UID[:GID], numbers below %u", v,
		       UINT32_MAX);
}

static int parse_volume(struct run_args *a, char *spec, struct err *err)
{
	if (a->nvols == VM_MAX_SHARES)
		return err_set(err, -E2BIG, "-v: at most %d volumes", VM_MAX_SHARES);
	struct spec_volume *v = &a->vols[a->nvols];
	char *guest = strchr(spec, ':');
	if (!guest || spec[0] != '/' || guest[1] != '/')
		return err_set(err, -EINVAL, "-v %s: expected HOST:GUEST[:ro] with absolute paths",
			       spec);
	*guest++ = 0;
	char *mode = strchr(guest, ':');
	if (mode) {
		*mode++ = 0;
		if (strcmp(mode, "ro") && strcmp(mode, "rw"))
			return err_set(err, -EINVAL, "-v: mode '%s' is not ro or rw", mode);
		v->ro = !strcmp(mode, "ro");
	}
	struct stat st;
	if (stat(spec, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(err, -ENOTDIR, "-v: %s is not a directory on the host", spec);
	snprintf(a->vol_tags[a->nvols], sizeof(a->vol_tags[0]), "svmm-vol%zu", a->nvols);
	v->host = spec;
	v->guest = guest;
	v->tag = a->vol_tags[a->nvols];
	a->nvols++;
	return 0;
}

static int parse_args(struct run_args *a, int argc, char **argv, struct err *err)
{
	enum {
		O_IMAGE = 256,
		O_BUNDLE,
		O_CPUS,
		O_MEM,
		O_NET,
		O_RM,
		O_RO,
		O_HOST,
		O_NAME,
		O_KERNEL,
		O_INITRD,
		O_VMM_USER,
		O_NO_JAIL,
		O_SECCOMP,
		O_METRICS
	};
	static const struct option opts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "bundle", required_argument, NULL, O_BUNDLE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEM },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "net", required_argument, NULL, O_NET },
		{ "publish", required_argument, NULL, 'p' },
		{ "volume", required_argument, NULL, 'v' },
		{ "rm", no_argument, NULL, O_RM },
		{ "read-only", no_argument, NULL, O_RO },
		{ "hostname", required_argument, NULL, O_HOST },
		{ "name", required_argument, NULL, O_NAME },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "vmm-user", required_argument, NULL, O_VMM_USER },
		{ "no-jail", no_argument, NULL, O_NO_JAIL },
		{ "seccomp", required_argument, NULL, O_SECCOMP },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;
	uint64_t v;
	a->cpus = 1;
	a->mem = 512ull << 20;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:w:u:tip:v:h", opts, NULL)) != -1) {
		switch (c) {
		case O_IMAGE:
			a->image = optarg;
			break;
		case O_BUNDLE:
			a->bundle = optarg;
			break;
		case O_CPUS:
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > UINT32_MAX)
				return err_set(err, -EINVAL, "--cpus %s: expected a number of CPUs",
					       optarg);
			a->cpus = (unsigned int)v;
			break;
		case O_MEM:
			if (parse_size(optarg, &v) < 0 || !(v >> 20))
				return err_set(err, -EINVAL,
					       "--memory %s: expected a size (512M, 2G)", optarg);
			a->mem = v;
			break;
		case 'e':
			if (a->nenv == MAX_ENV)
				return err_set(err, -E2BIG, "-e: at most %d variables", MAX_ENV);
			a->env[a->nenv++] = optarg;
			break;
		case 'w':
			a->workdir = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case 't':
			a->tty = true;
			break;
		case 'i':
			a->interactive = true;
			break;
		case O_NET:
			a->net = optarg;
			break;
		case 'p': {
			if (a->nports == VM_MAX_PORTS)
				return err_set(err, -E2BIG, "-p: at most %d ports", VM_MAX_PORTS);
			if (fw_forward_parse(&a->ports[a->nports], optarg, err) < 0)
				return err_wrap(err, "-p");
			a->nports++;
			break;
		}
		case 'v':
			if ((r = parse_volume(a, optarg, err)))
				return r;
			break;
		case O_RM:
			a->rm = true;
			break;
		case O_RO:
			a->readonly = true;
			break;
		case O_HOST:
			a->hostname = optarg;
			break;
		case O_NAME:
			/* the name is the VM's id too: its lease and firewall rules */
			if (!lease_id_valid(optarg))
				return err_set(
					err, -EINVAL,
					"--name '%s': 1 to %d letters, digits, '.', '-' and '_', "
					"not starting with '.' or '-'",
					optarg, LEASE_ID_MAX);
			a->name = optarg;
			break;
		case O_KERNEL:
			a->kernel = optarg;
			break;
		case O_INITRD:
			a->initrd = optarg;
			break;
		case O_VMM_USER:
			if ((r = parse_vmm_user(a, optarg, err)))
				return r;
			break;
		case O_NO_JAIL:
			a->no_jail = true;
			break;
		case O_SECCOMP:
			if (strcmp(optarg, "true") && strcmp(optarg, "false") &&
			    strcmp(optarg, "log") && strcmp(optarg, "errno"))
				return err_set(err, -EINVAL,
					       "--seccomp '%s': expected true, false, log or errno",
					       optarg);
			a->seccomp = optarg;
			break;
		case O_METRICS:
			a->metrics = optarg; /* the VMM checks it */
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			usage(stderr);
			return err_set(err, -EINVAL, "unknown or incomplete option '%s'",
				       argv[optind - 1]);
		}
	}
	if (a->no_jail && a->has_vmm_user)
		return err_set(err, -EINVAL,
			       "--vmm-user and --no-jail: the unjailed VMM runs as root");
	if (!!a->image == !!a->bundle)
		return err_set(err, -EINVAL, "give one of --image REF and --bundle DIR");
	if (optind < argc && !strcmp(argv[optind - 1], "--"))
		a->cmd = argv + optind;
	else if (optind < argc)
		a->cmd = argv + optind; /* docker style: the command after the options */
	return 0;
}

/* FILE next to the svmm binary (build/ in the tree), else in PREFIX/share. */
static int find_asset(const char *given, const char *env, const char *rel, char *out, size_t len)
{
	const char *e = getenv(env);
	if (given || (e && *e)) {
		snprintf(out, len, "%s", given ? given : e);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	char shared[PATH_MAX];
	if (svmm_exe_path(rel, out, len) == 0 && access(out, R_OK) == 0)
		return 0;
	snprintf(shared, sizeof(shared), "../share/svmm/%s", strrchr(rel, '/') + 1);
	if (svmm_exe_path(shared, out, len) == 0 && access(out, R_OK) == 0)
		return 0;
	return -ENOENT;
}

/* --net: none; auto[,dns=D] (svmm's VMM sets up the host side at launch);
 * ip=A/P,gw=G,dns=D (a launcher's own network) -> kernel command line words. */
static int net_parse(struct run_args *a, char *out, size_t len, struct err *err)
{
	bool launcher = !vm_launch_native();
	const char *net = a->net;
	struct opt_list l;
	char buf[512];

	out[0] = 0;
	if (net && !strcmp(net, "none")) {
		if (a->nports)
			return err_set(err, -EINVAL, "-p needs a network, and --net is none");
		return 0;
	}
	if (!net && !a->nports)
		return 0;
	if (!net || !strcmp(net, "auto") || !strncmp(net, "auto,", 5)) {
		if (net && net[4]) {
			snprintf(buf, sizeof(buf), "%s", net + 5);
			if (opt_parse(&l, buf) < 0)
				return err_set(err, -EINVAL, "--net: %s", l.err.msg);
			const char *dns = opt_get(&l, "dns");
			if (opt_check_unused(&l) < 0)
				return err_set(err, -EINVAL, "--net auto: %s (keys: dns)",
					       l.err.msg);
			if (dns && (strlen(dns) >= sizeof(a->dns) || strpbrk(dns, " \t")))
				return err_set(err, -EINVAL, "--net auto: dns=%s is not an address",
					       dns);
			if (dns)
				snprintf(a->dns, sizeof(a->dns), "%s", dns);
		}
		if (launcher)
			return err_set(err, -EINVAL,
				       "%s: the launcher in SVMM_LAUNCHER makes its own network; "
				       "give --net ip=A/P,gw=G",
				       net ? "--net auto" : "-p");
		a->net_auto = true;
		return 0;
	}
	if (!launcher)
		return err_set(
			err, -EINVAL,
			"--net %s: svmm's VMM gives the guest an address from the host's pool: "
			"use --net auto[,dns=D]",
			net);
	snprintf(buf, sizeof(buf), "%s", net);
	if (opt_parse(&l, buf) < 0)
		return err_set(err, -EINVAL, "--net: %s", l.err.msg);
	const char *ip = opt_get(&l, "ip"), *gw = opt_get(&l, "gw"), *dns = opt_get(&l, "dns");
	if (opt_check_unused(&l) < 0)
		return err_set(err, -EINVAL, "--net: %s (keys: ip, gw, dns)", l.err.msg);
	if (!ip)
		return err_set(err, -EINVAL, "--net: ip=ADDRESS/PREFIX is required");
	snprintf(out, len, " svmm.ip=%s%s%s%s%s", ip, gw ? " svmm.gw=" : "", gw ? gw : "",
		 dns ? " svmm.dns=" : "", dns ? dns : "");
	for (char *p = out; (p = strchr(p, '[')) || (p = strchr(out, ']'));)
		*p = ' ';
	for (char *p = strstr(out, "svmm.dns="); p && *p && *p != ' '; p++)
		if (*p == ';')
			*p = ',';
	return 0;
}

/* The terminal's settings while a workload has it raw. */
struct tty_state {
	struct termios saved;
	bool raw;
};

static void tty_raw(struct tty_state *t)
{
	struct termios r;
	if (!isatty(0) || tcgetattr(0, &t->saved) < 0)
		return;
	t->raw = true;
	r = t->saved;
	cfmakeraw(&r);
	tcsetattr(0, TCSANOW, &r);
}

static void tty_restore(struct tty_state *t)
{
	if (t->raw)
		tcsetattr(0, TCSANOW, &t->saved);
	t->raw = false;
}

/* Prepares the spec and the root disk; *disk gets the disk's path. */
static json_t *prepare(struct run_args *a, struct spec_overrides *ov, const char *state, char *disk,
		       size_t dlen, struct err *err)
{
	json_t *spec = NULL;
	int r;
	char rootfs[PATH_MAX];
	if (a->image) {
		struct image img;
		struct image_opts o = { .cache = a->cache, .progress = isatty(2) && !a->quiet };
		if (image_prepare(a->image, &o, &img, err) < 0)
			return NULL;
		spec = spec_from_image(img.config, img.rootfs, ov, err);
		snprintf(disk, dlen, "%s/rootfs.erofs", img.dir);
		r = spec ? rootfs_disk_build(img.rootfs, disk, err) : -EINVAL;
		image_release(&img);
		if (r < 0) {
			json_decref(spec);
			return NULL;
		}
		return spec;
	}
	char cfg[PATH_MAX];
	json_error_t je;
	snprintf(cfg, sizeof(cfg), "%s/config.json", a->bundle);
	spec = json_load_file(cfg, 0, &je);
	if (!spec) {
		err_set(err, EINVAL, "bundle: %.400s: %s", cfg, je.text);
		return NULL;
	}
	const char *root =
		json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
	if (!root) {
		err_set(err, EINVAL, "bundle: %.400s has no root.path", cfg);
		json_decref(spec);
		return NULL;
	}
	if (root[0] == '/')
		snprintf(rootfs, sizeof(rootfs), "%s", root);
	else
		snprintf(rootfs, sizeof(rootfs), "%s/%s", a->bundle, root);
	if (spec_apply(spec, rootfs, ov, err) < 0 ||
	    (snprintf(disk, dlen, "%s/rootfs.erofs", state),
	     rootfs_disk_build(rootfs, disk, err) < 0)) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

/* The run's state directory holds only what svmm made there (the disk, the
 * console, the VM's config.json, the endpoint, vmm/ with the sockets and
 * each volume's fs-N.sock and fs-N.sock.log, the VMM's jail): all goes. */
static void remove_state(const char *state)
{
	if (vm_remove_tree(state) < 0)
		log_msg(LV_WARN, "run", "warning: removing the run's state %s: %s", state,
			strerror(errno));
}

/* Phase times for benchmarks: SVMM_TIMING=1 prints them on stderr. */
enum { PH_START, PH_IMAGE, PH_LAUNCH, PH_AGENT, PH_EXIT, PH_END, PH_N };

static double ms_since(const struct timespec *t0, const struct timespec *t)
{
	return (t->tv_sec - t0->tv_sec) * 1e3 + (t->tv_nsec - t0->tv_nsec) / 1e6;
}

static void print_timing(struct timespec *ph)
{
	static const char *const names[] = { "",	   "image+disk", "launch",
					     "boot+agent", "workload",	 "shutdown" };
	if (!getenv("SVMM_TIMING"))
		return;
	char line[256];
	size_t n = 0;
	/* A phase is printed only when both its ends were reached. */
	for (int i = 1; i < PH_N; i++)
		if (ph[i - 1].tv_sec && ph[i].tv_sec && n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, "%s%s=%.1fms", n ? " " : "",
				      names[i], ms_since(&ph[i - 1], &ph[i]));
	if (ph[PH_END].tv_sec && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "%stotal=%.1fms", n ? " " : "",
			 ms_since(&ph[PH_START], &ph[PH_END]));
	log_msg(LV_NOTE, "timing", "%s", line);
}

/* The VMM's --metrics from the run's: the vm label is the run's name unless
 * id= says; a path= is served at STATE/vmm/metrics.sock (inside the jail
 * at the same path) and linked from the path asked for. */
static int metrics_arg(const char *v, const char *state, const char *name, char *out, size_t size,
		       char *link, size_t lsize, struct err *err)
{
	struct opt_list l;
	char buf[512];

	if (strlen(v) >= sizeof(buf) || opt_parse(&l, strcpy(buf, v)) < 0)
		return err_set(err, -EINVAL, "--metrics '%.100s': not key=value,...", v);
	const char *path = opt_get(&l, "path"), *id = opt_get(&l, "id");
	if (!path) {
		snprintf(out, size, "%s%s%s", v, id ? "" : ",id=", id ? "" : name);
		return 0;
	}
	snprintf(out, size, "path=%s/vmm/metrics.sock,id=%s", state, id ? id : name);
	struct stat st;
	if (lstat(path, &st) == 0 && (S_ISLNK(st.st_mode) || S_ISSOCK(st.st_mode)))
		unlink(path); /* a link or socket left by a run that was killed */
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/vmm/metrics.sock", state);
	if (symlink(target, path) < 0)
		return err_set(err, -errno, "--metrics: cannot link %s: %s", path, strerror(errno));
	snprintf(link, lsize, "%s", path);
	return 0;
}

int cmd_run_image(int argc, char **argv, struct err *err)
{
	struct timespec ph[PH_N] = { 0 };
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_START]);
	struct run_args a = { 0 };
	char kernel[PATH_MAX], initrd[PATH_MAX], state[256], disk[PATH_MAX + 32];
	char cmdline[1024], netw[512], console[PATH_MAX + 32], name[LEASE_ID_MAX + 1];
	char metrics[PATH_MAX + 128], metrics_link[PATH_MAX];
	metrics_link[0] = 0;
	struct tty_state term = { 0 };
	int r = parse_args(&a, argc, argv, err), status = EXIT_SVMM;
	if (r < 0)
		return EXIT_SVMM;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	a.cache = getenv("SVMM_IMAGE_CACHE");
	if (find_asset(a.kernel, "SVMM_KERNEL", "kernel/bzImage", kernel, sizeof(kernel)) < 0)
		return EXIT_FAIL(
			"no guest kernel (%s): give --kernel or SVMM_KERNEL, or 'make kernel'",
			kernel);
	if (find_asset(a.initrd, "SVMM_INITRD", "images/initramfs.cpio.gz", initrd,
		       sizeof(initrd)) < 0)
		return EXIT_FAIL("no agent initramfs (%s): give --initrd or SVMM_INITRD, or 'make "
				 "images'",
				 initrd);
	if (net_parse(&a, netw, sizeof(netw), err) < 0)
		return EXIT_SVMM;

	/* The run's state: the endpoint for svmm exec, the console, a bundle's disk. */
	if (mkdir("/run/svmm", 0755) < 0 && errno != EEXIST)
		return EXIT_FAIL("cannot create /run/svmm: %s", strerror(errno));
	mkdir(STATE_DIR, 0700);
	/* An unnamed run is run-PID; a failed run's kept state may hold that
	 * name from an earlier process with the same PID: then run-PID-N. */
	int made;
	for (unsigned int n = 1;; n++) {
		if (a.name)
			snprintf(name, sizeof(name), "%s", a.name);
		else if (n == 1)
			snprintf(name, sizeof(name), "run-%d", getpid());
		else
			snprintf(name, sizeof(name), "run-%d-%u", getpid(), n);
		snprintf(state, sizeof(state), "%s/%s", STATE_DIR, name);
		made = mkdir(state, 0700) == 0 ? 0 : -errno;
		if (made != -EEXIST || a.name || n == 1000)
			break;
	}
	if (made < 0)
		return EXIT_FAIL("cannot create the run's state %s: %s", state,
				 made == -EEXIST ? "a run of that name exists (remove it or pick "
						   "another --name)"
						 : strerror(-made));

	struct spec_overrides ov = {
		.cmd = a.cmd,
		.env = a.env,
		.nenv = a.nenv,
		.workdir = a.workdir,
		.user = a.user,
		.hostname = a.hostname,
		.tty = a.tty,
		.readonly = a.readonly,
		.vols = a.vols,
		.nvols = a.nvols,
	};
	struct winsize ws;
	if (a.tty && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		ov.rows = ws.ws_row;
		ov.cols = ws.ws_col;
	}
	json_t *spec = prepare(&a, &ov, state, disk, sizeof(disk), err);
	if (!spec)
		goto out_state;
	snprintf(console, sizeof(console), "%s/console.log", state);
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 quiet panic=-1 reboot=t%s%s%s", netw,
		 a.hostname ? " svmm.hostname=" : "", a.hostname ? a.hostname : "");
	struct vm_share shares[VM_MAX_SHARES];
	char vsock_sock[PATH_MAX];
	/* the sockets in a directory of their own: the jailed VMM's */
	snprintf(vsock_sock, sizeof(vsock_sock), "%s/vmm", state);
	if (mkdir(vsock_sock, 0700) < 0) {
		err_set(err, -errno, "cannot create %s: %s", vsock_sock, strerror(errno));
		goto out_spec;
	}
	strcat(vsock_sock, "/vsock.sock");
	if (a.metrics && metrics_arg(a.metrics, state, name, metrics, sizeof(metrics), metrics_link,
				     sizeof(metrics_link), err) < 0)
		goto out_spec;
	for (size_t i = 0; i < a.nvols; i++)
		shares[i] = (struct vm_share){ a.vols[i].tag, a.vols[i].host, a.vols[i].ro };
	struct vm_spec vs = {
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = cmdline,
		.disk = disk,
		.cpus = a.cpus,
		.mem_mib = a.mem >> 20,
		.vsock_cid = 3 + (unsigned int)(getpid() % 1000000),
		.vsock_socket = vsock_sock,
		.shares = shares,
		.nshares = a.nvols,
		.ports = a.ports,
		.nports = a.nports,
		.console = console,
		.id = name,
		.net_auto = a.net_auto,
		.dns = a.dns[0] ? a.dns : NULL,
		.state = state,
		.no_jail = a.no_jail,
		.seccomp = a.seccomp,
		.metrics = a.metrics ? metrics : NULL,
		.has_vmm_user = a.has_vmm_user,
		.vmm_uid = a.vmm_uid,
		.vmm_gid = a.vmm_gid,
	};
	struct vm_handle vm = { .pid = -1 };
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_IMAGE]);
	if (vm_launch(&vs, &vm, err) < 0)
		goto out_spec;
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_LAUNCH]);
	struct agent_conn c;
	/* Retry while the guest boots, as long as the VM runs. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* The hybrid socket when the VMM made one, else AF_VSOCK. */
		if (access(vsock_sock, F_OK) == 0)
			snprintf(vm.endpoint, sizeof(vm.endpoint), "unix:%s", vsock_sock);
		r = agent_connect(&c, vm.endpoint, 500);
		if (r == 0 || vm_wait(&vm, 0) == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > BOOT_TIMEOUT / 1000)
			break;
	}
	if (r < 0 || agent_hello(&c, NULL, BOOT_TIMEOUT) < 0) {
		err_set(err, -EIO, "the guest agent did not answer (%s%s); console: %s", c.err.msg,
			vm.pid < 0 ? ", the VM ended" : "", console);
		agent_close(&c);
		goto out_vm;
	}
	char epfile[PATH_MAX + 32];
	snprintf(epfile, sizeof(epfile), "%s/endpoint", state);
	FILE *f = fopen(epfile, "we");
	if (f) {
		fprintf(f, "%s\n", vm.endpoint);
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_AGENT]);
	json_t *start = json_pack("{s:O,s:{s:s,s:s}}", "spec", spec, "rootfs", "source", "/dev/vda",
				  "type", "erofs");
	if (agent_send_json(&c, AGENT_START, AGENT_ID_MAIN, start) < 0) {
		err_set(err, c.err.code, "%s", c.err.msg);
		goto out_conn;
	}
	if (a.tty && a.interactive)
		tty_raw(&term);
	struct agent_session s = {
		.id = AGENT_ID_MAIN,
		.tty = a.tty,
		.stdin_on = a.interactive,
		.in_fd = 0,
		.out_fd = 1,
		.err_fd = 2,
		.forward_signals = true,
	};
	char *msg = NULL;
	r = agent_session_run(&c, &s, &status, &msg);
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_EXIT]);
	tty_restore(&term);
	if (r < 0) {
		err_set(err, c.err.code, "lost the guest agent: %s; console: %s", c.err.msg,
			console);
		status = EXIT_SVMM;
	} else if (msg) {
		err_set(err, EIO, "%s", msg); /* why the workload did not start */
		free(msg);
	}
out_conn:
	agent_close(&c);
out_vm:
	if (vm_wait(&vm, 10000) < 0)
		vm_kill(&vm);
out_spec:
	json_decref(spec);
	clock_gettime(CLOCK_MONOTONIC, &ph[PH_END]);
	print_timing(ph);
out_state:
	if (metrics_link[0])
		unlink(metrics_link);
	if (a.rm || status != EXIT_SVMM || access(console, F_OK) < 0)
		remove_state(state);
	else
		log_msg(LV_NOTE, "run", "the run's state is kept in %s", state);
	return status;
}

int cmd_exec(int argc, char **argv, struct err *err)
{
	static const struct option opts[] = {
		{ "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ 0 },
	};
	struct tty_state term = { 0 };
	bool tty = false, inter = false;
	const char *wd = NULL, *user = NULL;
	json_t *env = json_array();
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+tie:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tty = true;
			break;
		case 'i':
			inter = true;
			break;
		case 'e':
			json_array_append_new(env, json_string(optarg));
			break;
		case 'w':
			wd = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		default:
			json_decref(env);
			return EXIT_FAIL(
				"usage: svmm exec [-t] [-i] [-e K=V] [-w DIR] [-u UID[:GID]] "
				"NAME [--] CMD ARGS...");
		}
	}
	if (optind >= argc) {
		json_decref(env);
		return EXIT_FAIL("exec: no run NAME given");
	}
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		json_decref(env);
		return EXIT_FAIL("exec: no command given");
	}
	char epfile[PATH_MAX], ep[PATH_MAX + 32] = "";
	snprintf(epfile, sizeof(epfile), "%s/%s/endpoint", STATE_DIR, name);
	FILE *f = fopen(epfile, "re");
	if (!f || !fgets(ep, sizeof(ep), f)) {
		if (f)
			fclose(f);
		json_decref(env);
		return EXIT_FAIL("exec: no running svmm run named '%s' (%s)", name, epfile);
	}
	fclose(f);
	ep[strcspn(ep, "\n")] = 0;
	json_t *args = json_array();
	for (int i = optind; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_t *proc = json_pack("{s:o,s:b}", "args", args, "terminal", tty);
	if (json_array_size(env)) {
		/* Added to the workload's environment by the agent's defaults. */
		json_object_set_new(proc, "env", env);
	} else {
		json_decref(env);
	}
	if (wd)
		json_object_set_new(proc, "cwd", json_string(wd));
	if (user) {
		unsigned long uid = strtoul(user, NULL, 10), gid = 0;
		const char *g = strchr(user, ':');
		if (g)
			gid = strtoul(g + 1, NULL, 10);
		json_object_set_new(
			proc, "user",
			json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	}
	struct winsize ws;
	if (tty && ioctl(0, TIOCGWINSZ, &ws) == 0)
		json_object_set_new(
			proc, "consoleSize",
			json_pack("{s:i,s:i}", "height", ws.ws_row, "width", ws.ws_col));
	struct agent_conn conn;
	if (agent_connect(&conn, ep, 5000) < 0 || agent_hello(&conn, NULL, 5000) < 0) {
		json_decref(proc);
		return EXIT_FAIL("exec: cannot reach the agent of '%s': %s", name, conn.err.msg);
	}
	uint32_t id = 2 + (uint32_t)(getpid() % 1000000) * 4 + (uint32_t)(time(NULL) & 3);
	int status = EXIT_SVMM;
	if (agent_send_json(&conn, AGENT_EXEC, id, json_pack("{s:o}", "process", proc)) < 0) {
		agent_close(&conn);
		return EXIT_FAIL("exec: %s", conn.err.msg);
	}
	if (tty && inter)
		tty_raw(&term);
	struct agent_session s = { .id = id,
				   .tty = tty,
				   .stdin_on = inter,
				   .in_fd = 0,
				   .out_fd = 1,
				   .err_fd = 2,
				   .forward_signals = true };
	char *msg = NULL;
	int r = agent_session_run(&conn, &s, &status, &msg);
	tty_restore(&term);
	if (r < 0)
		status = EXIT_FAIL("exec: lost the agent: %s", conn.err.msg);
	if (msg) {
		if (r >= 0)
			err_set(err, EIO, "%s", msg); /* why the process did not start */
		free(msg);
	}
	agent_close(&conn);
	return status;
}
