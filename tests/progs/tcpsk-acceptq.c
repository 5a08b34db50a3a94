/*
 * tcpsk-acceptq: connections waiting in listeners' accept queues, carried
 * across a dump and restore in their order, with their bytes.
 *
 * The root P listens on 127.0.0.1 (L4) and on [::] (L6, dual stack) and
 * accepts nothing before "go".  An outside process O (forked, then
 * reparented to the harness's subreaper: not in the tree) connects six
 * clients, in this order: to L4 one that sends nothing, one 100 bytes, one
 * 40000 bytes (more than one forged segment), one 500 bytes and then its
 * FIN (CLOSE_WAIT in the queue); to L6 one from [::1] with 1000 bytes and
 * one from 127.0.0.1 (IPv4-mapped) with 200.  O tells P its six ports
 * through a pipe, then waits for the replies in the same order.  After
 * "go" P accepts from L4 then L6 and checks each connection's peer port
 * (the queue's order), its bytes (a pattern per client) and, for the one
 * that sent its FIN, end of file; it replies with the client's number and
 * the byte count; O checks the reply, sends 8 more bytes and closes; P
 * reads them and end of file.  P says PASS; O appends "outside ok" or a
 * FAIL line to OUTFILE.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "prog.h"

#define NCLIENT 6
#define N4 4 /* the first four go to L4 */

static const uint32_t sizes[NCLIENT] = { 0, 96, 40000, 496, 1000, 200 };

/* Client i: does it send its FIN before the dump? */
static bool sends_fin(int i)
{
	return i == 3;
}

static int listen_on(int family, const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0;
	socklen_t len;

	if (fd < 0)
		prog_fail("socket: %s", strerror(errno));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof(*a);
		setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 64))
		prog_fail("bind/listen %s: %s", ip, strerror(errno));
	return fd;
}

static int port_of(int fd, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((peer ? getpeername : getsockname)(fd, (void *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int connect_to(int family, const char *ip, int port)
{
	struct sockaddr_storage ss = { 0 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len;

	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof(*a);
	}
	if (fd < 0 || connect(fd, (void *)&ss, len))
		_exit(1);
	return fd;
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t w;

	while (len) {
		w = write(fd, b, len);
		if (w <= 0)
			return -1;
		b += w;
		len -= w;
	}
	return 0;
}

/* Reads exactly len bytes (0: got them), -1 on error or early EOF. */
static int read_all(int fd, void *p, size_t len)
{
	char *b = p;
	ssize_t r;

	while (len) {
		r = read(fd, b, len);
		if (r <= 0)
			return -1;
		b += r;
		len -= r;
	}
	return 0;
}

/* The outside process: six clients, their bytes, then the replies. */
static void outside(int p4, int p6, int ready)
{
	static uint64_t buf[40000 / 8];
	int fd[NCLIENT], i, len;
	uint32_t reply[2];
	char msg[128];

	/* none of the tree's sockets: only its own end and the pipe */
	ready = prog_outside(ready);
	len = snprintf(msg, sizeof(msg), "%d", getpid());
	for (i = 0; i < NCLIENT; i++) {
		fd[i] = i < N4 ? connect_to(AF_INET, "127.0.0.1", p4) :
			i == 4 ? connect_to(AF_INET6, "::1", p6) :
				 connect_to(AF_INET, "127.0.0.1", p6);
		prog_fill(buf, sizes[i], 100 + i);
		if (write_all(fd[i], buf, sizes[i]))
			_exit(1);
		if (sends_fin(i))
			shutdown(fd[i], SHUT_WR);
		len += snprintf(msg + len, sizeof(msg) - len, " %d", port_of(fd[i], false));
	}
	len += snprintf(msg + len, sizeof(msg) - len, "\n");
	if (write(ready, msg, len) != len)
		_exit(1);
	close(ready);
	for (i = 0; i < NCLIENT; i++) {
		CHECK(!read_all(fd[i], reply, sizeof(reply)), "client %d: no reply: %s", i,
		      strerror(errno));
		CHECK(reply[0] == (uint32_t)i && reply[1] == sizes[i],
		      "client %d: reply %u/%u, expected %d/%u", i, reply[0], reply[1], i, sizes[i]);
		if (!sends_fin(i)) {
			prog_fill(buf, 8, 200 + i);
			CHECK(!write_all(fd[i], buf, 8), "client %d: cannot send more", i);
		}
		close(fd[i]);
	}
	if (prog_failure[0])
		prog_say("FAIL tcpsk-acceptq: outside: %s\n", prog_failure);
	else
		prog_say("outside ok\n");
	_exit(0);
}

/* Waits until listener l has n connections queued. */
static void wait_queued(int l, unsigned int n)
{
	struct tcp_info ti;
	socklen_t len;
	int i;

	for (i = 0; i < 500; i++) {
		len = sizeof(ti);
		if (!getsockopt(l, SOL_TCP, TCP_INFO, &ti, &len) && ti.tcpi_unacked == n)
			return;
		usleep(10000);
	}
	prog_fail("the accept queue did not reach %u connections", n);
}

/* Accepts the next connection of l, client i (port want), and serves it. */
static void serve(int l, int i, int want)
{
	static uint64_t buf[40000 / 8];
	uint32_t reply[2] = { i, sizes[i] };
	int fd = accept(l, NULL, NULL), port;
	char c;

	if (fd < 0)
		prog_fail("accept client %d: %s", i, strerror(errno));
	port = port_of(fd, true);
	CHECK(port == want, "accepted the client of port %d where client %d (port %d) was next",
	      port, i, want);
	CHECK(!read_all(fd, buf, sizes[i]), "client %d: its %u bytes did not come", i, sizes[i]);
	CHECK(prog_verify(buf, sizes[i], 100 + i) < 0, "client %d: its bytes differ", i);
	if (sends_fin(i))
		CHECK(read(fd, &c, 1) == 0, "client %d: no end of file after its bytes", i);
	CHECK(!write_all(fd, reply, sizeof(reply)), "client %d: cannot reply: %s", i,
	      strerror(errno));
	if (!sends_fin(i)) {
		CHECK(!read_all(fd, buf, 8) && prog_verify(buf, 8, 200 + i) < 0,
		      "client %d: its bytes after the reply differ", i);
		CHECK(read(fd, &c, 1) == 0, "client %d: no end of file at its close", i);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int l4, l6, ready[2], ports[NCLIENT], i, o;
	char buf[128];
	ssize_t r;
	FILE *f;

	prog_init(argc, argv, "tcpsk-acceptq");
	l4 = listen_on(AF_INET, "127.0.0.1");
	l6 = listen_on(AF_INET6, "::");
	if (pipe(ready))
		prog_fail("pipe: %s", strerror(errno));
	if (!fork()) {
		close(ready[0]);
		outside(port_of(l4, false), port_of(l6, false), ready[1]);
	}
	close(ready[1]);
	r = read(ready[0], buf, sizeof(buf) - 1);
	if (r <= 0)
		prog_fail("outside process did not get ready");
	buf[r] = 0;
	close(ready[0]);
	f = fmemopen(buf, r, "r");
	if (!f || fscanf(f, "%d", &o) != 1)
		prog_fail("outside process said %s", buf);
	for (i = 0; i < NCLIENT; i++)
		if (fscanf(f, "%d", &ports[i]) != 1)
			prog_fail("outside process said %s", buf);
	fclose(f);
	wait_queued(l4, N4);
	wait_queued(l6, NCLIENT - N4);
	prog_say("outside %d\n", o);
	prog_ready();
	prog_wait_go();
	for (i = 0; i < NCLIENT; i++)
		serve(i < N4 ? l4 : l6, i, ports[i]);
	prog_finish();
}
