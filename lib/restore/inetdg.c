/*
 * UDP, UDP-Lite, ICMP echo ("ping") and raw IP sockets (fd kind
 * "inetdg"), in the root's C part: a new socket of the recorded family,
 * type and protocol, made with the recorded owner (its inode's uid/gid;
 * the egid also lets a ping socket pass net.ipv4.ping_group_range as the
 * original's maker did), then in this order: the options set before bind
 * (IPV6_V6ONLY, FREEBIND...), the SOL_SOCKET options, bind to exactly
 * the recorded address (net_bind: one that is not on this host is
 * refused, never rebound elsewhere), the other options, multicast
 * groups, a raw ICMP socket's filter, the receive queue, connect() to the
 * recorded peer, SO_PEEK_OFF, O_NONBLOCK.
 *
 * The queue: each datagram is sent again from its recorded source by a
 * raw socket (IP_HDRINCL / IPV6_HDRINCL) bound to the socket's device (or
 * lo), to the socket's own address: a datagram from any host, from a port
 * another socket still holds, or from before the socket connected
 * arrives as it did (NOTES "UDP, raw, ICMP and packet sockets").  The
 * destination is always an address of this host (the bound one, the one
 * the datagram was sent to if the socket recorded it and it is a unicast
 * address here, else loopback), so nothing leaves the host.  The queue
 * is filled before connect() (a connected socket takes only its peer's)
 * and counted after: a datagram lost on the way fails the restore.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <linux/icmp.h>

#include "log.h"
#include "net/dgram.h"
#include "net/inet.h"
#include "net/sockopt.h"
#include "restore/restore.h"
#include "util/testhook.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define DGRAM_MAX 65536
#define FILL_WAIT_MS 2000 /* for the refilled datagrams to arrive */

static bool is_udp(const InetdgEntry *e)
{
	return e->type == SOCK_DGRAM &&
	       (e->protocol == IPPROTO_UDP || e->protocol == IPPROTO_UDPLITE);
}

static const char *who_of(const struct rst_file *f, char *buf, size_t len)
{
	const InetdgEntry *e = f->fe->inetdg;

	snprintf(buf, len, "%s socket (file id %u)",
		 e->type == SOCK_RAW ? "raw" :
		 is_udp(e)	     ? (e->protocol == IPPROTO_UDP ? "udp" : "udplite") :
				       "ping",
		 f->fe->id);
	return buf;
}

/* Family, type, protocol and owner in range.  0 or -EBADMSG (logged). */
static int check_ids(const struct rst_file *f, const InetdgEntry *e)
{
	bool ok = e->has_family && e->has_type && e->has_protocol && e->has_uid && e->has_gid;

	ok = ok && (e->family == AF_INET || e->family == AF_INET6);
	if (ok && e->type == SOCK_DGRAM)
		ok = e->protocol == IPPROTO_UDP || e->protocol == IPPROTO_UDPLITE ||
		     e->protocol == (e->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	else if (ok)
		ok = e->type == SOCK_RAW && e->protocol >= 1 && e->protocol <= 255;
	if (!ok || e->uid == UINT32_MAX || e->gid == UINT32_MAX) {
		pr_err("image: inet socket (file id %u) has no inetdg entry, or its family, type, "
		       "protocol or owner is missing or out of range\n",
		       f->fe->id);
		return -EBADMSG;
	}
	return 0;
}

/* Addresses, filter, options.  0 or -EBADMSG (logged). */
static int check_parts(const struct rst_file *f, const InetdgEntry *e, const char *who)
{
	struct net_addr a;
	bool icmp = e->type == SOCK_RAW &&
		    e->protocol == (e->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	int ret = 0;

	if (e->local)
		ret = net_addr_from_pb(e->local, e->family, &a, who, "its local");
	if (!ret && e->local && e->type == SOCK_RAW && a.port) {
		pr_err("image: %s: a raw socket bound to a port\n", who);
		ret = -EBADMSG;
	}
	if (!ret && e->peer)
		ret = net_addr_from_pb(e->peer, e->family, &a, who, "its peer");
	if (!ret && e->has_icmp_filter &&
	    (!icmp || e->icmp_filter.len != (e->family == AF_INET ? 4 : 32))) {
		pr_err("image: %s: an ICMP filter of %zu bytes\n", who, e->icmp_filter.len);
		ret = -EBADMSG;
	}
	if (!ret && e->opts)
		ret = net_skopts_check(e->opts, who);
	return ret ?: net_dg_check(e, who);
}

/* One queued datagram's meta.  0 or -EBADMSG (logged). */
static int check_dgram(const InetdgEntry *e, const InetdgDgram *d, size_t i, const char *who)
{
	struct net_addr a;
	int ret;

	ret = net_addr_from_pb(d->src, e->family, &a, who, "a queued datagram's source");
	if (!ret && d->dst)
		ret = net_addr_from_pb(d->dst, e->family, &a, who,
				       "a queued datagram's destination");
	if (!ret && (!d->has_len || d->len > DGRAM_MAX - 48 || (d->has_ttl && d->ttl > 255) ||
		     (d->has_tos && d->tos > 255))) {
		pr_err("image: %s: queued datagram %zu: length, TTL or TOS out of range\n", who, i);
		ret = -EBADMSG;
	}
	return ret;
}

/*
 * The queue: only on a bound UDP socket; its SK_QUEUE records one per
 * datagram, in order, each of the recorded length.  0 or -EBADMSG.
 */
static int check_queue(const struct rst_image *img, const struct rst_file *f, const char *who)
{
	const InetdgEntry *e = f->fe->inetdg;
	size_t i, n = 0;
	uint64_t at = 0;
	int ret;

	if (e->n_queue && (!is_udp(e) || !e->local || !e->local->port)) {
		pr_err("image: %s: queued datagrams on a socket that is not a bound UDP one\n",
		       who);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_queue; i++) {
		ret = check_dgram(e, e->queue[i], i, who);
		if (ret)
			return ret;
	}
	for (i = 0; i < img->nr_skq; i++) {
		const struct rst_chunk *c = &img->skq[i];

		if (c->id != f->fe->id)
			continue;
		if (n >= e->n_queue || c->offset != at || c->len != e->queue[n]->len) {
			pr_err("image: %s: queued data record %zu does not match its datagram\n",
			       who, n);
			return -EBADMSG;
		}
		at += c->len;
		n++;
	}
	if (n != e->n_queue) {
		pr_err("image: %s: %zu datagrams recorded, %zu queued data records\n", who,
		       e->n_queue, n);
		return -EBADMSG;
	}
	return 0;
}

/* The image alone: the entry there and every field in range. */
static int check_inetdg(const struct rst_image *img, const struct rst_file *f)
{
	const InetdgEntry *e = f->fe->inetdg;
	char who[64];
	int ret;

	if (!e) {
		pr_err("image: inet socket (file id %u) has no inetdg entry\n", f->fe->id);
		return -EBADMSG;
	}
	ret = check_ids(f, e);
	if (ret)
		return ret;
	who_of(f, who, sizeof(who));
	ret = check_parts(f, e, who) ?: check_queue(img, f, who);
	return ret;
}

/* The socket, made as its recorded owner (egid and fsuid).  fd or -errno. */
static int make_socket(const InetdgEntry *e, const char *who)
{
	gid_t old_gid = getegid();
	int sk, old_uid, err;

	if (setegid(e->gid)) {
		pr_perror("%s: cannot take gid %u", who, e->gid);
		return -errno;
	}
	old_uid = setfsuid(e->uid);
	sk = socket(e->family, e->type | SOCK_CLOEXEC, e->protocol);
	err = errno;
	setfsuid(old_uid);
	if (setegid(old_gid)) {
		pr_perror("%s: cannot take gid %u back", who, old_gid);
		if (sk >= 0)
			close(sk);
		return -EPERM;
	}
	if (sk < 0) {
		pr_err("%s: cannot create it here: %s%s\n", who, strerror(err),
		       e->type == SOCK_DGRAM && !is_udp(e) && err == EACCES ?
			       " (its gid is outside net.ipv4.ping_group_range)" :
			       "");
		return -err;
	}
	return sk;
}

/* The address to bind: a raw socket's only if not the wildcard. */
static int bind_local(int sk, const InetdgEntry *e, const char *who)
{
	struct net_addr a;
	int ret;

	if (!e->local)
		return 0;
	ret = net_addr_from_pb(e->local, e->family, &a, who, "its local");
	if (ret || (e->type == SOCK_RAW && net_addr_is_any(&a)))
		return ret;
	return net_bind(sk, &a, who);
}

/* Where datagram d goes: its recorded destination when that is a unicast
 * address here, else the socket's own address (loopback for a wildcard);
 * an IPv4 sender's to an IPv4(-mapped) one.  0 or -errno (logged). */
static int dest_of(const InetdgEntry *e, const struct net_addr *src, const InetdgDgram *d,
		   struct net_addr *dst, struct net_addr *ok, const char *who)
{
	bool mapped = net_addr_v4mapped(src);
	struct net_addr x;
	int ret;

	ret = net_addr_from_pb(e->local, e->family, dst, who, "its local");
	if (ret)
		return ret;
	if (d->dst && !net_addr_from_pb(d->dst, e->family, &x, who, "a destination") &&
	    net_addr_v4mapped(&x) == mapped && memcmp(x.ip, dst->ip, 16)) {
		/* *ok: the last one found local (a queue's datagrams share a few) */
		if (net_addr_is_any(dst) &&
		    ((ok->family == x.family && !memcmp(ok->ip, x.ip, 16)) ||
		     net_addr_local_unicast(&x))) {
			*ok = x;
			x.port = dst->port;
			*dst = x;
			return 0;
		}
		pr_warn("%s: a queued datagram was sent to an address that is not here: "
			"queued again through its own\n",
			who);
	}
	if (net_addr_is_any(dst)) {
		if (e->family == AF_INET)
			memcpy(dst->ip, "\x7f\0\0\x01", 4);
		else if (mapped)
			memcpy(dst->ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16);
		else
			dst->ip[15] = 1;
	}
	if (net_addr_v4mapped(dst) != mapped) {
		pr_err("%s: a datagram from %s queued on a socket bound to an %s address\n", who,
		       mapped ? "an IPv4 sender" : "an IPv6 sender", mapped ? "IPv6" : "IPv4");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* How many datagrams sk has queued (peeked from offset 0).  n or -errno. */
static int count_queued(int sk, uint8_t *buf)
{
	int zero = 0, off = -1, n = 0;

	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return -errno;
	while (recv(sk, buf, DGRAM_MAX, MSG_PEEK | MSG_DONTWAIT) >= 0)
		n++;
	setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	return errno == EAGAIN ? n : -errno;
}

/* Waits until sk holds n datagrams (they go through loopback's backlog). */
static int wait_queued(int sk, size_t n, const char *who)
{
	uint8_t *buf = malloc(DGRAM_MAX);
	int got = 0, waited;

	if (!buf)
		return -ENOMEM;
	for (waited = 0; waited <= FILL_WAIT_MS; waited += 10) {
		got = count_queued(sk, buf);
		if (got < 0 || (size_t)got >= n)
			break;
		poll(NULL, 0, 10);
	}
	free(buf);
	if (got >= 0 && (size_t)got == n)
		return 0;
	pr_err("%s: %zu datagrams queued again, %d arrived\n", who, n, got);
	return got < 0 ? got : -EIO;
}

/* Sends f's datagrams again from their sources (raw socket).  0/-errno. */
static int fill_queue(const struct rst_image *img, const struct rst_file *f, int sk,
		      const char *who)
{
	const InetdgEntry *e = f->fe->inetdg;
	struct net_forge fg = { -1, -1, "" };
	struct net_addr src, dst, ok = { 0 };
	size_t i, n = 0;
	int ret = 0;

	if (e->opts && e->opts->bindtodevice)
		snprintf(fg.dev, sizeof(fg.dev), "%s", e->opts->bindtodevice);
	if (setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ INT32_MAX / 2 }, sizeof(int))) {
		pr_perror("%s: cannot make room for its queue (SO_RCVBUFFORCE)", who);
		return -errno;
	}
	for (i = 0; !ret && i < img->nr_skq; i++) {
		const struct rst_chunk *c = &img->skq[i];
		const InetdgDgram *d;

		if (c->id != f->fe->id)
			continue;
		d = e->queue[n++];
		if (n == 2)
			test_pause("inetdg-refill"); /* t-inetdg.sh kills vxrestore here */
		ret = net_addr_from_pb(d->src, e->family, &src, who, "a queued datagram's source");
		ret = ret ?: dest_of(e, &src, d, &dst, &ok, who);
		ret = ret   ?:
			      net_dg_forge(&fg, e->protocol, &src, &dst, c->buf, c->len,
					   d->has_ttl ? (int)d->ttl : 0,
					   d->has_tos ? (int)d->tos : 0, who);
	}
	net_forge_close(&fg);
	return ret ?: wait_queued(sk, e->n_queue, who);
}

/* The receive buffer back to what it was before the refill forced it. */
static int fill_queue_kept(const struct rst_image *img, const struct rst_file *f, int sk,
			   const char *who)
{
	int rcv = 0, ret;

	if (!f->fe->inetdg->n_queue)
		return 0;
	ret = net_get_int(sk, SOL_SOCKET, SO_RCVBUF, &rcv);
	ret = ret ?: fill_queue(img, f, sk, who);
	return ret ?: net_set_buf(sk, SO_RCVBUF, rcv, who);
}

/* A raw ICMP socket's type filter. */
static int set_icmp_filter(int sk, const InetdgEntry *e, const char *who)
{
	if (!e->has_icmp_filter)
		return 0;
	if (setsockopt(sk, e->family == AF_INET ? SOL_RAW : SOL_ICMPV6,
		       e->family == AF_INET ? ICMP_FILTER : ICMP6_FILTER, e->icmp_filter.data,
		       e->icmp_filter.len)) {
		pr_perror("%s: cannot set its ICMP filter", who);
		return -errno;
	}
	return 0;
}

/* connect() to the recorded peer. */
static int connect_peer(int sk, const InetdgEntry *e, const char *who)
{
	struct sockaddr_storage ss;
	char s[NET_ADDR_STRLEN];
	struct net_addr a;
	socklen_t len;
	int ret;

	if (!e->peer)
		return 0;
	ret = net_addr_from_pb(e->peer, e->family, &a, who, "its peer");
	if (ret)
		return ret;
	len = net_addr_sockaddr(&a, &ss);
	if (connect(sk, (struct sockaddr *)&ss, len)) {
		pr_perror("%s: cannot connect to %s", who, net_addr_str(&a, s));
		return -errno;
	}
	return 0;
}

/* The socket in its recorded state, queue included.  fd or -errno. */
static int build(const struct rst_image *img, const struct rst_file *f, const char *who)
{
	const InetdgEntry *e = f->fe->inetdg;
	int sk = make_socket(e, who), ret;

	if (sk < 0)
		return sk;
	ret = net_dg_opts_apply(sk, e, DG_PRE_BIND, who);
	ret = ret ?: e->opts ? net_skopts_apply(sk, e->opts, who) : 0;
	ret = ret ?: bind_local(sk, e, who);
	ret = ret ?: net_dg_opts_apply(sk, e, 0, who);
	ret = ret ?: net_dg_groups_apply(sk, e, who);
	ret = ret ?: set_icmp_filter(sk, e, who);
	ret = ret ?: fill_queue_kept(img, f, sk, who);
	ret = ret ?: connect_peer(sk, e, who);
	ret = ret ?: net_dg_opts_apply(sk, e, DG_LAST, who);
	if (ret) {
		close(sk);
		return ret;
	}
	return sk;
}

static int open_inetdg(const struct rst_image *img, struct rst_file *f)
{
	char who[64];
	int sk;

	sk = build(img, f, who_of(f, who, sizeof(who)));
	if (sk < 0)
		return sk;
	f->stage_fd = rst_stage_fd(img, sk);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_inetdg = {
	.kind = FILE_KIND__FILE_INETDG,
	.name = "inetdg",
	.check_image = check_inetdg,
	.open = open_inetdg,
};
