/*
 * tcpsk: TCP sockets that are not connected, restored with their state,
 * addresses and options, and still working.
 *
 *   l4    AF_INET listener on 127.0.0.1 (a free port), backlog 7,
 *         SO_REUSEADDR, TCP_DEFER_ACCEPT 5 s, TCP_FASTOPEN 16, SO_RCVBUF
 *   l6    AF_INET6 listener on [::1], backlog 128, IPV6_V6ONLY,
 *         TCP_NODELAY, SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT 60/7/3,
 *         IPV6_TCLASS 0x20
 *   any4  AF_INET listener on 0.0.0.0 with SO_REUSEPORT, O_NONBLOCK
 *   b4    AF_INET bound to 127.0.0.1, not listening: TCP_MAXSEG 1000,
 *         IP_TOS 0x10, IP_TTL 33, TCP_USER_TIMEOUT 5000, TCP_CONGESTION
 *         reno, TCP_NOTSENT_LOWAT 12345, SO_SNDBUF, O_NONBLOCK
 *   u6    AF_INET6, never bound: TCP_CORK, SO_LINGER 3 s, SO_MARK 5
 *
 * After "go" every socket's state (TCP_INFO), address and options are
 * checked, then each listener accepts a new connection that carries a
 * few bytes both ways, b4 connects from its own port to l4, and u6
 * connects to l6.
 *
 * "tcpsk OUT addr IP": also holds a listener bound to IP (an address the
 * test puts on a link of a network namespace and removes before restore).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "prog.h"

#define L4_BACKLOG 7
#define L6_BACKLOG 128

static int l4, l6, any4, b4, u6, ext = -1;
static struct sockaddr_storage a_l4, a_l6, a_any4, a_b4, a_ext;

static void set_opt(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		prog_fail("setsockopt %d/%d = %d: %s", level, name, v, strerror(errno));
}

static int get_opt(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len))
		return -12345;
	return v;
}

static int tcp_sock(int fam)
{
	int fd = socket(fam, SOCK_STREAM, IPPROTO_TCP);

	if (fd < 0)
		prog_fail("socket: %s", strerror(errno));
	return fd;
}

/* Binds fd to ip (port 0: the kernel picks) and remembers the address. */
static void bind_to(int fd, int fam, const char *ip, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)ss, len))
		prog_fail("bind %s: %s", ip, strerror(errno));
	len = sizeof(*ss);
	if (getsockname(fd, (struct sockaddr *)ss, &len))
		prog_fail("getsockname: %s", strerror(errno));
}

static void setup(void)
{
	struct linger lg = { 1, 3 };

	l4 = tcp_sock(AF_INET);
	set_opt(l4, SOL_SOCKET, SO_REUSEADDR, 1);
	set_opt(l4, SOL_SOCKET, SO_RCVBUF, 100000);
	set_opt(l4, SOL_TCP, TCP_DEFER_ACCEPT, 5);
	set_opt(l4, SOL_TCP, TCP_FASTOPEN, 16);
	bind_to(l4, AF_INET, "127.0.0.1", &a_l4);
	if (listen(l4, L4_BACKLOG))
		prog_fail("listen l4: %s", strerror(errno));

	l6 = tcp_sock(AF_INET6);
	set_opt(l6, SOL_IPV6, IPV6_V6ONLY, 1);
	set_opt(l6, SOL_TCP, TCP_NODELAY, 1);
	set_opt(l6, SOL_SOCKET, SO_KEEPALIVE, 1);
	set_opt(l6, SOL_TCP, TCP_KEEPIDLE, 60);
	set_opt(l6, SOL_TCP, TCP_KEEPINTVL, 7);
	set_opt(l6, SOL_TCP, TCP_KEEPCNT, 3);
	set_opt(l6, SOL_IPV6, IPV6_TCLASS, 0x20);
	bind_to(l6, AF_INET6, "::1", &a_l6);
	if (listen(l6, L6_BACKLOG))
		prog_fail("listen l6: %s", strerror(errno));

	any4 = tcp_sock(AF_INET);
	set_opt(any4, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(any4, AF_INET, "0.0.0.0", &a_any4);
	if (listen(any4, 5))
		prog_fail("listen any4: %s", strerror(errno));
	fcntl(any4, F_SETFL, O_NONBLOCK);

	b4 = tcp_sock(AF_INET);
	set_opt(b4, SOL_TCP, TCP_MAXSEG, 1000);
	set_opt(b4, SOL_IP, IP_TOS, 0x10);
	set_opt(b4, SOL_IP, IP_TTL, 33);
	set_opt(b4, SOL_TCP, TCP_USER_TIMEOUT, 5000);
	set_opt(b4, SOL_TCP, TCP_NOTSENT_LOWAT, 12345);
	set_opt(b4, SOL_SOCKET, SO_SNDBUF, 50000);
	if (setsockopt(b4, SOL_TCP, TCP_CONGESTION, "reno", 4))
		prog_fail("TCP_CONGESTION reno: %s", strerror(errno));
	bind_to(b4, AF_INET, "127.0.0.1", &a_b4);
	fcntl(b4, F_SETFL, O_NONBLOCK);

	u6 = tcp_sock(AF_INET6);
	set_opt(u6, SOL_TCP, TCP_CORK, 1);
	set_opt(u6, SOL_SOCKET, SO_MARK, 5);
	if (setsockopt(u6, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		prog_fail("SO_LINGER: %s", strerror(errno));
}

/* Is fd's local address the one recorded in ss? */
static bool same_local(int fd, const struct sockaddr_storage *ss)
{
	struct sockaddr_storage now;
	socklen_t len = sizeof(now);

	memset(&now, 0, sizeof(now));
	if (getsockname(fd, (struct sockaddr *)&now, &len))
		return false;
	return !memcmp(&now, ss, len);
}

static int tcp_state(int fd, uint32_t *backlog)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		return -1;
	if (backlog)
		*backlog = ti.tcpi_sacked;
	return ti.tcpi_state;
}

static void check_options(void)
{
	char cc[16] = "";
	socklen_t len = sizeof(cc) - 1;
	struct linger lg = { 0, 0 };
	socklen_t llen = sizeof(lg);
	uint32_t bl = 0;

	CHECK(tcp_state(l4, &bl) == TCP_LISTEN && bl == L4_BACKLOG, "l4: state/backlog %u", bl);
	CHECK(same_local(l4, &a_l4), "l4: local address changed");
	CHECK(get_opt(l4, SOL_SOCKET, SO_REUSEADDR) == 1, "l4: SO_REUSEADDR");
	CHECK(get_opt(l4, SOL_SOCKET, SO_RCVBUF) == 200000, "l4: SO_RCVBUF %d",
	      get_opt(l4, SOL_SOCKET, SO_RCVBUF));
	CHECK(get_opt(l4, SOL_TCP, TCP_DEFER_ACCEPT) >= 5, "l4: TCP_DEFER_ACCEPT %d",
	      get_opt(l4, SOL_TCP, TCP_DEFER_ACCEPT));
	CHECK(get_opt(l4, SOL_TCP, TCP_FASTOPEN) == 16, "l4: TCP_FASTOPEN");
	CHECK(tcp_state(l6, &bl) == TCP_LISTEN && bl == L6_BACKLOG, "l6: state/backlog %u", bl);
	CHECK(same_local(l6, &a_l6), "l6: local address changed");
	CHECK(get_opt(l6, SOL_IPV6, IPV6_V6ONLY) == 1, "l6: IPV6_V6ONLY");
	CHECK(get_opt(l6, SOL_TCP, TCP_NODELAY) == 1, "l6: TCP_NODELAY");
	CHECK(get_opt(l6, SOL_SOCKET, SO_KEEPALIVE) == 1, "l6: SO_KEEPALIVE");
	CHECK(get_opt(l6, SOL_TCP, TCP_KEEPIDLE) == 60 &&
		      get_opt(l6, SOL_TCP, TCP_KEEPINTVL) == 7 &&
		      get_opt(l6, SOL_TCP, TCP_KEEPCNT) == 3,
	      "l6: keepalive times");
	CHECK(get_opt(l6, SOL_IPV6, IPV6_TCLASS) == 0x20, "l6: IPV6_TCLASS");
	CHECK(tcp_state(any4, NULL) == TCP_LISTEN && same_local(any4, &a_any4), "any4: state");
	CHECK(get_opt(any4, SOL_SOCKET, SO_REUSEPORT) == 1, "any4: SO_REUSEPORT");
	CHECK(fcntl(any4, F_GETFL) & O_NONBLOCK, "any4: O_NONBLOCK");
	CHECK(tcp_state(b4, NULL) == TCP_CLOSE && same_local(b4, &a_b4), "b4: state/address");
	CHECK(get_opt(b4, SOL_TCP, TCP_MAXSEG) == 1000, "b4: TCP_MAXSEG %d",
	      get_opt(b4, SOL_TCP, TCP_MAXSEG));
	CHECK(get_opt(b4, SOL_IP, IP_TOS) == 0x10, "b4: IP_TOS");
	CHECK(get_opt(b4, SOL_IP, IP_TTL) == 33, "b4: IP_TTL");
	CHECK(get_opt(b4, SOL_TCP, TCP_USER_TIMEOUT) == 5000, "b4: TCP_USER_TIMEOUT");
	CHECK(get_opt(b4, SOL_TCP, TCP_NOTSENT_LOWAT) == 12345, "b4: TCP_NOTSENT_LOWAT");
	CHECK(get_opt(b4, SOL_SOCKET, SO_SNDBUF) == 100000, "b4: SO_SNDBUF %d",
	      get_opt(b4, SOL_SOCKET, SO_SNDBUF));
	CHECK(!getsockopt(b4, SOL_TCP, TCP_CONGESTION, cc, &len) && !strcmp(cc, "reno"),
	      "b4: TCP_CONGESTION %s", cc);
	CHECK(fcntl(b4, F_GETFL) & O_NONBLOCK, "b4: O_NONBLOCK");
	CHECK(tcp_state(u6, NULL) == TCP_CLOSE, "u6: state");
	CHECK(get_opt(u6, SOL_TCP, TCP_CORK) == 1, "u6: TCP_CORK");
	CHECK(get_opt(u6, SOL_SOCKET, SO_MARK) == 5, "u6: SO_MARK");
	CHECK(!getsockopt(u6, SOL_SOCKET, SO_LINGER, &lg, &llen) && lg.l_onoff && lg.l_linger == 3,
	      "u6: SO_LINGER");
	if (ext >= 0)
		CHECK(tcp_state(ext, NULL) == TCP_LISTEN && same_local(ext, &a_ext), "ext: state");
}

/* cl connects to listener l at ss; a few bytes go both ways. */
static void exchange(const char *name, int l, int cl, const struct sockaddr_storage *ss)
{
	socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						   sizeof(struct sockaddr_in6);
	char buf[8] = "";
	int a, fl = fcntl(l, F_GETFL);

	fcntl(cl, F_SETFL, fcntl(cl, F_GETFL) & ~O_NONBLOCK);
	if (connect(cl, (const struct sockaddr *)ss, len)) {
		prog_record_failure("%s: connect: %s", name, strerror(errno));
		return;
	}
	/* TCP_DEFER_ACCEPT: accept once data came */
	if (write(cl, "ping", 4) != 4) {
		prog_record_failure("%s: write: %s", name, strerror(errno));
		return;
	}
	fcntl(l, F_SETFL, fl & ~O_NONBLOCK);
	a = accept(l, NULL, NULL);
	fcntl(l, F_SETFL, fl);
	if (a < 0) {
		prog_record_failure("%s: accept: %s", name, strerror(errno));
		return;
	}
	CHECK(read(a, buf, 4) == 4 && !memcmp(buf, "ping", 4), "%s: server read", name);
	CHECK(write(a, "pong", 4) == 4, "%s: server write", name);
	CHECK(read(cl, buf, 4) == 4 && !memcmp(buf, "pong", 4), "%s: client read", name);
	close(a);
}

static void check_working(void)
{
	struct sockaddr_storage lo4 = a_any4;

	inet_pton(AF_INET, "127.0.0.1", &((struct sockaddr_in *)&lo4)->sin_addr);
	exchange("l4", l4, tcp_sock(AF_INET), &a_l4);
	exchange("l6", l6, tcp_sock(AF_INET6), &a_l6);
	exchange("any4", any4, tcp_sock(AF_INET), &lo4);
	exchange("b4 to l4", l4, b4, &a_l4);
	CHECK(same_local(b4, &a_b4), "b4: connected from another address or port");
	set_opt(u6, SOL_TCP, TCP_CORK, 0);
	exchange("u6 to l6", l6, u6, &a_l6);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv, "tcpsk");
	setup();
	if (argc > 3 && !strcmp(argv[2], "addr")) {
		ext = tcp_sock(strchr(argv[3], ':') ? AF_INET6 : AF_INET);
		bind_to(ext, strchr(argv[3], ':') ? AF_INET6 : AF_INET, argv[3], &a_ext);
		if (listen(ext, 4))
			prog_fail("listen ext: %s", strerror(errno));
	}
	prog_ready();
	prog_wait_go();
	check_options();
	check_working();
	prog_finish();
}
