/*
 * rlimits: soft and hard limits lowered below the inherited ones; after
 * restore every RLIMIT_* must equal what it was.
 */
#include <sys/resource.h>
#include "prog.h"

static const struct {
	int res;
	rlim_t cur, max;
} lowered[] = {
	{ RLIMIT_NOFILE, 200, 300 },
	{ RLIMIT_CORE, 0, 4096 },
	{ RLIMIT_CPU, 100000, 200000 },
	{ RLIMIT_FSIZE, 1UL << 30, 2UL << 30 },
	{ RLIMIT_MSGQUEUE, 4096, 8192 },
	{ RLIMIT_SIGPENDING, 100, 200 },
	{ RLIMIT_NICE, 0, 5 },
	{ RLIMIT_RTPRIO, 0, 3 },
	{ RLIMIT_STACK, 4UL << 20, 16UL << 20 },
};

int main(int argc, char **argv)
{
	struct rlimit before[RLIM_NLIMITS], now;
	size_t i;
	int r;

	prog_init(argc, argv, "rlimits");
	for (i = 0; i < sizeof(lowered) / sizeof(lowered[0]); i++) {
		struct rlimit rl, cur;

		getrlimit(lowered[i].res, &cur);
		rl.rlim_cur = lowered[i].cur;
		rl.rlim_max = lowered[i].max;
		if (cur.rlim_max != RLIM_INFINITY && rl.rlim_max > cur.rlim_max)
			continue;	/* only lower, never raise */
		if (setrlimit(lowered[i].res, &rl))
			prog_fail("setrlimit %d: %s", lowered[i].res, strerror(errno));
	}
	for (r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &before[r]);
	prog_ready();
	prog_wait_go();
	for (r = 0; r < RLIM_NLIMITS; r++) {
		getrlimit(r, &now);
		CHECK(now.rlim_cur == before[r].rlim_cur && now.rlim_max == before[r].rlim_max,
		      "rlimit %d is %llu/%llu, was %llu/%llu", r,
		      (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max,
		      (unsigned long long)before[r].rlim_cur,
		      (unsigned long long)before[r].rlim_max);
	}
	prog_finish();
}
