/*
 * UDP, UDP-Lite, ICMP echo ("ping") and raw IP sockets of AF_INET and
 * AF_INET6 (fd kind "inetdg"), read on the dumper's pidfd_getfd copy:
 * family, type and protocol, the bound and connected addresses, the
 * SOL_SOCKET options (net/sockopt.c), the IP-level options that differ
 * from a new socket's (net/dgram.c), a raw ICMP socket's type filter,
 * multicast memberships, and the receive queue of a UDP socket: each
 * datagram peeked (SO_PEEK_OFF) with its source address, and its
 * destination, TTL and TOS when the socket asked for them.
 *
 * While the queue is peeked the socket's SO_PEEK_OFF (shared with the
 * frozen target) is not the target's: a child forked first puts it back
 * if vxdump dies before it does.
 *
 * Refused, one line each: a socket of another network namespace than
 * vxdump's, data queued on a ping or raw socket (replaying it would also
 * reach the kernel's own handlers), data being sent (corked), a
 * datagram coalesced by UDP_GRO, memberships with a source filter, and
 * the options net/dgram.c and net/sockopt.c refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/icmp.h>
#include <linux/sockios.h>
#include <netinet/udp.h>

#define LOG_PREFIX "dump/inetdg: "
#include "log.h"
#include "dump/dump.h"
#include "net/dgram.h"
#include "net/sockopt.h"
#include "util/testhook.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define DGRAM_MAX 65536		   /* bytes of one datagram peeked */
#define QUEUE_MAX (64ull << 20)	   /* bytes of one socket's queue */
#define QUEUE_MAX_DGRAMS (1 << 20) /* datagrams of one socket's queue */

/* What a peek says of one datagram besides its bytes. */
struct dg_meta {
	struct net_addr src, dst;
	bool has_dst;
	int ttl, tos; /* -1: not passed */
	uint32_t len;
};

/* Everything read before the entry is built. */
struct dg_read {
	InetdgEntry e;
	uint64_t ino;	 /* the socket's inode */
	bool listed;	 /* in sock_diag's UDP list: a UDP socket of our netns */
	uint32_t wqueue; /* then: its send buffer in use */
	struct net_addr la, pa;
	bool bound, connected;
	struct net_dg_optval opts[NET_DG_NOPTS];
	size_t nopt;
	struct net_dg_group *groups;
	size_t ngrp;
	struct dg_meta *q;
	size_t nq;
	SkOpts sko;
	uint8_t icmpf[32];
	size_t icmpf_len;
};

/* Slots of df->sub, one block (freed by free()). */
struct opt_slot {
	InetdgOpt o;
	char ifname[16];
};
struct group_slot {
	InetdgGroup g;
	uint8_t addr[16];
	char ifname[16];
};
struct dg_slot {
	InetdgDgram d;
	InetAddr src, dst;
	struct net_addr sa, da;
};
struct inetdg_dump {
	InetdgEntry e;
	SkOpts opts;
	InetAddr local, peer;
	struct net_addr la, pa;
	char dev[IFNAMSIZ];
	uint8_t icmpf[32];
};

/* The dump's net/dgram.c cache: one per operation. */
static struct net_dg_cache *op_cache(const struct dump_op *op)
{
	return net_dg_cache_get((uint64_t)(uintptr_t)op ^ op->t_start);
}

static bool is_inetdg(const struct fd_probe *p)
{
	int domain = fd_probe_sock_opt(p, SO_DOMAIN), type;

	if (domain != AF_INET && domain != AF_INET6)
		return false;
	type = fd_probe_sock_opt(p, SO_TYPE);
	return type == SOCK_DGRAM || type == SOCK_RAW;
}

/* What the socket is called in messages: "pid 5 fd 3 (udp socket)". */
static const char *kind_name(int type, int proto)
{
	if (type == SOCK_RAW)
		return "raw socket";
	switch (proto) {
	case IPPROTO_UDP:
		return "udp socket";
	case IPPROTO_UDPLITE:
		return "udplite socket";
	default:
		return "ping socket";
	}
}

/* Family, type, protocol; local and peer address.  0 or -errno (logged). */
static int read_ids(int fd, struct dg_read *r, const char *who)
{
	int fam, type = SOCK_DGRAM, proto = IPPROTO_UDP, ret;

	ret = net_sock_local(fd, &r->la);
	if (!ret && !r->listed) /* else sock_diag's UDP list holds it */
		ret = net_get_int(fd, SOL_SOCKET, SO_TYPE, &type) ?:
			      net_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto);
	if (ret) {
		pr_err("%s: cannot read its address: %s\n", who, strerror(-ret));
		return ret;
	}
	fam = r->la.family;
	if (type == SOCK_DGRAM && proto != IPPROTO_UDP && proto != IPPROTO_UDPLITE &&
	    proto != (fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		pr_err("%s: datagram protocol %d: not supported\n", who, proto);
		return -EOPNOTSUPP;
	}
	PB_SET(&r->e, family, fam);
	PB_SET(&r->e, type, type);
	PB_SET(&r->e, protocol, proto);
	if (type == SOCK_RAW)
		r->la.port = 0; /* raw: the protocol, which bind() ignores */
	r->bound = r->la.port || !net_addr_is_any(&r->la);
	ret = net_sock_peer(fd, &r->pa);
	r->connected = !ret;
	if (ret && ret != -ENOTCONN) {
		pr_err("%s: cannot read its peer: %s\n", who, strerror(-ret));
		return ret;
	}
	return 0;
}

/* A raw ICMP socket's type filter, when it filters anything. */
static int read_icmp_filter(int fd, struct dg_read *r, const char *who)
{
	static const uint8_t none[32];
	socklen_t len;

	if (r->e.type != SOCK_RAW ||
	    r->e.protocol != (r->e.family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return 0;
	len = r->e.family == AF_INET ? 4 : sizeof(struct icmp6_filter);
	if (getsockopt(fd, r->e.family == AF_INET ? SOL_RAW : SOL_ICMPV6,
		       r->e.family == AF_INET ? ICMP_FILTER : ICMP6_FILTER, r->icmpf, &len)) {
		pr_perror("%s: cannot read its ICMP filter", who);
		return -errno;
	}
	r->icmpf_len = memcmp(r->icmpf, none, len) ? len : 0;
	return 0;
}

/* SOL_SOCKET options (buffer sizes kept when they differ from a new socket's). */
static int read_skopts(int fd, struct dg_read *r, int refsnd, int refrcv, const char *who)
{
	int ret;

	sk_opts__init(&r->sko);
	ret = net_skopts_read(fd, &r->sko, true, true, who);
	if (ret)
		return ret;
	r->sko.has_sndbuf = r->sko.sndbuf != (uint32_t)refsnd;
	r->sko.has_rcvbuf = r->sko.rcvbuf != (uint32_t)refrcv;
	return 0;
}

/* The ancillary data a peek gave: destination, TTL, TOS; GRO refused. */
static int take_cmsgs(struct msghdr *mh, struct dg_meta *m, int family, const char *who)
{
	struct cmsghdr *c;
	int v;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		const void *d = CMSG_DATA(c);
		size_t dl = c->cmsg_len - CMSG_LEN(0);

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			pr_err("%s: a queued datagram coalesced by UDP_GRO: not supported\n", who);
			return -EOPNOTSUPP;
		}
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO &&
		    dl >= sizeof(struct in_pktinfo) && family == AF_INET) {
			const struct in_pktinfo *pi = d;

			m->dst.family = AF_INET;
			memcpy(m->dst.ip, &pi->ipi_addr, 4);
			m->has_dst = true;
		} else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   dl >= sizeof(struct in6_pktinfo)) {
			const struct in6_pktinfo *pi = d;

			m->dst.family = AF_INET6;
			memcpy(m->dst.ip, &pi->ipi6_addr, 16);
			m->has_dst = true;
		} else if (dl >= sizeof(int) &&
			   ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) ||
			    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))) {
			memcpy(&v, d, sizeof(v));
			m->ttl = v;
		} else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_TCLASS &&
			   dl >= sizeof(int)) {
			memcpy(&v, d, sizeof(v));
			m->tos = v;
		} else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS && dl >= 1) {
			m->tos = *(const uint8_t *)d;
		}
	}
	return 0;
}

/* Appends one datagram ([u32 len][bytes]) to df's queue buffer.  0/-ENOMEM. */
static int queue_add(struct dump_file *df, const uint8_t *buf, uint32_t len, size_t *cap)
{
	uint8_t *nb;

	while (df->skq_len + 4 + len > *cap) {
		*cap = *cap ? *cap * 2 : 64 << 10;
		nb = realloc(df->skq, *cap);
		if (!nb)
			return -ENOMEM;
		df->skq = nb;
	}
	memcpy(df->skq + df->skq_len, &len, 4);
	memcpy(df->skq + df->skq_len + 4, buf, len);
	df->skq_len += 4 + len;
	return 0;
}

/*
 * Peeks one datagram into buf with its meta.  Its length, -EAGAIN at the
 * end of the queue, or -errno (logged).
 */
static ssize_t peek_one(int fd, uint8_t *buf, struct dg_meta *m, int family, const char *who)
{
	union {
		char b[1024];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_storage ss;
	struct iovec iov = { buf, DGRAM_MAX };
	struct msghdr mh = { &ss, sizeof(ss), &iov, 1, ctl.b, sizeof(ctl.b), 0 };
	ssize_t r;
	int ret;

	memset(m, 0, sizeof(*m));
	m->ttl = m->tos = -1;
	r = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (r < 0) {
		if (errno != EAGAIN)
			pr_perror("%s: cannot peek its queue", who);
		return -errno;
	}
	if (r > DGRAM_MAX) {
		pr_err("%s: a queued datagram of %zd bytes: not supported\n", who, r);
		return -EOPNOTSUPP;
	}
	if (net_addr_of((struct sockaddr *)&ss, mh.msg_namelen, &m->src)) {
		pr_err("%s: a queued datagram without an inet source\n", who);
		return -EOPNOTSUPP;
	}
	ret = take_cmsgs(&mh, m, family, who);
	m->len = r;
	return ret ?: r;
}

/* Forks a child that puts fd's SO_PEEK_OFF back to orig unless told all
 * went well (a byte on *wfd).  Its pid, or -errno (logged). */
static pid_t peek_guard(int fd, int orig, int *wfd, const char *who)
{
	int p[2], a, b;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("%s: pipe", who);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("%s: cannot fork the keeper of its peek offset", who);
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		/* only p[0] (as 3) and the socket (as 4) are kept */
		a = fcntl(p[0], F_DUPFD, 10);
		b = fcntl(fd, F_DUPFD, 10);
		if (a < 0 || b < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0)
			_exit(1);
		syscall(SYS_close_range, 0, 2, 0);
		syscall(SYS_close_range, 5, ~0u, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (read(3, &c, 1) != 1)
			setsockopt(4, SOL_SOCKET, SO_PEEK_OFF, &orig, sizeof(orig));
		_exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

/* Peeks every datagram of fd into df and r->q.  0 or -errno (logged). */
static int peek_all(struct dump_file *df, int fd, struct dg_read *r, const char *who)
{
	size_t cap = 0, qcap = 0;
	uint64_t total = 0;
	struct dg_meta m, *nq;
	uint8_t *buf = malloc(DGRAM_MAX);
	ssize_t n;
	int ret = buf ? 0 : -ENOMEM;

	while (!ret) {
		n = peek_one(fd, buf, &m, r->e.family, who);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			ret = n;
			break;
		}
		if (r->nq == qcap) {
			qcap = qcap ? 2 * qcap : 64;
			nq = realloc(r->q, qcap * sizeof(*nq));
			if (!nq) {
				ret = -ENOMEM;
				break;
			}
			r->q = nq;
		}
		r->q[r->nq++] = m;
		ret = queue_add(df, buf, (uint32_t)n, &cap);
		total += n;
		if (!ret && (total > QUEUE_MAX || r->nq > QUEUE_MAX_DGRAMS)) {
			pr_err("%s: more than %llu bytes or %d datagrams queued: not supported\n",
			       who, QUEUE_MAX, QUEUE_MAX_DGRAMS);
			ret = -EOPNOTSUPP;
		}
	}
	free(buf);
	return ret;
}

/*
 * Is anything queued (poll: POLLIN, an empty datagram too)?  1 yes, 0 no;
 * a pending error (sk_err, which reading SO_ERROR would clear) or an
 * entry of the error queue (IP_RECVERR: it cannot be peeked) is refused:
 * -EOPNOTSUPP (logged), or -errno.
 */
static int queue_state(int fd, const char *who)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	if (poll(&pf, 1, 0) < 0) {
		pr_perror("%s: poll", who);
		return -errno;
	}
	if (pf.revents & POLLERR) {
		pr_err("%s: a pending error or an error queue entry (IP_RECVERR) that cannot be "
		       "read without taking it: not supported\n",
		       who);
		return -EOPNOTSUPP;
	}
	return !!(pf.revents & POLLIN);
}

/*
 * The receive queue.  A UDP socket's is peeked from offset 0 with the
 * target's SO_PEEK_OFF put back after (a keeper does it if we die); a
 * ping or raw socket's must be empty.  0 or -errno (logged).
 */
static int read_queue(struct dump_file *df, int fd, struct dg_read *r, const char *who)
{
	bool udp = r->e.type == SOCK_DGRAM &&
		   (r->e.protocol == IPPROTO_UDP || r->e.protocol == IPPROTO_UDPLITE);
	int orig = -1, zero = 0, outq = 0, wfd = -1, ret, st;
	char c = 1;
	pid_t kp;

	if (r->listed)
		outq = (int)r->wqueue;
	else if (!udp || ioctl(fd, SIOCOUTQ, &outq))
		outq = 0;
	if (outq > 0) {
		pr_err("%s: data being sent (corked; %d bytes of its send buffer): not supported\n",
		       who, outq);
		return -EOPNOTSUPP;
	}
	for (ret = 0; (size_t)ret < r->nopt; ret++) /* the table read it */
		if (r->opts[ret].level == SOL_SOCKET && r->opts[ret].name == SO_PEEK_OFF)
			orig = r->opts[ret].value;
	ret = queue_state(fd, who);
	if (ret <= 0)
		return ret;
	if (udp && r->sko.reuseport) {
		pr_err("%s: datagrams queued on a SO_REUSEPORT socket (queued again, they could "
		       "reach another socket of its group): not supported\n",
		       who);
		return -EOPNOTSUPP;
	}
	if (!udp) {
		pr_err("%s: data queued unread (a %s's queue cannot be refilled): not "
		       "supported\n",
		       who, kind_name(r->e.type, r->e.protocol));
		return -EOPNOTSUPP;
	}
	kp = peek_guard(fd, orig, &wfd, who);
	if (kp < 0)
		return kp;
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("%s: SO_PEEK_OFF", who);
		ret = -errno;
	} else {
		test_pause("inetdg-peek"); /* t-inetdg.sh kills vxdump here */
		ret = peek_all(df, fd, r, who);
		if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &orig, sizeof(orig))) {
			pr_perror("%s: cannot put its SO_PEEK_OFF back to %d", who, orig);
			ret = ret ?: -errno;
			c = 0;
		}
	}
	if (c && write(wfd, &c, 1) != 1)
		pr_warn("%s: the keeper of its peek offset is gone\n", who);
	close(wfd);
	waitpid(kp, &st, 0);
	return ret;
}

/* The size of the block holding r's entry. */
static size_t block_size(const struct dg_read *r)
{
	return sizeof(struct inetdg_dump) +
	       r->nopt * (sizeof(struct opt_slot) + sizeof(InetdgOpt *)) +
	       r->ngrp * (sizeof(struct group_slot) + sizeof(InetdgGroup *)) +
	       r->nq * (sizeof(struct dg_slot) + sizeof(InetdgDgram *)) + r->sko.filter.len;
}

/* The queue's entries in the block at q (nq slots, then their pointers). */
static void build_queue(const struct dg_read *r, struct inetdg_dump *u, struct dg_slot *q)
{
	InetdgDgram **qp = (InetdgDgram **)(q + r->nq);
	size_t i;

	for (i = 0; i < r->nq; i++) {
		const struct dg_meta *m = &r->q[i];

		inetdg_dgram__init(&q[i].d);
		q[i].sa = m->src;
		net_addr_to_pb(&q[i].sa, &q[i].src);
		q[i].d.src = &q[i].src;
		PB_SET(&q[i].d, len, m->len);
		if (m->has_dst) {
			q[i].da = m->dst;
			net_addr_to_pb(&q[i].da, &q[i].dst);
			q[i].d.dst = &q[i].dst;
		}
		if (m->ttl >= 0)
			PB_SET(&q[i].d, ttl, (uint32_t)m->ttl);
		if (m->tos >= 0)
			PB_SET(&q[i].d, tos, (uint32_t)m->tos);
		qp[i] = &q[i].d;
	}
	u->e.queue = qp;
	u->e.n_queue = r->nq;
}

/* Options and groups into the block from o on; returns where the queue goes. */
static struct dg_slot *build_opts(const struct dg_read *r, struct inetdg_dump *u,
				  struct opt_slot *o)
{
	InetdgOpt **op = (InetdgOpt **)(o + r->nopt);
	struct group_slot *g = (struct group_slot *)(op + r->nopt);
	InetdgGroup **gp = (InetdgGroup **)(g + r->ngrp);
	size_t i;

	for (i = 0; i < r->nopt; i++) {
		inetdg_opt__init(&o[i].o);
		PB_SET(&o[i].o, level, (uint32_t)r->opts[i].level);
		PB_SET(&o[i].o, name, (uint32_t)r->opts[i].name);
		PB_SET(&o[i].o, value, r->opts[i].value);
		if (r->opts[i].ifname[0]) {
			memcpy(o[i].ifname, r->opts[i].ifname, sizeof(o[i].ifname));
			o[i].o.ifname = o[i].ifname;
		}
		op[i] = &o[i].o;
	}
	for (i = 0; i < r->ngrp; i++) {
		inetdg_group__init(&g[i].g);
		memcpy(g[i].addr, r->groups[i].addr, 16);
		memcpy(g[i].ifname, r->groups[i].ifname, sizeof(g[i].ifname));
		g[i].g.group.data = g[i].addr;
		g[i].g.group.len = r->groups[i].len;
		g[i].g.has_group = 1;
		g[i].g.ifname = g[i].ifname;
		gp[i] = &g[i].g;
	}
	u->e.ipopts = op;
	u->e.n_ipopts = r->nopt;
	u->e.groups = gp;
	u->e.n_groups = r->ngrp;
	return (struct dg_slot *)(gp + r->ngrp);
}

/* df->sub: r's entry as one block.  0 or -ENOMEM. */
static int build_entry(struct dump_file *df, const struct dg_read *r, const struct fd_probe *p)
{
	struct inetdg_dump *u = calloc(1, block_size(r));
	struct dg_slot *q;

	if (!u)
		return -ENOMEM;
	u->e = r->e;
	u->opts = r->sko;
	u->opts.bindtodevice = NULL;
	if (r->sko.bindtodevice) {
		snprintf(u->dev, sizeof(u->dev), "%s", r->sko.bindtodevice);
		u->opts.bindtodevice = u->dev;
	}
	u->e.opts = &u->opts;
	PB_SET(&u->e, uid, p->st.st_uid);
	PB_SET(&u->e, gid, p->st.st_gid);
	if (r->bound) {
		u->la = r->la;
		net_addr_to_pb(&u->la, &u->local);
		u->e.local = &u->local;
	}
	if (r->connected) {
		u->pa = r->pa;
		net_addr_to_pb(&u->pa, &u->peer);
		u->e.peer = &u->peer;
	}
	if (r->icmpf_len) {
		memcpy(u->icmpf, r->icmpf, r->icmpf_len);
		u->e.icmp_filter.data = u->icmpf;
		u->e.icmp_filter.len = r->icmpf_len;
		u->e.has_icmp_filter = 1;
	}
	q = build_opts(r, u, (struct opt_slot *)(u + 1));
	build_queue(r, u, q);
	if (r->sko.has_filter) {
		u->opts.filter.data = (uint8_t *)((InetdgDgram **)(q + r->nq) + r->nq);
		memcpy(u->opts.filter.data, r->sko.filter.data, r->sko.filter.len);
	}
	df->sub = u;
	df->e.inetdg = &u->e;
	return 0;
}

/* Everything of the socket into r (and its queue into df).  0 or -errno. */
static int read_all(struct net_dg_cache *c, struct dump_file *df, int fd, struct dg_read *r,
		    const char *who)
{
	int refsnd, refrcv, ret;

	ret = net_dg_opts_read(c, fd, r->ino, &r->e, r->opts, &r->nopt, &refsnd, &refrcv, who);
	ret = ret ?: read_skopts(fd, r, refsnd, refrcv, who);
	ret = ret ?: read_icmp_filter(fd, r, who);
	ret = ret   ?:
		      net_dg_groups_read(c, fd, r->e.family, r->e.type == SOCK_DGRAM, &r->groups,
					 &r->ngrp, who);
	return ret ?: read_queue(df, fd, r, who);
}

/* The state of inet datagram or raw socket p (our copy in df->local_fd). */
static int dump_inetdg(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct dg_read *r = calloc(1, sizeof(*r));
	int fd = df->local_fd, fam, ret;
	char who[96];

	df->e.kind = FILE_KIND__FILE_INETDG;
	snprintf(who, sizeof(who), "pid %d fd %d (inet socket ino %llu)", p->pid, p->fd,
		 (unsigned long long)p->st.st_ino);
	if (!r)
		return -ENOMEM;
	inetdg_entry__init(&r->e);
	sk_opts__init(&r->sko);
	r->ino = p->st.st_ino;
	r->listed = net_dg_udp_listed(op_cache(op), r->ino, &fam, &r->wqueue);
	ret = r->listed ? 0 : net_sock_netns_ours(op_cache(op), fd);
	if (ret)
		pr_err("%s: %s\n", who,
		       ret == -EXDEV ? "of another network namespace than vxdump's: not supported" :
				       "cannot read its network namespace");
	if (ret == -EXDEV)
		ret = -EOPNOTSUPP;
	ret = ret ?: read_ids(fd, r, who);
	if (!ret)
		snprintf(who, sizeof(who), "pid %d fd %d (%s ino %llu)", p->pid, p->fd,
			 kind_name(r->e.type, r->e.protocol), (unsigned long long)p->st.st_ino);
	ret = ret ?: read_all(op_cache(op), df, fd, r, who);
	ret = ret ?: build_entry(df, r, p);
	net_skopts_free(&r->sko);
	free(r->groups);
	free(r->q);
	free(r);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_inetdg = { "inetdg", is_inetdg, dump_inetdg, NULL };
