/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 forwarding (net.ipv4.ip_forward) of the caller's network namespace. */
#ifndef SVMM_NET_IPFWD_H
#define SVMM_NET_IPFWD_H

#include <stdbool.h>

#include "net/err.h"

/* Whether forwarding is on. */
int ipfwd_get(bool *on, struct net_err *err);
/* Turn it on (svmm never turns it off: other users may need it). */
int ipfwd_enable(struct net_err *err);

#endif
