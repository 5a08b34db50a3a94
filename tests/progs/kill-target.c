/*
 * Target of the dump-kill sweeps (t-dump-kill-sweep.sh): four threads that
 * check their own state all the time and record a heartbeat, so a vxdump
 * killed at any instant can be seen to have left them running unharmed.
 *
 *   kill-target OUTFILE BEATFILE
 *
 * - main: integer registers (two copies of one sequence the compiler
 *   cannot merge), a syscall now and then, its signal mask;
 * - vec:  AVX registers the same way (ymm state must survive);
 * - nap:  nanosleep(1 ms) in a loop: an interrupted sleep (EINTR) is a
 *   failure, a restarted one is not;
 * - rd:   blocked in read() on a pipe nobody writes; any return is a
 *   failure.
 * Each thread blocks a signal of its own, and the process has caught and
 * ignored signals, a sigaltstack and a POSIX timer, so a dump injects calls
 * into every thread.  BEATFILE holds one 64-bit counter per thread
 * (main, vec, nap), shared with the harness.  On any failure the program
 * appends "FAIL kill-target: reason" to OUTFILE and exits 1; it never
 * exits otherwise.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "prog.h"

#define N_BEATS 3

static volatile uint64_t *beats;

static void die(const char *why)
{
	prog_say("FAIL kill-target: %s\n", why);
	_exit(1);
}

static void on_signal(int sig) { (void)sig; }

/* Blocks SIGRTMIN + k in this thread and checks it stays the whole mask. */
static void own_mask(int k, sigset_t *want)
{
	sigemptyset(want);
	sigaddset(want, SIGRTMIN + k);
	if (k == 0)
		sigaddset(want, SIGPIPE);
	pthread_sigmask(SIG_SETMASK, want, NULL);
}

static void check_mask(const sigset_t *want)
{
	sigset_t now;
	int s;

	pthread_sigmask(SIG_SETMASK, NULL, &now);
	for (s = 1; s < SIGRTMAX; s++)
		if (sigismember(&now, s) != sigismember(want, s))
			die("signal mask changed");
}

typedef double v4d __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static void *vec_loop(void *arg)
{
	v4d a = { 1.0, 2.0, 3.0, 4.0 }, b = a, k = { 1.0000001, 0.9999999, 1.0000003, 0.9999997 };
	sigset_t want;
	uint64_t n = 0;

	(void)arg;
	own_mask(1, &want);
	for (;;) {
		a = a * k + 0.5;
		b = b * k + 0.5;
		__asm__ volatile("" : "+x"(b));
		if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3])
			die("vector registers changed");
		if ((++n & 0xfffff) == 0) {
			beats[1]++;
			check_mask(&want);
			a = b = (v4d){ 1.0, 2.0, 3.0, 4.0 };
		}
	}
	return NULL;
}

static void *nap_loop(void *arg)
{
	struct timespec ts = { 0, 1000000 };
	sigset_t want;

	(void)arg;
	own_mask(2, &want);
	for (;;) {
		if (nanosleep(&ts, NULL))
			die(errno == EINTR ? "nanosleep interrupted" : "nanosleep failed");
		beats[2]++;
		check_mask(&want);
	}
	return NULL;
}

static void *read_loop(void *arg)
{
	int fd = *(int *)arg;
	sigset_t want;
	char c;

	own_mask(3, &want);
	if (read(fd, &c, 1) != 1)
		die(errno == EINTR ? "read interrupted" : "read returned");
	die("read got data nobody wrote");
	return NULL;
}

/* Caught, ignored and SA_ONSTACK signals, an altstack and a timer. */
static void set_signal_state(void)
{
	static char altstack[65536];
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
	struct itimerspec its = { { 3600, 0 }, { 3600, 0 } };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	timer_t tm;

	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_flags |= SA_ONSTACK;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGURG, SIG_IGN);
	sigaltstack(&ss, NULL);
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) || timer_settime(tm, 0, &its, NULL))
		die("timer");
}

static volatile uint64_t *map_beats(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096))
		die("cannot create the beat file");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		die("cannot map the beat file");
	return p;
}

int main(int argc, char **argv)
{
	pthread_t th;
	uint64_t a = 7, b = 7, n = 0;
	sigset_t want;
	int p[2];

	prog_init(argc, argv, "kill-target");
	if (argc < 3 || pipe(p))
		die("usage: kill-target OUTFILE BEATFILE");
	beats = map_beats(argv[2]);
	set_signal_state();
	if (pthread_create(&th, NULL, vec_loop, NULL) ||
	    pthread_create(&th, NULL, nap_loop, NULL) ||
	    pthread_create(&th, NULL, read_loop, &p[0]))
		die("pthread_create");
	own_mask(0, &want);
	prog_ready();
	for (;;) {
		a = a * 6364136223846793005ull + 1442695040888963407ull;
		b = b * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(b));
		if (a != b)
			die("integer registers changed");
		if ((++n & 0x3ffff) == 0) {
			beats[0]++;
			check_mask(&want);
			getppid();	/* now and then in a syscall */
		}
	}
	return 0;
}
