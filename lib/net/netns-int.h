/*
 * Inside lib/net/netns*.c: the state of one dump or build of a network
 * namespace, shared by the files of each topic (links, addresses and
 * routes, sysctls and nftables).
 */
#ifndef VXCR_NET_NETNS_INT_H
#define VXCR_NET_NETNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/socket.h>

#include "net/netns.h"

/* Allocations of a dump, freed at once once the entry is packed. */
struct netns_arena {
	void **ptrs;
	size_t n, cap;
};

/* One dump: sockets in the namespace (sk) and in ours (host). */
struct netns_dump {
	struct netns_arena a;
	NetnsEntry *e;
	struct nl_sock *sk, *host;
	struct nl_cache *links, *host_links, *host_addrs;
};

/* One build: sockets in the new namespace (sk) and in ours (host), the
 * new namespace's fd. */
struct netns_build {
	const NetnsEntry *e;
	struct nl_sock *sk, *host;
	int nsfd;
};

/* netns.c */
void *netns_alloc(struct netns_arena *a, size_t size); /* zeroed; NULL: -ENOMEM */
char *netns_strdup(struct netns_arena *a, const char *s);
/* bytes of an nl_addr into b (arena copy).  0 or -ENOMEM. */
int netns_bytes(struct netns_arena *a, ProtobufCBinaryData *b, struct nl_addr *addr);
/* An nl_addr of family from image bytes (prefix len plen); NULL: -ENOMEM. */
struct nl_addr *netns_addr_of(int family, const ProtobufCBinaryData *b, unsigned plen);
/* A libnl error as -errno for the caller. */
int netns_nlerr(int nlerr);
const char *netns_af(int family); /* "inet", "inet6" */

/* netns-link.c */
int netns_dump_links(struct netns_dump *d);
int netns_build_links(struct netns_build *b);
int netns_links_up(struct netns_build *b);
int netns_check_links(const NetnsEntry *e);
const NetnsLink *netns_link_by_index(const NetnsEntry *e, uint32_t ifindex);

/* netns-addr.c: addresses, routes, rules, neighbours */
int netns_dump_addrs(struct netns_dump *d, NetnsAddr ***out, size_t *n, int ifindex,
		     struct nl_cache *cache);
int netns_dump_routing(struct netns_dump *d);
int netns_add_addrs(struct nl_sock *sk, NetnsAddr *const *addrs, size_t n, int ifindex,
		    const char *where);
int netns_build_routing(struct netns_build *b);
int netns_check_addr(const NetnsEntry *e, const NetnsAddr *a, bool host);
int netns_check_routing(const NetnsEntry *e);

/* netns-sys.c: sysctls and nftables */
int netns_dump_sysctls(struct netns_dump *d);
/* links false: the global ones, lo's, all's and default's (before the links
 * are made, which copy default); true: each link's. */
int netns_build_sysctls(struct netns_build *b, bool links);
int netns_check_sysctls(const NetnsEntry *e);
int netns_dump_nft(struct netns_dump *d);
int netns_build_nft(struct netns_build *b);
int netns_check_nft(const NetnsEntry *e);

/* netns.c: a NETLINK_ROUTE socket of the calling thread's namespace, or
 * NULL (logged). */
struct nl_sock *netns_route_socket(void);

#endif
