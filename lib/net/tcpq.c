/*
 * Connections put back into a listener's accept queue (tcpq.h): a
 * TIME_WAIT socket that makes the listener choose the old ISN, then the
 * handshake and the queued bytes forged from the peer's side.
 *
 * Facts this relies on (Linux 6.18, measured): a SYN that meets a
 * TIME_WAIT socket whose peer's sequence number it passes goes to the
 * listener with ISN tw_snd_nxt + 65537; a socket under TCP_REPAIR whose
 * FIN is queued by shutdown while the send queue is selected counts the
 * FIN as sent; the peer's FIN with an ACK of ours then makes it a
 * TIME_WAIT socket; segments without a timestamp option are taken by a
 * connection that negotiated timestamps; inet_diag lists a connection
 * waiting in a queue with inode 0.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#define LOG_PREFIX "net/tcpq: "
#include "log.h"
#include "net/tcpq.h"
#include "proc/proc.h"

#define TW_ISN_STEP 65537u  /* tcp_timewait_state_process: tw_snd_nxt + 65535 + 2 */
#define TW_RCV_BEHIND 1024u /* the TIME_WAIT socket's peer sequence, before the SYN's */
#define DATA_CHUNK 16384u   /* bytes of one forged data segment */
#define TH_ECE_CWR 0xc0

/* A setsockopt of the TIME_WAIT socket; -errno (logged) on failure. */
static int tw_set(int sk, int name, int v, const char *what, const char *who)
{
	if (!setsockopt(sk, SOL_TCP, name, &v, sizeof(v)))
		return 0;
	pr_err("%s: cannot put a connection back into its accept queue: %s: %s\n", who, what,
	       strerror(errno));
	return -errno;
}

/* The state of sk (TCP_INFO), -1 if unreadable. */
static int tcp_state(int sk)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(sk, SOL_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

/* The listener's accept queue length, -1 if unreadable. */
static int queue_length(int listener)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(listener, SOL_TCP, TCP_INFO, &ti, &len) || ti.tcpi_state != TCP_LISTEN)
		return -1;
	return (int)ti.tcpi_unacked;
}

/*
 * A TIME_WAIT socket of c's four-tuple whose snd_nxt is c->iss - 65537
 * and whose peer's sequence number is before c->irs.  0 or -errno (logged).
 */
static int make_time_wait(struct net_forge *fg, const struct net_tcp_child *c, const char *who)
{
	uint32_t snd = c->iss - TW_ISN_STEP - 1, rcv = c->irs - TW_RCV_BEHIND;
	struct net_tcp_seg fin = { .seq = rcv,
				   .ack = snd + 1,
				   .flags = TH_FIN | TH_ACK,
				   .win = 65535 };
	struct sockaddr_storage ss;
	int sk, ret, st;

	sk = socket(c->local.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (sk < 0) {
		pr_perror("%s: cannot make a TCP socket", who);
		return -errno;
	}
	ret = tw_set(sk, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR", who) ?:
		      tw_set(sk, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE", who);
	ret = ret ?: tw_set(sk, TCP_QUEUE_SEQ, (int)rcv, "TCP_QUEUE_SEQ", who);
	ret = ret ?: tw_set(sk, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE", who);
	ret = ret ?: tw_set(sk, TCP_QUEUE_SEQ, (int)snd, "TCP_QUEUE_SEQ", who);
	ret = ret ?: net_bind(sk, &c->local, who);
	if (!ret && connect(sk, (struct sockaddr *)&ss, net_addr_sockaddr(&c->peer, &ss))) {
		pr_perror("%s: cannot put a connection back into its accept queue: connect", who);
		ret = -errno;
	}
	if (!ret && shutdown(sk, SHUT_WR)) { /* the FIN counts as sent: repair mode */
		pr_perror("%s: cannot put a connection back into its accept queue: shutdown", who);
		ret = -errno;
	}
	ret = ret ?: tw_set(sk, TCP_REPAIR, TCP_REPAIR_OFF, "TCP_REPAIR off", who);
	ret = ret ?: net_tcp_forge(fg, &c->peer, &c->local, &fin, who);
	st = ret ? 0 : tcp_state(sk);
	close(sk); /* the TIME_WAIT socket lives on without it */
	if (!ret && st != TCP_CLOSE) {
		pr_err("%s: cannot put a connection back into its accept queue: its TIME_WAIT "
		       "socket is in state %d\n",
		       who, st);
		return -EAGAIN;
	}
	return ret;
}

/* The options of the peer's SYN into o: MSS, SACK, timestamps (0),
 * window scale.  Returns their length (a multiple of 4). */
static size_t syn_options(const struct net_tcp_child *c, uint8_t *o)
{
	size_t n = 0;

	o[n++] = TCPOPT_MAXSEG;
	o[n++] = TCPOLEN_MAXSEG;
	o[n++] = c->mss >> 8;
	o[n++] = c->mss & 0xff;
	if (c->sack && !c->ts) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
	}
	if (c->sack) {
		o[n++] = TCPOPT_SACK_PERMITTED;
		o[n++] = TCPOLEN_SACK_PERMITTED;
	}
	if (c->ts) {
		if (!c->sack) {
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_NOP;
		}
		o[n++] = TCPOPT_TIMESTAMP;
		o[n++] = TCPOLEN_TIMESTAMP;
		memset(o + n, 0, 8); /* tsval 0: the connection takes the peer's next one */
		n += 8;
	}
	if (c->wscale) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WINDOW;
		o[n++] = TCPOLEN_WINDOW;
		o[n++] = c->snd_wscale;
	}
	return n;
}

/* The peer's window as its segments say it (scaled down, at most 65535). */
static uint16_t peer_window(const struct net_tcp_child *c)
{
	uint32_t w = c->wscale ? c->snd_wnd >> c->snd_wscale : c->snd_wnd;

	return w > 65535 ? 65535 : (uint16_t)w;
}

/* The peer's side after its SYN: the ACK, the queued bytes, its FIN. */
static int forge_rest(struct net_forge *fg, const struct net_tcp_child *c, const char *who)
{
	struct net_tcp_seg s = { .seq = c->irs + 1,
				 .ack = c->iss + 1,
				 .flags = TH_ACK,
				 .win = peer_window(c) };
	uint32_t at = 0, n;
	int ret;

	ret = net_tcp_forge(fg, &c->peer, &c->local, &s, who);
	while (!ret && at < c->len) {
		n = c->len - at < DATA_CHUNK ? c->len - at : DATA_CHUNK;
		s.seq = c->irs + 1 + at;
		s.flags = TH_ACK | TH_PUSH;
		s.data = c->data + at;
		s.len = n;
		ret = net_tcp_forge(fg, &c->peer, &c->local, &s, who);
		at += n;
	}
	if (!ret && c->fin) {
		s.seq = c->irs + 1 + c->len;
		s.flags = TH_FIN | TH_ACK;
		s.data = NULL;
		s.len = 0;
		ret = net_tcp_forge(fg, &c->peer, &c->local, &s, who);
	}
	return ret;
}

int net_tcp_requeue(struct net_forge *fg, int listener, const struct net_tcp_child *c,
		    const char *who)
{
	struct net_tcp_seg syn = { .seq = c->irs, .flags = TH_SYN, .win = 65535 };
	char ls[NET_ADDR_STRLEN], ps[NET_ADDR_STRLEN];
	uint8_t opt[40];
	int before, after, ret;

	before = queue_length(listener);
	if (before < 0) {
		pr_err("%s: the socket to put a connection back into is not listening\n", who);
		return -EINVAL;
	}
	syn.opt = opt;
	syn.optlen = syn_options(c, opt);
	if (c->ecn)
		syn.flags |= TH_ECE_CWR;
	ret = make_time_wait(fg, c, who);
	ret = ret ?: net_tcp_forge(fg, &c->peer, &c->local, &syn, who);
	ret = ret ?: forge_rest(fg, c, who);
	if (ret)
		return ret;
	after = queue_length(listener);
	if (after == before + 1)
		return 0;
	pr_err("%s: connection %s -> %s was not taken back into the accept queue (%d -> %d)\n", who,
	       net_addr_str(&c->local, ls), net_addr_str(&c->peer, ps), before, after);
	return -EAGAIN;
}

/* What inet_diag says of the connections of a requeue check. */
struct check {
	const struct net_tcp_child *c;
	size_t n;
	uint8_t *seen; /* per connection: 1 found as expected */
	const char *who;
	int ret;
};

/* Does inet_diag's id name connection c? */
static bool same_tuple(const struct inet_diag_sockid *id, const struct net_tcp_child *c)
{
	size_t alen = c->local.family == AF_INET ? 4 : 16;

	return ntohs(id->idiag_sport) == c->local.port && ntohs(id->idiag_dport) == c->peer.port &&
	       !memcmp(id->idiag_src, c->local.ip, alen) &&
	       !memcmp(id->idiag_dst, c->peer.ip, alen);
}

/* The tcp_info attribute of an answer, NULL if absent. */
static const struct tcp_info *info_of(const struct nlmsghdr *h, const struct inet_diag_msg *m,
				      size_t *len)
{
	size_t off = NLMSG_ALIGN(sizeof(*m)), total = h->nlmsg_len - NLMSG_LENGTH(0);
	const uint8_t *p = (const uint8_t *)m;

	while (off + sizeof(struct nlattr) <= total) {
		const struct nlattr *a = (const void *)(p + off);

		if (a->nla_len < sizeof(*a) || off + a->nla_len > total)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO) {
			*len = a->nla_len - sizeof(*a);
			return (const void *)(a + 1);
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/* One inet_diag answer: is it one of ours, as it should be? */
static int take(const struct nlmsghdr *h, void *arg)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct check *k = arg;
	const struct tcp_info *ti;
	size_t i, len = 0;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	for (i = 0; i < k->n; i++) {
		const struct net_tcp_child *c = &k->c[i];
		char ps[NET_ADDR_STRLEN];

		if (!same_tuple(&m->id, c))
			continue;
		ti = info_of(h, m, &len);
		if (m->idiag_inode ||
		    m->idiag_state != (c->fin ? TCP_CLOSE_WAIT : TCP_ESTABLISHED) ||
		    m->idiag_rqueue != c->len + c->fin || !ti ||
		    len < offsetof(struct tcp_info, tcpi_rcv_mss) ||
		    !(ti->tcpi_options & TCPI_OPT_SACK) != !c->sack ||
		    !(ti->tcpi_options & TCPI_OPT_TIMESTAMPS) != !c->ts ||
		    !(ti->tcpi_options & TCPI_OPT_WSCALE) != !c->wscale ||
		    (c->wscale && ti->tcpi_snd_wscale != c->snd_wscale)) {
			pr_err("%s: connection from %s is back in the accept queue, but not as it "
			       "was (state %u, %u bytes queued of %u)\n",
			       k->who, net_addr_str(&c->peer, ps), m->idiag_state, m->idiag_rqueue,
			       c->len + c->fin);
			k->ret = -EIO;
			return 0;
		}
		k->seen[i] = 1;
	}
	return 0;
}

int net_tcp_requeue_check(int family, const struct net_tcp_child *c, size_t n, const char *who)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req;
	struct check k = { c, n, NULL, who, 0 };
	char ps[NET_ADDR_STRLEN];
	size_t i;
	int ret;

	if (!n)
		return 0;
	k.seen = calloc(n, 1);
	if (!k.seen)
		return -ENOMEM;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = 1 << TCP_ESTABLISHED | 1 << TCP_CLOSE_WAIT;
	req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	ret = proc_sock_diag_dump(&req, sizeof(req), take, &k);
	if (ret)
		pr_err("%s: cannot list TCP connections (inet_diag): %s\n", who, strerror(-ret));
	ret = ret ?: k.ret;
	for (i = 0; !ret && i < n; i++) {
		if (k.seen[i])
			continue;
		pr_err("%s: connection from %s is not back in the accept queue\n", who,
		       net_addr_str(&c[i].peer, ps));
		ret = -EIO;
	}
	free(k.seen);
	return ret;
}
