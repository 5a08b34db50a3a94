/*
 * The ghost (BProc's): what the original of a moved process becomes.  It
 * keeps the pid and the parent; every signal it gets (but SIGCHLD: the
 * original's children stay its own) goes to the relay, which sends it to
 * the moved process; when the relay tells the moved process's end (a wait
 * status), the ghost ends the same way: the same exit code, or killed by
 * the same signal (without a core).  The relay gone without a word: the
 * process is lost, the ghost dies by SIGKILL.
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "vxcr/bproc.h"

static void __attribute__((noreturn)) die_as(int status)
{
	struct rlimit none = { 0, 0 };
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
	sigset_t one;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	if (sig < 1 || sig > 64 || sig == SIGSTOP)
		sig = SIGKILL;	       /* a status no process ends with: lost */
	setrlimit(RLIMIT_CORE, &none); /* its core, if any, was the node's */
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	kill(getpid(), sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	_exit(128 + sig);
}

void vx_ghost_run(int fd, const char *comm)
{
	struct signalfd_siginfo si;
	struct sigaction dfl;
	sigset_t all;
	int sfd, sig, status;
	ssize_t n;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	if (comm && *comm)
		prctl(PR_SET_NAME, comm);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };

		if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_as(SIGKILL);
		}
		if (p[0].revents) {
			n = recv(fd, &status, sizeof(status), 0);
			if (n == sizeof(status))
				die_as(status);
			if (n <= 0 || !(p[0].revents & POLLIN))
				die_as(SIGKILL); /* the relay is gone: the process is lost */
		}
		if (sfd < 0 || !p[1].revents)
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		sig = (int)si.ssi_signo;
		if (sig == SIGCHLD)
			continue;
		if (send(fd, &sig, sizeof(sig), MSG_NOSIGNAL) != sizeof(sig))
			die_as(SIGKILL);
	}
}
