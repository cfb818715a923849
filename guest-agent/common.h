/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers the guest agent and the host side share. common.c is built into
 * both the static agent and libsvmm.a (the Makefile lists it in LIB_SRCS),
 * so it needs nothing but libc. Errors are negative errno.
 */
#ifndef SVMM_GUEST_AGENT_COMMON_H
#define SVMM_GUEST_AGENT_COMMON_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: path and its missing parents, each made with mode (less the
 * umask). EEXIST is not an error, whatever exists there; -ENOENT for an
 * empty path, -ENAMETOOLONG for one of PATH_MAX bytes or more. */
int mkdir_p(const char *path, mode_t mode);
/* Writes len bytes at buf to fd, again after EINTR and short writes; a
 * write of 0 bytes is -EIO. */
int write_all(int fd, const void *buf, size_t len);
/* Writes s to the existing file path (no O_CREAT: /proc, /sys and cgroup
 * files); a short write is -EIO. */
int write_file(const char *path, const char *s);
/* Copies regular file src to dst, which must not exist (O_EXCL), made with
 * mode (less the umask; chmod'ed to mode after). */
int copy_file(const char *src, const char *dst, mode_t mode);
/* Milliseconds of CLOCK_MONOTONIC. */
long long now_ms(void);

#endif
