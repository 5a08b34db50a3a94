/*
 * packetsk: simple packet sockets restored bound to their interface and
 * ethertype with their options, and still capturing.  Run in a network
 * namespace with only lo (t-packetsk.sh makes one), so nothing else is
 * captured.
 *
 *   pk    AF_PACKET SOCK_DGRAM bound to lo and ETH_P_IP, PACKET_AUXDATA on,
 *         SO_RCVBUF 300000, O_NONBLOCK
 *   raw   AF_PACKET SOCK_RAW, protocol 0, not bound (captures nothing)
 *
 * After "go": addresses and options read back, then a UDP datagram sent on
 * lo is captured by pk (its IP packet, with the datagram's bytes in it).
 *
 * "packetsk OUT ring": also holds q with a PACKET_RX_RING: refused.
 * "packetsk OUT fanout": also holds q in a fanout group: refused.
 * "packetsk OUT member": also holds q with a promiscuous membership: refused.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include "prog.h"

static int pk, raw, lo_ix;

static int mk(int type, int proto)
{
	int fd = socket(AF_PACKET, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		prog_fail("socket(AF_PACKET): %s", strerror(errno));
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

static void refused(const char *how)
{
	int q = mk(SOCK_RAW, htons(ETH_P_ALL));

	if (!strcmp(how, "ring")) {
		struct tpacket_req req = { 4096, 4, 2048, 8 };

		if (setsockopt(q, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
			prog_fail("PACKET_RX_RING: %s", strerror(errno));
	} else if (!strcmp(how, "fanout")) {
		setopt(q, SOL_PACKET, PACKET_FANOUT, 7 | PACKET_FANOUT_HASH << 16);
	} else if (!strcmp(how, "member")) {
		struct packet_mreq mr = { .mr_ifindex = lo_ix, .mr_type = PACKET_MR_PROMISC };

		if (setsockopt(q, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
			prog_fail("PACKET_ADD_MEMBERSHIP: %s", strerror(errno));
	}
}

static void check(void)
{
	struct sockaddr_ll sa;
	socklen_t len = sizeof(sa);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd pf = { 0, POLLIN, 0 };
	char buf[2048];
	bool seen = false;
	ssize_t r;
	int u, i;

	CHECK(!getsockname(pk, (struct sockaddr *)&sa, &len) && sa.sll_ifindex == lo_ix &&
		      sa.sll_protocol == htons(ETH_P_IP),
	      "pk: bound to ifindex %d protocol %#x", sa.sll_ifindex, ntohs(sa.sll_protocol));
	len = sizeof(sa);
	CHECK(!getsockname(raw, (struct sockaddr *)&sa, &len) && sa.sll_ifindex == 0 &&
		      sa.sll_protocol == 0,
	      "raw: bound to ifindex %d protocol %#x", sa.sll_ifindex, ntohs(sa.sll_protocol));
	CHECK(getopt_int(pk, SOL_PACKET, PACKET_AUXDATA) == 1, "pk: PACKET_AUXDATA");
	CHECK(getopt_int(pk, SOL_SOCKET, SO_RCVBUF) == 600000, "pk: SO_RCVBUF %d",
	      getopt_int(pk, SOL_SOCKET, SO_RCVBUF));
	CHECK(getopt_int(pk, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM, "pk: type");
	CHECK(fcntl(pk, F_GETFL) & O_NONBLOCK, "pk: O_NONBLOCK");
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0 || sendto(u, "captured!", 9, 0, (struct sockaddr *)&to, sizeof(to)) != 9)
		prog_fail("send: %s", strerror(errno));
	pf.fd = pk;
	for (i = 0; i < 4 && !seen && poll(&pf, 1, 1000) == 1; i++) {
		r = recv(pk, buf, sizeof(buf), 0);
		seen = r >= 28 + 9 && !memcmp(buf + 28, "captured!", 9);
	}
	CHECK(seen, "pk: the datagram sent on lo was not captured");
	pf.fd = raw;
	CHECK(poll(&pf, 1, 100) == 0, "raw: captured something while bound to nothing");
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	char buf[2048];

	prog_init(argc, argv, "packetsk");
	lo_ix = (int)if_nametoindex("lo");
	pk = mk(SOCK_DGRAM, 0);
	setopt(pk, SOL_PACKET, PACKET_AUXDATA, 1);
	setopt(pk, SOL_SOCKET, SO_RCVBUF, 300000);
	sa.sll_ifindex = lo_ix;
	if (bind(pk, (struct sockaddr *)&sa, sizeof(sa)))
		prog_fail("bind: %s", strerror(errno));
	fcntl(pk, F_SETFL, O_NONBLOCK);
	raw = mk(SOCK_RAW, 0);
	if (argc > 2)
		refused(argv[2]);
	usleep(50000);
	while (recv(pk, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	prog_ready();
	prog_wait_go();
	check();
	prog_finish();
}
