/*
 * Netlink sockets (fd kind "netlinksk"), in the root's C part: a new
 * AF_NETLINK socket of the recorded protocol and type, its buffer sizes,
 * NETLINK_* and SOL_SOCKET options and classic BPF filter set, bound to
 * the recorded port id, every recorded multicast group joined, connected
 * to the recorded peer, then the recorded O_NONBLOCK.  The socket is made in the root's network
 * namespace (the dump refuses one of another namespace).
 *
 * Port id: bound to exactly the recorded one.  If another socket of that
 * protocol holds it on this host (the original still runs, or another
 * program took it), the restore is refused: a program that told a peer
 * its port id, or filters answers on it, would silently break with a new
 * one.
 *
 * Credentials: the socket is made by our root C part, with the recorded
 * owner (fsuid/fsgid) so its inode shows the same uid and gid, and bound,
 * joined and set up with root's capabilities, as its original opener may
 * have been (a daemon that drops privileges after joining keeps its
 * groups).  That gives the process no power of root's: netlink checks a
 * privileged request against the socket's opener AND the sending task
 * (__netlink_ns_capable), and the image sets the task's credentials
 * anyway (an image is trusted for what its processes may do: NOTES
 * "Trust of images").
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include "log.h"
#include "net/sockopt.h"
#include "restore/restore.h"
#include "netlinksk.pb-c.h"

#define NL_MAX_GROUP 1024 /* as the dump (lib/dump/netlinksk.c) */

/* The protocols Linux defines (include/uapi/linux/netlink.h), by number. */
static const char *const nl_protocols[32] = {
	[NETLINK_ROUTE] = "NETLINK_ROUTE",
	[NETLINK_USERSOCK] = "NETLINK_USERSOCK",
	[NETLINK_FIREWALL] = "NETLINK_FIREWALL",
	[NETLINK_SOCK_DIAG] = "NETLINK_SOCK_DIAG",
	[NETLINK_NFLOG] = "NETLINK_NFLOG",
	[NETLINK_XFRM] = "NETLINK_XFRM",
	[NETLINK_SELINUX] = "NETLINK_SELINUX",
	[NETLINK_ISCSI] = "NETLINK_ISCSI",
	[NETLINK_AUDIT] = "NETLINK_AUDIT",
	[NETLINK_FIB_LOOKUP] = "NETLINK_FIB_LOOKUP",
	[NETLINK_CONNECTOR] = "NETLINK_CONNECTOR",
	[NETLINK_NETFILTER] = "NETLINK_NETFILTER",
	[NETLINK_IP6_FW] = "NETLINK_IP6_FW",
	[NETLINK_DNRTMSG] = "NETLINK_DNRTMSG",
	[NETLINK_KOBJECT_UEVENT] = "NETLINK_KOBJECT_UEVENT",
	[NETLINK_GENERIC] = "NETLINK_GENERIC",
	[NETLINK_SCSITRANSPORT] = "NETLINK_SCSITRANSPORT",
	[NETLINK_ECRYPTFS] = "NETLINK_ECRYPTFS",
	[NETLINK_RDMA] = "NETLINK_RDMA",
	[NETLINK_CRYPTO] = "NETLINK_CRYPTO",
	[NETLINK_SMC] = "NETLINK_SMC",
};

/* Its groups: each 1..NL_MAX_GROUP, strictly increasing.  0/-EBADMSG. */
static int check_groups(const FileEntry *fe, const NetlinkskEntry *e)
{
	size_t i;

	for (i = 0; i < e->n_groups; i++) {
		if (e->groups[i] < 1 || e->groups[i] > NL_MAX_GROUP ||
		    (i && e->groups[i] <= e->groups[i - 1])) {
			pr_err("image: netlink socket (file id %u): group %u is out of range "
			       "or out of order\n",
			       fe->id, e->groups[i]);
			return -EBADMSG;
		}
	}
	/* connect() takes a group bit mask: only groups 1..32 can be a peer */
	if (e->dst_group > 32 || (!e->connected && (e->dst_group || e->dst_portid))) {
		pr_err("image: netlink socket (file id %u): peer group %u / port %u is out of "
		       "range or set while not connected\n",
		       fe->id, e->dst_group, e->dst_portid);
		return -EBADMSG;
	}
	return 0;
}

/* Its SOL_SOCKET options and filter in range.  0/-EBADMSG. */
static int check_sockopts(const FileEntry *fe, const NetlinkskEntry *e)
{
	if (e->rcvtimeo_us >> 62 || e->sndtimeo_us >> 62 ||
	    (e->has_rcvlowat && (!e->rcvlowat || e->rcvlowat > INT_MAX))) {
		pr_err("image: netlink socket (file id %u): timeouts %llu/%llu us or "
		       "SO_RCVLOWAT %u out of range\n",
		       fe->id, (unsigned long long)e->rcvtimeo_us,
		       (unsigned long long)e->sndtimeo_us, e->rcvlowat);
		return -EBADMSG;
	}
	if (e->has_filter && (!e->filter.len || e->filter.len % sizeof(struct sock_filter) ||
			      e->filter.len / sizeof(struct sock_filter) > BPF_MAXINSNS)) {
		pr_err("image: netlink socket (file id %u): a socket filter of %zu bytes is not "
		       "1-%d instructions\n",
		       fe->id, e->filter.len, BPF_MAXINSNS);
		return -EBADMSG;
	}
	return 0;
}

/* The image alone: the socket's own part is there and every field in range. */
static int check_netlinksk(const struct rst_image *img, const struct rst_file *f)
{
	const NetlinkskEntry *e = f->fe->netlinksk;

	if (!e || !e->has_protocol || !e->has_type || !e->has_rcvbuf || !e->has_sndbuf ||
	    !e->has_uid || !e->has_gid) {
		pr_err("image: netlink socket (file id %u) has no netlinksk entry or misses "
		       "protocol, type, buffer sizes or owner\n",
		       f->fe->id);
		return -EBADMSG;
	}
	if (e->protocol >= 32 || !nl_protocols[e->protocol]) {
		pr_err("image: netlink socket (file id %u): unknown protocol %u\n", f->fe->id,
		       e->protocol);
		return -EBADMSG;
	}
	if (e->type != SOCK_RAW && e->type != SOCK_DGRAM) {
		pr_err("image: netlink socket (file id %u): type %u is neither SOCK_RAW nor "
		       "SOCK_DGRAM\n",
		       f->fe->id, e->type);
		return -EBADMSG;
	}
	if (!e->rcvbuf || e->rcvbuf > INT_MAX || !e->sndbuf || e->sndbuf > INT_MAX) {
		pr_err("image: netlink socket (file id %u): buffer sizes %u/%u out of range\n",
		       f->fe->id, e->rcvbuf, e->sndbuf);
		return -EBADMSG;
	}
	if (e->uid == UINT32_MAX || e->gid == UINT32_MAX) {
		pr_err("image: netlink socket (file id %u): owner %u/%u out of range\n", f->fe->id,
		       e->uid, e->gid);
		return -EBADMSG;
	}
	return check_groups(f->fe, e) ?: check_sockopts(f->fe, e);
}

/* The name restore's messages give a netlink socket. */
static const char *who_of(const FileEntry *fe, char *buf, size_t len)
{
	snprintf(buf, len, "netlink socket (file id %u)", fe->id);
	return buf;
}

/* Sets and reads back one int option; -EOPNOTSUPP (logged) if it differs. */
static int set_int(const FileEntry *fe, int sk, int level, int name, const char *what, int v,
		   int want)
{
	char who[48];

	return net_set_int(sk, level, name, what, v, want, who_of(fe, who, sizeof(who)));
}

/* The buffer sizes.  0 or -errno (logged). */
static int set_buffers(const FileEntry *fe, int sk)
{
	const NetlinkskEntry *e = fe->netlinksk;

	char who[48];

	who_of(fe, who, sizeof(who));
	return net_set_buf(sk, SO_RCVBUF, e->rcvbuf, who) ?:
		       net_set_buf(sk, SO_SNDBUF, e->sndbuf, who);
}

/* The NETLINK_* options that are on.  0 or -errno (logged). */
static int set_options(const FileEntry *fe, int sk)
{
	const NetlinkskEntry *e = fe->netlinksk;
	const struct {
		int name;
		const char *what;
		bool on;
	} opts[] = {
		{ NETLINK_PKTINFO, "NETLINK_PKTINFO", e->pktinfo },
		{ NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR", e->broadcast_error },
		{ NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS", e->no_enobufs },
		{ NETLINK_CAP_ACK, "NETLINK_CAP_ACK", e->cap_ack },
		{ NETLINK_EXT_ACK, "NETLINK_EXT_ACK", e->ext_ack },
		{ NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK", e->get_strict_chk },
		{ NETLINK_LISTEN_ALL_NSID, "NETLINK_LISTEN_ALL_NSID", e->listen_all_nsid },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!opts[i].on)
			continue;
		ret = set_int(fe, sk, SOL_NETLINK, opts[i].name, opts[i].what, 1, 1);
		if (ret)
			return ret;
	}
	return set_buffers(fe, sk);
}

/*
 * The SOL_SOCKET options that differ from a new socket's, and the
 * classic BPF filter (checked by the kernel as it is attached), locked
 * last.  0 or -errno (logged).
 */
static int set_sockopts(const FileEntry *fe, int sk)
{
	const NetlinkskEntry *e = fe->netlinksk;
	char who[48];
	int ret = 0;

	who_of(fe, who, sizeof(who));
	if (e->passcred)
		ret = set_int(fe, sk, SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 1, 1);
	if (!ret && e->passsec)
		ret = set_int(fe, sk, SOL_SOCKET, SO_PASSSEC, "SO_PASSSEC", 1, 1);
	if (!ret && e->priority)
		ret = set_int(fe, sk, SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", e->priority,
			      e->priority);
	if (!ret && e->mark)
		ret = set_int(fe, sk, SOL_SOCKET, SO_MARK, "SO_MARK", e->mark, e->mark);
	if (!ret && e->has_rcvlowat && e->rcvlowat != 1)
		ret = set_int(fe, sk, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", e->rcvlowat,
			      e->rcvlowat);
	ret = ret ?: net_set_us(sk, SO_RCVTIMEO, "SO_RCVTIMEO", e->rcvtimeo_us, who);
	ret = ret ?: net_set_us(sk, SO_SNDTIMEO, "SO_SNDTIMEO", e->sndtimeo_us, who);
	return ret ?: net_filter_attach(sk, e->filter.data, e->filter.len, e->filter_locked, who);
}

/* Port id, groups and peer.  0 or -errno (logged). */
static int set_address(const FileEntry *fe, int sk)
{
	const NetlinkskEntry *e = fe->netlinksk;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = e->portid };
	const char *what = "bind to port id";
	uint32_t arg = e->portid;
	size_t i;
	int g;

	if (e->portid && bind(sk, (struct sockaddr *)&sa, sizeof(sa)))
		goto out_refuse;
	what = "join group";
	for (i = 0; i < e->n_groups; i++) {
		g = e->groups[i];
		arg = g;
		if (setsockopt(sk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)))
			goto out_refuse;
	}
	what = "connect to port id";
	sa.nl_pid = e->dst_portid;
	sa.nl_groups = e->dst_group ? 1U << (e->dst_group - 1) : 0; /* checked: 1..32 */
	arg = e->dst_portid;
	if (e->connected && connect(sk, (struct sockaddr *)&sa, sizeof(sa)))
		goto out_refuse;
	return 0;

out_refuse:
	pr_err("netlink socket (file id %u, %s): cannot %s %u on this host: %s\n", fe->id,
	       nl_protocols[e->protocol], what, arg,
	       errno == EADDRINUSE ? "another socket holds it" : strerror(errno));
	return errno == ENOMEM ? -ENOMEM : -EOPNOTSUPP;
}

/*
 * The socket, its inode owned by the recorded uid/gid (setfsuid around
 * socket() only: fstat of the fd shows them).  fd or -errno (logged).
 */
static int make_socket(const struct rst_file *f)
{
	const NetlinkskEntry *e = f->fe->netlinksk;
	int sk, ret = 0, old_uid, old_gid;

	old_gid = setfsgid(e->gid);
	old_uid = setfsuid(e->uid);
	if ((uint32_t)setfsuid(-1) != e->uid || (uint32_t)setfsgid(-1) != e->gid) {
		pr_err("netlink socket (file id %u): cannot take fs ids %u/%u\n", f->fe->id, e->uid,
		       e->gid);
		ret = -EPERM;
	}
	sk = ret ? -1 : socket(AF_NETLINK, (int)e->type | SOCK_CLOEXEC, (int)e->protocol);
	if (!ret && sk < 0) {
		ret = -errno;
		pr_err("netlink socket (file id %u): cannot create a %s socket here: %s\n",
		       f->fe->id, nl_protocols[e->protocol], strerror(errno));
	}
	setfsuid(old_uid);
	setfsgid(old_gid);
	ret = ret ?: set_options(f->fe, sk);
	ret = ret ?: set_sockopts(f->fe, sk);
	ret = ret ?: set_address(f->fe, sk);
	if (ret && sk >= 0)
		close(sk);
	return ret ?: sk;
}

/* A new netlink socket in the recorded state. */
static int open_netlinksk(const struct rst_image *img, struct rst_file *f)
{
	int sk = make_socket(f);

	if (sk < 0)
		return sk;
	f->stage_fd = rst_stage_fd(img, sk);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_netlinksk = {
	.kind = FILE_KIND__FILE_NETLINKSK,
	.name = "netlinksk",
	.check_image = check_netlinksk,
	.open = open_netlinksk,
};
