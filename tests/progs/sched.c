/*
 * sched: runs with SCHED_BATCH (static priority 0) and nice 5, set with
 * sched_setscheduler() and setpriority(); after restore the policy, its
 * priority, the nice value and SCHED_RESET_ON_FORK (off) must be the same.
 * With two or more CPUs it is also pinned to the last one, and must still
 * be pinned to exactly that CPU after restore.
 */
#include <sched.h>
#include <sys/resource.h>
#include "prog.h"

#define WANT_NICE 5

struct sched_state {
	int policy;	/* sched_getscheduler(), may carry SCHED_RESET_ON_FORK */
	int prio;
	int nice;
};

static void get_sched(struct sched_state *s)
{
	struct sched_param sp = { 0 };

	s->policy = sched_getscheduler(0);
	if (sched_getparam(0, &sp))
		sp.sched_priority = -1;
	s->prio = sp.sched_priority;
	errno = 0;
	s->nice = getpriority(PRIO_PROCESS, 0);
	if (s->nice == -1 && errno)
		s->nice = -100;
}

static const char *policy_name(int policy)
{
	switch (policy & ~SCHED_RESET_ON_FORK) {
	case SCHED_OTHER: return "SCHED_OTHER";
	case SCHED_BATCH: return "SCHED_BATCH";
	case SCHED_IDLE: return "SCHED_IDLE";
	case SCHED_FIFO: return "SCHED_FIFO";
	case SCHED_RR: return "SCHED_RR";
	default: return "unknown";
	}
}

int main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 0 };
	struct sched_state b, a;
	cpu_set_t pin, now;
	long ncpu;

	prog_init(argc, argv, "sched");
	if (setpriority(PRIO_PROCESS, 0, WANT_NICE))
		prog_fail("setpriority %d: %s", WANT_NICE, strerror(errno));
	if (sched_setscheduler(0, SCHED_BATCH, &sp))
		prog_fail("sched_setscheduler SCHED_BATCH: %s", strerror(errno));
	CPU_ZERO(&pin);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu >= 2) {
		CPU_SET(ncpu - 1, &pin);
		if (sched_setaffinity(0, sizeof(pin), &pin))
			prog_fail("sched_setaffinity: %s", strerror(errno));
	}
	get_sched(&b);
	if (b.policy != SCHED_BATCH || b.prio != 0 || b.nice != WANT_NICE)
		prog_fail("setup: policy %s (%d) prio %d nice %d", policy_name(b.policy),
			  b.policy, b.prio, b.nice);
	prog_ready();
	prog_wait_go();
	get_sched(&a);
	CHECK(a.policy == b.policy, "policy %s (%d), was %s (%d)", policy_name(a.policy),
	      a.policy, policy_name(b.policy), b.policy);
	CHECK(a.prio == b.prio, "sched priority %d, was %d", a.prio, b.prio);
	CHECK(a.nice == b.nice, "nice %d, was %d", a.nice, b.nice);
	if (ncpu >= 2) {
		CHECK(!sched_getaffinity(0, sizeof(now), &now) && CPU_EQUAL(&now, &pin),
		      "CPU affinity has %d CPUs, expected only CPU %ld", CPU_COUNT(&now), ncpu - 1);
	}
	prog_finish();
}
