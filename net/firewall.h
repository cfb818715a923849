/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM firewall and NAT in nf_tables, through libnftnl + libmnl (never nft(8)).
 *
 * One table, "inet svmm" by default, holds a fixed skeleton:
 *   map egress, ingress, input { type ifname : verdict }   keyed by the VM's link
 *   map snat { type ipv4_addr : verdict }                   keyed by the guest address
 *   chain forward     filter hook forward prio 0, policy accept:
 *                     iifname vmap @egress; oifname vmap @ingress
 *   chain input       filter hook input prio 0, policy accept: iifname vmap @input
 *   chain postrouting nat hook postrouting prio 100: ip saddr vmap @snat
 * and, per VM id, chains named "vm-ID-SUFFIX" with one element in each map
 * jumping to them:
 *   vm-ID-egress   established/related accept; from the guest address out
 *                  of the uplink accept; the --allow destinations accept; drop
 *   vm-ID-ingress  established/related accept; ct status dnat accept; drop
 *   vm-ID-input    established/related accept; the --allow host services accept; drop
 *   vm-ID-snat     oifname UPLINK masquerade
 *   vm-ID-dnat     (only with port forwards) nat hook prerouting prio -100:
 *                  fib daddr type local [ip daddr A] PROTO dport P dnat to GUEST:Q
 *   vm-ID-local    the same in nat hook output prio -100, for the host's own
 *                  connections (127.0.0.1 too: the link gets route_localnet)
 *   vm-ID-hairpin  nat hook postrouting prio 100:
 *                  oifname LINK ip saddr 127.0.0.0/8 masquerade
 * So VMs reach the outside through NAT but neither each other nor the host's
 * own services unless allowed, and nothing reaches a VM unsolicited but its
 * port forwards. Traffic of the host's other interfaces is left alone (the
 * base chains accept). Adding or removing a VM is one atomic batch; objects
 * are found by their exact chain name, never by comments.
 */
#ifndef SVMM_NET_FIREWALL_H
#define SVMM_NET_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/err.h"
#include "net/nl.h"
#include "guest-agent/err.h"

#define FW_DEFAULT_TABLE "svmm"
#define FW_MAX_RULES	 64 /* port forwards, and allows, per VM */

/* host[:port] -> guest:port; addresses host byte order, 0 = any host address. */
struct fw_forward {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t host_addr;
	uint16_t host_port, guest_port;
};

/* What a VM may open connections to: the host's own services (host) or a network. */
struct fw_allow {
	bool host;
	uint32_t net; /* when !host */
	unsigned int plen;
	uint8_t proto; /* 0: any protocol (then port is 0) */
	uint16_t port; /* 0: any port */
};

struct fw_vm {
	const char *id;	    /* lease_id_valid() */
	const char *link;   /* the VM's host-side interface */
	uint32_t guest;	    /* the guest's address */
	const char *uplink; /* masquerade out of it; NULL: no way out */
	const struct fw_forward *fwd;
	size_t nfwd;
	const struct fw_allow *allow;
	size_t nallow;
};

struct fw {
	struct nl nl;
	char table[64];
};

/* "[ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]" (docker's -p); the default is tcp. */
int fw_forward_parse(struct fw_forward *f, const char *spec, struct err *err);
/* "host[:PORT[/tcp|/udp]]" or "A.B.C.D[/P][:PORT[/tcp|/udp]]". */
int fw_allow_parse(struct fw_allow *a, const char *spec, struct err *err);

int fw_open(struct fw *fw, const char *table, struct err *err);
void fw_close(struct fw *fw);

/* Install the VM's chains and map elements (and the skeleton when the
 * table is missing) in one batch. -EEXIST when the id or link has rules. */
int fw_vm_add(struct fw *fw, const struct fw_vm *vm, struct err *err);
/* Remove everything of id in one batch; 0 when there was nothing. */
int fw_vm_del(struct fw *fw, const char *id, struct err *err);
/* Call cb for each VM id that has chains in the table (once per id). */
int fw_vm_list(struct fw *fw, int (*cb)(const char *id, void *data), void *data, struct err *err);
/* Delete the whole table; 0 when it is not there. */
int fw_table_del(struct fw *fw, struct err *err);

#endif
