/*
 * timens: reads CLOCK_MONOTONIC and CLOCK_BOOTTIME every 10 ms and keeps
 * the last values and the largest step between two reads.  On SIGUSR1 it
 * checks that no clock ever went back, that the largest step stayed below
 * MAX_STEP_MS (a dump, a wait of seconds and a restore in between: the
 * clocks inside go on from where they were, the wait does not show), and
 * that both clocks are at least MIN_S seconds (offsets the test set with
 * unshare -T are kept).  It also prints "clocks MONO BOOT" (ns) on ready
 * and at the end.
 *
 * Usage: timens OUTFILE MAX_STEP_MS MIN_S
 */
#include <stdbool.h>
#include <time.h>
#include "prog.h"

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct timespec step = { 0, 10 * 1000000L };
	int64_t mono, boot, m, b, max_step = 0, max_ms, min_ns;
	bool back = false;
	sigset_t set;

	prog_init(argc, argv, "timens");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (argc < 4)
		prog_fail("usage: timens OUTFILE MAX_STEP_MS MIN_S");
	max_ms = atoll(argv[2]);
	min_ns = atoll(argv[3]) * 1000000000LL;
	mono = now_ns(CLOCK_MONOTONIC);
	boot = now_ns(CLOCK_BOOTTIME);
	prog_say("clocks %lld %lld\n", (long long)mono, (long long)boot);
	prog_ready();
	while (!prog_go) {
		nanosleep(&step, NULL);
		m = now_ns(CLOCK_MONOTONIC);
		b = now_ns(CLOCK_BOOTTIME);
		back |= m < mono || b < boot;
		if (m - mono > max_step)
			max_step = m - mono;
		if (b - boot > max_step)
			max_step = b - boot;
		mono = m;
		boot = b;
	}
	prog_say("clocks %lld %lld largest step %lld ms\n", (long long)mono, (long long)boot,
		 (long long)(max_step / 1000000));
	CHECK(!back, "a clock went back");
	CHECK(max_step < max_ms * 1000000LL, "a clock jumped by %lld ms (at most %lld)",
	      (long long)(max_step / 1000000), (long long)max_ms);
	CHECK(mono >= min_ns && boot >= min_ns, "clocks %lld %lld s, below %lld s",
	      (long long)(mono / 1000000000LL), (long long)(boot / 1000000000LL),
	      (long long)(min_ns / 1000000000LL));
	prog_finish();
}
