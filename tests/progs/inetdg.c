/*
 * inetdg: UDP sockets (IPv4 and IPv6) restored bound, connected, with
 * their options and their queued datagrams, each from its own source.
 *
 *   s4    AF_INET, bound to 127.0.0.1:port; IP_TOS 0x10, IP_TTL 33,
 *         IP_RECVTTL, IP_PKTINFO, IP_MULTICAST_TTL 5, IP_MULTICAST_LOOP 0,
 *         IP_RECVERR, SO_REUSEADDR, SO_RCVBUF 100000, SO_PEEK_OFF 0 with
 *         2 bytes of the first datagram peeked already (offset 2);
 *         queued: 4 datagrams from a (127.0.0.1, TTL 17), b (127.0.0.2),
 *         a again (empty) and c (unbound: its autobound port)
 *   s6    AF_INET6, bound to [::]:port, dual stack; IPV6_RECVPKTINFO,
 *         IPV6_UNICAST_HOPS 7, IPV6_TCLASS 0x20, IPV6_RECVHOPLIMIT; its
 *         IPv4 side a member of 239.7.7.9 on lo;
 *         queued: from d6 ([::1]) and from a (an IPv4 sender: ::ffff:...)
 *   o6    AF_INET6 bound to [::1]:port with IPV6_V6ONLY
 *   c4    AF_INET connected to a's address, bound 127.0.0.1:port;
 *         queued: one datagram from a, and one from b sent before it
 *         connected (a connected socket would drop it now)
 *   m4    AF_INET, bound to 0.0.0.0:port, member of 239.7.7.7 on lo,
 *         IP_MULTICAST_IF 127.0.0.1, SO_BINDTODEVICE lo, UDP_SEGMENT 1000
 *   lite  UDP-Lite bound, UDPLITE_SEND_CSCOV 20
 *
 * After "go" each socket's address, peer and options are read back, each
 * queued datagram is received with its source (and for s4 its TTL and
 * destination, for s6 its destination), then new datagrams are sent and
 * received (after restore: s4 from c, c4 from a, s6 from d6, m4 through
 * its group).
 *
 * "inetdg OUT corked": also holds k, a UDP socket with UDP_CORK and 10
 * bytes written: the dump must refuse it (data being sent).
 * "inetdg OUT srcfilter": also holds f, joined to 239.7.7.8 from one
 * source only: refused.
 * "inetdg OUT error": also holds a UDP socket connected to a closed port
 * after a send (ECONNREFUSED pending): refused.
 * "inetdg OUT reuseport": also holds a SO_REUSEPORT socket with a datagram
 * queued: refused.
 * "inetdg OUT netns": also holds a UDP socket made in a network namespace
 * of its own (unshare, then back to ours): refused.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <stdbool.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include "prog.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#endif

static int s4, s6, o6, c4, m4, lite, a, b, c, d6;

static int mk(int fam, int proto)
{
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, proto);

	if (fd < 0)
		prog_fail("socket(%d, %d): %s", fam, proto, strerror(errno));
	return fd;
}

static void setopt(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		prog_fail("setsockopt %d/%d = %d: %s", level, name, v, strerror(errno));
}

static int getopt_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len))
		return -12345;
	return v;
}

static void bind4(int fd, const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("bind %s:%d: %s", ip, port, strerror(errno));
}

static void bind6(int fd, const char *ip)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET6, ip, &sa.sin6_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("bind [%s]: %s", ip, strerror(errno));
}

/* getsockname as "ip:port" text. */
static const char *name_of(int fd, bool peer, char *buf)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";

	if (peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		   getsockname(fd, (struct sockaddr *)&ss, &len)) {
		snprintf(buf, 80, "error %d", errno);
		return buf;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, 80, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, 80, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return buf;
}

static struct sockaddr_storage addr_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		prog_fail("getsockname: %s", strerror(errno));
	return ss;
}

/* Sends text from fd to the address of to (a v4 address given as IPv4). */
static void send_to(int fd, int to, const char *text, const char *ip)
{
	struct sockaddr_storage ss = addr_of(to);
	socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6);

	if (ip && ss.ss_family == AF_INET)
		inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
	else if (ip)
		inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (ip && ss.ss_family == AF_INET6 && strchr(ip, '.')) { /* v4 sender to a v6 socket */
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port };

		inet_pton(AF_INET, ip, &in.sin_addr);
		memcpy(&ss, &in, sizeof(in));
		len = sizeof(in);
	}
	if (sendto(fd, text, strlen(text), 0, (struct sockaddr *)&ss, len) != (ssize_t)strlen(text))
		prog_fail("sendto: %s", strerror(errno));
}

/* Source of a datagram as text, like name_of. */
static const char *ss_str(const struct sockaddr_storage *ss, char *buf)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, 80, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, 80, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return buf;
}

/* Receives one datagram on fd: checks its text and source; *ttl, *dst from cmsgs. */
static void expect(int fd, const char *what, const char *text, const char *src, int *ttl,
		   char *dst)
{
	union {
		char b[512];
		struct cmsghdr al;
	} ctl;
	char buf[256], got[80];
	struct sockaddr_storage ss;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { &ss, sizeof(ss), &iov, 1, ctl.b, sizeof(ctl.b), 0 };
	struct cmsghdr *cm;
	ssize_t r;

	r = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (r < 0) {
		prog_record_failure("%s: no datagram \"%s\": %s", what, text, strerror(errno));
		return;
	}
	buf[r] = '\0';
	CHECK(!strcmp(buf, text), "%s: got \"%s\", expected \"%s\"", what, buf, text);
	CHECK(!strcmp(ss_str(&ss, got), src), "%s: \"%s\" from %s, expected %s", what, text, got,
	      src);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (ttl && cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TTL)
			memcpy(ttl, CMSG_DATA(cm), sizeof(int));
		if (dst && cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_addr, dst, 64);
		}
		if (dst && cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			inet_ntop(AF_INET6, &pi.ipi6_addr, dst, 64);
		}
	}
}

static void settle(void)
{
	usleep(50000);
}

static void setup_s4(void)
{
	char b2[2];
	int off = 0;

	s4 = mk(AF_INET, 0);
	setopt(s4, SOL_SOCKET, SO_REUSEADDR, 1);
	setopt(s4, SOL_SOCKET, SO_RCVBUF, 100000);
	bind4(s4, "127.0.0.1", 0);
	setopt(s4, SOL_IP, IP_TOS, 0x10);
	setopt(s4, SOL_IP, IP_TTL, 33);
	setopt(s4, SOL_IP, IP_RECVTTL, 1);
	setopt(s4, SOL_IP, IP_PKTINFO, 1);
	setopt(s4, SOL_IP, IP_MULTICAST_TTL, 5);
	setopt(s4, SOL_IP, IP_MULTICAST_LOOP, 0);
	setopt(s4, SOL_IP, IP_RECVERR, 1);
	a = mk(AF_INET, 0);
	bind4(a, "127.0.0.1", 0);
	setopt(a, SOL_IP, IP_TTL, 17);
	b = mk(AF_INET, 0);
	bind4(b, "127.0.0.2", 0);
	c = mk(AF_INET, 0);
	send_to(a, s4, "one from a", NULL);
	send_to(b, s4, "two from b", NULL);
	send_to(a, s4, "", NULL);
	send_to(c, s4, "four from c", NULL);
	settle();
	setopt(s4, SOL_SOCKET, SO_PEEK_OFF, 0);
	if (recv(s4, b2, 2, MSG_PEEK) != 2)
		prog_fail("peek 2 bytes: %s", strerror(errno));
	off = getopt_int(s4, SOL_SOCKET, SO_PEEK_OFF);
	if (off != 2)
		prog_fail("SO_PEEK_OFF after a peek of 2: %d", off);
}

static void setup_s6(void)
{
	s6 = mk(AF_INET6, 0);
	setopt(s6, SOL_IPV6, IPV6_V6ONLY, 0);
	bind6(s6, "::");
	setopt(s6, SOL_IPV6, IPV6_RECVPKTINFO, 1);
	setopt(s6, SOL_IPV6, IPV6_UNICAST_HOPS, 7);
	setopt(s6, SOL_IPV6, IPV6_TCLASS, 0x20);
	setopt(s6, SOL_IPV6, IPV6_RECVHOPLIMIT, 1);
	d6 = mk(AF_INET6, 0);
	bind6(d6, "::1");
	send_to(d6, s6, "six from d6", "::1");
	send_to(a, s6, "seven from a", "127.0.0.1");
	{
		struct ip_mreqn mr = { .imr_ifindex = (int)if_nametoindex("lo") };

		inet_pton(AF_INET, "239.7.7.9", &mr.imr_multiaddr);
		if (setsockopt(s6, SOL_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)))
			prog_fail("IPv4 group on s6: %s", strerror(errno));
	}
	o6 = mk(AF_INET6, 0);
	setopt(o6, SOL_IPV6, IPV6_V6ONLY, 1);
	bind6(o6, "::1");
}

static void setup_c4(void)
{
	struct sockaddr_storage ss;

	c4 = mk(AF_INET, 0);
	bind4(c4, "127.0.0.1", 0);
	send_to(b, c4, "before connect from b", NULL);
	settle();
	ss = addr_of(a);
	if (connect(c4, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)))
		prog_fail("connect: %s", strerror(errno));
	send_to(a, c4, "after connect from a", NULL);
}

static void setup_m4(void)
{
	struct ip_mreqn mr = { .imr_ifindex = (int)if_nametoindex("lo") };
	struct in_addr lo;

	m4 = mk(AF_INET, 0);
	setopt(m4, SOL_SOCKET, SO_REUSEADDR, 1);
	if (setsockopt(m4, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2))
		prog_fail("SO_BINDTODEVICE: %s", strerror(errno));
	bind4(m4, "0.0.0.0", 0);
	inet_pton(AF_INET, "239.7.7.7", &mr.imr_multiaddr);
	if (setsockopt(m4, SOL_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		prog_fail("IP_ADD_MEMBERSHIP: %s", strerror(errno));
	inet_pton(AF_INET, "127.0.0.1", &lo);
	if (setsockopt(m4, SOL_IP, IP_MULTICAST_IF, &lo, sizeof(lo)))
		prog_fail("IP_MULTICAST_IF: %s", strerror(errno));
	setopt(m4, SOL_UDP, UDP_SEGMENT, 1000);
	lite = mk(AF_INET, IPPROTO_UDPLITE);
	bind4(lite, "127.0.0.1", 0);
	setopt(lite, SOL_UDPLITE, UDPLITE_SEND_CSCOV, 20);
}

/* "corked" and "srcfilter": a socket the dump must refuse. */
static void setup_refused(const char *how)
{
	if (!strcmp(how, "corked")) {
		int k = mk(AF_INET, 0);

		setopt(k, SOL_UDP, UDP_CORK, 1);
		send_to(k, s4, "0123456789", NULL);
	} else if (!strcmp(how, "error")) {
		int gone = mk(AF_INET, 0), e = mk(AF_INET, 0);
		struct sockaddr_storage ss;

		bind4(gone, "127.0.0.1", 0);
		ss = addr_of(gone);
		close(gone); /* a closed port: the kernel answers port unreachable */
		if (connect(e, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)) ||
		    send(e, "x", 1, 0) != 1)
			prog_fail("send to a closed port: %s", strerror(errno));
	} else if (!strcmp(how, "reuseport")) {
		int rp = mk(AF_INET, 0);

		setopt(rp, SOL_SOCKET, SO_REUSEPORT, 1);
		bind4(rp, "127.0.0.1", 0);
		send_to(a, rp, "to a reuseport socket", NULL);
	} else if (!strcmp(how, "netns")) {
		int ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

		if (ours < 0 || unshare(CLONE_NEWNET))
			prog_fail("unshare(CLONE_NEWNET): %s", strerror(errno));
		mk(AF_INET, 0);
		if (setns(ours, CLONE_NEWNET))
			prog_fail("setns back: %s", strerror(errno));
		close(ours);
	} else if (!strcmp(how, "srcfilter")) {
		int f = mk(AF_INET, 0);
		struct ip_mreq_source ms;

		bind4(f, "0.0.0.0", 0);
		memset(&ms, 0, sizeof(ms));
		inet_pton(AF_INET, "239.7.7.8", &ms.imr_multiaddr);
		inet_pton(AF_INET, "127.0.0.1", &ms.imr_interface);
		inet_pton(AF_INET, "127.0.0.9", &ms.imr_sourceaddr);
		if (setsockopt(f, SOL_IP, IP_ADD_SOURCE_MEMBERSHIP, &ms, sizeof(ms)))
			prog_fail("IP_ADD_SOURCE_MEMBERSHIP: %s", strerror(errno));
	}
}

static char names[8][80], peer_c4[80];

static void remember(void)
{
	int fds[] = { s4, s6, o6, c4, m4, lite, a, b };
	size_t i;

	for (i = 0; i < 8; i++)
		name_of(fds[i], false, names[i]);
	name_of(c4, true, peer_c4);
}

static void check_names(void)
{
	int fds[] = { s4, s6, o6, c4, m4, lite, a, b };
	char now[80];
	size_t i;

	for (i = 0; i < 8; i++)
		CHECK(!strcmp(name_of(fds[i], false, now), names[i]),
		      "socket %zu: bound to %s, was %s", i, now, names[i]);
	CHECK(!strcmp(name_of(c4, true, now), peer_c4), "c4: peer %s, was %s", now, peer_c4);
}

/* Is fd a member of IPv4 group g on lo (MCAST_MSFILTER at SOL_IP)? */
static bool member4(int fd, const char *g)
{
	union {
		struct group_filter gf;
		char b[sizeof(struct group_filter) + sizeof(struct sockaddr_storage)];
	} u;
	socklen_t len = sizeof(u);

	memset(&u, 0, sizeof(u));
	u.gf.gf_interface = if_nametoindex("lo");
	u.gf.gf_group.ss_family = AF_INET;
	inet_pton(AF_INET, g, &((struct sockaddr_in *)&u.gf.gf_group)->sin_addr);
	return !getsockopt(fd, SOL_IP, MCAST_MSFILTER, &u, &len);
}

static void check_opts(void)
{
	char dev[16] = "";
	socklen_t len = sizeof(dev);
	struct in_addr mif = { 0 };

	CHECK(getopt_int(s4, SOL_IP, IP_TOS) == 0x10, "s4: IP_TOS");
	CHECK(getopt_int(s4, SOL_IP, IP_TTL) == 33, "s4: IP_TTL");
	CHECK(getopt_int(s4, SOL_IP, IP_RECVTTL) == 1, "s4: IP_RECVTTL");
	CHECK(getopt_int(s4, SOL_IP, IP_PKTINFO) == 1, "s4: IP_PKTINFO");
	CHECK(getopt_int(s4, SOL_IP, IP_MULTICAST_TTL) == 5, "s4: IP_MULTICAST_TTL");
	CHECK(getopt_int(s4, SOL_IP, IP_MULTICAST_LOOP) == 0, "s4: IP_MULTICAST_LOOP");
	CHECK(getopt_int(s4, SOL_IP, IP_RECVERR) == 1, "s4: IP_RECVERR");
	CHECK(getopt_int(s4, SOL_SOCKET, SO_REUSEADDR) == 1, "s4: SO_REUSEADDR");
	CHECK(getopt_int(s4, SOL_SOCKET, SO_RCVBUF) == 200000, "s4: SO_RCVBUF %d",
	      getopt_int(s4, SOL_SOCKET, SO_RCVBUF));
	CHECK(getopt_int(s4, SOL_SOCKET, SO_PEEK_OFF) == 2, "s4: SO_PEEK_OFF %d",
	      getopt_int(s4, SOL_SOCKET, SO_PEEK_OFF));
	CHECK(getopt_int(s6, SOL_IPV6, IPV6_V6ONLY) == 0, "s6: IPV6_V6ONLY");
	CHECK(getopt_int(s6, SOL_IPV6, IPV6_RECVPKTINFO) == 1, "s6: IPV6_RECVPKTINFO");
	CHECK(getopt_int(s6, SOL_IPV6, IPV6_UNICAST_HOPS) == 7, "s6: IPV6_UNICAST_HOPS");
	CHECK(getopt_int(s6, SOL_IPV6, IPV6_TCLASS) == 0x20, "s6: IPV6_TCLASS");
	CHECK(getopt_int(o6, SOL_IPV6, IPV6_V6ONLY) == 1, "o6: IPV6_V6ONLY");
	CHECK(getopt_int(m4, SOL_UDP, UDP_SEGMENT) == 1000, "m4: UDP_SEGMENT");
	CHECK(!getsockopt(m4, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) && !strcmp(dev, "lo"),
	      "m4: SO_BINDTODEVICE \"%s\"", dev);
	len = sizeof(mif);
	CHECK(!getsockopt(m4, SOL_IP, IP_MULTICAST_IF, &mif, &len) &&
		      mif.s_addr == htonl(INADDR_LOOPBACK),
	      "m4: IP_MULTICAST_IF");
	CHECK(getopt_int(lite, SOL_UDPLITE, UDPLITE_SEND_CSCOV) == 20, "lite: UDPLITE_SEND_CSCOV");
	CHECK(member4(m4, "239.7.7.7"), "m4: not a member of 239.7.7.7");
	CHECK(member4(s6, "239.7.7.9"), "s6: not a member of 239.7.7.9 (its IPv4 side)");
	CHECK(!member4(s4, "239.7.7.7"), "s4: a member of 239.7.7.7");
}

/* The source c's datagrams carry: c is bound to 0.0.0.0 (autobound). */
static void c_source(char *buf)
{
	struct sockaddr_storage ss = addr_of(c);

	snprintf(buf, 80, "127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static void check_queues(void)
{
	char src[8][80], dst[64] = "", exp[128];
	int ttl = -1, off = -1;

	name_of(a, false, src[0]);
	name_of(b, false, src[1]);
	c_source(src[2]);
	name_of(d6, false, src[3]);
	/* s4 peeks at offset 2 first, as it did before the dump */
	{
		char pb[32] = "";

		CHECK(recv(s4, pb, sizeof(pb) - 1, MSG_PEEK | MSG_DONTWAIT) == 8 &&
			      !strcmp(pb, "e from a"),
		      "s4: peek at offset 2 gives \"%s\"", pb);
		setsockopt(s4, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	}
	expect(s4, "s4", "one from a", src[0], &ttl, dst);
	CHECK(ttl == 17, "s4: TTL of a's datagram %d, expected 17", ttl);
	CHECK(!strcmp(dst, "127.0.0.1"), "s4: destination %s", dst);
	expect(s4, "s4", "two from b", src[1], NULL, NULL);
	expect(s4, "s4", "", src[0], NULL, NULL);
	expect(s4, "s4", "four from c", src[2], NULL, NULL);
	dst[0] = '\0';
	expect(s6, "s6", "six from d6", src[3], NULL, dst);
	CHECK(!strcmp(dst, "::1"), "s6: destination %s", dst);
	snprintf(exp, sizeof(exp), "[::ffff:%s", src[0]);
	*strrchr(exp, ':') = '\0';
	snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "]%s", strrchr(src[0], ':'));
	expect(s6, "s6", "seven from a", exp, NULL, NULL);
	expect(c4, "c4", "before connect from b", src[1], NULL, NULL);
	expect(c4, "c4", "after connect from a", src[0], NULL, NULL);
}

/* Datagrams sent after restore arrive too. */
static void check_new(void)
{
	struct sockaddr_in grp = { .sin_family = AF_INET };
	char src[4][80];

	name_of(a, false, src[0]);
	c_source(src[1]);
	name_of(d6, false, src[2]);
	name_of(m4, false, src[3]);
	send_to(c, s4, "new from c", NULL);
	send_to(a, c4, "new from a", NULL);
	send_to(d6, s6, "new from d6", "::1");
	{
		struct sockaddr_storage ms = addr_of(m4);

		grp.sin_port = ((struct sockaddr_in *)&ms)->sin_port;
	}
	inet_pton(AF_INET, "239.7.7.7", &grp.sin_addr);
	if (setsockopt(a, SOL_IP, IP_MULTICAST_IF, &(struct in_addr){ htonl(INADDR_LOOPBACK) },
		       sizeof(struct in_addr)) ||
	    sendto(a, "group", 5, 0, (struct sockaddr *)&grp, sizeof(grp)) != 5)
		prog_record_failure("send to the group: %s", strerror(errno));
	settle();
	expect(s4, "s4 after", "new from c", src[1], NULL, NULL);
	expect(c4, "c4 after", "new from a", src[0], NULL, NULL);
	expect(s6, "s6 after", "new from d6", src[2], NULL, NULL);
	expect(m4, "m4 group", "group", src[0], NULL, NULL);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv, "inetdg");
	setup_s4();
	setup_s6();
	setup_c4();
	setup_m4();
	if (argc > 2)
		setup_refused(argv[2]);
	settle();
	remember();
	prog_ready();
	prog_wait_go();
	check_names();
	check_opts();
	check_queues();
	check_new();
	prog_finish();
}
