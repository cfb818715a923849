// SPDX-License-Identifier: Apache-2.0
/* nf_tables firewall and NAT for VMs, built with libnftnl and sent with libmnl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "net/firewall.h"
#include "net/lease.h"

#define IFNAMSZ	       16
#define TYPE_IPV4_ADDR 7 /* nft's datatype numbers, so nft(8) prints the maps */
#define TYPE_IFNAME    41
#define CT_ESTABLISHED (1u << 1) /* NF_CT_STATE_BIT(IP_CT_ESTABLISHED) */
#define CT_RELATED     (1u << 2)
#define CT_STATUS_DNAT (1u << 5) /* IPS_DST_NAT */
#define BATCH_SIZE     (256 * 1024)
#define CHAIN_NAME_MAX (3 + LEASE_ID_MAX + 8 + 1)

static const char *const vm_suffixes[] = { "egress", "ingress", "input",  "snat",
					   "dnat",   "local",	"hairpin" };
#define N_SUFFIXES (sizeof(vm_suffixes) / sizeof(vm_suffixes[0]))

/* The three ifname maps and the snat map, with the set ids used when the
 * skeleton is created in the same batch. */
static const struct {
	const char *name;
	uint32_t key_type, key_len, id;
	uint32_t key_order; /* for nft(8)'s printing: 1 host (strings), 2 big endian */
} maps[] = {
	{ "egress", TYPE_IFNAME, IFNAMSZ, 1, 1 },
	{ "ingress", TYPE_IFNAME, IFNAMSZ, 2, 1 },
	{ "input", TYPE_IFNAME, IFNAMSZ, 3, 1 },
	{ "snat", TYPE_IPV4_ADDR, 4, 4, 2 },
};
#define N_MAPS (sizeof(maps) / sizeof(maps[0]))

/* ---- spec parsing ---- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Split off "/tcp" or "/udp" at the end of s (modified); tcp when absent unless any_ok. */
static int parse_proto_suffix(char *s, uint8_t *proto, bool any_ok)
{
	char *slash = strrchr(s, '/');

	*proto = any_ok ? 0 : IPPROTO_TCP;
	if (!slash || strchr(slash, '.'))
		return 0;
	if (!strcmp(slash, "/tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(slash, "/udp"))
		*proto = IPPROTO_UDP;
	else if (strchr(slash + 1, ':') == NULL && any_ok && !strchr(s, ':'))
		return 0; /* "A.B.C.D/24": a prefix, not a protocol */
	else
		return -EINVAL;
	*slash = 0;
	return 0;
}

int fw_forward_parse(struct fw_forward *f, const char *spec, struct err *err)
{
	char buf[64], *parts[3], *p;
	int n = 0;

	memset(f, 0, sizeof(*f));
	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	if (parse_proto_suffix(buf, &f->proto, false) < 0)
		goto bad;
	for (p = buf; n < 3; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	if (p || n < 1)
		goto bad;
	if (n == 2 && lease_aton(parts[0], &f->host_addr) < 0)
		goto bad;
	if (parse_port(parts[n - 1], &f->host_port) < 0 || parse_port(parts[n], &f->guest_port) < 0)
		goto bad;
	return 0;
bad:
	return err_set(err, -EINVAL,
		       "port forward '%s': expected [ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]", spec);
}

int fw_allow_parse(struct fw_allow *a, const char *spec, struct err *err)
{
	char buf[64], *colon, *slash;
	unsigned long plen = 32;

	memset(a, 0, sizeof(*a));
	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	if (colon) {
		*colon++ = 0;
		if (parse_proto_suffix(colon, &a->proto, false) < 0 ||
		    parse_port(colon, &a->port) < 0)
			goto bad;
	}
	if (!strcmp(buf, "host")) {
		a->host = true;
		return 0;
	}
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		*slash++ = 0;
		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (*slash < '0' || *slash > '9' || *end || errno || plen > 32)
			goto bad;
	}
	if (lease_aton(buf, &a->net) < 0)
		goto bad;
	a->plen = (unsigned int)plen;
	if (plen < 32 && (a->net & (plen ? ~(~0u << (32 - plen)) : ~0u)))
		goto bad;
	return 0;
bad:
	return err_set(err, -EINVAL,
		       "allow '%s': expected host[:PORT[/tcp|/udp]] or "
		       "A.B.C.D[/P][:PORT[/tcp|/udp]] (network address without host bits)",
		       spec);
}

/* ---- netlink plumbing ---- */

static int fw_fail(struct err *err, int rc, const char *what, const char *table)
{
	return err_set(err, rc, "nf_tables table inet %s: %s: %s%s", table, what, strerror(-rc),
		       net_errno_hint(rc));
}

int fw_open(struct fw *fw, const char *table, struct err *err)
{
	int rc, rcvbuf = 4 << 20;

	if (!lease_table_valid(table))
		return err_set(err, -EINVAL, "table name '%s': use 1-%d of [A-Za-z0-9_-]", table,
			       LEASE_TABLE_MAX);
	snprintf(fw->table, sizeof(fw->table), "%s", table);
	rc = nl_open(&fw->nl, NETLINK_NETFILTER);
	if (rc < 0)
		return err_set(err, rc, "netfilter netlink socket: %s%s", strerror(-rc),
			       net_errno_hint(rc));
	/* Room for one ack per message of the largest batch (a few hundred), so
	 * that no error is lost to a full receive queue. Best effort. */
	setsockopt(mnl_socket_get_fd(fw->nl.sock), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		   sizeof(rcvbuf));
	return 0;
}

void fw_close(struct fw *fw)
{
	nl_close(&fw->nl);
}

struct batch {
	struct fw *fw;
	char *buf;
	struct mnl_nlmsg_batch *b;
	bool full;
};

static int batch_start(struct batch *b, struct fw *fw)
{
	b->fw = fw;
	b->full = false;
	b->buf = malloc(BATCH_SIZE * 2); /* mnl batches may overrun by one message */
	if (!b->buf)
		return -ENOMEM;
	b->b = mnl_nlmsg_batch_start(b->buf, BATCH_SIZE);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->b), fw->nl.seq++);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type, NFPROTO_INET,
				     flags | NLM_F_ACK, b->fw->nl.seq++);
}

static void batch_next(struct batch *b)
{
	if (!mnl_nlmsg_batch_next(b->b))
		b->full = true;
}

static int batch_send(struct batch *b)
{
	int rc;

	if (b->full)
		return -E2BIG;
	nftnl_batch_end(mnl_nlmsg_batch_current(b->b), b->fw->nl.seq++);
	mnl_nlmsg_batch_next(b->b);
	rc = nl_batch(&b->fw->nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b));
	return rc;
}

static void batch_free(struct batch *b)
{
	if (b->b)
		mnl_nlmsg_batch_stop(b->b);
	free(b->buf);
	b->b = NULL;
	b->buf = NULL;
}

/* ---- expressions ---- */

static void add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(r, e);
}

static void e_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add(r, e);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add(r, e);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add(r, e);
}

static void e_bitwise(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	static const uint8_t zero[16];

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add(r, e);
}

static void e_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	add(r, e);
}

static void e_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	add(r, e);
}

static void e_vmap(struct nftnl_rule *r, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	add(r, e);
}

static void m_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
	char buf[IFNAMSZ] = { 0 };

	strncpy(buf, name, sizeof(buf) - 1);
	e_meta(r, key);
	e_cmp(r, NFT_CMP_EQ, buf, sizeof(buf));
}

static void m_ipv4(struct nftnl_rule *r)
{
	uint8_t v4 = NFPROTO_IPV4;

	e_meta(r, NFT_META_NFPROTO);
	e_cmp(r, NFT_CMP_EQ, &v4, 1);
}

/* ip saddr (off 12) or ip daddr (off 16) within addr/plen */
static void m_addr(struct nftnl_rule *r, uint32_t off, uint32_t addr, unsigned int plen)
{
	uint32_t mask = htonl(plen ? ~0u << (32 - plen) : 0), be = htonl(addr) & mask;

	m_ipv4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 4);
	if (plen < 32)
		e_bitwise(r, &mask, 4);
	e_cmp(r, NFT_CMP_EQ, &be, 4);
}

static void m_l4(struct nftnl_rule *r, uint8_t proto, uint16_t dport)
{
	uint16_t be = htons(dport);

	if (!proto)
		return;
	e_meta(r, NFT_META_L4PROTO);
	e_cmp(r, NFT_CMP_EQ, &proto, 1);
	if (dport) {
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		e_cmp(r, NFT_CMP_EQ, &be, 2);
	}
}

static void m_ct(struct nftnl_rule *r, uint32_t key, uint32_t bits)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	add(r, e);
	e_bitwise(r, &bits, 4);
	e_cmp(r, NFT_CMP_NEQ, &zero, 4);
}

/* ---- objects ---- */

static struct nftnl_rule *rule_new(struct fw *fw, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, fw->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void rule_put(struct batch *b, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(b);
}

/* ct state established,related accept */
static void rule_replies(struct batch *b, const char *chain)
{
	struct nftnl_rule *r = rule_new(b->fw, chain);

	m_ct(r, NFT_CT_STATE, CT_ESTABLISHED | CT_RELATED);
	e_verdict(r, NF_ACCEPT);
	rule_put(b, r);
}

static void rule_drop(struct batch *b, const char *chain)
{
	struct nftnl_rule *r = rule_new(b->fw, chain);

	e_verdict(r, NF_DROP);
	rule_put(b, r);
}

/* A chain; a base chain when type is non-NULL. */
static void chain_put(struct batch *b, const char *name, const char *type, uint32_t hook, int prio,
		      uint16_t flags)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->fw->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | flags);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(b);
}

static void skeleton_put(struct batch *b)
{
	struct fw *fw = b->fw;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	struct nftnl_rule *r;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, fw->table);
	nlh = batch_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(b);

	for (size_t i = 0; i < N_MAPS; i++) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);

		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, maps[i].key_order);
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_str(s, NFTNL_SET_TABLE, fw->table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, maps[i].name);
		nftnl_set_set_u32(s, NFTNL_SET_ID, maps[i].id);
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, maps[i].key_type);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, maps[i].key_len);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		batch_next(b);
	}

	chain_put(b, "forward", "filter", NF_INET_FORWARD, 0, 0);
	chain_put(b, "input", "filter", NF_INET_LOCAL_IN, 0, 0);
	chain_put(b, "postrouting", "nat", NF_INET_POST_ROUTING, 100, 0);

	r = rule_new(fw, "forward");
	e_meta(r, NFT_META_IIFNAME);
	e_vmap(r, "egress", 1);
	rule_put(b, r);
	r = rule_new(fw, "forward");
	e_meta(r, NFT_META_OIFNAME);
	e_vmap(r, "ingress", 2);
	rule_put(b, r);
	r = rule_new(fw, "input");
	e_meta(r, NFT_META_IIFNAME);
	e_vmap(r, "input", 3);
	rule_put(b, r);
	r = rule_new(fw, "postrouting");
	m_ipv4(r);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	e_vmap(r, "snat", 4);
	rule_put(b, r);
}

static void vm_chain_name(char *buf, const char *id, const char *suffix)
{
	snprintf(buf, CHAIN_NAME_MAX, "vm-%s-%s", id, suffix);
}

static void elem_put(struct batch *b, uint16_t type, size_t map, const void *key, uint32_t key_len,
		     const char *chain)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, b->fw->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, maps[map].name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, maps[map].id);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len);
	if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(s, e);
	nlh = batch_msg(b, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_next(b);
}

/* fib daddr type local [ip daddr A] PROTO dport HP dnat ip to GUEST:GP, for each forward */
static void forwards_put(struct batch *b, const char *chain, const struct fw_vm *vm)
{
	uint32_t guest_be = htonl(vm->guest), local = RTN_LOCAL;

	for (size_t i = 0; i < vm->nfwd; i++) {
		const struct fw_forward *f = &vm->fwd[i];
		struct nftnl_rule *r = rule_new(b->fw, chain);
		uint16_t gport = htons(f->guest_port);
		struct nftnl_expr *e;

		m_ipv4(r);
		e = nftnl_expr_alloc("fib");
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		add(r, e);
		e_cmp(r, NFT_CMP_EQ, &local, 4);
		if (f->host_addr)
			m_addr(r, 16, f->host_addr, 32);
		m_l4(r, f->proto, f->host_port);
		e_imm(r, NFT_REG_1, &guest_be, 4);
		e_imm(r, NFT_REG_2, &gport, 2);
		e = nftnl_expr_alloc("nat");
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
		add(r, e);
		rule_put(b, r);
	}
}

static void vm_put(struct batch *b, const struct fw_vm *vm)
{
	struct fw *fw = b->fw;
	char name[N_SUFFIXES][CHAIN_NAME_MAX], ifkey[IFNAMSZ] = { 0 };
	uint32_t guest_be = htonl(vm->guest);
	struct nftnl_rule *r;

	for (size_t i = 0; i < N_SUFFIXES; i++)
		vm_chain_name(name[i], vm->id, vm_suffixes[i]);
	for (size_t i = 0; i < 4; i++)
		chain_put(b, name[i], NULL, 0, 0, NLM_F_EXCL);

	/* egress: what the VM may start */
	rule_replies(b, name[0]);
	if (vm->uplink) {
		r = rule_new(fw, name[0]);
		m_addr(r, 12, vm->guest, 32);
		m_ifname(r, NFT_META_OIFNAME, vm->uplink);
		e_verdict(r, NF_ACCEPT);
		rule_put(b, r);
	}
	for (size_t i = 0; i < vm->nallow; i++) {
		const struct fw_allow *a = &vm->allow[i];

		if (a->host)
			continue;
		r = rule_new(fw, name[0]);
		m_addr(r, 12, vm->guest, 32);
		m_addr(r, 16, a->net, a->plen);
		m_l4(r, a->proto, a->port);
		e_verdict(r, NF_ACCEPT);
		rule_put(b, r);
	}
	rule_drop(b, name[0]);

	/* ingress: replies and port forwards only */
	rule_replies(b, name[1]);
	r = rule_new(fw, name[1]);
	m_addr(r, 16, vm->guest, 32);
	m_ct(r, NFT_CT_STATUS, CT_STATUS_DNAT);
	e_verdict(r, NF_ACCEPT);
	rule_put(b, r);
	rule_drop(b, name[1]);

	/* input: the host's own services */
	rule_replies(b, name[2]);
	for (size_t i = 0; i < vm->nallow; i++) {
		const struct fw_allow *a = &vm->allow[i];

		r = rule_new(fw, name[2]);
		if (!a->host)
			m_addr(r, 16, a->net, a->plen);
		m_l4(r, a->proto, a->port);
		e_verdict(r, NF_ACCEPT);
		rule_put(b, r);
	}
	rule_drop(b, name[2]);

	/* snat: masquerade out of the uplink */
	if (vm->uplink) {
		r = rule_new(fw, name[3]);
		m_ifname(r, NFT_META_OIFNAME, vm->uplink);
		add(r, nftnl_expr_alloc("masq"));
		rule_put(b, r);
	}

	/* dnat: port forwards to the guest, for packets from elsewhere and from
	 * the host itself; those from 127.0.0.0/8 leave masqueraded */
	if (vm->nfwd) {
		chain_put(b, name[4], "nat", NF_INET_PRE_ROUTING, -100, NLM_F_EXCL);
		forwards_put(b, name[4], vm);
		chain_put(b, name[5], "nat", NF_INET_LOCAL_OUT, -100, NLM_F_EXCL);
		forwards_put(b, name[5], vm);
		chain_put(b, name[6], "nat", NF_INET_POST_ROUTING, 100, NLM_F_EXCL);
		r = rule_new(fw, name[6]);
		m_ifname(r, NFT_META_OIFNAME, vm->link);
		m_addr(r, 12, 0x7f000000, 8);
		add(r, nftnl_expr_alloc("masq"));
		rule_put(b, r);
	}

	/* last, the map elements that send the VM's traffic to its chains */
	strncpy(ifkey, vm->link, sizeof(ifkey) - 1);
	for (size_t i = 0; i < 3; i++)
		elem_put(b, NFT_MSG_NEWSETELEM, i, ifkey, IFNAMSZ, name[i]);
	if (vm->uplink)
		elem_put(b, NFT_MSG_NEWSETELEM, 3, &guest_be, 4, name[3]);
}

static int vm_batch(struct fw *fw, const struct fw_vm *vm, bool skeleton)
{
	struct batch b;
	int rc = batch_start(&b, fw);

	if (rc < 0)
		return rc;
	if (skeleton)
		skeleton_put(&b);
	vm_put(&b, vm);
	rc = batch_send(&b);
	batch_free(&b);
	return rc;
}

int fw_vm_add(struct fw *fw, const struct fw_vm *vm, struct err *err)
{
	int rc;

	if (!lease_id_valid(vm->id))
		return err_set(err, -EINVAL, "VM id '%s': use 1-%d of [A-Za-z0-9_.-]", vm->id,
			       LEASE_ID_MAX);
	if (vm->nfwd > FW_MAX_RULES || vm->nallow > FW_MAX_RULES)
		return err_set(err, -E2BIG, "at most %d port forwards and %d allows per VM",
			       FW_MAX_RULES, FW_MAX_RULES);
	/* Try with the skeleton first: NLM_F_EXCL on the table makes the whole
	 * batch fail with EEXIST when it is there, then add the VM alone. */
	rc = vm_batch(fw, vm, true);
	if (rc == -EEXIST)
		rc = vm_batch(fw, vm, false);
	if (rc == -EEXIST)
		return err_set(err, rc,
			       "nf_tables table inet %s already has rules for VM id '%s' or link "
			       "%s (see 'svmm net gc' and 'svmm net down')",
			       fw->table, vm->id, vm->link);
	if (rc < 0)
		return err_set(err, rc,
			       "nf_tables table inet %s: adding the rules of VM id '%s': %s%s",
			       fw->table, vm->id, strerror(-rc),
			       rc == -ENOENT ? " (is a kernel module missing? nf_tables needs "
					       "nft_ct, nft_nat, nft_masq, nft_fib_inet)"
					     : net_errno_hint(rc));
	return 0;
}

/* ---- listing and removal ---- */

/* The id of a per-VM chain name, into id; false for any other name. */
static bool chain_vm_id(const char *name, char *id, const char **suffix)
{
	size_t n = strlen(name);

	if (strncmp(name, "vm-", 3) != 0)
		return false;
	for (size_t i = 0; i < N_SUFFIXES; i++) {
		size_t s = strlen(vm_suffixes[i]);

		if (n > 3 + s + 1 && name[n - s - 1] == '-' &&
		    !strcmp(name + n - s, vm_suffixes[i])) {
			size_t idlen = n - 3 - s - 1;

			if (idlen > LEASE_ID_MAX)
				return false;
			memcpy(id, name + 3, idlen);
			id[idlen] = 0;
			if (suffix)
				*suffix = vm_suffixes[i];
			return lease_id_valid(id);
		}
	}
	return false;
}

struct chain_list {
	const char *table;
	char (*names)[CHAIN_NAME_MAX];
	size_t n, max;
	const char *only_id; /* NULL: every per-VM chain */
};

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_list *l = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	char id[LEASE_ID_MAX + 1];

	if (c && nftnl_chain_nlmsg_parse(nlh, c) == 0) {
		const char *t = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);

		if (t && name && !strcmp(t, l->table) && chain_vm_id(name, id, NULL) &&
		    (!l->only_id || !strcmp(id, l->only_id)) && l->n < l->max)
			snprintf(l->names[l->n++], CHAIN_NAME_MAX, "%s", name);
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static void chains_reset(void *data)
{
	((struct chain_list *)data)->n = 0;
}

static int chains_list(struct fw *fw, struct chain_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET,
						     NLM_F_DUMP, fw->nl.seq++);

	l->table = fw->table;
	return nl_dump(&fw->nl, nlh, chain_cb, l, chains_reset);
}

struct elem_list {
	const struct chain_list *chains;
	struct {
		uint8_t key[IFNAMSZ];
		uint32_t len;
	} v[8];
	size_t n;
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elem_list *l = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		goto out;
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it))) { /* returns current, then advances */
		const char *chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		uint32_t len = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

		if (!chain || !key || len > IFNAMSZ || l->n >= 8)
			continue;
		for (size_t i = 0; i < l->chains->n; i++) {
			if (strcmp(chain, l->chains->names[i]))
				continue;
			memcpy(l->v[l->n].key, key, len);
			l->v[l->n++].len = len;
			break;
		}
	}
	if (it)
		nftnl_set_elems_iter_destroy(it);
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static void elems_reset(void *data)
{
	((struct elem_list *)data)->n = 0;
}

static int elems_list(struct fw *fw, size_t map, struct elem_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
						     NLM_F_DUMP, fw->nl.seq++);
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, fw->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, maps[map].name);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nl_dump(&fw->nl, nlh, elem_cb, l, elems_reset);
}

int fw_vm_del(struct fw *fw, const char *id, struct err *err)
{
	char names[N_SUFFIXES][CHAIN_NAME_MAX];
	struct chain_list cl = { .names = names, .max = N_SUFFIXES, .only_id = id };
	struct elem_list el = { .chains = &cl };
	struct batch b;
	int rc;

	if (!lease_id_valid(id))
		return err_set(err, -EINVAL, "VM id '%s' is not valid", id);
	rc = chains_list(fw, &cl);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return fw_fail(err, rc, "listing chains", fw->table);
	if (cl.n == 0)
		return 0;
	rc = batch_start(&b, fw);
	if (rc < 0)
		return err_set(err, rc, "out of memory");
	for (size_t m = 0; m < N_MAPS; m++) {
		rc = elems_list(fw, m, &el);
		if (rc < 0 && rc != -ENOENT) {
			batch_free(&b);
			return fw_fail(err, rc, "listing map elements", fw->table);
		}
		for (size_t i = 0; rc == 0 && i < el.n; i++)
			elem_put(&b, NFT_MSG_DELSETELEM, m, el.v[i].key, el.v[i].len, NULL);
	}
	for (size_t i = 0; i < cl.n; i++) {
		struct nftnl_rule *r = rule_new(fw, names[i]); /* no handle: flush the chain */
		struct nftnl_chain *c = nftnl_chain_alloc();
		struct nlmsghdr *nlh = batch_msg(&b, NFT_MSG_DELRULE, 0);

		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		batch_next(&b);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, fw->table);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, names[i]);
		nlh = batch_msg(&b, NFT_MSG_DELCHAIN, 0);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
		batch_next(&b);
	}
	rc = batch_send(&b);
	batch_free(&b);
	if (rc < 0)
		return fw_fail(err, rc, "removing the rules of a VM", fw->table);
	return 0;
}

int fw_vm_list(struct fw *fw, int (*cb)(const char *id, void *data), void *data, struct err *err)
{
	size_t max = 4096;
	char(*names)[CHAIN_NAME_MAX] = calloc(max, CHAIN_NAME_MAX);
	struct chain_list cl = { .names = names, .max = max };
	int rc;

	if (!names)
		return err_set(err, -ENOMEM, "out of memory");
	rc = chains_list(fw, &cl);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc < 0)
		rc = fw_fail(err, rc, "listing chains", fw->table);
	for (size_t i = 0; rc == 0 && i < cl.n; i++) {
		char id[LEASE_ID_MAX + 1];
		const char *suffix;

		/* once per id: report it at its egress chain, or its first chain */
		if (!chain_vm_id(names[i], id, &suffix))
			continue;
		bool first = true;

		for (size_t j = 0; j < i && first; j++) {
			char other[LEASE_ID_MAX + 1];

			first = !(chain_vm_id(names[j], other, NULL) && !strcmp(id, other));
		}
		if (first)
			rc = cb(id, data);
	}
	free(names);
	return rc;
}

int fw_table_del(struct fw *fw, struct err *err)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct batch b;
	struct nlmsghdr *nlh;
	int rc = batch_start(&b, fw);

	if (rc < 0) {
		nftnl_table_free(t);
		return err_set(err, rc, "out of memory");
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, fw->table);
	nlh = batch_msg(&b, NFT_MSG_DELTABLE, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(&b);
	rc = batch_send(&b);
	batch_free(&b);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? fw_fail(err, rc, "deleting the table", fw->table) : 0;
}
