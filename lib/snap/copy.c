/*
 * vxcr_snap_copy(): one fresh copy of a snapshot, restored in a new PID
 * namespace with its channel's fds taken from ours (inherit_fds): a pipe
 * holding the copy's arguments message on R, a pipe nobody reads on W.
 * The message is written before the restore, so no write of ours can meet
 * a copy that died (the pipe is made big enough for it).
 */
#define LOG_PREFIX "snap: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "snap/snap.h"

/* The arguments message of argv into a new pipe's read end.  fd/-errno. */
static int args_pipe(char *const *argv)
{
	size_t len = 0, i, off = 4;
	int p[2], ret = 0;
	char *msg;

	for (i = 0; argv && argv[i]; i++)
		len += strlen(argv[i]) + 1;
	if (len > VXCR_SNAP_ARGS_MAX) {
		pr_err("arguments of %zu bytes, over %u\n", len, VXCR_SNAP_ARGS_MAX);
		return -E2BIG;
	}
	msg = malloc(len + 4);
	if (!msg)
		return -ENOMEM;
	msg[0] = (char)len;
	msg[1] = (char)(len >> 8);
	msg[2] = (char)(len >> 16);
	msg[3] = (char)(len >> 24);
	for (i = 0; argv && argv[i]; i++) {
		memcpy(msg + off, argv[i], strlen(argv[i]) + 1);
		off += strlen(argv[i]) + 1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		ret = -errno;
		goto out_free;
	}
	if (len + 4 > 65536 && fcntl(p[1], F_SETPIPE_SZ, (int)(len + 4)) < 0)
		ret = -errno;
	if (!ret && write(p[1], msg, len + 4) != (ssize_t)(len + 4))
		ret = -EPIPE;
	close(p[1]);
	if (ret) {
		pr_err("cannot hold %zu bytes of arguments in a pipe: %s\n", len, strerror(-ret));
		close(p[0]);
	}
out_free:
	free(msg);
	return ret ?: p[0];
}

/* A pipe's write end whose read end is closed (the copy's W).  fd/-errno. */
static int sink_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	close(p[0]);
	return p[1];
}

/* fd moved to the lowest free number >= above (closed).  fd or -errno. */
static int move_above(int fd, int above)
{
	int to;

	if (fd < 0)
		return fd;
	to = fcntl(fd, F_DUPFD_CLOEXEC, above);
	close(fd);
	return to < 0 ? -errno : to;
}

/*
 * Our fds on the channel's numbers are moved aside (saved[i], -1: none
 * there) and put back after: the channel borrows the numbers for the time
 * of one restore.
 */
static int borrow(const int chan[2], int saved[2], int above)
{
	int i;

	saved[0] = saved[1] = -1;
	for (i = 0; i < 2; i++) {
		if (fcntl(chan[i], F_GETFD) < 0)
			continue;
		saved[i] = fcntl(chan[i], F_DUPFD_CLOEXEC, above);
		if (saved[i] < 0) {
			pr_perror("cannot move fd %d aside", chan[i]);
			return -errno;
		}
	}
	return 0;
}

static void give_back(const int chan[2], const int saved[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		close(chan[i]);
		if (saved[i] < 0)
			continue;
		if (dup3(saved[i], chan[i], O_CLOEXEC) < 0)
			pr_perror("cannot put fd %d back", chan[i]);
		close(saved[i]);
	}
}

/* r and w (ours, closed) on fds chan[] (borrowed).  0 or -errno. */
static int place_chan(const int chan[2], int r, int w, int above)
{
	int ret = 0;

	r = move_above(r, above);
	w = move_above(w, above);
	if (r < 0 || w < 0)
		ret = r < 0 ? r : w;
	else if (dup3(r, chan[0], O_CLOEXEC) < 0 || dup3(w, chan[1], O_CLOEXEC) < 0)
		ret = -errno;
	if (r >= 0)
		close(r);
	if (w >= 0)
		close(w);
	if (ret)
		pr_err("cannot make the channel on fds %d, %d: %s\n", chan[0], chan[1],
		       strerror(-ret));
	return ret;
}

int snap_restore_chan(const struct vxcr_snap_image *si, int r, int w, pid_t *pid, pid_t *waiter)
{
	struct vxcr_restore_opts o;
	struct vxcr_restore_stats st = { 0 };
	int saved[2], above, ret;

	above = (si->chan[0] > si->chan[1] ? si->chan[0] : si->chan[1]) + 1;
	if (si->fd < above) {
		pr_err("snapshot image on fd %d, below its channel's\n", si->fd);
		ret = -EBADF;
	} else {
		ret = borrow(si->chan, saved, above);
	}
	if (ret) {
		if (r >= 0)
			close(r);
		if (w >= 0)
			close(w);
		return ret;
	}
	ret = place_chan(si->chan, r, w, above);
	if (ret)
		goto out_give_back;
	vxcr_restore_opts_init(&o);
	o.pidns = true;
	o.inherit_fds = si->chan;
	o.n_inherit_fds = 2;
	if (lseek(si->fd, 0, SEEK_SET) < 0) {
		ret = -errno;
		goto out_give_back;
	}
	ret = vxcr_restore(si->fd, &o, pid, &st);
	if (!ret) {
		*waiter = st.ns_init;
		/* a copy that ended at once is logged as an error ("gone
		 * already") on a success: not ours to report */
		err_clear();
	}
out_give_back:
	give_back(si->chan, saved);
	return ret;
}

static int copy(const struct vxcr_snap_image *si, char *const *argv, pid_t *pid, pid_t *waiter)
{
	int r = args_pipe(argv), w;

	if (r < 0)
		return r;
	w = sink_pipe();
	if (w < 0) {
		close(r);
		return w;
	}
	return snap_restore_chan(si, r, w, pid, waiter);
}

int vxcr_snap_copy(const struct vxcr_snap_image *si, char *const *argv, pid_t *pid, pid_t *waiter)
{
	err_op_begin();
	return err_op_end(copy(si, argv, pid, waiter));
}
