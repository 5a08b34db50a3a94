/*
 * Seccomp filters back into every restored thread: one injected
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) per filter, oldest first,
 * the program and its struct sock_fprog written into the scratch area.
 * The kernel copies the program during the call, so the area may go
 * afterwards.  Kernel facts behind the order (NOTES, "Seccomp filters"):
 * - fork and clone copy the creator's filters, so they go in only once
 *   every process is forked and every thread created (finish_tree()), each
 *   thread its own list, never with SECCOMP_FILTER_FLAG_TSYNC (threads may
 *   differ);
 * - seccomp() needs no_new_privs or CAP_SYS_ADMIN in the caller's
 *   effective set (seccomp_prepare_filter()): a thread whose final
 *   credentials have either gets its filters after everything else but the
 *   final munmap of the scratch area (core.c); any other gets them just
 *   before capset() takes CAP_SYS_ADMIN away (creds.c);
 * - filters apply to our injected calls too.  PTRACE_O_SUSPEND_SECCOMP
 *   (CONFIG_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, a tracer not under seccomp
 *   itself) switches them off while we trace the thread, and the kernel
 *   drops it with the ptrace link at detach.  Without it, a call that a
 *   filter refuses fails the restore naming the call (errno or a SIGSYS
 *   stop), or the filter kills the task (the restore fails: died in an
 *   injected call); never a hang.
 */
#define LOG_PREFIX "restore/seccomp: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "log.h"
#include "util/testhook.h"
#include "restore/restore.h"

#include "util/seccomp-compat.h"

#define SIGSYS_PEEK 16
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS from seccomp */
#endif

/* struct ptrace_peeksiginfo_args of <linux/ptrace.h> (clashes with <sys/ptrace.h>). */
struct peek_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

/* struct sock_fprog as the x86_64 kernel reads it. */
struct kfprog {
	uint16_t len; /* instructions */
	uint16_t pad[3];
	uint64_t filter; /* address in the target */
};

/* The filter with this id in the image, or NULL. */
static const SeccompFilter *find_filter(const struct rst_records *r, uint32_t id)
{
	size_t i, j;

	for (i = 0; i < r->n_seccomp; i++)
		for (j = 0; j < r->seccomp[i]->n_filters; j++)
			if (r->seccomp[i]->filters[j]->id == id)
				return r->seccomp[i]->filters[j];
	return NULL;
}

/* One filter of the SECCOMP record as this kernel would take it. */
static int check_filter(const SeccompFilter *f, const struct rst_records *r)
{
	size_t len = f->has_prog ? f->prog.len : 0;

	if (!f->has_id || !f->id || find_filter(r, f->id) != f) {
		pr_err("image: SECCOMP: filter without an id, or id %u twice\n", f->id);
		return -EBADMSG;
	}
	if (!len || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		pr_err("image: SECCOMP: filter %u has %zu bytes, not 1 to %u instructions\n", f->id,
		       len, BPF_MAXINSNS);
		return -EBADMSG;
	}
	if (f->flags & ~SECCOMP_FILTER_FLAG_LOG) {
		pr_err("image: SECCOMP: filter %u has unknown flags %#x\n", f->id, f->flags);
		return -EBADMSG;
	}
	return 0;
}

/* Every id a thread of c lists is a filter of the image.  0/-EBADMSG. */
static int check_threads(const struct rst_proc *c, const struct rst_records *r)
{
	size_t i, k;

	for (i = 0; i < c->nr_threads; i++) {
		const CoreEntry *ce = c->threads[i].core;

		for (k = 0; k < ce->n_seccomp_filters; k++) {
			if (!find_filter(r, ce->seccomp_filters[k])) {
				pr_err("image: thread %d: seccomp filter %u is not in the image\n",
				       c->threads[i].tid, ce->seccomp_filters[k]);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/*
 * Checks the SECCOMP record and every thread's filter ids before anything
 * is created; *max_prog gets the largest program (bytes) so the scratch
 * area can hold it.  Returns 0 or -errno (logged).
 */
int seccomp_plan(const struct rst_image *img, size_t *max_prog)
{
	const struct rst_records *r = &img->recs;
	size_t i, j;
	int ret;

	*max_prog = 0;
	for (i = 0; i < r->n_seccomp; i++) {
		for (j = 0; j < r->seccomp[i]->n_filters; j++) {
			const SeccompFilter *f = r->seccomp[i]->filters[j];

			ret = check_filter(f, r);
			if (ret)
				return ret;
			if (f->prog.len > *max_prog)
				*max_prog = f->prog.len;
		}
	}
	for (i = 0; i < img->nr_procs; i++) {
		if (img->procs[i]->task->state == TASK_STATE_DEAD)
			continue;
		ret = check_threads(img->procs[i], r);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * True if proc's threads take their filters after their credentials: the
 * final credentials allow seccomp() (no_new_privs, or CAP_SYS_ADMIN
 * effective).  Otherwise creds.c installs them before capset().
 */
bool seccomp_after_creds(const struct rst_proc *proc)
{
	const CredsEntry *ce = proc->creds;

	return ce->no_new_privs || ((ce->cap_eff >> CAP_SYS_ADMIN) & 1);
}

/*
 * Switches thread i's filters off while we trace it (see the head
 * comment).  Failing that, the restore goes on without: later injected
 * calls meet the filters, and a refusal says so (proc->seccomp_on).
 */
static void suspend(struct rst_proc *proc, size_t i)
{
	pid_t tid = proc->threads[i].tid;
	const char *why = "VXCR_TEST_SKIP";

	if (!test_skip("seccomp-suspend")) {
		if (!ptrace(PTRACE_SETOPTIONS, tid, NULL,
			    RST_TRACE_OPTS | PTRACE_O_SUSPEND_SECCOMP))
			return;
		why = strerror(errno);
	}
	pr_debug("tid %d: seccomp filters not suspended (%s): calls after them may be refused\n",
		 tid, why);
	proc->seccomp_on = true;
}

/* Installs filter f in thread i (proc->inp).  0 or -errno (logged). */
static int install(struct rst_proc *proc, size_t i, const SeccompFilter *f, size_t k, size_t n)
{
	uint64_t prog = proc->img->scratch + RST_SCRATCH_DATA + RST_SCR_SECCOMP;
	uint64_t fp_at = proc->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	struct kfprog fp = { f->prog.len / sizeof(struct sock_filter), { 0 }, prog };
	int ret;
	long r;

	if (f->prog.len > proc->img->scratch_len - RST_SCRATCH_DATA - RST_SCR_SECCOMP) {
		pr_err("tid %d: seccomp filter %u (%zu bytes) does not fit the scratch area\n",
		       proc->threads[i].tid, f->id, f->prog.len);
		return -E2BIG;
	}
	ret = inject_write(proc->pid, prog, f->prog.data, f->prog.len);
	ret = ret ?: inject_write(proc->pid, fp_at, &fp, sizeof(fp));
	if (ret) {
		pr_err("pid %d: cannot write to the scratch area: %s\n", proc->pid, strerror(-ret));
		return ret;
	}
	r = rst_inject(proc, NULL, SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, fp_at, 0, 0, 0);
	if (r < 0)
		pr_err("tid %d: seccomp filter %zu of %zu (id %u): %s%s\n", proc->threads[i].tid,
		       k + 1, n, f->id, strerror((int)-r),
		       r == -EACCES ? " (needs no_new_privs or CAP_SYS_ADMIN)" : "");
	return r < 0 ? (int)r : 0;
}

/*
 * Thread i of proc gets its filters, oldest first; nothing when it has none.
 * Called once per thread, from creds.c or core.c (seccomp_after_creds()).
 * Returns 0 or -errno (logged).
 */
int seccomp_restore(struct rst_proc *proc, size_t i)
{
	const CoreEntry *ce = proc->threads[i].core;
	struct inject *saved = proc->inp;
	size_t k;
	int ret = 0;

	if (!ce->n_seccomp_filters)
		return 0;
	suspend(proc, i);
	proc->inp = i ? &proc->threads[i].in : &proc->in;
	for (k = 0; !ret && k < ce->n_seccomp_filters; k++)
		ret = install(proc, i, find_filter(&proc->img->recs, ce->seccomp_filters[k]), k,
			      ce->n_seccomp_filters);
	proc->inp = saved;
	return ret;
}

/*
 * After the last injected call of proc's leader (core.c: the munmap of the
 * scratch area, run with PTRACE_SYSCALL): a filter that kills or traps a
 * call does not make it fail.  The kernel skips it, puts the registers
 * back (so the result reads as the syscall number) and queues a SIGSYS for
 * the thread (force_sig_seccomp()), which is delivered after the
 * syscall-exit stop we wait for; the task would die or take the signal
 * once let go.  So when its filters are on (not suspended), look for a
 * SIGSYS from seccomp (si_code SYS_SECCOMP) at our gadget in the leader's
 * own queue.  Returns 0 or -EPERM (logged).
 */
int seccomp_check_sigsys(struct rst_proc *proc, const char *what)
{
	struct peek_args a = { 0, 0, SIGSYS_PEEK };
	siginfo_t si[SIGSYS_PEEK];
	long n, k;

	if (!proc->seccomp_on)
		return 0;
	n = ptrace(PTRACE_PEEKSIGINFO, proc->pid, &a, si);
	for (k = 0; k < n; k++) {
		if (si[k].si_signo == SIGSYS && si[k].si_code == SYS_SECCOMP &&
		    (uint64_t)(uintptr_t)si[k].si_call_addr == proc->in.gadget + 2) {
			pr_err("pid %d: %s: its restored seccomp filters kill or trap that call (SIGSYS)\n",
			       proc->pid, what);
			return -EPERM;
		}
	}
	return 0;
}
