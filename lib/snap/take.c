/*
 * vxcr_snap_take(): start the program with its ready channel (or take a
 * running one), wait for its 'R', dump it into the store.  The program's
 * stdio are pipes of ours (its output passed on to our stdout and stderr,
 * its stdin at end of file): in the image they are external pipes, so each
 * restored copy takes its runner's fds 0-2 (inherit_stdio).
 */
#define LOG_PREFIX "snap: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "snap/snap.h"

#define CHAN_R 3 /* the channel's fds in a program we start */
#define CHAN_W 4

/* A program we started: its pid and our ends of its pipes (-1: closed). */
struct snap_child {
	pid_t pid;
	int args; /* we write its arguments */
	int ready;
	int out, err;
	int serve; /* it said 'S': vxcr_snap_ready(), a fork server */
};

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* In the child: its fds 0-4 from the pipes, the channel named, exec. */
static void __attribute__((noreturn)) exec_child(char *const *argv, int p[5][2])
{
	int r, w;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = fcntl(p[3][0], F_DUPFD_CLOEXEC, 10);
	w = fcntl(p[4][1], F_DUPFD_CLOEXEC, 10);
	if (r < 0 || w < 0 || dup2(p[0][0], 0) < 0 || dup2(p[1][1], 1) < 0 ||
	    dup2(p[2][1], 2) < 0 || dup2(r, CHAN_R) < 0 || dup2(w, CHAN_W) < 0)
		_exit(127);
	syscall(SYS_close_range, CHAN_W + 1, ~0U, 0);
	if (setenv(VXCR_SNAP_ENV, "3,4", 1))
		_exit(127);
	execvp(argv[0], argv);
	dprintf(2, "vxcr: snap take: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Starts argv: stdin, stdout, stderr, channel in, channel out.  0/-errno. */
static int start_child(char *const *argv, struct snap_child *c)
{
	int p[5][2], i, ret = 0;

	for (i = 0; i < 5; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < 5 && !ret; i++)
		if (pipe2(p[i], O_CLOEXEC))
			ret = -errno;
	if (!ret) {
		fflush(NULL);
		c->pid = fork();
		if (c->pid == 0)
			exec_child(argv, p);
		if (c->pid < 0)
			ret = -errno;
	}
	if (ret) {
		pr_perror("cannot start %s", argv[0]);
		for (i = 0; i < 5; i++)
			close_pair(p[i]);
		return ret;
	}
	c->args = p[3][1];
	c->ready = p[4][0];
	c->out = p[1][0];
	c->err = p[2][0];
	close(p[0][0]);
	close(p[0][1]); /* its stdin: end of file */
	close(p[1][1]);
	close(p[2][1]);
	close(p[3][0]);
	close(p[4][1]);
	return 0;
}

/* Passes what is in *from to fd to; closes *from at end of file. */
static void pass_output(int *from, int to)
{
	char buf[4096];
	ssize_t n = read(*from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*from);
		*from = -1;
		return;
	}
	if (write(to, buf, (size_t)n) < 0)
		pr_debug("output of the program lost: %s\n", strerror(errno));
}

/*
 * Passes the program's output on until it says ready (returns 0) or its
 * channel and output are closed (returns 1).  -errno on a wrong byte.
 */
static int pump(struct snap_child *c)
{
	struct pollfd pf[3];
	char b;
	ssize_t n;

	while (c->ready >= 0 || c->out >= 0 || c->err >= 0) {
		pf[0] = (struct pollfd){ .fd = c->ready, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = c->out, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = c->err, .events = POLLIN };
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[1].revents)
			pass_output(&c->out, 1);
		if (pf[2].revents)
			pass_output(&c->err, 2);
		if (!pf[0].revents)
			continue;
		n = read(c->ready, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && (b == VXCR_SNAP_READY || b == VXCR_SNAP_READY_SERVE)) {
			c->serve = b == VXCR_SNAP_READY_SERVE;
			return 0;
		}
		if (n == 1) {
			pr_err("pid %d said 0x%02x on its ready channel, not 'R'\n", c->pid,
			       (unsigned char)b);
			return -EPROTO;
		}
		close(c->ready);
		c->ready = -1;
	}
	return 1;
}

/* Ends the program we started, gets its status.  kill: SIGKILL it first. */
static int end_child(struct snap_child *c, bool kill_it)
{
	int status = 0;

	if (c->args >= 0)
		close(c->args);
	c->args = -1;
	if (kill_it)
		kill(c->pid, SIGKILL);
	while (pump(c) == 0)
		; /* a late 'R' is dropped; output passed on until closed */
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* The channel of a running process: VXCR_SNAP_FD in its environment. */
static int chan_of_pid(pid_t pid, int chan[2])
{
	static const char key[] = VXCR_SNAP_ENV "=";
	char path[64], buf[65536], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d", pid);
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strncmp(p, key, sizeof(key) - 1))
			break;
	if (p >= buf + n || snap_parse_chan(p + sizeof(key) - 1, chan)) {
		pr_err("pid %d: no %s=R,W in its environment: not started for vxcr snap\n", pid,
		       VXCR_SNAP_ENV);
		return -EINVAL;
	}
	return 0;
}

/* Dumps pid into the new snapshot's image file.  0 or -errno. */
static int dump_into(struct snap_new *sn, pid_t pid, bool leave_running)
{
	struct vxcr_dump_opts d;
	struct vxcr_dump_stats st;
	int fd, ret;

	fd = openat(sn->tmpfd, SNAP_IMAGE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		pr_perror("snapshot %s: cannot create its image", sn->name);
		return -errno;
	}
	vxcr_dump_opts_init(&d);
	d.compress = false; /* restored many times: raw pages are the fastest */
	d.leave_running = leave_running;
	ret = vxcr_dump(pid, fd, &d, &st);
	close(fd);
	return ret;
}

static int take_started(struct snap_new *sn, const struct vxcr_snap_take_opts *o, int *status)
{
	static const char none[4] = { 0 };
	struct snap_child c = { .args = -1, .ready = -1, .out = -1, .err = -1 };
	const int chan[2] = { CHAN_R, CHAN_W };
	int ret;

	ret = start_child(o->argv, &c);
	if (ret)
		return ret;
	ret = pump(&c);
	if (ret == 1) {
		*status = end_child(&c, false);
		if (WIFEXITED(*status))
			err_set(-ECHILD, "%s (pid %d) exited with status %d before it was ready",
				o->argv[0], c.pid, WEXITSTATUS(*status));
		else
			err_set(-ECHILD, "%s (pid %d) was killed by signal %d before it was ready",
				o->argv[0], c.pid, WTERMSIG(*status));
		return -ECHILD;
	}
	if (!ret)
		ret = dump_into(sn, c.pid, o->leave_running);
	if (!ret)
		ret = snap_new_commit(sn, chan, c.serve);
	if (!ret && o->leave_running && write(c.args, none, sizeof(none)) != sizeof(none))
		pr_warn("pid %d: cannot give it its (empty) arguments\n", c.pid);
	end_child(&c, ret != 0);
	return ret;
}

static int take(const char *store, const char *name, const struct vxcr_snap_take_opts *o,
		int *status)
{
	struct snap_new sn;
	int chan[2], ret;

	*status = 0;
	if (!o || (!o->argv && o->pid <= 0) || (o->argv && !o->argv[0])) {
		pr_err("nothing to take: no program and no pid\n");
		return -EINVAL;
	}
	ret = snap_new_begin(&sn, store, name);
	if (!ret && o->argv) {
		ret = take_started(&sn, o, status);
	} else if (!ret) {
		ret = chan_of_pid(o->pid, chan) ?: dump_into(&sn, o->pid, o->leave_running);
		if (!ret) /* already past its ready call: how it said it is unknown */
			ret = snap_new_commit(&sn, chan, o->serve);
	}
	snap_new_abort(&sn);
	return ret;
}

int vxcr_snap_take(const char *store, const char *name, const struct vxcr_snap_take_opts *o,
		   int *status)
{
	err_op_begin();
	return err_op_end(take(store, name, o, status));
}
