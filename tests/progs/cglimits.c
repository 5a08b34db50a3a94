/*
 * cglimits: the root forks two children and says "kids A B"; the test
 * puts A into a group with pids.max = NPROC and B into a group with a
 * memory limit of LIMIT_MB.  On SIGUSR1 (after the restore) the root
 * tells both to go: A forks until fork fails and exits with the number of
 * forks that succeeded (NPROC - 1: A is one of the group's tasks), B
 * allocates and touches memory up to 8 x LIMIT_MB, which the limit must
 * stop (killed by the OOM killer: SIGKILL).
 *
 * Usage: cglimits OUTFILE NPROC LIMIT_MB
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include "prog.h"

/* Forks children that wait, until fork fails; returns how many it got. */
static int fork_until_refused(void)
{
	pid_t kids[4096];
	int n = 0, i;

	while (n < 4096) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			break;
		kids[n++] = p;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return n;
}

/* Touches up to mb MiB, one MiB at a time; exits 0 if it got them all. */
static void __attribute__((noreturn)) eat(long mb)
{
	long i;

	for (i = 0; i < mb; i++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			_exit(3);
		memset(p, 0x5a, 1 << 20);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int nproc, st_a, st_b;
	long limit_mb;
	pid_t a, b;

	prog_init(argc, argv, "cglimits");
	if (argc < 4)
		prog_fail("usage: cglimits OUTFILE NPROC LIMIT_MB");
	nproc = atoi(argv[2]);
	limit_mb = atol(argv[3]);
	a = fork();
	if (a == 0) {
		prog_wait_go();
		_exit(fork_until_refused());
	}
	b = fork();
	if (b == 0) {
		prog_wait_go();
		eat(8 * limit_mb);
	}
	if (a < 0 || b < 0)
		prog_fail("fork: %s", strerror(errno));
	prog_say("kids %d %d\n", (int)a, (int)b);
	prog_ready();
	prog_wait_go();
	kill(a, SIGUSR1);
	kill(b, SIGUSR1);
	if (waitpid(a, &st_a, 0) != a || waitpid(b, &st_b, 0) != b)
		prog_fail("waitpid: %s", strerror(errno));
	prog_say("forks %d (exit %#x), memory eater status %#x\n",
		 WIFEXITED(st_a) ? WEXITSTATUS(st_a) : -1, st_a, st_b);
	CHECK(WIFEXITED(st_a) && WEXITSTATUS(st_a) == nproc - 1,
	      "%d forks in a group with pids.max %d (status %#x)",
	      WIFEXITED(st_a) ? WEXITSTATUS(st_a) : -1, nproc, st_a);
	CHECK(WIFSIGNALED(st_b) && WTERMSIG(st_b) == SIGKILL,
	      "the memory eater was not OOM-killed in its %ld MiB group (status %#x)", limit_mb,
	      st_b);
	prog_finish();
}
