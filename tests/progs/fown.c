/*
 * Owners of fds (F_SETOWN_EX, F_SETSIG, O_ASYNC): a pipe's read end owned
 * by this process (F_OWNER_PID) with F_SETSIG SIGRTMIN+1, a FIFO (in
 * OUTFILE's directory) opened O_RDWR, dup'ed to fd 40, owned by this
 * thread (F_OWNER_TID) with SIGRTMIN+2, and a regular file O_ASYNC owned
 * by this process group (it leads it) with no F_SETSIG (ext4 has no
 * fasync: the kernel drops O_ASYNC there, the owner stays: it gets a
 * lease's break signal).  Each signal is checked to
 * arrive before "ready".  After "go": F_GETOWN_EX, F_GETSIG and O_ASYNC
 * are as set, and writing to the pipe and to the FIFO queues SIGRTMIN+1
 * and SIGRTMIN+2 with si_fd naming the fd (blocked signals, taken with
 * sigtimedwait).  Refusal mode (argv[2] "outside"): the pipe is owned by
 * the parent (the harness), which is not in the tree.
 */
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <time.h>
#include <sys/syscall.h>

#include "prog.h"

/* Writes one byte to wfd and expects sig with si_fd == fd.  Reads it back. */
static void expect_sig(const char *what, int wfd, int rfd, int sig, int fd)
{
	struct timespec ts = { 5, 0 };
	siginfo_t si;
	sigset_t set;
	char c = 'x';
	int r;

	sigemptyset(&set);
	sigaddset(&set, sig);
	CHECK(write(wfd, &c, 1) == 1, "%s: write: %s", what, strerror(errno));
	r = sigtimedwait(&set, &si, &ts);
	CHECK(r == sig, "%s: no signal %d within 5 s (%s)", what, sig, strerror(errno));
	CHECK(r != sig || si.si_fd == fd, "%s: si_fd %d, expected %d", what, si.si_fd, fd);
	CHECK(r != sig || si.si_code == POLL_IN, "%s: si_code %d", what, si.si_code);
	CHECK(read(rfd, &c, 1) == 1, "%s: read back: %s", what, strerror(errno));
	ts.tv_sec = 0; /* an O_RDWR FIFO also signals POLL_OUT for the read: drop it */
	while (sigtimedwait(&set, &si, &ts) == sig)
		;
}

static void check_owner(const char *what, int fd, int type, pid_t pid, int sig, bool async)
{
	struct f_owner_ex ox = { 0, 0 };

	CHECK(!fcntl(fd, F_GETOWN_EX, &ox) && (int)ox.type == type && ox.pid == pid,
	      "%s: owner type %d pid %d, expected %d %d", what, ox.type, ox.pid, type, pid);
	CHECK(fcntl(fd, F_GETSIG) == sig, "%s: F_GETSIG %d, expected %d", what, fcntl(fd, F_GETSIG),
	      sig);
	CHECK(!(fcntl(fd, F_GETFL) & O_ASYNC) == !async, "%s: O_ASYNC %s", what,
	      async ? "lost" : "appeared");
}

static void set_owner(int fd, int type, pid_t pid, int sig, bool async)
{
	struct f_owner_ex ox = { type, pid };

	if (fcntl(fd, F_SETOWN_EX, &ox) || (sig && fcntl(fd, F_SETSIG, sig)) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | (async ? O_ASYNC : 0) | O_NONBLOCK))
		prog_fail("fd %d: owner: %s", fd, strerror(errno));
}

int main(int argc, char **argv)
{
	static char out[PATH_MAX], fifo[PATH_MAX + 16], reg[PATH_MAX + 16];
	int p[2], ffd, rfd, tid = (int)syscall(SYS_gettid);
	bool outside = argc > 2 && !strcmp(argv[2], "outside");
	sigset_t set;

	prog_init(argc, argv, "fown");
	char *dir;

	snprintf(out, sizeof(out), "%s", argv[1]);
	dir = dirname(out);
	snprintf(fifo, sizeof(fifo), "%s/fown.fifo", dir);
	snprintf(reg, sizeof(reg), "%s/fown.reg", dir);
	if (setpgid(0, 0)) /* a group of the tree, which the restore rebuilds */
		prog_fail("setpgid: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	unlink(fifo);
	if (pipe(p) || mkfifo(fifo, 0600))
		prog_fail("pipe/mkfifo: %s", strerror(errno));
	ffd = open(fifo, O_RDWR);
	rfd = open(reg, O_RDWR | O_CREAT, 0600);
	if (ffd < 0 || rfd < 0 || dup2(ffd, 40) != 40)
		prog_fail("open %s or %s: %s", fifo, reg, strerror(errno));
	close(ffd);
	/* outside: no O_ASYNC, the harness must not get the signal at exit */
	set_owner(p[0], F_OWNER_PID, outside ? getppid() : getpid(), SIGRTMIN + 1, !outside);
	set_owner(40, F_OWNER_TID, tid, SIGRTMIN + 2, true);
	set_owner(rfd, F_OWNER_PGRP, getpgrp(), 0, true);
	if (!outside) {
		expect_sig("pipe before the dump", p[1], p[0], SIGRTMIN + 1, p[0]);
		expect_sig("FIFO before the dump", 40, 40, SIGRTMIN + 2, 40);
	}
	if (prog_failure[0])
		prog_finish();
	prog_ready();
	prog_wait_go();
	check_owner("pipe", p[0], F_OWNER_PID, outside ? getppid() : getpid(), SIGRTMIN + 1,
		    !outside);
	check_owner("FIFO", 40, F_OWNER_TID, tid, SIGRTMIN + 2, true);
	check_owner("regular file", rfd, F_OWNER_PGRP, getpgrp(), 0, false);
	if (!outside) {
		expect_sig("pipe", p[1], p[0], SIGRTMIN + 1, p[0]);
		expect_sig("FIFO", 40, 40, SIGRTMIN + 2, 40);
	}
	unlink(fifo);
	unlink(reg);
	prog_finish();
}
