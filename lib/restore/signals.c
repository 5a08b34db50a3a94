/*
 * Signal state, set by the child on itself while every signal is blocked:
 * dispositions (raw rt_sigaction: the handler addresses need not be mapped
 * yet), the alternate stack and interval timers.  The pending queues are
 * queued again by injection (fork.c), the blocked mask set by core.c.
 */
#define LOG_PREFIX "restore/signals: "
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "log.h"
#include "restore/restore.h"

#define RST_NSIG 64

/* struct sigaction as the kernel takes it. */
struct rst_ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

static int restore_sigactions(struct rst_proc *proc)
{
	size_t i;

	for (i = 0; i < proc->sigs->n_actions; i++) {
		const SigactionEntry *a = proc->sigs->actions[i];
		struct rst_ksigaction ka = { a->handler, a->flags, a->restorer, a->mask };

		if (a->signo < 1 || a->signo > RST_NSIG || a->signo == SIGKILL ||
		    a->signo == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, a->signo, &ka, NULL, 8)) {
			pr_perror("signal %u: rt_sigaction", a->signo);
			return -errno;
		}
	}
	return 0;
}

static int restore_altstack(struct rst_proc *proc)
{
	const SigaltstackEntry *s = proc->core->altstack;
	stack_t ss;

	if (!s || (s->flags & SS_DISABLE) || !s->size)
		return 0;
	ss.ss_sp = (void *)(uintptr_t)s->sp;
	ss.ss_size = s->size;
	ss.ss_flags = s->flags & ~SS_ONSTACK;
	if (sigaltstack(&ss, NULL)) {
		pr_perror("sigaltstack %#llx+%llu", (unsigned long long)s->sp,
			  (unsigned long long)s->size);
		return -errno;
	}
	return 0;
}

/*
 * The setitimer() value for a recorded interval timer; false if it was off.
 * An ITIMER_REAL that has expired with its SIGALRM still pending reads as
 * 0 left with its interval (the kernel re-arms it when the signal is taken):
 * it is armed one interval ahead, and the SIGALRM is queued again.
 */
bool itimer_value(const ItimerEntry *t, struct itimerval *v)
{
	uint64_t left = t->value_us ? t->value_us : t->interval_us;

	v->it_interval.tv_sec = t->interval_us / 1000000;
	v->it_interval.tv_usec = t->interval_us % 1000000;
	v->it_value.tv_sec = left / 1000000;
	v->it_value.tv_usec = left % 1000000;
	return left != 0;
}

static int restore_itimers(struct rst_proc *proc)
{
	size_t i;

	for (i = 0; i < proc->sigs->n_itimers; i++) {
		const ItimerEntry *t = proc->sigs->itimers[i];
		struct itimerval v;

		if (!itimer_value(t, &v))
			continue;
		if (setitimer(t->which, &v, NULL)) {
			pr_perror("setitimer %u", t->which);
			return -errno;
		}
	}
	return 0;
}

/* Child: all of the above.  Returns 0/-errno. */
int signals_restore(struct rst_proc *proc)
{
	int ret;

	ret = restore_sigactions(proc);
	if (!ret)
		ret = restore_altstack(proc);
	if (!ret)
		ret = restore_itimers(proc);
	return ret;
}

static bool queue_has_sigtrap(SiginfoEntry *const *q, size_t n)
{
	size_t i;
	int32_t signo;

	for (i = 0; i < n; i++) {
		if (q[i]->siginfo.len < sizeof(signo))
			continue;
		memcpy(&signo, q[i]->siginfo.data, sizeof(signo));
		if (signo == SIGTRAP)
			return true;
	}
	return false;
}

/*
 * Must proc's injected calls avoid the int3 stop after the scratch gadget?
 * An int3 raises a forced SIGTRAP: while SIGTRAP is blocked (it is, while
 * we inject) the kernel resets its disposition to SIG_DFL and unblocks it.
 * So a SIGTRAP handler or SIG_IGN of the image would be lost (the program
 * then dies of its next int3), and a SIGTRAP pending in the image would be
 * dequeued at such a stop and swallowed with it.  Helpers have no records.
 */
bool rst_needs_syscall_stops(const struct rst_proc *proc)
{
	size_t i;

	if (!proc->sigs)
		return false;
	for (i = 0; i < proc->sigs->n_actions; i++)
		if (proc->sigs->actions[i]->signo == SIGTRAP && proc->sigs->actions[i]->handler)
			return true;
	if (queue_has_sigtrap(proc->sigs->shared_pending, proc->sigs->n_shared_pending))
		return true;
	for (i = 0; i < proc->nr_threads; i++)
		if (proc->threads[i].core && queue_has_sigtrap(proc->threads[i].core->pending,
							       proc->threads[i].core->n_pending))
			return true;
	return false;
}

int rst_inject_init(struct rst_proc *proc, struct inject *in, pid_t tid)
{
	int ret = inject_init(in, tid, proc->img->scratch);

	if (!ret && rst_needs_syscall_stops(proc))
		in->use_int3 = false; /* two stops a call: entry and exit */
	return ret;
}
