// SPDX-License-Identifier: Apache-2.0
/*
 * svmm seed fat|cloud-init|service: FAT images from a host directory,
 * cloud-init NoCloud seeds, and service disks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/fat.h"
#include "images/seed.h"
#include "vmm/cli/cmd_seed.h"
#include "vmm/config/options.h"

#define MAX_SSH_KEYS  64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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
	const char *fat, *size, *epoch, *volume_id, *net_version; /* converted after parsing */
	struct fat_opts fo;
	struct seed_cloud_init ci;
	struct seed_service svc;
	const char *ssh_keys[MAX_SSH_KEYS];
};

/* One flag taking a value: a string, or (max > 0) a repeatable list. */
struct flag_def {
	const char *name;
	const char **dst;
	unsigned int *n, max;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "svmm seed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int parse_int(const char *flagname, const char *s, int64_t *out, int base)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (!*s || *end || errno)
		return bad("%s '%s': not a number", flagname, s);
	*out = v;
	return 0;
}

#define STR(name, dst)             \
	{                          \
		name, dst, NULL, 0 \
	}
#define LIST(name, arr, count, max)   \
	{                             \
		name, arr, count, max \
	}

/* Take "--name VALUE" or "--name=VALUE" flags from the table, the rest are
 * the positional DIR. */
static int parse_flags(int argc, char **argv, const struct flag_def *defs, size_t ndefs,
		       struct seed_cmd *c)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const struct flag_def *d = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return -1; /* done: exit 0 */
		}
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (c->dir)
				return bad("unexpected argument '%s' (one DIR only)", a);
			c->dir = a;
			continue;
		}
		for (size_t k = 0; k < ndefs && !d; k++) {
			size_t n = strlen(defs[k].name);

			if (!strncmp(a, defs[k].name, n) && (a[n] == '\0' || a[n] == '=')) {
				d = &defs[k];
				v = a[n] == '=' ? a + n + 1 : NULL;
			}
		}
		if (!d)
			return bad("unknown option '%s' (try 'svmm seed --help')", a);
		if (!v) {
			if (i + 1 >= argc)
				return bad("%s needs a value", d->name);
			v = argv[++i];
		}
		if (!d->max) {
			*d->dst = v;
		} else if (*d->n == d->max) {
			return bad("%s: at most %u", d->name, d->max);
		} else {
			d->dst[(*d->n)++] = v;
		}
	}
	return 0;
}

/* Convert the numeric flags into the FAT options. */
static int convert_flags(struct seed_cmd *c)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int64_t n;

	if (c->fat) {
		if (parse_int("--fat", c->fat, &n, 10))
			return 2;
		if (n != 12 && n != 16 && n != 32)
			return bad("--fat '%s': use 12, 16 or 32", c->fat);
		c->fo.fat_type = n;
	}
	if (c->size) {
		if (parse_size(c->size, &c->fo.size) || c->fo.size == 0)
			return bad("--size '%s': not a size (4096, 512K, 64M, 1G)", c->size);
		if (c->fo.size % 512)
			return bad("--size '%s': not a multiple of 512 bytes", c->size);
	}
	if (c->epoch || (sde && *sde)) {
		if (parse_int(c->epoch ? "--epoch" : "SOURCE_DATE_EPOCH", c->epoch ? c->epoch : sde,
			      &c->fo.epoch, 10))
			return 2;
		c->fo.fixed_time = true;
	}
	if (c->volume_id) {
		if (parse_int("--volume-id", c->volume_id, &n, 16))
			return 2;
		if (n <= 0 || n > 0xffffffffll)
			return bad("--volume-id '%s': 1 to ffffffff (hex)", c->volume_id);
		c->fo.volume_id = n;
	}
	if (c->net_version) {
		if (parse_int("--network-version", c->net_version, &n, 10))
			return 2;
		if (n != 1 && n != 2)
			return bad("--network-version '%s': use 1 or 2", c->net_version);
		c->ci.net_version = n;
	}
	return 0;
}

static int parse_args(int argc, char **argv, const char *kind, struct seed_cmd *c)
{
	const struct flag_def common[] = {
		STR("--out", &c->out),	   STR("--label", &c->label),
		STR("--fat", &c->fat),	   STR("--size", &c->size),
		STR("--epoch", &c->epoch), STR("--volume-id", &c->volume_id),
	};
	const struct flag_def ci[] = {
		STR("--user-data", &c->ci.user_data),
		STR("--meta-data", &c->ci.meta_data),
		STR("--network-config", &c->ci.network_config),
		STR("--vendor-data", &c->ci.vendor_data),
		STR("--instance-id", &c->ci.instance_id),
		STR("--hostname", &c->ci.hostname),
		LIST("--ssh-key", c->ssh_keys, &c->ci.n_ssh_keys, MAX_SSH_KEYS),
		STR("--iface", &c->ci.iface),
		STR("--address", &c->ci.address),
		STR("--gateway", &c->ci.gateway),
		LIST("--dns", c->ci.dns, &c->ci.n_dns, SEED_MAX_DNS),
		STR("--network-version", &c->net_version),
	};
	const struct flag_def svc[] = {
		STR("--binary", &c->svc.binary),
		STR("--launch", &c->svc.launch),
		STR("--keystore", &c->svc.keystore),
	};
	struct flag_def defs[ARRAY_SIZE(common) + ARRAY_SIZE(ci)];
	size_t n = ARRAY_SIZE(common);
	int ret;

	memcpy(defs, common, sizeof(common));
	if (!strcmp(kind, "cloud-init")) {
		memcpy(defs + n, ci, sizeof(ci));
		n += ARRAY_SIZE(ci);
	} else if (!strcmp(kind, "service")) {
		memcpy(defs + n, svc, sizeof(svc));
		n += ARRAY_SIZE(svc);
	}
	ret = parse_flags(argc, argv, defs, n, c);
	if (ret)
		return ret;
	if (!c->out)
		return bad("%s: --out IMG is required", kind);
	if (!strcmp(kind, "fat") && !c->dir)
		return bad("fat: the source directory DIR is required");
	if (!strcmp(kind, "cloud-init") && c->dir)
		return bad("cloud-init: unexpected argument '%s'", c->dir);
	return convert_flags(c);
}

int cmd_seed(int argc, char **argv)
{
	struct seed_cmd c = { 0 };
	struct fat_tree t;
	struct fat_geom g;
	const char *kind;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	kind = argv[1];
	if (strcmp(kind, "fat") && strcmp(kind, "cloud-init") && strcmp(kind, "service"))
		return bad("unknown seed kind '%s' (fat, cloud-init or service)", kind);
	ret = parse_args(argc - 1, argv + 1, kind, &c);
	if (ret)
		return ret < 0 ? 0 : ret;
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
		fprintf(stderr, "svmm seed %s: %s\n", kind, t.err.msg);
		fat_tree_free(&t);
		return 1;
	}
	printf("%s: FAT%d, %llu bytes, %u clusters of %u bytes, %u used\n", c.out, g.type,
	       (unsigned long long)g.total_sectors * 512, g.clusters, g.spc * 512, g.used_clusters);
	fat_tree_free(&t);
	return 0;
}
