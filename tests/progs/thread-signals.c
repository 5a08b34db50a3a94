/*
 * thread-signals: signals pending per thread and per thread group across a
 * dump.  With SIGUSR2, SIGRTMIN+1 and SIGRTMIN+2 blocked in every thread
 * (main + workers 0-3), before "ready" it queues:
 *
 *   to the thread group  sigqueue(SIGRTMIN+1, 101), sigqueue(SIGRTMIN+1,
 *                        102), kill(SIGUSR2)
 *   to one thread        pthread_sigqueue(SIGRTMIN+2) with value 200 to main,
 *                        201, 202, 203 to workers 1-3 (none to worker 0);
 *                        tgkill(SIGUSR2) to worker 2
 *
 * After "go" every thread checks sigpending() (worker 0 must not see
 * SIGRTMIN+2), then one thread at a time unblocks one signal and re-blocks
 * it, and the handler log must show exactly the expected deliveries, in
 * that thread, with si_value, si_code and si_pid:
 *   main SIGRTMIN+2 -> 200; worker 0 SIGUSR2 -> the group's (SI_USER);
 *   workers 1-3 SIGRTMIN+2 -> 201-203; worker 2 SIGUSR2 -> its own
 *   (SI_TKILL); worker 3 SIGRTMIN+1 -> 101 then 102 (SI_QUEUE).
 * Finally nothing may be pending any more.
 */
#include <pthread.h>
#include "tree.h"

#define NWORKERS 4
#define MAXLOG 16

enum { CMD_NONE, CMD_PENDING, CMD_UNBLOCK, CMD_QUIT };

struct worker {
	pthread_t th;
	pid_t tid;
	volatile int cmd, arg, done, ready;
	uint64_t pending;	/* result of CMD_PENDING */
};

struct delivery {
	pid_t tid, pid;
	int sig, value, code;
};

static struct worker w[NWORKERS];
static struct delivery dlog[MAXLOG];
static volatile int nlog;
static int sig_rt1, sig_rt2;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int i = __atomic_fetch_add(&nlog, 1, __ATOMIC_SEQ_CST);

	(void)uc;
	if (i >= MAXLOG)
		return;
	dlog[i] = (struct delivery){ gettid(), si->si_pid, sig, si->si_value.sival_int,
				     si->si_code };
}

static uint64_t pending_bits(void)
{
	sigset_t set;
	uint64_t v;

	sigpending(&set);
	memcpy(&v, &set, sizeof(v));
	return v;
}

/* Unblocks sig in the calling thread (delivering what is pending), re-blocks. */
static void unblock_once(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;

	me->tid = gettid();
	__atomic_store_n(&me->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		int cmd = __atomic_load_n(&me->cmd, __ATOMIC_ACQUIRE);

		if (cmd == CMD_NONE) {
			tree_sleep_ms(1);
			continue;
		}
		if (cmd == CMD_QUIT)
			return NULL;
		if (cmd == CMD_PENDING)
			me->pending = pending_bits();
		else
			unblock_once(me->arg);
		me->cmd = CMD_NONE;
		__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	}
}

/* Runs cmd in worker k (k < 0: the main thread) and waits for it. */
static uint64_t run_in(int k, int cmd, int sig)
{
	long long end = tree_now_ms() + 5000;

	if (k < 0) {
		if (cmd == CMD_PENDING)
			return pending_bits();
		unblock_once(sig);
		return 0;
	}
	w[k].done = 0;
	w[k].arg = sig;
	__atomic_store_n(&w[k].cmd, cmd, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&w[k].done, __ATOMIC_ACQUIRE) && tree_now_ms() < end)
		tree_sleep_ms(1);
	if (!w[k].done)
		prog_fail("worker %d (tid %d) does not respond", k, w[k].tid);
	return w[k].pending;
}

static int bit(uint64_t set, int sig)
{
	return (set >> (sig - 1)) & 1;
}

static pid_t tid_of(int k)
{
	return k < 0 ? getpid() : w[k].tid;
}

/*
 * Has thread k unblock sig once and checks the log holds exactly the
 * deliveries values[0..n) of sig in that thread with si_code code.
 */
static void expect_delivery(int k, int sig, int code, const int *values, int n)
{
	int i;

	nlog = 0;
	run_in(k, CMD_UNBLOCK, sig);
	CHECK(nlog == n, "thread %d (tid %d) got %d deliveries of signal %d, expected %d", k,
	      tid_of(k), nlog, sig, n);
	for (i = 0; i < n && i < nlog; i++) {
		struct delivery *d = &dlog[i];

		CHECK(d->tid == tid_of(k) && d->sig == sig,
		      "delivery %d: signal %d in tid %d, expected %d in tid %d", i, d->sig,
		      d->tid, sig, tid_of(k));
		CHECK(d->code == code, "signal %d in thread %d: si_code %d, expected %d", sig, k,
		      d->code, code);
		CHECK(d->pid == getpid(), "signal %d in thread %d: si_pid %d, expected %d", sig,
		      k, d->pid, getpid());
		if (code == SI_QUEUE)
			CHECK(d->value == values[i], "signal %d in thread %d: value %d, expected %d",
			      sig, k, d->value, values[i]);
	}
}

static void check_pending_before(void)
{
	uint64_t p;
	int k;

	for (k = -1; k < NWORKERS; k++) {
		p = run_in(k, CMD_PENDING, 0);
		CHECK(bit(p, sig_rt1), "thread %d: group SIGRTMIN+1 not pending", k);
		CHECK(bit(p, SIGUSR2), "thread %d: group SIGUSR2 not pending", k);
		if (k == 0)
			CHECK(!bit(p, sig_rt2),
			      "worker 0 sees SIGRTMIN+2 pending (a thread's signal became the group's?)");
		else
			CHECK(bit(p, sig_rt2), "thread %d: its SIGRTMIN+2 not pending", k);
	}
}

static void setup_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	sig_rt1 = SIGRTMIN + 1;
	sig_rt2 = SIGRTMIN + 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) || sigaction(sig_rt1, &sa, NULL) ||
	    sigaction(sig_rt2, &sa, NULL))
		prog_fail("sigaction: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, sig_rt1);
	sigaddset(&set, sig_rt2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void queue_signals(void)
{
	union sigval v;
	int k;

	v.sival_int = 101;
	sigqueue(getpid(), sig_rt1, v);
	v.sival_int = 102;
	sigqueue(getpid(), sig_rt1, v);
	kill(getpid(), SIGUSR2);
	v.sival_int = 200;
	pthread_sigqueue(pthread_self(), sig_rt2, v);
	for (k = 1; k < NWORKERS; k++) {
		v.sival_int = 200 + k;
		if (pthread_sigqueue(w[k].th, sig_rt2, v))
			prog_fail("pthread_sigqueue: %s", strerror(errno));
	}
	if (syscall(SYS_tgkill, getpid(), w[2].tid, SIGUSR2))
		prog_fail("tgkill: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	static const int v200[] = { 200 }, v201[] = { 201 }, v202[] = { 202 },
			 v203[] = { 203 }, v101[] = { 101, 102 };
	uint64_t p;
	int k, ret;

	prog_init(argc, argv, "thread-signals");
	setup_signals();
	for (k = 0; k < NWORKERS; k++) {
		ret = pthread_create(&w[k].th, NULL, worker_main, &w[k]);
		if (ret)
			prog_fail("pthread_create: %s", strerror(ret));
		while (!__atomic_load_n(&w[k].ready, __ATOMIC_ACQUIRE))
			tree_sleep_ms(1);
	}
	queue_signals();
	CHECK(nlog == 0, "%d signals delivered while blocked", nlog);
	check_pending_before();	/* once before the dump, so the program is sound */
	if (prog_failure[0])
		prog_fail("before ready: %s", prog_failure);
	prog_ready();
	prog_wait_go();

	CHECK(nlog == 0, "%d signals delivered while blocked", nlog);
	check_pending_before();
	expect_delivery(-1, sig_rt2, SI_QUEUE, v200, 1);
	expect_delivery(0, SIGUSR2, SI_USER, NULL, 1);
	expect_delivery(1, sig_rt2, SI_QUEUE, v201, 1);
	expect_delivery(2, sig_rt2, SI_QUEUE, v202, 1);
	expect_delivery(3, sig_rt2, SI_QUEUE, v203, 1);
	expect_delivery(2, SIGUSR2, SI_TKILL, NULL, 1);
	expect_delivery(3, sig_rt1, SI_QUEUE, v101, 2);
	for (k = -1; k < NWORKERS; k++) {
		p = run_in(k, CMD_PENDING, 0);
		CHECK(!bit(p, SIGUSR2) && !bit(p, sig_rt1) && !bit(p, sig_rt2),
		      "thread %d: signals still pending at the end (%#llx)", k,
		      (unsigned long long)p);
	}
	for (k = 0; k < NWORKERS; k++) {
		w[k].cmd = CMD_QUIT;
		pthread_join(w[k].th, NULL);
	}
	prog_finish();
}
