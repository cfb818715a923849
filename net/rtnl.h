/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Links, addresses and routes through rtnetlink (libmnl), never ip(8).
 * Interfaces are named by index; addresses are IPv4 in host byte order.
 * Every call returns 0 or the kernel's negative errno.
 */
#ifndef SVMM_NET_RTNL_H
#define SVMM_NET_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nl.h"

/* NETLINK_ROUTE socket. */
int rtnl_open(struct nl *rt);

/* Interface index of name; -ENODEV when there is none. */
int rtnl_link_index(const char *name);

int rtnl_link_set_up(struct nl *rt, int ifindex, bool up);
int rtnl_link_set_mtu(struct nl *rt, int ifindex, unsigned int mtu);
/* Enslave to a bridge (master = its index), or release with master 0. */
int rtnl_link_set_master(struct nl *rt, int ifindex, int master);
int rtnl_link_del(struct nl *rt, int ifindex);
/* Kind of a link ("tun", "veth", "bridge"...) into kind; "" when the kernel gives none. */
int rtnl_link_kind(struct nl *rt, int ifindex, char *kind, size_t len);

/* Add addr/plen on ifindex (an existing equal address is not an error), or delete it. */
int rtnl_addr_add(struct nl *rt, int ifindex, uint32_t addr, unsigned int plen);
int rtnl_addr_del(struct nl *rt, int ifindex, uint32_t addr, unsigned int plen);
/* Every IPv4 address of the host (up to max of them) into addrs; *n gets the count. */
int rtnl_addr_list(struct nl *rt, uint32_t *addrs, size_t max, size_t *n);

/* Interface index of the IPv4 default route of the main table; -ENETUNREACH when none. */
int rtnl_default_route_ifindex(struct nl *rt);

#endif
