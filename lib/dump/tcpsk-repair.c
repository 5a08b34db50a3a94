/*
 * Established TCP connections read under TCP_REPAIR (tcpsk.h), and the
 * keeper that takes a socket out of repair mode if vxdump dies first.
 *
 * Facts this relies on (Linux 6.18): TCP_REPAIR needs CAP_NET_ADMIN and
 * a socket that is not listening; in repair mode recv(MSG_PEEK) reads
 * the queue TCP_REPAIR_QUEUE names (the send queue whole: sent and not
 * acknowledged, then not sent; the receive queue from the first unread
 * byte), TCP_QUEUE_SEQ gives write_seq or rcv_nxt, TCP_REPAIR_WINDOW the
 * window; TCP_REPAIR_OPTIONS cannot be read (TCP_INFO and TCP_MAXSEG
 * say them).  Repair mode sets sk_reuse to "force" and leaving it resets
 * it to none, so SO_REUSEADDR is read before and set again after.  A
 * socket closed in repair mode is disconnected without a FIN or RST.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#define LOG_PREFIX "dump/tcpsk: "
#include "log.h"
#include "dump/dump.h"
#include "dump/tcpsk.h"
#include "util/keeper.h"
#include "util/testhook.h"

#define QUEUE_MAX (256u << 20) /* bytes of one connection's queues we keep */
#define KEEP_FD 'F'	       /* a socket in repair mode, SO_REUSEADDR off */
#define KEEP_FD_REUSE 'R'      /* the same with SO_REUSEADDR on */
#define KEEP_QUIT 'Q'	       /* vxdump has dealt with them: close and exit */

/* The dump's sockets in repair mode (our copies and the keeper), and
 * what new sockets read here. */
struct dump_tcp {
	pid_t keeper; /* 0 until started */
	int sk;	      /* to the keeper */
	int *fds;
	bool *reuse;
	size_t n, cap;
	struct tcpsk_dflt dflt[2]; /* AF_INET, AF_INET6 */
	struct stat ns;
	bool have_ns;
};

/* op's TCP state, made on first use.  NULL if out of memory. */
static struct dump_tcp *tcp_of(struct dump_op *op)
{
	struct dump_tcp *t = op->tcp;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->sk = -1;
	t->dflt[0].fd = t->dflt[1].fd = -1;
	op->tcp = t;
	return t;
}

struct tcpsk_dflt *tcpsk_defaults(struct dump_op *op, int family)
{
	struct dump_tcp *t = tcp_of(op);
	struct tcpsk_dflt *d;

	if (!t)
		return NULL;
	d = &t->dflt[family == AF_INET6];
	if (d->fd < 0)
		d->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (d->fd < 0) {
		pr_perror("cannot make a TCP socket to compare with");
		return NULL;
	}
	return d;
}

const struct stat *tcpsk_netns(struct dump_op *op)
{
	struct dump_tcp *t = tcp_of(op);

	if (!t)
		return NULL;
	if (!t->have_ns && stat("/proc/self/ns/net", &t->ns)) {
		pr_perror("cannot stat our network namespace");
		return NULL;
	}
	t->have_ns = true;
	return &t->ns;
}

/* Out of repair mode (a window probe follows), SO_REUSEADDR as it was. */
static void repair_off(int fd, bool reuse)
{
	int off = TCP_REPAIR_OFF, one = 1;

	setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off));
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

/* One fd and its flag from the dumper; 0 at EOF, -1 on error. */
static int keeper_recv(int sk, int *fd, char *what)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { what, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t r;

	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	do
		r = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	*fd = -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

/*
 * The keeper: holds every socket sent to it.  At KEEP_QUIT it closes
 * them as they are; if vxdump dies first (EOF) and the tree's root still
 * lives, it takes each out of repair mode, so the target's connections go
 * on.  Never returns.
 */
static void keeper_main(int sk, pid_t root)
{
	int *fds = NULL, *nf, fd, pidfd, r;
	bool *reuse = NULL, *nr;
	size_t n = 0, i;
	struct pollfd pf;
	char what = 0;

	keeper_detach(sk);
	signal(SIGPIPE, SIG_IGN);
	pidfd = (int)syscall(SYS_pidfd_open, root, 0);
	while ((r = keeper_recv(sk, &fd, &what)) > 0 && what != KEEP_QUIT) {
		nf = realloc(fds, (n + 1) * sizeof(*fds));
		nr = realloc(reuse, (n + 1) * sizeof(*reuse));
		if (nf)
			fds = nf;
		if (nr)
			reuse = nr;
		if (!nf || !nr || fd < 0)
			continue; /* cannot happen short of memory; nothing else to do */
		fds[n] = fd;
		reuse[n++] = what == KEEP_FD_REUSE;
	}
	pf.fd = pidfd;
	pf.events = POLLIN;
	if (what != KEEP_QUIT && (pidfd < 0 || poll(&pf, 1, 0) == 0))
		for (i = 0; i < n; i++)
			repair_off(fds[i], reuse[i]);
	_exit(0);
}

/* Forks the keeper for the tree of op.  0 or -errno (logged). */
static int keeper_start(struct dump_op *op, struct dump_tcp *t)
{
	int sk[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk)) {
		pr_perror("cannot make the TCP repair keeper's socket");
		return -errno;
	}
	t->keeper = fork();
	if (t->keeper < 0) {
		pr_perror("cannot start the TCP repair keeper");
		close(sk[0]);
		close(sk[1]);
		return -errno;
	}
	if (!t->keeper)
		keeper_main(sk[0], op->root->pid);
	close(sk[0]);
	t->sk = sk[1];
	return 0;
}

/* Sends fd to the keeper.  0 or -errno (logged). */
static int keeper_send(struct dump_tcp *t, int fd, bool reuse)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char what = reuse ? KEEP_FD_REUSE : KEEP_FD;
	struct iovec iov = { &what, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	memset(&ctl, 0, sizeof(ctl));
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(t->sk, &mh, MSG_NOSIGNAL) != 1) {
		pr_perror("cannot hand a socket to the TCP repair keeper");
		return -errno ?: -EIO;
	}
	return 0;
}

/*
 * Keeps a copy of fd (ours and the keeper's) before it goes into repair
 * mode.  0 or -errno (logged).
 */
static int track(struct dump_op *op, int fd, bool reuse)
{
	struct dump_tcp *t = tcp_of(op);
	int copy, ret;

	if (!t)
		return -ENOMEM;
	if (!t->keeper) {
		ret = keeper_start(op, t);
		if (ret)
			return ret;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		int *nf = realloc(t->fds, cap * sizeof(*nf));
		bool *nr = nf ? realloc(t->reuse, cap * sizeof(*nr)) : NULL;

		if (nf)
			t->fds = nf;
		if (!nr)
			return -ENOMEM;
		t->reuse = nr;
		t->cap = cap;
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	ret = keeper_send(t, fd, reuse);
	if (ret) {
		close(copy);
		return ret;
	}
	t->fds[t->n] = copy;
	t->reuse[t->n++] = reuse;
	return 0;
}

void tcpsk_end(struct dump_op *op, bool killed)
{
	struct dump_tcp *t = op->tcp;
	char q = KEEP_QUIT;
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		if (!killed)
			repair_off(t->fds[i], t->reuse[i]);
		close(t->fds[i]);
	}
	if (t->sk >= 0) {
		if (write(t->sk, &q, 1) != 1)
			pr_warn("the TCP repair keeper is gone\n");
		close(t->sk);
	}
	if (t->keeper > 0)
		while (waitpid(t->keeper, NULL, 0) < 0 && errno == EINTR)
			;
	for (i = 0; i < 2; i++)
		if (t->dflt[i].fd >= 0)
			close(t->dflt[i].fd);
	free(t->fds);
	free(t->reuse);
	free(t);
	op->tcp = NULL;
}

/* An int getsockopt/ioctl failure of a repair step, logged.  -errno. */
static int step_failed(const char *who, const char *what)
{
	int ret = -errno;

	pr_err("%s: TCP repair: %s: %s\n", who, what, strerror(errno));
	return ret;
}

int tcpsk_queue_seq(int fd, int q, uint32_t *seq, const char *who)
{
	socklen_t len = sizeof(*seq);

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)))
		return step_failed(who, "TCP_REPAIR_QUEUE");
	if (q != TCP_NO_QUEUE && getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq, &len))
		return step_failed(who, "TCP_QUEUE_SEQ");
	return 0;
}

int tcpsk_peek_queue(int fd, uint8_t *buf, uint32_t len, const char *who, const char *what)
{
	ssize_t r;

	if (!len)
		return 0;
	r = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return step_failed(who, what);
	if ((uint32_t)r != len) {
		pr_err("%s: TCP repair: %s gave %zd bytes of %u\n", who, what, r, len);
		return -EIO;
	}
	return 0;
}

/*
 * Peeks the send queue (SIOCOUTQ said out: its bytes, and our FIN if it
 * is sent and not acknowledged yet) into buf; *len gets its bytes.
 */
static int peek_sendq(int fd, uint8_t *buf, uint32_t out, bool fin, uint32_t *len, const char *who)
{
	ssize_t r;

	*len = 0;
	if (!out)
		return 0;
	r = recv(fd, buf, out, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return step_failed(who, "peek of the send queue");
	if ((uint32_t)r != out && !(fin && (uint32_t)r + 1 == out)) {
		pr_err("%s: TCP repair: peek of the send queue gave %zd bytes of %u\n", who, r,
		       out);
		return -EIO;
	}
	*len = r;
	return 0;
}

/*
 * Both queues into df->skq as two stream messages ([u32 len][bytes]):
 * the receive queue, then the send queue.  A FIN we sent takes one
 * sequence number after the send queue (not in it); one received is in
 * rcv_nxt, not in the receive queue (the queued bytes are put back one
 * number later, which nobody sees).  0 or -errno (logged).
 */
static int read_queues(struct dump_file *df, TcpskConn *c, bool fin, const char *who)
{
	uint32_t in = c->inq_len, out = c->outq_len, rcv_nxt = 0, write_seq = 0, sent = 0;
	int fd = df->local_fd, ret;
	uint8_t *b;

	if ((uint64_t)in + out > QUEUE_MAX) {
		pr_err("%s: %u + %u bytes queued: more than %u MiB not supported\n", who, in, out,
		       QUEUE_MAX >> 20);
		return -EOPNOTSUPP;
	}
	b = malloc((size_t)in + out + 8);
	if (!b)
		return -ENOMEM;
	df->skq = b;
	memcpy(b, &in, 4);
	memcpy(b + 4 + in, &out, 4);
	ret = tcpsk_queue_seq(fd, TCP_RECV_QUEUE, &rcv_nxt, who);
	ret = ret ?: tcpsk_peek_queue(fd, b + 4, in, who, "peek of the receive queue");
	ret = ret ?: tcpsk_queue_seq(fd, TCP_SEND_QUEUE, &write_seq, who);
	ret = ret ?: peek_sendq(fd, b + 8 + in, out, fin, &sent, who);
	ret = ret ?: tcpsk_queue_seq(fd, TCP_NO_QUEUE, NULL, who);
	if (ret)
		return ret;
	memcpy(b + 4 + in, &sent, 4);
	df->skq_len = (size_t)in + sent + 8;
	PB_SET(c, outq_len, sent);
	PB_SET(c, rcv_seq, rcv_nxt - in);
	PB_SET(c, snd_seq, write_seq - sent - fin);
	return 0;
}

/* Queue sizes (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD) into c.  0 or -errno. */
static int queue_sizes(int fd, TcpskConn *c, const char *who)
{
	int in = 0, out = 0, unsent = 0;

	if (ioctl(fd, SIOCINQ, &in) || ioctl(fd, SIOCOUTQ, &out) || ioctl(fd, SIOCOUTQNSD, &unsent))
		return step_failed(who, "queue sizes");
	if (in < 0 || out < 0 || unsent < 0 || unsent > out) {
		pr_err("%s: TCP repair: queue sizes %d/%d/%d make no sense\n", who, in, out,
		       unsent);
		return -EIO;
	}
	PB_SET(c, inq_len, in);
	PB_SET(c, outq_len, out);
	PB_SET(c, unsent_len, unsent);
	return 0;
}

/* MSS, timestamp clock, window, and the options TCP_INFO names. */
static int read_conn(int fd, TcpskConn *c, const struct tcp_info *ti, const char *who)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof(int);
	int mss = 0, ts = 0;

	if (getsockopt(fd, SOL_TCP, TCP_MAXSEG, &mss, &len))
		return step_failed(who, "TCP_MAXSEG");
	len = sizeof(ts);
	if (getsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &ts, &len))
		return step_failed(who, "TCP_TIMESTAMP");
	len = sizeof(w);
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, &len) || len != sizeof(w))
		return step_failed(who, "TCP_REPAIR_WINDOW");
	PB_SET(c, mss, mss);
	PB_SET(c, timestamp, ts);
	PB_SET(c, snd_wl1, w.snd_wl1);
	PB_SET(c, snd_wnd, w.snd_wnd);
	PB_SET(c, max_window, w.max_window);
	PB_SET(c, rcv_wnd, w.rcv_wnd);
	PB_SET(c, rcv_wup, w.rcv_wup);
	if (ti->tcpi_options & TCPI_OPT_WSCALE) {
		PB_SET(c, wscale, 1);
		PB_SET(c, snd_wscale, ti->tcpi_snd_wscale);
		PB_SET(c, rcv_wscale, ti->tcpi_rcv_wscale);
	}
	if (ti->tcpi_options & TCPI_OPT_SACK)
		PB_SET(c, sack, 1);
	if (ti->tcpi_options & TCPI_OPT_TIMESTAMPS)
		PB_SET(c, timestamps, 1);
	return 0;
}

int tcpsk_conn_read(int fd, TcpskConn *c, const struct tcp_info *ti, const char *who)
{
	return queue_sizes(fd, c, who) ?: read_conn(fd, c, ti, who);
}

int tcpsk_repair_read(struct dump_op *op, struct dump_file *df, TcpskConn *c,
		      const struct tcp_info *ti, bool reuse, const char *who)
{
	int on = TCP_REPAIR_ON, fd = df->local_fd, ret;

	ret = track(op, fd, reuse);
	if (ret) {
		pr_err("%s: cannot keep the socket for TCP repair: %s\n", who, strerror(-ret));
		return ret;
	}
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		pr_err("%s: cannot put the connection in TCP repair mode: %s\n", who,
		       strerror(errno));
		return errno == EPERM ? -EOPNOTSUPP : -errno;
	}
	ret = test_fail("tcpsk-repair") ?: tcpsk_conn_read(fd, c, ti, who);
	ret = ret ?: read_queues(df, c, TCPSK_FIN_SENT & (1 << ti->tcpi_state), who);
	if (!ret && TCPSK_FIN_SENT & (1 << ti->tcpi_state))
		PB_SET(c, unsent_len, 0); /* all of it goes before our FIN, in repair mode */
	return ret;
}
