/*
 * vxcr_serve_conn(): the destination side of a live migration (proto.h).
 * Pre-copied pages go into a page store; the image is relayed by a pump
 * thread from the channel into a socketpair the restore reads, so the
 * image streams straight into the restorer.  The restore's commit step
 * (which may run in a context's supervisor or a pid namespace's init: it
 * talks through a second socketpair) holds the whole restored tree until
 * the source has killed its own: RESTORED goes out, COMMIT must come
 * back, else the restore is undone and nothing is left here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <sys/socket.h>

#define LOG_PREFIX "mig/serve: "
#include "log.h"
#include "error.h"
#include "util/testhook.h"
#include "img/chan.h"
#include "img/pstore.h"
#include "restore/lazy.h"
#include "mig/proto.h"
#include "mig/move.h"

void vxcr_serve_opts_init(struct vxcr_serve_opts *o)
{
	memset(o, 0, sizeof(*o));
	vxcr_restore_opts_init(&o->restore);
	o->timeout_ms = 30000;
}

struct mig_dst {
	const struct vxcr_serve_opts *o;
	struct vxcr_serve_stats *st;
	struct chan *ch;
	struct vxcr_pstore *ps;
	uint32_t flags;	 /* MIG_F_* of the source's HELLO */
	int img[2];	 /* the image: [0] the restore reads, [1] the pump writes */
	int hook[2];	 /* commit: [0] the pump, [1] the restore's commit step */
	int done[2];	 /* the restore ended: [1] written by us, [0] polled by the pump */
	pid_t serve_pid; /* the process that has the pump thread */
	const void *first;
	size_t first_len;
	struct lazy_dst *lazy; /* post-copy (MIG_F_LAZY), or the store's pages after it */
	struct vxcr_lazy lazy_take;
	int pump_err;
	char pump_msg[256];
	bool committed;
	bool has_rank; /* a move's RANK came: written into it before DONE */
	struct mig_rank rank;
};

/* ---- the pre-copy rounds ---- */

static int put_pages(struct mig_dst *d, const void *buf, size_t len)
{
	const struct mig_pages *h = buf;
	uint64_t addr;
	size_t n;

	if (len <= sizeof(*h) || (len - sizeof(*h)) % MIG_PAGE_SZ) {
		pr_err("pre-copy: a PAGES message of %zu bytes (not a header and whole pages)\n",
		       len);
		return -EPROTO;
	}
	addr = le64toh(h->addr);
	n = len - sizeof(*h);
	if (addr % MIG_PAGE_SZ || addr + n < addr || !h->key) {
		pr_err("pre-copy: bad PAGES range %#llx+%zu of process %u\n",
		       (unsigned long long)addr, n, le32toh(h->key));
		return -EPROTO;
	}
	d->st->precopy_bytes += n;
	return pstore_put(d->ps, le32toh(h->key), addr, (const uint8_t *)buf + sizeof(*h), n);
}

static int drop_pages(struct mig_dst *d, const void *buf, size_t len)
{
	const struct mig_drop *m = buf;

	if (len != sizeof(*m)) {
		pr_err("pre-copy: a DROP message of %zu bytes, not %zu\n", len, sizeof(*m));
		return -EPROTO;
	}
	return pstore_drop(d->ps, le32toh(m->key), le64toh(m->addr), le64toh(m->len));
}

/* Every pre-copy message up to the image's first: 0 with it in d->first. */
static int precopy(struct mig_dst *d)
{
	static const uint8_t want[] = { MIG_PAGES, MIG_DROP, MIG_ROUND, MIG_IMAGE, MIG_RANK, 0 };
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	for (;;) {
		ret = mig_expect(d->ch, "pre-copy", want, &type, &buf, &len);
		if (ret)
			return ret;
		if (type == MIG_RANK) {
			if (!(d->flags & MIG_F_MOVE) || d->has_rank || len != sizeof(d->rank)) {
				pr_err("a RANK message of %zu bytes outside one move\n", len);
				return -EPROTO;
			}
			memcpy(&d->rank, buf, sizeof(d->rank));
			d->has_rank = true;
			continue;
		}
		if (type == MIG_IMAGE) {
			d->first = buf;
			d->first_len = len;
			return 0;
		}
		if (type == MIG_PAGES)
			ret = put_pages(d, buf, len);
		else if (type == MIG_DROP)
			ret = drop_pages(d, buf, len);
		else if (len != sizeof(struct mig_round)) {
			pr_err("pre-copy: a ROUND message of %zu bytes\n", len);
			ret = -EPROTO;
		}
		if (ret)
			return ret;
	}
}

/* ---- the image and the commit: the pump thread ---- */

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (len) {
		w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The image into d->img[1] up to IMAGE_END; the restore's end of it
 * gone (it failed) only drains the rest. */
static int relay_image(struct mig_dst *d)
{
	static const uint8_t want[] = { MIG_IMAGE, MIG_IMAGE_END, 0 };
	bool broken = send_all(d->img[1], d->first, d->first_len) != 0;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	for (;;) {
		ret = mig_expect(d->ch, "receiving the image", want, &type, &buf, &len);
		if (ret || type == MIG_IMAGE_END)
			return ret;
		if (!broken && send_all(d->img[1], buf, len))
			broken = true;
	}
}

/* The restore holds the tree (its commit step said R): RESTORED, then
 * the source's COMMIT lets it run.  0, or -errno: the step undoes it. */
static int await_commit(struct mig_dst *d)
{
	static const uint8_t want[] = { MIG_COMMIT, 0 };
	const void *buf;
	uint8_t type;
	size_t len;
	char c;
	int ret;

	if (read(d->hook[0], &c, 1) != 1 || c != 'R')
		return 0; /* the restore failed in its commit step's process */
	ret = chan_send(d->ch, MIG_RESTORED, NULL, 0);
	if (!ret)
		ret = mig_expect(d->ch, "waiting for the source's commit", want, &type, &buf, &len);
	if (ret)
		return ret;
	test_pause("serve-commit");
	c = 'C';
	if (send_all(d->hook[0], &c, 1))
		return -EPIPE;
	d->committed = true;
	return 0;
}

static void *pump(void *arg)
{
	struct mig_dst *d = arg;
	struct pollfd p[2];
	int ret;

	ret = relay_image(d);
	shutdown(d->img[1], SHUT_WR); /* the restore sees the end, whole or cut */
	if (!ret) {
		p[0] = (struct pollfd){ .fd = d->hook[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = d->done[0], .events = POLLIN };
		while (poll(p, 2, -1) < 0 && errno == EINTR)
			;
		if (p[0].revents)
			ret = await_commit(d);
	}
	if (ret) {
		d->pump_err = ret;
		snprintf(d->pump_msg, sizeof(d->pump_msg), "%s", err_current()->msg);
	}
	shutdown(d->hook[0], SHUT_RDWR); /* a commit step still waiting: undo */
	return NULL;
}

/* The restore's commit step, in whichever process finishes the tree. */
static int dst_commit(void *arg)
{
	struct mig_dst *d = arg;
	char c = 'R';

	if (getpid() != d->serve_pid) {
		/* ours is a copy: only the serve process may keep these open */
		close(d->hook[0]);
		close(d->img[1]);
	}
	test_pause("serve-restored");
	if (send_all(d->hook[1], &c, 1) || read(d->hook[1], &c, 1) != 1 || c != 'C') {
		pr_err("the source did not commit the migration (the link failed or it "
		       "gave up): undoing the restore\n");
		return -ECONNABORTED;
	}
	return 0;
}

static int hello(struct mig_dst *d, uint8_t id[16])
{
	static const uint8_t want[] = { MIG_HELLO, 0 };
	const struct mig_hello *h;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	ret = mig_expect(d->ch, "waiting for the source", want, &type, &buf, &len);
	if (ret)
		return ret;
	h = buf;
	if (len != sizeof(*h) || memcmp(h->magic, MIG_MAGIC, sizeof(h->magic))) {
		pr_err("the source's HELLO is not a vxcr migration\n");
		return -EPROTO;
	}
	if (le32toh(h->version) != MIG_VERSION) {
		pr_err("the source speaks migration protocol %u, we speak %u\n",
		       le32toh(h->version), MIG_VERSION);
		return -EPROTO;
	}
	d->flags = le32toh(h->flags);
	memcpy(id, h->store_id, 16);
	if ((d->flags & (MIG_F_MOVE | MIG_F_STATUS)) &&
	    (d->flags & (MIG_F_CTX | MIG_F_PRECOPY | MIG_F_LAZY))) {
		pr_err("the source's HELLO asks for a move or a status with flags %#x\n", d->flags);
		return -EPROTO;
	}
	return 0;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* The image into the restore; 0 once the tree runs, committed. */
static int restore(struct mig_dst *d)
{
	struct vxcr_restore_opts ro = d->o->restore;
	struct vxcr_restore_stats rst;
	pthread_t th;
	uint64_t t0 = mig_now_ns();
	pid_t pid = 0;
	char x = 'x';
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d->img) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d->hook) ||
	    pipe2(d->done, O_CLOEXEC)) {
		pr_perror("cannot make the restore's sockets");
		return -errno;
	}
	d->serve_pid = getpid();
	ret = -pthread_create(&th, NULL, pump, d);
	if (ret) {
		pr_err("cannot start the image pump: %s\n", strerror(-ret));
		return ret;
	}
	ro.detach = true;
	ro.commit = dst_commit;
	ro.commit_arg = d;
	ro.pages = d->ps;
	if (d->lazy) {
		d->lazy_take =
			(struct vxcr_lazy){ lazy_dst_take, d->lazy, !(d->flags & MIG_F_LAZY) };
		ro.lazy = &d->lazy_take;
	}
	memset(&rst, 0, sizeof(rst));
	ret = vxcr_restore(d->img[0], &ro, &pid, &rst);
	close(d->img[0]); /* a pump still writing gets EPIPE */
	d->img[0] = -1;
	if (write(d->done[1], &x, 1) != 1)
		pr_warn("cannot wake the image pump: %s\n", strerror(errno));
	pthread_join(th, NULL);
	d->st->restore_ns = mig_now_ns() - t0;
	if (d->pump_err) { /* the cause: the link or the source */
		err_clear();
		err_set(d->pump_err, "%s", d->pump_msg);
		if (!ret)
			ret = d->pump_err; /* cannot happen: not committed */
		return ret;
	}
	if (ret)
		return ret;
	if (!d->committed) {
		pr_err("the restore ended without the source's commit\n");
		return -EPROTO;
	}
	d->st->pid = pid;
	d->st->xid = rst.ctx_xid;
	return 0;
}

/* Post-copy: the tree runs; its pages come in until LAZY_DONE. */
static int postcopy(struct mig_dst *d)
{
	struct lazy_dst_stats ls;
	uint64_t t = mig_now_ns();
	int ret;

	memset(&ls, 0, sizeof(ls));
	test_pause("serve-lazy");
	ret = lazy_dst_run(d->lazy, d->ch, &ls);
	d->st->lazy_ns = mig_now_ns() - t;
	d->st->lazy_faults = ls.faults;
	d->st->lazy_pages = ls.pages;
	pr_info("post-copy: %llu faults asked for, %llu pages copied in, %llu zero-filled, "
		"%.1f ms\n",
		(unsigned long long)ls.faults, (unsigned long long)ls.pages,
		(unsigned long long)ls.zeroed, d->st->lazy_ns / 1e6);
	if (ret) {
		err_clear();
		pr_err("the link failed during post-copy: the process (pid %d here) is lost: it "
		       "was killed here, and the source kills its frozen copy\n",
		       (int)d->st->pid);
		d->st->pid = 0;
		return -ENOLINK;
	}
	return 0;
}

/*
 * Pre-copy: the tree runs; the PARENT pages restore left in the store
 * (lazy.h's parents) go in from it, faults first.  The source's copy is
 * gone, but no link is needed: the pages are all here.
 */
static int fill_local(struct mig_dst *d)
{
	struct lazy_dst_stats ls;
	uint64_t t = mig_now_ns();
	int ret;

	memset(&ls, 0, sizeof(ls));
	ret = lazy_dst_run_local(d->lazy, d->ps, &ls);
	d->st->local_ns = mig_now_ns() - t;
	d->st->local_faults = ls.faults;
	d->st->local_pages = ls.pages;
	pr_info("pre-copy: %llu pages filled from the store after the commit, %llu faults, "
		"%.1f ms\n",
		(unsigned long long)ls.pages, (unsigned long long)ls.faults, d->st->local_ns / 1e6);
	if (ret) {
		d->st->pid = 0;
		return ret;
	}
	return 0;
}

/* A move: the process runs here until it ends; the origin's ghost waits. */
static void move_watch(struct mig_dst *d)
{
	if (d->o->report)
		d->o->report(d->st, d->o->report_arg);
	if (d->o->moved)
		__atomic_add_fetch(d->o->moved, 1, __ATOMIC_RELAXED);
	d->st->moved = true;
	if (!mig_move_watch(d->ch, d->st->pid, &d->st->move_status))
		chan_close(d->ch);
	if (d->o->moved)
		__atomic_sub_fetch(d->o->moved, 1, __ATOMIC_RELAXED);
}

static int serve_conn(int sock, const struct vxcr_serve_opts *o, struct vxcr_serve_stats *st)
{
	struct vxcr_serve_opts defaults;
	struct vxcr_serve_stats local = { 0 };
	struct mig_dst d;
	struct mig_done dn;
	uint8_t id[16];
	uint64_t t0 = mig_now_ns();
	int ret;

	if (!o) {
		vxcr_serve_opts_init(&defaults);
		o = &defaults;
	}
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.st = st ? st : &local;
	memset(d.st, 0, sizeof(*d.st));
	d.img[0] = d.img[1] = d.hook[0] = d.hook[1] = d.done[0] = d.done[1] = -1;
	if (!o->key || !o->trusted) {
		close(sock);
		pr_err("serving migrations needs our key pair and the sources' trusted keys\n");
		return -EINVAL;
	}
	ret = chan_open(sock, true, o->key, o->trusted, o->timeout_ms, &d.ch);
	if (ret)
		return ret;
	snprintf(d.st->peer, sizeof(d.st->peer), "%s", chan_peer(d.ch)->name);
	ret = hello(&d, id);
	if (!ret && (d.flags & MIG_F_STATUS)) {
		d.st->status_only = true;
		ret = mig_status_answer(d.ch,
					o->moved ? __atomic_load_n(o->moved, __ATOMIC_RELAXED) : 0);
		if (!ret)
			chan_close(d.ch);
		chan_free(d.ch);
		return ret;
	}
	ret = ret ?: pstore_new(id, &d.ps);
	ret = ret ?: chan_send(d.ch, MIG_READY, NULL, 0);
	ret = ret ?: precopy(&d);
	ret = ret ?: lazy_dst_new(&d.lazy);
	ret = ret ?: restore(&d);
	if (!ret)
		ret = d.flags & MIG_F_LAZY ? postcopy(&d) : fill_local(&d);
	if (ret) {
		mig_send_failed(d.ch, NULL);
	} else {
		if (d.has_rank && mig_move_put_rank(d.st->pid, &d.rank))
			pr_warn("cannot give the moved process %d its rank\n", (int)d.st->pid);
		dn.pid = htole32((uint32_t)d.st->pid);
		dn.xid = htole32(d.st->xid);
		if (chan_send(d.ch, MIG_DONE, &dn, sizeof(dn)))
			pr_warn("the source did not get our DONE: it runs here all the same\n");
		if (d.flags & MIG_F_MOVE)
			move_watch(&d);
		else
			chan_close(d.ch);
	}
	close_pair(d.img);
	close_pair(d.hook);
	close_pair(d.done);
	pstore_free(d.ps);
	lazy_dst_free(d.lazy);
	chan_free(d.ch);
	d.st->total_ns = mig_now_ns() - t0;
	return ret;
}

int vxcr_serve_conn(int sock, const struct vxcr_serve_opts *o, struct vxcr_serve_stats *st)
{
	err_op_begin();
	return err_op_end(serve_conn(sock, o, st));
}
