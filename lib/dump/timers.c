/*
 * POSIX timers (timer_create): the list, clock and notification from
 * /proc/PID/timers; time left, interval and overrun count from
 * timer_gettime / timer_getoverrun injected in the process's window
 * (remote.c); the posix_timer_entry list of signals_entry.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define LOG_PREFIX "dump/timers: "
#include "log.h"
#include "dump/dump.h"
#include "util/inject.h"

/* Kernel struct itimerspec (64-bit). */
struct kitimerspec {
	int64_t interval_sec, interval_nsec;
	int64_t value_sec, value_nsec;
};

/* The timers of live t from /proc/PID/timers.  0 or -errno (logged). */
int collect_timers(struct dump_task *t)
{
	struct proc_timer *pt = NULL;
	char *text;
	size_t n = 0, i;
	int ret;

	ret = proc_read_file(t->pid, "timers", &text, NULL);
	if (ret == -ENOENT)
		return 0; /* no CONFIG_CHECKPOINT_RESTORE: no timers to see */
	if (ret) {
		pr_err("pid %d: cannot read /proc/%d/timers: %s\n", t->pid, t->pid, strerror(-ret));
		return ret;
	}
	ret = proc_parse_timers(text, &pt, &n);
	free(text);
	if (ret) {
		pr_err("pid %d: cannot parse /proc/%d/timers\n", t->pid, t->pid);
		return ret;
	}
	t->timers = calloc(n + 1, sizeof(*t->timers));
	if (!t->timers) {
		free(pt);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		t->timers[i].pt = pt[i];
	t->n_timers = n;
	free(pt);
	return 0;
}

static uint64_t ts_ns(int64_t sec, int64_t nsec)
{
	return (uint64_t)sec * 1000000000ull + (uint64_t)nsec;
}

size_t timers_area_len(size_t n)
{
	return n * sizeof(struct kitimerspec);
}

/* timer_gettime and timer_getoverrun of timers [from, from + n) into area. */
static int timers_batch(struct inject *in, struct dump_task *t, uint64_t area, size_t from,
			size_t n)
{
	struct kitimerspec its[n];
	unsigned long a[6] = { 0 };
	size_t i;
	long res;
	int ret = 0;

	for (i = 0; !ret && i < n; i++) {
		struct dump_timer *dt = &t->timers[from + i];

		a[0] = (unsigned long)(long)dt->pt.id;
		a[1] = area + i * sizeof(its[0]);
		ret = inject_syscall(in, &res, SYS_timer_gettime, a);
		if (!ret && res) {
			pr_err("pid %d: timer_gettime(%d): %s\n", t->pid, dt->pt.id,
			       strerror((int)-res));
			return (int)res;
		}
		ret = ret ?: inject_syscall(in, &res, SYS_timer_getoverrun, a);
		dt->overrun = res < 0 ? 0 : res;
	}
	if (ret) {
		pr_err("pid %d: injected timer call failed: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = inject_read(in->tid, area, its, n * sizeof(its[0]));
	if (ret) {
		pr_err("pid %d: cannot read the timer values: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	for (i = 0; i < n; i++) {
		t->timers[from + i].value_ns = ts_ns(its[i].value_sec, its[i].value_nsec);
		t->timers[from + i].interval_ns = ts_ns(its[i].interval_sec, its[i].interval_nsec);
	}
	return 0;
}

/*
 * In t's process window: the values of every timer, in batches that fit
 * the area_len bytes at area.  0 or -errno (logged).
 */
int remote_timers(struct inject *in, struct dump_task *t, uint64_t area, size_t area_len)
{
	size_t per = area_len / sizeof(struct kitimerspec), i, n;
	int ret = 0;

	if (t->n_timers && !per)
		return -EINVAL;
	for (i = 0; !ret && i < t->n_timers; i += n) {
		n = t->n_timers - i < per ? t->n_timers - i : per;
		ret = timers_batch(in, t, area, i, n);
	}
	return ret;
}

/* The posix_timer_entry array of t; *ents and *out must be freed. */
/* A SIGEV_THREAD_ID target (a thread of t) as the image records it. */
static pid_t thread_vtid(const struct dump_task *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		if (t->threads[i].tid == tid)
			return t->threads[i].vtid;
	return tid;
}

int timer_entries(const struct dump_task *t, PosixTimerEntry **ents, PosixTimerEntry ***out)
{
	size_t i;

	*ents = calloc(t->n_timers + 1, sizeof(**ents));
	*out = calloc(t->n_timers + 1, sizeof(**out));
	if (!*ents || !*out) {
		free(*ents);
		free(*out);
		return -ENOMEM;
	}
	for (i = 0; i < t->n_timers; i++) {
		const struct dump_timer *dt = &t->timers[i];
		PosixTimerEntry *e = &(*ents)[i];

		posix_timer_entry__init(e);
		PB_SET(e, id, dt->pt.id);
		PB_SET(e, clock_id, (uint32_t)dt->pt.clock_id);
		PB_SET(e, notify, dt->pt.notify);
		PB_SET(e, signo, dt->pt.signo);
		PB_SET(e, sigval, dt->pt.sigval);
		if (dt->pt.notify & SIGEV_THREAD_ID)
			PB_SET(e, notify_tid, thread_vtid(t, dt->pt.notify_pid));
		PB_SET(e, value_ns, dt->value_ns);
		PB_SET(e, interval_ns, dt->interval_ns);
		PB_SET(e, overrun, dt->overrun);
		(*out)[i] = e;
	}
	return 0;
}
