/*
 * pid-holder: keeps a given pid busy, so the harness can check that a
 * restore needing that pid fails cleanly.  Usage: pid-holder OUTFILE PID
 *
 * Creates a child with exactly PID (clone3 with set_tid; retried for up to
 * 5 s while the pid is still being released), which sleeps.  Appends
 * "holding PID" and "ready" to OUTFILE; on SIGUSR1 it checks the child
 * still runs with that pid, kills and reaps it, and reports PASS.
 */
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "prog.h"

static pid_t clone_with_pid(pid_t want)
{
	struct clone_args args;
	pid_t set_tid = want;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uint64_t)(uintptr_t)&set_tid;
	args.set_tid_size = 1;
	return syscall(SYS_clone3, &args, sizeof(args));
}

int main(int argc, char **argv)
{
	struct timespec pause_ts = { 0, 50 * 1000000L };
	pid_t want, child = -1;
	int i, st;

	prog_init(argc, argv, "pid-holder");
	if (argc < 3 || (want = atoi(argv[2])) <= 1)
		prog_fail("usage: pid-holder OUTFILE PID");
	for (i = 0; i < 100; i++) {
		child = clone_with_pid(want);
		if (child >= 0 || errno != EEXIST)
			break;
		nanosleep(&pause_ts, NULL);
	}
	if (child < 0)
		prog_fail("clone3 with pid %d: %s", want, strerror(errno));
	if (child == 0) {
		for (;;)
			pause();
	}
	if (child != want)
		prog_fail("clone3 gave pid %d, asked for %d", child, want);
	prog_say("holding %d\n", child);
	prog_ready();
	prog_wait_go();
	CHECK(waitpid(child, &st, WNOHANG) == 0, "pid %d no longer held", child);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	prog_finish();
}
