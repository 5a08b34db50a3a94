/*
 * tun/tap links (tun.h).  libnl-route parses no IFLA_INFO_DATA of kind
 * "tun", so the link is asked for with one RTM_GETLINK built and parsed
 * with libnl's message and attribute helpers (nlmsg_parse,
 * nla_parse_nested); everything else (rename) goes through rtnl_link.
 * The kernel makes a tun link only through /dev/net/tun (TUNSETIFF), in
 * the namespace of the thread that opened it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#define LOG_PREFIX "net/tun: "
#include "log.h"
#include "util/pb.h"
#include "net/netns-int.h"
#include "net/tun.h"

bool net_tun_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == '%' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

bool net_tun_flags_ok(uint32_t flags)
{
	uint32_t type = flags & (IFF_TUN | IFF_TAP);

	return !(flags & ~NET_TUN_LINK_FLAGS) && (type == IFF_TUN || type == IFF_TAP);
}

bool net_tun_id_ok(int64_t id)
{
	return id >= -1 && id < (int64_t)UINT32_MAX;
}

uint32_t net_tun_arptype(uint32_t flags)
{
	return (flags & IFF_TAP) ? ARPHRD_ETHER : ARPHRD_NONE;
}

/* What one RTM_NEWLINK answer says; count: disabled queues over a dump. */
struct tun_query {
	struct net_tun_link *t;
	bool found, is_tun, no_data;
	int disabled;
	char *first; /* net_tun_detached: the first link with some */
};

static uint8_t attr_u8(struct nlattr *a)
{
	return a && nla_len(a) >= 1 ? nla_get_u8(a) : 0;
}

static int64_t attr_id(struct nlattr *a)
{
	return a && nla_len(a) >= 4 ? (int64_t)nla_get_u32(a) : -1;
}

/* The tun part of one link message into q->t. */
static int parse_link(struct nl_msg *msg, void *arg)
{
	struct tun_query *q = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *td[IFLA_TUN_MAX + 1];
	const struct ifinfomsg *ifi = nlmsg_data(h);
	struct net_tun_link *t = q->t;

	if (h->nlmsg_type != RTM_NEWLINK || nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_SKIP;
	memset(t, 0, sizeof(*t));
	q->found = true;
	q->is_tun = false;
	t->ifindex = ifi->ifi_index;
	t->arptype = ifi->ifi_type;
	t->owner = t->group = -1;
	if (tb[IFLA_IFNAME])
		nla_strlcpy(t->name, tb[IFLA_IFNAME], sizeof(t->name));
	if (!tb[IFLA_LINKINFO] ||
	    nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0 ||
	    !li[IFLA_INFO_KIND] || nla_strcmp(li[IFLA_INFO_KIND], "tun"))
		return NL_SKIP;
	q->is_tun = true;
	if (!li[IFLA_INFO_DATA] ||
	    nla_parse_nested(td, IFLA_TUN_MAX, li[IFLA_INFO_DATA], NULL) < 0) {
		q->no_data = true;
		return NL_SKIP;
	}
	t->flags = attr_u8(td[IFLA_TUN_TYPE]) & (IFF_TUN | IFF_TAP);
	t->flags |= attr_u8(td[IFLA_TUN_PI]) ? 0 : IFF_NO_PI;
	t->flags |= attr_u8(td[IFLA_TUN_VNET_HDR]) ? IFF_VNET_HDR : 0;
	t->flags |= attr_u8(td[IFLA_TUN_PERSIST]) ? IFF_PERSIST : 0;
	t->flags |= attr_u8(td[IFLA_TUN_MULTI_QUEUE]) ? IFF_MULTI_QUEUE : 0;
	t->owner = attr_id(td[IFLA_TUN_OWNER]);
	t->group = attr_id(td[IFLA_TUN_GROUP]);
	if (td[IFLA_TUN_NUM_QUEUES] && nla_len(td[IFLA_TUN_NUM_QUEUES]) >= 4)
		t->queues = nla_get_u32(td[IFLA_TUN_NUM_QUEUES]);
	if (td[IFLA_TUN_NUM_DISABLED_QUEUES] && nla_len(td[IFLA_TUN_NUM_DISABLED_QUEUES]) >= 4)
		t->disabled = nla_get_u32(td[IFLA_TUN_NUM_DISABLED_QUEUES]);
	if (t->disabled && !q->disabled && q->first)
		snprintf(q->first, IF_NAMESIZE, "%s", t->name);
	q->disabled += t->disabled;
	return NL_SKIP;
}

/* A NETLINK_ROUTE socket of the calling thread's namespace, no auto ack. */
static struct nl_sock *route_socket(void)
{
	struct nl_sock *sk = netns_route_socket();

	if (sk)
		nl_socket_disable_auto_ack(sk);
	return sk;
}

/* Sends m (RTM_GETLINK) and feeds every answer to parse_link.  0 or a
 * libnl error. */
static int ask(struct nl_sock *sk, struct nl_msg *m, struct tun_query *q)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb)
		return -NLE_NOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, parse_link, q);
	ret = nl_send_auto(sk, m);
	ret = ret < 0 ? ret : nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return ret < 0 ? ret : 0;
}

int net_tun_link_get(int ifindex, const char *name, struct net_tun_link *t)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct tun_query q = { .t = t };
	struct nl_sock *sk = route_socket();
	struct nl_msg *m;
	int ret;

	if (!sk)
		return -ENOMEM;
	m = nlmsg_alloc_simple(RTM_GETLINK, 0);
	ret = m ? nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) : -NLE_NOMEM;
	if (!ret && !ifindex)
		ret = nla_put_string(m, IFLA_IFNAME, name);
	ret = ret ?: ask(sk, m, &q);
	nlmsg_free(m);
	nl_socket_free(sk);
	if (ret == -NLE_NODEV || ret == -NLE_OBJ_NOTFOUND || (!ret && !q.found))
		return 0;
	if (ret) {
		pr_err("link %s: cannot read it: %s\n", name ? name : "?", nl_geterror(ret));
		return -EIO;
	}
	if (!q.is_tun)
		return -EMEDIUMTYPE;
	if (q.no_data) {
		pr_err("link %s: the kernel gives no tun attributes (IFLA_INFO_DATA)\n", t->name);
		return -EOPNOTSUPP;
	}
	return 1;
}

int net_tun_detached(char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct net_tun_link t;
	struct tun_query q = { .t = &t, .first = name };
	struct nl_sock *sk = route_socket();
	struct nl_msg *m;
	int ret;

	if (!sk)
		return -ENOMEM;
	name[0] = 0;
	m = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	ret = m ? nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) : -NLE_NOMEM;
	ret = ret ?: ask(sk, m, &q);
	nlmsg_free(m);
	nl_socket_free(sk);
	if (ret) {
		pr_err("cannot read the links of the namespace: %s\n", nl_geterror(ret));
		return -EIO;
	}
	return q.disabled;
}

/* ioctl cmd with an int argument (by pointer when ptr), logged. */
static int tun_ioctl(int fd, unsigned long cmd, const char *what, const char *name, long v)
{
	if (ioctl(fd, cmd, v) < 0) {
		int ret = -errno;

		pr_perror("tun link %s: %s", name, what);
		return ret;
	}
	return 0;
}

int net_tun_make(const char *name, uint32_t ifindex, uint32_t flags, int64_t owner, int64_t group)
{
	struct ifreq ifr;
	unsigned idx = ifindex;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_perror("tun link %s: cannot open /dev/net/tun", name);
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(flags & NET_TUN_IFF_FLAGS);
	ret = ifindex ? tun_ioctl(fd, TUNSETIFINDEX, "TUNSETIFINDEX", name, (long)&idx) : 0;
	ret = ret ?: tun_ioctl(fd, TUNSETIFF, "TUNSETIFF", name, (long)&ifr);
	if (!ret && owner >= 0)
		ret = tun_ioctl(fd, TUNSETOWNER, "TUNSETOWNER", name, (long)owner);
	if (!ret && group >= 0)
		ret = tun_ioctl(fd, TUNSETGROUP, "TUNSETGROUP", name, (long)group);
	ret = ret ?: tun_ioctl(fd, TUNSETPERSIST, "TUNSETPERSIST", name, 1);
	close(fd); /* not persistent yet on failure: the link goes with it */
	return ret;
}

int net_tun_rename(int ifindex, const char *name)
{
	struct nl_sock *sk = route_socket();
	struct rtnl_link *old = rtnl_link_alloc(), *ch = rtnl_link_alloc();
	int ret = -ENOMEM;

	if (sk && old && ch) {
		nl_socket_enable_auto_ack(sk);
		rtnl_link_set_ifindex(old, ifindex);
		rtnl_link_set_name(ch, name);
		ret = rtnl_link_change(sk, old, ch, 0);
		if (ret == -NLE_EXIST) {
			ret = -EEXIST;
		} else if (ret) {
			pr_err("tun link %s: cannot name it so: %s\n", name, nl_geterror(ret));
			ret = -EIO;
		}
	}
	if (ch)
		rtnl_link_put(ch);
	if (old)
		rtnl_link_put(old);
	if (sk)
		nl_socket_free(sk);
	return ret;
}

/* Is ra the kernel's own IPv6 link-local address (not added by hand)? */
static bool kernel_ll(struct rtnl_addr *ra)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	const uint8_t *b = local ? nl_addr_get_binary_addr(local) : NULL;

	return rtnl_addr_get_family(ra) == AF_INET6 && b && nl_addr_get_len(local) == 16 &&
	       b[0] == 0xfe && (b[1] & 0xc0) == 0x80 &&
	       !(rtnl_addr_get_flags(ra) & IFA_F_PERMANENT);
}

/* nl_addr a into b (16 bytes) as d; false when there is none. */
static bool take(struct nl_addr *a, uint8_t *b, ProtobufCBinaryData *d)
{
	unsigned len = a ? nl_addr_get_len(a) : 0;

	if (!len || len > 16)
		return false;
	memcpy(b, nl_addr_get_binary_addr(a), len);
	d->data = b;
	d->len = len;
	return true;
}

/* One address of the link into c's next slot. */
static void conf_addr(struct net_tun_conf *c, struct rtnl_addr *ra)
{
	NetnsAddr *a = &c->addrs[c->n_addrs];
	uint8_t(*b)[16] = c->bytes[c->n_addrs++];
	struct nl_addr *local = rtnl_addr_get_local(ra), *peer = rtnl_addr_get_peer(ra);

	netns_addr__init(a);
	PB_SET(a, family, rtnl_addr_get_family(ra));
	PB_SET(a, prefixlen, rtnl_addr_get_prefixlen(ra));
	PB_SET(a, flags, rtnl_addr_get_flags(ra));
	PB_SET(a, scope, rtnl_addr_get_scope(ra));
	PB_SET(a, valid_lft, rtnl_addr_get_valid_lifetime(ra));
	PB_SET(a, preferred_lft, rtnl_addr_get_preferred_lifetime(ra));
	a->has_local = take(local, b[0], &a->local);
	if (peer && (!local || nl_addr_cmp(local, peer)))
		a->has_peer = take(peer, b[1], &a->peer);
	a->has_broadcast = take(rtnl_addr_get_broadcast(ra), b[2], &a->broadcast);
}

int net_tun_conf_get(const char *name, struct net_tun_conf *c)
{
	struct nl_sock *sk = route_socket();
	struct rtnl_link *l = NULL;
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int ret, ifindex;

	memset(c, 0, sizeof(*c));
	if (!sk)
		return -ENOMEM;
	nl_socket_enable_auto_ack(sk);
	ret = rtnl_link_get_kernel(sk, 0, name, &l);
	ret = ret ?: rtnl_addr_alloc_cache(sk, &cache);
	if (ret) {
		pr_err("tun link %s: cannot read its settings: %s\n", name, nl_geterror(ret));
		ret = -EIO;
		goto out;
	}
	c->mtu = rtnl_link_get_mtu(l);
	c->up = !!(rtnl_link_get_flags(l) & IFF_UP);
	if (rtnl_link_get_arptype(l) == ARPHRD_ETHER && rtnl_link_get_addr(l) &&
	    nl_addr_get_len(rtnl_link_get_addr(l)) == 6) {
		memcpy(c->mac, nl_addr_get_binary_addr(rtnl_link_get_addr(l)), 6);
		c->has_mac = true;
	}
	ifindex = rtnl_link_get_ifindex(l);
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(ra) != ifindex || kernel_ll(ra))
			continue;
		if (c->n_addrs == NET_TUN_MAX_ADDRS) {
			pr_err("tun link %s: more than %d addresses: not supported\n", name,
			       NET_TUN_MAX_ADDRS);
			ret = -E2BIG;
			break;
		}
		conf_addr(c, ra);
	}
out:
	if (cache)
		nl_cache_free(cache);
	if (l)
		rtnl_link_put(l);
	nl_socket_free(sk);
	return ret;
}

int net_tun_conf_check(uint32_t flags, uint32_t mtu, bool has_mtu, const ProtobufCBinaryData *mac,
		       NetnsAddr *const *addrs, size_t n, const char *who)
{
	if (mac && (mac->len != 6 || !(flags & IFF_TAP))) {
		pr_err("image: %s: a MAC of %zu bytes on a %s\n", who, mac->len,
		       flags & IFF_TAP ? "tap" : "tun");
		return -EBADMSG;
	}
	if (has_mtu && (mtu < 68 || mtu > 65535)) {
		pr_err("image: %s: MTU %u\n", who, mtu);
		return -EBADMSG;
	}
	if (n > NET_TUN_MAX_ADDRS) {
		pr_err("image: %s: %zu addresses\n", who, n);
		return -EBADMSG;
	}
	for (size_t i = 0; i < n; i++) {
		const NetnsAddr *a = addrs[i];
		unsigned len = a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;

		if (!len || !a->has_local || a->local.len != len || a->prefixlen > len * 8 ||
		    (a->has_peer && a->peer.len != len) ||
		    (a->has_broadcast && a->broadcast.len != len) || a->scope > 255 || a->ifindex ||
		    a->label) {
			pr_err("image: %s: an address of family %u, %zu bytes, prefix %u, link %u "
			       "refused\n",
			       who, a->family, a->local.len, a->prefixlen, a->ifindex);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Changes link ifindex as ch says.  0 or a libnl error. */
static int change(struct nl_sock *sk, int ifindex, struct rtnl_link *ch)
{
	struct rtnl_link *old = rtnl_link_alloc();
	int ret;

	if (!old)
		return -NLE_NOMEM;
	rtnl_link_set_ifindex(old, ifindex);
	ret = rtnl_link_change(sk, old, ch, 0);
	rtnl_link_put(old);
	return ret;
}

int net_tun_conf_set(int ifindex, const char *name, uint32_t mtu, const ProtobufCBinaryData *mac,
		     bool up, NetnsAddr *const *addrs, size_t n)
{
	struct nl_addr *ll = mac ? nl_addr_build(AF_LLC, mac->data, mac->len) : NULL;
	struct nl_sock *sk = route_socket();
	struct rtnl_link *mch = rtnl_link_alloc(), *uch = rtnl_link_alloc();
	int ret = 0;

	if (!sk || !mch || !uch) {
		ret = -ENOMEM;
		goto out;
	}
	nl_socket_enable_auto_ack(sk);
	if (mtu)
		rtnl_link_set_mtu(mch, mtu);
	if (ll)
		rtnl_link_set_addr(mch, ll);
	rtnl_link_set_flags(uch, IFF_UP);
	if ((mtu || ll) && (ret = change(sk, ifindex, mch)))
		pr_err("tun link %s: cannot set its MTU %u or MAC: %s\n", name, mtu,
		       nl_geterror(ret));
	ret = ret ? netns_nlerr(ret) : netns_add_addrs(sk, addrs, n, ifindex, name);
	if (!ret && up && (ret = change(sk, ifindex, uch))) {
		pr_err("tun link %s: cannot set it up: %s\n", name, nl_geterror(ret));
		ret = netns_nlerr(ret);
	}
out:
	nl_addr_put(ll);
	if (mch)
		rtnl_link_put(mch);
	if (uch)
		rtnl_link_put(uch);
	if (sk)
		nl_socket_free(sk);
	return ret;
}
