/*
 * A NETNS record as hostile input (net_netns_check's topics): names
 * (IFNAMSIZ, no '/', no space, not "." or ".."), kinds, ifindexes (unique,
 * lo is 1), references between links (masters are bridges, lower links and
 * veth peers exist and point back), address and route lengths by family,
 * ranges.  What a record can make is bounded by construction: links,
 * addresses, routes, rules, neighbours, sysctls and nftables tables of a
 * namespace restore creates itself; on the host only the host end of a
 * veth, under a name that does not exist (made with NLM_F_EXCL).  tun/tap
 * links: flags within the known set, owner and group -1 or a valid id, a
 * MAC only on a tap, no '%' in the name (check_tun).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/if_ether.h>
#include <linux/rtnetlink.h>

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "net/netns-int.h"
#include "net/tun.h"

#define BAD(fmt, ...)                                             \
	({                                                        \
		pr_err("image: NETNS: " fmt "\n", ##__VA_ARGS__); \
		-EBADMSG;                                         \
	})

static const char *const kinds[] = { "lo", "dummy", "veth", "bridge", "macvlan", "vlan", "tun" };

/* A link name the kernel would take and no path can come of. */
static bool ifname_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

static unsigned addr_len(uint32_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static bool bytes_ok(uint32_t family, const ProtobufCBinaryData *b, bool has)
{
	return !has || b->len == addr_len(family);
}

static int check_mac(const char *name, const ProtobufCBinaryData *mac, bool has)
{
	if (has && mac->len != ETH_ALEN)
		return BAD("link %s: a MAC address of %zu bytes", name, mac->len);
	return 0;
}

int netns_check_addr(const NetnsEntry *e, const NetnsAddr *a, bool host)
{
	unsigned len = addr_len(a->family);

	if (!len || !a->has_local || a->local.len != len || a->prefixlen > len * 8)
		return BAD("an address of family %u, %zu bytes, prefix %u", a->family, a->local.len,
			   a->prefixlen);
	if (!bytes_ok(a->family, &a->peer, a->has_peer) ||
	    !bytes_ok(a->family, &a->broadcast, a->has_broadcast))
		return BAD("an address's peer or broadcast has the wrong length");
	if (a->label && (strlen(a->label) >= IFNAMSIZ || strchr(a->label, '/')))
		return BAD("an address label too long or with '/'");
	if (a->scope > 255)
		return BAD("an address scope %u", a->scope);
	if (host ? a->ifindex != 0 : !netns_link_by_index(e, a->ifindex))
		return BAD("an address of link %u, which is not in the namespace", a->ifindex);
	return 0;
}

static int check_host_end(const NetnsEntry *e, const NetnsLink *l)
{
	const NetnsHostEnd *he = l->host;
	int ret;

	if (!ifname_ok(he->name))
		return BAD("veth %s: host end name \"%s\" refused", l->name,
			   he->name ? he->name : "");
	if (he->has_mtu && (he->mtu < 68 || he->mtu > 65535))
		return BAD("veth %s: host end MTU %u", l->name, he->mtu);
	ret = check_mac(he->name, &he->mac, he->has_mac);
	for (size_t i = 0; !ret && i < he->n_addrs; i++)
		ret = netns_check_addr(e, he->addrs[i], true);
	for (size_t i = 0; !ret && i < e->n_links; i++) {
		const NetnsHostEnd *o = e->links[i]->host;

		if (o && o != he && o->name && !strcmp(o->name, he->name))
			return BAD("two host ends named %s", he->name);
	}
	return ret;
}

static bool kind_ok(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	return false;
}

/* References of l to other links. */
static int check_refs(const NetnsEntry *e, const NetnsLink *l)
{
	const NetnsLink *o;
	bool veth = !strcmp(l->kind, "veth"),
	     lower = !strcmp(l->kind, "macvlan") || !strcmp(l->kind, "vlan");

	if (l->master) {
		o = netns_link_by_index(e, l->master);
		if (!o || !o->kind || strcmp(o->kind, "bridge") || o == l)
			return BAD("link %s: master %u is not a bridge of the namespace", l->name,
				   l->master);
	}
	if (lower != l->has_link)
		return BAD("link %s: a lower link %s", l->name,
			   lower ? "is missing" : "for its kind");
	if (lower && (!(o = netns_link_by_index(e, l->link)) || o == l))
		return BAD("link %s: lower link %u is not in the namespace", l->name, l->link);
	if (!veth && (l->has_veth_peer || l->host))
		return BAD("link %s: veth fields on a %s", l->name, l->kind);
	if (veth && !!l->host == !!l->has_veth_peer)
		return BAD("veth %s: needs one peer, inside or on the host", l->name);
	if (veth && l->has_veth_peer) {
		o = netns_link_by_index(e, l->veth_peer);
		if (!o || o == l || !o->kind || strcmp(o->kind, "veth") || !o->has_veth_peer ||
		    o->veth_peer != l->ifindex)
			return BAD("veth %s: its peer %u does not point back", l->name,
				   l->veth_peer);
	}
	if (!strcmp(l->kind, "vlan") &&
	    (l->vlan_id < 1 || l->vlan_id > 4094 ||
	     (l->vlan_proto != ETH_P_8021Q && l->vlan_proto != ETH_P_8021AD)))
		return BAD("vlan %s: id %u protocol %#x", l->name, l->vlan_id, l->vlan_proto);
	if (!strcmp(l->kind, "macvlan") &&
	    (l->macvlan_mode & (l->macvlan_mode - 1) || l->macvlan_mode > 32))
		return BAD("macvlan %s: mode %u", l->name, l->macvlan_mode);
	return l->host ? check_host_end(e, l) : 0;
}

/* A tun/tap link's own fields: flags in the known set, ids in range. */
static int check_tun(const NetnsLink *l)
{
	bool tun = !strcmp(l->kind, "tun");

	if (!tun)
		return l->has_tun_flags || l->has_tun_owner || l->has_tun_group ?
			       BAD("link %s: tun fields on a %s", l->name, l->kind) :
			       0;
	if (!l->has_tun_flags || !net_tun_flags_ok(l->tun_flags))
		return BAD("tun %s: flags %#x", l->name, l->tun_flags);
	if (!net_tun_name_ok(l->name)) /* '%': TUNSETIFF would pick a name */
		return BAD("tun %s: name refused", l->name);
	if ((l->has_tun_owner && !net_tun_id_ok(l->tun_owner)) ||
	    (l->has_tun_group && !net_tun_id_ok(l->tun_group)))
		return BAD("tun %s: owner %lld or group %lld out of range", l->name,
			   (long long)l->tun_owner, (long long)l->tun_group);
	if (!(l->tun_flags & IFF_TAP) && l->has_mac)
		return BAD("tun %s: a MAC address on a tun (not tap) link", l->name);
	return 0;
}

static int check_link(const NetnsEntry *e, size_t i)
{
	const NetnsLink *l = e->links[i];

	if (!ifname_ok(l->name))
		return BAD("link name \"%s\" refused", l->name ? l->name : "");
	if (!kind_ok(l->kind))
		return BAD("link %s: kind %s", l->name, l->kind ? l->kind : "(none)");
	if (!l->has_ifindex || l->ifindex < 1 || l->ifindex > 0x7fffffff)
		return BAD("link %s: ifindex %u", l->name, l->ifindex);
	if (!strcmp(l->kind, "lo") != (l->ifindex == 1) ||
	    (l->ifindex == 1 && strcmp(l->name, "lo")))
		return BAD("link %s: only lo is ifindex 1", l->name);
	if (l->has_mtu && (l->mtu < 68 || l->mtu > (l->ifindex == 1 ? 65536u : 65535u)))
		return BAD("link %s: MTU %u", l->name, l->mtu);
	if (l->flags & ~(IFF_UP | IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI))
		return BAD("link %s: flags %#x", l->name, l->flags);
	if (l->txqlen > 1u << 20)
		return BAD("link %s: txqlen %u", l->name, l->txqlen);
	for (size_t j = 0; j < i; j++)
		if (e->links[j]->ifindex == l->ifindex || !strcmp(e->links[j]->name, l->name))
			return BAD("two links with ifindex %u or name %s", l->ifindex, l->name);
	return check_mac(l->name, &l->mac, l->has_mac) ?: check_tun(l) ?: check_refs(e, l);
}

/* Every chain of lower links ends (no loop): at most n_links steps. */
static int check_lower_chains(const NetnsEntry *e)
{
	for (size_t i = 0; i < e->n_links; i++) {
		const NetnsLink *l = e->links[i];
		size_t steps = 0;

		while (l && l->has_link && steps++ <= e->n_links)
			l = netns_link_by_index(e, l->link);
		if (steps > e->n_links)
			return BAD("link %s: its lower links form a loop", e->links[i]->name);
	}
	return 0;
}

int netns_check_links(const NetnsEntry *e)
{
	int ret = 0;

	if (e->n_links > 4096)
		return BAD("%zu links", e->n_links);
	for (size_t i = 0; !ret && i < e->n_links; i++)
		ret = check_link(e, i);
	ret = ret ?: check_lower_chains(e);
	if (!ret && (!e->n_links || strcmp(e->links[0]->kind, "lo")))
		return BAD("no lo first");
	return ret;
}

static int check_route(const NetnsEntry *e, const NetnsRoute *r)
{
	unsigned len = addr_len(r->family);

	if (!len || r->dst_len > len * 8 || r->src_len > len * 8 ||
	    !bytes_ok(r->family, &r->dst, r->has_dst) ||
	    !bytes_ok(r->family, &r->src, r->has_src) ||
	    !bytes_ok(r->family, &r->pref_src, r->has_pref_src) || (!r->has_dst && r->dst_len))
		return BAD("a route of family %u with bad lengths", r->family);
	if (r->table == RT_TABLE_UNSPEC || r->table == RT_TABLE_LOCAL || r->type > RTN_MAX ||
	    r->scope > 255 || r->protocol > 255 || r->tos > 255 || r->n_nexthops > 256)
		return BAD("a route of table %u type %u", r->table, r->type);
	for (size_t i = 0; i < r->n_nexthops; i++) {
		const NetnsNexthop *h = r->nexthops[i];

		if ((h->ifindex && !netns_link_by_index(e, h->ifindex)) ||
		    !bytes_ok(r->family, &h->gateway, h->has_gateway) || h->weight > 256)
			return BAD("a route's next hop on link %u", h->ifindex);
	}
	return 0;
}

static int check_rule(const NetnsRule *r)
{
	unsigned len = addr_len(r->family);

	if (!len || r->src_len > len * 8 || r->dst_len > len * 8 ||
	    !bytes_ok(r->family, &r->src, r->has_src) || !bytes_ok(r->family, &r->dst, r->has_dst))
		return BAD("a rule of family %u with bad lengths", r->family);
	if (r->action > FR_ACT_MAX || r->tos > 255 || (r->iif && !ifname_ok(r->iif)) ||
	    (r->oif && !ifname_ok(r->oif)))
		return BAD("rule %u: action %u or interface names", r->priority, r->action);
	return 0;
}

static int check_neigh(const NetnsEntry *e, const NetnsNeigh *n)
{
	if (!addr_len(n->family) || !n->has_dst || n->dst.len != addr_len(n->family) ||
	    !netns_link_by_index(e, n->ifindex) || n->lladdr.len > 32)
		return BAD("a neighbour of family %u on link %u", n->family, n->ifindex);
	return 0;
}

int netns_check_routing(const NetnsEntry *e)
{
	int ret = 0;
	size_t i;

	if (e->n_addrs > 65536 || e->n_routes > 65536 || e->n_rules > 65536 || e->n_neighs > 65536)
		return BAD("too many addresses, routes, rules or neighbours");
	for (i = 0; !ret && i < e->n_addrs; i++)
		ret = netns_check_addr(e, e->addrs[i], false);
	for (i = 0; !ret && i < e->n_routes; i++)
		ret = check_route(e, e->routes[i]);
	for (i = 0; !ret && i < e->n_rules; i++)
		ret = check_rule(e->rules[i]);
	for (i = 0; !ret && i < e->n_neighs; i++)
		ret = check_neigh(e, e->neighs[i]);
	return ret;
}
