/*
 * restart-read: dumped and restored while blocked in read() on an empty pipe
 * whose both ends it holds.  The SIGUSR1 handler (SA_RESTART) writes a
 * message into the pipe; the restarted read must return exactly it.
 */
#include "prog.h"

static int pipefd[2];
static volatile int got_usr1;

static void on_usr1(int sig)
{
	static const char msg[] = "after-restore";

	(void)sig;
	got_usr1 = 1;
	if (write(pipefd[1], msg, sizeof(msg) - 1) < 0)
		got_usr1 = -1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char buf[64];
	sigset_t set;
	ssize_t n;
	int err;

	prog_init(argc, argv, "restart-read");
	if (pipe(pipefd))
		prog_fail("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	memset(buf, 0, sizeof(buf));
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	err = errno;
	CHECK(n == 13 && !memcmp(buf, "after-restore", 13), "read returned %zd (%s) '%s'", n,
	      n < 0 ? strerror(err) : "ok", buf);
	CHECK(got_usr1 == 1, "handler state %d", got_usr1);
	prog_finish();
}
