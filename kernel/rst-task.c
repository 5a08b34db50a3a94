// SPDX-License-Identifier: GPL-2.0
/*
 * The thread of a restart: registers, FPU/vector state, signal state and
 * the per-thread pointers (rseq, robust list, clear_child_tid, altstack),
 * comm and nice.  rst_task_plan() checks them and makes what can fail
 * (the FPU state is loaded into a scratch fpstate: the kernel's own uABI
 * checks run there, before the point of no return); rst_task_commit()
 * only stores.  Both run in the caller's context on its own task.
 */
#include <linux/fs_struct.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fsgsbase.h>
#include <asm/ptrace.h>
#include <asm/segment.h>

#include "rst.h"

#define RST_SA_KNOWN                                                                       \
	(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | \
	 SA_RESETHAND | SA_RESTORER | SA_EXPOSE_TAGBITS)
/* the rflags bits a user may set (ptrace's FLAG_MASK) */
#define RST_FLAGS_USER                                                                   \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | X86_EFLAGS_SF | \
	 X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_RF | X86_EFLAGS_AC)
#define RST_RSEQ_LEN 32	  /* sizeof(struct rseq) that 6.1's rseq() takes */
#define RST_ROBUST_LEN 24 /* sizeof(struct robust_list_head) */

/* General registers: user segments only (64-bit code and data, no other
 * selector), addresses in user space; gs_base cannot be set from here. */
static int rst_regs_plan(const struct rst_core *c)
{
	const u64 *r = c->regs;

	if (!c->has_regs)
		return -EINVAL;
	if (r[RST_CS] != __USER_CS || r[RST_SS] != __USER_DS)
		return -EINVAL;
	if (r[RST_DS] || r[RST_ES] || r[RST_FS] || r[RST_GS])
		return -ENOTTY;
	if (r[RST_IP] >= TASK_SIZE_MAX || r[RST_FS_BASE] >= TASK_SIZE_MAX)
		return -EINVAL;
	if (r[RST_GS_BASE])
		return -ENOTTY;
	return 0;
}

/*
 * The image's XSAVE buffer loaded into a copy of the caller's fpstate
 * with fpu_copy_uabi_to_guest_fpstate() (KVM's export: the uABI checks of
 * PTRACE_SETREGSET on an fpstate that need not be live).  The copy is put
 * in place by rst_task_commit().  0, -EINVAL (the kernel refuses the
 * buffer), -ENOMEM.
 */
static int rst_fpu_plan(struct rst_image *img)
{
	struct fpstate *cur = current->thread.fpu.fpstate, *scratch;
	size_t size = offsetof(struct fpstate, regs) + cur->size;
	struct rst_core *c = &img->core;
	struct fpu_guest g = {};
	u32 pkru = 0;
	u8 *buf;
	int ret;

	if (!c->xsave)
		return 0;
	if (c->xfeatures & ~cur->user_xfeatures)
		return -ENOTTY; /* state of a CPU feature this one lacks */
	buf = kvzalloc(max_t(size_t, c->xsave_len, cur->user_size), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, c->xsave, c->xsave_len);
	ret = -ENOMEM;
	scratch = vmalloc(size);
	if (!scratch)
		goto out_buf;
	memcpy(scratch, cur, size);
	g.fpstate = scratch;
	ret = fpu_copy_uabi_to_guest_fpstate(&g, buf, cur->user_xfeatures, &pkru);
	if (ret) {
		vfree(scratch);
		goto out_buf;
	}
	img->fpstate = scratch;
out_buf:
	kvfree(buf);
	return ret;
}

/* Signal dispositions and the altstack: known flags, the altstack not in
 * use.  0 or -errno. */
static int rst_signals_plan(const struct rst_image *img)
{
	const struct rst_core *c = &img->core;
	int sig;

	for (sig = 1; sig <= RST_NSIG; sig++) {
		if (!img->act[sig].set)
			continue;
		if (img->act[sig].flags & ~(u64)RST_SA_KNOWN)
			return -EINVAL;
		if (img->act[sig].handler >= TASK_SIZE_MAX ||
		    img->act[sig].restorer >= TASK_SIZE_MAX)
			return -EINVAL;
	}
	if (c->has_altstack && (c->ss_flags & ~(SS_DISABLE | SS_AUTODISARM)))
		return -ENOTTY; /* SS_ONSTACK: dumped on its alternate stack */
	if (c->rseq_addr && (c->rseq_len != RST_RSEQ_LEN || c->rseq_addr >= TASK_SIZE_MAX ||
			     !IS_ALIGNED(c->rseq_addr, RST_RSEQ_LEN)))
		return -EINVAL;
	if (c->robust_list && c->robust_list_len != RST_ROBUST_LEN)
		return -EINVAL;
	return 0;
}

/*
 * Resource limits: each hard limit at most the caller's (an image never
 * raises one), the soft within it; RLIMIT_CPU as the caller's (its timer
 * is not re-armed here).  0, -EPERM or -ENOTTY.
 */
static int rst_rlimits_plan(const struct rst_task *t)
{
	struct rlimit cur;
	int r;

	for (r = 0; r < RST_NRLIMITS; r++) {
		if (!t->rlim[r].set)
			continue;
		task_lock(current->group_leader);
		cur = current->signal->rlim[r];
		task_unlock(current->group_leader);
		if (t->rlim[r].max > cur.rlim_max)
			return -EPERM;
		if (r == RLIMIT_CPU &&
		    (t->rlim[r].cur != cur.rlim_cur || t->rlim[r].max != cur.rlim_max))
			return -ENOTTY;
	}
	return 0;
}

static void rst_rlimits_commit(const struct rst_task *t)
{
	int r;

	task_lock(current->group_leader);
	for (r = 0; r < RST_NRLIMITS; r++) {
		if (!t->rlim[r].set)
			continue;
		current->signal->rlim[r].rlim_cur = t->rlim[r].cur;
		current->signal->rlim[r].rlim_max = t->rlim[r].max;
	}
	task_unlock(current->group_leader);
}

/*
 * The thread's state: ids consistent across TASK, CORE, SIGNALS, the
 * registers, the FPU state, signals, nice (only what the caller may set).
 * 0 or -errno; rst_task_unplan() frees what it made.
 */
int rst_task_plan(struct rst_image *img)
{
	const struct rst_task *t = &img->task;
	const struct rst_core *c = &img->core;
	int nice = (s32)c->nice;
	int ret;

	/* stopped: it stops again with SIGSTOP on the way out (restart.c);
	 * another stop signal could be blocked or caught: not given back */
	if (t->state != TASK_STATE_ALIVE && t->state != TASK_STATE_STOPPED)
		return -ENOTTY;
	if (t->stop_signal && (t->state != TASK_STATE_STOPPED || t->stop_signal != SIGSTOP))
		return -ENOTTY;
	/* a terminal outside the image: the caller's own, which it keeps (as
	 * the userspace restore keeps the tree in its session) */
	if (t->ctty > VXCR_CTTY_OUTSIDE || (t->ctty && !current->signal->tty))
		return -ENOTTY;
	if (!t->pid || (t->n_threads && t->thread0 != t->pid) || (c->tid && c->tid != t->pid) ||
	    (img->sig_pid && img->sig_pid != t->pid))
		return -EINVAL;
	if (nice < MIN_NICE || nice > MAX_NICE || t->pdeath_sig > RST_NSIG ||
	    (t->has_umask && t->umask > 0777))
		return -EINVAL;
	if (nice < task_nice(current) && !can_nice(current, nice))
		return -EPERM;
	ret = rst_rlimits_plan(t);
	ret = ret ?: rst_regs_plan(c);
	ret = ret ?: rst_signals_plan(img);
	ret = ret ?: rst_fpu_plan(img);
	return ret;
}

void rst_task_unplan(struct rst_image *img)
{
	vfree(img->fpstate);
	img->fpstate = NULL;
}

/* The general registers into the caller's pt_regs; orig_ax -1, so the
 * syscall-restart logic on the way out never looks at ax. */
static void rst_regs_commit(const struct rst_core *c)
{
	struct pt_regs *regs = task_pt_regs(current);
	const u64 *r = c->regs;

	regs->r15 = r[RST_R15];
	regs->r14 = r[RST_R14];
	regs->r13 = r[RST_R13];
	regs->r12 = r[RST_R12];
	regs->bp = r[RST_BP];
	regs->bx = r[RST_BX];
	regs->r11 = r[RST_R11];
	regs->r10 = r[RST_R10];
	regs->r9 = r[RST_R9];
	regs->r8 = r[RST_R8];
	regs->ax = r[RST_AX];
	regs->cx = r[RST_CX];
	regs->dx = r[RST_DX];
	regs->si = r[RST_SI];
	regs->di = r[RST_DI];
	regs->orig_ax = -1;
	regs->ip = r[RST_IP];
	regs->cs = __USER_CS;
	regs->ss = __USER_DS;
	regs->sp = r[RST_SP];
	regs->flags = (regs->flags & ~RST_FLAGS_USER) | (r[RST_FLAGS] & RST_FLAGS_USER);

	/* FS base as arch_prctl(ARCH_SET_FS) sets it on the current task */
	preempt_disable();
	loadsegment(fs, 0);
	x86_fsbase_write_cpu(r[RST_FS_BASE]);
	current->thread.fsindex = 0;
	current->thread.fsbase = r[RST_FS_BASE];
	preempt_enable();
}

/*
 * The FPU registers from the scratch fpstate: under fpregs_lock() the
 * live registers are dropped (TIF_NEED_FPU_LOAD, and last_cpu -1 so they
 * do not count as valid), then the state is copied in; the way back to
 * user space loads it.
 */
static void rst_fpu_commit(struct rst_image *img)
{
	struct fpu *fpu = &current->thread.fpu;
	struct fpstate *src = img->fpstate;

	if (!src)
		return;
	fpregs_lock();
	set_thread_flag(TIF_NEED_FPU_LOAD);
	fpu->last_cpu = -1;
	memcpy(&fpu->fpstate->regs, &src->regs, fpu->fpstate->size);
	fpregs_unlock();
}

/* Dispositions (a signal the image lacks gets SIG_DFL), blocked mask,
 * altstack. */
static void rst_signals_commit(const struct rst_image *img)
{
	struct sighand_struct *sh = current->sighand;
	const struct rst_core *c = &img->core;
	sigset_t blocked;
	int sig;

	spin_lock_irq(&sh->siglock);
	for (sig = 1; sig <= RST_NSIG; sig++) {
		struct k_sigaction *k = &sh->action[sig - 1];
		const struct rst_sigaction *a = &img->act[sig];

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		memset(k, 0, sizeof(*k));
		if (!a->set)
			continue;
		k->sa.sa_handler = (__sighandler_t)(unsigned long)a->handler;
		k->sa.sa_flags = a->flags;
		k->sa.sa_restorer = (__sigrestore_t)(unsigned long)a->restorer;
		siginitset(&k->sa.sa_mask, a->mask & ~(sigmask(SIGKILL) | sigmask(SIGSTOP)));
	}
	spin_unlock_irq(&sh->siglock);

	siginitset(&blocked, c->blocked & ~(sigmask(SIGKILL) | sigmask(SIGSTOP)));
	sigprocmask(SIG_SETMASK, &blocked, NULL);
	if (c->has_altstack) {
		bool off = c->ss_flags & SS_DISABLE;

		current->sas_ss_sp = off ? 0 : c->ss_sp;
		current->sas_ss_size = off ? 0 : c->ss_size;
		current->sas_ss_flags = c->ss_flags;
	}
}

/* What prctl(2), umask(2) and personality(2) let a process set on
 * itself, with no privilege: as the image has them. */
static void rst_process_commit(const struct rst_task *t)
{
	if (t->has_umask)
		current->fs->umask = t->umask;
	if (t->has_personality)
		current->personality = t->personality;
	if (t->has_timer_slack && t->timer_slack_ns)
		current->timer_slack_ns = t->timer_slack_ns;
	current->pdeath_signal = t->pdeath_sig;
	rst_rlimits_commit(t);
	if (t->thp_disable)
		set_bit(MMF_DISABLE_THP, &current->mm->flags);
	else
		clear_bit(MMF_DISABLE_THP, &current->mm->flags);
}

/* Past the point of no return: the thread's state, nothing that fails. */
void rst_task_commit(struct rst_image *img)
{
	const struct rst_core *c = &img->core;
	const char *comm = c->has_comm ? c->comm : img->task.has_comm ? img->task.comm : NULL;

	rst_regs_commit(c);
	rst_fpu_commit(img);
	rst_signals_commit(img);
	rst_process_commit(&img->task);
	current->clear_child_tid = (int __user *)(unsigned long)c->clear_child_tid;
	current->robust_list = (struct robust_list_head __user *)(unsigned long)c->robust_list;
	current->rseq = (struct rseq __user *)(unsigned long)c->rseq_addr;
	current->rseq_sig = c->rseq_sig;
	rseq_set_notify_resume(current);
	if ((s32)c->nice != task_nice(current))
		set_user_nice(current, (s32)c->nice);
	if (comm) {
		task_lock(current);
		strscpy_pad(current->comm, comm, sizeof(current->comm));
		task_unlock(current);
	}
}
