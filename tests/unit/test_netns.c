/*
 * Network namespaces (lib/net/netns*.c): the hostile checks of a NETNS
 * record, one bad field at a time on an otherwise valid entry; the --net
 * spec parser; and a round trip on this kernel: the valid entry (without
 * its host end) built in a new namespace and read back through libnl.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_ether.h>

#include "log.h"
#include "net/netns.h"
#include "net/tun.h"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)lvl;
	(void)msg;
	(void)arg;
}

/* The valid entry: lo, veth pair a/b (b a port of br0), br0, a host veth
 * end, addresses, a route, a rule, a neighbour, sysctls, one nft table. */
static NetnsLink lnk[5];
static NetnsLink *links[5];
static NetnsHostEnd host;
static NetnsAddr ad[2], *addrs[2];
static NetnsRoute rt, *routes[1];
static NetnsNexthop nh, *nhs[1];
static NetnsRule ru, *rules[1];
static NetnsNeigh ne, *neighs[1];
static NetnsSysctl sy[2], *sysctls[2];
static char *tables[1];
static NetnsEntry e;
static uint8_t a4[4] = { 10, 77, 0, 1 }, gw[4] = { 10, 77, 0, 254 }, dst[4] = { 10, 78, 0, 0 };
static uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 }, ll[6] = { 2, 0, 0, 0, 0, 10 };
static uint8_t n4[4] = { 10, 77, 0, 9 };

static void link_init(NetnsLink *l, uint32_t idx, const char *name, const char *kind)
{
	netns_link__init(l);
	l->has_ifindex = l->has_flags = l->has_mtu = 1;
	l->ifindex = idx;
	l->name = (char *)name;
	l->kind = (char *)kind;
	l->flags = IFF_UP;
	l->mtu = idx == 1 ? 65536 : 1500;
}

static void make_entry(bool with_host)
{
	netns_entry__init(&e);
	link_init(&lnk[0], 1, "lo", "lo");
	link_init(&lnk[1], 2, "a", "veth");
	link_init(&lnk[2], 3, "b", "veth");
	link_init(&lnk[3], 4, "br0", "bridge");
	link_init(&lnk[4], 5, "eth0", "veth");
	lnk[1].has_veth_peer = lnk[2].has_veth_peer = 1;
	lnk[1].veth_peer = 3;
	lnk[2].veth_peer = 2;
	lnk[2].master = 4;
	lnk[1].has_mac = 1;
	lnk[1].mac.len = 6;
	lnk[1].mac.data = mac;
	netns_host_end__init(&host);
	host.name = "vxut0";
	lnk[4].host = &host;
	for (int i = 0; i < 5; i++)
		links[i] = &lnk[i];
	e.n_links = with_host ? 5 : 4;
	e.links = links;
	for (int i = 0; i < 2; i++) {
		netns_addr__init(&ad[i]);
		ad[i].has_ifindex = ad[i].has_family = ad[i].has_prefixlen = ad[i].has_local = 1;
		ad[i].family = AF_INET;
		ad[i].local.len = 4;
		ad[i].valid_lft = ad[i].preferred_lft = 0xffffffff;
		addrs[i] = &ad[i];
	}
	ad[0].ifindex = 2;
	ad[0].prefixlen = 24;
	ad[0].local.data = a4;
	ad[1].ifindex = 4;
	ad[1].prefixlen = 32;
	ad[1].local.data = n4;
	ad[1].valid_lft = 3000;
	ad[1].preferred_lft = 2000;
	e.n_addrs = 2;
	e.addrs = addrs;
	netns_nexthop__init(&nh);
	nh.ifindex = 2;
	nh.has_gateway = 1;
	nh.gateway.len = 4;
	nh.gateway.data = gw;
	nh.weight = 1;
	nhs[0] = &nh;
	netns_route__init(&rt);
	rt.family = AF_INET;
	rt.table = 254;
	rt.protocol = 4; /* static */
	rt.type = 1;	 /* unicast */
	rt.has_dst = 1;
	rt.dst.len = 4;
	rt.dst.data = dst;
	rt.dst_len = 16;
	rt.n_nexthops = 1;
	rt.nexthops = nhs;
	routes[0] = &rt;
	e.n_routes = 1;
	e.routes = routes;
	netns_rule__init(&ru);
	ru.family = AF_INET;
	ru.priority = 1000;
	ru.table = 100;
	ru.action = 1;
	ru.has_dst = 1;
	ru.dst.len = 4;
	ru.dst.data = dst;
	ru.dst_len = 16;
	rules[0] = &ru;
	e.n_rules = 1;
	e.rules = rules;
	netns_neigh__init(&ne);
	ne.ifindex = 2;
	ne.family = AF_INET;
	ne.has_dst = ne.has_lladdr = 1;
	ne.dst.len = 4;
	ne.dst.data = n4;
	ne.lladdr.len = 6;
	ne.lladdr.data = ll;
	neighs[0] = &ne;
	e.n_neighs = 1;
	e.neighs = neighs;
	netns_sysctl__init(&sy[0]);
	netns_sysctl__init(&sy[1]);
	sy[0].name = "ipv4/ip_forward";
	sy[0].value = "1";
	sy[1].name = "ipv4/conf/a/rp_filter";
	sy[1].value = "2";
	sysctls[0] = &sy[0];
	sysctls[1] = &sy[1];
	e.n_sysctls = 2;
	e.sysctls = sysctls;
	tables[0] = "{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"ut\"}}]}";
	e.n_nft_tables = 1;
	e.nft_tables = tables;
}

static void test_valid(void)
{
	make_entry(true);
	CU_ASSERT_EQUAL(net_netns_check(&e), 0);
}

/* One bad field: make_entry, the edit, the check must refuse. */
#define BAD(stmt)                                               \
	do {                                                    \
		make_entry(true);                               \
		stmt;                                           \
		CU_ASSERT_EQUAL(net_netns_check(&e), -EBADMSG); \
	} while (0)

static void test_links(void)
{
	BAD(lnk[1].name = "a/b");
	BAD(lnk[1].name = "0123456789abcdef");
	BAD(lnk[1].name = "..");
	BAD(lnk[1].name = "");
	BAD(lnk[1].name = "a b");
	BAD(lnk[1].kind = "tun");
	BAD(lnk[1].kind = NULL);
	BAD(lnk[0].ifindex = 9);
	BAD(lnk[3].ifindex = 1);
	BAD(lnk[3].ifindex = 2);
	BAD(lnk[3].name = "a");
	BAD(lnk[1].mtu = 20);
	BAD(lnk[1].mac.len = 5);
	BAD(lnk[1].flags = 0x8); /* IFF_LOOPBACK */
	BAD(lnk[2].master = 3);	 /* itself */
	BAD(lnk[2].master = 2);	 /* a veth */
	BAD(lnk[2].master = 99);
	BAD(lnk[1].veth_peer = 4);
	BAD(lnk[1].has_veth_peer = 0);
	BAD(lnk[1].host = &host);
	BAD(host.name = "x/y");
	BAD(host.name = "lo:1");
	BAD(host.name = NULL);
	BAD(lnk[3].has_veth_peer = 1);
	BAD(lnk[3].kind = "macvlan");					      /* no lower link */
	BAD((lnk[3].kind = "macvlan", lnk[3].has_link = 1, lnk[3].link = 4)); /* itself */
	BAD((lnk[1].kind = "vlan", lnk[1].has_link = 1, lnk[1].link = 4, lnk[1].vlan_id = 5000));
	BAD((lnk[2].master = 5, lnk[4].kind = NULL)); /* a later link unchecked yet */
	BAD((lnk[1].veth_peer = 5, lnk[4].kind = NULL));
	BAD((lnk[1].kind = lnk[3].kind = "macvlan", lnk[1].veth_peer = 0, lnk[1].has_veth_peer = 0,
	     lnk[2].has_veth_peer = 0, lnk[2].host = &host, lnk[2].master = 0, lnk[1].has_link = 1,
	     lnk[1].link = 4, lnk[3].has_link = 1, lnk[3].link = 2)); /* a loop of lower links */
	BAD(e.n_links = 0);
	BAD(links[0] = &lnk[1]);
}

static void test_routing(void)
{
	BAD(ad[0].prefixlen = 33);
	BAD(ad[0].family = 99);
	BAD(ad[0].local.len = 16);
	BAD(ad[0].ifindex = 42);
	BAD(ad[0].label = "a/b");
	BAD(rt.table = 255);
	BAD(rt.table = 0);
	BAD(rt.dst_len = 40);
	BAD(rt.type = 200);
	BAD(nh.ifindex = 42);
	BAD(nh.gateway.len = 3);
	BAD(ru.src_len = 33);
	BAD(ru.iif = "../x");
	BAD(ru.action = 99);
	BAD(ne.ifindex = 42);
	BAD(ne.dst.len = 16);
	BAD(ne.lladdr.len = 100);
}

static void test_sys(void)
{
	BAD(sy[0].name = "ipv4/../../../proc/sysrq-trigger");
	BAD(sy[0].name = "core/rmem_max"); /* not on the list */
	BAD(sy[1].name = "ipv4/conf/nosuch/rp_filter");
	BAD(sy[1].name = "ipv4/conf/a/../../ip_forward");
	BAD(sy[0].value = "1\n2");
	BAD(sy[0].value = NULL);
	BAD(tables[0] = "include \"/etc/passwd\"");
	BAD(tables[0] = "");
	make_entry(true);
	sy[1].name = "ipv6/conf/default/accept_ra";
	CU_ASSERT_EQUAL(net_netns_check(&e), 0);
}

static void test_spec(void)
{
	struct net_veth_spec s;

	CU_ASSERT_EQUAL(net_veth_spec_parse("veth", 42, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.host, "vx42");
	CU_ASSERT_STRING_EQUAL(s.inner, "eth0");
	CU_ASSERT_EQUAL(
		net_veth_spec_parse("veth:h0,addr=10.0.0.2/24,host-addr=fd00::1/64", 42, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.host, "h0");
	CU_ASSERT_STRING_EQUAL(s.addr, "10.0.0.2/24");
	CU_ASSERT_STRING_EQUAL(s.host_addr, "fd00::1/64");
	CU_ASSERT_EQUAL(net_veth_spec_parse("tap", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("vethx", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("veth:a/b", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("veth:0123456789abcdef", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("veth,addr=10.0.0.2", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("veth,addr=nothing/8", 42, &s), -EINVAL);
	CU_ASSERT_EQUAL(net_veth_spec_parse("veth,mtu=9000", 42, &s), -EINVAL);
}

static const NetnsLink *find(const NetnsEntry *x, const char *name)
{
	for (size_t i = 0; i < x->n_links; i++)
		if (!strcmp(x->links[i]->name, name))
			return x->links[i];
	return NULL;
}

/* lnk[4] (eth0, with_host false) as a persistent tap of uid 65534. */
static void tunify(void)
{
	make_entry(false);
	e.n_links = 5;
	lnk[4].kind = "tun";
	lnk[4].has_veth_peer = 0;
	lnk[4].host = NULL;
	lnk[4].has_tun_flags = lnk[4].has_tun_owner = lnk[4].has_tun_group = 1;
	lnk[4].tun_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_PERSIST;
	lnk[4].tun_owner = 65534;
	lnk[4].tun_group = -1;
	lnk[4].has_mac = 1;
	lnk[4].mac.len = 6;
	lnk[4].mac.data = ll;
}

#define BAD_TUN(stmt)                                           \
	do {                                                    \
		tunify();                                       \
		stmt;                                           \
		CU_ASSERT_EQUAL(net_netns_check(&e), -EBADMSG); \
	} while (0)

static void test_tun(void)
{
	tunify();
	CU_ASSERT_EQUAL(net_netns_check(&e), 0);
	BAD_TUN(lnk[4].tun_flags = IFF_TUN | IFF_TAP);
	BAD_TUN(lnk[4].tun_flags = IFF_NO_PI);
	BAD_TUN(lnk[4].tun_flags |= 0x8000);
	BAD_TUN(lnk[4].tun_flags |= IFF_DETACH_QUEUE);
	BAD_TUN(lnk[4].has_tun_flags = 0);
	BAD_TUN(lnk[4].tun_owner = -2);
	BAD_TUN(lnk[4].tun_owner = 0xffffffffLL);
	BAD_TUN(lnk[4].tun_group = 1LL << 40);
	BAD_TUN(lnk[4].tun_flags = IFF_TUN); /* a tun with a MAC */
	BAD_TUN(lnk[4].name = "vx%d");	     /* TUNSETIFF would pick a name */
	BAD_TUN(lnk[1].has_tun_flags = 1);   /* tun fields on a veth */
	BAD_TUN(lnk[1].has_tun_owner = 1);
	BAD_TUN(lnk[4].kind = "tap");
}

/* Built in a new namespace, read back: links, addresses, route, rule,
 * neighbour, sysctls and the table as made. */
static void test_round_trip(void)
{
	NetnsEntry *back = NULL;
	const NetnsLink *l;
	int nsfd = -1;
	bool found = false;

	if (geteuid()) {
		printf("(not root: round trip skipped) ");
		return;
	}
	make_entry(false);
	CU_ASSERT_EQUAL_FATAL(net_netns_build(&e, &nsfd), 0);
	CU_ASSERT_EQUAL_FATAL(net_netns_dump(nsfd, &back), 0);
	close(nsfd);
	CU_ASSERT_EQUAL(back->n_links, 4);
	l = find(back, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->ifindex, 3);
	CU_ASSERT_EQUAL(l->master, 4);
	CU_ASSERT_EQUAL(l->veth_peer, 2);
	l = find(back, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(l->mac.len == 6 && !memcmp(l->mac.data, mac, 6));
	CU_ASSERT(l->flags & IFF_UP);
	for (size_t i = 0; i < back->n_addrs; i++)
		if (back->addrs[i]->ifindex == 4 && back->addrs[i]->local.len == 4 &&
		    !memcmp(back->addrs[i]->local.data, n4, 4))
			found = back->addrs[i]->valid_lft <= 3000 &&
				back->addrs[i]->valid_lft > 2900;
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(back->n_routes, 1);
	CU_ASSERT_EQUAL(back->n_rules, 1);
	CU_ASSERT_EQUAL(back->n_neighs, 1);
	CU_ASSERT_EQUAL(back->n_nft_tables, 1);
	found = false;
	for (size_t i = 0; i < back->n_sysctls; i++)
		if (!strcmp(back->sysctls[i]->name, "ipv4/conf/a/rp_filter"))
			found = !strcmp(back->sysctls[i]->value, "2");
	CU_ASSERT(found);
	net_netns_free(back);
}

/* A persistent multi-queue tap of uid 65534 built (net_tun_make) and read
 * back through IFLA_INFO_DATA, with its ifindex and MAC. */
static void test_tun_round_trip(void)
{
	NetnsEntry *back = NULL;
	const NetnsLink *l;
	int nsfd = -1;

	if (geteuid()) {
		printf("(not root: round trip skipped) ");
		return;
	}
	tunify();
	CU_ASSERT_EQUAL_FATAL(net_netns_build(&e, &nsfd), 0);
	CU_ASSERT_EQUAL_FATAL(net_netns_dump(nsfd, &back), 0);
	close(nsfd);
	l = find(back, "eth0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l->kind, "tun");
	CU_ASSERT_EQUAL(l->ifindex, 5);
	CU_ASSERT_EQUAL(l->tun_flags, IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_PERSIST);
	CU_ASSERT_EQUAL(l->tun_owner, 65534);
	CU_ASSERT_EQUAL(l->tun_group, -1);
	CU_ASSERT(l->mac.len == 6 && !memcmp(l->mac.data, ll, 6));
	CU_ASSERT(l->flags & IFF_UP);
	net_netns_free(back);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("netns", NULL, NULL);
	CU_add_test(s, "a valid entry passes", test_valid);
	CU_add_test(s, "links: names, kinds, ifindexes, references", test_links);
	CU_add_test(s, "addresses, routes, rules, neighbours", test_routing);
	CU_add_test(s, "sysctls and nftables tables", test_sys);
	CU_add_test(s, "the --net spec", test_spec);
	CU_add_test(s, "tun/tap links: flags, owner, group, names", test_tun);
	CU_add_test(s, "a tap built in a new namespace and read back", test_tun_round_trip);
	CU_add_test(s, "built in a new namespace and read back", test_round_trip);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
