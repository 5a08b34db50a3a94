/*
 * The network lock (lib/net/netlock*.c): the nft text of a lock (sets of
 * 4-tuples per family, IPv4-mapped addresses as IPv4, listeners, the
 * whole namespace), table names from image ids (hostile hex refused), and
 * real locks in throw-away network namespaces: a loopback connection's
 * data stays unacknowledged while locked and flows once unlocked, a lock
 * of another namespace made from outside it, a kept table listed and
 * removed, an owner table gone with the process that made it; the kept
 * table looked up without libnftables (nft.c), which a restore that finds
 * none never loads.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define LOG_PREFIX "test/netlock: "
#include "log.h"
#include "net/netlock.h"
#include "net/nft.h"
#include "restore/restore.h"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= VXCR_LOG_WARN || getenv("VXT_VERBOSE"))
		fprintf(stderr, "%s\n", msg);
}

static struct net_addr v4(const char *ip, uint16_t port)
{
	struct net_addr a = { .family = AF_INET, .port = port };

	inet_pton(AF_INET, ip, a.ip);
	return a;
}

static struct net_addr v6(const char *ip, uint16_t port)
{
	struct net_addr a = { .family = AF_INET6, .port = port };

	inet_pton(AF_INET6, ip, a.ip);
	return a;
}

static bool has(const char *text, const char *what)
{
	bool ok = text && strstr(text, what);

	if (!ok)
		fprintf(stderr, "missing \"%s\" in:\n%s\n", what, text ? text : "(null)");
	return ok;
}

static void test_text_v4(void)
{
	struct net_conn c[2] = {
		{ .local = v4("127.0.0.1", 5000), .peer = v4("127.0.0.2", 6000) },
		{ .local = v4("10.1.2.3", 22), .peer = v4("10.9.9.9", 40000) },
	};
	char *t;

	CU_ASSERT_EQUAL_FATAL(net_lock_text("vxcr_lock_1_0", true, false, c, 2, &t), 0);
	CU_ASSERT(has(t, "table inet vxcr_lock_1_0 {"));
	CU_ASSERT(has(t, "flags owner"));
	CU_ASSERT(has(t, "127.0.0.2 . 6000 . 127.0.0.1 . 5000, 10.9.9.9 . 40000 . 10.1.2.3 . 22"));
	CU_ASSERT(has(t, "type filter hook input priority -350; policy accept;"));
	CU_ASSERT(has(t, "ip saddr . tcp sport . ip daddr . tcp dport @c4 drop"));
	CU_ASSERT(has(t, "ip daddr . tcp dport . ip saddr . tcp sport @c4 drop"));
	CU_ASSERT_PTR_NULL(strstr(t, "@c6"));
	CU_ASSERT_PTR_NULL(strstr(t, "set c6"));
	free(t);
	CU_ASSERT_EQUAL_FATAL(net_lock_text("vxcr_img_ab", false, false, c, 1, &t), 0);
	CU_ASSERT_PTR_NULL(strstr(t, "owner"));
	free(t);
}

static void test_text_v6_mapped_listeners(void)
{
	struct net_conn c[5] = {
		{ .local = v6("::1", 80), .peer = v6("::1", 50000) },
		{ .local = v6("::ffff:127.0.0.1", 81), .peer = v6("::ffff:127.0.0.9", 50001) },
		{ .local = v6("::", 8080), .peer = { 0 } },
		{ .local = v4("0.0.0.0", 8081), .peer = { 0 } },
		{ .local = v6("fe80::1", 8082), .peer = { 0 } },
	};
	char *t;

	CU_ASSERT_EQUAL_FATAL(net_lock_text("t", true, false, c, 5, &t), 0);
	CU_ASSERT(has(t, "elements = { ::1 . 50000 . ::1 . 80 }"));
	CU_ASSERT(has(t, "elements = { 127.0.0.9 . 50001 . 127.0.0.1 . 81 }"));
	CU_ASSERT(has(t, "ip6 saddr . tcp sport . ip6 daddr . tcp dport @c6 drop"));
	CU_ASSERT(has(t, "\t\ttcp dport 8080 drop"));
	CU_ASSERT(has(t, "\t\ttcp sport 8080 drop"));
	CU_ASSERT(has(t, "meta nfproto ipv4 tcp dport 8081 drop"));
	CU_ASSERT(has(t, "ip6 daddr fe80::1 tcp dport 8082 drop"));
	CU_ASSERT(has(t, "ip6 saddr fe80::1 tcp sport 8082 drop"));
	free(t);
}

static void test_text_bad(void)
{
	struct net_conn mixed = { .local = v4("127.0.0.1", 1), .peer = v6("::1", 2) };
	struct net_conn nofam = { .local = { .family = 99 }, .peer = v4("127.0.0.1", 2) };
	char *t = (char *)1;

	CU_ASSERT_EQUAL(net_lock_text("t", true, false, &mixed, 1, &t), -EINVAL);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_EQUAL(net_lock_text("t", true, false, &nofam, 1, &t), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_text("", true, false, NULL, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_text("a b", true, false, NULL, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_text("t;flush ruleset", true, false, NULL, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_text("x{", true, false, NULL, 0, &t), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_text("t", false, true, NULL, 0, &t), 0);
	CU_ASSERT(has(t, "policy drop;"));
	CU_ASSERT_PTR_NULL(strstr(t, "set "));
	free(t);
}

static void test_ids(void)
{
	uint8_t id[16];
	char b[NET_LOCK_TABLE_MAX];
	char big[200];
	size_t i;

	for (i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(0xf0 + i);
	CU_ASSERT_EQUAL(net_lock_image_table(id, 16, b), 0);
	CU_ASSERT_STRING_EQUAL(b, "vxcr_img_f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	CU_ASSERT_EQUAL(net_lock_image_table(id, 0, b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_image_table(id, 17, b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_hex_table("F0f1", b), 0);
	CU_ASSERT_STRING_EQUAL(b, "vxcr_img_f0f1");
	CU_ASSERT_EQUAL(net_lock_hex_table("", b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_hex_table("0g", b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_hex_table("ab;flush ruleset", b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_hex_table("ab cd", b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_hex_table("-1", b), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(net_lock_hex_table(big, b), -EINVAL);
	big[32] = '\0';
	CU_ASSERT_EQUAL(net_lock_hex_table(big, b), 0);
	big[32] = 'a'; /* 33 digits */
	big[33] = '\0';
	CU_ASSERT_EQUAL(net_lock_hex_table(big, b), -EINVAL);
	CU_ASSERT_EQUAL(net_lock_drop("zz"), -EINVAL);
}

/* Runs fn in a forked child in a new network namespace with lo up;
 * the child's exit status 0 is success. */
static void in_new_netns(int (*fn)(void))
{
	int st = -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct ifreq ifr = { 0 };
		int s;

		if (unshare(CLONE_NEWNET))
			_exit(90);
		s = socket(AF_INET, SOCK_DGRAM, 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
		if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr))
			_exit(91);
		close(s);
		_exit(fn());
	}
	CU_ASSERT_FATAL(pid > 0);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child status %#x\n", st);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A connected loopback pair of family (AF_INET, AF_INET6, or AF_INET6
 * to ::ffff:127.0.0.1 if mapped): *cl (client) and *sv (accepted). */
static int tcp_pair_of(int family, bool mapped, int *cl, int *sv)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*a4) : sizeof(*a6);
	int ls;

	ss.ss_family = family;
	if (family == AF_INET)
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		inet_pton(AF_INET6, mapped ? "::ffff:127.0.0.1" : "::1", &a6->sin6_addr);
	ls = socket(family, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (void *)&ss, len) || listen(ls, 1) ||
	    getsockname(ls, (void *)&ss, &len))
		return -1;
	*cl = socket(family, SOCK_STREAM, 0);
	if (*cl < 0 || connect(*cl, (void *)&ss, len))
		return -1;
	*sv = accept(ls, NULL, NULL);
	close(ls);
	return *sv < 0 ? -1 : 0;
}

static int tcp_pair(int *cl, int *sv)
{
	return tcp_pair_of(AF_INET, false, cl, sv);
}

static int outq(int fd)
{
	int n = -1;

	ioctl(fd, SIOCOUTQ, &n);
	return n;
}

/* Bytes unacknowledged on fd after waiting up to ms for them to go. */
static int outq_after(int fd, int ms)
{
	for (int i = 0; i < ms / 10 && outq(fd) > 0; i++)
		usleep(10000);
	return outq(fd);
}

/* A pair of family locked from one end (listener: by its listening
 * socket) drops both ways, and flows again once unlocked. */
static int lock_drops_of(int family, bool mapped, bool by_listener)
{
	struct net_conn c;
	struct net_lock *lk;
	int cl, sv;
	char buf[16];

	if (tcp_pair_of(family, mapped, &cl, &sv) || net_tcp_conn_of(sv, &c))
		return 1;
	if (c.peer.family != family || c.local.port == c.peer.port)
		return 2;
	if (by_listener)
		memset(&c.peer, 0, sizeof(c.peer)); /* every connection to its port */
	if (net_lock_conns(&c, 1, -1, &lk))
		return 3;
	if (write(cl, "hello", 5) != 5 || outq_after(cl, 300) != 5)
		return 4; /* not acknowledged while locked */
	if (write(sv, "back", 4) != 4 || outq_after(sv, 300) != 4)
		return 5; /* the other direction too */
	net_unlock(lk);
	if (outq_after(cl, 10000) || outq_after(sv, 10000))
		return 6; /* retransmitted and acknowledged once unlocked */
	if (read(sv, buf, sizeof(buf)) != 5 || read(cl, buf, sizeof(buf)) != 4)
		return 7;
	close(cl);
	close(sv);
	return 0;
}

/* IPv4, IPv6, IPv4-mapped IPv6, a listener's port: 0 or 10 * case + step. */
static int lock_drops(void)
{
	static const struct {
		int family;
		bool mapped, by_listener;
	} cases[] = {
		{ AF_INET, false, false },
		{ AF_INET6, false, false },
		{ AF_INET6, true, false },
		{ AF_INET, false, true },
	};
	int i, r;

	for (i = 0; i < 4; i++) {
		r = lock_drops_of(cases[i].family, cases[i].mapped, cases[i].by_listener);
		if (r)
			return 10 * i + r;
	}
	return 0;
}

static void test_lock_drops(void)
{
	in_new_netns(lock_drops);
}

/* Counts the kept locks of the two images of these tests. */
static void count_hex(const char *hex, void *arg)
{
	if (!strcmp(hex, "00112233445566778899aabbccddeeff") ||
	    !strcmp(hex, "0102030405060708090a0b0c0d0e0f10"))
		++*(int *)arg;
}

static int keep_and_list(void)
{
	static const uint8_t id[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	struct net_conn c = { .local = v4("127.0.0.1", 1), .peer = v4("127.0.0.1", 2) };
	struct net_lock *lk;
	int n = 0, cl, sv;

	if (net_lock_conns(&c, 1, -1, &lk) || net_lock_keep(lk, id, 16))
		return 1;
	if (net_lock_keep(lk, id, 16) != -EEXIST)
		return 2;
	net_unlock(lk);
	if (net_lock_list(count_hex, &n) || n != 1)
		return 3;
	if (net_unlock_image(id, 16) || net_unlock_image(id, 16) != -ENOENT)
		return 4;
	n = 0;
	if (net_lock_list(count_hex, &n) || n)
		return 5;
	if (net_lock_drop("00112233445566778899aabbccddeeff") != -ENOENT)
		return 6;
	/* an owner table dies with its maker */
	if (tcp_pair(&cl, &sv) || net_tcp_conn_of(cl, &c))
		return 7;
	if (fork() == 0)
		_exit(net_lock_conns(&c, 1, -1, &lk) ? 1 : 0);
	wait(NULL);
	if (write(cl, "x", 1) != 1 || outq_after(cl, 2000))
		return 8;
	return 0;
}

static void test_keep_list_owner(void)
{
	in_new_netns(keep_and_list);
}

/*
 * The restore's hooks: rst_net_lock holds the connections given, a second
 * lock is refused, rst_net_unlock drops it and the lock vxdump kept for
 * the image (by the image header's id); rst_image_free drops the lock of
 * a failed restore.
 */
static int restore_hooks(void)
{
	static uint8_t id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	ImgHeader h = IMG_HEADER__INIT;
	struct rst_image *img;
	struct net_conn c;
	struct net_lock *kept;
	int cl, sv, n = 0;

	h.has_image_id = true;
	h.image_id.len = sizeof(id);
	h.image_id.data = id;
	if (tcp_pair(&cl, &sv) || net_tcp_conn_of(cl, &c))
		return 1;
	/* what vxdump --keep-net-lock leaves: a kept table of the image */
	if (net_lock_conns(&c, 1, -1, &kept) || net_lock_keep(kept, id, sizeof(id)))
		return 2;
	net_unlock(kept);
	img = rst_image_new(-1, NULL);
	if (!img)
		return 3;
	img->hdr = &h;
	if (rst_net_lock(img, &c, 1, -1) || rst_net_lock(img, &c, 1, -1) != -EALREADY)
		return 4;
	if (write(cl, "x", 1) != 1 || outq_after(cl, 300) != 1)
		return 5;
	rst_net_unlock(img);
	if (net_lock_list(count_hex, &n) || n)
		return 6;
	if (outq_after(cl, 10000))
		return 7; /* neither lock holds it any more */
	/* a failed restore: its own lock goes with the image's state */
	if (rst_net_lock(img, &c, 1, -1))
		return 8;
	if (write(cl, "y", 1) != 1 || outq_after(cl, 300) != 1)
		return 9;
	img->hdr = NULL;
	rst_image_free(img);
	return outq_after(cl, 10000) ? 10 : 0;
}

static void test_restore_hooks(void)
{
	in_new_netns(restore_hooks);
}

/* From namespace A, lock all of namespace B (a child's), then unlock. */
static int netns_lock(void)
{
	struct net_lock *lk;
	int self, p[2], q[2], nsfd, st;
	char path[64], b;
	pid_t child;

	self = open("/proc/self/ns/net", O_RDONLY);
	if (net_lock_netns(self, &lk) != -EINVAL)
		return 1;	/* our own: refused */
	if (pipe(p) || pipe(q)) /* p: child to us, q: us to child */
		return 2;
	child = fork();
	if (child == 0) {
		int cl, sv;

		if (unshare(CLONE_NEWNET))
			_exit(1);
		/* lo up, a pair, then wait for the parent's lock */
		struct ifreq ifr = { 0 };
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) || tcp_pair(&cl, &sv))
			_exit(2);
		if (write(p[1], "r", 1) != 1 || read(q[0], &b, 1) != 1)
			_exit(3);
		if (write(cl, "locked", 6) != 6 || outq_after(cl, 300) != 6)
			_exit(4);
		if (write(p[1], "l", 1) != 1)
			_exit(5);
		_exit(outq_after(cl, 10000) ? 6 : 0);
	}
	if (read(p[0], &b, 1) != 1)
		return 3;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", child);
	nsfd = open(path, O_RDONLY);
	if (nsfd < 0 || net_lock_netns(nsfd, &lk))
		return 4;
	if (write(q[1], "g", 1) != 1)
		return 5;
	usleep(400000); /* the child checks its queue meanwhile, then reads "l" */
	if (read(p[0], &b, 1) != 1 || b != 'l')
		return 6;
	net_unlock(lk);
	waitpid(child, &st, 0);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 10 + WEXITSTATUS(st);
}

static void test_netns_lock(void)
{
	in_new_netns(netns_lock);
}

/* Is libnftables mapped in this process? */
static bool nftables_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "libnftables") != NULL;
	if (f)
		fclose(f);
	return found;
}

/*
 * nft_inet_table_exists: no table, a kept table of an image (inet), a
 * table of that name in another family (not it), a name too long; a
 * restore whose image has no kept table unlocks without loading
 * libnftables, and loads it to remove one that is there.
 */
static int table_probe(void)
{
	static uint8_t id[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	ImgHeader h = IMG_HEADER__INIT;
	char name[NET_LOCK_TABLE_MAX], longname[400];
	struct rst_image *img;
	struct net_lock *kept;
	struct nft_ctx *nft;
	struct net_conn c;
	int cl, sv;

	if (nftables_mapped())
		return 1; /* linked at start-up, not loaded when used */
	h.has_image_id = true;
	h.image_id.len = sizeof(id);
	h.image_id.data = id;
	if (net_lock_image_table(id, sizeof(id), name) || nft_inet_table_exists(name) != 0)
		return 2;
	img = rst_image_new(-1, NULL);
	if (!img)
		return 3;
	img->hdr = &h;
	rst_net_unlock(img); /* nothing kept: nothing loaded */
	if (nftables_mapped())
		return 4;
	if (tcp_pair(&cl, &sv) || net_tcp_conn_of(cl, &c))
		return 5;
	if (net_lock_conns(&c, 1, -1, &kept) || net_lock_keep(kept, id, sizeof(id)))
		return 6;
	net_unlock(kept);
	if (!nftables_mapped() || nft_inet_table_exists(name) != 1)
		return 7;
	img->net_unlocked = false;
	rst_net_unlock(img); /* the kept table found and removed */
	if (nft_inet_table_exists(name) != 0)
		return 8;
	nft = nftl_ctx_new(NFT_CTX_DEFAULT);
	if (!nft || nftl_ctx_buffer_error(nft) ||
	    nftl_run_cmd_from_buffer(nft, "add table ip vxcr_fam"))
		return 9;
	nftl_ctx_free(nft);
	if (nft_inet_table_exists("vxcr_fam") != 0)
		return 10; /* "ip", not "inet" */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	if (nft_inet_table_exists(longname) != -ENAMETOOLONG)
		return 11;
	img->hdr = NULL;
	rst_image_free(img);
	return 0;
}

static void test_table_probe(void)
{
	in_new_netns(table_probe);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("netlock", NULL, NULL);
	CU_add_test(s, "rules of IPv4 connections", test_text_v4);
	CU_add_test(s, "IPv6, mapped IPv4, listeners", test_text_v6_mapped_listeners);
	CU_add_test(s, "bad names and addresses refused; the whole namespace", test_text_bad);
	CU_add_test(s, "table names of image ids, hostile hex", test_ids);
	CU_add_test(s, "a lock drops a connection both ways: v4, v6, mapped, listener",
		    test_lock_drops);
	CU_add_test(s, "kept tables listed and removed; owner tables die", test_keep_list_owner);
	CU_add_test(s, "a lock of another namespace from outside it", test_netns_lock);
	CU_add_test(s, "restore: rst_net_lock, rst_net_unlock with the kept lock",
		    test_restore_hooks);
	CU_add_test(s, "kept table looked up without libnftables, loaded only when found",
		    test_table_probe);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
