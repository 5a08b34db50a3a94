/*
 * The links of a network namespace: read from libnl-route's link cache
 * inside it, made again with rtnl_link_add in the new one.  Kinds: lo
 * (only its settings), dummy, bridge, veth (both ends inside, or the
 * other end on the host: made from the host with its peer put into the
 * new namespace by IFLA_NET_NS_FD), macvlan and vlan (their lower link
 * inside), tun/tap (netns_dump_tun, net_tun_make: a persistent link
 * made through /dev/net/tun, its queues attached by the tree's fds).
 * Every link gets its recorded ifindex back (a new namespace
 * has them all free but lo's), so routes, neighbours and addresses need
 * no translation and a program that kept an ifindex still has it right.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "util/pb.h"
#include "net/netns-int.h"
#include "net/tun.h"

/* Flags restored besides the kind's own: up, and what `ip link set` sets. */
#define LINK_FLAGS (IFF_UP | IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI)

static const char *const kinds[] = { "lo", "dummy", "veth", "bridge", "macvlan", "vlan", "tun" };

const NetnsLink *netns_link_by_index(const NetnsEntry *e, uint32_t ifindex)
{
	for (size_t i = 0; i < e->n_links; i++)
		if (e->links[i]->ifindex == ifindex)
			return e->links[i];
	return NULL;
}

/* The kind of l as the image names it, or NULL (refused, logged). */
static const char *link_kind(struct rtnl_link *l)
{
	const char *type = rtnl_link_get_type(l);

	if (rtnl_link_get_flags(l) & IFF_LOOPBACK)
		return "lo";
	for (size_t i = 1; type && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(type, kinds[i]))
			return kinds[i];
	pr_err("link %s (ifindex %d): %s%s links are not supported\n", rtnl_link_get_name(l),
	       rtnl_link_get_ifindex(l), type ? "kind " : "", type ? type : "physical");
	return NULL;
}

/* The host end of veth l (peer ifindex peer) in our namespace. */
static int dump_host_end(struct netns_dump *d, struct rtnl_link *l, NetnsLink *nl, int peer)
{
	struct rtnl_link *h = NULL;
	NetnsHostEnd *he;
	size_t n = 0;
	int ret;

	if (!d->host_links && (ret = rtnl_link_alloc_cache(d->host, AF_UNSPEC, &d->host_links)))
		return netns_nlerr(ret);
	h = rtnl_link_get(d->host_links, peer);
	if (!h || !rtnl_link_is_veth(h) || rtnl_link_get_link(h) != rtnl_link_get_ifindex(l)) {
		pr_err("link %s: its veth peer (ifindex %d) is in a third network namespace: not "
		       "supported\n",
		       rtnl_link_get_name(l), peer);
		if (h)
			rtnl_link_put(h);
		return -EOPNOTSUPP;
	}
	he = netns_alloc(&d->a, sizeof(*he));
	if (!he)
		goto nomem;
	netns_host_end__init(he);
	he->name = netns_strdup(&d->a, rtnl_link_get_name(h));
	PB_SET(he, mtu, rtnl_link_get_mtu(h));
	PB_SET(he, up, !!(rtnl_link_get_flags(h) & IFF_UP));
	ret = netns_bytes(&d->a, &he->mac, rtnl_link_get_addr(h));
	he->has_mac = !ret;
	if (!ret && !d->host_addrs && (ret = rtnl_addr_alloc_cache(d->host, &d->host_addrs)))
		ret = netns_nlerr(ret);
	ret = ret ?: netns_dump_addrs(d, &he->addrs, &n, peer, d->host_addrs);
	he->n_addrs = n;
	rtnl_link_put(h);
	if (ret || !he->name)
		return ret ?: -ENOMEM;
	nl->host = he;
	return 0;
nomem:
	rtnl_link_put(h);
	return -ENOMEM;
}

/* The ifindex of link name on the host (our thread is in the new namespace:
 * if_nametoindex would look there).  > 0, or -errno (logged). */
static int host_ifindex(struct nl_sock *host, const char *name)
{
	struct rtnl_link *l = NULL;
	int ret = rtnl_link_get_kernel(host, 0, name, &l);

	if (ret) {
		pr_err("host link %s: %s\n", name, nl_geterror(ret));
		return netns_nlerr(ret);
	}
	ret = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return ret;
}

/* The lower link of a macvlan or vlan: in the namespace, or refused. */
static int dump_lower(struct rtnl_link *l, NetnsLink *nl)
{
	int32_t nsid;

	if (!rtnl_link_get_link_netnsid(l, &nsid)) {
		pr_err("link %s: its lower link is in another network namespace: not supported\n",
		       rtnl_link_get_name(l));
		return -EOPNOTSUPP;
	}
	PB_SET(nl, link, rtnl_link_get_link(l));
	return 0;
}

/*
 * A tun/tap link: its type, flags, owner and group from IFLA_INFO_DATA
 * (net_tun_link_get).  Refused: a link type TUNSETLINK changed (restore
 * makes it with the type of its kind), detached queues (a detached queue
 * fd cannot be told from an unattached /dev/net/tun fd: TUNGETIFF and
 * fdinfo see no link).
 */
static int dump_tun(struct rtnl_link *l, NetnsLink *nl)
{
	struct net_tun_link t;
	int ret = net_tun_link_get(rtnl_link_get_ifindex(l), nl->name, &t);

	if (ret <= 0) {
		if (!ret || ret == -EMEDIUMTYPE)
			pr_err("link %s: gone or no tun/tap link while read\n", nl->name);
		return ret ?: -ENODEV;
	}
	if (!net_tun_flags_ok(t.flags) || t.arptype != net_tun_arptype(t.flags)) {
		pr_err("link %s: a %s link of type %u (TUNSETLINK) or flags %#x: not supported\n",
		       nl->name, t.flags & IFF_TAP ? "tap" : "tun", t.arptype, t.flags);
		return -EOPNOTSUPP;
	}
	if (t.disabled) {
		pr_err("link %s: %u detached queues (TUNSETQUEUE IFF_DETACH_QUEUE): not supported\n",
		       nl->name, t.disabled);
		return -EOPNOTSUPP;
	}
	PB_SET(nl, tun_flags, t.flags);
	PB_SET(nl, tun_owner, t.owner);
	PB_SET(nl, tun_group, t.group);
	if (!(t.flags & IFF_TAP)) /* a tun has no MAC */
		nl->has_mac = false;
	return 0;
}

/* What a kind adds to the common fields. */
static int dump_kind(struct netns_dump *d, struct rtnl_link *l, NetnsLink *nl)
{
	int32_t nsid;

	if (!strcmp(nl->kind, "veth")) {
		int peer = rtnl_link_get_link(l);

		if (rtnl_link_get_link_netnsid(l, &nsid)) { /* no netnsid: the same namespace */
			PB_SET(nl, veth_peer, peer);
			return 0;
		}
		return dump_host_end(d, l, nl, peer);
	}
	if (!strcmp(nl->kind, "macvlan")) {
		PB_SET(nl, macvlan_mode, rtnl_link_macvlan_get_mode(l));
		return dump_lower(l, nl);
	}
	if (!strcmp(nl->kind, "tun"))
		return dump_tun(l, nl);
	if (!strcmp(nl->kind, "vlan")) {
		PB_SET(nl, vlan_id, rtnl_link_vlan_get_id(l));
		PB_SET(nl, vlan_proto, ntohs(rtnl_link_vlan_get_protocol(l)));
		return dump_lower(l, nl);
	}
	return 0;
}

static int dump_link(struct netns_dump *d, struct rtnl_link *l, NetnsLink *nl)
{
	const char *kind = link_kind(l);
	int ret;

	if (!kind)
		return -EOPNOTSUPP;
	netns_link__init(nl);
	PB_SET(nl, ifindex, rtnl_link_get_ifindex(l));
	nl->name = netns_strdup(&d->a, rtnl_link_get_name(l));
	nl->kind = (char *)kind;
	PB_SET(nl, flags, rtnl_link_get_flags(l) & LINK_FLAGS);
	PB_SET(nl, mtu, rtnl_link_get_mtu(l));
	PB_SET(nl, txqlen, rtnl_link_get_txqlen(l));
	if (rtnl_link_get_master(l) > 0)
		PB_SET(nl, master, rtnl_link_get_master(l));
	if (strcmp(kind, "lo")) {
		ret = netns_bytes(&d->a, &nl->mac, rtnl_link_get_addr(l));
		if (ret)
			return ret;
		nl->has_mac = nl->mac.len > 0;
	}
	if (!nl->name)
		return -ENOMEM;
	return dump_kind(d, l, nl);
}

static int by_ifindex(const void *a, const void *b)
{
	const NetnsLink *x = *(NetnsLink *const *)a, *y = *(NetnsLink *const *)b;

	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

int netns_dump_links(struct netns_dump *d)
{
	int n = nl_cache_nitems(d->links), ret = 0;
	struct nl_object *o;
	size_t i = 0;

	d->e->links = netns_alloc(&d->a, n * sizeof(*d->e->links));
	if (!d->e->links)
		return -ENOMEM;
	for (o = nl_cache_get_first(d->links); o && i < (size_t)n; o = nl_cache_get_next(o)) {
		NetnsLink *nl = netns_alloc(&d->a, sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		ret = dump_link(d, (struct rtnl_link *)o, nl);
		if (ret)
			return ret;
		d->e->links[i++] = nl;
	}
	d->e->n_links = i;
	qsort(d->e->links, i, sizeof(*d->e->links), by_ifindex);
	return 0;
}

/* MTU, MAC, txqlen and flags but up of nl into l (a link to make or change). */
static void fill_settings(struct rtnl_link *l, const NetnsLink *nl)
{
	if (nl->has_mtu)
		rtnl_link_set_mtu(l, nl->mtu);
	if (nl->has_txqlen)
		rtnl_link_set_txqlen(l, nl->txqlen);
	if (nl->has_mac && nl->mac.len) {
		struct nl_addr *mac = nl_addr_build(AF_LLC, nl->mac.data, nl->mac.len);

		if (mac) {
			rtnl_link_set_addr(l, mac);
			nl_addr_put(mac);
		}
	}
	if (nl->flags & ~IFF_UP)
		rtnl_link_set_flags(l, nl->flags & ~IFF_UP);
}

/* Name, ifindex and the settings of an end being made. */
static void fill_link(struct rtnl_link *l, const NetnsLink *nl)
{
	rtnl_link_set_name(l, nl->name);
	rtnl_link_set_ifindex(l, nl->ifindex);
	fill_settings(l, nl);
}

static int add_link(struct nl_sock *sk, struct rtnl_link *l, const char *name)
{
	int ret = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);

	if (ret)
		pr_err("cannot create link %s: %s\n", name, nl_geterror(ret));
	return ret ? netns_nlerr(ret) : 0;
}

/*
 * The host end of a veth, its peer straight into the new namespace.  A
 * name taken here is refused; a name whose namespace is still being torn
 * down (the dumped tree just died) is waited for, up to 2 s.
 */
static int add_host_veth(struct netns_build *b, const NetnsLink *nl)
{
	const NetnsHostEnd *he = nl->host;
	struct rtnl_link *l = rtnl_link_veth_alloc(), *peer;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int ret, tries;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, he->name);
	if (he->has_mtu)
		rtnl_link_set_mtu(l, he->mtu);
	if (he->has_mac && he->mac.len) {
		struct nl_addr *mac = nl_addr_build(AF_LLC, he->mac.data, he->mac.len);

		if (mac) {
			rtnl_link_set_addr(l, mac);
			nl_addr_put(mac);
		}
	}
	peer = rtnl_link_veth_get_peer(l);
	fill_link(peer, nl);
	rtnl_link_set_ns_fd(peer, b->nsfd);
	rtnl_link_put(peer);
	for (tries = 0;; tries++) {
		ret = rtnl_link_add(b->host, l, NLM_F_CREATE | NLM_F_EXCL);
		if (ret != -NLE_EXIST || tries == 100)
			break;
		nanosleep(&pause, NULL);
	}
	rtnl_link_veth_release(l);
	if (ret == -NLE_EXIST) {
		pr_err("host link %s exists already: the host end of veth %s cannot be made\n",
		       he->name, nl->name);
		return -EEXIST;
	}
	if (ret) {
		pr_err("cannot create veth %s (host end %s): %s\n", nl->name, he->name,
		       nl_geterror(ret));
		return netns_nlerr(ret);
	}
	ret = host_ifindex(b->host, he->name);
	if (ret < 0)
		return ret;
	return netns_add_addrs(b->host, he->addrs, he->n_addrs, ret, he->name);
}

/* A veth with both ends inside: made once, from the end of lower ifindex. */
static int add_inner_veth(struct netns_build *b, const NetnsLink *nl)
{
	const NetnsLink *other = netns_link_by_index(b->e, nl->veth_peer);
	struct rtnl_link *l, *peer;
	int ret;

	if (nl->ifindex > nl->veth_peer)
		return 0;
	l = rtnl_link_veth_alloc();
	if (!l)
		return -ENOMEM;
	fill_link(l, nl);
	peer = rtnl_link_veth_get_peer(l);
	fill_link(peer, other);
	rtnl_link_put(peer);
	ret = add_link(b->sk, l, nl->name);
	rtnl_link_veth_release(l);
	return ret;
}

/* dummy, bridge, macvlan, vlan. */
static int add_plain(struct netns_build *b, const NetnsLink *nl)
{
	struct rtnl_link *l;
	int ret;

	if (!strcmp(nl->kind, "macvlan")) {
		l = rtnl_link_macvlan_alloc();
		if (l)
			rtnl_link_macvlan_set_mode(l, nl->macvlan_mode);
	} else if (!strcmp(nl->kind, "vlan")) {
		l = rtnl_link_vlan_alloc();
		if (l) {
			rtnl_link_vlan_set_id(l, nl->vlan_id);
			rtnl_link_vlan_set_protocol(l, htons(nl->vlan_proto));
		}
	} else {
		l = rtnl_link_alloc();
		if (l)
			rtnl_link_set_type(l, nl->kind);
	}
	if (!l)
		return -ENOMEM;
	if (nl->has_link)
		rtnl_link_set_link(l, nl->link);
	fill_link(l, nl);
	ret = add_link(b->sk, l, nl->name);
	rtnl_link_put(l);
	return ret;
}

/* Changes link ifindex (named name) as ch says. */
static int change_link(struct nl_sock *sk, uint32_t ifindex, const char *name, struct rtnl_link *ch,
		       const char *what)
{
	struct rtnl_link *old = rtnl_link_alloc();
	int ret;

	if (!old)
		return -ENOMEM;
	rtnl_link_set_ifindex(old, ifindex);
	rtnl_link_set_name(old, name);
	ret = rtnl_link_change(sk, old, ch, 0);
	rtnl_link_put(old);
	if (ret)
		pr_err("link %s: cannot set its %s: %s\n", name, what, nl_geterror(ret));
	return ret ? netns_nlerr(ret) : 0;
}

static int set_lo(struct netns_build *b, const NetnsLink *nl)
{
	struct rtnl_link *ch = rtnl_link_alloc();
	int ret;

	if (!ch)
		return -ENOMEM;
	if (nl->has_mtu)
		rtnl_link_set_mtu(ch, nl->mtu);
	if (nl->has_txqlen)
		rtnl_link_set_txqlen(ch, nl->txqlen);
	if (nl->flags & ~IFF_UP)
		rtnl_link_set_flags(ch, nl->flags & ~IFF_UP);
	ret = change_link(b->sk, nl->ifindex, nl->name, ch, "mtu and flags");
	rtnl_link_put(ch);
	return ret;
}

/*
 * A tun/tap link: made persistent through /dev/net/tun in the new
 * namespace (the build's thread is in it), then its MTU, MAC, txqlen and
 * flags.  One that was not persistent is cleared by the tun fds once they
 * are attached (restore/tun.c); if the restore dies first, it goes with
 * the namespace.
 */
static int add_tun(struct netns_build *b, const NetnsLink *nl)
{
	struct rtnl_link *ch;
	int ret;

	ret = net_tun_make(nl->name, nl->ifindex, nl->tun_flags,
			   nl->has_tun_owner ? nl->tun_owner : -1,
			   nl->has_tun_group ? nl->tun_group : -1);
	if (ret)
		return ret;
	ch = rtnl_link_alloc();
	if (!ch)
		return -ENOMEM;
	fill_settings(ch, nl);
	ret = change_link(b->sk, nl->ifindex, nl->name, ch, "MTU, MAC, txqlen and flags");
	rtnl_link_put(ch);
	return ret;
}

static int add_one(struct netns_build *b, const NetnsLink *nl)
{
	if (!strcmp(nl->kind, "lo"))
		return set_lo(b, nl);
	if (!strcmp(nl->kind, "tun"))
		return add_tun(b, nl);
	if (!strcmp(nl->kind, "veth"))
		return nl->host ? add_host_veth(b, nl) : add_inner_veth(b, nl);
	return add_plain(b, nl);
}

/* Where link ifindex is in e->links (checked to exist). */
static size_t link_pos(const NetnsEntry *e, uint32_t ifindex)
{
	size_t j;

	for (j = 0; j < e->n_links && e->links[j]->ifindex != ifindex; j++)
		;
	return j < e->n_links ? j : 0;
}

static int set_masters(struct netns_build *b)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < b->e->n_links; i++) {
		const NetnsLink *nl = b->e->links[i];
		struct rtnl_link *ch;

		if (!nl->master)
			continue;
		ch = rtnl_link_alloc();
		if (!ch)
			return -ENOMEM;
		rtnl_link_set_master(ch, nl->master);
		ret = change_link(b->sk, nl->ifindex, nl->name, ch, "master");
		rtnl_link_put(ch);
	}
	return ret;
}

/*
 * Every link, lower links first (a macvlan or vlan waits for its lower
 * link; the checks made sure the chains end), then the bridges' ports.
 * Links stay down here: addresses and sysctls come first.
 */
int netns_build_links(struct netns_build *b)
{
	const NetnsEntry *e = b->e;
	size_t done = 0, i, pass;
	char *made = calloc(e->n_links ? e->n_links : 1, 1);
	int ret = 0;

	if (!made)
		return -ENOMEM;
	for (pass = 0; !ret && done < e->n_links && pass <= e->n_links; pass++) {
		for (i = 0; !ret && i < e->n_links; i++) {
			const NetnsLink *nl = e->links[i];

			if (made[i] || (nl->has_link && !made[link_pos(e, nl->link)]))
				continue;
			ret = add_one(b, nl);
			made[i] = 1;
			done++;
		}
	}
	free(made);
	if (!ret && done < e->n_links) {
		pr_err("image: NETNS: lower links form a loop\n");
		ret = -EBADMSG;
	}
	return ret ?: set_masters(b);
}

int netns_links_up(struct netns_build *b)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < b->e->n_links; i++) {
		const NetnsLink *nl = b->e->links[i];
		struct rtnl_link *ch;

		if (!(nl->flags & IFF_UP))
			continue;
		ch = rtnl_link_alloc();
		if (!ch)
			return -ENOMEM;
		rtnl_link_set_flags(ch, IFF_UP);
		ret = change_link(b->sk, nl->ifindex, nl->name, ch, "state up");
		rtnl_link_put(ch);
	}
	for (size_t i = 0; !ret && i < b->e->n_links; i++) {
		const NetnsHostEnd *he = b->e->links[i]->host;
		struct rtnl_link *ch;

		if (!he || !he->up)
			continue;
		ch = rtnl_link_alloc();
		if (!ch)
			return -ENOMEM;
		rtnl_link_set_flags(ch, IFF_UP);
		ret = host_ifindex(b->host, he->name);
		ret = ret < 0 ? ret : change_link(b->host, ret, he->name, ch, "state up");
		rtnl_link_put(ch);
	}
	return ret;
}
