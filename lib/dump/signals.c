/*
 * Signal state: pending queues (PTRACE_PEEKSIGINFO, nothing dequeued),
 * dispositions and interval timers (from the injected syscalls), POSIX
 * timers (timers.c), the signals_entry record.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>

#define LOG_PREFIX "dump/signals: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

#define PEEK_BATCH 32
#define PEEK_SHARED 1 /* PTRACE_PEEKSIGINFO_SHARED */

struct peeksiginfo_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

/*
 * Copies the raw siginfo of every queued signal of tid (the thread's own
 * queue, or the process-wide one if shared) into q.  0 or -errno (logged).
 */
int peek_siginfo(pid_t tid, bool shared, struct siginfo_queue *q)
{
	struct peeksiginfo_args a = { 0, shared ? PEEK_SHARED : 0, PEEK_BATCH };
	struct siginfo_raw *nv;
	long n;

	q->v = NULL;
	q->n = 0;
	for (;;) {
		nv = realloc(q->v, (q->n + PEEK_BATCH) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		q->v = nv;
		a.off = q->n;
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, q->v + q->n);
		if (n < 0) {
			pr_perror("pid %d: cannot peek %s pending signals", tid,
				  shared ? "shared" : "private");
			return -errno;
		}
		if (n == 0)
			break;
		q->n += n;
	}
	if (!q->n) { /* the usual case: keep no batch per thread (a tree of 1000) */
		free(q->v);
		q->v = NULL;
	}
	return 0;
}

/* Process-wide pending signals.  0 or -errno (logged). */
int collect_signals(struct dump_task *t)
{
	return peek_siginfo(t->pid, true, &t->shared_pending);
}

static void fill_actions(struct dump_task *t, SigactionEntry *acts, SigactionEntry **pacts,
			 size_t *n)
{
	int sig;

	*n = 0;
	for (sig = 1; sig <= NSIG_KERNEL; sig++) {
		const struct ksigaction *k = &t->rt.act[sig];
		SigactionEntry *a = &acts[*n];

		if (!t->rt.act_valid[sig])
			continue;
		sigaction_entry__init(a);
		PB_SET(a, signo, sig);
		PB_SET(a, handler, k->handler);
		PB_SET(a, flags, k->flags);
		PB_SET(a, restorer, k->restorer);
		PB_SET(a, mask, k->mask);
		pacts[(*n)++] = a;
	}
}

static uint64_t tv_us(int64_t sec, int64_t usec)
{
	return (uint64_t)sec * 1000000u + (uint64_t)usec;
}

static void fill_itimers(struct dump_task *t, ItimerEntry it[3], ItimerEntry *pit[3])
{
	int i;

	for (i = 0; i < 3; i++) {
		const struct kitimerval *k = &t->rt.itimers[i];

		itimer_entry__init(&it[i]);
		PB_SET(&it[i], which, i); /* ITIMER_REAL, _VIRTUAL, _PROF */
		PB_SET(&it[i], value_us, tv_us(k->value_sec, k->value_usec));
		PB_SET(&it[i], interval_us, tv_us(k->interval_sec, k->interval_usec));
		pit[i] = &it[i];
	}
}

/* The signals_entry of t.  0 or -errno (logged). */
int write_signals(struct dump_op *op, struct dump_task *t)
{
	SignalsEntry se = SIGNALS_ENTRY__INIT;
	SigactionEntry acts[NSIG_KERNEL], *pacts[NSIG_KERNEL];
	ItimerEntry it[3], *pit[3];
	SiginfoEntry *pend, **ppend;
	PosixTimerEntry *tm, **ptm;
	int ret;

	ret = siginfo_entries(&t->shared_pending, &pend, &ppend);
	if (ret)
		return ret;
	ret = timer_entries(t, &tm, &ptm);
	if (ret) {
		free(pend);
		free(ppend);
		return ret;
	}
	PB_SET(&se, pid, t->vpid);
	fill_actions(t, acts, pacts, &se.n_actions);
	se.actions = pacts;
	se.shared_pending = ppend;
	se.n_shared_pending = t->shared_pending.n;
	fill_itimers(t, it, pit);
	se.itimers = pit;
	se.n_itimers = 3;
	se.timers = ptm;
	se.n_timers = t->n_timers;
	ret = img_write_msg(op->w, IMG_REC_SIGNALS, &se.base);
	if (ret)
		pr_err("pid %d: cannot write the signals record: %s\n", t->pid, strerror(-ret));
	free(pend);
	free(ppend);
	free(tm);
	free(ptm);
	return ret;
}
