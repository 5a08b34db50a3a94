/*
 * mig-dirty: memory that keeps changing while it is migrated, and checks
 * itself afterwards.  `mig-dirty OUTFILE MIB RATE [fork]`: MIB MiB of
 * private anonymous memory, every page filled with a pattern of its index
 * and a generation; after "ready" it rewrites RATE MiB per second, page
 * after page (each page's generation goes up by one and is recorded in an
 * array that lives in its memory too), until SIGUSR1.  Then every page
 * must hold the pattern of the generation recorded for it: a page the
 * migration missed (written after its copy and not sent again) holds an
 * older generation.  The page being written when the tree was frozen may
 * be one ahead.  With "fork", a child does the same with memory of its
 * own and reports "child PASS" or "child FAIL ..." before the parent's
 * line.  Also writes "gen N" (pages rewritten so far) when it stops.
 * SIGUSR2 (between two page writes): a child is forked that checks every
 * page at once and reports "forked PASS" or "forked FAIL ..." (post-copy:
 * a fork while pages are still missing).  SIGHUP: the first 1 MiB is
 * dropped (MADV_DONTNEED: generation 0, zeros) and the whole area moved
 * elsewhere with mremap (post-copy: pages must follow the move and never
 * come back where the process dropped them); "moved" once done.
 */
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "prog.h"

#define PG 4096ul

static uint8_t *mem;
static uint32_t *gens;
static size_t npages;
static volatile size_t cur = (size_t)-1;
static volatile sig_atomic_t fork_now, move_now;

static void on_hup(int sig)
{
	(void)sig;
	move_now = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	fork_now = 1;
}

static void fill(size_t i, uint32_t g)
{
	uint64_t *w = (uint64_t *)(mem + i * PG);
	uint64_t v = ((uint64_t)i << 32) | g;
	size_t k;

	for (k = 0; k < PG / 8; k++)
		w[k] = v ^ (k * 0x9e3779b97f4a7c15ull);
}

/* The generation page i holds, or -1 if torn / not a pattern of i. */
static int64_t held(size_t i)
{
	const uint64_t *w = (const uint64_t *)(mem + i * PG);
	uint64_t v = w[0];
	size_t k;

	for (k = 0; k < PG / 8 && !w[k]; k++)
		;
	if (k == PG / 8)
		return 0; /* dropped: zeros */
	if (v >> 32 != i)
		return -1;
	for (k = 1; k < PG / 8; k++)
		if (w[k] != (v ^ (k * 0x9e3779b97f4a7c15ull)))
			return -1;
	return (int64_t)(uint32_t)v;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000l, ns % 1000000000l };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rewrites pages at rate MiB/s (a budget by elapsed time, checked every
 * millisecond) until SIGUSR1; returns pages written. */
static void check(const char *who);

/* SIGUSR2: a child checks the memory as it is now, and exits. */
static void fork_check(void)
{
	pid_t c;

	fork_now = 0;
	c = fork();
	if (c == 0) {
		check("forked");
		prog_say(prog_failure[0] ? "forked FAIL %s\n" : "forked PASS%s\n", prog_failure);
		_exit(0);
	}
	if (c < 0)
		prog_say("forked FAIL fork: %s\n", strerror(errno));
}

/* SIGHUP: the first MiB dropped, the whole area moved. */
static void drop_and_move(void)
{
	size_t i, n = npages < 256 ? npages : 256;
	void *to;

	move_now = 0;
	if (madvise(mem, n * PG, MADV_DONTNEED)) {
		prog_say("moved FAIL madvise: %s\n", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		gens[i] = 0;
	to = mmap(NULL, npages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED ||
	    mremap(mem, npages * PG, npages * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to) {
		prog_say("moved FAIL mremap: %s\n", strerror(errno));
		return;
	}
	mem = to;
	prog_say("moved\n");
}

/* SIGHUP without "move" (argv[5]): the first MiB dropped only. */
static int move_too;
static void drop_only(void)
{
	size_t i, n = npages < 256 ? npages : 256;

	move_now = 0;
	if (madvise(mem, n * PG, MADV_DONTNEED)) {
		prog_say("dropped FAIL madvise: %s\n", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		gens[i] = 0;
	prog_say("dropped\n");
}

static uint64_t churn(long rate)
{
	uint64_t written = 0;
	double t0 = now_s();
	size_t i = 0;
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (rate <= 0) {
		prog_wait_go();
		return 0;
	}
	sigprocmask(SIG_UNBLOCK, &usr1, NULL); /* its handler sets prog_go */
	while (!prog_go) {
		uint64_t budget = (uint64_t)((now_s() - t0) * rate * 256);

		while (written < budget && !prog_go) {
			if (move_now && move_too)
				drop_and_move();
			else if (move_now)
				drop_only();
			if (fork_now)
				fork_check();
			cur = i;
			fill(i, gens[i] + 1);
			gens[i]++;
			cur = (size_t)-1;
			i = (i + 1) % npages;
			written++;
		}
		sleep_ns(1000000);
	}
	return written;
}

static void check(const char *who)
{
	size_t i, bad = 0, first = 0;

	for (i = 0; i < npages; i++) {
		int64_t h = held(i);

		if (h == gens[i] || (i == cur && h == (int64_t)gens[i] + 1))
			continue;
		if (!bad++)
			first = i;
	}
	if (bad)
		prog_record_failure("%s: %zu of %zu pages not as recorded (first: page %zu holds "
				    "generation %lld, recorded %u)",
				    who, bad, npages, first, (long long)held(first), gens[first]);
}

static void setup(long mib)
{
	size_t i;

	npages = (size_t)mib * 256;
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gens = mmap(NULL, npages * sizeof(*gens), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || gens == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	for (i = 0; i < npages; i++) {
		gens[i] = 1;
		fill(i, 1);
	}
}

int main(int argc, char **argv)
{
	long mib, rate;
	pid_t child = 0;
	uint64_t written;
	int sync[2];
	char c;

	prog_init(argc, argv, "mig-dirty");
	if (argc < 4)
		prog_fail("usage: mig-dirty OUTFILE MIB RATE [fork]");
	mib = strtol(argv[2], NULL, 10);
	rate = strtol(argv[3], NULL, 10);
	if (mib <= 0)
		prog_fail("bad MIB");
	if (argc > 4 && !strcmp(argv[4], "fork")) {
		if (pipe(sync))
			prog_fail("pipe: %s", strerror(errno));
		child = fork();
		if (child < 0)
			prog_fail("fork: %s", strerror(errno));
		if (child == 0) {
			/* its memory elsewhere than the parent's (which a dump
			 * would take for an inherited copy-on-write share) */
			if (mmap(NULL, (size_t)(mib + 1) << 20, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
				_exit(1);
			setup(mib);
			if (write(sync[1], "r", 1) != 1)
				_exit(1);
			close(sync[0]);
			close(sync[1]);
			churn(rate);
			check("child");
			prog_say(prog_failure[0] ? "child FAIL %s\n" : "child PASS%s\n",
				 prog_failure);
			_exit(0);
		}
		if (read(sync[0], &c, 1) != 1)
			prog_fail("the child did not get ready");
		close(sync[0]);
		close(sync[1]);
	}
	setup(mib);
	signal(SIGUSR2, on_usr2);
	signal(SIGHUP, on_hup);
	move_too = argc > 5 && !strcmp(argv[5], "move");
	prog_ready();
	written = churn(rate);
	if (child) {
		kill(child, SIGUSR1);
		waitpid(child, NULL, 0);
	}
	check("parent");
	prog_say("gen %llu\n", (unsigned long long)written);
	prog_finish();
}
