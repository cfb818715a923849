/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's host network in one call: an IP lease, its link (a new TAP, or an
 * existing interface such as a veth), the host-side address and the
 * firewall/NAT rules; and the reverse. Used by `svmm net`, and by
 * `svmm run --net/-p` and the API later.
 *
 * Every step runs under the lease file's lock, so concurrent svmm processes
 * serialize here; the lease record is written before any kernel object
 * exists, so `net_gc()` can always find what a killed owner left.
 */
#ifndef SVMM_NET_NETVM_H
#define SVMM_NET_NETVM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "net/err.h"
#include "net/firewall.h"
#include "net/lease.h"
#include "guest-agent/err.h"

struct net_vm_config {
	const char *id;	    /* required, lease_id_valid() */
	const char *dir;    /* lease directory; NULL: LEASE_DEFAULT_DIR */
	const char *table;  /* nf_tables table; NULL: FW_DEFAULT_TABLE */
	const char *pool;   /* NULL: LEASE_DEFAULT_POOL */
	unsigned int block; /* per-VM prefix, 30 or 31; 0: 30 */
	const char *tap;    /* TAP to create; NULL: "svmmN", N the block's index */
	const char *link;   /* use this existing link instead of a TAP */
	const char *bridge; /* enslave the TAP to it: no address, no firewall */
	const char *uplink; /* masquerade interface; NULL: the default route's; "none" */
	unsigned int mtu;   /* 0: leave the kernel's */
	bool ip_forward;    /* turn net.ipv4.ip_forward on */
	const struct fw_forward *fwd;
	size_t nfwd;
	const struct fw_allow *allow;
	size_t nallow;
};

struct net_vm {
	struct lease lease; /* addresses, link, owner */
	int tap_fd;	    /* the TAP's descriptor for an in-process VMM, or -1; close it
			     * to let another process attach (the TAP is persistent) */
	char uplink[16];    /* "" when the VM has no way out */
	char table[LEASE_TABLE_MAX + 1];
	char dir[4096];
	char warning[512]; /* something the caller should print, or "" */
};

/* Set up the network of cfg->id, owned by the calling process. */
int net_vm_setup(struct net_vm *vm, const struct net_vm_config *cfg, struct err *err);
/* Undo net_vm_setup(), unless the lease has meanwhile been removed or taken over. */
int net_vm_teardown(struct net_vm *vm, struct err *err);

/* Remove everything of id (its rules, its TAP, its lease) whoever owns it.
 * -ENOENT when dir has no lease for id. */
int net_down(const char *dir, const char *id, struct err *err);

/* Remove the rules, TAPs and leases of every VM in dir whose owner is gone,
 * and the chains in table of ids that have no lease at all. *removed gets
 * how many VMs were cleaned. */
int net_gc(const char *dir, const char *table, unsigned int *removed, struct err *err);

#endif
