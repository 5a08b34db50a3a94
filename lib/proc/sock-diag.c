/*
 * sock_diag queries (NETLINK_SOCK_DIAG) through libnl-3: what the kernel
 * says about one socket by inode, in the network namespace of the caller.
 * Only AF_UNIX (unix_diag) today; the TCP/UDP dump adds its inet_diag
 * query here, on the same socket handling.  Replies are parsed as hostile
 * bytes: every attribute's length is checked before it is read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/socket.h>

#include "proc/proc.h"

struct unix_reply {
	uint32_t ino;
	struct proc_unix_diag *out;
	int ret; /* 1: not seen yet */
};

/* UNIX_DIAG_ICONS: an array of u32 inodes.  0 or -errno. */
static int take_icons(struct nlattr *a, struct proc_unix_diag *d)
{
	size_t n = nla_len(a) / sizeof(uint32_t);

	if (nla_len(a) % sizeof(uint32_t))
		return -EBADMSG;
	if (!n)
		return 0;
	d->icons = malloc(n * sizeof(uint32_t));
	if (!d->icons)
		return -ENOMEM;
	memcpy(d->icons, nla_data(a), n * sizeof(uint32_t));
	d->n_icons = n;
	return 0;
}

/* The attributes of one unix_diag_msg into d.  0 or -EBADMSG/-ENOMEM. */
static int parse_unix_attrs(struct nlattr **tb, struct proc_unix_diag *d)
{
	if (tb[UNIX_DIAG_NAME]) {
		if (nla_len(tb[UNIX_DIAG_NAME]) > (int)sizeof(d->name))
			return -EBADMSG;
		d->name_len = nla_len(tb[UNIX_DIAG_NAME]);
		memcpy(d->name, nla_data(tb[UNIX_DIAG_NAME]), d->name_len);
		d->has_name = true;
	}
	if (tb[UNIX_DIAG_VFS]) {
		struct unix_diag_vfs v;

		if (nla_len(tb[UNIX_DIAG_VFS]) != sizeof(v))
			return -EBADMSG;
		memcpy(&v, nla_data(tb[UNIX_DIAG_VFS]), sizeof(v));
		d->has_vfs = true;
		d->vfs_ino = v.udiag_vfs_ino;
		d->vfs_dev = v.udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER]) {
		if (nla_len(tb[UNIX_DIAG_PEER]) != sizeof(uint32_t))
			return -EBADMSG;
		d->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	}
	if (tb[UNIX_DIAG_RQLEN]) {
		struct unix_diag_rqlen q;

		if (nla_len(tb[UNIX_DIAG_RQLEN]) != sizeof(q))
			return -EBADMSG;
		memcpy(&q, nla_data(tb[UNIX_DIAG_RQLEN]), sizeof(q));
		d->rqueue = q.udiag_rqueue;
		d->wqueue = q.udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN]) {
		if (nla_len(tb[UNIX_DIAG_SHUTDOWN]) != 1)
			return -EBADMSG;
		d->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	}
	if (tb[UNIX_DIAG_UID]) {
		if (nla_len(tb[UNIX_DIAG_UID]) != sizeof(uint32_t))
			return -EBADMSG;
		d->uid = nla_get_u32(tb[UNIX_DIAG_UID]);
		d->has_uid = true;
	}
	return tb[UNIX_DIAG_ICONS] ? take_icons(tb[UNIX_DIAG_ICONS], d) : 0;
}

/* libnl callback: one reply message, checked to be about r->ino. */
static int unix_reply_cb(struct nl_msg *msg, void *arg)
{
	struct unix_reply *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct unix_diag_msg *m;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || !nlmsg_valid_hdr(h, sizeof(*m))) {
		r->ret = -EBADMSG;
		return NL_STOP;
	}
	m = nlmsg_data(h);
	if (m->udiag_family != AF_UNIX || m->udiag_ino != r->ino) {
		r->ret = -EBADMSG;
		return NL_STOP;
	}
	if (nlmsg_parse(h, sizeof(*m), tb, UNIX_DIAG_MAX, NULL)) {
		r->ret = -EBADMSG;
		return NL_STOP;
	}
	memset(r->out, 0, sizeof(*r->out));
	r->out->ino = m->udiag_ino;
	r->out->type = m->udiag_type;
	r->out->state = m->udiag_state;
	r->ret = parse_unix_attrs(tb, r->out);
	return NL_STOP;
}

/* A libnl error as -errno (NLE_OBJ_NOTFOUND: the kernel's ENOENT). */
static int nl_errno(int err)
{
	switch (-err) {
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	default:
		return -EIO;
	}
}

/*
 * What unix_diag says of the AF_UNIX socket of inode ino in our network
 * namespace: type, state, name, bound inode, peer, queued connections,
 * queue lengths, shutdown (always sent), owner.  0, -ENOENT (no such socket here) or
 * -errno.  On success out->icons is malloc'ed (free it).
 */
int proc_unix_diag(uint32_t ino, struct proc_unix_diag *out)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = -1,
		.udiag_ino = ino,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
			      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID,
		.udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
	};
	struct unix_reply r;
	struct nl_sock *sk;
	int err;

	memset(out, 0, sizeof(*out));
	r.ino = ino;
	r.out = out;
	r.ret = 1;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	nl_socket_disable_auto_ack(sk);
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (!err)
		err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, unix_reply_cb, &r);
	if (!err)
		err = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &req, sizeof(req));
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (err >= 0 && r.ret == 1)
		r.ret = -EBADMSG; /* no answer about it */
	if (err < 0 || r.ret) {
		free(out->icons);
		out->icons = NULL;
		out->n_icons = 0;
	}
	return err < 0 ? nl_errno(err) : r.ret;
}

int proc_sock_diag_dump(const void *req, size_t len,
			int (*take)(const struct nlmsghdr *h, void *arg), void *arg)
{
	uint32_t buf[8192]; /* 32 KiB, aligned for the headers */
	const struct nlmsgerr *e;
	struct nlmsghdr *h;
	ssize_t n;
	int sk, ret = 0;

	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (sk < 0)
		return -errno;
	if (send(sk, req, len, 0) != (ssize_t)len)
		ret = -errno ?: -EIO;
	while (!ret) {
		n = recv(sk, buf, sizeof(buf), 0);
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EPROTO; /* ended without NLMSG_DONE */
			break;
		}
		for (h = (void *)buf; !ret && NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				e = NLMSG_DATA(h);
				ret = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ?
					      e->error :
					      -EPROTO;
			} else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
				ret = take(h, arg);
			}
		}
	}
out:
	close(sk);
	return ret;
}
