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
#include "mig/move.h"

/* HELLO with flags, READY (or STATUS: its payload in *sbuf). */
static int open_checked(int sock, const struct mig_move_opts *o, uint32_t flags, struct chan **chp,
			const void **sbuf, uint8_t id[16])
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
	if (getrandom(h.store_id, sizeof(h.store_id), 0) != sizeof(h.store_id)) {
		pr_perror("getrandom");
		return -EIO;
	}
	if (id) /* the image's parent: the node's (empty) page store */
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
	ret = open_checked(sock, o, MIG_F_STATUS, &c, &buf, NULL);
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
	mig.parent_id = id;
	vxcr_dump_opts_init(&d);
	d.mig = &mig;
	d.leave_running = true; /* it waits for our word: see the top */
	d.no_cow = true;
	d.root_only = true;
	d.fsync = false;
	d.skip_fds = o->skip_fds;
	d.n_skip_fds = o->n_skip_fds;
	d.file_contents = o->file_contents;
	d.root_stop_ours = o->stopped;
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
	ret = open_checked(sock, o, MIG_F_MOVE, &c, NULL, id);
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

/* One message from the node: 1 with *status on EXIT, 0 if none was
 * whole yet, -errno. */
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

int mig_move_relay(struct chan *c, int ghost_fd)
{
	int status = SIGKILL, ret = 0, sig;
	bool ghost_open = true;
	ssize_t n;

	chan_set_timeout(c, 30000); /* within a message; poll waits between them */
	for (;;) {
		struct pollfd p[2] = { { .fd = chan_fd(c), .events = POLLIN },
				       { .fd = ghost_open ? ghost_fd : -1, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (p[0].revents) {
			ret = take_exit(c, &status);
			if (ret)
				break;
		}
		if (!p[1].revents)
			continue;
		n = recv(ghost_fd, &sig, sizeof(sig), 0);
		if (n == sizeof(sig) && sig > 0 && sig <= 64) {
			ret = send_signal(c, sig);
		} else if (n <= 0) { /* the ghost died (SIGKILL): its process too */
			ghost_open = false;
			ret = send_signal(c, SIGKILL);
		}
		if (ret)
			break;
	}
	if (ret == 1) {
		ret = 0;
		chan_close(c);
	}
	if (ghost_open && send(ghost_fd, &status, sizeof(status), MSG_NOSIGNAL) != sizeof(status))
		pr_warn("cannot tell the ghost its process ended: %s\n", strerror(errno));
	chan_free(c);
	return ret;
}
