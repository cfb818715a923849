/* SPDX-License-Identifier: Apache-2.0 */
/* Small file helpers for the guest agent (mkdir_p, now_ms, write_file and
 * copy_file are in common.h). Errors are negative errno. */
#ifndef SVMM_GUEST_AGENT_UTIL_H
#define SVMM_GUEST_AGENT_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes s to path, creating it (mode) or truncating it; write_file
 * (common.h) writes an existing file. */
int write_file_create(const char *path, const char *s, mode_t mode);
/* Reads at most len-1 bytes of path into buf, NUL-terminated. */
ssize_t read_file(const char *path, char *buf, size_t len);
/* Copies the tree at src into dst (files, directories, symbolic links),
 * skipping the directory named skip. */
int copy_tree(const char *src, const char *dst, const char *skip);
/* Removes what copy_tree copied from src, staying on src's file system. */
void remove_tree(const char *path, const char *skip);

#endif
