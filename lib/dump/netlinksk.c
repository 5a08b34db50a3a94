/*
 * Netlink sockets (fd kind "netlinksk"): what a daemon's AF_NETLINK
 * socket is made of, read from the dumper's pidfd_getfd copy without
 * sending or receiving anything on it: SO_PROTOCOL, SO_TYPE, the bound
 * port id (getsockname), every multicast group (NETLINK_LIST_MEMBERSHIPS,
 * also those above 32), the NETLINK_* options, SO_RCVBUF/SO_SNDBUF, the
 * SOL_SOCKET options that matter (SO_PASSCRED, SO_PASSSEC, timeouts,
 * priority, mark, SO_RCVLOWAT), the classic BPF filter (SO_GET_FILTER,
 * as libudev's monitors attach one) and its lock, and from sock_diag
 * (NETLINK_SOCK_DIAG, matched by inode) the connected state with its
 * peer, the bytes queued for reading and whether a dump (NLM_F_DUMP) is
 * still running on it.
 *
 * Refused, one line each: queued messages (kernel answers and
 * notifications that cannot be replayed), a dump in progress (its
 * remaining answers would never come), a socket of another network
 * namespace than vxdump's (the sock_diag query and the restore both work
 * in that one), an eBPF filter (no call hands its program back),
 * SO_TIMESTAMP(NS/ING) and SO_RXQ_OVFL; a protocol restore does not know
 * is refused by the vet (restore's check_image).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>

#define LOG_PREFIX "netlinksk: "
#include "log.h"
#include "dump/dump.h"
#include "net/sockopt.h"
#include "netlinksk.pb-c.h"

#define NL_MAX_GROUP 1024 /* as restore's check_image (lib/restore/netlinksk.c) */

/* What sock_diag says of one netlink socket. */
struct nl_diag {
	uint32_t ino; /* the socket looked for */
	bool found;
	uint8_t state;
	uint32_t dst_portid;
	uint32_t dst_group;
	uint32_t rmem;
	uint32_t flags;
};

static bool is_netlinksk(const struct fd_probe *p)
{
	return fd_probe_sock_opt(p, SO_DOMAIN) == AF_NETLINK;
}

/* Takes the attributes of one diag answer if it is inode ino. */
static int diag_take(const struct nlmsghdr *h, void *arg)
{
	struct nl_diag *d = arg;
	const struct netlink_diag_msg *m = NLMSG_DATA(h);
	size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct nlattr *a = (const void *)(m + 1);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->ndiag_ino != d->ino)
		return 0;
	d->found = true;
	d->state = m->ndiag_state;
	d->dst_portid = m->ndiag_dst_portid;
	d->dst_group = m->ndiag_dst_group;
	while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		const uint32_t *v = (const void *)(a + 1);
		size_t vlen = a->nla_len - sizeof(*a);

		if (a->nla_type == NETLINK_DIAG_MEMINFO && vlen >= 4 * (SK_MEMINFO_RMEM_ALLOC + 1))
			d->rmem = v[SK_MEMINFO_RMEM_ALLOC];
		else if (a->nla_type == NETLINK_DIAG_FLAGS && vlen >= 4)
			d->flags = v[0];
		if ((size_t)NLA_ALIGN(a->nla_len) >= left)
			break;
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/* sock_diag's view of netlink socket ino of protocol proto.  0 or -errno. */
static int diag_netlink(int proto, uint32_t ino, struct nl_diag *d)
{
	struct {
		struct nlmsghdr h;
		struct netlink_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_NETLINK,
		       .sdiag_protocol = proto,
		       .ndiag_show = NDIAG_SHOW_MEMINFO | NDIAG_SHOW_FLAGS },
	};
	int ret;

	memset(d, 0, sizeof(*d));
	d->ino = ino;
	ret = proc_sock_diag_dump(&req, sizeof(req), diag_take, d);
	return ret ?: (d->found ? 0 : -ENOENT);
}

/*
 * The groups fd has joined, numbers increasing, into e->groups (room for
 * NL_MAX_GROUP).
 * 0, -E2BIG (a group above NL_MAX_GROUP) or -errno.
 */
static int read_groups(int fd, NetlinkskEntry *e)
{
	uint32_t words[NL_MAX_GROUP / 32 + 1] = { 0 };
	socklen_t len = sizeof(words);
	size_t i, n = 0;

	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len))
		return -errno;
	if (len > sizeof(words))
		return -E2BIG; /* the kernel says how much it had: more groups */
	if (words[NL_MAX_GROUP / 32])
		return -E2BIG;
	for (i = 0; i < NL_MAX_GROUP; i++)
		if (words[i / 32] & (1U << (i % 32)))
			e->groups[n++] = i + 1;
	e->n_groups = n;
	return 0;
}

/* The NETLINK_* options and buffer sizes of fd into e.  0 or -errno. */
static int read_options(int fd, NetlinkskEntry *e)
{
	static const int names[] = { NETLINK_PKTINFO,	     NETLINK_BROADCAST_ERROR,
				     NETLINK_NO_ENOBUFS,     NETLINK_CAP_ACK,
				     NETLINK_EXT_ACK,	     NETLINK_GET_STRICT_CHK,
				     NETLINK_LISTEN_ALL_NSID };
	protobuf_c_boolean *fields[] = { &e->pktinfo,	     &e->broadcast_error,
					 &e->no_enobufs,     &e->cap_ack,
					 &e->ext_ack,	     &e->get_strict_chk,
					 &e->listen_all_nsid };
	protobuf_c_boolean *has[] = { &e->has_pktinfo,	      &e->has_broadcast_error,
				      &e->has_no_enobufs,     &e->has_cap_ack,
				      &e->has_ext_ack,	      &e->has_get_strict_chk,
				      &e->has_listen_all_nsid };
	int v, ret;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ret = net_get_int(fd, SOL_NETLINK, names[i], &v);
		if (ret)
			return ret;
		*fields[i] = !!v;
		*has[i] = 1;
	}
	ret = net_get_int(fd, SOL_SOCKET, SO_RCVBUF, &v);
	if (ret || v <= 0)
		return ret ?: -EINVAL;
	PB_SET(e, rcvbuf, v);
	ret = net_get_int(fd, SOL_SOCKET, SO_SNDBUF, &v);
	if (ret || v <= 0)
		return ret ?: -EINVAL;
	PB_SET(e, sndbuf, v);
	return 0;
}

/*
 * SOL_SOCKET options that change what the program sees (credentials and
 * security labels passed, timeouts, priority, mark, low-water mark, the
 * filter's lock), and those refused when on.  0 or -errno (logged; a
 * refusal -EOPNOTSUPP).
 */
static int read_sockopts(const struct fd_probe *p, int fd, NetlinkskEntry *e)
{
	static const struct {
		int name;
		const char *what;
	} refused[] = { { SO_TIMESTAMP_OLD, "SO_TIMESTAMP" },
			{ SO_TIMESTAMPNS_OLD, "SO_TIMESTAMPNS" },
			{ SO_TIMESTAMPING_OLD, "SO_TIMESTAMPING" },
			{ SO_RXQ_OVFL, "SO_RXQ_OVFL" } };
	int cred, sec, prio, mark, lowat, lock, v, ret;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (!net_get_int(fd, SOL_SOCKET, refused[i].name, &v) && v) {
			pr_err("pid %d fd %d: netlink socket: %s is on: not supported\n", p->pid,
			       p->fd, refused[i].what);
			return -EOPNOTSUPP;
		}
	}
	ret = net_get_int(fd, SOL_SOCKET, SO_PASSCRED, &cred)		 ?:
		      net_get_int(fd, SOL_SOCKET, SO_PASSSEC, &sec)	 ?:
		      net_get_int(fd, SOL_SOCKET, SO_PRIORITY, &prio)	 ?:
		      net_get_int(fd, SOL_SOCKET, SO_MARK, &mark)	 ?:
		      net_get_int(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat)	 ?:
		      net_get_int(fd, SOL_SOCKET, SO_LOCK_FILTER, &lock) ?:
		      net_get_us(fd, SO_RCVTIMEO, &e->rcvtimeo_us)	 ?:
		      net_get_us(fd, SO_SNDTIMEO, &e->sndtimeo_us);
	if (ret || lowat <= 0) {
		pr_err("pid %d fd %d: netlink socket: cannot read its socket options\n", p->pid,
		       p->fd);
		return ret ?: -EINVAL;
	}
	e->has_rcvtimeo_us = e->has_sndtimeo_us = 1;
	PB_SET(e, passcred, !!cred);
	PB_SET(e, passsec, !!sec);
	PB_SET(e, priority, (uint32_t)prio);
	PB_SET(e, mark, (uint32_t)mark);
	PB_SET(e, rcvlowat, lowat);
	PB_SET(e, filter_locked, !!lock);
	return 0;
}

/* The classic BPF filter of fd (n instructions) into e->filter.data.  0 or -errno. */
static int read_filter(int fd, int n, NetlinkskEntry *e)
{
	int ret = net_filter_read(fd, e->filter.data, n);

	if (ret || !n)
		return ret;
	e->filter.len = (size_t)n * sizeof(struct sock_filter);
	e->has_filter = 1;
	return 0;
}

/* 0 if socket fd lives in vxdump's network namespace; -EXDEV if not. */
static int same_netns(int fd)
{
	struct stat ours, its;
	int ns, ret;

	ns = ioctl(fd, SIOCGSKNS);
	if (ns < 0)
		return -errno;
	ret = fstat(ns, &its) || stat("/proc/self/ns/net", &ours) ? -errno : 0;
	close(ns);
	if (ret)
		return ret;
	return its.st_ino == ours.st_ino && its.st_dev == ours.st_dev ? 0 : -EXDEV;
}

/* Protocol, type, port id and groups of fd into e.  0 or -errno (logged). */
static int read_address(const struct fd_probe *p, int fd, NetlinkskEntry *e)
{
	struct sockaddr_nl sa = { 0 };
	socklen_t len = sizeof(sa);
	int proto, type, ret;

	ret = net_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_TYPE, &type);
	if (!ret && getsockname(fd, (struct sockaddr *)&sa, &len))
		ret = -errno;
	if (ret) {
		pr_err("pid %d fd %d: netlink socket: cannot read its address: %s\n", p->pid, p->fd,
		       strerror(-ret));
		return ret;
	}
	if (proto < 0 || proto >= 32 || (type != SOCK_RAW && type != SOCK_DGRAM)) {
		pr_err("pid %d fd %d: netlink socket: protocol %d type %d not supported\n", p->pid,
		       p->fd, proto, type);
		return -EOPNOTSUPP;
	}
	PB_SET(e, protocol, proto);
	PB_SET(e, uid, p->st.st_uid);
	PB_SET(e, gid, p->st.st_gid);
	PB_SET(e, type, type);
	PB_SET(e, portid, sa.nl_pid);
	ret = read_groups(fd, e);
	if (ret == -E2BIG) {
		pr_err("pid %d fd %d: netlink socket: a multicast group above %d is joined or possible: "
		       "not supported\n",
		       p->pid, p->fd, NL_MAX_GROUP);
		return -EOPNOTSUPP;
	}
	if (ret)
		pr_err("pid %d fd %d: netlink socket: cannot list its groups: %s\n", p->pid, p->fd,
		       strerror(-ret));
	return ret;
}

/* The diag part: connection, nothing queued, no dump running.  0 or -errno (logged). */
static int read_diag(const struct fd_probe *p, NetlinkskEntry *e)
{
	struct nl_diag d;
	int ret;

	ret = diag_netlink(e->protocol, p->st.st_ino, &d);
	if (ret == -ENOENT && !e->portid && !e->n_groups) {
		/*
		 * sock_diag lists bound sockets and group members only; one
		 * neither bound nor in a group cannot have received anything
		 * and is not connected (connect() binds).
		 */
		memset(&d, 0, sizeof(d));
		ret = 0;
	}
	if (ret) {
		pr_err("pid %d fd %d: netlink socket: sock_diag cannot see it: %s\n", p->pid, p->fd,
		       strerror(-ret));
		return ret;
	}
	if (d.rmem) {
		pr_err("pid %d fd %d: netlink socket: %u bytes of messages queued unread "
		       "(kernel answers cannot be replayed): not supported\n",
		       p->pid, p->fd, d.rmem);
		return -EOPNOTSUPP;
	}
	if (d.flags & NDIAG_FLAG_CB_RUNNING) {
		pr_err("pid %d fd %d: netlink socket: a dump (NLM_F_DUMP) is in progress "
		       "(its remaining answers cannot be replayed): not supported\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (d.dst_group > 32) { /* connect() sets it from a 32-bit mask */
		pr_err("pid %d fd %d: netlink socket: connected to group %u, above 32: "
		       "not supported\n",
		       p->pid, p->fd, d.dst_group);
		return -EOPNOTSUPP;
	}
	PB_SET(e, connected, d.state == NETLINK_CONNECTED);
	PB_SET(e, dst_portid, d.dst_portid);
	PB_SET(e, dst_group, d.dst_group);
	return 0;
}

/* The state of netlink socket p (our copy in df->local_fd).  0 or -errno (logged). */
static int dump_netlinksk(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	NetlinkskEntry *e;
	int fd = df->local_fd, insns, ret;

	df->e.kind = FILE_KIND__FILE_NETLINKSK;
	ret = same_netns(fd);
	if (ret) {
		pr_err("pid %d fd %d: netlink socket: %s\n", p->pid, p->fd,
		       ret == -EXDEV ? "of another network namespace than vxdump's: not supported" :
				       "cannot read its network namespace");
		return ret == -EXDEV ? -EOPNOTSUPP : ret;
	}
	insns = net_filter_len(fd);
	if (insns < 0 || insns > BPF_MAXINSNS) {
		pr_err("pid %d fd %d: netlink socket: %s\n", p->pid, p->fd,
		       insns == -EACCES ? "an eBPF socket filter is attached: not supported" :
					  "cannot read its socket filter");
		return insns == -EACCES ? -EOPNOTSUPP : -EIO;
	}
	/* one block with room for every group and the filter: df->sub is freed by free() */
	e = malloc(sizeof(*e) + NL_MAX_GROUP * sizeof(*e->groups) +
		   (size_t)insns * sizeof(struct sock_filter));
	if (!e)
		return -ENOMEM;
	netlinksk_entry__init(e);
	e->groups = (uint32_t *)(e + 1);
	e->filter.data = (uint8_t *)(e->groups + NL_MAX_GROUP);
	df->sub = e;
	df->e.netlinksk = e;
	ret = read_address(p, fd, e);
	ret = ret ?: read_diag(p, e);
	ret = ret ?: read_sockopts(p, fd, e);
	if (!ret && read_filter(fd, insns, e)) {
		pr_err("pid %d fd %d: netlink socket: cannot read its socket filter\n", p->pid,
		       p->fd);
		ret = -EIO;
	}
	if (!ret && read_options(fd, e)) {
		pr_err("pid %d fd %d: netlink socket: cannot read its options\n", p->pid, p->fd);
		ret = -EIO;
	}
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_netlinksk = { "netlinksk", is_netlinksk, dump_netlinksk, NULL };
