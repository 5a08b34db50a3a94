/*
 * Last steps on the thread: rseq, robust list, clear_child_tid and
 * pdeath_sig by injection, seccomp filters (when the final credentials
 * allow, see seccomp.c), then the scratch area is unmapped (the last
 * injected call: the task sits in its syscall-exit stop, not on the
 * unmapped page), registers (resume form, set verbatim), xstate and
 * blocked mask are written with ptrace, and the task is let go.
 */
#define LOG_PREFIX "restore/core: "
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "log.h"
#include "restore/restore.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

static void regs_from_image(const X86Regs *x, struct user_regs_struct *r)
{
	memset(r, 0, sizeof(*r));
	r->r15 = x->r15;
	r->r14 = x->r14;
	r->r13 = x->r13;
	r->r12 = x->r12;
	r->rbp = x->bp;
	r->rbx = x->bx;
	r->r11 = x->r11;
	r->r10 = x->r10;
	r->r9 = x->r9;
	r->r8 = x->r8;
	r->rax = x->ax;
	r->rcx = x->cx;
	r->rdx = x->dx;
	r->rsi = x->si;
	r->rdi = x->di;
	r->orig_rax = x->orig_ax;
	r->rip = x->ip;
	r->cs = x->cs;
	r->eflags = x->flags;
	r->rsp = x->sp;
	r->ss = x->ss;
	r->fs_base = x->fs_base;
	r->gs_base = x->gs_base;
	r->ds = x->ds;
	r->es = x->es;
	r->fs = x->fs;
	r->gs = x->gs;
}

static int thread_attrs(struct rst_proc *proc, size_t i)
{
	const CoreEntry *c = proc->threads[i].core;
	long r = 0;

	proc->inp = i ? &proc->threads[i].in : &proc->in;
	if (c->rseq_addr && c->rseq_len)
		r = rst_inject(proc, "rseq", SYS_rseq, c->rseq_addr, c->rseq_len, 0, c->rseq_sig, 0,
			       0);
	if (r >= 0 && c->robust_list)
		r = rst_inject(proc, "set_robust_list", SYS_set_robust_list, c->robust_list,
			       c->robust_list_len, 0, 0, 0, 0);
	if (r >= 0 && c->clear_child_tid)
		r = rst_inject(proc, "set_tid_address", SYS_set_tid_address, c->clear_child_tid, 0,
			       0, 0, 0, 0);
	/*
	 * The root's leader replaces its PR_SET_PDEATHSIG SIGKILL; threads and
	 * forked processes start without one (clone clears it).
	 */
	if (r >= 0 && ((proc->role == RST_ROOT && !i) || proc->task->pdeath_sig))
		r = rst_inject(proc, "PR_SET_PDEATHSIG", SYS_prctl, PR_SET_PDEATHSIG,
			       proc->task->pdeath_sig, 0, 0, 0, 0);
	proc->inp = &proc->in;
	return r < 0 ? r : 0;
}

static int set_cpu_state(struct rst_proc *proc, size_t i)
{
	const CoreEntry *c = proc->threads[i].core;
	pid_t tid = proc->threads[i].tid;
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };
	uint64_t mask = c->blocked & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));

	regs_from_image(c->regs, &regs);
	if (ptrace(PTRACE_SETREGSET, tid, NT_PRSTATUS, &iov)) {
		pr_perror("tid %d: cannot set registers", tid);
		return -errno;
	}
	if (c->has_xsave) {
		iov.iov_base = c->xsave.data;
		iov.iov_len = c->xsave.len;
		if (ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &iov)) {
			pr_perror("tid %d: cannot set the FPU/vector state (%zu bytes)", tid,
				  c->xsave.len);
			return -errno;
		}
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask)) {
		pr_perror("tid %d: cannot set the signal mask", tid);
		return -errno;
	}
	return 0;
}

/*
 * Parent: per-thread state and registers of every thread; the scratch area
 * goes last.  The threads stay stopped until core_release().  Returns
 * 0/-errno.
 */
int core_restore(struct rst_proc *proc)
{
	size_t i;
	long r;
	int ret;

	for (i = 0; i < proc->nr_threads; i++) {
		ret = thread_attrs(proc, i);
		/* as late as can be: only the munmap below comes after */
		if (!ret && seccomp_after_creds(proc))
			ret = seccomp_restore(proc, i);
		if (ret)
			return ret;
	}
	/* syscall-exit stop after munmap: never return onto the unmapped page */
	proc->in.use_int3 = false;
	r = rst_inject(proc, "munmap scratch", SYS_munmap, proc->img->scratch,
		       proc->img->scratch_len, 0, 0, 0, 0);
	if (r < 0)
		return r;
	ret = seccomp_check_sigsys(proc, "munmap scratch");
	if (ret)
		return ret;
	for (i = 0; i < proc->nr_threads; i++) {
		ret = set_cpu_state(proc, i);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Lets every thread of proc go.  A stopped process is stopped first, with
 * its recorded signal, while every thread is still held (pstate.c): no
 * thread runs an instruction of its own, and the group stays stopped when
 * they are detached.
 */
int core_release(struct rst_proc *proc)
{
	size_t i;
	int ret;

	if (proc->task->state == TASK_STATE_STOPPED) {
		ret = pstate_stop(proc);
		if (ret)
			return ret;
	}
	for (i = proc->nr_threads; i-- > 0;) {
		pid_t tid = proc->threads[i].tid;

		if (ptrace(PTRACE_DETACH, tid, NULL, NULL)) {
			pr_perror("tid %d: PTRACE_DETACH", tid);
			return -errno;
		}
	}
	return 0;
}
