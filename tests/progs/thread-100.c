/*
 * thread-100: one process with N threads besides the main one (default
 * 100; usage: thread-100 OUTFILE [N]), each with a __thread value, a name
 * and a counter.  On "go" the main thread checks /proc/self/task lists
 * exactly the same tids and every counter moved since "ready", then every
 * thread checks its own gettid(), TLS value and name and counts on; PASS
 * only if all did.
 */
#include <dirent.h>
#include <pthread.h>
#include "tree.h"

#define MAXT 1000

struct worker {
	int idx;
	pthread_t th;
	pid_t tid;
	volatile uint64_t count;
	uint64_t at_ready;
	volatile int ready, done;
	char why[200];
};

static struct worker w[MAXT];
static __thread uint64_t tls_val;
static volatile int stop;

static void *thread_main(void *arg)
{
	struct worker *me = arg;
	char name[16], want[16];
	uint64_t c;
	int i;

	me->tid = gettid();
	tls_val = prog_pattern(77, me->idx);
	snprintf(want, sizeof(want), "vx-t%d", me->idx);
	pthread_setname_np(pthread_self(), want);
	__atomic_store_n(&me->ready, 1, __ATOMIC_RELEASE);
	while (!stop) {
		me->count++;
		tree_sleep_ms(20);
	}
	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (gettid() != me->tid)
		snprintf(me->why, sizeof(me->why), "thread %d: tid %d, was %d", me->idx, gettid(),
			 me->tid);
	else if (tls_val != prog_pattern(77, me->idx))
		snprintf(me->why, sizeof(me->why), "thread %d: TLS %#llx", me->idx,
			 (unsigned long long)tls_val);
	else if (strcmp(name, want))
		snprintf(me->why, sizeof(me->why), "thread %d: name '%s', was '%s'", me->idx, name,
			 want);
	c = me->count;
	for (i = 0; i < 5; i++) {
		me->count++;
		tree_sleep_ms(1);
	}
	if (!me->why[0] && me->count != c + 5)
		snprintf(me->why, sizeof(me->why), "thread %d: count %llu after 5 steps from %llu",
			 me->idx, (unsigned long long)me->count, (unsigned long long)c);
	__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Checks /proc/self/task holds exactly our main thread and the n workers. */
static void check_tasks(int n)
{
	struct dirent *e;
	int seen = 0, i, tid;
	DIR *d = opendir("/proc/self/task");

	if (!d) {
		prog_record_failure("/proc/self/task: %s", strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		tid = atoi(e->d_name);
		seen++;
		if (tid == getpid())
			continue;
		for (i = 0; i < n && w[i].tid != tid; i++)
			;
		CHECK(i < n, "unknown task %d in /proc/self/task", tid);
	}
	closedir(d);
	CHECK(seen == n + 1, "%d tasks in /proc/self/task, expected %d", seen, n + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 100, i, ret;
	long long end;

	prog_init(argc, argv, "thread-100");
	if (n < 1 || n > MAXT)
		prog_fail("N must be 1..%d", MAXT);
	for (i = 0; i < n; i++) {
		w[i].idx = i;
		ret = pthread_create(&w[i].th, NULL, thread_main, &w[i]);
		if (ret)
			prog_fail("pthread_create %d: %s", i, strerror(ret));
	}
	for (i = 0; i < n; i++)
		while (!__atomic_load_n(&w[i].ready, __ATOMIC_ACQUIRE))
			tree_sleep_ms(1);
	tree_sleep_ms(50);
	for (i = 0; i < n; i++)
		w[i].at_ready = w[i].count;
	prog_ready();
	prog_wait_go();

	check_tasks(n);
	for (i = 0; i < n; i++)
		CHECK(w[i].count > w[i].at_ready, "thread %d (tid %d): count %llu, %llu at ready", i,
		      w[i].tid, (unsigned long long)w[i].count, (unsigned long long)w[i].at_ready);
	stop = 1;
	end = tree_now_ms() + 10000;
	for (i = 0; i < n; i++) {
		while (!__atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE) && tree_now_ms() < end)
			tree_sleep_ms(1);
		if (!w[i].done) {
			prog_record_failure("thread %d (tid %d) did not finish", i, w[i].tid);
			continue;
		}
		CHECK(!w[i].why[0], "%s", w[i].why);
		pthread_join(w[i].th, NULL);
	}
	prog_finish();
}
