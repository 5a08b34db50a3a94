/*
 * The fork server in the restored program (vxcr snap serve's template):
 * the program's vxcr_snap_ready() got the serve request instead of its
 * arguments, so it stays here and makes every copy by forking itself:
 * memory shared copy-on-write with the template, exactly fork's semantics.
 * Each copy gets its own PID namespace in which it has the template's pid
 * (the image's): a small init is cloned with CLONE_NEWPID, the template
 * moves its pid_ns_for_children there (setns of the init's pidfd), clones
 * the copy with set_tid = its own pid, and moves back.  The copy is the
 * template's child: the template waits for it (its pidfd), reports its
 * status, and once the server says REAP reaps it and kills the copy's init
 * (and with it the namespace).  When
 * the server's socket closes, every copy is killed and the template exits;
 * if the template is killed, each init dies with it (PDEATHSIG) and takes
 * its namespace, the copy in it, along.
 * File descriptions other than the client's stdio are shared with the
 * template as after fork (a regular file's offset too).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "error.h"
#include "util/clone3.h"
#include "snap/proto.h"
#include "snap/snap.h"

#define FS_MAX 1024 /* copies alive at once */

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct fs_copy {
	uint32_t id;
	int pidfd;
	int initfd;
	int exited; /* reported, a zombie until the server's REAP */
};

struct fs_state {
	int r, w, selffd;
	pid_t self;
	struct fs_copy copies[FS_MAX];
	int n;
};

/* A copy's init: reaps, and dies with the template (and so the copy:
 * orphaned, it would be the init's child). */
static void __attribute__((noreturn)) be_ns_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	syscall(SYS_close_range, 0, ~0U, 0);
	for (;;)
		if (waitpid(-1, NULL, __WALL) < 0 && errno == ECHILD)
			pause();
}

static int pidfd_kill(int pidfd)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/* In a new copy: the client's stdio, none of the template's own fds. */
static void become_copy(struct fs_state *fs, int fds[3])
{
	int i;

	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(127);
	for (i = 0; i < 3; i++)
		if (fds[i] > 2)
			close(fds[i]);
	for (i = 0; i < fs->n; i++) {
		close(fs->copies[i].pidfd);
		close(fs->copies[i].initfd);
	}
	close(fs->r);
	close(fs->w);
	close(fs->selffd);
}

/*
 * A copy in a new PID namespace: 0 in the copy, the copy's pid in the
 * template (*pidfd, *initfd set), or -errno.
 */
static long clone_copy(struct fs_state *fs, int *pidfd, int *initfd)
{
	struct vxcr_clone_args ia = { .flags = CLONE_NEWPID | CLONE_PIDFD,
				      .pidfd = (uintptr_t)initfd,
				      .exit_signal = SIGCHLD };
	struct vxcr_clone_args ca = { .flags = CLONE_PIDFD,
				      .pidfd = (uintptr_t)pidfd,
				      .exit_signal = SIGCHLD,
				      .set_tid = (uintptr_t)&fs->self,
				      .set_tid_size = 1 };
	long init, c;
	int ret;

	init = vxcr_clone3(&ia);
	if (init == 0)
		be_ns_init();
	if (init < 0)
		return -errno;
	if (setns(*initfd, CLONE_NEWPID)) {
		ret = -errno;
		goto out_kill;
	}
	c = vxcr_clone3(&ca);
	ret = c < 0 ? -errno : 0;
	if (c == 0)
		return 0;
	if (setns(fs->selffd, CLONE_NEWPID) && !ret) { /* cannot fork in our own again */
		pidfd_kill(*pidfd);
		waitpid((pid_t)c, NULL, 0);
		ret = -errno;
	}
	if (!ret)
		return c;
out_kill:
	pidfd_kill(*initfd);
	waitpid((pid_t)init, NULL, 0);
	close(*initfd);
	return ret;
}

/* One request: 1 in the new copy (args set), 0 in the template. */
static int spawn(struct fs_state *fs, const struct snap_msg *m, const char *data, int fds[3],
		 int *argc, char ***argv)
{
	struct snap_msg rep = { .type = SNAP_MSG_SPAWNED, .id = m->id };
	int pidfd = -1, initfd = -1, i;
	long c = fs->n < FS_MAX ? clone_copy(fs, &pidfd, &initfd) : -EAGAIN;

	if (c == 0) {
		become_copy(fs, fds);
		if (snap_split_args(data, m->len, argc, argv))
			_exit(127);
		return 1;
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);
	rep.val = c < 0 ? (int32_t)c : 0;
	rep.pid = c < 0 ? 0 : (int32_t)c;
	if (c > 0)
		fs->copies[fs->n++] = (struct fs_copy){ m->id, pidfd, initfd, 0 };
	snap_msg_send(fs->w, &rep, NULL, c > 0 ? &pidfd : NULL, c > 0 ? 1 : 0);
	return 0;
}

/*
 * Copy i has ended: its status to the server.  It stays a zombie (its pid
 * taken) until the server has read its SPAWNED and EXITED and says REAP:
 * the server looks the copy up in /proc when it gets SPAWNED.
 */
static void report_exit(struct fs_state *fs, int i)
{
	struct snap_msg rep = { .type = SNAP_MSG_EXITED, .id = fs->copies[i].id };
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, fs->copies[i].pidfd, &si, WEXITED | WNOHANG | WNOWAIT) || !si.si_pid)
		return;
	rep.pid = si.si_pid;
	rep.val = si.si_code == CLD_EXITED ?
			  (si.si_status & 0xff) << 8 :
			  (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
	fs->copies[i].exited = 1;
	snap_msg_send(fs->w, &rep, NULL, NULL, 0);
}

/* The server's REAP of copy id: reaped, its namespace killed. */
static void reap(struct fs_state *fs, uint32_t id)
{
	siginfo_t si;
	int i;

	for (i = 0; i < fs->n && fs->copies[i].id != id; i++)
		;
	if (i == fs->n || !fs->copies[i].exited)
		return;
	waitid(P_PIDFD, fs->copies[i].pidfd, &si, WEXITED);
	pidfd_kill(fs->copies[i].initfd);
	waitid(P_PIDFD, fs->copies[i].initfd, &si, WEXITED);
	close(fs->copies[i].pidfd);
	close(fs->copies[i].initfd);
	fs->copies[i] = fs->copies[--fs->n];
}

static void __attribute__((noreturn)) end_all(struct fs_state *fs)
{
	siginfo_t si;
	int i;

	for (i = 0; i < fs->n; i++) {
		pidfd_kill(fs->copies[i].pidfd);
		pidfd_kill(fs->copies[i].initfd);
		waitid(P_PIDFD, fs->copies[i].pidfd, &si, WEXITED);
		waitid(P_PIDFD, fs->copies[i].initfd, &si, WEXITED);
	}
	_exit(0);
}

/*
 * Can the template be copied by forking it?  Not with other threads (a
 * fork copies the calling one) nor with children (not copied).  0, or
 * -EOPNOTSUPP with the reason in why.
 */
static int forkable(char *why, size_t len)
{
	char path[64], line[256];
	int threads = 0, children = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f) && line[0] >= '0' && line[0] <= '9')
		children = 1;
	if (f)
		fclose(f);
	if (threads > 1)
		snprintf(why, len, "it has %d threads (a fork copies one)", threads);
	else if (children)
		snprintf(why, len, "it has child processes (a fork does not copy them)");
	else
		return 0;
	return -EOPNOTSUPP;
}

int snap_fork_server(int sk_r, int sk_w, int *argc, char ***argv)
{
	static struct fs_state fs;
	static struct pollfd pf[FS_MAX + 1];
	static int idx[FS_MAX + 1];
	static char data[SNAP_SERVE_ARGS_MAX];
	struct snap_msg m = { 0 };
	int fds[3], n, i, k, ret;

	fs.r = sk_r;
	fs.w = sk_w;
	fs.self = getpid();
	fs.selffd = (int)syscall(SYS_pidfd_open, fs.self, 0);
	m = (struct snap_msg){ .type = SNAP_MSG_SERVING };
	m.val = fs.selffd < 0 ? -errno : forkable(data, 200);
	if (fs.selffd < 0)
		snprintf(data, 200, "pidfd_open: %s", strerror(-m.val));
	m.len = m.val ? (uint32_t)strlen(data) + 1 : 0;
	snap_msg_send(fs.w, &m, data, NULL, 0);
	if (m.val)
		_exit(1);
	for (;;) {
		pf[0] = (struct pollfd){ .fd = fs.r, .events = POLLIN };
		for (i = 0, k = 1; i < fs.n; i++)
			if (!fs.copies[i].exited) {
				pf[k] = (struct pollfd){ .fd = fs.copies[i].pidfd,
							 .events = POLLIN };
				idx[k++] = i;
			}
		if (poll(pf, k, -1) < 0)
			continue;
		while (--k > 0)
			if (pf[k].revents)
				report_exit(&fs, idx[k]);
		if (!pf[0].revents)
			continue;
		ret = snap_msg_recv(fs.r, &m, data, fds, &n);
		if (ret == -EPIPE || (ret && ret != -EBADMSG))
			end_all(&fs);
		if (!ret && m.type == SNAP_MSG_REAP && !n) {
			reap(&fs, m.id);
			continue;
		}
		if (ret || m.type != SNAP_MSG_SPAWN || n != 3) {
			for (i = 0; i < n; i++)
				close(fds[i]);
			m.type = SNAP_MSG_SPAWNED;
			m.val = -EBADMSG;
			m.len = 0;
			snap_msg_send(fs.w, &m, NULL, NULL, 0);
			continue;
		}
		if (spawn(&fs, &m, data, fds, argc, argv))
			return 0;
	}
}
