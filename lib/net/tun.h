/*
 * tun/tap links (lib/net/tun.c): what rtnetlink says of one (kind "tun",
 * IFLA_INFO_DATA: type, no-pi, vnet header, persist, multi-queue, owner,
 * group, queues), read with one RTM_GETLINK through libnl since libnl has
 * no tun link type; a persistent one made with /dev/net/tun (tun links
 * cannot be made through rtnetlink); and the checks of an image's tun
 * fields.  Everything acts in the calling thread's network namespace.
 */
#ifndef VXCR_NET_TUN_H
#define VXCR_NET_TUN_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "netns.pb-c.h"

/* The flags of a link (TUNGETIFF without the queue's own bits); IFF_NAPI
 * and IFF_NAPI_FRAGS are not among them (not supported: not tried). */
#define NET_TUN_LINK_FLAGS                                                              \
	(IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_PERSIST | \
	 IFF_ONE_QUEUE)
/* What TUNSETIFF takes of them (all but persist). */
#define NET_TUN_IFF_FLAGS (NET_TUN_LINK_FLAGS & ~IFF_PERSIST)
/* What must match between a link and a queue attached to it. */
#define NET_TUN_MATCH_FLAGS (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

/* One tun/tap link. */
struct net_tun_link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint32_t arptype;     /* ARPHRD_NONE (tun), ARPHRD_ETHER (tap), or what TUNSETLINK set */
	uint32_t flags;	      /* IFF_TUN or IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE,
			       * IFF_PERSIST */
	int64_t owner, group; /* -1: none */
	uint32_t queues, disabled; /* attached queues, detached ones (multi-queue) */
};

/* A link name the kernel takes and no path comes of (IFNAMSIZ, no '/'). */
bool net_tun_name_ok(const char *s);
/* Exactly one of IFF_TUN and IFF_TAP, nothing outside NET_TUN_LINK_FLAGS. */
bool net_tun_flags_ok(uint32_t flags);
/* An owner or group of the image: -1 (none) or a valid id. */
bool net_tun_id_ok(int64_t id);
/* The ARPHRD type a link of flags has unless TUNSETLINK changed it. */
uint32_t net_tun_arptype(uint32_t flags);

/*
 * Link name (ifindex 0) or ifindex of the calling thread's namespace.
 * 1 and *t filled, 0 when there is no such link, -EMEDIUMTYPE when it is
 * no tun/tap link, or -errno (logged).
 */
int net_tun_link_get(int ifindex, const char *name, struct net_tun_link *t);

/*
 * Detached queues (multi-queue, TUNSETQUEUE IFF_DETACH_QUEUE) of every
 * tun/tap link of the calling thread's namespace: their number (>= 0), the
 * first such link's name in name (IF_NAMESIZE), or -errno (logged).
 */
int net_tun_detached(char *name);

/*
 * A persistent tun/tap link made in the calling thread's namespace:
 * /dev/net/tun, TUNSETIFINDEX (ifindex > 0), TUNSETIFF, TUNSETOWNER,
 * TUNSETGROUP, TUNSETPERSIST.  It is down, with the kernel's MTU and
 * MAC.  0 or -errno (logged).
 */
int net_tun_make(const char *name, uint32_t ifindex, uint32_t flags, int64_t owner, int64_t group);

/* Renames link ifindex (down) of the calling thread's namespace to name:
 * -EEXIST when that name is taken.  0 or -errno (logged). */
int net_tun_rename(int ifindex, const char *name);

/* A link's own settings, for a link restore makes again on the host. */
#define NET_TUN_MAX_ADDRS 16
struct net_tun_conf {
	uint32_t mtu;
	bool up;
	uint8_t mac[6]; /* a tap's (has_mac) */
	bool has_mac;
	size_t n_addrs;
	NetnsAddr addrs[NET_TUN_MAX_ADDRS]; /* their bytes in bytes[] */
	uint8_t bytes[NET_TUN_MAX_ADDRS][3][16];
};

/*
 * Link name's MTU, state and addresses (but the kernel's own IPv6
 * link-local one) in the calling thread's namespace into *c.  0, -E2BIG
 * (more than NET_TUN_MAX_ADDRS addresses), or -errno (logged).
 */
int net_tun_conf_get(const char *name, struct net_tun_conf *c);
/* An image's settings as hostile input (mac: NULL none; only a tap's).
 * 0 or -EBADMSG (logged). */
int net_tun_conf_check(uint32_t flags, uint32_t mtu, bool has_mtu, const ProtobufCBinaryData *mac,
		       NetnsAddr *const *addrs, size_t n, const char *who);
/* Sets them on link ifindex (named name, down), which restore made: MAC
 * (NULL none) and MTU (0 none), addresses, then up.  0 or -errno (logged). */
int net_tun_conf_set(int ifindex, const char *name, uint32_t mtu, const ProtobufCBinaryData *mac,
		     bool up, NetnsAddr *const *addrs, size_t n);

#endif
