/*
 * membarrier: registrations of an mm (membarrier(2)), which /proc does not
 * show.  The root R forks A first (A registers PRIVATE_EXPEDITED only),
 * then registers GLOBAL_EXPEDITED, PRIVATE_EXPEDITED, _SYNC_CORE and _RSEQ
 * and starts a thread.  After "go" each checks MEMBARRIER_CMD_GET_REGISTRATIONS
 * against what it had, and that the expedited commands it registered work
 * (before the fix they failed with EPERM after restore) and the others
 * still fail with EPERM.
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include "tree.h"

#define MB_GET_REGISTRATIONS (1 << 9)
#define ALL_REG                                                                        \
	(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | \
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE |                           \
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)

static long mb(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* What registrations reg allow: each expedited command works or gets EPERM. */
static void check(const char *who, long reg)
{
	static const int use[][2] = {
		{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED },
		{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		  MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE },
		{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
		  MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ },
	};
	long now = mb(MB_GET_REGISTRATIONS), r;
	size_t i;

	CHECK(now == reg, "%s: registrations %#lx, expected %#lx", who, now, reg);
	for (i = 0; i < sizeof(use) / sizeof(use[0]); i++) {
		errno = 0;
		r = mb(use[i][1]);
		if (reg & use[i][0])
			CHECK(r == 0, "%s: membarrier(%#x): %s", who, use[i][1], strerror(errno));
		else
			CHECK(r == -1 && errno == EPERM, "%s: membarrier(%#x) unregistered gave %ld (%s)",
			      who, use[i][1], r, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	int p[2], q[2], status;
	pthread_t th;
	pid_t a;
	char c;

	prog_init(argc, argv, "membarrier");
	if (mb(MB_GET_REGISTRATIONS) < 0)
		prog_fail("MEMBARRIER_CMD_GET_REGISTRATIONS: %s", strerror(errno));
	if (pipe(p) || pipe(q))
		prog_fail("pipe: %s", strerror(errno));
	a = fork();
	if (a == 0) {
		if (mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
			_exit(2);
		if (write(p[1], "r", 1) != 1 || read(q[0], &c, 1) != 1)
			_exit(3);
		check("A", MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
		_exit(prog_failure[0] ? (fprintf(stderr, "%s\n", prog_failure), 1) : 0);
	}
	if (read(p[0], &c, 1) != 1)
		prog_fail("A did not register");
	if (mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) ||
	    mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) ||
	    mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ))
		prog_fail("membarrier register: %s", strerror(errno));
	if (pthread_create(&th, NULL, idle_thread, NULL))
		prog_fail("pthread_create");
	check("R before", ALL_REG);
	if (prog_failure[0])
		prog_fail("%s", prog_failure);
	prog_ready();
	prog_wait_go();
	check("R", ALL_REG);
	if (write(q[1], "g", 1) != 1 || waitpid(a, &status, 0) != a)
		prog_record_failure("A: %s", strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "A failed its checks (status %#x)",
	      status);
	prog_finish();
}
