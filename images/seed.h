/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seed disks on top of the FAT writer: cloud-init NoCloud seeds (label
 * CIDATA) and service disks (label SERVICEDISK: the service binary, its
 * launch script and a keystore folder).
 *
 * NoCloud reads /user-data and /meta-data (both required), and optionally
 * /network-config (network config v1 or v2) and /vendor-data from a vfat or
 * iso9660 volume labelled CIDATA. Each file comes from a host file, or is
 * generated from the fields below. Errors are negative errno with a message
 * naming the flag or file in t->err.
 */
#ifndef SVMM_IMAGES_SEED_H
#define SVMM_IMAGES_SEED_H

#include <stdint.h>

#include "images/fat.h"

#define SEED_CIDATA_LABEL  "CIDATA"
#define SEED_SERVICE_LABEL "SERVICEDISK"
#define SEED_MAX_DNS	   8

struct seed_cloud_init {
	/* Host files copied as they are (NULL: generate or leave out). */
	const char *user_data, *meta_data, *network_config, *vendor_data;
	/* meta-data: instance-id (required unless meta_data) and local-hostname. */
	const char *instance_id, *hostname;
	/* user-data (#cloud-config): ssh_authorized_keys for the default user. */
	const char *const *ssh_keys;
	unsigned int n_ssh_keys;
	/* network-config for one interface: static when address (CIDR) is set,
	 * DHCP otherwise; none at all when iface is NULL. */
	const char *iface, *address, *gateway;
	const char *dns[SEED_MAX_DNS];
	unsigned int n_dns;
	int net_version; /* 1 or 2; 0 means 2 */
	int64_t mtime;	 /* time of the generated files */
};

struct seed_service {
	const char *binary;   /* host file, becomes /service (NULL: none) */
	const char *launch;   /* host file, becomes /launch (NULL: none) */
	const char *keystore; /* host directory, becomes /keystore/ (NULL: none) */
	const char *tree;     /* host directory copied to the root (NULL: none) */
};

/* Check the fields (names, addresses, conflicts between files and fields). */
int seed_cloud_init_check(struct fat_tree *t, const struct seed_cloud_init *c);

/* Add the NoCloud files to t (after seed_cloud_init_check). */
int seed_cloud_init_add(struct fat_tree *t, const struct seed_cloud_init *c);

/* Generated file texts (malloc'd, NUL-terminated); *out NULL when the file
 * is not generated (it comes from a host file, or there is no network). */
int seed_meta_data(const struct seed_cloud_init *c, char **out);
int seed_user_data(const struct seed_cloud_init *c, char **out);
int seed_network_config(const struct seed_cloud_init *c, char **out);

/* Add a service disk's files to t. */
int seed_service_add(struct fat_tree *t, const struct seed_service *s);

#endif
