/*
 * Network namespaces (netns.h): entering and leaving one on the calling
 * thread, the arena of a dump, and the order of a dump and of a build.
 * The topics are in netns-link.c (links), netns-addr.c (addresses,
 * routes, rules, neighbours) and netns-sys.c (sysctls, nftables).
 *
 * Why setns on the calling thread and not a forked child: a netlink
 * socket and a /proc/sys/net file stay in the namespace of the thread
 * that opened them, so one thread that goes in, opens, and comes back
 * reads or builds everything; a child would have to send the entry back
 * through a pipe.  setns(CLONE_NEWNET) changes only the calling thread,
 * so vxdump's or vxrestore's other threads are not affected.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netlink/errno.h>
#include <net/if.h>
#include <netlink/route/link.h>

#define LOG_PREFIX "net/netns: "
#include "log.h"
#include "util/cleanup.h"
#include "net/netns-int.h"

int netns_nlerr(int nlerr)
{
	switch (-abs(nlerr)) {
	case -NLE_EXIST:
		return -EEXIST;
	case -NLE_NOMEM:
		return -ENOMEM;
	case -NLE_PERM:
		return -EPERM;
	case -NLE_NODEV:
		return -ENODEV;
	case -NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case -NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case -NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case -NLE_BUSY:
		return -EBUSY;
	case -NLE_RANGE:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}

const char *netns_af(int family)
{
	return family == AF_INET ? "inet" : family == AF_INET6 ? "inet6" : "?";
}

void *netns_alloc(struct netns_arena *a, size_t size)
{
	void *p;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->ptrs, cap * sizeof(*np));

		if (!np)
			return NULL;
		a->ptrs = np;
		a->cap = cap;
	}
	p = calloc(1, size ? size : 1);
	if (p)
		a->ptrs[a->n++] = p;
	return p;
}

char *netns_strdup(struct netns_arena *a, const char *s)
{
	char *p = netns_alloc(a, strlen(s) + 1);

	if (p)
		strcpy(p, s);
	return p;
}

int netns_bytes(struct netns_arena *a, ProtobufCBinaryData *b, struct nl_addr *addr)
{
	unsigned len = addr ? nl_addr_get_len(addr) : 0;

	b->len = 0;
	b->data = NULL;
	if (!len)
		return 0;
	b->data = netns_alloc(a, len);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, nl_addr_get_binary_addr(addr), len);
	b->len = len;
	return 0;
}

struct nl_addr *netns_addr_of(int family, const ProtobufCBinaryData *b, unsigned plen)
{
	struct nl_addr *a = nl_addr_build(family, b->data, b->len);

	if (a)
		nl_addr_set_prefixlen(a, plen);
	return a;
}

static void arena_free(struct netns_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	memset(a, 0, sizeof(*a));
}

int net_ns_enter(int nsfd, int *saved)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0) {
		pr_perror("cannot open our network namespace");
		return -errno;
	}
	if (setns(nsfd, CLONE_NEWNET)) {
		int ret = -errno;

		pr_perror("cannot enter the network namespace (fd %d)", nsfd);
		close(*saved);
		*saved = -1;
		return ret;
	}
	return 0;
}

int net_ns_leave(int saved)
{
	int ret = 0;

	if (saved < 0)
		return 0;
	if (setns(saved, CLONE_NEWNET)) {
		ret = -errno;
		pr_perror("cannot go back to our network namespace");
	}
	close(saved);
	return ret;
}

static int ns_ino(const char *path, struct stat *st)
{
	if (stat(path, st)) {
		int ret = -errno;

		pr_perror("cannot stat %s", path);
		return ret;
	}
	return 0;
}

int net_netns_other(pid_t pid, int *nsfd)
{
	struct stat ours, its;
	char path[64];
	int ret;

	*nsfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ret = ns_ino("/proc/thread-self/ns/net", &ours) ?: ns_ino(path, &its);
	if (ret)
		return ret;
	if (ours.st_dev == its.st_dev && ours.st_ino == its.st_ino)
		return 0;
	*nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (*nsfd < 0) {
		pr_perror("cannot open %s", path);
		return -errno;
	}
	return 1;
}

int net_netns_same(pid_t pid, int nsfd)
{
	struct stat its, want;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ret = ns_ino(path, &its);
	if (ret)
		return ret;
	if (fstat(nsfd, &want))
		return -errno;
	return its.st_dev == want.st_dev && its.st_ino == want.st_ino;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct nl_sock *netns_route_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk) {
		pr_err("cannot allocate a netlink socket\n");
		return NULL;
	}
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret) {
		pr_err("cannot open a NETLINK_ROUTE socket: %s\n", nl_geterror(ret));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Everything read inside the namespace (the thread is in it). */
static int dump_inside(struct netns_dump *d)
{
	uint64_t t[4];
	int ret;

	d->sk = netns_route_socket();
	if (!d->sk)
		return -ENOMEM;
	ret = rtnl_link_alloc_cache(d->sk, AF_UNSPEC, &d->links);
	if (ret) {
		pr_err("cannot read the namespace's links: %s\n", nl_geterror(ret));
		return netns_nlerr(ret);
	}
	t[0] = mono_ns();
	ret = netns_dump_links(d);
	t[1] = mono_ns();
	ret = ret ?: netns_dump_routing(d);
	t[2] = mono_ns();
	ret = ret ?: netns_dump_sysctls(d);
	t[3] = mono_ns();
	ret = ret ?: netns_dump_nft(d);
	pr_debug("read: links %.2f ms, addresses/routes/rules/neighbours %.2f ms, %zu sysctls "
		 "%.2f ms, nftables %.2f ms\n",
		 (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, d->e->n_sysctls, (t[3] - t[2]) / 1e6,
		 (mono_ns() - t[3]) / 1e6);
	return ret;
}

static void dump_free(struct netns_dump *d)
{
	if (d->links)
		nl_cache_free(d->links);
	if (d->host_links)
		nl_cache_free(d->host_links);
	if (d->host_addrs)
		nl_cache_free(d->host_addrs);
	if (d->sk)
		nl_socket_free(d->sk);
	if (d->host)
		nl_socket_free(d->host);
	arena_free(&d->a);
}

/* The arena-built entry as one unpacked message of its own. */
static int repack(const NetnsEntry *e, NetnsEntry **out)
{
	size_t len = netns_entry__get_packed_size(e);
	_cleanup_free_ uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return -ENOMEM;
	netns_entry__pack(e, buf);
	*out = netns_entry__unpack(NULL, len, buf);
	return *out ? 0 : -ENOMEM;
}

int net_netns_dump(int nsfd, NetnsEntry **out)
{
	struct netns_dump d;
	int saved, ret, back;

	memset(&d, 0, sizeof(d));
	d.e = netns_alloc(&d.a, sizeof(*d.e));
	if (!d.e)
		return -ENOMEM;
	netns_entry__init(d.e);
	d.host = netns_route_socket(); /* ours: host ends of veths */
	if (!d.host) {
		dump_free(&d);
		return -ENOMEM;
	}
	ret = net_ns_enter(nsfd, &saved);
	if (ret) {
		dump_free(&d);
		return ret;
	}
	ret = dump_inside(&d);
	back = net_ns_leave(saved);
	ret = ret ?: back;
	if (!ret)
		ret = repack(d.e, out);
	dump_free(&d);
	return ret;
}

void net_netns_free(NetnsEntry *e)
{
	if (e)
		netns_entry__free_unpacked(e, NULL);
}

int net_netns_check(const NetnsEntry *e)
{
	int ret;

	ret = netns_check_links(e);
	ret = ret ?: netns_check_routing(e);
	ret = ret ?: netns_check_sysctls(e);
	return ret ?: netns_check_nft(e);
}

/* Inside the new namespace: everything in its order. */
static int build_inside(struct netns_build *b)
{
	uint64_t t[4];
	int ret;

	b->sk = netns_route_socket();
	if (!b->sk)
		return -ENOMEM;
	t[0] = mono_ns();
	ret = netns_build_sysctls(b, false);
	ret = ret ?: netns_build_links(b);
	t[1] = mono_ns();
	ret = ret ?: netns_build_sysctls(b, true);
	t[2] = mono_ns();
	ret = ret ?: netns_build_routing(b);
	t[3] = mono_ns();
	ret = ret ?: netns_build_nft(b);
	pr_debug(
		"built: sysctls and links %.2f ms, links' sysctls %.2f ms, addresses/routes/rules/neighbours %.2f "
		"ms, nftables %.2f ms\n",
		(t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, (t[3] - t[2]) / 1e6,
		(mono_ns() - t[3]) / 1e6);
	return ret;
}

int net_netns_build(const NetnsEntry *e, int *nsfd)
{
	struct netns_build b = { .e = e, .nsfd = -1 };
	int saved, ret, back;

	*nsfd = -1;
	b.host = netns_route_socket();
	if (!b.host)
		return -ENOMEM;
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		ret = -errno;
		pr_perror("cannot open our network namespace");
		goto out_host;
	}
	if (unshare(CLONE_NEWNET)) {
		ret = -errno;
		pr_perror("cannot make a network namespace");
		close(saved);
		goto out_host;
	}
	b.nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ret = b.nsfd < 0 ? -errno : build_inside(&b);
	back = net_ns_leave(saved);
	ret = ret ?: back;
	if (b.sk)
		nl_socket_free(b.sk);
	if (ret) {
		if (b.nsfd >= 0)
			close(b.nsfd); /* the namespace and its links die with it */
	} else {
		*nsfd = b.nsfd;
	}
out_host:
	nl_socket_free(b.host);
	return ret;
}

/*
 * vxcr check's probe: a namespace with lo, a veth pair (one end up with
 * 192.0.2.1/24, a route to 198.51.100.0/24 through 192.0.2.2) built from
 * an entry and read back.  Runs on the calling thread (check.c forks it).
 */
int net_netns_probe(const char **what)
{
	static uint8_t local[4] = { 192, 0, 2, 1 }, gw[4] = { 192, 0, 2, 2 };
	static uint8_t dst[4] = { 198, 51, 100, 0 };
	NetnsLink lo = NETNS_LINK__INIT, p0 = NETNS_LINK__INIT, p1 = NETNS_LINK__INIT;
	NetnsLink *links[] = { &lo, &p0, &p1 };
	NetnsAddr a = NETNS_ADDR__INIT, *addrs[] = { &a };
	NetnsNexthop nh = NETNS_NEXTHOP__INIT, *nhs[] = { &nh };
	NetnsRoute r = NETNS_ROUTE__INIT, *routes[] = { &r };
	NetnsEntry e = NETNS_ENTRY__INIT, *back = NULL;
	int nsfd, ret;

	lo = (NetnsLink){ .base = lo.base,
			  .has_ifindex = 1,
			  .ifindex = 1,
			  .name = "lo",
			  .kind = "lo",
			  .flags = IFF_UP };
	p0 = (NetnsLink){ .base = p0.base,
			  .has_ifindex = 1,
			  .ifindex = 2,
			  .name = "p0",
			  .kind = "veth",
			  .flags = IFF_UP,
			  .has_veth_peer = 1,
			  .veth_peer = 3 };
	p1 = (NetnsLink){ .base = p1.base,
			  .has_ifindex = 1,
			  .ifindex = 3,
			  .name = "p1",
			  .kind = "veth",
			  .has_veth_peer = 1,
			  .veth_peer = 2 };
	a.ifindex = 2;
	a.family = AF_INET;
	a.prefixlen = 24;
	a.has_local = 1;
	a.local = (ProtobufCBinaryData){ 4, local };
	a.valid_lft = a.preferred_lft = 0xffffffff;
	nh.ifindex = 2;
	nh.has_gateway = 1;
	nh.gateway = (ProtobufCBinaryData){ 4, gw };
	r.family = AF_INET;
	r.table = 254;
	r.protocol = 4;
	r.type = 1;
	r.has_dst = 1;
	r.dst = (ProtobufCBinaryData){ 4, dst };
	r.dst_len = 24;
	r.n_nexthops = 1;
	r.nexthops = nhs;
	e.n_links = 3;
	e.links = links;
	e.n_addrs = 1;
	e.addrs = addrs;
	e.n_routes = 1;
	e.routes = routes;
	*what = "check of the entry";
	ret = net_netns_check(&e);
	if (ret)
		return ret;
	*what = "building a namespace (unshare, rtnl_link/addr/route_add)";
	ret = net_netns_build(&e, &nsfd);
	if (ret)
		return ret;
	*what = "reading it back (setns, libnl caches)";
	ret = net_netns_dump(nsfd, &back);
	close(nsfd);
	if (ret)
		return ret;
	*what = "comparing what was read";
	ret = back->n_links == 3 && back->n_routes == 1 && back->links[1]->veth_peer == 3 ? 0 :
											    -EPROTO;
	net_netns_free(back);
	return ret;
}
