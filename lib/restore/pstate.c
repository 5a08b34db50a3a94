/*
 * Process state that is neither memory, files nor registers (issue 11):
 * the signal a stopped process was stopped by (what its parent's waitpid
 * reports as WSTOPSIG, and a tracer's PTRACE_EVENT_STOP), and the
 * membarrier registrations of its mm (registered again by injection once
 * the whole tree is forked: a fork inherits them, and none can be undone).
 *
 * A stopped process is stopped again at its release, while still traced:
 * its leader, at the syscall-exit stop of the last injected call, is sent
 * SIGSTOP (PTRACE_CONT with SIGSTOP from a syscall stop queues it), the
 * signals it dequeues before it are delivered as they would be, and at
 * SIGSTOP's signal-delivery stop the signal is replaced by the recorded one
 * (ptrace may change the signal delivered): the kernel then stops the group
 * with that signal (do_signal_stop(), group_exit_code).  SIGTSTP, SIGTTIN
 * and SIGTTOU stop only with the default disposition, unblocked, outside
 * an orphaned process group: the image is refused when the process blocks
 * or handles its stop signal, the restore when its group is orphaned here.
 */
#define LOG_PREFIX "restore/pstate: "
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "restore/restore.h"

#define STOP_PASS_SIGNALS 64 /* signals delivered before SIGSTOP, at most */
/* MEMBARRIER_CMD_REGISTER_{GLOBAL_EXPEDITED,PRIVATE_EXPEDITED,_SYNC_CORE,_RSEQ} */
#define MB_REGISTER_ALL (0x4u | 0x10u | 0x40u | 0x100u)

static bool is_stop_signal(uint32_t sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static const char *stop_name(uint32_t sig)
{
	return sig == SIGTSTP ? "SIGTSTP" : sig == SIGTTIN ? "SIGTTIN" : "SIGTTOU";
}

/* The signal that is to stop c (SIGSTOP when the image says none). */
static int stop_signal(const struct rst_proc *c)
{
	return c->task->has_stop_signal ? (int)c->task->stop_signal : SIGSTOP;
}

/*
 * The image's process-state fields of live process c against each other.
 * 0 or -errno (logged).
 */
int pstate_check(const struct rst_proc *c)
{
	const TaskEntry *t = c->task;
	uint32_t sig = t->stop_signal;
	size_t i;

	if (t->membarrier & ~MB_REGISTER_ALL) {
		pr_err("image: task %u: membarrier registrations %#x\n", t->pid, t->membarrier);
		return -EINVAL;
	}
	if (!t->has_stop_signal)
		return 0;
	if (t->state != TASK_STATE_STOPPED || !is_stop_signal(sig)) {
		pr_err("image: task %u: stop signal %u (state %u)\n", t->pid, sig, t->state);
		return -EINVAL;
	}
	if (sig == SIGSTOP)
		return 0;
	for (i = 0; i < c->sigs->n_actions; i++)
		if (c->sigs->actions[i]->signo == sig && c->sigs->actions[i]->handler)
			break;
	if (i < c->sigs->n_actions || (c->core->blocked & (1ULL << (sig - 1)))) {
		pr_err("pid %u: stopped by %s, which it now %s: it cannot be stopped by it again\n",
		       t->pid, stop_name(sig),
		       i < c->sigs->n_actions ? "handles or ignores" : "blocks");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int read_ids(pid_t pid, struct proc_stat *st)
{
	char *text;
	int ret;

	ret = proc_read_file(pid, "stat", &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_stat(text, st);
	free(text);
	return ret;
}

/*
 * Is the process group of pid orphaned (every live member's parent in the
 * group, outside the session, or init), as the kernel judges before it
 * lets SIGTSTP/SIGTTIN/SIGTTOU stop a process?  Read from /proc.
 */
static bool pgrp_orphaned(pid_t pid)
{
	struct proc_stat me, m, parent;
	struct dirent *de;
	bool orphaned = true;
	DIR *d;

	if (read_ids(pid, &me) || !(d = opendir("/proc")))
		return true;
	while (orphaned && (de = readdir(d))) {
		pid_t p = (pid_t)strtol(de->d_name, NULL, 10);

		if (p <= 0 || read_ids(p, &m) || m.pgrp != me.pgrp || m.state == 'Z' ||
		    m.ppid <= 1 || read_ids(m.ppid, &parent))
			continue;
		orphaned = parent.pgrp == me.pgrp || parent.session != me.session;
	}
	closedir(d);
	return orphaned;
}

/* Waits for the next stop of tid: its signal, or -errno (logged). */
static int wait_stop(pid_t tid, bool *delivery)
{
	siginfo_t si;
	int status;

	while (waitpid(tid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			pr_perror("tid %d: waitpid", tid);
			return -errno;
		}
	}
	if (!WIFSTOPPED(status)) {
		pr_err("tid %d: died while being stopped (status %#x)\n", tid, status);
		return -ECHILD;
	}
	*delivery = !ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
	return WSTOPSIG(status);
}

/*
 * Stops the group of live process c with its recorded stop signal; its
 * leader is at a syscall-exit stop, every thread's state final.  Returns
 * with the leader in the group-stop report, still traced.  0 or -errno.
 */
int pstate_stop(struct rst_proc *c)
{
	pid_t tid = c->threads[0].tid;
	int want = stop_signal(c), sig = 0, data = SIGSTOP, i;
	bool delivery = false;

	if (want != SIGSTOP && pgrp_orphaned(tid)) {
		pr_err("pid %d was stopped by %s: its process group is orphaned here, where %s "
		       "cannot stop it\n",
		       c->task->pid, stop_name(want), stop_name(want));
		return -EOPNOTSUPP;
	}
	for (i = 0; i < STOP_PASS_SIGNALS; i++) {
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)data)) {
			pr_perror("tid %d: cannot stop it", tid);
			return -errno;
		}
		sig = wait_stop(tid, &delivery);
		if (sig < 0)
			return sig;
		if (!delivery) /* the group-stop report */
			break;
		/* SIGSTOP becomes the recorded signal; others are delivered */
		data = sig == SIGSTOP ? want : sig;
	}
	if (delivery || sig != want) {
		pr_err("pid %d: stopped by signal %d, not %d\n", c->task->pid, sig, want);
		return -EIO;
	}
	return 0;
}

/*
 * Finish step: the membarrier registrations of live process c, one
 * injected MEMBARRIER_CMD_REGISTER_* each (checked: only those bits).  A
 * kernel that lacks one refuses the restore with its errno.  0 or -errno.
 */
int pstate_finish(struct rst_proc *c)
{
	uint32_t bits = c->task->membarrier & MB_REGISTER_ALL, bit;
	long r;

	for (bit = 1; bits; bit <<= 1) {
		if (!(bits & bit))
			continue;
		bits &= ~bit;
		r = rst_inject(c, NULL, SYS_membarrier, bit, 0, 0, 0, 0, 0);
		if (r < 0) {
			pr_err("pid %d: cannot register membarrier command %#x again: %s\n",
			       c->task->pid, bit, strerror((int)-r));
			return (int)r;
		}
	}
	return 0;
}
