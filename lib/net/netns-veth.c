/*
 * `vxcr ctx create --net veth[:HOSTIF][,addr=A/P][,host-addr=B/P]`: a veth
 * between the host and a context's new network namespace, eth0 inside,
 * HOSTIF (default vx<xid>) here, each end with its address and up.  Made
 * through libnl-route: the pair is created from the host with its peer put
 * straight into the namespace (IFLA_NET_NS_FD), so no moment exists where
 * the inner end is on the host; a name that exists here refuses.  If the
 * context's creation fails after this, its namespace dies with its init
 * and both ends with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "net/netns.h"
#include "net/netns-int.h"

/* An address "A/P" (IPv4 or IPv6): 0, or -EINVAL (logged). */
static int parse_cidr(const char *what, const char *s, char *out, size_t size)
{
	struct nl_addr *a = NULL;
	int ret;

	if (!strchr(s, '/') || strlen(s) >= size) {
		pr_err("--net: %s=%s: an address with its prefix length (A/P) is needed\n", what,
		       s);
		return -EINVAL;
	}
	ret = nl_addr_parse(s, AF_UNSPEC, &a);
	if (ret || (nl_addr_get_family(a) != AF_INET && nl_addr_get_family(a) != AF_INET6)) {
		pr_err("--net: %s=%s: not an IPv4 or IPv6 address\n", what, s);
		nl_addr_put(a);
		return -EINVAL;
	}
	nl_addr_put(a);
	snprintf(out, size, "%s", s);
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < IFNAMSIZ && !strpbrk(s, "/: \t\n,=") && strcmp(s, ".") && strcmp(s, "..");
}

int net_veth_spec_parse(const char *spec, uint32_t xid, struct net_veth_spec *s)
{
	char buf[256], *tok, *save = NULL;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "vx%u", xid);
	snprintf(s->inner, sizeof(s->inner), "eth0");
	if (strlen(spec) >= sizeof(buf)) {
		pr_err("--net: too long\n");
		return -EINVAL;
	}
	strcpy(buf, spec);
	tok = strtok_r(buf, ",", &save);
	if (!tok || strncmp(tok, "veth", 4) || (tok[4] && tok[4] != ':')) {
		pr_err("--net %s: only veth[:HOSTIF][,addr=A/P][,host-addr=B/P] is supported\n",
		       spec);
		return -EINVAL;
	}
	if (tok[4] == ':') {
		if (!name_ok(tok + 5)) {
			pr_err("--net: host link name '%s' refused (1..15 bytes, no / : , = or "
			       "space)\n",
			       tok + 5);
			return -EINVAL;
		}
		snprintf(s->host, sizeof(s->host), "%s", tok + 5);
	}
	while (!ret && (tok = strtok_r(NULL, ",", &save))) {
		if (!strncmp(tok, "addr=", 5))
			ret = parse_cidr("addr", tok + 5, s->addr, sizeof(s->addr));
		else if (!strncmp(tok, "host-addr=", 10))
			ret = parse_cidr("host-addr", tok + 10, s->host_addr, sizeof(s->host_addr));
		else {
			pr_err("--net: unknown part '%s' (addr=A/P, host-addr=B/P)\n", tok);
			ret = -EINVAL;
		}
	}
	return ret;
}

/* Adds cidr to link ifindex and brings it up, through sk. */
static int addr_and_up(struct nl_sock *sk, int ifindex, const char *name, const char *cidr)
{
	struct rtnl_link *old = rtnl_link_alloc(), *ch = rtnl_link_alloc();
	struct nl_addr *a = NULL;
	int ret = old && ch ? 0 : -NLE_NOMEM;

	if (!ret && cidr[0] && !(ret = nl_addr_parse(cidr, AF_UNSPEC, &a))) {
		struct rtnl_addr *ra = rtnl_addr_alloc();

		ret = ra ? 0 : -NLE_NOMEM;
		if (ra) {
			rtnl_addr_set_ifindex(ra, ifindex);
			rtnl_addr_set_family(ra, nl_addr_get_family(a));
			ret = rtnl_addr_set_local(ra, a);
			ret = ret ?: rtnl_addr_add(sk, ra, 0);
			rtnl_addr_put(ra);
		}
		nl_addr_put(a);
	}
	if (!ret) {
		rtnl_link_set_ifindex(old, ifindex);
		rtnl_link_set_flags(ch, IFF_UP);
		ret = rtnl_link_change(sk, old, ch, 0);
	}
	if (ret)
		pr_err("link %s: cannot set address %s and up: %s\n", name, cidr[0] ? cidr : "-",
		       nl_geterror(ret));
	rtnl_link_put(old);
	rtnl_link_put(ch);
	return ret ? netns_nlerr(ret) : 0;
}

static int link_index(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l = NULL;
	int ret = rtnl_link_get_kernel(sk, 0, name, &l);

	if (ret) {
		pr_err("link %s: %s\n", name, nl_geterror(ret));
		return netns_nlerr(ret);
	}
	ret = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return ret;
}

/* Inside the namespace (the thread is in it): eth0's address, up. */
static int inner_side(const struct net_veth_spec *s)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;

	if (ret) {
		pr_err("cannot open a NETLINK_ROUTE socket: %s\n", nl_geterror(ret));
		ret = netns_nlerr(ret);
	} else {
		ret = link_index(sk, s->inner);
		ret = ret < 0 ? ret : addr_and_up(sk, ret, s->inner, s->addr);
	}
	if (sk)
		nl_socket_free(sk);
	return ret;
}

/* The pair itself; a libnl error. */
static int add_pair(struct nl_sock *host, const struct net_veth_spec *s, int nsfd)
{
	struct rtnl_link *l = rtnl_link_veth_alloc(), *peer;
	int ret;

	if (!l)
		return -NLE_NOMEM;
	rtnl_link_set_name(l, s->host);
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(peer, s->inner);
	rtnl_link_set_ns_fd(peer, nsfd);
	rtnl_link_put(peer);
	ret = rtnl_link_add(host, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(l);
	return ret;
}

int net_veth_make(const struct net_veth_spec *s, int nsfd)
{
	struct nl_sock *host = nl_socket_alloc();
	int ret, idx, saved, back;

	if (!host)
		return -ENOMEM;
	ret = nl_connect(host, NETLINK_ROUTE);
	ret = ret ?: add_pair(host, s, nsfd);
	if (ret) {
		if (ret == -NLE_EXIST)
			pr_err("host link %s exists already\n", s->host);
		else
			pr_err("cannot create veth %s: %s\n", s->host, nl_geterror(ret));
		nl_socket_free(host);
		return netns_nlerr(ret);
	}
	idx = link_index(host, s->host);
	ret = idx < 0 ? idx : addr_and_up(host, idx, s->host, s->host_addr);
	nl_socket_free(host);
	if (!ret && !(ret = net_ns_enter(nsfd, &saved))) {
		ret = inner_side(s);
		back = net_ns_leave(saved);
		ret = ret ?: back;
	}
	return ret;
}
