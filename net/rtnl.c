// SPDX-License-Identifier: Apache-2.0
/* rtnetlink over libmnl: link state, MTU, bridge ports, IPv4 addresses, default route. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "net/rtnl.h"

int rtnl_open(struct nl *rt)
{
	return nl_open(rt, NETLINK_ROUTE);
}

int rtnl_link_index(const char *name)
{
	unsigned int i = if_nametoindex(name);

	return i ? (int)i : -ENODEV;
}

static struct nlmsghdr *link_msg(struct nl *rt, char *buf, uint16_t type, uint16_t flags,
				 int ifindex, struct ifinfomsg **ifm)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = rt->seq++;
	*ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifm));
	(*ifm)->ifi_family = AF_UNSPEC;
	(*ifm)->ifi_index = ifindex;
	return nlh;
}

int rtnl_link_set_up(struct nl *rt, int ifindex, bool up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(rt, buf, RTM_NEWLINK, 0, ifindex, &ifm);

	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	return nl_request(rt, nlh, NULL, NULL);
}

int rtnl_link_set_mtu(struct nl *rt, int ifindex, unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(rt, buf, RTM_NEWLINK, 0, ifindex, &ifm);

	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_request(rt, nlh, NULL, NULL);
}

int rtnl_link_set_master(struct nl *rt, int ifindex, int master)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(rt, buf, RTM_NEWLINK, 0, ifindex, &ifm);

	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return nl_request(rt, nlh, NULL, NULL);
}

int rtnl_link_del(struct nl *rt, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(rt, buf, RTM_DELLINK, 0, ifindex, &ifm);

	return nl_request(rt, nlh, NULL, NULL);
}

struct kind_out {
	char *kind;
	size_t len;
};

static int kind_info_cb(const struct nlattr *a, void *data)
{
	struct kind_out *o = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && !mnl_attr_validate(a, MNL_TYPE_STRING))
		snprintf(o->kind, o->len, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int kind_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && !mnl_attr_validate(a, MNL_TYPE_NESTED))
		mnl_attr_parse_nested(a, kind_info_cb, data);
	return MNL_CB_OK;
}

static int kind_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), kind_attr_cb, data);
	return MNL_CB_OK;
}

int rtnl_link_kind(struct nl *rt, int ifindex, char *kind, size_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(rt, buf, RTM_GETLINK, 0, ifindex, &ifm);
	struct kind_out o = { kind, len };

	kind[0] = 0; /* the reply, then the ack that ends nl_request() */
	return nl_request(rt, nlh, kind_cb, &o);
}

static int addr_msg(struct nl *rt, uint16_t type, uint16_t flags, int ifindex, uint32_t addr,
		    unsigned int plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint32_t be = htonl(addr);

	if (plen > 32)
		return -EINVAL;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = rt->seq++;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(be), &be);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(be), &be);
	return nl_request(rt, nlh, NULL, NULL);
}

int rtnl_addr_add(struct nl *rt, int ifindex, uint32_t addr, unsigned int plen)
{
	int rc = addr_msg(rt, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, plen);

	return rc == -EEXIST ? 0 : rc;
}

int rtnl_addr_del(struct nl *rt, int ifindex, uint32_t addr, unsigned int plen)
{
	return addr_msg(rt, RTM_DELADDR, 0, ifindex, addr, plen);
}

static void dump_msg(struct nl *rt, struct nlmsghdr *nlh, uint16_t type)
{
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = rt->seq++;
}

struct addr_list {
	uint32_t *v;
	size_t max, n;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	struct addr_list *l = data;

	if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4 && l->n < l->max)
		l->v[l->n++] = ntohl(*(const uint32_t *)mnl_attr_get_payload(a));
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

	if (ifa->ifa_family == AF_INET)
		mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, data);
	return MNL_CB_OK;
}

static void addr_reset(void *data)
{
	((struct addr_list *)data)->n = 0;
}

int rtnl_addr_list(struct nl *rt, uint32_t *addrs, size_t max, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct addr_list l = { addrs, max, 0 };
	int rc;

	dump_msg(rt, nlh, RTM_GETADDR);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	rc = nl_dump(rt, nlh, addr_cb, &l, addr_reset);
	*n = l.n;
	return rc;
}

struct route_out {
	int oif;
	bool dflt;
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
	struct route_out *o = data;

	if (mnl_attr_get_type(a) == RTA_OIF && !mnl_attr_validate(a, MNL_TYPE_U32))
		o->oif = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_out *res = data, o = { 0, false };

	if (res->dflt || rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 ||
	    rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, &o);
	if (o.oif > 0) {
		res->oif = o.oif;
		res->dflt = true;
	}
	return MNL_CB_OK;
}

static void route_reset(void *data)
{
	*(struct route_out *)data = (struct route_out){ 0, false };
}

int rtnl_default_route_ifindex(struct nl *rt)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct route_out o = { 0, false };
	int rc;

	dump_msg(rt, nlh, RTM_GETROUTE);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rc = nl_dump(rt, nlh, route_cb, &o, route_reset);
	if (rc < 0)
		return rc;
	return o.dflt ? o.oif : -ENETUNREACH;
}
