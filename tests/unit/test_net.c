/*
 * The inet socket pieces of lib/net and the TCP kind's checks of hostile
 * images: inet_addr of an image (lengths, ports, scope and flow label per
 * family), sk_opts ranges, buffer sizes forced past the sysctl maximum
 * and read back, options a kind does not know counted as default, and
 * the tcpsk entry's check_image (states, addresses that do not fit the
 * state, option ranges, a connection's queue lengths against its
 * SK_QUEUE records).
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define LOG_PREFIX "test/net: "
#include "log.h"
#include "net/inet.h"
#include "net/sockopt.h"
#include "restore/restore.h"
#include "util/pb.h"
#include "tcpsk.pb-c.h"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (getenv("VXT_VERBOSE"))
		fprintf(stderr, "%d %s\n", lvl, msg);
}

static void test_addr_from_pb(void)
{
	uint8_t ip4[4] = { 127, 0, 0, 1 }, ip6[16] = { [15] = 1 };
	struct net_addr a;
	InetAddr pb;

	inet_addr__init(&pb);
	CU_ASSERT_EQUAL(net_addr_from_pb(NULL, AF_INET, &a, "t", "local"), -EBADMSG);
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET, &a, "t", "local"), -EBADMSG); /* no ip */
	pb.has_ip = 1;
	pb.ip.data = ip4;
	pb.ip.len = 4;
	PB_SET(&pb, port, 80);
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET, &a, "t", "local"), 0);
	CU_ASSERT_EQUAL(a.port, 80);
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET6, &a, "t", "local"), -EBADMSG); /* 4 bytes */
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_UNIX, &a, "t", "local"), -EBADMSG);
	pb.port = 65536;
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET, &a, "t", "local"), -EBADMSG);
	pb.port = 1;
	PB_SET(&pb, scope_id, 2); /* IPv4 has no scope */
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET, &a, "t", "local"), -EBADMSG);
	pb.ip.data = ip6;
	pb.ip.len = 16;
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET6, &a, "t", "local"), 0);
	CU_ASSERT_EQUAL(a.scope_id, 2);
	PB_SET(&pb, flowinfo, 1u << 20); /* 20 bits */
	CU_ASSERT_EQUAL(net_addr_from_pb(&pb, AF_INET6, &a, "t", "local"), -EBADMSG);
}

static void test_skopts_check(void)
{
	SkOpts o;
	uint8_t insn[8] = { 0 };

	sk_opts__init(&o);
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), 0);
	PB_SET(&o, rcvtimeo_us, 1ull << 53);
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
	o.rcvtimeo_us = 5;
	PB_SET(&o, rcvlowat, 0);
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
	o.rcvlowat = 1;
	PB_SET(&o, sndbuf, 1);
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
	o.sndbuf = 4096;
	o.bindtodevice = "a/b";
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
	o.bindtodevice = "lo";
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), 0);
	o.has_filter = 1;
	o.filter.data = insn;
	o.filter.len = 7; /* not whole instructions */
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
	o.has_filter = 0;
	o.filter_locked = 1; /* a lock without a filter */
	CU_ASSERT_EQUAL(net_skopts_check(&o, "t"), -EBADMSG);
}

/* Buffer sizes past rmem_max/wmem_max through the FORCE twin, read back. */
static void test_set_buf(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 0;
	socklen_t len = sizeof(v);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(net_set_buf(fd, SO_RCVBUF, 64 << 20, "t"), 0);
	CU_ASSERT(!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) && v == 64 << 20);
	CU_ASSERT_EQUAL(net_set_buf(fd, SO_SNDBUF, 10000, "t"), 0);
	CU_ASSERT(!getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) && v == 10000);
	CU_ASSERT_EQUAL(net_set_buf(fd, SO_SNDBUF, 10001, "t"), -EOPNOTSUPP); /* odd: never */
	close(fd);
}

/* An option the socket's kind does not know (EOPNOTSUPP) is at its default. */
static void test_fixed_unknown(void)
{
	static const struct net_fixed_opt opts[] = {
		{ SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0 },
		{ SOL_TCP, TCP_NODELAY, "TCP_NODELAY", 0 },
	};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(net_check_fixed(fd, opts, 2, "t"), 0);
	setsockopt(fd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	CU_ASSERT_EQUAL(net_check_fixed(fd, opts, 2, "t"), -EOPNOTSUPP);
	close(fd);
}

/* A one-file image holding e (kind FILE_TCPSK), and chunks of queued bytes. */
struct tcp_img {
	struct rst_image img;
	struct rst_file f;
	FileEntry fe;
	TcpskEntry e;
	TcpskConn c;
	InetAddr local, peer;
	uint8_t ip[4];
	struct rst_chunk skq[2];
};

static void tcp_img_init(struct tcp_img *t, uint32_t state)
{
	memset(t, 0, sizeof(*t));
	file_entry__init(&t->fe);
	tcpsk_entry__init(&t->e);
	tcpsk_conn__init(&t->c);
	inet_addr__init(&t->local);
	inet_addr__init(&t->peer);
	t->ip[0] = 127;
	t->ip[3] = 1;
	t->local.has_ip = t->peer.has_ip = 1;
	t->local.ip.data = t->peer.ip.data = t->ip;
	t->local.ip.len = t->peer.ip.len = 4;
	PB_SET(&t->local, port, 5000);
	PB_SET(&t->peer, port, 41234);
	PB_SET(&t->fe, id, 1);
	PB_SET(&t->fe, kind, FILE_KIND__FILE_TCPSK);
	t->fe.tcpsk = &t->e;
	PB_SET(&t->e, family, AF_INET);
	PB_SET(&t->e, state, state);
	PB_SET(&t->e, uid, 0);
	PB_SET(&t->e, gid, 0);
	if (state != TCP_CLOSE)
		t->e.local = &t->local;
	if (state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT) {
		t->e.peer = &t->peer;
		t->e.conn = &t->c;
		PB_SET(&t->c, snd_seq, 1);
		PB_SET(&t->c, rcv_seq, 2);
		PB_SET(&t->c, mss, 1460);
		PB_SET(&t->c, inq_len, 10);
		PB_SET(&t->c, outq_len, 20);
		t->skq[0] = (struct rst_chunk){ 1, 0, 10, NULL };
		t->skq[1] = (struct rst_chunk){ 1, 10, 20, NULL };
		t->img.skq = t->skq;
		t->img.nr_skq = 2;
	}
	t->f.fe = &t->fe;
	t->f.kind = rst_fd_kind(FILE_KIND__FILE_TCPSK);
	t->img.files = &t->f;
	t->img.nr_files = 1;
}

static int tcp_check(struct tcp_img *t)
{
	return t->f.kind->check_image(&t->img, &t->f);
}

static void test_tcpsk_check(void)
{
	struct tcp_img t;

	tcp_img_init(&t, TCP_LISTEN);
	CU_ASSERT_FATAL(t.f.kind && t.f.kind->check_image);
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	PB_SET(&t.e, backlog, 65536);
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.backlog = 128;
	t.e.state = TCP_TIME_WAIT;
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.state = 99;
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.state = TCP_LISTEN;
	t.e.local = NULL; /* a listener without an address */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);

	tcp_img_init(&t, TCP_CLOSE);
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	t.e.peer = &t.peer; /* not connected, with a peer */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.peer = NULL;
	PB_SET(&t.e, v6only, 1); /* IPv4 */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.has_v6only = 0;
	PB_SET(&t.e, keepcnt, 128);
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.keepcnt = 9;
	t.e.congestion = "../x";
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.e.congestion = "reno";
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	t.img.skq = t.skq; /* queued bytes on a socket not connected */
	t.skq[0] = (struct rst_chunk){ 1, 0, 1, NULL };
	t.img.nr_skq = 1;
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
}

static void test_tcpsk_check_conn(void)
{
	struct tcp_img t;

	tcp_img_init(&t, TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	t.c.mss = 0;
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.c.mss = 1460;
	PB_SET(&t.c, wscale, 1);
	PB_SET(&t.c, rcv_wscale, 15);
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.c.rcv_wscale = 14;
	PB_SET(&t.c, unsent_len, 21);
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.c.unsent_len = 20;
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	t.skq[1].offset = 11; /* a gap */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.skq[1].offset = 10;
	t.c.outq_len = 19; /* not what the records hold */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.c.outq_len = 20;
	t.skq[1].id = 2; /* queued bytes of no TCP or unix socket */
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
	t.skq[1].id = 1;
	t.e.conn = NULL;
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);

	tcp_img_init(&t, TCP_CLOSE_WAIT);
	CU_ASSERT_EQUAL(tcp_check(&t), 0);
	tcp_img_init(&t, TCP_ESTABLISHED);
	t.e.state = TCP_FIN_WAIT1; /* our FIN sent: nothing may stay unsent */
	PB_SET(&t.c, unsent_len, 5);
	CU_ASSERT_EQUAL(tcp_check(&t), -EBADMSG);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("net", NULL, NULL);
	CU_add_test(s, "inet_addr of an image", test_addr_from_pb);
	CU_add_test(s, "sk_opts ranges", test_skopts_check);
	CU_add_test(s, "buffer sizes forced and read back", test_set_buf);
	CU_add_test(s, "an option the kind does not know is default", test_fixed_unknown);
	CU_add_test(s, "tcpsk entries: states, addresses, options", test_tcpsk_check);
	CU_add_test(s, "tcpsk connections: options, queues, FIN", test_tcpsk_check_conn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
