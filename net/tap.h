/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TAP devices: /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR.
 * A persistent TAP outlives the descriptor that made it, so the VMM can
 * open it by name later; rtnl_link_del() removes it.
 */
#ifndef SVMM_NET_TAP_H
#define SVMM_NET_TAP_H

#include <stdbool.h>

#include "net/err.h"

/* A usable interface name: 1..15 bytes, no '/', ':', whitespace, not "." or "..". */
bool tap_name_valid(const char *name);

/* Create (or attach to) the TAP name and return its descriptor, with a
 * 12-byte virtio-net header; persist keeps the device after close. */
int tap_open(const char *name, bool persist, struct net_err *err);

#endif
