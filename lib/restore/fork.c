/*
 * The rest of the tree, by injection.  Every process after the root is
 * forked by its restored parent (an injected clone3 with the recorded pid),
 * so areas it inherits stay shared copy-on-write, and it starts with its
 * parent's fds, signal dispositions and attributes; proc_prepare() changes
 * what differs.  Threads are injected clone3 calls with CLONE_THREAD and the
 * recorded tid.  New tasks are auto-attached (PTRACE_O_TRACEFORK/CLONE) and
 * driven from the scratch area they inherit.
 */
#define LOG_PREFIX "restore/fork: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "util/clone3.h"
#include "restore/restore.h"

#define THREAD_FLAGS \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)
#define SCR(proc, off) ((proc)->img->scratch + RST_SCRATCH_DATA + (off))

/* The process of the tree with (recorded) pid, or NULL. */
struct rst_proc *rst_proc_of_pid(const struct rst_image *img, pid_t pid)
{
	size_t i;

	for (i = 0; i < img->nr_procs; i++)
		if (img->procs[i]->task->pid == (uint32_t)pid)
			return img->procs[i];
	return NULL;
}

/* Waits for a task auto-attached at its creation and sets our options. */
static int attach_new(pid_t tid)
{
	int status;

	while (waitpid(tid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			pr_perror("waitpid %d", tid);
			return -errno;
		}
	}
	if (!WIFSTOPPED(status)) {
		pr_err("new task %d died at once (status %#x)\n", tid, status);
		return -ECHILD;
	}
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, RST_TRACE_OPTS)) {
		pr_perror("tid %d: PTRACE_SETOPTIONS", tid);
		return -errno;
	}
	return 0;
}

/*
 * clone3 with set_tid = want, injected through in (a thread of proc).
 * Returns the new task's id as we see it (== want unless the tree lives in
 * a pid namespace below ours, see restore_context()) or -errno; logs.
 */
static long inject_clone(struct rst_proc *proc, struct inject *in, uint64_t flags, int exit_signal,
			 pid_t want)
{
	struct {
		struct vxcr_clone_args ca;
		int32_t tid;
	} a = { .ca = { .flags = flags, .exit_signal = exit_signal, .set_tid_size = 1 },
		.tid = want };
	struct inject *saved = proc->inp;
	long r;
	int ret;

	a.ca.set_tid = SCR(proc, RST_SCR_CLONE) + offsetof(__typeof__(a), tid);
	ret = inject_write(in->tid, SCR(proc, RST_SCR_CLONE), &a, sizeof(a));
	if (ret)
		return ret;
	proc->inp = in;
	in->new_tid = 0;
	r = rst_inject(proc, NULL, SYS_clone3, SCR(proc, RST_SCR_CLONE), sizeof(a.ca), 0, 0, 0, 0);
	proc->inp = saved;
	if (r == -EEXIST)
		pr_err("pid %d is in use\n", want);
	else if (r < 0)
		pr_err("pid %d: clone3 for %s %d: %s\n", proc->pid,
		       flags & CLONE_THREAD ? "thread" : "process", want, strerror(-r));
	else if (r != want)
		pr_err("clone3 gave id %ld instead of %d\n", r, want);
	if (r < 0)
		return r;
	if (r != want)
		return -EEXIST;
	if (in->new_tid <= 0) {
		pr_err("clone3 of %d: no fork/clone event\n", want);
		return -ECHILD;
	}
	return in->new_tid; /* == want unless the tree is in a pid ns below ours */
}

static int helper_start(struct rst_proc *h);
static int prepare_fds(struct rst_proc *c, size_t ti, const FdtableEntry *fdt);
static int set_fs(struct rst_proc *c, size_t ti, const char *cwd, int cwd_fd, const char *root,
		  bool has_umask, uint32_t mask);
static uint64_t scr_put(struct rst_proc *proc, uint64_t off, const void *buf, size_t len);

/*
 * Forks c (a process or a helper) from its forker (its restored parent, or a
 * helper, started first if need be) and takes control of it.
 */
static int fork_from(struct rst_proc *c, uint64_t flags, int sig)
{
	struct rst_proc *f = c->forker; /* set by helpers_plan() */
	long r;
	int ret;

	if (f->role == RST_HELPER && f->pid <= 0) {
		ret = helper_start(f);
		if (ret)
			return ret;
	}
	r = inject_clone(f, &f->in, flags, sig, c->task->pid);
	if (r < 0)
		return r;
	c->pid = r;
	if (c->nr_threads)
		c->threads[0].tid = r; /* ours: differs inside a context's pid ns */
	ret = attach_new(c->pid);
	ret = ret ?: rst_janitor_watch(c->img, c->pid);
	return ret ? ret : rst_inject_init(c, &c->in, c->pid);
}

/* Does c share its parent's fd table (CLONE_FILES) / fs info (CLONE_FS)? */
static bool shares_files(const struct rst_proc *c)
{
	const TaskEntry *t = c->task, *pt = c->parent->task;

	return c->forker == c->parent && t->has_files_id && pt->has_files_id &&
	       t->files_id == pt->files_id;
}

static bool shares_fs(const struct rst_proc *c)
{
	const TaskEntry *t = c->task, *pt = c->parent->task;

	return c->forker == c->parent && t->has_fs_id && pt->has_fs_id && t->fs_id == pt->fs_id;
}

int rst_proc_fork(struct rst_proc *c)
{
	uint64_t flags = 0;

	if (c->task->state != TASK_STATE_DEAD) {
		flags |= shares_files(c) ? CLONE_FILES : 0;
		flags |= shares_fs(c) ? CLONE_FS : 0;
	}
	return fork_from(c, flags, c->task->has_exit_signal ? (int)c->task->exit_signal : SIGCHLD);
}

/* rst_inject() in thread i of proc. */
static long thr_inject(struct rst_proc *proc, size_t i, const char *what, long nr, unsigned long a0,
		       unsigned long a1, unsigned long a2, unsigned long a3)
{
	struct inject *saved = proc->inp;
	long r;

	proc->inp = i ? &proc->threads[i].in : &proc->in;
	r = rst_inject(proc, what, nr, a0, a1, a2, a3, 0, 0);
	proc->inp = saved;
	return r;
}

/* Writes len bytes to the scratch data at off and returns their address. */
static uint64_t scr_put(struct rst_proc *proc, uint64_t off, const void *buf, size_t len)
{
	if (inject_write(proc->pid, SCR(proc, off), buf, len))
		return 0;
	return SCR(proc, off);
}

/* Queues raw siginfos again, to the process or to thread i. */
static int requeue(struct rst_proc *proc, size_t i, SiginfoEntry **q, size_t n, bool shared)
{
	size_t k;
	long r;

	for (k = 0; k < n; k++) {
		siginfo_t si;
		uint64_t a;

		if (q[k]->siginfo.len != sizeof(si)) {
			pr_err("image: pending siginfo of %zu bytes\n", q[k]->siginfo.len);
			return -EINVAL;
		}
		memcpy(&si, q[k]->siginfo.data, sizeof(si));
		if (si.si_signo == SIGKILL || si.si_signo == SIGSTOP)
			continue;
		a = scr_put(proc, RST_SCR_MISC, &si, sizeof(si));
		if (!a)
			return -EFAULT;
		if (shared)
			r = thr_inject(proc, i, "rt_sigqueueinfo", SYS_rt_sigqueueinfo,
				       rst_self_pid(proc), si.si_signo, a, 0);
		else
			r = thr_inject(proc, i, "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo,
				       rst_self_pid(proc), rst_self_tid(proc, i), si.si_signo, a);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool altstack_on(const SigaltstackEntry *s)
{
	return s && !(s->flags & SS_DISABLE) && s->size;
}

/*
 * Is altstack s what the thread has already: what fork copied from the
 * parent's leader (p), or none for a new thread (p NULL: CLONE_VM clears it)?
 */
static bool same_altstack(const SigaltstackEntry *s, const SigaltstackEntry *p)
{
	if (!altstack_on(s) || !altstack_on(p))
		return !altstack_on(s) && !altstack_on(p);
	return s->sp == p->sp && s->size == p->size;
}

static bool same_str(const char *a, const char *b)
{
	return a && b && !strncmp(a, b, 15);
}

/*
 * The name a thread of proc has before we set it: threads are cloned before
 * any of them is prepared, so all start with the leader's name then - the
 * root's (its C part set it) or, in a forked child, its parent's leader's.
 */
static const char *inherited_comm(const struct rst_proc *proc)
{
	const struct rst_proc *from = proc->role == RST_ROOT ? proc : proc->parent;

	return from->core->comm ? from->core->comm : from->task->comm;
}

/* Per-thread state set from inside: altstack, name, pending signals. */
static int thread_prepare(struct rst_proc *proc, size_t i)
{
	const CoreEntry *c = proc->threads[i].core;
	const SigaltstackEntry *s = c->altstack;
	stack_t ss = { .ss_flags = SS_DISABLE };
	struct sched_param sp = { .sched_priority = c->sched_prio };
	pid_t tid = proc->threads[i].tid;
	uint64_t a;
	long r;

	if (s && !(s->flags & SS_DISABLE) && s->size) {
		ss.ss_sp = (void *)(uintptr_t)s->sp;
		ss.ss_size = s->size;
		ss.ss_flags = s->flags & ~SS_ONSTACK;
	}
	r = 0;
	if (!same_altstack(s, i ? NULL : proc->parent->core->altstack)) {
		a = scr_put(proc, RST_SCR_MISC, &ss, sizeof(ss));
		r = a ? thr_inject(proc, i, "sigaltstack", SYS_sigaltstack, a, 0, 0, 0) : -EFAULT;
	}
	if (r >= 0 && c->comm && !same_str(c->comm, inherited_comm(proc))) {
		char name[16] = { 0 };

		snprintf(name, sizeof(name), "%s", c->comm);
		a = scr_put(proc, RST_SCR_MISC, name, sizeof(name));
		r = a ? thr_inject(proc, i, "PR_SET_NAME", SYS_prctl, PR_SET_NAME, a, 0, 0) :
			-EFAULT;
	}
	if (r < 0)
		return r;
	if (c->has_sched_policy && sched_setscheduler(tid, c->sched_policy, &sp)) {
		pr_perror("tid %d: sched_setscheduler(%u, %u)", tid, c->sched_policy,
			  c->sched_prio);
		return -errno;
	}
	if (c->has_nice && setpriority(PRIO_PROCESS, tid, c->nice)) {
		pr_perror("tid %d: nice %d", tid, c->nice);
		return -errno;
	}
	return requeue(proc, i, c->pending, c->n_pending, false);
}

/*
 * Creates threads 1.. of proc (its memory is in place) and prepares every
 * thread that our C code did not (all of them, unless proc is the root).
 */
int threads_create(struct rst_proc *proc)
{
	size_t i;
	long r;
	int ret;

	for (i = 1; i < proc->nr_threads; i++) {
		struct rst_thread *th = &proc->threads[i];
		uint64_t flags = THREAD_FLAGS;

		if (th->fdt)
			flags &= ~CLONE_FILES;
		if (th->core->own_fs)
			flags &= ~CLONE_FS;
		r = inject_clone(proc, &proc->in, flags, 0, th->vtid);
		if (r < 0)
			return r;
		th->tid = r;
		ret = attach_new(th->tid);
		if (!ret)
			ret = rst_inject_init(proc, &th->in, th->tid);
		if (!ret && th->fdt)
			ret = prepare_fds(proc, i, th->fdt);
		if (!ret && th->core->own_fs)
			ret = set_fs(proc, i, th->core->cwd,
				     th->core->has_cwd_file_id ?
					     ghost_cwd_fd(proc->img, th->core->cwd_file_id) :
					     -1,
				     th->core->root, th->core->has_umask, th->core->umask);
		if (ret)
			return ret;
	}
	for (i = proc->role == RST_ROOT ? 1 : 0; i < proc->nr_threads; i++) {
		ret = thread_prepare(proc, i);
		if (ret)
			return ret;
	}
	if (proc->role != RST_ROOT)
		return 0;
	/* the root's own queues (its C part set everything else) */
	ret = requeue(proc, 0, proc->sigs->shared_pending, proc->sigs->n_shared_pending, true);
	return ret ? ret : requeue(proc, 0, proc->core->pending, proc->core->n_pending, false);
}

static const SigactionEntry *find_action(const SignalsEntry *s, uint32_t signo)
{
	size_t i;

	for (i = 0; s && i < s->n_actions; i++)
		if (s->actions[i]->signo == signo)
			return s->actions[i];
	return NULL;
}

/* Dispositions that differ from the parent's (inherited by the fork). */
static int prepare_sigactions(struct rst_proc *c)
{
	size_t i;
	long r;

	for (i = 0; i < c->sigs->n_actions; i++) {
		const SigactionEntry *a = c->sigs->actions[i];
		const SigactionEntry *pa = find_action(c->parent->sigs, a->signo);
		uint64_t ka[4] = { a->handler, a->flags, a->restorer, a->mask }, addr;

		if (a->signo < 1 || a->signo > 64 || a->signo == SIGKILL || a->signo == SIGSTOP)
			continue;
		if (pa && pa->handler == a->handler && pa->flags == a->flags &&
		    pa->restorer == a->restorer && pa->mask == a->mask)
			continue;
		addr = scr_put(c, RST_SCR_MISC, ka, sizeof(ka));
		r = addr ? rst_inject(c, "rt_sigaction", SYS_rt_sigaction, a->signo, addr, 0, 8, 0,
				      0) :
			   -EFAULT;
		if (r < 0)
			return r;
	}
	return 0;
}

static int prepare_itimers(struct rst_proc *c)
{
	size_t i;
	long r;

	for (i = 0; i < c->sigs->n_itimers; i++) {
		const ItimerEntry *t = c->sigs->itimers[i];
		struct itimerval v;
		uint64_t a;

		if (!itimer_value(t, &v))
			continue;
		a = scr_put(c, RST_SCR_MISC, &v, sizeof(v));
		r = a ? rst_inject(c, "setitimer", SYS_setitimer, t->which, a, 0, 0, 0, 0) :
			-EFAULT;
		if (r < 0)
			return r;
	}
	return 0;
}

/* A path argument for an injected call (in the groups area, free until creds). */
static uint64_t path_arg(struct rst_proc *c, const char *path)
{
	size_t n = strlen(path) + 1;

	if (n > c->img->scratch_len - RST_SCRATCH_DATA - RST_SCR_GROUPS) {
		pr_err("pid %d: path too long for the scratch area: %.60s...\n", c->pid, path);
		return 0;
	}
	return scr_put(c, RST_SCR_GROUPS, path, n);
}

/*
 * cwd, root and umask of thread ti (any thread of a process: shared fs).
 * cwd_fd >= 0: a removed cwd, the pool fd of its ghost (fchdir).
 */
static int set_fs(struct rst_proc *c, size_t ti, const char *cwd, int cwd_fd, const char *root,
		  bool has_umask, uint32_t mask)
{
	uint64_t a;
	long r = 0;

	if (cwd_fd >= 0) {
		r = thr_inject(c, ti, "fchdir", SYS_fchdir, cwd_fd, 0, 0, 0);
	} else if (cwd) {
		a = path_arg(c, cwd);
		r = a ? thr_inject(c, ti, "chdir", SYS_chdir, a, 0, 0, 0) : -ENAMETOOLONG;
	}
	if (r >= 0 && root && strcmp(root, "/")) {
		a = path_arg(c, root);
		r = a ? thr_inject(c, ti, "chroot", SYS_chroot, a, 0, 0, 0) : -ENAMETOOLONG;
	}
	if (r >= 0 && has_umask)
		r = thr_inject(c, ti, "umask", SYS_umask, mask, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

static int prepare_fs(struct rst_proc *c)
{
	const TaskEntry *t = c->task, *pt = c->parent->task;
	int ret = 0;
	long r = 0;

	if (!shares_fs(c)) {
		bool moved = t->cwd && (!pt->cwd || strcmp(t->cwd, pt->cwd) ||
					t->cwd_file_id != pt->cwd_file_id);
		bool rooted = t->root && pt->root && strcmp(t->root, pt->root);
		int gfd = t->has_cwd_file_id && (moved || rooted) ?
				  ghost_cwd_fd(c->img, t->cwd_file_id) :
				  -1;

		ret = set_fs(c, 0, moved || rooted ? t->cwd : NULL, gfd, rooted ? t->root : NULL,
			     t->has_umask, t->umask);
	}
	if (!ret && t->has_personality && t->personality != pt->personality)
		r = rst_inject(c, "personality", SYS_personality, t->personality, 0, 0, 0, 0, 0);
	return ret ? ret : r < 0 ? (int)r : 0;
}

static int prepare_prctls(struct rst_proc *c)
{
	const TaskEntry *t = c->task, *pt = c->parent->task;
	long r = 0;

	/* fork passes on timer slack, THP disable and dumpable: only changes */
	if (t->has_timer_slack_ns && t->timer_slack_ns && t->timer_slack_ns != pt->timer_slack_ns)
		r = rst_inject(c, "PR_SET_TIMERSLACK", SYS_prctl, PR_SET_TIMERSLACK,
			       t->timer_slack_ns, 0, 0, 0, 0);
	if (r >= 0 && t->child_subreaper)
		r = rst_inject(c, "PR_SET_CHILD_SUBREAPER", SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0,
			       0, 0, 0);
	if (r >= 0 && t->thp_disable != pt->thp_disable)
		r = rst_inject(c, "PR_SET_THP_DISABLE", SYS_prctl, PR_SET_THP_DISABLE,
			       t->thp_disable, 0, 0, 0, 0);
	if (r >= 0 && t->has_dumpable && (!pt->has_dumpable || t->dumpable != pt->dumpable))
		r = rst_inject(c, "PR_SET_DUMPABLE", SYS_prctl, PR_SET_DUMPABLE, t->dumpable, 0, 0,
			       0, 0);
	return r < 0 ? r : 0;
}

static int prepare_outside(struct rst_proc *c)
{
	const TaskEntry *t = c->task;
	char path[64], buf[16];
	size_t i;
	int fd, n;

	for (i = 0; i < t->n_rlimits; i++) {
		const RlimitEntry *r = t->rlimits[i];
		struct rlimit rl = { r->cur, r->max };

		if (prlimit(c->pid, r->resource, &rl, NULL)) {
			pr_perror("pid %d: cannot set %s to %llu/%llu", c->pid,
				  rlimit_name(r->resource), (unsigned long long)r->cur,
				  (unsigned long long)r->max);
			return -errno;
		}
	}
	if (!t->has_oom_score_adj || t->oom_score_adj == c->parent->task->oom_score_adj)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", c->pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "%d", t->oom_score_adj);
	if (fd < 0 || write(fd, buf, n) != n) {
		pr_perror("pid %d: oom_score_adj %d", c->pid, t->oom_score_adj);
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	close(fd);
	return 0;
}

/*
 * The fd table of thread ti (the process's, or its own): the numbers it
 * inherited closed, every fd dup'ed from the pool.
 */
static int prepare_fds(struct rst_proc *c, size_t ti, const FdtableEntry *fdt)
{
	size_t i;
	long r;

	r = thr_inject(c, ti, "close_range", SYS_close_range, 0, c->img->max_fd, 0, 0);
	for (i = 0; r >= 0 && i < fdt->n_fds; i++) {
		const FdEntry *e = fdt->fds[i];
		const struct rst_file *f = plan_file(c->img, e->file_id);
		int pool = f ? file_pool_fd(c->img, f) : -1;

		if (f && rst_file_late(f))
			continue; /* opened in finish (procfile.c) */
		if (pool < 0) {
			pr_err("image: pid %d: fd %u is not an open file\n", c->pid, e->fd);
			return -EINVAL;
		}
		r = thr_inject(c, ti, "dup3", SYS_dup3, pool, e->fd, e->cloexec ? O_CLOEXEC : 0, 0);
	}
	return r < 0 ? r : 0;
}

/* Session and group as far as the task alone decides them. */
static int prepare_session(struct rst_proc *c)
{
	const TaskEntry *t = c->task;
	long r = 0;

	if (t->sid == t->pid)
		r = rst_inject(c, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0);
	else if (t->pgid == t->pid)
		r = rst_inject(c, "setpgid", SYS_setpgid, 0, 0, 0, 0, 0, 0);
	return r < 0 ? r : tty_child_ctty(c); /* before it forks its session's members */
}

/* Everything a forked child changes about what it inherited. */
int rst_proc_prepare(struct rst_proc *c)
{
	int ret;

	ret = prepare_session(c);
	if (!ret)
		ret = pstate_audit_child(c);
	if (!ret)
		ret = prepare_outside(c);
	if (!ret && !shares_files(c))
		ret = prepare_fds(c, 0, c->fdt);
	if (!ret)
		ret = prepare_fs(c);
	if (!ret)
		ret = prepare_prctls(c);
	if (!ret)
		ret = prepare_sigactions(c);
	if (!ret)
		ret = prepare_itimers(c);
	if (!ret)
		ret = requeue(c, 0, c->sigs->shared_pending, c->sigs->n_shared_pending, true);
	return ret;
}

static bool in_tree(const struct rst_image *img, uint32_t pid);
static int helper_start(struct rst_proc *h);

/* The helper that holds group pgid (its leader exited), or NULL. */
static struct rst_proc *group_helper(const struct rst_image *img, uint32_t pgid)
{
	size_t i;

	for (i = 0; i < img->nr_helpers; i++)
		if (img->helpers[i]->task->pid == pgid)
			return img->helpers[i];
	return NULL;
}

/*
 * Joins the recorded process group once every group leader exists (the
 * helper of a group whose leader exited is started here, by its forker,
 * when its first member joins: nothing else forks it).  The
 * root's group is left as vxrestore's when it was outside the tree; when
 * a process of the tree leads it (the root joined a child's group, whose
 * leader may be a zombie now), the root and its members join it.
 */
int rst_proc_set_pgid(struct rst_proc *c)
{
	const TaskEntry *t = c->task, *rt = rst_root(c->img)->task;
	struct rst_proc *h;
	pid_t now;
	long r;

	if (t->pgid == t->pid ||
	    (t->pgid == rt->pgid && rt->pgid != rt->pid && !in_tree(c->img, rt->pgid)))
		return 0;
	if (c->img->in_place && t->pgid == rt->pgid)
		return 0; /* vmad_undump: the root's group is the caller's, inherited */
	/* its own view when it lives in a pid ns below ours (a context) */
	now = c->img->ctxe ? rst_inject(c, "getpgid", SYS_getpgid, 0, 0, 0, 0, 0, 0) :
			     getpgid(c->pid);
	if (now == (pid_t)t->pgid)
		return 0;
	h = group_helper(c->img, t->pgid);
	if (h && h->pid <= 0 && (r = helper_start(h)))
		return (int)r;
	r = rst_inject(c, "setpgid", SYS_setpgid, 0, t->pgid, 0, 0, 0, 0);
	return r < 0 ? r : 0;
}

/*
 * Turns a forked child into the zombie it was: it exits with the recorded
 * status (or dies of the recorded signal) and waits for its parent to reap
 * it.  The SIGCHLD its parent gets now is taken back unless one was pending.
 */
static int zombie_exit(struct rst_proc *c);

/* Is the leader of c's group a process built after c? */
static bool group_leader_later(const struct rst_proc *c)
{
	const struct rst_image *img = c->img;
	size_t i;
	bool seen = false;

	for (i = 0; i < img->nr_procs; i++) {
		seen = seen || img->procs[i] == c;
		if (img->procs[i]->task->pid == c->task->pgid)
			return seen && img->procs[i] != c;
	}
	return false;
}

int rst_proc_make_zombie(struct rst_proc *c)
{
	if (prepare_session(c))
		return -EINVAL;
	if (c->exit_late || group_leader_later(c)) {
		c->exit_late = true;
		return 0;
	}
	return rst_proc_set_pgid(c) ?: zombie_exit(c);
}

/* The zombies that exit late (see exit_late) join their group and exit now. */
int rst_proc_zombies_exit(struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 1; !ret && i < img->nr_procs; i++)
		if (img->procs[i]->exit_late)
			ret = rst_proc_set_pgid(img->procs[i]) ?: zombie_exit(img->procs[i]);
	return ret;
}

/* The exit of zombie-to-be c (see rst_proc_make_zombie). */
static int zombie_exit(struct rst_proc *c)
{
	int code = c->task->exit_code, sig = WTERMSIG(code), status;
	struct user_regs_struct regs = c->in.saved;
	const SignalsEntry *ps = c->parent->sigs;
	uint64_t none = 0, chld = 1ULL << (SIGCHLD - 1);
	size_t i;
	long r;

	regs.rip = c->in.gadget;
	regs.orig_rax = -1;
	if (WIFSIGNALED(code) && sig != SIGKILL && sig != SIGSTOP) {
		r = rst_inject(c, "rt_sigaction", SYS_rt_sigaction, sig,
			       scr_put(c, RST_SCR_MISC, (uint64_t[4]){ 0 }, 32), 0, 8, 0, 0);
		if (r < 0)
			return r;
		ptrace(PTRACE_SETSIGMASK, c->pid, sizeof(none), &none);
		regs.rax = SYS_kill;
		regs.rdi = c->task->pid; /* as the zombie numbers itself */
		regs.rsi = sig;
	} else {
		regs.rax = SYS_exit_group;
		regs.rdi = WIFEXITED(code) ? WEXITSTATUS(code) : 0;
	}
	if (WIFSIGNALED(code) && sig == SIGKILL) {
		kill(c->pid, SIGKILL);
	} else if (ptrace(PTRACE_SETREGS, c->pid, NULL, &regs) ||
		   ptrace(PTRACE_CONT, c->pid, NULL, NULL)) {
		pr_perror("pid %d: cannot make it exit", c->pid);
		return -errno;
	}
	for (;;) {
		if (waitpid(c->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("pid %d: waitpid", c->pid);
			return -errno;
		}
		if (!WIFSTOPPED(status))
			break;
		/* the signal it is to die of: deliver it */
		ptrace(PTRACE_CONT, c->pid, NULL, (void *)(long)WSTOPSIG(status));
	}
	for (i = 0; ps && i < ps->n_shared_pending; i++)
		if (ps->shared_pending[i]->siginfo.len >= 4 &&
		    *(int32_t *)ps->shared_pending[i]->siginfo.data == SIGCHLD)
			return 0;
	r = rst_inject(c->parent, NULL, SYS_rt_sigtimedwait,
		       scr_put(c->parent, RST_SCR_MISC, &chld, sizeof(chld)), 0,
		       scr_put(c->parent, RST_SCR_MISC + 64, (uint64_t[2]){ 0 }, 16), 8, 0, 0);
	return r < 0 && r != -EAGAIN ? r : 0;
}

/*
 * Session and group placeholders.  A task in a session whose leader is gone
 * (it did setsid, forked, exited) is forked by a helper process with the
 * leader's pid that does setsid again and exits at the end, so the task is
 * reparented to its recorded parent, which must be a child subreaper (as it
 * was, or the task would not have been its child).  A group whose leader is
 * gone gets a helper with the leader's pid that does setpgid(0, 0), for the
 * members to join; it exits likewise.  The helpers' parent ignores SIGCHLD
 * for that moment, so they leave no zombie and no signal behind.
 */
static bool in_tree(const struct rst_image *img, uint32_t pid)
{
	return rst_proc_of_pid(img, pid) != NULL;
}

/* The helper with pid, made (forked by forker, child of parent) if need be. */
static struct rst_proc *helper_get(struct rst_image *img, uint32_t pid, struct rst_proc *parent,
				   struct rst_proc *forker, bool session)
{
	struct rst_proc *h, **nh;
	size_t i;

	for (i = 0; i < img->nr_helpers; i++)
		if (img->helpers[i]->task->pid == pid)
			return img->helpers[i];
	h = rst_proc_new(img, RST_HELPER);
	if (!h)
		return NULL;
	nh = realloc(img->helpers, (img->nr_helpers + 1) * sizeof(*nh));
	if (!nh) {
		rst_proc_free(h);
		return NULL;
	}
	img->helpers = nh;
	nh[img->nr_helpers++] = h;
	task_entry__init(&h->helper_task);
	h->task = &h->helper_task;
	h->helper_task.pid = pid;
	h->helper_task.ppid = parent->task->pid;
	h->helper_task.sid = session ? pid : forker->task->sid;
	h->helper_task.pgid = pid;
	h->parent = parent;
	h->forker = forker;
	return h;
}

/*
 * Is the session of procs[i] led by a zombie of the tree that can fork it
 * (as a session helper would): a sibling (same parent, which is a child
 * subreaper: the member is reparented to it when the zombie exits) built
 * before it?
 */
static bool zombie_leader(const struct rst_image *img, size_t i)
{
	const struct rst_proc *c = img->procs[i];
	size_t j;

	for (j = 1; j < i; j++) {
		const struct rst_proc *l = img->procs[j];

		if (l->task->pid == c->task->sid)
			return l->task->state == TASK_STATE_DEAD && l->parent == c->parent &&
			       c->parent->task->child_subreaper;
	}
	return false;
}

/* Decides the helpers before anything is created; refuses what they cannot do. */
int helpers_plan(struct rst_image *img)
{
	const TaskEntry *rt = rst_root(img)->task;
	size_t i;

	for (i = 1; i < img->nr_procs; i++) {
		struct rst_proc *c = img->procs[i], *f;
		const TaskEntry *t = c->task, *pt = c->parent->task;
		bool by_helper;
		uint32_t inherited_pgid;

		c->forker = c->parent;
		if (t->sid != t->pid && t->sid != pt->sid && zombie_leader(img, i)) {
			c->forker = rst_proc_of_pid(img, t->sid);
			c->forker->exit_late = true;
		} else if (t->sid != t->pid && t->sid != pt->sid) {
			if (in_tree(img, t->sid) || (t->sid == rt->sid && rt->sid != rt->pid) ||
			    !pt->child_subreaper) {
				pr_err("pid %u: session %u cannot be rebuilt under parent %u "
				       "(supported: a session whose leader exited, under a child "
				       "subreaper)\n",
				       t->pid, t->sid, pt->pid);
				return -ENOTSUP;
			}
			c->forker = helper_get(img, t->sid, c->parent, c->parent, true);
			if (!c->forker)
				return -ENOMEM;
		}
		f = c->forker;
		by_helper = f != c->parent;
		if (by_helper &&
		    ((t->has_files_id && pt->has_files_id && t->files_id == pt->files_id) ||
		     (t->has_fs_id && pt->has_fs_id && t->fs_id == pt->fs_id))) {
			pr_err("pid %u shares its fd table or fs info with its parent %u but "
			       "must be forked by a session helper: not supported\n",
			       t->pid, pt->pid);
			return -ENOTSUP;
		}
		inherited_pgid = by_helper ? f->task->pgid : pt->pgid;
		if (t->pgid == t->pid || t->pgid == inherited_pgid || in_tree(img, t->pgid) ||
		    (t->pgid == rt->pgid && rt->pgid != rt->pid))
			continue;
		if (!helper_get(img, t->pgid, by_helper ? f->parent : c->parent, f, false))
			return -ENOMEM;
	}
	return 0;
}

/* Creates helper h (forked from its forker) in its session or group. */
static int helper_start(struct rst_proc *h)
{
	long r;
	int ret;

	ret = fork_from(h, 0, SIGCHLD);
	if (ret)
		return ret;
	if (h->task->sid == h->task->pid)
		r = rst_inject(h, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0);
	else
		r = rst_inject(h, "setpgid", SYS_setpgid, 0, 0, 0, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Makes helper h exit while its parent ignores SIGCHLD (no zombie, no signal). */
static int helper_exit(struct rst_proc *h)
{
	struct rst_proc *p = h->parent;
	uint64_t ign[4] = { (uint64_t)SIG_IGN, 0, 0, 0 };
	uint64_t a = scr_put(p, RST_SCR_MISC, ign, sizeof(ign)), old = a + sizeof(ign);
	struct user_regs_struct regs = h->in.saved;
	struct timespec ts = { 0, 1000000 };
	long r;
	int i;

	r = a ? rst_inject(p, "rt_sigaction", SYS_rt_sigaction, SIGCHLD, a, old, 8, 0, 0) : -EFAULT;
	if (r < 0)
		return r;
	regs.rip = h->in.gadget;
	regs.orig_rax = -1;
	regs.rax = SYS_exit_group;
	regs.rdi = 0;
	if (ptrace(PTRACE_SETREGS, h->pid, NULL, &regs) ||
	    ptrace(PTRACE_DETACH, h->pid, NULL, NULL)) {
		pr_perror("helper %d: cannot make it exit", h->pid);
		return -errno;
	}
	for (i = 0; i < 2000 && !(kill(h->pid, 0) && errno == ESRCH); i++)
		nanosleep(&ts, NULL);
	h->pid = -1;
	r = rst_inject(p, "rt_sigaction", SYS_rt_sigaction, SIGCHLD, old, 0, 8, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Every helper exits, groups first (their sessions still hold them). */
int helpers_exit(struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = img->nr_helpers; !ret && i-- > 0;)
		if (img->helpers[i]->pid > 0)
			ret = helper_exit(img->helpers[i]);
	return ret;
}

/* Closes the file pool in the threads that have an fd table of their own. */
int threads_close_pool(struct rst_proc *proc)
{
	size_t i;
	long r;

	for (i = 1; i < proc->nr_threads; i++) {
		if (!proc->threads[i].fdt)
			continue;
		r = thr_inject(proc, i, "close_range", SYS_close_range, proc->img->max_fd + 1, ~0U,
			       0, 0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}
