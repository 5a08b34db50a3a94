/*
 * signalfd: signalfds restored with their mask, flags and sharing, and
 * the signals pending for them still pending, with their siginfo.
 *
 *   sfd   signalfd(SIGUSR2 | SIGRTMIN+3, SFD_NONBLOCK), both blocked; before
 *         "ready" the program queues SIGRTMIN+3 to itself with
 *         sigqueue(value 4242) (process-wide) and SIGUSR2 with tgkill
 *         (thread-directed).  After "go": fdinfo "sigmask:" is the same,
 *         O_NONBLOCK is set, a read returns SIGUSR2 (SI_TKILL, ssi_pid its
 *         own pid) then SIGRTMIN+3 (SI_QUEUE, ssi_int 4242, ssi_pid), then
 *         EAGAIN.
 *   cfd   signalfd(SIGHUP, 0), blocking, shared with child C, who blocks
 *         reading it across the dump; after "go" P sends SIGHUP to C with
 *         sigqueue(value 77): C reads it through the shared description
 *         (ssi_pid P, ssi_int 77) and exits 0, else the number of the
 *         failed check.
 */
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

static int sfd, cfd;

static int make(int sig1, int sig2, int flags)
{
	sigset_t m;
	int fd;

	sigemptyset(&m);
	sigaddset(&m, sig1);
	if (sig2)
		sigaddset(&m, sig2);
	sigprocmask(SIG_BLOCK, &m, NULL);
	fd = signalfd(-1, &m, flags);
	if (fd < 0)
		prog_fail("signalfd: %s", strerror(errno));
	return fd;
}

/* C: reads SIGHUP from the shared cfd across the dump. */
static void child(pid_t parent)
{
	struct signalfd_siginfo si;

	if (read(cfd, &si, sizeof(si)) != sizeof(si))
		_exit(1);
	if (si.ssi_signo != SIGHUP)
		_exit(2);
	if (si.ssi_pid != (uint32_t)parent || si.ssi_code != SI_QUEUE || si.ssi_int != 77)
		_exit(3);
	_exit(0);
}

/* The "sigmask:" line of fd's fdinfo, or "". */
static const char *sigmask_line(int fd)
{
	static char buf[1024];
	char path[64], *l;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (prog_read_file(path, buf, sizeof(buf)) < 0 || !(l = strstr(buf, "sigmask:")))
		return "";
	l[strcspn(l, "\n")] = '\0';
	return l;
}

static void check_sfd(const char *mask_before)
{
	struct signalfd_siginfo si;

	CHECK(!strcmp(sigmask_line(sfd), mask_before), "sfd: fdinfo says '%s', was '%s'",
	      sigmask_line(sfd), mask_before);
	CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "sfd: O_NONBLOCK lost");
	CHECK(!(fcntl(cfd, F_GETFL) & O_NONBLOCK), "cfd: O_NONBLOCK set after restore");
	CHECK(read(sfd, &si, sizeof(si)) == sizeof(si), "sfd: no pending signal: %s",
	      strerror(errno));
	CHECK(si.ssi_signo == SIGUSR2 && si.ssi_code == SI_TKILL &&
		      si.ssi_pid == (uint32_t)getpid(),
	      "sfd: first signal %u code %d pid %u, expected SIGUSR2 from tgkill by %d",
	      si.ssi_signo, si.ssi_code, si.ssi_pid, (int)getpid());
	CHECK(read(sfd, &si, sizeof(si)) == sizeof(si), "sfd: second pending signal lost: %s",
	      strerror(errno));
	CHECK(si.ssi_signo == (uint32_t)SIGRTMIN + 3 && si.ssi_code == SI_QUEUE &&
		      si.ssi_int == 4242 && si.ssi_pid == (uint32_t)getpid(),
	      "sfd: second signal %u code %d int %d pid %u, expected SIGRTMIN+3 queued with "
	      "4242",
	      si.ssi_signo, si.ssi_code, si.ssi_int, si.ssi_pid);
	CHECK(read(sfd, &si, sizeof(si)) < 0 && errno == EAGAIN,
	      "sfd: a third read does not fail with EAGAIN");
}

int main(int argc, char **argv)
{
	union sigval v = { .sival_int = 4242 };
	char mask_before[256];
	int status;
	pid_t c;

	prog_init(argc, argv, "signalfd");
	sfd = make(SIGUSR2, SIGRTMIN + 3, SFD_NONBLOCK);
	cfd = make(SIGHUP, 0, 0);
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0)
		child(getppid());
	if (sigqueue(getpid(), SIGRTMIN + 3, v) || syscall(SYS_tgkill, getpid(), getpid(), SIGUSR2))
		prog_fail("sigqueue/tgkill: %s", strerror(errno));
	snprintf(mask_before, sizeof(mask_before), "%s", sigmask_line(sfd));
	if (!mask_before[0])
		prog_fail("no sigmask line in fdinfo");
	prog_ready();
	prog_wait_go();

	check_sfd(mask_before);
	v.sival_int = 77;
	if (sigqueue(c, SIGHUP, v))
		CHECK(0, "sigqueue to child %d: %s", (int)c, strerror(errno));
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "child %d: check %d failed reading the shared signalfd", (int)c,
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	prog_finish();
}
