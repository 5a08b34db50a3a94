/*
 * IPv4 and IPv6 socket addresses (inet.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "net/inet: "
#include "log.h"
#include "net/inet.h"

#define FLOWINFO_MAX 0xfffffu

int net_addr_of(const struct sockaddr *sa, socklen_t len, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		a->family = AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
		return 0;
	}
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		a->family = AF_INET6;
		a->port = ntohs(in6->sin6_port);
		a->scope_id = in6->sin6_scope_id;
		a->flowinfo = ntohl(in6->sin6_flowinfo);
		memcpy(a->ip, &in6->sin6_addr, 16);
		return 0;
	}
	return sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ? -EINVAL : -EAFNOSUPPORT;
}

socklen_t net_addr_sockaddr(const struct net_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (void *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(a->port);
	in6->sin6_scope_id = a->scope_id;
	in6->sin6_flowinfo = htonl(a->flowinfo);
	memcpy(&in6->sin6_addr, a->ip, 16);
	return sizeof(*in6);
}

const char *net_addr_str(const struct net_addr *a, char *buf)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	if (a->family == AF_INET)
		snprintf(buf, NET_ADDR_STRLEN, "%s:%u", ip, a->port);
	else if (a->scope_id)
		snprintf(buf, NET_ADDR_STRLEN, "[%s%%%u]:%u", ip, a->scope_id, a->port);
	else
		snprintf(buf, NET_ADDR_STRLEN, "[%s]:%u", ip, a->port);
	return buf;
}

bool net_addr_is_any(const struct net_addr *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->ip, zero, a->family == AF_INET ? 4 : 16);
}

/* getsockname or getpeername (peer) of fd into a. */
static int sock_name(int fd, bool peer, struct net_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		   getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	return net_addr_of((struct sockaddr *)&ss, len, a);
}

int net_sock_local(int fd, struct net_addr *a)
{
	return sock_name(fd, false, a);
}

int net_sock_peer(int fd, struct net_addr *a)
{
	return sock_name(fd, true, a);
}

void net_addr_to_pb(const struct net_addr *a, InetAddr *pb)
{
	inet_addr__init(pb);
	pb->has_ip = 1;
	pb->ip.data = (uint8_t *)a->ip;
	pb->ip.len = a->family == AF_INET ? 4 : 16;
	pb->has_port = 1;
	pb->port = a->port;
	if (a->family == AF_INET6 && a->scope_id) {
		pb->has_scope_id = 1;
		pb->scope_id = a->scope_id;
	}
	if (a->family == AF_INET6 && a->flowinfo) {
		pb->has_flowinfo = 1;
		pb->flowinfo = a->flowinfo;
	}
}

int net_addr_from_pb(const InetAddr *pb, int family, struct net_addr *a, const char *who,
		     const char *what)
{
	size_t iplen = family == AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	if ((family != AF_INET && family != AF_INET6) || !pb || !pb->has_ip ||
	    pb->ip.len != iplen || (pb->has_port && pb->port > 65535) ||
	    (family == AF_INET && (pb->has_scope_id || pb->has_flowinfo)) ||
	    (pb->has_flowinfo && pb->flowinfo > FLOWINFO_MAX)) {
		pr_err("image: %s: %s address missing or out of range\n", who, what);
		return -EBADMSG;
	}
	a->family = family;
	a->port = pb->has_port ? pb->port : 0;
	a->scope_id = pb->has_scope_id ? pb->scope_id : 0;
	a->flowinfo = pb->has_flowinfo ? pb->flowinfo : 0;
	memcpy(a->ip, pb->ip.data, iplen);
	return 0;
}

int net_bind(int fd, const struct net_addr *a, const char *who)
{
	struct sockaddr_storage ss;
	socklen_t len = net_addr_sockaddr(a, &ss);
	char s[NET_ADDR_STRLEN];

	if (!bind(fd, (struct sockaddr *)&ss, len))
		return 0;
	if (errno == EADDRNOTAVAIL)
		pr_err("%s: its address %s is not on this host: refused (a socket is never "
		       "rebound elsewhere)\n",
		       who, net_addr_str(a, s));
	else if (errno == EADDRINUSE)
		pr_err("%s: its address %s is in use on this host\n", who, net_addr_str(a, s));
	else
		pr_perror("%s: cannot bind to %s", who, net_addr_str(a, s));
	return -errno;
}
