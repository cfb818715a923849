/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 forwarding sysctls of the caller's network namespace. */
#ifndef SVMM_NET_IPFWD_H
#define SVMM_NET_IPFWD_H

#include <stdbool.h>

#include "net/err.h"
#include "guest-agent/err.h"

/* Whether forwarding is on. */
int ipfwd_get(bool *on, struct err *err);
/* Turn it on (svmm never turns it off: other users may need it). */
int ipfwd_enable(struct err *err);
/* Let packets from 127.0.0.0/8 be routed out of link (net.ipv4.conf.LINK.route_localnet),
 * so the host's connections to 127.0.0.1:PORT can be forwarded to a guest. */
int ipfwd_route_localnet(const char *link, struct err *err);

#endif
