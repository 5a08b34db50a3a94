/*
 * unixsk: AF_UNIX socketpairs restored with their queues, boundaries,
 * flags, shutdown state and options, within one process and across a
 * fork.
 *
 *   s   stream pair: "hello " and "world" queued for s1, "back" for s0;
 *       s0 O_NONBLOCK, SO_SNDBUF/SO_RCVBUF set, SO_RCVTIMEO 2.5 s,
 *       SO_SNDTIMEO 1 s, SO_PASSSEC; s1 peeked 3 bytes with SO_PEEK_OFF 0
 *       (its peek offset is 3)
 *   d   datagram pair, d0 bound to an abstract name: "one", "" and "three"
 *       queued for d1 (held by child C, which reads them after "go": three
 *       messages, their lengths, the sender's name), "up" for d0
 *   q   seqpacket pair: "rec1" and "rec22" queued for q1, then q1 shut
 *       down for reading (so q0 for writing): q1 reads both then EOF
 *   c   stream pair, c1 with SO_PASSCRED: after "go" c0 sends and c1
 *       receives our pid in SCM_CREDENTIALS
 *   u   stream pair made as euid/egid 65534: SO_PEERCRED says 65534
 *   z   stream pair whose z1 sent "fin" and was closed: z0 reads "fin",
 *       then EOF
 *   w   stream pair, w0 shut down for writing after "bye": w1 reads "bye"
 *       then EOF, and w1 -> w0 still works
 *   g   stream pair on which C blocks across the dump, woken after "go"
 *   l1, l2   unconnected datagram and stream sockets
 *   L   stream listener bound to DIR/l.sock (DIR: OUTFILE's directory;
 *       mode 0750 from the umask), O_NONBLOCK, SO_REUSEADDR: one connection accepted
 *       (a_s, SO_KEEPALIVE as redis sets it, from client a_c: "req" queued for a_s, "resp" for a_c), two
 *       queued and not accepted (from k1, then k2): after "go" accept()
 *       returns k1's, then k2's, then EAGAIN; names as getsockname and
 *       getpeername say
 *   A   seqpacket listener on an abstract name, one connection queued
 *   D   datagram socket bound to an abstract name, not connected: "c1"
 *       queued from C1 (connected to D one way, unnamed) and "c2" from an
 *       unnamed socket since closed; C3 (bound, connected to D) has
 *       "down" queued from D.  After "go": D reads both, C1's next
 *       datagram reaches D, C1's peer is D's name, C3 reads "down" from
 *       D's name
 *   R   datagram socket bound to DIR/r.sock, R2 a stream listener bound
 *       to DIR/r2.sock, both files removed: getsockname still gives the
 *       paths, no file is there after restore, R2 still listens
 *
 * With an argument it holds one socket the dump must refuse instead (and
 * after "go" only checks that the socket is still as it was):
 *   outside   a stream pair whose other end a process outside the tree
 *             holds (a grandchild reparented to the subreaper; its pid
 *             is written as "outside PID"; it exits at EOF)
 *   senders   two datagram sockets bound to abstract names and connected
 *             to each other, s1 holding a datagram a third socket sent
 *             before they were connected
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "prog.h"

static int s[2], d[2], q[2], c[2], u[2], z[2], w[2], g[2], l1, l2;
static int L, a_c, a_s, k1, k2, A, a1, D, C1, C3, R, R2;
static struct sockaddr_un rn, r2n;
static socklen_t rn_len, r2n_len;
static struct sockaddr_un dn, c3n;
static socklen_t dn_len, c3n_len;
static struct sockaddr_un lname, aname;
static socklen_t lname_len, aname_len;
static int sndbuf0, rcvbuf0;
static struct sockaddr_un dname;
static socklen_t dname_len;

static void pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type, 0, sv))
		prog_fail("socketpair: %s", strerror(errno));
}

static void put(int fd, const char *m, size_t len)
{
	if (send(fd, m, len, 0) != (ssize_t)len)
		prog_fail("send %s: %s", m, strerror(errno));
}

static int opt(int fd, int o)
{
	int v = -12345;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, o, &v, &l);
	return v;
}

static void set(int fd, int o, int v)
{
	if (setsockopt(fd, SOL_SOCKET, o, &v, sizeof(v)))
		prog_fail("setsockopt %d: %s", o, strerror(errno));
}

static void set_tv(int fd, int o, long sec, long usec)
{
	struct timeval tv = { sec, usec };

	if (setsockopt(fd, SOL_SOCKET, o, &tv, sizeof(tv)))
		prog_fail("setsockopt timeo: %s", strerror(errno));
}

static long tv_us(int fd, int o)
{
	struct timeval tv = { 0, 0 };
	socklen_t l = sizeof(tv);

	getsockopt(fd, SOL_SOCKET, o, &tv, &l);
	return tv.tv_sec * 1000000 + tv.tv_usec;
}

/* One message of fd into buf (NUL-terminated): its length, or -1. */
static ssize_t take(int fd, char *buf, size_t len, int flags)
{
	ssize_t r = recv(fd, buf, len - 1, flags | MSG_DONTWAIT);

	buf[r < 0 ? 0 : r] = 0;
	return r;
}

/* C: blocks on g1, then reads d1's three datagrams; exits 0 or the failed check. */
static void child(void)
{
	struct sockaddr_un from;
	socklen_t fl;
	char buf[64];
	static const char *want[] = { "one", "", "three" };
	int i;

	close(d[0]);
	if (recv(g[1], buf, 1, 0) != 1)
		_exit(10);
	for (i = 0; i < 3; i++) {
		fl = sizeof(from);
		if (recvfrom(d[1], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) !=
		    (ssize_t)strlen(want[i]))
			_exit(11 + i);
		if (memcmp(buf, want[i], strlen(want[i])))
			_exit(14 + i);
		if (fl != dname_len || memcmp(&from, &dname, fl))
			_exit(17);
	}
	if (recv(d[1], buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		_exit(18);
	_exit(0);
}

static void setup_pairs(void)
{
	uid_t eu = geteuid();

	pair(SOCK_STREAM, s);
	put(s[0], "hello ", 6);
	put(s[0], "world", 5);
	put(s[1], "back", 4);
	fcntl(s[0], F_SETFL, O_NONBLOCK);
	set(s[0], SO_SNDBUF, 100000);
	set(s[0], SO_RCVBUF, 50000);
	set(s[0], SO_PASSSEC, 1);
	set_tv(s[0], SO_RCVTIMEO, 2, 500000);
	set_tv(s[0], SO_SNDTIMEO, 1, 0);
	sndbuf0 = opt(s[0], SO_SNDBUF);
	rcvbuf0 = opt(s[0], SO_RCVBUF);
	set(s[1], SO_PEEK_OFF, 0);
	char b[8];
	if (recv(s[1], b, 3, MSG_PEEK) != 3)
		prog_fail("peek: %s", strerror(errno));

	pair(SOCK_DGRAM, d);
	dname.sun_family = AF_UNIX;
	dname_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		    snprintf(dname.sun_path + 1, sizeof(dname.sun_path) - 1, "vxcr-unixsk-%d",
			     (int)getpid());
	if (bind(d[0], (struct sockaddr *)&dname, dname_len))
		prog_fail("bind abstract: %s", strerror(errno));
	put(d[0], "one", 3);
	put(d[0], "", 0);
	put(d[0], "three", 5);
	put(d[1], "up", 2);

	pair(SOCK_SEQPACKET, q);
	put(q[0], "rec1", 4);
	put(q[0], "rec22", 5);
	shutdown(q[1], SHUT_RD);

	pair(SOCK_STREAM, c);
	set(c[1], SO_PASSCRED, 1);

	if (setresgid(-1, 65534, -1) || setresuid(-1, 65534, -1))
		prog_fail("setresuid: %s", strerror(errno));
	pair(SOCK_STREAM, u);
	if (setresuid(-1, eu, -1) || setresgid(-1, 0, -1))
		prog_fail("setresuid back: %s", strerror(errno));

	pair(SOCK_STREAM, z);
	put(z[1], "fin", 3);
	close(z[1]);

	pair(SOCK_STREAM, w);
	put(w[0], "bye", 3);
	shutdown(w[0], SHUT_WR);

	pair(SOCK_STREAM, g);
	l1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	l2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l1 < 0 || l2 < 0)
		prog_fail("socket: %s", strerror(errno));
}

static int connect_to(int type, const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, len))
		prog_fail("connect: %s", strerror(errno));
	return fd;
}

static int listener(int type, struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)sa, len) || listen(fd, 7))
		prog_fail("listen: %s", strerror(errno));
	return fd;
}

static void setup_listeners(void)
{
	char *slash;
	mode_t um;

	lname.sun_family = AF_UNIX;
	snprintf(lname.sun_path, sizeof(lname.sun_path), "%s", prog_out);
	slash = strrchr(lname.sun_path, '/');
	snprintf(slash ? slash + 1 : lname.sun_path,
		 sizeof(lname.sun_path) - (slash ? slash + 1 - lname.sun_path : 0), "l.sock");
	lname_len = offsetof(struct sockaddr_un, sun_path) + strlen(lname.sun_path) + 1;
	unlink(lname.sun_path); /* as servers do: a file left by an earlier run */
	um = umask(027);
	L = listener(SOCK_STREAM, &lname, lname_len);
	set(L, SO_REUSEADDR, 1); /* as redis does on its unix listener */
	umask(um);
	fcntl(L, F_SETFL, O_NONBLOCK);
	a_c = connect_to(SOCK_STREAM, &lname, lname_len);
	a_s = accept(L, NULL, NULL);
	if (a_s < 0)
		prog_fail("accept: %s", strerror(errno));
	set(a_s, SO_KEEPALIVE, 1); /* as redis does on every connection */
	put(a_c, "req", 3);
	put(a_s, "resp", 4);
	k1 = connect_to(SOCK_STREAM, &lname, lname_len);
	k2 = connect_to(SOCK_STREAM, &lname, lname_len);

	aname.sun_family = AF_UNIX;
	aname_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		    snprintf(aname.sun_path + 1, sizeof(aname.sun_path) - 1, "vxcr-unixsk-A-%d",
			     (int)getpid());
	A = listener(SOCK_SEQPACKET, &aname, aname_len);
	a1 = connect_to(SOCK_SEQPACKET, &aname, aname_len);
}

static bool named(int fd, bool peer, const struct sockaddr_un *sa, socklen_t len);

static void name_abstract(char tag, struct sockaddr_un *sa, socklen_t *len)
{
	sa->sun_family = AF_UNIX;
	*len = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "vxcr-unixsk-%c-%d", tag,
			(int)getpid());
}

static void setup_dgram_server(void)
{
	int t = socket(AF_UNIX, SOCK_DGRAM, 0);

	name_abstract('D', &dn, &dn_len);
	name_abstract('E', &c3n, &c3n_len);
	D = socket(AF_UNIX, SOCK_DGRAM, 0);
	C1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	C3 = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (t < 0 || D < 0 || C1 < 0 || C3 < 0 || bind(D, (struct sockaddr *)&dn, dn_len) ||
	    bind(C3, (struct sockaddr *)&c3n, c3n_len) ||
	    connect(C1, (struct sockaddr *)&dn, dn_len) ||
	    connect(C3, (struct sockaddr *)&dn, dn_len))
		prog_fail("datagram server: %s", strerror(errno));
	put(C1, "c1", 2);
	if (sendto(t, "c2", 2, 0, (struct sockaddr *)&dn, dn_len) != 2 ||
	    sendto(D, "down", 4, 0, (struct sockaddr *)&c3n, c3n_len) != 4)
		prog_fail("sendto: %s", strerror(errno));
	close(t);
}

/* sa: the path NAME next to OUTFILE. */
static void name_path(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	char *slash;

	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", prog_out);
	slash = strrchr(sa->sun_path, '/');
	snprintf(slash ? slash + 1 : sa->sun_path,
		 sizeof(sa->sun_path) - (slash ? slash + 1 - sa->sun_path : 0), "%s", name);
	*len = offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1;
}

static void setup_removed(void)
{
	name_path("r.sock", &rn, &rn_len);
	name_path("r2.sock", &r2n, &r2n_len);
	unlink(rn.sun_path);
	unlink(r2n.sun_path);
	R = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (R < 0 || bind(R, (struct sockaddr *)&rn, rn_len))
		prog_fail("bind %s: %s", rn.sun_path, strerror(errno));
	R2 = listener(SOCK_STREAM, &r2n, r2n_len);
	unlink(rn.sun_path);
	unlink(r2n.sun_path);
}

static void check_removed(void)
{
	struct stat st;

	CHECK(named(R, false, &rn, rn_len), "R: getsockname differs");
	CHECK(named(R2, false, &r2n, r2n_len), "R2: getsockname differs");
	CHECK(stat(rn.sun_path, &st) < 0 && errno == ENOENT, "R: %s exists", rn.sun_path);
	CHECK(stat(r2n.sun_path, &st) < 0 && errno == ENOENT, "R2: %s exists", r2n.sun_path);
	CHECK(opt(R2, SO_ACCEPTCONN) == 1, "R2: not listening");
}

static void check_dgram_server(void)
{
	struct sockaddr_un from;
	socklen_t fl = sizeof(from);
	char buf[64];

	CHECK(take(D, buf, sizeof(buf), 0) == 2 && !strcmp(buf, "c1"), "D: first '%s'", buf);
	CHECK(take(D, buf, sizeof(buf), 0) == 2 && !strcmp(buf, "c2"), "D: second '%s'", buf);
	CHECK(take(D, buf, sizeof(buf), 0) < 0 && errno == EAGAIN, "D: more queued");
	put(C1, "again", 5);
	CHECK(take(D, buf, sizeof(buf), 0) == 5, "D: C1's datagram after restore lost");
	CHECK(named(C1, true, &dn, dn_len), "C1: getpeername is not D's name");
	CHECK(recvfrom(C3, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) == 4 &&
		      fl == dn_len && !memcmp(&from, &dn, fl),
	      "C3: no 'down' from D's name");
}

/* fd's name (getsockname, or getpeername if peer) is sa. */
static bool named(int fd, bool peer, const struct sockaddr_un *sa, socklen_t len)
{
	struct sockaddr_un got;
	socklen_t gl = sizeof(got);
	int r = peer ? getpeername(fd, (struct sockaddr *)&got, &gl) :
		       getsockname(fd, (struct sockaddr *)&got, &gl);

	return !r && gl == len && !memcmp(&got, sa, len);
}

static void check_listeners(void)
{
	char buf[64];
	struct stat st;
	int n1, n2;

	CHECK(stat(lname.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0750,
	      "L: %s is not a socket of mode 0750", lname.sun_path);
	CHECK(named(L, false, &lname, lname_len), "L: getsockname differs");
	CHECK(opt(L, SO_REUSEADDR) == 1, "L: SO_REUSEADDR lost");
	CHECK(opt(a_s, SO_KEEPALIVE) == 1, "a_s: SO_KEEPALIVE lost");
	CHECK(opt(a_c, SO_KEEPALIVE) == 0, "a_c: SO_KEEPALIVE set");
	CHECK(named(a_s, false, &lname, lname_len), "a_s: getsockname differs");
	CHECK(named(a_c, true, &lname, lname_len), "a_c: getpeername differs");
	CHECK(take(a_s, buf, sizeof(buf), 0) == 3 && !strcmp(buf, "req"), "a_s: queue '%s'", buf);
	CHECK(take(a_c, buf, sizeof(buf), 0) == 4 && !strcmp(buf, "resp"), "a_c: queue '%s'", buf);
	n1 = accept(L, NULL, NULL);
	n2 = accept(L, NULL, NULL);
	CHECK(n1 >= 0 && n2 >= 0, "L: accept of the queued connections: %s", strerror(errno));
	CHECK(accept(L, NULL, NULL) < 0 && errno == EAGAIN, "L: a third connection queued");
	if (n1 >= 0 && n2 >= 0) {
		put(n1, "1", 1);
		put(n2, "2", 1);
		CHECK(take(k1, buf, sizeof(buf), 0) == 1 && buf[0] == '1',
		      "k1: not the first connection accepted");
		CHECK(take(k2, buf, sizeof(buf), 0) == 1 && buf[0] == '2',
		      "k2: not the second connection accepted");
	}
	CHECK(named(A, false, &aname, aname_len), "A: getsockname differs");
	n1 = accept4(A, NULL, NULL, SOCK_NONBLOCK);
	CHECK(n1 >= 0, "A: accept: %s", strerror(errno));
	if (n1 >= 0) {
		put(a1, "ab", 2);
		CHECK(take(n1, buf, sizeof(buf), 0) == 2, "A: accepted connection gets nothing");
	}
}

static void check_stream(void)
{
	char buf[64];

	CHECK(fcntl(s[0], F_GETFL) & O_NONBLOCK, "s0: O_NONBLOCK lost");
	CHECK(!(fcntl(s[1], F_GETFL) & O_NONBLOCK), "s1: O_NONBLOCK set");
	CHECK(opt(s[0], SO_SNDBUF) == sndbuf0, "s0: SO_SNDBUF %d, not %d", opt(s[0], SO_SNDBUF),
	      sndbuf0);
	CHECK(opt(s[0], SO_RCVBUF) == rcvbuf0, "s0: SO_RCVBUF %d, not %d", opt(s[0], SO_RCVBUF),
	      rcvbuf0);
	CHECK(opt(s[0], SO_PASSSEC) == 1, "s0: SO_PASSSEC lost");
	CHECK(tv_us(s[0], SO_RCVTIMEO) == 2500000, "s0: SO_RCVTIMEO %ld", tv_us(s[0], SO_RCVTIMEO));
	CHECK(tv_us(s[0], SO_SNDTIMEO) == 1000000, "s0: SO_SNDTIMEO %ld", tv_us(s[0], SO_SNDTIMEO));
	CHECK(opt(s[1], SO_PEEK_OFF) == 3, "s1: SO_PEEK_OFF %d, not 3", opt(s[1], SO_PEEK_OFF));
	CHECK(take(s[1], buf, sizeof(buf), MSG_PEEK) == 8 && !strcmp(buf, "lo world"),
	      "s1: peek at offset 3 gives '%s'", buf);
	set(s[1], SO_PEEK_OFF, -1);
	CHECK(take(s[1], buf, sizeof(buf), 0) == 11 && !strcmp(buf, "hello world"),
	      "s1: queue is '%s'", buf);
	CHECK(take(s[0], buf, sizeof(buf), 0) == 4 && !strcmp(buf, "back"), "s0: queue is '%s'",
	      buf);
	CHECK(take(s[0], buf, sizeof(buf), 0) < 0 && errno == EAGAIN, "s0: more queued");
}

static void check_seq_closed(void)
{
	char buf[64];

	CHECK(take(q[1], buf, sizeof(buf), 0) == 4 && !strcmp(buf, "rec1"), "q1: first '%s'", buf);
	CHECK(take(q[1], buf, sizeof(buf), 0) == 5 && !strcmp(buf, "rec22"), "q1: second '%s'",
	      buf);
	CHECK(take(q[1], buf, sizeof(buf), 0) == 0, "q1: no EOF after its records");
	CHECK(send(q[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE,
	      "q0: can still send (SEND_SHUTDOWN lost)");
	CHECK(take(z[0], buf, sizeof(buf), 0) == 3 && !strcmp(buf, "fin"), "z0: queue '%s'", buf);
	CHECK(take(z[0], buf, sizeof(buf), 0) == 0, "z0: no EOF (its peer was closed)");
	CHECK(take(w[1], buf, sizeof(buf), 0) == 3 && !strcmp(buf, "bye"), "w1: queue '%s'", buf);
	CHECK(take(w[1], buf, sizeof(buf), 0) == 0, "w1: no EOF (w0 shut down for writing)");
	put(w[1], "ok", 2);
	CHECK(take(w[0], buf, sizeof(buf), 0) == 2, "w0: cannot receive");
	CHECK(send(w[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE,
	      "w0: can still send");
}

static void check_dgram_creds(void)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr a;
	} ctl;
	struct ucred uc;
	socklen_t l = sizeof(uc);
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm;

	CHECK(getsockname(d[0], (struct sockaddr *)&sa, &sl) == 0 && sl == dname_len &&
		      !memcmp(&sa, &dname, sl),
	      "d0: its abstract name is lost");
	CHECK(take(d[0], buf, sizeof(buf), 0) == 2 && !strcmp(buf, "up"), "d0: queue '%s'", buf);
	CHECK(take(d[0], buf, sizeof(buf), 0) < 0 && errno == EAGAIN, "d0: more queued");
	CHECK(opt(c[1], SO_PASSCRED) == 1, "c1: SO_PASSCRED lost");
	put(c[0], "c", 1);
	CHECK(recvmsg(c[1], &mh, MSG_DONTWAIT) == 1, "c1: nothing received");
	cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_type == SCM_CREDENTIALS, "c1: no SCM_CREDENTIALS");
	if (cm && cm->cmsg_type == SCM_CREDENTIALS) {
		memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
		CHECK(uc.pid == getpid(), "c1: credentials of pid %d", (int)uc.pid);
	}
	CHECK(getsockopt(u[0], SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.uid == 65534 &&
		      uc.gid == 65534,
	      "u0: SO_PEERCRED uid %u gid %u, not 65534", uc.uid, uc.gid);
	CHECK(opt(l1, SO_TYPE) == SOCK_DGRAM && opt(l2, SO_TYPE) == SOCK_STREAM,
	      "l1/l2: wrong types");
	CHECK(fcntl(l2, F_GETFL) & O_NONBLOCK, "l2: O_NONBLOCK lost");
}

/* The other end of sv, held by a process outside the tree. */
static void hold_outside(int sv[2])
{
	pid_t ch = fork(), gc;
	char b;

	if (ch < 0)
		prog_fail("fork: %s", strerror(errno));
	if (ch == 0) {
		gc = fork();
		if (gc == 0) {
			close(sv[0]);
			while (recv(sv[1], &b, 1, 0) > 0)
				;
			_exit(0);
		}
		prog_say("outside %d\n", (int)gc);
		_exit(gc < 0);
	}
	if (waitpid(ch, NULL, 0) != ch)
		prog_fail("waitpid: %s", strerror(errno));
	close(sv[1]);
}

static void bind_abstract(int fd, char tag, struct sockaddr_un *sa, socklen_t *len)
{
	sa->sun_family = AF_UNIX;
	*len = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "vxcr-unixsk-%c-%d", tag,
			(int)getpid());
	if (bind(fd, (struct sockaddr *)sa, *len))
		prog_fail("bind: %s", strerror(errno));
}

/* sv: two named datagram sockets connected to each other, sv[1] holding
 * a datagram from a third, unnamed socket. */
static void third_sender(int sv[2])
{
	struct sockaddr_un n0, n1;
	socklen_t m0, m1;
	int t = socket(AF_UNIX, SOCK_DGRAM, 0);

	sv[0] = socket(AF_UNIX, SOCK_DGRAM, 0);
	sv[1] = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind_abstract(sv[0], 'S', &n0, &m0);
	bind_abstract(sv[1], 'T', &n1, &m1);
	if (t < 0 || sendto(t, "x", 1, 0, (struct sockaddr *)&n1, m1) != 1 ||
	    connect(sv[0], (struct sockaddr *)&n1, m1) ||
	    connect(sv[1], (struct sockaddr *)&n0, m0))
		prog_fail("third sender: %s", strerror(errno));
	close(t);
}

/* The refused cases: set up, then after "go" the queue is still there. */
static void refused_case(const char *what)
{
	char buf[8];

	if (!strcmp(what, "senders"))
		third_sender(s);
	else
		pair(SOCK_STREAM, s);
	if (!strcmp(what, "outside"))
		hold_outside(s);
	else if (strcmp(what, "senders"))
		prog_fail("unknown case %s", what);
	set(s[0], SO_PEEK_OFF, 5);
	prog_ready();
	prog_wait_go();
	CHECK(opt(s[0], SO_PEEK_OFF) == 5, "SO_PEEK_OFF changed by the refused dump");
	if (strcmp(what, "outside"))
		CHECK(recv(s[1], buf, sizeof(buf), MSG_DONTWAIT) == 1,
		      "the message in flight is gone");
	prog_finish();
}

int main(int argc, char **argv)
{
	pid_t ch;
	int status;

	prog_init(argc, argv, "unixsk");
	if (argc > 2)
		refused_case(argv[2]);
	setup_pairs();
	setup_listeners();
	setup_dgram_server();
	setup_removed();
	ch = fork();
	if (ch < 0)
		prog_fail("fork: %s", strerror(errno));
	if (ch == 0)
		child();
	close(d[1]);
	prog_ready();
	prog_wait_go();

	check_stream();
	check_seq_closed();
	check_dgram_creds();
	check_listeners();
	check_dgram_server();
	check_removed();
	put(g[0], "g", 1);
	if (waitpid(ch, &status, 0) != ch || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "child %d: check %d failed", (int)ch,
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	prog_finish();
}
