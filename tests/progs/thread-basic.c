/*
 * thread-basic: one process with 8 threads besides the main one, each with
 * per-thread state of its own: a __thread int and string, a signal mask
 * (SIGRTMIN+i blocked, SIGWINCH too in odd threads), an alternate signal
 * stack, a name (pthread_setname_np), a nice value (setpriority on its
 * tid).  Thread 0 waits in pthread_cond_wait, thread 1 in FUTEX_WAIT,
 * thread 2 loops in nanosleep, thread 3 blocks in read() on a pipe, threads
 * 4-7 count.
 *
 * On "go" the main thread checks from outside (tids in /proc/self/task,
 * names in .../comm, nice with getpriority(tid), waiters not woken yet,
 * counters advanced since "ready"), then wakes everyone: each thread
 * checks its own tid (gettid), TLS, mask, sigaltstack, name and nice,
 * that it counts / that its wakeup carried the expected data, and reports.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <sys/resource.h>
#include "tree.h"

#define NTHREADS 8
#define ROLE_COND 0
#define ROLE_FUTEX 1
#define ROLE_SLEEP 2
#define ROLE_READ 3

struct worker {
	int idx;
	pthread_t th;
	pid_t tid;
	char name[16];
	int nice;
	uint64_t mask;
	stack_t alt;
	volatile uint64_t count;
	uint64_t count_at_ready;
	volatile int ready, woke, done;
	char why[256];
};

static struct worker w[NTHREADS];
static __thread int tls_val;
static __thread char tls_str[32];
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cond_flag;
static volatile int futex_word;
static volatile int stop_flag;
static int wake_pipe[2];

static uint64_t mask_bits(void)
{
	sigset_t set;
	uint64_t v;

	pthread_sigmask(SIG_SETMASK, NULL, &set);
	memcpy(&v, &set, sizeof(v));
	return v;
}

__attribute__((format(printf, 2, 3))) static void set_fail(struct worker *me, const char *fmt, ...)
{
	va_list ap;

	if (me->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(me->why, sizeof(me->why), fmt, ap);
	va_end(ap);
}

/* Sets up the calling thread's own state (everything recorded in *me). */
static void thread_setup(struct worker *me)
{
	sigset_t set;

	me->tid = gettid();
	tls_val = 0x1000 + me->idx * 7;
	snprintf(tls_str, sizeof(tls_str), "tls of thread %d", me->idx);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + me->idx);
	if (me->idx & 1)
		sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	me->mask = mask_bits();
	me->alt.ss_size = 64 * 1024 + me->idx * 4096;
	me->alt.ss_sp = malloc(me->alt.ss_size);
	me->alt.ss_flags = 0;
	if (!me->alt.ss_sp || sigaltstack(&me->alt, NULL))
		prog_fail("thread %d: sigaltstack: %s", me->idx, strerror(errno));
	snprintf(me->name, sizeof(me->name), "vx-thr-%d", me->idx);
	pthread_setname_np(pthread_self(), me->name);
	me->nice = me->idx + 1;
	if (setpriority(PRIO_PROCESS, me->tid, me->nice))
		prog_fail("thread %d: setpriority: %s", me->idx, strerror(errno));
}

/* The thread's own checks after waking up. */
static void thread_check(struct worker *me)
{
	char name[32] = "";
	stack_t cur;
	int prio;

	if (gettid() != me->tid)
		set_fail(me, "thread %d: tid %d, was %d", me->idx, gettid(), me->tid);
	if (tls_val != 0x1000 + me->idx * 7)
		set_fail(me, "thread %d: TLS int %#x", me->idx, tls_val);
	snprintf(name, sizeof(name), "tls of thread %d", me->idx);
	if (strcmp(tls_str, name))
		set_fail(me, "thread %d: TLS string '%.30s'", me->idx, tls_str);
	if (mask_bits() != me->mask)
		set_fail(me, "thread %d: sigmask %#llx, was %#llx", me->idx,
			 (unsigned long long)mask_bits(), (unsigned long long)me->mask);
	if (sigaltstack(NULL, &cur) || cur.ss_sp != me->alt.ss_sp ||
	    cur.ss_size != me->alt.ss_size || cur.ss_flags != 0)
		set_fail(me, "thread %d: sigaltstack %p/%zu/%d, was %p/%zu", me->idx, cur.ss_sp,
			 cur.ss_size, cur.ss_flags, me->alt.ss_sp, me->alt.ss_size);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (strcmp(name, me->name))
		set_fail(me, "thread %d: name '%s', was '%s'", me->idx, name, me->name);
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (prio != me->nice)
		set_fail(me, "thread %d: nice %d, was %d", me->idx, prio, me->nice);
}

static void count_steps(struct worker *me, int n)
{
	uint64_t c = me->count;
	int i;

	for (i = 0; i < n; i++) {
		me->count++;
		tree_sleep_ms(1);
	}
	if (me->count != c + n)
		set_fail(me, "thread %d: count %llu after %d steps from %llu", me->idx,
			 (unsigned long long)me->count, n, (unsigned long long)c);
}

static void wait_role(struct worker *me)
{
	char buf[16] = "";
	ssize_t n;

	switch (me->idx) {
	case ROLE_COND:
		pthread_mutex_lock(&mtx);
		while (!cond_flag)
			pthread_cond_wait(&cv, &mtx);
		pthread_mutex_unlock(&mtx);
		break;
	case ROLE_FUTEX:
		while (futex_word == 0)
			syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		if (futex_word != 0x5a5a)
			set_fail(me, "futex word %#x after wakeup", futex_word);
		break;
	case ROLE_SLEEP:
		while (!stop_flag) {
			me->count++;
			tree_sleep_ms(20);
		}
		break;
	case ROLE_READ:
		n = read(wake_pipe[0], buf, 8);
		if (n != 8 || memcmp(buf, "wake-3!", 8))
			set_fail(me, "read from pipe returned %zd '%.8s' (%s)", n, buf,
				 n < 0 ? strerror(errno) : "");
		break;
	default:
		while (!stop_flag) {
			me->count++;
			tree_sleep_ms(1);
		}
	}
}

static void *thread_main(void *arg)
{
	struct worker *me = arg;

	thread_setup(me);
	__atomic_store_n(&me->ready, 1, __ATOMIC_RELEASE);
	wait_role(me);
	me->woke = 1;
	thread_check(me);
	if (me->idx >= ROLE_SLEEP && me->idx != ROLE_READ)
		count_steps(me, 10);
	__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Checks visible from the main thread before the waiters are woken. */
static void check_from_outside(void)
{
	char path[96], buf[64];
	int i, prio;

	for (i = 0; i < NTHREADS; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", w[i].tid);
		if (prog_read_file(path, buf, sizeof(buf)) < 0) {
			prog_record_failure("thread %d: tid %d gone", i, w[i].tid);
			continue;
		}
		buf[strcspn(buf, "\n")] = '\0';
		CHECK(!strcmp(buf, w[i].name), "thread %d: comm '%s', was '%s'", i, buf, w[i].name);
		prio = getpriority(PRIO_PROCESS, w[i].tid);
		CHECK(prio == w[i].nice, "thread %d: nice %d, was %d", i, prio, w[i].nice);
		CHECK(!w[i].woke, "thread %d woke up before go", i);
		if (i == ROLE_SLEEP || i > ROLE_READ)
			CHECK(w[i].count > w[i].count_at_ready,
			      "thread %d: count %llu, %llu at ready", i,
			      (unsigned long long)w[i].count,
			      (unsigned long long)w[i].count_at_ready);
	}
	for (i = ROLE_COND; i <= ROLE_READ; i++) {
		char st = tree_task_state(getpid(), w[i].tid);

		if (i != ROLE_SLEEP)
			CHECK(st == 'S', "waiter %d (tid %d) in state '%c', expected 'S'", i,
			      w[i].tid, st);
	}
}

static void wake_all(void)
{
	stop_flag = 1;
	pthread_mutex_lock(&mtx);
	cond_flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mtx);
	futex_word = 0x5a5a;
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	if (write(wake_pipe[1], "wake-3!", 8) != 8)
		prog_record_failure("write to wake pipe: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	long long end;
	int i, ret;

	prog_init(argc, argv, "thread-basic");
	tls_val = 0x777;
	if (pipe(wake_pipe))
		prog_fail("pipe: %s", strerror(errno));
	for (i = 0; i < NTHREADS; i++) {
		w[i].idx = i;
		ret = pthread_create(&w[i].th, NULL, thread_main, &w[i]);
		if (ret)
			prog_fail("pthread_create: %s", strerror(ret));
	}
	for (i = 0; i < NTHREADS; i++)
		while (!__atomic_load_n(&w[i].ready, __ATOMIC_ACQUIRE))
			tree_sleep_ms(1);
	tree_sleep_ms(50);	/* let the waiters block */
	for (i = 0; i < NTHREADS; i++)
		w[i].count_at_ready = w[i].count;
	prog_ready();
	prog_wait_go();

	CHECK(gettid() == getpid(), "main thread tid %d, pid %d", gettid(), getpid());
	CHECK(tls_val == 0x777, "main thread TLS %#x", tls_val);
	check_from_outside();
	wake_all();
	end = tree_now_ms() + 10000;
	for (i = 0; i < NTHREADS; i++) {
		while (!__atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE) && tree_now_ms() < end)
			tree_sleep_ms(1);
		if (!w[i].done) {
			prog_record_failure("thread %d (tid %d) did not finish after wakeup", i,
					    w[i].tid);
			continue;
		}
		CHECK(!w[i].why[0], "%s", w[i].why);
		pthread_join(w[i].th, NULL);
	}
	prog_finish();
}
