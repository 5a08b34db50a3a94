/*
 * pidfds (fd kind "pidfd").  A pidfd of a task of the tree can only be
 * opened once that task exists: a late kind, opened in finish by its
 * holder with an injected pidfd_open(PID, PIDFD_NONBLOCK | PIDFD_THREAD as
 * recorded) (procfile.c places it on the holder's fds; other processes
 * holding the description take it by pidfd_getfd).  A zombie of the tree
 * is a zombie again by then, so its pidfd refers to the restored zombie.
 *
 * A pidfd of a process that exited and was reaped (pid 0 in the image) is
 * made in the root's C part and given from the pool like any other
 * description: a helper child (clone3, exit signal 0, so no SIGCHLD is
 * left pending for the root) waits until pidfd_open has taken it, then
 * exits with the recorded wait status (exit code, or death by the
 * recorded signal with core dumps off) and is reaped by waitid(__WALL).
 * The pidfd then behaves as the dumped one: poll says POLLIN | POLLHUP,
 * waitid(P_PIDFD) fails with ECHILD, pidfd_send_signal with ESRCH,
 * PIDFD_GET_INFO gives PIDFD_INFO_EXIT with the same status (its
 * PIDFD_INFO_CGROUPID is the restoring root's group).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "restore/restore.h"
#include "util/clone3.h"

#define KERNEL_O_LARGEFILE 0100000
#define PIDFD_THREAD O_EXCL
#define PIDFD_FLAGS (O_RDWR | O_NONBLOCK | PIDFD_THREAD | KERNEL_O_LARGEFILE)

/* Is pid a process (or, thread_ok, a thread) of the image? */
static bool image_task(const struct rst_image *img, uint32_t pid, bool thread_ok)
{
	size_t i, j;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (c->task && c->task->pid == pid)
			return true;
		for (j = 0; thread_ok && j < c->nr_threads; j++)
			if ((uint32_t)c->threads[j].vtid == pid)
				return true;
	}
	return false;
}

/* Could a process die of sig, default action, with no core dumped? */
static bool fatal_signal(int sig)
{
	return sig > 0 && sig <= 64 && sig != SIGCHLD && sig != SIGCONT && sig != SIGURG &&
	       sig != SIGWINCH && sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN &&
	       sig != SIGTTOU;
}

/* A wait status an exit or a fatal signal gives (no core, no stop). */
static bool death_status(int32_t st)
{
	if (st < 0 || st > 0xff00)
		return false;
	return (st & 0x7f) ? !(st & ~0x7f) && fatal_signal(st & 0x7f) : !(st & 0xff);
}

/* The image alone: a task of the image, or a dead one with a death status. */
static int check_pidfd(const struct rst_image *img, const struct rst_file *f)
{
	const PidfdEntry *e = f->fe->pidfd;
	uint32_t flags = f->fe->flags;

	if (!e || !e->has_pid) {
		pr_err("image: pidfd (file id %u) has no pidfd entry\n", f->fe->id);
		return -EBADMSG;
	}
	if ((flags & O_ACCMODE) != O_RDWR || (flags & ~(uint32_t)PIDFD_FLAGS)) {
		pr_err("image: pidfd (file id %u): flags %#o are not a pidfd's\n", f->fe->id,
		       flags);
		return -EBADMSG;
	}
	if (!e->pid) {
		if (!e->has_exit_status || !death_status(e->exit_status)) {
			pr_err("image: pidfd (file id %u) of a dead process: status %#x is not "
			       "one an exit or a fatal signal gives\n",
			       f->fe->id, e->has_exit_status ? e->exit_status : -1);
			return -EBADMSG;
		}
		return 0;
	}
	if (e->has_exit_status || !image_task(img, e->pid, flags & PIDFD_THREAD)) {
		pr_err("image: pidfd (file id %u): pid %u is not a %s of the image: not opening "
		       "it\n",
		       f->fe->id, e->pid, flags & PIDFD_THREAD ? "task" : "process");
		return -EPERM;
	}
	return rst_check_no_thread_table(img, f);
}

/* Dead pidfds are in the pool; live ones are opened by their holder. */
static bool pidfd_pooled(const struct rst_file *f)
{
	return f->fe->pidfd && !f->fe->pidfd->pid;
}

/*
 * The helper: waits for the pidfd to be taken, then dies as recorded.  Raw
 * rt_sigaction/rt_sigprocmask: glibc refuses its own signals 32 and 33.
 */
static void __attribute__((noreturn)) die_as(int wait_fd, int32_t status)
{
	struct {
		unsigned long handler, flags, restorer, mask;
	} dfl = { (unsigned long)SIG_DFL, 0, 0, 0 };
	struct rlimit no_core = { 0, 0 };
	uint64_t none = 0;
	int sig = status & 0x7f;
	char c;

	while (read(wait_fd, &c, 1) < 0 && errno == EINTR)
		;
	if (sig) {
		prctl(PR_SET_DUMPABLE, 0);
		setrlimit(RLIMIT_CORE, &no_core);
		syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(none));
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
		syscall(SYS_kill, syscall(SYS_getpid), sig);
	}
	syscall(SYS_exit_group, (status >> 8) & 0xff);
	__builtin_unreachable();
}

/* A pidfd (flags) of a helper that died with status and was reaped. */
static int dead_pidfd(int32_t status, uint32_t flags)
{
	struct vxcr_clone_args ca;
	int p[2], pfd = -1, err;
	siginfo_t si;
	long pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	memset(&ca, 0, sizeof(ca)); /* exit_signal 0: no SIGCHLD for us */
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(p[1]);
		die_as(p[0], status);
	}
	err = pid < 0 ? errno : 0;
	if (pid > 0) {
		pfd = (int)syscall(SYS_pidfd_open, pid, flags & (O_NONBLOCK | PIDFD_THREAD));
		err = pfd < 0 ? errno : 0;
	}
	close(p[0]);
	close(p[1]); /* the helper goes on */
	if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) && !err)
		err = errno;
	if (err) {
		if (pfd >= 0)
			close(pfd);
		return -err;
	}
	return pfd;
}

/* Root's C part: the pidfd of a dead process onto the pool. */
static int open_pidfd(const struct rst_image *img, struct rst_file *f)
{
	int fd;

	if (!pidfd_pooled(f))
		return 0; /* a live one: its holder opens it in finish */
	fd = dead_pidfd(f->fe->pidfd->exit_status, f->fe->flags);
	if (fd < 0) {
		pr_err("pidfd (file id %u) of a dead process: cannot make one: %s\n", f->fe->id,
		       strerror(-fd));
		return fd;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

/* Finish: holder c opens the pidfd of a task of the tree.  fd or -errno. */
static long open_late_pidfd(struct rst_proc *c, const struct rst_file *f)
{
	uint32_t flags = f->fe->flags & (O_NONBLOCK | PIDFD_THREAD);
	long fd;

	fd = rst_inject(c, NULL, SYS_pidfd_open, f->fe->pidfd->pid, flags, 0, 0, 0, 0);
	if (fd < 0)
		pr_err("pid %d: cannot open a pidfd of %u again: %s\n", c->pid, f->fe->pidfd->pid,
		       strerror((int)-fd));
	return fd;
}

const struct rst_fd_kind rst_fd_pidfd = {
	.kind = FILE_KIND__FILE_PIDFD,
	.name = "pidfd",
	.late = true,
	.pooled = pidfd_pooled,
	.open_late = open_late_pidfd,
	.check_image = check_pidfd,
	.open = open_pidfd,
};
