/*
 * IPv4 and IPv6 socket addresses for the inet socket kinds: one struct
 * for both families, to and from struct sockaddr and the image's
 * inet_addr (images/inet.proto, checked as hostile), printed as
 * "1.2.3.4:80" or "[::1]:80", and bound with a refusal that names the
 * address when it is not on this host (never rebound elsewhere).
 */
#ifndef VXCR_NET_INET_H
#define VXCR_NET_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "inet.pb-c.h"

struct net_addr {
	sa_family_t family; /* AF_INET or AF_INET6 */
	uint16_t port;	    /* host order */
	uint32_t scope_id;  /* AF_INET6 */
	uint32_t flowinfo;  /* AF_INET6, host order */
	uint8_t ip[16];	    /* network order; AF_INET uses 4 bytes */
};

/* "[ffff:...:ffff%4294967295]:65535" and a NUL fit. */
#define NET_ADDR_STRLEN 64

/* sa (len bytes) into a.  0 or -EAFNOSUPPORT (not inet) / -EINVAL (short). */
int net_addr_of(const struct sockaddr *sa, socklen_t len, struct net_addr *a);
/* a as a struct sockaddr in ss; returns its length. */
socklen_t net_addr_sockaddr(const struct net_addr *a, struct sockaddr_storage *ss);
/* a as text into buf (NET_ADDR_STRLEN bytes); returns buf. */
const char *net_addr_str(const struct net_addr *a, char *buf);
/* The wildcard address (0.0.0.0 or ::), any port. */
bool net_addr_is_any(const struct net_addr *a);

/* getsockname / getpeername of fd.  0, -ENOTCONN (no peer) or -errno. */
int net_sock_local(int fd, struct net_addr *a);
int net_sock_peer(int fd, struct net_addr *a);

/* a into pb; pb->ip points into a (a must outlive the packing). */
void net_addr_to_pb(const struct net_addr *a, InetAddr *pb);
/* An image's pb of a socket of family into a, checked: the ip's length
 * matches the family, port, scope id and flow label in range.  0 or
 * -EBADMSG (logged: "image: WHO: WHAT address ..."). */
int net_addr_from_pb(const InetAddr *pb, int family, struct net_addr *a, const char *who,
		     const char *what);

/* bind(fd, a); an address not on this host (EADDRNOTAVAIL) or in use is
 * a one-line refusal naming it.  0 or -errno (logged). */
int net_bind(int fd, const struct net_addr *a, const char *who);

#endif
