/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors of the host network code: functions return negative errno and,
 * when given a struct err (guest-agent/err.h), leave a sentence there that
 * names what failed (the interface, the address, the flag, the kernel
 * feature). net_errno_hint adds what is missing to such a sentence.
 */
#ifndef SVMM_NET_ERR_H
#define SVMM_NET_ERR_H

#include "guest-agent/err.h"

/* A hint for a netlink or tun errno: what is missing (CAP_NET_ADMIN, a module). "" if none. */
const char *net_errno_hint(int rc);

#endif
