/*
 * restart-pause: dumped and restored while blocked in pause().  pause() must
 * still be waiting after restore and return EINTR once SIGUSR1 arrives.
 */
#include "prog.h"

static volatile int got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int ret, err;

	prog_init(argc, argv, "restart-pause");
	signal(SIGUSR1, on_usr1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	ret = pause();
	err = errno;
	CHECK(ret == -1 && err == EINTR, "pause returned %d (%s)", ret, strerror(err));
	CHECK(got_usr1, "pause ended without SIGUSR1");
	prog_finish();
}
