/*
 * The node's side of a BProc move (MIG_F_MOVE, proto.h): once the moved
 * process runs here (DONE sent), the connection's process waits for it
 * (it is our child: the restore cloned it) and relays, until it ends:
 * SIGNALs from the origin are kill()ed into it, its end goes back as EXIT.
 * The origin gone (the channel cut or closed) kills it: nobody is left to
 * wait for it, and a ghost whose process cannot report is a lie.  And the
 * status request of `vxcr nodes` (MIG_F_STATUS).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define LOG_PREFIX "mig/move: "
#include "log.h"
#include "error.h"
#include "img/chan.h"
#include "mig/proto.h"
#include "mig/move.h"

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* One message from the origin: a SIGNAL is delivered; 0, or -errno (the
 * link is gone or the origin broke the protocol). */
/* sig to the process by its pidfd (never a pid reused since); -1: gone. */
static void signal_root(int rootfd, int sig)
{
	if (rootfd >= 0 && syscall(SYS_pidfd_send_signal, rootfd, sig, NULL, 0) && errno != ESRCH)
		pr_warn("cannot send signal %d to the moved process: %s\n", sig, strerror(errno));
}

static int take_signal(struct chan *c, int rootfd)
{
	static const uint8_t want[] = { MIG_SIGNAL, 0 };
	const struct mig_signal *s;
	const void *buf;
	uint8_t type;
	size_t len;
	uint32_t sig;
	int ret;

	ret = mig_expect(c, "a moved process", want, &type, &buf, &len);
	if (ret)
		return ret;
	s = buf;
	if (len != sizeof(*s)) {
		pr_err("a SIGNAL message of %zu bytes, not %zu\n", len, sizeof(*s));
		return -EPROTO;
	}
	sig = le32toh(s->sig);
	if (sig < 1 || sig > 64 || s->zero) {
		pr_err("a SIGNAL message with signal %u (1..64)\n", sig);
		return -EPROTO;
	}
	signal_root(rootfd, (int)sig);
	return 0;
}

/*
 * Which of our children to wait for: pid itself, or (restored with
 * --pidns) its namespace's init, our only child then.  Read from our
 * thread's children (zombies included: the process may have ended and
 * been reaped by the init already).  0 if neither.
 */
static pid_t waitee(pid_t pid)
{
	char path[64];
	int child, n = 0, one = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fscanf(f, "%d", &child) == 1) {
		if (child == pid) {
			fclose(f);
			return pid;
		}
		one = child;
		n++;
	}
	fclose(f);
	return n == 1 ? one : 0;
}

/*
 * Restored with --pidns, the process is the child of its namespace's init
 * (restore/pidns.c), which is ours and exits with its code, or 128 plus
 * the signal that killed it: that is what we wait for, and a code of
 * 129..192 is read as that signal (an exit code above 128 of the process
 * itself reads the same: said in NOTES).
 */
static int waited_status(pid_t waited, pid_t pid, int w)
{
	if (waited == pid || !WIFEXITED(w) || WEXITSTATUS(w) <= 128 || WEXITSTATUS(w) > 128 + 64)
		return w;
	return WEXITSTATUS(w) - 128; /* a wait status "killed by" that signal */
}

int mig_move_watch(struct chan *c, pid_t pid, int *status)
{
	pid_t waited = waitee(pid);
	int rootfd = pidfd_of(pid); /* -1: it has ended already */
	int pfd = waited > 0 ? pidfd_of(waited) : -1, ret = 0, w = 0;
	struct mig_exit ex;

	if (pfd < 0) {
		ret = waited > 0 ? -errno : -ECHILD;
		pr_err("cannot wait for the moved process %d: %s\n", (int)pid, strerror(-ret));
		signal_root(rootfd, SIGKILL);
		goto reap;
	}
	chan_set_timeout(c, 30000); /* within a message; poll waits between them */
	for (;;) {
		struct pollfd p[2] = { { .fd = pfd, .events = POLLIN },
				       { .fd = chan_fd(c), .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (p[0].revents)
			break; /* it ended */
		if (p[1].revents) {
			ret = take_signal(c, rootfd);
			if (ret)
				break;
		}
	}
	close(pfd);
	if (ret) {
		err_clear();
		pr_warn("the origin is gone (%s): killing the moved process %d\n", strerror(-ret),
			(int)pid);
		signal_root(rootfd, SIGKILL);
	}
reap:
	if (rootfd >= 0)
		close(rootfd);
	while (waited > 0 && waitpid(waited, &w, 0) < 0 && errno == EINTR)
		;
	w = waited_status(waited, pid, w);
	*status = w;
	if (ret)
		return ret;
	ex.status = htole32((uint32_t)w);
	ex.zero = 0;
	ret = chan_send(c, MIG_EXIT, &ex, sizeof(ex));
	if (ret)
		pr_warn("cannot tell the origin that process %d ended: %s\n", (int)pid,
			strerror(-ret));
	return ret;
}

int mig_move_put_rank(pid_t pid, const struct mig_rank *r)
{
	uint64_t v = le64toh(r->value);
	struct iovec local = { &v, sizeof(v) };
	struct iovec remote = { (void *)(uintptr_t)le64toh(r->addr), sizeof(v) };

	/* the process the origin sent, in memory it sent: nothing else */
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(v)) {
		pr_perror("cannot write the rank into pid %d", (int)pid);
		return -errno;
	}
	return 0;
}

int mig_status_answer(struct chan *c, uint32_t moved)
{
	struct mig_status s;
	double load = 0;

	memset(&s, 0, sizeof(s));
	if (getloadavg(&load, 1) == 1 && load >= 0 && load < 4e6)
		s.load_milli = htole32((uint32_t)(load * 1000));
	s.moved = htole32(moved);
	s.ncpu = htole32((uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	return chan_send(c, MIG_STATUS, &s, sizeof(s));
}
