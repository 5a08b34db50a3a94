/*
 * tcpsk-est: established TCP connections with data queued both ways,
 * carried across a dump and restore without a byte lost, doubled or out
 * of order.
 *
 * The root P listens on 127.0.0.1 and [::1]; its child C (in the tree)
 * connects to both, and an outside process O (forked, then reparented to
 * the harness's subreaper: not in the tree) connects to 127.0.0.1.  Each
 * end sends a deterministic byte stream (its own seed per direction)
 * before the dump, as much as the kernel takes without blocking up to a
 * cap: the big ones fill the peer's receive queue and leave bytes in the
 * sender's send queue, unsent; nobody reads before "go".  So the image
 * holds both queues of each connection.  After "go" (SIGUSR1 to P, which
 * passes it to C and O) every end sends more, shuts its side down and
 * reads until EOF, checking every byte against the stream: a lost or
 * repeated byte anywhere (the sequence numbers restored wrong) shows as a
 * mismatch.  P checks its own ends and C's exit status; O appends
 * "outside ok" or a FAIL line to OUTFILE.  A third connection from C to
 * P is half-closed: P sent 1000 bytes and shut its side down (FIN_WAIT2),
 * C has them and the FIN unread (CLOSE_WAIT) and sent 500 bytes P has
 * not read; after "go" C reads them and end of file, and sends more.
 *
 * "tcpsk-est OUT chatty": O keeps sending 100 bytes every 20 ms until
 * "go", across the dump and the restore (a peer that does not wait).
 *
 * "tcpsk-est OUT addr IP": the listener and the connections use IP (the
 * test's address on a link of its network namespace) instead of the
 * loopback ones; no IPv6 pair.  "... addr IP hold": before P sends to O
 * it says "outport PORT" (O's port) and waits for SIGUSR2, so that the
 * test can drop O's acknowledgements first: what P then sends is partly
 * sent and not acknowledged, partly not sent, and P shuts its side down
 * after it (FIN_WAIT1, the FIN not sent).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

#define AFTER_BYTES (1u << 20) /* each end sends this much after "go" */

struct end {
	const char *name;
	int fd;
	uint64_t tx_seed, rx_seed;
	uint64_t sent, got;
	uint64_t tx_total; /* 0 until "go": then what it will have sent */
	bool shut, eof;
	bool peer_shut; /* the peer shut its side down before the dump */
};

static volatile sig_atomic_t usr2;

static void on_usr2(int sig)
{
	(void)sig;
	usr2 = 1;
}

/* Says O's port and waits for SIGUSR2 (the test's drop rule is in place). */
static void hold(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	sigset_t m, old;

	signal(SIGUSR2, on_usr2);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigprocmask(SIG_BLOCK, &m, &old);
	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		prog_fail("getpeername: %s", strerror(errno));
	prog_say("outport %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	m = old;
	sigdelset(&m, SIGUSR2);
	while (!usr2)
		sigsuspend(&m);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static uint8_t stream_byte(uint64_t seed, uint64_t i)
{
	return (uint8_t)(prog_pattern(seed, i / 8) >> (8 * (i % 8)));
}

/* Sends up to n bytes of e's stream without blocking; returns bytes sent. */
static uint64_t send_some(struct end *e, uint64_t n)
{
	uint8_t buf[16384];
	uint64_t done = 0, i, k;
	ssize_t w;

	while (done < n) {
		k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		for (i = 0; i < k; i++)
			buf[i] = stream_byte(e->tx_seed, e->sent + i);
		w = send(e->fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno != EAGAIN)
				prog_fail("%s: send: %s", e->name, strerror(errno));
			break;
		}
		e->sent += w;
		done += w;
	}
	return done;
}

/* Reads what is there and checks it against the peer's stream. */
static void recv_some(struct end *e)
{
	uint8_t buf[16384];
	ssize_t r, i;

	for (;;) {
		r = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0) {
			e->eof = true;
			return;
		}
		if (r < 0) {
			if (errno != EAGAIN)
				prog_fail("%s: recv after %llu bytes: %s", e->name,
					  (unsigned long long)e->got, strerror(errno));
			return;
		}
		for (i = 0; i < r; i++)
			if (buf[i] != stream_byte(e->rx_seed, e->got + i))
				prog_fail("%s: byte %llu differs (lost, doubled or reordered data)",
					  e->name, (unsigned long long)(e->got + i));
		e->got += r;
	}
}

/*
 * After "go": each end sends AFTER_BYTES more, shuts down its side and
 * reads until EOF; returns once every end is done.
 */
static void pump(struct end *v, int n)
{
	struct pollfd pf[8];
	int i, left = n;

	for (i = 0; i < n; i++) {
		v[i].tx_total = v[i].sent + (v[i].shut ? 0 : AFTER_BYTES);
		fcntl(v[i].fd, F_SETFL, fcntl(v[i].fd, F_GETFL) | O_NONBLOCK);
	}
	while (left) {
		for (i = 0; i < n; i++) {
			pf[i].fd = v[i].fd;
			pf[i].events = (v[i].eof ? 0 : POLLIN) | (v[i].shut ? 0 : POLLOUT);
		}
		if (poll(pf, n, 20000) <= 0)
			prog_fail("no progress for 20 s (%s: sent %llu got %llu)", v[0].name,
				  (unsigned long long)v[0].sent, (unsigned long long)v[0].got);
		for (i = 0, left = 0; i < n; i++) {
			if (!v[i].shut) {
				send_some(&v[i], v[i].tx_total - v[i].sent);
				if (v[i].sent == v[i].tx_total) {
					shutdown(v[i].fd, SHUT_WR);
					v[i].shut = true;
				}
			}
			if (!v[i].eof)
				recv_some(&v[i]);
			left += !(v[i].shut && v[i].eof);
		}
	}
	for (i = 0; i < n; i++)
		CHECK(v[i].got >= (v[i].peer_shut ? 1 : AFTER_BYTES), "%s: only %llu bytes came",
		      v[i].name, (unsigned long long)v[i].got);
}

static int listener(int fam, const char *ip, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(fam, SOCK_STREAM, 0);

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = fam;
	if (fam == AF_INET)
		inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr);
	else
		inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr);
	*len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)ss, len))
		prog_fail("listener on %s: %s", ip, strerror(errno));
	return fd;
}

static int connect_to(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, len))
		prog_fail("connect: %s", strerror(errno));
	return fd;
}

/* Waits for SIGUSR1 in a process that is not P. */
static void wait_usr1(void)
{
	sigset_t m;

	sigprocmask(SIG_SETMASK, NULL, &m);
	sigdelset(&m, SIGUSR1);
	while (!prog_go)
		sigsuspend(&m);
}

/* The child C: its two ends, then the pump; exits 0 or 1. */
static void child(const struct sockaddr_storage *a4, socklen_t l4,
		  const struct sockaddr_storage *a6, socklen_t l6, int ready)
{
	struct end e[3] = {
		{ "c4", -1, 11, 10, 0, 0, 0, false, false, false },
		{ "ch", -1, 41, 40, 0, 0, 0, false, false, true },
		{ "c6", -1, 21, 20, 0, 0, 0, false, false, false },
	};
	int n = a6 ? 3 : 2, i;

	e[0].fd = connect_to(a4, l4);
	e[1].fd = connect_to(a4, l4);
	if (a6)
		e[2].fd = connect_to(a6, l6);
	send_some(&e[0], 300000); /* fills P's receive queue, then its own send queue */
	send_some(&e[1], 500);	  /* P shuts its side down: ch is in CLOSE_WAIT */
	if (a6)
		send_some(&e[2], 5000);
	if (write(ready, "c", 1) != 1)
		_exit(1);
	close(ready);
	wait_usr1();
	pump(e, n);
	for (i = 0; i < n; i++)
		close(e[i].fd);
	_exit(prog_failure[0] ? 1 : 0);
}

/* The outside process O: one end, then the pump; says how it went. */
/* O until "go" when chatty: 100 more bytes of its stream every 20 ms. */
static void chat_until_go(struct end *e)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	while (!prog_go) {
		send_some(e, 100);
		usleep(20000);
	}
}

static void outside(const struct sockaddr_storage *a4, socklen_t l4, int ready, bool held,
		    bool chatty)
{
	struct end e = { "outside", -1, 31, 30, 0, 0, 0, false, false, held };
	char pid[32];
	int len;

	/* none of the tree's sockets: only its own end and the pipe */
	ready = prog_outside(ready);
	e.fd = connect_to(a4, l4);
	send_some(&e, 50000);
	len = snprintf(pid, sizeof(pid), "%d", getpid());
	if (write(ready, pid, len) != len)
		_exit(1);
	close(ready);
	if (chatty)
		chat_until_go(&e);
	else
		wait_usr1();
	pump(&e, 1);
	close(e.fd);
	if (prog_failure[0])
		prog_say("FAIL tcpsk-est: outside: %s\n", prog_failure);
	else
		prog_say("outside ok\n");
	_exit(0);
}

static int accept_one(int l, const char *what)
{
	int fd = accept(l, NULL, NULL);

	if (fd < 0)
		prog_fail("accept %s: %s", what, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	struct end e[4] = {
		{ "p4", -1, 10, 11, 0, 0, 0, false, false, false },
		{ "po", -1, 30, 31, 0, 0, 0, false, false, false },
		{ "ph", -1, 40, 41, 0, 0, 0, false, false, false },
		{ "p6", -1, 20, 21, 0, 0, 0, false, false, false },
	};
	const char *ip4 = argc > 3 && !strcmp(argv[2], "addr") ? argv[3] : "127.0.0.1";
	bool v6 = !strcmp(ip4, "127.0.0.1");
	struct sockaddr_storage a4, a6;
	socklen_t l4, l6;
	int n = v6 ? 4 : 3, ready[2], st, L4, L6 = -1;
	bool held = argc > 4 && !strcmp(argv[4], "hold");
	pid_t c, ochild, o;
	char buf[32] = "";
	ssize_t r;

	prog_init(argc, argv, "tcpsk-est");
	L4 = listener(AF_INET, ip4, &a4, &l4);
	if (v6)
		L6 = listener(AF_INET6, "::1", &a6, &l6);
	if (pipe(ready))
		prog_fail("pipe: %s", strerror(errno));
	c = fork();
	if (c == 0) {
		close(ready[0]);
		child(&a4, l4, v6 ? &a6 : NULL, l6, ready[1]);
	}
	e[0].fd = accept_one(L4, "c4");
	e[2].fd = accept_one(L4, "ch");
	if (v6)
		e[3].fd = accept_one(L6, "c6");
	if (read(ready[0], buf, 1) != 1)
		prog_fail("child did not get ready");
	ochild = fork();
	if (ochild == 0) {
		close(ready[0]);
		outside(&a4, l4, ready[1], held, argc > 2 && !strcmp(argv[2], "chatty"));
	}
	close(ready[1]);
	e[1].fd = accept_one(L4, "outside");
	waitpid(ochild, NULL, 0);
	r = read(ready[0], buf, sizeof(buf) - 1);
	if (r <= 0)
		prog_fail("outside process did not get ready");
	buf[r] = '\0';
	o = atoi(buf);
	close(ready[0]);
	send_some(&e[0], 3000);
	send_some(&e[2], 1000); /* then FIN: ph in FIN_WAIT2, C's ch in CLOSE_WAIT */
	shutdown(e[2].fd, SHUT_WR);
	e[2].shut = true;
	if (held)
		hold(e[1].fd);
	send_some(&e[1], 400000); /* fills O's receive queue and our send queue */
	if (held) {		  /* and our FIN after it, not sent: FIN_WAIT1 */
		shutdown(e[1].fd, SHUT_WR);
		e[1].shut = true;
	}
	if (v6)
		send_some(&e[3], 70000);
	prog_say("outside %d\n", o);
	usleep(200000); /* let the last segments and acks settle */
	prog_ready();
	prog_wait_go();
	kill(c, SIGUSR1);
	kill(o, SIGUSR1);
	pump(e, n);
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
	      "the child's ends failed (status %#x)", st);
	prog_finish();
}
