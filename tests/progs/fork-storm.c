/*
 * fork-storm: a process that never stops creating and ending tasks, so a
 * dump always races with fork, clone and exit.
 *
 *   main thread: forks a child every ~1 ms; each child touches a page,
 *   sleeps 0-2 ms and exits with (n & 0x7f); main reaps them and checks
 *   every exit status (a child killed or lost by a dump shows up here)
 *   a spawner thread: creates a short-lived thread every ~1 ms and joins it
 *   a counter in memory, with its complement as a shadow
 *
 * After "go": the counter agrees with its shadow and moved on, new children
 * and threads keep being created and reaped with the right statuses after
 * the restore (their counts grow), and no child ended with a wrong status.
 */
#include <pthread.h>
#include <sys/wait.h>
#include "prog.h"

static volatile uint64_t counter, shadow;
static volatile unsigned long forks, reaped, threads_done;
static volatile int stop;
static char bad[256];

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static void *short_thread(void *arg)
{
	(void)arg;
	sleep_us(200);
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_thread, NULL) == 0) {
			pthread_join(t, NULL);
			threads_done++;
		}
		sleep_us(800);
	}
	return NULL;
}

/* Reaps what has exited; records the first wrong status. */
static void reap(int flags)
{
	int status;
	pid_t p;

	while ((p = waitpid(-1, &status, flags)) > 0) {
		reaped++;
		if (!WIFEXITED(status) && !bad[0])
			snprintf(bad, sizeof(bad), "child %d did not exit normally (status %#x)",
				 p, status);
	}
}

static void fork_one(void)
{
	unsigned long n = forks;
	pid_t p = fork();

	if (p == 0) {
		static char page[4096];

		page[n % sizeof(page)] = 1;
		sleep_us((long)(n % 3) * 1000);
		_exit(page[n % sizeof(page)] ? 0 : 1);
	}
	if (p > 0)
		forks++;
}

static void run_until(volatile sig_atomic_t *flag)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	while (!*flag) {
		counter++;
		shadow = ~counter;
		fork_one();
		reap(WNOHANG);
		sleep_us(1000);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
	unsigned long f0, r0, t0;
	uint64_t c0;
	pthread_t sp;
	int i;

	prog_init(argc, argv, "fork-storm");
	prog_keep_out_open();
	if (pthread_create(&sp, NULL, spawner, NULL))
		prog_fail("pthread_create: %s", strerror(errno));
	for (i = 0; i < 50; i++) {
		fork_one();
		reap(WNOHANG);
		sleep_us(1000);
	}
	prog_ready();
	run_until(&prog_go);
	c0 = counter;
	f0 = forks;
	r0 = reaped;
	t0 = threads_done;
	CHECK(shadow == ~counter, "counter %llu and shadow disagree",
	      (unsigned long long)counter);
	for (i = 0; i < 200; i++) {
		counter++;
		shadow = ~counter;
		fork_one();
		reap(WNOHANG);
		sleep_us(1000);
	}
	stop = 1;
	pthread_join(sp, NULL);
	reap(0);
	CHECK(counter == c0 + 200 && shadow == ~counter, "counter did not go on");
	CHECK(forks > f0 + 150, "only %lu forks after go", forks - f0);
	CHECK(reaped == forks, "forked %lu, reaped %lu", forks, reaped);
	CHECK(reaped > r0, "nothing reaped after go");
	CHECK(threads_done > t0, "no thread created after go");
	CHECK(!bad[0], "%s", bad);
	prog_finish();
}
