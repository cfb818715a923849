/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cloud-hypervisor style option lists: "key=value,key=value".
 *
 * A value may hold commas inside square brackets ("affinity=[0@[0,2]]").
 * Parsing never allocates: an option list is split in place into pairs that
 * point into the caller's buffer. Errors are negative errno; the message in
 * err names the offending key or value.
 */
#ifndef SVMM_VMM_CONFIG_OPTIONS_H
#define SVMM_VMM_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-agent/err.h"

#define OPT_MAX_PAIRS 32

struct opt_pair {
	char *key;
	char *value; /* "" when the key had no '=' */
	bool used;   /* set by the opt_get_* helpers */
};

struct opt_list {
	struct opt_pair pair[OPT_MAX_PAIRS];
	unsigned int n;
	struct err err;
};

/* Split s (modified in place) into pairs. -EINVAL on an empty key,
 * unbalanced brackets, a repeated key or too many pairs. */
int opt_parse(struct opt_list *l, char *s);

/* Find key; NULL when absent. Marks it used. */
const char *opt_get(struct opt_list *l, const char *key);

/* Typed lookups: 0 and *out untouched when absent, 1 when found,
 * negative errno (with l->err set) when the value is malformed. */
int opt_get_u64(struct opt_list *l, const char *key, uint64_t *out);
int opt_get_size(struct opt_list *l, const char *key, uint64_t *out);
int opt_get_bool(struct opt_list *l, const char *key, bool *out);

/* A string copied into buf (size bytes, NUL included): 0 when absent, 1
 * when found, -EINVAL (with l->err set) when it does not fit. */
int opt_get_str(struct opt_list *l, const char *key, char *buf, size_t size);
/* A cloud-hypervisor toggle svmm does not implement: 0 when absent or off,
 * -EINVAL (with l->err set) when on or malformed. */
int opt_get_unsupported(struct opt_list *l, const char *key);

/* -EINVAL naming the first key no lookup used, so a typo is not ignored. */
int opt_check_unused(struct opt_list *l);

/* A socket or file given as "path=PATH", "fd=N" or a bare "PATH" (--api-socket,
 * --event-monitor). On success exactly one of *path (malloc'd) and *fd (else
 * -1) is set. -EINVAL with "FLAG: ..." in err; -ENOMEM. */
int opt_parse_path_or_fd(const char *flag, const char *spec, char **path, int *fd, struct err *err);

/* "512M", "1G", "4096", "2K": binary suffixes K, M, G, T (case-insensitive).
 * -EINVAL on junk, -ERANGE on overflow. */
int parse_size(const char *s, uint64_t *out);
/* Decimal or 0x-prefixed unsigned integer; -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t *out);
/* on|off|true|false, case-insensitive; -EINVAL otherwise. */
int parse_bool(const char *s, bool *out);

#endif
