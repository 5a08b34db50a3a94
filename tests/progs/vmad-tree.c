/*
 * vmad-tree: a parent and one child, for vmad_undump of a tree (the caller
 * becomes the parent; the child is forked by it with its own pid).  Both
 * count; the parent appends "count N" to OUTFILE, the child "child P count
 * N".  On "go" (SIGUSR1 to the parent) the parent checks its counter went
 * on, sends the child SIGTERM and waits for it: the child must be its own
 * (waitpid finds it, by the pid it had before the dump) and exit 7, as
 * its handler does.  PASS, exit 0.
 *
 * Usage: vmad-tree OUTFILE
 */
#include <sys/wait.h>
#include <time.h>
#include "prog.h"

static volatile uint64_t counter;

static void on_term(int sig)
{
	(void)sig;
	_exit(7);
}

static void __attribute__((noreturn)) child_main(void)
{
	struct timespec step = { 0, 10 * 1000000L };
	sigset_t set;

	signal(SIGTERM, on_term);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		counter++;
		if (counter % 20 == 0)
			prog_say("child %d count %llu\n", (int)getpid(),
				 (unsigned long long)counter);
		nanosleep(&step, NULL);
	}
}

int main(int argc, char **argv)
{
	struct timespec step = { 0, 5 * 1000000L };
	unsigned long long last;
	pid_t child, r;
	sigset_t set;
	int st = 0;

	prog_init(argc, argv, "vmad-tree");
	child = fork();
	if (child < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child == 0)
		child_main();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	while (!prog_go) {
		counter++;
		if (counter % 20 == 0)
			prog_say("count %llu\n", (unsigned long long)counter);
		nanosleep(&step, NULL);
	}
	last = prog_check_counts();
	CHECK(counter >= last, "counter %llu below last printed %llu", (unsigned long long)counter,
	      last);
	kill(child, SIGTERM);
	r = waitpid(child, &st, 0);
	CHECK(r == child, "waitpid(%d): %d (%s)", (int)child, (int)r, strerror(errno));
	CHECK(r != child || (WIFEXITED(st) && WEXITSTATUS(st) == 7), "child %d: status %#x",
	      (int)child, st);
	prog_finish();
}
