// SPDX-License-Identifier: Apache-2.0
/*
 * svmm vfio: hand PCI devices to vfio-pci for passthrough, and back.
 *
 *   svmm vfio bind [--strict] BDF   binds BDF to vfio-pci (the driver it had
 *       is remembered); prints the IOMMU group and its /dev/vfio node; warns
 *       (--strict: refuses) when another device of the group is held by a
 *       driver VFIO does not allow
 *   svmm vfio unbind BDF            gives BDF back to the driver it had (or
 *       lets the kernel choose one)
 *   svmm vfio ls [--all]            the devices bound to vfio-pci (--all:
 *       every PCI device): BDF, vendor:device, class, driver, IOMMU group,
 *       whether the group is viable
 * BDF is DDDD:BB:DD.F or BB:DD.F. SVMM_VFIO_SYSFS (default /sys) and
 * SVMM_VFIO_STATE (default /run/svmm/vfio) are for tests.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli/cmd_vfio.h"
#include "vmm/run/vfio_host.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: svmm vfio bind [--strict] BDF\n"
		   "       svmm vfio unbind BDF\n"
		   "       svmm vfio ls [--all]\n"
		   "BDF is a PCI address, DDDD:BB:DD.F or BB:DD.F\n");
}

static const struct option long_opts[] = {
	{ "strict", no_argument, NULL, 's' },
	{ "all", no_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void print_group(const struct vfio_dev *d, char *buf, size_t len)
{
	if (d->group < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%d", d->group);
}

static int print_dev(const struct vfio_dev *d, void *arg)
{
	char g[16];

	(void)arg;
	print_group(d, g, sizeof(g));
	printf("%-12s %04x:%04x 0x%06x %-12s %-5s %s\n", d->bdf, d->vendor, d->device, d->class,
	       d->driver[0] ? d->driver : "-", g,
	       d->group < 0 ? "-"
	       : d->viable  ? "yes"
			    : "no");
	return 0;
}

static int one_bdf(const char *sub, int argc, char **argv, char bdf[VFIO_BDF_LEN])
{
	struct err e = { 0 };

	if (optind >= argc) {
		fprintf(stderr, "svmm vfio %s: a PCI address (BDF) is required\n", sub);
		usage(stderr);
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "svmm vfio %s: unexpected argument '%s'\n", sub, argv[optind + 1]);
		return 2;
	}
	if (vfio_bdf_parse(argv[optind], bdf, &e) < 0) {
		fprintf(stderr, "svmm vfio %s: %s\n", sub, e.msg);
		return 2;
	}
	return 0;
}

int cmd_vfio(int argc, char **argv)
{
	struct vfio_host h = { .sysfs = getenv("SVMM_VFIO_SYSFS"),
			       .state = getenv("SVMM_VFIO_STATE") };
	bool strict = false, all = false, already;
	char bdf[VFIO_BDF_LEN], g[16];
	struct err e = { 0 };
	struct vfio_dev d;
	const char *sub;
	int opt, rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "bind") && strcmp(sub, "unbind") && strcmp(sub, "ls")) {
		fprintf(stderr, "svmm vfio: unknown subcommand '%s' (bind, unbind, ls)\n", sub);
		return 2;
	}
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			strict = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((strict && strcmp(sub, "bind")) || (all && strcmp(sub, "ls"))) {
		fprintf(stderr, "svmm vfio %s: %s is not an option of %s\n", sub,
			strict ? "--strict" : "--all", sub);
		return 2;
	}
	if (!strcmp(sub, "ls")) {
		if (optind < argc - 1) {
			fprintf(stderr, "svmm vfio ls: unexpected argument '%s'\n",
				argv[optind + 1]);
			return 2;
		}
		printf("%-12s %-9s %-8s %-12s %-5s %s\n", "BDF", "ID", "CLASS", "DRIVER", "GROUP",
		       "VIABLE");
		if (vfio_host_list(&h, all, print_dev, NULL, &e) < 0) {
			fprintf(stderr, "svmm vfio ls: %s\n", e.msg);
			return 1;
		}
		return 0;
	}
	rc = one_bdf(sub, argc - 1, argv + 1, bdf);
	if (rc)
		return rc;
	if (!strcmp(sub, "bind")) {
		if (vfio_host_bind(&h, bdf, strict, &d, &already, &e) < 0) {
			fprintf(stderr, "svmm vfio bind: %s\n", e.msg);
			return 1;
		}
		print_group(&d, g, sizeof(g));
		printf("%s bound to vfio-pci%s: iommu group %s, %s/%s\n", bdf,
		       already ? " (already)" : "", g, VFIO_HOST_DEV_DIR, g);
		if (!d.viable)
			fprintf(stderr,
				"svmm vfio bind: warning: IOMMU group %s is not viable: %s is held "
				"by a driver VFIO does not allow; bind it to vfio-pci too\n",
				g, d.blocker);
		return 0;
	}
	if (vfio_host_unbind(&h, bdf, &d, &e) < 0) {
		fprintf(stderr, "svmm vfio unbind: %s\n", e.msg);
		return 1;
	}
	printf("%s unbound from vfio-pci: driver %s\n", bdf, d.driver[0] ? d.driver : "none");
	return 0;
}
