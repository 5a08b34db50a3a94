/*
 * TCP sockets, IPv4 and IPv6 (fd kind "tcpsk"): state, addresses,
 * SOL_SOCKET options (lib/net/sockopt.c) and the TCP and IP options that
 * matter, read on our pidfd_getfd copy (TCP_INFO gives the state, a
 * listener's backlog and accept queue).  New, bound and listening sockets
 * always; an established connection only with --tcp-established: its
 * sequence numbers, options, window and both queues are read under
 * TCP_REPAIR (tcpsk-repair.c), the queued bytes into SK_QUEUE records
 * (receive queue first, then the send queue); a listener's accept queue
 * also with --tcp-established (tcpsk-acceptq.c).  Refused with one line:
 * other states (connecting, SYN_RECV, TIME_WAIT), options away from their
 * defaults that restore does not set, a socket of another network
 * namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#define LOG_PREFIX "dump/tcpsk: "
#include "log.h"
#include "dump/dump.h"
#include "dump/tcpsk.h"
#include "net/inet.h"
#include "net/sockopt.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef TCP_TX_DELAY
#define TCP_TX_DELAY 37
#endif
#ifndef TCP_INQ
#define TCP_INQ 36
#endif

/* The entry and what its fields point to, one allocation (dump_file.sub). */
struct tcpsk_dump {
	TcpskEntry e;
	TcpskConn c;
	SkOpts o;
	InetAddr local_pb, peer_pb;
	struct net_addr local, peer;
	char congestion[16];
	char dev[16];
	size_t filter_len;
	uint8_t filter[]; /* the classic filter's instructions */
};

/* TCP and IP options restore does not set: refused unless at the default. */
static const struct net_fixed_opt fixed_opts[] = {
	{ SOL_TCP, TCP_REPAIR, "TCP_REPAIR", 0 },
	{ SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS, "TCP_THIN_LINEAR_TIMEOUTS", 0 },
	{ SOL_TCP, TCP_SAVE_SYN, "TCP_SAVE_SYN", 0 },
	{ SOL_TCP, TCP_TX_DELAY, "TCP_TX_DELAY", 0 },
	{ SOL_TCP, TCP_INQ, "TCP_INQ", 0 },
	{ SOL_SOCKET, SO_PEEK_OFF, "SO_PEEK_OFF", -1 },
	{ SOL_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", 0 },
	{ SOL_IP, IP_RECVERR, "IP_RECVERR", 0 },
};

/* AF_INET6 only: the IPv4 side of a dual-stack socket. */
static const struct net_fixed_opt fixed_opts6[] = {
	{ SOL_IP, IP_TOS, "IP_TOS", 0 },
	{ SOL_IPV6, IPV6_RECVERR, "IPV6_RECVERR", 0 },
};

static bool is_tcpsk(const struct fd_probe *p)
{
	int dom = fd_probe_sock_opt(p, SO_DOMAIN);

	return (dom == AF_INET || dom == AF_INET6) &&
	       fd_probe_sock_opt(p, SO_PROTOCOL) == IPPROTO_TCP;
}

const char *tcpsk_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established",
		[TCP_SYN_SENT] = "connecting (SYN_SENT)",
		[TCP_SYN_RECV] = "SYN_RECV",
		[TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2",
		[TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "closed",
		[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK",
		[TCP_LISTEN] = "listening",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])) || !names[state])
		return "unknown";
	return names[state];
}

/* Is fd's socket in our network namespace?  0, -EOPNOTSUPP (logged) or -errno. */
static int check_netns(struct dump_op *op, int fd, const char *who)
{
	const struct stat *ours = tcpsk_netns(op);
	struct stat a;
	int ns = ioctl(fd, SIOCGSKNS);

	if (ns < 0) {
		pr_perror("%s: SIOCGSKNS", who);
		return -errno;
	}
	if (!ours || fstat(ns, &a)) {
		pr_perror("%s: cannot compare network namespaces", who);
		close(ns);
		return -EIO;
	}
	close(ns);
	if (a.st_ino != ours->st_ino || a.st_dev != ours->st_dev) {
		pr_err("%s: a socket of another network namespace than vxdump's: not supported\n",
		       who);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * An int option of fd into *v, and what a new socket reads (nw, asked
 * once per dump) into *dflt.  0 or -errno.
 */
static int get_pair(int fd, struct tcpsk_dflt *nw, int level, int name, int *v, int *dflt)
{
	size_t i;
	int ret;

	ret = net_get_int(fd, level, name, v);
	for (i = 0; !ret && i < nw->n; i++)
		if (nw->o[i].level == level && nw->o[i].name == name) {
			*dflt = nw->o[i].v;
			return 0;
		}
	ret = ret ?: net_get_int(nw->fd, level, name, dflt);
	if (!ret && nw->n < TCPSK_DFLT_MAX) {
		nw->o[nw->n].level = level;
		nw->o[nw->n].name = name;
		nw->o[nw->n++].v = *dflt;
	}
	return ret;
}

/* Sets field (and has_) of e when the option differs from a new socket's. */
#define TAKE_NEW(e, field, fd, nw, level, name)                       \
	do {                                                          \
		int v_, d_;                                           \
		ret = ret ?: get_pair(fd, nw, level, name, &v_, &d_); \
		if (!ret && v_ != d_)                                 \
			PB_SET(e, field, (uint32_t)v_);               \
	} while (0)

/* The TCP options into e, compared with a new socket's (nw).  0 or -errno. */
static int read_tcp_opts(int fd, struct tcpsk_dflt *nw, TcpskEntry *e, struct tcpsk_dump *u,
			 bool est)
{
	char cc[16] = "", dcc[16] = "";
	socklen_t len = sizeof(cc) - 1, dlen = sizeof(dcc) - 1;
	int ret = 0;

	TAKE_NEW(e, nodelay, fd, nw, SOL_TCP, TCP_NODELAY);
	TAKE_NEW(e, cork, fd, nw, SOL_TCP, TCP_CORK);
	TAKE_NEW(e, keepidle, fd, nw, SOL_TCP, TCP_KEEPIDLE);
	TAKE_NEW(e, keepintvl, fd, nw, SOL_TCP, TCP_KEEPINTVL);
	TAKE_NEW(e, keepcnt, fd, nw, SOL_TCP, TCP_KEEPCNT);
	TAKE_NEW(e, user_timeout, fd, nw, SOL_TCP, TCP_USER_TIMEOUT);
	TAKE_NEW(e, defer_accept, fd, nw, SOL_TCP, TCP_DEFER_ACCEPT);
	TAKE_NEW(e, fastopen, fd, nw, SOL_TCP, TCP_FASTOPEN);
	TAKE_NEW(e, notsent_lowat, fd, nw, SOL_TCP, TCP_NOTSENT_LOWAT);
	TAKE_NEW(e, freebind, fd, nw, SOL_IP, IP_FREEBIND);
	TAKE_NEW(e, transparent, fd, nw, SOL_IP, IP_TRANSPARENT);
	if (!est) /* connected: the connection's MSS, in conn */
		TAKE_NEW(e, maxseg, fd, nw, SOL_TCP, TCP_MAXSEG);
	if (e->family == AF_INET6) {
		TAKE_NEW(e, v6only, fd, nw, SOL_IPV6, IPV6_V6ONLY);
		TAKE_NEW(e, tos, fd, nw, SOL_IPV6, IPV6_TCLASS);
		TAKE_NEW(e, ttl, fd, nw, SOL_IPV6, IPV6_UNICAST_HOPS);
	} else {
		TAKE_NEW(e, tos, fd, nw, SOL_IP, IP_TOS);
		TAKE_NEW(e, ttl, fd, nw, SOL_IP, IP_TTL);
	}
	if (ret)
		return ret;
	if (!nw->have_cc && getsockopt(nw->fd, SOL_TCP, TCP_CONGESTION, dcc, &dlen))
		return -errno;
	if (!nw->have_cc)
		memcpy(nw->cc, dcc, sizeof(nw->cc));
	nw->have_cc = true;
	if (getsockopt(fd, SOL_TCP, TCP_CONGESTION, cc, &len))
		return -errno;
	if (strcmp(cc, nw->cc)) {
		memcpy(u->congestion, cc, sizeof(u->congestion));
		e->congestion = u->congestion;
	}
	return 0;
}

/* TCP_ULP (kTLS, MPTCP's): none may be attached.  0 or -EOPNOTSUPP (logged). */
static int check_ulp(int fd, const char *who)
{
	char ulp[32] = "";
	socklen_t len = sizeof(ulp) - 1;

	if (getsockopt(fd, SOL_TCP, TCP_ULP, ulp, &len) || !ulp[0])
		return 0;
	pr_err("%s: an upper layer protocol (TCP_ULP %s) is attached: not supported\n", who, ulp);
	return -EOPNOTSUPP;
}

/* SO_SNDBUF/SO_RCVBUF: set by the program (not what a new socket reads)? */
static int bufs_set(int fd, struct tcpsk_dflt *nw, bool *snd, bool *rcv)
{
	int v, d, ret;

	ret = get_pair(fd, nw, SOL_SOCKET, SO_SNDBUF, &v, &d);
	*snd = !ret && v != d;
	ret = ret ?: get_pair(fd, nw, SOL_SOCKET, SO_RCVBUF, &v, &d);
	*rcv = !ret && v != d;
	return ret;
}

/*
 * The SOL_SOCKET options into u->o, copied into u (the sub is one
 * allocation): the filter and device name live in u.  An autotuned
 * buffer size is kept rounded up to even (SO_*BUF sets twice a value).
 * 0 or -errno (logged).
 */
static int read_skopts(int fd, struct tcpsk_dflt *nw, struct tcpsk_dump **up, const char *who)
{
	struct tcpsk_dump *u = *up, *nu;
	bool snd, rcv;
	SkOpts o;
	int ret;

	sk_opts__init(&o);
	ret = bufs_set(fd, nw, &snd, &rcv);
	if (ret) {
		pr_err("%s: getsockopt SO_SNDBUF/SO_RCVBUF: %s\n", who, strerror(-ret));
		return ret;
	}
	ret = net_skopts_read(fd, &o, snd, rcv, who);
	if (ret)
		goto out;
	if (o.has_filter) {
		nu = realloc(u, sizeof(*u) + o.filter.len);
		if (!nu) {
			ret = -ENOMEM;
			goto out;
		}
		*up = u = nu;
		memcpy(u->filter, o.filter.data, o.filter.len);
		u->filter_len = o.filter.len;
	}
	if (o.bindtodevice)
		snprintf(u->dev, sizeof(u->dev), "%s", o.bindtodevice);
	u->o = o;
	u->o.bindtodevice = o.bindtodevice ? u->dev : NULL;
	u->o.filter.data = o.has_filter ? u->filter : NULL;
	u->o.sndbuf += u->o.sndbuf & 1;
	u->o.rcvbuf += u->o.rcvbuf & 1;
out:
	net_skopts_free(&o);
	return ret;
}

/* The entry's pointers into u, set once u no longer moves. */
static void link_entry(struct tcpsk_dump *u, bool bound, bool est)
{
	u->e.opts = &u->o;
	if (u->o.has_filter)
		u->o.filter.data = u->filter;
	if (u->o.bindtodevice)
		u->o.bindtodevice = u->dev;
	if (u->e.congestion)
		u->e.congestion = u->congestion;
	if (bound) {
		net_addr_to_pb(&u->local, &u->local_pb);
		u->e.local = &u->local_pb;
	}
	if (est) {
		net_addr_to_pb(&u->peer, &u->peer_pb);
		u->e.peer = &u->peer_pb;
		u->e.conn = &u->c;
	}
}

/*
 * Is state st one the dump takes (a listener with nothing queued, new,
 * bound, established with --tcp-established)?  0 or -EOPNOTSUPP (logged,
 * naming the connection).
 */
static int check_state(struct dump_op *op, int fd, const struct tcp_info *ti, const char *who)
{
	struct net_addr l, r;
	char ls[NET_ADDR_STRLEN] = "?", rs[NET_ADDR_STRLEN] = "?";

	if (ti->tcpi_state == TCP_LISTEN && ti->tcpi_unacked && !op->opts->tcp_established) {
		pr_err("%s: listening, with %u connection%s in its accept queue: dump with "
		       "--tcp-established\n",
		       who, ti->tcpi_unacked, ti->tcpi_unacked > 1 ? "s" : "");
		return -EOPNOTSUPP;
	}
	if (ti->tcpi_state == TCP_LISTEN || ti->tcpi_state == TCP_CLOSE)
		return 0;
	if (!net_sock_local(fd, &l))
		net_addr_str(&l, ls);
	if (!net_sock_peer(fd, &r))
		net_addr_str(&r, rs);
	if (!(TCPSK_CONN_STATES & (1 << ti->tcpi_state))) {
		pr_err("%s: TCP connection %s -> %s in state %s: not supported\n", who, ls, rs,
		       tcpsk_state_name(ti->tcpi_state));
		return -EOPNOTSUPP;
	}
	if (!op->opts->tcp_established) {
		pr_err("%s: %s TCP connection %s -> %s: dump with --tcp-established\n", who,
		       tcpsk_state_name(ti->tcpi_state), ls, rs);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* TCP_INFO of fd.  0 or -errno (logged). */
static int tcp_info_of(int fd, struct tcp_info *ti, const char *who)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	if (getsockopt(fd, SOL_TCP, TCP_INFO, ti, &len)) {
		pr_perror("%s: TCP_INFO", who);
		return -errno;
	}
	return 0;
}

/* Addresses, owner and options of a socket of any state into *up. */
static int read_socket(int fd, struct tcpsk_dflt *nw, const struct fd_probe *p,
		       struct tcpsk_dump **up, bool est, const char *who)
{
	struct tcpsk_dump *u = *up;
	int ret;

	ret = net_sock_local(fd, &u->local);
	if (!ret && est)
		ret = net_sock_peer(fd, &u->peer);
	if (ret) {
		pr_err("%s: getsockname/getpeername: %s\n", who, strerror(-ret));
		return ret;
	}
	PB_SET(&u->e, uid, p->st.st_uid);
	PB_SET(&u->e, gid, p->st.st_gid);
	ret = read_tcp_opts(fd, nw, &u->e, u, est);
	if (ret) {
		pr_err("%s: cannot read its TCP options: %s\n", who, strerror(-ret));
		return ret;
	}
	return read_skopts(fd, nw, up, who);
}

/* A TCP socket: its state, options and, established, its connection. */
static int dump_tcpsk(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct tcpsk_dump *u;
	struct tcp_info ti;
	int fd = df->local_fd, dom = 0, ret;
	struct tcpsk_dflt *nw;
	bool est, bound;
	char who[96];

	df->e.kind = FILE_KIND__FILE_TCPSK;
	snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
	ret = net_get_int(fd, SOL_SOCKET, SO_DOMAIN, &dom) ?: tcp_info_of(fd, &ti, who);
	ret = ret				    ?:
		      check_netns(op, fd, who)	    ?:
		      check_state(op, fd, &ti, who) ?:
						      check_ulp(fd, who);
	ret = ret   ?:
		      net_check_fixed(fd, fixed_opts, sizeof(fixed_opts) / sizeof(fixed_opts[0]),
				      who);
	if (!ret && dom == AF_INET6)
		ret = net_check_fixed(fd, fixed_opts6, sizeof(fixed_opts6) / sizeof(fixed_opts6[0]),
				      who);
	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	tcpsk_entry__init(&u->e);
	tcpsk_conn__init(&u->c);
	est = TCPSK_CONN_STATES & (1 << ti.tcpi_state);
	PB_SET(&u->e, family, dom);
	PB_SET(&u->e, state, ti.tcpi_state);
	if (ti.tcpi_state == TCP_LISTEN)
		PB_SET(&u->e, backlog, ti.tcpi_sacked);
	nw = tcpsk_defaults(op, dom);
	ret = nw ? read_socket(fd, nw, p, &u, est, who) : -EIO;
	df->sub = u; /* freed with the files, also on failure */
	if (ret)
		return ret;
	bound = u->local.port || !net_addr_is_any(&u->local);
	if (est)
		ret = tcpsk_repair_read(op, df, &u->c, &ti, u->o.reuseaddr, who);
	else if (ti.tcpi_state == TCP_LISTEN && ti.tcpi_unacked)
		ret = tcpsk_acceptq_read(op, df, &u->e, ti.tcpi_unacked, who);
	if (ret)
		return ret;
	link_entry(u, bound, est);
	df->e.tcpsk = &u->e;
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_tcpsk = { "tcpsk", is_tcpsk, dump_tcpsk, NULL };
