/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error messages for the host network code. Functions return negative errno
 * and, when given a struct net_err, leave a sentence there that names what
 * failed (the interface, the address, the flag, the kernel feature).
 */
#ifndef SVMM_NET_ERR_H
#define SVMM_NET_ERR_H

#define NET_ERR_LEN 320

struct net_err {
	char msg[NET_ERR_LEN];
};

/* Format into e (when non-NULL) and return rc, so "return net_errf(...)" reads well. */
int net_errf(struct net_err *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A hint for a netlink or tun errno: what is missing (CAP_NET_ADMIN, a module). "" if none. */
const char *net_errno_hint(int rc);

#endif
