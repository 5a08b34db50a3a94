/*
 * Network namespaces through libnl-route and libnftables: a namespace read
 * into a netns_entry (record NETNS, images/netns.proto) and rebuilt from
 * one in a new namespace.  Links (lo, dummy, veth, bridge, macvlan, vlan,
 * tun/tap), addresses, routes, rules, permanent neighbours, the
 * net sysctls that matter and the nftables ruleset.  Reading and building
 * run on the calling thread, moved into the namespace with setns and back:
 * netlink sockets and /proc/sys/net files belong to the namespace of the
 * thread that opens them.
 */
#ifndef VXCR_NET_NETNS_H
#define VXCR_NET_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netns.pb-c.h"

/*
 * Is pid's network namespace another than ours?  1 (and *nsfd an fd of
 * it, close-on-exec), 0 (the same; *nsfd -1), or -errno (logged).
 */
int net_netns_other(pid_t pid, int *nsfd);

/* Is pid's network namespace the one open at nsfd?  1, 0 or -errno. */
int net_netns_same(pid_t pid, int nsfd);

/*
 * Reads the namespace at nsfd into *out (free with net_netns_free).
 * Refuses (-EOPNOTSUPP, one line) what cannot be restored: a link kind
 * not listed above, a veth whose peer is in a third namespace, a tun/tap
 * link with detached queues or a type TUNSETLINK changed.  0 or -errno
 * (logged).
 */
int net_netns_dump(int nsfd, NetnsEntry **out);
void net_netns_free(NetnsEntry *e);

/* An image's NETNS record as hostile input.  0 or -EBADMSG (logged). */
int net_netns_check(const NetnsEntry *e);

/*
 * A new network namespace with e's network in it, and the host ends of
 * its veths in ours (a name that exists here refuses: -EEXIST).  *nsfd:
 * an fd of it (close-on-exec); the namespace and every link made die with
 * the last holder of it.  The calling thread is back in its own
 * namespace on return.  0 or -errno (logged).
 */
int net_netns_build(const NetnsEntry *e, int *nsfd);

/* The calling thread into the namespace at nsfd; *saved its own (close it
 * with net_ns_leave).  0 or -errno (logged). */
int net_ns_enter(int nsfd, int *saved);
/* Back into saved and close it.  0 or -errno (logged). */
int net_ns_leave(int saved);

/* vxcr ctx create --net veth[:HOSTIF][,addr=A/P][,host-addr=B/P]. */
struct net_veth_spec {
	char host[16];	    /* host end's name (default vx<xid>) */
	char inner[16];	    /* "eth0" */
	char addr[64];	    /* inside: "A/P" or "" */
	char host_addr[64]; /* host end: "B/P" or "" */
};
/* Parses spec (0 or -EINVAL, logged). */
int net_veth_spec_parse(const char *spec, uint32_t xid, struct net_veth_spec *s);
/* Makes the pair: s->host here, s->inner in the namespace at nsfd, their
 * addresses, both up.  -EEXIST: s->host exists here.  0 or -errno (logged). */
int net_veth_make(const struct net_veth_spec *s, int nsfd);

/* vxcr check: makes a namespace with a dummy link, an address and a route
 * in a forked child and reads it back.  0 or -errno; *what says which
 * step failed. */
int net_netns_probe(const char **what);

#endif
