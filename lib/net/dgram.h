/*
 * Datagram and raw sockets of AF_INET and AF_INET6 (UDP, UDP-Lite, ICMP
 * echo, raw IP), shared by their dump and restore: the table of the
 * IP-level int options a socket may differ in from a new one (read on
 * the dump's copy, checked as hostile, set and read back at restore),
 * options refused unless at their default, multicast memberships found
 * by asking the socket about every group of the host, and a datagram
 * queued again with its original source: a packet forged on a raw
 * socket bound to loopback, delivered to the restored socket's own
 * address only.
 */
#ifndef VXCR_NET_DGRAM_H
#define VXCR_NET_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/inet.h"
#include "inetdg.pb-c.h"

/* Where an option of the table applies. */
#define DG_V4 0x1	   /* AF_INET, and AF_INET6 datagram sockets (their IPv4 side) */
#define DG_V6 0x2	   /* AF_INET6 */
#define DG_UDP 0x4	   /* UDP and UDP-Lite */
#define DG_LITE 0x8	   /* UDP-Lite */
#define DG_RAW 0x10	   /* SOCK_RAW */
#define DG_IFX 0x100	   /* the value is an interface index (host order) */
#define DG_IFX_BE 0x200	   /* an interface index, network order both ways */
#define DG_IFX_SETBE 0x400 /* read in host order, set in network order */
#define DG_PRE_BIND 0x800  /* set before bind (V6ONLY, FREEBIND, TRANSPARENT) */
#define DG_LAST 0x1000	   /* set after the queue is refilled (SO_PEEK_OFF) */

/* One row of the option table. */
struct net_dg_opt {
	int level, name;
	const char *what;
	unsigned int flags;
	unsigned int diag; /* what inet_diag gives of it (dgram.c), 0 none */
};

/*
 * What one dump reads once for all its sockets: new sockets' option
 * values per socket kind, the host's multicast groups (the tree is
 * frozen: the groups it joined are listed when the dump starts), our
 * network namespace's cookie.  net_dg_cache_get gives the calling
 * thread's for the operation key (cleared when the key changes).
 */
struct net_dg_cache;
struct net_dg_cache *net_dg_cache_get(uint64_t key);

/* The row of (level, name), or NULL if the table has none. */
const struct net_dg_opt *net_dg_opt_find(int level, int name);

/* Does row o apply to a socket of family, type and protocol? */
bool net_dg_opt_applies(const struct net_dg_opt *o, int family, int type, int proto);

/* At most this many options differ (the table's size). */
#define NET_DG_NOPTS 72

/* One option read at dump: its interface's name when it holds an index. */
struct net_dg_optval {
	int level, name, value;
	char ifname[16];
};

/*
 * The options of the table that differ between fd (socket inode ino; a UDP
 * socket's options inet_diag lists are taken from its list) and a new socket of
 * e's family, type and protocol into v (room for NET_DG_NOPTS), *n of
 * them; the SOL_SOCKET buffer sizes of such a new socket into *sndbuf and
 * *rcvbuf; options refused unless at their default are checked too.  0 or
 * -errno (logged; -EOPNOTSUPP a refusal).
 */
int net_dg_opts_read(struct net_dg_cache *c, int fd, uint64_t ino, const InetdgEntry *e,
		     struct net_dg_optval *v, size_t *n, int *sndbuf, int *rcvbuf, const char *who);

/*
 * Is ino a UDP socket sock_diag lists (one dump per family per operation:
 * a bound one of our network namespace)?  1 with its family and send
 * buffer in use, else 0 (the socket is then asked itself).
 */
int net_dg_udp_listed(struct net_dg_cache *c, uint64_t ino, int *family, uint32_t *wqueue);

/* One multicast membership read at dump. */
struct net_dg_group {
	uint8_t addr[16];
	size_t len; /* 4 or 16 */
	char ifname[16];
};

/*
 * e's options and groups as hostile input: every (level, name) in the
 * table and applying to e's socket, once; ifnames well formed; groups
 * multicast addresses of e's family.  0 or -EBADMSG (logged).
 */
int net_dg_check(const InetdgEntry *e, const char *who);

/* Sets e's options of one stage on fd, each read back: DG_PRE_BIND
 * (before bind), 0 (after bind), DG_LAST (after the queue is refilled).
 * An interface index is looked up by its recorded name.  0 or -errno
 * (logged). */
int net_dg_opts_apply(int fd, const InetdgEntry *e, unsigned int stage, const char *who);

/*
 * The multicast groups fd (a socket of family) joined, into *v (malloc'ed,
 * *n of them): each group of the host (/proc/net/igmp, /proc/net/igmp6)
 * asked of the socket (MCAST_MSFILTER, which fails EADDRNOTAVAIL for a
 * group it did not join); dual: an AF_INET6 socket's IPv4 groups too (its
 * IPv4 side, a datagram socket's).  A membership with a source filter is
 * refused.
 * 0 or -errno (logged; -EOPNOTSUPP a refusal).
 */
int net_dg_groups_read(struct net_dg_cache *c, int fd, int family, bool dual,
		       struct net_dg_group **v, size_t *n, const char *who);

/* Joins e's groups on fd.  0 or -errno (logged). */
int net_dg_groups_apply(int fd, const InetdgEntry *e, const char *who);

/* Raw sockets to forge datagrams with (net_dg_forge); -1 until opened;
 * bound to dev (the receiver's SO_BINDTODEVICE, else "lo"). */
struct net_forge {
	int raw4, raw6;
	char dev[16];
};

/* 0 if socket fd lives in the caller's network namespace (SO_NETNS_COOKIE);
 * -EXDEV if not; -errno if that cannot be read. */
int net_sock_netns_ours(struct net_dg_cache *c, int fd);

/*
 * Is a an address of this host a datagram can be forged to without
 * leaving it: unicast, and bindable here.  a's port is ignored.
 */
bool net_addr_local_unicast(const struct net_addr *a);

/*
 * Sends len bytes of payload as a datagram of protocol proto (UDP,
 * UDP-Lite, ICMP or ICMPv6; the ICMP ones are the whole message) from
 * src to dst, on loopback only: dst must be a unicast address of this
 * host (the caller's bound socket's own, or one net_addr_local_unicast
 * accepted), so the route is the local one whatever device the raw
 * socket is bound to.  An
 * AF_INET6 pair of IPv4-mapped addresses goes as IPv4.  ttl/tos 0: the
 * defaults.  0 or -errno (logged).
 */
int net_dg_forge(struct net_forge *fg, int proto, const struct net_addr *src,
		 const struct net_addr *dst, const void *payload, size_t len, int ttl, int tos,
		 const char *who);
void net_forge_close(struct net_forge *fg);

/* Is a an IPv4-mapped IPv6 address (::ffff:a.b.c.d)? */
bool net_addr_v4mapped(const struct net_addr *a);

#endif
