/*
 * File leases with their signals: a read lease on "r" (opened read-only)
 * with F_SETSIG SIGRTMIN+3, a write lease on "w" (opened O_RDWR) with
 * F_SETSIG SIGRTMIN+4, both in OUTFILE's directory.  After "go":
 * F_GETLEASE gives each type back, and a child that opens "r" for writing
 * and "w" for reading (O_NONBLOCK: EWOULDBLOCK, the break starts) makes
 * the kernel send the lease's signal with si_fd naming its fd; the
 * program then gives the leases up.  Mode "breaking" (argv[2]): a child
 * blocks in open("w") breaking the write lease, which this process
 * ignores, so the dump meets a lease being broken (refused).
 */
#include <libgen.h>
#include <limits.h>
#include <time.h>
#include <sys/wait.h>

#include "prog.h"

static char dir[PATH_MAX];

static int open_in(const char *name, int flags)
{
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags | O_CREAT, 0600);
	if (fd < 0 && errno != EWOULDBLOCK)
		prog_fail("open %s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

/* A child opens name with flags: the lease on fd must signal sig, si_fd fd. */
static void expect_break(const char *name, int flags, int fd, int sig)
{
	struct timespec ts = { 5, 0 };
	siginfo_t si;
	sigset_t set;
	pid_t kid;
	int st, r;

	kid = fork();
	if (!kid)
		_exit(open_in(name, flags | O_NONBLOCK) == -EWOULDBLOCK ? 0 : 1);
	CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && !WEXITSTATUS(st),
	      "%s: the breaker's open did not see the lease", name);
	sigemptyset(&set);
	sigaddset(&set, sig);
	r = sigtimedwait(&set, &si, &ts);
	CHECK(r == sig, "%s: no lease break signal %d within 5 s", name, sig);
	CHECK(r != sig || si.si_fd == fd, "%s: si_fd %d, expected %d", name, si.si_fd, fd);
	CHECK(!fcntl(fd, F_SETLEASE, F_UNLCK), "%s: F_SETLEASE F_UNLCK: %s", name, strerror(errno));
}

int main(int argc, char **argv)
{
	static char out[PATH_MAX];
	int rfd, wfd;
	sigset_t set;

	prog_init(argc, argv, "lease");
	snprintf(out, sizeof(out), "%s", argv[1]);
	snprintf(dir, sizeof(dir), "%s", dirname(out));
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGRTMIN + 4);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	close(open_in("r", O_RDWR));
	rfd = open_in("r", O_RDONLY);
	wfd = open_in("w", O_RDWR);
	if (fcntl(rfd, F_SETSIG, SIGRTMIN + 3) || fcntl(rfd, F_SETLEASE, F_RDLCK) ||
	    fcntl(wfd, F_SETSIG, SIGRTMIN + 4) || fcntl(wfd, F_SETLEASE, F_WRLCK))
		prog_fail("F_SETLEASE: %s", strerror(errno));
	if (argc > 2 && !strcmp(argv[2], "breaking")) {
		if (!fork())
			_exit(open_in("w", O_RDONLY) < 0);
		usleep(200000);
		prog_ready();
		prog_wait_go();
		fcntl(wfd, F_SETLEASE, F_UNLCK);
		wait(NULL);
		prog_finish();
	}
	prog_ready();
	prog_wait_go();
	CHECK(fcntl(rfd, F_GETLEASE) == F_RDLCK, "read lease: F_GETLEASE %d",
	      fcntl(rfd, F_GETLEASE));
	CHECK(fcntl(wfd, F_GETLEASE) == F_WRLCK, "write lease: F_GETLEASE %d",
	      fcntl(wfd, F_GETLEASE));
	CHECK(fcntl(rfd, F_GETSIG) == SIGRTMIN + 3, "read lease: F_GETSIG %d",
	      fcntl(rfd, F_GETSIG));
	expect_break("r", O_WRONLY, rfd, SIGRTMIN + 3);
	expect_break("w", O_RDONLY, wfd, SIGRTMIN + 4);
	prog_finish();
}
