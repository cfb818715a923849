/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Landlock: once configured, the process (the calling thread and the
 * threads it starts afterwards) can open only the paths it allowed. Rules
 * are collected on a ruleset, then applied once; a path's rights follow
 * from what it is (a file, a device, a directory) and what is asked:
 *   LL_READ   read a file, list a directory
 *   LL_WRITE  write (and truncate, ioctl a device) a file; in a directory
 *             also make, rename and remove files and sockets
 * Rights the running kernel's Landlock ABI does not know are left out
 * (ABI 1: 5.13; 3 adds truncate; 5 adds device ioctls). Everything is
 * checked and named in err: a missing path, a kernel without Landlock.
 */
#ifndef SVMM_VMM_KVM_LANDLOCK_H
#define SVMM_VMM_KVM_LANDLOCK_H

#include <stdint.h>

#include "guest-agent/err.h"

#define LL_READ	 1u
#define LL_WRITE 2u

struct landlock {
	int fd;		  /* the ruleset, -1 before init / after apply */
	int abi;	  /* the kernel's ABI version */
	uint64_t handled; /* the rights the ruleset restricts */
};

/* The kernel's Landlock ABI version (>= 1), or -EOPNOTSUPP when the kernel
 * lacks Landlock or has it disabled at boot. */
int landlock_abi(void);
int landlock_init(struct landlock *l, struct err *err);
/* Allow access (LL_READ|LL_WRITE) to path and, for a directory, everything
 * beneath it. A path that does not exist is -ENOENT. */
int landlock_allow(struct landlock *l, const char *path, unsigned int access, struct err *err);
/* Restrict the calling thread (and its future threads and children) to
 * the rules; sets no_new_privs first. Frees the ruleset either way. */
int landlock_apply(struct landlock *l, struct err *err);
void landlock_free(struct landlock *l);
/* "r" or "rw" as LL_* (CH's --landlock-rules access=), -EINVAL otherwise. */
int landlock_access_parse(const char *s, unsigned int *access);

#endif
