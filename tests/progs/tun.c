/*
 * tun: tun/tap queues restored attached, with their settings, and still
 * moving packets.  Run in a network namespace of its own (t-tun.sh).
 *
 *   tun   vxtun0: IFF_TUN | IFF_NO_PI, not persistent, 10.77.0.1/24, up;
 *         TUNSETSNDBUF 123456, O_NONBLOCK
 *   tapa, tapb  vxtap0: IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR,
 *         two queues, not persistent, MAC 02:00:00:aa:bb:cc, MTU 1400, up;
 *         TUNSETVNETHDRSZ 12, TUNSETVNETLE 1 on the link; a child
 *         process (forked after) shares the descriptions
 *
 * After "go": each fd still a queue of its link with the same flags, send
 * buffer, vnet header size and file flags; then an IPv4 UDP datagram
 * 10.77.0.2:4000 -> 10.77.0.1:5000 written into the tun fd reaches a UDP
 * socket bound to 10.77.0.1:5000 in the namespace, and an ICMP echo
 * request 10.77.0.2 -> 10.77.0.1 written there is answered into the tun fd.
 *
 * "tun OUT host": only the tun fd (the test runs it in the namespace of
 * vxdump: the host case).  "tun OUT hostp": the same, vxtun0 a persistent
 * link with its address already.
 * "tun OUT filter": also holds a tap with a socket filter: refused.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include "prog.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR)

static int tun = -1, tapa = -1, tapb = -1;
static pid_t child = -1;
static bool persist; /* "hostp": vxtun0 is a persistent link of the host */

static int open_tun(const char *name, int flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		prog_fail("open /dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr))
		prog_fail("TUNSETIFF %s: %s", name, strerror(errno));
	return fd;
}

static void sh(const char *cmd)
{
	if (system(cmd))
		prog_fail("%s failed", cmd);
}

static void setup(const char *how)
{
	int v;

	tun = open_tun("vxtun0", IFF_TUN | IFF_NO_PI);
	v = 123456;
	if (ioctl(tun, TUNSETSNDBUF, &v))
		prog_fail("TUNSETSNDBUF: %s", strerror(errno));
	fcntl(tun, F_SETFL, fcntl(tun, F_GETFL) | O_NONBLOCK);
	persist = !strcmp(how, "hostp");
	if (!persist)
		sh("ip addr add 10.77.0.1/24 dev vxtun0");
	sh("ip link set vxtun0 up");
	if (!strncmp(how, "host", 4))
		return;
	tapa = open_tun("vxtap0", TAP_FLAGS);
	tapb = open_tun("vxtap0", TAP_FLAGS);
	v = 12;
	if (ioctl(tapa, TUNSETVNETHDRSZ, &v))
		prog_fail("TUNSETVNETHDRSZ: %s", strerror(errno));
	v = 1;
	if (ioctl(tapb, TUNSETVNETLE, &v))
		prog_fail("TUNSETVNETLE: %s", strerror(errno));
	/* a child shares tapb's description (and everything else) */
	child = fork();
	if (child < 0)
		prog_fail("fork: %s", strerror(errno));
	if (!child) {
		for (;;)
			pause();
	}
	sh("ip link set vxtap0 address 02:00:00:aa:bb:cc mtu 1400 && ip link set vxtap0 up");
	if (!strcmp(how, "filter")) {
		static struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0xffff) };
		struct sock_fprog prog = { 1, code };
		int f = open_tun("vxflt0", IFF_TAP | IFF_NO_PI);

		if (ioctl(f, TUNATTACHFILTER, &prog))
			prog_fail("TUNATTACHFILTER: %s", strerror(errno));
	}
}

/* fd still a queue of name with flags, sndbuf, header size, fl. */
static void check_queue(int fd, const char *name, int flags, int sndbuf, int hdr, int fl)
{
	struct ifreq ifr = { 0 };
	int sb = 0, h = 0;

	CHECK(!ioctl(fd, TUNGETIFF, &ifr), "%s: TUNGETIFF: %s", name, strerror(errno));
	CHECK(!strcmp(ifr.ifr_name, name), "fd of %s is attached to %s", name, ifr.ifr_name);
	/* 0x1000 is IFF_NO_PI or IFF_NOFILTER: pi is compared by t-tun.sh (ip -d) */
	CHECK((ifr.ifr_flags & ~(IFF_NO_PI | IFF_PERSIST)) == (flags & ~IFF_NO_PI),
	      "%s: flags %#x, want %#x", name, ifr.ifr_flags, flags);
	CHECK(!(ifr.ifr_flags & IFF_PERSIST) == !persist, "%s: persist %d after restore", name,
	      !!(ifr.ifr_flags & IFF_PERSIST));
	CHECK(!ioctl(fd, TUNGETSNDBUF, &sb) && sb == sndbuf, "%s: sndbuf %d, want %d", name, sb,
	      sndbuf);
	CHECK(!ioctl(fd, TUNGETVNETHDRSZ, &h) && h == hdr, "%s: vnet hdr %d, want %d", name, h,
	      hdr);
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == fl, "%s: O_NONBLOCK %#x, want %#x", name,
	      fcntl(fd, F_GETFL) & O_NONBLOCK, fl);
}

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s & 0xffff);
}

/* An IPv4 packet of proto with payload (len bytes) 10.77.0.2 -> .1 in buf. */
static size_t ip_packet(uint8_t *buf, int proto, const void *payload, size_t len)
{
	struct iphdr *ip = (struct iphdr *)buf;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->tot_len = htons(sizeof(*ip) + len);
	ip->saddr = inet_addr("10.77.0.2");
	ip->daddr = inet_addr("10.77.0.1");
	ip->check = csum(ip, sizeof(*ip));
	memcpy(buf + sizeof(*ip), payload, len);
	return sizeof(*ip) + len;
}

/* A UDP datagram written into the tun fd reaches a socket here. */
static void check_udp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5000) };
	uint8_t pkt[128], msg[sizeof(struct udphdr) + 5];
	struct udphdr *u = (struct udphdr *)msg;
	struct pollfd pf;
	char got[16] = "";
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	size_t n;

	a.sin_addr.s_addr = inet_addr("10.77.0.1");
	CHECK(s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)), "bind 10.77.0.1:5000: %s",
	      strerror(errno));
	u->source = htons(4000);
	u->dest = htons(5000);
	u->len = htons(sizeof(msg));
	u->check = 0; /* none: allowed for IPv4 */
	memcpy(msg + sizeof(*u), "hello", 5);
	n = ip_packet(pkt, IPPROTO_UDP, msg, sizeof(msg));
	CHECK(write(tun, pkt, n) == (ssize_t)n, "write into the tun fd: %s", strerror(errno));
	pf = (struct pollfd){ s, POLLIN, 0 };
	CHECK(poll(&pf, 1, 3000) == 1, "the datagram written into the tun fd did not arrive");
	CHECK(recv(s, got, sizeof(got) - 1, MSG_DONTWAIT) == 5 && !strcmp(got, "hello"),
	      "got \"%s\" instead of hello", got);
	close(s);
}

/* An ICMP echo request written into the tun fd is answered into it. */
static void check_ping(void)
{
	uint8_t pkt[128], buf[2048];
	struct icmphdr ic = { .type = ICMP_ECHO };
	struct pollfd pf = { tun, POLLIN, 0 };
	size_t n;
	ssize_t r;

	ic.un.echo.id = htons(0x4242);
	ic.un.echo.sequence = htons(7);
	ic.checksum = csum(&ic, sizeof(ic));
	n = ip_packet(pkt, IPPROTO_ICMP, &ic, sizeof(ic));
	CHECK(write(tun, pkt, n) == (ssize_t)n, "write an echo request: %s", strerror(errno));
	for (int i = 0; i < 20; i++) {
		if (poll(&pf, 1, 3000) != 1)
			break;
		r = read(tun, buf, sizeof(buf));
		if (r >= 28 && buf[9] == IPPROTO_ICMP && buf[20] == ICMP_ECHOREPLY &&
		    buf[24] == 0x42 && buf[25] == 0x42) {
			prog_say("echo reply read back from the tun fd\n");
			return;
		}
	}
	CHECK(0, "no echo reply came out of the tun fd");
}

int main(int argc, char **argv)
{
	const char *how = argc > 2 ? argv[2] : "";

	prog_init(argc, argv, "tun");
	setup(how);
	prog_ready();
	prog_wait_go();
	check_queue(tun, "vxtun0", IFF_TUN | IFF_NO_PI, 123456, 10, O_NONBLOCK);
	if (tapa >= 0) {
		int le = 0;

		check_queue(tapa, "vxtap0", TAP_FLAGS, INT32_MAX, 12, 0);
		check_queue(tapb, "vxtap0", TAP_FLAGS, INT32_MAX, 12, 0);
		CHECK(!ioctl(tapb, TUNGETVNETLE, &le) && le == 1, "vxtap0: vnet le %d", le);
		CHECK(kill(child, 0) == 0, "the child sharing vxtap0's queue is gone");
		kill(child, SIGKILL);
	}
	check_udp();
	check_ping();
	prog_finish();
}
