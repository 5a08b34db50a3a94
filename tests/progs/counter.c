/*
 * counter: increments a counter in memory every few milliseconds and appends
 * "count N" to OUTFILE (and "pid P count N" to stdout) every 20 steps.
 * On SIGUSR1 it checks that every count line in OUTFILE is larger than the
 * one before, i.e. after a restore it carried on from where it was.
 *
 * Usage: counter OUTFILE [step_ms]   (default 10 ms per step)
 */
#include <time.h>
#include "prog.h"

static volatile uint64_t counter;

int main(int argc, char **argv)
{
	struct timespec step = { 0, 10 * 1000000L };
	unsigned long long last;
	sigset_t set;

	prog_init(argc, argv, "counter");
	if (argc > 2)
		step.tv_nsec = atol(argv[2]) * 1000000L;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	prog_ready();
	while (!prog_go) {
		counter++;
		if (counter % 20 == 0) {
			prog_say("count %llu\n", (unsigned long long)counter);
			printf("pid %d count %llu\n", (int)getpid(), (unsigned long long)counter);
		}
		nanosleep(&step, NULL);
	}
	last = prog_check_counts();
	CHECK(counter >= last, "counter %llu below last printed %llu",
	      (unsigned long long)counter, last);
	prog_finish();
}
