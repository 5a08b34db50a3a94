/*
 * Datagram and raw sockets of AF_INET and AF_INET6 (dgram.h): the option
 * table, multicast memberships and forged datagrams.
 *
 * Options: a socket's value is compared with a new socket's of the same
 * family, type and protocol (the dump makes one), not with a constant:
 * IP_TTL, IPV6_V6ONLY, IPV6_AUTOFLOWLABEL and others read a sysctl when
 * unset, so only what the program changed is recorded, and restore leaves
 * the rest to the host's defaults as the kernel would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#define LOG_PREFIX "net/dgram: "
#include "log.h"
#include "net/dgram.h"
#include "net/sockopt.h"
#include "proc/proc.h"
#include "util/pb.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

/* Rows inet_diag answers for every UDP socket of a family at once
 * (INET_DIAG_SOCKOPT's bits, INET_DIAG_TOS, TCLASS, SKV6ONLY). */
enum {
	DGD_NONE,
	DGD_RECVERR,
	DGD_FREEBIND,
	DGD_HDRINCL,
	DGD_MCLOOP,
	DGD_TRANSPARENT,
	DGD_MCALL,
	DGD_NODEFRAG,
	DGD_BANP,
	DGD_RFC4884,
	DGD_TOS,
	DGD_TCLASS,
	DGD_V6ONLY,
};

#define V4 DG_V4
#define V6 DG_V6
static const struct net_dg_opt dg_opts[] = {
	{ SOL_IP, IP_TOS, "IP_TOS", V4, DGD_TOS },
	{ SOL_IP, IP_TTL, "IP_TTL", V4, DGD_NONE },
	{ SOL_IP, IP_HDRINCL, "IP_HDRINCL", V4 | DG_RAW, DGD_HDRINCL },
	{ SOL_IP, IP_RECVOPTS, "IP_RECVOPTS", V4, DGD_NONE },
	{ SOL_IP, IP_RETOPTS, "IP_RETOPTS", V4, DGD_NONE },
	{ SOL_IP, IP_PKTINFO, "IP_PKTINFO", V4, DGD_NONE },
	{ SOL_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", V4, DGD_NONE },
	{ SOL_IP, IP_RECVERR, "IP_RECVERR", V4, DGD_RECVERR },
	{ SOL_IP, IP_RECVTTL, "IP_RECVTTL", V4, DGD_NONE },
	{ SOL_IP, IP_RECVTOS, "IP_RECVTOS", V4, DGD_NONE },
	{ SOL_IP, IP_FREEBIND, "IP_FREEBIND", V4 | DG_PRE_BIND, DGD_FREEBIND },
	{ SOL_IP, IP_TRANSPARENT, "IP_TRANSPARENT", V4 | DG_PRE_BIND, DGD_TRANSPARENT },
	{ SOL_IP, IP_MULTICAST_IF, "IP_MULTICAST_IF", V4, DGD_NONE },
	{ SOL_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", V4, DGD_NONE },
	{ SOL_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", V4, DGD_MCLOOP },
	{ SOL_IP, IP_MULTICAST_ALL, "IP_MULTICAST_ALL", V4, DGD_MCALL },
	{ SOL_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", V4, DGD_NONE },
	{ SOL_IP, IP_MINTTL, "IP_MINTTL", V4, DGD_NONE },
	{ SOL_IP, IP_PASSSEC, "IP_PASSSEC", V4, DGD_NONE },
	{ SOL_IP, IP_CHECKSUM, "IP_CHECKSUM", V4, DGD_NONE },
	{ SOL_IP, IP_NODEFRAG, "IP_NODEFRAG", V4 | DG_RAW, DGD_NODEFRAG },
	{ SOL_IP, IP_RECVFRAGSIZE, "IP_RECVFRAGSIZE", V4, DGD_NONE },
	{ SOL_IP, IP_RECVERR_RFC4884, "IP_RECVERR_RFC4884", V4, DGD_RFC4884 },
	{ SOL_IP, IP_UNICAST_IF, "IP_UNICAST_IF", V4 | DG_IFX_BE, DGD_NONE },
	{ SOL_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", V4 | DG_PRE_BIND, DGD_BANP },
	{ SOL_IP, IP_LOCAL_PORT_RANGE, "IP_LOCAL_PORT_RANGE", V4 | DG_PRE_BIND, DGD_NONE },
	{ SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", V6 | DG_PRE_BIND, DGD_V6ONLY },
	{ SOL_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", V6 | DG_IFX, DGD_NONE },
	{ SOL_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_MULTICAST_ALL, "IPV6_MULTICAST_ALL", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVERR, "IPV6_RECVERR", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVRTHDR, "IPV6_RECVRTHDR", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVHOPOPTS, "IPV6_RECVHOPOPTS", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVDSTOPTS, "IPV6_RECVDSTOPTS", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_TCLASS, "IPV6_TCLASS", V6, DGD_TCLASS },
	{ SOL_IPV6, IPV6_RECVPATHMTU, "IPV6_RECVPATHMTU", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_DONTFRAG, "IPV6_DONTFRAG", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND", V6 | DG_PRE_BIND, DGD_NONE },
	{ SOL_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT", V6 | DG_PRE_BIND, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_AUTOFLOWLABEL, "IPV6_AUTOFLOWLABEL", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_ADDR_PREFERENCES, "IPV6_ADDR_PREFERENCES", V6 | DG_PRE_BIND, DGD_NONE },
	{ SOL_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_FLOWINFO_SEND, "IPV6_FLOWINFO_SEND", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVFRAGSIZE, "IPV6_RECVFRAGSIZE", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_RECVERR_RFC4884, "IPV6_RECVERR_RFC4884", V6, DGD_NONE },
	{ SOL_IPV6, IPV6_UNICAST_IF, "IPV6_UNICAST_IF", V6 | DG_IFX_SETBE, DGD_NONE },
	{ SOL_IPV6, IPV6_CHECKSUM, "IPV6_CHECKSUM", V6 | DG_RAW, DGD_NONE },
	{ SOL_IPV6, IPV6_HDRINCL, "IPV6_HDRINCL", V6 | DG_RAW, DGD_NONE },
	{ SOL_UDP, UDP_CORK, "UDP_CORK", DG_UDP, DGD_NONE },
	{ SOL_UDP, UDP_NO_CHECK6_TX, "UDP_NO_CHECK6_TX", DG_UDP, DGD_NONE },
	{ SOL_UDP, UDP_NO_CHECK6_RX, "UDP_NO_CHECK6_RX", DG_UDP, DGD_NONE },
	{ SOL_UDP, UDP_SEGMENT, "UDP_SEGMENT", DG_UDP, DGD_NONE },
	{ SOL_UDP, UDP_GRO, "UDP_GRO", DG_UDP, DGD_NONE },
	{ SOL_UDPLITE, UDPLITE_SEND_CSCOV, "UDPLITE_SEND_CSCOV", DG_LITE, DGD_NONE },
	{ SOL_UDPLITE, UDPLITE_RECV_CSCOV, "UDPLITE_RECV_CSCOV", DG_LITE, DGD_NONE },
	{ SOL_SOCKET, SO_PEEK_OFF, "SO_PEEK_OFF", DG_UDP | DG_LAST, DGD_NONE },
};
#undef V4
#undef V6

/* Refused unless at their default: what the image cannot hold. */
static const struct net_fixed_opt dg_fixed4[] = {
	{ SOL_IP, IP_OPTIONS, "IP_OPTIONS", 0 },
};
static const struct net_fixed_opt dg_fixed6[] = {
	{ SOL_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS", 0 },
	{ SOL_IPV6, IPV6_RTHDR, "IPV6_RTHDR", 0 },
	{ SOL_IPV6, IPV6_DSTOPTS, "IPV6_DSTOPTS", 0 },
	{ SOL_IPV6, IPV6_RTHDRDSTOPTS, "IPV6_RTHDRDSTOPTS", 0 },
};
static const struct net_fixed_opt dg_fixed_udp[] = {
	{ SOL_UDP, UDP_ENCAP, "UDP_ENCAP", 0 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct net_dg_opt *net_dg_opt_find(int level, int name)
{
	size_t i;

	for (i = 0; i < N(dg_opts); i++)
		if (dg_opts[i].level == level && dg_opts[i].name == name)
			return &dg_opts[i];
	return NULL;
}

bool net_dg_opt_applies(const struct net_dg_opt *o, int family, int type, int proto)
{
	bool udp = type == SOCK_DGRAM && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE);

	if (o->flags & DG_RAW)
		return type == SOCK_RAW && (o->flags & (family == AF_INET ? DG_V4 : DG_V6));
	if (o->flags & DG_LITE)
		return type == SOCK_DGRAM && proto == IPPROTO_UDPLITE;
	if (o->flags & DG_UDP)
		return udp;
	if (o->flags & DG_V6)
		return family == AF_INET6;
	/* SOL_IP: AF_INET, and the IPv4 side of AF_INET6 UDP sockets */
	return family == AF_INET || udp;
}

/* The index an ifindex option's value v holds. */
static unsigned int ifx_of(const struct net_dg_opt *o, int v)
{
	return o->flags & DG_IFX_BE ? ntohl((uint32_t)v) : (unsigned int)v;
}

/* The refused-unless-default options that apply to e's socket. */
static int check_fixed(int fd, const InetdgEntry *e, const char *who)
{
	int ret = 0;

	if (e->family == AF_INET || e->type == SOCK_DGRAM)
		ret = net_check_fixed(fd, dg_fixed4, N(dg_fixed4), who);
	if (!ret && e->family == AF_INET6)
		ret = net_check_fixed(fd, dg_fixed6, N(dg_fixed6), who);
	if (!ret && e->type == SOCK_DGRAM &&
	    (e->protocol == IPPROTO_UDP || e->protocol == IPPROTO_UDPLITE))
		ret = net_check_fixed(fd, dg_fixed_udp, N(dg_fixed_udp), who);
	return ret;
}

/* A new socket's values of the table, for one family, type and protocol. */
struct dg_ref {
	int family, type, proto;
	int err[N(dg_opts)], v[N(dg_opts)];
	int sndbuf, rcvbuf;
};

#define HOST_GROUPS_MAX 1024

/* The multicast groups joined on this host (of one family), as listed. */
struct host_groups {
	size_t n;
	struct {
		unsigned int ifx;
		uint8_t g[16];
	} v[HOST_GROUPS_MAX];
};

/* What inet_diag says of one UDP socket; -1: not said. */
struct dg_diag {
	uint32_t ino;
	int bits; /* INET_DIAG_SOCKOPT's two bytes, -1 none */
	int tos, tclass, v6only;
	uint32_t wqueue; /* send buffer in use (SIOCOUTQ's value) */
};

/* Every UDP socket of a family inet_diag lists, sorted by inode. */
struct dg_diags {
	bool done; /* asked (n may be 0: the query failed, getsockopt is used) */
	size_t n, cap;
	struct dg_diag *v;
};

/* What one dump reads once for all its sockets. */
struct net_dg_cache {
	uint64_t key;
	struct dg_ref refs[6]; /* new sockets' values, one per socket kind */
	unsigned int nrefs;
	struct host_groups *groups[2]; /* AF_INET, AF_INET6; NULL: not read yet */
	uint64_t netns_cookie;	       /* of our network namespace; 0: not read yet */
	struct dg_diags diags[2];      /* UDP over AF_INET, AF_INET6 */
};

/* The calling thread's, for the operation it dumps. */
static __thread struct net_dg_cache dg_cache;

struct net_dg_cache *net_dg_cache_get(uint64_t key)
{
	struct net_dg_cache *c = &dg_cache;

	if (c->key != key || !key) {
		free(c->groups[0]);
		free(c->groups[1]);
		free(c->diags[0].v);
		free(c->diags[1].v);
		memset(c, 0, sizeof(*c));
		c->key = key;
	}
	return c;
}

/* A new socket like e's; a ping socket's is a UDP one (creating a ping
 * socket depends on net.ipv4.ping_group_range; their IP options agree). */
static const struct dg_ref *ref_of(struct net_dg_cache *c, const InetdgEntry *e, const char *who)
{
	struct dg_ref *r;
	unsigned int i;
	int fd, proto = e->protocol;

	for (i = 0; i < c->nrefs && i < N(c->refs); i++)
		if (c->refs[i].family == (int)e->family && c->refs[i].type == (int)e->type &&
		    c->refs[i].proto == proto)
			return &c->refs[i];
	if (e->type == SOCK_DGRAM && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6))
		fd = socket(e->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	else
		fd = socket(e->family, e->type | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		pr_perror("%s: cannot make a new socket of its kind to compare with", who);
		return NULL;
	}
	r = &c->refs[c->nrefs++ % N(c->refs)];
	r->family = e->family;
	r->type = e->type;
	r->proto = proto;
	for (i = 0; i < N(dg_opts); i++)
		r->err[i] = net_get_int(fd, dg_opts[i].level, dg_opts[i].name, &r->v[i]);
	if (net_get_int(fd, SOL_SOCKET, SO_SNDBUF, &r->sndbuf) ||
	    net_get_int(fd, SOL_SOCKET, SO_RCVBUF, &r->rcvbuf))
		r->sndbuf = r->rcvbuf = -1;
	close(fd);
	return r;
}

/* The interface name of option o's value a into x.  0 or -errno (logged). */
static int name_iface(const struct net_dg_opt *o, struct net_dg_optval *x, const char *who)
{
	unsigned int ifx = ifx_of(o, x->value);

	if (!(o->flags & (DG_IFX | DG_IFX_BE | DG_IFX_SETBE)) || !ifx)
		return 0;
	if (!if_indextoname(ifx, x->ifname)) {
		pr_err("%s: %s names interface %u, which vxdump cannot see\n", who, o->what, ifx);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* One inet_diag answer into ds.  0 or -ENOMEM. */
static int diag_take(const struct nlmsghdr *h, void *arg)
{
	struct dg_diags *ds = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a = (const void *)(m + 1);
	size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	struct dg_diag *d, *nv;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 256;
		nv = realloc(ds->v, ds->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ds->v = nv;
	}
	d = &ds->v[ds->n++];
	*d = (struct dg_diag){ m->idiag_inode, -1, -1, -1, -1, m->idiag_wqueue };
	while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		const uint8_t *v = (const void *)(a + 1);
		size_t vlen = a->nla_len - sizeof(*a);

		if (a->nla_type == INET_DIAG_SOCKOPT && vlen >= 2)
			d->bits = v[0] | v[1] << 8;
		else if (a->nla_type == INET_DIAG_TOS && vlen >= 1)
			d->tos = v[0];
		else if (a->nla_type == INET_DIAG_TCLASS && vlen >= 1)
			d->tclass = v[0];
		else if (a->nla_type == INET_DIAG_SKV6ONLY && vlen >= 1)
			d->v6only = v[0];
		if ((size_t)NLA_ALIGN(a->nla_len) >= left)
			break;
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

static int by_ino(const void *a, const void *b)
{
	const struct dg_diag *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Every UDP socket of family, once per dump (sock_diag).  A failed query
 * leaves the list empty: each option is then asked of its socket. */
static const struct dg_diags *diags_of(struct net_dg_cache *c, int family)
{
	struct dg_diags *ds = &c->diags[family == AF_INET6];
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family,
		       .sdiag_protocol = IPPROTO_UDP,
		       .idiag_ext = 1 << (INET_DIAG_TOS - 1) | 1 << (INET_DIAG_TCLASS - 1),
		       .idiag_states = ~0u },
	};

	if (ds->done)
		return ds;
	ds->done = true;
	if (proc_sock_diag_dump(&req, sizeof(req), diag_take, ds))
		ds->n = 0;
	qsort(ds->v, ds->n, sizeof(*ds->v), by_ino);
	return ds;
}

/* Row o's value from d into *v: true if inet_diag gave it. */
static bool diag_value(const struct dg_diag *d, const struct net_dg_opt *o, int *v)
{
	static const int bit[] = { [DGD_RECVERR] = 0,  [DGD_FREEBIND] = 2,    [DGD_HDRINCL] = 3,
				   [DGD_MCLOOP] = 4,   [DGD_TRANSPARENT] = 5, [DGD_MCALL] = 6,
				   [DGD_NODEFRAG] = 7, [DGD_BANP] = 8,	      [DGD_RFC4884] = 9 };

	switch (o->diag) {
	case DGD_NONE:
		return false;
	case DGD_TOS:
		*v = d->tos;
		break;
	case DGD_TCLASS:
		*v = d->tclass;
		break;
	case DGD_V6ONLY:
		*v = d->v6only;
		break;
	default:
		*v = d->bits < 0 ? -1 : (d->bits >> bit[o->diag]) & 1;
	}
	return *v >= 0;
}

/* inet_diag's view of UDP socket ino of e's family, or NULL. */
static const struct dg_diag *diag_find(struct net_dg_cache *c, const InetdgEntry *e, uint64_t ino)
{
	const struct dg_diags *ds;
	struct dg_diag key = { .ino = (uint32_t)ino };

	if (!c || !ino || ino > UINT32_MAX || e->type != SOCK_DGRAM || e->protocol != IPPROTO_UDP)
		return NULL;
	ds = diags_of(c, e->family);
	return ds->n ? bsearch(&key, ds->v, ds->n, sizeof(key), by_ino) : NULL;
}

int net_dg_udp_listed(struct net_dg_cache *c, uint64_t ino, int *family, uint32_t *wqueue)
{
	struct dg_diag key = { .ino = (uint32_t)ino };
	const struct dg_diags *ds;
	const struct dg_diag *d;
	int i;

	for (i = 0; i < 2 && ino && ino <= UINT32_MAX; i++) {
		ds = diags_of(c, i ? AF_INET6 : AF_INET);
		d = ds->n ? bsearch(&key, ds->v, ds->n, sizeof(key), by_ino) : NULL;
		if (d) {
			*family = i ? AF_INET6 : AF_INET;
			*wqueue = d->wqueue;
			return 1;
		}
	}
	return 0;
}

int net_dg_opts_read(struct net_dg_cache *c, int fd, uint64_t ino, const InetdgEntry *e,
		     struct net_dg_optval *v, size_t *n, int *sndbuf, int *rcvbuf, const char *who)
{
	const struct dg_diag *d;
	const struct dg_ref *r;
	size_t i;
	int a, ra, ret;

	*n = 0;
	ret = check_fixed(fd, e, who);
	if (ret)
		return ret;
	r = ref_of(c, e, who);
	if (!r)
		return -EIO;
	d = diag_find(c, e, ino);
	*sndbuf = r->sndbuf;
	*rcvbuf = r->rcvbuf;
	for (i = 0; i < N(dg_opts); i++) {
		const struct net_dg_opt *o = &dg_opts[i];
		struct net_dg_optval *x = &v[*n];

		if (!net_dg_opt_applies(o, e->family, e->type, e->protocol))
			continue;
		ra = d && diag_value(d, o, &a) ? 0 : net_get_int(fd, o->level, o->name, &a);
		if (ra && r->err[i])
			continue; /* neither knows it: this kernel lacks it */
		if (ra || r->err[i]) {
			pr_err("%s: getsockopt %s: %s\n", who, o->what,
			       strerror(-(ra ?: r->err[i])));
			return ra ?: r->err[i];
		}
		if (a == r->v[i])
			continue;
		memset(x, 0, sizeof(*x));
		x->level = o->level;
		x->name = o->name;
		x->value = a;
		ret = name_iface(o, x, who);
		if (ret)
			return ret;
		(*n)++;
	}
	return 0;
}

/* An interface name of an image: 1-15 bytes, no '/'. */
static bool ifname_ok(const char *s)
{
	return s && s[0] && strlen(s) < IF_NAMESIZE && !strchr(s, '/');
}

/* A group of an image: a multicast address of family, on a named interface. */
/* A group of an image: a multicast address of the socket's family (or an
 * IPv4 one on an AF_INET6 datagram socket), on a named interface. */
static bool group_ok(const InetdgGroup *g, const InetdgEntry *e)
{
	if (!g->has_group || !ifname_ok(g->ifname))
		return false;
	if (g->group.len == 4 && (e->family == AF_INET || e->type == SOCK_DGRAM))
		return (g->group.data[0] & 0xf0) == 0xe0;
	return e->family == AF_INET6 && g->group.len == 16 && g->group.data[0] == 0xff;
}

int net_dg_check(const InetdgEntry *e, const char *who)
{
	size_t i, j;

	for (i = 0; i < e->n_ipopts; i++) {
		const InetdgOpt *x = e->ipopts[i];
		const struct net_dg_opt *o = net_dg_opt_find(x->level, x->name);

		if (!x->has_level || !x->has_name || !x->has_value || !o ||
		    !net_dg_opt_applies(o, e->family, e->type, e->protocol) ||
		    (x->ifname && !ifname_ok(x->ifname)) ||
		    (x->ifname && !(o->flags & (DG_IFX | DG_IFX_BE | DG_IFX_SETBE)))) {
			pr_err("image: %s: option %u/%u is not one restore sets on this socket\n",
			       who, x->level, x->name);
			return -EBADMSG;
		}
		for (j = 0; j < i; j++)
			if (e->ipopts[j]->level == x->level && e->ipopts[j]->name == x->name) {
				pr_err("image: %s: option %s given twice\n", who, o->what);
				return -EBADMSG;
			}
	}
	for (i = 0; i < e->n_groups; i++)
		if (!group_ok(e->groups[i], e)) {
			pr_err("image: %s: multicast group %zu is no multicast address of its "
			       "family or names no interface\n",
			       who, i);
			return -EBADMSG;
		}
	return 0;
}

/* The value to set for x (an index looked up by its interface's name). */
static int value_of(const InetdgOpt *x, const struct net_dg_opt *o, int *set, int *want,
		    const char *who)
{
	unsigned int ifx;

	*set = *want = x->value;
	if (!x->ifname)
		return 0;
	ifx = if_nametoindex(x->ifname);
	if (!ifx) {
		pr_err("%s: %s names interface %s, which is not here: refused\n", who, o->what,
		       x->ifname);
		return -ENODEV;
	}
	if (o->flags & DG_IFX_BE)
		*set = *want = (int)htonl(ifx);
	else if (o->flags & DG_IFX_SETBE)
		*set = (int)htonl(ifx), *want = (int)ifx;
	else
		*set = *want = (int)ifx;
	return 0;
}

int net_dg_opts_apply(int fd, const InetdgEntry *e, unsigned int stage, const char *who)
{
	size_t i;
	int set, want, ret;

	for (i = 0; i < e->n_ipopts; i++) {
		const InetdgOpt *x = e->ipopts[i];
		const struct net_dg_opt *o = net_dg_opt_find(x->level, x->name);

		if ((o->flags & (DG_PRE_BIND | DG_LAST)) != stage)
			continue;
		ret = value_of(x, o, &set, &want, who);
		ret = ret ?: net_set_int(fd, o->level, o->name, o->what, set, want, who);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Is fd a member of group g (4 or 16 bytes) on interface ifx?  1 yes
 * (any source), 0 no, -EOPNOTSUPP (logged) with a source filter, -errno.
 */
static int is_member(int fd, int family, const uint8_t *g, unsigned int ifx, const char *who)
{
	union {
		struct group_filter gf;
		char b[sizeof(struct group_filter) + sizeof(struct sockaddr_storage)];
	} u;
	socklen_t len = sizeof(u);
	char s[INET6_ADDRSTRLEN] = "?";

	memset(&u, 0, sizeof(u));
	u.gf.gf_interface = ifx;
	u.gf.gf_group.ss_family = family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)&u.gf.gf_group)->sin_addr, g, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&u.gf.gf_group)->sin6_addr, g, 16);
	if (getsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6, MCAST_MSFILTER, &u, &len)) {
		if (errno == EADDRNOTAVAIL || errno == ENODEV || errno == EINVAL)
			return 0;
		return -errno;
	}
	if (u.gf.gf_fmode != MCAST_EXCLUDE || u.gf.gf_numsrc) {
		inet_ntop(family, g, s, sizeof(s));
		pr_err("%s: its membership of multicast group %s has a source filter: not "
		       "supported\n",
		       who, s);
		return -EOPNOTSUPP;
	}
	return 1;
}

/* Appends group g joined on interface ifx to *v.  0 or -errno. */
static int add_group(struct net_dg_group **v, size_t *n, const uint8_t *g, size_t glen,
		     unsigned int ifx)
{
	struct net_dg_group *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	memcpy(nv[*n].addr, g, glen);
	nv[*n].len = glen;
	if (!if_indextoname(ifx, nv[*n].ifname))
		return -errno;
	(*n)++;
	return 0;
}

/* Parses one group line of /proc/net/igmp6 ("IDX NAME HEX32 ...").  0 or -1. */
static int igmp6_line(const char *line, unsigned int *ifx, uint8_t g[16])
{
	char hex[33];
	unsigned int i, b;

	if (sscanf(line, "%u %*s %32s", ifx, hex) != 2 || strlen(hex) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		g[i] = b;
	}
	return 0;
}

/* The groups of family listed by /proc/net/igmp(6), read once per dump.
 * NULL: -errno in *err (-E2BIG: more than HOST_GROUPS_MAX). */
static const struct host_groups *groups_of(struct net_dg_cache *c, int family, int *err)
{
	bool v4 = family == AF_INET;
	struct host_groups **hp = &c->groups[!v4], *h;
	unsigned int ifx = 0, raw;
	char line[256];
	FILE *f;

	if (c->groups[!v4]) /* read already in this dump */
		return c->groups[!v4];
	h = calloc(1, sizeof(*h));
	f = h ? fopen(v4 ? "/proc/net/igmp" : "/proc/net/igmp6", "re") : NULL;
	*err = !h ? -ENOMEM : !f ? -errno : 0;
	while (!*err && fgets(line, sizeof(line), f)) {
		if (v4 && line[0] != '\t' && sscanf(line, "%u", &ifx) == 1)
			continue; /* "IDX DEV : COUNT QUERIER": the groups of IDX follow */
		if (v4 && (line[0] != '\t' || sscanf(line, "%x", &raw) != 1))
			continue;
		if (h->n == HOST_GROUPS_MAX) {
			*err = -E2BIG;
			break;
		}
		if (v4)
			memcpy(h->v[h->n].g, &raw, 4); /* printed as the __be32 in host order */
		else if (igmp6_line(line, &ifx, h->v[h->n].g))
			continue;
		h->v[h->n++].ifx = ifx;
	}
	if (f)
		fclose(f);
	if (*err) {
		free(h);
		return NULL;
	}
	*hp = h;
	return h;
}

/* The groups of one family (gfam) fd joined, appended to *v.  0 or -errno. */
static int groups_in(struct net_dg_cache *c, int fd, int gfam, struct net_dg_group **v, size_t *n,
		     const char *who)
{
	const struct host_groups *h;
	size_t i;
	int ret = 0;

	h = groups_of(c, gfam, &ret);
	if (!h) {
		pr_err("%s: cannot list the host's multicast groups: %s\n", who,
		       ret == -E2BIG ? "more than 1024" : strerror(-ret));
		return ret == -E2BIG ? -EOPNOTSUPP : ret;
	}
	for (i = 0; i < h->n && ret >= 0; i++) {
		ret = is_member(fd, gfam, h->v[i].g, h->v[i].ifx, who);
		if (ret == 1)
			ret = add_group(v, n, h->v[i].g, gfam == AF_INET ? 4 : 16, h->v[i].ifx);
	}
	if (ret < 0 && ret != -EOPNOTSUPP)
		pr_err("%s: cannot ask for its multicast groups: %s\n", who, strerror(-ret));
	return ret < 0 ? ret : 0;
}

int net_dg_groups_read(struct net_dg_cache *c, int fd, int family, bool dual,
		       struct net_dg_group **v, size_t *n, const char *who)
{
	int ret;

	*v = NULL;
	*n = 0;
	ret = groups_in(c, fd, family, v, n, who);
	/* an AF_INET6 datagram socket's IPv4 side joins IPv4 groups (SOL_IP) */
	if (!ret && family == AF_INET6 && dual)
		ret = groups_in(c, fd, AF_INET, v, n, who);
	return ret;
}

int net_dg_groups_apply(int fd, const InetdgEntry *e, const char *who)
{
	char s[INET6_ADDRSTRLEN] = "?";
	unsigned int ifx;
	size_t i;
	int ret;

	for (i = 0; i < e->n_groups; i++) {
		const InetdgGroup *g = e->groups[i];

		ifx = if_nametoindex(g->ifname);
		if (g->group.len == 4) {
			struct ip_mreqn m = { .imr_ifindex = (int)ifx };

			memcpy(&m.imr_multiaddr, g->group.data, 4);
			ret = ifx ? setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) : -1;
		} else {
			struct ipv6_mreq m = { .ipv6mr_interface = ifx };

			memcpy(&m.ipv6mr_multiaddr, g->group.data, 16);
			ret = ifx ? setsockopt(fd, SOL_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m)) :
				    -1;
		}
		if (ret) {
			inet_ntop(g->group.len == 4 ? AF_INET : AF_INET6, g->group.data, s,
				  sizeof(s));
			pr_err("%s: cannot join multicast group %s on %s: %s\n", who, s, g->ifname,
			       ifx ? strerror(errno) : "no such interface here");
			return ifx ? -errno : -ENODEV;
		}
	}
	return 0;
}

int net_sock_netns_ours(struct net_dg_cache *c, int fd)
{
	uint64_t its = 0;
	socklen_t len = sizeof(its);
	int s;

	if (!c->netns_cookie) {
		s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		len = sizeof(c->netns_cookie);
		if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &c->netns_cookie, &len)) {
			c->netns_cookie = 0;
			if (s >= 0)
				close(s);
			return -errno;
		}
		close(s);
	}
	len = sizeof(its);
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &its, &len))
		return -errno;
	return its == c->netns_cookie ? 0 : -EXDEV;
}
