/*
 * A listener's accept queue (tcpsk.h, tcpsk_acceptq_read).  A connection
 * waiting to be accepted has no fd to copy: the only way to read it is to
 * accept it on our copy of the listener, which takes it from the target.
 * So each is put back at once, before the next is taken (lib/net/tcpq.h:
 * a forged handshake that makes the listener choose the same ISN), and
 * the queue ends as it was, same connections in the same order, each
 * with its bytes and options; what a program could tell apart is only
 * the kernel's estimates (RTT, congestion window), which start afresh.
 * This runs in a forked process while the tree is frozen and its
 * listener locked, so that a vxdump killed meanwhile does not leave a
 * connection outside the queue: the process finishes the one in hand and
 * the rest.  It writes what it read to a memfd, one record per
 * connection, its bytes after it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define LOG_PREFIX "dump/tcpsk: "
#include "log.h"
#include "dump/dump.h"
#include "dump/tcpsk.h"
#include "net/tcpq.h"
#include "util/testhook.h"

#define ACCEPTQ_MAX 65536u	  /* connections of one queue */
#define ACCEPTQ_BYTES (64u << 20) /* bytes queued on all of them */
#define EXIT_REFUSED 2

/* One connection as the forked process writes it; inq_len bytes follow. */
struct aq_rec {
	TcpskConn conn;
	struct net_addr local, peer;
	bool fin, ecn;
};

/* One connection of the queue with what the image points to. */
struct aq_item {
	TcpskChild ch;
	TcpskConn conn;
	InetAddr local_pb, peer_pb;
	struct net_addr local, peer;
};

/* The slots of df->sub2: the array e->accept_queue, then the items. */
struct aq_block {
	TcpskChild **v;
	struct aq_item items[];
};

/* Can we use TCP_REPAIR here?  Asked on a new socket before any
 * connection is taken.  0 or -EOPNOTSUPP (logged). */
static int can_repair(int family, const char *who)
{
	int sk = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), on = TCP_REPAIR_ON;
	int ret = 0;

	if (sk < 0 || setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		pr_err("%s: listening, with connections in its accept queue, which need TCP "
		       "repair: %s\n",
		       who, strerror(errno));
		ret = -EOPNOTSUPP;
	}
	if (sk >= 0)
		close(sk);
	return ret;
}

/*
 * Accepts the next connection of listener fd and reads it under
 * TCP_REPAIR into r and *data (malloc'ed), c pointing to them.  The
 * accepted socket is closed in repair mode (silently).  0, -EOPNOTSUPP
 * (a refusal, logged) or -errno (logged).
 */
static int take_one(int fd, struct aq_rec *r, uint8_t **data, struct net_tcp_child *c,
		    const char *who)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	uint32_t rcv_nxt = 0, write_seq = 0;
	int ch, on = TCP_REPAIR_ON, ret;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	*data = NULL;
	if (poll(&pf, 1, 0) != 1 || (ch = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		pr_err("%s: its accept queue is shorter than it said\n", who);
		return -EIO;
	}
	memset(r, 0, sizeof(*r));
	tcpsk_conn__init(&r->conn);
	if (getsockopt(ch, SOL_TCP, TCP_INFO, &ti, &len) ||
	    (ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_CLOSE_WAIT)) {
		pr_err("%s: a connection of its accept queue is %s: not supported\n", who,
		       tcpsk_state_name(ti.tcpi_state));
		close(ch);
		return -EOPNOTSUPP;
	}
	r->fin = ti.tcpi_state == TCP_CLOSE_WAIT;
	r->ecn = ti.tcpi_options & TCPI_OPT_ECN;
	ret = net_sock_local(ch, &r->local) ?: net_sock_peer(ch, &r->peer);
	if (!ret && setsockopt(ch, SOL_TCP, TCP_REPAIR, &on, sizeof(on)))
		ret = -errno;
	if (ret)
		pr_err("%s: a connection of its accept queue: %s\n", who, strerror(-ret));
	ret = ret ?: tcpsk_conn_read(ch, &r->conn, &ti, who);
	if (!ret && (r->conn.outq_len || r->conn.inq_len > ACCEPTQ_BYTES)) {
		pr_err("%s: a connection of its accept queue with %u/%u bytes queued: not "
		       "supported\n",
		       who, r->conn.inq_len, r->conn.outq_len);
		ret = -EOPNOTSUPP;
	}
	if (!ret && !(*data = malloc(r->conn.inq_len + 1)))
		ret = -ENOMEM;
	ret = ret ?: tcpsk_queue_seq(ch, TCP_RECV_QUEUE, &rcv_nxt, who);
	ret = ret ?: tcpsk_peek_queue(ch, *data, r->conn.inq_len, who, "peek of the receive queue");
	ret = ret ?: tcpsk_queue_seq(ch, TCP_SEND_QUEUE, &write_seq, who);
	close(ch);
	if (ret)
		return ret;
	PB_SET(&r->conn, rcv_seq, rcv_nxt - r->conn.inq_len - r->fin);
	PB_SET(&r->conn, snd_seq, write_seq);
	PB_SET(&r->conn, unsent_len, 0);
	memset(c, 0, sizeof(*c));
	c->local = r->local;
	c->peer = r->peer;
	c->iss = write_seq - 1;
	c->irs = r->conn.rcv_seq - 1;
	c->snd_wnd = r->conn.snd_wnd;
	c->mss = r->conn.mss;
	c->snd_wscale = r->conn.snd_wscale;
	c->wscale = r->conn.wscale;
	c->sack = r->conn.sack;
	c->ts = r->conn.timestamps;
	c->ecn = r->ecn;
	c->fin = r->fin;
	c->data = *data;
	c->len = r->conn.inq_len;
	return 0;
}

/* Writes len bytes to fd.  0 or -errno. */
static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t w;

	while (len) {
		w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * The forked process: takes each of the n connections of listener fd
 * out, writes it to out and puts it back, then checks them all.  Its exit
 * status: 0, EXIT_REFUSED or 1.
 */
static int requeuer(int fd, int family, int out, unsigned int n, const char *who)
{
	struct net_forge fg = { -1, -1, "" };
	struct net_tcp_child *v = calloc(n, sizeof(*v));
	uint8_t **bufs = calloc(n, sizeof(*bufs));
	struct aq_rec r;
	unsigned int i;
	int back, ret = v && bufs ? 0 : -ENOMEM;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; !ret && i < n; i++) {
		ret = take_one(fd, &r, &bufs[i], &v[i], who);
		if (ret)
			break;
		ret = write_all(out, &r, sizeof(r)) ?: write_all(out, bufs[i], r.conn.inq_len);
		if (ret)
			pr_err("%s: cannot keep what its accept queue holds: %s\n", who,
			       strerror(-ret));
		test_pause("tcpsk-acceptq");
		/* back in, even if it could not be written down */
		back = net_tcp_requeue(&fg, fd, &v[i], who);
		ret = ret ? ret : back;
	}
	ret = ret ?: net_tcp_requeue_check(family, v, n, who);
	net_forge_close(&fg);
	return ret == -EOPNOTSUPP ? EXIT_REFUSED : ret ? 1 : 0;
}

/* The records of the memfd (len bytes at p) into the image.  0 or -errno. */
static int take_records(struct dump_file *df, TcpskEntry *e, const uint8_t *p, size_t len,
			unsigned int n, const char *who)
{
	struct aq_block *b = calloc(1, sizeof(*b) + n * sizeof(b->items[0]));
	size_t at = 0, qlen = 0;
	unsigned int i;
	struct aq_rec r;
	uint8_t *q;

	if (!b)
		return -ENOMEM;
	df->sub2 = b;
	b->v = calloc(n, sizeof(*b->v));
	q = malloc(len + 4 * (size_t)n); /* the bytes, each after its length */
	if (!b->v || !q) {
		free(b->v);
		b->v = NULL;
		free(q);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct aq_item *it = &b->items[i];

		if (len - at < sizeof(r)) {
			free(q);
			pr_err("%s: the record of its accept queue is short\n", who);
			return -EIO;
		}
		memcpy(&r, p + at, sizeof(r));
		at += sizeof(r);
		if (len - at < r.conn.inq_len) {
			free(q);
			pr_err("%s: the record of its accept queue is short\n", who);
			return -EIO;
		}
		memcpy(q + qlen, &r.conn.inq_len, 4);
		memcpy(q + qlen + 4, p + at, r.conn.inq_len);
		qlen += 4 + r.conn.inq_len;
		at += r.conn.inq_len;
		tcpsk_child__init(&it->ch);
		it->conn = r.conn;
		it->local = r.local;
		it->peer = r.peer;
		net_addr_to_pb(&it->local, &it->local_pb);
		net_addr_to_pb(&it->peer, &it->peer_pb);
		it->ch.local = &it->local_pb;
		it->ch.peer = &it->peer_pb;
		it->ch.conn = &it->conn;
		if (r.fin)
			PB_SET(&it->ch, fin, 1);
		if (r.ecn)
			PB_SET(&it->ch, ecn, 1);
		b->v[i] = &it->ch;
	}
	free(df->skq);
	df->skq = q;
	df->skq_len = qlen;
	e->accept_queue = b->v;
	e->n_accept_queue = n;
	return 0;
}

/* Maps the memfd's len bytes and takes them.  0 or -errno (logged). */
static int read_back(int mfd, struct dump_file *df, TcpskEntry *e, unsigned int n, const char *who)
{
	off_t len = lseek(mfd, 0, SEEK_END);
	void *p;
	int ret;

	if (len <= 0) {
		pr_err("%s: nothing came of its accept queue\n", who);
		return -EIO;
	}
	p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (p == MAP_FAILED) {
		pr_perror("%s: cannot map what its accept queue holds", who);
		return -errno;
	}
	ret = take_records(df, e, p, (size_t)len, n, who);
	munmap(p, (size_t)len);
	return ret;
}

int tcpsk_acceptq_read(struct dump_op *op, struct dump_file *df, TcpskEntry *e, unsigned int n,
		       const char *who)
{
	int mfd, status = 0, ret;
	pid_t pid;

	(void)op;
	if (n > ACCEPTQ_MAX) {
		pr_err("%s: listening, with %u connections in its accept queue: more than %u not "
		       "supported\n",
		       who, n, ACCEPTQ_MAX);
		return -EOPNOTSUPP;
	}
	ret = can_repair(e->family, who);
	if (ret)
		return ret;
	mfd = memfd_create("vxcr-acceptq", MFD_CLOEXEC);
	if (mfd < 0) {
		pr_perror("%s: memfd_create", who);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("%s: cannot fork to read its accept queue", who);
		close(mfd);
		return -errno;
	}
	if (!pid)
		_exit(requeuer(df->local_fd, e->family, mfd, n, who));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		close(mfd);
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_REFUSED)
			return -EOPNOTSUPP;
		pr_err("%s: its accept queue could not be read and put back whole\n", who);
		return -EIO;
	}
	ret = read_back(mfd, df, e, n, who);
	close(mfd);
	return ret;
}
