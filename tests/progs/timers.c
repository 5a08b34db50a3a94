/*
 * timers: interval timers and POSIX timers across a dump.
 *
 *   ITIMER_REAL     40 ms, interval 40 ms (SIGALRM counted)
 *   ITIMER_VIRTUAL  150 ms, interval 30 ms (hardly any CPU used before go)
 *   ITIMER_PROF     100 ms, interval 40 ms
 *   t1  CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN+1, value 0x1111, every 30 ms
 *   t2  CLOCK_REALTIME, SIGEV_SIGNAL SIGRTMIN+2, value 0x2222, once in 100 s
 *   t3  CLOCK_MONOTONIC, SIGEV_THREAD_ID to worker W, SIGRTMIN+3, 0x3333,
 *       every 25 ms
 *   t4  CLOCK_MONOTONIC, SIGRTMIN+4, value 0x4444, never armed
 *   t5  CLOCK_MONOTONIC, SIGRTMIN+5 (blocked everywhere), 0x5555, every
 *       1 ms: its one queued signal collects overruns (300 ms before ready)
 *
 * After "go": timer_gettime() on every old id works and shows the same
 * interval and a plausible remaining time (t4 still disarmed), the ids in
 * /proc/self/timers are the same set (t3 still notifies W's tid),
 * getitimer() intervals are unchanged and values plausible; over 400 ms t1,
 * t3 and SIGALRM keep firing with their values (t3 only in W); unblocking
 * SIGRTMIN+5 delivers t5's signal with its value, and after another 300 ms
 * blocked its next delivery has si_overrun >= 100 (overruns accumulate
 * again; see check_overruns() for what cannot be restored); arming t4
 * makes it fire once; 400 ms of CPU make ITIMER_VIRTUAL and ITIMER_PROF
 * fire.
 */
#include <pthread.h>
#include <sys/time.h>
#include "tree.h"

#define NT 5

static timer_t tid_[NT];
static int timer_ids[NT];
static pid_t worker_tid;
static volatile int quit;
static volatile int cnt[8], last_val[8], last_overrun[8], wrong_tid[8], alrm, vtalrm, prof;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	int k = sig - SIGRTMIN;

	(void)uc;
	if (k < 0 || k >= 8)
		return;
	cnt[k]++;
	last_val[k] = si->si_value.sival_int;
	if (k == 3 && gettid() != worker_tid)
		wrong_tid[k]++;
	last_overrun[k] = si->si_overrun;
}

static void on_itimer(int sig)
{
	if (sig == SIGALRM)
		alrm++;
	else if (sig == SIGVTALRM)
		vtalrm++;
	else
		prof++;
}

static void *worker_main(void *arg)
{
	sigset_t set;

	(void)arg;
	sigfillset(&set);
	sigdelset(&set, SIGRTMIN + 3);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	__atomic_store_n(&worker_tid, gettid(), __ATOMIC_RELEASE);
	while (!quit)
		tree_sleep_ms(2);
	return NULL;
}

static void make_timer(int k, clockid_t clk, int notify, int sig, int val)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = val;
	if (notify == SIGEV_THREAD_ID)
		sev._sigev_un._tid = worker_tid;	/* sigev_notify_thread_id */
	if (timer_create(clk, &sev, &tid_[k]))
		prog_fail("timer_create %d: %s", k + 1, strerror(errno));
	timer_ids[k] = (int)(intptr_t)tid_[k];
}

static void arm(int k, long value_ms, long interval_ms)
{
	struct itimerspec its = { { interval_ms / 1000, interval_ms % 1000 * 1000000L },
				  { value_ms / 1000, value_ms % 1000 * 1000000L } };

	if (timer_settime(tid_[k], 0, &its, NULL))
		prog_fail("timer_settime %d: %s", k + 1, strerror(errno));
}

static void set_itimer(int which, long value_ms, long interval_ms)
{
	struct itimerval v = { { interval_ms / 1000, interval_ms % 1000 * 1000 },
			       { value_ms / 1000, value_ms % 1000 * 1000 } };

	if (setitimer(which, &v, NULL))
		prog_fail("setitimer %d: %s", which, strerror(errno));
}

static void setup(void)
{
	struct sigaction sa;
	pthread_t th;
	sigset_t set;
	int k;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	for (k = 1; k <= 5; k++)
		sigaction(SIGRTMIN + k, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_itimer;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGRTMIN + 5);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, worker_main, NULL))
		prog_fail("pthread_create failed");
	while (!__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE))
		tree_sleep_ms(1);
	make_timer(0, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0x1111);
	make_timer(1, CLOCK_REALTIME, SIGEV_SIGNAL, SIGRTMIN + 2, 0x2222);
	make_timer(2, CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN + 3, 0x3333);
	make_timer(3, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 4, 0x4444);
	make_timer(4, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 5, 0x5555);
	arm(0, 30, 30);
	arm(1, 100000, 0);
	arm(2, 25, 25);
	arm(4, 1, 1);
	set_itimer(ITIMER_REAL, 40, 40);
	set_itimer(ITIMER_VIRTUAL, 150, 30);
	set_itimer(ITIMER_PROF, 100, 40);
}

static long long ts_ms(const struct timespec *ts)
{
	return ts->tv_sec * 1000LL + ts->tv_nsec / 1000000;
}

/* Checks timer k: interval exactly interval_ms, remaining in (lo, hi] ms. */
static void check_timer(int k, long interval_ms, long lo, long hi)
{
	struct itimerspec its;
	long long v, iv;

	if (timer_gettime(tid_[k], &its)) {
		prog_record_failure("timer_gettime on t%d (id %d): %s", k + 1, timer_ids[k],
				    strerror(errno));
		return;
	}
	v = its.it_value.tv_sec * 1000000000LL + its.it_value.tv_nsec;
	iv = its.it_interval.tv_sec * 1000000000LL + its.it_interval.tv_nsec;
	CHECK(iv == interval_ms * 1000000LL, "t%d: interval %lld ns, expected %ld ms", k + 1, iv,
	      interval_ms);
	if (hi == 0)
		CHECK(v == 0, "t%d: disarmed timer has %lld ns left", k + 1, v);
	else
		CHECK(v > lo * 1000000LL && v <= hi * 1000000LL,
		      "t%d: %lld ms left, expected (%ld, %ld]", k + 1, ts_ms(&its.it_value), lo, hi);
}

static void check_itimer(int which, const char *name, long interval_ms, long hi_ms)
{
	struct itimerval v;
	long long val, iv;

	getitimer(which, &v);
	val = v.it_value.tv_sec * 1000000LL + v.it_value.tv_usec;
	iv = v.it_interval.tv_sec * 1000000LL + v.it_interval.tv_usec;
	CHECK(iv == interval_ms * 1000, "%s: interval %lld us, expected %ld ms", name, iv,
	      interval_ms);
	CHECK(val > 0 && val <= hi_ms * 1000, "%s: %lld us left, expected (0, %ld ms]", name, val,
	      hi_ms);
}

/* Compares the ids listed in /proc/self/timers with ours; t3 -> W's tid. */
static void check_proc_timers(void)
{
	static char buf[8192];
	char want[64], *p;
	int k, n = 0, id;

	if (prog_read_file("/proc/self/timers", buf, sizeof(buf)) < 0) {
		prog_record_failure("/proc/self/timers: %s", strerror(errno));
		return;
	}
	for (p = buf; (p = strstr(p, "ID: ")); p++) {
		if (p != buf && p[-1] != '\n')
			continue;	/* ClockID: */
		id = atoi(p + 4);
		for (k = 0; k < NT && timer_ids[k] != id; k++)
			;
		CHECK(k < NT, "/proc/self/timers lists id %d, not one of ours", id);
		n++;
	}
	CHECK(n == NT, "/proc/self/timers lists %d timers, expected %d", n, NT);
	snprintf(want, sizeof(want), "signal/tid.%d", worker_tid);
	CHECK(strstr(buf, want), "/proc/self/timers: t3 does not notify '%s'", want);
}

static void burn_cpu(long ms)
{
	struct timespec t0, t;
	volatile uint64_t x = 1;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	do {
		int i;

		for (i = 0; i < 100000; i++)
			x = x * 6364136223846793005ULL + 1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	} while (ts_ms(&t) - ts_ms(&t0) < ms);
}

/* Delivers what is pending of SIGRTMIN+5 (blocked everywhere) now. */
static void deliver_t5(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 5);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * t5 after restore.  Not checked: the si_overrun of the signal that was
 * queued at dump time.  That count lives in the kernel's timer (it is
 * computed when the signal is dequeued), no interface lets userspace read
 * it for a queued signal (timer_getoverrun() reports the last delivered
 * one) or set it, and a signal re-queued with rt_sigqueueinfo() is not
 * tied to the timer, so on this kernel it cannot be carried over.  What
 * is restorable is checked: the signal arrives with its si_value, the
 * timer keeps firing, and while its signal is blocked after restore the
 * overruns accumulate again (300 ms at 1 ms: si_overrun >= 100).
 */
static void check_overruns(void)
{
	int c5;

	deliver_t5();
	CHECK(cnt[5] >= 1 && last_val[5] == 0x5555, "t5: %d deliveries (value %#x)", cnt[5],
	      last_val[5]);
	c5 = cnt[5];
	tree_sleep_ms(300);
	deliver_t5();
	CHECK(cnt[5] > c5 && last_val[5] == 0x5555,
	      "t5: %d deliveries after 300 ms blocked (value %#x)", cnt[5] - c5, last_val[5]);
	CHECK(last_overrun[5] >= 100, "t5: si_overrun %d after 300 ms blocked, expected >= 100",
	      last_overrun[5]);
	prog_say("t5 overrun %d\n", last_overrun[5]);
}

static void check_firing(void)
{
	int c1 = cnt[1], c3 = cnt[3], ca = alrm;

	tree_sleep_ms(400);
	CHECK(cnt[1] - c1 >= 5 && last_val[1] == 0x1111, "t1 fired %d times in 400 ms (value %#x)",
	      cnt[1] - c1, last_val[1]);
	CHECK(cnt[3] - c3 >= 5 && last_val[3] == 0x3333, "t3 fired %d times in 400 ms (value %#x)",
	      cnt[3] - c3, last_val[3]);
	CHECK(wrong_tid[3] == 0, "t3's signal arrived %d times outside thread %d", wrong_tid[3],
	      worker_tid);
	CHECK(alrm - ca >= 4, "ITIMER_REAL fired %d times in 400 ms", alrm - ca);
	CHECK(cnt[2] == 0, "t2 (100 s) fired already");

	check_overruns();
	arm(3, 10, 0);
	tree_sleep_ms(200);
	CHECK(cnt[4] == 1 && last_val[4] == 0x4444, "t4 fired %d times after arming (value %#x)",
	      cnt[4], last_val[4]);

	burn_cpu(400);
	CHECK(vtalrm >= 3, "ITIMER_VIRTUAL fired %d times in 400 ms of CPU", vtalrm);
	CHECK(prof >= 3, "ITIMER_PROF fired %d times in 400 ms of CPU", prof);
}

int main(int argc, char **argv)
{
	int k;

	prog_init(argc, argv, "timers");
	setup();
	tree_sleep_ms(300);
	check_proc_timers();
	if (prog_failure[0])
		prog_fail("before ready: %s", prog_failure);
	prog_say("timer ids %d %d %d %d %d worker %d\n", timer_ids[0], timer_ids[1],
		 timer_ids[2], timer_ids[3], timer_ids[4], worker_tid);
	prog_ready();
	prog_wait_go();

	check_timer(0, 30, 0, 30);
	check_timer(1, 0, 60000, 100000);
	check_timer(2, 25, 0, 25);
	check_timer(3, 0, 0, 0);
	check_timer(4, 1, -1, 1);
	check_proc_timers();
	check_itimer(ITIMER_REAL, "ITIMER_REAL", 40, 40);
	/* the kernel adds one tick to a CPU itimer's first expiry */
	check_itimer(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", 30, 150 + 20);
	check_itimer(ITIMER_PROF, "ITIMER_PROF", 40, 100 + 20);
	check_firing();
	for (k = 0; k < NT; k++)
		timer_delete(tid_[k]);
	set_itimer(ITIMER_REAL, 0, 0);
	set_itimer(ITIMER_VIRTUAL, 0, 0);
	set_itimer(ITIMER_PROF, 0, 0);
	quit = 1;
	prog_finish();
}
