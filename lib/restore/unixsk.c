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
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>

#include "log.h"
#include "restore/restore.h"

#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_CLOSE 7
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

/* The first unix socket of the image (it checks what is image-wide). */
static const struct rst_file *first_sk(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++)
		if (img->files[i].fe->kind == FILE_KIND__FILE_UNIXSK)
			return &img->files[i];
	return NULL;
}

/* f's SK_QUEUE records: contiguous from 0 and summing to e->queued. */
static int check_queue(const struct rst_image *img, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	uint64_t at = 0;
	size_t i;

	for (i = 0; i < img->nr_skq; i++) {
		if (img->skq[i].id != f->fe->id)
			continue;
		if (img->skq[i].offset != at) {
			pr_err("image: unix socket (file id %u): queued data at %llu, expected "
			       "%llu\n",
			       f->fe->id, (unsigned long long)img->skq[i].offset,
			       (unsigned long long)at);
			return -EBADMSG;
		}
		at += img->skq[i].len;
	}
	if (at != e->queued || (at && e->state != TCP_STATE_ESTABLISHED)) {
		pr_err("image: unix socket (file id %u): %llu bytes queued, its entry says %llu%s\n",
		       f->fe->id, (unsigned long long)at, (unsigned long long)e->queued,
		       at && e->state != TCP_STATE_ESTABLISHED ? " and it has no sender" : "");
		return -EBADMSG;
	}
	return 0;
}

/* Every SK_QUEUE record names a unix socket of the image (checked once). */
static int check_queue_owners(const struct rst_image *img)
{
	size_t i, j;

	for (i = 0; i < img->nr_skq; i++) {
		for (j = 0; j < img->nr_files; j++)
			if (img->files[j].fe->id == img->skq[i].id && sk_of(&img->files[j]))
				break;
		if (j == img->nr_files) {
			pr_err("image: queued data for file id %u, which is no unix socket\n",
			       img->skq[i].id);
			return -EBADMSG;
		}
	}
	return 0;
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
	if (!e->peer_ino)
		return 0;
	p = sk_by_ino(img, e->peer_ino);
	pe = p ? p->fe->unixsk : NULL;
	if (!pe || p == f || pe->peer_ino != e->ino || pe->type != e->type ||
	    pe->state != TCP_STATE_ESTABLISHED || e->state != TCP_STATE_ESTABLISHED) {
		pr_err("image: unix socket (file id %u): peer inode %u is no socket of the image "
		       "connected back to it\n",
		       f->fe->id, e->peer_ino);
		return -EBADMSG;
	}
	if (pe->peer_uid != e->peer_uid || pe->peer_gid != e->peer_gid) {
		pr_err("image: unix socket (file id %u): its pair's peer credentials differ\n",
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
	else if (e->state == TCP_STATE_ESTABLISHED &&
		 (!e->has_peer_uid || !e->has_peer_gid || e->peer_uid == UINT32_MAX ||
		  e->peer_gid == UINT32_MAX))
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
	    (e->state != TCP_STATE_ESTABLISHED && e->state != TCP_STATE_CLOSE) || !e->ino) {
		pr_err("image: unix socket (file id %u): type %u, state %u or inode %u out of "
		       "range\n",
		       f->fe->id, e->type, e->state, e->ino);
		return -EBADMSG;
	}
	if (e->has_name &&
	    (e->name.len < 1 || e->name.len > sizeof(((struct sockaddr_un *)0)->sun_path) ||
	     e->name.data[0])) {
		pr_err("image: unix socket (file id %u): only abstract names (1-108 bytes, the "
		       "first 0) are supported\n",
		       f->fe->id);
		return -EBADMSG;
	}
	ret = check_opts(f) ?: check_peer(img, f) ?: check_queue(img, f);
	if (!ret && f == first_sk(img))
		ret = check_queue_owners(img);
	return ret;
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

static int set_timeo(int fd, int opt, uint64_t us, uint32_t id)
{
	struct timeval tv = { us / 1000000, us % 1000000 };

	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv))) {
		pr_perror("unix socket (file id %u): timeout", id);
		return -errno;
	}
	return 0;
}

/* Binds fd to the recorded abstract name, if any.  0 or -errno (logged). */
static int bind_name(int fd, const struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!e->has_name)
		return 0;
	memcpy(sa.sun_path, e->name.data, e->name.len);
	if (bind(fd, (struct sockaddr *)&sa,
		 offsetof(struct sockaddr_un, sun_path) + e->name.len)) {
		pr_perror("unix socket (file id %u): cannot bind its abstract name @%.*s",
			  f->fe->id, (int)e->name.len - 1, (const char *)e->name.data + 1);
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
static int fill_queue(const struct rst_image *img, const struct rst_file *f, int from)
{
	bool stream = f->fe->unixsk->type == SOCK_STREAM;
	size_t i, done;
	ssize_t w;
	int ret;

	ret = set_int(from, SO_SNDBUFFORCE, INT_MAX / 2, "SO_SNDBUFFORCE", f->fe->id);
	if (ret)
		return ret;
	for (i = 0; i < img->nr_skq; i++) {
		const struct rst_chunk *c = &img->skq[i];

		if (c->id != f->fe->id)
			continue;
		done = 0;
		do {
			w = send(from, c->buf + done, c->len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 || (!stream && (size_t)w != c->len)) {
				pr_perror("unix socket (file id %u): cannot queue %zu bytes again",
					  f->fe->id, c->len);
				return w < 0 ? -errno : -EIO;
			}
			done += w;
		} while (done < c->len);
	}
	return 0;
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
	ret = ret ?: set_timeo(fd, SO_RCVTIMEO_OLD, e->rcvtimeo_us, id);
	ret = ret ?: set_timeo(fd, SO_SNDTIMEO_OLD, e->sndtimeo_us, id);
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

/*
 * socketpair() as euid/egid uid/gid (what SO_PEERCRED of both ends
 * reports), then back to our own ids.  0 or -errno (logged).
 */
static int pair_as(uint32_t type, uint32_t uid, uint32_t gid, int sv[2], uint32_t id)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int ret = 0;

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return -errno;
	if (syscall(SYS_setresgid, -1, gid, -1) || syscall(SYS_setresuid, -1, uid, -1)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): cannot take uid %u gid %u", id, uid, gid);
	} else if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		pr_perror("unix socket (file id %u): socketpair", id);
	}
	if (syscall(SYS_setresuid, -1, eu, -1) || syscall(SYS_setresgid, -1, eg, -1)) {
		pr_perror("cannot take our own uid %u gid %u back", eu, eg);
		ret = -EPERM; /* no way on: the rest would run with other ids */
	}
	return ret;
}

/* A connected socket f and its peer (or a closed stand-in for it). */
static int open_pair(const struct rst_image *img, struct rst_file *f, struct rst_file *peer)
{
	const UnixskEntry *e = f->fe->unixsk;
	int sv[2], ret;

	ret = pair_as(e->type, e->peer_uid, e->peer_gid, sv, f->fe->id);
	if (ret)
		return ret;
	ret = bind_name(sv[0], f);
	ret = ret ?: (peer ? bind_name(sv[1], peer) : 0);
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

/* A new socket for f (and its peer, if connected).  0 or -errno. */
static int open_unixsk(const struct rst_image *img, struct rst_file *f)
{
	const UnixskEntry *e = f->fe->unixsk;
	int fd, ret;

	if (e->state == TCP_STATE_ESTABLISHED)
		return open_pair(img, f, e->peer_ino ? sk_by_ino(img, e->peer_ino) : NULL);
	fd = socket(AF_UNIX, e->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("unix socket (file id %u)", f->fe->id);
		return -errno;
	}
	ret = bind_name(fd, f);
	if (ret) {
		close(fd);
		return ret;
	}
	return finish_one(img, f, fd);
}

const struct rst_fd_kind rst_fd_unixsk = {
	.kind = FILE_KIND__FILE_UNIXSK,
	.name = "unix socket",
	.check_image = check_unixsk,
	.open = open_unixsk,
};
