/*
 * tun/tap queues (fd kind "tun"), in the root's C part, which is in the
 * tree's network namespace: /dev/net/tun opened and attached to the
 * recorded link with TUNSETIFF and the recorded flags, then TUNSETSNDBUF,
 * TUNSETVNETHDRSZ, TUNSETVNETLE set and read back, then O_NONBLOCK.
 *
 * Where the link comes from:
 * - the image's own namespace (NETNS): the build made every tun/tap link
 *   persistent (net_tun_make); a link that was not persistent is cleared
 *   here once every queue is attached (post_open), so it lives exactly as
 *   long as its fds again.  A failed or killed restore: the namespace and
 *   its links die with the tree.
 * - the host's namespace (no NETNS): a link of that name that does not
 *   exist is made under a name the kernel picks ("vxtun%d": no link can be
 *   named so, so it is ours by construction), owner and group set, then
 *   renamed to the recorded name, which fails if that name appeared
 *   meanwhile, then given its recorded MTU, addresses and state (as the
 *   host end of a veth is); not persistent, it goes with our fd when a
 *   restore fails.
 *   An existing link is attached only when it is persistent, of the
 *   image's type, flags, owner and group, and when the restored process
 *   could attach to it by itself: its euid is the owner, its egid or a
 *   supplementary group the group, or it has CAP_NET_ADMIN.  A recorded
 *   persistent link that is gone is not made again (it would outlive a
 *   failed restore).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <linux/virtio_net.h>

#include "log.h"
#include "net/tun.h"
#include "restore/restore.h"
#include "tun.pb-c.h"

/* The image alone: the entry there and every field in range. */
static int check_tun(const struct rst_image *img, const struct rst_file *f)
{
	const TunEntry *e = f->fe->tun;
	char who[48];

	if (!e || !e->name || !e->has_flags || !e->has_sndbuf || !e->has_vnet_hdr_sz) {
		pr_err("image: tun queue (file id %u) has no tun entry or misses its link name, "
		       "flags, send buffer or vnet header size\n",
		       f->fe->id);
		return -EBADMSG;
	}
	if (!net_tun_name_ok(e->name) || !net_tun_flags_ok(e->flags) || !e->sndbuf ||
	    e->sndbuf > INT_MAX || e->vnet_hdr_sz < sizeof(struct virtio_net_hdr) ||
	    e->vnet_hdr_sz > INT_MAX || (e->has_vnet_le && e->vnet_le != 0 && e->vnet_le != 1) ||
	    !net_tun_id_ok(e->has_owner ? e->owner : -1) ||
	    !net_tun_id_ok(e->has_group ? e->group : -1)) {
		pr_err("image: tun queue (file id %u): link name, flags %#x, send buffer %u, vnet "
		       "header size %u, owner or group out of range\n",
		       f->fe->id, e->flags, e->sndbuf, e->vnet_hdr_sz);
		return -EBADMSG;
	}
	snprintf(who, sizeof(who), "tun queue (file id %u)", f->fe->id);
	return net_tun_conf_check(e->flags, e->mtu, e->has_mtu, e->has_mac ? &e->mac : NULL,
				  e->addrs, e->n_addrs, who);
}

static int64_t e_owner(const TunEntry *e)
{
	return e->has_owner ? e->owner : -1;
}

static int64_t e_group(const TunEntry *e)
{
	return e->has_group ? e->group : -1;
}

/* What a queue's flags and its NETNS link's must agree on (IFF_ONE_QUEUE,
 * a queue flag the kernel ignores, is not in IFLA_INFO_DATA). */
#define LINK_MATCH (NET_TUN_MATCH_FLAGS | IFF_PERSIST)

/* The NETNS link named name, if a tun/tap one. */
static const NetnsLink *netns_tun(const NetnsEntry *ns, const char *name)
{
	for (size_t i = 0; i < ns->n_links; i++) {
		const NetnsLink *l = ns->links[i];

		if (l->name && l->kind && !strcmp(l->name, name) && !strcmp(l->kind, "tun"))
			return l;
	}
	return NULL;
}

/* Is a tun queue of the image attached to link name? */
static bool held(const struct rst_image *img, const char *name)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;

		if (fe->kind == FILE_KIND__FILE_TUN && fe->tun && !strcmp(fe->tun->name, name))
			return true;
	}
	return false;
}

/*
 * The image's queues against its namespace (after both are checked): in
 * an image with NETNS each queue names a tun/tap link of it with the same
 * type, flags, owner and group, and each link that was not persistent is
 * held by some queue (else restore would leave it persistent).  0 or
 * -EBADMSG (logged).
 */
int tun_check_links(const struct rst_image *img)
{
	const NetnsEntry *ns = img->netns;

	for (size_t i = 0; ns && i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;
		const NetnsLink *l;

		if (fe->kind != FILE_KIND__FILE_TUN)
			continue;
		l = netns_tun(ns, fe->tun->name);
		if (!l || (l->tun_flags & LINK_MATCH) != (fe->tun->flags & LINK_MATCH) ||
		    (l->has_tun_owner ? l->tun_owner : -1) != e_owner(fe->tun) ||
		    (l->has_tun_group ? l->tun_group : -1) != e_group(fe->tun)) {
			pr_err("image: tun queue (file id %u) of link %s: no such tun/tap link in "
			       "the namespace, or its flags, owner or group differ\n",
			       fe->id, fe->tun->name);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; ns && i < ns->n_links; i++) {
		const NetnsLink *l = ns->links[i];

		if (!strcmp(l->kind, "tun") && !(l->tun_flags & IFF_PERSIST) &&
		    !held(img, l->name)) {
			pr_err("image: tun link %s is not persistent and no queue of the tree holds "
			       "it\n",
			       l->name);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The process of the image holding file f (its first), or NULL. */
static const struct rst_proc *holder(const struct rst_image *img, const struct rst_file *f)
{
	for (size_t i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		for (size_t k = 0; c->fdt && k < c->fdt->n_fds; k++)
			if (c->fdt->fds[k]->file_id == f->fe->id)
				return c;
	}
	return NULL;
}

/* Could c, with its credentials of the image, attach to t by itself (the
 * kernel's tun_not_capable)? */
static bool could_attach(const struct rst_proc *c, const struct net_tun_link *t)
{
	const CredsEntry *cr = c ? c->creds : NULL;

	if (!cr)
		return false;
	if (t->owner >= 0 && cr->euid == t->owner)
		return true;
	if (t->group >= 0) {
		if (cr->egid == t->group)
			return true;
		for (size_t i = 0; i < cr->n_groups; i++)
			if (cr->groups[i] == t->group)
				return true;
	}
	return !!(cr->cap_eff & (1ULL << CAP_NET_ADMIN));
}

/*
 * An existing host link the queue may attach to: persistent, of the
 * image's type, flags, owner and group, and one the restored process could
 * attach to by itself.  0 or -EPERM (logged).
 */
static int host_link_ok(const struct rst_image *img, const struct rst_file *f,
			const struct net_tun_link *t)
{
	const TunEntry *e = f->fe->tun;
	const struct rst_proc *c = holder(img, f);
	const char *why = NULL;

	if (!(t->flags & IFF_PERSIST))
		why = "exists and is not persistent (another process holds it)";
	else if ((t->flags & NET_TUN_MATCH_FLAGS) != (e->flags & NET_TUN_MATCH_FLAGS) ||
		 t->arptype != net_tun_arptype(e->flags))
		why = "exists with another type or flags";
	else if (t->owner != e_owner(e) || t->group != e_group(e))
		why = "exists with another owner or group";
	else if (!could_attach(c, t))
		why = "exists and the restored process could not attach to it by itself (not its "
		      "owner or group, no CAP_NET_ADMIN)";
	if (!why)
		return 0;
	pr_err("tun queue (file id %u): host link %s %s: refused\n", f->fe->id, e->name, why);
	return -EPERM;
}

/* Earlier queue of the image attached to the same link by us already? */
static bool ours_already(const struct rst_image *img, const struct rst_file *f)
{
	for (const struct rst_file *o = img->files; o < f; o++)
		if (o->fe->kind == FILE_KIND__FILE_TUN && o->stage_fd >= 0 &&
		    !strcmp(o->fe->tun->name, f->fe->tun->name))
			return true;
	return false;
}

/* The host's link as the image needs it (no NETNS).  0 or -errno. */
static int check_host_tun(const struct rst_image *img, const struct rst_file *f)
{
	const TunEntry *e = f->fe->tun;
	struct net_tun_link t;
	int ret;

	if (img->netns)
		return 0;
	ret = net_tun_link_get(0, e->name, &t);
	if (ret == -EMEDIUMTYPE) {
		pr_err("tun queue (file id %u): host link %s exists and is no tun/tap link: "
		       "refused\n",
		       f->fe->id, e->name);
		return -EEXIST;
	}
	if (ret < 0)
		return ret;
	if (ret)
		return host_link_ok(img, f, &t);
	if (e->flags & IFF_PERSIST) {
		pr_err("tun queue (file id %u): persistent host link %s is gone: not made again "
		       "(it would outlive a failed restore)\n",
		       f->fe->id, e->name);
		return -ENODEV;
	}
	return 0;
}

/* TUNSETIFF of fd to name with the image's flags.  0 or -errno (logged). */
static int attach(int fd, const char *name, uint32_t flags, const char *who)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(flags & NET_TUN_IFF_FLAGS);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int ret = -errno;

		pr_perror("%s: cannot attach to link %s (TUNSETIFF)", who, name);
		return ret;
	}
	return 0;
}

/*
 * A new link on the host, ours by construction: made as "vxtun%d" (the
 * kernel picks a free name), owner and group set, then renamed.  0 or
 * -errno (logged; -EEXIST: the name appeared since the check).
 */
static int make_host_link(int fd, const TunEntry *e, const char *who)
{
	struct ifreq ifr;
	int ret, ifindex;

	ret = attach(fd, "vxtun%d", e->flags, who);
	memset(&ifr, 0, sizeof(ifr));
	if (!ret && ioctl(fd, TUNGETIFF, &ifr))
		ret = -errno;
	ifindex = ret ? 0 : (int)if_nametoindex(ifr.ifr_name);
	if (!ret && !ifindex)
		ret = -errno;
	if (!ret && e_owner(e) >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)e->owner))
		ret = -errno;
	if (!ret && e_group(e) >= 0 && ioctl(fd, TUNSETGROUP, (unsigned long)e->group))
		ret = -errno;
	if (ret) {
		pr_err("%s: cannot make its link: %s\n", who, strerror(-ret));
		return ret;
	}
	ret = net_tun_rename(ifindex, e->name);
	if (ret == -EEXIST)
		pr_err("%s: host link %s appeared during the restore: refused\n", who, e->name);
	if (ret)
		return ret;
	return net_tun_conf_set(ifindex, e->name, e->has_mtu ? e->mtu : 0,
				e->has_mac ? &e->mac : NULL, e->up, e->addrs, e->n_addrs);
}

/* The queue's settings, set and read back.  0 or -errno (logged). */
static int set_queue(int fd, const TunEntry *e, const char *who)
{
	int sndbuf = (int)e->sndbuf, hdr = (int)e->vnet_hdr_sz, le = e->vnet_le;
	int sb = 0, h = 0;

	if (ioctl(fd, TUNSETSNDBUF, &sndbuf) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
	    (e->has_vnet_le && ioctl(fd, TUNSETVNETLE, &le)) || ioctl(fd, TUNGETSNDBUF, &sb) ||
	    ioctl(fd, TUNGETVNETHDRSZ, &h)) {
		pr_perror("%s: cannot set its send buffer or vnet header", who);
		return -errno;
	}
	if (sb != sndbuf || h != hdr) {
		pr_err("%s: send buffer %d, vnet header size %d read back, the image says %d, %d\n",
		       who, sb, h, sndbuf, hdr);
		return -EIO;
	}
	return 0;
}

/* After attaching to an existing host link: still the one checked. */
static int recheck(const struct rst_image *img, const struct rst_file *f)
{
	struct net_tun_link t;
	int ret = net_tun_link_get(0, f->fe->tun->name, &t);

	if (ret == 1)
		return host_link_ok(img, f, &t);
	pr_err("tun queue (file id %u): host link %s changed during the restore\n", f->fe->id,
	       f->fe->tun->name);
	return ret < 0 ? ret : -ENODEV;
}

/* Attached to its link (made first on the host if needed), or -errno. */
static int open_queue(const struct rst_image *img, const struct rst_file *f, int fd,
		      const char *who)
{
	const TunEntry *e = f->fe->tun;
	struct net_tun_link t;
	int ret;

	if (img->netns || ours_already(img, f))
		return attach(fd, e->name, e->flags, who);
	ret = net_tun_link_get(0, e->name, &t);
	if (ret < 0)
		return ret;
	if (!ret)
		return make_host_link(fd, e, who);
	ret = host_link_ok(img, f, &t) ?: attach(fd, e->name, e->flags, who);
	return ret ?: recheck(img, f);
}

static int open_tun(const struct rst_image *img, struct rst_file *f)
{
	char who[64];
	int fd, ret;

	snprintf(who, sizeof(who), "tun queue (file id %u)", f->fe->id);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot open /dev/net/tun", who);
		return -errno;
	}
	ret = open_queue(img, f, fd, who) ?: set_queue(fd, f->fe->tun, who);
	if (ret) {
		close(fd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

/* Every queue attached: a link that was not persistent is no longer (the
 * first of its queues clears it; the others find it clear). */
static int post_open_tun(const struct rst_image *img, struct rst_file *f)
{
	struct ifreq ifr;

	if (f->fe->tun->flags & IFF_PERSIST)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(f->stage_fd, TUNGETIFF, &ifr) ||
	    ((ifr.ifr_flags & IFF_PERSIST) && ioctl(f->stage_fd, TUNSETPERSIST, 0))) {
		pr_perror("tun queue (file id %u): cannot clear persist of link %s", f->fe->id,
			  f->fe->tun->name);
		return -errno;
	}
	return 0;
}

const struct rst_fd_kind rst_fd_tun = {
	.kind = FILE_KIND__FILE_TUN,
	.name = "tun",
	.check_image = check_tun,
	.check_host = check_host_tun,
	.open = open_tun,
	.post_open = post_open_tun,
};
