/*
 * pidfd: pidfds restored to refer to the restored processes, and pidfds
 * of dead processes still dead.  P (this program) holds:
 *
 *   live   pidfd_open(C1, 0) of child C1 (alive, in pause()); also held by
 *          child C4 (inherited: one description in two processes)
 *   livenb pidfd_open(C1, PIDFD_NONBLOCK): waitid(P_PIDFD) fails with
 *          EAGAIN while C1 lives
 *   thr    pidfd_open(T, PIDFD_THREAD) of P's second thread T
 *   zomb   pidfd of child C2, which exited with 7 and is not reaped (a
 *          zombie of the tree)
 *   dead   pidfd of child C3, killed by SIGTERM and reaped before "ready"
 *   dead3  pidfd of child C5 (PIDFD_NONBLOCK), exited with 3, reaped
 *
 * After "go": fdinfo Pid of live and thr name C1 and T; live and thr do
 * not poll readable; waitid on livenb fails with EAGAIN; zomb polls
 * readable and waitid(P_PIDFD, zomb) reaps C2 with status 7; dead and
 * dead3 poll POLLIN | POLLHUP, waitid fails with ECHILD,
 * pidfd_send_signal with ESRCH, PIDFD_GET_INFO gives their exit status
 * (SIGTERM, exit 3); C4 checks its inherited live names C1; then
 * pidfd_send_signal(live, SIGTERM) kills C1, live polls readable within
 * 10 s, waitid(livenb) reaps it (CLD_KILLED, SIGTERM); T is told to exit
 * and thr polls readable.
 *
 * With argument "outside": P also holds a pidfd of its parent (not in the
 * tree): the dump must refuse it.
 */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

#define PIDFD_THREAD O_EXCL
#define PIDFD_INFO_EXIT (1ULL << 3)
struct pidfd_info_v1 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask, spare;
};
#define PIDFD_GET_INFO_V1 _IOWR(0xFF, 11, struct pidfd_info_v1)

static int live, livenb, thr, zomb, dead, dead3, c4_go[2], t_go[2];
static pid_t c1, c2, c4;
static volatile pid_t t_tid;

static int pidfd_open(pid_t pid, unsigned int flags)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, flags);

	if (fd < 0)
		prog_fail("pidfd_open(%d, %#x): %s", (int)pid, flags, strerror(errno));
	return fd;
}

static pid_t child(int code)
{
	pid_t c = fork();

	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0 && code >= 0)
		_exit(code);
	if (c == 0)
		for (;;)
			pause();
	return c;
}

/* The Pid: of fd's fdinfo (-2 if none). */
static long fdinfo_pid(int fd)
{
	char path[64], buf[1024], *l;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (prog_read_file(path, buf, sizeof(buf)) < 0 || !(l = strstr(buf, "\nPid:")))
		return -2;
	return strtol(l + 5, NULL, 10);
}

static short revents(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, timeout_ms) == 1 ? p.revents : 0;
}

static void *thread_main(void *arg)
{
	char c;

	t_tid = (pid_t)syscall(SYS_gettid);
	while (read(t_go[0], &c, 1) < 0 && errno == EINTR)
		;
	return arg;
}

/* C4: after a byte on c4_go, checks its inherited live names C1. */
static void c4_main(void)
{
	char c;

	while (read(c4_go[0], &c, 1) < 0 && errno == EINTR)
		;
	_exit(fdinfo_pid(live) == c1 ? 0 : 1);
}

static void check_dead(int fd, const char *name, int32_t status)
{
	struct pidfd_info_v1 info;
	siginfo_t si;

	CHECK(revents(fd, 0) == (POLLIN | POLLHUP), "%s: poll gives %#x, not POLLIN|POLLHUP", name,
	      revents(fd, 0));
	CHECK(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD,
	      "%s: waitid does not fail with ECHILD", name);
	CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 && errno == ESRCH,
	      "%s: pidfd_send_signal does not fail with ESRCH", name);
	CHECK(fdinfo_pid(fd) == -1, "%s: fdinfo Pid %ld, not -1", name, fdinfo_pid(fd));
	memset(&info, 0, sizeof(info));
	info.mask = PIDFD_INFO_EXIT;
	CHECK(!ioctl(fd, PIDFD_GET_INFO_V1, &info) && (info.mask & PIDFD_INFO_EXIT) &&
		      info.exit_code == status,
	      "%s: PIDFD_INFO_EXIT gives %#x (mask %#llx), not %#x", name, info.exit_code,
	      (unsigned long long)info.mask, status);
}

static void check_zombie(void)
{
	siginfo_t si;

	CHECK(revents(zomb, 0) & POLLIN, "zomb: the zombie's pidfd does not poll readable");
	memset(&si, 0, sizeof(si));
	CHECK(!waitid(P_PIDFD, zomb, &si, WEXITED | WNOHANG) && si.si_pid == c2 &&
		      si.si_code == CLD_EXITED && si.si_status == 7,
	      "zomb: waitid gives pid %d code %d status %d, not %d exited 7", (int)si.si_pid,
	      si.si_code, si.si_status, (int)c2);
}

static void check_live(void)
{
	siginfo_t si;
	int st;

	CHECK(fdinfo_pid(live) == c1, "live: fdinfo Pid %ld, not %d", fdinfo_pid(live), (int)c1);
	CHECK(!(fcntl(live, F_GETFL) & O_NONBLOCK), "live: O_NONBLOCK set");
	CHECK(fcntl(livenb, F_GETFL) & O_NONBLOCK, "livenb: O_NONBLOCK lost");
	CHECK(!revents(live, 0), "live: polls readable while C1 lives");
	CHECK(waitid(P_PIDFD, livenb, &si, WEXITED) < 0 && errno == EAGAIN,
	      "livenb: waitid on a live child does not fail with EAGAIN");
	if (write(c4_go[1], "g", 1) != 1 || waitpid(c4, &st, 0) != c4 || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		CHECK(0, "C4: its inherited pidfd does not name C1");
	CHECK(!syscall(SYS_pidfd_send_signal, live, SIGTERM, NULL, 0),
	      "live: pidfd_send_signal: %s", strerror(errno));
	CHECK(revents(live, 10000) & POLLIN, "live: no POLLIN within 10 s of C1's death");
	memset(&si, 0, sizeof(si));
	CHECK(!waitid(P_PIDFD, livenb, &si, WEXITED) && si.si_pid == c1 &&
		      si.si_code == CLD_KILLED && si.si_status == SIGTERM,
	      "livenb: waitid gives pid %d code %d status %d", (int)si.si_pid, si.si_code,
	      si.si_status);
}

static void check_thread(pthread_t t)
{
	CHECK(fdinfo_pid(thr) == t_tid, "thr: fdinfo Pid %ld, not %d", fdinfo_pid(thr), (int)t_tid);
	CHECK(fcntl(thr, F_GETFL) & PIDFD_THREAD, "thr: PIDFD_THREAD lost");
	CHECK(!revents(thr, 0), "thr: polls readable while T lives");
	if (write(t_go[1], "g", 1) != 1 || pthread_join(t, NULL))
		CHECK(0, "T: cannot be told to exit");
	CHECK(revents(thr, 10000) & POLLIN, "thr: no POLLIN after T exited");
}

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t c3, c5;

	prog_init(argc, argv, "pidfd");
	if (pipe(c4_go) || pipe(t_go) || pthread_create(&t, NULL, thread_main, NULL))
		prog_fail("pipe/pthread_create: %s", strerror(errno));
	c1 = child(-1);
	live = pidfd_open(c1, 0);
	livenb = pidfd_open(c1, O_NONBLOCK);
	c4 = fork();
	if (c4 < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c4 == 0)
		c4_main();
	c2 = child(7);
	zomb = pidfd_open(c2, 0);
	c3 = child(-1);
	dead = pidfd_open(c3, 0);
	kill(c3, SIGTERM);
	c5 = child(3);
	dead3 = pidfd_open(c5, O_NONBLOCK);
	if (waitpid(c3, NULL, 0) != c3 || waitpid(c5, NULL, 0) != c5)
		prog_fail("waitpid: %s", strerror(errno));
	while (!t_tid || !(revents(zomb, 100) & POLLIN))
		;
	thr = pidfd_open(t_tid, PIDFD_THREAD);
	if (argc > 2 && !strcmp(argv[2], "outside"))
		pidfd_open(getppid(), 0);
	prog_ready();
	prog_wait_go();

	check_dead(dead, "dead", SIGTERM);
	check_dead(dead3, "dead3", 3 << 8);
	CHECK(fcntl(dead3, F_GETFL) & O_NONBLOCK, "dead3: O_NONBLOCK lost");
	check_zombie();
	check_thread(t);
	check_live();
	prog_finish();
}
