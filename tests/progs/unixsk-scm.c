/*
 * unixsk-scm: file descriptors in flight (SCM_RIGHTS) on unix sockets,
 * restored as the same descriptions with the same message boundaries.
 *
 *   st    a stream socketpair; queued on st[1]: "abc" (no fds), then
 *         "fds1" carrying [the write end of pipe pp (whose read end P
 *         keeps), a regular file at offset 5 (its fd closed in P: only
 *         the message holds it), an eventfd holding 42 (closed in P),
 *         an eventfd holding 7 that P keeps too], then "tail" (no fds)
 *   sq    a seqpacket socketpair; queued on sq[1]: "one" carrying [a dup
 *         of the file above: the same description], "two" (no fds)
 *   cr    a datagram socketpair; queued on cr[1]: "c0" (sent before
 *         cr[1] had SO_PASSCRED: no credentials attached), then with
 *         SO_PASSCRED on cr[1] "c1" with explicit SCM_CREDENTIALS (our
 *         pid, uid 65534, gid 65534) and "c2" with the kernel's (our pid,
 *         uid 0, gid 0)
 *
 * After "go": a read of st[1] returns "abcfds1" with four fds (the bytes
 * before a message with fds are glued to it, as before the dump), then
 * "tail" with none; the pipe carries "ping" to pp[0]; the file's offset
 * is 5 and it reads "56789"; the eventfds count 42 and, after a write of
 * 1 through the received copy, 8 on P's own; sq[1] gives "one" with one
 * fd whose offset moves with the stream's file (one description), then
 * "two" with none; cr[1] gives c0 with pid 0 uid 65534 gid 65534 (the
 * overflow ids: no credentials were attached), c1 and c2
 * with the credentials above (pid: our pid, as restored).
 *
 * With a second argument the program also leaves in flight what the dump
 * must refuse (the harness checks the refusal, then sends "go"):
 *   nested  a unix socket whose own queue carries a pipe end
 *   epoll   an epoll fd (a kind that cannot be restored in flight)
 *   child   a message with the credentials of a child that has exited
 *           (only the root's can be sent again)
 */
#include <libgen.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "prog.h"

static int st[2], sq[2], cr[2], pp[2], efd_kept;
static char fpath[4096];

static void send_fds(int sk, const char *msg, const int *fds, int n)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		prog_fail("sendmsg %s: %s", msg, strerror(errno));
}

/* Sends msg on sk with SCM_CREDENTIALS pid, uid, gid. */
static void send_cred(int sk, const char *msg, uid_t uid, gid_t gid)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct ucred uc = { getpid(), uid, gid };
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(c), &uc, sizeof(uc));
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		prog_fail("sendmsg %s: %s", msg, strerror(errno));
}

/* recv of sk with SO_PASSCRED: checks its bytes and credentials. */
static void check_cred(int sk, const char *want, pid_t pid, uid_t uid, gid_t gid)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + 64];
		struct cmsghdr align;
	} ctl;
	struct ucred uc = { -1, (uid_t)-1, (gid_t)-1 };
	char buf[16] = "";
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	ssize_t r;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	r = recvmsg(sk, &mh, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = 0;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
	CHECK(!strcmp(buf, want), "credentials pair: \"%s\", not %s", buf, want);
	CHECK(uc.pid == pid && uc.uid == uid && uc.gid == gid,
	      "%s: credentials pid %d uid %u gid %u, not %d %u %u", want, (int)uc.pid, uc.uid,
	      uc.gid, (int)pid, uid, gid);
}

/* One recvmsg of sk: its bytes (NUL-ended) in buf, its fds in fds.  fds count. */
static int recv_fds(int sk, char *buf, size_t len, int *fds)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, len - 1 };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	ssize_t r;
	int n = 0;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	r = recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	buf[r > 0 ? r : 0] = 0;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		}
	return n;
}

static uint64_t efd_read(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static void setup(void)
{
	int fd, efd, fds[4];
	uint64_t v = 42;
	char *dir, tmp[4096];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) ||
	    pipe(pp))
		prog_fail("socketpair/pipe: %s", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s", prog_out);
	dir = dirname(tmp);
	snprintf(fpath, sizeof(fpath), "%s/scm-file", dir);
	fd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10 || lseek(fd, 5, SEEK_SET) != 5)
		prog_fail("%s: %s", fpath, strerror(errno));
	efd = eventfd(0, 0);
	efd_kept = eventfd(7, EFD_NONBLOCK);
	if (efd < 0 || efd_kept < 0 || write(efd, &v, sizeof(v)) != sizeof(v))
		prog_fail("eventfd: %s", strerror(errno));
	send_fds(st[0], "abc", NULL, 0);
	fds[0] = pp[1];
	fds[1] = fd;
	fds[2] = efd;
	fds[3] = efd_kept;
	send_fds(st[0], "fds1", fds, 4);
	send_fds(st[0], "tail", NULL, 0);
	send_fds(sq[0], "one", &fd, 1);
	send_fds(sq[0], "two", NULL, 0);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, cr))
		prog_fail("socketpair: %s", strerror(errno));
	send_fds(cr[0], "c0", NULL, 0);
	if (setsockopt(cr[1], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)))
		prog_fail("SO_PASSCRED: %s", strerror(errno));
	send_cred(cr[0], "c1", 65534, 65534);
	send_fds(cr[0], "c2", NULL, 0);
	close(pp[1]);
	close(fd);
	close(efd);
}

static void check_stream_fds(const int *fds)
{
	char buf[16];
	uint64_t one = 1;

	CHECK(write(fds[0], "ping", 4) == 4, "pipe end in flight: write: %s", strerror(errno));
	CHECK(read(pp[0], buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4),
	      "the pipe end in flight does not reach the read end P holds");
	CHECK(lseek(fds[1], 0, SEEK_CUR) == 5, "file in flight: offset %lld, not 5",
	      (long long)lseek(fds[1], 0, SEEK_CUR));
	CHECK(read(fds[1], buf, sizeof(buf)) == 5 && !memcmp(buf, "56789", 5),
	      "file in flight: does not read 56789");
	CHECK(efd_read(fds[2]) == 42, "eventfd in flight: count is not 42");
	CHECK(write(fds[3], &one, sizeof(one)) == sizeof(one), "eventfd in flight (kept): write");
	CHECK(efd_read(efd_kept) == 8,
	      "the eventfd in flight is not the description P holds (count not 8)");
}

/* What the dump refuses, in flight on a pair of its own. */
static void setup_refused(const char *what)
{
	int xs[2], in[2], p[2], fd;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, xs))
		prog_fail("socketpair: %s", strerror(errno));
	if (!strcmp(what, "nested")) {
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, in) || pipe(p))
			prog_fail("socketpair/pipe: %s", strerror(errno));
		send_fds(in[0], "inner", &p[1], 1);
		send_fds(xs[0], "outer", &in[1], 1);
		close(in[1]);
		close(p[1]);
		return;
	}
	if (!strcmp(what, "child")) {
		pid_t c;

		if (setsockopt(xs[1], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)))
			prog_fail("SO_PASSCRED: %s", strerror(errno));
		c = fork();
		if (c < 0)
			prog_fail("fork: %s", strerror(errno));
		if (c == 0) {
			send_fds(xs[0], "child", NULL, 0);
			_exit(0);
		}
		if (waitpid(c, NULL, 0) != c)
			prog_fail("waitpid: %s", strerror(errno));
		return;
	}
	fd = epoll_create1(0);
	if (fd < 0)
		prog_fail("epoll_create1: %s", strerror(errno));
	send_fds(xs[0], "epoll", &fd, 1);
	close(fd);
}

int main(int argc, char **argv)
{
	int fds[8], sfd[8], n, i;
	char buf[64];

	prog_init(argc, argv, "unixsk-scm");
	setup();
	if (argc > 2)
		setup_refused(argv[2]);
	prog_ready();
	prog_wait_go();

	n = recv_fds(st[1], buf, sizeof(buf), fds);
	CHECK(!strcmp(buf, "abcfds1"), "stream: first read gives \"%s\", not abcfds1", buf);
	CHECK(n == 4, "stream: %d fds came with abcfds1, not 4", n);
	if (n == 4)
		check_stream_fds(fds);
	n = recv_fds(st[1], buf, sizeof(buf), sfd);
	CHECK(!strcmp(buf, "tail") && n == 0, "stream: second read gives \"%s\" and %d fds", buf,
	      n);
	n = recv_fds(sq[1], buf, sizeof(buf), sfd);
	CHECK(!strcmp(buf, "one") && n == 1, "seqpacket: \"%s\" with %d fds, not one with 1", buf,
	      n);
	if (n == 1)
		CHECK(lseek(sfd[0], 0, SEEK_CUR) == 10,
		      "seqpacket: its file is not the stream's description (offset %lld)",
		      (long long)lseek(sfd[0], 0, SEEK_CUR));
	n = recv_fds(sq[1], buf, sizeof(buf), sfd + 1);
	CHECK(!strcmp(buf, "two") && n == 0, "seqpacket: \"%s\" with %d fds, not two with 0", buf,
	      n);
	check_cred(cr[1], "c0", 0, 65534, 65534);
	check_cred(cr[1], "c1", getpid(), 65534, 65534);
	check_cred(cr[1], "c2", getpid(), 0, 0);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	unlink(fpath);
	prog_finish();
}
