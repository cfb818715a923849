// SPDX-License-Identifier: Apache-2.0
/* A VM's host network: lease + link + address + firewall, and their removal. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>

#include "net/ipfwd.h"
#include "net/netvm.h"
#include "net/rtnl.h"
#include "net/tap.h"

#define MAX_HOST_ADDRS 1024

/* Undo what a lease stands for (its rules only with rules: a setup that
 * failed before adding them must not touch another VM's of the same id);
 * missing objects are not errors. */
static int lease_cleanup(struct nl *rt, const struct lease *l, bool rules, struct err *err)
{
	struct fw fw;
	int rc = 0, ifindex;

	if (rules) {
		rc = fw_open(&fw, l->table, err);
		if (rc < 0)
			return rc;
		rc = fw_vm_del(&fw, l->id, err);
		fw_close(&fw);
		if (rc < 0)
			return rc;
	}
	ifindex = rtnl_link_index(l->link);
	if (ifindex < 0)
		return 0;
	if (l->created) {
		char kind[32];

		/* only ever delete a TAP: the name may since have gone to something else */
		if (rtnl_link_kind(rt, ifindex, kind, sizeof(kind)) == 0 && !strcmp(kind, "tun"))
			rc = rtnl_link_del(rt, ifindex);
	} else {
		rc = rtnl_addr_del(rt, ifindex, l->host, l->plen);
		if (rc == -EADDRNOTAVAIL || rc == -ENOENT)
			rc = 0;
	}
	if (rc < 0 && rc != -ENODEV)
		return err_set(err, rc, "removing link %s of VM id '%s': %s%s", l->link, l->id,
			       strerror(-rc), net_errno_hint(rc));
	return 0;
}

/* An rtnetlink socket and the locked lease file, both or neither. */
static int session_open(struct nl *rt, struct lease_db *db, const char *dir, struct err *err)
{
	int rc = rtnl_open(rt);

	if (rc < 0)
		return err_set(err, rc, "rtnetlink socket: %s", strerror(-rc));
	rc = lease_db_open(db, dir, err);
	if (rc < 0)
		nl_close(rt);
	return rc;
}

/* Clean the leases of dead owners in an open db; saves when anything changed. */
static int gc_locked(struct lease_db *db, struct nl *rt, unsigned int *removed, struct err *err)
{
	unsigned int n = 0;
	uint64_t self = 0;
	int rc = 0;

	lease_netns_self(&self);
	for (size_t i = 0; i < db->n;) {
		const struct lease *l = &db->v[i];

		if (lease_owner_alive(l->pid, l->start)) {
			i++;
			continue;
		}
		if (l->netns && l->netns != self) {
			/* its link and rules are another namespace's: gc there reclaims
			 * them; once that namespace is gone, so are they */
			if (lease_netns_exists(l->netns)) {
				i++;
				continue;
			}
		} else {
			rc = lease_cleanup(rt, l, true, err);
			if (rc < 0)
				break;
		}
		lease_db_remove(db, i);
		n++;
	}
	if (n) {
		int src = lease_db_save(db, rc < 0 ? NULL : err);

		if (rc == 0)
			rc = src;
	}
	if (removed)
		*removed = n;
	return rc;
}

static void default_tap_name(char *buf, const struct lease_pool *p, const struct lease *l)
{
	snprintf(buf, LEASE_LINK_MAX, "svmm%u", (l->net - p->net) >> (32 - p->vm_plen));
}

static int check_config(const struct net_vm_config *cfg, struct err *err)
{
	if (!cfg->id || !lease_id_valid(cfg->id))
		return err_set(err, -EINVAL, "--id '%s': use 1-%d of [A-Za-z0-9_.-]",
			       cfg->id ? cfg->id : "", LEASE_ID_MAX);
	if (cfg->tap && cfg->link)
		return err_set(err, -EINVAL, "--tap and --link exclude each other");
	if (cfg->tap && !tap_name_valid(cfg->tap))
		return err_set(err, -EINVAL, "--tap '%s' is not a valid interface name", cfg->tap);
	if (cfg->link && !tap_name_valid(cfg->link))
		return err_set(err, -EINVAL, "--link '%s' is not a valid interface name",
			       cfg->link);
	if (cfg->bridge && cfg->link)
		return err_set(err, -EINVAL, "--bridge applies to a TAP, not to --link");
	if (cfg->uplink && strcmp(cfg->uplink, "none") && !tap_name_valid(cfg->uplink))
		return err_set(err, -EINVAL, "--uplink '%s' is not a valid interface name",
			       cfg->uplink);
	if (cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 65535))
		return err_set(err, -EINVAL, "--mtu %u: use 68 to 65535", cfg->mtu);
	return 0;
}

static int pick_uplink(struct net_vm *vm, struct nl *rt, const struct net_vm_config *cfg)
{
	int ifindex;

	vm->uplink[0] = 0;
	if (cfg->bridge || (cfg->uplink && !strcmp(cfg->uplink, "none")))
		return 0;
	if (cfg->uplink) {
		snprintf(vm->uplink, sizeof(vm->uplink), "%s", cfg->uplink);
		return 0;
	}
	ifindex = rtnl_default_route_ifindex(rt);
	if (ifindex < 0 || !if_indextoname((unsigned int)ifindex, vm->uplink)) {
		vm->uplink[0] = 0;
		snprintf(vm->warning, sizeof(vm->warning),
			 "no IPv4 default route: VM '%s' gets no NAT (name one with --uplink)",
			 cfg->id);
	}
	return 0;
}

/* Link, address and rules for the lease just taken (db->v[db->n - 1]). */
static int bring_up(struct net_vm *vm, struct nl *rt, const struct net_vm_config *cfg, bool *rules,
		    struct err *err)
{
	struct lease *l = &vm->lease;
	char a[16];
	int ifindex, rc;

	if (l->created) {
		struct tap t;
		rc = tap_open(&t, l->link, 1, true, err);
		if (rc)
			return rc;
		vm->tap_fd = t.fd[0];
	}
	ifindex = rtnl_link_index(l->link);
	if (ifindex < 0)
		return err_set(err, ifindex, "--link %s: no such interface", l->link);
	if (cfg->mtu) {
		rc = rtnl_link_set_mtu(rt, ifindex, cfg->mtu);
		if (rc < 0)
			return err_set(err, rc, "--mtu %u on %s: %s", cfg->mtu, l->link,
				       strerror(-rc));
	}
	if (cfg->bridge) {
		int br = rtnl_link_index(cfg->bridge);

		if (br < 0)
			return err_set(err, br, "--bridge %s: no such interface", cfg->bridge);
		rc = rtnl_link_set_master(rt, ifindex, br);
		if (rc < 0)
			return err_set(err, rc, "attaching %s to --bridge %s: %s%s", l->link,
				       cfg->bridge, strerror(-rc), net_errno_hint(rc));
	} else {
		rc = rtnl_addr_add(rt, ifindex, l->host, l->plen);
		if (rc < 0)
			return err_set(err, rc, "address %s/%u on %s: %s%s", lease_ntoa(l->host, a),
				       l->plen, l->link, strerror(-rc), net_errno_hint(rc));
	}
	rc = rtnl_link_set_up(rt, ifindex, true);
	if (rc < 0)
		return err_set(err, rc, "bringing %s up: %s%s", l->link, strerror(-rc),
			       net_errno_hint(rc));
	if (!cfg->bridge) {
		struct fw_vm fv = {
			.id = l->id,
			.link = l->link,
			.guest = l->guest,
			.uplink = vm->uplink[0] ? vm->uplink : NULL,
			.fwd = cfg->fwd,
			.nfwd = cfg->nfwd,
			.allow = cfg->allow,
			.nallow = cfg->nallow,
		};
		struct fw fw;

		rc = fw_open(&fw, l->table, err);
		if (rc < 0)
			return rc;
		rc = fw_vm_add(&fw, &fv, err);
		fw_close(&fw);
		if (rc < 0)
			return rc;
		*rules = true;
		if (cfg->nfwd) {
			rc = ipfwd_route_localnet(l->link, err);
			if (rc < 0)
				return rc;
		}
	}
	if (cfg->ip_forward)
		return ipfwd_enable(err);
	if (vm->uplink[0] || cfg->nfwd) {
		bool on = true;

		if (ipfwd_get(&on, NULL) == 0 && !on)
			snprintf(vm->warning, sizeof(vm->warning),
				 "IPv4 forwarding is off: VM '%s' reaches nothing beyond the host "
				 "(use --ip-forward)",
				 l->id);
	}
	return 0;
}

int net_vm_setup(struct net_vm *vm, const struct net_vm_config *cfg, struct err *err)
{
	const char *dir = cfg->dir ? cfg->dir : LEASE_DEFAULT_DIR;
	const char *table = cfg->table ? cfg->table : FW_DEFAULT_TABLE;
	uint32_t avoid[MAX_HOST_ADDRS];
	struct lease_pool pool;
	struct lease tmpl;
	struct lease_db db;
	struct nl rt;
	size_t navoid = 0;
	bool rules = false;
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->tap_fd = -1;
	rc = check_config(cfg, err);
	if (rc < 0)
		return rc;
	if (!lease_table_valid(table))
		return err_set(err, -EINVAL, "--table '%s': use 1-%d of [A-Za-z0-9_-]", table,
			       LEASE_TABLE_MAX);
	rc = lease_pool_parse(&pool, cfg->pool ? cfg->pool : LEASE_DEFAULT_POOL,
			      cfg->block ? cfg->block : 30, err);
	if (rc < 0)
		return rc;
	snprintf(vm->dir, sizeof(vm->dir), "%s", dir);
	snprintf(vm->table, sizeof(vm->table), "%s", table);

	memset(&tmpl, 0, sizeof(tmpl));
	snprintf(tmpl.id, sizeof(tmpl.id), "%s", cfg->id);
	snprintf(tmpl.table, sizeof(tmpl.table), "%s", table);
	tmpl.pid = getpid();
	rc = lease_proc_start(tmpl.pid, &tmpl.start);
	if (rc == 0)
		rc = lease_netns_self(&tmpl.netns);
	if (rc < 0)
		return err_set(err, rc, "/proc/self: %s", strerror(-rc));
	if (cfg->uplink && strcmp(cfg->uplink, "none") && rtnl_link_index(cfg->uplink) < 0)
		return err_set(err, -ENODEV, "--uplink %s: no such interface", cfg->uplink);
	if (cfg->link) {
		if (rtnl_link_index(cfg->link) < 0)
			return err_set(err, -ENODEV, "--link %s: no such interface", cfg->link);
		snprintf(tmpl.link, sizeof(tmpl.link), "%s", cfg->link);
	} else {
		tmpl.created = true;
		if (cfg->tap)
			snprintf(tmpl.link, sizeof(tmpl.link), "%s", cfg->tap);
	}

	rc = session_open(&rt, &db, dir, err);
	if (rc < 0)
		return rc;
	rc = gc_locked(&db, &rt, NULL, err);
	if (rc < 0)
		goto out_db;
	pick_uplink(vm, &rt, cfg);
	rc = rtnl_addr_list(&rt, avoid, MAX_HOST_ADDRS, &navoid);
	if (rc < 0) {
		err_set(err, rc, "listing the host's addresses: %s", strerror(-rc));
		goto out_db;
	}
	rc = lease_db_alloc(&db, &pool, &tmpl, avoid, navoid, err);
	if (rc < 0)
		goto out_db;
	if (!db.v[db.n - 1].link[0])
		default_tap_name(db.v[db.n - 1].link, &pool, &db.v[db.n - 1]);
	vm->lease = db.v[db.n - 1];
	if (vm->lease.created && rtnl_link_index(vm->lease.link) >= 0) {
		rc = err_set(err, -EEXIST, "--tap %s: an interface of that name already exists",
			     vm->lease.link);
		goto out_db;
	}
	rc = lease_db_save(&db, err); /* the record exists before any kernel object */
	if (rc < 0)
		goto out_db;
	rc = bring_up(vm, &rt, cfg, &rules, err);
	if (rc < 0) {
		if (vm->tap_fd >= 0)
			close(vm->tap_fd);
		vm->tap_fd = -1;
		lease_cleanup(&rt, &vm->lease, rules, NULL);
		lease_db_remove(&db, db.n - 1);
		lease_db_save(&db, NULL);
	}
out_db:
	lease_db_close(&db);
	nl_close(&rt);
	return rc;
}

static bool same_owner(const struct lease *a, const struct lease *b)
{
	return a->pid == b->pid && a->start == b->start && !strcmp(a->link, b->link);
}

/* Remove the lease of id in dir and what it stands for; with owner, only
 * when that process still holds it (0 otherwise). */
static int remove_lease(const char *dir, const char *id, const struct lease *owner, struct err *err)
{
	struct lease_db db;
	struct nl rt;
	uint64_t self;
	int rc, i;

	rc = session_open(&rt, &db, dir, err);
	if (rc < 0)
		return rc;
	i = lease_db_find(&db, id);
	if (i < 0 && !owner)
		rc = err_set(err, -ENOENT, "--id %s: no lease in %s", id, db.path);
	if (i < 0 || (owner && !same_owner(&db.v[i], owner)))
		goto out_db; /* with owner: removed by net down or gc, nothing of ours is left */
	if (db.v[i].netns && lease_netns_self(&self) == 0 && db.v[i].netns != self) {
		rc = err_set(err, -EXDEV,
			     "VM id '%s' lives in another network namespace (inode %" PRIu64
			     "): run this there",
			     id, db.v[i].netns);
		goto out_db;
	}
	rc = lease_cleanup(&rt, &db.v[i], true, err);
	if (rc < 0)
		goto out_db;
	lease_db_remove(&db, (size_t)i);
	rc = lease_db_save(&db, err);
out_db:
	lease_db_close(&db);
	nl_close(&rt);
	return rc;
}

int net_vm_teardown(struct net_vm *vm, struct err *err)
{
	if (vm->tap_fd >= 0)
		close(vm->tap_fd);
	vm->tap_fd = -1;
	return remove_lease(vm->dir, vm->lease.id, &vm->lease, err);
}

int net_down(const char *dir, const char *id, struct err *err)
{
	return remove_lease(dir, id, NULL, err);
}

struct orphan_ctx {
	struct lease_db *db;
	struct fw *fw;
	unsigned int removed;
	struct err *err;
};

static int orphan_cb(const char *id, void *data)
{
	struct orphan_ctx *o = data;
	int i = lease_db_find(o->db, id);
	int rc;

	if (i >= 0 && !strcmp(o->db->v[i].table, o->fw->table))
		return 0;
	rc = fw_vm_del(o->fw, id, o->err);
	if (rc == 0)
		o->removed++;
	return rc;
}

int net_gc(const char *dir, const char *table, unsigned int *removed, struct err *err)
{
	struct lease_db db;
	struct nl rt;
	struct fw fw;
	unsigned int n = 0;
	int rc;

	*removed = 0;
	rc = session_open(&rt, &db, dir, err);
	if (rc < 0)
		return rc;
	rc = gc_locked(&db, &rt, &n, err);
	if (rc < 0)
		goto out_db;
	rc = fw_open(&fw, table, err);
	if (rc == 0) {
		struct orphan_ctx o = { &db, &fw, 0, err };

		/* collect first, then delete: the dump must not change under us */
		rc = fw_vm_list(&fw, orphan_cb, &o, err);
		n += o.removed;
		fw_close(&fw);
	}
out_db:
	lease_db_close(&db);
	nl_close(&rt);
	*removed = n;
	return rc;
}
