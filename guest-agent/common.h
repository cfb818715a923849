/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers the guest agent and the host side share. common.c is built into
 * both the static agent and libsvmm.a (the Makefile lists it in LIB_SRCS),
 * so it needs nothing but libc. Errors are negative errno.
 */
#ifndef SVMM_GUEST_AGENT_COMMON_H
#define SVMM_GUEST_AGENT_COMMON_H

#include <sys/types.h>

/* mkdir -p: path and its missing parents, each made with mode (less the
 * umask). EEXIST is not an error, whatever exists there; -ENOENT for an
 * empty path, -ENAMETOOLONG for one of PATH_MAX bytes or more. */
int mkdir_p(const char *path, mode_t mode);
/* Milliseconds of CLOCK_MONOTONIC. */
long long now_ms(void);

#endif
