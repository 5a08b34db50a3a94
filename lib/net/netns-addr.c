/*
 * Addresses, routes, policy rules and permanent neighbours of a network
 * namespace, through libnl-route's caches (dump) and rtnl_*_add (build).
 * Left out at dump, because the kernel makes them itself: routes of the
 * local table and of protocol kernel (an address's prefix route, the
 * IPv6 link-local ones), routes learnt from router advertisements or
 * redirects, the default rules (0 local, 32766 main, 32767 default),
 * neighbours that are not NUD_PERMANENT.  Addresses are added with
 * NLM_F_REPLACE: the kernel's own IPv6 link-local address may already
 * be there when a link comes up.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "util/pb.h"
#include "net/netns-int.h"

static int dump_addr(struct netns_dump *d, struct rtnl_addr *ra, NetnsAddr *a)
{
	struct nl_addr *local = rtnl_addr_get_local(ra), *peer = rtnl_addr_get_peer(ra);
	const char *label = rtnl_addr_get_label(ra);
	int ret;

	netns_addr__init(a);
	PB_SET(a, ifindex, rtnl_addr_get_ifindex(ra));
	PB_SET(a, family, rtnl_addr_get_family(ra));
	PB_SET(a, prefixlen, rtnl_addr_get_prefixlen(ra));
	PB_SET(a, flags, rtnl_addr_get_flags(ra));
	PB_SET(a, scope, rtnl_addr_get_scope(ra));
	PB_SET(a, valid_lft, rtnl_addr_get_valid_lifetime(ra));
	PB_SET(a, preferred_lft, rtnl_addr_get_preferred_lifetime(ra));
	ret = netns_bytes(&d->a, &a->local, local);
	a->has_local = !ret && a->local.len;
	if (!ret && peer && (!local || nl_addr_cmp(local, peer))) {
		ret = netns_bytes(&d->a, &a->peer, peer);
		a->has_peer = !ret;
	}
	if (!ret && rtnl_addr_get_broadcast(ra)) {
		ret = netns_bytes(&d->a, &a->broadcast, rtnl_addr_get_broadcast(ra));
		a->has_broadcast = !ret;
	}
	if (!ret && label && *label)
		a->label = netns_strdup(&d->a, label);
	return ret;
}

/*
 * Is ra the kernel's own IPv6 link-local address of a tun link?  The
 * kernel makes it with a random interface id (a tun has no MAC) whenever
 * the link gets its carrier, which after a restore is when a queue
 * attaches, asynchronously: the recorded one added too would leave two.
 * So it is not recorded; the restored link gets a new one as at any
 * carrier change.  One added by hand (IFA_F_PERMANENT) is kept.
 */
static bool tun_kernel_ll(struct netns_dump *d, struct rtnl_addr *ra)
{
	const NetnsLink *l = netns_link_by_index(d->e, rtnl_addr_get_ifindex(ra));
	struct nl_addr *local = rtnl_addr_get_local(ra);
	const uint8_t *b = local ? nl_addr_get_binary_addr(local) : NULL;

	return l && !strcmp(l->kind, "tun") && rtnl_addr_get_family(ra) == AF_INET6 && b &&
	       nl_addr_get_len(local) == 16 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80 &&
	       !(rtnl_addr_get_flags(ra) & IFA_F_PERMANENT);
}

/*
 * The addresses of cache (every link, or only ifindex when > 0; those of
 * ifindex are written with ifindex 0) into *out, *n.
 */
int netns_dump_addrs(struct netns_dump *d, NetnsAddr ***out, size_t *n, int ifindex,
		     struct nl_cache *cache)
{
	int max = nl_cache_nitems(cache), ret;
	struct nl_object *o;

	*n = 0;
	*out = netns_alloc(&d->a, max * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (o = nl_cache_get_first(cache); o && *n < (size_t)max; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;
		NetnsAddr *a;

		if ((ifindex > 0 && rtnl_addr_get_ifindex(ra) != ifindex) ||
		    (ifindex <= 0 && tun_kernel_ll(d, ra)))
			continue;
		a = netns_alloc(&d->a, sizeof(*a));
		if (!a)
			return -ENOMEM;
		ret = dump_addr(d, ra, a);
		if (ret)
			return ret;
		if (ifindex > 0)
			a->ifindex = 0;
		(*out)[(*n)++] = a;
	}
	return 0;
}

/* Is r a route the kernel makes by itself? */
static bool kernel_route(struct rtnl_route *r)
{
	uint8_t proto = rtnl_route_get_protocol(r);

	return rtnl_route_get_table(r) == RT_TABLE_LOCAL || proto == RTPROT_KERNEL ||
	       proto == RTPROT_RA || proto == RTPROT_REDIRECT ||
	       (rtnl_route_get_flags(r) & RTM_F_CLONED) || rtnl_route_get_type(r) == RTN_MULTICAST;
}

static int dump_nexthop(struct netns_dump *d, struct rtnl_nexthop *nh, NetnsNexthop *h)
{
	netns_nexthop__init(h);
	PB_SET(h, ifindex, rtnl_route_nh_get_ifindex(nh));
	PB_SET(h, weight, rtnl_route_nh_get_weight(nh) + 1);
	PB_SET(h, flags, rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK);
	h->has_gateway = rtnl_route_nh_get_gateway(nh) != NULL;
	return netns_bytes(&d->a, &h->gateway, rtnl_route_nh_get_gateway(nh));
}

static int dump_route(struct netns_dump *d, struct rtnl_route *r, NetnsRoute *nr)
{
	struct nl_addr *dst = rtnl_route_get_dst(r), *src = rtnl_route_get_src(r);
	int i, n = rtnl_route_get_nnexthops(r), ret;
	uint32_t mtu = 0;

	netns_route__init(nr);
	PB_SET(nr, family, rtnl_route_get_family(r));
	PB_SET(nr, table, rtnl_route_get_table(r));
	PB_SET(nr, tos, rtnl_route_get_tos(r));
	PB_SET(nr, protocol, rtnl_route_get_protocol(r));
	PB_SET(nr, scope, rtnl_route_get_scope(r));
	PB_SET(nr, type, rtnl_route_get_type(r));
	PB_SET(nr, priority, rtnl_route_get_priority(r));
	PB_SET(nr, flags, rtnl_route_get_flags(r) & RTNH_F_ONLINK);
	if (!rtnl_route_get_metric(r, RTAX_MTU, &mtu) && mtu)
		PB_SET(nr, mtu, mtu);
	PB_SET(nr, dst_len, dst ? nl_addr_get_prefixlen(dst) : 0);
	ret = netns_bytes(&d->a, &nr->dst, dst);
	nr->has_dst = nr->dst.len > 0;
	if (!ret && src && nl_addr_get_prefixlen(src)) {
		PB_SET(nr, src_len, nl_addr_get_prefixlen(src));
		ret = netns_bytes(&d->a, &nr->src, src);
		nr->has_src = !ret;
	}
	if (!ret && rtnl_route_get_pref_src(r)) {
		ret = netns_bytes(&d->a, &nr->pref_src, rtnl_route_get_pref_src(r));
		nr->has_pref_src = !ret;
	}
	nr->nexthops = ret ? NULL : netns_alloc(&d->a, n * sizeof(*nr->nexthops));
	if (!ret && !nr->nexthops)
		return -ENOMEM;
	for (i = 0; !ret && i < n; i++) {
		nr->nexthops[i] = netns_alloc(&d->a, sizeof(NetnsNexthop));
		if (!nr->nexthops[i])
			return -ENOMEM;
		ret = dump_nexthop(d, rtnl_route_nexthop_n(r, i), nr->nexthops[i]);
		nr->n_nexthops = i + 1;
	}
	return ret;
}

/* Is r one of the rules every new namespace starts with? */
static bool default_rule(struct rtnl_rule *r)
{
	uint32_t prio = rtnl_rule_get_prio(r), table = rtnl_rule_get_table(r);

	if (rtnl_rule_get_src(r) || rtnl_rule_get_dst(r) || rtnl_rule_get_mark(r) ||
	    rtnl_rule_get_iif(r) || rtnl_rule_get_oif(r) ||
	    rtnl_rule_get_action(r) != FR_ACT_TO_TBL)
		return false;
	return (prio == 0 && table == RT_TABLE_LOCAL) ||
	       (prio == 32766 && table == RT_TABLE_MAIN) ||
	       (prio == 32767 && table == RT_TABLE_DEFAULT && rtnl_rule_get_family(r) == AF_INET);
}

static int dump_rule(struct netns_dump *d, struct rtnl_rule *r, NetnsRule *nr)
{
	struct nl_addr *src = rtnl_rule_get_src(r), *dst = rtnl_rule_get_dst(r);
	int ret;

	netns_rule__init(nr);
	PB_SET(nr, family, rtnl_rule_get_family(r));
	PB_SET(nr, priority, rtnl_rule_get_prio(r));
	PB_SET(nr, table, rtnl_rule_get_table(r));
	PB_SET(nr, action, rtnl_rule_get_action(r));
	PB_SET(nr, tos, rtnl_rule_get_dsfield(r));
	PB_SET(nr, goto_prio, rtnl_rule_get_goto(r));
	if (rtnl_rule_get_mark(r)) {
		PB_SET(nr, mark, rtnl_rule_get_mark(r));
		PB_SET(nr, mask, rtnl_rule_get_mask(r));
	}
	PB_SET(nr, src_len, src ? nl_addr_get_prefixlen(src) : 0);
	PB_SET(nr, dst_len, dst ? nl_addr_get_prefixlen(dst) : 0);
	ret = netns_bytes(&d->a, &nr->src, src);
	ret = ret ?: netns_bytes(&d->a, &nr->dst, dst);
	nr->has_src = nr->src.len > 0;
	nr->has_dst = nr->dst.len > 0;
	if (!ret && rtnl_rule_get_iif(r))
		nr->iif = netns_strdup(&d->a, rtnl_rule_get_iif(r));
	if (!ret && rtnl_rule_get_oif(r))
		nr->oif = netns_strdup(&d->a, rtnl_rule_get_oif(r));
	return ret;
}

static int dump_neigh(struct netns_dump *d, struct rtnl_neigh *n, NetnsNeigh *nn)
{
	int ret;

	netns_neigh__init(nn);
	PB_SET(nn, ifindex, rtnl_neigh_get_ifindex(n));
	PB_SET(nn, family, rtnl_neigh_get_family(n));
	PB_SET(nn, flags, rtnl_neigh_get_flags(n) & (NTF_PROXY | NTF_ROUTER));
	ret = netns_bytes(&d->a, &nn->dst, rtnl_neigh_get_dst(n));
	ret = ret ?: netns_bytes(&d->a, &nn->lladdr, rtnl_neigh_get_lladdr(n));
	nn->has_dst = nn->dst.len > 0;
	nn->has_lladdr = nn->lladdr.len > 0;
	return ret;
}

/* Fills an array of the objects of cache that keep() says, with fill(). */
#define DUMP_CACHE(d, cache, arr, n, type, otype, keep, fill)                           \
	({                                                                              \
		int max_ = nl_cache_nitems(cache), ret_ = 0;                            \
		struct nl_object *o_;                                                   \
		(arr) = netns_alloc(&(d)->a, max_ * sizeof(*(arr)));                    \
		if (!(arr))                                                             \
			ret_ = -ENOMEM;                                                 \
		for (o_ = nl_cache_get_first(cache); !ret_ && o_ && (n) < (size_t)max_; \
		     o_ = nl_cache_get_next(o_)) {                                      \
			type *x_;                                                       \
			if (!keep((otype *)o_))                                         \
				continue;                                               \
			x_ = netns_alloc(&(d)->a, sizeof(*x_));                         \
			ret_ = x_ ? fill(d, (otype *)o_, x_) : -ENOMEM;                 \
			if (!ret_)                                                      \
				(arr)[(n)++] = x_;                                      \
		}                                                                       \
		ret_;                                                                   \
	})

static bool keep_route(struct rtnl_route *r)
{
	return !kernel_route(r);
}

static bool keep_rule(struct rtnl_rule *r)
{
	return !default_rule(r);
}

static bool keep_neigh(struct rtnl_neigh *n)
{
	return (rtnl_neigh_get_state(n) & NUD_PERMANENT) && rtnl_neigh_get_dst(n) &&
	       (rtnl_neigh_get_family(n) == AF_INET || rtnl_neigh_get_family(n) == AF_INET6);
}

int netns_dump_routing(struct netns_dump *d)
{
	struct nl_cache *addrs = NULL, *routes = NULL, *rules = NULL, *neighs = NULL;
	NetnsEntry *e = d->e;
	int ret;

	ret = rtnl_addr_alloc_cache(d->sk, &addrs);
	ret = ret ?: rtnl_route_alloc_cache(d->sk, AF_UNSPEC, 0, &routes);
	ret = ret ?: rtnl_rule_alloc_cache(d->sk, AF_UNSPEC, &rules);
	ret = ret ?: rtnl_neigh_alloc_cache(d->sk, &neighs);
	if (ret) {
		pr_err("cannot read the namespace's addresses, routes, rules or neighbours: %s\n",
		       nl_geterror(ret));
		ret = netns_nlerr(ret);
		goto out;
	}
	ret = netns_dump_addrs(d, &e->addrs, &e->n_addrs, 0, addrs);
	ret = ret   ?:
		      DUMP_CACHE(d, routes, e->routes, e->n_routes, NetnsRoute, struct rtnl_route,
				 keep_route, dump_route);
	ret = ret   ?:
		      DUMP_CACHE(d, rules, e->rules, e->n_rules, NetnsRule, struct rtnl_rule,
				 keep_rule, dump_rule);
	ret = ret   ?:
		      DUMP_CACHE(d, neighs, e->neighs, e->n_neighs, NetnsNeigh, struct rtnl_neigh,
				 keep_neigh, dump_neigh);
out:
	if (addrs)
		nl_cache_free(addrs);
	if (routes)
		nl_cache_free(routes);
	if (rules)
		nl_cache_free(rules);
	if (neighs)
		nl_cache_free(neighs);
	return ret;
}

/* Adds addrs to link ifindex (their own ifindex when 0 is given). */
int netns_add_addrs(struct nl_sock *sk, NetnsAddr *const *addrs, size_t n, int ifindex,
		    const char *where)
{
	for (size_t i = 0; i < n; i++) {
		const NetnsAddr *a = addrs[i];
		struct rtnl_addr *ra = rtnl_addr_alloc();
		struct nl_addr *local = netns_addr_of(a->family, &a->local, a->prefixlen);
		struct nl_addr *peer =
			a->has_peer ? netns_addr_of(a->family, &a->peer, a->prefixlen) : NULL;
		int ret = -NLE_NOMEM;

		if (ra && local && (!a->has_peer || peer)) {
			rtnl_addr_set_ifindex(ra, ifindex > 0 ? ifindex : (int)a->ifindex);
			rtnl_addr_set_family(ra, a->family);
			rtnl_addr_set_local(ra, local);
			if (peer)
				rtnl_addr_set_peer(ra, peer);
			rtnl_addr_set_prefixlen(ra, a->prefixlen);
			if (a->has_broadcast) {
				struct nl_addr *bc = netns_addr_of(a->family, &a->broadcast, 0);

				if (bc)
					rtnl_addr_set_broadcast(ra, bc);
				nl_addr_put(bc);
			}
			rtnl_addr_set_flags(ra, a->flags);
			rtnl_addr_set_scope(ra, a->scope);
			if (a->label)
				rtnl_addr_set_label(ra, a->label);
			rtnl_addr_set_valid_lifetime(ra, a->valid_lft);
			rtnl_addr_set_preferred_lifetime(ra, a->preferred_lft);
			ret = rtnl_addr_add(sk, ra, NLM_F_REPLACE);
		}
		if (ret) {
			char buf[64] = "?";

			if (local)
				nl_addr2str(local, buf, sizeof(buf));
			pr_err("%s: cannot add address %s: %s\n", where, buf, nl_geterror(ret));
		}
		nl_addr_put(local);
		nl_addr_put(peer);
		rtnl_addr_put(ra);
		if (ret)
			return netns_nlerr(ret);
	}
	return 0;
}

static int add_route(struct nl_sock *sk, const NetnsRoute *nr)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *dst = NULL;
	int ret = -NLE_NOMEM;

	if (!r)
		return -ENOMEM;
	rtnl_route_set_family(r, nr->family);
	rtnl_route_set_table(r, nr->table);
	rtnl_route_set_tos(r, nr->tos);
	rtnl_route_set_protocol(r, nr->protocol);
	rtnl_route_set_scope(r, nr->scope);
	rtnl_route_set_type(r, nr->type);
	rtnl_route_set_priority(r, nr->priority);
	rtnl_route_set_flags(r, nr->flags);
	if (nr->mtu)
		rtnl_route_set_metric(r, RTAX_MTU, nr->mtu);
	if (nr->has_dst)
		dst = netns_addr_of(nr->family, &nr->dst, nr->dst_len);
	else
		dst = nl_addr_build(nr->family, NULL, 0);
	if (dst)
		ret = rtnl_route_set_dst(r, dst);
	if (!ret && nr->has_src) {
		struct nl_addr *src = netns_addr_of(nr->family, &nr->src, nr->src_len);

		ret = src ? rtnl_route_set_src(r, src) : -NLE_NOMEM;
		nl_addr_put(src);
	}
	if (!ret && nr->has_pref_src) {
		struct nl_addr *ps = netns_addr_of(nr->family, &nr->pref_src, 0);

		ret = ps ? rtnl_route_set_pref_src(r, ps) : -NLE_NOMEM;
		nl_addr_put(ps);
	}
	for (size_t i = 0; !ret && i < nr->n_nexthops; i++) {
		const NetnsNexthop *h = nr->nexthops[i];
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

		if (!nh) {
			ret = -NLE_NOMEM;
			break;
		}
		if (h->ifindex)
			rtnl_route_nh_set_ifindex(nh, h->ifindex);
		rtnl_route_nh_set_weight(nh, h->weight ? h->weight - 1 : 0);
		rtnl_route_nh_set_flags(nh, h->flags);
		if (h->has_gateway) {
			struct nl_addr *gw = netns_addr_of(nr->family, &h->gateway, 0);

			if (gw)
				rtnl_route_nh_set_gateway(nh, gw);
			nl_addr_put(gw);
		}
		rtnl_route_add_nexthop(r, nh);
	}
	ret = ret ?: rtnl_route_add(sk, r, NLM_F_EXCL);
	if (ret) {
		char buf[64] = "default";

		if (dst && nr->has_dst)
			nl_addr2str(dst, buf, sizeof(buf));
		pr_err("cannot add route %s table %u: %s\n", buf, nr->table, nl_geterror(ret));
	}
	nl_addr_put(dst);
	rtnl_route_put(r);
	return ret ? netns_nlerr(ret) : 0;
}

static int add_rule(struct nl_sock *sk, const NetnsRule *nr)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	int ret = 0;

	if (!r)
		return -ENOMEM;
	rtnl_rule_set_family(r, nr->family);
	rtnl_rule_set_prio(r, nr->priority);
	rtnl_rule_set_table(r, nr->table);
	rtnl_rule_set_action(r, nr->action);
	rtnl_rule_set_dsfield(r, nr->tos);
	if (nr->goto_prio)
		rtnl_rule_set_goto(r, nr->goto_prio);
	if (nr->has_mark) {
		rtnl_rule_set_mark(r, nr->mark);
		rtnl_rule_set_mask(r, nr->mask);
	}
	if (nr->iif)
		rtnl_rule_set_iif(r, nr->iif);
	if (nr->oif)
		rtnl_rule_set_oif(r, nr->oif);
	if (nr->has_src) {
		struct nl_addr *a = netns_addr_of(nr->family, &nr->src, nr->src_len);

		ret = a ? rtnl_rule_set_src(r, a) : -NLE_NOMEM;
		nl_addr_put(a);
	}
	if (!ret && nr->has_dst) {
		struct nl_addr *a = netns_addr_of(nr->family, &nr->dst, nr->dst_len);

		ret = a ? rtnl_rule_set_dst(r, a) : -NLE_NOMEM;
		nl_addr_put(a);
	}
	ret = ret ?: rtnl_rule_add(sk, r, NLM_F_EXCL);
	if (ret)
		pr_err("cannot add rule %u (table %u): %s\n", nr->priority, nr->table,
		       nl_geterror(ret));
	rtnl_rule_put(r);
	return ret ? netns_nlerr(ret) : 0;
}

static int add_neigh(struct nl_sock *sk, const NetnsNeigh *nn)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = netns_addr_of(nn->family, &nn->dst, 0);
	struct nl_addr *ll =
		nn->has_lladdr ? nl_addr_build(AF_LLC, nn->lladdr.data, nn->lladdr.len) : NULL;
	int ret = -NLE_NOMEM;

	if (n && dst && (!nn->has_lladdr || ll)) {
		rtnl_neigh_set_ifindex(n, nn->ifindex);
		rtnl_neigh_set_family(n, nn->family);
		rtnl_neigh_set_dst(n, dst);
		if (ll)
			rtnl_neigh_set_lladdr(n, ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		rtnl_neigh_set_flags(n, nn->flags);
		ret = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (ret) {
		char buf[64] = "?";

		if (dst)
			nl_addr2str(dst, buf, sizeof(buf));
		pr_err("cannot add neighbour %s: %s\n", buf, nl_geterror(ret));
	}
	nl_addr_put(dst);
	nl_addr_put(ll);
	if (n)
		rtnl_neigh_put(n);
	return ret ? netns_nlerr(ret) : 0;
}

/* Addresses, links up, routes, neighbours, rules: in that order. */
int netns_build_routing(struct netns_build *b)
{
	const NetnsEntry *e = b->e;
	int ret;
	size_t i;

	ret = netns_add_addrs(b->sk, e->addrs, e->n_addrs, 0, "namespace");
	ret = ret ?: netns_links_up(b);
	for (i = 0; !ret && i < e->n_routes; i++)
		ret = add_route(b->sk, e->routes[i]);
	for (i = 0; !ret && i < e->n_neighs; i++)
		ret = add_neigh(b->sk, e->neighs[i]);
	for (i = 0; !ret && i < e->n_rules; i++)
		ret = add_rule(b->sk, e->rules[i]);
	return ret;
}
