/*
 * eventfd: eventfds restored with their counter, mode and sharing.
 *
 *   big   eventfd(0, 0) holding 0x100000005 (above 32 bits): after "go"
 *         it is blocking (F_GETFL) and one read returns the whole count
 *   sem   eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK): O_NONBLOCK set, three
 *         reads return 1 each, the fourth fails with EAGAIN
 *   ex    eventfd(0, EFD_NONBLOCK), 7 written by P before "ready", shared
 *         with child C (inherited over fork)
 *   rep   eventfd(0, 0) shared with C; P also holds a dup of it (rep2)
 *   go    eventfd(0, 0) shared with C, who blocks reading it across the
 *         dump
 *
 * After "go", P writes 1 to go; C reads 7 from ex (the count P left in the
 * shared description), checks ex is still non-blocking and empty, and
 * writes 100 (or the number of the failed check) to rep; P reads it from
 * rep2, its dup: one description across two fds and two processes.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include "prog.h"

#define BIG	0x100000005ULL
#define C_OK	100

static int big, sem, ex, rep, rep2, go;

static int make(unsigned init, int flags)
{
	int fd = eventfd(init, flags);

	if (fd < 0)
		prog_fail("eventfd: %s", strerror(errno));
	return fd;
}

/* Reads one count from fd: the value, or 0 with errno set. */
static uint64_t take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void put(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		prog_fail("write eventfd %d: %s", fd, strerror(errno));
}

/* C: blocks on go across the dump, then checks ex and reports on rep. */
static void child(void)
{
	uint64_t code = C_OK;

	if (take(go) != 1)
		code = 1;
	else if (!(fcntl(ex, F_GETFL) & O_NONBLOCK))
		code = 2;
	else if (take(ex) != 7)
		code = 3;
	else if (take(ex) != 0 || errno != EAGAIN)
		code = 4;
	put(rep, code);
	_exit(0);
}

static void check_big_sem(void)
{
	int i;

	CHECK(!(fcntl(big, F_GETFL) & O_NONBLOCK), "big: O_NONBLOCK set after restore");
	CHECK(take(big) == BIG, "big: count is not %#llx", BIG);
	CHECK(fcntl(sem, F_GETFL) & O_NONBLOCK, "sem: O_NONBLOCK lost");
	for (i = 0; i < 3; i++)
		CHECK(take(sem) == 1, "sem: read %d does not return 1 (a semaphore)", i + 1);
	CHECK(take(sem) == 0 && errno == EAGAIN, "sem: a fourth read does not fail with EAGAIN");
}

int main(int argc, char **argv)
{
	struct pollfd pfd;
	pid_t c;
	int status;
	uint64_t code;

	prog_init(argc, argv, "eventfd");
	big = make(0, 0);
	put(big, BIG);
	sem = make(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	ex = make(0, EFD_NONBLOCK);
	rep = make(0, 0);
	go = make(0, 0);
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0)
		child();
	rep2 = dup(rep);
	if (rep2 < 0)
		prog_fail("dup: %s", strerror(errno));
	put(ex, 7);
	prog_ready();
	prog_wait_go();

	check_big_sem();
	put(go, 1);
	pfd.fd = rep2;
	pfd.events = POLLIN;
	code = poll(&pfd, 1, 10000) == 1 ? take(rep2) : 0;
	CHECK(code == C_OK, "child %d: check %llu failed (or no answer on the shared eventfd)",
	      (int)c, (unsigned long long)code);
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status))
		CHECK(0, "child %d did not exit cleanly", (int)c);
	prog_finish();
}
