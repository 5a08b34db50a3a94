/*
 * Packet sockets (fd kind "packetsk"), simple ones only: read on the
 * dumper's pidfd_getfd copy (type, the ethertype and interface it is
 * bound to from getsockname, the PACKET_* options, SOL_SOCKET options)
 * and from packet_diag (sock_diag, matched by inode): no ring
 * (PACKET_RX_RING / PACKET_TX_RING), no fanout, no membership
 * (PACKET_ADD_MEMBERSHIP: promiscuous mode, multicast addresses),
 * nothing queued.  Each of those is refused naming the socket: a ring is
 * memory shared with the program at a kernel-chosen layout, fanout a
 * group of sockets across processes, and queued frames were never ours
 * to replay.  A socket of another network namespace than vxdump's is
 * refused too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>

#define LOG_PREFIX "dump/packetsk: "
#include "log.h"
#include "dump/dump.h"
#include "net/dgram.h"
#include "net/sockopt.h"
#include "packetsk.pb-c.h"

/* What packet_diag says of one socket. */
struct pk_diag {
	uint32_t ino; /* the socket looked for */
	bool found, rx_ring, tx_ring, fanout;
	uint32_t rmem, mclist;
};

/* The socket's own block (df->sub, freed by free()). */
struct packetsk_dump {
	PacketskEntry e;
	SkOpts opts;
	char ifname[IF_NAMESIZE];
	char dev[IF_NAMESIZE];
};

/* The dump's net/dgram.c cache: one per operation. */
static struct net_dg_cache *op_cache(const struct dump_op *op)
{
	return net_dg_cache_get((uint64_t)(uintptr_t)op ^ op->t_start);
}

static bool is_packetsk(const struct fd_probe *p)
{
	return fd_probe_sock_opt(p, SO_DOMAIN) == AF_PACKET;
}

/* The attributes of one packet_diag answer, if it is inode ino. */
static int diag_take(const struct nlmsghdr *h, void *arg)
{
	struct pk_diag *d = arg;
	const struct packet_diag_msg *m = NLMSG_DATA(h);
	size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct nlattr *a = (const void *)(m + 1);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->pdiag_ino != d->ino)
		return 0;
	d->found = true;
	while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		const uint32_t *v = (const void *)(a + 1);
		size_t vlen = a->nla_len - sizeof(*a);

		if (a->nla_type == PACKET_DIAG_RX_RING)
			d->rx_ring = true;
		else if (a->nla_type == PACKET_DIAG_TX_RING)
			d->tx_ring = true;
		else if (a->nla_type == PACKET_DIAG_FANOUT)
			d->fanout = true;
		else if (a->nla_type == PACKET_DIAG_MCLIST)
			d->mclist = vlen / sizeof(struct packet_diag_mclist);
		else if (a->nla_type == PACKET_DIAG_MEMINFO &&
			 vlen >= 4 * (SK_MEMINFO_RMEM_ALLOC + 1))
			d->rmem = v[SK_MEMINFO_RMEM_ALLOC];
		if ((size_t)NLA_ALIGN(a->nla_len) >= left)
			break;
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/* packet_diag's view of socket ino.  0 or -errno (-ENOENT: not seen). */
static int diag_packet(uint32_t ino, struct pk_diag *d)
{
	struct {
		struct nlmsghdr h;
		struct packet_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_PACKET,
		       .pdiag_show = PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG |
				     PACKET_SHOW_FANOUT | PACKET_SHOW_MEMINFO,
		       .pdiag_cookie = { ~0u, ~0u } },
	};
	int ret;

	memset(d, 0, sizeof(*d));
	d->ino = ino;
	ret = proc_sock_diag_dump(&req, sizeof(req), diag_take, d);
	return ret ?: (d->found ? 0 : -ENOENT);
}

/* Refuses what the image cannot hold.  0 or -EOPNOTSUPP (logged). */
static int refuse_state(const struct pk_diag *d, const char *who)
{
	const char *why = NULL;

	if (d->rx_ring || d->tx_ring)
		why = d->rx_ring ? "a receive ring (PACKET_RX_RING)" :
				   "a transmit ring (PACKET_TX_RING)";
	else if (d->fanout)
		why = "fanout (PACKET_FANOUT)";
	else if (d->mclist)
		why = "a membership (PACKET_ADD_MEMBERSHIP)";
	else if (d->rmem)
		why = "frames queued unread";
	if (!why)
		return 0;
	pr_err("%s: %s: not supported\n", who, why);
	return -EOPNOTSUPP;
}

/* The PACKET_* options into e.  0 or -errno (logged). */
static int read_options(int fd, PacketskEntry *e, const char *who)
{
	static const int names[] = { PACKET_VERSION,   PACKET_AUXDATA,	    PACKET_ORIGDEV,
				     PACKET_VNET_HDR,  PACKET_RESERVE,	    PACKET_TIMESTAMP,
				     PACKET_LOSS,      PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING,
				     PACKET_TX_HAS_OFF };
	int v[sizeof(names) / sizeof(names[0])];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ret = net_get_int(fd, SOL_PACKET, names[i], &v[i]);
		if (ret) {
			pr_err("%s: getsockopt SOL_PACKET %d: %s\n", who, names[i], strerror(-ret));
			return ret;
		}
	}
	PB_SET(e, version, (uint32_t)v[0]);
	PB_SET(e, auxdata, !!v[1]);
	PB_SET(e, origdev, !!v[2]);
	PB_SET(e, vnet_hdr, !!v[3]);
	PB_SET(e, reserve, (uint32_t)v[4]);
	PB_SET(e, timestamp, (uint32_t)v[5]);
	PB_SET(e, loss, !!v[6]);
	PB_SET(e, qdisc_bypass, !!v[7]);
	PB_SET(e, ignore_outgoing, !!v[8]);
	PB_SET(e, tx_has_off, !!v[9]);
	return 0;
}

/* Type, protocol and interface.  0 or -errno (logged). */
static int read_address(int fd, struct packetsk_dump *u, const char *who)
{
	struct sockaddr_ll sa = { 0 };
	socklen_t len = sizeof(sa);
	int type, ret;

	ret = net_get_int(fd, SOL_SOCKET, SO_TYPE, &type);
	if (!ret && getsockname(fd, (struct sockaddr *)&sa, &len))
		ret = -errno;
	if (ret) {
		pr_err("%s: cannot read its address: %s\n", who, strerror(-ret));
		return ret;
	}
	if (type != SOCK_RAW && type != SOCK_DGRAM) {
		pr_err("%s: type %d (SOCK_PACKET): not supported\n", who, type);
		return -EOPNOTSUPP;
	}
	PB_SET(&u->e, type, type);
	PB_SET(&u->e, protocol, sa.sll_protocol);
	if (sa.sll_ifindex > 0) {
		if (!if_indextoname(sa.sll_ifindex, u->ifname)) {
			pr_err("%s: bound to interface %d, which vxdump cannot see\n", who,
			       sa.sll_ifindex);
			return -EOPNOTSUPP;
		}
		u->e.ifname = u->ifname;
	}
	return 0;
}

/* The SOL_SOCKET options into o (buffer sizes when they differ from a new
 * socket's; a classic filter, as tcpdump attaches).  0 or -errno (logged). */
static int read_skopts(int fd, SkOpts *o, const char *who)
{
	int snd = 0, rcv = 0, rsnd = 0, rrcv = 0, ref, ret;

	ref = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ret = ref < 0 ? -errno : 0;
	ret = ret						     ?:
		      net_get_int(fd, SOL_SOCKET, SO_SNDBUF, &snd)   ?:
		      net_get_int(fd, SOL_SOCKET, SO_RCVBUF, &rcv)   ?:
		      net_get_int(ref, SOL_SOCKET, SO_SNDBUF, &rsnd) ?:
		      net_get_int(ref, SOL_SOCKET, SO_RCVBUF, &rrcv);
	if (ref >= 0)
		close(ref);
	if (ret) {
		pr_err("%s: cannot read its buffer sizes: %s\n", who, strerror(-ret));
		return ret;
	}
	return net_skopts_read(fd, o, snd != rsnd, rcv != rrcv, who);
}

/* The block of the entry with o's strings and filter copied in.  NULL: ENOMEM. */
static struct packetsk_dump *new_block(const SkOpts *o)
{
	struct packetsk_dump *u = calloc(1, sizeof(*u) + o->filter.len);

	if (!u)
		return NULL;
	packetsk_entry__init(&u->e);
	u->opts = *o;
	u->opts.bindtodevice = NULL;
	if (o->bindtodevice) {
		snprintf(u->dev, sizeof(u->dev), "%s", o->bindtodevice);
		u->opts.bindtodevice = u->dev;
	}
	u->opts.filter.data = o->has_filter ? (uint8_t *)(u + 1) : NULL;
	if (o->has_filter)
		memcpy(u->opts.filter.data, o->filter.data, o->filter.len);
	u->e.opts = &u->opts;
	return u;
}

static int dump_packetsk(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	SkOpts o = SK_OPTS__INIT;
	struct packetsk_dump *u;
	struct pk_diag d;
	int fd = df->local_fd, ret;
	char who[96];

	df->e.kind = FILE_KIND__FILE_PACKETSK;
	snprintf(who, sizeof(who), "pid %d fd %d (packet socket ino %llu)", p->pid, p->fd,
		 (unsigned long long)p->st.st_ino);
	ret = net_sock_netns_ours(op_cache(op), fd);
	if (ret) {
		pr_err("%s: %s\n", who,
		       ret == -EXDEV ? "of another network namespace than vxdump's: not supported" :
				       "cannot read its network namespace");
		return ret == -EXDEV ? -EOPNOTSUPP : ret;
	}
	ret = diag_packet(p->st.st_ino, &d);
	if (ret) {
		pr_err("%s: packet_diag cannot see it: %s\n", who, strerror(-ret));
		return ret;
	}
	ret = refuse_state(&d, who);
	if (ret)
		return ret;
	ret = read_skopts(fd, &o, who);
	u = ret ? NULL : new_block(&o);
	net_skopts_free(&o);
	if (ret || !u)
		return ret ?: -ENOMEM;
	df->sub = u;
	df->e.packetsk = &u->e;
	PB_SET(&u->e, uid, p->st.st_uid);
	PB_SET(&u->e, gid, p->st.st_gid);
	ret = read_address(fd, u, who) ?: read_options(fd, &u->e, who);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_packetsk = { "packetsk", is_packetsk, dump_packetsk, NULL };
