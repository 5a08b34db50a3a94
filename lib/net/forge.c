/*
 * Datagrams queued again from their original source (dgram.h,
 * net_dg_forge), and TCP segments of a connection put back into an accept
 * queue (tcpq.h, net_tcp_forge): a packet built here (IPv4 or IPv6
 * header, UDP or UDP-Lite header with its checksum, an ICMP message as
 * queued, or a TCP segment) and
 * sent on a raw socket (IP_HDRINCL / IPV6_HDRINCL) to an address of this
 * host, so it goes through the local route and nowhere else; and the
 * test of what such an address is (unicast, bindable here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#define LOG_PREFIX "net/forge: "
#include "log.h"
#include "net/dgram.h"
#include "net/netlock.h"
#include "net/tcpq.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

bool net_addr_v4mapped(const struct net_addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return a->family == AF_INET6 && !memcmp(a->ip, pfx, 12);
}

/* a as IPv4 (a mapped one unmapped). */
static void to_v4(const struct net_addr *a, struct net_addr *o)
{
	*o = *a;
	if (a->family == AF_INET6) {
		memset(o, 0, sizeof(*o));
		o->family = AF_INET;
		o->port = a->port;
		memcpy(o->ip, a->ip + 12, 4);
	}
}

/* Is a (IPv4) a broadcast address of an interface here? */
static bool is_bcast4(const struct net_addr *a)
{
	struct ifaddrs *ifs, *i;
	bool ret = false;

	if (!memcmp(a->ip, "\xff\xff\xff\xff", 4))
		return true;
	if (getifaddrs(&ifs))
		return true; /* cannot tell: not forged to */
	for (i = ifs; i && !ret; i = i->ifa_next)
		if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr &&
		    i->ifa_broadaddr->sa_family == AF_INET)
			ret = !memcmp(&((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr, a->ip,
				      4);
	freeifaddrs(ifs);
	return ret;
}

bool net_addr_local_unicast(const struct net_addr *a)
{
	struct sockaddr_storage ss;
	struct net_addr x;
	socklen_t len;
	bool ok;
	int fd;

	if (net_addr_v4mapped(a))
		to_v4(a, &x);
	else
		x = *a;
	x.port = 0;
	if (x.family == AF_INET ? (x.ip[0] & 0xf0) == 0xe0 || is_bcast4(&x) : x.ip[0] == 0xff)
		return false;
	len = net_addr_sockaddr(&x, &ss);
	fd = socket(x.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = !bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return ok;
}

/* Adds len bytes at p to a ones' complement sum. */
static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The pseudo-header sum of a transport checksum. */
static uint32_t pseudo_sum(const struct net_addr *src, const struct net_addr *dst, int proto,
			   size_t len)
{
	size_t alen = src->family == AF_INET ? 4 : 16;
	uint32_t sum = 0;

	sum = csum_add(sum, src->ip, alen);
	sum = csum_add(sum, dst->ip, alen);
	return sum + proto + (uint32_t)(len & 0xffff) + (uint32_t)(len >> 16);
}

/*
 * The transport part of a forged datagram into p: a UDP (or UDP-Lite,
 * full coverage) header and the payload, or the ICMP message as queued
 * (ICMPv6 checksum recomputed: it covers the addresses).  Returns its
 * length.
 */
static size_t build_l4(uint8_t *p, int proto, const struct net_addr *src,
		       const struct net_addr *dst, const void *payload, size_t len)
{
	struct udphdr *u = (void *)p;
	uint16_t c;

	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		memcpy(p, payload, len);
		if (proto == IPPROTO_ICMPV6 && len >= 4) {
			p[2] = p[3] = 0;
			c = csum_fold(csum_add(pseudo_sum(src, dst, proto, len), p, len));
			memcpy(p + 2, &c, 2);
		}
		return len;
	}
	u->source = htons(src->port);
	u->dest = htons(dst->port);
	u->len = proto == IPPROTO_UDPLITE ? 0 : htons((uint16_t)(len + sizeof(*u)));
	u->check = 0;
	memcpy(p + sizeof(*u), payload, len);
	c = csum_fold(csum_add(pseudo_sum(src, dst, proto, len + sizeof(*u)), p, len + sizeof(*u)));
	u->check = c ? c : 0xffff;
	return len + sizeof(*u);
}

/* The raw socket of family, opened and bound to fg->dev once.  fd or -errno. */
static int forge_sock(struct net_forge *fg, int family, const char *who)
{
	int *fd = family == AF_INET ? &fg->raw4 : &fg->raw6, on = 1, mark = NET_LOCK_PASS_MARK;
	const char *dev = fg->dev[0] ? fg->dev : "lo";

	if (*fd >= 0)
		return *fd;
	/* marked: a namespace's network lock lets it through (netlock.h) */
	*fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (*fd < 0 || setsockopt(*fd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev)) ||
	    setsockopt(*fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) ||
	    (family == AF_INET6 && setsockopt(*fd, SOL_IPV6, IPV6_HDRINCL, &on, sizeof(on)))) {
		pr_perror("%s: cannot open a raw socket on %s to forge packets", who, dev);
		return -errno;
	}
	return *fd;
}

/*
 * The addresses of a forged packet: an IPv4-mapped pair unmapped into
 * *s and *d.  0 or -EINVAL (logged).
 */
static int pair_of(const struct net_addr *src, const struct net_addr *dst, struct net_addr *s,
		   struct net_addr *d, const char *who)
{
	*s = *src;
	*d = *dst;
	if (net_addr_v4mapped(s) != net_addr_v4mapped(d) && s->family == AF_INET6) {
		pr_err("%s: a packet from an IPv4 sender to an IPv6 address\n", who);
		return -EINVAL;
	}
	if (net_addr_v4mapped(s)) {
		to_v4(src, s);
		to_v4(dst, d);
	}
	return 0;
}

/* The length of the IP header of family. */
static size_t ip_hlen(int family)
{
	return family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
}

/*
 * Puts the IP header before the l4 bytes at pkt + ip_hlen() and sends
 * the packet from s to d on fg's raw socket.  0 or -errno (logged).
 */
static int send_ip(struct net_forge *fg, uint8_t *pkt, size_t l4, int proto,
		   const struct net_addr *s, const struct net_addr *d, int ttl, int tos,
		   const char *who)
{
	size_t hl = ip_hlen(s->family);
	struct sockaddr_storage ss;
	struct net_addr to = *d;
	socklen_t sl;
	int fd;

	fd = forge_sock(fg, s->family, who);
	if (fd < 0)
		return fd;
	if (s->family == AF_INET) {
		struct iphdr *ip = (void *)pkt;

		ip->version = 4;
		ip->ihl = 5;
		ip->tos = tos;
		ip->tot_len = htons((uint16_t)(hl + l4));
		ip->ttl = ttl ? ttl : 64;
		ip->protocol = proto;
		memcpy(&ip->saddr, s->ip, 4);
		memcpy(&ip->daddr, d->ip, 4);
	} else {
		struct ip6_hdr *ip6 = (void *)pkt;

		ip6->ip6_flow = htonl(6u << 28 | (uint32_t)tos << 20);
		ip6->ip6_plen = htons((uint16_t)l4);
		ip6->ip6_nxt = proto;
		ip6->ip6_hlim = ttl ? ttl : 64;
		memcpy(&ip6->ip6_src, s->ip, 16);
		memcpy(&ip6->ip6_dst, d->ip, 16);
	}
	to.port = 0;
	sl = net_addr_sockaddr(&to, &ss);
	if (sendto(fd, pkt, hl + l4, 0, (struct sockaddr *)&ss, sl) != (ssize_t)(hl + l4)) {
		pr_perror("%s: cannot send a forged packet of %zu bytes", who, hl + l4);
		return -errno;
	}
	return 0;
}

int net_dg_forge(struct net_forge *fg, int proto, const struct net_addr *src,
		 const struct net_addr *dst, const void *payload, size_t len, int ttl, int tos,
		 const char *who)
{
	static const size_t room = 40 + 8 + 65535;
	struct net_addr s, d;
	size_t hl, l4;
	uint8_t *pkt;
	int ret;

	ret = pair_of(src, dst, &s, &d, who);
	if (ret)
		return ret;
	if (s.family == AF_INET && proto == IPPROTO_ICMPV6)
		return -EINVAL;
	hl = ip_hlen(s.family);
	if (len > 65535 - hl - 8)
		return -EMSGSIZE;
	pkt = calloc(1, room);
	if (!pkt)
		return -ENOMEM;
	l4 = build_l4(pkt + hl, proto, &s, &d, payload, len);
	ret = send_ip(fg, pkt, l4, proto, &s, &d, ttl, tos, who);
	free(pkt);
	return ret;
}

int net_tcp_forge(struct net_forge *fg, const struct net_addr *src, const struct net_addr *dst,
		  const struct net_tcp_seg *seg, const char *who)
{
	size_t hl, tl = sizeof(struct tcphdr) + seg->optlen + seg->len;
	struct net_addr s, d;
	struct tcphdr *t;
	uint8_t *pkt;
	uint16_t c;
	int ret;

	ret = pair_of(src, dst, &s, &d, who);
	if (ret)
		return ret;
	hl = ip_hlen(s.family);
	if (seg->optlen > 40 || seg->optlen % 4 || tl > 65535 - hl)
		return -EMSGSIZE;
	pkt = calloc(1, hl + tl);
	if (!pkt)
		return -ENOMEM;
	t = (void *)(pkt + hl);
	t->source = htons(s.port);
	t->dest = htons(d.port);
	t->seq = htonl(seg->seq);
	t->ack_seq = htonl(seg->ack);
	t->doff = (sizeof(*t) + seg->optlen) / 4;
	t->window = htons(seg->win);
	((uint8_t *)t)[13] = seg->flags;
	if (seg->optlen)
		memcpy(t + 1, seg->opt, seg->optlen);
	if (seg->len)
		memcpy((uint8_t *)(t + 1) + seg->optlen, seg->data, seg->len);
	c = csum_fold(csum_add(pseudo_sum(&s, &d, IPPROTO_TCP, tl), t, tl));
	memcpy(&t->check, &c, 2);
	ret = send_ip(fg, pkt, tl, IPPROTO_TCP, &s, &d, 0, 0, who);
	free(pkt);
	return ret;
}

void net_forge_close(struct net_forge *fg)
{
	if (fg->raw4 >= 0)
		close(fg->raw4);
	if (fg->raw6 >= 0)
		close(fg->raw6);
	fg->raw4 = fg->raw6 = -1;
}
