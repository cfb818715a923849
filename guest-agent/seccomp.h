/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI linux.seccomp object as a filter, loaded with libseccomp. */
#ifndef SVMM_GUEST_AGENT_SECCOMP_H
#define SVMM_GUEST_AGENT_SECCOMP_H

#include <jansson.h>
#include <stddef.h>

/* Builds and loads the filter for the calling thread. 0, or negative errno
 * with msg naming the field that is wrong. */
int seccomp_apply(json_t *seccomp, char *msg, size_t len);

#endif
