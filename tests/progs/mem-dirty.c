/*
 * mem-dirty: memory that changes a part at a time, for incremental images
 * and pre-copy.  Maps MIB MiB of private anonymous memory filled with a
 * pattern; each SIGUSR2 rewrites the next CHUNK MiB (round r: chunk
 * (r - 1) mod chunks, pattern seed r) and appends "dirtied R".  On SIGUSR1
 * it checks every byte against the pattern its rounds left, appends
 * "rounds R" and reports.
 *
 * Usage: mem-dirty OUTFILE [MIB [CHUNK]]   (default 64 and 4)
 */
#include <sys/mman.h>
#include "prog.h"

#define BASE_SEED 1000

static volatile sig_atomic_t dirty_req;

static void on_usr2(int sig)
{
	(void)sig;
	dirty_req++;
}

/* The seed chunk i holds after rounds rounds. */
static uint64_t seed_of(size_t i, unsigned rounds, size_t nchunks)
{
	unsigned r;

	for (r = rounds; r > 0; r--)
		if ((r - 1) % nchunks == i)
			return r;
	return BASE_SEED;
}

int main(int argc, char **argv)
{
	size_t mib = 64, chunk_mib = 4, chunk, nchunks, i;
	unsigned rounds = 0, done = 0;
	struct sigaction sa;
	sigset_t set, wait_mask;
	char *mem;
	long bad;

	prog_init(argc, argv, "mem-dirty");
	if (argc > 2)
		mib = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		chunk_mib = strtoul(argv[3], NULL, 10);
	if (!mib || !chunk_mib || chunk_mib > mib)
		prog_fail("bad sizes %zu %zu", mib, chunk_mib);
	chunk = chunk_mib << 20;
	nchunks = mib / chunk_mib;
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		prog_fail("mmap %zu MiB: %s", mib, strerror(errno));
	for (i = 0; i < nchunks; i++)
		prog_fill(mem + i * chunk, chunk, seed_of(i, 0, nchunks) * 1000 + i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR2, &sa, NULL))
		prog_fail("sigaction SIGUSR2: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	sigdelset(&wait_mask, SIGUSR2);
	prog_ready();
	while (!prog_go) {
		while (done < (unsigned)dirty_req) {
			rounds = ++done;
			i = (rounds - 1) % nchunks;
			prog_fill(mem + i * chunk, chunk, seed_of(i, rounds, nchunks) * 1000 + i);
			prog_say("dirtied %u\n", rounds);
		}
		if (!prog_go && done == (unsigned)dirty_req)
			sigsuspend(&wait_mask);
	}
	for (i = 0; i < nchunks; i++) {
		bad = prog_verify(mem + i * chunk, chunk, seed_of(i, rounds, nchunks) * 1000 + i);
		CHECK(bad < 0, "chunk %zu (seed %llu) differs at byte %ld", i,
		      (unsigned long long)seed_of(i, rounds, nchunks), bad * 8);
	}
	prog_say("rounds %u\n", rounds);
	prog_finish();
}
