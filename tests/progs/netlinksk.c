/*
 * netlinksk: netlink sockets restored with protocol, port id, groups,
 * options and peer, and still talking to the kernel.
 *
 *   rt    NETLINK_ROUTE, SOCK_RAW, O_NONBLOCK, autobound by bind() with
 *         RTMGRP_LINK | RTMGRP_IPV4_IFADDR, also group 33 (above the
 *         32-bit mask: NETLINK_ADD_MEMBERSHIP only); NETLINK_EXT_ACK,
 *         GET_STRICT_CHK, NO_ENOBUFS, CAP_ACK, PKTINFO on; SO_RCVBUF,
 *         SO_PRIORITY 3, SO_MARK 7, SO_RCVTIMEO 2.5 s set
 *   ue    NETLINK_KOBJECT_UEVENT, SOCK_DGRAM, made under fsuid/fsgid
 *         1234/4321 (its inode's owner), bound to a port id of our
 *         choosing with group 1, NETLINK_BROADCAST_ERROR and
 *         LISTEN_ALL_NSID on, SO_PASSCRED and a classic BPF filter,
 *         locked (as libudev's monitors do), connected to the kernel
 *   idle  NETLINK_ROUTE, never bound: port id 0 after restore too
 *
 * Until "go" the program keeps reading what arrives on rt and ue (link
 * and uevent notifications of the host), so the dump finds their queues
 * empty.  After "go" it checks each socket's state as the kernel reports
 * it, then sends RTM_GETLINK on rt and reads the answer: "lo" listed.
 *
 * "netlinksk OUT queued": also holds q, a NETLINK_ROUTE socket with an
 * unread RTM_GETLINK answer: the dump must refuse it.
 * "netlinksk OUT stamp": also holds q with SO_TIMESTAMP on: refused.
 * "netlinksk OUT ebpf": also holds q with an eBPF socket filter: refused.
 * "netlinksk OUT netns": also holds q, made in a network namespace of its
 * own (unshare, then back to ours): refused.
 */
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "prog.h"

#define UE_PORT_OFF 0x5a000000U
#define RT_RCVBUF 150000 /* SO_RCVBUF: the kernel doubles it */
#define UE_UID 1234
#define UE_GID 4321

static int rt, ue, idle;
/* ue's classic BPF filter: accept the whole message (A = length; ret A) */
static struct sock_filter ue_insns[] = { BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
					 BPF_STMT(BPF_RET | BPF_A, 0) };
static const struct sock_fprog ue_prog = { 2, ue_insns };
static const struct timeval rt_tmo = { 2, 500000 };
static uint32_t rt_port, ue_port;

static int nl_socket(int type, int proto)
{
	int fd = socket(AF_NETLINK, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		prog_fail("socket(AF_NETLINK, %d): %s", proto, strerror(errno));
	return fd;
}

static void set_opt(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		prog_fail("setsockopt %d/%d: %s", level, name, strerror(errno));
}

static int get_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len))
		return -1;
	return v;
}

static uint32_t port_of(int fd)
{
	struct sockaddr_nl sa = { 0 };
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return 0xffffffff;
	return sa.nl_pid;
}

/* The first two words of fd's NETLINK_LIST_MEMBERSHIPS (groups 1..64). */
static uint64_t groups_of(int fd)
{
	uint32_t w[8] = { 0 };
	socklen_t len = sizeof(w);

	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &len))
		return ~0ULL;
	return w[0] | (uint64_t)w[1] << 32;
}

/* Sends an RTM_GETLINK dump request on fd, sequence seq. */
static void send_getlink(int fd, uint32_t seq)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = seq },
		.i = { .ifi_family = AF_UNSPEC },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
	    sizeof(req))
		prog_fail("send RTM_GETLINK: %s", strerror(errno));
}

/* Is one RTM_NEWLINK message h about interface "lo"? */
static int is_lo(const struct nlmsghdr *h)
{
	const struct ifinfomsg *i = NLMSG_DATA(h);
	const struct rtattr *a = IFLA_RTA(i);
	int len = IFLA_PAYLOAD(h);

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME && !strcmp(RTA_DATA(a), "lo"))
			return 1;
	return 0;
}

/*
 * Reads the answer to RTM_GETLINK seq on fd (skipping notifications),
 * within 10 s: 1 if "lo" was listed, 0 if not, -1 on error or timeout.
 */
static int read_getlink(int fd, uint32_t seq, uint32_t port)
{
	static char buf[65536] __attribute__((aligned(4)));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct nlmsghdr *h;
	int lo = 0, n;

	for (;;) {
		if (poll(&pfd, 1, 10000) != 1)
			return -1;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		for (h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_pid != port)
				continue; /* a notification */
			if (h->nlmsg_type == NLMSG_DONE)
				return lo;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			if (h->nlmsg_type == RTM_NEWLINK)
				lo |= is_lo(h);
		}
	}
}

/* Reads and drops whatever is queued on fd. */
static void drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void setup(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	rt = nl_socket(SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
	set_opt(rt, SOL_SOCKET, SO_RCVBUF, RT_RCVBUF);
	set_opt(rt, SOL_NETLINK, NETLINK_EXT_ACK, 1);
	set_opt(rt, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
	set_opt(rt, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
	set_opt(rt, SOL_NETLINK, NETLINK_CAP_ACK, 1);
	set_opt(rt, SOL_NETLINK, NETLINK_PKTINFO, 1);
	set_opt(rt, SOL_SOCKET, SO_PRIORITY, 3);
	set_opt(rt, SOL_SOCKET, SO_MARK, 7);
	if (setsockopt(rt, SOL_SOCKET, SO_RCVTIMEO, &rt_tmo, sizeof(rt_tmo)))
		prog_fail("SO_RCVTIMEO: %s", strerror(errno));
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
	if (bind(rt, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("bind rt: %s", strerror(errno));
	set_opt(rt, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 33);
	rt_port = port_of(rt);

	setfsgid(UE_GID); /* its inode is owned by our fs ids */
	setfsuid(UE_UID);
	ue = nl_socket(SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	setfsuid(0);
	setfsgid(0);
	sa.nl_pid = ue_port = UE_PORT_OFF + (uint32_t)getpid();
	sa.nl_groups = 1;
	if (bind(ue, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("bind ue: %s", strerror(errno));
	set_opt(ue, SOL_SOCKET, SO_PASSCRED, 1);
	if (setsockopt(ue, SOL_SOCKET, SO_ATTACH_FILTER, &ue_prog, sizeof(ue_prog)))
		prog_fail("SO_ATTACH_FILTER: %s", strerror(errno));
	set_opt(ue, SOL_SOCKET, SO_LOCK_FILTER, 1);
	set_opt(ue, SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1);
	set_opt(ue, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1);
	sa.nl_pid = 0;
	sa.nl_groups = 0;
	if (connect(ue, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("connect ue: %s", strerror(errno));

	idle = nl_socket(SOCK_RAW, NETLINK_ROUTE);
}

/* Waits for "go", reading notifications as they come. */
static void wait_go_draining(void)
{
	struct pollfd pfd[2] = { { .fd = rt, .events = POLLIN }, { .fd = ue, .events = POLLIN } };
	sigset_t mask;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGUSR1);
	while (!prog_go) {
		if (ppoll(pfd, 2, NULL, &mask) > 0) {
			drain(rt);
			drain(ue);
		}
	}
}

static void check(void)
{
	uint64_t want = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | 1ULL << 32;
	struct stat st = { 0 };
	struct sock_filter got[4];
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);
	uint64_t g;
	int r;

	CHECK(port_of(rt) == rt_port, "rt: port id %u, was %u", port_of(rt), rt_port);
	g = groups_of(rt);
	CHECK(g == want, "rt: groups %#llx, expected %#llx", (unsigned long long)g,
	      (unsigned long long)want);
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_EXT_ACK) == 1, "rt: NETLINK_EXT_ACK lost");
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_GET_STRICT_CHK) == 1, "rt: GET_STRICT_CHK lost");
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_NO_ENOBUFS) == 1, "rt: NO_ENOBUFS lost");
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_CAP_ACK) == 1, "rt: CAP_ACK lost");
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_PKTINFO) == 1, "rt: PKTINFO lost");
	CHECK(get_opt(rt, SOL_NETLINK, NETLINK_BROADCAST_ERROR) == 0, "rt: BROADCAST_ERROR set");
	CHECK(get_opt(rt, SOL_SOCKET, SO_RCVBUF) == 2 * RT_RCVBUF, "rt: SO_RCVBUF %d",
	      get_opt(rt, SOL_SOCKET, SO_RCVBUF));
	CHECK(fcntl(rt, F_GETFL) & O_NONBLOCK, "rt: O_NONBLOCK lost");
	CHECK(get_opt(rt, SOL_SOCKET, SO_PROTOCOL) == NETLINK_ROUTE, "rt: protocol changed");
	CHECK(get_opt(rt, SOL_SOCKET, SO_PRIORITY) == 3, "rt: SO_PRIORITY lost");
	CHECK(get_opt(rt, SOL_SOCKET, SO_MARK) == 7, "rt: SO_MARK lost");
	CHECK(!getsockopt(rt, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) && tv.tv_sec == rt_tmo.tv_sec &&
		      tv.tv_usec == rt_tmo.tv_usec,
	      "rt: SO_RCVTIMEO %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	CHECK(get_opt(rt, SOL_SOCKET, SO_PASSCRED) == 0, "rt: SO_PASSCRED set");
	len = 0;
	CHECK(!getsockopt(rt, SOL_SOCKET, SO_GET_FILTER, NULL, &len) && len == 0,
	      "rt: a socket filter appeared");

	CHECK(port_of(ue) == ue_port, "ue: port id %u, was %u", port_of(ue), ue_port);
	CHECK(groups_of(ue) == 1, "ue: groups %#llx", (unsigned long long)groups_of(ue));
	CHECK(get_opt(ue, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM, "ue: not SOCK_DGRAM");
	CHECK(get_opt(ue, SOL_SOCKET, SO_PROTOCOL) == NETLINK_KOBJECT_UEVENT,
	      "ue: protocol changed");
	CHECK(!(fcntl(ue, F_GETFL) & O_NONBLOCK), "ue: O_NONBLOCK set");
	CHECK(get_opt(ue, SOL_NETLINK, NETLINK_BROADCAST_ERROR) == 1, "ue: BROADCAST_ERROR lost");
	CHECK(get_opt(ue, SOL_SOCKET, SO_PASSCRED) == 1, "ue: SO_PASSCRED lost");
	CHECK(get_opt(ue, SOL_SOCKET, SO_LOCK_FILTER) == 1, "ue: SO_LOCK_FILTER lost");
	len = 4;
	CHECK(!getsockopt(ue, SOL_SOCKET, SO_GET_FILTER, got, &len) && len == 2 &&
		      !memcmp(got, ue_insns, sizeof(ue_insns)),
	      "ue: socket filter of %u instructions, not ours", (unsigned)len);
	CHECK(get_opt(ue, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID) == 1, "ue: LISTEN_ALL_NSID lost");
	CHECK(get_opt(ue, SOL_NETLINK, NETLINK_EXT_ACK) == 0, "ue: EXT_ACK set");
	CHECK(!fstat(ue, &st) && st.st_uid == UE_UID && st.st_gid == UE_GID,
	      "ue: inode owned by %u/%u, not %u/%u", (unsigned)st.st_uid, (unsigned)st.st_gid,
	      UE_UID, UE_GID);

	CHECK(port_of(idle) == 0, "idle: bound to %u", port_of(idle));
	CHECK(groups_of(idle) == 0, "idle: in groups");

	send_getlink(rt, 4242);
	r = read_getlink(rt, 4242, rt_port);
	CHECK(r == 1, "rt: RTM_GETLINK answer %s", r < 0 ? "missing or an error" : "lists no lo");
}

/* A socket of protocol NETLINK_ROUTE with an eBPF filter (r0 = 0; exit). */
static int ebpf_socket(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	int q = nl_socket(SOCK_RAW, NETLINK_ROUTE), prog;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uintptr_t) "GPL";
	prog = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (prog < 0)
		prog_fail("BPF_PROG_LOAD: %s", strerror(errno));
	set_opt(q, SOL_SOCKET, SO_ATTACH_BPF, prog);
	close(prog);
	return q;
}

/* A NETLINK_ROUTE socket of a new network namespace, ours kept. */
static int netns_socket(void)
{
	int ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), q;

	if (ours < 0 || unshare(CLONE_NEWNET))
		prog_fail("unshare(CLONE_NEWNET): %s", strerror(errno));
	q = nl_socket(SOCK_RAW, NETLINK_ROUTE);
	if (setns(ours, CLONE_NEWNET))
		prog_fail("setns back: %s", strerror(errno));
	close(ours);
	return q;
}

int main(int argc, char **argv)
{
	int q;

	prog_init(argc, argv, "netlinksk");
	setup();
	if (argc > 2 && !strcmp(argv[2], "queued")) {
		q = nl_socket(SOCK_RAW, NETLINK_ROUTE);
		send_getlink(q, 1);
	}
	if (argc > 2 && !strcmp(argv[2], "ebpf"))
		q = ebpf_socket();
	if (argc > 2 && !strcmp(argv[2], "netns"))
		q = netns_socket();
	if (argc > 2 && !strcmp(argv[2], "stamp")) {
		q = nl_socket(SOCK_RAW, NETLINK_ROUTE);
		set_opt(q, SOL_SOCKET, SO_TIMESTAMP, 1);
	}
	prog_ready();
	wait_go_draining();
	check();
	prog_finish();
}
