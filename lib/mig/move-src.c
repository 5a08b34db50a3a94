/*
 * The origin's side of a BProc move (proto.h, MIG_F_MOVE): one process,
 * no pre-copy.  The dump leaves it running (it waits in library code for
 * our word, all signals blocked, and runs nothing of its own); only after
 * the node's RESTORED does COMMIT go out, and only after that may the
 * caller turn it into the ghost.  Then the relay carries the ghost's
 * signals to the node and the node's EXIT back to the ghost.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#define LOG_PREFIX "mig/move: "
#include "log.h"
#include "error.h"
#include "vxcr/vxcr.h"
#include "img/chan.h"
#include "dump/track.h"
#include "mig/proto.h"
#include "img/stream.h"
#include "mig/move.h"

/* HELLO with flags, READY (or STATUS: its payload in *sbuf).  The store
 * id: random into id (if given), or id itself if given_id. */
static int open_checked(int sock, const struct mig_move_opts *o, uint32_t flags, struct chan **chp,
			const void **sbuf, uint8_t id[16], bool given_id)
{
	static const uint8_t ready[] = { MIG_READY, MIG_STATUS, 0 };
	struct mig_hello h;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	ret = chan_open(sock, false, o->key, o->trusted, o->timeout_ms, chp);
	if (ret)
		return ret;
	if (o->peer_name && strcmp(chan_peer(*chp)->name, o->peer_name)) {
		pr_err("the node answered with key '%s', not '%s' as the node list says\n",
		       chan_peer(*chp)->name, o->peer_name);
		return -EACCES;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MIG_MAGIC, sizeof(h.magic));
	h.version = htole32(MIG_VERSION);
	h.flags = htole32(flags);
	if (given_id) {
		memcpy(h.store_id, id, sizeof(h.store_id));
	} else if (getrandom(h.store_id, sizeof(h.store_id), 0) != sizeof(h.store_id)) {
		pr_perror("getrandom");
		return -EIO;
	}
	if (id && !given_id) /* the image's parent: the node's (empty) page store */
		memcpy(id, h.store_id, sizeof(h.store_id));
	ret = chan_send(*chp, MIG_HELLO, &h, sizeof(h));
	if (ret) {
		pr_err("cannot reach the node: %s\n", strerror(-ret));
		return ret;
	}
	ret = mig_expect(*chp, "waiting for the node", ready, &type, &buf, &len);
	if (ret)
		return ret;
	if ((type == MIG_STATUS) != !!(flags & MIG_F_STATUS)) {
		pr_err("the node answered %s\n", type == MIG_STATUS ? "a status" : "READY");
		return -EPROTO;
	}
	if (type == MIG_STATUS && len != sizeof(struct mig_status)) {
		pr_err("a STATUS message of %zu bytes, not %zu\n", len, sizeof(struct mig_status));
		return -EPROTO;
	}
	if (sbuf)
		*sbuf = buf;
	return 0;
}

int mig_status_ask(int sock, const struct mig_move_opts *o, struct mig_status *st)
{
	struct chan *c = NULL;
	const void *buf;
	int ret;

	err_op_begin();
	ret = open_checked(sock, o, MIG_F_STATUS, &c, &buf, NULL, false);
	if (!ret) {
		memcpy(st, buf, sizeof(*st));
		st->load_milli = le32toh(st->load_milli);
		st->moved = le32toh(st->moved);
		st->ncpu = le32toh(st->ncpu);
		chan_close(c);
	}
	if (c)
		chan_free(c);
	return err_op_end(ret);
}

/* The dump of a move: the one process, released at once (it waits for our
 * word: see the top), into mig. */
static void move_dump_opts(struct vxcr_dump_opts *d, struct vxcr_dump_mig *mig,
			   const uint8_t id[16], const struct mig_move_opts *o)
{
	mig->parent_id = id;
	vxcr_dump_opts_init(d);
	d->mig = mig;
	d->leave_running = true;
	d->no_cow = true;
	d->root_only = true;
	d->fsync = false;
	d->skip_fds = o->skip_fds;
	d->n_skip_fds = o->n_skip_fds;
	d->file_contents = o->file_contents;
	d->root_stop_ours = o->stopped;
}

/* The image in, the node's RESTORED, our COMMIT, its DONE. */
static int send_image(struct chan *c, pid_t pid, const struct mig_move_opts *o,
		      const uint8_t id[16], bool *committed, pid_t *node_pid)
{
	static const uint8_t restored[] = { MIG_RESTORED, 0 }, done[] = { MIG_DONE, 0 };
	struct vxcr_dump_stats ds;
	struct vxcr_dump_opts d;
	struct vxcr_dump_mig mig;
	const struct mig_done *dn;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	memset(&mig, 0, sizeof(mig));
	ret = chan_sink(c, MIG_IMAGE, &mig.sink);
	if (ret)
		return ret;
	move_dump_opts(&d, &mig, id, o);
	ret = vxcr_dump(pid, -1, &d, &ds);
	img_sink_free(mig.sink);
	if (ret)
		return ret;
	ret = chan_send(c, MIG_IMAGE_END, NULL, 0);
	ret = ret ?: mig_expect(c, "waiting for the node's restore", restored, &type, &buf, &len);
	if (ret)
		return ret;
	ret = chan_send(c, MIG_COMMIT, NULL, 0);
	*committed = true; /* it may have got it: ours must not run on */
	ret = ret ?: mig_expect(c, "waiting for the node to run it", done, &type, &buf, &len);
	if (!ret && len != sizeof(*dn)) {
		pr_err("the node's DONE has %zu bytes, not %zu\n", len, sizeof(*dn));
		ret = -EPROTO;
	}
	if (ret)
		return ret;
	dn = buf;
	*node_pid = (pid_t)le32toh(dn->pid);
	return 0;
}

int mig_move_out(pid_t pid, int sock, const struct mig_move_opts *o, struct chan **chp,
		 pid_t *node_pid)
{
	bool committed = false;
	struct chan *c = NULL;
	uint8_t id[16];
	int ret;

	*chp = NULL;
	ret = open_checked(sock, o, MIG_F_MOVE, &c, NULL, id, false);
	ret = ret ?: send_image(c, pid, o, id, &committed, node_pid);
	if (!ret) {
		*chp = c;
		return 0;
	}
	if (committed) {
		err_clear();
		pr_err("the link failed after the node restored the process: it runs there only "
		       "if the node got the commit (%s)\n",
		       strerror(-ret));
		ret = -EHOSTDOWN;
	} else if (c) {
		mig_send_failed(c, NULL); /* the node undoes its restore */
	}
	if (c)
		chan_free(c);
	return ret;
}

/* One message from the node: 1 with *status on EXIT, -errno. */
static int take_exit(struct chan *c, int *status)
{
	static const uint8_t want[] = { MIG_EXIT, 0 };
	const struct mig_exit *ex;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	ret = mig_expect(c, "the moved process", want, &type, &buf, &len);
	if (ret)
		return ret;
	ex = buf;
	if (len != sizeof(*ex) || ex->zero) {
		pr_err("an EXIT message of %zu bytes, not %zu\n", len, sizeof(*ex));
		return -EPROTO;
	}
	*status = (int)le32toh(ex->status);
	return 1;
}

static int send_signal(struct chan *c, int sig)
{
	struct mig_signal s = { htole32((uint32_t)sig), 0 };

	return chan_send(c, MIG_SIGNAL, &s, sizeof(s));
}

/* One moved process's relay: its channel and its ghost. */
struct relay {
	struct chan *c;
	int ghost;
	bool ghost_open;
	int status;
};

static void relay_end(struct relay *r, bool clean);

/* Something came for r: 0 to go on, 1 when it is over (status told). */
static int relay_step(struct relay *r, bool from_node, bool from_ghost)
{
	int ret = 0, sig;
	ssize_t n;

	if (from_node)
		ret = take_exit(r->c, &r->status);
	if (!ret && from_ghost) {
		n = recv(r->ghost, &sig, sizeof(sig), 0);
		if (n == sizeof(sig) && sig > 0 && sig <= 64) {
			ret = send_signal(r->c, sig);
		} else if (n <= 0) { /* the ghost died (SIGKILL): its process too */
			r->ghost_open = false;
			ret = send_signal(r->c, SIGKILL);
		}
	}
	if (!ret)
		return 0;
	relay_end(r, ret == 1);
	return 1;
}

/* r is over: its ghost told (the status, SIGKILL if none came), its
 * channel closed (cleanly if the EXIT came) and freed. */
static void relay_end(struct relay *r, bool clean)
{
	if (clean)
		chan_close(r->c);
	if (r->ghost_open &&
	    send(r->ghost, &r->status, sizeof(r->status), MSG_NOSIGNAL) != sizeof(r->status))
		pr_warn("cannot tell the ghost its process ended: %s\n", strerror(errno));
	chan_free(r->c);
	r->c = NULL;
}

int mig_move_relay_n(struct chan **c, const int *ghost_fd, size_t n)
{
	struct relay *r = calloc(n ? n : 1, sizeof(*r));
	struct pollfd *p = calloc(2 * (n ? n : 1), sizeof(*p));
	size_t left = n, i;

	if (!r || !p) {
		free(r);
		free(p);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		r[i] = (struct relay){ c[i], ghost_fd[i], true, SIGKILL };
		if (!c[i])
			left--;
		else
			chan_set_timeout(c[i], 30000); /* within a message */
	}
	while (left) {
		for (i = 0; i < n; i++) {
			p[2 * i] = (struct pollfd){ r[i].c ? chan_fd(r[i].c) : -1, POLLIN, 0 };
			p[2 * i + 1] = (struct pollfd){ r[i].c && r[i].ghost_open ? r[i].ghost : -1,
							POLLIN, 0 };
		}
		if (poll(p, 2 * n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++)
			if (r[i].c && (p[2 * i].revents || p[2 * i + 1].revents) &&
			    relay_step(&r[i], p[2 * i].revents, p[2 * i + 1].revents))
				left--;
	}
	for (i = 0; i < n; i++)
		if (r[i].c)
			relay_end(&r[i], false);
	free(r);
	free(p);
	return 0;
}

int mig_move_relay(struct chan *c, int ghost_fd)
{
	return mig_move_relay_n(&c, &ghost_fd, 1);
}

/* ---- one dump, many nodes (vx_vrfork) ---- */

/* The image in mem to d's node, RANK first; IMAGE_END. */
static int send_copy(struct mig_move_dest *d, const uint8_t *img, size_t len)
{
	struct mig_rank rk = { htole64(d->rank_addr), htole64(d->rank_value) };
	int ret = 0;

	if (d->rank_addr)
		ret = chan_send(d->c, MIG_RANK, &rk, sizeof(rk));
	while (!ret && len) {
		size_t k = len < CHAN_MSG_MAX ? len : CHAN_MSG_MAX;

		ret = chan_send(d->c, MIG_IMAGE, img, k);
		img += k;
		len -= k;
	}
	return ret ?: chan_send(d->c, MIG_IMAGE_END, NULL, 0);
}

/* d failed at ret: the node told (before a commit), the channel gone. */
static void dest_fail(struct mig_move_dest *d, int ret, bool committed)
{
	if (!committed)
		mig_send_failed(d->c, NULL);
	chan_free(d->c);
	d->c = NULL;
	d->err = committed ? -EHOSTDOWN : ret;
	snprintf(d->why, sizeof(d->why), "%.159s", err_current()->msg);
	err_clear();
}

/* The one dump of pid into memory: 0 with *sink, or -errno. */
static int dump_once(pid_t pid, const struct mig_move_opts *o, const uint8_t id[16],
		     struct img_sink **sink)
{
	struct vxcr_dump_stats ds;
	struct vxcr_dump_opts dopt;
	struct vxcr_dump_mig mig;
	int ret;

	ret = img_sink_mem(0, sink);
	if (ret)
		return ret;
	memset(&mig, 0, sizeof(mig));
	mig.sink = *sink;
	move_dump_opts(&dopt, &mig, id, o);
	return vxcr_dump(pid, -1, &dopt, &ds);
}

int mig_move_out_n(pid_t pid, struct mig_move_dest *d, size_t n, const struct mig_move_opts *o)
{
	static const uint8_t restored[] = { MIG_RESTORED, 0 }, done[] = { MIG_DONE, 0 };
	struct img_sink *sink = NULL;
	struct mig_move_opts oi = *o;
	const struct mig_done *dn;
	const uint8_t *img;
	size_t i, len, ok = 0;
	const void *buf;
	uint8_t id[16], type;
	int ret;

	if (getrandom(id, sizeof(id), 0) != sizeof(id))
		return -EIO;
	for (i = 0; i < n; i++) { /* one store id: the image's parent everywhere */
		d[i].c = NULL;
		if (d[i].err)
			continue;
		oi.peer_name = d[i].peer_name;
		ret = open_checked(d[i].sock, &oi, MIG_F_MOVE, &d[i].c, NULL, id, true);
		if (ret) {
			if (d[i].c)
				chan_free(d[i].c);
			d[i].c = NULL;
			d[i].err = ret;
			snprintf(d[i].why, sizeof(d[i].why), "%.159s", err_current()->msg);
			err_clear();
		}
	}
	for (i = 0; i < n; i++)
		ok += d[i].c != NULL;
	if (!ok)
		return 0;
	ret = dump_once(pid, o, id, &sink);
	img = sink ? img_sink_mem_data(sink, &len) : NULL;
	for (i = 0; i < n; i++) /* the image to all, then their restores */
		if (d[i].c) {
			int r = ret ?: send_copy(&d[i], img, len);

			if (r)
				dest_fail(&d[i], r, false);
		}
	img_sink_free(sink);
	for (i = 0; i < n; i++)
		if (d[i].c) {
			ret = mig_expect(d[i].c, "waiting for the node's restore", restored, &type,
					 &buf, &len);
			if (ret)
				dest_fail(&d[i], ret, false);
		}
	for (i = 0, ok = 0; i < n; i++) {
		if (!d[i].c)
			continue;
		ret = chan_send(d[i].c, MIG_COMMIT, NULL, 0);
		ret = ret   ?:
			      mig_expect(d[i].c, "waiting for the node to run it", done, &type,
					 &buf, &len);
		if (!ret && len != sizeof(*dn))
			ret = -EPROTO;
		if (ret) {
			dest_fail(&d[i], ret, true);
			continue;
		}
		dn = buf;
		d[i].node_pid = (pid_t)le32toh(dn->pid);
		ok++;
	}
	return (int)ok;
}
