/*
 * tun/tap queues (fd kind "tun"): a /dev/net/tun fd (misc 10:200) after
 * TUNSETIFF is one queue of a tun/tap link; reopening the path would give
 * a fresh, unattached fd.  Read on the dumper's pidfd_getfd copy with the
 * kernel's read-only ioctls: TUNGETIFF (link name, flags), TUNGETSNDBUF,
 * TUNGETVNETHDRSZ, TUNGETVNETLE, TUNGETFILTER (a tap's classic filter);
 * the link's no-pi flag, owner and group from rtnetlink (net/tun.h), in
 * the namespace the dump's thread is in (the tree's).  Nothing is ever
 * read from the queue: packets waiting there are not carried.
 *
 * Refused, naming the fd and the link: a classic filter (TUNATTACHFILTER),
 * a link type changed with TUNSETLINK, a queue of another namespace than
 * the tree's, and an unattached /dev/net/tun fd while some tun link of the
 * namespace has detached queues (a detached queue shows no link in TUNGETIFF
 * or fdinfo: it cannot be told from an unattached fd).  Not detectable, so
 * not refused: eBPF steering/filter programs (TUNSETSTEERINGEBPF,
 * TUNSETFILTEREBPF), a MAC filter (TUNSETTXFILTER), offloads (TUNSETOFFLOAD).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/filter.h>
#include <linux/sockios.h>

#define LOG_PREFIX "dump/tun: "
#include "log.h"
#include "dump/dump.h"
#include "net/tun.h"
#include "tun.pb-c.h"

extern const struct dump_fd_kind dump_fd_chr;

/* The entry with its name (df->sub, freed by free()). */
struct tun_dump {
	TunEntry e;
	char name[IF_NAMESIZE];
	struct net_tun_conf conf; /* the host's namespace: the link's settings */
	NetnsAddr *addrs[NET_TUN_MAX_ADDRS];
};

/* /dev/net/tun (misc 10:200), attached or not. */
static bool is_tun(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && p->st.st_rdev == makedev(10, 200);
}

/* Is the queue's namespace (SIOCGSKNS) the dump thread's?  1, 0, -errno. */
static int same_netns(int fd)
{
	struct stat a, b;
	int ns = ioctl(fd, SIOCGSKNS);
	int ret;

	if (ns < 0)
		return -errno;
	ret = fstat(ns, &a) || stat("/proc/thread-self/ns/net", &b) ?
		      -errno :
		      a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	close(ns);
	return ret;
}

/* An fd that is not attached: a device fd like another (files.c), unless
 * a detached queue could be hiding behind it.  0 or -errno (logged). */
static int dump_unattached(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	char name[IF_NAMESIZE];
	int n = net_tun_detached(name);

	if (n < 0)
		return n;
	if (n) {
		pr_err("pid %d fd %d: /dev/net/tun not attached, while link %s has %d detached "
		       "queues (TUNSETQUEUE IFF_DETACH_QUEUE): a detached queue cannot be told "
		       "from it: not supported\n",
		       p->pid, p->fd, name, n);
		return -EOPNOTSUPP;
	}
	return dump_fd_chr.dump(op, p, df);
}

/* The queue's own settings into e.  0 or -errno (logged). */
static int read_queue(int fd, TunEntry *e, const char *who)
{
	int sndbuf = 0, hdr = 0, le = 0;

	if (ioctl(fd, TUNGETSNDBUF, &sndbuf) || ioctl(fd, TUNGETVNETHDRSZ, &hdr)) {
		pr_perror("%s: cannot read its send buffer or vnet header size", who);
		return -errno;
	}
	PB_SET(e, sndbuf, (uint32_t)sndbuf);
	PB_SET(e, vnet_hdr_sz, (uint32_t)hdr);
	if (!ioctl(fd, TUNGETVNETLE, &le))
		PB_SET(e, vnet_le, le);
	return 0;
}

/* The link: a tun/tap one here, of its kind's type.  0 or -errno. */
static int read_link(TunEntry *e, const char *who)
{
	struct net_tun_link t;
	int ret = net_tun_link_get(0, e->name, &t);

	if (ret <= 0) {
		if (!ret || ret == -EMEDIUMTYPE)
			pr_err("%s: no tun/tap link of that name in the tree's namespace\n", who);
		return ret ?: -ENODEV;
	}
	if (t.arptype != net_tun_arptype(e->flags)) {
		pr_err("%s: link type %u (TUNSETLINK): not supported\n", who, t.arptype);
		return -EOPNOTSUPP;
	}
	if ((t.flags & NET_TUN_MATCH_FLAGS & ~IFF_NO_PI) != (e->flags & NET_TUN_MATCH_FLAGS)) {
		pr_err("%s: the queue's flags %#x are not its link's %#x\n", who, e->flags,
		       t.flags);
		return -EIO;
	}
	e->flags |= t.flags & IFF_NO_PI;
	PB_SET(e, owner, t.owner);
	PB_SET(e, group, t.group);
	return 0;
}

/*
 * The tree in our namespace (no NETNS record): the link's MTU, state and
 * addresses, which restore gives back when it makes the link again (it is
 * gone once a tree that held a non-persistent link is dumped).
 */
static int read_conf(struct tun_dump *u)
{
	int ret = net_tun_conf_get(u->name, &u->conf);

	if (ret)
		return ret == -E2BIG ? -EOPNOTSUPP : ret;
	PB_SET(&u->e, mtu, u->conf.mtu);
	PB_SET(&u->e, up, u->conf.up);
	if (u->conf.has_mac) {
		u->e.has_mac = 1;
		u->e.mac.data = u->conf.mac;
		u->e.mac.len = 6;
	}
	for (size_t i = 0; i < u->conf.n_addrs; i++)
		u->addrs[i] = &u->conf.addrs[i];
	u->e.n_addrs = u->conf.n_addrs;
	u->e.addrs = u->addrs;
	return 0;
}

/* A tap's classic filter (TUNATTACHFILTER, taps only): refused. */
static int check_filter(int fd, const TunEntry *e, const char *who)
{
	struct sock_fprog prog = { 0 };

	if (!(e->flags & IFF_TAP))
		return 0;
	if (ioctl(fd, TUNGETFILTER, &prog)) {
		pr_perror("%s: TUNGETFILTER", who);
		return -errno;
	}
	if (!prog.len)
		return 0;
	pr_err("%s: a socket filter (TUNATTACHFILTER, %u instructions): not supported\n", who,
	       prog.len);
	return -EOPNOTSUPP;
}

static int dump_tun(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	const char *v, *end;
	struct tun_dump *u;
	struct ifreq ifr;
	char who[96];
	int fd = df->local_fd, ret;

	/* no iff line (another kernel): attached or not cannot be told */
	if (!p->fdinfo || proc_fdinfo_field(p->fdinfo, "iff", &v, &end)) {
		pr_err("pid %d fd %d: /dev/net/tun: its fdinfo has no iff line: not supported\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (v == end)
		return dump_unattached(op, p, df);
	memset(&ifr, 0, sizeof(ifr));
	if (fd < 0 || ioctl(fd, TUNGETIFF, &ifr)) {
		pr_perror("pid %d fd %d: /dev/net/tun: TUNGETIFF", p->pid, p->fd);
		return fd < 0 ? -EBADF : -errno;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	df->sub = u;
	tun_entry__init(&u->e);
	df->e.tun = &u->e;
	df->e.kind = FILE_KIND__FILE_TUN;
	memcpy(u->name, ifr.ifr_name, IF_NAMESIZE - 1);
	u->e.name = u->name;
	snprintf(who, sizeof(who), "pid %d fd %d (tun/tap queue of link %s)", p->pid, p->fd,
		 u->name);
	/* 0x1000 of TUNGETIFF is IFF_NO_PI or IFF_NOFILTER (no filter): the
	 * link's IFLA_TUN_PI says which (read_link) */
	PB_SET(&u->e, flags, (uint16_t)ifr.ifr_flags & ~(IFF_NO_PI | IFF_DETACH_QUEUE));
	if (!net_tun_flags_ok(u->e.flags) || !net_tun_name_ok(u->name)) {
		pr_err("%s: flags %#x: not supported\n", who, u->e.flags);
		return -EOPNOTSUPP;
	}
	ret = same_netns(fd);
	if (ret <= 0) {
		pr_err("%s: %s\n", who,
		       ret ? "cannot read its namespace (SIOCGSKNS)" :
			     "its link is in another network namespace than the tree's: not supported");
		return ret ?: -EOPNOTSUPP;
	}
	ret = read_queue(fd, &u->e, who) ?: read_link(&u->e, who) ?: check_filter(fd, &u->e, who);
	if (!ret && !op->netns)
		ret = read_conf(u);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_tun = { "tun", is_tun, dump_tun, NULL };
