/*
 * TCP sockets, IPv4 and IPv6 (fd kind "tcpsk"), in the root's C part.
 * The first TCP socket's open makes every TCP socket of the image, the
 * listening and unconnected ones first (a listener binds its port before
 * the connections accepted from it take it too), then the established
 * ones.  Each: socket() with the recorded inode owner (fsuid/fsgid), the
 * SOL_SOCKET options (lib/net/sockopt.c) and TCP/IP options, each read
 * back, bound through net_bind (an address not on this host is refused,
 * never rebound elsewhere), listen(backlog).  An established connection
 * is rebuilt under TCP_REPAIR: both queues' sequence numbers, bind,
 * connect (no SYN in repair mode), TCP_REPAIR_OPTIONS (MSS, window
 * scale, SACK, timestamps), TCP_TIMESTAMP, the receive queue and the
 * sent part of the send queue refilled, then TCP_REPAIR_WINDOW (the
 * kernel refuses it before the receive queue is back).  It leaves repair
 * mode in tcpsk_resume(), from vxrestore once the whole tree is built and
 * before it runs, after the network lock is dropped: leaving sends a
 * window probe, which a peer not restored yet would answer with a RST
 * and the lock would drop; the bytes not sent yet are then sent as a
 * program would (sent under the lock they would wait for a resend).
 * Until then a failed or killed restore closes them in repair mode,
 * without a word to the peer.
 */
#define LOG_PREFIX "restore/tcpsk: "
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#include "log.h"
#include "net/inet.h"
#include "net/netlock.h"
#include "net/sockopt.h"
#include "restore/restore.h"
#include "tcpsk.pb-c.h"

#define QUEUE_MAX (256u << 20) /* as the dump (lib/dump/tcpsk-repair.c) */
#define TCP_MAX_WSCALE 14
#define TCP_MIN_MSS 88
#define MAX_TCP_KEEP 32767
#define MAX_TCP_KEEPCNT 127

/* States of a connection (a conn of the image): established, half-closed, closing. */
#define CONN_STATES                                                                             \
	(1 << TCP_ESTABLISHED | 1 << TCP_FIN_WAIT1 | 1 << TCP_FIN_WAIT2 | 1 << TCP_CLOSE_WAIT | \
	 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)
#define FIN_SENT (1 << TCP_FIN_WAIT1 | 1 << TCP_FIN_WAIT2 | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)
#define FIN_RECEIVED (1 << TCP_CLOSE_WAIT | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)

/* Is state (checked: below 32) one of those of mask? */
static bool in_states(uint32_t state, uint32_t mask)
{
	return state < 32 && (mask & (1u << state));
}

/* The name restore's messages give a TCP socket. */
static const char *who_of(const FileEntry *fe, char *buf, size_t len)
{
	snprintf(buf, len, "tcp socket (file id %u)", fe->id);
	return buf;
}

/* One range check of the image: false (logged) if v is not in lo..hi. */
static bool in_range(const FileEntry *fe, const char *what, bool has, uint64_t v, uint64_t lo,
		     uint64_t hi)
{
	if (!has || (v >= lo && v <= hi))
		return true;
	pr_err("image: tcp socket (file id %u): %s %llu out of range\n", fe->id, what,
	       (unsigned long long)v);
	return false;
}

/* The TCP and IP options in range.  0 or -EBADMSG (logged). */
static int check_opts(const FileEntry *fe, const TcpskEntry *e)
{
	const char *cc = e->congestion;
	char who[48];

	if (!in_range(fe, "TCP_KEEPIDLE", e->has_keepidle, e->keepidle, 1, MAX_TCP_KEEP) ||
	    !in_range(fe, "TCP_KEEPINTVL", e->has_keepintvl, e->keepintvl, 1, MAX_TCP_KEEP) ||
	    !in_range(fe, "TCP_KEEPCNT", e->has_keepcnt, e->keepcnt, 1, MAX_TCP_KEEPCNT) ||
	    !in_range(fe, "TCP_USER_TIMEOUT", e->has_user_timeout, e->user_timeout, 0, INT_MAX) ||
	    !in_range(fe, "TCP_MAXSEG", e->has_maxseg, e->maxseg, TCP_MIN_MSS, 32767) ||
	    !in_range(fe, "TCP_DEFER_ACCEPT", e->has_defer_accept, e->defer_accept, 0, INT_MAX) ||
	    !in_range(fe, "TCP_FASTOPEN", e->has_fastopen, e->fastopen, 0, INT_MAX) ||
	    !in_range(fe, "tos", e->has_tos, e->tos, 0, 255) ||
	    !in_range(fe, "ttl", e->has_ttl, e->ttl, 1, 255) ||
	    !in_range(fe, "backlog", e->has_backlog, e->backlog, 0, 65535))
		return -EBADMSG;
	if ((e->has_v6only && e->family != AF_INET6) ||
	    (e->has_backlog && e->state != TCP_LISTEN) ||
	    (e->has_maxseg && in_states(e->state, CONN_STATES)) ||
	    (cc && (!cc[0] || strlen(cc) > 15 || strchr(cc, '/')))) {
		pr_err("image: tcp socket (file id %u): IPV6_V6ONLY, backlog, TCP_MAXSEG or "
		       "TCP_CONGESTION does not fit the socket\n",
		       fe->id);
		return -EBADMSG;
	}
	return e->opts ? net_skopts_check(e->opts, who_of(fe, who, sizeof(who))) : 0;
}

/* The connection of an established socket in range.  0 or -EBADMSG. */
static int check_conn(const struct rst_image *img, const struct rst_file *f)
{
	const TcpskConn *c = f->fe->tcpsk->conn;
	const FileEntry *fe = f->fe;
	uint64_t q = 0;
	int ret;

	if (!c || !c->has_snd_seq || !c->has_rcv_seq || !c->has_mss || !f->fe->tcpsk->peer) {
		pr_err("image: tcp socket (file id %u): established without its connection or "
		       "peer\n",
		       fe->id);
		return -EBADMSG;
	}
	if (!in_range(fe, "mss", true, c->mss, 1, 65535) ||
	    !in_range(fe, "snd_wscale", c->wscale, c->snd_wscale, 0, TCP_MAX_WSCALE) ||
	    !in_range(fe, "rcv_wscale", c->wscale, c->rcv_wscale, 0, TCP_MAX_WSCALE) ||
	    !in_range(fe, "queued bytes", true, (uint64_t)c->inq_len + c->outq_len, 0, QUEUE_MAX) ||
	    !in_range(fe, "unsent bytes", true, c->unsent_len, 0,
		      in_states(f->fe->tcpsk->state, FIN_SENT) ? 0 : c->outq_len))
		return -EBADMSG;
	ret = rst_skq_len(img, f, &q);
	if (!ret && q != (uint64_t)c->inq_len + c->outq_len) {
		pr_err("image: tcp socket (file id %u): %llu bytes queued, its entry says %llu\n",
		       fe->id, (unsigned long long)q, (unsigned long long)c->inq_len + c->outq_len);
		return -EBADMSG;
	}
	return ret;
}

/* The image alone: the entry there, every field in range. */
static int check_tcpsk(const struct rst_image *img, const struct rst_file *f)
{
	const TcpskEntry *e = f->fe->tcpsk;
	struct net_addr a;
	uint64_t q = 0;
	char who[48];
	int ret;

	if (!e || !e->has_family || !e->has_state || !e->has_uid || !e->has_gid ||
	    (e->family != AF_INET && e->family != AF_INET6) ||
	    (!in_states(e->state, CONN_STATES) && e->state != TCP_CLOSE &&
	     e->state != TCP_LISTEN) ||
	    e->uid == UINT32_MAX || e->gid == UINT32_MAX) {
		pr_err("image: tcp socket (file id %u) has no tcpsk entry, or its family, state "
		       "or owner is missing or out of range\n",
		       f->fe->id);
		return -EBADMSG;
	}
	who_of(f->fe, who, sizeof(who));
	if ((e->state != TCP_CLOSE && !e->local) ||
	    (!in_states(e->state, CONN_STATES) && (e->peer || e->conn))) {
		pr_err("image: %s: its addresses or connection do not fit state %u\n", who,
		       e->state);
		return -EBADMSG;
	}
	ret = (e->local ? net_addr_from_pb(e->local, e->family, &a, who, "local") : 0) ?:
		      (e->peer ? net_addr_from_pb(e->peer, e->family, &a, who, "peer") : 0);
	ret = ret ?: check_opts(f->fe, e);
	if (!ret && e->n_accept_queue && e->state != TCP_LISTEN) {
		pr_err("image: %s: an accept queue on a socket that is not listening\n", who);
		return -EBADMSG;
	}
	if (ret || in_states(e->state, CONN_STATES))
		return ret ?: check_conn(img, f);
	ret = rst_skq_len(img, f, &q);
	if (!ret && e->n_accept_queue)
		return tcpsk_acceptq_check(e, q, who);
	if (!ret && q) {
		pr_err("image: %s: queued data on a socket that is not connected\n", who);
		return -EBADMSG;
	}
	return ret;
}

/* The TCP and IP options of e that differ from a new socket's. */
static int set_tcp_opts(int sk, const TcpskEntry *e, const char *who)
{
	bool v6 = e->family == AF_INET6;
	const struct net_int_set opts[] = {
		{ SOL_TCP, TCP_NODELAY, "TCP_NODELAY", e->has_nodelay, (int)e->nodelay },
		{ SOL_TCP, TCP_CORK, "TCP_CORK", e->has_cork, (int)e->cork },
		{ SOL_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", e->has_keepidle, (int)e->keepidle },
		{ SOL_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", e->has_keepintvl, (int)e->keepintvl },
		{ SOL_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", e->has_keepcnt, (int)e->keepcnt },
		{ SOL_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", e->has_user_timeout,
		  (int)e->user_timeout },
		{ SOL_TCP, TCP_MAXSEG, "TCP_MAXSEG", e->has_maxseg, (int)e->maxseg },
		{ SOL_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", e->has_defer_accept,
		  (int)e->defer_accept },
		{ SOL_TCP, TCP_FASTOPEN, "TCP_FASTOPEN", e->has_fastopen, (int)e->fastopen },
		{ SOL_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", e->has_notsent_lowat,
		  (int)e->notsent_lowat },
		{ SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", e->has_v6only, (int)e->v6only },
		{ v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TCLASS : IP_TOS, v6 ? "IPV6_TCLASS" : "IP_TOS",
		  e->has_tos, (int)e->tos },
		{ v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL,
		  v6 ? "IPV6_UNICAST_HOPS" : "IP_TTL", e->has_ttl, (int)e->ttl },
		{ SOL_IP, IP_FREEBIND, "IP_FREEBIND", e->has_freebind, (int)e->freebind },
		{ SOL_IP, IP_TRANSPARENT, "IP_TRANSPARENT", e->has_transparent,
		  (int)e->transparent },
	};
	int ret;

	ret = net_set_ints(sk, opts, sizeof(opts) / sizeof(opts[0]), who);
	if (ret)
		return ret;
	if (e->congestion &&
	    setsockopt(sk, SOL_TCP, TCP_CONGESTION, e->congestion, strlen(e->congestion))) {
		pr_err("%s: cannot set TCP_CONGESTION %s on this host: %s\n", who, e->congestion,
		       strerror(errno));
		return -EOPNOTSUPP;
	}
	return 0;
}

/* A new TCP socket owned by the recorded uid/gid.  fd or -errno (logged). */
static int make_socket(const TcpskEntry *e, const char *who)
{
	int sk, ret = 0, old_uid, old_gid;

	old_gid = setfsgid(e->gid);
	old_uid = setfsuid(e->uid);
	if ((uint32_t)setfsuid(-1) != e->uid || (uint32_t)setfsgid(-1) != e->gid) {
		pr_err("%s: cannot take fs ids %u/%u\n", who, e->uid, e->gid);
		ret = -EPERM;
	}
	sk = ret ? -1 : socket((int)e->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (!ret && sk < 0) {
		ret = -errno;
		pr_perror("%s: cannot create it", who);
	}
	setfsuid(old_uid);
	setfsgid(old_gid);
	return ret ?: sk;
}

/* Where send_piece sends, and what for its messages. */
struct send_to {
	int sk;
	const char *who, *what;
};

/* One piece of queued bytes sent on t->sk, each call as far as the kernel
 * takes it.  0 or -errno (logged). */
static int send_piece(void *arg, const uint8_t *p, size_t len)
{
	const struct send_to *t = arg;
	ssize_t w;

	while (len) {
		w = send(t->sk, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0) {
			pr_err("%s: cannot queue %zu bytes of its %s again: %s\n", t->who, len,
			       t->what, w < 0 ? strerror(errno) : "nothing taken");
			return w < 0 ? -errno : -EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sends bytes [lo, hi) of f's SK_QUEUE records on sk (a repair queue or
 * the socket itself).  0 or -errno (logged). */
static int send_range(const struct rst_image *img, const struct rst_file *f, int sk, uint64_t lo,
		      uint64_t hi, const char *who, const char *what)
{
	struct send_to t = { sk, who, what };

	return rst_skq_each(img, f, lo, hi, send_piece, &t);
}

/* setsockopt of a repair step; -errno (logged) on failure. */
static int repair_set(int sk, int name, const void *v, socklen_t len, const char *what,
		      const char *who)
{
	if (!setsockopt(sk, SOL_TCP, name, v, len))
		return 0;
	pr_err("%s: TCP repair: %s: %s\n", who, what, strerror(errno));
	return -errno;
}

/* TCP_REPAIR_QUEUE q, then its TCP_QUEUE_SEQ (seq) unless q is none. */
static int repair_queue(int sk, int q, uint32_t seq, bool set_seq, const char *who)
{
	return repair_set(sk, TCP_REPAIR_QUEUE, &q, sizeof(q), "TCP_REPAIR_QUEUE", who) ?:
		       (set_seq ? repair_set(sk, TCP_QUEUE_SEQ, &seq, sizeof(seq), "TCP_QUEUE_SEQ",
					     who) :
				  0);
}

/* TCP_REPAIR_OPTIONS and TCP_TIMESTAMP of an connected socket in repair. */
static int repair_options(int sk, const TcpskConn *c, const char *who)
{
	struct tcp_repair_opt o[4];
	size_t n = 0;
	int ret;

	o[n].opt_code = TCPOPT_MAXSEG;
	o[n++].opt_val = c->mss;
	if (c->wscale) {
		o[n].opt_code = TCPOPT_WINDOW;
		o[n++].opt_val = c->snd_wscale | (c->rcv_wscale << 16);
	}
	if (c->sack) {
		o[n].opt_code = TCPOPT_SACK_PERMITTED;
		o[n++].opt_val = 0;
	}
	if (c->timestamps) {
		o[n].opt_code = TCPOPT_TIMESTAMP;
		o[n++].opt_val = 0;
	}
	ret = repair_set(sk, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0]), "TCP_REPAIR_OPTIONS", who);
	if (!ret && c->has_timestamp)
		ret = repair_set(sk, TCP_TIMESTAMP, &c->timestamp, sizeof(c->timestamp),
				 "TCP_TIMESTAMP", who);
	return ret;
}

/* Are the refilled queues as long as recorded (our FIN counts one)?
 * 0 or -EIO (logged). */
static int check_queued(int sk, const TcpskConn *c, bool fin, const char *who)
{
	uint32_t want = c->outq_len - c->unsent_len + fin;
	int in = -1, out = -1;

	if (ioctl(sk, SIOCINQ, &in) || ioctl(sk, SIOCOUTQ, &out) || (uint32_t)in != c->inq_len ||
	    (uint32_t)out != want) {
		pr_err("%s: TCP repair: %d/%d bytes queued again, not %u/%u\n", who, in, out,
		       c->inq_len, want);
		return -EIO;
	}
	return 0;
}

/*
 * A half-closed or closing connection: our FIN (sent in repair mode, so
 * not on the wire: the peer has it, or gets it resent) after the send
 * queue, with the send queue selected; the peer's, as the read side shut
 * down (the program reads the queue, then end of file; the state stays
 * established instead of CLOSE_WAIT, and after our FIN FIN_WAIT1/2
 * instead of LAST_ACK: nothing a program sees).  0 or -errno (logged).
 */
static int restore_fins(int sk, uint32_t state, const char *who)
{
	if (in_states(state, FIN_SENT) && shutdown(sk, SHUT_WR)) {
		pr_perror("%s: TCP repair: cannot queue its FIN again", who);
		return -errno;
	}
	if (in_states(state, FIN_RECEIVED) && shutdown(sk, SHUT_RD)) {
		pr_perror("%s: TCP repair: cannot shut its read side down", who);
		return -errno;
	}
	return 0;
}

/*
 * An established connection on new socket sk, left in repair mode (taken
 * out in post_open).  0 or -errno (logged).
 */
static int restore_conn(const struct rst_image *img, const struct rst_file *f, int sk,
			const char *who)
{
	const TcpskEntry *e = f->fe->tcpsk;
	const TcpskConn *c = e->conn;
	struct tcp_repair_window w = { c->snd_wl1, c->snd_wnd, c->max_window, c->rcv_wnd,
				       c->rcv_wup };
	struct sockaddr_storage ss;
	struct net_addr local, peer;
	int on = TCP_REPAIR_ON, ret;

	ret = net_addr_from_pb(e->local, e->family, &local, who, "local") ?:
		      net_addr_from_pb(e->peer, e->family, &peer, who, "peer");
	ret = ret ?: repair_set(sk, TCP_REPAIR, &on, sizeof(on), "TCP_REPAIR", who);
	ret = ret ?: repair_queue(sk, TCP_RECV_QUEUE, c->rcv_seq, true, who);
	ret = ret ?: repair_queue(sk, TCP_SEND_QUEUE, c->snd_seq, true, who);
	ret = ret ?: net_bind(sk, &local, who);
	if (ret)
		return ret;
	if (connect(sk, (struct sockaddr *)&ss, net_addr_sockaddr(&peer, &ss))) {
		char s[NET_ADDR_STRLEN];

		pr_err("%s: TCP repair: cannot connect it to %s again: %s\n", who,
		       net_addr_str(&peer, s), strerror(errno));
		return -errno;
	}
	ret = repair_options(sk, c, who);
	ret = ret ?: repair_queue(sk, TCP_RECV_QUEUE, 0, false, who);
	ret = ret ?: send_range(img, f, sk, 0, c->inq_len, who, "receive queue");
	ret = ret ?: repair_queue(sk, TCP_SEND_QUEUE, 0, false, who);
	ret = ret   ?:
		      send_range(img, f, sk, c->inq_len,
				 (uint64_t)c->inq_len + c->outq_len - c->unsent_len, who,
				 "send queue");
	ret = ret ?: restore_fins(sk, e->state, who);
	ret = ret ?: repair_queue(sk, TCP_NO_QUEUE, 0, false, who);
	if (!ret && c->has_snd_wl1)
		ret = repair_set(sk, TCP_REPAIR_WINDOW, &w, sizeof(w), "TCP_REPAIR_WINDOW", who);
	return ret ?: check_queued(sk, c, in_states(e->state, FIN_SENT), who);
}

/* Bound, listening or connected as recorded.  0 or -errno (logged). */
static int set_state(const struct rst_image *img, const struct rst_file *f, int sk, const char *who)
{
	const TcpskEntry *e = f->fe->tcpsk;
	struct net_addr local;
	int ret;

	if (in_states(e->state, CONN_STATES))
		return restore_conn(img, f, sk, who);
	if (!e->local)
		return 0;
	ret = net_addr_from_pb(e->local, e->family, &local, who, "local") ?:
									    net_bind(sk, &local, who);
	if (!ret && e->state == TCP_LISTEN && listen(sk, (int)e->backlog)) {
		pr_perror("%s: cannot listen", who);
		return -errno;
	}
	return ret ?: tcpsk_acceptq_restore(img, f, sk, who);
}

/* One TCP socket of the image, made and staged.  0 or -errno (logged). */
static int open_one(const struct rst_image *img, struct rst_file *f)
{
	const TcpskEntry *e = f->fe->tcpsk;
	char who[48];
	int sk, ret;

	who_of(f->fe, who, sizeof(who));
	sk = make_socket(e, who);
	if (sk < 0)
		return sk;
	ret = e->opts ? net_skopts_apply(sk, e->opts, who) : 0;
	ret = ret ?: set_tcp_opts(sk, e, who);
	ret = ret ?: set_state(img, f, sk, who);
	if (ret) {
		close(sk); /* in repair mode: goes without a word to the peer */
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, sk);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

/*
 * Every TCP socket of the image, at the first one's open: listening and
 * unconnected first, then the connections.  0 or -errno (logged).
 */
static int open_tcpsk(const struct rst_image *img, struct rst_file *f)
{
	size_t i, pass;
	int ret;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < img->nr_files; i++) {
			struct rst_file *g = &img->files[i];

			if (g->fe->kind != FILE_KIND__FILE_TCPSK || g->stage_fd >= 0 ||
			    g->inherited || in_states(g->fe->tcpsk->state, CONN_STATES) != pass)
				continue;
			ret = open_one(img, g);
			if (ret)
				return ret;
		}
	}
	return f->stage_fd >= 0 ? 0 : -EIO;
}

/*
 * A holder's fd of f, taken with pidfd_getfd (we trace the holder);
 * pidfds[] keeps a pidfd per process of img (-1 until opened).  fd or
 * -errno (logged).
 */
static int holder_fd(const struct rst_image *img, const struct rst_file *f, int *pidfds,
		     const char *who)
{
	size_t i, j;
	int fd;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (c->task->state == TASK_STATE_DEAD || !c->fdt || c->pid <= 0)
			continue;
		for (j = 0; j < c->fdt->n_fds; j++) {
			if (c->fdt->fds[j]->file_id != f->fe->id)
				continue;
			if (pidfds[i] < 0)
				pidfds[i] = (int)syscall(SYS_pidfd_open, c->pid, 0);
			fd = pidfds[i] < 0 ? -1 :
					     (int)syscall(SYS_pidfd_getfd, pidfds[i],
							  (int)c->fdt->fds[j]->fd, 0);
			if (fd < 0) {
				pr_perror("%s: cannot take it from pid %d fd %u", who, c->pid,
					  c->fdt->fds[j]->fd);
				return -errno;
			}
			return fd;
		}
	}
	pr_err("%s: no process of the tree holds it\n", who);
	return -ENOENT;
}

/*
 * A connection leaves repair mode (its window probe goes out), gets
 * SO_REUSEADDR back (leaving repair clears it) and sends what it had not
 * sent yet, on our copy.  0 or -errno (logged).
 */
static int resume_conn(const struct rst_image *img, const struct rst_file *f, int sk)
{
	const TcpskEntry *e = f->fe->tcpsk;
	const TcpskConn *c = e->conn;
	int off = TCP_REPAIR_OFF, one = 1;
	uint64_t end;
	char who[48];
	int ret;

	who_of(f->fe, who, sizeof(who));
	ret = repair_set(sk, TCP_REPAIR, &off, sizeof(off), "leaving repair mode", who);
	if (!ret && e->opts && e->opts->reuseaddr &&
	    setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
		pr_perror("%s: cannot set SO_REUSEADDR again", who);
		return -errno;
	}
	end = (uint64_t)c->inq_len + c->outq_len;
	return ret ?: send_range(img, f, sk, end - c->unsent_len, end, who, "unsent bytes");
}

int tcpsk_resume(struct rst_image *img)
{
	int sk, ret = 0, *pidfds;
	char who[48];
	size_t i;

	rst_net_unlock(img); /* every socket is back: its probe and bytes go out */
	pidfds = malloc((img->nr_procs ? img->nr_procs : 1) * sizeof(*pidfds));
	if (!pidfds)
		return -ENOMEM;
	for (i = 0; i < img->nr_procs; i++)
		pidfds[i] = -1;
	for (i = 0; !ret && i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (f->fe->kind != FILE_KIND__FILE_TCPSK ||
		    !in_states(f->fe->tcpsk->state, CONN_STATES))
			continue;
		sk = holder_fd(img, f, pidfds, who_of(f->fe, who, sizeof(who)));
		ret = sk < 0 ? sk : resume_conn(img, f, sk);
		if (sk >= 0)
			close(sk);
	}
	for (i = 0; i < img->nr_procs; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	free(pidfds);
	return ret;
}

const struct rst_fd_kind rst_fd_tcpsk = {
	.kind = FILE_KIND__FILE_TCPSK,
	.name = "tcpsk",
	.check_image = check_tcpsk,
	.open = open_tcpsk,
};

int tcpsk_net_lock(struct rst_image *img)
{
	struct net_conn *c;
	size_t i, n = 0;
	int ret = 0;

	if (img->netns || img->opts->netns) /* a namespace of its own: rst_netns_build locks it */
		return 0;
	c = calloc(img->nr_files ? img->nr_files : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (i = 0; !ret && i < img->nr_files; i++) {
		const TcpskEntry *e = img->files[i].fe->tcpsk;
		char who[48];

		if (img->files[i].fe->kind != FILE_KIND__FILE_TCPSK || !e || !e->local ||
		    e->state == TCP_CLOSE)
			continue;
		who_of(img->files[i].fe, who, sizeof(who));
		ret = net_addr_from_pb(e->local, e->family, &c[n].local, who, "local");
		if (!ret && e->peer)
			ret = net_addr_from_pb(e->peer, e->family, &c[n].peer, who, "peer");
		n++;
	}
	ret = ret ?: (n ? rst_net_lock(img, c, n, -1) : 0);
	free(c);
	return ret;
}
