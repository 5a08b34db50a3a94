/*
 * restart-nanosleep: dumped and restored while blocked in a long nanosleep.
 * The sleep must still be in progress after restore (not returned early)
 * and SIGUSR1 must interrupt it with EINTR and a plausible remaining time.
 */
#include <time.h>
#include "prog.h"

static volatile int got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

int main(int argc, char **argv)
{
	struct timespec req = { 3600, 0 }, rem = { 0, 0 };
	struct sigaction sa;
	sigset_t set;
	int ret, err;

	prog_init(argc, argv, "restart-nanosleep");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: nanosleep returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	ret = nanosleep(&req, &rem);
	err = errno;
	CHECK(ret == -1 && err == EINTR, "nanosleep returned %d (%s)", ret, strerror(err));
	CHECK(got_usr1, "nanosleep ended without SIGUSR1");
	CHECK(rem.tv_sec > 0 && rem.tv_sec <= 3600, "remaining time %lld s",
	      (long long)rem.tv_sec);
	prog_finish();
}
