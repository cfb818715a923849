// SPDX-License-Identifier: Apache-2.0
/* svmm acpi-dump: write the ACPI tables to files, to check them with iasl. */
#include "vmm/cli/cmd_acpi_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/x86/acpi.h"
#include "vmm/kvm/layout.h"
#include "vmm/config/options.h"

static int usage(void)
{
	fprintf(stderr, "usage: svmm acpi-dump [--cpus N] [--memory SIZE] DIR\n");
	return 2;
}

static int write_file(const char *dir, const char *sig, const void *data, size_t len)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s.dat", dir, sig) >= (int)sizeof(path)) {
		fprintf(stderr, "svmm acpi-dump: directory name too long: %s\n", dir);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		int err = -errno;
		fprintf(stderr, "svmm acpi-dump: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return close(fd) ? -errno : 0;
}

int cmd_acpi_dump(int argc, char **argv)
{
	static const char *const sigs[] = { "RSDP", "XSDT", "FACP", "APIC", "MCFG", "DSDT" };
	uint64_t ncpus = 1, mem = 512ull << 20, rsdp;
	const char *dir = NULL;
	struct acpi_platform p;
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cpus") && i + 1 < argc) {
			if (parse_u64(argv[++i], &ncpus) || !ncpus || ncpus > ACPI_MAX_CPUS) {
				fprintf(stderr, "svmm acpi-dump: --cpus wants 1..%d, got '%s'\n",
					ACPI_MAX_CPUS, argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--memory") && i + 1 < argc) {
			if (parse_size(argv[++i], &mem) || !mem) {
				fprintf(stderr, "svmm acpi-dump: --memory wants a size, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			return usage();
		}
	}
	if (!dir)
		return usage();

	uint8_t *buf = calloc(1, LAYOUT_ACPI_SIZE);
	if (!buf) {
		fprintf(stderr, "svmm acpi-dump: out of memory\n");
		return 1;
	}
	acpi_platform_default(&p, (unsigned int)ncpus, mem);
	int n = acpi_build(&p, buf, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_START, &rsdp);
	if (n < 0) {
		fprintf(stderr, "svmm acpi-dump: building the tables: %s\n", strerror(-n));
		goto out;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		size_t len;
		long off = acpi_table_find(buf, (size_t)n, LAYOUT_ACPI_START, rsdp, sigs[i], &len);
		if (off < 0) {
			fprintf(stderr, "svmm acpi-dump: table %s: %s\n", sigs[i],
				strerror((int)-off));
			goto out;
		}
		if (write_file(dir, sigs[i], buf + off, len))
			goto out;
	}
	printf("svmm acpi-dump: %d bytes of tables at 0x%llx, RSDP at 0x%llx\n", n,
	       (unsigned long long)LAYOUT_ACPI_START, (unsigned long long)rsdp);
	ret = 0;
out:
	free(buf);
	return ret;
}
