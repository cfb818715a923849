// SPDX-License-Identifier: Apache-2.0
/*
 * svmm seed fat|cloud-init|service: FAT images from a host directory,
 * cloud-init NoCloud seeds, and service disks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/fat.h"
#include "images/seed.h"
#include "vmm/cmd_seed.h"
#include "vmm/options.h"

#define MAX_SSH_KEYS 64

static const char usage[] =
	"usage: svmm seed fat --out IMG [COMMON] DIR\n"
	"       svmm seed cloud-init --out IMG [COMMON] [--user-data F] [--meta-data F]\n"
	"             [--network-config F] [--vendor-data F] [--instance-id ID] [--hostname H]\n"
	"             [--ssh-key KEY]... [--iface NAME [--address CIDR] [--gateway IP]\n"
	"             [--dns IP]... [--network-version 1|2]]\n"
	"       svmm seed service --out IMG [COMMON] [--binary F] [--launch F]\n"
	"             [--keystore DIR] [DIR]\n"
	"COMMON: [--label L] [--fat 12|16|32] [--size SIZE] [--epoch SECS] [--volume-id HEX]\n"
	"  --size      image size (512K, 64M, ...); default: the smallest that fits, >= 1 MiB\n"
	"  --fat       FAT type; default: the one giving the smallest image\n"
	"  --epoch     give every entry this time (seconds since 1970, UTC); default:\n"
	"              $SOURCE_DATE_EPOCH if set, else each file's mtime (generated files:\n"
	"              1980-01-01). The same input always gives the same bytes.\n"
	"  --label     default: none for fat, CIDATA for cloud-init, SERVICEDISK for service\n";

struct seed_cmd {
	const char *out, *label, *dir;
	struct fat_opts fo;
	struct seed_cloud_init ci;
	struct seed_service svc;
	const char *ssh_keys[MAX_SSH_KEYS];
	bool epoch_given;
};

static int bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "svmm seed: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 2;
}

/*
 * "--name VALUE" or "--name=VALUE" at argv[*i]: 1 with *val set (and *i
 * moved past it), 0 when argv[*i] is another flag, -1 when the value is
 * missing.
 */
static int flag(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int parse_int(const char *flagname, const char *s, int64_t *out, int base)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, base);

	if (!*s || *end || errno)
		return bad("%s '%s': not a number", flagname, s);
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, const char *kind, struct seed_cmd *c)
{
	bool is_ci = !strcmp(kind, "cloud-init"), is_svc = !strcmp(kind, "service");

	for (int i = 1; i < argc; i++) {
		const char *v = NULL, *a = argv[i];
		int64_t n;
		int r;

		if (a[0] != '-' || !strcmp(a, "-")) {
			if (c->dir)
				return bad("unexpected argument '%s' (one DIR only)%s", a, "");
			c->dir = a;
			continue;
		}
#define FLAG(name) \
	((r = flag(argc, argv, &i, name, &v)) < 0 ? bad("%s needs a value%s", name, "") : r)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
		} else if ((r = FLAG("--out"))) {
			if (r == 2)
				return 2;
			c->out = v;
		} else if ((r = FLAG("--label"))) {
			if (r == 2)
				return 2;
			c->label = v;
		} else if ((r = FLAG("--fat"))) {
			if (r == 2 || (r = parse_int("--fat", v, &n, 10)))
				return 2;
			if (n != 12 && n != 16 && n != 32)
				return bad("--fat '%s': use 12, 16 or 32%s", v, "");
			c->fo.fat_type = n;
		} else if ((r = FLAG("--size"))) {
			if (r == 2)
				return 2;
			if (parse_size(v, &c->fo.size) || c->fo.size == 0)
				return bad("--size '%s': not a size (4096, 512K, 64M, 1G)%s", v,
					   "");
			if (c->fo.size % 512)
				return bad("--size '%s': not a multiple of 512 bytes%s", v, "");
		} else if ((r = FLAG("--epoch"))) {
			if (r == 2 || parse_int("--epoch", v, &c->fo.epoch, 10))
				return 2;
			c->fo.fixed_time = c->epoch_given = true;
		} else if ((r = FLAG("--volume-id"))) {
			if (r == 2 || parse_int("--volume-id", v, &n, 16))
				return 2;
			if (n <= 0 || n > 0xffffffffll)
				return bad("--volume-id '%s': 1 to ffffffff (hex)%s", v, "");
			c->fo.volume_id = n;
		} else if (is_ci && (r = FLAG("--user-data"))) {
			if (r == 2)
				return 2;
			c->ci.user_data = v;
		} else if (is_ci && (r = FLAG("--meta-data"))) {
			if (r == 2)
				return 2;
			c->ci.meta_data = v;
		} else if (is_ci && (r = FLAG("--network-config"))) {
			if (r == 2)
				return 2;
			c->ci.network_config = v;
		} else if (is_ci && (r = FLAG("--vendor-data"))) {
			if (r == 2)
				return 2;
			c->ci.vendor_data = v;
		} else if (is_ci && (r = FLAG("--instance-id"))) {
			if (r == 2)
				return 2;
			c->ci.instance_id = v;
		} else if (is_ci && (r = FLAG("--hostname"))) {
			if (r == 2)
				return 2;
			c->ci.hostname = v;
		} else if (is_ci && (r = FLAG("--ssh-key"))) {
			if (r == 2)
				return 2;
			if (c->ci.n_ssh_keys == MAX_SSH_KEYS)
				return bad("--ssh-key: at most %s keys%s", "64", "");
			c->ssh_keys[c->ci.n_ssh_keys++] = v;
		} else if (is_ci && (r = FLAG("--iface"))) {
			if (r == 2)
				return 2;
			c->ci.iface = v;
		} else if (is_ci && (r = FLAG("--address"))) {
			if (r == 2)
				return 2;
			c->ci.address = v;
		} else if (is_ci && (r = FLAG("--gateway"))) {
			if (r == 2)
				return 2;
			c->ci.gateway = v;
		} else if (is_ci && (r = FLAG("--dns"))) {
			if (r == 2)
				return 2;
			if (c->ci.n_dns == SEED_MAX_DNS)
				return bad("--dns: at most %s servers%s", "8", "");
			c->ci.dns[c->ci.n_dns++] = v;
		} else if (is_ci && (r = FLAG("--network-version"))) {
			if (r == 2 || parse_int("--network-version", v, &n, 10))
				return 2;
			if (n != 1 && n != 2)
				return bad("--network-version '%s': use 1 or 2%s", v, "");
			c->ci.net_version = n;
		} else if (is_svc && (r = FLAG("--binary"))) {
			if (r == 2)
				return 2;
			c->svc.binary = v;
		} else if (is_svc && (r = FLAG("--launch"))) {
			if (r == 2)
				return 2;
			c->svc.launch = v;
		} else if (is_svc && (r = FLAG("--keystore"))) {
			if (r == 2)
				return 2;
			c->svc.keystore = v;
		} else {
			return bad("seed %s: unknown option '%s' (try 'svmm seed --help')", kind,
				   a);
		}
#undef FLAG
	}
	if (!c->out)
		return bad("seed %s: --out IMG is required%s", kind, "");
	if (!strcmp(kind, "fat") && !c->dir)
		return bad("seed fat: the source directory DIR is required%s%s", "", "");
	if (is_ci && c->dir)
		return bad("seed cloud-init: unexpected argument '%s'%s", c->dir, "");
	return 0;
}

int cmd_seed(int argc, char **argv)
{
	struct seed_cmd c = { 0 };
	struct fat_tree t;
	struct fat_geom g;
	const char *kind, *sde;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	kind = argv[1];
	if (strcmp(kind, "fat") && strcmp(kind, "cloud-init") && strcmp(kind, "service"))
		return bad("unknown seed kind '%s' (fat, cloud-init or service)%s", kind, "");
	ret = parse_args(argc - 1, argv + 1, kind, &c);
	if (ret)
		return ret;
	sde = getenv("SOURCE_DATE_EPOCH");
	if (!c.epoch_given && sde && *sde) {
		if (parse_int("SOURCE_DATE_EPOCH", sde, &c.fo.epoch, 10))
			return 2;
		c.fo.fixed_time = true;
	}
	c.ci.ssh_keys = c.ssh_keys;
	c.ci.mtime = c.fo.fixed_time ? c.fo.epoch : FAT_TIME_MIN;
	c.svc.tree = c.dir;
	c.fo.label = c.label			   ? c.label
		     : !strcmp(kind, "cloud-init") ? SEED_CIDATA_LABEL
		     : !strcmp(kind, "service")	   ? SEED_SERVICE_LABEL
						   : NULL;

	if (fat_tree_init(&t)) {
		fprintf(stderr, "svmm seed: out of memory\n");
		return 1;
	}
	if (!strcmp(kind, "fat"))
		ret = fat_add_host_tree(&t, "", c.dir);
	else if (!strcmp(kind, "service"))
		ret = seed_service_add(&t, &c.svc);
	else if (!(ret = seed_cloud_init_check(&t, &c.ci)))
		ret = seed_cloud_init_add(&t, &c.ci);
	if (!ret)
		ret = fat_write(&t, &c.fo, c.out, &g);
	if (ret) {
		fprintf(stderr, "svmm seed %s: %s\n", kind, t.err);
		fat_tree_free(&t);
		return 1;
	}
	printf("%s: FAT%d, %llu bytes, %u clusters of %u bytes, %u used\n", c.out, g.type,
	       (unsigned long long)g.total_sectors * 512, g.clusters, g.spc * 512, g.used_clusters);
	fat_tree_free(&t);
	return 0;
}
