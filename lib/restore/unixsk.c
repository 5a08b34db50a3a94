/*
 * AF_UNIX sockets (fd kind "unixsk"), in the root's C part.  A connected
 * socket and its peer in the image are made at once by one socketpair()
 * (both ends staged, as pipes.c does), created with the recorded peer
 * credentials' euid/egid so SO_PEERCRED reads the same uid and gid; a
 * connected socket whose peer was closed gets a socketpair whose other
 * end is closed once its queue is filled (the kernel then marks it shut
 * down as it was); an unconnected one is a new socket.  Then, in this
 * order: abstract names bound, queues refilled by sending each SK_QUEUE
 * record from the peer (a datagram or record per record), options,
 * shutdown, SO_PEEK_OFF, O_NONBLOCK.  Nothing on the host is touched: an
 * abstract name lives in the network namespace, and one already taken
 * there fails the restore with one line.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <linux/openat2.h>

#include "log.h"
#include "net/sockopt.h"
#include "restore/restore.h"

#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_CLOSE 7
#define TCP_STATE_LISTEN 10
#define ICONS_MAX 4096
#define SNDBUF_MIN 4608u /* SOCK_MIN_SNDBUF on x86_64 */
#define RCVBUF_MIN 2304u /* SOCK_MIN_RCVBUF */
#define TIMEO_MAX (1ull << 53)

static const UnixskEntry *sk_of(const struct rst_file *f)
{
	return f->fe->kind == FILE_KIND__FILE_UNIXSK ? f->fe->unixsk : NULL;
}

/* The entry of the image whose socket had inode ino, or NULL. */
static struct rst_file *sk_by_ino(const struct rst_image *img, uint32_t ino)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++)
		if (sk_of(&img->files[i]) && sk_of(&img->files[i])->ino == ino)
			return &img->files[i];
	return NULL;
}

static bool same_name(const UnixskEntry *a, const UnixskEntry *b)
{
	return a->has_name && b->has_name && a->name.len == b->name.len &&
	       !memcmp(a->name.data, b->name.data, a->name.len);
}

/* The listener of the image bound to e's name, or NULL. */
static struct rst_file *listener_named(const struct rst_image *img, const UnixskEntry *e)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		const UnixskEntry *l = sk_of(&img->files[i]);

		if (l && l->state == TCP_STATE_LISTEN && same_name(l, e))
			return &img->files[i];
	}
	return NULL;
}

/* The listener of the image that has connection ino queued, or NULL. */
static struct rst_file *icon_listener(const struct rst_image *img, uint32_t ino)
{
	size_t i, j;

	for (i = 0; i < img->nr_files; i++) {
		const UnixskEntry *l = sk_of(&img->files[i]);

		for (j = 0; l && j < l->n_icons; j++)
			if (l->icons[j] == ino)
				return &img->files[i];
	}
	return NULL;
}

/* f's SK_QUEUE records: contiguous from 0 and summing to e->queued. */
static int check_queue(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	uint64_t at = 0;
	int ret = rst_skq_len(img, f, &at);

	if (ret)
		return ret;
	if (at != e->queued ||
	    (at && e->state != TCP_STATE_ESTABLISHED && (e->type != SOCK_DGRAM || !e->has_name))) {
		pr_err("image: unix socket (file id %u): %llu bytes queued, its entry says %llu%s\n",
		       f->fe->id, (unsigned long long)at, (unsigned long long)e->queued,
		       at && e->state != TCP_STATE_ESTABLISHED ? " and it has no sender" : "");
		return -EBADMSG;
	}
	return 0;
}

/*
 * A datagram socket e connected one way to p (restored by connect() to
 * p's name once p is open): p is a named datagram socket, unconnected or
 * in a pair, and e's queue, sent from p, needs e's name.
 */
static bool one_way_ok(const struct rst_image *img, const UnixskEntry *e, const UnixskEntry *p)
{
	const struct rst_file *pp = p->peer_ino ? sk_by_ino(img, p->peer_ino) : NULL;

	return e->type == SOCK_DGRAM && p->type == SOCK_DGRAM && p->has_name && !p->name_removed &&
	       e->state == TCP_STATE_ESTABLISHED &&
	       (!p->peer_ino || (pp && sk_of(pp)->peer_ino == p->ino)) &&
	       (!e->queued || e->has_name);
}

/* The peer: unique, in the image, of the same type, connected back. */
static int check_peer(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk, *pe;
	const struct rst_file *p;

	if (sk_by_ino(img, e->ino) != f) {
		pr_err("image: unix socket (file id %u): inode %u is not unique\n", f->fe->id,
		       e->ino);
		return -EBADMSG;
	}
	if (e->has_name && e->state == TCP_STATE_ESTABLISHED && e->type != SOCK_DGRAM &&
	    !listener_named(img, e)) {
		pr_err("image: unix socket (file id %u): connected and named, but no listener of "
		       "the image has its name\n",
		       f->fe->id);
		return -EBADMSG;
	}
	if (!e->peer_ino)
		return 0; /* unconnected, its peer closed, or queued on a listener */
	p = sk_by_ino(img, e->peer_ino);
	pe = p ? p->fe->unixsk : NULL;
	if (pe && pe->peer_ino != e->ino && p != f && one_way_ok(img, e, pe))
		return 0;
	if (!pe || p == f || pe->peer_ino != e->ino || pe->type != e->type ||
	    pe->state != TCP_STATE_ESTABLISHED || e->state != TCP_STATE_ESTABLISHED) {
		pr_err("image: unix socket (file id %u): peer inode %u is no socket of the image "
		       "connected back to it\n",
		       f->fe->id, e->peer_ino);
		return -EBADMSG;
	}
	if (!listener_named(img, e) && !listener_named(img, pe) &&
	    (pe->peer_uid != e->peer_uid || pe->peer_gid != e->peer_gid)) {
		pr_err("image: unix socket (file id %u): its pair's peer credentials differ\n",
		       f->fe->id);
		return -EBADMSG;
	}
	return 0;
}

/* A listener: backlog, and each queued connection's one client. */
static int check_listener(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	size_t i, j;

	if (e->state != TCP_STATE_LISTEN) {
		if (e->n_icons || e->has_backlog) {
			pr_err("image: unix socket (file id %u): not listening but has a backlog\n",
			       f->fe->id);
			return -EBADMSG;
		}
		return 0;
	}
	if (e->type == SOCK_DGRAM || e->backlog > 65535 || e->n_icons > ICONS_MAX || e->peer_ino ||
	    e->queued || !e->has_name) {
		pr_err("image: unix socket (file id %u): a listener must be an unconnected, named "
		       "stream or seqpacket socket with a backlog below 65536 and at most %d "
		       "connections queued\n",
		       f->fe->id, ICONS_MAX);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_icons; i++) {
		const struct rst_file *c = sk_by_ino(img, e->icons[i]);

		if (!c || icon_listener(img, e->icons[i]) != f || sk_of(c)->type != e->type ||
		    sk_of(c)->state != TCP_STATE_ESTABLISHED || sk_of(c)->peer_ino ||
		    sk_of(c)->queued || sk_of(c)->has_name) {
			pr_err("image: unix socket (file id %u): queued connection %u has no one "
			       "client of the image\n",
			       f->fe->id, e->icons[i]);
			return -EBADMSG;
		}
		for (j = 0; j < i; j++)
			if (e->icons[j] == e->icons[i]) {
				pr_err("image: unix socket (file id %u): connection %u queued twice\n",
				       f->fe->id, e->icons[i]);
				return -EBADMSG;
			}
	}
	return 0;
}

/* A path name: absolute, no NUL, no "." or ".." component, no "//". */
static bool path_ok(const uint8_t *p, size_t len)
{
	size_t i;

	while (len > 1 && !p[len - 1])
		len--; /* the binder may have passed NULs after the path */
	if (len < 2 || p[0] != '/' || p[len - 1] == '/')
		return false;
	for (i = 0; i < len; i++) {
		if (!p[i] || (p[i] == '/' && i + 1 < len && p[i + 1] == '/'))
			return false;
		if (p[i] == '/' && i + 1 < len && p[i + 1] == '.' &&
		    (i + 2 == len || p[i + 2] == '/' ||
		     (p[i + 2] == '.' && (i + 3 == len || p[i + 3] == '/'))))
			return false;
	}
	return true;
}

/* Does some connected socket of the image say it was accepted from l? */
static bool listener_has_accepted(const struct rst_image *img, const struct rst_file *l)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		const UnixskEntry *s = sk_of(&img->files[i]);

		if (s && s->state == TCP_STATE_ESTABLISHED && s->type != SOCK_DGRAM &&
		    listener_named(img, s) == l)
			return true;
	}
	return false;
}

/* The name: abstract, or a path with its file's owner, mode and inode. */
static int check_name(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;

	if (!e->has_name)
		return 0;
	if (e->name.len < 1 || e->name.len > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		pr_err("image: unix socket (file id %u): a name of %zu bytes\n", f->fe->id,
		       e->name.len);
		return -EBADMSG;
	}
	if (!e->name.data[0] && !e->name_removed)
		return 0;
	if (e->name_removed &&
	    (!e->name.data[0] || !path_ok(e->name.data, e->name.len) || e->has_name_uid ||
	     e->has_name_gid || e->has_name_ino ||
	     (e->state == TCP_STATE_LISTEN && (e->n_icons || listener_has_accepted(img, f))))) {
		pr_err("image: unix socket (file id %u): a removed name must be a path, without "
		       "its file's owner and inode, and not a listener with connections\n",
		       f->fe->id);
		return -EBADMSG;
	}
	if (e->name_removed)
		return 0;
	if (!path_ok(e->name.data, e->name.len) || !e->has_name_uid || !e->has_name_gid ||
	    e->name_uid == UINT32_MAX || e->name_gid == UINT32_MAX || e->name_mode > 0777 ||
	    !e->has_name_ino) {
		pr_err("image: unix socket (file id %u): its path name, or the owner, mode (no "
		       "set-id or sticky bit) and inode of its file, out of range\n",
		       f->fe->id);
		return -EBADMSG;
	}
	return 0;
}

/* Ranges of the option fields.  0 or -EBADMSG (logged). */
static int check_opts(const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	const char *bad = NULL;

	if (!e->has_sndbuf || e->sndbuf % 2 || e->sndbuf < SNDBUF_MIN || e->sndbuf > INT_MAX - 1)
		bad = "sndbuf";
	else if (!e->has_rcvbuf || e->rcvbuf % 2 || e->rcvbuf < RCVBUF_MIN ||
		 e->rcvbuf > INT_MAX - 1)
		bad = "rcvbuf";
	else if (e->rcvtimeo_us >= TIMEO_MAX || e->sndtimeo_us >= TIMEO_MAX)
		bad = "a timeout";
	else if (e->peek_off < -1 || (e->peek_off > 0 && (uint64_t)e->peek_off > e->queued))
		bad = "peek_off";
	else if (e->shutdown > 3)
		bad = "shutdown";
	else if ((e->state != TCP_STATE_CLOSE && e->type != SOCK_DGRAM &&
		  (!e->has_peer_uid || !e->has_peer_gid)) ||
		 e->has_peer_uid != e->has_peer_gid || e->peer_uid == UINT32_MAX ||
		 e->peer_gid == UINT32_MAX)
		bad = "peer credentials";
	if (bad) {
		pr_err("image: unix socket (file id %u): %s out of range\n", f->fe->id, bad);
		return -EBADMSG;
	}
	return 0;
}

/* The image alone: every field of the socket's entry and its queue. */
static int check_unixsk(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	int ret;

	if (!e) {
		pr_err("image: unix socket (file id %u) has no unixsk entry\n", f->fe->id);
		return -EBADMSG;
	}
	if ((e->type != SOCK_STREAM && e->type != SOCK_DGRAM && e->type != SOCK_SEQPACKET) ||
	    (e->state != TCP_STATE_ESTABLISHED && e->state != TCP_STATE_CLOSE &&
	     e->state != TCP_STATE_LISTEN) ||
	    !e->ino) {
		pr_err("image: unix socket (file id %u): type %u, state %u or inode %u out of "
		       "range\n",
		       f->fe->id, e->type, e->state, e->ino);
		return -EBADMSG;
	}
	ret = check_name(img, f) ?: check_opts(f) ?: check_listener(img, f) ?: check_peer(img, f);
	return ret ?: check_queue(img, f) ?: unixsk_check_scm(img, f);
}

/* Sets an int option.  0 or -errno (logged). */
static int set_int(int fd, int opt, int v, const char *what, uint32_t id)
{
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v))) {
		pr_perror("unix socket (file id %u): %s %d", id, what, v);
		return -errno;
	}
	return 0;
}

/*
 * Refills f's receive queue by sending its SK_QUEUE records from from
 * (its peer), one message per record for a datagram or seqpacket socket.
 * The sender's buffer is forced large meanwhile (set to its recorded
 * size later).  0 or -errno (logged).
 */
static int fill_queue_to(const struct rst_image *img, const struct rst_file *f, int from,
			 const struct sockaddr_un *to, socklen_t tolen)
{
	bool stream = f->fe->unixsk->type == SOCK_STREAM;
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(253 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh;
	struct iovec iov;
	size_t i, done, next = 0;
	ssize_t w;
	int ret;

	ret = set_int(from, SO_SNDBUFFORCE, INT_MAX / 2, "SO_SNDBUFFORCE", f->fe->id);
	if (ret)
		return ret;
	for (i = 0; i < img->nr_skq; i++) {
		const struct rst_chunk *c = &img->skq[i];

		if (c->id != f->fe->id)
			continue;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = (void *)to;
		mh.msg_namelen = tolen;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		ret = unixsk_scm_at(img, f, &next, c->offset, ctl.b, &mh.msg_controllen);
		if (ret)
			return ret;
		if (!mh.msg_controllen)
			mh.msg_control = NULL;
		done = 0;
		do {
			iov.iov_base = c->buf + done;
			iov.iov_len = c->len - done;
			w = sendmsg(from, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 || (!stream && (size_t)w != c->len)) {
				pr_perror("unix socket (file id %u): cannot queue %zu bytes again",
					  f->fe->id, c->len);
				return w < 0 ? -errno : -EIO;
			}
			done += w;
			mh.msg_control = NULL; /* the fds go with the first bytes */
			mh.msg_controllen = 0;
		} while (done < c->len);
	}
	return 0;
}

static int fill_queue(const struct rst_image *img, const struct rst_file *f, int from)
{
	return fill_queue_to(img, f, from, NULL, 0);
}

/* Options, shutdown, peek offset and flags of f on fd.  0 or -errno. */
static int set_state(int fd, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	uint32_t id = f->fe->id;
	int ret;

	ret = set_int(fd, SO_SNDBUFFORCE, e->sndbuf / 2, "SO_SNDBUFFORCE", id);
	ret = ret ?: set_int(fd, SO_RCVBUFFORCE, e->rcvbuf / 2, "SO_RCVBUFFORCE", id);
	ret = ret ?: set_int(fd, SO_PASSCRED, e->passcred, "SO_PASSCRED", id);
	ret = ret ?: set_int(fd, SO_PASSSEC, e->passsec, "SO_PASSSEC", id);
	ret = ret ?: set_int(fd, SO_REUSEADDR, e->reuseaddr, "SO_REUSEADDR", id);
	ret = ret ?: set_int(fd, SO_KEEPALIVE, e->keepalive, "SO_KEEPALIVE", id);
	if (!ret) {
		char who[48];

		snprintf(who, sizeof(who), "unix socket (file id %u)", id);
		ret = net_set_us(fd, SO_RCVTIMEO_OLD, "SO_RCVTIMEO", e->rcvtimeo_us, who) ?:
			      net_set_us(fd, SO_SNDTIMEO_OLD, "SO_SNDTIMEO", e->sndtimeo_us, who);
	}
	if (ret)
		return ret;
	if ((e->shutdown & 1) && shutdown(fd, SHUT_RD) && errno != ENOTCONN)
		ret = -errno;
	if (!ret && (e->shutdown & 2) && shutdown(fd, SHUT_WR) && errno != ENOTCONN)
		ret = -errno;
	if (ret) {
		pr_perror("unix socket (file id %u): shutdown", id);
		return ret;
	}
	ret = set_int(fd, SO_PEEK_OFF, e->peek_off, "SO_PEEK_OFF", id);
	return ret ?: rst_set_fl(fd, f->fe->flags);
}

/* Reads the buffer sizes back: SO_*BUFFORCE must have given the record's. */
static int check_bufs(int fd, const struct rst_file *f)
{
	int snd = 0, rcv = 0;
	socklen_t l1 = sizeof(snd), l2 = sizeof(rcv);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &l1) ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &l2) ||
	    (uint32_t)snd != f->fe->unixsk->sndbuf || (uint32_t)rcv != f->fe->unixsk->rcvbuf) {
		pr_err("unix socket (file id %u): buffer sizes %d/%d, not the recorded %u/%u\n",
		       f->fe->id, snd, rcv, f->fe->unixsk->sndbuf, f->fe->unixsk->rcvbuf);
		return -EIO;
	}
	return 0;
}

/* Stages fd as f's description with its state.  0 or -errno. */
static int finish_one(const struct rst_image *img, struct rst_file *f, int fd)
{
	int ret = set_state(fd, f) ?: check_bufs(fd, f);

	if (ret) {
		close(fd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

/* Takes euid/egid uid/gid (to == true) or our own back.  0 or -errno. */
static int ids_as(uint32_t uid, uint32_t gid, bool to, uint32_t id)
{
	static uid_t eu;
	static gid_t eg;

	if (to) {
		eu = geteuid();
		eg = getegid();
		if (!syscall(SYS_setresgid, -1, gid, -1) && !syscall(SYS_setresuid, -1, uid, -1))
			return 0;
		pr_perror("unix socket (file id %u): cannot take uid %u gid %u", id, uid, gid);
		uid = eu;
		gid = eg;
	}
	if (syscall(SYS_setresuid, -1, eu, -1) || syscall(SYS_setresgid, -1, eg, -1)) {
		pr_perror("cannot take our own uid %u gid %u back", eu, eg);
		return -EPERM; /* no way on: the rest would run with other ids */
	}
	return to ? -EPERM : 0;
}

/*
 * socketpair() as euid/egid uid/gid (what SO_PEERCRED of both ends
 * reports), then back to our own ids.  0 or -errno (logged).
 */
static int pair_as(uint32_t type, uint32_t uid, uint32_t gid, int sv[2], uint32_t id)
{
	int ret = ids_as(uid, gid, true, id);

	if (ret)
		return ret;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): socketpair", id);
	}
	return ids_as(0, 0, false, id) ?: ret;
}

/* A connected socket f and its peer (or a closed stand-in for it). */
static int open_pair(const struct rst_image *img, struct rst_file *f, struct rst_file *peer)
{
	const UnixskEntry *e = f->fe->unixsk;
	int sv[2], ret;

	ret = pair_as(e->type, e->has_peer_uid ? e->peer_uid : geteuid(),
		      e->has_peer_gid ? e->peer_gid : getegid(), sv, f->fe->id);
	if (ret)
		return ret;
	ret = unixsk_bind_name(sv[0], f);
	ret = ret ?: (peer ? unixsk_bind_name(sv[1], peer) : 0);
	ret = ret ?: fill_queue(img, f, sv[1]);
	ret = ret ?: (peer ? fill_queue(img, peer, sv[0]) : 0);
	if (ret || !peer) {
		close(sv[1]); /* a closed peer: f is shut down as it was */
		sv[1] = -1;
	}
	if (ret) {
		close(sv[0]);
		return ret;
	}
	ret = finish_one(img, f, sv[0]);
	if (peer) {
		if (ret)
			close(sv[1]);
		else
			ret = finish_one(img, peer, sv[1]);
	}
	return ret;
}

/* A new socket of f's type, bound to f's name.  fd or -errno. */
static int new_socket(const struct rst_file *f)
{
	int fd, ret;

	fd = socket(AF_UNIX, f->fe->unixsk->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("unix socket (file id %u)", f->fe->id);
		return -errno;
	}
	ret = unixsk_bind_name(fd, f);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* connect() of fd to listener l as euid/egid uid/gid.  0 or -errno. */
static int connect_as(int fd, const struct rst_file *l, uint32_t uid, uint32_t gid, uint32_t id)
{
	struct sockaddr_un sa;
	socklen_t len;
	int ret = ids_as(uid, gid, true, id);

	if (ret)
		return ret;
	unixsk_addr(l->fe->unixsk, &sa, &len);
	if (connect(fd, (struct sockaddr *)&sa, len)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): cannot connect to its listener (file id %u)",
			  id, l->fe->id);
	}
	return ids_as(0, 0, false, id) ?: ret;
}

/*
 * An accepted connection s of listener l (on lfd) and its client: the
 * client connects as s's recorded peer, the listener accepts.  0/-errno.
 */
static int open_accepted(const struct rst_image *img, struct rst_file *l, int lfd,
			 struct rst_file *s)
{
	const UnixskEntry *e = s->fe->unixsk;
	struct rst_file *c = sk_by_ino(img, e->peer_ino);
	int cfd, sfd, ret;

	cfd = new_socket(c);
	if (cfd < 0)
		return cfd;
	ret = connect_as(cfd, l, e->peer_uid, e->peer_gid, c->fe->id);
	sfd = ret ? -1 : accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (!ret && sfd < 0) {
		ret = -errno;
		pr_perror("unix socket (file id %u): accept", l->fe->id);
	}
	ret = ret ?: fill_queue(img, s, cfd) ?: fill_queue(img, c, sfd);
	if (ret) {
		close(cfd);
		if (sfd >= 0)
			close(sfd);
		return ret;
	}
	ret = finish_one(img, c, cfd);
	if (ret)
		close(sfd);
	return ret ?: finish_one(img, s, sfd);
}

/*
 * A listener: bound, listening as its recorded peer (listen() sets what
 * SO_PEERCRED of its clients reads), every accepted connection of the
 * image rebuilt through it, then every queued one connected in order;
 * its recorded backlog last.  0 or -errno.
 */
static int open_listener(const struct rst_image *img, struct rst_file *l)
{
	const UnixskEntry *e = l->fe->unixsk;
	int fd, ret;
	size_t i;

	fd = new_socket(l);
	if (fd < 0)
		return fd;
	ret = ids_as(e->peer_uid, e->peer_gid, true, l->fe->id);
	if (!ret) {
		int lret = listen(fd, ICONS_MAX + 1) ? -errno : 0;

		if (lret)
			pr_perror("unix socket (file id %u): listen", l->fe->id);
		ret = ids_as(0, 0, false, l->fe->id);
		ret = ret ?: lret;
	}
	for (i = 0; !ret && i < img->nr_files; i++) {
		struct rst_file *s = &img->files[i];

		if (sk_of(s) && sk_of(s)->state == TCP_STATE_ESTABLISHED && s->stage_fd < 0 &&
		    sk_of(s)->type != SOCK_DGRAM && listener_named(img, sk_of(s)) == l)
			ret = open_accepted(img, l, fd, s);
	}
	for (i = 0; !ret && i < e->n_icons; i++) {
		struct rst_file *c = sk_by_ino(img, e->icons[i]);
		int cfd = new_socket(c);

		ret = cfd < 0 ? cfd : connect_as(cfd, l, 0, 0, c->fe->id);
		ret = ret ?: finish_one(img, c, cfd);
		if (ret && cfd >= 0)
			close(cfd);
	}
	if (!ret && listen(fd, e->backlog)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): listen %u", l->fe->id, e->backlog);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return finish_one(img, l, fd);
}

static int open_unixsk(const struct rst_image *img, struct rst_file *f);

/*
 * The datagrams queued on an unconnected named socket f (the dump took
 * only unnamed senders' ones): sent to its name from a new unnamed
 * socket, closed after.  0 or -errno.
 */
static int fill_from_stranger(const struct rst_image *img, const struct rst_file *f)
{
	struct sockaddr_un sa;
	socklen_t len;
	int t, ret;

	t = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t < 0) {
		pr_perror("unix socket (file id %u): a sender for its queue", f->fe->id);
		return -errno;
	}
	unixsk_addr(f->fe->unixsk, &sa, &len);
	ret = fill_queue_to(img, f, t, &sa, len);
	close(t);
	return ret;
}

/*
 * A datagram socket f connected one way to p: p opened first (bound),
 * then f connects to p's name; f's queue is sent from p to f's name.
 */
static int open_one_way(const struct rst_image *img, struct rst_file *f, struct rst_file *p)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, ret;

	ret = p->stage_fd < 0 ? open_unixsk(img, p) : 0;
	if (ret)
		return ret;
	fd = new_socket(f);
	if (fd < 0)
		return fd;
	unixsk_addr(sk_of(p), &sa, &len);
	if (connect(fd, (struct sockaddr *)&sa, len)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): cannot connect to file id %u", f->fe->id,
			  p->fe->id);
	}
	if (!ret && f->fe->unixsk->queued) {
		unixsk_addr(f->fe->unixsk, &sa, &len);
		ret = fill_queue_to(img, f, p->stage_fd, &sa, len);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return finish_one(img, f, fd);
}

/* A new socket for f (and what is made with it).  0 or -errno. */
static int open_unixsk(const struct rst_image *img, struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	struct rst_file *l = NULL, *peer;
	int fd, ret;

	ret = unixsk_open_carried(img); /* what queued messages carry, first */
	if (ret || f->stage_fd >= 0)
		return ret;
	if (e->state == TCP_STATE_LISTEN)
		l = f;
	else if (e->state == TCP_STATE_ESTABLISHED && e->type != SOCK_DGRAM) {
		peer = e->peer_ino ? sk_by_ino(img, e->peer_ino) : NULL;
		l = icon_listener(img, e->ino);
		if (!l)
			l = listener_named(img, e);
		if (!l && peer)
			l = listener_named(img, sk_of(peer));
	}
	if (l) {
		ret = l->stage_fd < 0 ? open_listener(img, l) : 0;
		if (!ret && f->stage_fd < 0) {
			pr_err("unix socket (file id %u): not made with its listener\n", f->fe->id);
			ret = -EBADMSG;
		}
		return ret;
	}
	peer = e->peer_ino ? sk_by_ino(img, e->peer_ino) : NULL;
	if (peer && sk_of(peer)->peer_ino != e->ino)
		return open_one_way(img, f, peer);
	if (e->state == TCP_STATE_ESTABLISHED)
		return open_pair(img, f, peer);
	fd = new_socket(f);
	if (fd >= 0 && e->queued) { /* datagrams of unnamed senders */
		ret = fill_from_stranger(img, f);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd < 0 ? fd : finish_one(img, f, fd);
}

const struct rst_fd_kind rst_fd_unixsk = {
	.kind = FILE_KIND__FILE_UNIXSK,
	.name = "unix socket",
	.check_image = check_unixsk,
	.open = open_unixsk,
};
