// SPDX-License-Identifier: GPL-2.0
/*
 * The records of one process and its threads: TASK, CREDS, CORE (SIGNALS:
 * ckpt-sig.c), with the fields and the numbering the userspace dump gives
 * them (lib/dump/task.c, creds.c, core.c): pids in the caller's pid
 * namespace, ids as the caller's user namespace sees them, registers in
 * resume form (docs/image-format.md, CORE).
 */
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/cred.h>
#include <linux/fs_struct.h>
#include <linux/path.h>
#include <linux/pid_namespace.h>
#include <linux/regset.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/elf.h>
#include <linux/futex.h>
#include <asm/fpu/xcr.h>
#include <asm/user.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "vxcr.h"

#define VX_RSEQ_LEN 32 /* struct rseq of a 6.1 kernel: fixed size */

/* d_path of a path into d->path_buf (caller's root), or NULL. */
static const char *path_text(struct vx_dump *d, const struct path *p)
{
	char *s = d_path(p, d->path_buf, PATH_MAX);

	return IS_ERR(s) ? NULL : s;
}

/* cwd (17) and root (18) of the task, and its umask (9). */
static void task_fs(struct vx_dump *d, struct pb_buf *b)
{
	struct path pwd, root;
	bool have = false;
	u32 umask = 0;

	task_lock(d->task);
	if (d->task->fs) {
		spin_lock(&d->task->fs->lock);
		pwd = d->task->fs->pwd;
		root = d->task->fs->root;
		path_get(&pwd);
		path_get(&root);
		umask = d->task->fs->umask;
		spin_unlock(&d->task->fs->lock);
		have = true;
	}
	task_unlock(d->task);
	if (!have)
		return;
	pb_u64(b, 9, umask);
	pb_str(b, 17, path_text(d, &pwd));
	pb_str(b, 18, path_text(d, &root));
	path_put(&pwd);
	path_put(&root);
}

static void task_rlimits(struct vx_dump *d, struct pb_buf *b)
{
	struct rlimit rl[RLIM_NLIMITS];
	size_t m;
	int i;

	task_lock(d->task->group_leader);
	memcpy(rl, d->task->signal->rlim, sizeof(rl));
	task_unlock(d->task->group_leader);
	for (i = 0; i < RLIM_NLIMITS; i++) {
		m = pb_nest_begin(b, 10);
		pb_u64(b, 1, i);
		pb_u64(b, 2, rl[i].rlim_cur);
		pb_u64(b, 3, rl[i].rlim_max);
		pb_nest_end(b, m);
	}
}

/*
 * Locks t's sighand as lock_task_sighand() does (which modules cannot call):
 * NULL once t has exited.  sighand_struct is SLAB_TYPESAFE_BY_RCU.
 */
struct sighand_struct *vx_lock_sighand(struct task_struct *t, unsigned long *flags)
{
	struct sighand_struct *sh;

	rcu_read_lock();
	for (;;) {
		sh = rcu_dereference(t->sighand);
		if (!sh)
			break;
		spin_lock_irqsave(&sh->siglock, *flags);
		if (likely(sh == rcu_access_pointer(t->sighand)))
			break;
		spin_unlock_irqrestore(&sh->siglock, *flags);
	}
	rcu_read_unlock();
	return sh;
}

/* Job-control stopped (a group stop, under a tracer or not): its signal. */
static int task_stop_signal(struct task_struct *t)
{
	struct sighand_struct *sh;
	unsigned long fl;
	int sig = 0;

	sh = vx_lock_sighand(t, &fl);
	if (!sh)
		return 0;
	if (t->signal->flags & SIGNAL_STOP_STOPPED)
		sig = t->jobctl & JOBCTL_STOP_SIGMASK;
	spin_unlock_irqrestore(&sh->siglock, fl);
	return sig;
}

/*
 * cpu_affinity (22) as sched_getaffinity(2) gives it: the task's allowed
 * CPUs that are active, in longs covering nr_cpu_ids bits.
 */
static void task_affinity(struct task_struct *t, struct pb_buf *b)
{
	unsigned long fl;
	cpumask_var_t m;

	if (!alloc_cpumask_var(&m, GFP_KERNEL))
		return; /* absent: the restorer's CPUs */
	raw_spin_lock_irqsave(&t->pi_lock, fl);
	cpumask_and(m, &t->cpus_mask, cpu_active_mask);
	raw_spin_unlock_irqrestore(&t->pi_lock, fl);
	pb_bytes(b, 22, cpumask_bits(m), BITS_TO_LONGS(nr_cpu_ids) * sizeof(long));
	free_cpumask_var(m);
}

/* TASK: the process, its threads, its own mm and fd table (ids 1). */
int vx_dump_task(struct vx_dump *d)
{
	struct task_struct *t = d->task;
	unsigned int i;
	struct pb_buf *b = &d->pb;
	char comm[TASK_COMM_LEN];
	u32 pid = task_tgid_nr_ns(t, d->ns);
	int stop = d->self ? 0 : task_stop_signal(t);

	__get_task_comm(comm, sizeof(comm), t);
	pb_u64(b, 1, pid);
	rcu_read_lock();
	pb_u64(b, 2, task_tgid_nr_ns(rcu_dereference(t->real_parent), d->ns));
	rcu_read_unlock();
	pb_u64(b, 3, task_pgrp_nr_ns(t, d->ns));
	pb_u64(b, 4, task_session_nr_ns(t, d->ns));
	pb_str(b, 5, comm);
	pb_u64(b, 6, 1);
	pb_u64(b, 7, 1);
	pb_u64(b, 8, t->personality);
	task_rlimits(d, b);
	pb_u64(b, 11, t->timer_slack_ns);
	pb_s64(b, 12, t->signal->oom_score_adj);
	pb_u64(b, 13, get_dumpable(d->mm));
	pb_u64(b, 14, t->pdeath_signal);
	pb_bool(b, 15, t->signal->is_child_subreaper);
	pb_bool(b, 16, test_bit(MMF_DISABLE_THP, &d->mm->flags));
	task_fs(d, b);
	for (i = 0; i < d->nr_threads; i++)
		pb_u64(b, 19, task_pid_nr_ns(d->threads[i], d->ns));
	pb_u64(b, 20, stop ? TASK_STATE_STOPPED : TASK_STATE_ALIVE);
	task_affinity(t, b);
	pb_u64(b, 23, t->exit_signal);
	pb_u64(b, 24, 1);
	if (stop)
		pb_u64(b, 25, stop);
	return vx_img_pb_record(d, IMG_REC_TASK);
}

static u64 cap_u64(kernel_cap_t c)
{
	return ((u64)c.cap[1] << 32) | c.cap[0];
}

/* CREDS: ids as the caller's user namespace sees them. */
int vx_dump_creds(struct vx_dump *d)
{
	struct user_namespace *ns = current_user_ns();
	struct pb_buf *b = &d->pb;
	const struct cred *c;
	int i;

	c = get_task_cred(d->task);
	pb_u64(b, 1, from_kuid_munged(ns, c->uid));
	pb_u64(b, 2, from_kuid_munged(ns, c->euid));
	pb_u64(b, 3, from_kuid_munged(ns, c->suid));
	pb_u64(b, 4, from_kuid_munged(ns, c->fsuid));
	pb_u64(b, 5, from_kgid_munged(ns, c->gid));
	pb_u64(b, 6, from_kgid_munged(ns, c->egid));
	pb_u64(b, 7, from_kgid_munged(ns, c->sgid));
	pb_u64(b, 8, from_kgid_munged(ns, c->fsgid));
	for (i = 0; c->group_info && i < c->group_info->ngroups; i++)
		pb_u64(b, 9, from_kgid_munged(ns, c->group_info->gid[i]));
	pb_u64(b, 10, cap_u64(c->cap_inheritable));
	pb_u64(b, 11, cap_u64(c->cap_permitted));
	pb_u64(b, 12, cap_u64(c->cap_effective));
	pb_u64(b, 13, cap_u64(c->cap_bset));
	pb_u64(b, 14, cap_u64(c->cap_ambient));
	pb_u64(b, 15, c->securebits);
	put_cred(c);
	pb_bool(b, 16, task_no_new_privs(d->task));
	pb_u64(b, 17, CAP_LAST_CAP);
	pb_u64(b, 18, task_tgid_nr_ns(d->task, d->ns));
	return vx_img_pb_record(d, IMG_REC_CREDS);
}

static const struct user_regset *find_regset(const struct user_regset_view *v, unsigned int note)
{
	unsigned int i;

	for (i = 0; i < v->n; i++)
		if (v->regsets[i].core_note_type == note)
			return &v->regsets[i];
	return NULL;
}

/*
 * A thread stopped in an interrupted syscall: rewound to issue it again,
 * as the userspace dump's regs_to_resume_form() (restart_block state is
 * not kept: restart_syscall becomes the call itself).  True if rewound.
 */
static bool regs_resume_form(struct user_regs_struct *r)
{
	long ax = (long)r->ax;

	if ((long)r->orig_ax < 0)
		return false;
	if (ax != -ERESTARTSYS && ax != -ERESTARTNOINTR && ax != -ERESTARTNOHAND &&
	    ax != -ERESTART_RESTARTBLOCK)
		return false;
	r->ax = r->orig_ax;
	r->ip -= 2;
	r->orig_ax = (unsigned long)-1;
	return true;
}

static void put_regs(struct pb_buf *b, const struct user_regs_struct *r)
{
	const unsigned long *w = (const unsigned long *)r;
	size_t m = pb_nest_begin(b, 2);
	unsigned int i;

	/* x86_regs numbers its fields 1..27 in user_regs_struct's order */
	for (i = 0; i < sizeof(*r) / sizeof(*w); i++)
		pb_u64(b, i + 1, w[i]);
	pb_nest_end(b, m);
}

/*
 * regs (2), in_syscall_restart (18), xsave (3) and xfeatures (4) through
 * the task's regsets (for the caller itself its live FPU state is saved
 * first by the regset's get).  vmad_dump: the registers the caller has
 * when the ioctl returns, with ax = 0.
 */
static int core_regs(struct vx_dump *d, struct task_struct *t, struct pb_buf *b)
{
	const struct user_regset_view *v = task_user_regset_view(t);
	const struct user_regset *rs = find_regset(v, NT_PRSTATUS);
	struct user_regs_struct r;
	bool restart = false;
	void *xs;
	int n;

	if (!rs)
		return -EIO;
	n = regset_get(t, rs, sizeof(r), &r);
	if (n < 0)
		return n;
	if (n != sizeof(r))
		return -EIO;
	if (d->self) {
		r.ax = 0;
		r.orig_ax = (unsigned long)-1;
	} else {
		restart = regs_resume_form(&r);
	}
	put_regs(b, &r);
	if (restart)
		pb_bool(b, 18, true);

	rs = find_regset(v, NT_X86_XSTATE);
	if (!rs || !boot_cpu_has(X86_FEATURE_OSXSAVE))
		return 0; /* no XSAVE: the FPU state is not recorded */
	n = regset_get_alloc(t, rs, rs->n * rs->size, &xs);
	if (n == -ENODEV)
		return 0;
	if (n < 0)
		return n;
	pb_bytes(b, 3, xs, n);
	kfree(xs);
	pb_u64(b, 4, xgetbv(XCR_XFEATURE_ENABLED_MASK));
	return 0;
}

/* sigaltstack as sigaltstack(2) reports it to the thread itself. */
static void core_altstack(struct task_struct *t, struct pb_buf *b)
{
	unsigned long sp = user_stack_pointer(task_pt_regs(t));
	u32 flags = t->sas_ss_flags;
	size_t m;

	if (!t->sas_ss_size)
		flags |= SS_DISABLE;
	else if (sp > t->sas_ss_sp && sp - t->sas_ss_sp <= t->sas_ss_size)
		flags |= SS_ONSTACK;
	m = pb_nest_begin(b, 7);
	pb_u64(b, 1, t->sas_ss_sp);
	pb_u64(b, 2, flags);
	pb_u64(b, 3, t->sas_ss_size);
	pb_nest_end(b, m);
}

/* CORE of thread t: registers, signal mask and queue (s), and the rest. */
int vx_dump_core(struct vx_dump *d, struct task_struct *t, const struct vx_sigsnap *s)
{
	struct pb_buf *b = &d->pb;
	char comm[TASK_COMM_LEN];
	int ret;

	pb_u64(b, 1, task_pid_nr_ns(t, d->ns));
	ret = core_regs(d, t, b);
	if (ret) {
		pb_reset(b);
		return ret;
	}
	pb_u64(b, 5, s->blocked.sig[0]);
	vx_sig_put_queue(b, 6, s->priv, s->nr_priv);
	core_altstack(t, b);
	pb_u64(b, 8, (unsigned long)t->clear_child_tid);
	__get_task_comm(comm, sizeof(comm), t);
	pb_str(b, 9, comm);
	pb_u64(b, 10, t->policy);
	pb_u64(b, 11, t->rt_priority);
	pb_s64(b, 12, task_nice(t));
	if (t->rseq) {
		pb_u64(b, 13, (unsigned long)t->rseq);
		pb_u64(b, 14, VX_RSEQ_LEN);
		pb_u64(b, 15, t->rseq_sig);
	}
	if (t->robust_list) {
		pb_u64(b, 16, (unsigned long)t->robust_list);
		pb_u64(b, 17, sizeof(struct robust_list_head));
	}
	return vx_img_pb_record(d, IMG_REC_CORE);
}
