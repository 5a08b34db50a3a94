/*
 * inetdg-ping: ICMP echo ("ping") sockets and raw IP sockets restored
 * with their identifiers, filters and options, and still working.  Run in
 * a network namespace whose net.ipv4.ping_group_range admits its gid
 * (t-inetdg-ping.sh makes one).
 *
 *   p4    AF_INET SOCK_DGRAM IPPROTO_ICMP, one echo answered before the
 *         dump (its identifier chosen by the kernel then), IP_TTL 40,
 *         IP_RECVERR
 *   p6    AF_INET6 SOCK_DGRAM IPPROTO_ICMPV6, likewise
 *   r4    AF_INET SOCK_RAW IPPROTO_ICMP with an ICMP_FILTER passing echo
 *         replies only
 *   r6    AF_INET6 SOCK_RAW IPPROTO_ICMPV6 with an ICMP6_FILTER passing
 *         echo replies only
 *   rx    AF_INET SOCK_RAW protocol 253 bound to 127.0.0.1, IP_HDRINCL off,
 *         IP_TOS 0x28
 *
 * After "go": identifiers, filters and options read back; a new echo on
 * p4 and p6 is answered with the same identifier; r4 and r6 see the
 * replies and not the requests; rx receives what it sends itself.
 *
 * "inetdg-ping OUT queued": an echo reply is left unread on p4: the dump
 * must refuse it.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include "prog.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER 1 /* linux/icmp.h's; it clashes with netinet/ip_icmp.h */
struct icmp_filter {
	uint32_t data;
};
#endif

static int p4, p6, r4, r6, rx;
static unsigned int id4, id6;

static int mk(int fam, int type, int proto)
{
	int fd = socket(fam, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		prog_fail("socket(%d, %d, %d): %s", fam, type, proto, strerror(errno));
	return fd;
}

static void setopt(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		prog_fail("setsockopt %d/%d: %s", level, name, strerror(errno));
}

static int getopt_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) ? -12345 : v;
}

/* Sends an echo request with sequence seq on ping socket fd. */
static void echo(int fd, int fam, int seq)
{
	struct sockaddr_storage ss = { 0 };
	struct icmphdr h = { .type = fam == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST };
	socklen_t len;

	h.un.echo.sequence = htons(seq);
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&ss, len) != sizeof(h))
		prog_fail("echo: %s", strerror(errno));
}

/* Waits for one packet on fd; its length or -1. */
static ssize_t wait_recv(int fd, void *buf, size_t len)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	if (poll(&pf, 1, 2000) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* The ping socket's identifier (getsockname's port). */
static unsigned int ident(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) :
					 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Reads the reply to seq on ping socket fd; checks its id and sequence. */
static void expect_reply(int fd, const char *what, int seq, unsigned int id)
{
	struct icmphdr h;
	ssize_t r = wait_recv(fd, &h, sizeof(h));

	if (r < (ssize_t)sizeof(h)) {
		prog_record_failure("%s: no echo reply: %s", what, strerror(errno));
		return;
	}
	CHECK(ntohs(h.un.echo.sequence) == seq, "%s: reply to sequence %d", what,
	      ntohs(h.un.echo.sequence));
	CHECK(ntohs(h.un.echo.id) == id, "%s: reply with id %u, expected %u", what,
	      ntohs(h.un.echo.id), id);
}

static void drain(int fd)
{
	char buf[2048];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static void setup(void)
{
	struct icmp_filter f4 = { ~(1U << ICMP_ECHOREPLY) };
	struct icmp6_filter f6;
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	p4 = mk(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	setopt(p4, SOL_IP, IP_TTL, 40);
	setopt(p4, SOL_IP, IP_RECVERR, 1);
	p6 = mk(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	r4 = mk(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (setsockopt(r4, SOL_RAW, ICMP_FILTER, &f4, sizeof(f4)))
		prog_fail("ICMP_FILTER: %s", strerror(errno));
	r6 = mk(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
	if (setsockopt(r6, SOL_ICMPV6, ICMP6_FILTER, &f6, sizeof(f6)))
		prog_fail("ICMP6_FILTER: %s", strerror(errno));
	rx = mk(AF_INET, SOCK_RAW, 253);
	if (bind(rx, (struct sockaddr *)&lo, sizeof(lo)))
		prog_fail("bind rx: %s", strerror(errno));
	setopt(rx, SOL_IP, IP_TOS, 0x28);
	echo(p4, AF_INET, 1);
	echo(p6, AF_INET6, 1);
	id4 = ident(p4);
	id6 = ident(p6);
	expect_reply(p4, "p4 before", 1, id4);
	expect_reply(p6, "p6 before", 1, id6);
	usleep(100000);
	drain(r4);
	drain(r6);
}

static void check(void)
{
	struct icmp_filter f4 = { 0 };
	struct icmp6_filter f6;
	socklen_t len = sizeof(f4);
	char buf[2048];
	ssize_t r;

	CHECK(ident(p4) == id4, "p4: identifier %u, was %u", ident(p4), id4);
	CHECK(ident(p6) == id6, "p6: identifier %u, was %u", ident(p6), id6);
	CHECK(getopt_int(p4, SOL_IP, IP_TTL) == 40, "p4: IP_TTL");
	CHECK(getopt_int(p4, SOL_IP, IP_RECVERR) == 1, "p4: IP_RECVERR");
	CHECK(!getsockopt(r4, SOL_RAW, ICMP_FILTER, &f4, &len) &&
		      f4.data == ~(1U << ICMP_ECHOREPLY),
	      "r4: ICMP_FILTER %#x", f4.data);
	len = sizeof(f6);
	CHECK(!getsockopt(r6, SOL_ICMPV6, ICMP6_FILTER, &f6, &len) &&
		      ICMP6_FILTER_WILLPASS(ICMP6_ECHO_REPLY, &f6) &&
		      ICMP6_FILTER_WILLBLOCK(ICMP6_ECHO_REQUEST, &f6),
	      "r6: ICMP6_FILTER");
	CHECK(getopt_int(rx, SOL_IP, IP_TOS) == 0x28, "rx: IP_TOS");
	CHECK(getopt_int(rx, SOL_IP, IP_HDRINCL) == 0, "rx: IP_HDRINCL");
	echo(p4, AF_INET, 2);
	expect_reply(p4, "p4 after", 2, id4);
	echo(p6, AF_INET6, 2);
	expect_reply(p6, "p6 after", 2, id6);
	/* r4 gets the whole IPv4 packet: a 20-byte header, then the reply */
	r = wait_recv(r4, buf, sizeof(buf));
	CHECK(r >= 28 && buf[20] == ICMP_ECHOREPLY, "r4: no echo reply seen (%zd bytes, type %d)",
	      r, r >= 28 ? buf[20] : -1);
	r = wait_recv(r6, buf, sizeof(buf));
	CHECK(r >= 8 && (uint8_t)buf[0] == ICMP6_ECHO_REPLY, "r6: no echo reply seen");
	{
		struct sockaddr_in lo = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		CHECK(sendto(rx, "raw253", 6, 0, (struct sockaddr *)&lo, sizeof(lo)) == 6,
		      "rx: send: %s", strerror(errno));
		r = wait_recv(rx, buf, sizeof(buf));
		CHECK(r == 26 && !memcmp(buf + 20, "raw253", 6), "rx: got %zd bytes", r);
	}
}

int main(int argc, char **argv)
{
	prog_init(argc, argv, "inetdg-ping");
	setup();
	if (argc > 2 && !strcmp(argv[2], "queued")) {
		echo(p4, AF_INET, 9);
		usleep(100000);
		drain(r4); /* only p4 holds something */
	}
	prog_ready();
	prog_wait_go();
	check();
	prog_finish();
}
