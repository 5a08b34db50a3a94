/*
 * Unit tests of lib/net/dgram.c: the option table and where its rows
 * apply, the checks of an image's options and groups (hostile input),
 * options read on a real socket and set on a new one, local unicast
 * addresses, and a datagram forged from a source address this host does
 * not have, received on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>

#include "net/dgram.h"

static void test_table(void)
{
	const struct net_dg_opt *o;

	o = net_dg_opt_find(SOL_IPV6, IPV6_V6ONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(net_dg_opt_applies(o, AF_INET6, SOCK_DGRAM, IPPROTO_UDP));
	CU_ASSERT(!net_dg_opt_applies(o, AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	CU_ASSERT(o->flags & DG_PRE_BIND);
	o = net_dg_opt_find(SOL_IP, IP_TOS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(net_dg_opt_applies(o, AF_INET, SOCK_RAW, IPPROTO_ICMP));
	CU_ASSERT(net_dg_opt_applies(o, AF_INET6, SOCK_DGRAM, IPPROTO_UDP));
	CU_ASSERT(!net_dg_opt_applies(o, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
	o = net_dg_opt_find(SOL_IP, IP_HDRINCL);
	CU_ASSERT(o && net_dg_opt_applies(o, AF_INET, SOCK_RAW, 253));
	CU_ASSERT(o && !net_dg_opt_applies(o, AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	o = net_dg_opt_find(SOL_UDP, UDP_GRO);
	CU_ASSERT(o && net_dg_opt_applies(o, AF_INET6, SOCK_DGRAM, IPPROTO_UDP));
	CU_ASSERT(o && !net_dg_opt_applies(o, AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
	o = net_dg_opt_find(136, 10); /* UDPLITE_SEND_CSCOV */
	CU_ASSERT(o && net_dg_opt_applies(o, AF_INET, SOCK_DGRAM, 136));
	CU_ASSERT(o && !net_dg_opt_applies(o, AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	o = net_dg_opt_find(SOL_SOCKET, SO_PEEK_OFF);
	CU_ASSERT(o && (o->flags & DG_LAST));
	CU_ASSERT_PTR_NULL(net_dg_opt_find(SOL_IP, 9999));
	CU_ASSERT_PTR_NULL(net_dg_opt_find(SOL_IP, IP_OPTIONS)); /* refused, not carried */
}

/* An entry of family with one option and one group, for the checks. */
struct img {
	InetdgEntry e;
	InetdgOpt o, *op[2];
	InetdgGroup g, *gp[1];
	uint8_t addr[16];
};

static void img_init(struct img *m, int family)
{
	inetdg_entry__init(&m->e);
	inetdg_opt__init(&m->o);
	inetdg_group__init(&m->g);
	m->e.family = family;
	m->e.type = SOCK_DGRAM;
	m->e.protocol = IPPROTO_UDP;
	m->o.has_level = m->o.has_name = m->o.has_value = 1;
	m->o.level = family == AF_INET ? SOL_IP : SOL_IPV6;
	m->o.name = family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
	m->o.value = 9;
	m->op[0] = m->op[1] = &m->o;
	m->e.ipopts = m->op;
	m->e.n_ipopts = 1;
	memset(m->addr, 0, sizeof(m->addr));
	m->addr[0] = family == AF_INET ? 239 : 0xff;
	m->g.group.data = m->addr;
	m->g.group.len = family == AF_INET ? 4 : 16;
	m->g.has_group = 1;
	m->g.ifname = "lo";
	m->gp[0] = &m->g;
	m->e.groups = m->gp;
	m->e.n_groups = 1;
}

static void test_check(void)
{
	struct img m;

	img_init(&m, AF_INET);
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), 0);
	m.e.n_ipopts = 2; /* the same option twice */
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET);
	m.o.name = 9999;
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET);
	m.o.level = SOL_IPV6; /* an IPv6 option on an IPv4 socket */
	m.o.name = IPV6_V6ONLY;
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET);
	m.o.ifname = "lo"; /* IP_TTL holds no interface */
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET6);
	m.o.name = IPV6_MULTICAST_IF;
	m.o.ifname = "lo";
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), 0);
	m.o.ifname = "../x";
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	m.o.ifname = "0123456789abcdef";
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET6);
	m.o.has_value = 0;
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET);
	m.addr[0] = 10; /* not multicast */
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET);
	m.g.group.len = 16; /* an IPv6 group on an IPv4 socket */
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET6);
	m.g.ifname = NULL;
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
	img_init(&m, AF_INET6);
	m.e.type = SOCK_RAW;
	m.o.level = SOL_UDP; /* UDP_CORK on a raw socket */
	m.o.name = UDP_CORK;
	CU_ASSERT_EQUAL(net_dg_check(&m.e, "t"), -EBADMSG);
}

/* Options read on a socket and set on a new one read back the same. */
static void test_read_apply(void)
{
	struct net_dg_optval v[NET_DG_NOPTS];
	InetdgOpt o[NET_DG_NOPTS], *op[NET_DG_NOPTS];
	InetdgEntry e = INETDG_ENTRY__INIT;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), nfd, snd, rcv, x;
	socklen_t len = sizeof(x);
	size_t i, n = 9;

	CU_ASSERT_FATAL(fd >= 0);
	e.family = AF_INET6;
	e.type = SOCK_DGRAM;
	e.protocol = IPPROTO_UDP;
	CU_ASSERT_EQUAL(net_dg_opts_read(net_dg_cache_get(1), fd, 0, &e, v, &n, &snd, &rcv, "t"),
			0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT(snd > 0 && rcv > 0);
	x = 1;
	setsockopt(fd, SOL_IPV6, IPV6_RECVPKTINFO, &x, sizeof(x));
	x = 33;
	setsockopt(fd, SOL_IP, IP_TTL, &x, sizeof(x)); /* the IPv4 side */
	x = 1;
	setsockopt(fd, SOL_IPV6, IPV6_MULTICAST_IF, &x, sizeof(x)); /* lo */
	CU_ASSERT_EQUAL(net_dg_opts_read(net_dg_cache_get(1), fd, 0, &e, v, &n, &snd, &rcv, "t"),
			0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (i = 0; i < n; i++) {
		inetdg_opt__init(&o[i]);
		o[i].has_level = o[i].has_name = o[i].has_value = 1;
		o[i].level = v[i].level;
		o[i].name = v[i].name;
		o[i].value = v[i].value;
		o[i].ifname = v[i].ifname[0] ? v[i].ifname : NULL;
		op[i] = &o[i];
		if (v[i].name == IPV6_MULTICAST_IF)
			CU_ASSERT_STRING_EQUAL(v[i].ifname, "lo");
	}
	e.ipopts = op;
	e.n_ipopts = n;
	CU_ASSERT_EQUAL(net_dg_check(&e, "t"), 0);
	nfd = socket(AF_INET6, SOCK_DGRAM, 0);
	CU_ASSERT_EQUAL(net_dg_opts_apply(nfd, &e, 0, "t"), 0);
	CU_ASSERT(!getsockopt(nfd, SOL_IP, IP_TTL, &x, &len) && x == 33);
	CU_ASSERT(!getsockopt(nfd, SOL_IPV6, IPV6_RECVPKTINFO, &x, &len) && x == 1);
	CU_ASSERT(!getsockopt(nfd, SOL_IPV6, IPV6_MULTICAST_IF, &x, &len) && x == 1);
	o[0].ifname = NULL;
	for (i = 0; i < n; i++)
		if (o[i].name == IPV6_MULTICAST_IF)
			o[i].ifname = "vxnone0"; /* an interface that is not here */
	CU_ASSERT_EQUAL(net_dg_opts_apply(nfd, &e, 0, "t"), -ENODEV);
	close(nfd);
	close(fd);
}

/*
 * A bound UDP socket's options taken from inet_diag's list (the
 * dump's path) equal what getsockopt reads, for every row.
 */
static void diag_one(int family, uint64_t key)
{
	static const int v4opts[][3] = {
		{ SOL_IP, IP_TOS, 0x10 },	  { SOL_IP, IP_RECVERR, 1 },
		{ SOL_IP, IP_MULTICAST_LOOP, 0 }, { SOL_IP, IP_FREEBIND, 1 },
		{ SOL_IP, IP_MULTICAST_ALL, 0 },  { SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1 }
	};
	struct net_dg_optval v[NET_DG_NOPTS];
	InetdgEntry e = INETDG_ENTRY__INIT;
	struct sockaddr_storage ss = { .ss_family = family };
	int fd = socket(family, SOCK_DGRAM, 0), snd, rcv, x, got;
	socklen_t len;
	struct stat st;
	size_t i, j, n = 0;

	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i < sizeof(v4opts) / sizeof(v4opts[0]); i++)
		setsockopt(fd, v4opts[i][0], v4opts[i][1], &v4opts[i][2], sizeof(int));
	if (family == AF_INET6) {
		x = 0x20;
		setsockopt(fd, SOL_IPV6, IPV6_TCLASS, &x, sizeof(x));
		x = 1;
		setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &x, sizeof(x));
	}
	CU_ASSERT_FATAL(!bind(fd, (struct sockaddr *)&ss,
			      family == AF_INET ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6)));
	fstat(fd, &st);
	e.family = family;
	e.type = SOCK_DGRAM;
	e.protocol = IPPROTO_UDP;
	CU_ASSERT_EQUAL(net_dg_opts_read(net_dg_cache_get(key), fd, st.st_ino, &e, v, &n, &snd,
					 &rcv, "t"),
			0);
	CU_ASSERT(n >= 5);
	for (j = 0; j < n; j++) {
		len = sizeof(got);
		CU_ASSERT(!getsockopt(fd, v[j].level, v[j].name, &got, &len));
		CU_ASSERT_EQUAL(v[j].value, got);
	}
	close(fd);
}

static void test_diag(void)
{
	diag_one(AF_INET, 7);
	diag_one(AF_INET6, 8);
}

static struct net_addr addr(int family, const char *ip, int port)
{
	struct net_addr a = { .family = family, .port = port };

	inet_pton(family, ip, a.ip);
	return a;
}

static void test_local_unicast(void)
{
	struct net_addr a;

	a = addr(AF_INET, "127.0.0.1", 0);
	CU_ASSERT(net_addr_local_unicast(&a));
	a = addr(AF_INET, "224.0.0.1", 0);
	CU_ASSERT(!net_addr_local_unicast(&a));
	a = addr(AF_INET, "255.255.255.255", 0);
	CU_ASSERT(!net_addr_local_unicast(&a));
	a = addr(AF_INET, "192.0.2.77", 0); /* TEST-NET-1: on no interface */
	CU_ASSERT(!net_addr_local_unicast(&a));
	a = addr(AF_INET6, "::1", 0);
	CU_ASSERT(net_addr_local_unicast(&a));
	a = addr(AF_INET6, "ff02::1", 0);
	CU_ASSERT(!net_addr_local_unicast(&a));
	a = addr(AF_INET6, "::ffff:127.0.0.1", 0);
	CU_ASSERT(net_addr_v4mapped(&a));
	CU_ASSERT(net_addr_local_unicast(&a));
	a = addr(AF_INET6, "::1", 0);
	CU_ASSERT(!net_addr_v4mapped(&a));
}

/* A datagram from src forged to the UDP socket bound at ip (family). */
static void forge_one(int family, const char *ip, const char *srcip)
{
	struct net_forge fg = { -1, -1, "" };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct net_addr dst, src, got;
	struct pollfd pf;
	char buf[64];
	ssize_t r;
	int fd;

	fd = socket(family, SOCK_DGRAM, 0);
	dst = addr(family, ip, 0);
	len = net_addr_sockaddr(&dst, &ss);
	CU_ASSERT_FATAL(!bind(fd, (struct sockaddr *)&ss, len));
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	net_addr_of((struct sockaddr *)&ss, len, &dst);
	src = addr(family, srcip, 4242);
	CU_ASSERT_EQUAL(net_dg_forge(&fg, IPPROTO_UDP, &src, &dst, "forged!", 7, 9, 0, "t"), 0);
	net_forge_close(&fg);
	pf.fd = fd;
	pf.events = POLLIN;
	CU_ASSERT_EQUAL_FATAL(poll(&pf, 1, 2000), 1);
	len = sizeof(ss);
	r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len);
	CU_ASSERT_EQUAL(r, 7);
	CU_ASSERT(!memcmp(buf, "forged!", 7));
	CU_ASSERT_EQUAL(net_addr_of((struct sockaddr *)&ss, len, &got), 0);
	CU_ASSERT(!memcmp(got.ip, src.ip, family == AF_INET ? 4 : 16) && got.port == 4242);
	close(fd);
}

static void test_forge(void)
{
	forge_one(AF_INET, "127.0.0.1", "192.0.2.5");
	forge_one(AF_INET6, "::1", "2001:db8::5");
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("net_dgram", NULL, NULL);
	CU_add_test(s, "option table", test_table);
	CU_add_test(s, "image checks", test_check);
	CU_add_test(s, "options read and set again", test_read_apply);
	CU_add_test(s, "options from inet_diag as getsockopt reads them", test_diag);
	CU_add_test(s, "local unicast addresses", test_local_unicast);
	CU_add_test(s, "forged datagrams", test_forge);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
