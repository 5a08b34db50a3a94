/*
 * A target that writes all the time, for vxdump --leave-running's
 * copy-on-write snapshot (t-cow-leave-running).
 *
 * `cow-writer OUTFILE MIB [churn]`: MIB MiB of anonymous memory, every page
 * first written with generation 0.  A writer thread then writes page after
 * page, round after round, each page whole with the pattern of (its
 * generation, its index), and after each page counts it in one 64-bit
 * counter (one store): after c pages written, page i holds generation
 * c / N + 1 when i < c % N, else c / N.  A snapshot taken at any instant
 * therefore satisfies that rule for its own counter; a page copied too
 * late (or torn) breaks it.  Every 64th page is written by read(2) from a
 * pipe (a write by the kernel, not by the thread).  Before each page the
 * writer checks for OUTFILE.stop and ends there: a restored copy stops at
 * once when the harness made that file, so it checks what it was restored
 * with (at most the page in flight is finished first, which keeps the rule).
 *
 * With churn, a second thread maps, fills, checks and unmaps 1 MiB areas
 * and discards (MADV_DONTNEED) and refills another one, all the time.
 * With fork, a child forked after the first fill (its memory shared
 * copy-on-write with ours until either writes) does the same with its
 * copy (its own pipe); "child PID" is said before "ready", SIGUSR1 is
 * passed on to it and its check is part of ours.
 *
 * On SIGUSR1: stops the threads, checks every page, and reports PASS or
 * FAIL with the longest time one page write took (a write blocked by the
 * snapshot) and the longest gap between two pages.  A SIGBUS or SIGSEGV
 * fails at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "prog.h"

#define PAGE 4096ul
#define WORDS (PAGE / 8)
#define CHURN_LEN (1ul << 20)

static uint8_t *buf;
static size_t n_pages;
static volatile uint64_t counter; /* pages written since the first fill */
static volatile int stop;
static char stop_path[4200];
static int pipe_fd[2];
static uint64_t max_write_ns, max_gap_ns, read_errors, churn_errors, churn_rounds;
static char churn_error[200];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill_page(uint64_t *w, uint64_t gen, size_t idx)
{
	size_t k;

	for (k = 0; k < WORDS; k++)
		w[k] = prog_pattern(gen << 32 | idx, k);
}

/* Page idx with generation gen, by the kernel: through the pipe. */
static void read_page(uint8_t *page, uint64_t gen, size_t idx)
{
	uint64_t w[WORDS];

	fill_page(w, gen, idx);
	if (write(pipe_fd[1], w, PAGE) != (ssize_t)PAGE ||
	    read(pipe_fd[0], page, PAGE) != (ssize_t)PAGE)
		read_errors++;
}

static void *writer(void *arg)
{
	uint64_t c, t0, t1, last = now_ns();

	(void)arg;
	while (!stop) {
		if (access(stop_path, F_OK) == 0)
			break;
		c = counter;
		t0 = now_ns();
		if (t0 - last > max_gap_ns)
			max_gap_ns = t0 - last;
		if (c % 64 == 63)
			read_page(buf + c % n_pages * PAGE, c / n_pages + 1, c % n_pages);
		else
			fill_page((uint64_t *)(buf + c % n_pages * PAGE), c / n_pages + 1,
				  c % n_pages);
		counter = c + 1;
		t1 = now_ns();
		if (t1 - t0 > max_write_ns)
			max_write_ns = t1 - t0;
		last = t1;
	}
	return NULL;
}

static void churn_fail(const char *what)
{
	churn_errors++;
	if (!churn_error[0])
		snprintf(churn_error, sizeof(churn_error), "%s: %s", what, strerror(errno));
}

/* Maps, fills, checks, unmaps; discards and refills another area. */
static void *churner(void *arg)
{
	uint8_t *keep = arg, *a;
	size_t i;

	while (!stop && access(stop_path, F_OK) != 0) {
		a = mmap(NULL, CHURN_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		if (a == MAP_FAILED) {
			churn_fail("mmap");
			continue;
		}
		memset(a, (int)(churn_rounds & 0xff) | 1, CHURN_LEN);
		for (i = 0; i < CHURN_LEN; i += PAGE)
			if (a[i] != ((churn_rounds & 0xff) | 1))
				churn_fail("mapped area lost its bytes");
		if (munmap(a, CHURN_LEN))
			churn_fail("munmap");
		if (madvise(keep, CHURN_LEN, MADV_DONTNEED))
			churn_fail("madvise");
		for (i = 0; i < CHURN_LEN; i += PAGE)
			if (keep[i])
				churn_fail("discarded area not zero");
		memset(keep, 0x5a, CHURN_LEN);
		churn_rounds++;
	}
	return NULL;
}

static void on_fault(int sig)
{
	prog_say("FAIL cow-writer: signal %d\n", sig);
	_exit(1);
}

/* Every page against the rule of the counter. */
static void check_pages(void)
{
	uint64_t c = counter, gen, w[WORDS];
	size_t i, bad = 0;

	for (i = 0; i < n_pages; i++) {
		gen = c / n_pages + (i < c % n_pages);
		fill_page(w, gen, i);
		if (memcmp(w, buf + i * PAGE, PAGE)) {
			if (!bad++)
				prog_record_failure(
					"page %zu of %zu is not generation %llu (counter %llu, "
					"it has %llu)",
					i, n_pages, (unsigned long long)gen, (unsigned long long)c,
					(unsigned long long)(((uint64_t *)(buf + i * PAGE))[0]));
		}
	}
	CHECK(!bad, "%zu pages wrong", bad);
}

int main(int argc, char **argv)
{
	pthread_t wt, ct;
	uint8_t *keep = NULL;
	bool churn = argc > 3 && !strcmp(argv[3], "churn");
	bool forks = argc > 3 && !strcmp(argv[3], "fork");
	pid_t child = 0;
	int status;
	size_t i;

	prog_init(argc, argv, "cow-writer");
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	n_pages = (argc > 2 ? strtoul(argv[2], NULL, 10) : 64) << 20 >> 12;
	snprintf(stop_path, sizeof(stop_path), "%s.stop", argv[1]);
	if (!n_pages)
		prog_fail("setup");
	buf = mmap(NULL, n_pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (buf == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	for (i = 0; i < n_pages; i++)
		fill_page((uint64_t *)(buf + i * PAGE), 0, i);
	if (forks) {
		child = fork();
		if (child < 0)
			prog_fail("fork: %s", strerror(errno));
		if (child)
			prog_say("child %d\n", child);
	}
	if (pipe(pipe_fd))
		prog_fail("pipe: %s", strerror(errno));
	if (pthread_create(&wt, NULL, writer, NULL))
		prog_fail("pthread_create");
	if (churn) {
		keep = mmap(NULL, CHURN_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		if (keep == MAP_FAILED || pthread_create(&ct, NULL, churner, keep))
			prog_fail("churn setup");
	}
	if (!forks || child)
		prog_ready();
	prog_wait_go();
	if (child)
		kill(child, SIGUSR1);
	stop = 1;
	pthread_join(wt, NULL);
	if (churn)
		pthread_join(ct, NULL);
	check_pages();
	CHECK(!read_errors, "%llu reads into the area failed", (unsigned long long)read_errors);
	CHECK(!churn_errors, "churn: %s", churn_error);
	if (forks && !child) { /* the child: its verdict is its exit status */
		if (prog_failure[0])
			prog_say("child: %s\n", prog_failure);
		_exit(prog_failure[0] ? 1 : 0);
	}
	if (child) {
		CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			      !WEXITSTATUS(status),
		      "the child's check failed");
	}
	prog_say(
		"written %llu pages, longest page write %.3f ms, longest gap %.3f ms, churn %llu\n",
		(unsigned long long)counter, max_write_ns / 1e6, max_gap_ns / 1e6,
		(unsigned long long)churn_rounds);
	prog_finish();
}
