/*
 * POSIX timers (timer_create), by injection once every thread exists (a
 * SIGEV_THREAD_ID timer names one).  The process must get its old timer
 * ids back: with PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17+) timer_create
 * takes the id from *timerid; without it ids come out in order from 0, so
 * timers are created in id order and the gaps filled with timers deleted
 * afterwards.  Timers are armed with the time that was left and their
 * interval.  The overrun count is not settable: a queued timer signal
 * keeps its si_overrun in the requeued siginfo, the counter itself starts
 * from 0.
 */
#define LOG_PREFIX "restore/timers: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>

#include "log.h"
#include "restore/restore.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#define RESTORE_IDS_OFF 0
#define RESTORE_IDS_ON 1
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif
#define MAX_TIMER_ID (1u << 20) /* more gaps than that: refuse */

/* struct sigevent as the kernel reads it (64 bytes). */
struct ksigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

struct ktimer_args {
	struct ksigevent ev;
	int32_t id;
	int32_t pad;
	struct timespec it[2]; /* itimerspec: interval, value */
};

#define ARGS(proc) ((proc)->img->scratch + RST_SCRATCH_DATA + RST_SCR_GROUPS)

static int cmp_id(const void *a, const void *b)
{
	const PosixTimerEntry *x = *(PosixTimerEntry *const *)a;
	const PosixTimerEntry *y = *(PosixTimerEntry *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* timer_create with the id in *timerid (honoured or not); the id or -errno. */
static long create(struct rst_proc *proc, const PosixTimerEntry *t)
{
	struct ktimer_args a = { .id = (int32_t)t->id };
	uint64_t base = ARGS(proc);
	long r;
	int ret;

	a.ev.value = t->sigval;
	a.ev.signo = (int32_t)t->signo;
	a.ev.notify = (int32_t)t->notify;
	a.ev.tid = (int32_t)t->notify_tid;
	if (proc->img->in_place && t->notify_tid == proc->task->pid)
		a.ev.tid = proc->pid; /* vmad_undump: the main thread is the caller's pid */
	ret = inject_write(proc->pid, base, &a, sizeof(a));
	if (ret)
		return ret;
	r = rst_inject(proc, "timer_create", SYS_timer_create, t->clock_id, base,
		       base + offsetof(struct ktimer_args, id), 0, 0, 0);
	if (r < 0)
		return r;
	ret = inject_read(proc->pid, base + offsetof(struct ktimer_args, id), &a.id, sizeof(a.id));
	return ret ? ret : a.id;
}

static int arm(struct rst_proc *proc, const PosixTimerEntry *t)
{
	struct timespec it[2] = {
		{ t->interval_ns / 1000000000, t->interval_ns % 1000000000 },
		{ t->value_ns / 1000000000, t->value_ns % 1000000000 },
	};
	uint64_t base = ARGS(proc) + offsetof(struct ktimer_args, it);
	long r;
	int ret;

	if (!t->value_ns)
		return 0;
	ret = inject_write(proc->pid, base, it, sizeof(it));
	if (ret)
		return ret;
	r = rst_inject(proc, "timer_settime", SYS_timer_settime, t->id, 0, base, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Creates timers in id order, filling gaps with dummies deleted at the end. */
static int create_in_order(struct rst_proc *proc, PosixTimerEntry **v, size_t n)
{
	PosixTimerEntry dummy = POSIX_TIMER_ENTRY__INIT;
	uint32_t next = 0;
	size_t i;
	long r;

	dummy.clock_id = CLOCK_MONOTONIC;
	dummy.notify = SIGEV_NONE;
	for (i = 0; i < n; i++) {
		if (v[i]->id > MAX_TIMER_ID) {
			pr_err("pid %d: timer id %u cannot be recreated without "
			       "PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17)\n",
			       proc->pid, v[i]->id);
			return -ENOTSUP;
		}
		for (; next < v[i]->id; next++) {
			r = create(proc, &dummy);
			if (r < 0)
				return r;
		}
		r = create(proc, v[i]);
		if (r < 0)
			return r;
		if (r != v[i]->id) {
			pr_err("pid %d: timer_create gave id %ld, not %u, and the kernel lacks "
			       "PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17)\n",
			       proc->pid, r, v[i]->id);
			return -ENOTSUP;
		}
		next = v[i]->id + 1;
	}
	for (i = 0, next = 0; i < n; i++)
		for (; next <= v[i]->id; next++)
			if (next != v[i]->id)
				rst_inject(proc, "timer_delete", SYS_timer_delete, next, 0, 0, 0, 0,
					   0);
	return 0;
}

/* Recreates and arms every POSIX timer of proc.  Returns 0/-errno. */
int timers_restore(struct rst_proc *proc)
{
	PosixTimerEntry **v;
	size_t i, n = proc->sigs ? proc->sigs->n_timers : 0;
	bool by_id;
	long r;
	int ret = 0;

	if (!n)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, proc->sigs->timers, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_id);
	r = rst_inject(proc, NULL, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_ON, 0, 0, 0,
		       0);
	by_id = r == 0;
	if (by_id) {
		for (i = 0; !ret && i < n; i++) {
			r = create(proc, v[i]);
			if (r >= 0 && r != v[i]->id)
				r = -EEXIST;
			if (r < 0) {
				pr_err("pid %d: cannot recreate timer %u: %s\n", proc->pid,
				       v[i]->id, strerror((int)-r));
				ret = (int)r;
			}
		}
		rst_inject(proc, NULL, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_OFF, 0,
			   0, 0, 0);
	} else {
		ret = create_in_order(proc, v, n);
	}
	for (i = 0; !ret && i < n; i++)
		ret = arm(proc, v[i]);
	free(v);
	return ret;
}
