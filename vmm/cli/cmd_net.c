// SPDX-License-Identifier: Apache-2.0
/*
 * svmm net: set up, tear down and garbage-collect VM networks.
 *
 *   svmm net up --id ID [--tap NAME | --link IF] [--bridge BR] [-p [A:]HP:GP[/udp]]...
 *               [--allow host[:P[/udp]] | A.B.C.D[/P][:P[/udp]]]... [--uplink IF|none]
 *               [--pool CIDR] [--block 30|31] [--mtu N] [--ip-forward] [--table T] [--dir D]
 *       sets the network up, prints one line describing it, holds it until
 *       SIGINT, SIGTERM or SIGHUP, then tears it down.
 *   svmm net down --id ID [--dir D]      removes ID's rules, TAP and lease
 *   svmm net gc [--dir D] [--table T]    removes those of VMs whose owner is gone
 *   svmm net lease --id ID [--pool CIDR] [--block 30|31] [--dir D] [--hold]
 *       takes a lease only (and holds it until signalled with --hold)
 *   svmm net ls [--dir D]                lists the leases
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/firewall.h"
#include "net/lease.h"
#include "net/netvm.h"
#include "vmm/cli/cmd_net.h"

struct net_args {
	struct net_vm_config cfg;
	struct fw_forward fwd[FW_MAX_RULES];
	struct fw_allow allow[FW_MAX_RULES];
	bool hold;
};

enum {
	O_ID = 256,
	O_TAP,
	O_LINK,
	O_BRIDGE,
	O_ALLOW,
	O_UPLINK,
	O_POOL,
	O_BLOCK,
	O_MTU,
	O_IPFWD,
	O_TABLE,
	O_DIR,
	O_HOLD,
};

static const struct option long_opts[] = {
	{ "id", required_argument, NULL, O_ID },
	{ "tap", required_argument, NULL, O_TAP },
	{ "link", required_argument, NULL, O_LINK },
	{ "bridge", required_argument, NULL, O_BRIDGE },
	{ "publish", required_argument, NULL, 'p' },
	{ "allow", required_argument, NULL, O_ALLOW },
	{ "uplink", required_argument, NULL, O_UPLINK },
	{ "pool", required_argument, NULL, O_POOL },
	{ "block", required_argument, NULL, O_BLOCK },
	{ "mtu", required_argument, NULL, O_MTU },
	{ "ip-forward", no_argument, NULL, O_IPFWD },
	{ "table", required_argument, NULL, O_TABLE },
	{ "dir", required_argument, NULL, O_DIR },
	{ "hold", no_argument, NULL, O_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svmm net up --id ID [--tap NAME | --link IF] [--bridge BR]\n"
		"                   [-p [ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]]...\n"
		"                   [--allow host[:PORT[/udp]] | A.B.C.D[/P][:PORT[/udp]]]...\n"
		"                   [--uplink IF|none] [--pool CIDR] [--block 30|31] [--mtu N]\n"
		"                   [--ip-forward] [--table NAME] [--dir DIR]\n"
		"       svmm net down --id ID [--dir DIR]\n"
		"       svmm net gc [--dir DIR] [--table NAME]\n"
		"       svmm net lease --id ID [--pool CIDR] [--block 30|31] [--dir DIR] [--hold]\n"
		"       svmm net ls [--dir DIR]\n"
		"defaults: --pool %s --block 30 --table %s --dir %s\n",
		LEASE_DEFAULT_POOL, FW_DEFAULT_TABLE, LEASE_DEFAULT_DIR);
}

static int parse_uint(const char *flag, const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > max) {
		fprintf(stderr, "svmm net: %s '%s': expected a number up to %u\n", flag, s, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

/* 0, or 2 (usage) after printing what is wrong. */
static int parse_args(struct net_args *a, int argc, char **argv)
{
	struct net_vm_config *c = &a->cfg;
	struct err err;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case O_ID:
			c->id = optarg;
			break;
		case O_TAP:
			c->tap = optarg;
			break;
		case O_LINK:
			c->link = optarg;
			break;
		case O_BRIDGE:
			c->bridge = optarg;
			break;
		case 'p':
			if (c->nfwd == FW_MAX_RULES) {
				fprintf(stderr, "svmm net: -p: at most %d\n", FW_MAX_RULES);
				return 2;
			}
			if (fw_forward_parse(&a->fwd[c->nfwd], optarg, &err) < 0) {
				fprintf(stderr, "svmm net: -p: %s\n", err.msg);
				return 2;
			}
			c->nfwd++;
			break;
		case O_ALLOW:
			if (c->nallow == FW_MAX_RULES) {
				fprintf(stderr, "svmm net: --allow: at most %d\n", FW_MAX_RULES);
				return 2;
			}
			if (fw_allow_parse(&a->allow[c->nallow], optarg, &err) < 0) {
				fprintf(stderr, "svmm net: --allow: %s\n", err.msg);
				return 2;
			}
			c->nallow++;
			break;
		case O_UPLINK:
			c->uplink = optarg;
			break;
		case O_POOL:
			c->pool = optarg;
			break;
		case O_BLOCK:
			if (parse_uint("--block", optarg, 32, &c->block) < 0)
				return 2;
			if (c->block != 30 && c->block != 31) {
				fprintf(stderr, "svmm net: --block %u: use 30 or 31\n", c->block);
				return 2;
			}
			break;
		case O_MTU:
			if (parse_uint("--mtu", optarg, 65535, &c->mtu) < 0)
				return 2;
			break;
		case O_IPFWD:
			c->ip_forward = true;
			break;
		case O_TABLE:
			c->table = optarg;
			break;
		case O_DIR:
			c->dir = optarg;
			break;
		case O_HOLD:
			a->hold = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svmm net: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	c->fwd = a->fwd;
	c->allow = a->allow;
	if (!c->dir)
		c->dir = LEASE_DEFAULT_DIR;
	if (!c->table)
		c->table = FW_DEFAULT_TABLE;
	return 0;
}

static int need_id(const char *sub, const struct net_vm_config *c)
{
	if (c->id)
		return 0;
	fprintf(stderr, "svmm net %s: --id is required\n", sub);
	return 2;
}

/* Block the stop signals now; wait for one later. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigprocmask(SIG_BLOCK, set, NULL);
}

static void print_lease(const struct lease *l, const char *uplink)
{
	char n[16], h[16], g[16];

	printf("id=%s link=%s host=%s/%u guest=%s/%u gateway=%s net=%s/%u", l->id, l->link,
	       lease_ntoa(l->host, h), l->plen, lease_ntoa(l->guest, g), l->plen, h,
	       lease_ntoa(l->net, n), l->plen);
	if (uplink)
		printf(" uplink=%s", uplink[0] ? uplink : "none");
	printf("\n");
	fflush(stdout);
}

static int net_up(struct net_args *a)
{
	struct net_vm vm;
	struct err err;
	sigset_t set;
	int sig, rc;

	stop_signals(&set);
	rc = net_vm_setup(&vm, &a->cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "svmm net up: %s\n", err.msg);
		return 1;
	}
	/* The TAP is persistent: let a VMM (or anything) attach to it by name. */
	if (vm.tap_fd >= 0)
		close(vm.tap_fd);
	vm.tap_fd = -1;
	if (vm.warning[0])
		fprintf(stderr, "svmm net up: warning: %s\n", vm.warning);
	print_lease(&vm.lease, vm.uplink);
	sigwait(&set, &sig);
	rc = net_vm_teardown(&vm, &err);
	if (rc < 0) {
		fprintf(stderr, "svmm net up: teardown: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int net_lease(struct net_args *a)
{
	const struct net_vm_config *c = &a->cfg;
	struct lease_pool pool;
	struct lease_db db;
	struct lease tmpl = { .created = false };
	struct err err;
	sigset_t set;
	int sig, rc;

	if (!lease_id_valid(c->id)) {
		fprintf(stderr, "svmm net lease: --id '%s': use 1-%d of [A-Za-z0-9_.-]\n", c->id,
			LEASE_ID_MAX);
		return 2;
	}
	if (lease_pool_parse(&pool, c->pool ? c->pool : LEASE_DEFAULT_POOL,
			     c->block ? c->block : 30, &err) < 0) {
		fprintf(stderr, "svmm net lease: --pool: %s\n", err.msg);
		return 2;
	}
	stop_signals(&set);
	snprintf(tmpl.id, sizeof(tmpl.id), "%s", c->id);
	snprintf(tmpl.link, sizeof(tmpl.link), "-");
	snprintf(tmpl.table, sizeof(tmpl.table), "%s", c->table);
	tmpl.pid = getpid();
	if (lease_proc_start(tmpl.pid, &tmpl.start) < 0 || lease_netns_self(&tmpl.netns) < 0) {
		fprintf(stderr, "svmm net lease: cannot read /proc/self/stat\n");
		return 1;
	}
	rc = lease_db_open(&db, c->dir, &err);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < db.n;) { /* a lease only: reclaim dead ones, nothing else */
		if (lease_owner_alive(db.v[i].pid, db.v[i].start) || strcmp(db.v[i].link, "-"))
			i++;
		else
			lease_db_remove(&db, i);
	}
	rc = lease_db_alloc(&db, &pool, &tmpl, NULL, 0, &err);
	if (rc == 0)
		rc = lease_db_save(&db, &err);
	if (rc == 0)
		print_lease(&db.v[db.n - 1], NULL);
	lease_db_close(&db);
	if (rc < 0)
		goto fail;
	if (!a->hold)
		return 0;
	sigwait(&set, &sig);
	rc = lease_db_open(&db, c->dir, &err);
	if (rc < 0)
		goto fail;
	rc = lease_db_find(&db, c->id);
	if (rc >= 0 && db.v[rc].pid == tmpl.pid && db.v[rc].start == tmpl.start) {
		lease_db_remove(&db, (size_t)rc);
		rc = lease_db_save(&db, &err);
	} else {
		rc = 0;
	}
	lease_db_close(&db);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "svmm net lease: %s\n", err.msg);
	return 1;
}

static int net_ls(struct net_args *a)
{
	struct lease_db db;
	struct err err;
	char line[512];

	if (lease_db_open(&db, a->cfg.dir, &err) < 0) {
		fprintf(stderr, "svmm net ls: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < db.n; i++) {
		if (lease_format(&db.v[i], line, sizeof(line)) == 0)
			printf("%s alive=%d\n", line,
			       lease_owner_alive(db.v[i].pid, db.v[i].start) ? 1 : 0);
	}
	lease_db_close(&db);
	return 0;
}

int cmd_net(int argc, char **argv)
{
	struct net_args *a;
	struct err err;
	const char *sub;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	rc = parse_args(a, argc - 1, argv + 1);
	if (rc)
		goto out;
	if (!strcmp(sub, "up")) {
		rc = need_id(sub, &a->cfg);
		if (!rc)
			rc = net_up(a);
	} else if (!strcmp(sub, "down")) {
		rc = need_id(sub, &a->cfg);
		if (!rc && net_down(a->cfg.dir, a->cfg.id, &err) < 0) {
			fprintf(stderr, "svmm net down: %s\n", err.msg);
			rc = 1;
		}
	} else if (!strcmp(sub, "gc")) {
		unsigned int n = 0;

		if (net_gc(a->cfg.dir, a->cfg.table, &n, &err) < 0) {
			fprintf(stderr, "svmm net gc: %s\n", err.msg);
			rc = 1;
		}
		printf("removed %u\n", n);
	} else if (!strcmp(sub, "lease")) {
		rc = need_id(sub, &a->cfg);
		if (!rc)
			rc = net_lease(a);
	} else if (!strcmp(sub, "ls")) {
		rc = net_ls(a);
	} else {
		fprintf(stderr, "svmm net: unknown subcommand '%s' (up, down, gc, lease, ls)\n",
			sub);
		rc = 2;
	}
out:
	free(a);
	return rc;
}
