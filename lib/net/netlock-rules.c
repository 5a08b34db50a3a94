/*
 * The text of the network lock's tables (nft language), the names of the
 * tables kept for an image, and the connection of a TCP socket
 * (netlock.h).  Nothing here talks to the kernel's nftables: the unit
 * tests build and check the text alone.
 *
 * The connections go into two sets of concatenated 4-tuples, one per
 * family, stored as (peer, peer port, local, local port): the input hook
 * matches a packet's (saddr, sport, daddr, dport) against them, the output
 * hook its (daddr, dport, saddr, sport), so one set holds both directions
 * and a lookup costs the same for 1 or 1000 connections.  Listening
 * sockets get one rule per hook each.  Chains sit at priority -350, before
 * conntrack (-200) and raw (-300): a dropped packet is never seen by
 * conntrack or by another table's rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define LOG_PREFIX "net/netlock: "
#include "log.h"
#include "net/netlock.h"
#include "net/sockopt.h"

#define LOCK_PRIORITY "-350"
#define IMG_TABLE_PREFIX "vxcr_img_"

/* a as it travels on the wire: an IPv4-mapped IPv6 address is IPv4. */
static void wire_addr(const struct net_addr *a, struct net_addr *w)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	*w = *a;
	if (a->family != AF_INET6 || memcmp(a->ip, mapped, sizeof(mapped)))
		return;
	w->family = AF_INET;
	memset(w->ip, 0, sizeof(w->ip));
	memcpy(w->ip, a->ip + 12, 4);
}

/* The address of a (no port) into buf (INET6_ADDRSTRLEN).  0 or -EINVAL. */
static int ip_text(const struct net_addr *a, char *buf)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EINVAL;
	return inet_ntop(a->family, a->ip, buf, INET6_ADDRSTRLEN) ? 0 : -EINVAL;
}

/* A table name of ours: letters, digits and '_', 1..63 bytes. */
static bool table_name_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i]; i++)
		if (!(t[i] == '_' || (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9')))
			return false;
	return i > 0 && i < NET_LOCK_TABLE_MAX;
}

/*
 * The elements of one family's set, "PEER . PP . LOCAL . LP, ..." (f NULL:
 * only counted).  Returns the number of elements, or -EINVAL.
 */
static int set_elements(FILE *f, int family, const struct net_conn *c, size_t n)
{
	char l[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	struct net_addr wl, wp;
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++) {
		if (!c[i].peer.family)
			continue;
		wire_addr(&c[i].local, &wl);
		wire_addr(&c[i].peer, &wp);
		if (wl.family != wp.family || ip_text(&wl, l) || ip_text(&wp, p))
			return -EINVAL;
		if (wl.family != family)
			continue;
		if (f)
			fprintf(f, "%s%s . %u . %s . %u", k ? ", " : "", p, wp.port, l, wl.port);
		k++;
	}
	return k;
}

/* One set per family that has connections; *has4 / *has6 say which. */
static int write_sets(FILE *f, const struct net_conn *c, size_t n, bool *has4, bool *has6)
{
	static const struct {
		int family;
		const char *name, *type;
	} sets[] = {
		{ AF_INET, "c4", "ipv4_addr" },
		{ AF_INET6, "c6", "ipv6_addr" },
	};
	size_t s;
	int k;

	for (s = 0; s < 2; s++) {
		k = set_elements(NULL, sets[s].family, c, n);
		if (k < 0)
			return k;
		if (!k) /* no set for a family without connections */
			continue;
		fprintf(f, "\tset %s {\n\t\ttype %s . inet_service . %s . inet_service\n",
			sets[s].name, sets[s].type, sets[s].type);
		fprintf(f, "\t\telements = { ");
		set_elements(f, sets[s].family, c, n);
		fprintf(f, " }\n\t}\n");
		*(s ? has6 : has4) = true;
	}
	return 0;
}

/* The rule of listener l on one hook: dport/daddr on input, sport/saddr
 * on output. */
static int listener_rule(FILE *f, const struct net_addr *a, bool in)
{
	char ip[INET6_ADDRSTRLEN];
	struct net_addr w;

	wire_addr(a, &w);
	if (ip_text(&w, ip))
		return -EINVAL;
	if (!net_addr_is_any(&w))
		fprintf(f, "\t\t%s %s %s ", w.family == AF_INET ? "ip" : "ip6",
			in ? "daddr" : "saddr", ip);
	else if (w.family == AF_INET) /* "::" takes IPv4 too (unless V6ONLY) */
		fprintf(f, "\t\tmeta nfproto ipv4 ");
	else
		fprintf(f, "\t\t");
	fprintf(f, "tcp %s %u drop\n", in ? "dport" : "sport", w.port);
	return 0;
}

/* One base chain (input or output) of a lock. */
static int write_chain(FILE *f, bool in, bool all, const struct net_conn *c, size_t n, bool has4,
		       bool has6)
{
	const char *tuple = in ? "saddr . tcp sport . %s daddr . tcp dport" :
				 "daddr . tcp dport . %s saddr . tcp sport";
	size_t i;
	int ret;

	fprintf(f,
		"\tchain lock_%s {\n\t\ttype filter hook %s priority " LOCK_PRIORITY
		"; policy %s;\n",
		in ? "in" : "out", in ? "input" : "output", all ? "drop" : "accept");
	/* the packets forge.c sends on loopback: datagrams queued again,
	 * connections put back into an accept queue */
	fprintf(f, "\t\tmeta mark 0x%08x accept\n", NET_LOCK_PASS_MARK);
	if (has4) {
		fprintf(f, "\t\tip ");
		fprintf(f, tuple, "ip");
		fprintf(f, " @c4 drop\n");
	}
	if (has6) {
		fprintf(f, "\t\tip6 ");
		fprintf(f, tuple, "ip6");
		fprintf(f, " @c6 drop\n");
	}
	for (i = 0; i < n; i++) {
		if (c[i].peer.family)
			continue;
		ret = listener_rule(f, &c[i].local, in);
		if (ret)
			return ret;
	}
	fprintf(f, "\t}\n");
	return 0;
}

int net_lock_text(const char *table, bool owner, bool all, const struct net_conn *c, size_t n,
		  char **out)
{
	bool has4 = false, has6 = false;
	size_t len;
	FILE *f;
	int ret;

	*out = NULL;
	if (!table_name_ok(table))
		return -EINVAL;
	f = open_memstream(out, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "table inet %s {\n", table);
	if (owner)
		fprintf(f, "\tflags owner\n");
	ret = all ? 0 : write_sets(f, c, n, &has4, &has6);
	ret = ret ?: write_chain(f, true, all, c, all ? 0 : n, has4, has6);
	ret = ret ?: write_chain(f, false, all, c, all ? 0 : n, has4, has6);
	fprintf(f, "}\n");
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

int net_lock_image_table(const uint8_t *id, size_t len, char *buf)
{
	size_t i;
	int k;

	if (!len || len > NET_LOCK_ID_HEX_MAX / 2)
		return -EINVAL;
	k = snprintf(buf, NET_LOCK_TABLE_MAX, IMG_TABLE_PREFIX);
	for (i = 0; i < len; i++)
		k += snprintf(buf + k, NET_LOCK_TABLE_MAX - k, "%02x", id[i]);
	return 0;
}

int net_lock_hex_table(const char *hex, char *buf)
{
	size_t i, n = strlen(hex);
	int k;

	if (!n || n > NET_LOCK_ID_HEX_MAX)
		return -EINVAL;
	k = snprintf(buf, NET_LOCK_TABLE_MAX, IMG_TABLE_PREFIX);
	for (i = 0; i < n; i++) {
		char ch = hex[i];

		if (ch >= 'A' && ch <= 'F')
			ch = ch - 'A' + 'a';
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -EINVAL;
		buf[k++] = ch;
	}
	buf[k] = '\0';
	return 0;
}

int net_tcp_conn_of(int fd, struct net_conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int v, ret;

	memset(c, 0, sizeof(*c));
	ret = net_get_int(fd, SOL_SOCKET, SO_DOMAIN, &v);
	if (ret)
		return ret;
	if (v != AF_INET && v != AF_INET6)
		return -EAFNOSUPPORT;
	ret = net_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v);
	if (ret)
		return ret;
	if (v != IPPROTO_TCP)
		return -EAFNOSUPPORT;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	if (ti.tcpi_state == TCP_CLOSE || ti.tcpi_state == TCP_TIME_WAIT)
		return -ENOTCONN;
	ret = net_sock_local(fd, &c->local);
	if (ret)
		return ret;
	if (ti.tcpi_state == TCP_LISTEN) {
		c->queued = ti.tcpi_unacked > 0;
		return 0;
	}
	return net_sock_peer(fd, &c->peer);
}
