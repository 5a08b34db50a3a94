/*
 * AF_UNIX sockets (fd kind "unixsk"): type, state, peer, abstract name,
 * shutdown state and the options that matter, from sock_diag (unix_diag,
 * lib/proc/sock-diag.c) and getsockopt on our pidfd_getfd copy; the bytes
 * queued on each socket are peeked from that copy with MSG_PEEK and
 * SO_PEEK_OFF (the target's peek offset is put back), a datagram or
 * seqpacket message kept whole, never read.  What the image cannot hold
 * yet is refused with one line: listeners, names in the file system, a
 * peer outside the tree, file descriptors or credentials in flight,
 * options away from their defaults that restore does not set.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/tcp.h>

#define LOG_PREFIX "dump/unixsk: "
#include "log.h"
#include "dump/dump.h"
#include "net/sockopt.h"
#include "img/img.h"
#include "img/records.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

#define PEEK_BUF (256u << 10)	 /* bytes peeked at a time */
#define QUEUE_MAX (256ull << 20) /* bytes of one socket's queue we keep */
#define SKQ_CHUNK (4ul << 20)	 /* bytes of one SK_QUEUE record of a stream */
#define OVERFLOW_ID 65534u	 /* kernel.overflowuid/gid: what a message without creds reads */
#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_CLOSE 7
#define TCP_STATE_LISTEN 10

/* The entry, its name's bytes and its icons, one allocation (dump_file.sub). */
struct unixsk_dump {
	UnixskEntry e;
	uint32_t wqueue; /* bytes it sent not read yet (unix_diag) */
	uint8_t name[108];
	uint32_t icons[];
};

/* Options restore does not set: the dump refuses any other value. */
static const struct net_fixed_opt fixed_opts[] = {
	{ SOL_SOCKET, SO_DEBUG, "SO_DEBUG", 0 },
	{ SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", 0 },
	{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0 },
	{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0 },
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0 },
	{ SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 1 },
	{ SOL_SOCKET, SO_TIMESTAMP_OLD, "SO_TIMESTAMP", 0 },
	{ SOL_SOCKET, SO_TIMESTAMPNS_OLD, "SO_TIMESTAMPNS", 0 },
	{ SOL_SOCKET, SO_TIMESTAMPING_OLD, "SO_TIMESTAMPING", 0 },
	{ SOL_SOCKET, SO_MARK, "SO_MARK", 0 },
	{ SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 0 },
	{ SOL_SOCKET, SO_WIFI_STATUS, "SO_WIFI_STATUS", 0 },
	{ SOL_SOCKET, SO_SELECT_ERR_QUEUE, "SO_SELECT_ERR_QUEUE", 0 },
	{ SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL", 0 },
	{ SOL_SOCKET, SO_ZEROCOPY, "SO_ZEROCOPY", 0 },
	{ SOL_SOCKET, SO_RCVMARK, "SO_RCVMARK", 0 },
	{ SOL_SOCKET, SO_PASSPIDFD, "SO_PASSPIDFD", 0 },
	{ SOL_SOCKET, SO_PASSRIGHTS, "SO_PASSRIGHTS", 1 },
	{ SOL_SOCKET, SO_LINGER, "SO_LINGER", 0 },
};

static bool is_unixsk(const struct fd_probe *p)
{
	return fd_probe_sock_opt(p, SO_DOMAIN) == AF_UNIX;
}

/* The options restore sets, into e.  0 or -errno (logged). */
static int read_opts(int fd, UnixskEntry *e, bool connected, const char *who)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int snd, rcv, cred, sec, reuse, keep, ret;

	ret = net_get_int(fd, SOL_SOCKET, SO_SNDBUF, &snd);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_RCVBUF, &rcv);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_PASSCRED, &cred);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_PASSSEC, &sec);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_REUSEADDR, &reuse);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_KEEPALIVE, &keep);
	ret = ret ?: net_get_us(fd, SO_RCVTIMEO_OLD, &e->rcvtimeo_us);
	ret = ret ?: net_get_us(fd, SO_SNDTIMEO_OLD, &e->sndtimeo_us);
	e->has_rcvtimeo_us = e->has_sndtimeo_us = !ret;
	if (!ret && connected && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		ret = -errno;
	if (ret) {
		pr_err("%s: getsockopt: %s\n", who, strerror(-ret));
		return ret;
	}
	PB_SET(e, sndbuf, snd);
	PB_SET(e, rcvbuf, rcv);
	PB_SET(e, passcred, cred);
	PB_SET(e, passsec, sec);
	PB_SET(e, reuseaddr, reuse);
	PB_SET(e, keepalive, keep);
	if (connected && uc.uid != (uid_t)-1) { /* a datagram connect() sets none */
		PB_SET(e, peer_uid, uc.uid);
		PB_SET(e, peer_gid, uc.gid);
	}
	return 0;
}

/* Appends one message ([u32 len][bytes]) to df's queue buffer.  0/-ENOMEM. */
static int queue_add(struct dump_file *df, const uint8_t *buf, size_t len, size_t *cap)
{
	uint32_t l = len;
	uint8_t *nb;

	while (df->skq_len + 4 + len > *cap) {
		*cap = *cap ? *cap * 2 : 64 << 10;
		nb = realloc(df->skq, *cap);
		if (!nb)
			return -ENOMEM;
		df->skq = nb;
	}
	memcpy(df->skq + df->skq_len, &l, 4);
	memcpy(df->skq + df->skq_len + 4, buf, len);
	df->skq_len += 4 + len;
	return 0;
}

/*
 * What came with a peeked message: fds (SCM_RIGHTS, which MSG_PEEK
 * installed in us) go to got, once: a datagram peeked in pieces installs
 * them at every piece, and the copies are closed; anything else
 * (credentials) is refused.  0 or -EOPNOTSUPP (logged).
 */
static int check_cmsgs(struct msghdr *mh, struct dump_scm *got, const char *who)
{
	struct cmsghdr *c;
	int ret = 0, fd;
	size_t i, n;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < n; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (!got->n_seen && got->n < DUMP_SCM_MAX_FD)
					got->fds[got->n++] = fd;
				else
					close(fd);
			}
			continue;
		}
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			got->has_cred = true;
			got->cred[0] = uc.pid;
			got->cred[1] = uc.uid;
			got->cred[2] = uc.gid;
			continue;
		}
		if (!ret)
			pr_err("%s: a queued message carries ancillary data (level %d type %d): not "
			       "supported\n",
			       who, c->cmsg_level, c->cmsg_type);
		ret = -EOPNOTSUPP;
	}
	got->n_seen = got->n_seen || got->n;
	if (!ret && (mh->msg_flags & MSG_CTRUNC)) {
		pr_err("%s: a queued message carries more ancillary data than a peek holds: "
		       "not supported\n",
		       who);
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* Closes the fds of got (installed in us by a peek). */
static void scm_close(struct dump_scm *got)
{
	while (got->n)
		close(got->fds[--got->n]);
	got->n_seen = false;
	got->has_cred = false;
}

/*
 * Peeks one message (dgram: whole, in pieces if needed) at the peek
 * offset.  Returns its length (0 also: an empty datagram, or the end of
 * a shut-down queue), -EAGAIN at the end, or -errno (logged).
 */
/*
 * Is the sender of a datagram (its address as recvmsg gave it) the
 * expected one: from's name, or unnamed if from is NULL or unbound?
 */
static bool sender_ok(const struct sockaddr_un *sa, socklen_t len,
		      const struct proc_unix_diag *from)
{
	size_t n = len > offsetof(struct sockaddr_un, sun_path) ?
			   len - offsetof(struct sockaddr_un, sun_path) :
			   0;

	if (!from || !from->has_name)
		return n == 0;
	return n == from->name_len && !memcmp(sa->sun_path, from->name, n);
}

static ssize_t peek_one(int fd, bool stream, uint8_t **buf, size_t *cap,
			const struct proc_unix_diag *from, struct dump_scm *fds, const char *who)
{
	struct sockaddr_un sa;
	union {
		char b[4096];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	size_t got = 0, want;
	ssize_t r;
	int ret;

	do {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = *buf + got;
		iov.iov_len = *cap - got;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		mh.msg_name = &sa;
		mh.msg_namelen = sizeof(sa);
		r = recvmsg(fd, &mh,
			    MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : MSG_TRUNC));
		if (r < 0) {
			if (errno != EAGAIN)
				pr_perror("%s: cannot peek its queue", who);
			return -errno;
		}
		ret = check_cmsgs(&mh, fds, who);
		if (ret)
			return ret;
		if (stream)
			return r;
		if (!got && !sender_ok(&sa, mh.msg_namelen, from)) {
			pr_err("%s: a datagram queued from another sender than its peer: not "
			       "supported\n",
			       who);
			return -EOPNOTSUPP;
		}
		want = got + r; /* MSG_TRUNC: what is left of this datagram */
		got += (size_t)r < iov.iov_len ? (size_t)r : iov.iov_len;
		if (want > got && want > *cap) {
			uint8_t *nb = realloc(*buf, want);

			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = want;
		}
	} while (got < want);
	return got;
}

/* Keeps got (its fds) as the message of df's queue at offset.  0/-ENOMEM. */
static int scm_keep(struct dump_file *df, struct dump_scm *got, uint64_t offset)
{
	struct dump_scm *nv;

	nv = realloc(df->scm, (df->n_scm + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	df->scm = nv;
	nv[df->n_scm] = *got;
	nv[df->n_scm].offset = offset;
	unixsk_scm__init(&nv[df->n_scm].msg);
	df->n_scm++;
	got->n = 0;
	got->n_seen = false;
	got->has_cred = false;
	return 0;
}

/*
 * One message peeked at queue offset at (r bytes in buf, its fds in got)
 * into df: framed, its fds kept with its offset.  A stream peek ends with
 * the buffer (skb) that carries fds, the bytes queued before it glued to
 * it: where that buffer begins cannot be seen (a peek of fewer bytes
 * runs on to the fds too), so the fds go with the whole piece (NOTES).
 * Returns the bytes kept, or -errno (logged).
 */
static ssize_t keep_msg(struct dump_file *df, const uint8_t *buf, ssize_t r, uint64_t at,
			bool stream, struct dump_scm *got, size_t *qcap, const char *who)
{
	int ret = 0;

	if (got->n && stream && !r) {
		pr_err("%s: fds queued with no byte: not supported\n", who);
		return -EOPNOTSUPP;
	}
	if (got->n || got->has_cred)
		ret = scm_keep(df, got, at);
	ret = ret ?: queue_add(df, buf, r, qcap);
	return ret ? ret : r;
}

/*
 * Copies the receive queue of fd into df (messages framed, see
 * queue_add; fds in flight into df->scm), peeking from offset 0 and
 * putting the target's SO_PEEK_OFF back.  *total gets the bytes.  0 or
 * -errno (logged; -EOPNOTSUPP a refusal).
 */
static int peek_queue(struct dump_file *df, int fd, int type, uint8_t shut,
		      const struct proc_unix_diag *from, uint64_t *total, const char *who)
{
	bool stream = type == SOCK_STREAM, prev_empty = false;
	size_t cap = PEEK_BUF, qcap = 0;
	int orig, zero = 0, ret, ret2;
	struct dump_scm *got;
	uint8_t *buf;
	ssize_t r;

	*total = 0;
	ret = net_get_int(fd, SOL_SOCKET, SO_PEEK_OFF, &orig);
	if (ret || setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("%s: SO_PEEK_OFF", who);
		return ret ?: -errno;
	}
	buf = malloc(cap);
	got = calloc(1, sizeof(*got));
	ret = buf && got ? 0 : -ENOMEM;
	while (!ret) {
		r = peek_one(fd, stream, &buf, &cap, from, got, who);
		if (r == -EAGAIN || (r == 0 && !got->n && (stream || (shut & 1))))
			break; /* the end (a shut-down queue reads 0 at its end) */
		if (r >= 0 && (got->n || got->has_cred) && prev_empty) {
			/* restore would give them to the empty one: same offset */
			pr_err("%s: an empty datagram queued right before one carrying fds: not "
			       "supported\n",
			       who);
			r = -EOPNOTSUPP;
		}
		prev_empty = r == 0 && !got->n && !got->has_cred;
		r = r < 0 ? r : keep_msg(df, buf, r, *total, stream, got, &qcap, who);
		if (r < 0) {
			ret = r;
			break;
		}
		*total += r;
		if (*total > QUEUE_MAX) {
			pr_err("%s: more than %llu bytes queued: not supported\n", who, QUEUE_MAX);
			ret = -EOPNOTSUPP;
		}
	}
	if (got)
		scm_close(got);
	free(got);
	free(buf);
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &orig, sizeof(orig))) {
		ret2 = -errno;
		pr_perror("%s: cannot put its SO_PEEK_OFF back to %d", who, orig);
		ret = ret ?: ret2;
	}
	return ret;
}

/* Refusals of what the image cannot hold yet.  0 or -EOPNOTSUPP (logged). */
static int refuse_state(const struct proc_unix_diag *d, const char *who)
{
	if (d->state == TCP_STATE_LISTEN && d->type == SOCK_DGRAM) {
		pr_err("%s: a listening datagram socket: not supported\n", who);
		return -EOPNOTSUPP;
	}
	if (d->state != TCP_STATE_ESTABLISHED && d->state != TCP_STATE_CLOSE &&
	    d->state != TCP_STATE_LISTEN) {
		pr_err("%s: unix socket in state %u: not supported\n", who, d->state);
		return -EOPNOTSUPP;
	}
	if (d->type != SOCK_STREAM && d->type != SOCK_DGRAM && d->type != SOCK_SEQPACKET) {
		pr_err("%s: unix socket of type %u: not supported\n", who, d->type);
		return -EOPNOTSUPP;
	}
	if (d->has_name && (d->name_len == 0 || (d->name[0] && d->name[0] != '/'))) {
		pr_err("%s: unix socket bound to a relative path (%.*s): not supported\n", who,
		       (int)d->name_len, d->name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * A socket bound to a path: the file must still be the socket's (same
 * device and inode as unix_diag's), and its owner and mode are recorded.
 * 0 or -EOPNOTSUPP (logged).
 */
static int dump_path(const struct proc_unix_diag *d, UnixskEntry *e, const char *who)
{
	char path[sizeof(d->name) + 1];
	dev_t kdev = d->vfs_dev;
	struct stat st;

	size_t i, n;

	memcpy(path, d->name, d->name_len);
	path[d->name_len] = 0;
	n = strlen(path); /* a binder may pass the NUL too: only NULs may follow */
	for (i = n; i < d->name_len && !d->name[i]; i++)
		;
	if (i != d->name_len || !d->has_vfs) {
		pr_err("%s: unix socket name %s: malformed\n", who, path);
		return -EOPNOTSUPP;
	}
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_ino != d->vfs_ino ||
	    st.st_dev != makedev(kdev >> 20, kdev & 0xfffff)) {
		PB_SET(e, name_removed, 1); /* the name no longer reaches it */
		return 0;
	}
	PB_SET(e, name_uid, st.st_uid);
	PB_SET(e, name_gid, st.st_gid);
	PB_SET(e, name_mode, st.st_mode & 07777);
	PB_SET(e, name_dev, st.st_dev);
	PB_SET(e, name_ino, st.st_ino);
	return 0;
}

/*
 * A listener's backlog and queued connections: unix_diag names each by
 * its client's inode (the server side has no inode until accepted).
 */
static void dump_icons(const struct proc_unix_diag *d, struct unixsk_dump *u)
{
	PB_SET(&u->e, backlog, d->wqueue);
	memcpy(u->icons, d->icons, d->n_icons * sizeof(uint32_t));
	u->e.icons = u->icons;
	u->e.n_icons = d->n_icons;
}

/* The queue: peeked, and checked against what unix_diag counts. */
static int dump_queue(struct dump_file *df, int fd, const struct proc_unix_diag *d, UnixskEntry *e,
		      const char *who)
{
	uint64_t total;
	struct proc_unix_diag peer;
	uint32_t first;
	int ret = 0;

	total = 0; /* an unconnected stream or seqpacket socket has no queue */
	if (d->type == SOCK_DGRAM && d->peer) {
		ret = proc_unix_diag(d->peer, &peer); /* its datagrams come from it */
		if (ret) {
			pr_err("%s: its peer (unix socket ino %u): sock_diag: %s\n", who, d->peer,
			       strerror(-ret));
			return ret;
		}
		free(peer.icons);
	}
	if (d->type == SOCK_DGRAM || d->state == TCP_STATE_ESTABLISHED)
		ret = peek_queue(df, fd, d->type, d->shutdown, d->peer ? &peer : NULL, &total, who);
	if (ret)
		return ret;
	if (total && d->state != TCP_STATE_ESTABLISHED && !d->has_name) {
		pr_err("%s: datagrams queued on an unconnected, unnamed socket: not supported\n",
		       who);
		return -EOPNOTSUPP;
	}
	/* unix_inq_len(): every byte of a stream or seqpacket queue, the
	 * first datagram's of a datagram socket */
	if (d->type != SOCK_DGRAM && d->state != TCP_STATE_LISTEN && total != d->rqueue) {
		pr_err("%s: %llu bytes peeked but %u queued (out-of-band data?): not "
		       "supported\n",
		       who, (unsigned long long)total, d->rqueue);
		return -EOPNOTSUPP;
	}
	if (d->type == SOCK_DGRAM && total) {
		memcpy(&first, df->skq, 4);
		if (first != d->rqueue) {
			pr_err("%s: first datagram peeked has %u bytes, unix_diag says %u\n", who,
			       first, d->rqueue);
			return -EIO;
		}
	}
	PB_SET(e, queued, total);
	return 0;
}

/* An AF_UNIX socket: its state, options and queue.  0 or -errno (logged). */
static int dump_unixsk(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct proc_unix_diag d;
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	struct unixsk_dump *u;
	char who[96];
	int peek, ret;

	df->e.kind = FILE_KIND__FILE_UNIXSK;
	snprintf(who, sizeof(who), "pid %d fd %d (unix socket ino %llu)", p->pid, p->fd,
		 (unsigned long long)p->st.st_ino);
	ret = proc_unix_diag(p->st.st_ino, &d);
	if (ret) {
		pr_err("%s: sock_diag: %s%s\n", who, strerror(-ret),
		       ret == -ENOENT ? " (not in vxdump's network namespace): not supported" : "");
		return ret == -ENOENT ? -EOPNOTSUPP : ret;
	}
	ret = refuse_state(&d, who) ?:
				      net_check_fixed(df->local_fd, fixed_opts,
						      sizeof(fixed_opts) / sizeof(fixed_opts[0]), who);
	u = ret ? NULL : calloc(1, sizeof(*u) + d.n_icons * sizeof(uint32_t));
	if (!ret && !u)
		ret = -ENOMEM;
	if (u) {
		df->sub = u;
		unixsk_entry__init(&u->e);
		df->e.unixsk = &u->e;
	}
	if (!ret && d.state == TCP_STATE_LISTEN)
		dump_icons(&d, u);
	if (u)
		u->wqueue = d.wqueue;
	free(d.icons);
	if (ret)
		return ret;
	PB_SET(&u->e, type, d.type);
	/* a datagram socket others connect()ed to is marked connected too
	 * (unix_dgram_connect): without a peer of its own (ENOTCONN, where
	 * one whose peer closed still names it) it is an unconnected one,
	 * and the restored clients' connect() marks it again */
	if (d.type == SOCK_DGRAM && d.state == TCP_STATE_ESTABLISHED && !d.peer &&
	    getpeername(df->local_fd, (struct sockaddr *)&sa, &salen) && errno == ENOTCONN)
		d.state = TCP_STATE_CLOSE;
	PB_SET(&u->e, state, d.state);
	PB_SET(&u->e, ino, d.ino);
	PB_SET(&u->e, peer_ino, d.peer);
	PB_SET(&u->e, shutdown, d.shutdown);
	if (d.has_name) {
		memcpy(u->name, d.name, d.name_len);
		u->e.name.data = u->name;
		u->e.name.len = d.name_len;
		u->e.has_name = 1;
		if (d.name[0]) {
			ret = dump_path(&d, &u->e, who);
			if (ret)
				return ret;
		}
	}
	ret = read_opts(df->local_fd, &u->e, d.state != TCP_STATE_CLOSE, who);
	ret = ret ?: net_get_int(df->local_fd, SOL_SOCKET, SO_PEEK_OFF, &peek);
	if (ret)
		return ret;
	PB_SET(&u->e, peek_off, peek);
	ret = dump_queue(df, df->local_fd, &d, &u->e, who);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_unixsk = { "unixsk", is_unixsk, dump_unixsk, NULL };

static const struct dump_file *find_ino(const struct dump_files *f, uint32_t ino)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].e.unixsk && f->v[i].e.unixsk->ino == ino)
			return &f->v[i];
	return NULL;
}

/* The listener of the image that has connection ino queued, or NULL. */
static const struct dump_file *find_icon(const struct dump_files *f, uint32_t ino)
{
	size_t i, j;

	for (i = 0; i < f->n; i++)
		for (j = 0; f->v[i].e.unixsk && j < f->v[i].e.unixsk->n_icons; j++)
			if (f->v[i].e.unixsk->icons[j] == ino)
				return &f->v[i];
	return NULL;
}

/* A listener of the image bound to e's name, or NULL. */
static const struct dump_file *find_listener(const struct dump_files *f, const UnixskEntry *e)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		const UnixskEntry *l = f->v[i].e.unixsk;

		if (l && l->state == TCP_STATE_LISTEN && l->has_name && e->has_name &&
		    l->name.len == e->name.len && !memcmp(l->name.data, e->name.data, e->name.len))
			return &f->v[i];
	}
	return NULL;
}

/*
 * A datagram socket e connected one way to p: restore binds p first and
 * connects e to p's name, so p must be named and not itself connected
 * one way; e's queue is sent from p to e's name, so a queue needs one.
 */
static bool one_way_ok(const struct dump_files *f, const UnixskEntry *e, const UnixskEntry *p)
{
	const struct dump_file *pp = p->peer_ino ? find_ino(f, p->peer_ino) : NULL;

	return e->type == SOCK_DGRAM && p->type == SOCK_DGRAM && p->has_name && !p->name_removed &&
	       (!p->peer_ino || (pp && pp->e.unixsk->peer_ino == p->ino)) &&
	       (!e->queued || e->has_name);
}

/*
 * Is socket ino held by an fd of the tree after an earlier refusal?  A
 * socket refused itself is not in the image, and its peer (or a client
 * queued on it) would then be refused again as "outside the tree", a
 * false second line: such a peer is left to the first refusal.
 */
static bool refused_in_tree(const struct dump_op *op, uint32_t ino)
{
	char want[32], dir[48], link[32];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	size_t i;
	DIR *d;

	if (!op->n_refused)
		return false;
	snprintf(want, sizeof(want), "socket:[%u]", ino);
	for (i = 0; !found && i < op->n_tasks; i++) {
		snprintf(dir, sizeof(dir), "/proc/%d/fd", op->tasks[i]->pid);
		d = opendir(dir);
		if (!d)
			continue;
		while (!found && (de = readdir(d))) {
			n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			found = !strcmp(link, want);
		}
		closedir(d);
	}
	return found;
}

/*
 * Every connection queued on listener df has its client in the image,
 * and the client has sent nothing yet (what it sent sits in a socket
 * nobody holds, which cannot be peeked without accepting it).
 */
static int check_icons(const struct dump_op *op, const struct dump_file *df)
{
	const struct dump_files *f = &op->files;
	const UnixskEntry *e = df->e.unixsk;
	const struct dump_file *c;
	size_t i;

	for (i = 0; i < e->n_icons; i++) {
		c = find_ino(f, e->icons[i]);
		if (!c && refused_in_tree(op, e->icons[i]))
			continue;
		if (!c) {
			pr_err("pid %d fd %d (unix socket ino %u): a connection queued on it comes "
			       "from outside the tree (unix socket ino %u): not supported\n",
			       df->first_pid, df->first_fd, e->ino, e->icons[i]);
			return -EOPNOTSUPP;
		}
		if (((const struct unixsk_dump *)c->sub)->wqueue) {
			pr_err("pid %d fd %d (unix socket ino %u): a connection queued on it, not "
			       "accepted yet, holds %u bytes: not supported\n",
			       df->first_pid, df->first_fd, e->ino,
			       ((const struct unixsk_dump *)c->sub)->wqueue);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/*
 * One socket's peer: in the image and connected back, or a connection
 * queued on a listener of the image; a named connected stream socket
 * must have been accepted from a listener of the image.  0/-EOPNOTSUPP.
 */
static int check_peer(const struct dump_op *op, const struct dump_file *df)
{
	const struct dump_files *f = &op->files;
	const UnixskEntry *e = df->e.unixsk;
	const struct dump_file *peer;

	if (e->state == TCP_STATE_LISTEN && e->name_removed && e->n_icons) {
		pr_err("pid %d fd %d (unix socket ino %u): a listener whose path was removed, "
		       "with connections queued: not supported\n",
		       df->first_pid, df->first_fd, e->ino);
		return -EOPNOTSUPP;
	}
	if (e->state == TCP_STATE_LISTEN)
		return check_icons(op, df);
	if (e->state == TCP_STATE_ESTABLISHED && e->type != SOCK_DGRAM && e->has_name &&
	    find_listener(f, e) && find_listener(f, e)->e.unixsk->name_removed) {
		pr_err("pid %d fd %d (unix socket ino %u): accepted from a listener whose path was "
		       "removed: not supported\n",
		       df->first_pid, df->first_fd, e->ino);
		return -EOPNOTSUPP;
	}
	if (e->state == TCP_STATE_ESTABLISHED && e->type != SOCK_DGRAM && e->has_name &&
	    !find_listener(f, e)) {
		pr_err("pid %d fd %d (unix socket ino %u): connected and bound to a name no "
		       "listener of the tree has (accepted from a closed listener?): not supported "
		       "yet\n",
		       df->first_pid, df->first_fd, e->ino);
		return -EOPNOTSUPP;
	}
	if (e->type != SOCK_DGRAM && find_icon(f, e->ino))
		return 0; /* queued on a listener of the image */
	if (!e->peer_ino && e->state == TCP_STATE_ESTABLISHED && e->type != SOCK_DGRAM &&
	    e->shutdown != 3) {
		pr_err("pid %d fd %d (unix socket ino %u): connected to a listener outside the "
		       "tree, not accepted yet: not supported\n",
		       df->first_pid, df->first_fd, e->ino);
		return -EOPNOTSUPP;
	}
	if (!e->peer_ino)
		return 0;
	peer = find_ino(f, e->peer_ino);
	if (!peer && refused_in_tree(op, e->peer_ino))
		return 0;
	if (!peer) {
		pr_err("pid %d fd %d (unix socket ino %u): its peer (unix socket ino %u) is "
		       "outside the tree: not supported\n",
		       df->first_pid, df->first_fd, e->ino, e->peer_ino);
		return -EOPNOTSUPP;
	}
	if (peer->e.unixsk->peer_ino != e->ino && !one_way_ok(f, e, peer->e.unixsk)) {
		pr_err("pid %d fd %d (unix socket ino %u): connected to unix socket ino %u, "
		       "which is not connected back: not supported\n",
		       df->first_pid, df->first_fd, e->ino, e->peer_ino);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Image-wide, once every fd is collected: every connected socket's peer
 * is in the image and connected back to it (a peer outside the tree is
 * refused).  Each refusal is counted on its own.  0 or -errno.
 */
int unixsk_check_peers(struct dump_op *op)
{
	size_t i;
	int ret;

	for (i = 0; i < op->files.n; i++) {
		if (!op->files.v[i].e.unixsk)
			continue;
		ret = dump_refusal(op, NULL, check_peer(op, &op->files.v[i]));
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Is the description in flight t one the queue of socket s may carry:
 * not a unix socket with fds queued itself (the cycles the kernel's
 * garbage collector handles), nor s or its peer (made with s, so not open
 * when s's queue is refilled), nor a listener?  0 or -EOPNOTSUPP.
 */
static int check_carried(const struct dump_files *f, const struct dump_file *s,
			 const struct dump_file *t)
{
	const UnixskEntry *e = s->e.unixsk, *te = t->e.unixsk;
	const char *why = NULL;

	if (!te)
		return 0;
	if (t->n_scm)
		why = "a unix socket in flight whose own queue carries fds or credentials";
	else if (t == s || te->ino == e->peer_ino || te->peer_ino == e->ino)
		why = "the socket itself or its peer in flight on it";
	else if (te->state == TCP_STATE_LISTEN || find_icon(f, te->ino))
		why = "a listening unix socket (or one queued on a listener) in flight";
	if (!why)
		return 0;
	pr_err("pid %d fd %d (unix socket ino %u): a queued message carries unix socket ino %u: %s: "
	       "not supported\n",
	       s->first_pid, s->first_fd, e->ino, te->ino, why);
	return -EOPNOTSUPP;
}

/*
 * The credentials a message carries, into its entry: none attached
 * (sent while neither end had SO_PASSCRED: pid 0 and the overflow uid
 * and gid, as restore's message without credentials reads), or the
 * tree's root's, the one process alive when restore refills the queues
 * (the kernel takes only a live pid).  0 or -EOPNOTSUPP (logged).
 */
static int scm_cred(const struct dump_op *op, struct dump_scm *m, const char *who)
{
	pid_t root = op->tasks[0]->pid;

	if (!m->has_cred)
		return 0;
	if ((m->cred[0] || m->cred[1] != OVERFLOW_ID || m->cred[2] != OVERFLOW_ID) &&
	    (pid_t)m->cred[0] != root) {
		pr_err("%s: a queued message carries the credentials of pid %u (uid %u gid %u): only "
		       "those of the tree's root (pid %d) can be sent again: not supported\n",
		       who, m->cred[0], m->cred[1], m->cred[2], root);
		return -EOPNOTSUPP;
	}
	if (m->cred[1] == UINT32_MAX || m->cred[2] == UINT32_MAX) {
		pr_err("%s: a queued message carries credentials of an unmapped uid or gid: not "
		       "supported\n",
		       who);
		return -EOPNOTSUPP;
	}
	PB_SET(&m->msg, pid, m->cred[0] ? (uint32_t)dump_vpid(op, root) : 0);
	PB_SET(&m->msg, uid, m->cred[1]);
	PB_SET(&m->msg, gid, m->cred[2]);
	return 0;
}

/*
 * Socket i's messages with fds: each fd collected as a description of
 * the image (the tree's own if it holds it too), checked, and the
 * entry's scm list made.  0 or -errno (logged; -EOPNOTSUPP a refusal).
 */
static int collect_scms(struct dump_op *op, size_t i)
{
	struct dump_file *df = &op->files.v[i];
	const char *kind;
	char who[96];
	size_t j, k;
	int ret;

	snprintf(who, sizeof(who), "pid %d fd %d (unix socket ino %u)", df->first_pid, df->first_fd,
		 df->e.unixsk->ino);
	for (j = 0; j < op->files.v[i].n_scm; j++) {
		for (k = 0; k < op->files.v[i].scm[j].n; k++) {
			df = &op->files.v[i];
			ret = files_collect_inflight(op, df->scm[j].fds[k], who, &df->scm[j].ids[k],
						     &kind);
			if (ret)
				return ret;
		}
	}
	df = &op->files.v[i];
	for (j = 0; j < df->n_scm; j++) {
		ret = scm_cred(op, &df->scm[j], who);
		if (ret)
			return ret;
	}
	df->scm_v = calloc(df->n_scm, sizeof(*df->scm_v));
	if (!df->scm_v)
		return -ENOMEM;
	for (j = 0; j < df->n_scm; j++) {
		PB_SET(&df->scm[j].msg, offset, df->scm[j].offset);
		df->scm[j].msg.file_ids = df->scm[j].ids;
		df->scm[j].msg.n_file_ids = df->scm[j].n;
		df->scm_v[j] = &df->scm[j].msg;
	}
	df->e.unixsk->scm = df->scm_v;
	df->e.unixsk->n_scm = df->n_scm;
	return 0;
}

/*
 * Image collector: the descriptions in flight in the queues of the
 * tree's unix sockets (SCM_RIGHTS), collected once every fd of the tree
 * is, so that one the tree also holds folds into its description.  A
 * socket in flight is collected too, but its own queue's fds are not
 * (refused).  Each socket's refusal is counted on its own.  0 or -errno.
 */
int unixsk_collect_inflight(struct dump_op *op)
{
	size_t i, j, k, n = op->files.n;
	int ret;

	for (i = 0; i < n; i++) {
		if (!op->files.v[i].e.unixsk || !op->files.v[i].n_scm)
			continue;
		ret = dump_refusal(op, NULL, collect_scms(op, i));
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		const struct dump_file *df = &op->files.v[i];

		for (j = 0, ret = 0; !ret && df->scm_v && j < df->n_scm; j++)
			for (k = 0; !ret && k < df->scm[j].n; k++)
				ret = check_carried(&op->files, df,
						    &op->files.v[df->scm[j].ids[k] - 1]);
		ret = dump_refusal(op, NULL, ret);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The SK_QUEUE records of one socket: a datagram or seqpacket message per
 * record, a stream's bytes in chunks.  0 or -errno.
 */
static int write_queue(struct dump_op *op, const struct dump_file *df)
{
	struct img_data_prefix pfx = { df->e.id, 0, 0 };
	bool stream = df->e.unixsk ? df->e.unixsk->type == SOCK_STREAM : !!df->e.tcpsk;
	size_t at = 0, len, part;
	uint32_t l;
	int ret;

	while (at < df->skq_len) {
		memcpy(&l, df->skq + at, 4);
		at += 4;
		len = 0;
		do {
			part = stream && l - len > SKQ_CHUNK ? SKQ_CHUNK : l - len;
			ret = img_write_raw2(op->w, IMG_REC_SK_QUEUE, 0, &pfx, sizeof(pfx),
					     df->skq + at + len, part);
			if (ret)
				return ret;
			pfx.offset += part;
			len += part;
		} while (len < l);
		at += l;
	}
	return 0;
}

/* SK_QUEUE records, socket by socket in file order (unix and TCP sockets
 * as bytes, and the inet datagram sockets of inetdg.c one datagram a
 * record).  0 or -errno. */
int write_unixsk_queues(struct dump_op *op)
{
	size_t i;
	int ret;

	for (i = 0; i < op->files.n; i++) {
		const struct dump_file *df = &op->files.v[i];

		if ((!df->e.unixsk && !df->e.tcpsk && !df->e.inetdg) || !df->skq_len)
			continue;
		ret = write_queue(op, df);
		if (ret) {
			pr_err("pid %d fd %d: cannot write its socket queue: %s\n", df->first_pid,
			       df->first_fd, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
